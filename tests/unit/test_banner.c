/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_banner.c - banner_asterisks() and banner_mask() over single- and
 * multi-line greetings, refusals of non-220 or incomplete replies, and
 * banner_text_ok().  Rows hold their strings inline: Criterion 2.4 copies
 * parameters into a re-executed worker.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "banner.h"

struct ast_row {
	char	in[160];
	char	out[160];		/* "" when -1 is expected */
};

ParameterizedTestParameters(banner, asterisks)
{
	static struct ast_row rows[] = {
		{ "220 mail.example.com ESMTP Postfix\r\n",
		  "220 ******************************\r\n" },
		{ "220-mail.example.com ESMTP\r\n220-second line\r\n220 last\r\n",
		  "220-**********************\r\n220-***********\r\n220 ****\r\n" },
		{ "220-a\r\n220 \r\n", "220-*\r\n220 \r\n" },
		{ "220\r\n", "220\r\n" },
		{ "220 x\ry\nz\r\n", "220 *\r*\n*\r\n" },	/* bare CR/LF kept */
		{ "220 \t\x01\xff\r\n", "220 ***\r\n" },
		/* refused: not 220, incomplete, malformed, trailing data */
		{ "554 5.7.1 go away\r\n", "" },
		{ "421 4.3.2 shutting down\r\n", "" },
		{ "220-first\r\n554 refused\r\n", "" },
		{ "220-first\r\n", "" },
		{ "220 no crlf", "" },
		{ "220 x\n", "" },
		{ "220x\r\n", "" },
		{ "22\r\n", "" },
		{ "220 one\r\n220 two\r\n", "" },
		{ "220 one\r\nEHLO", "" },
		{ "", "" },
	};

	return cr_make_param_array(struct ast_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct ast_row *row, banner, asterisks)
{
	char	out[160], small[160];
	size_t	len = strlen(row->in);
	ssize_t	n;

	memset(out, '#', sizeof(out));
	n = banner_asterisks(row->in, len, out, sizeof(out));
	if (row->out[0] == 0) {
		cr_assert_eq(n, -1, "accepted %s", row->in);
		return;
	}
	cr_assert_eq(n, (ssize_t)len, "length not preserved");
	cr_assert(memcmp(out, row->out, len) == 0, "got %.*s", (int)len, out);
	cr_assert_eq(out[len], '#', "wrote past the reply");
	/* in place gives the same, a short buffer is refused */
	memcpy(small, row->in, len);
	cr_assert_eq(banner_asterisks(small, len, small, len), (ssize_t)len);
	cr_assert(memcmp(small, row->out, len) == 0);
	cr_assert_eq(banner_asterisks(row->in, len, out, len - 1), -1);
}

struct mask_row {
	char	in[160];
	char	text[64];
	int	text_null;
	char	host[64];
	char	out[160];		/* "" when -1 is expected */
};

ParameterizedTestParameters(banner, mask)
{
	static struct mask_row rows[] = {
		{ "220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n",
		  "mx.example.net ready", 0, "h", "220 mx.example.net ready\r\n" },
		{ "220-mail.example.com ESMTP\r\n220-more\r\n220 end\r\n",
		  "Service ready", 0, "h", "220 Service ready\r\n" },
		{ "220 x\r\n", "", 1, "mx.example.org", "220 mx.example.org ESMTP\r\n" },
		{ "220 x\r\n", "", 0, "mx.example.org", "220 mx.example.org ESMTP\r\n" },
		/* PIX-looking texts are refused for the hostname form */
		{ "220 x\r\n", "****", 0, "mx", "220 mx ESMTP\r\n" },
		{ "220 x\r\n", "2 0 2 0 * 2", 0, "mx", "220 mx ESMTP\r\n" },
		{ "220 x\r\n", " ", 0, "mx", "220 mx ESMTP\r\n" },
		{ "220 x\r\n", "220 ****", 0, "mx", "220 mx ESMTP\r\n" },
		{ "220 x\r\n", "bad\r\ntext", 0, "mx", "220 mx ESMTP\r\n" },
		{ "220 x\r\n", "2021 ready", 0, "mx", "220 2021 ready\r\n" },
		{ "220 x\r\n", "", 1, "", "220 localhost ESMTP\r\n" },
		{ "220 x\r\n", "", 1, "bad\nhost", "220 localhost ESMTP\r\n" },
		/* refused greetings */
		{ "554 5.7.1 no\r\n", "ok", 0, "mx", "" },
		{ "220-x\r\n", "ok", 0, "mx", "" },
		{ "220 x", "ok", 0, "mx", "" },
	};

	return cr_make_param_array(struct mask_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct mask_row *row, banner, mask)
{
	char	out[160];
	size_t	want = strlen(row->out);
	ssize_t	n;
	const char *text = row->text_null ? NULL : row->text;

	memset(out, '#', sizeof(out));
	n = banner_mask(row->in, strlen(row->in), text, row->host, out, sizeof(out));
	if (want == 0) {
		cr_assert_eq(n, -1);
		return;
	}
	cr_assert_eq(n, (ssize_t)want, "n=%zd", n);
	cr_assert(memcmp(out, row->out, want) == 0, "got %.*s", (int)want, out);
	cr_assert_eq(out[want], '#');
	cr_assert_eq(banner_mask(row->in, strlen(row->in), text, row->host, out,
	    want - 1), -1);
	cr_assert_eq(banner_mask(row->in, strlen(row->in), text, row->host, out,
	    want), (ssize_t)want);
}

Test(banner, text_ok)
{
	cr_assert_eq(banner_text_ok(NULL), 0);
	cr_assert_eq(banner_text_ok(""), 0);
	cr_assert_eq(banner_text_ok("*"), 0);
	cr_assert_eq(banner_text_ok("220 2020 ***"), 0);
	cr_assert_eq(banner_text_ok("tab\there"), 0);
	cr_assert_eq(banner_text_ok("caf\xc3\xa9"), 0);
	cr_assert_eq(banner_text_ok("1"), 1);
	cr_assert_eq(banner_text_ok("mail service"), 1);
}
