/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_dkim.c - dkim_hnames() rows: the h= layouts real signers write,
 * folding, z= copied headers, and malformed tag lists.  A row holds the
 * field value and the names expected, joined by ',' ("" when the list is
 * malformed, with ok = 0).  Bytes inline: Criterion 2.4 re-launches the
 * binary per row.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "dkim.h"

struct dkim_row {
	char	value[640];
	int	ok;
	char	want[256];
};

ParameterizedTestParameters(dkim, hnames)
{
	static struct dkim_row rows[] = {
		/* plain, as most signers write it */
		{ "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel;"
		  " h=From:Subject:Date; bh=abc=; b=xyz", 1, "From,Subject,Date" },
		{ "v=1; h=from:to:subject; d=x", 1, "from,to,subject" },
		{ "v=1; h=FROM:SUBJECT; d=x", 1, "FROM,SUBJECT" },
		/* white space around names and colons */
		{ "v=1; h=from : from : to; d=x", 1, "from,from,to" },
		{ "v=1; h = from:to ; d=x", 1, "from,to" },
		{ "v=1;h=from;d=x", 1, "from" },
		{ "h=from", 1, "from" },
		{ "  h=from ;  ", 1, "from" },
		{ "h=from;", 1, "from" },
		/* folded over lines, CRLF+TAB and LF+SP */
		{ "v=1; a=rsa-sha256; d=example.com; s=s1;\r\n\th=from:to:subject:\r\n"
		  "\tdate:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
		  "\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR", 1,
		  "from,to,subject,date,message-id" },
		{ "v=1;\n h=from\n :\n to\n ; d=x", 1, "from,to" },
		{ "v=1; h=\r\n\tfrom:to; d=x", 1, "from,to" },
		/* oversigned */
		{ "v=1; h=from:from:to:to:subject:subject; d=x", 1,
		  "from,from,to,to,subject,subject" },
		/* z= holds copied names and values: never names */
		{ "v=1; z=From:a@b.test|To:c@d.test|Subject:hi=20there; h=from; d=x", 1, "from" },
		{ "v=1; h=date; z=From:a|To:b\r\n\t|Subject:x", 1, "date" },
		/* other values skipped, whatever they hold */
		{ "v=1; b=ab cd\r\n\tef; h=subject; x_y2=:::", 1, "subject" },
		{ "v=1; h=x-mailer:list-unsubscribe; d=x", 1, "x-mailer,list-unsubscribe" },
		/* names are any printable ASCII but ':' (and ';', which ends the value) */
		{ "h=a.b_c!#$%&'*+/=?^`{|}~", 1, "a.b_c!#$%&'*+/=?^`{|}~" },
		/* tag names are case-sensitive: H= is not h= */
		{ "v=1; H=from; h=to", 1, "to" },
		/* empty tag-specs tolerated */
		{ "v=1;; h=from; ;", 1, "from" },
		/* errors */
		{ "", 0, "" },
		{ "   \r\n ", 0, "" },
		{ "v=1; d=example.com; b=xyz", 0, "" },
		{ "v=1; H=from", 0, "" },
		{ "v=1; h=from; h=to", 0, "" },
		{ "v=1; d=a; h=from; d=b", 0, "" },
		{ "v=1; h=; d=x", 0, "" },
		{ "v=1; h=from::to", 0, "" },
		{ "v=1; h=:from", 0, "" },
		{ "v=1; h=from:", 0, "" },
		{ "v=1; h=from to", 0, "" },
		{ "v=1; h=fr\x80om", 0, "" },
		{ "v=1; h=from; 1x=2", 0, "" },
		{ "v=1; h=from; _x=2", 0, "" },
		{ "v=1; h=from; x-y=2", 0, "" },
		{ "v=1; h", 0, "" },
		{ "v=1; h from", 0, "" },
		{ "this is not a tag list", 0, "" },
		{ "From:a|To:b", 0, "" },
		{ "=from", 0, "" },
	};
	return cr_make_param_array(struct dkim_row, rows, sizeof(rows) / sizeof(rows[0]));
}

struct names {
	char	buf[512];
	size_t	len;
	const char *lo, *hi;	/* the value: names point into it */
};

static void
collect(void *arg, const char *name, size_t len)
{
	struct names *n = arg;

	cr_assert(len > 0);
	cr_assert(name >= n->lo && name + len <= n->hi);
	cr_assert(n->len + len + 1 < sizeof(n->buf));
	if (n->len > 0)
		n->buf[n->len++] = ',';
	memcpy(n->buf + n->len, name, len);
	n->len += len;
	n->buf[n->len] = '\0';
}

ParameterizedTest(struct dkim_row *r, dkim, hnames)
{
	struct names n;
	const char *err;
	size_t	len = strlen(r->value);

	memset(&n, 0, sizeof(n));
	n.lo = r->value;
	n.hi = r->value + len;
	err = dkim_hnames(r->value, len, collect, &n);
	if (r->ok) {
		cr_assert_null(err, "\"%s\": %s", r->value, err);
		cr_assert_str_eq(n.buf, r->want, "\"%s\"", r->value);
	} else {
		cr_assert_not_null(err, "\"%s\" parsed as \"%s\"", r->value, n.buf);
	}
}

Test(dkim, length_not_nul)
{
	/* the length ends the value: "h=from" then bytes that would be an error */
	static const char v[] = "h=from; h=to";
	struct names n;

	memset(&n, 0, sizeof(n));
	n.lo = v;
	n.hi = v + 6;
	cr_assert_null(dkim_hnames(v, 6, collect, &n));
	cr_assert_str_eq(n.buf, "from");
	memset(&n, 0, sizeof(n));
	n.lo = v;
	n.hi = v + sizeof(v) - 1;
	cr_assert_not_null(dkim_hnames(v, sizeof(v) - 1, collect, &n));
}

Test(dkim, embedded_nul_is_an_error)
{
	static const char v[] = "h=fr\0om";
	struct names n;

	memset(&n, 0, sizeof(n));
	n.lo = v;
	n.hi = v + sizeof(v) - 1;
	cr_assert_not_null(dkim_hnames(v, sizeof(v) - 1, collect, &n));
}

Test(dkim, many_tags)
{
	/* 100 distinct tags plus h=: fine; a duplicate at the end: an error */
	char	v[2048];
	size_t	len = 0, i;
	struct names n;

	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(v + len, sizeof(v) - len, "t%zu=x;", i);
	len += (size_t)snprintf(v + len, sizeof(v) - len, "h=from");
	memset(&n, 0, sizeof(n));
	n.lo = v;
	n.hi = v + len;
	cr_assert_null(dkim_hnames(v, len, collect, &n));
	len += (size_t)snprintf(v + len, sizeof(v) - len, ";t99=y");
	memset(&n, 0, sizeof(n));
	n.hi = v + len;
	n.lo = v;
	cr_assert_not_null(dkim_hnames(v, len, collect, &n));
}
