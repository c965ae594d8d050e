/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * addr.c - envelope address parsing for MAIL FROM / RCPT TO arguments,
 * and the address lists of header fields.
 *
 * Interface: addr_strip() finds the address inside an argument (for
 * sender-length), addr_badchars() counts the octets the address-characters
 * rule forbids, addr_domain() finds the domain an MTA routes a recipient
 * to (mail-relay), addr_list() lists the addresses of a From:, To: or Cc:
 * field (the envelope that milter -t derives from a message).
 *
 * Invariants: input is untrusted and has an explicit length; any octet,
 * NUL included, may occur and nothing reads past ${len}.  Nothing here
 * allocates or writes outside the caller's variables and buffers.
 */
#include <string.h>

#include "addr.h"

static int
is_space(unsigned char c)
{
	return (c == ' ' || c == '\t');
}

/* Trim spaces at both ends of [*s, *e). */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_space((unsigned char)**s))
		(*s)++;
	while (*e > *s && is_space((unsigned char)(*e)[-1]))
		(*e)--;
}

/*
 * The closing '>' in [s, e), skipping quoted strings ("a>b"@x) and
 * backslash escapes inside them; NULL if there is none outside quotes.
 */
static const char *
find_close(const char *s, const char *e)
{
	int	quoted = 0;

	for (; s < e; s++) {
		if (quoted && *s == '\\' && s + 1 < e)
			s++;
		else if (*s == '"')
			quoted = !quoted;
		else if (!quoted && *s == '>')
			return (s);
	}
	return (NULL);
}

/**
 * addr_strip(arg, len, out, outlen): find the address inside ${arg}: without
 * the enclosing "<" ">" and without anything after the closing ">" (ESMTP
 * parameters).  Leading and trailing spaces are skipped.  Sets ${out} to
 * point into ${arg} and ${outlen} to the address length (0 for the null
 * sender "<>").
 */
void
addr_strip(const char *arg, size_t len, const char **out, size_t *outlen)
{
	const char *s, *e, *close;

	if (arg == NULL) {
		*out = "";
		*outlen = 0;
		return;
	}
	s = arg;
	e = arg + len;
	trim(&s, &e);

	if (s < e && *s == '<') {
		s++;
		if ((close = find_close(s, e)) == NULL)
			close = memchr(s, '>', (size_t)(e - s));
		if (close != NULL)
			e = close;
	} else {
		/* No brackets: parameters, if any, follow the first space. */
		const char *p;

		for (p = s; p < e && !is_space((unsigned char)*p); p++)
			;
		e = p;
	}
	trim(&s, &e);
	*out = s;
	*outlen = (size_t)(e - s);
}

/*
 * Where the address proper starts in ${addr}: after a source route
 * ("@a,@b:user@c" is user@c, RFC 5321 4.1.2, obsolete but read), else 0.
 */
static size_t
route_end(const char *addr, size_t len)
{
	size_t	i;

	if (len > 0 && addr[0] == '@')
		for (i = 0; i < len; i++)
			if (addr[i] == ':')
				return (i + 1);
	return (0);
}

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
int
addr_domain(const char *addr, size_t len, const char **dom, size_t *domlen)
{
	size_t	i, at = len, nat = 0;
	int	quoted = 0, routed = 0;

	for (i = route_end(addr, len); i < len; i++) {
		if (addr[i] == '\\' && i + 1 < len) {
			i++;
			if (addr[i] == '@' || addr[i] == '!' || addr[i] == '%')
				routed = 1;
			continue;
		}
		if (quoted) {
			quoted = addr[i] != '"';
			if (addr[i] == '@' || addr[i] == '!' || addr[i] == '%')
				routed = 1;
			continue;
		}
		if (addr[i] == '"')
			quoted = 1;
		else if (addr[i] == '@') {
			at = i;
			nat++;
		} else if (addr[i] == '!' || addr[i] == '%')
			routed = 1;
	}
	/* A "%" or "!" in the domain is no domain either: fail closed. */
	if (routed || nat > 1)
		return (-1);
	if (at < len) {
		*dom = addr + at + 1;
		*domlen = len - at - 1;
		return (1);
	}
	return (0);
}

/**
 * addr_normal(addr, len, out): ${addr} (${len} octets, as addr_strip()
 * gives it) the way Postfix records an envelope address: a source route
 * ("@a,@b:") dropped, the quotes and backslash escapes of the local part
 * removed, a final "." of the domain dropped.  ${out} holds at least
 * ${len} octets; returns the length written (no NUL is added).
 */
size_t
addr_normal(const char *addr, size_t len, char *out)
{
	size_t	i, o = 0;
	int	quoted = 0;

	for (i = route_end(addr, len); i < len; i++) {
		if (addr[i] == '\\' && i + 1 < len) {
			out[o++] = addr[++i];
			continue;
		}
		if (addr[i] == '"') {
			quoted = !quoted;
			continue;
		}
		out[o++] = addr[i];
	}
	if (o > 1 && out[o - 1] == '.' && memchr(out, '@', o) != NULL)
		o--;
	return (o);
}

/**
 * addr_badchars(arg, len, first): count the octets of ${arg} forbidden by the
 * address-characters rule: "|", "`", NUL, CR, LF, and "<" / ">" other than
 * one leading "<" and its matching final ">".  Stores the first offending
 * octet in ${first} (when the count is not 0).  Returns the count.
 */
size_t
addr_badchars(const char *arg, size_t len, unsigned char *first)
{
	const char *s, *e, *p, *open = NULL, *close = NULL;
	size_t	n = 0;

	if (arg == NULL)
		return (0);
	s = arg;
	e = arg + len;
	trim(&s, &e);
	/* The delimiters are exempt only as a pair: "<" first, ">" last. */
	if (e - s >= 2 && s[0] == '<' && e[-1] == '>') {
		open = s;
		close = e - 1;
	}

	for (p = arg; p < arg + len; p++) {
		unsigned char c = (unsigned char)*p;
		int	bad;

		switch (c) {
		case '|': case '`': case '\0': case '\r': case '\n':
			bad = 1;
			break;
		case '<': case '>':
			bad = p != open && p != close;
			break;
		default:
			bad = 0;
			break;
		}
		if (bad) {
			if (n == 0 && first != NULL)
				*first = c;
			n++;
		}
	}
	return (n);
}

/*
 * The end of the comment opening at ${s} ("(" ... ")", nested, with
 * backslash escapes), or ${e} if it is not closed.
 */
static const char *
skip_comment(const char *s, const char *e)
{
	int	depth = 0;

	for (; s < e; s++) {
		if (*s == '\\' && s + 1 < e)
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && --depth == 0)
			return (s + 1);
	}
	return (e);
}

/* The end of the quoted string or domain literal opening at ${s}: after
 * its closing ${close}, or ${e}. */
static const char *
skip_quoted(const char *s, const char *e, char close)
{
	for (s++; s < e; s++) {
		if (*s == '\\' && s + 1 < e)
			s++;
		else if (*s == close)
			return (s + 1);
	}
	return (e);
}

/* An element of an address list being read: its bare words so far. */
struct addr_elem {
	char   *out;			/* the caller's buffer */
	size_t	n;			/* octets in out */
	int	gap;			/* white space or a comment since the last word */
	int	special;		/* the last thing kept was "." or "@" */
	int	phrase;			/* two words with only a gap between */
	int	angle;			/* an angle address was read: out holds it */
};

/* Keep [s, e) as (part of) a word of the element. */
static void
elem_word(struct addr_elem *el, const char *s, const char *e)
{
	int	sp = e - s == 1 && (*s == '.' || *s == '@');

	if (el->gap && el->n > 0 && !el->special && !sp)
		el->phrase = 1;
	el->gap = 0;
	el->special = sp;
	memcpy(el->out + el->n, s, (size_t)(e - s));
	el->n += (size_t)(e - s);
}

/*
 * Read the angle address opening at ${s} into ${el} (replacing the words
 * before it: a display name); returns where it ends (after ">", or ${e}).
 * White space and comments are dropped, and an obsolete route
 * ("@a,@b:") before the address.
 */
static const char *
read_angle(struct addr_elem *el, const char *s, const char *e)
{
	const char *q;
	int	route = -1;		/* -1: not known yet, 1: in a route */

	el->n = 0;
	el->angle = 1;
	for (s++; s < e && *s != '>'; ) {
		if (*s == '(') {
			s = skip_comment(s, e);
			continue;
		}
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			s++;
			continue;
		}
		if (route == -1)
			route = *s == '@';
		if (route == 1) {
			if (*s == ':')
				route = 0;
			s++;
			continue;
		}
		q = *s == '"' ? skip_quoted(s, e, '"') :
		    *s == '[' ? skip_quoted(s, e, ']') : s + 1;
		memcpy(el->out + el->n, s, (size_t)(q - s));
		el->n += (size_t)(q - s);
		s = q;
	}
	return (s < e ? s + 1 : e);
}

/**
 * addr_list(value, len, buf, fn, arg): pass each address of the RFC 5322
 * address list ${value} to ${fn}, in order (addr.h); ${buf} holds at
 * least ${len} octets.  Returns how many were passed.
 */
size_t
addr_list(const char *value, size_t len, char *buf, addr_list_fn *fn,
    void *arg)
{
	const char *s = value, *e = value + len, *q;
	struct addr_elem el;
	size_t	count = 0;
	int	stop = 0, end;

	if (value == NULL)
		return (0);
	memset(&el, 0, sizeof(el));
	el.out = buf;
	while (!stop) {
		end = s >= e || *s == ',' || *s == ';';
		if (end) {
			if (el.angle || (el.n > 0 && !el.phrase)) {
				count++;
				stop = fn(arg, el.out, el.n) != 0;
			}
			memset(&el, 0, sizeof(el));
			el.out = buf;
			if (s >= e)
				break;
			s++;
			continue;
		}
		switch (*s) {
		case ' ': case '\t': case '\r': case '\n':
			el.gap = 1;
			s++;
			break;
		case '(':
			el.gap = 1;
			s = skip_comment(s, e);
			break;
		case ':':
			/* A group: what came before is its name. */
			memset(&el, 0, sizeof(el));
			el.out = buf;
			s++;
			break;
		case '<':
			s = read_angle(&el, s, e);
			break;
		default:
			if (el.angle) {
				s++;		/* after "<...>": nothing counts */
				break;
			}
			if (*s == '"')
				q = skip_quoted(s, e, '"');
			else if (*s == '[')
				q = skip_quoted(s, e, ']');
			else if (*s == '.' || *s == '@')
				q = s + 1;
			else
				for (q = s; q < e && strchr(" \t\r\n(),;:<\".@[",
				    *q) == NULL; q++)
					;
			if (q == s)		/* a NUL, which strchr() matches */
				q = s + 1;
			elem_word(&el, s, q);
			s = q;
			break;
		}
	}
	return (count);
}
