/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mimefeed.h - test helper shared by tests/unit/test_mime.c and the fuzz
 * targets: hand the header of a raw message to the MIME scanner (or any
 * callback) the way Postfix hands header fields to a milter (the value after
 * the colon with its leading space kept, a bare LF before each
 * continuation line, CRLF or LF line ends).  Header-only, static: each
 * test program includes it once.
 */
#ifndef MIMEFEED_H
#define MIMEFEED_H

#include <string.h>

#include "mime.h"

typedef void mimefeed_fn(void *arg, const char *name, size_t namelen,
    const char *value, size_t valuelen);

/*
 * mimefeed_fields(msg, len, val, skipped, fn, arg): give each header field
 * of ${msg} to ${fn}; ${val} must hold ${len} octets.  Lines that are
 * neither a field (see mimefeed_name()) nor a continuation of one (or
 * whose name is 256 octets or longer) are skipped and counted in
 * ${skipped}.  Returns the offset where
 * the body starts (after the empty line), or ${len} if there is none.
 */
/*
 * 1 if [p, c) is a field name an MTA passes on: no control character or
 * white space inside, white space only before the colon (8-bit octets
 * allowed: Postfix would end the header there, Sendmail passes them, and
 * GMime reads them as names).
 */
static inline int
mimefeed_name(const char *p, const char *c)
{
	const char *q = c;

	while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	if (q == p)
		return (0);
	for (; p < q; p++)
		if ((unsigned char)*p <= 32 || (unsigned char)*p == 127)
			return (0);
	return (1);
}

static inline size_t
mimefeed_fields(const char *msg, size_t len, char *val, size_t *skipped,
    mimefeed_fn *fn, void *arg)
{
	const char *p = msg, *e = msg + len, *nl = NULL, *c;
	size_t	vn = 0, ll, nn = 0;
	char	name[256];
	int	have = 0;

	*skipped = 0;
	for (;;) {
		nl = memchr(p, '\n', (size_t)(e - p));
		ll = nl != NULL ? (size_t)(nl - p) : (size_t)(e - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (have && (ll == 0 || (p[0] != ' ' && p[0] != '\t'))) {
			fn(arg, name, nn, val, vn);
			have = 0;
		}
		if (ll == 0)
			break;
		if (p[0] == ' ' || p[0] == '\t') {
			if (have) {
				val[vn++] = '\n';
				memcpy(val + vn, p, ll);
				vn += ll;
			} else
				(*skipped)++;
		} else if ((c = memchr(p, ':', ll)) != NULL &&
		    (size_t)(c - p) < sizeof(name) && mimefeed_name(p, c)) {
			nn = (size_t)(c - p);
			memcpy(name, p, nn);
			vn = ll - nn - 1;
			memcpy(val, c + 1, vn);
			have = 1;
		} else
			(*skipped)++;
		if (nl == NULL) {
			/* The MTA ends an unterminated last line: a field too. */
			if (have)
				fn(arg, name, nn, val, vn);
			break;
		}
		p = nl + 1;
	}
	return (nl != NULL ? (size_t)(nl + 1 - msg) : len);
}

static inline void
mimefeed_mime(void *arg, const char *name, size_t namelen, const char *value,
    size_t valuelen)
{
	mime_header(arg, name, namelen, value, valuelen);
}

/* mimefeed_headers(m, msg, len, val, skipped): mimefeed_fields() into mime_header(). */
static inline size_t
mimefeed_headers(struct mime *m, const char *msg, size_t len, char *val,
    size_t *skipped)
{
	return (mimefeed_fields(msg, len, val, skipped, mimefeed_mime, m));
}

#endif /* MIMEFEED_H */
