/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * answer.c - the reply side of the shim: what the MTA answers, paired
 * with what it answers (SPEC 5.1, 5.2, 5.6).
 *
 * Interface: shim.h, "answer.c".  Calls session.c, tls.c, pipe.c and the
 * pure modules; command.c only through command_resume(), once a reply
 * lets the client's held input be read.
 *
 * Invariants:
 * - Every command forwarded upstream, and every reply the shim makes
 *   itself while upstream replies are outstanding, has an entry in the
 *   pending queue (pending.c); each complete upstream reply answers the
 *   head entry, so replies reach the client in command order, pipelining
 *   included.  An upstream reply with no upstream entry at the head, or
 *   one that does not fit the command it answers, is a desync: the
 *   session ends (SPEC 5.6), since the MTA has read something the shim
 *   did not frame.
 * - The reply parser holds one reply and exists only while a reply is
 *   arriving, so idle sessions stay small.
 * - The upstream is not read while the client's output holds more than
 *   SESSION_OUT_MAX: a client that does not read stops the MTA.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <event2/buffer.h>

#include "banner.h"
#include "config.h"
#include "counters.h"
#include "ehlo.h"
#include "invrcpt.h"
#include "shim.h"
#include "smtpframe.h"

/* Scratch space for rewriting one reply; the shim is single-threaded.
 * A greeting is rewritten into its first BANNER_MAX octets. */
#define BANNER_MAX	(SMTPFRAME_REPLY_MAX + 1024)
static char scratch[2 * SMTPFRAME_REPLY_MAX + 16];

/* The greeting, with banner = pass | mask | asterisks (SPEC 5.1). */
static void
send_banner(struct session *s, const char *buf, size_t len, int code)
{
	const struct config_shim *c = &s->cfg->shim;
	const char *action = NULL;
	ssize_t	n = -1;

	if (code == 220 && c->banner == CONFIG_BANNER_ASTERISKS) {
		action = "asterisks";
		n = banner_asterisks(buf, len, scratch, BANNER_MAX);
	} else if (code == 220 && c->banner == CONFIG_BANNER_MASK) {
		action = "mask";
		n = banner_mask(buf, len, c->banner_text, s->hostname, scratch,
		    BANNER_MAX);
	}
	if (action == NULL || n < 0) {
		to_client(s, buf, len);
		return;
	}
	ev_log(s, LOG_NOTICE, "event=banner action=%s", NULL, 0,
	    s->who.monitor, action);
	counters_match(COUNTERS_BANNER, *action == 'm' ? COUNTERS_MASK :
	    COUNTERS_ASTERISKS, s->who.monitor);
	if (s->who.monitor)
		to_client(s, buf, len);
	else
		to_client(s, scratch, (size_t)n);
}

/*
 * The EHLO reply, with ehlo-other and starttls (SPEC 5.2, 5.4): STARTTLS
 * advertised once when allowed or terminated (the shim's own then),
 * never when stripped, whatever ehlo-other is.
 */
static void
send_ehlo(struct session *s, const char *buf, size_t len)
{
	const struct config_shim *c = &s->cfg->shim;
	char	list[1024];
	size_t	outlen;
	unsigned changed;
	const char *err;

	err = ehlo_client_reply(buf, len, c, s->who.monitor,
	    s->tls_ctx != NULL && !s->c.tls, scratch, sizeof(scratch), &outlen,
	    list, sizeof(list), &changed);
	if (err != NULL) {
		/* Not a reply the rewrite can read: pass none of it. */
		internal_error(s, "EHLO reply not well formed");
		return;
	}
	if (changed > 0) {
		ev_log(s, LOG_NOTICE, "event=ehlo action=%s value=%u", list,
		    strlen(list), s->who.monitor,
		    c->ehlo_other == CONFIG_EHLO_MASK ? "mask" : "strip",
		    changed);
		counters_match(COUNTERS_EHLO_OTHER, c->ehlo_other ==
		    CONFIG_EHLO_MASK ? COUNTERS_MASK : COUNTERS_STRIP,
		    s->who.monitor);
	}
	to_client(s, scratch, outlen);
}

/*
 * An upstream reply that answers no pending command, or not the command
 * it answers (SPEC 5.6): the MTA has read octets the shim framed
 * otherwise.  Nothing more is relayed either way.
 */
static void
desync(struct session *s, const char *reply, size_t len, const char *why)
{
	char	d[256];
	size_t	n;

	for (n = 0; n < len && n < 120 && reply[n] != '\r' && reply[n] != '\n';
	    n++)
		;
	(void)snprintf(d, sizeof(d), "%s: %.*s", why, (int)n, reply);
	ev_log(s, LOG_WARNING, "event=desync", d, strlen(d), 0);
	session_reason(s, COUNTERS_DESYNC);
	close_with(s, shim_reply(SR_CLOSING));
}

/* Send the shim's own replies that are now at the head of the queue. */
static void
pend_flush_local(struct session *s)
{
	struct pend *p, e;

	while ((p = pendq_head(&s->pq)) != NULL &&
	    (p->kind == P_LOCAL || p->kind == P_TLSGO)) {
		e = pendq_pop(&s->pq);
		if (e.kind == P_TLSGO) {
			starttls_terminate(s);
			return;
		}
		to_client(s, e.text, strlen(e.text));
		free(e.text);
	}
}

/** answer_greeted(s, buf, len, code): the greeting goes to the client: commands may come. */
void
answer_greeted(struct session *s, const char *buf, size_t len, int code)
{
	session_enter(s, S_CMD);
	send_banner(s, buf, len, code);
	pipe_read_set(&s->c, 1);
	command_resume(s);
}

/*
 * The MTA's reply to a RCPT: invalid-recipients (SPEC 4.2) counts the
 * refusals of the session (invrcpt.c says which replies are refusals)
 * and fires on each one beyond its limit, with the address and the
 * reply's first line in the log.  The reply goes to the client in every
 * case: it is the MTA's true answer for that recipient.  drop-connection
 * follows it with 421 and closes both sides at once, so no reply the MTA
 * sent after it (pipelined RCPTs, DATA) reaches the client.  Returns -1
 * when the session ended here, else 0: relay the reply.
 */
static int
rcpt_answered(struct session *s, const struct pend *e, const char *buf,
    size_t len, int code)
{
	long long limit = s->cfg->rules[POLICY_INVALID_RECIPIENTS].limit;
	struct audit_rule ev;
	size_t	n;

	if (rule_action(s, POLICY_INVALID_RECIPIENTS) == POLICY_NONE ||
	    invrcpt_answer(&s->rcpt_refused, e, code, limit) != INVRCPT_FIRE)
		return (0);
	for (n = 0; n < len && buf[n] != '\r' && buf[n] != '\n'; n++)
		;
	memset(&ev, 0, sizeof(ev));
	ev.rule = POLICY_INVALID_RECIPIENTS;
	ev.value = (long long)s->rcpt_refused;
	ev.limit = limit;
	ev.rcpt = e->text;
	ev.rcpt_len = e->text != NULL ? strlen(e->text) : 0;
	ev.detail = buf;
	ev.detail_len = n;
	if (rule_fire_ev(s, &ev, "rcpt") != POLICY_DROP_CONNECTION ||
	    s->who.monitor)
		return (0);
	to_client(s, buf, len);
	drop_for(s, POLICY_INVALID_RECIPIENTS);
	return (-1);
}

/*
 * What a reply to ${kind} does besides going to the client.  Returns 1
 * when it was sent (or the session ended) here, -1 to stop, 0 to relay
 * the reply as it is.
 */
static int
answered(struct session *s, const struct pend *e, const char *buf,
    size_t len, int code)
{
	int	open = e->open;

	switch (e->kind) {
	case P_EHLO:
		if (code == 250) {
			hatch(s);
			s->chunking = ehlo_offers(buf, len, "CHUNKING");
			send_ehlo(s, buf, len);
			return (1);
		}
		break;
	case P_HELO:
		if (code == 250) {
			hatch(s);
			s->chunking = 0;	/* no extensions after HELO */
		}
		break;
	case P_BDAT:
		/* verb.c: answered before the whole chunk was relayed, or
		 * with 530, the MTA did not read the chunk as one. */
		if (open || code == 530) {
			desync(s, buf, len, open ? "BDAT answered before its "
			    "chunk" : "BDAT chunk not read");
			return (-1);
		}
		if (e->last && code / 100 == 2)
			s->messages++;
		break;
	case P_QUIT:
		if (code != 221)
			s->hold = 0;
		else {
			/* A QUIT held behind DATA or AUTH when the client
			 * half-closed: its 221 says how the session ended. */
			if (s->reason == COUNTERS_CLIENT_CLOSE)
				s->reason_set = 0;
			session_reason(s, COUNTERS_QUIT);
		}
		break;
	case P_UNKNOWN:
		s->hold = 0;
		break;
	case P_RCPT:
		return (rcpt_answered(s, e, buf, len, code));
	case P_DATA:
		s->hold = 0;
		if (code == 354) {
			if (smtpframe_data(s->fr) != 0) {
				internal_error(s, "DATA after a partial line");
				return (-1);
			}
			s->content = C_DATA;
			s->bare_logged = 0;
		}
		break;
	case P_DATAEND:
		s->dataend--;
		if (code / 100 == 2)
			s->messages++;
		break;
	case P_AUTH:
		s->hold = 0;
		if (code == 334)
			s->auth_cont = 1;
		break;
	case P_STARTTLS:
		s->hold = 0;
		if (code == 220) {
			starttls_allow(s, buf, len);
			return (-1);
		}
		/* Refused: what the client pipelined after it goes anyway. */
		if (discard_pipelined(s) != 0)
			return (-1);
		break;
	default:
		break;
	}
	return (0);
}

/* One complete upstream reply in s->rp. */
static void
handle_reply(struct session *s)
{
	const char *buf = (const char *)s->rp->buf;
	size_t	len = s->rp->len;
	int	code = s->rp->code, r;
	struct pend *head, e;

	if (s->state == S_GREET) {
		if (s->tls_uctx != NULL && uptls_reply(s, buf, len, code))
			return;
		answer_greeted(s, buf, len, code);
		return;
	}
	/* P_LOCAL and P_TLSGO never wait at the head for an upstream reply
	 * (pend_flush_local() runs after every reply): one there is as
	 * unsolicited as a reply to nothing (an MTA's 421 before closing
	 * among them; SPEC 5.6 has no exception). */
	if ((head = pendq_head(&s->pq)) == NULL || head->kind == P_LOCAL ||
	    head->kind == P_TLSGO) {
		desync(s, buf, len, "reply to no command");
		return;
	}
	e = pendq_pop(&s->pq);
	/* Only DATA is answered 354 and only AUTH 334: any other command
	 * so answered was read by the MTA as one of them. */
	if ((code == 354 && e.kind != P_DATA) ||
	    (code == 334 && e.kind != P_AUTH)) {
		free(e.text);
		desync(s, buf, len, "reply does not fit the command");
		return;
	}
	r = answered(s, &e, buf, len, code);
	free(e.text);			/* P_RCPT's address */
	if (r < 0)
		return;
	if (r == 0)
		to_client(s, buf, len);
	if (s->dead || s->state != S_CMD)
		return;
	pend_flush_local(s);
	session_arm(s);
	command_resume(s);
}

/**
 * answer_process(s): upstream input in GREET and CMD: complete replies,
 * one at a time, as long as the client's output has room.
 */
void
answer_process(struct session *s)
{
	struct evbuffer *in;
	struct evbuffer_iovec v;
	const char *err;
	size_t	used;

	while (!s->dead && s->u.bev != NULL &&
	    (s->state == S_GREET || s->state == S_CMD)) {
		if (pipe_outlen(&s->c) > SESSION_OUT_MAX) {
			pipe_pause(&s->u);
			return;
		}
		in = pipe_in(&s->u);
		if (evbuffer_get_length(in) == 0)
			break;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		if (s->rp == NULL) {
			if ((s->rp = malloc(sizeof(*s->rp))) == NULL) {
				internal_error(s, "out of memory");
				return;
			}
			smtpframe_reply_init(s->rp);
		}
		used = 0;
		err = smtpframe_reply_feed(s->rp, v.iov_base, v.iov_len, &used);
		if (err != NULL) {
			ev_log(s, LOG_ERR, "event=upstream-error", err,
			    strlen(err), 0);
			session_reason(s, COUNTERS_ERROR_CLOSE);
			close_with(s, shim_reply(SR_UNAVAILABLE));
			return;
		}
		(void)evbuffer_drain(in, used);
		if (!s->rp->done)
			continue;
		handle_reply(s);
		if (s->rp != NULL && s->u.bev != NULL &&
		    evbuffer_get_length(pipe_in(&s->u)) == 0) {
			free(s->rp);
			s->rp = NULL;
		}
	}
	if (!s->dead && s->state == S_CMD && !s->u.paused)
		pipe_write_now(&s->c);
}
