/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_header.c - libFuzzer target for the line measurer (linelen.c).
 *
 * The input is a header field and, at the same time, a body.  The header:
 * the first octet picks how much of the rest is the name; linelen_header()
 * must agree with a byte-by-byte reference.  The body: fed in one chunk
 * and again in two chunks split at an input-derived point (and octet by
 * octet); all three results must equal each other and the reference.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linelen.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Byte-by-byte reference: the longest line, CR before LF is terminator. */
static void
reference(const uint8_t *p, size_t n, unsigned long long extra,
    unsigned long long limit, unsigned long long *max,
    unsigned long long *first_over, unsigned long long *lines,
    unsigned *maxline, int header)
{
	unsigned long long cur = extra, len;
	size_t	i;
	unsigned line = 1;

	*max = *first_over = *lines = 0;
	*maxline = 1;
	for (i = 0; i <= n; i++) {
		if (i < n && p[i] != '\n') {
			cur++;
			continue;
		}
		if (i == n && !header && cur == 0)
			break;
		len = cur;
		if (i < n && i > 0 && p[i - 1] == '\r')
			len--;
		(*lines)++;
		if (len > *max || (header && line == 1)) {
			*max = len;
			*maxline = line;
		}
		if (*first_over == 0 && len > limit)
			*first_over = len;
		cur = 0;
		line++;
	}
}

static void
body(struct linelen_body *lb, const uint8_t *p, size_t n, size_t cut,
    unsigned long long limit)
{
	linelen_body_init(lb, limit);
	linelen_body_feed(lb, p, cut);
	linelen_body_feed(lb, p + cut, n - cut);
	linelen_body_finish(lb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long max, first_over, lines, limit;
	struct linelen_body one, two, bytes;
	size_t	namelen, cut, i, got;
	unsigned line, refline;
	uint8_t *buf;

	if (size < 2)
		return (0);
	limit = data[1] % 32;
	/* An exact-size copy so ASan sees any read past the length. */
	if ((buf = malloc(size - 2 ? size - 2 : 1)) == NULL)
		return (0);
	memcpy(buf, data + 2, size - 2);
	size -= 2;

	namelen = size ? data[0] % (size + 1) : 0;
	got = linelen_header((const char *)buf, namelen,
	    (const char *)buf + namelen, size - namelen, &line);
	reference(buf + namelen, size - namelen, namelen + 1, ~0ULL, &max,
	    &first_over, &lines, &refline, 1);
	if (got != max || line != refline)
		abort();

	cut = size ? ((size_t)data[0] * 257 + data[1]) % (size + 1) : 0;
	body(&one, buf, size, size, limit);
	body(&two, buf, size, cut, limit);
	linelen_body_init(&bytes, limit);
	for (i = 0; i < size; i++)
		linelen_body_feed(&bytes, buf + i, 1);
	linelen_body_finish(&bytes);
	reference(buf, size, 0, limit, &max, &first_over, &lines, &refline, 0);
	if (one.max != two.max || one.first_over != two.first_over ||
	    one.lines != two.lines || bytes.max != one.max ||
	    bytes.first_over != one.first_over || bytes.lines != one.lines)
		abort();
	if (one.max != max || one.first_over != first_over || one.lines != lines)
		abort();
	free(buf);
	return (0);
}
