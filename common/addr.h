/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * addr.h - envelope address parsing for MAIL FROM / RCPT TO arguments,
 * and the address lists of header fields (From:, To:, Return-Path:).
 *
 * Input is the argument as the MTA hands it to a milter (Postfix and
 * Sendmail pass "<user@domain>", possibly without brackets), or a field
 * body, never trusted: it may hold any octet, NUL included (the length is
 * explicit).
 */
#ifndef ADDR_H
#define ADDR_H

#include <stddef.h>

/**
 * addr_strip(arg, len, out, outlen): find the address inside ${arg}: without
 * the enclosing "<" ">" and without anything after the closing ">" (ESMTP
 * parameters).  Leading and trailing spaces are skipped.  Sets ${out} to
 * point into ${arg} and ${outlen} to the address length (0 for the null
 * sender "<>").
 */
void	addr_strip(const char *arg, size_t len, const char **out, size_t *outlen);

/**
 * addr_badchars(arg, len, first): count the octets of ${arg} forbidden by the
 * address-characters rule: "|", "`", NUL, CR, LF, and "<" / ">" other than
 * one leading "<" and its matching final ">".  Stores the first offending
 * octet in ${first} (when the count is not 0).  Returns the count.
 */
size_t	addr_badchars(const char *arg, size_t len, unsigned char *first);

/**
 * addr_domain(addr, len, dom, domlen): the domain the envelope address
 * ${addr} (${len} octets, without "<" ">", as addr_strip() gives it) is
 * routed to, read as an MTA reads it: a source route ("@a,@b:") is
 * dropped, and the domain is what follows the last "@" that is neither
 * inside a quoted string nor escaped by a backslash.  Returns 1 with
 * ${dom} pointing into ${addr} and ${domlen} set (0 for "user@"), 0 for
 * an address without a domain (a local one: "postmaster"), -1 for one
 * whose local part may route it to another host whatever its domain:
 * a "%", "!" or a second "@" in it, quoted, escaped or not ("user%host",
 * "host!user", "user@host@local", "\"user@host\"@local").  Postfix, with
 * its defaults (allow_percent_hack, swap_bangpath,
 * resolve_dequoted_address), strips a local domain and routes such an
 * address by its local part.
 */
int	addr_domain(const char *addr, size_t len, const char **dom,
	    size_t *domlen);

/**
 * addr_normal(addr, len, out): ${addr} (${len} octets, as addr_strip()
 * gives it) the way Postfix records an envelope address: a source route
 * ("@a,@b:") dropped, the quotes and backslash escapes of the local part
 * removed, a final "." of the domain dropped.  ${out} holds at least
 * ${len} octets; returns the length written (no NUL is added).
 */
size_t	addr_normal(const char *addr, size_t len, char *out);

/* What addr_list() calls for each address; non-zero stops the list. */
typedef int addr_list_fn(void *arg, const char *addr, size_t len);

/**
 * addr_list(value, len, buf, fn, arg): pass each address of the RFC 5322
 * address list ${value} (the body of a From:, To:, Cc: or Return-Path:
 * field, folded or not) to ${fn}(${arg}, addr, addrlen), in order: an
 * angle address without "<" ">", white space, comments and obsolete route
 * (an empty one for "<>"), or a bare addr-spec without the white space and
 * comments around its words.  Display names, group names and comments are
 * skipped, a group's members are listed, an element that is only a phrase
 * ("John Doe", no address) is skipped.  ${buf} (at least ${len} octets)
 * holds each address while ${fn} runs.  Returns how many were passed.
 */
size_t	addr_list(const char *value, size_t len, char *buf, addr_list_fn *fn,
	    void *arg);

#endif /* ADDR_H */
