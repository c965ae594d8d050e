/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_ehlo.c - the EHLO reply rewriter against Postfix's real reply and
 * the firewall captures of reference/asa-esmtp.md 4.3, with the asa and
 * standard keyword lists, in pass, strip and mask mode; the names of the
 * changed keywords for the log (ehlo_changed); and the command line
 * masker.  Tables are static and looped over inside one Test.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "ehlo.h"

/* SPEC 3 (standard) and 3.1 (asa) ehlo-keywords. */
static const char *const standard[] = { "8BITMIME", "AUTH", "BINARYMIME",
	"CHUNKING", "DSN", "ENHANCEDSTATUSCODES", "ETRN", "PIPELINING", "SIZE",
	"SMTPUTF8", "STARTTLS", "VRFY", "DELIVERBY", "HELP" };
/* standard with starttls = strip: STARTTLS is not in the list. */
static const char *const standard_notls[] = { "8BITMIME", "AUTH",
	"BINARYMIME", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES", "ETRN",
	"PIPELINING", "SIZE", "SMTPUTF8", "VRFY", "DELIVERBY", "HELP" };
static const char *const asa[] = { "8BITMIME", "AUTH", "BINARYMIME",
	"CHECKPOINT", "DSN", "ENHANCEDSTATUSCODES", "ETRN", "PIPELINING",
	"SIZE", "VRFY" };

#define N(a)	(sizeof(a) / sizeof((a)[0]))

/* Debian 12 Postfix 3.7 with TLS, as EHLO answers it. */
#define POSTFIX "250-mx.example.test\r\n250-PIPELINING\r\n" \
	"250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n" \
	"250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n" \
	"250-SMTPUTF8\r\n250 CHUNKING\r\n"

struct row {
	const char *in;
	int	list;		/* 0 standard, 1 asa, 2 standard without STARTTLS */
	enum ehlo_mode mode;
	const char *want;	/* NULL: an error */
	unsigned changed;
};

/*
 * The rows below were written when STARTTLS followed the keyword list:
 * listed (standard) it passes, unlisted it is changed like any other
 * keyword, and in pass mode it passes.  That is EHLO_TLS_PASS or
 * EHLO_TLS_OTHER.
 */
static struct ehlo_policy
row_policy(int list, enum ehlo_mode mode)
{
	struct ehlo_policy pol;

	pol.allow = list == 0 ? standard : list == 1 ? asa : standard_notls;
	pol.nallow = list == 0 ? N(standard) : list == 1 ? N(asa) :
	    N(standard_notls);
	pol.other = mode;
	pol.tls = list == 0 || mode == EHLO_PASS ? EHLO_TLS_PASS :
	    EHLO_TLS_OTHER;
	return (pol);
}

static const struct row rows[] = {
	/* Postfix behind the asa profile: the issue-5 expectation */
	{ POSTFIX, 1, EHLO_MASK,
	  "250-mx.example.test\r\n250-PIPELINING\r\n"
	  "250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-XXXXXXXA\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
	  "250-XXXXXXXB\r\n250 XXXXXXXC\r\n", 3 },
	/* standard: nothing to do, in any mode */
	{ POSTFIX, 0, EHLO_STRIP, POSTFIX, 0 },
	{ POSTFIX, 0, EHLO_MASK, POSTFIX, 0 },
	{ POSTFIX, 1, EHLO_PASS, POSTFIX, 0 },
	/* starttls = strip under standard: the line goes */
	{ POSTFIX, 2, EHLO_STRIP,
	  "250-mx.example.test\r\n250-PIPELINING\r\n"
	  "250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
	  "250-SMTPUTF8\r\n250 CHUNKING\r\n", 1 },
	/* strip with the asa list: the last keyword goes, 250 moves up */
	{ POSTFIX, 1, EHLO_STRIP,
	  "250-mx.example.test\r\n250-PIPELINING\r\n"
	  "250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 DSN\r\n", 3 },
	/* deimos.fr capture [S11] */
	{ "250-fire.deimos.fr\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	  "250-ETRN\r\n250-STARTTLS\r\n250-AUTH LOGIN PLAIN\r\n"
	  "250-AUTH=LOGIN PLAIN\r\n250-ENHANCEDSTATUSCODES\r\n"
	  "250-8BITMIME\r\n250 DSN\r\n", 1, EHLO_MASK,
	  "250-fire.deimos.fr\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	  "250-ETRN\r\n250-XXXXXXXA\r\n250-AUTH LOGIN PLAIN\r\n"
	  "250-AUTH=LOGIN PLAIN\r\n250-ENHANCEDSTATUSCODES\r\n"
	  "250-8BITMIME\r\n250 DSN\r\n", 1 },
	/* sendmail capture [S13]: DELIVERBY (9) then HELP (4) */
	{ "250-mailserver2.domain.com Hello x, pleased to meet you\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
	  "250-SIZE\r\n250-DSN\r\n250-ETRN\r\n250-AUTH DIGEST-MD5 CRAM-MD5\r\n"
	  "250-DELIVERBY\r\n250 HELP\r\n", 1, EHLO_MASK,
	  "250-mailserver2.domain.com Hello x, pleased to meet you\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
	  "250-SIZE\r\n250-DSN\r\n250-ETRN\r\n250-AUTH DIGEST-MD5 CRAM-MD5\r\n"
	  "250-XXXXXXXXA\r\n250 XXXB\r\n", 2 },
	/* Cisco ESA capture [S15] */
	{ "250-esa.test\r\n250-8BITMIME\r\n250-SIZE 14680064\r\n250 STARTTLS\r\n",
	  1, EHLO_MASK,
	  "250-esa.test\r\n250-8BITMIME\r\n250-SIZE 14680064\r\n250 XXXXXXXA\r\n", 1 },
	/* only the greeting */
	{ "250 mx.test\r\n", 1, EHLO_MASK, "250 mx.test\r\n", 0 },
	{ "250 mx.test\r\n", 1, EHLO_STRIP, "250 mx.test\r\n", 0 },
	/* everything stripped: the greeting becomes the last line */
	{ "250-mx.test\r\n250-STARTTLS\r\n250 XFOO\r\n", 1, EHLO_STRIP,
	  "250 mx.test\r\n", 2 },
	/* masked parameters, case-insensitive allow list, 1-char keyword */
	{ "250-mx\r\n250-X-EXPS GSSAPI NTLM\r\n250-size 100\r\n250-Q\r\n"
	  "250 XFOO=a  b\r\n", 1, EHLO_MASK,
	  "250-mx\r\n250-XXXXXA XXXXXX XXXX\r\n250-size 100\r\n250-B\r\n"
	  "250 XXXCXX  X\r\n", 3 },
	/* a bare "250" last line, LF-only lines */
	{ "250-mx\n250-STARTTLS\n250\n", 1, EHLO_MASK,
	  "250-mx\n250-XXXXXXXA\n250\n", 1 },
	{ "250-mx\n250-STARTTLS\n250\n", 1, EHLO_STRIP, "250-mx\n250\n", 1 },
	/* not a well-formed 250 reply */
	{ "550 no\r\n", 1, EHLO_MASK, NULL, 0 },
	{ "250-mx\r\n250 A\r\n250 B\r\n", 1, EHLO_MASK, NULL, 0 },
	{ "250-mx\r\n250-A\r\n", 1, EHLO_MASK, NULL, 0 },
	{ "250 mx", 1, EHLO_MASK, NULL, 0 },
	{ "", 1, EHLO_MASK, NULL, 0 },
	{ "250-mx\r\n25\r\n", 1, EHLO_MASK, NULL, 0 },
};

Test(ehlo, table)
{
	static char out[4096], inplace[4096];
	struct ehlo_policy pol;
	size_t	i, outlen, len;
	unsigned changed;
	const char *err;

	for (i = 0; i < N(rows); i++) {
		const struct row *r = &rows[i];

		pol = row_policy(r->list, r->mode);
		len = strlen(r->in);
		memset(out, 0, sizeof(out));
		err = ehlo_rewrite(r->in, len, &pol, out, &outlen, &changed);
		if (r->want == NULL) {
			cr_assert_not_null(err, "row %zu", i);
			/* an error leaves an in-place buffer untouched */
			memcpy(inplace, r->in, len);
			cr_assert_not_null(ehlo_rewrite(inplace, len, &pol,
			    inplace, &outlen, NULL));
			cr_assert(memcmp(inplace, r->in, len) == 0);
			continue;
		}
		cr_assert_null(err, "row %zu: %s", i, err);
		cr_assert_eq(outlen, strlen(r->want), "row %zu", i);
		cr_assert(memcmp(out, r->want, outlen) == 0, "row %zu: %.*s",
		    i, (int)outlen, out);
		cr_assert_eq(changed, r->changed, "row %zu", i);
		if (r->mode != EHLO_STRIP)
			cr_assert_eq(outlen, len);
		/* in place gives the same bytes */
		memcpy(inplace, r->in, len);
		cr_assert_null(ehlo_rewrite(inplace, len, &pol, inplace,
		    &outlen, NULL));
		cr_assert(memcmp(inplace, r->want, outlen) == 0, "row %zu", i);
	}
}

/* Past 26 masked keywords the letter stays Z. */
Test(ehlo, letters_after_z)
{
	static char in[4096], out[4096];
	struct ehlo_policy pol = row_policy(1, EHLO_MASK);
	size_t	n, i, outlen;
	unsigned changed;

	n = (size_t)snprintf(in, sizeof(in), "250-mx\r\n");
	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "250%cKW%02zu\r\n",
		    i == 29 ? ' ' : '-', i);
	cr_assert_null(ehlo_rewrite(in, n, &pol, out, &outlen, &changed));
	cr_assert_eq(outlen, n);
	cr_assert_eq(changed, 30);
	cr_assert(strstr(out, "250-XXXA\r\n") != NULL);
	cr_assert(strstr(out, "250-XXXY\r\n") != NULL);
	cr_assert(memcmp(out + 8 + 25 * 10, "250-XXXZ\r\n", 10) == 0);
	cr_assert(memcmp(out + n - 10, "250 XXXZ\r\n", 10) == 0);
}

struct changed_row {
	const char *in;
	int	list;		/* as in rows[] */
	size_t	outlen;
	const char *want;
	unsigned count;
};

static const struct changed_row changed_rows[] = {
	/* Postfix behind the asa profile: what event=ehlo logs */
	{ POSTFIX, 1, 256, "STARTTLS SMTPUTF8 CHUNKING", 3 },
	{ POSTFIX, 0, 256, "", 0 },
	{ POSTFIX, 2, 256, "STARTTLS", 1 },
	/* truncation: whole names only, the count stays */
	{ POSTFIX, 1, 27, "STARTTLS SMTPUTF8 CHUNKING", 3 },
	{ POSTFIX, 1, 26, "STARTTLS SMTPUTF8", 3 },
	{ POSTFIX, 1, 18, "STARTTLS SMTPUTF8", 3 },
	{ POSTFIX, 1, 17, "STARTTLS", 3 },
	{ POSTFIX, 1, 9, "STARTTLS", 3 },
	{ POSTFIX, 1, 8, "", 3 },
	{ POSTFIX, 1, 1, "", 3 },
	/* sendmail capture [S13], deimos.fr [S11] */
	{ "250-mailserver2.domain.com Hello x, pleased to meet you\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
	  "250-SIZE\r\n250-DSN\r\n250-ETRN\r\n250-AUTH DIGEST-MD5 CRAM-MD5\r\n"
	  "250-DELIVERBY\r\n250 HELP\r\n", 1, 256, "DELIVERBY HELP", 2 },
	{ "250-fire.deimos.fr\r\n250-PIPELINING\r\n250-STARTTLS\r\n"
	  "250-AUTH LOGIN PLAIN\r\n250-AUTH=LOGIN PLAIN\r\n250 DSN\r\n",
	  1, 256, "STARTTLS", 1 },
	/* names as received; keyword octets only; the greeting never counts */
	{ "250-XFOO\r\n250-X-EXPS GSSAPI\r\n250-size 100\r\n250-x_y\r\n"
	  "250-starttls\xff\r\n250\r\n", 1, 256, "X-EXPS x starttls", 3 },
	{ "250 mx.test\r\n", 1, 256, "", 0 },
	{ "250-mx\n250-STARTTLS\n250\n", 1, 256, "STARTTLS", 1 },
	/* refused replies name nothing */
	{ "550 no\r\n", 1, 256, "", 0 },
	{ "250-mx\r\n250-STARTTLS\r\n", 1, 256, "", 0 },
	{ "", 1, 256, "", 0 },
};

/*
 * ehlo_changed() against the table, and against ehlo_rewrite(): the
 * count is the one strip and mask report; nothing is written past outlen.
 */
Test(ehlo, changed)
{
	static char out[300], buf[4096];
	struct ehlo_policy mask, strip;
	size_t	i, len, outlen;
	unsigned count, changed;

	for (i = 0; i < N(changed_rows); i++) {
		const struct changed_row *r = &changed_rows[i];

		mask = row_policy(r->list, EHLO_MASK);
		strip = row_policy(r->list, EHLO_STRIP);
		len = strlen(r->in);
		memset(out, '#', sizeof(out));
		count = ehlo_changed(r->in, len, &mask, out, r->outlen);
		cr_assert_eq(count, r->count, "row %zu: %u", i, count);
		cr_assert_str_eq(out, r->want, "row %zu", i);
		cr_assert_eq(out[r->outlen], '#', "row %zu: past outlen", i);
		if (ehlo_rewrite(r->in, len, &mask, buf, &outlen,
		    &changed) == NULL)
			cr_assert_eq(changed, count, "row %zu mask", i);
		if (ehlo_rewrite(r->in, len, &strip, buf, &outlen,
		    &changed) == NULL)
			cr_assert_eq(changed, count, "row %zu strip", i);
	}
	/* outlen 0: nothing written, still counted */
	out[0] = '#';
	mask = row_policy(1, EHLO_MASK);
	cr_assert_eq(ehlo_changed(POSTFIX, strlen(POSTFIX), &mask, out, 0), 3);
	cr_assert_eq(out[0], '#');
}

struct cmd_row {
	char	in[64];
	char	want[64];
};

static const struct cmd_row cmd_rows[] = {
	{ "STARTTLS\r\n", "XXXXXXXX\r\n" },
	{ "BDAT 100 LAST\r\n", "XXXXXXXXXXXXX\r\n" },
	{ "XEXPS\n", "XXXXX\n" },
	{ "\r\n", "\r\n" },
	{ "ab\rcd\r\n", "XXXXX\r\n" },
	{ "noterm", "XXXXXX" },
	{ "", "" },
};

Test(ehlo, mask_command)
{
	char	buf[64];
	size_t	i, len;

	for (i = 0; i < N(cmd_rows); i++) {
		len = strlen(cmd_rows[i].in);
		memcpy(buf, cmd_rows[i].in, len + 1);
		ehlo_mask_command(buf, len);
		cr_assert_str_eq(buf, cmd_rows[i].want);
	}
}

/* ehlo_add: the shim's own STARTTLS line before the last line. */
struct add_row {
	char	in[160];
	char	out[180];	/* "" : refused */
};

static struct add_row add_rows[] = {
	{ "250-mx.example\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
	  "250-mx.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 CHUNKING\r\n" },
	{ "250-mx.example\r\n250 8BITMIME\r\n",
	  "250-mx.example\r\n250-STARTTLS\r\n250 8BITMIME\r\n" },
	{ "250 mx.example\r\n", "250-mx.example\r\n250 STARTTLS\r\n" },
	{ "250\r\n", "250-\r\n250 STARTTLS\r\n" },
	{ "250-mx.example\r\n250 \r\n", "250-mx.example\r\n250-STARTTLS\r\n250 \r\n" },
	{ "250 mx.example\n", "" },			/* no CRLF */
	{ "250-mx.example\r\n", "" },			/* unfinished */
	{ "250-mx\r\n250 A\r\n250 B\r\n", "" },		/* "250 " not last */
	{ "220 mx.example\r\n", "" },
	{ "250\rxyz\r\n", "" },			/* found by fuzz_reply */
	{ "", "" },
};

ParameterizedTestParameters(ehlo, add)
{
	return cr_make_param_array(struct add_row, add_rows,
	    sizeof(add_rows) / sizeof(add_rows[0]));
}

ParameterizedTest(struct add_row *row, ehlo, add)
{
	char	out[200];
	ssize_t	n;

	n = ehlo_add(row->in, strlen(row->in), "STARTTLS", out, sizeof(out));
	if (row->out[0] == '\0') {
		cr_assert_eq(n, -1, "%s: accepted", row->in);
		return;
	}
	cr_assert_eq(n, (ssize_t)strlen(row->out), "%s: length %zd", row->in, n);
	cr_assert_eq(memcmp(out, row->out, (size_t)n), 0, "%s: got %.*s",
	    row->in, (int)n, out);
	/* Too small an output is refused, never overrun. */
	cr_assert_eq(ehlo_add(row->in, strlen(row->in), "STARTTLS", out,
	    (size_t)n - 1), -1);
}

/*
 * SPEC 5.2 and 5.4 over every combination of ehlo-other and starttls, with
 * the keyword list holding STARTTLS (standard) and not (asa-like), in
 * enforce and monitor mode, before and after the client's TLS: the reply
 * the client gets, the keywords logged and their count.  STARTTLS is
 * advertised exactly once when allowed or terminated (the shim's own then,
 * before TLS only), never when stripped, whatever ehlo-other is.
 * Issue 12: pass + strip advertised STARTTLS and logged it as stripped,
 * terminate advertised it twice.
 */
#define UP	"250-mx.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n" \
	"250-XFORWARD NAME ADDR\r\n250 CHUNKING\r\n"

struct combo_row {
	enum config_ehlo_other other;
	enum config_starttls tls;
	int	with_tls_kw;	/* STARTTLS in ehlo-keywords */
	int	monitor;
	int	offer;		/* terminate, before the client's TLS */
	const char *want;
	const char *names;
	unsigned changed;
};

#define G	"250-mx.example.test\r\n250-PIPELINING\r\n"
static const struct combo_row combos[] = {
	/* allow: the upstream's STARTTLS passes, listed or not */
	{ CONFIG_EHLO_PASS, CONFIG_TLS_ALLOW, 1, 0, 0, UP, "", 0 },
	{ CONFIG_EHLO_PASS, CONFIG_TLS_ALLOW, 0, 0, 0, UP, "", 0 },
	{ CONFIG_EHLO_STRIP, CONFIG_TLS_ALLOW, 1, 0, 0,
	  G "250-STARTTLS\r\n250 CHUNKING\r\n", "XFORWARD", 1 },
	{ CONFIG_EHLO_STRIP, CONFIG_TLS_ALLOW, 0, 0, 0,
	  G "250-STARTTLS\r\n250 CHUNKING\r\n", "XFORWARD", 1 },
	{ CONFIG_EHLO_MASK, CONFIG_TLS_ALLOW, 1, 0, 0,
	  G "250-STARTTLS\r\n250-XXXXXXXA XXXX XXXX\r\n250 CHUNKING\r\n",
	  "XFORWARD", 1 },
	{ CONFIG_EHLO_MASK, CONFIG_TLS_ALLOW, 0, 0, 0,
	  G "250-STARTTLS\r\n250-XXXXXXXA XXXX XXXX\r\n250 CHUNKING\r\n",
	  "XFORWARD", 1 },
	/* strip: never advertised, listed or not, pass included */
	{ CONFIG_EHLO_PASS, CONFIG_TLS_STRIP, 1, 0, 0,
	  G "250-XFORWARD NAME ADDR\r\n250 CHUNKING\r\n", "STARTTLS", 1 },
	{ CONFIG_EHLO_PASS, CONFIG_TLS_STRIP, 0, 0, 0,
	  G "250-XFORWARD NAME ADDR\r\n250 CHUNKING\r\n", "STARTTLS", 1 },
	{ CONFIG_EHLO_STRIP, CONFIG_TLS_STRIP, 1, 0, 0,
	  G "250 CHUNKING\r\n", "STARTTLS XFORWARD", 2 },
	{ CONFIG_EHLO_MASK, CONFIG_TLS_STRIP, 1, 0, 0,
	  G "250-XXXXXXXA\r\n250-XXXXXXXB XXXX XXXX\r\n250 CHUNKING\r\n",
	  "STARTTLS XFORWARD", 2 },
	{ CONFIG_EHLO_MASK, CONFIG_TLS_STRIP, 0, 0, 0,
	  G "250-XXXXXXXA\r\n250-XXXXXXXB XXXX XXXX\r\n250 CHUNKING\r\n",
	  "STARTTLS XFORWARD", 2 },
	/* terminate: the shim's own, once, before the last line */
	{ CONFIG_EHLO_PASS, CONFIG_TLS_TERMINATE, 1, 0, 1,
	  G "250-XFORWARD NAME ADDR\r\n250-STARTTLS\r\n250 CHUNKING\r\n",
	  "", 0 },
	{ CONFIG_EHLO_STRIP, CONFIG_TLS_TERMINATE, 1, 0, 1,
	  G "250-STARTTLS\r\n250 CHUNKING\r\n", "XFORWARD", 1 },
	{ CONFIG_EHLO_STRIP, CONFIG_TLS_TERMINATE, 0, 0, 1,
	  G "250-STARTTLS\r\n250 CHUNKING\r\n", "XFORWARD", 1 },
	{ CONFIG_EHLO_MASK, CONFIG_TLS_TERMINATE, 1, 0, 1,
	  G "250-XXXXXXXA XXXX XXXX\r\n250-STARTTLS\r\n250 CHUNKING\r\n",
	  "XFORWARD", 1 },
	/* ... and none at all inside the client's TLS */
	{ CONFIG_EHLO_PASS, CONFIG_TLS_TERMINATE, 1, 0, 0,
	  G "250-XFORWARD NAME ADDR\r\n250 CHUNKING\r\n", "", 0 },
	{ CONFIG_EHLO_MASK, CONFIG_TLS_TERMINATE, 1, 0, 0,
	  G "250-XXXXXXXA XXXX XXXX\r\n250 CHUNKING\r\n", "XFORWARD", 1 },
	/* monitor: nothing changed, what would be is logged; terminate
	 * still puts its own STARTTLS in place of the upstream's */
	{ CONFIG_EHLO_MASK, CONFIG_TLS_STRIP, 1, 1, 0, UP,
	  "STARTTLS XFORWARD", 2 },
	{ CONFIG_EHLO_STRIP, CONFIG_TLS_ALLOW, 1, 1, 0, UP, "XFORWARD", 1 },
	{ CONFIG_EHLO_PASS, CONFIG_TLS_STRIP, 1, 1, 0, UP, "STARTTLS", 1 },
	{ CONFIG_EHLO_STRIP, CONFIG_TLS_TERMINATE, 1, 1, 1,
	  G "250-XFORWARD NAME ADDR\r\n250-STARTTLS\r\n250 CHUNKING\r\n",
	  "XFORWARD", 1 },
};

/* How often ${kw} stands as a keyword in the reply ${r} (${n} octets). */
static int
keyword_count(const char *r, size_t n, const char *kw)
{
	size_t	s, e, k = strlen(kw);
	int	c = 0;

	for (s = 0; s < n; s = e) {
		e = (size_t)((const char *)memchr(r + s, '\n', n - s) - r) + 1;
		if (s > 0 && e - s >= 4 + k + 2 && memcmp(r + s + 4, kw, k) == 0 &&
		    (r[s + 4 + k] == '\r' || r[s + 4 + k] == ' '))
			c++;
	}
	return (c);
}

Test(ehlo, every_combination)
{
	static char out[2 * sizeof(UP) + 16];
	char	*listed[N(standard) + 1], *unlisted[N(standard_notls) + 1];
	char	names[256];
	struct config_shim c;
	size_t	i, outlen;
	unsigned changed;
	const char *err;

	memcpy(listed, standard, sizeof(standard));
	listed[N(standard)] = NULL;
	memcpy(unlisted, standard_notls, sizeof(standard_notls));
	unlisted[N(standard_notls)] = NULL;
	for (i = 0; i < N(combos); i++) {
		const struct combo_row *r = &combos[i];

		memset(&c, 0, sizeof(c));
		c.ehlo_keywords.v = r->with_tls_kw ? listed : unlisted;
		c.ehlo_keywords.n = r->with_tls_kw ? N(standard) :
		    N(standard_notls);
		c.ehlo_other = r->other;
		c.starttls = r->tls;
		err = ehlo_client_reply(UP, strlen(UP), &c, r->monitor,
		    r->offer, out, sizeof(out), &outlen, names, sizeof(names),
		    &changed);
		cr_assert_null(err, "row %zu: %s", i, err);
		cr_assert_eq(outlen, strlen(r->want), "row %zu: %.*s", i,
		    (int)outlen, out);
		cr_assert(memcmp(out, r->want, outlen) == 0, "row %zu: %.*s", i,
		    (int)outlen, out);
		cr_assert_str_eq(names, r->names, "row %zu", i);
		cr_assert_eq(changed, r->changed, "row %zu", i);
		if (!r->monitor)
			cr_assert_eq(keyword_count(out, outlen, "STARTTLS"),
			    r->tls == CONFIG_TLS_STRIP ? 0 :
			    r->tls == CONFIG_TLS_TERMINATE ? r->offer : 1,
			    "row %zu: STARTTLS count", i);
	}
	/* too small an output buffer is refused, never overrun */
	memset(&c, 0, sizeof(c));
	c.ehlo_keywords.v = listed;
	c.ehlo_keywords.n = N(standard);
	cr_assert_not_null(ehlo_client_reply(UP, strlen(UP), &c, 0, 1, out,
	    2 * strlen(UP) + 15, &outlen, names, sizeof(names), &changed));
}

/* ehlo_offers: CHUNKING for BDAT, STARTTLS for upstream-tls. */
Test(ehlo, offers)
{
	cr_assert_eq(ehlo_offers(UP, strlen(UP), "CHUNKING"), 1);
	cr_assert_eq(ehlo_offers(UP, strlen(UP), "chunking"), 1);
	cr_assert_eq(ehlo_offers(UP, strlen(UP), "STARTTLS"), 1);
	cr_assert_eq(ehlo_offers(UP, strlen(UP), "XFORWARD"), 1);
	cr_assert_eq(ehlo_offers(UP, strlen(UP), "CHUNK"), 0);
	cr_assert_eq(ehlo_offers(UP, strlen(UP), "NAME"), 0);	/* a parameter */
	/* the greeting line is no keyword */
	cr_assert_eq(ehlo_offers("250-CHUNKING\r\n250 SIZE\r\n", 25,
	    "CHUNKING"), 0);
	cr_assert_eq(ehlo_offers("250 mx\r\n", 8, "CHUNKING"), 0);
	cr_assert_eq(ehlo_offers("250-mx\r\n250-CHUNKINGX\r\n250 A\r\n", 29,
	    "CHUNKING"), 0);
	/* a reply the rewrite refuses offers nothing */
	cr_assert_eq(ehlo_offers("550-mx\r\n550 CHUNKING\r\n", 22,
	    "CHUNKING"), 0);
}
