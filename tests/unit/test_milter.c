/* SPDX-License-Identifier: BSD-2-Clause */
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "audit.h"
#include "config.h"
#include "counters.h"
#include "hdrcount.h"
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
	/* sender-address (SPEC 4.2): PCRE2 on the sender without <>. */
	{ "sender-address matches: refused at MAIL",
	  "rule sender-address { patterns = { '^x@', '@evil\\.test$' } "
	  "action = reject }\n", SMFIS_CONTINUE,
	  "<a@Evil.TEST>", 0, NULL, SMFIS_REJECT, 0, NULL, 0,
	  "550 5.7.1 Message refused by policy (sender-address)",
	  P "NOQUEUE: rule=sender-address action=reject value=1 limit=0 "
	  "stage=mail " CLIENT " from=<a@Evil.TEST> detail=\"a@Evil.TEST\"\n" },
	{ "sender-address: a dot is a dot, single-quoted",
	  "rule sender-address { patterns = { '@evil\\.test$' } "
	  "action = reject }\n", SMFIS_CONTINUE,
	  "<a@evilxtest>", 0, NULL, SMFIS_CONTINUE, 1, NULL, SMFIS_CONTINUE,
	  NULL, "" },
	/* the sender as Postfix records it is matched too (review) */
	{ "sender-address: a final dot",
	  "rule sender-address { patterns = { '@evil\\.test$' } "
	  "action = reject }\n", SMFIS_CONTINUE, "<x@evil.test.>", 0, NULL,
	  SMFIS_REJECT, 0, NULL, 0,
	  "550 5.7.1 Message refused by policy (sender-address)",
	  P "NOQUEUE: rule=sender-address action=reject value=1 limit=0 "
	  "stage=mail " CLIENT " from=<x@evil.test.> detail=\"x@evil.test\"\n" },
	{ "sender-address: a quoted local part and a source route",
	  "rule sender-address { patterns = { '^spammer@' } "
	  "action = reject }\n", SMFIS_CONTINUE,
	  "<@relay.test:\"spa\\mmer\"@good.test>", 0, NULL,
	  SMFIS_REJECT, 0, NULL, 0,
	  "550 5.7.1 Message refused by policy (sender-address)",
	  P "NOQUEUE: rule=sender-address action=reject value=1 limit=0 "
	  "stage=mail " CLIENT " from=<@relay.test:\\x22spa\\x5cmmer\\x22@good.test> "
	  "detail=\"spammer@good.test\"\n" },
	{ "sender-address: the null sender is the empty string",
	  "rule sender-address { patterns = { '^$' } action = tempfail }\n",
	  SMFIS_CONTINUE, "<>", 0, NULL, SMFIS_TEMPFAIL, 0, NULL, 0,
	  "451 4.7.1 Message refused by policy (sender-address)",
	  P "NOQUEUE: rule=sender-address action=tempfail value=1 limit=0 "
	  "stage=mail " CLIENT " from=<> detail=\"\"\n" },
	{ "sender-address: the match limit fails closed",
	  "rule sender-address { patterns = { 'zz', '^(a+)+$' } "
	  "action = reject }\n", SMFIS_CONTINUE,
	  "<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab>", 0, NULL,
	  SMFIS_REJECT, 0, NULL, 0,
	  "550 5.7.1 Message refused by policy (sender-address)",
	  P "NOQUEUE: rule=sender-address action=reject value=1 limit=0 "
	  "stage=mail " CLIENT " from=<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab> "
	  "detail=\"match limit in pattern 2: "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\"\n" },
	{ "sender-address monitor: logged, nothing refused",
	  "mode = monitor\nrule sender-address { patterns = { 'evil' } "
	  "action = drop-connection }\n", SMFIS_CONTINUE,
	  "<a@evil.test>", 0, NULL, SMFIS_CONTINUE, 1, NULL, SMFIS_CONTINUE,
	  NULL,
	  P "NOQUEUE: rule=sender-address action=drop-connection value=1 "
	  "limit=0 stage=mail " CLIENT " from=<a@evil.test> mode=monitor "
	  "detail=\"a@evil.test\"\n" },
	{ "sender-address, client exempt from the rule",
	  "rule sender-address { patterns = { 'evil' } action = reject "
	  "exempt-clients = { \"192.0.2.0/24\" } }\n", SMFIS_CONTINUE,
	  "<a@evil.test>", 0, NULL, SMFIS_CONTINUE, 1, NULL, SMFIS_CONTINUE,
	  NULL, "" },
	/* mail-relay (SPEC 4.2): each RCPT's domain against domains. */
	{ "mail-relay: a domain not listed is refused at RCPT",
	  "rule mail-relay { domains = { \"d.test\", \".example.test\" } "
	  "action = reject }\n", SMFIS_CONTINUE,
	  "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 2, "<u@other.test>",
	  SMFIS_REJECT, "550 5.7.1 Message refused by policy (mail-relay)",
	  P "QID1: rule=mail-relay action=reject value=1 limit=0 stage=rcpt "
	  CLIENT " from=<a@d.test> rcpt=<u@other.test> detail=\"other.test\"\n" },
	{ "mail-relay: subdomains, case and a trailing dot pass",
	  "rule mail-relay { domains = { \"d.test\", \".example.test\" } "
	  "action = reject }\n", SMFIS_CONTINUE,
	  "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 2, "<u@A.Example.TEST.>",
	  SMFIS_CONTINUE, NULL, "" },
	{ "mail-relay: a local recipient without a domain passes",
	  "rule mail-relay { domains = { \"example.test\" } "
	  "action = reject }\n", SMFIS_CONTINUE,
	  "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 1, "<Postmaster>",
	  SMFIS_CONTINUE, NULL, "" },
	/* a quoted @: Postfix (resolve_dequoted_address) may route it by
	 * the local part, so it fires whatever the domain */
	{ "mail-relay: a quoted @ in the local part fires",
	  "rule mail-relay { domains = { \"d.test\" } action = reject }\n",
	  SMFIS_CONTINUE, "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 1,
	  "<\"u@evil.test\"@d.test>", SMFIS_REJECT,
	  "550 5.7.1 Message refused by policy (mail-relay)",
	  P "QID1: rule=mail-relay action=reject value=1 limit=0 stage=rcpt "
	  CLIENT " from=<a@d.test> rcpt=<\\x22u@evil.test\\x22@d.test> "
	  "detail=\"\\x22u@evil.test\\x22@d.test\"\n" },
	{ "mail-relay: a percent hack before a listed domain fires",
	  "rule mail-relay { domains = { \"d.test\" } action = reject }\n",
	  SMFIS_CONTINUE, "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 1,
	  "<u%evil.test@d.test>", SMFIS_REJECT,
	  "550 5.7.1 Message refused by policy (mail-relay)",
	  P "QID1: rule=mail-relay action=reject value=1 limit=0 stage=rcpt "
	  CLIENT " from=<a@d.test> rcpt=<u%evil.test@d.test> "
	  "detail=\"u%evil.test@d.test\"\n" },
	{ "mail-relay: a percent hack without a domain fires",
	  "rule mail-relay { domains = { \"d.test\" } action = tempfail }\n",
	  SMFIS_CONTINUE, "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 1,
	  "<u%evil.test>", SMFIS_TEMPFAIL,
	  "451 4.7.1 Message refused by policy (mail-relay)",
	  P "QID1: rule=mail-relay action=tempfail value=1 limit=0 stage=rcpt "
	  CLIENT " from=<a@d.test> rcpt=<u%evil.test> detail=\"u%evil.test\"\n" },
	{ "mail-relay, action log: the recipient passes",
	  "rule mail-relay { domains = { \"d.test\" } action = log }\n",
	  SMFIS_CONTINUE, "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 1,
	  "<u@other.test>", SMFIS_CONTINUE, NULL,
	  P "QID1: rule=mail-relay action=log value=1 limit=0 stage=rcpt "
	  CLIENT " from=<a@d.test> rcpt=<u@other.test> detail=\"other.test\"\n" },
	{ "mail-relay, asa drops", "profile = asa\n"
	  "rule mail-relay { domains = { \"d.test\" } action = drop-connection }\n",
	  SMFIS_CONTINUE, "<a@d.test>", 0, NULL, SMFIS_CONTINUE, 1,
	  "<u@other.test>", SMFIS_TEMPFAIL,
	  "421 4.7.0 Message refused by policy (mail-relay)",
	  P "QID1: rule=mail-relay action=drop-connection value=1 limit=0 "
	  "stage=rcpt " CLIENT " from=<a@d.test> rcpt=<u@other.test> "
	  "detail=\"other.test\"\n" },
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
	    P "NOQUEUE: rule=rcpt-count action=tempfail value=4 limit=2 "
	    "stage=rcpt " CLIENT " from=<a@d.test> rcpt=<u3@d.test>\n"
	    P "NOQUEUE: rule=rcpt-count action=tempfail value=5 limit=2 "
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

/* IPv6 clients as they are; an IPv4-mapped one as IPv4, as the shim logs it. */
Test(milter, ipv6_clients)
{
	static const struct {
		char	name[16];
		const char *addr;
		unsigned short port;
		const char *client;
	} v6rows[] = {
		{ "v6.test", "2001:db8::1", 25, "client=v6.test[2001:db8::1]:25" },
		{ "m.test", "::ffff:192.0.2.9", 2525, "client=m.test[192.0.2.9]:2525" },
	};
	struct sockaddr_in6 sin6;
	char	name[16], want[256], *log;
	SMFICTX *ctx;
	size_t	i;

	for (i = 0; i < sizeof(v6rows) / sizeof(v6rows[0]); i++) {
		ctx = stub_ctx_new();
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(v6rows[i].port);
		(void)inet_pton(AF_INET6, v6rows[i].addr, &sin6.sin6_addr);
		memcpy(name, v6rows[i].name, sizeof(name));
		load_conf("");
		capture_begin();
		cr_assert_eq(milter_connect(ctx, name, (struct sockaddr *)&sin6),
		    SMFIS_CONTINUE);
		stub_set_macro(ctx, "i", "4BxQ2m1Vz9");
		cr_assert_eq(do_mail(ctx, "<a`@d.test>"), SMFIS_REJECT);
		log = capture_end();
		(void)snprintf(want, sizeof(want), P "4BxQ2m1Vz9: "
		    "rule=address-characters action=reject value=1 limit=0 "
		    "stage=mail %s from=<a`@d.test> detail=\"`\"\n",
		    v6rows[i].client);
		cr_expect_str_eq(log, want, "row %zu", i);
		milter_close(ctx);
		free(log);
		stub_ctx_free(ctx);
	}
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
	/* No configuration installed: every content step is asked for. */
	cr_expect_eq(pf1, SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_SKIP);
	cr_expect_eq(pf2, 0);
	cr_expect_eq(pf3, 0);
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_ENVFROM), "i");
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_ENVRCPT), "i");
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_EOM), "");
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_DATA), "");
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_EOH), "i");
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_CONNECT), "");
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_HELO), "");
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	stub_ctx_free(ctx);

	/* An old MTA: no skip flags, no macro lists; ask for nothing it lacks. */
	ctx = stub_ctx_new();
	cr_assert_eq(milter_negotiate(ctx, 0x3f, SMFIP_NOHELO, 0, 0, &pf0,
	    &pf1, &pf2, &pf3), SMFIS_CONTINUE);
	cr_expect_eq(pf0, 0);
	cr_expect_eq(pf1, SMFIP_NOHELO);
	cr_expect_str_eq(stub_symlist(ctx, SMFIM_ENVFROM), "");
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	stub_ctx_free(ctx);
}

Test(milter, description)
{
	cr_expect_str_eq(milter_desc.xxfi_name, "esmtp-inspect");
	cr_expect_eq(milter_desc.xxfi_version, SMFI_VERSION);
	cr_expect_eq(milter_desc.xxfi_flags, 0);
	cr_expect_eq(milter_desc.xxfi_header, milter_header);
	cr_expect_eq(milter_desc.xxfi_eoh, milter_eoh);
	cr_expect_eq(milter_desc.xxfi_body, milter_body);
	cr_expect_null(milter_desc.xxfi_helo);
	cr_expect_null(milter_desc.xxfi_data);
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

/* ---- content rules (issue 4) ------------------------------------------ */

#define QCLIENT		CLIENT " from=<a@d.test>"
#define MAXH		8
#define MAXB		4

/*
 * ${s} with every "@N:text@" replaced by N copies of text (text has no
 * '@'); any other '@' is literal.  Caller frees.
 */
static char *
rep(const char *s)
{
	size_t	cap = strlen(s) + 1, n, i, tl;
	const char *p, *colon, *end;
	char   *out, *o;

	/* First pass: size. */
	for (p = s; *p != '\0'; p++) {
		if (*p == '@' && p[1] >= '0' && p[1] <= '9' &&
		    (colon = strchr(p + 1, ':')) != NULL &&
		    (size_t)(colon - p - 1) == strspn(p + 1, "0123456789") &&
		    (end = strchr(colon + 1, '@')) != NULL) {
			n = strtoul(p + 1, NULL, 10);
			cap += n * (size_t)(end - colon - 1);
			p = end;
		}
	}
	o = out = malloc(cap);
	cr_assert(out != NULL);
	for (p = s; *p != '\0'; p++) {
		if (*p == '@' && p[1] >= '0' && p[1] <= '9' &&
		    (colon = strchr(p + 1, ':')) != NULL &&
		    (size_t)(colon - p - 1) == strspn(p + 1, "0123456789") &&
		    (end = strchr(colon + 1, '@')) != NULL) {
			n = strtoul(p + 1, NULL, 10);
			tl = (size_t)(end - colon - 1);
			for (i = 0; i < n; i++, o += tl)
				memcpy(o, colon + 1, tl);
			p = end;
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return (out);
}

static const char *
ret_word(sfsistat r)
{

	switch (r) {
	case SMFIS_CONTINUE:	return ("continue");
	case SMFIS_REJECT:	return ("reject");
	case SMFIS_TEMPFAIL:	return ("tempfail");
	case SMFIS_ACCEPT:	return ("accept");
	case SMFIS_SKIP:	return ("skip");
	case SMFIS_DISCARD:	return ("discard");
	case SMFIS_NOREPLY:	return ("noreply");
	default:		return ("other");
	}
}

/* Offered by the MTA in the tests: every skip step plus the extensions. */
#define ALLSTEPS	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | \
	SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | \
	SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_RCPT_REJ)

struct crow {
	const char *name;
	const char *conf;
	int	no_leadspc;		/* the MTA does not offer SMFIP_HDR_LEADSPC */
	int	no_skip;		/* the MTA does not offer SMFIP_SKIP */
	const char *hdr[MAXH][2];	/* name, value (with its leading space) */
	const char *body[MAXB];		/* chunks */
	const char *trace;		/* "eoh=reject b1=skip ...": non-continue answers
					 * of an MTA without no-reply steps */
	const char *reply;		/* or NULL */
	const char *log;
};

#define STD_HDRS(...)	{ { "From", " <a@d.test>" }, { "To", " <u1@d.test>" }, __VA_ARGS__ }
#define DKIM_SIG(h)	" v=1; a=rsa-sha256; c=relaxed/relaxed; d=d.test;\n\t" \
	"s=sel; h=" h "; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n\t" \
	"b=dGVzdA=="
/* A multipart message whose attachment name is given as ${params}. */
#define MP_HDRS		{ { "From", " <a@d.test>" }, { "MIME-Version", " 1.0" }, \
	{ "Content-Type", " multipart/mixed;\n\tboundary=\"=b1\"" } }
#define MP_BODY(params)	{ "preamble\r\n--=b1\r\nContent-Type: text/plain\r\n\r\n" \
	"hi\r\n--=b1\r\nContent-Type: application/octet-stream\r\n" \
	"Content-Disposition: attachment;\r\n" params "\r\n\r\nAAAA\r\n", \
	"--=b1--\r\nepilogue\r\n" }
/* 128 x U+00E9 = 256 octets of UTF-8, in two RFC 2231 continuations. */
#define E64		"@64:%C3%A9@"
#define LOGE100		"@100:\\xc3\\xa9@..."

static const struct crow crows[] = {
	{ "header line 998 with name passes", "", 0, 0,
	  STD_HDRS({ "X-Long", " @990:a@" }), { "hi\r\n" }, "", NULL, "" },
	{ "header line 999 with name rejected", "", 0, 0,
	  STD_HDRS({ "X-Long", " @991:a@" }), { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (header-line-length)",
	  P "QID1: rule=header-line-length action=reject value=999 limit=998 "
	  "stage=header " QCLIENT " header=X-Long\n" },
	{ "header 999 asa drops", "profile = asa\n", 0, 0,
	  STD_HDRS({ "X-Long", " @991:a@" }), { "hi\r\n" }, "eoh=tempfail",
	  "421 4.7.0 Message refused by policy (header-line-length)",
	  P "QID1: rule=header-line-length action=drop-connection value=999 "
	  "limit=998 stage=header " QCLIENT " header=X-Long\n" },
	{ "header 999 without SMFIP_HDR_LEADSPC: one space assumed", "", 1, 0,
	  STD_HDRS({ "X-Long", "@991:a@" }), { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (header-line-length)",
	  P "QID1: rule=header-line-length action=reject value=999 limit=998 "
	  "stage=header " QCLIENT " header=X-Long\n" },
	{ "header 998 without SMFIP_HDR_LEADSPC passes", "", 1, 0,
	  STD_HDRS({ "X-Long", "@990:a@" }), { "hi\r\n" }, "", NULL, "" },
	{ "folded header, continuation of 999", "", 0, 0,
	  STD_HDRS({ "X-F", " a\n @998:c@\n b" }), { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (header-line-length)",
	  P "QID1: rule=header-line-length action=reject value=999 limit=998 "
	  "stage=header " QCLIENT " header=X-F\n" },
	{ "folded header, CRLF, continuation of 998 passes", "", 0, 0,
	  STD_HDRS({ "X-F", " @990:a@\r\n @997:c@" }), { "hi\r\n" }, "",
	  NULL, "" },
	{ "two long headers, action log: once per message",
	  "rule header-line-length { action = log limit = 10 }\n", 0, 0,
	  { { "To", " <u@t>" }, { "Subject", " a long subject" },
	    { "X-Other", " another long one" } }, { "hi\r\n" }, "", NULL,
	  P "QID1: rule=header-line-length action=log value=23 limit=10 "
	  "stage=header " QCLIENT " header=Subject\n" },
	{ "header 999 monitor", "mode = monitor\n", 0, 0,
	  STD_HDRS({ "X-Long", " @991:a@" }), { "hi\r\n" }, "", NULL,
	  P "QID1: rule=header-line-length action=reject value=999 limit=998 "
	  "stage=header " QCLIENT " header=X-Long mode=monitor\n" },
	{ "header 999, log = no", "rule header-line-length { log = no }\n", 0, 0,
	  STD_HDRS({ "X-Long", " @991:a@" }), { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (header-line-length)", "" },
	{ "header 999, client exempt from the rule",
	  "rule header-line-length { exempt-clients = { \"192.0.2.1\" } }\n",
	  0, 0, STD_HDRS({ "X-Long", " @991:a@" }), { "hi\r\n" }, "", NULL,
	  "" },
	{ "header name escaped", "rule header-line-length { limit = 5 }\n", 0, 0,
	  { { "X-\"q\"", " 1" } }, { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (header-line-length)",
	  P "QID1: rule=header-line-length action=reject value=8 limit=5 "
	  "stage=header " QCLIENT " header=X-\\x22q\\x22\n" },

	{ "body line 998 passes", "rule body-line-length { action = reject }\n",
	  0, 0, STD_HDRS({ NULL }), { "@998:x@\r\nend\r\n" }, "", NULL, "" },
	{ "body line 999 across chunks rejected",
	  "rule body-line-length { action = reject }\n", 0, 0,
	  STD_HDRS({ NULL }), { "short\r\n@500:x@", "@499:x@", "\r\nend\r\n" },
	  "b3=reject",
	  "550 5.7.1 Message refused by policy (body-line-length)",
	  P "QID1: rule=body-line-length action=reject value=999 limit=998 "
	  "stage=body " QCLIENT "\n" },
	{ "body line CRLF split across chunks",
	  "rule body-line-length { action = reject }\n", 0, 0,
	  STD_HDRS({ NULL }), { "@998:x@\r", "\n@998:y@\r", "\nend\r\n" }, "",
	  NULL, "" },
	{ "body lines, default log: once, then SKIP when MIME is off",
	  "rule mime-filename-length { action = none }\n"
	  "rule mime-structure { action = none }\n", 0, 0,
	  STD_HDRS({ NULL }), { "@1000:x@\r\n@2000:y@\r\n", "more\r\n" },
	  "b1=skip", NULL,
	  P "QID1: rule=body-line-length action=log value=1000 limit=998 "
	  "stage=body " QCLIENT "\n" },
	/* A body that is not MIME: nothing for the MIME rules to find. */
	{ "body lines, default log, MIME on, plain body: SKIP once fired",
	  "", 0, 0,
	  STD_HDRS({ NULL }), { "@1000:x@\r\n@2000:y@\r\n", "more\r\n" },
	  "b1=skip", NULL,
	  P "QID1: rule=body-line-length action=log value=1000 limit=998 "
	  "stage=body " QCLIENT "\n" },
	{ "no SKIP when the MTA does not offer it",
	  "rule mime-filename-length { action = none }\n", 0, 1,
	  STD_HDRS({ NULL }), { "@1000:x@\r\n", "more\r\n" }, "", NULL,
	  P "QID1: rule=body-line-length action=log value=1000 limit=998 "
	  "stage=body " QCLIENT "\n" },
	{ "body rules off: SKIP at once",
	  "rule body-line-length { action = none }\n"
	  "rule mime-filename-length { action = none }\n"
	  "rule mime-structure { action = none }\n", 0, 0,
	  STD_HDRS({ NULL }), { "@1000:x@\r\n", "more\r\n" }, "b1=skip", NULL,
	  "" },
	{ "unterminated last body line, measured at end of message",
	  "rule body-line-length { action = reject }\n", 0, 0,
	  STD_HDRS({ NULL }), { "ok\r\n@999:x@" }, "eom=reject",
	  "550 5.7.1 Message refused by policy (body-line-length)",
	  P "QID1: rule=body-line-length action=reject value=999 limit=998 "
	  "stage=body " QCLIENT "\n" },
	{ "body line monitor",
	  "mode = monitor\nrule body-line-length { action = drop-connection }\n",
	  0, 0, STD_HDRS({ NULL }), { "@999:x@\r\n" }, "b1=skip", NULL,
	  P "QID1: rule=body-line-length action=drop-connection value=999 "
	  "limit=998 stage=body " QCLIENT " mode=monitor\n" },

	{ "duplicate From rejected at EOH", "", 0, 0,
	  { { "From", " <a@d.test>" }, { "To", " <u1@d.test>" },
	    { "From", " <ceo@victim.test>" } }, { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (duplicate-header)",
	  P "QID1: rule=duplicate-header action=reject value=2 limit=1 "
	  "stage=eoh " QCLIENT " header=from\n" },
	{ "duplicate From, \"From \" and case variants", "", 0, 0,
	  { { "To", " <u1@d.test>" }, { "From ", " <a@d.test>" },
	    { "FROM", " <b@d.test>" }, { "from\t", " <c@d.test>" },
	    { "Subject", " one" }, { "subject", " two" } }, { "hi\r\n" },
	  "eoh=reject",
	  "550 5.7.1 Message refused by policy (duplicate-header)",
	  P "QID1: rule=duplicate-header action=reject value=3 limit=1 "
	  "stage=eoh " QCLIENT " header=from\n"
	  P "QID1: rule=duplicate-header action=reject value=2 limit=1 "
	  "stage=eoh " QCLIENT " header=subject\n" },
	{ "duplicate From, asa profile: rule off", "profile = asa\n", 0, 0,
	  { { "From", " <a@d.test>" }, { "From", " <b@d.test>" } },
	  { "hi\r\n" }, "", NULL, "" },
	{ "duplicate listed header only",
	  "rule duplicate-header { headers = { \"X-Tag\" } }\n", 0, 0,
	  { { "From", " <a@d.test>" }, { "From", " <b@d.test>" },
	    { "x-tag", " 1" }, { "X-TAG", " 2" } }, { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (duplicate-header)",
	  P "QID1: rule=duplicate-header action=reject value=2 limit=1 "
	  "stage=eoh " QCLIENT " header=x-tag\n" },
	{ "DKIM h=from with two From rejected",
	  "rule duplicate-header { action = none }\n", 0, 0,
	  { { "DKIM-Signature", DKIM_SIG("from : to") },
	    { "From", " <ceo@victim.test>" }, { "From", " <a@d.test>" },
	    { "To", " <u1@d.test>" } }, { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (dkim-unsigned-duplicate)",
	  P "QID1: rule=dkim-unsigned-duplicate action=reject value=2 limit=1 "
	  "stage=eoh " QCLIENT " header=from\n" },
	{ "DKIM and duplicate-header both fire: tie to the first rule", "", 0, 0,
	  { { "DKIM-Signature", DKIM_SIG("From:To") },
	    { "From", " <ceo@victim.test>" }, { "From", " <a@d.test>" },
	    { "To", " <u1@d.test>" } }, { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (duplicate-header)",
	  P "QID1: rule=duplicate-header action=reject value=2 limit=1 "
	  "stage=eoh " QCLIENT " header=from\n"
	  P "QID1: rule=dkim-unsigned-duplicate action=reject value=2 limit=1 "
	  "stage=eoh " QCLIENT " header=from\n" },
	{ "DKIM oversigned h=from:from passes",
	  "rule duplicate-header { action = none }\n", 0, 0,
	  { { "DKIM-Signature", DKIM_SIG("from:from:to:to") },
	    { "From", " <a@d.test>" }, { "From", " <b@d.test>" },
	    { "To", " <u1@d.test>" } }, { "hi\r\n" }, "", NULL, "" },
	{ "DKIM h= names are not headers; Received not reported", "", 0, 0,
	  { { "Received", " from a" }, { "Received", " from b" },
	    { "DKIM-Signature", DKIM_SIG("received:from:to:subject:from") },
	    { "From", " <a@d.test>" }, { "To", " <u1@d.test>" } },
	  { "hi\r\n" }, "", NULL, "" },
	{ "DKIM unsigned duplicate monitor", "mode = monitor\n"
	  "rule duplicate-header { action = none }\n", 0, 0,
	  { { "DKIM-Signature", DKIM_SIG("from") },
	    { "From", " <ceo@victim.test>" }, { "From", " <a@d.test>" } },
	  { "hi\r\n" }, "", NULL,
	  P "QID1: rule=dkim-unsigned-duplicate action=reject value=2 limit=1 "
	  "stage=eoh " QCLIENT " header=from mode=monitor\n" },

	{ "attachment name 256 octets (RFC 2231) rejected", "", 0, 0,
	  MP_HDRS, MP_BODY(" filename*0*=UTF-8''" E64 ";\r\n filename*1*=" E64),
	  "b1=reject",
	  "550 5.7.1 Message refused by policy (mime-filename-length)",
	  P "QID1: rule=mime-filename-length action=reject value=256 limit=255 "
	  "stage=body " QCLIENT " detail=\"" LOGE100 "\"\n" },
	{ "attachment name 255 octets passes", "", 0, 0,
	  MP_HDRS, MP_BODY(" filename*0*=UTF-8''" E64 ";\r\n filename*1*="
	  "@63:%C3%A9@a"), "", NULL, "" },
	{ "attachment name 256, asa", "profile = asa\n", 0, 0,
	  MP_HDRS, MP_BODY(" filename*0*=UTF-8''" E64 ";\r\n filename*1*=" E64),
	  "b1=tempfail",
	  "421 4.7.0 Message refused by policy (mime-filename-length)",
	  P "QID1: rule=mime-filename-length action=drop-connection value=256 "
	  "limit=255 stage=body " QCLIENT " detail=\"" LOGE100 "\"\n" },
	{ "attachment name, log: once, then SKIP",
	  "rule mime-filename-length { action = log limit = 3 }\n"
	  "rule mime-structure { action = none }\n"
	  "rule body-line-length { action = none }\n", 0, 0,
	  MP_HDRS, MP_BODY(" filename=\"abcd.txt\"; name=\"efgh.txt\""),
	  "b1=skip", NULL,
	  P "QID1: rule=mime-filename-length action=log value=8 limit=3 "
	  "stage=body " QCLIENT " detail=\"abcd.txt\"\n" },
	{ "top-level attachment name: held for the body stage", "", 0, 0,
	  { { "From", " <a@d.test>" }, { "MIME-Version", " 1.0" },
	    { "Content-Type", " application/pdf;\n name=\"@300:a@.pdf\"" },
	    { "Content-Disposition", " attachment; filename=\"x.pdf\"" } },
	  { "JVBERi0=\r\n" }, "b1=reject",
	  "550 5.7.1 Message refused by policy (mime-filename-length)",
	  P "QID1: rule=mime-filename-length action=reject value=304 limit=255 "
	  "stage=body " QCLIENT " detail=\"@200:a@...\"\n" },
	{ "top-level attachment name, no body: decided at end of message", "",
	  0, 0,
	  { { "From", " <a@d.test>" }, { "MIME-Version", " 1.0" },
	    { "Content-Type", " application/pdf; name=\"@252:b@.pdf\"" } },
	  { NULL }, "eom=reject",
	  "550 5.7.1 Message refused by policy (mime-filename-length)",
	  P "QID1: rule=mime-filename-length action=reject value=256 limit=255 "
	  "stage=body " QCLIENT " detail=\"@200:b@...\"\n" },
	{ "two top-level Content-Types: mime-structure, held for the body", "",
	  0, 0,
	  { { "From", " <a@d.test>" }, { "MIME-Version", " 1.0" },
	    { "Content-Type", " text/plain" },
	    { "Content-Type", " multipart/mixed; boundary=b" } },
	  { "--b\r\n\r\nx\r\n" }, "b1=reject",
	  "550 5.7.1 Message refused by policy (mime-structure)",
	  P "QID1: rule=mime-structure action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"Content-Type twice in one header\"\n" },
	{ "both MIME rules from the top-level header, no body: SPEC order", "",
	  0, 0,
	  { { "From", " <a@d.test>" }, { "MIME-Version", " 1.0" },
	    { "Content-Transfer-Encoding", " base64" },
	    { "Content-Transfer-Encoding", " 7bit" },
	    { "Content-Type", " application/pdf; name=\"@256:c@\"" } },
	  { NULL }, "eom=reject",
	  "550 5.7.1 Message refused by policy (mime-filename-length)",
	  P "QID1: rule=mime-filename-length action=reject value=256 limit=255 "
	  "stage=body " QCLIENT " detail=\"@200:c@...\"\n"
	  P "QID1: rule=mime-structure action=reject value=1 limit=0 "
	  "stage=body " QCLIENT
	  " detail=\"Content-Transfer-Encoding twice in one header\"\n" },
	{ "mime-structure logged in monitor mode, nothing refused",
	  "mode = monitor\n", 0, 0,
	  { { "From", " <a@d.test>" },
	    { "Content-Type", " message/rfc822" },
	    { "Content-Transfer-Encoding", " base64" } },
	  { "U3ViamVjdDogeA0KDQp4DQo=\r\n" }, "", NULL,
	  P "QID1: rule=mime-structure action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " mode=monitor detail=\"encoded message part\"\n" },
	{ "both MIME rules in the body: the reply is the first in table order",
	  "", 0, 0, MP_HDRS,
	  MP_BODY(" filename=a\r\nContent-Disposition: attachment;"
	  " filename=\"@300:d@\""), "b1=reject",
	  "550 5.7.1 Message refused by policy (mime-filename-length)",
	  P "QID1: rule=mime-structure action=reject value=1 limit=0 "
	  "stage=body " QCLIENT
	  " detail=\"Content-Disposition twice in one header\"\n"
	  P "QID1: rule=mime-filename-length action=reject value=300 limit=255 "
	  "stage=body " QCLIENT " detail=\"@200:d@...\"\n" },
	{ "MIME-looking text in a plain body is not a part", "", 0, 0,
	  STD_HDRS({ NULL }),
	  { "Content-Disposition: attachment; filename=\"@300:a@\"\r\n" },
	  "", NULL, "" },
	/* header-length: From 18 + To 17 octets, CRLFs included. */
	{ "header-length 35 at limit 35 passes",
	  "rule header-length { limit = 35 action = reject }\n", 0, 0,
	  STD_HDRS({ NULL }), { "hi\r\n" }, "", NULL, "" },
	{ "header-length 35 over 34 refused at end of headers",
	  "rule header-length { limit = 34 action = reject }\n", 0, 0,
	  STD_HDRS({ NULL }), { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (header-length)",
	  P "QID1: rule=header-length action=reject value=35 limit=34 "
	  "stage=eoh " QCLIENT "\n" },
	{ "header-length: a folded field's LF counts as CRLF",
	  "rule header-length { limit = 46 action = reject }\n", 0, 0,
	  STD_HDRS({ "X-F", " a\n b" }), { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (header-length)",
	  P "QID1: rule=header-length action=reject value=47 limit=46 "
	  "stage=eoh " QCLIENT "\n" },
	{ "header-length: ... and CRLF as CRLF",
	  "rule header-length { limit = 46 action = reject }\n", 0, 0,
	  STD_HDRS({ "X-F", " a\r\n b" }), { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (header-length)",
	  P "QID1: rule=header-length action=reject value=47 limit=46 "
	  "stage=eoh " QCLIENT "\n" },
	{ "header-length without SMFIP_HDR_LEADSPC: one space assumed",
	  "rule header-length { limit = 34 action = reject }\n", 1, 0,
	  { { "From", "<a@d.test>" }, { "To", "<u1@d.test>" } }, { "hi\r\n" },
	  "eoh=reject", "550 5.7.1 Message refused by policy (header-length)",
	  P "QID1: rule=header-length action=reject value=35 limit=34 "
	  "stage=eoh " QCLIENT "\n" },
	{ "header-length in a big header, asa drops",
	  "profile = asa\nrule header-length { limit = 65536 "
	  "action = drop-connection }\n", 0, 0,
	  STD_HDRS({ "X-A", " @33000:a@" }, { "X-B", " @33000:b@" }),
	  { "hi\r\n" }, "eoh=tempfail",
	  "421 4.7.0 Message refused by policy (header-line-length)",
	  P "QID1: rule=header-line-length action=drop-connection "
	  "value=33005 limit=998 stage=header " QCLIENT " header=X-A\n" },
	{ "header-length alone in a big header",
	  "rule header-line-length { action = none }\n"
	  "rule header-length { limit = 65536 action = reject }\n", 0, 0,
	  STD_HDRS({ "X-A", " @33000:a@" }, { "X-B", " @33000:b@" }),
	  { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (header-length)",
	  P "QID1: rule=header-length action=reject value=66049 limit=65536 "
	  "stage=eoh " QCLIENT "\n" },
	{ "header-length monitor", "mode = monitor\n"
	  "rule header-length { limit = 34 action = reject }\n", 0, 0,
	  STD_HDRS({ NULL }), { "hi\r\n" }, "", NULL,
	  P "QID1: rule=header-length action=reject value=35 limit=34 "
	  "stage=eoh " QCLIENT " mode=monitor\n" },
	/* header-to-count: To fields, not names in values. */
	{ "header-to-count: three To fields over 2",
	  "rule header-to-count { limit = 2 action = reject }\n"
	  "rule duplicate-header { action = none }\n", 0, 0,
	  { { "To", " <u1@d.test>" }, { "to ", " <u2@d.test>" },
	    { "Resent-To", " <u3@d.test>" }, { "X-Note", " To: <u4@d.test>" },
	    { "TO", " <u5@d.test>" } }, { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (header-to-count)",
	  P "QID1: rule=header-to-count action=reject value=3 limit=2 "
	  "stage=eoh " QCLIENT "\n" },
	{ "header-to-count: three To fields at limit 3 pass",
	  "rule header-to-count { limit = 3 action = reject }\n"
	  "rule duplicate-header { action = none }\n", 0, 0,
	  { { "To", " <u1@d.test>" }, { "to ", " <u2@d.test>" },
	    { "TO", " <u5@d.test>" } }, { "hi\r\n" }, "", NULL, "" },
	{ "header-to-count default limit 1, action log: two To",
	  "rule header-to-count { action = log }\n", 0, 0,
	  STD_HDRS({ "To", " <u2@d.test>" }), { "hi\r\n" }, "eoh=reject",
	  "550 5.7.1 Message refused by policy (duplicate-header)",
	  P "QID1: rule=header-to-count action=log value=2 limit=1 "
	  "stage=eoh " QCLIENT "\n"
	  P "QID1: rule=duplicate-header action=reject value=2 limit=1 "
	  "stage=eoh " QCLIENT " header=to\n" },
	/* body-length: every octet as passed, decided at end of message. */
	{ "body-length 1002 over 1001, split anywhere",
	  "rule body-length { limit = 1001 action = reject }\n", 0, 0,
	  STD_HDRS({ NULL }), { "@499:x@", "\r\n@499:y@\r", "\n" }, "eom=reject",
	  "550 5.7.1 Message refused by policy (body-length)",
	  P "QID1: rule=body-length action=reject value=1002 limit=1001 "
	  "stage=body " QCLIENT "\n" },
	{ "body-length 1002 over 1001, one chunk",
	  "rule body-length { limit = 1001 action = reject }\n", 0, 0,
	  STD_HDRS({ NULL }), { "@499:x@\r\n@499:y@\r\n" }, "eom=reject",
	  "550 5.7.1 Message refused by policy (body-length)",
	  P "QID1: rule=body-length action=reject value=1002 limit=1001 "
	  "stage=body " QCLIENT "\n" },
	{ "body-length 1002 at limit 1002 passes",
	  "rule body-length { limit = 1002 action = reject }\n", 0, 0,
	  STD_HDRS({ NULL }), { "@499:x@\r\n", "@499:y@\r\n" }, "", NULL, "" },
	{ "body-length alone: the whole body is read, no SKIP",
	  "rule body-line-length { action = none }\n"
	  "rule mime-filename-length { action = none }\n"
	  "rule mime-structure { action = none }\n"
	  "rule body-length { limit = 10 action = tempfail }\n", 0, 0,
	  STD_HDRS({ NULL }), { "12345", "678901" }, "eom=tempfail",
	  "451 4.7.1 Message refused by policy (body-length)",
	  P "QID1: rule=body-length action=tempfail value=11 limit=10 "
	  "stage=body " QCLIENT "\n" },
	{ "body-length log, with body-line-length: both logged once",
	  "rule body-length { limit = 10 action = log }\n", 0, 0,
	  STD_HDRS({ NULL }), { "@1000:x@\r\n", "more\r\n" }, "", NULL,
	  P "QID1: rule=body-line-length action=log value=1000 limit=998 "
	  "stage=body " QCLIENT "\n"
	  P "QID1: rule=body-length action=log value=1008 limit=10 "
	  "stage=body " QCLIENT "\n" },
	/* mime-type: each part's type/subtype against the patterns. */
	{ "mime-type: an attachment's type matches",
	  "rule mime-type { patterns = { '^image/', "
	  "'^application/(octet-stream|x-msdownload)$' } action = reject }\n",
	  0, 0, MP_HDRS, MP_BODY(" filename=a.exe"), "b1=reject",
	  "550 5.7.1 Message refused by policy (mime-type)",
	  P "QID1: rule=mime-type action=reject value=1 limit=0 stage=body "
	  QCLIENT " detail=\"application/octet-stream\"\n" },
	{ "mime-type: no part matches",
	  "rule mime-type { patterns = { '^image/', '^text/html$' } "
	  "action = reject }\n", 0, 0, MP_HDRS, MP_BODY(" filename=a.exe"),
	  "", NULL, "" },
	{ "mime-type: the top level, lower case, no body",
	  "rule mime-type { patterns = { '^text/html$' } action = reject }\n",
	  0, 0, { { "From", " <a@d.test>" },
	  { "Content-Type", " Text/HTML; charset=us-ascii" } }, { NULL },
	  "eom=reject", "550 5.7.1 Message refused by policy (mime-type)",
	  P "QID1: rule=mime-type action=reject value=1 limit=0 stage=body "
	  QCLIENT " detail=\"text/html\"\n" },
	{ "mime-type: a message without Content-Type is text/plain",
	  "rule mime-type { patterns = { '^text/plain$' } action = log }\n",
	  0, 0, STD_HDRS({ NULL }), { "hi\r\n" }, "", NULL,
	  P "QID1: rule=mime-type action=log value=1 limit=0 stage=body "
	  QCLIENT " detail=\"text/plain\"\n" },
	{ "mime-type: the match limit fails closed",
	  "rule mime-type { patterns = { '^text/(a+)+$' } action = reject }\n",
	  0, 0, { { "From", " <a@d.test>" },
	  { "Content-Type", " text/@40:a@b" } }, { "hi\r\n" }, "b1=reject",
	  "550 5.7.1 Message refused by policy (mime-type)",
	  P "QID1: rule=mime-type action=reject value=1 limit=0 stage=body "
	  QCLIENT " detail=\"match limit in pattern 1: text/@40:a@b\"\n" },
	{ "mime-type: a type longer than the scanner holds fails closed",
	  "rule mime-type { patterns = { '^image/' } action = reject }\n",
	  0, 0, { { "From", " <a@d.test>" },
	  { "Content-Type", " application/@300:x@" } }, { "hi\r\n" },
	  "b1=reject", "550 5.7.1 Message refused by policy (mime-type)",
	  P "QID1: rule=mime-type action=reject value=1 limit=0 stage=body "
	  QCLIENT " detail=\"type longer than 255 octets: application/"
	  "@159:x@...\"\n" },
	{ "mime-type monitor: logged, delivered",
	  "mode = monitor\nrule mime-type { patterns = { 'octet' } "
	  "action = reject }\n", 0, 0, MP_HDRS, MP_BODY(" filename=a.exe"),
	  "", NULL,
	  P "QID1: rule=mime-type action=reject value=1 limit=0 stage=body "
	  QCLIENT " mode=monitor detail=\"application/octet-stream\"\n" },
	/* mime-encoding: each part's Content-Transfer-Encoding. */
	{ "mime-encoding: base64 listed, any case",
	  "rule mime-encoding { encodings = { \"base64\" } action = reject }\n",
	  0, 0, { { "From", " <a@d.test>" },
	  { "Content-Type", " application/pdf" },
	  { "Content-Transfer-Encoding", " BASE64" } }, { "QUFB\r\n" },
	  "b1=reject", "550 5.7.1 Message refused by policy (mime-encoding)",
	  P "QID1: rule=mime-encoding action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"BASE64\"\n" },
	{ "mime-encoding: no field is 7bit",
	  "rule mime-encoding { encodings = { \"7bit\" } action = log }\n",
	  0, 0, STD_HDRS({ NULL }), { "hi\r\n" }, "", NULL,
	  P "QID1: rule=mime-encoding action=log value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"7bit\"\n" },
	{ "mime-encoding: others, in a part, escaped",
	  "rule mime-encoding { encodings = { \"others\" } action = reject }\n",
	  0, 0, MP_HDRS,
	  { "--=b1\r\nContent-Transfer-Encoding: x-\"uu\"\r\n\r\nx\r\n--=b1--\r\n" },
	  "b1=reject", "550 5.7.1 Message refused by policy (mime-encoding)",
	  P "QID1: rule=mime-encoding action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"x-\\x22uu\\x22\"\n" },
	{ "mime-encoding: base64 not listed passes",
	  "rule mime-encoding { encodings = { \"quoted-printable\", \"8bit\" } "
	  "action = reject }\n", 0, 0, { { "From", " <a@d.test>" },
	  { "Content-Transfer-Encoding", " base64" } }, { "QUFB\r\n" }, "",
	  NULL, "" },
	/* Issue 19 review: evasions of mime-type and mime-encoding. */
	{ "mime-encoding: an RFC 2047 encoding at top level, as GMime decodes it",
	  "rule mime-encoding { encodings = { \"base64\" } action = reject }\n",
	  0, 0, { { "From", " <a@d.test>" },
	  { "Content-Transfer-Encoding", " =?us-ascii?q?base64?=" } },
	  { "QUFB\r\n" },
	  "b1=reject", "550 5.7.1 Message refused by policy (mime-structure)",
	  P "QID1: rule=mime-structure action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"Content-Transfer-Encoding changed "
	  "by RFC 2047 decoding\"\n"
	  P "QID1: rule=mime-encoding action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"Content-Transfer-Encoding changed "
	  "by RFC 2047 decoding\"\n" },
	{ "mime-encoding: an RFC 2047 encoding in a part, mime-structure off",
	  "rule mime-structure { action = none }\n"
	  "rule mime-encoding { encodings = { \"base64\" } action = reject }\n",
	  0, 0, MP_HDRS,
	  { "--=b1\r\nContent-Transfer-Encoding: =?us-ascii?q?base64?=\r\n"
	  "\r\nQUFB\r\n--=b1--\r\n" },
	  "b1=reject", "550 5.7.1 Message refused by policy (mime-encoding)",
	  P "QID1: rule=mime-encoding action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"Content-Transfer-Encoding changed "
	  "by RFC 2047 decoding\"\n" },
	{ "mime-type: two Content-Types, profile asa: fails closed",
	  "profile = asa\nrule mime-type { patterns = { "
	  "'^application/x-msdownload$' } action = reject }\n",
	  0, 0, MP_HDRS,
	  { "--=b1\r\nContent-Type: application/x-msdownload; "
	  "name=\"setup.exe\"\r\nContent-Type: text/plain\r\n\r\n"
	  "x\r\n--=b1--\r\n" },
	  "b1=reject", "550 5.7.1 Message refused by policy (mime-type)",
	  P "QID1: rule=mime-type action=reject value=1 limit=0 stage=body "
	  QCLIENT " detail=\"Content-Type twice in one header\"\n" },
	{ "mime-encoding: two encodings, profile asa: fails closed",
	  "profile = asa\n"
	  "rule mime-encoding { encodings = { \"base64\" } action = reject }\n",
	  0, 0, MP_HDRS,
	  { "--=b1\r\nContent-Transfer-Encoding: 7bit\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\nQUFB\r\n--=b1--\r\n" },
	  "b1=reject", "550 5.7.1 Message refused by policy (mime-encoding)",
	  P "QID1: rule=mime-encoding action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"Content-Transfer-Encoding twice "
	  "in one header\"\n" },
	{ "mime-encoding: base64; as Thunderbird reads it",
	  "rule mime-encoding { encodings = { \"base64\" } action = reject }\n",
	  0, 0, MP_HDRS,
	  { "--=b1\r\nContent-Transfer-Encoding: base64;\r\n\r\nQUFB\r\n"
	  "--=b1--\r\n" },
	  "b1=reject", "550 5.7.1 Message refused by policy (mime-encoding)",
	  P "QID1: rule=mime-encoding action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"base64;\"\n" },
	{ "mime-encoding: base64,x at top level",
	  "rule mime-encoding { encodings = { \"base64\" } action = reject }\n",
	  0, 0, { { "From", " <a@d.test>" },
	  { "Content-Transfer-Encoding", " base64,x" } }, { "QUFB\r\n" },
	  "b1=reject", "550 5.7.1 Message refused by policy (mime-encoding)",
	  P "QID1: rule=mime-encoding action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"base64,x\"\n" },
	{ "mime-encoding: others still sees GMime's reading of base64;",
	  "rule mime-encoding { encodings = { \"others\" } action = log }\n",
	  0, 0, { { "From", " <a@d.test>" },
	  { "Content-Transfer-Encoding", " base64;" } }, { "QUFB\r\n" },
	  "", NULL,
	  P "QID1: rule=mime-encoding action=log value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"base64;\"\n" },
	{ "mime-type and mime-encoding on one part: both logged",
	  "rule mime-type { patterns = { 'pdf' } action = tempfail }\n"
	  "rule mime-encoding { encodings = { \"base64\" } action = reject }\n",
	  0, 0, { { "From", " <a@d.test>" },
	  { "Content-Type", " application/pdf" },
	  { "Content-Transfer-Encoding", " base64" } }, { "QUFB\r\n" },
	  "b1=reject", "550 5.7.1 Message refused by policy (mime-encoding)",
	  P "QID1: rule=mime-type action=tempfail value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"application/pdf\"\n"
	  P "QID1: rule=mime-encoding action=reject value=1 limit=0 "
	  "stage=body " QCLIENT " detail=\"base64\"\n" },
};

#define NCROWS	(sizeof(crows) / sizeof(crows[0]))

ParameterizedTestParameters(milter, content)
{
	static size_t idx[NCROWS];
	size_t	i;

	for (i = 0; i < NCROWS; i++)
		idx[i] = i;
	return (cr_make_param_array(size_t, idx, NCROWS));
}

/* Append "${what}=${word}" for a non-continue answer. */
static void
trace_add(char *trace, size_t len, const char *what, sfsistat r)
{

	if (r == SMFIS_CONTINUE || r == SMFIS_NOREPLY)
		return;
	(void)snprintf(trace + strlen(trace), len - strlen(trace), "%s%s=%s",
	    trace[0] != '\0' ? " " : "", what, ret_word(r));
}

/* 1 if ${r} ends the message for this milter. */
static int
final(sfsistat r)
{

	return (r == SMFIS_REJECT || r == SMFIS_TEMPFAIL ||
	    r == SMFIS_ACCEPT || r == SMFIS_DISCARD);
}

/*
 * One message through the content callbacks: headers, EOH, body chunks
 * (until SKIP), EOM, as an MTA would send them.  Returns the trace.
 */
static void
run_message(SMFICTX *ctx, const char *const (*hdr)[2],
    const char *const *body, char *trace, size_t tlen)
{
	char	what[16], *n, *v;
	sfsistat r = SMFIS_CONTINUE;
	int	i;

	trace[0] = '\0';
	for (i = 0; i < MAXH && hdr[i][0] != NULL; i++) {
		n = rep(hdr[i][0]);
		v = rep(hdr[i][1]);
		r = milter_header(ctx, n, v);
		free(n);
		free(v);
		(void)snprintf(what, sizeof(what), "h%d", i + 1);
		trace_add(trace, tlen, what, r);
		if (final(r))
			return;
	}
	r = milter_eoh(ctx);
	trace_add(trace, tlen, "eoh", r);
	if (final(r))
		return;
	for (i = 0; i < MAXB && body[i] != NULL; i++) {
		v = rep(body[i]);
		r = milter_body(ctx, (unsigned char *)v, strlen(v));
		free(v);
		(void)snprintf(what, sizeof(what), "b%d", i + 1);
		trace_add(trace, tlen, what, r);
		if (final(r))
			return;
		if (r == SMFIS_SKIP)
			break;
	}
	r = milter_eom(ctx);
	trace_add(trace, tlen, "eom", r);
}

/* The no-reply steps libmilter offers (for an MTA without them too). */
#define NRSTEPS		(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
	SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_HDR | \
	SMFIP_NR_EOH | SMFIP_NR_BODY)

static int with_nr;	/* do_negotiate() offers NRSTEPS */

/* Negotiate as Postfix 3.7 does (less what the row says it lacks); returns the steps asked for. */
static unsigned long
do_negotiate(SMFICTX *ctx, int no_leadspc, int no_skip)
{
	unsigned long pf0, pf1, pf2, pf3;
	unsigned long f1 = ALLSTEPS | (with_nr ? NRSTEPS : 0);

	if (!no_leadspc)
		f1 |= SMFIP_HDR_LEADSPC;
	if (!no_skip)
		f1 |= SMFIP_SKIP;
	cr_assert_eq(milter_negotiate(ctx, 0x1ff, f1, 0, 0, &pf0, &pf1, &pf2,
	    &pf3), SMFIS_CONTINUE);
	return (pf1);
}

/* Connect, MAIL <a@d.test>, RCPT <u1@d.test> with queue id QID1. */
static void
start_message(SMFICTX *ctx)
{

	cr_assert_eq(do_mail(ctx, "<a@d.test>"), SMFIS_CONTINUE);
	stub_set_macro(ctx, "i", "QID1");
	cr_assert_eq(do_rcpt_n(ctx, 1), SMFIS_CONTINUE);
}

/* The answer that ends the message in ${trace} ("" when none does). */
static const char *
final_word(const char *trace)
{
	const char *p = strrchr(trace, '=');

	if (p == NULL || strcmp(p + 1, "skip") == 0)
		return ("");
	return (p + 1);
}

/*
 * Each row twice: with an MTA that has no no-reply steps (the trace of
 * the row), and with the no-reply steps libmilter offers, where headers
 * and body chunks are not answered: the same message ends the same way,
 * with the same reply and the same log lines, at end of headers or end of
 * message (SMFIS_SKIP is not used then).
 */
ParameterizedTest(size_t *ip, milter, content)
{
	const struct crow *row = &crows[*ip];
	SMFICTX *ctx = stub_ctx_new();
	char	trace[256];
	char   *log, *want;

	load_conf(row->conf);
	for (with_nr = 0; with_nr <= 1; with_nr++) {
	capture_begin();
	(void)do_negotiate(ctx, row->no_leadspc, row->no_skip);
	cr_assert_eq(do_connect(ctx), with_nr ? SMFIS_NOREPLY :
	    SMFIS_CONTINUE);
	start_message(ctx);
	run_message(ctx, row->hdr, row->body, trace, sizeof(trace));
	log = capture_end();
	want = rep(row->log);
	if (with_nr) {
		cr_expect_str_eq(final_word(trace), final_word(row->trace),
		    "%s: with no-reply steps: trace \"%s\", want the end of "
		    "\"%s\"", row->name, trace, row->trace);
		/* Headers are never answered; body chunks only with
		 * SKIP, where body rules cannot read the whole body. */
		cr_expect(trace[0] != 'h' && strstr(trace, " h") == NULL &&
		    (strchr(trace, 'b') == NULL ||
		    strstr(trace, "b1=skip") != NULL), "%s: answered a step "
		    "without a reply: %s", row->name, trace);
	} else
		cr_expect_str_eq(trace, row->trace, "%s: trace \"%s\", want "
		    "\"%s\"", row->name, trace, row->trace);
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
	cr_expect_eq(milter_abort(ctx), SMFIS_CONTINUE);
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	cr_expect_null(stub_priv(ctx));
	free(log);
	free(want);
	stub_ctx_free(ctx);
	ctx = stub_ctx_new();
	}
	stub_ctx_free(ctx);
}

/* Every rule fires again in the next message: nothing carries over. */
Test(milter, content_reset_between_messages)
{
	static const char *const long_hdr[MAXH][2] = {
		{ "From", " <a@d.test>" }, { "X-Long", " @991:a@" } };
	static const char *const one_from[MAXH][2] = {
		{ "From", " <a@d.test>" }, { "To", " <u1@d.test>" } };
	static const char *const body[MAXB] = { "@1000:x@\r\n" };
	static const char *const nobody[MAXB] = { NULL };
	SMFICTX *ctx = stub_ctx_new();
	char	trace[256], *log, *want;

	load_conf("rule header-line-length { action = log }\n"
	    "rule body-line-length { action = log }\n");
	capture_begin();
	(void)do_negotiate(ctx, 0, 0);
	cr_assert_eq(do_connect(ctx), SMFIS_CONTINUE);
	/* 1: both fire once; a plain body has nothing more to find. */
	start_message(ctx);
	run_message(ctx, long_hdr, body, trace, sizeof(trace));
	cr_expect_str_eq(trace, "b1=skip");
	/* 2: the same again, after EOM. */
	start_message(ctx);
	run_message(ctx, long_hdr, body, trace, sizeof(trace));
	/* 3: one From only: the counts of 1 and 2 are gone. */
	start_message(ctx);
	run_message(ctx, one_from, nobody, trace, sizeof(trace));
	cr_expect_str_eq(trace, "");
	/* 4: aborted half-way through the headers (one From), then a new message with one From. */
	start_message(ctx);
	cr_expect_eq(milter_header(ctx, (char *)(uintptr_t)"From",
	    (char *)(uintptr_t)" <x@d.test>"), SMFIS_CONTINUE);
	cr_expect_eq(milter_abort(ctx), SMFIS_CONTINUE);
	start_message(ctx);
	run_message(ctx, one_from, nobody, trace, sizeof(trace));
	cr_expect_str_eq(trace, "");
	/* 5: a new MAIL without EOM or abort also starts afresh. */
	start_message(ctx);
	cr_expect_eq(milter_header(ctx, (char *)(uintptr_t)"From",
	    (char *)(uintptr_t)" <x@d.test>"), SMFIS_CONTINUE);
	start_message(ctx);
	run_message(ctx, one_from, nobody, trace, sizeof(trace));
	cr_expect_str_eq(trace, "");
	log = capture_end();
	want = rep(
	    P "QID1: rule=header-line-length action=log value=999 limit=998 "
	    "stage=header " QCLIENT " header=X-Long\n"
	    P "QID1: rule=body-line-length action=log value=1000 limit=998 "
	    "stage=body " QCLIENT "\n"
	    P "QID1: rule=header-line-length action=log value=999 limit=998 "
	    "stage=header " QCLIENT " header=X-Long\n"
	    P "QID1: rule=body-line-length action=log value=1000 limit=998 "
	    "stage=body " QCLIENT "\n");
	cr_expect_str_eq(log, want);
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	free(log);
	free(want);
	stub_ctx_free(ctx);
}

/*
 * The negotiation table: the steps asked for follow the rules that are
 * on, and so do the replies left out.  Each row with an MTA offering no
 * no-reply steps (ext), and with those libmilter offers (nr).
 */
#define NR_STD	(SMFIP_NR_CONN | SMFIP_NR_HDR)
#define ALL_OFF	"rule header-line-length { action = none }\n" \
	"rule body-line-length { action = none }\n" \
	"rule mime-filename-length { action = none }\n" \
	"rule duplicate-header { action = none }\n" \
	"rule dkim-unsigned-duplicate { action = none }\n" \
	"rule mime-structure { action = none }\n"
Test(milter, negotiate_content_steps)
{
	static const struct {
		const char *conf;
		unsigned long skip;	/* of NOHDRS, NOEOH, NOBODY */
		unsigned long ext;	/* of HDR_LEADSPC, SKIP */
		unsigned long nr;	/* ext with no-reply steps offered */
	} t[] = {
		/* Shipped: body-line-length reads every body: no reply
		 * to body chunks rather than SKIP. */
		{ "", 0, SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  NR_STD | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC },
		{ "rule header-line-length { action = none }\n"
		  "rule body-line-length { action = none }\n"
		  "rule mime-filename-length { action = none }\n"
		  "rule duplicate-header { action = none }\n"
		  "rule dkim-unsigned-duplicate { action = none }\n"
		  "rule mime-structure { action = none }\n",
		  SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NODATA,
		  SMFIP_SKIP, NR_STD | SMFIP_NR_EOH | SMFIP_SKIP },
		/* asa: header-line-length, body-line-length, MIME names. */
		{ "profile = asa\n", 0, SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  NR_STD | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC },
		{ "profile = asa\nrule mime-filename-length { action = none }\n"
		  "rule body-line-length { action = none }\n",
		  SMFIP_NOBODY, SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  NR_STD | SMFIP_HDR_LEADSPC | SMFIP_SKIP },
		/* body-line-length alone: end of headers only for the
		 * queue id, not answered. */
		{ "rule header-line-length { action = none }\n"
		  "rule mime-filename-length { action = none }\n"
		  "rule duplicate-header { action = none }\n"
		  "rule dkim-unsigned-duplicate { action = none }\n"
		  "rule mime-structure { action = none }\n",
		  SMFIP_NOHDRS, SMFIP_SKIP,
		  NR_STD | SMFIP_NR_EOH | SMFIP_NR_BODY },
		/* The MIME scanner needs the top-level headers; without
		 * body-line-length SKIP ends the body early. */
		{ "rule header-line-length { action = none }\n"
		  "rule body-line-length { action = none }\n"
		  "rule duplicate-header { action = none }\n"
		  "rule dkim-unsigned-duplicate { action = none }\n",
		  0, SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  NR_STD | SMFIP_NR_EOH | SMFIP_HDR_LEADSPC | SMFIP_SKIP },
		{ "rule header-line-length { action = none }\n"
		  "rule body-line-length { action = none }\n"
		  "rule mime-filename-length { action = none }\n"
		  "rule duplicate-header { action = none }\n"
		  "rule mime-structure { action = none }\n",
		  SMFIP_NOBODY, SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  NR_STD | SMFIP_HDR_LEADSPC | SMFIP_SKIP },
		/* mime-structure alone needs the headers and the body. */
		{ "rule header-line-length { action = none }\n"
		  "rule body-line-length { action = none }\n"
		  "rule mime-filename-length { action = none }\n"
		  "rule duplicate-header { action = none }\n"
		  "rule dkim-unsigned-duplicate { action = none }\n",
		  0, SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  NR_STD | SMFIP_NR_EOH | SMFIP_HDR_LEADSPC | SMFIP_SKIP },
		/* The ASA's optional criteria (issue 19), each alone:
		 * body-length reads every body, as body-line-length. */
		{ ALL_OFF "rule body-length { action = log }\n",
		  SMFIP_NOHDRS, SMFIP_SKIP,
		  NR_STD | SMFIP_NR_EOH | SMFIP_NR_BODY },
		/* header-length and header-to-count decide at end of
		 * headers and want no body. */
		{ ALL_OFF "rule header-length { action = reject }\n",
		  SMFIP_NOBODY, SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  NR_STD | SMFIP_HDR_LEADSPC | SMFIP_SKIP },
		{ ALL_OFF "rule header-to-count { action = reject }\n",
		  SMFIP_NOBODY, SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  NR_STD | SMFIP_HDR_LEADSPC | SMFIP_SKIP },
		/* The MIME rules need the top-level header and the body,
		 * and SKIP ends the body once nothing can fire. */
		{ ALL_OFF "rule mime-type { patterns = { 'x' } action = reject }\n",
		  0, SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  NR_STD | SMFIP_NR_EOH | SMFIP_HDR_LEADSPC | SMFIP_SKIP },
		{ ALL_OFF "rule mime-encoding { encodings = { \"base64\" } "
		  "action = reject }\n",
		  0, SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  NR_STD | SMFIP_NR_EOH | SMFIP_HDR_LEADSPC | SMFIP_SKIP },
		/* The envelope rules need no content at all. */
		{ ALL_OFF "rule sender-address { patterns = { 'x' } action = reject }\n"
		  "rule mail-relay { domains = { \"d.test\" } action = reject }\n",
		  SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NODATA,
		  SMFIP_SKIP, NR_STD | SMFIP_NR_EOH | SMFIP_SKIP },
		/* A client exempt from everything is accepted at connect,
		 * which must be answered then. */
		{ "exempt-clients = { \"192.0.2.0/24\" }\n", 0,
		  SMFIP_HDR_LEADSPC | SMFIP_SKIP,
		  SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC },
	};
	const unsigned long base = SMFIP_NOHELO | SMFIP_NOUNKNOWN;
	int	both;
	SMFICTX *ctx;
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		load_conf(t[i].conf);
		both = (t[i].skip & SMFIP_NOBODY) && (t[i].skip & SMFIP_NOHDRS);
		for (with_nr = 0; with_nr <= 1; with_nr++) {
			ctx = stub_ctx_new();
			cr_expect_eq(do_negotiate(ctx, 0, 0), base | t[i].skip |
			    (with_nr ? t[i].nr : t[i].ext), "row %zu%s: 0x%lx",
			    i, with_nr ? " (no-reply steps)" : "",
			    do_negotiate(ctx, 0, 0));
			/* The queue id comes with EOH for content rules,
			 * else with end of message; none at connect. */
			cr_expect_str_eq(stub_symlist(ctx, SMFIM_EOH),
			    both ? "" : "i", "row %zu", i);
			cr_expect_str_eq(stub_symlist(ctx, SMFIM_EOM),
			    both ? "i" : "", "row %zu", i);
			cr_expect_str_eq(stub_symlist(ctx, SMFIM_CONNECT), "",
			    "row %zu", i);
			cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
			stub_ctx_free(ctx);
			/* Not offered: not asked for. */
			ctx = stub_ctx_new();
			cr_expect_eq(do_negotiate(ctx, 1, 1) & ~(unsigned long)
			    NRSTEPS, base | t[i].skip, "row %zu (old MTA)", i);
			cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
			stub_ctx_free(ctx);
		}
	}
	/* An MTA that cannot skip the rest of a body: no replies to body
	 * chunks even where SKIP would have ended it. */
	load_conf("rule body-line-length { action = none }\n");
	with_nr = 1;
	ctx = stub_ctx_new();
	cr_expect_eq(do_negotiate(ctx, 0, 1) & (SMFIP_NR_BODY | SMFIP_SKIP),
	    SMFIP_NR_BODY);
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	stub_ctx_free(ctx);
	with_nr = 0;
}

/*
 * hdrcount's bound exceeded: the header cannot be counted.  A sender can do
 * that on purpose, so both counting rules fire at end of headers (fail
 * closed) even with on-error = accept.
 */
Test(milter, content_hdrcount_bound)
{
	SMFICTX *ctx = stub_ctx_new();
	char	name[32], *log;
	sfsistat r = SMFIS_CONTINUE;
	int	i;

	load_conf("milter { on-error = accept }\n");
	capture_begin();
	(void)do_negotiate(ctx, 0, 0);
	cr_assert_eq(do_connect(ctx), SMFIS_CONTINUE);
	start_message(ctx);
	for (i = 0; i < HDRCOUNT_MAX_NAMES + 1 && r == SMFIS_CONTINUE; i++) {
		(void)snprintf(name, sizeof(name), "X-H%d", i);
		r = milter_header(ctx, name, (char *)(uintptr_t)" v");
	}
	cr_expect_eq(r, SMFIS_CONTINUE);
	r = milter_eoh(ctx);
	log = capture_end();
	cr_expect_eq(r, SMFIS_REJECT);
	cr_expect_str_eq(stub_reply(ctx),
	    "550 5.7.1 Message refused by policy (duplicate-header)");
	cr_expect_not_null(strstr(log, "QID1: rule=duplicate-header "
	    "action=reject value=0 limit=0 stage=eoh "));
	cr_expect_not_null(strstr(log, "QID1: rule=dkim-unsigned-duplicate "
	    "action=reject value=0 limit=0 stage=eoh "));
	cr_expect_not_null(strstr(log, " detail=\"too many distinct header "
	    "fields or DKIM signatures to check\"\n"));
	cr_expect_null(strstr(log, "event=error"));
	cr_expect_eq(milter_abort(ctx), SMFIS_CONTINUE);
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	free(log);
	stub_ctx_free(ctx);
}

/*
 * SMFIC_QUIT_NC: libmilter calls close, then connect on the same context
 * without negotiating again.  What was agreed must hold for the new
 * connection: headers still unanswered (SMFIP_NR_HDR), refusals still
 * held for end of headers.  A connect after close used to forget it and
 * answer every header, which libmilter turns into lost answers.
 */
Test(milter, quit_nc_keeps_negotiation)
{
	static const char *const long_hdr[MAXH][2] = {
		{ "From", " <a@d.test>" }, { "X-Long", " @999:a@" } };
	static const char *const body[MAXB] = { "hi\r\n" };
	SMFICTX *ctx = stub_ctx_new();
	char	trace[256], *log;
	int	i;

	load_conf("rule header-line-length { limit = 998 }\n");
	with_nr = 1;
	capture_begin();
	(void)do_negotiate(ctx, 0, 0);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(do_connect(ctx), SMFIS_NOREPLY, "connect %d", i);
		start_message(ctx);
		cr_expect_eq(milter_header(ctx, (char *)(uintptr_t)"From",
		    (char *)(uintptr_t)" <a@d.test>"), SMFIS_NOREPLY,
		    "connect %d: a header answered", i);
		start_message(ctx);
		run_message(ctx, long_hdr, body, trace, sizeof(trace));
		cr_expect_str_eq(trace, "eoh=reject", "connect %d", i);
		/* SMFIC_QUIT_NC */
		cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
		cr_expect_null(stub_priv(ctx));
	}
	log = capture_end();
	free(log);
	with_nr = 0;
	stub_ctx_free(ctx);
}

/*
 * Connect is not answered (SMFIP_NR_CONN) when negotiation saw no
 * exempt client; a reload may add one before a reused connection's next
 * connect.  The exempt client is then accepted at MAIL.
 */
Test(milter, exempt_without_connect_reply)
{
	SMFICTX *ctx = stub_ctx_new();
	char   *log;

	load_conf("profile = standard\n");
	with_nr = 1;
	capture_begin();
	(void)do_negotiate(ctx, 0, 0);
	cr_assert_eq(do_connect(ctx), SMFIS_NOREPLY);
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	load_conf("exempt-clients = { \"192.0.2.0/24\" }\n");
	cr_expect_eq(do_connect(ctx), SMFIS_NOREPLY);
	cr_expect_eq(do_mail(ctx, "<a@d.test>"), SMFIS_ACCEPT);
	cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
	log = capture_end();
	cr_expect_str_eq(log, P "NOQUEUE: event=exempt " CLIENT "\n");
	free(log);
	with_nr = 0;
	stub_ctx_free(ctx);
}

/*
 * The header counter and the MIME scanner of a closed connection are
 * kept for the next one (milter_pool_*): nothing of the first may show
 * in the second, even when the first closed in the middle of a message.
 */
Test(milter, kept_objects_start_clean)
{
	static const char *const two_from[MAXH][2] = {
		{ "From", " <a@d.test>" }, { "From", " <b@d.test>" } };
	static const char *const one_from[MAXH][2] = {
		{ "From", " <a@d.test>" }, { "To", " <u1@d.test>" } };
	static const char *const mp_hdr[MAXH][2] = {
		{ "From", " <a@d.test>" },
		{ "Content-Type", " multipart/mixed; boundary=b" } };
	static const char *const half[MAXB] = {
		"--b\r\nContent-Disposition: attachment; filename=\"@300:n@" };
	static const char *const plain[MAXB] = { "hello\r\n" };
	SMFICTX *ctx;
	char	trace[256], *log;
	int	i;

	load_conf("profile = standard\n");
	capture_begin();
	for (i = 0; i < 3; i++) {
		/* A connection that leaves both objects mid-message. */
		ctx = stub_ctx_new();
		(void)do_negotiate(ctx, 0, 0);
		cr_assert_eq(do_connect(ctx), SMFIS_CONTINUE);
		start_message(ctx);
		cr_expect_eq(milter_header(ctx, (char *)(uintptr_t)"From",
		    (char *)(uintptr_t)" <a@d.test>"), SMFIS_CONTINUE);
		cr_expect_eq(milter_header(ctx, (char *)(uintptr_t)
		    "Content-Type", (char *)(uintptr_t)
		    " multipart/mixed; boundary=b"), SMFIS_CONTINUE);
		cr_expect_eq(milter_eoh(ctx), SMFIS_CONTINUE);
		log = rep(half[0]);
		cr_expect_eq(milter_body(ctx, (unsigned char *)log,
		    strlen(log)), SMFIS_CONTINUE);
		free(log);
		cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
		stub_ctx_free(ctx);
		/* The next connections start from nothing. */
		ctx = stub_ctx_new();
		(void)do_negotiate(ctx, 0, 0);
		cr_assert_eq(do_connect(ctx), SMFIS_CONTINUE);
		start_message(ctx);
		run_message(ctx, one_from, plain, trace, sizeof(trace));
		cr_expect_str_eq(trace, "", "round %d", i);
		start_message(ctx);
		run_message(ctx, two_from, plain, trace, sizeof(trace));
		cr_expect_str_eq(trace, "eoh=reject", "round %d", i);
		start_message(ctx);
		run_message(ctx, mp_hdr, plain, trace, sizeof(trace));
		cr_expect_str_eq(trace, "", "round %d", i);
		cr_expect_eq(milter_close(ctx), SMFIS_CONTINUE);
		stub_ctx_free(ctx);
	}
	log = capture_end();
	free(log);
}

/*
 * Each message is counted once by the answer it got (SPEC 8): refused
 * at MAIL, at the end of headers (held in no-reply steps, counted once),
 * accepted at its end; a refused recipient is not a refused message,
 * but a drop-connection there drops the message.
 */
Test(milter, messages_counted_by_verdict)
{
	static const char *const long_hdr[MAXH][2] = {
		{ "From", " <a@d.test>" }, { "X-Long", " @999:a@" } };
	static const char *const ok_hdr[MAXH][2] = {
		{ "From", " <a@d.test>" } };
	static const char *const body[MAXB] = { "hi\r\n" };
	struct counters_snap snap;
	SMFICTX *ctx = stub_ctx_new();
	char	trace[256], *log;

	load_conf("rule sender-length { limit = 20 }\n"
	    "rule address-characters { action = drop-connection }\n");
	capture_begin();
	cr_assert_eq(do_connect(ctx), SMFIS_CONTINUE);
	cr_assert_eq(do_mail(ctx, "<a-very-long-sender@d.test>"), SMFIS_REJECT);
	start_message(ctx);
	cr_assert_eq(do_rcpt(ctx, "<x|y@d.test>"), SMFIS_TEMPFAIL);
	start_message(ctx);
	run_message(ctx, long_hdr, body, trace, sizeof(trace));
	cr_expect_str_eq(trace, "eoh=reject");
	start_message(ctx);
	run_message(ctx, ok_hdr, body, trace, sizeof(trace));
	cr_expect_str_eq(final_word(trace), "");
	milter_close(ctx);
	log = capture_end();
	free(log);
	counters_read(&snap);
	cr_expect_eq(snap.verdict[COUNTERS_REJECT], 2);
	cr_expect_eq(snap.verdict[COUNTERS_DROP], 1);
	cr_expect_eq(snap.verdict[COUNTERS_ACCEPT], 1);
	cr_expect_eq(snap.verdict[COUNTERS_TEMPFAIL], 0);
	cr_expect_eq(snap.match[POLICY_SENDER_LENGTH][POLICY_REJECT][0], 1);
	stub_ctx_free(ctx);
}
