/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_pattern.c - PCRE2 pattern lists (SPEC 4.2): what matches, case,
 * octets that are not UTF-8, and the bound on one match, which must fail
 * closed (-1) and quickly, never run on.  Rows hold their bytes inline
 * (Criterion re-launches the binary per row).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "pattern.h"

struct match_row {
	char	patterns[3][64];	/* "" ends the list */
	char	subject[80];
	int	want;			/* pattern_list_match() */
	size_t	which;			/* for want != 0 */
};

ParameterizedTestParameters(pattern, match)
{
	static struct match_row rows[] = {
		{ { "^application/x-msdownload$" }, "application/x-msdownload",
		  1, 0 },
		/* case-insensitive, as SPEC 4 says of type/subtype */
		{ { "^application/x-msdownload$" }, "Application/X-MSDownload",
		  1, 0 },
		{ { "^audio/", "^video/" }, "video/mp4", 1, 1 },
		{ { "^audio/", "^video/" }, "text/plain", 0, 0 },
		/* the first pattern that matches is named */
		{ { "@evil\\.test$", "evil" }, "a@evil.test", 1, 0 },
		{ { "@evil\\.test$" }, "a@evilxtest", 0, 0 },
		/* octets, not UTF-8: no error on a stray 0xff */
		{ { "\\xff" }, "a\xff", 1, 0 },
		{ { "^a.b$" }, "a\xc3" "b", 1, 0 },
		/* empty list: nothing matches */
		{ { "" }, "anything", 0, 0 },
		/* catastrophic backtracking: the limit, not a hang, and -1 */
		{ { "^(a+)+$" }, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", -1, 0 },
		{ { "x", "^(a|aa)+$" }, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
		  -1, 1 },
	};

	return (cr_make_param_array(struct match_row, rows,
	    sizeof(rows) / sizeof(rows[0])));
}

ParameterizedTest(struct match_row *row, pattern, match)
{
	char   *v[3], err[256];
	struct pattern_list *l;
	size_t	n = 0, which = 99;
	int	got;

	while (n < 3 && row->patterns[n][0] != '\0') {
		v[n] = row->patterns[n];
		n++;
	}
	l = pattern_list_compile(v, n, err, sizeof(err));
	cr_assert_not_null(l, "compile: %s", err);
	cr_assert_eq(pattern_list_size(l), n);
	got = pattern_list_match(l, row->subject, strlen(row->subject), &which);
	cr_assert_eq(got, row->want, "%s: %d, expected %d", row->subject, got,
	    row->want);
	if (row->want != 0)
		cr_assert_eq(which, row->which);
	pattern_list_free(l);
}

struct bad_row {
	char	pattern[64];
	char	err[96];
};

ParameterizedTestParameters(pattern, bad)
{
	static struct bad_row rows[] = {
		{ "(x", "missing closing parenthesis at offset 2" },
		{ "a{2,1}", "numbers out of order in {} quantifier at offset 5" },
		{ "[z-a]", "range out of order in character class at offset 3" },
		{ "\\", "\\ at end of pattern at offset 1" },
	};

	return (cr_make_param_array(struct bad_row, rows,
	    sizeof(rows) / sizeof(rows[0])));
}

ParameterizedTest(struct bad_row *row, pattern, bad)
{
	char	err[256];
	char   *v[1] = { row->pattern };

	cr_assert_eq(pattern_check(row->pattern, err, sizeof(err)), -1);
	cr_assert_str_eq(err, row->err);
	cr_assert_null(pattern_list_compile(v, 1, err, sizeof(err)));
	cr_assert_str_eq(err, row->err);
}

Test(pattern, limits)
{
	static char longp[PATTERN_LEN_MAX + 2], x[] = "x";
	char	err[256], *v[PATTERN_LIST_MAX + 1];
	struct pattern_list *l;
	size_t	i;

	memset(longp, 'a', PATTERN_LEN_MAX);
	cr_assert_eq(pattern_check(longp, err, sizeof(err)), 0);
	longp[PATTERN_LEN_MAX] = 'a';
	cr_assert_eq(pattern_check(longp, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "pattern longer than 1024 octets");

	for (i = 0; i <= PATTERN_LIST_MAX; i++)
		v[i] = x;
	l = pattern_list_compile(v, PATTERN_LIST_MAX, err, sizeof(err));
	cr_assert_not_null(l);
	pattern_list_free(l);
	cr_assert_null(pattern_list_compile(v, PATTERN_LIST_MAX + 1, err,
	    sizeof(err)));
	cr_assert_str_eq(err, "more than 1000 patterns");
	pattern_list_free(NULL);
	cr_assert_eq(pattern_list_match(NULL, "x", 1, NULL), 0);
	cr_assert_eq(pattern_list_size(NULL), 0);
}

/* A subject with NULs and of any length is matched as the octets it is. */
Test(pattern, binary_subject)
{
	char	err[256], p[] = "b\\x00c", *v[1] = { p };
	struct pattern_list *l = pattern_list_compile(v, 1, err, sizeof(err));

	cr_assert_not_null(l, "%s", err);
	cr_assert_eq(pattern_list_match(l, "ab\0cd", 5, NULL), 1);
	cr_assert_eq(pattern_list_match(l, "ab\0cd", 2, NULL), 0);
	pattern_list_free(l);
}
