/*
 * addr.c - envelope address parsing for MAIL FROM / RCPT TO arguments.
 *
 * Interface: addr_strip() finds the address inside an argument (for
 * sender-length), addr_badchars() counts the octets the address-characters
 * rule forbids.
 *
 * Invariants: input is untrusted and has an explicit length; any octet,
 * NUL included, may occur and nothing reads past ${len}.  Nothing here
 * allocates or writes outside the caller's variables.
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
