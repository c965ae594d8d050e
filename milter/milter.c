/*
 * milter.c - the libmilter callbacks of esmtp-inspect-milter.
 *
 * Interface: milter_desc and the callbacks in milter.h.  All libmilter
 * calls go through mfwrap.h.
 *
 * State: a struct milter_conn per SMTP connection, created at connect
 * (holding a reference to the configuration snapshot current then, the
 * client and its per-rule exemptions) and freed at close; inside it a
 * struct milter_tx for the transaction, reset at MAIL, EOM and abort so
 * that nothing leaks from one message into the next.
 *
 * Decisions: each stage evaluates its rules into a struct milter_verdict.
 * Every rule that fires is logged at once (one audit line each); the
 * strongest action decides, ties going to the first rule in table order
 * (rules are evaluated in that order), and the stage gives one reply.
 * Header and body rules (issue 4) add their stages the same way.
 *
 * Invariants: callbacks of different connections run on different
 * threads; everything here is per connection or read-only (the snapshot),
 * and no non-reentrant libc function is called.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "addr.h"
#include "audit.h"
#include "config.h"
#include "policy.h"

#include "mfwrap.h"
#include "milter.h"

/* Longest client name we keep (DNS names are at most 253 octets). */
#define MILTER_NAME_MAX		255
/* Room for an escaped value: every octet as \xHH, plus "...". */
#define MILTER_ESC_MAX		(AUDIT_VALUE_MAX * 4 + 4)

/* Transaction state: reset at MAIL, EOM and abort. */
struct milter_tx {
	char	qid[64];		/* macro "i", raw; "" = NOQUEUE */
	char   *sender;			/* copy of the MAIL argument, or NULL */
	const char *from;		/* address inside sender, without <> */
	size_t	from_len;
	long long nrcpt;		/* RCPTs this milter let through */
};

/* Connection state: from connect to close. */
struct milter_conn {
	struct config *cfg;		/* our reference to the snapshot */
	char	name[MILTER_NAME_MAX + 1];
	char	addr[INET6_ADDRSTRLEN];
	unsigned port;
	unsigned exempt;		/* bit (1u << rule): per-rule exemption */
	struct milter_tx tx;
};

/* What one stage decided. */
struct milter_verdict {
	const char *stage;		/* stage word of the log lines */
	unsigned nfired;		/* rules that fired (logged or not) */
	enum policy_action action;	/* strongest action enforced so far */
	enum policy_rule rule;		/* the rule that set it */
};

static char milter_name[] = "esmtp-inspect";

/* Forget the transaction; keeps the connection. */
static void
milter_tx_reset(struct milter_tx *tx)
{

	free(tx->sender);
	memset(tx, 0, sizeof(*tx));
}

/*
 * Take the queue id from macro "i" when the MTA sent it.  Kept raw (the
 * audit functions escape the id); a longer one than any MTA makes is cut.
 */
static void
milter_tx_qid(SMFICTX *ctx, struct milter_tx *tx)
{
	const char *i;
	size_t	len;

	if ((i = mfwrap_getsymval(ctx, "i")) == NULL || *i == '\0')
		return;
	len = strnlen(i, sizeof(tx->qid) - 1);
	memcpy(tx->qid, i, len);
	tx->qid[len] = '\0';
}

/* The prefix id of log lines: the queue id, or NULL for NOQUEUE. */
static const char *
milter_id(const struct milter_conn *c)
{

	return (c != NULL && c->tx.qid[0] != '\0' ? c->tx.qid : NULL);
}

/* Write "client=NAME[ADDR]:PORT" (name escaped) for event lines. */
static void
milter_client(const struct milter_conn *c, char *buf, size_t len)
{
	char	name[MILTER_ESC_MAX];

	if (c == NULL) {
		(void)snprintf(buf, len, "client=unknown[unknown]:0");
		return;
	}
	(void)audit_escape(name, sizeof(name), c->name, strlen(c->name));
	(void)snprintf(buf, len, "client=%s[%s]:%u", name, c->addr, c->port);
}

/*
 * An internal error at ${stage}: decide by on-error, log it as
 * event=error, and give the MTA the matching answer.
 */
static sfsistat
milter_fail(SMFICTX *ctx, const struct milter_conn *c, const char *stage,
    const char *detail)
{
	struct config *cfg;
	enum config_on_error on_error = CONFIG_ON_ERROR_TEMPFAIL;
	char	client[MILTER_ESC_MAX + 64];
	char	det[MILTER_ESC_MAX];

	if (c != NULL && c->cfg != NULL)
		on_error = c->cfg->milter.on_error;
	else if ((cfg = config_current()) != NULL) {
		on_error = cfg->milter.on_error;
		config_unref(cfg);
	}
	milter_client(c, client, sizeof(client));
	(void)audit_escape(det, sizeof(det), detail, strlen(detail));
	audit_log(LOG_ERR, milter_id(c),
	    "event=error stage=%s %s action=%s detail=\"%s\"", stage, client,
	    on_error == CONFIG_ON_ERROR_ACCEPT ? "accept" : "tempfail", det);
	if (on_error == CONFIG_ON_ERROR_ACCEPT)
		return (SMFIS_ACCEPT);
	(void)mfwrap_setreply(ctx, "451", "4.3.0", "Temporary internal error");
	return (SMFIS_TEMPFAIL);
}

/* 1 if ${rule} is on and this client is not exempt from it. */
static int
milter_rule_active(const struct milter_conn *c, enum policy_rule rule)
{

	return (c->cfg->rules[rule].action != POLICY_NONE &&
	    (c->exempt & (1u << rule)) == 0);
}

static void
milter_verdict_init(struct milter_verdict *v, const char *stage)
{

	memset(v, 0, sizeof(*v));
	v->stage = stage;
	v->action = POLICY_NONE;
}

/*
 * Rule ${ev->rule} fired: fill in what the connection knows, log it (unless
 * the rule says log = no) and remember its action if it is the strongest
 * so far.  In monitor mode nothing is enforced.
 */
static void
milter_verdict_fire(const struct milter_conn *c, struct milter_verdict *v,
    struct audit_rule *ev)
{
	const struct config_rule *r = &c->cfg->rules[ev->rule];

	ev->id = milter_id(c);
	ev->action = r->action;
	ev->stage = v->stage;
	ev->client_name = c->name;
	ev->client_addr = c->addr;
	ev->client_port = c->port;
	ev->monitor = c->cfg->mode == CONFIG_MONITOR;
	if (ev->from == NULL && c->tx.sender != NULL) {
		ev->from = c->tx.from;
		ev->from_len = c->tx.from_len;
	}
	v->nfired++;
	if (r->log)
		audit_log_rule(ev);
	if (!ev->monitor && r->action > v->action) {
		v->action = r->action;
		v->rule = ev->rule;
	}
}

/* The stage's answer: continue, or the reply of the strongest action. */
static sfsistat
milter_verdict_finish(SMFICTX *ctx, const struct milter_conn *c,
    const struct milter_verdict *v)
{
	struct policy_reply reply;
	char	client[MILTER_ESC_MAX + 64];

	if (v->action < POLICY_TEMPFAIL)
		return (SMFIS_CONTINUE);
	if (policy_reply(v->rule, v->action, c->cfg->rules[v->rule].reply,
	    &reply) == 0 &&
	    mfwrap_setreply(ctx, reply.rcode, reply.xcode, reply.text) != 0) {
		/* The refusal stands; the MTA gives its own text. */
		milter_client(c, client, sizeof(client));
		audit_log(LOG_ERR, milter_id(c), "event=error stage=%s %s "
		    "action=%s detail=\"cannot set reply %s %s\"", v->stage,
		    client, policy_action_name(v->action), reply.rcode,
		    reply.xcode);
	}
	/* A 4xx reply needs TEMPFAIL; 421 makes the MTA hang up. */
	return (v->action == POLICY_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL);
}

/* Evaluate address-characters on the raw MAIL/RCPT argument ${arg}. */
static void
milter_check_chars(const struct milter_conn *c, struct milter_verdict *v,
    const char *arg, const char *rcpt, size_t rcpt_len)
{
	struct audit_rule ev;
	unsigned char first = 0;
	size_t	n;

	if (!milter_rule_active(c, POLICY_ADDRESS_CHARACTERS))
		return;
	if ((n = addr_badchars(arg, strlen(arg), &first)) == 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.rule = POLICY_ADDRESS_CHARACTERS;
	ev.value = (long long)n;
	ev.limit = 0;
	ev.rcpt = rcpt;
	ev.rcpt_len = rcpt_len;
	ev.detail = (const char *)&first;
	ev.detail_len = 1;
	milter_verdict_fire(c, v, &ev);
}

/** milter_negotiate(...): ask the MTA for the steps we use only, and for macro "i" at MAIL, RCPT and EOM. */
sfsistat
milter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	/*
	 * Steps we do not use.  Only those the MTA offers to leave out are
	 * asked for (libmilter drops the connection if we ask for more); an
	 * MTA that cannot skip a step still works, because libmilter answers
	 * continue for every callback we leave NULL.
	 */
	const unsigned long skip = SMFIP_NOHELO | SMFIP_NOHDRS |
	    SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA;
	int	symlist = (f0 & SMFIF_SETSYMLIST) != 0;

	(void)f2;
	(void)f3;
	*pf0 = symlist ? SMFIF_SETSYMLIST : 0;
	*pf1 = f1 & skip;
	*pf2 = 0;
	*pf3 = 0;
	/*
	 * The queue id only names log lines: without it (an MTA that cannot
	 * take macro lists, or a failure here) we go on with the MTA's
	 * default macros, which in Postfix and Sendmail include "i".
	 */
	if (symlist && (mfwrap_setsymlist(ctx, SMFIM_ENVFROM, "i") != 0 ||
	    mfwrap_setsymlist(ctx, SMFIM_ENVRCPT, "i") != 0 ||
	    mfwrap_setsymlist(ctx, SMFIM_EOM, "i") != 0)) {
		*pf0 = 0;
		symlist = 0;
	}
	audit_debug(NULL, "event=negotiate actions=0x%lx steps=0x%lx "
	    "skip=0x%lx macros=%s", f0, f1, *pf1,
	    symlist ? "requested" : "mta-default");
	return (SMFIS_CONTINUE);
}

/** milter_connect(ctx, hostname, hostaddr): start a connection: snapshot, client, exemptions. */
sfsistat
milter_connect(SMFICTX *ctx, char *hostname, struct sockaddr *hostaddr)
{
	struct milter_conn *c;
	char	client[MILTER_ESC_MAX + 64];
	const char *hn;
	const void *a = NULL;
	size_t	len;
	sfsistat ret;
	int	r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (milter_fail(ctx, NULL, "connect", "out of memory"));
	hn = hostname != NULL && *hostname != '\0' ? hostname : "unknown";
	len = strnlen(hn, MILTER_NAME_MAX);
	memcpy(c->name, hn, len);
	c->name[len] = '\0';
	if (hostaddr != NULL && hostaddr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)hostaddr;

		a = &sin->sin_addr;
		c->port = ntohs(sin->sin_port);
	} else if (hostaddr != NULL && hostaddr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)hostaddr;

		a = &sin6->sin6_addr;
		c->port = ntohs(sin6->sin6_port);
	}
	if (a == NULL || inet_ntop(hostaddr->sa_family, a, c->addr,
	    sizeof(c->addr)) == NULL) {
		(void)snprintf(c->addr, sizeof(c->addr), "unknown");
		c->port = 0;
	}

	if ((c->cfg = config_current()) == NULL) {
		ret = milter_fail(ctx, c, "connect", "no configuration");
		free(c);
		return (ret);
	}
	milter_client(c, client, sizeof(client));
	if (cidr_list_match_sa(&c->cfg->exempt, hostaddr)) {
		audit_log(LOG_INFO, NULL, "event=exempt %s", client);
		config_unref(c->cfg);
		free(c);
		return (SMFIS_ACCEPT);
	}
	for (r = 0; r < POLICY_NRULES; r++)
		if (config_rule_exempt(c->cfg, (enum policy_rule)r, hostaddr))
			c->exempt |= 1u << r;
	if (mfwrap_setpriv(ctx, c) != 0) {
		ret = milter_fail(ctx, c, "connect", "cannot set private data");
		config_unref(c->cfg);
		free(c);
		return (ret);
	}
	audit_debug(NULL, "event=connect %s", client);
	return (SMFIS_CONTINUE);
}

/** milter_envfrom(ctx, argv): MAIL FROM: start a transaction; sender-length, address-characters. */
sfsistat
milter_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c;
	struct milter_verdict v;
	struct audit_rule ev;
	const char *arg;

	if ((c = mfwrap_getpriv(ctx)) == NULL)
		return (milter_fail(ctx, NULL, "mail", "no connection state"));
	milter_tx_reset(&c->tx);
	milter_tx_qid(ctx, &c->tx);
	arg = argv != NULL && argv[0] != NULL ? argv[0] : "";
	if ((c->tx.sender = strdup(arg)) == NULL)
		return (milter_fail(ctx, c, "mail", "out of memory"));
	addr_strip(c->tx.sender, strlen(c->tx.sender), &c->tx.from,
	    &c->tx.from_len);

	milter_verdict_init(&v, "mail");
	if (milter_rule_active(c, POLICY_SENDER_LENGTH) &&
	    (long long)c->tx.from_len >
	    c->cfg->rules[POLICY_SENDER_LENGTH].limit) {
		memset(&ev, 0, sizeof(ev));
		ev.rule = POLICY_SENDER_LENGTH;
		ev.value = (long long)c->tx.from_len;
		ev.limit = c->cfg->rules[POLICY_SENDER_LENGTH].limit;
		milter_verdict_fire(c, &v, &ev);
	}
	milter_check_chars(c, &v, arg, NULL, 0);
	return (milter_verdict_finish(ctx, c, &v));
}

/** milter_envrcpt(ctx, argv): RCPT TO: rcpt-count, address-characters. */
sfsistat
milter_envrcpt(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c;
	struct milter_verdict v;
	struct audit_rule ev;
	const char *arg, *rcpt;
	size_t	rcpt_len;
	sfsistat ret;

	if ((c = mfwrap_getpriv(ctx)) == NULL)
		return (milter_fail(ctx, NULL, "rcpt", "no connection state"));
	milter_tx_qid(ctx, &c->tx);
	arg = argv != NULL && argv[0] != NULL ? argv[0] : "";
	addr_strip(arg, strlen(arg), &rcpt, &rcpt_len);

	milter_verdict_init(&v, "rcpt");
	if (milter_rule_active(c, POLICY_RCPT_COUNT) &&
	    c->tx.nrcpt + 1 > c->cfg->rules[POLICY_RCPT_COUNT].limit) {
		memset(&ev, 0, sizeof(ev));
		ev.rule = POLICY_RCPT_COUNT;
		ev.value = c->tx.nrcpt + 1;
		ev.limit = c->cfg->rules[POLICY_RCPT_COUNT].limit;
		ev.rcpt = rcpt;
		ev.rcpt_len = rcpt_len;
		milter_verdict_fire(c, &v, &ev);
	}
	milter_check_chars(c, &v, arg, rcpt, rcpt_len);
	ret = milter_verdict_finish(ctx, c, &v);
	/* Only recipients we let through count towards rcpt-count. */
	if (ret == SMFIS_CONTINUE)
		c->tx.nrcpt++;
	return (ret);
}

/** milter_eom(ctx): end of message: end the transaction. */
sfsistat
milter_eom(SMFICTX *ctx)
{
	struct milter_conn *c;
	struct milter_verdict v;
	sfsistat ret;

	if ((c = mfwrap_getpriv(ctx)) == NULL)
		return (milter_fail(ctx, NULL, "eom", "no connection state"));
	milter_tx_qid(ctx, &c->tx);
	/* Issue 4: header and body rules add their findings here. */
	milter_verdict_init(&v, "eom");
	ret = milter_verdict_finish(ctx, c, &v);
	milter_tx_reset(&c->tx);
	return (ret);
}

/** milter_abort(ctx): the transaction was aborted (RSET, refused message): reset it. */
sfsistat
milter_abort(SMFICTX *ctx)
{
	struct milter_conn *c;

	if ((c = mfwrap_getpriv(ctx)) != NULL)
		milter_tx_reset(&c->tx);
	return (SMFIS_CONTINUE);
}

/** milter_close(ctx): end of connection: release everything; no private data is fine. */
sfsistat
milter_close(SMFICTX *ctx)
{
	struct milter_conn *c;
	char	client[MILTER_ESC_MAX + 64];

	if ((c = mfwrap_getpriv(ctx)) == NULL)
		return (SMFIS_CONTINUE);
	milter_client(c, client, sizeof(client));
	audit_debug(NULL, "event=disconnect %s", client);
	(void)mfwrap_setpriv(ctx, NULL);
	milter_tx_reset(&c->tx);
	config_unref(c->cfg);
	free(c);
	return (SMFIS_CONTINUE);
}

struct smfiDesc milter_desc = {
	.xxfi_name = milter_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,		/* we never modify messages */
	.xxfi_connect = milter_connect,
	.xxfi_helo = NULL,
	.xxfi_envfrom = milter_envfrom,
	.xxfi_envrcpt = milter_envrcpt,
	.xxfi_header = NULL,
	.xxfi_eoh = NULL,
	.xxfi_body = NULL,
	.xxfi_eom = milter_eom,
	.xxfi_abort = milter_abort,
	.xxfi_close = milter_close,
	.xxfi_unknown = NULL,
	.xxfi_data = NULL,
	.xxfi_negotiate = milter_negotiate,
};
