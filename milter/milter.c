/* SPDX-License-Identifier: BSD-2-Clause */
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
 * Decisions: each stage evaluates its rules into a struct verdict.
 * Every rule that fires is logged at once (one audit line each); the
 * strongest action decides, ties going to the first rule in table order
 * even where (as in the body) another fired first, and the stage gives
 * one reply.
 *
 * Content rules (SPEC 4): header-line-length at each header; the two
 * header-count rules, header-length and header-to-count at end of
 * headers; body-line-length, mime-filename-length, mime-structure,
 * mime-type and mime-encoding as the body streams past; body-length,
 * counted as it streams past, at end of message (its value the whole
 * body's length, whatever the chunks).  The length rules, mime-structure,
 * mime-type and mime-encoding fire at most once per message (on the first
 * offender).  The envelope rules: sender-length, address-characters and
 * sender-address at MAIL, rcpt-count, address-characters and mail-relay
 * at each RCPT.  A PCRE2 match that runs into its limit fires its rule
 * (fail closed), and so does a MIME type longer than the scanner holds.
 * What the MIME scanner finds in the top-level header is held and fired
 * with the first body chunk (or at end of
 * message), so that every MIME finding is logged with stage=body.  Their
 * working objects (hdrcount, the MIME scanner) are taken on first use in
 * a connection from a bounded pool (or allocated), reset per message and
 * given back at close, so memory does not grow with the message or with
 * the number of messages or connections.  Once no body rule can fire any
 * more, the body callback answers SMFIS_SKIP (when the MTA understands it).
 *
 * Negotiation happens before connect: the connection state is created
 * there (or at connect if the MTA skipped it) to remember whether the MTA
 * agreed to SMFIP_HDR_LEADSPC and SMFIP_SKIP.
 *
 * Invariants: callbacks of different connections run on different
 * threads; everything here is per connection or read-only (the snapshot),
 * and no non-reentrant libc function is called.
 */
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "addr.h"
#include "audit.h"
#include "config.h"
#include "counters.h"
#include "hdrcount.h"
#include "linelen.h"
#include "mime.h"
#include "policy.h"
#include "verdict.h"

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
	long long nrcpt_seen;		/* RCPTs it was asked about */
	unsigned fired;			/* bit (1u << rule): fired in this message */
	int	hc_used;		/* milter_conn.hc holds this message */
	int	hc_overflow;		/* hdrcount bounds exceeded: cannot count */
	int	mime_used;		/* milter_conn.mime holds this message */
	int	lb_used;		/* lb is measuring this message */
	struct linelen_body lb;		/* body-line-length, a few counters */
	long long hlen;			/* header-length: octets so far */
	long long nto;			/* header-to-count: To fields so far */
	unsigned long long blen;	/* body-length: octets so far */
	/* A name over the limit found in the top-level header, for stage=body. */
	int	mime_held;
	size_t	mime_held_len;		/* its full length */
	size_t	mime_held_kept;		/* octets kept: enough for the log */
	char	mime_held_name[AUDIT_VALUE_MAX + 1];
	const char *mime_held_cause;	/* a structure cause from there, or NULL */
	/* header-line-length's first offender, fired at end of headers. */
	int	hll;
	long long hll_len;
	size_t	hll_kept;		/* octets of its name kept for the log */
	char	hll_name[AUDIT_VALUE_MAX + 1];
	/* An answer decided at a step the MTA takes no reply for, given at
	 * the next step it does (milter_answer()); continue: none. */
	sfsistat held;
};

/* Connection state: from negotiation (or connect) to close. */
struct milter_conn {
	struct config *cfg;		/* our reference to the snapshot */
	char	name[MILTER_NAME_MAX + 1];
	char	addr[INET6_ADDRSTRLEN];
	unsigned port;
	struct verdict_who who;		/* common/verdict.c: exempt, monitor */
	unsigned neg;			/* MILTER_NEG_* */
	int	accept_all;		/* exempt, found at an unanswered connect */
	struct config *neg_cfg;		/* the snapshot of negotiation, for connect */
	struct hdrcount *hc;		/* lazily, for the header-count rules */
	struct mime *mime;		/* lazily, for the two MIME rules */
	struct verdict *v;	/* the stage feeding mime, for its callback */
	struct milter_tx tx;
};

static char milter_name[] = "esmtp-inspect";
static char milter_empty[] = "";

/* Forget the transaction; keeps the connection and its allocations. */
static void
milter_tx_reset(struct milter_conn *c)
{
	struct milter_tx *tx = &c->tx;

	if (tx->hc_used)
		hdrcount_reset(c->hc);
	if (tx->mime_used)
		mime_reset(c->mime);
	free(tx->sender);
	memset(tx, 0, sizeof(*tx));
}

/*
 * Working objects kept for the next connection.  Postfix opens a milter
 * connection per SMTP session, and most carry one message: a header
 * counter (about 170 KB) and a MIME scanner (about 60 KB) allocated and
 * freed per connection cost more than the checks they serve (mmap and
 * page faults in a threaded process).  At most MILTER_POOL_MAX of each
 * are kept, reset; memory stays bounded.
 */
#define MILTER_POOL_MAX		16

static pthread_mutex_t milter_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hdrcount *milter_pool_hc[MILTER_POOL_MAX];
static struct mime *milter_pool_mime[MILTER_POOL_MAX];
static int milter_pool_nhc, milter_pool_nmime;

/* A header counter: a kept one, or a new one; NULL: no memory. */
static struct hdrcount *
milter_pool_get_hc(void)
{
	struct hdrcount *hc = NULL;

	(void)pthread_mutex_lock(&milter_pool_lock);
	if (milter_pool_nhc > 0)
		hc = milter_pool_hc[--milter_pool_nhc];
	(void)pthread_mutex_unlock(&milter_pool_lock);
	return (hc != NULL ? hc : hdrcount_new());
}

/* A MIME scanner reporting to ${fn}, ${sfn}, ${pfn} with ${c}: a kept
 * one (all are made with the same three), or a new one. */
static struct mime *
milter_pool_get_mime(mime_name_fn *fn, mime_struct_fn *sfn,
    mime_part_fn *pfn, void *c)
{
	struct mime *m = NULL;

	(void)pthread_mutex_lock(&milter_pool_lock);
	if (milter_pool_nmime > 0)
		m = milter_pool_mime[--milter_pool_nmime];
	(void)pthread_mutex_unlock(&milter_pool_lock);
	if (m == NULL && (m = mime_new(fn, sfn, c)) == NULL)
		return (NULL);
	mime_set_part_fn(m, pfn);
	mime_set_arg(m, c);
	return (m);
}

/* Keep ${hc} and ${m} (either may be NULL), reset, or free them. */
static void
milter_pool_put(struct hdrcount *hc, struct mime *m)
{
	if (hc != NULL)
		hdrcount_reset(hc);
	if (m != NULL) {
		mime_reset(m);
		mime_set_arg(m, NULL);
	}
	(void)pthread_mutex_lock(&milter_pool_lock);
	if (hc != NULL && milter_pool_nhc < MILTER_POOL_MAX) {
		milter_pool_hc[milter_pool_nhc++] = hc;
		hc = NULL;
	}
	if (m != NULL && milter_pool_nmime < MILTER_POOL_MAX) {
		milter_pool_mime[milter_pool_nmime++] = m;
		m = NULL;
	}
	(void)pthread_mutex_unlock(&milter_pool_lock);
	hdrcount_free(hc);
	mime_free(m);
}

/*
 * Keep the first octets of ${name} (${len} in all) in ${dst} of ${size}
 * octets, as much as a log line shows of it (audit_escape() cuts at 200
 * and adds "..." from 201); returns how many were kept.
 */
static size_t
milter_keep_name(char *dst, size_t size, const char *name, size_t len)
{
	size_t	kept = len < size ? len : size;

	memcpy(dst, name, kept);
	return (kept);
}

/* Free the connection state; NULL is a no-op. */
static void
milter_conn_free(struct milter_conn *c)
{

	if (c == NULL)
		return;
	free(c->tx.sender);
	milter_pool_put(c->hc, c->mime);
	config_unref(c->cfg);
	config_unref(c->neg_cfg);
	free(c);
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

/* Write "client=NAME[ADDR]:PORT" (escaped) for event lines. */
static void
milter_client(const struct milter_conn *c, char *buf, size_t len)
{
	if (c == NULL)
		(void)audit_client(buf, len, NULL, NULL, 0);
	else
		(void)audit_client(buf, len, c->name, c->addr, c->port);
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
	counters_verdict(COUNTERS_ERROR);
	if (on_error == CONFIG_ON_ERROR_ACCEPT)
		return (SMFIS_ACCEPT);
	(void)mfwrap_setreply(ctx, "451", "4.3.0", "Temporary internal error");
	return (SMFIS_TEMPFAIL);
}

/*
 * The answer of a step to the MTA.  At a step negotiation said the MTA
 * takes no reply for (${nr}, MILTER_NEG_NR_*), libmilter would turn any
 * answer into none and lose it: a decision is held instead, and the next
 * step that is answered gives it (the step's callback checks tx.held
 * first).  The refusal's reply text is already set in libmilter, which
 * keeps it until a reply uses it.
 */
static sfsistat
milter_answer(struct milter_conn *c, sfsistat ret, unsigned nr)
{
	if (c == NULL || (c->neg & nr) == 0)
		return (ret);
	if (ret != SMFIS_CONTINUE && c->tx.held == SMFIS_CONTINUE)
		c->tx.held = ret;
	return (SMFIS_NOREPLY);
}

/* 1 if ${rule} is on and this client is not exempt from it. */
static int
milter_rule_active(const struct milter_conn *c, enum policy_rule rule)
{

	return (verdict_active(c->cfg, &c->who, rule) != POLICY_NONE);
}

static void
milter_verdict_init(const struct milter_conn *c, struct verdict *v,
    const char *stage)
{

	verdict_init(v, c->cfg, &c->who, stage);
}

/*
 * Rule ${ev->rule} fired: what the transaction knows (queue id, sender)
 * goes with it into the one verdict engine (common/verdict.c), which logs
 * it and keeps the strongest action; in monitor mode nothing is enforced.
 */
static void
milter_verdict_fire(const struct milter_conn *c, struct verdict *v,
    struct audit_rule *ev)
{
	ev->id = milter_id(c);
	if (ev->from == NULL && c->tx.sender != NULL) {
		ev->from = c->tx.from;
		ev->from_len = c->tx.from_len;
	}
	(void)verdict_fire(v, ev);
}

/*
 * A rule with a limit measured ${value}: fires when the rule is active and
 * the value is over its limit ("gt", SPEC 4), with value and limit.
 */
static void
milter_over_limit(const struct milter_conn *c, struct verdict *v,
    enum policy_rule rule, long long value)
{
	struct audit_rule ev;

	if (!milter_rule_active(c, rule) || value <= c->cfg->rules[rule].limit)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.rule = rule;
	ev.value = value;
	ev.limit = c->cfg->rules[rule].limit;
	milter_verdict_fire(c, v, &ev);
}

/* The stage's answer: continue, or the reply of the strongest action. */
static sfsistat
milter_verdict_finish(SMFICTX *ctx, const struct milter_conn *c,
    const struct verdict *v)
{
	struct policy_reply reply;
	char	client[MILTER_ESC_MAX + 64];

	if (v->action < POLICY_TEMPFAIL)
		return (SMFIS_CONTINUE);
	/* A refused recipient is not a refused message (SPEC 8); a
	 * drop-connection there drops the message too. */
	if (strcmp(v->stage, "rcpt") != 0 ||
	    v->action == POLICY_DROP_CONNECTION)
		counters_verdict(v->action == POLICY_REJECT ? COUNTERS_REJECT :
		    v->action == POLICY_TEMPFAIL ? COUNTERS_TEMPFAIL :
		    COUNTERS_DROP);
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
milter_check_chars(const struct milter_conn *c, struct verdict *v,
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

/* 1 if ${rule} is active and has not fired yet in this message. */
static int
milter_rule_pending(const struct milter_conn *c, enum policy_rule rule)
{

	return (milter_rule_active(c, rule) && (c->tx.fired & (1u << rule)) == 0);
}

/* 1 if a MIME rule can still fire in this message. */
static int
milter_mime_pending(const struct milter_conn *c)
{

	if (c->tx.mime_used && c->mime != NULL && mime_done(c->mime))
		return (0);		/* nothing more in this body to find */
	return (milter_rule_pending(c, POLICY_MIME_FILENAME_LENGTH) ||
	    milter_rule_pending(c, POLICY_MIME_STRUCTURE) ||
	    milter_rule_pending(c, POLICY_MIME_TYPE) ||
	    milter_rule_pending(c, POLICY_MIME_ENCODING));
}

/* 1 if a rule that must read every octet of the body is still pending. */
static int
milter_whole_body(const struct milter_conn *c)
{

	return (milter_rule_pending(c, POLICY_BODY_LINE_LENGTH) ||
	    milter_rule_pending(c, POLICY_BODY_LENGTH));
}

/* 1 if ${rule} is on in ${cfg} (for negotiation: exemptions come later). */
static int
milter_rule_on(const struct config *cfg, enum policy_rule rule)
{

	return (cfg->rules[rule].action != POLICY_NONE);
}

/* The connection state, or NULL if there is none (or connect never ran). */
static struct milter_conn *
milter_getconn(SMFICTX *ctx)
{
	struct milter_conn *c;

	if ((c = mfwrap_getpriv(ctx)) == NULL || c->cfg == NULL)
		return (NULL);
	return (c);
}

/*
 * The length of the longest physical line of the field ${name}:${value}.
 * With SMFIP_HDR_LEADSPC the value is exactly what followed the colon.
 * Without it the MTA has dropped the white space after the colon; we then
 * assume the one space that Sendmail writes ("Name: value"), so the first
 * line counts name, colon, space and the value's first line.
 */
static size_t
milter_header_len(const struct milter_conn *c, const char *name,
    size_t namelen, const char *value, size_t valuelen)
{
	const char *nl;
	size_t	len, first;

	len = linelen_header(name, namelen, value, valuelen, NULL);
	if (c->neg & MILTER_NEG_LEADSPC)
		return (len);
	if ((nl = memchr(value, '\n', valuelen)) != NULL) {
		first = (size_t)(nl - value);
		if (first > 0 && nl[-1] == '\r')
			first--;
	} else
		first = valuelen;
	first += namelen + 2;
	return (first > len ? first : len);
}

/*
 * header-length: the octets of the field ${name}:${value} in the message
 * as the MTA passes it on: the name as passed, the colon, the value (with
 * SMFIP_HDR_LEADSPC exactly what followed the colon; without it, the one
 * space the MTA dropped is assumed, as milter_header_len() does), every
 * line end inside it (LF or CRLF, as the MTA passes a folded field) as
 * CRLF, and the CRLF that ends the field.
 */
static long long
milter_field_octets(const struct milter_conn *c, size_t namelen,
    const char *value, size_t valuelen)
{
	long long n = (long long)namelen + 1 + 2;
	size_t	i;

	if ((c->neg & MILTER_NEG_LEADSPC) == 0)
		n++;
	for (i = 0; i < valuelen; i++)
		n += value[i] == '\n' && (i == 0 || value[i - 1] != '\r') ? 2 : 1;
	return (n);
}

/* 1 if the field ${name} is To (any case, white space before the colon ignored). */
static int
milter_is_to(const char *name, size_t namelen)
{

	while (namelen > 0 && (name[namelen - 1] == ' ' ||
	    name[namelen - 1] == '\t'))
		namelen--;
	return (namelen == 2 && (name[0] == 'T' || name[0] == 't') &&
	    (name[1] == 'O' || name[1] == 'o'));
}

/*
 * A name reported by the MIME scanner: mime-filename-length fires on the
 * first one longer than the limit, or on one that could not be decoded
 * whole (its length is then a lower bound).
 */
static void
milter_mime_name(void *arg, const char *param, const char *name, size_t len,
    int truncated)
{
	struct milter_conn *c = arg;
	struct audit_rule ev;
	long long limit;

	(void)param;
	if (!milter_rule_pending(c, POLICY_MIME_FILENAME_LENGTH) ||
	    c->tx.mime_held)
		return;
	limit = c->cfg->rules[POLICY_MIME_FILENAME_LENGTH].limit;
	if (!truncated && (long long)len <= limit)
		return;
	if (c->v == NULL) {
		/*
		 * From the top-level header (a single-part attachment): the
		 * rule is a body rule, so it fires with the first body chunk
		 * or at end of message.  Only what the log shows is kept.
		 */
		c->tx.mime_held = 1;
		c->tx.mime_held_len = len;
		c->tx.mime_held_kept = milter_keep_name(c->tx.mime_held_name,
		    sizeof(c->tx.mime_held_name), name, len);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.rule = POLICY_MIME_FILENAME_LENGTH;
	ev.value = (long long)len;
	ev.limit = limit;
	ev.detail = name;
	ev.detail_len = len;
	c->tx.fired |= 1u << POLICY_MIME_FILENAME_LENGTH;
	milter_verdict_fire(c, c->v, &ev);
}

/*
 * mime-structure: the scanner cannot read this MIME structure as a mail
 * client would; ${detail} is the cause (a constant string).  mime-type
 * and mime-encoding cannot trust the type and encoding it reports then
 * (a client may read another): they fire too, with the cause in detail,
 * whether mime-structure is on or not (fail closed, as mime-filename-length
 * does through unreadable()).
 */
static void
milter_mime_structure(void *arg, const char *detail)
{
	static const enum policy_rule rules[] = { POLICY_MIME_STRUCTURE,
	    POLICY_MIME_TYPE, POLICY_MIME_ENCODING };
	struct milter_conn *c = arg;
	struct audit_rule ev;
	size_t	i;

	if (c->tx.mime_held_cause != NULL)
		return;
	if (c->v == NULL) {
		/* From the top-level header: fired with the body. */
		for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
			if (milter_rule_pending(c, rules[i]))
				c->tx.mime_held_cause = detail;
		return;
	}
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (!milter_rule_pending(c, rules[i]))
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.rule = rules[i];
		ev.value = 1;
		ev.limit = 0;
		ev.detail = detail;
		ev.detail_len = strlen(detail);
		c->tx.fired |= 1u << rules[i];
		milter_verdict_fire(c, c->v, &ev);
	}
}

/*
 * ${rule} (mime-type, sender-address) matched against its patterns the
 * ${len} octets at ${subject}: fires with the subject in detail on a
 * match, and also when a match ran into PCRE2's match or depth limit
 * (fail closed: a pattern that cannot be decided never lets the subject
 * pass), detail "match limit in pattern N: " and the subject.  ${extra},
 * if not NULL, is what the subject was cut from (fires whatever the
 * patterns say): "type longer than 255 octets".  Returns 1 if it fired.
 */
static int
milter_pattern_fire(const struct milter_conn *c, struct verdict *v,
    enum policy_rule rule, const char *subject, size_t len,
    const char *extra)
{
	char	detail[96 + AUDIT_VALUE_MAX + 1];
	struct audit_rule ev;
	size_t	which = 0, n;
	int	rc = 1;

	if (extra == NULL && (rc = pattern_list_match(c->cfg->rules[rule].re,
	    subject, len, &which)) == 0)
		return (0);
	memset(&ev, 0, sizeof(ev));
	ev.rule = rule;
	ev.value = 1;
	ev.limit = 0;
	if (rc < 0 || extra != NULL) {
		/* What the log shows of the subject is kept (200, "..."). */
		n = rc < 0 ? (size_t)snprintf(detail, 96, "match limit in "
		    "pattern %zu: ", which + 1) : (size_t)snprintf(detail, 96,
		    "%s: ", extra);
		if (n >= 96)
			n = 95;
		memcpy(detail + n, subject, len < AUDIT_VALUE_MAX + 1 ? len :
		    AUDIT_VALUE_MAX + 1);
		ev.detail = detail;
		ev.detail_len = n + (len < AUDIT_VALUE_MAX + 1 ? len :
		    AUDIT_VALUE_MAX + 1);
	} else {
		ev.detail = subject;
		ev.detail_len = len;
	}
	milter_verdict_fire(c, v, &ev);
	return (1);
}

/* The CONFIG_ENC_* of each of the scanner's classes (enum mime_cte). */
static const enum config_encoding milter_encoding[MIME_CTE_N] = {
	[MIME_CTE_7BIT] = CONFIG_ENC_7BIT,
	[MIME_CTE_8BIT] = CONFIG_ENC_8BIT,
	[MIME_CTE_BINARY] = CONFIG_ENC_BINARY,
	[MIME_CTE_BASE64] = CONFIG_ENC_BASE64,
	[MIME_CTE_QUOTED_PRINTABLE] = CONFIG_ENC_QUOTED_PRINTABLE,
	[MIME_CTE_OTHER] = CONFIG_ENC_OTHERS,
};

/*
 * One MIME entity (the message, each part, at any depth): mime-type on
 * its type/subtype, as GMime reads it (the last Content-Type) and as
 * Thunderbird does (the first); mime-encoding on every reading of every
 * Content-Transfer-Encoding (GMime's, Thunderbird's, raw and RFC
 * 2047-decoded), detail the first value as written that a listed class
 * came from.  Each fires on the first entity that fires it in the
 * message.  The scanner reports entities only from the body and end of
 * message (c->v set).
 */
static void
milter_mime_part(void *arg, const struct mime_part *p)
{
	struct milter_conn *c = arg;
	struct audit_rule ev;
	enum config_encoding e;
	int	k;

	if (c->v == NULL)
		return;
	if (milter_rule_pending(c, POLICY_MIME_TYPE) &&
	    (milter_pattern_fire(c, c->v, POLICY_MIME_TYPE, p->type,
	    p->typelen, p->type_cut ? "type longer than 255 octets" : NULL) ||
	    (p->type1 != p->type && milter_pattern_fire(c, c->v,
	    POLICY_MIME_TYPE, p->type1, p->type1len, p->type1_cut ?
	    "type longer than 255 octets" : NULL))))
		c->tx.fired |= 1u << POLICY_MIME_TYPE;
	for (k = 0; k < MIME_CTE_N; k++) {
		if ((p->ctes & (1u << k)) == 0 ||
		    !milter_rule_pending(c, POLICY_MIME_ENCODING))
			continue;
		e = milter_encoding[k];
		if ((c->cfg->rules[POLICY_MIME_ENCODING].encodings &
		    CONFIG_ENC_BIT(e)) == 0)
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.rule = POLICY_MIME_ENCODING;
		ev.value = 1;
		ev.limit = 0;
		/* The value as written; "7bit" where the field is absent. */
		ev.detail = p->cte_by[k] != NULL ? p->cte_by[k] : "7bit";
		ev.detail_len = p->cte_by[k] != NULL ? p->cte_by_len[k] : 4;
		c->tx.fired |= 1u << POLICY_MIME_ENCODING;
		milter_verdict_fire(c, c->v, &ev);
	}
}

/* Fire what the MIME scanner found in the top-level header, for stage=body. */
static void
milter_mime_held(struct milter_conn *c, struct verdict *v)
{
	struct audit_rule ev;
	const char *cause = c->tx.mime_held_cause;

	/* In table order: mime-filename-length first. */
	if (c->tx.mime_held &&
	    milter_rule_pending(c, POLICY_MIME_FILENAME_LENGTH)) {
		c->tx.mime_held = 0;
		memset(&ev, 0, sizeof(ev));
		ev.rule = POLICY_MIME_FILENAME_LENGTH;
		ev.value = (long long)c->tx.mime_held_len;
		ev.limit = c->cfg->rules[POLICY_MIME_FILENAME_LENGTH].limit;
		/* audit_escape() cuts at 200 octets and adds "..." from 201 on. */
		ev.detail = c->tx.mime_held_name;
		ev.detail_len = c->tx.mime_held_kept;
		c->tx.fired |= 1u << POLICY_MIME_FILENAME_LENGTH;
		milter_verdict_fire(c, v, &ev);
	}
	if (cause != NULL) {
		c->tx.mime_held_cause = NULL;
		c->v = v;
		milter_mime_structure(c, cause);
		c->v = NULL;
	}
}

/* The connection's MIME scanner, created on first use; NULL: no memory. */
static struct mime *
milter_mime(struct milter_conn *c)
{

	if (c->mime == NULL)
		c->mime = milter_pool_get_mime(milter_mime_name,
		    milter_mime_structure, milter_mime_part, c);
	if (c->mime != NULL)
		c->tx.mime_used = 1;
	return (c->mime);
}

/* body-line-length: fire on the first completed line over the limit. */
static void
milter_check_body_lines(struct milter_conn *c, struct verdict *v)
{
	struct audit_rule ev;

	if (c->tx.lb.first_over == 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.rule = POLICY_BODY_LINE_LENGTH;
	ev.value = (long long)c->tx.lb.first_over;
	ev.limit = c->cfg->rules[POLICY_BODY_LINE_LENGTH].limit;
	c->tx.fired |= 1u << POLICY_BODY_LINE_LENGTH;
	milter_verdict_fire(c, v, &ev);
}

/* What hdrcount_dkim_unsigned() reports to. */
struct milter_eoh {
	const struct milter_conn *c;
	struct verdict *v;
};

/* dkim-unsigned-duplicate: ${name} occurs more often than an h= lists it. */
static void
milter_dkim_unsigned(void *arg, const char *name, unsigned occurrences,
    unsigned listed)
{
	struct milter_eoh *e = arg;
	struct audit_rule ev;
	char	lower[AUDIT_VALUE_MAX + 1];
	size_t	i, len;

	/* Longer names are cut by audit_escape() anyway: keep what it shows. */
	len = strnlen(name, sizeof(lower));
	for (i = 0; i < len; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
		    name[i] - 'A' + 'a' : name[i]);
	memset(&ev, 0, sizeof(ev));
	ev.rule = POLICY_DKIM_UNSIGNED_DUPLICATE;
	ev.value = occurrences;
	ev.limit = listed;
	ev.header = lower;
	ev.header_len = len;
	milter_verdict_fire(e->c, e->v, &ev);
}

/**
 * milter_neg_plan(cfg, f0, f1, n): the negotiation table.
 *
 * Steps: HELO and unknown commands are never used; headers, end of
 * headers and the body are asked for only when a rule of ${cfg} needs
 * them.  DATA is kept, and answered (by libmilter: no callback), though
 * no rule uses it: Postfix 3.7 accepts mail about 40% slower from a milter
 * that leaves DATA out or does not answer it (make bench, postfixbench).
 * The queue id comes with end of headers.  Replies: none for
 * connect when no client is exempt from everything (exemption is the one
 * decision at connect), none for each header (header rules decide at end
 * of headers), none for end of headers when no header rule is on, none
 * for body chunks when body-line-length or body-length reads the whole
 * body anyway or the MTA cannot skip the rest (body rules then decide at
 * end of message); otherwise SMFIS_SKIP ends the body once no rule can fire.
 * libmilter offers every no-reply step even to an MTA without them and
 * answers "continue" for us there: the same verdicts, only slower.
 * Macros: "i" where a log line may need the queue id (MAIL, RCPT, end of
 * headers, or end of message when there is no end of headers), and none
 * at connect, HELO and DATA.  Only steps the MTA offers are asked for.
 */
void
milter_neg_plan(const struct config *cfg, unsigned long f0, unsigned long f1,
    struct milter_neg *n)
{
	unsigned long want = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NR_HDR;
	int	hdrs = 1, eoh = 1, body = 1, lines = 1, mime = 1, conn = 0;

	memset(n, 0, sizeof(*n));
	if (cfg != NULL) {
		eoh = milter_rule_on(cfg, POLICY_HEADER_LINE_LENGTH) ||
		    milter_rule_on(cfg, POLICY_DUPLICATE_HEADER) ||
		    milter_rule_on(cfg, POLICY_DKIM_UNSIGNED_DUPLICATE) ||
		    milter_rule_on(cfg, POLICY_HEADER_LENGTH) ||
		    milter_rule_on(cfg, POLICY_HEADER_TO_COUNT);
		mime = milter_rule_on(cfg, POLICY_MIME_FILENAME_LENGTH) ||
		    milter_rule_on(cfg, POLICY_MIME_STRUCTURE) ||
		    milter_rule_on(cfg, POLICY_MIME_TYPE) ||
		    milter_rule_on(cfg, POLICY_MIME_ENCODING);
		hdrs = eoh || mime;
		/* Rules that read every octet of the body. */
		lines = milter_rule_on(cfg, POLICY_BODY_LINE_LENGTH) ||
		    milter_rule_on(cfg, POLICY_BODY_LENGTH);
		body = lines || mime;
		conn = cfg->exempt.n == 0;
	}
	if (!hdrs)
		want |= SMFIP_NOHDRS;
	if (!hdrs && !body)
		want |= SMFIP_NOEOH;
	if (!hdrs && !body)
		want |= SMFIP_NODATA;	/* no message content wanted at all */
	if (!body)
		want |= SMFIP_NOBODY;
	if (conn)
		want |= SMFIP_NR_CONN;
	if (!eoh)
		want |= SMFIP_NR_EOH;
	if (hdrs)
		want |= SMFIP_HDR_LEADSPC;
	/*
	 * SKIP even with the body step left out: an MTA that cannot leave
	 * it out sends the body anyway, and SKIP stops it.
	 */
	if (body && (f1 & SMFIP_NR_BODY) != 0 &&
	    (lines || (f1 & SMFIP_SKIP) == 0))
		want |= SMFIP_NR_BODY;
	else
		want |= SMFIP_SKIP;
	n->steps = f1 & want;
	n->flags = ((n->steps & SMFIP_HDR_LEADSPC) ? MILTER_NEG_LEADSPC : 0) |
	    ((n->steps & SMFIP_SKIP) ? MILTER_NEG_SKIP : 0) |
	    ((n->steps & SMFIP_NR_CONN) ? MILTER_NEG_NR_CONN : 0) |
	    ((n->steps & SMFIP_NR_HDR) ? MILTER_NEG_NR_HDR : 0) |
	    ((n->steps & SMFIP_NR_EOH) ? MILTER_NEG_NR_EOH : 0) |
	    ((n->steps & SMFIP_NR_BODY) ? MILTER_NEG_NR_BODY : 0);
	if ((f0 & SMFIF_SETSYMLIST) == 0)
		return;
	n->actions = SMFIF_SETSYMLIST;
	n->macros[SMFIM_CONNECT] = "";
	n->macros[SMFIM_HELO] = "";
	n->macros[SMFIM_ENVFROM] = "i";
	n->macros[SMFIM_ENVRCPT] = "i";
	n->macros[SMFIM_DATA] = "";
	n->macros[SMFIM_EOH] = hdrs || body ? "i" : "";
	n->macros[SMFIM_EOM] = hdrs || body ? "" : "i";
}

/*
 * The negotiated flags of connections whose milter connection the MTA
 * reuses (SMFIC_QUIT_NC): libmilter calls close, then connect again on
 * the same context without negotiating anew.  close() leaves the flags
 * here, keyed by the context, in O(1); a connect without a connection
 * state (only after QUIT_NC) takes the newest entry for its context.
 * A ring: the oldest entry goes first, and the connect follows its close
 * at once, so an entry is never needed for long.  Older entries of the
 * same context (an address libmilter reused) are never the newest.
 */
#define MILTER_REUSE_MAX	1024

static pthread_mutex_t milter_reuse_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const void *ctx;
	unsigned flags;
} milter_reuse[MILTER_REUSE_MAX];
static unsigned milter_reuse_next;

/* Leave ${flags} for ${ctx}'s next connect (at close). */
static void
milter_reuse_put(const void *ctx, unsigned flags)
{
	(void)pthread_mutex_lock(&milter_reuse_lock);
	milter_reuse[milter_reuse_next].ctx = ctx;
	milter_reuse[milter_reuse_next].flags = flags;
	milter_reuse_next = (milter_reuse_next + 1) % MILTER_REUSE_MAX;
	(void)pthread_mutex_unlock(&milter_reuse_lock);
}

/* The newest flags left for ${ctx} into ${*flags}; 0 if none. */
static int
milter_reuse_take(const void *ctx, unsigned *flags)
{
	unsigned i, k;
	int	found = 0;

	(void)pthread_mutex_lock(&milter_reuse_lock);
	for (i = 1; i <= MILTER_REUSE_MAX && !found; i++) {
		k = (milter_reuse_next + MILTER_REUSE_MAX - i) %
		    MILTER_REUSE_MAX;
		if (milter_reuse[k].ctx == ctx) {
			*flags = milter_reuse[k].flags;
			milter_reuse[k].ctx = NULL;
			found = 1;
		}
	}
	(void)pthread_mutex_unlock(&milter_reuse_lock);
	return (found);
}

/** milter_negotiate(...): ask the MTA for the steps and replies the rules need only (milter_neg_plan()). */
sfsistat
milter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct milter_neg n;
	struct milter_conn *c;
	struct config *cfg;
	int	i, symlist;

	(void)f2;
	(void)f3;
	cfg = config_current();
	milter_neg_plan(cfg, f0, f1, &n);
	/* Remember what the MTA agreed to; connect fills in the rest.
	 * Without a place to remember them, ask for no optional replies:
	 * every callback then answers. */
	if ((c = mfwrap_getpriv(ctx)) == NULL &&
	    (c = calloc(1, sizeof(*c))) != NULL &&
	    mfwrap_setpriv(ctx, c) != 0) {
		free(c);
		c = NULL;
	}
	if (c == NULL) {
		n.steps &= ~(SMFIP_HDR_LEADSPC | SMFIP_SKIP | SMFIP_NR_CONN |
		    SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY);
		n.flags = 0;
		config_unref(cfg);
	} else {
		/*
		 * The snapshot the steps were chosen for is the connection's:
		 * negotiation is answered before the MTA goes on, connect
		 * (not answered, SMFIP_NR_CONN) may be read after a reload.
		 */
		c->neg = n.flags;
		config_unref(c->neg_cfg);
		c->neg_cfg = cfg;
	}
	symlist = n.actions != 0;
	*pf0 = n.actions;
	*pf1 = n.steps;
	*pf2 = 0;
	*pf3 = 0;
	/*
	 * The queue id only names log lines: without it (an MTA that cannot
	 * take macro lists, or a failure here) we go on with the MTA's
	 * default macros, which in Postfix and Sendmail include "i".
	 */
	for (i = 0; symlist && i < MILTER_NEG_STAGES; i++)
		if (n.macros[i] != NULL &&
		    mfwrap_setsymlist(ctx, i, n.macros[i]) != 0) {
			*pf0 = 0;
			symlist = 0;
		}
	audit_debug(NULL, "event=negotiate actions=0x%lx steps=0x%lx "
	    "skip=0x%lx macros=%s", f0, f1, *pf1,
	    symlist ? "requested" : "mta-default");
	return (SMFIS_CONTINUE);
}

/*
 * Connect's answer: none when negotiation said so (MILTER_NEG_NR_CONN,
 * libmilter would drop it): a failure then comes back at MAIL, where
 * there is no connection state, and an exempt client is accepted there.
 */
static sfsistat
milter_connect_answer(unsigned neg, sfsistat ret)
{
	return ((neg & MILTER_NEG_NR_CONN) != 0 ? SMFIS_NOREPLY : ret);
}

/** milter_connect(ctx, hostname, hostaddr): start a connection: snapshot, client, exemptions. */
sfsistat
milter_connect(SMFICTX *ctx, char *hostname, struct sockaddr *hostaddr)
{
	struct milter_conn *c;
	char	client[MILTER_ESC_MAX + 64];
	const char *hn;
	unsigned neg = 0;
	size_t	len;
	sfsistat ret;

	/* Normally negotiation made it; keep what was agreed there.  After
	 * SMFIC_QUIT_NC, close freed it: its flags wait in milter_reuse. */
	if ((c = mfwrap_getpriv(ctx)) != NULL) {
		milter_tx_reset(c);
		config_unref(c->cfg);
		c->cfg = NULL;
		c->accept_all = 0;
		memset(&c->who, 0, sizeof(c->who));
		neg = c->neg;
	} else {
		(void)milter_reuse_take(ctx, &neg);
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return (milter_connect_answer(neg, milter_fail(ctx,
			    NULL, "connect", "out of memory")));
		c->neg = neg;
	}
	hn = hostname != NULL && *hostname != '\0' ? hostname : "unknown";
	len = strnlen(hn, MILTER_NAME_MAX);
	memcpy(c->name, hn, len);
	c->name[len] = '\0';
	/* An IPv4-mapped address is logged as IPv4, as the shim does. */
	audit_addr(hostaddr, c->addr, sizeof(c->addr), &c->port);

	if ((c->cfg = c->neg_cfg) != NULL)
		c->neg_cfg = NULL;	/* handed over */
	else if ((c->cfg = config_current()) == NULL) {
		ret = milter_fail(ctx, c, "connect", "no configuration");
		(void)mfwrap_setpriv(ctx, NULL);
		milter_conn_free(c);
		return (milter_connect_answer(neg, ret));
	}
	milter_client(c, client, sizeof(client));
	if (cidr_list_match_sa(&c->cfg->exempt, hostaddr)) {
		audit_log(LOG_INFO, NULL, "event=exempt %s", client);
		if ((neg & MILTER_NEG_NR_CONN) == 0 ||
		    mfwrap_setpriv(ctx, c) != 0) {
			(void)mfwrap_setpriv(ctx, NULL);
			milter_conn_free(c);
			return (milter_connect_answer(neg, SMFIS_ACCEPT));
		}
		c->accept_all = 1;	/* MAIL answers accept */
		return (SMFIS_NOREPLY);
	}
	c->who.client_name = c->name;
	c->who.client_addr = c->addr;
	c->who.client_port = c->port;
	c->who.exempt = verdict_exempt(c->cfg, hostaddr);
	c->who.monitor = c->cfg->mode == CONFIG_MONITOR;
	if (mfwrap_setpriv(ctx, c) != 0) {
		ret = milter_fail(ctx, c, "connect", "cannot set private data");
		(void)mfwrap_setpriv(ctx, NULL);
		milter_conn_free(c);
		return (milter_connect_answer(neg, ret));
	}
	audit_debug(NULL, "event=connect %s", client);
	return (milter_connect_answer(neg, SMFIS_CONTINUE));
}

/*
 * sender-address: the patterns against the sender as the client wrote it
 * and, where it differs, as Postfix records it (addr_normal(): no source
 * route, no quotes, no final dot), so that neither "x@evil.example." nor
 * "\"spammer\"@good.example" slips past a pattern written for the plain
 * form.  The null sender is matched as the empty string.  -1 when out of
 * memory.
 */
static int
milter_check_sender(struct milter_conn *c, struct verdict *v)
{
	char   *norm;
	size_t	n;

	if (milter_pattern_fire(c, v, POLICY_SENDER_ADDRESS, c->tx.from,
	    c->tx.from_len, NULL))
		return (0);
	if ((norm = malloc(c->tx.from_len + 1)) == NULL)
		return (-1);
	n = addr_normal(c->tx.from, c->tx.from_len, norm);
	if (n != c->tx.from_len || memcmp(norm, c->tx.from, n) != 0)
		(void)milter_pattern_fire(c, v, POLICY_SENDER_ADDRESS, norm, n,
		    NULL);
	free(norm);
	return (0);
}

/** milter_envfrom(ctx, argv): MAIL FROM: start a transaction; sender-length, address-characters, sender-address. */
sfsistat
milter_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c;
	struct verdict v;
	const char *arg;

	if ((c = milter_getconn(ctx)) == NULL)
		return (milter_fail(ctx, NULL, "mail", "no connection state"));
	milter_tx_reset(c);
	if (c->accept_all)
		return (SMFIS_ACCEPT);	/* exempt: see milter_connect() */
	milter_tx_qid(ctx, &c->tx);
	arg = argv != NULL && argv[0] != NULL ? argv[0] : "";
	if ((c->tx.sender = strdup(arg)) == NULL)
		return (milter_fail(ctx, c, "mail", "out of memory"));
	addr_strip(c->tx.sender, strlen(c->tx.sender), &c->tx.from,
	    &c->tx.from_len);

	milter_verdict_init(c, &v, "mail");
	milter_over_limit(c, &v, POLICY_SENDER_LENGTH, (long long)c->tx.from_len);
	milter_check_chars(c, &v, arg, NULL, 0);
	if (milter_rule_active(c, POLICY_SENDER_ADDRESS) &&
	    milter_check_sender(c, &v) != 0)
		return (milter_fail(ctx, c, "mail", "out of memory"));
	return (milter_verdict_finish(ctx, c, &v));
}

/*
 * mail-relay: the recipient ${rcpt}'s domain (addr_domain()) is not one
 * of `domains`: fires with the domain in detail.  A recipient without a
 * domain is local and passes, unless a bang path or percent hack in it
 * may route it elsewhere: then it fires with the address in detail.
 */
static void
milter_check_relay(const struct milter_conn *c, struct verdict *v,
    const char *rcpt, size_t rcpt_len)
{
	struct audit_rule ev;
	const char *dom = NULL;
	size_t	domlen = 0;
	int	rc;

	if ((rc = addr_domain(rcpt, rcpt_len, &dom, &domlen)) == 0 ||
	    (rc > 0 && config_domain_listed(&c->cfg->rules[POLICY_MAIL_RELAY],
	    dom, domlen)))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.rule = POLICY_MAIL_RELAY;
	ev.value = 1;
	ev.limit = 0;
	ev.rcpt = rcpt;
	ev.rcpt_len = rcpt_len;
	ev.detail = rc > 0 ? dom : rcpt;
	ev.detail_len = rc > 0 ? domlen : rcpt_len;
	milter_verdict_fire(c, v, &ev);
}

/** milter_envrcpt(ctx, argv): RCPT TO: rcpt-count, address-characters, mail-relay. */
sfsistat
milter_envrcpt(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c;
	struct verdict v;
	struct audit_rule ev;
	const char *arg, *rcpt;
	size_t	rcpt_len;
	sfsistat ret;

	if ((c = milter_getconn(ctx)) == NULL)
		return (milter_fail(ctx, NULL, "rcpt", "no connection state"));
	if (c->accept_all)
		return (SMFIS_ACCEPT);
	milter_tx_qid(ctx, &c->tx);
	arg = argv != NULL && argv[0] != NULL ? argv[0] : "";
	addr_strip(arg, strlen(arg), &rcpt, &rcpt_len);

	milter_verdict_init(c, &v, "rcpt");
	c->tx.nrcpt_seen++;
	/* The count is of recipients let through; the value logged is the
	 * ordinal of this one among all the MTA asked about (SPEC 6), so
	 * that each refusal names its own recipient. */
	if (milter_rule_active(c, POLICY_RCPT_COUNT) &&
	    c->tx.nrcpt + 1 > c->cfg->rules[POLICY_RCPT_COUNT].limit) {
		memset(&ev, 0, sizeof(ev));
		ev.rule = POLICY_RCPT_COUNT;
		ev.value = c->tx.nrcpt_seen;
		ev.limit = c->cfg->rules[POLICY_RCPT_COUNT].limit;
		ev.rcpt = rcpt;
		ev.rcpt_len = rcpt_len;
		milter_verdict_fire(c, &v, &ev);
	}
	milter_check_chars(c, &v, arg, rcpt, rcpt_len);
	if (milter_rule_active(c, POLICY_MAIL_RELAY))
		milter_check_relay(c, &v, rcpt, rcpt_len);
	ret = milter_verdict_finish(ctx, c, &v);
	/* Only recipients we let through count towards rcpt-count. */
	if (ret == SMFIS_CONTINUE)
		c->tx.nrcpt++;
	return (ret);
}

/**
 * milter_header(ctx, name, value): one top-level header field: measured
 * for header-line-length (decided at end of headers), fed to the counters
 * and the MIME scanner.  No rule decides here, so a header needs no reply
 * (SMFIP_NR_HDR).
 */
sfsistat
milter_header(SMFICTX *ctx, char *name, char *value)
{
	struct milter_conn *c;
	struct mime *m;
	size_t	namelen, valuelen, len;

	if ((c = milter_getconn(ctx)) == NULL)
		return (milter_fail(ctx, NULL, "header", "no connection state"));
	if (c->tx.held != SMFIS_CONTINUE)
		return (milter_answer(c, c->tx.held, MILTER_NEG_NR_HDR));
	if (name == NULL)
		name = milter_empty;
	if (value == NULL)
		value = milter_empty;
	namelen = strlen(name);
	valuelen = strlen(value);

	if (milter_rule_pending(c, POLICY_HEADER_LINE_LENGTH) &&
	    (long long)(len = milter_header_len(c, name, namelen, value,
	    valuelen)) > c->cfg->rules[POLICY_HEADER_LINE_LENGTH].limit) {
		/* The first offender; its name kept as far as the log shows
		 * it (audit_escape() cuts at 200 octets, "..." from 201). */
		c->tx.hll = 1;
		c->tx.hll_len = (long long)len;
		c->tx.hll_kept = milter_keep_name(c->tx.hll_name,
		    sizeof(c->tx.hll_name), name, namelen);
		c->tx.fired |= 1u << POLICY_HEADER_LINE_LENGTH;
	}
	if (milter_rule_active(c, POLICY_HEADER_LENGTH))
		c->tx.hlen += milter_field_octets(c, namelen, value, valuelen);
	if (milter_rule_active(c, POLICY_HEADER_TO_COUNT) &&
	    milter_is_to(name, namelen))
		c->tx.nto++;
	if (milter_rule_active(c, POLICY_DUPLICATE_HEADER) ||
	    milter_rule_active(c, POLICY_DKIM_UNSIGNED_DUPLICATE)) {
		if (c->hc == NULL && (c->hc = milter_pool_get_hc()) == NULL)
			return (milter_answer(c, milter_fail(ctx, c, "header",
			    "out of memory"), MILTER_NEG_NR_HDR));
		c->tx.hc_used = 1;
		/*
		 * Beyond the bounds the counts are incomplete.  A sender can
		 * cause that at will (many signatures or field names), so it
		 * is a finding about the message, decided at end of headers,
		 * not an internal error that on-error = accept would wave
		 * through.
		 */
		if (hdrcount_add(c->hc, name, namelen, value, valuelen) != 0)
			c->tx.hc_overflow = 1;
	}
	if (milter_mime_pending(c)) {
		if ((m = milter_mime(c)) == NULL)
			return (milter_answer(c, milter_fail(ctx, c, "header",
			    "out of memory"), MILTER_NEG_NR_HDR));
		/* c->v stays NULL: a name found here is held for the body. */
		mime_header(m, name, namelen, value, valuelen);
	}
	return (milter_answer(c, SMFIS_CONTINUE, MILTER_NEG_NR_HDR));
}

/*
 * The header had more distinct field names or DKIM signatures than
 * hdrcount keeps (HDRCOUNT_MAX_NAMES, HDRCOUNT_MAX_SIGS): ${rule} cannot
 * be checked, so it fires (fail closed), value = limit = 0.
 */
static void
milter_eoh_overflow(const struct milter_conn *c, struct verdict *v,
    enum policy_rule rule)
{
	static const char detail[] = "too many distinct header fields or "
	    "DKIM signatures to check";
	struct audit_rule ev;

	if (!milter_rule_active(c, rule))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.rule = rule;
	ev.detail = detail;
	ev.detail_len = sizeof(detail) - 1;
	milter_verdict_fire(c, v, &ev);
}

/*
 * header-line-length, decided at end of headers for the first offender
 * (logged with stage=header, as measured there).  Returns what it
 * answers: continue, or the refusal.
 */
static sfsistat
milter_header_rules(SMFICTX *ctx, struct milter_conn *c)
{
	struct verdict v;
	struct audit_rule ev;

	milter_verdict_init(c, &v, "header");
	if (c->tx.hll) {
		c->tx.hll = 0;
		memset(&ev, 0, sizeof(ev));
		ev.rule = POLICY_HEADER_LINE_LENGTH;
		ev.value = c->tx.hll_len;
		ev.limit = c->cfg->rules[POLICY_HEADER_LINE_LENGTH].limit;
		ev.header = c->tx.hll_name;
		ev.header_len = c->tx.hll_kept;
		milter_verdict_fire(c, &v, &ev);
	}
	return (milter_verdict_finish(ctx, c, &v));
}

/* header-length and header-to-count on the whole header, in table order. */
static void
milter_eoh_totals(const struct milter_conn *c, struct verdict *v)
{
	milter_over_limit(c, v, POLICY_HEADER_LENGTH, c->tx.hlen);
	milter_over_limit(c, v, POLICY_HEADER_TO_COUNT, c->tx.nto);
}

/** milter_eoh(ctx): end of headers: header-line-length, header-length, header-to-count, duplicate-header, dkim-unsigned-duplicate. */
sfsistat
milter_eoh(SMFICTX *ctx)
{
	struct milter_conn *c;
	struct verdict v;
	struct audit_rule ev;
	struct milter_eoh e;
	const struct config_strv *names;
	unsigned n;
	size_t	i;
	sfsistat ret;

	if ((c = milter_getconn(ctx)) == NULL)
		return (milter_fail(ctx, NULL, "eoh", "no connection state"));
	if (c->tx.held != SMFIS_CONTINUE)
		return (milter_answer(c, c->tx.held, MILTER_NEG_NR_EOH));
	if (c->tx.qid[0] == '\0')
		milter_tx_qid(ctx, &c->tx);
	/* A header refused here is refused before the rules below run, as
	 * when each header was answered. */
	if ((ret = milter_header_rules(ctx, c)) != SMFIS_CONTINUE)
		return (milter_answer(c, ret, MILTER_NEG_NR_EOH));
	milter_verdict_init(c, &v, "eoh");
	milter_eoh_totals(c, &v);
	if (c->tx.hc_overflow) {
		milter_eoh_overflow(c, &v, POLICY_DUPLICATE_HEADER);
		milter_eoh_overflow(c, &v, POLICY_DKIM_UNSIGNED_DUPLICATE);
		return (milter_answer(c, milter_verdict_finish(ctx, c, &v),
		    MILTER_NEG_NR_EOH));
	}
	if (c->hc != NULL && c->tx.hc_used &&
	    milter_rule_active(c, POLICY_DUPLICATE_HEADER)) {
		names = &c->cfg->rules[POLICY_DUPLICATE_HEADER].headers;
		for (i = 0; i < names->n; i++) {
			if ((n = hdrcount_get(c->hc, names->v[i])) <= 1)
				continue;
			memset(&ev, 0, sizeof(ev));
			ev.rule = POLICY_DUPLICATE_HEADER;
			ev.value = n;
			ev.limit = 1;
			ev.header = names->v[i];	/* lower case already */
			ev.header_len = strlen(names->v[i]);
			milter_verdict_fire(c, &v, &ev);
		}
	}
	if (c->hc != NULL && c->tx.hc_used &&
	    milter_rule_active(c, POLICY_DKIM_UNSIGNED_DUPLICATE)) {
		e.c = c;
		e.v = &v;
		(void)hdrcount_dkim_unsigned(c->hc, milter_dkim_unsigned, &e);
	}
	return (milter_answer(c, milter_verdict_finish(ctx, c, &v),
	    MILTER_NEG_NR_EOH));
}

/** milter_body(ctx, buf, len): a body chunk: body-line-length, body-length (counted), the MIME rules; SMFIS_SKIP once none can fire. */
sfsistat
milter_body(SMFICTX *ctx, unsigned char *buf, size_t len)
{
	struct milter_conn *c;
	struct verdict v;
	struct mime *m;
	sfsistat ret;

	if ((c = milter_getconn(ctx)) == NULL)
		return (milter_fail(ctx, NULL, "body", "no connection state"));
	if (c->tx.held != SMFIS_CONTINUE)
		return (milter_answer(c, c->tx.held, MILTER_NEG_NR_BODY));
	if (c->tx.qid[0] == '\0')
		milter_tx_qid(ctx, &c->tx);
	milter_verdict_init(c, &v, "body");
	/* body-length: counted here, decided at end of message. */
	if (milter_rule_active(c, POLICY_BODY_LENGTH))
		c->tx.blen += len;
	if (milter_rule_pending(c, POLICY_BODY_LINE_LENGTH)) {
		if (!c->tx.lb_used) {
			linelen_body_init(&c->tx.lb, (unsigned long long)
			    c->cfg->rules[POLICY_BODY_LINE_LENGTH].limit);
			c->tx.lb_used = 1;
		}
		linelen_body_feed(&c->tx.lb, buf, len);
		milter_check_body_lines(c, &v);
	}
	milter_mime_held(c, &v);
	if (milter_mime_pending(c)) {
		if ((m = milter_mime(c)) == NULL)
			return (milter_answer(c, milter_fail(ctx, c, "body",
			    "out of memory"), MILTER_NEG_NR_BODY));
		c->v = &v;
		mime_body(m, buf, len);
		c->v = NULL;
	}
	ret = milter_verdict_finish(ctx, c, &v);
	/* Nothing more to find in this body: the MTA may keep the rest. */
	if (ret == SMFIS_CONTINUE && (c->neg & MILTER_NEG_SKIP) != 0 &&
	    !milter_whole_body(c) && !milter_mime_pending(c))
		ret = SMFIS_SKIP;
	return (milter_answer(c, ret, MILTER_NEG_NR_BODY));
}

/*
 * body-length, at end of message: the octets of the whole body as the
 * MTA passed it (chunk boundaries do not matter), logged as stage=body.
 */
static void
milter_check_body_length(const struct milter_conn *c, struct verdict *v)
{
	milter_over_limit(c, v, POLICY_BODY_LENGTH,
	    c->tx.blen > (unsigned long long)LLONG_MAX ? LLONG_MAX :
	    (long long)c->tx.blen);
}

/**
 * milter_eom(ctx): end of message: an unterminated last body line, the
 * end of the MIME structure and body-length (logged as stage=body); end
 * the transaction.
 */
sfsistat
milter_eom(SMFICTX *ctx)
{
	struct milter_conn *c;
	struct verdict v;
	struct mime *m;
	sfsistat ret;

	if ((c = milter_getconn(ctx)) == NULL)
		return (milter_fail(ctx, NULL, "eom", "no connection state"));
	if ((ret = c->tx.held) != SMFIS_CONTINUE) {
		/* Decided at a step without a reply: answered now. */
		milter_tx_reset(c);
		return (ret);
	}
	milter_tx_qid(ctx, &c->tx);
	milter_verdict_init(c, &v, "body");
	if (c->tx.lb_used && milter_rule_pending(c, POLICY_BODY_LINE_LENGTH)) {
		linelen_body_finish(&c->tx.lb);
		milter_check_body_lines(c, &v);
	}
	milter_mime_held(c, &v);
	if (c->tx.mime_used && milter_mime_pending(c)) {
		c->v = &v;
		mime_end(c->mime);
		c->v = NULL;
	} else if (!c->tx.mime_used && milter_mime_pending(c) &&
	    (milter_rule_active(c, POLICY_MIME_TYPE) ||
	    milter_rule_active(c, POLICY_MIME_ENCODING))) {
		/* No header and no body reached the scanner: the message is
		 * still one text/plain 7bit entity. */
		if ((m = milter_mime(c)) == NULL)
			return (milter_fail(ctx, c, "eom", "out of memory"));
		c->v = &v;
		mime_end(m);
		c->v = NULL;
	}
	milter_check_body_length(c, &v);
	ret = milter_verdict_finish(ctx, c, &v);
	if (ret == SMFIS_CONTINUE)
		counters_verdict(COUNTERS_ACCEPT);
	milter_tx_reset(c);
	return (ret);
}

/** milter_abort(ctx): the transaction was aborted (RSET, refused message): reset it. */
sfsistat
milter_abort(SMFICTX *ctx)
{
	struct milter_conn *c;

	if ((c = mfwrap_getpriv(ctx)) != NULL)
		milter_tx_reset(c);
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
	if (c->cfg != NULL) {
		milter_client(c, client, sizeof(client));
		audit_debug(NULL, "event=disconnect %s", client);
	}
	/* For a connect on this context without negotiation (QUIT_NC). */
	milter_reuse_put(ctx, c->neg);
	(void)mfwrap_setpriv(ctx, NULL);
	milter_conn_free(c);
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
	.xxfi_header = milter_header,
	.xxfi_eoh = milter_eoh,
	.xxfi_body = milter_body,
	.xxfi_eom = milter_eom,
	.xxfi_abort = milter_abort,
	.xxfi_close = milter_close,
	.xxfi_unknown = NULL,
	.xxfi_data = NULL,
	.xxfi_negotiate = milter_negotiate,
};
