/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy.c - PROXY protocol headers (haproxy spec, v1 text and v2 binary).
 *
 * Interface: proxy_encode_v1() and proxy_encode_v2() write the header the
 * shim sends to the MTA first (Postfix smtpd_upstream_proxy_protocol =
 * haproxy); proxy_parse() reads an inbound header incrementally (0 complete,
 * 1 need more, -1 invalid) for a shim that itself sits behind a balancer.
 *
 * Invariants: no function reads or writes beyond the lengths it is given,
 * none allocates or keeps state.  The parser is strict (single spaces,
 * decimal ports without leading zeros, 107-octet v1 line, CRLF only) so that
 * the shim and the MTA can never read one header in two ways; any octet
 * sequence that is a prefix of a valid header gets "need more", anything
 * else is refused as soon as it is known to be invalid.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxy.h"

static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* One endpoint, normalised: family AF_INET (4 octets) or AF_INET6 (16). */
struct ep {
	int	family;
	unsigned char addr[16];
	uint16_t port;			/* host order */
};

/* Fill ${ep} from ${sa}; IPv4-mapped IPv6 becomes IPv4.  0, or -1 if not IP. */
static int
ep_from_sa(struct ep *ep, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (sa == NULL)
		return (-1);
	memset(ep, 0, sizeof(*ep));
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		ep->family = AF_INET;
		memcpy(ep->addr, &sin->sin_addr, 4);
		ep->port = ntohs(sin->sin_port);
		return (0);
	}
	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		ep->port = ntohs(sin6->sin6_port);
		if (memcmp(&sin6->sin6_addr, v4mapped, 12) == 0) {
			ep->family = AF_INET;
			memcpy(ep->addr, (const unsigned char *)&sin6->sin6_addr + 12, 4);
		} else {
			ep->family = AF_INET6;
			memcpy(ep->addr, &sin6->sin6_addr, 16);
		}
		return (0);
	}
	return (-1);
}

/* Turn an IPv4 ${ep} into its IPv4-mapped IPv6 form. */
static void
ep_map6(struct ep *ep)
{
	if (ep->family != AF_INET)
		return;
	memmove(ep->addr + 12, ep->addr, 4);
	memcpy(ep->addr, v4mapped, 12);
	ep->family = AF_INET6;
}

/* Both endpoints of one family, or -1 if either is not IP. */
static int
ep_pair(struct ep *s, struct ep *d, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	if (ep_from_sa(s, src) < 0 || ep_from_sa(d, dst) < 0)
		return (-1);
	if (s->family != d->family) {
		ep_map6(s);
		ep_map6(d);
	}
	return (0);
}

/**
 * proxy_encode_v1(buf, len, src, dst): write the v1 line
 * "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" for ${src} -> ${dst} into ${buf}
 * (no NUL is written).  IPv4-mapped IPv6 addresses are written as IPv4; an
 * IPv4/IPv6 mix is written as TCP6 with the IPv4 side mapped.  A NULL or
 * non-IP ${src} or ${dst} gives "PROXY UNKNOWN\r\n".  Returns the length, or
 * -1 if ${len} is too small.
 */
ssize_t
proxy_encode_v1(void *buf, size_t len, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	struct ep s, d;
	char	sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	char	line[PROXY_V1_MAX + 1];
	int	n;

	if (ep_pair(&s, &d, src, dst) < 0) {
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	} else {
		if (inet_ntop(s.family, s.addr, sa, sizeof(sa)) == NULL ||
		    inet_ntop(d.family, d.addr, da, sizeof(da)) == NULL)
			return (-1);
		n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
		    s.family == AF_INET ? "TCP4" : "TCP6", sa, da,
		    (unsigned)s.port, (unsigned)d.port);
	}
	/* Longest possible line is exactly PROXY_V1_MAX. */
	if (n < 0 || (size_t)n > PROXY_V1_MAX || (size_t)n > len)
		return (-1);
	memcpy(buf, line, (size_t)n);
	return (n);
}

/**
 * proxy_encode_v2(buf, len, src, dst): write the v2 binary header for
 * ${src} -> ${dst} into ${buf}: the 12-octet signature, 0x21 (v2, PROXY),
 * 0x11 (TCP4) or 0x21 (TCP6), the address length, addresses and ports in
 * network order, no TLVs.  Addresses are normalised as in proxy_encode_v1();
 * a NULL or non-IP ${src} or ${dst} gives the LOCAL command (0x20, family
 * 0x00, length 0).  Returns the length, or -1 if ${len} is too small.
 */
ssize_t
proxy_encode_v2(void *buf, size_t len, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	unsigned char *p = buf;
	struct ep s, d;
	size_t	alen, total;

	if (ep_pair(&s, &d, src, dst) < 0) {
		if (len < PROXY_V2_HDRLEN)
			return (-1);
		memcpy(p, v2sig, 12);
		p[12] = 0x20;
		p[13] = 0x00;
		p[14] = 0;
		p[15] = 0;
		return (PROXY_V2_HDRLEN);
	}
	alen = s.family == AF_INET ? 4 : 16;
	total = PROXY_V2_HDRLEN + 2 * alen + 4;
	if (len < total)
		return (-1);
	memcpy(p, v2sig, 12);
	p[12] = 0x21;
	p[13] = s.family == AF_INET ? 0x11 : 0x21;
	p[14] = (unsigned char)((2 * alen + 4) >> 8);
	p[15] = (unsigned char)((2 * alen + 4) & 0xff);
	p += PROXY_V2_HDRLEN;
	memcpy(p, s.addr, alen);
	memcpy(p + alen, d.addr, alen);
	p += 2 * alen;
	p[0] = (unsigned char)(s.port >> 8);
	p[1] = (unsigned char)(s.port & 0xff);
	p[2] = (unsigned char)(d.port >> 8);
	p[3] = (unsigned char)(d.port & 0xff);
	return ((ssize_t)total);
}

/* Store ${family} address ${addr} and ${port} (host order) into ${ss}. */
static void
ss_set(struct sockaddr_storage *ss, int family, const void *addr,
    unsigned port)
{
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin = (struct sockaddr_in *)(void *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons((uint16_t)port);
	} else if (family == AF_INET6) {
		sin6 = (struct sockaddr_in6 *)(void *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = htons((uint16_t)port);
	} else {
		ss->ss_family = AF_UNSPEC;
	}
}

/*
 * Take the next space-terminated (or, if ${last}, line-end-terminated) field
 * of the v1 line [*pp, end) into ${out} (size ${outsz}, NUL-terminated).
 * Exactly one space separates fields.  0, or -1 if empty or too long.
 */
static int
v1_field(const char **pp, const char *end, int last, char *out, size_t outsz)
{
	const char *p = *pp, *q;

	for (q = p; q < end && *q != ' '; q++)
		;
	if (q == p || (size_t)(q - p) >= outsz)
		return (-1);
	if (last ? q != end : q == end)
		return (-1);
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = 0;
	*pp = last ? q : q + 1;
	return (0);
}

/* Strict decimal port: 0..65535, no sign, no leading zero.  -1 if bad. */
static long
v1_port(const char *s)
{
	long	v = 0;

	if (*s == 0 || (s[0] == '0' && s[1] != 0))
		return (-1);
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return (-1);
	}
	return (v);
}

/* v1: buf starts with a prefix of "PROXY ". */
static int
parse_v1(const unsigned char *buf, size_t len, struct sockaddr_storage *src,
    struct sockaddr_storage *dst, size_t *consumed, const char **err)
{
	static const char magic[] = "PROXY ";
	size_t	scan = len < PROXY_V1_MAX ? len : PROXY_V1_MAX, i, eol;
	const char *p, *end;
	char	proto[8], sa[48], da[48], sp[8], dp[8];
	unsigned char sbin[16], dbin[16];
	long	sport, dport;
	int	family;

	if (memcmp(buf, magic, len < 6 ? len : 6) != 0) {
		*err = "not a PROXY header";
		return (-1);
	}
	for (i = 0; i < scan; i++) {
		if (buf[i] == '\n')
			break;
		if (buf[i] == '\r' && i + 1 < scan && buf[i + 1] != '\n') {
			*err = "bare CR in PROXY v1 line";
			return (-1);
		}
	}
	if (i == scan) {
		if (scan == PROXY_V1_MAX) {
			*err = "PROXY v1 line too long";
			return (-1);
		}
		return (1);
	}
	if (i == 0 || buf[i - 1] != '\r') {
		*err = "bare LF in PROXY v1 line";
		return (-1);
	}
	eol = i + 1;
	if (eol < 8) {
		*err = "PROXY v1 line too short";
		return (-1);
	}
	p = (const char *)buf + 6;
	end = (const char *)buf + eol - 2;

	/* UNKNOWN: the rest of the line is ignored, as the spec says. */
	if ((size_t)(end - p) >= 7 && memcmp(p, "UNKNOWN", 7) == 0 &&
	    (end - p == 7 || p[7] == ' ')) {
		ss_set(src, AF_UNSPEC, NULL, 0);
		ss_set(dst, AF_UNSPEC, NULL, 0);
		*consumed = eol;
		return (0);
	}
	if (v1_field(&p, end, 0, proto, sizeof(proto)) < 0) {
		*err = "bad PROXY v1 protocol";
		return (-1);
	}
	if (strcmp(proto, "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(proto, "TCP6") == 0)
		family = AF_INET6;
	else {
		*err = "bad PROXY v1 protocol";
		return (-1);
	}
	if (v1_field(&p, end, 0, sa, sizeof(sa)) < 0 ||
	    v1_field(&p, end, 0, da, sizeof(da)) < 0 ||
	    inet_pton(family, sa, sbin) != 1 ||
	    inet_pton(family, da, dbin) != 1) {
		*err = "bad PROXY v1 address";
		return (-1);
	}
	if (v1_field(&p, end, 0, sp, sizeof(sp)) < 0 ||
	    v1_field(&p, end, 1, dp, sizeof(dp)) < 0 ||
	    (sport = v1_port(sp)) < 0 || (dport = v1_port(dp)) < 0) {
		*err = "bad PROXY v1 port";
		return (-1);
	}
	ss_set(src, family, sbin, (unsigned)sport);
	ss_set(dst, family, dbin, (unsigned)dport);
	*consumed = eol;
	return (0);
}

/* v2: buf starts with a prefix of the signature. */
static int
parse_v2(const unsigned char *buf, size_t len, struct sockaddr_storage *src,
    struct sockaddr_storage *dst, size_t *consumed, const char **err)
{
	size_t	plen, alen, off;
	const unsigned char *a;
	int	family, cmd;

	if (memcmp(buf, v2sig, len < 12 ? len : 12) != 0) {
		*err = "not a PROXY header";
		return (-1);
	}
	if (len > 12 && (buf[12] >> 4) != 2) {
		*err = "bad PROXY v2 version";
		return (-1);
	}
	if (len > 12 && (cmd = buf[12] & 0x0f) > 1) {
		*err = "bad PROXY v2 command";
		return (-1);
	}
	if (len < PROXY_V2_HDRLEN)
		return (1);
	cmd = buf[12] & 0x0f;
	plen = ((size_t)buf[14] << 8) | buf[15];
	if (plen > PROXY_V2_LEN_MAX) {
		*err = "PROXY v2 header too long";
		return (-1);
	}
	family = AF_UNSPEC;
	alen = 0;
	if (cmd == 1) {
		switch (buf[13]) {
		case 0x00:
			break;
		case 0x11:
			family = AF_INET;
			alen = 12;
			break;
		case 0x21:
			family = AF_INET6;
			alen = 36;
			break;
		default:
			*err = "unsupported PROXY v2 address family or protocol";
			return (-1);
		}
		if (plen < alen) {
			*err = "PROXY v2 length too short for its addresses";
			return (-1);
		}
	}
	if (len < PROXY_V2_HDRLEN + plen)
		return (1);

	/* TLVs after the addresses are skipped, but must be well formed. */
	if (cmd == 1) {
		for (off = PROXY_V2_HDRLEN + alen; off < PROXY_V2_HDRLEN + plen;) {
			if (PROXY_V2_HDRLEN + plen - off < 3 ||
			    PROXY_V2_HDRLEN + plen - off - 3 <
			    (((size_t)buf[off + 1] << 8) | buf[off + 2])) {
				*err = "truncated PROXY v2 TLV";
				return (-1);
			}
			off += 3 + (((size_t)buf[off + 1] << 8) | buf[off + 2]);
		}
	}
	a = buf + PROXY_V2_HDRLEN;
	if (family == AF_INET) {
		ss_set(src, AF_INET, a, ((unsigned)a[8] << 8) | a[9]);
		ss_set(dst, AF_INET, a + 4, ((unsigned)a[10] << 8) | a[11]);
	} else if (family == AF_INET6) {
		ss_set(src, AF_INET6, a, ((unsigned)a[32] << 8) | a[33]);
		ss_set(dst, AF_INET6, a + 16, ((unsigned)a[34] << 8) | a[35]);
	} else {
		ss_set(src, AF_UNSPEC, NULL, 0);
		ss_set(dst, AF_UNSPEC, NULL, 0);
	}
	*consumed = PROXY_V2_HDRLEN + plen;
	return (0);
}

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
int
proxy_parse(const void *buf, size_t len, struct sockaddr_storage *src,
    struct sockaddr_storage *dst, size_t *consumed, const char **err)
{
	const unsigned char *b = buf;
	const char *dummy;

	if (err == NULL)
		err = &dummy;
	*err = NULL;
	if (len == 0)
		return (1);
	if (b[0] == 'P')
		return (parse_v1(b, len, src, dst, consumed, err));
	if (b[0] == 0x0d)
		return (parse_v2(b, len, src, dst, consumed, err));
	*err = "not a PROXY header";
	return (-1);
}

/**
 * proxy_sniff(buf, len): 1 if the ${len} octets in ${buf} start with a
 * PROXY v1 ("PROXY ") or v2 signature, 0 if they cannot be the start of
 * one, -1 if they are a prefix of a signature and more are needed.  Lets
 * the shim refuse a header from a client it does not trust.
 */
int
proxy_sniff(const void *buf, size_t len)
{
	static const char v1[] = "PROXY ";
	const unsigned char *b = buf;
	size_t	n;

	n = len < sizeof(v1) - 1 ? len : sizeof(v1) - 1;
	if (memcmp(b, v1, n) == 0)
		return (n == sizeof(v1) - 1 ? 1 : -1);
	n = len < sizeof(v2sig) ? len : sizeof(v2sig);
	if (memcmp(b, v2sig, n) == 0)
		return (n == sizeof(v2sig) ? 1 : -1);
	return (0);
}
