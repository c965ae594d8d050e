/*
 * mimefeed.h - test helper shared by tests/unit/test_mime.c and
 * tests/fuzz/fuzz_mime.c: hand the header of a raw message to the MIME
 * scanner the way Postfix hands header fields to a milter (the value after
 * the colon with its leading space kept, a bare LF before each
 * continuation line, CRLF or LF line ends).  Header-only, static: each
 * test program includes it once.
 */
#ifndef MIMEFEED_H
#define MIMEFEED_H

#include <string.h>

#include "mime.h"

/*
 * mimefeed_headers(m, msg, len, val, skipped): give each header field of
 * ${msg} to mime_header(); ${val} must hold ${len} octets.  Lines that are
 * neither a field nor a continuation of one (or whose name is 256 octets or
 * longer) are skipped and counted in ${skipped}.  Returns the offset where
 * the body starts (after the empty line), or ${len} if there is none.
 */
static size_t
mimefeed_headers(struct mime *m, const char *msg, size_t len, char *val,
    size_t *skipped)
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
			mime_header(m, name, nn, val, vn);
			have = 0;
		}
		if (ll == 0 || nl == NULL)
			break;
		if (p[0] == ' ' || p[0] == '\t') {
			if (have) {
				val[vn++] = '\n';
				memcpy(val + vn, p, ll);
				vn += ll;
			} else
				(*skipped)++;
		} else if ((c = memchr(p, ':', ll)) != NULL &&
		    (size_t)(c - p) < sizeof(name)) {
			nn = (size_t)(c - p);
			memcpy(name, p, nn);
			vn = ll - nn - 1;
			memcpy(val, c + 1, vn);
			have = 1;
		} else
			(*skipped)++;
		p = nl + 1;
	}
	return (nl != NULL ? (size_t)(nl + 1 - msg) : len);
}

#endif /* MIMEFEED_H */
