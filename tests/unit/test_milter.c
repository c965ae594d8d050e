/*
 * test_milter.c - the milter callbacks, driven without an MTA.
 *
 * milter/milter.o is linked against mfwrap_stub.c, a fake libmilter
 * context.  Each table row loads a configuration, runs one SMTP session
 * (connect, MAIL, N x RCPT) through the callbacks, and checks every return
 * code, the reply, and the exact audit lines (audit writes them to stderr
 * with -d; the test points stderr at a temporary file).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "audit.h"
#include "config.h"
#include "milter.h"

/* From mfwrap_stub.c. */
SMFICTX	*stub_ctx_new(void);
void	stub_ctx_free(SMFICTX *ctx);
void	stub_set_macro(SMFICTX *ctx, const char *name, const char *value);
const char *stub_reply(SMFICTX *ctx);
int	stub_nreplies(SMFICTX *ctx);
void	stub_clear_reply(SMFICTX *ctx);
const char *stub_symlist(SMFICTX *ctx, int stage);
void	*stub_priv(SMFICTX *ctx);

#define P		"esmtp-inspect-milter: "
#define CLIENT		"client=client.test[192.0.2.1]:41234"
/* A 321-octet sender as audit writes it: cut at 200 octets, then "...". */
#define LONG200		"@LONG@"

/* ---- helpers ---------------------------------------------------------- */

static char conf_path[64];
static int saved_stderr = -1;
static FILE *capture;

static void
load_conf(const char *text)
{
	struct config *cfg;
	char	err[CONFIG_ERR_MAX];
	int	fd;

	(void)snprintf(conf_path, sizeof(conf_path), "/tmp/test_milter.XXXXXX");
	fd = mkstemp(conf_path);
	cr_assert(fd >= 0);
	cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	(void)close(fd);
	cfg = config_load(conf_path, err, sizeof(err));
	(void)unlink(conf_path);
	cr_assert(cfg != NULL, "config_load: %s", err);
	config_install(cfg);
}

static void
capture_begin(void)
{
	audit_open("esmtp-inspect-milter", LOG_MAIL, 1, 0);
	fflush(stderr);
	capture = tmpfile();
	cr_assert(capture != NULL);
	saved_stderr = dup(2);
	cr_assert(dup2(fileno(capture), 2) == 2);
}

/* Stop capturing; returns what audit wrote (caller frees). */
static char *
capture_end(void)
{
	char   *buf;
	long	len;

	fflush(stderr);
	cr_assert(dup2(saved_stderr, 2) == 2);
	(void)close(saved_stderr);
	len = lseek(fileno(capture), 0, SEEK_END);
	cr_assert(len >= 0);
	buf = calloc(1, (size_t)len + 1);
	cr_assert(buf != NULL);
	cr_assert(pread(fileno(capture), buf, (size_t)len, 0) == len);
	fclose(capture);
	return (buf);
}

/* ${s} with LONG200 replaced by 200 'a' and "...". */
static char *
expand(const char *s)
{
	char   *out, *o;
	const char *p;
	size_t	n = 1;

	for (p = s; (p = strstr(p, LONG200)) != NULL; p += strlen(LONG200))
		n++;
	o = out = calloc(1, strlen(s) + n * 203);
	cr_assert(out != NULL);
	while ((p = strstr(s, LONG200)) != NULL) {
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
		memset(o, 'a', 200);
		o += 200;
		memcpy(o, "...", 3);
		o += 3;
		s = p + strlen(LONG200);
	}
	strcpy(o, s);
	return (out);
}

/* "<aaa...a@d.test>" whose address is ${len} octets; ${extra} is put in the local part. */
static char *
long_sender(size_t len, const char *extra)
{
	char   *s = malloc(len + 3);
	size_t	local = len - strlen("@d.test");

	cr_assert(s != NULL);
	s[0] = '<';
	memset(s + 1, 'a', local);
	if (extra != NULL)
		memcpy(s + 1 + local - strlen(extra), extra, strlen(extra));
	strcpy(s + 1 + local, "@d.test>");
	return (s);
}

static struct sockaddr_in
client_sa(void)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(41234);
	(void)inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	return (sin);
}

static sfsistat
do_connect(SMFICTX *ctx)
{
	struct sockaddr_in sin = client_sa();
	char	name[] = "client.test";

	return (milter_connect(ctx, name, (struct sockaddr *)&sin));
}

static sfsistat
do_mail(SMFICTX *ctx, const char *arg)
{
	char   *a = strdup(arg);
	char   *argv[] = { a, NULL };
	sfsistat r;

	r = milter_envfrom(ctx, argv);
	free(a);
	return (r);
}

static sfsistat
do_rcpt(SMFICTX *ctx, const char *arg)
{
	char   *a = strdup(arg);
	char   *argv[] = { a, NULL };
	sfsistat r;

	r = milter_envrcpt(ctx, argv);
	free(a);
	return (r);
}

static sfsistat
do_rcpt_n(SMFICTX *ctx, int n)
{
	char	buf[64];

	(void)snprintf(buf, sizeof(buf), "<u%d@d.test>", n);
	return (do_rcpt(ctx, buf));
}

/* ---- the session table ------------------------------------------------ */

struct row {
	const char *name;
	const char *conf;
	sfsistat connect_ret;
	const char *mail;		/* MAIL argument, or NULL: long sender */
	size_t	mail_len;		/* for long senders: address octets */
	const char *mail_extra;		/* for long senders: put into the local part */
	sfsistat mail_ret;
	int	nrcpt;			/* RCPT <u1@d.test> ... <uN@d.test> */
	const char *rcpt;		/* if set, the argument of the last RCPT */
	sfsistat last_ret;		/* of the last RCPT; the others must CONTINUE */
	const char *reply;		/* the reply set, or NULL for none */
	const char *log;		/* every audit line, exactly */
};

static const struct row rows[] = {
	{ "sender 320 octets passes", "", SMFIS_CONTINUE,
	  NULL, 320, NULL, SMFIS_CONTINUE, 1, NULL, SMFIS_CONTINUE, NULL, "" },
	{ "sender 321 octets rejected", "", SMFIS_CONTINUE,
	  NULL, 321, NULL, SMFIS_REJECT, 0, NULL, 0,
	  "553 5.1.7 Message refused by policy (sender-length)",
	  P "NOQUEUE: rule=sender-length action=reject value=321 limit=320 "
	  "stage=mail " CLIENT " from=<" LONG200 ">\n" },
	{ "sender 321 octets asa", "profile = asa\n", SMFIS_CONTINUE,
	  NULL, 321, NULL, SMFIS_TEMPFAIL, 0, NULL, 0,
	  "421 4.7.0 Message refused by policy (sender-length)",
	  P "NOQUEUE: rule=sender-length action=drop-connection value=321 "
	  "limit=320 stage=mail " CLIENT " from=<" LONG200 ">\n" },
	{ "sender 321 octets, reply text with %",
	  "rule sender-length { reply = \"100% too long\" }\n", SMFIS_CONTINUE,
	  NULL, 321, NULL, SMFIS_REJECT, 0, NULL, 0,
	  "553 5.1.7 100% too long",
	  P "NOQUEUE: rule=sender-length action=reject value=321 limit=320 "
	  "stage=mail " CLIENT " from=<" LONG200 ">\n" },
	{ "sender 321 octets, log = no", "rule sender-length { log = no }\n",
	  SMFIS_CONTINUE, NULL, 321, NULL, SMFIS_REJECT, 0, NULL, 0,
	  "553 5.1.7 Message refused by policy (sender-length)", "" },
	{ "sender 321 octets, monitor", "mode = monitor\n", SMFIS_CONTINUE,
	  NULL, 321, NULL, SMFIS_CONTINUE, 1, NULL, SMFIS_CONTINUE, NULL,
	  P "NOQUEUE: rule=sender-length action=reject value=321 limit=320 "
	  "stage=mail " CLIENT " from=<" LONG200 "> mode=monitor\n" },
	{ "sender 321 octets, per-rule exemption",
	  "rule sender-length { exempt-clients = { \"192.0.2.0/24\" } }\n",
	  SMFIS_CONTINUE, NULL, 321, NULL, SMFIS_CONTINUE, 1, NULL,
	  SMFIS_CONTINUE, NULL, "" },
	{ "per-rule exemption of another client",
	  "rule sender-length { exempt-clients = { \"198.51.100.0/24\" } }\n",
	  SMFIS_CONTINUE, NULL, 321, NULL, SMFIS_REJECT, 0, NULL, 0,
	  "553 5.1.7 Message refused by policy (sender-length)",
	  P "NOQUEUE: rule=sender-length action=reject value=321 limit=320 "
	  "stage=mail " CLIENT " from=<" LONG200 ">\n" },
	{ "global exemption", "exempt-clients = { \"192.0.2.1/32\" }\n",
	  SMFIS_ACCEPT, NULL, 0, NULL, 0, 0, NULL, 0, NULL,
	  P "NOQUEUE: event=exempt " CLIENT "\n" },
	{ "pipe in MAIL", "", SMFIS_CONTINUE,
	  "<a|b@d.test>", 0, NULL, SMFIS_REJECT, 0, NULL, 0,
	  "550 5.7.1 Message refused by policy (address-characters)",
	  P "NOQUEUE: rule=address-characters action=reject value=1 limit=0 "
	  "stage=mail " CLIENT " from=<a|b@d.test> detail=\"|\"\n" },
	{ "backquote in RCPT", "", SMFIS_CONTINUE,
	  "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 2, "<c`d`@d.test>",
	  SMFIS_REJECT,
	  "550 5.7.1 Message refused by policy (address-characters)",
	  P "QID1: rule=address-characters action=reject value=2 limit=0 "
	  "stage=rcpt " CLIENT " from=<a@d.test> rcpt=<c`d`@d.test> "
	  "detail=\"`\"\n" },
	{ "pipe in RCPT, asa", "profile = asa\n", SMFIS_CONTINUE,
	  "<>", 0, NULL, SMFIS_CONTINUE, 1, "<|x@d.test>", SMFIS_TEMPFAIL,
	  "421 4.7.0 Message refused by policy (address-characters)",
	  P "QID1: rule=address-characters action=drop-connection value=1 "
	  "limit=0 stage=rcpt " CLIENT " from=<> rcpt=<|x@d.test> "
	  "detail=\"|\"\n" },
	{ "100 RCPTs pass", "", SMFIS_CONTINUE,
	  "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 100, NULL, SMFIS_CONTINUE,
	  NULL, "" },
	{ "101 RCPTs standard", "", SMFIS_CONTINUE,
	  "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 101, NULL, SMFIS_TEMPFAIL,
	  "452 4.5.3 Too many recipients",
	  P "QID1: rule=rcpt-count action=tempfail value=101 limit=100 "
	  "stage=rcpt " CLIENT " from=<a@d.test> rcpt=<u101@d.test>\n" },
	{ "101 RCPTs asa", "profile = asa\n", SMFIS_CONTINUE,
	  "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 101, NULL, SMFIS_TEMPFAIL,
	  "421 4.7.0 Message refused by policy (rcpt-count)",
	  P "QID1: rule=rcpt-count action=drop-connection value=101 limit=100 "
	  "stage=rcpt " CLIENT " from=<a@d.test> rcpt=<u101@d.test>\n" },
	{ "101 RCPTs reject", "rule rcpt-count { action = reject }\n",
	  SMFIS_CONTINUE, "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 101, NULL,
	  SMFIS_REJECT, "550 5.7.1 Message refused by policy (rcpt-count)",
	  P "QID1: rule=rcpt-count action=reject value=101 limit=100 "
	  "stage=rcpt " CLIENT " from=<a@d.test> rcpt=<u101@d.test>\n" },
	{ "101 RCPTs monitor", "profile = asa\nmode = monitor\n",
	  SMFIS_CONTINUE, "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 101, NULL,
	  SMFIS_CONTINUE, NULL,
	  P "QID1: rule=rcpt-count action=drop-connection value=101 limit=100 "
	  "stage=rcpt " CLIENT " from=<a@d.test> rcpt=<u101@d.test> "
	  "mode=monitor\n" },
	{ "3 RCPTs, limit 2, action log",
	  "rule rcpt-count { limit = 2 action = log }\n", SMFIS_CONTINUE,
	  "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 3, NULL, SMFIS_CONTINUE, NULL,
	  P "QID1: rule=rcpt-count action=log value=3 limit=2 stage=rcpt "
	  CLIENT " from=<a@d.test> rcpt=<u3@d.test>\n" },
	{ "rcpt-count off", "rule rcpt-count { action = none }\n",
	  SMFIS_CONTINUE, "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 101, NULL,
	  SMFIS_CONTINUE, NULL, "" },
	{ "two rules fire: strongest decides, both logged",
	  "rule address-characters { action = drop-connection }\n",
	  SMFIS_CONTINUE, NULL, 321, "|", SMFIS_TEMPFAIL, 0, NULL, 0,
	  "421 4.7.0 Message refused by policy (address-characters)",
	  P "NOQUEUE: rule=sender-length action=reject value=321 limit=320 "
	  "stage=mail " CLIENT " from=<" LONG200 ">\n"
	  P "NOQUEUE: rule=address-characters action=drop-connection value=1 "
	  "limit=0 stage=mail " CLIENT " from=<" LONG200 "> detail=\"|\"\n" },
	{ "two rules fire: tie goes to the first in table order",
	  "", SMFIS_CONTINUE, NULL, 321, "`", SMFIS_REJECT, 0, NULL, 0,
	  "553 5.1.7 Message refused by policy (sender-length)",
	  P "NOQUEUE: rule=sender-length action=reject value=321 limit=320 "
	  "stage=mail " CLIENT " from=<" LONG200 ">\n"
	  P "NOQUEUE: rule=address-characters action=reject value=1 "
	  "limit=0 stage=mail " CLIENT " from=<" LONG200 "> detail=\"`\"\n" },
};

#define NROWS	(sizeof(rows) / sizeof(rows[0]))

/*
 * Criterion runs each test in a fresh process where addresses may differ
 * (PIE), so the parameter is the row's index, never a pointer.
 */
ParameterizedTestParameters(milter, session)
{
	static size_t idx[NROWS];
	size_t	i;

	for (i = 0; i < NROWS; i++)
		idx[i] = i;
	return (cr_make_param_array(size_t, idx, NROWS));
}

ParameterizedTest(size_t *ip, milter, session)
{
	const struct row *row = &rows[*ip];
	SMFICTX *ctx = stub_ctx_new();
	char   *mail = NULL, *log, *want;
	sfsistat r;
	int	k;

	load_conf(row->conf);
	capture_begin();
	r = do_connect(ctx);
	cr_expect_eq(r, row->connect_ret, "%s: connect %d", row->name, r);
	if (r == SMFIS_CONTINUE) {
		mail = row->mail != NULL ? strdup(row->mail) :
		    long_sender(row->mail_len, row->mail_extra);
		r = do_mail(ctx, mail);
		cr_expect_eq(r, row->mail_ret, "%s: MAIL %d", row->name, r);
		/* Postfix knows the queue id from the first accepted RCPT. */
		stub_set_macro(ctx, "i", "QID1");
		for (k = 1; r == SMFIS_CONTINUE && k <= row->nrcpt; k++) {
			r = k == row->nrcpt && row->rcpt != NULL ?
			    do_rcpt(ctx, row->rcpt) : do_rcpt_n(ctx, k);
			cr_expect_eq(r, k == row->nrcpt ? row->last_ret :
			    SMFIS_CONTINUE, "%s: RCPT %d: %d", row->name, k, r);
		}
	}
	log = capture_end();
	want = expand(row->log);
	cr_expect_str_eq(log, want, "%s: log", row->name);
	if (row->reply == NULL)
		cr_expect_null(stub_reply(ctx), "%s: reply %s", row->name,
		    stub_reply(ctx));
	else {
		cr_expect_not_null(stub_reply(ctx), "%s: no reply", row->name);
		if (stub_reply(ctx) != NULL)
			cr_expect_str_eq(stub_reply(ctx), row->reply,
			    "%s: reply \"%s\", want \"%s\"", row->name,
			    stub_reply(ctx), row->reply);
		cr_expect_eq(stub_nreplies(ctx), 1, "%s: one reply", row->name);
	}
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	cr_expect_null(stub_priv(ctx));
	free(mail);
	free(log);
	free(want);
	stub_ctx_free(ctx);
}

/* ---- state ------------------------------------------------------------ */

/* ${n} RCPTs, all let through. */
static void
rcpts_pass(SMFICTX *ctx, int n)
{
	int	k;

	for (k = 1; k <= n; k++)
		cr_assert_eq(do_rcpt_n(ctx, k), SMFIS_CONTINUE, "RCPT %d", k);
}

Test(milter, state_reset_between_transactions)
{
	SMFICTX *ctx = stub_ctx_new();
	char   *log;

	load_conf("profile = asa\n");
	capture_begin();
	cr_assert_eq(do_connect(ctx), SMFIS_CONTINUE);
	/* A second MAIL starts afresh, even without EOM. */
	cr_assert_eq(do_mail(ctx, "<a@d.test>"), SMFIS_CONTINUE);
	rcpts_pass(ctx, 60);
	cr_assert_eq(do_mail(ctx, "<b@d.test>"), SMFIS_CONTINUE);
	rcpts_pass(ctx, 60);
	/* After EOM. */
	cr_assert_eq(milter_eom(ctx), SMFIS_CONTINUE);
	cr_assert_eq(do_mail(ctx, "<c@d.test>"), SMFIS_CONTINUE);
	rcpts_pass(ctx, 60);
	/* After abort (RSET). */
	cr_assert_eq(milter_abort(ctx), SMFIS_CONTINUE);
	cr_assert_eq(do_mail(ctx, "<d@d.test>"), SMFIS_CONTINUE);
	rcpts_pass(ctx, 100);
	cr_assert_eq(do_rcpt_n(ctx, 101), SMFIS_TEMPFAIL);
	log = capture_end();
	cr_expect_str_eq(log, P "NOQUEUE: rule=rcpt-count action=drop-connection "
	    "value=101 limit=100 stage=rcpt " CLIENT " from=<d@d.test> "
	    "rcpt=<u101@d.test>\n");
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	free(log);
	stub_ctx_free(ctx);
}

Test(milter, refused_rcpt_not_counted)
{
	SMFICTX *ctx = stub_ctx_new();
	char   *log;

	load_conf("rule rcpt-count { limit = 2 }\n");
	capture_begin();
	cr_assert_eq(do_connect(ctx), SMFIS_CONTINUE);
	cr_assert_eq(do_mail(ctx, "<a@d.test>"), SMFIS_CONTINUE);
	rcpts_pass(ctx, 1);
	cr_assert_eq(do_rcpt(ctx, "<x|y@d.test>"), SMFIS_REJECT);
	cr_assert_eq(do_rcpt_n(ctx, 2), SMFIS_CONTINUE);
	cr_assert_eq(do_rcpt_n(ctx, 3), SMFIS_TEMPFAIL);
	cr_assert_eq(do_rcpt_n(ctx, 4), SMFIS_TEMPFAIL);
	log = capture_end();
	cr_expect_str_eq(log,
	    P "NOQUEUE: rule=address-characters action=reject value=1 limit=0 "
	    "stage=rcpt " CLIENT " from=<a@d.test> rcpt=<x|y@d.test> "
	    "detail=\"|\"\n"
	    P "NOQUEUE: rule=rcpt-count action=tempfail value=3 limit=2 "
	    "stage=rcpt " CLIENT " from=<a@d.test> rcpt=<u3@d.test>\n"
	    P "NOQUEUE: rule=rcpt-count action=tempfail value=3 limit=2 "
	    "stage=rcpt " CLIENT " from=<a@d.test> rcpt=<u4@d.test>\n");
	milter_close(ctx);
	free(log);
	stub_ctx_free(ctx);
}

Test(milter, close_without_private_data)
{
	SMFICTX *ctx = stub_ctx_new();

	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	cr_expect_eq(milter_abort(ctx), SMFIS_CONTINUE);
	stub_ctx_free(ctx);
}

Test(milter, on_error_without_state)
{
	SMFICTX *ctx = stub_ctx_new();
	char   *log;

	load_conf("milter { on-error = tempfail }\n");
	capture_begin();
	cr_expect_eq(do_mail(ctx, "<a@d.test>"), SMFIS_TEMPFAIL);
	log = capture_end();
	cr_expect_str_eq(stub_reply(ctx), "451 4.3.0 Temporary internal error");
	cr_expect_str_eq(log, P "NOQUEUE: event=error stage=mail "
	    "client=unknown[unknown]:0 action=tempfail "
	    "detail=\"no connection state\"\n");
	free(log);
	stub_clear_reply(ctx);

	load_conf("milter { on-error = accept }\n");
	capture_begin();
	cr_expect_eq(do_rcpt(ctx, "<a@d.test>"), SMFIS_ACCEPT);
	log = capture_end();
	cr_expect_null(stub_reply(ctx));
	cr_expect_str_eq(log, P "NOQUEUE: event=error stage=rcpt "
	    "client=unknown[unknown]:0 action=accept "
	    "detail=\"no connection state\"\n");
	free(log);
	stub_ctx_free(ctx);
}

Test(milter, client_without_address)
{
	SMFICTX *ctx = stub_ctx_new();
	char	name[] = "localhost";
	char   *log, *mail = long_sender(321, NULL);

	load_conf("");
	capture_begin();
	cr_assert_eq(milter_connect(ctx, name, NULL), SMFIS_CONTINUE);
	cr_assert_eq(do_mail(ctx, mail), SMFIS_REJECT);
	log = capture_end();
	free(mail);
	mail = expand(P "NOQUEUE: rule=sender-length action=reject value=321 "
	    "limit=320 stage=mail client=localhost[unknown]:0 from=<"
	    LONG200 ">\n");
	cr_expect_str_eq(log, mail);
	milter_close(ctx);
	free(log);
	free(mail);
	stub_ctx_free(ctx);
}

Test(milter, ipv6_client)
{
	SMFICTX *ctx = stub_ctx_new();
	struct sockaddr_in6 sin6;
	char	name[] = "v6.test";
	char   *log;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(25);
	(void)inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	load_conf("");
	capture_begin();
	cr_assert_eq(milter_connect(ctx, name, (struct sockaddr *)&sin6),
	    SMFIS_CONTINUE);
	stub_set_macro(ctx, "i", "4BxQ2m1Vz9");
	cr_assert_eq(do_mail(ctx, "<a`@d.test>"), SMFIS_REJECT);
	log = capture_end();
	cr_expect_str_eq(log, P "4BxQ2m1Vz9: rule=address-characters "
	    "action=reject value=1 limit=0 stage=mail "
	    "client=v6.test[2001:db8::1]:25 from=<a`@d.test> detail=\"`\"\n");
	milter_close(ctx);
	free(log);
	stub_ctx_free(ctx);
}

Test(milter, negotiate)
{
	SMFICTX *ctx = stub_ctx_new();
	unsigned long pf0, pf1, pf2, pf3;
	const unsigned long all = SMFIP_NOCONNECT | SMFIP_NOHELO |
	    SMFIP_NOMAIL | SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS |
	    SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_RCPT_REJ |
	    SMFIP_SKIP;

	cr_assert_eq(milter_negotiate(ctx, 0x1ff, all, 0, 0, &pf0, &pf1, &pf2,
	    &pf3), SMFIS_CONTINUE);
	cr_expect_eq(pf0, SMFIF_SETSYMLIST);
	cr_expect_eq(pf1, SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH |
	    SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA);
	cr_expect_eq(pf2, 0);
	cr_expect_eq(pf3, 0);
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_ENVFROM), "i");
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_ENVRCPT), "i");
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_EOM), "i");
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_CONNECT), "");
	stub_ctx_free(ctx);

	/* An old MTA: no skip flags, no macro lists; ask for nothing it lacks. */
	ctx = stub_ctx_new();
	cr_assert_eq(milter_negotiate(ctx, 0x3f, SMFIP_NOHELO, 0, 0, &pf0,
	    &pf1, &pf2, &pf3), SMFIS_CONTINUE);
	cr_expect_eq(pf0, 0);
	cr_expect_eq(pf1, SMFIP_NOHELO);
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_ENVFROM), "");
	stub_ctx_free(ctx);
}

Test(milter, description)
{
	cr_expect_str_eq(milter_desc.xxfi_name, "esmtp-inspect");
	cr_expect_eq(milter_desc.xxfi_version, SMFI_VERSION);
	cr_expect_eq(milter_desc.xxfi_flags, 0);
	cr_expect_null(milter_desc.xxfi_header);
	cr_expect_null(milter_desc.xxfi_body);
	cr_expect_not_null(milter_desc.xxfi_negotiate);
}

Test(milter, connect_without_configuration)
{
	SMFICTX *ctx = stub_ctx_new();
	char   *log;

	/* Each test runs in its own process: nothing is installed here. */
	capture_begin();
	cr_expect_eq(do_connect(ctx), SMFIS_TEMPFAIL);
	log = capture_end();
	cr_expect_str_eq(stub_reply(ctx), "451 4.3.0 Temporary internal error");
	cr_expect_str_eq(log, P "NOQUEUE: event=error stage=connect " CLIENT
	    " action=tempfail detail=\"no configuration\"\n");
	cr_expect_null(stub_priv(ctx));
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	free(log);
	stub_ctx_free(ctx);
}
