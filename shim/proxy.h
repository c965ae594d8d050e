/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy.h - PROXY protocol headers (haproxy spec, v1 text and v2 binary):
 * encode the header the shim sends upstream, parse an inbound one.
 *
 * Pure functions over caller buffers: no sockets, no allocation, no state.
 */
#ifndef PROXY_H
#define PROXY_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define PROXY_V1_MAX	107	/* longest v1 line, CRLF included */
#define PROXY_V2_HDRLEN	16	/* signature, ver/cmd, fam/proto, length */
#define PROXY_V2_LEN_MAX 1024	/* largest v2 payload accepted (addresses, TLVs) */
#define PROXY_ENCODE_MAX 108	/* enough for any proxy_encode_v1/_v2 output */

/**
 * proxy_encode_v1(buf, len, src, dst): write the v1 line
 * "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" for ${src} -> ${dst} into ${buf}
 * (no NUL is written).  IPv4-mapped IPv6 addresses are written as IPv4; an
 * IPv4/IPv6 mix is written as TCP6 with the IPv4 side mapped.  A NULL or
 * non-IP ${src} or ${dst} gives "PROXY UNKNOWN\r\n".  Returns the length, or
 * -1 if ${len} is too small.
 */
ssize_t	proxy_encode_v1(void *buf, size_t len, const struct sockaddr *src,
	    const struct sockaddr *dst);

/**
 * proxy_encode_v2(buf, len, src, dst): write the v2 binary header for
 * ${src} -> ${dst} into ${buf}: the 12-octet signature, 0x21 (v2, PROXY),
 * 0x11 (TCP4) or 0x21 (TCP6), the address length, addresses and ports in
 * network order, no TLVs.  Addresses are normalised as in proxy_encode_v1();
 * a NULL or non-IP ${src} or ${dst} gives the LOCAL command (0x20, family
 * 0x00, length 0).  Returns the length, or -1 if ${len} is too small.
 */
ssize_t	proxy_encode_v2(void *buf, size_t len, const struct sockaddr *src,
	    const struct sockaddr *dst);

/**
 * proxy_parse(buf, len, src, dst, consumed, err): parse a v1 or v2 header at
 * the start of the ${len} octets in ${buf}.  Returns 0 when a header is
 * complete: ${consumed} is its length (TLVs included), ${src} and ${dst} hold
 * the addresses (sockaddr_in or sockaddr_in6), or ss_family AF_UNSPEC for v1
 * UNKNOWN and v2 LOCAL/UNSPEC.  Returns 1 when ${buf} is a valid prefix of a
 * header and more octets are needed.  Returns -1 when the input is not a
 * valid header, with ${err} set to a static message.  Never reads beyond
 * ${len}; ${src}, ${dst} and ${consumed} are set only on 0.
 */
int	proxy_parse(const void *buf, size_t len, struct sockaddr_storage *src,
	    struct sockaddr_storage *dst, size_t *consumed, const char **err);

/**
 * proxy_sniff(buf, len): 1 if the ${len} octets in ${buf} start with a
 * PROXY v1 ("PROXY ") or v2 signature, 0 if they cannot be the start of
 * one, -1 if they are a prefix of a signature and more are needed.  Lets
 * the shim refuse a header from a client it does not trust.
 */
int	proxy_sniff(const void *buf, size_t len);

#endif /* PROXY_H */
