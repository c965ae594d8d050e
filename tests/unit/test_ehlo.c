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
	const char *const *list;
	size_t	i, n, outlen, len;
	unsigned changed;
	const char *err;

	for (i = 0; i < N(rows); i++) {
		const struct row *r = &rows[i];

		list = r->list == 0 ? standard : r->list == 1 ? asa : standard_notls;
		n = r->list == 0 ? N(standard) : r->list == 1 ? N(asa) :
		    N(standard_notls);
		len = strlen(r->in);
		memset(out, 0, sizeof(out));
		err = ehlo_rewrite(r->in, len, list, n, r->mode, out, &outlen,
		    &changed);
		if (r->want == NULL) {
			cr_assert_not_null(err, "row %zu", i);
			/* an error leaves an in-place buffer untouched */
			memcpy(inplace, r->in, len);
			cr_assert_not_null(ehlo_rewrite(inplace, len, list, n,
			    r->mode, inplace, &outlen, NULL));
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
		cr_assert_null(ehlo_rewrite(inplace, len, list, n, r->mode,
		    inplace, &outlen, NULL));
		cr_assert(memcmp(inplace, r->want, outlen) == 0, "row %zu", i);
	}
}

/* Past 26 masked keywords the letter stays Z. */
Test(ehlo, letters_after_z)
{
	static char in[4096], out[4096];
	size_t	n, i, outlen;
	unsigned changed;

	n = (size_t)snprintf(in, sizeof(in), "250-mx\r\n");
	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "250%cKW%02zu\r\n",
		    i == 29 ? ' ' : '-', i);
	cr_assert_null(ehlo_rewrite(in, n, asa, N(asa), EHLO_MASK, out,
	    &outlen, &changed));
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
	const char *const *list;
	size_t	i, n, len, outlen;
	unsigned count, changed;

	for (i = 0; i < N(changed_rows); i++) {
		const struct changed_row *r = &changed_rows[i];

		list = r->list == 0 ? standard : r->list == 1 ? asa : standard_notls;
		n = r->list == 0 ? N(standard) : r->list == 1 ? N(asa) :
		    N(standard_notls);
		len = strlen(r->in);
		memset(out, '#', sizeof(out));
		count = ehlo_changed(r->in, len, list, n, out, r->outlen);
		cr_assert_eq(count, r->count, "row %zu: %u", i, count);
		cr_assert_str_eq(out, r->want, "row %zu", i);
		cr_assert_eq(out[r->outlen], '#', "row %zu: past outlen", i);
		if (ehlo_rewrite(r->in, len, list, n, EHLO_MASK, buf, &outlen,
		    &changed) == NULL)
			cr_assert_eq(changed, count, "row %zu mask", i);
		if (ehlo_rewrite(r->in, len, list, n, EHLO_STRIP, buf, &outlen,
		    &changed) == NULL)
			cr_assert_eq(changed, count, "row %zu strip", i);
	}
	/* outlen 0: nothing written, still counted */
	out[0] = '#';
	cr_assert_eq(ehlo_changed(POSTFIX, strlen(POSTFIX), asa, N(asa), out, 0), 3);
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
