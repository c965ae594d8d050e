/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_audit.c - audit_escape() rows, exact audit_format_rule() lines and
 * levels, the stderr copy of audit_log()/audit_debug(), and the queue of
 * audit_defer().  Rows hold their bytes inline (Criterion 2.4 copies
 * parameters to a worker); a has_* flag stands for "pointer not NULL".
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "audit.h"

#define S(x)	x, sizeof(x) - 1

struct escape_row {
	char	in[64];
	size_t	inlen;
	char	out[256];
};

ParameterizedTestParameters(audit, escape)
{
	static struct escape_row rows[] = {
		{ S(""), "" },
		{ S("user@example.test"), "user@example.test" },
		{ S("a b"), "a b" },
		{ S("\"quoted\""), "\\x22quoted\\x22" },
		{ S("back\\slash"), "back\\x5cslash" },
		{ S("\0"), "\\x00" },
		{ S("a\0b"), "a\\x00b" },
		{ S("cr\rlf\n"), "cr\\x0dlf\\x0a" },
		{ S("\t"), "\\x09" },
		{ S("\x1b[31m"), "\\x1b[31m" },
		{ S("\x7f"), "\\x7f" },
		{ S("\x80\xff"), "\\x80\\xff" },
		{ S("j\xc3\xb6rg"), "j\\xc3\\xb6rg" },
		{ S("~!#$%&'()*+,-./:;<=>?@[]^_`{|}"), "~!#$%&'()*+,-./:;<=>?@[]^_`{|}" },
		{ S("%s%n"), "%s%n" },
		{ S("detail=\"x\" rule=y"), "detail=\\x22x\\x22 rule=y" },
	};
	return cr_make_param_array(struct escape_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct escape_row *r, audit, escape)
{
	char	buf[1024];
	size_t	n;

	memset(buf, 'Z', sizeof(buf));
	n = audit_escape(buf, sizeof(buf), r->in, r->inlen);
	cr_assert_str_eq(buf, r->out);
	cr_assert_eq(n, strlen(r->out));
}

/* Exactly AUDIT_VALUE_MAX octets pass whole; one more is cut and marked. */
Test(audit, escape_length_limit)
{
	char	in[AUDIT_VALUE_MAX + 2], want[AUDIT_VALUE_MAX + 8], buf[1024];
	size_t	n;

	cr_assert_eq(AUDIT_VALUE_MAX, 200);
	memset(in, 'a', sizeof(in));

	n = audit_escape(buf, sizeof(buf), in, 200);
	cr_assert_eq(n, 200);
	memset(want, 'a', 200);
	want[200] = '\0';
	cr_assert_str_eq(buf, want);

	n = audit_escape(buf, sizeof(buf), in, 201);
	cr_assert_eq(n, 203);
	strcpy(want + 200, "...");
	cr_assert_str_eq(buf, want);

	n = audit_escape(buf, sizeof(buf), in, 199);
	cr_assert_eq(n, 199);
}

/* The limit counts input octets, not escaped output. */
Test(audit, escape_length_limit_escaped)
{
	char	in[201], buf[1024];
	size_t	n, i;

	memset(in, '\0', sizeof(in));
	n = audit_escape(buf, sizeof(buf), in, 200);
	cr_assert_eq(n, 800);
	n = audit_escape(buf, sizeof(buf), in, 201);
	cr_assert_eq(n, 803);
	for (i = 0; i < 800; i += 4)
		cr_assert_eq(memcmp(buf + i, "\\x00", 4), 0);
	cr_assert_str_eq(buf + 800, "...");
}

/* A small buffer is filled with whole escapes only and NUL-terminated. */
Test(audit, escape_small_buffer)
{
	char	buf[8];
	size_t	n;

	memset(buf, 'Z', sizeof(buf));
	n = audit_escape(buf, sizeof(buf), "ab\"cd", 5);
	cr_assert_eq(n, 7);
	cr_assert_str_eq(buf, "ab\\x22c");
	n = audit_escape(buf, 5, "a\"", 2);
	cr_assert_str_eq(buf, "a");
	cr_assert_eq(n, 1);
	n = audit_escape(buf, 1, "abc", 3);
	cr_assert_eq(n, 0);
	cr_assert_str_eq(buf, "");
	n = audit_escape(buf, sizeof(buf), NULL, 0);
	cr_assert_eq(n, 0);
	cr_assert_str_eq(buf, "");
}

struct format_row {
	char	id[16];			/* "": NULL */
	int	rule, action;
	long long value, limit;
	char	stage[16];
	char	cname[32], caddr[48];	/* "": NULL */
	unsigned port;
	int	has_from;
	char	from[48];
	size_t	from_len;
	int	has_rcpt;
	char	rcpt[48];
	size_t	rcpt_len;
	int	has_header;
	char	header[32];
	size_t	header_len;
	int	monitor;
	int	has_detail;
	char	detail[32];
	size_t	detail_len;
	int	level;
	char	line[512];
};

#define FROM(x)		.has_from = 1, .from = x, .from_len = sizeof(x) - 1
#define RCPT(x)		.has_rcpt = 1, .rcpt = x, .rcpt_len = sizeof(x) - 1
#define HEADER(x)	.has_header = 1, .header = x, .header_len = sizeof(x) - 1
#define DETAIL(x)	.has_detail = 1, .detail = x, .detail_len = sizeof(x) - 1

ParameterizedTestParameters(audit, format)
{
	static struct format_row rows[] = {
		{ .id = "", .rule = POLICY_SENDER_LENGTH, .action = POLICY_REJECT,
		  .value = 400, .limit = 320, .stage = "mail",
		  .cname = "localhost", .caddr = "127.0.0.1", .port = 41234,
		  FROM("a@b.test"), .level = LOG_WARNING,
		  .line = "NOQUEUE: rule=sender-length action=reject value=400 "
		      "limit=320 stage=mail client=localhost[127.0.0.1]:41234 "
		      "from=<a@b.test>" },
		{ .id = "4Xyz1234AB", .rule = POLICY_RCPT_COUNT,
		  .action = POLICY_TEMPFAIL, .value = 101, .limit = 100,
		  .stage = "rcpt", .cname = "mx.example.test", .caddr = "2001:db8::1",
		  .port = 25, FROM(""), RCPT("c@d.test"), .level = LOG_WARNING,
		  .line = "4Xyz1234AB: rule=rcpt-count action=tempfail value=101 "
		      "limit=100 stage=rcpt client=mx.example.test[2001:db8::1]:25 "
		      "from=<> rcpt=<c@d.test>" },
		{ .id = "", .rule = POLICY_ADDRESS_CHARACTERS,
		  .action = POLICY_DROP_CONNECTION, .value = 2, .limit = 0,
		  .stage = "rcpt", .cname = "", .caddr = "", .port = 0,
		  FROM("x@y"), RCPT("a|b`c@d"), DETAIL("|"), .level = LOG_WARNING,
		  .line = "NOQUEUE: rule=address-characters action=drop-connection "
		      "value=2 limit=0 stage=rcpt client=unknown[unknown]:0 "
		      "from=<x@y> rcpt=<a|b`c@d> detail=\"|\"" },
		{ .id = "ABC", .rule = POLICY_ADDRESS_CHARACTERS,
		  .action = POLICY_REJECT, .value = 1, .limit = 0, .stage = "mail",
		  .cname = "unknown", .caddr = "192.0.2.1", .port = 1025,
		  FROM("a\0b@c"), DETAIL("\0"), .level = LOG_WARNING,
		  .line = "ABC: rule=address-characters action=reject value=1 "
		      "limit=0 stage=mail client=unknown[192.0.2.1]:1025 "
		      "from=<a\\x00b@c> detail=\"\\x00\"" },
		{ .id = "ABC", .rule = POLICY_HEADER_LINE_LENGTH,
		  .action = POLICY_REJECT, .value = 1200, .limit = 998,
		  .stage = "header", .cname = "h", .caddr = "192.0.2.1", .port = 1,
		  FROM("a@b"), HEADER("Subject"), .monitor = 1, .level = LOG_NOTICE,
		  .line = "ABC: rule=header-line-length action=reject value=1200 "
		      "limit=998 stage=header client=h[192.0.2.1]:1 from=<a@b> "
		      "header=Subject mode=monitor" },
		{ .id = "ABC", .rule = POLICY_BODY_LINE_LENGTH, .action = POLICY_LOG,
		  .value = 5000, .limit = 998, .stage = "body", .cname = "h",
		  .caddr = "192.0.2.1", .port = 2, .level = LOG_NOTICE,
		  .line = "ABC: rule=body-line-length action=log value=5000 "
		      "limit=998 stage=body client=h[192.0.2.1]:2" },
		{ .id = "ABC", .rule = POLICY_DUPLICATE_HEADER,
		  .action = POLICY_REJECT, .value = 2, .limit = 1, .stage = "eoh",
		  .cname = "h", .caddr = "192.0.2.1", .port = 3, FROM("a@b"),
		  RCPT("c@d"), HEADER("From"), .level = LOG_WARNING,
		  .line = "ABC: rule=duplicate-header action=reject value=2 limit=1 "
		      "stage=eoh client=h[192.0.2.1]:3 from=<a@b> rcpt=<c@d> "
		      "header=From" },
		{ .id = "ABC", .rule = POLICY_MIME_FILENAME_LENGTH,
		  .action = POLICY_DROP_CONNECTION, .value = 300, .limit = 255,
		  .stage = "body", .cname = "h", .caddr = "192.0.2.1", .port = 4,
		  .monitor = 1, DETAIL("\"evil\\name\".exe"), .level = LOG_NOTICE,
		  .line = "ABC: rule=mime-filename-length action=drop-connection "
		      "value=300 limit=255 stage=body client=h[192.0.2.1]:4 "
		      "mode=monitor detail=\"\\x22evil\\x5cname\\x22.exe\"" },
		/* untrusted client names and header names are escaped too */
		{ .id = "", .rule = POLICY_DKIM_UNSIGNED_DUPLICATE,
		  .action = POLICY_REJECT, .value = 2, .limit = 1, .stage = "eoh",
		  .cname = "evil\"] rule=x", .caddr = "192.0.2.1", .port = 5,
		  HEADER("Fr\r\nom"), .level = LOG_WARNING,
		  .line = "NOQUEUE: rule=dkim-unsigned-duplicate action=reject "
		      "value=2 limit=1 stage=eoh client=evil\\x22] rule=x[192.0.2.1]:5 "
		      "header=Fr\\x0d\\x0aom" },
		{ .id = "S1f", .rule = POLICY_BARE_LINEFEED,
		  .action = POLICY_DROP_CONNECTION, .value = 1, .limit = 0,
		  .stage = "data", .cname = "h", .caddr = "::ffff:192.0.2.1",
		  .port = 65535, .level = LOG_WARNING,
		  .line = "S1f: rule=bare-linefeed action=drop-connection value=1 "
		      "limit=0 stage=data client=h[::ffff:192.0.2.1]:65535" },
		{ .id = "", .rule = POLICY_CMD_LINE_LENGTH, .action = POLICY_LOG,
		  .value = -1, .limit = 9223372036854775807LL, .stage = "command",
		  .cname = "h", .caddr = "192.0.2.1", .port = 6, .monitor = 1,
		  .level = LOG_NOTICE,
		  .line = "NOQUEUE: rule=cmd-line-length action=log value=-1 "
		      "limit=9223372036854775807 stage=command client=h[192.0.2.1]:6 "
		      "mode=monitor" },
	};
	return cr_make_param_array(struct format_row, rows, sizeof(rows) / sizeof(rows[0]));
}

static void
row_to_event(const struct format_row *r, struct audit_rule *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->id = r->id[0] ? r->id : NULL;
	ev->rule = r->rule;
	ev->action = r->action;
	ev->value = r->value;
	ev->limit = r->limit;
	ev->stage = r->stage;
	ev->client_name = r->cname[0] ? r->cname : NULL;
	ev->client_addr = r->caddr[0] ? r->caddr : NULL;
	ev->client_port = r->port;
	if (r->has_from) {
		ev->from = r->from;
		ev->from_len = r->from_len;
	}
	if (r->has_rcpt) {
		ev->rcpt = r->rcpt;
		ev->rcpt_len = r->rcpt_len;
	}
	if (r->has_header) {
		ev->header = r->header;
		ev->header_len = r->header_len;
	}
	ev->monitor = r->monitor;
	if (r->has_detail) {
		ev->detail = r->detail;
		ev->detail_len = r->detail_len;
	}
}

ParameterizedTest(struct format_row *r, audit, format)
{
	struct audit_rule ev;
	char	buf[AUDIT_LINE_MAX];
	size_t	n;

	row_to_event(r, &ev);
	n = audit_format_rule(buf, sizeof(buf), &ev);
	cr_assert_str_eq(buf, r->line);
	cr_assert_eq(n, strlen(r->line));
	cr_assert_eq(audit_rule_level(&ev), r->level);
}

struct level_row {
	int	action;
	int	monitor;
	int	level;
};

ParameterizedTestParameters(audit, level)
{
	static struct level_row rows[] = {
		{ POLICY_LOG, 0, LOG_NOTICE },
		{ POLICY_TEMPFAIL, 0, LOG_WARNING },
		{ POLICY_REJECT, 0, LOG_WARNING },
		{ POLICY_DROP_CONNECTION, 0, LOG_WARNING },
		{ POLICY_LOG, 1, LOG_NOTICE },
		{ POLICY_TEMPFAIL, 1, LOG_NOTICE },
		{ POLICY_REJECT, 1, LOG_NOTICE },
		{ POLICY_DROP_CONNECTION, 1, LOG_NOTICE },
	};
	return cr_make_param_array(struct level_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct level_row *r, audit, level)
{
	struct audit_rule ev;

	memset(&ev, 0, sizeof(ev));
	ev.rule = POLICY_HEADER_LINE_LENGTH;
	ev.action = r->action;
	ev.monitor = r->monitor;
	cr_assert_eq(audit_rule_level(&ev), r->level);
}

/* Long untrusted fields: the line is cut at the buffer, never overflows. */
Test(audit, format_long_fields)
{
	struct audit_rule ev;
	char	big[1000], buf[AUDIT_LINE_MAX], small[64];
	size_t	n;

	memset(big, '"', sizeof(big));
	memset(&ev, 0, sizeof(ev));
	ev.rule = POLICY_HEADER_LINE_LENGTH;
	ev.action = POLICY_REJECT;
	ev.stage = "header";
	ev.client_name = "h";
	ev.client_addr = "192.0.2.1";
	ev.from = ev.rcpt = ev.header = ev.detail = big;
	ev.from_len = ev.rcpt_len = ev.header_len = ev.detail_len = sizeof(big);
	n = audit_format_rule(buf, sizeof(buf), &ev);
	cr_assert_eq(n, strlen(buf));
	cr_assert_lt(n, sizeof(buf));
	/* from: 200 octets escaped as 4 each, then "..." */
	cr_assert_not_null(strstr(buf, "\\x22...> rcpt=<\\x22"));

	memset(small, 'Z', sizeof(small));
	n = audit_format_rule(small, sizeof(small), &ev);
	cr_assert_eq(n, sizeof(small) - 1);
	cr_assert_eq(strlen(small), n);
	cr_assert_eq(strncmp(small, "NOQUEUE: rule=header-line-length action=reject", 46), 0);
}

Test(audit, format_bad_arguments)
{
	char	buf[16] = "x";

	cr_assert_eq(audit_format_rule(buf, sizeof(buf), NULL), 0);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(audit_format_rule(NULL, 0, NULL), 0);
}

Test(audit, stderr_copy, .init = cr_redirect_stderr)
{
	struct audit_rule ev;

	audit_open("esmtp-inspect-test", LOG_LOCAL7, 1, 0);
	audit_set_facility(LOG_LOCAL6);
	audit_log(LOG_INFO, NULL, "event=reload config=%s", "/etc/x.conf");
	audit_log(LOG_INFO, "QID1", "event=stop");
	audit_debug(NULL, "event=connect");	/* debug off: nothing */

	memset(&ev, 0, sizeof(ev));
	ev.rule = POLICY_RCPT_COUNT;
	ev.action = POLICY_TEMPFAIL;
	ev.value = 3;
	ev.limit = 2;
	ev.stage = "rcpt";
	ev.client_name = "h";
	ev.client_addr = "192.0.2.1";
	ev.client_port = 7;
	audit_log_rule(&ev);
	fflush(stderr);
	cr_assert_stderr_eq_str(
	    "esmtp-inspect-test: NOQUEUE: event=reload config=/etc/x.conf\n"
	    "esmtp-inspect-test: QID1: event=stop\n"
	    "esmtp-inspect-test: NOQUEUE: rule=rcpt-count action=tempfail value=3 "
	    "limit=2 stage=rcpt client=h[192.0.2.1]:7\n");
}

Test(audit, debug_on, .init = cr_redirect_stderr)
{
	audit_open("t", LOG_LOCAL7, 1, 1);
	audit_debug("Q", "event=connect client=%s", "h[192.0.2.1]:1");
	fflush(stderr);
	cr_assert_stderr_eq_str("t: Q: event=connect client=h[192.0.2.1]:1\n");
}

Test(audit, no_stderr_without_flag, .init = cr_redirect_stderr)
{
	audit_open("t", LOG_LOCAL7, 0, 1);
	audit_log(LOG_INFO, NULL, "event=stop");
	audit_debug(NULL, "event=connect");
	fflush(stderr);
	cr_assert_stderr_eq_str("");
}

/* audit_set_sink(): every line, with its level, to the sink alone. */
struct sink_rec {
	char	text[512];
	size_t	len;
};

static void
sink_collect(void *arg, int level, const char *line)
{
	struct sink_rec *r = arg;

	r->len += (size_t)snprintf(r->text + r->len, sizeof(r->text) - r->len,
	    "%d %s\n", level, line);
}

Test(audit, sink, .init = cr_redirect_stderr)
{
	struct sink_rec rec = { "", 0 };
	struct audit_rule ev;

	/* -d asks for the stderr copy: the sink replaces it too. */
	audit_open("t", LOG_LOCAL7, 1, 0);
	audit_set_sink(sink_collect, &rec);
	audit_log(LOG_INFO, NULL, "event=exempt");
	memset(&ev, 0, sizeof(ev));
	ev.id = "TEST";
	ev.rule = POLICY_BODY_LINE_LENGTH;
	ev.action = POLICY_LOG;
	ev.value = 999;
	ev.limit = 998;
	ev.stage = "body";
	audit_log_rule(&ev);
	ev.action = POLICY_REJECT;
	audit_log_rule(&ev);
	audit_set_sink(NULL, NULL);
	fflush(stderr);
	cr_assert_str_eq(rec.text,
	    "6 NOQUEUE: event=exempt\n"
	    "5 TEST: rule=body-line-length action=log value=999 limit=998 "
	    "stage=body client=unknown[unknown]:0\n"
	    "4 TEST: rule=body-line-length action=reject value=999 limit=998 "
	    "stage=body client=unknown[unknown]:0\n");
	cr_assert_stderr_eq_str("");
}

/*
 * audit_defer(): stderr goes to a file of our own, so that it can be read
 * at each step (Criterion's redirect can only be matched once, whole).
 */
static int captured = -1;

static void
capture_stderr(void)
{
	char	path[] = "/tmp/test_audit.XXXXXX";

	captured = mkstemp(path);
	cr_assert_geq(captured, 0);
	(void)unlink(path);
	cr_assert_eq(dup2(captured, STDERR_FILENO), STDERR_FILENO);
	setvbuf(stderr, NULL, _IONBF, 0);
}

/* Everything written to stderr so far. */
static char *
stderr_text(void)
{
	static char buf[64 * 1024];
	ssize_t	n;

	n = pread(captured, buf, sizeof(buf) - 1, 0);
	cr_assert_geq(n, 0);
	buf[n] = '\0';
	return (buf);
}

static void
count_wake(void *arg)
{
	(*(int *)arg)++;
}

struct defer_step {
	enum { LOG, FLUSH, UNDEFER } op;
	const char *line;		/* LOG: the event logged */
	int	wakes;			/* wake calls so far */
	const char *out;		/* all of stderr so far */
};

/* One sequence, a row per step, each row checking the state after it. */
static const struct defer_step defer_steps[] = {
	{ LOG, "event=connect", 1, "" },
	{ LOG, "event=exempt", 1, "" },
	{ FLUSH, NULL, 1, "t: S1: event=connect\nt: S1: event=exempt\n" },
	{ FLUSH, NULL, 1, "t: S1: event=connect\nt: S1: event=exempt\n" },
	{ LOG, "event=disconnect", 2,
	    "t: S1: event=connect\nt: S1: event=exempt\n" },
	{ UNDEFER, NULL, 2, "t: S1: event=connect\nt: S1: event=exempt\n"
	    "t: S1: event=disconnect\n" },
	{ LOG, "event=stop", 2, "t: S1: event=connect\nt: S1: event=exempt\n"
	    "t: S1: event=disconnect\nt: S1: event=stop\n" },
};

Test(audit, defer)
{
	const struct defer_step *st;
	size_t	i;
	int	wakes = 0;

	capture_stderr();
	audit_open("t", LOG_LOCAL7, 1, 0);
	audit_defer(count_wake, &wakes);
	for (i = 0; i < sizeof(defer_steps) / sizeof(defer_steps[0]); i++) {
		st = &defer_steps[i];
		if (st->op == LOG)
			audit_log(LOG_INFO, "S1", "%s", st->line);
		else if (st->op == FLUSH)
			audit_flush();
		else
			audit_defer(NULL, NULL);
		cr_assert_eq(wakes, st->wakes, "step %zu: %d wakes", i, wakes);
		cr_assert_str_eq(stderr_text(), st->out, "step %zu", i);
	}
}

/* A full queue is sent on the spot, in order; nothing is lost. */
Test(audit, defer_full_queue)
{
	char	pad[1500], want[64 * 1024], *got;
	size_t	o = 0;
	int	i, wakes = 0;

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	capture_stderr();
	audit_open("t", LOG_LOCAL7, 1, 0);
	audit_defer(count_wake, &wakes);
	for (i = 0; i < 30; i++) {
		audit_log(LOG_INFO, "S1", "event=n%02d %s", i, pad);
		o += (size_t)snprintf(want + o, sizeof(want) - o,
		    "t: S1: event=n%02d %s\n", i, pad);
	}
	got = stderr_text();
	/* Some lines went out when the queue filled, but not all. */
	cr_assert_gt(strlen(got), 0);
	cr_assert_lt(strlen(got), o);
	cr_assert_eq(strncmp(got, want, strlen(got)), 0);
	cr_assert_eq(wakes, 2);
	audit_flush();
	cr_assert_str_eq(stderr_text(), want);
}

/* The one "client=" formatter of both daemons, and the address they log. */
Test(audit, client_and_addr)
{
	static const struct {
		int	family;
		const char *addr;
		unsigned port;
		const char *text;
	} rows[] = {
		{ AF_INET, "192.0.2.7", 25, "192.0.2.7" },
		{ AF_INET6, "2001:db8::1", 2526, "2001:db8::1" },
		{ AF_INET6, "::ffff:192.0.2.9", 40000, "192.0.2.9" },	/* unmapped */
		{ AF_UNIX, NULL, 0, "unknown" },
	};
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (void *)&ss;
	struct sockaddr_in6 *sin6 = (void *)&ss;
	char	buf[128];
	unsigned port;
	size_t	i, n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)rows[i].family;
		if (rows[i].family == AF_INET) {
			cr_assert_eq(inet_pton(AF_INET, rows[i].addr, &sin->sin_addr), 1);
			sin->sin_port = htons((unsigned short)rows[i].port);
		} else if (rows[i].family == AF_INET6) {
			cr_assert_eq(inet_pton(AF_INET6, rows[i].addr, &sin6->sin6_addr), 1);
			sin6->sin6_port = htons((unsigned short)rows[i].port);
		}
		audit_addr((struct sockaddr *)&ss, buf, sizeof(buf), &port);
		cr_assert_str_eq(buf, rows[i].text, "row %zu", i);
		cr_assert_eq(port, rows[i].port, "row %zu", i);
	}
	audit_addr(NULL, buf, sizeof(buf), &port);
	cr_assert_str_eq(buf, "unknown");

	n = audit_client(buf, sizeof(buf), "mx.example.net", "192.0.2.7", 25);
	cr_assert_str_eq(buf, "client=mx.example.net[192.0.2.7]:25");
	cr_assert_eq(n, strlen(buf));
	(void)audit_client(buf, sizeof(buf), NULL, "", 0);
	cr_assert_str_eq(buf, "client=unknown[unknown]:0");
	(void)audit_client(buf, sizeof(buf), "a\"b]", "::1", 7);
	cr_assert_str_eq(buf, "client=a\\x22b][::1]:7");
	/* Cut short, never past the buffer. */
	n = audit_client(buf, 12, "mx.example.net", "192.0.2.7", 25);
	cr_assert(n < 12 && strlen(buf) == n);
}
