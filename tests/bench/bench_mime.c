/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_mime.c - in-process speed of the MIME scanner (issue 4: the
 * scanner alone should reach 1 GB/s of body on one core).
 *
 * Builds a ~256 MiB multipart body in memory (a text part of long lines,
 * several base64 attachments of 76-column lines, a nested multipart),
 * scans it N times (argv[1], default 4) with mime_body() in 64 KiB chunks,
 * and prints the rate next to a memchr()-only line scan of the same buffer
 * in the same chunks: the floor of any line-oriented scanner.
 *
 *   cc -std=c11 -O2 -D_GNU_SOURCE -Icommon $(pkg-config --cflags gmime-3.0) \
 *       tests/bench/bench_mime.c common/mime.c $(pkg-config --libs gmime-3.0) \
 *       -pthread -o bench_mime
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mime.h"

#define BODY_SIZE	((size_t)256 << 20)
#define CHUNK		((size_t)64 << 10)

static size_t names;

static void
count(void *arg, const char *param, const char *name, size_t len, int trunc)
{
	(void)arg;
	(void)param;
	(void)name;
	(void)len;
	(void)trunc;
	names++;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static size_t
put(char *b, size_t n, const char *s)
{
	size_t	l = strlen(s);

	memcpy(b + n, s, l);
	return (n + l);
}

/* The synthetic message body; its length in ${len}. */
static char *
build(size_t *len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char   *b = malloc(BODY_SIZE + (1 << 20)), hdr[256];
	size_t	n = 0, part, i, j, end;
	unsigned seed = 1;

	if (b == NULL)
		return (NULL);
	n = put(b, n, "This is a multi-part message in MIME format.\r\n");
	/* A text part: long lines, some starting with "-" or "--". */
	n = put(b, n, "--=_outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
	for (end = n + BODY_SIZE / 8; n < end;) {
		for (j = 0; j < 900; j++, n++)
			b[n] = (char)('a' + (j * 7 + n) % 26);
		n = put(b, n, (n & 3) == 0 ? "\r\n-- \r\n--not a boundary\r\n" : "\r\n");
	}
	/* A nested multipart with two attachments, then more at the top. */
	n = put(b, n, "--=_outer\r\nContent-Type: multipart/mixed; boundary=\"=_inner\"\r\n\r\n");
	for (part = 0; part < 6; part++) {
		if (part == 2)
			n = put(b, n, "--=_inner--\r\n");
		snprintf(hdr, sizeof(hdr), "--%s\r\nContent-Type: application/pdf;"
		    " name=\"file%zu.pdf\"\r\nContent-Disposition: attachment;\r\n"
		    "\tfilename*=utf-8''%%E2%%82%%AC%zu.pdf\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n",
		    part < 2 ? "=_inner" : "=_outer", part, part);
		n = put(b, n, hdr);
		for (end = n + (BODY_SIZE * 7 / 8) / 6; n < end;) {
			for (i = 0; i < 76; i++) {
				seed = seed * 1103515245 + 12345;
				b[n++] = b64[(seed >> 16) & 63];
			}
			b[n++] = '\r';
			b[n++] = '\n';
		}
	}
	n = put(b, n, "--=_outer--\r\n");
	*len = n;
	return (b);
}

int
main(int argc, char **argv)
{
	int	runs = argc > 1 ? atoi(argv[1]) : 4, r;
	size_t	len, off, lines = 0;
	char   *body = build(&len);
	struct mime *m;
	double	t0 = 0, tm, tb;
	const char *p, *e, *nl;

	if (body == NULL || runs < 1 || (m = mime_new(count, NULL, NULL)) == NULL) {
		fprintf(stderr, "bench_mime: setup failed\n");
		return (1);
	}
	/* Baseline: find every line end with memchr(), nothing else (run 0 warms up). */
	for (r = -1; r < runs; r++) {
		if (r == 0) {
			t0 = now();
			lines = 0;
		}
		for (off = 0; off < len; off += CHUNK) {
			p = body + off;
			e = p + (len - off < CHUNK ? len - off : CHUNK);
			while (p < e && (nl = memchr(p, '\n', (size_t)(e - p))) != NULL) {
				lines++;
				p = nl + 1;
			}
		}
	}
	tb = now() - t0;

	t0 = now();
	for (r = 0; r < runs; r++) {
		mime_reset(m);
		mime_header(m, "Content-Type", 12,
		    " multipart/mixed; boundary=\"=_outer\"", 36);
		for (off = 0; off < len; off += CHUNK)
			mime_body(m, (const unsigned char *)body + off,
			    len - off < CHUNK ? len - off : CHUNK);
		mime_end(m);
	}
	tm = now() - t0;

	printf("body %.1f MiB x %d, %zu lines, %zu names\n", len / 1048576.0,
	    runs, lines / (size_t)runs, names / (size_t)runs);
	printf("memchr lines: %.2f GB/s\n", len * (double)runs / tb / 1e9);
	printf("mime scanner: %.2f GB/s (%.2f of memchr-only)\n",
	    len * (double)runs / tm / 1e9, tb / tm);
	mime_free(m);
	free(body);
	return (names / (size_t)runs == 12 ? 0 : 1);
}
