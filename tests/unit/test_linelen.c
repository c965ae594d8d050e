/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_linelen.c - linelen_header() and the streaming body measurer.
 * Body rows are fed in chunks of every size from 1 octet to the whole
 * input: the result must not depend on where chunks split.  Rows hold
 * their bytes inline (Criterion 2.4 re-launches the binary per row).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "linelen.h"

/* A string literal as (bytes, length), embedded NULs included. */
#define S(x)	x, sizeof(x) - 1

struct hdr_row {
	char	name[32];
	char	value[256];
	size_t	want;
	unsigned line;
};

ParameterizedTestParameters(linelen, header)
{
	static struct hdr_row rows[] = {
		/* "Subject: hi" = 7 + 1 + 3 */
		{ "Subject", " hi", 11, 1 },
		{ "Subject", "", 8, 1 },
		{ "X", "", 2, 1 },
		/* folded with LF (as Postfix hands it to a milter) */
		{ "Subject", " a\n\tbbbbbbbbbbbbbbbbbbbb", 21, 2 },
		{ "Subject", " aaaaaaaaaaaaaaaaaaaa\n\tb", 29, 1 },
		/* folded with CRLF: the CR is the terminator */
		{ "Subject", " a\r\n\tbbbbbbbbbbbbbbbbbbbb", 21, 2 },
		{ "Subject", " aaaaaaaaaaaaaaaaaaaa\r\n\tb", 29, 1 },
		{ "To", " a\r\n b\r\n cccccccccc\r\n d", 11, 3 },
		{ "To", " a\n b\r\n cccccccccc\n d", 11, 3 },
		/* the name counts on line 1 only */
		{ "Very-Long-Field-Name-Here", " x\n 123456789012345678901234", 28, 1 },
		{ "Very-Long-Field-Name-Here", " x\n 1234567890123456789012345678", 29, 2 },
		/* a tie goes to the first line */
		{ "A", " b\n abc", 4, 1 },
		/* a lone CR is content */
		{ "A", " b\rc", 6, 1 },
		{ "A", "\r\r\n x", 3, 1 },
		/* empty continuation lines and a trailing terminator */
		{ "A", " b\n\n\n", 4, 1 },
		{ "A", "\n\n   xxxxx", 8, 3 },
		{ "A", "\r\n", 2, 1 },
	};
	return cr_make_param_array(struct hdr_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct hdr_row *r, linelen, header)
{
	unsigned line = 0;
	size_t	got;

	got = linelen_header(r->name, strlen(r->name), r->value, strlen(r->value),
	    &line);
	cr_assert_eq(got, r->want, "%s:%s: got %zu, want %zu", r->name, r->value,
	    got, r->want);
	cr_assert_eq(line, r->line, "%s:%s: line %u, want %u", r->name, r->value,
	    line, r->line);
	cr_assert_eq(linelen_header(r->name, strlen(r->name), r->value,
	    strlen(r->value), NULL), r->want);
}

/* A value whose first physical line, "Subject:" included, is ${first} long. */
static char *
make_value(size_t first, const char *cont, size_t *len)
{
	size_t	n = first - 8, c = strlen(cont);
	char   *v = malloc(n + c + 1);

	cr_assert_not_null(v);
	v[0] = ' ';
	memset(v + 1, 'x', n - 1);
	memcpy(v + n, cont, c + 1);
	*len = n + c;
	return (v);
}

Test(linelen, header_998_999)
{
	size_t	len, i;
	unsigned line;
	char   *v;
	static const char *const conts[] = { "", "\n\tshort", "\r\n\tshort" };

	for (i = 0; i < 3; i++) {
		v = make_value(998, conts[i], &len);
		cr_assert_eq(linelen_header("Subject", 7, v, len, &line), 998);
		cr_assert_eq(line, 1);
		free(v);
		v = make_value(999, conts[i], &len);
		cr_assert_eq(linelen_header("Subject", 7, v, len, &line), 999);
		cr_assert_eq(line, 1);
		free(v);
	}
	/* 998 and 999 on a continuation line, after CRLF and after LF */
	v = malloc(3000);
	cr_assert_not_null(v);
	memcpy(v, " a\r\n", 4);
	memset(v + 4, 'y', 999);
	memcpy(v + 1003, "\n", 1);
	memset(v + 1004, 'z', 998);
	cr_assert_eq(linelen_header("Subject", 7, v, 2002, &line), 999);
	cr_assert_eq(line, 2);
	cr_assert_eq(linelen_header("Subject", 7, v, 1003, &line), 999);
	v[4] = '\n';		/* "...\r\n\n" + 998 'y' */
	cr_assert_eq(linelen_header("Subject", 7, v, 1003, &line), 998);
	cr_assert_eq(line, 3);
	free(v);
}

struct body_row {
	char	in[128];
	size_t	len;
	unsigned long long limit;
	unsigned long long max;
	unsigned long long first_over;
	unsigned long long lines;
};

ParameterizedTestParameters(linelen, body)
{
	static struct body_row rows[] = {
		{ S(""), 3, 0, 0, 0 },
		{ S("abc\r\n"), 3, 3, 0, 1 },
		{ S("abcd\r\n"), 3, 4, 4, 1 },
		{ S("abc\n"), 3, 3, 0, 1 },
		{ S("abcd\n"), 3, 4, 4, 1 },
		/* unterminated last line */
		{ S("abcd"), 3, 4, 4, 1 },
		{ S("ab\r\nabcde"), 3, 5, 5, 2 },
		/* empty lines */
		{ S("\r\n\r\n\n\r\n"), 0, 0, 0, 4 },
		{ S("\r\n\r\nabcdef\r\n\r\n"), 3, 6, 6, 4 },
		/* bare LF terminates, mixed with CRLF */
		{ S("a\nbb\r\nccc\ndddd\r\n"), 3, 4, 4, 4 },
		/* lone CR is content */
		{ S("ab\rcd\r\n"), 4, 5, 5, 1 },
		{ S("\r"), 0, 1, 1, 1 },
		{ S("ab\r"), 2, 3, 3, 1 },
		{ S("\r\r\n"), 0, 1, 1, 1 },
		{ S("\r\r\r\r\n"), 2, 3, 3, 1 },
		{ S("a\r\rb\r\n\r"), 4, 4, 0, 2 },
		{ S("x\r\n\r"), 0, 1, 1, 2 },
		/* the first line over the limit, not the longest */
		{ S("aaaa\nbbbbbbbb\nc\n"), 3, 8, 4, 3 },
		{ S("aaa\r\nbbbbbbbb\r\ncccc\r\n"), 3, 8, 8, 3 },
		/* NUL is content */
		{ S("a\0b\r\n"), 2, 3, 3, 1 },
		/* limit 0: every non-empty line is over */
		{ S("\r\n\r\nz\r\n"), 0, 1, 1, 3 },
	};
	return cr_make_param_array(struct body_row, rows, sizeof(rows) / sizeof(rows[0]));
}

/* Measure ${in} fed in chunks of ${chunk} octets. */
static void
measure(struct linelen_body *lb, const char *in, size_t len, size_t chunk,
    unsigned long long limit)
{
	size_t	off, n;

	linelen_body_init(lb, limit);
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		linelen_body_feed(lb, (const unsigned char *)in + off, n);
	}
	linelen_body_feed(lb, (const unsigned char *)"", 0);
	linelen_body_finish(lb);
}

ParameterizedTest(struct body_row *r, linelen, body)
{
	struct linelen_body lb;
	size_t	chunk;

	for (chunk = 1; chunk <= (r->len ? r->len : 1); chunk++) {
		measure(&lb, r->in, r->len, chunk, r->limit);
		cr_assert_eq(lb.max, r->max, "row %zu octets, chunk %zu: max %llu, want %llu",
		    r->len, chunk, lb.max, r->max);
		cr_assert_eq(lb.first_over, r->first_over,
		    "row %zu octets, chunk %zu: first_over %llu, want %llu",
		    r->len, chunk, lb.first_over, r->first_over);
		cr_assert_eq(lb.lines, r->lines, "row %zu octets, chunk %zu: lines %llu, want %llu",
		    r->len, chunk, lb.lines, r->lines);
	}
}

/* Every split into two chunks, too: the CRLF lands on each side. */
Test(linelen, body_crlf_split_everywhere)
{
	static const char in[] = "aaaa\r\nbbbbbbb\r\n\r\ncc\rc\r\nd";
	struct linelen_body lb;
	size_t	len = sizeof(in) - 1, cut;

	for (cut = 0; cut <= len; cut++) {
		linelen_body_init(&lb, 5);
		linelen_body_feed(&lb, (const unsigned char *)in, cut);
		linelen_body_feed(&lb, (const unsigned char *)in + cut, len - cut);
		linelen_body_finish(&lb);
		cr_assert_eq(lb.max, 7, "cut %zu", cut);
		cr_assert_eq(lb.first_over, 7, "cut %zu", cut);
		cr_assert_eq(lb.lines, 5, "cut %zu", cut);
	}
}

Test(linelen, body_998_999)
{
	static char in[2 * 1000 + 1000 + 8];
	struct linelen_body lb;
	size_t	len, chunk;

	/* 998 'a' CRLF, 999 'b' LF, 998 'c' */
	memset(in, 'a', 998);
	memcpy(in + 998, "\r\n", 2);
	memset(in + 1000, 'b', 999);
	in[1999] = '\n';
	memset(in + 2000, 'c', 998);
	len = 2998;
	for (chunk = 1; chunk <= len; chunk++) {
		measure(&lb, in, len, chunk, 998);
		cr_assert_eq(lb.max, 999, "chunk %zu", chunk);
		cr_assert_eq(lb.first_over, 999, "chunk %zu", chunk);
		cr_assert_eq(lb.lines, 3, "chunk %zu", chunk);
	}
	/* exactly 998 everywhere: never over */
	memset(in + 1000, 'b', 998);
	memcpy(in + 1998, "\r\n", 2);
	for (chunk = 1; chunk <= len; chunk++) {
		measure(&lb, in, len, chunk, 998);
		cr_assert_eq(lb.max, 998, "chunk %zu", chunk);
		cr_assert_eq(lb.first_over, 0, "chunk %zu", chunk);
		cr_assert_eq(lb.lines, 3, "chunk %zu", chunk);
	}
}

Test(linelen, body_long_line_counters_only)
{
	/* 8 MiB in one line, fed as 64 KiB chunks: the state is counters */
	static unsigned char buf[65536];
	struct linelen_body lb;
	size_t	i;

	memset(buf, 'x', sizeof(buf));
	linelen_body_init(&lb, 998);
	for (i = 0; i < 128; i++)
		linelen_body_feed(&lb, buf, sizeof(buf));
	cr_assert_eq(lb.lines, 0);
	cr_assert_eq(lb.cur, 128ULL * 65536);
	linelen_body_feed(&lb, (const unsigned char *)"\r", 1);
	cr_assert_eq(lb.pending_cr, 1);
	linelen_body_feed(&lb, (const unsigned char *)"\n", 1);
	cr_assert_eq(lb.first_over, 128ULL * 65536);
	cr_assert_eq(lb.lines, 1);
	linelen_body_finish(&lb);
	cr_assert_eq(lb.lines, 1);
}
