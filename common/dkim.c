/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dkim.c - the tag list of a DKIM-Signature field (RFC 6376 3.2, 3.5),
 * just far enough to list the header field names of its h= tag.
 *
 * Interface: dkim_hnames() walks the tag list and calls back once per
 * name in h=; it returns NULL or why the list is malformed.
 *
 * Invariants: the value is untrusted, has an explicit length and is never
 * read past it; nothing is allocated.  White space (SP, HTAB, CR, LF:
 * folding as a milter or a file delivers it) may sit around tag names,
 * "=", ";" and ":".  Tag names are case-sensitive (RFC 6376 3.2), so only
 * "h" is the header list.  Every other tag value is skipped unread: z=
 * holds copied header names and values ("From:a|To:b") that are never
 * names.  A tag list with more than DKIM_MAX_TAGS tags is refused rather
 * than checked for duplicates at quadratic cost.
 */
#include <string.h>

#include "dkim.h"

#define DKIM_MAX_TAGS	128	/* real signatures carry about a dozen */

static int
is_fws(unsigned char c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

static int
is_alpha(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

static int
is_digit(unsigned char c)
{
	return (c >= '0' && c <= '9');
}

/* RFC 5322 ftext less ';', which ends the tag value. */
static int
is_fname(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != ':' && c != ';');
}

static const char *
skip_fws(const char *p, const char *end)
{
	while (p < end && is_fws((unsigned char)*p))
		p++;
	return (p);
}

/*
 * The h= value [p, end), ending at ';' or at the end: call ${fn} for each
 * name.  Returns NULL or the error; *next is where the value ended.
 */
static const char *
parse_hlist(const char *p, const char *end, dkim_name_fn *fn, void *arg,
    const char **next)
{
	const char *s;

	for (;;) {
		p = skip_fws(p, end);
		s = p;
		while (p < end && is_fname((unsigned char)*p))
			p++;
		if (p == s)
			return ("empty field name in h= tag");
		fn(arg, s, (size_t)(p - s));
		p = skip_fws(p, end);
		if (p == end || *p == ';')
			break;
		if (*p != ':')
			return ("bad field name in h= tag");
		p++;
	}
	*next = p;
	return (NULL);
}

/**
 * dkim_hnames(value, len, fn, arg): parse the DKIM-Signature field value
 * ${value} and call ${fn} for every field name in its h= tag.  Returns
 * NULL, or why the tag list is malformed (no h= tag, a duplicated tag, a
 * bad tag name or field name); ${fn} may have been called before an error
 * is found, so callers collect names first and use them only on NULL.
 */
const char *
dkim_hnames(const char *value, size_t len, dkim_name_fn *fn, void *arg)
{
	const char *p = value, *end = value + len, *s, *err;
	const char *tag[DKIM_MAX_TAGS];
	size_t	taglen[DKIM_MAX_TAGS], ntags = 0, n, i;
	int	have_h = 0;

	if (value == NULL)
		return ("no h= tag");
	for (;;) {
		p = skip_fws(p, end);
		if (p == end)
			break;
		if (*p == ';') {		/* empty tag-spec: tolerated */
			p++;
			continue;
		}
		s = p;
		if (!is_alpha((unsigned char)*p))
			return ("bad tag name");
		while (p < end && (is_alpha((unsigned char)*p) ||
		    is_digit((unsigned char)*p) || *p == '_'))
			p++;
		n = (size_t)(p - s);
		for (i = 0; i < ntags; i++)
			if (taglen[i] == n && memcmp(tag[i], s, n) == 0)
				return ("duplicated tag");
		if (ntags == DKIM_MAX_TAGS)
			return ("too many tags");
		tag[ntags] = s;
		taglen[ntags++] = n;
		p = skip_fws(p, end);
		if (p == end || *p != '=')
			return ("bad tag name");
		p++;
		if (n == 1 && *s == 'h') {
			have_h = 1;
			if ((err = parse_hlist(p, end, fn, arg, &p)) != NULL)
				return (err);
		} else {
			s = memchr(p, ';', (size_t)(end - p));
			p = s != NULL ? s : end;
		}
		if (p == end)
			break;
		p++;				/* the ';' */
	}
	return (have_h ? NULL : "no h= tag");
}
