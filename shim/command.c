/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * command.c - the command side of the shim: what the client sends,
 * framed as the MTA frames it, checked, forwarded or refused (SPEC 5.3,
 * 5.5, 5.6).
 *
 * Interface: shim.h, "command.c".  Calls session.c, tls.c, pipe.c and the
 * pure modules (smtpframe.c reads lines and content, verb.c says what a
 * line's verb asks for); answer.c only through the pending queue: each
 * forwarded command, and each reply of the shim's own while the MTA's are
 * outstanding, is pushed with what its reply will mean.
 *
 * Invariants:
 * - The shim frames every octet as the MTA does (SPEC 5.6): a command
 *   line is split as Postfix splits it (smtpframe_cmd()), and what follows
 *   a forwarded command is decided by verb.c's table: after DATA, AUTH
 *   (and each AUTH continuation), STARTTLS, QUIT and any verb the table
 *   does not know, client input is not parsed until the upstream has
 *   answered (s->hold); a BDAT chunk is counted, and BDAT is only
 *   forwarded when both sides read the same count.  Monitor mode changes
 *   what is refused, never how octets are framed.
 * - The line checks (bare LF, length, verb policy) are all in
 *   command_line(), in that order, before anything is forwarded.
 * - The framer holds one command line (its buffer grows only while a
 *   line does); the client is not read while either output holds more
 *   than SESSION_OUT_MAX or the pending queue is full.
 * - Message content is never buffered whole: DATA and BDAT octets move
 *   from the client's input to the upstream's output as they arrive
 *   (evbuffer_remove_buffer moves chains, it does not copy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <event2/buffer.h>

#include "config.h"
#include "counters.h"
#include "ehlo.h"
#include "invrcpt.h"
#include "proxy.h"
#include "shim.h"
#include "smtpframe.h"
#include "verb.h"

/*
 * A refusal of the shim's own (500, 501, 502, 503) to a command that is
 * not forwarded: counted, and the one beyond hard-error-limit ends the
 * session with 421 instead (SPEC 5.7), so that junk lines cost neither
 * a log line nor a reply each for ever.
 */
static void
refusal(struct session *s, const char *reply)
{
	int	limit = s->cfg->shim.hard_error_limit;

	if (++s->errors > (unsigned)limit) {
		ev_log(s, LOG_WARNING, "event=limit action=drop-connection "
		    "value=%u limit=%d", "hard-error-limit", 16, 0, s->errors,
		    limit);
		session_reason(s, COUNTERS_LIMIT);
		counters_limit(COUNTERS_HARD_ERRORS);
		close_with(s, shim_reply(SR_TOO_MANY_ERRORS));
		return;
	}
	local_reply(s, reply);
}

/* A command line the framer found too long (or over the AUTH cap). */
static void
line_too_long(struct session *s, size_t len, size_t limit)
{
	enum policy_action act = rule_action(s, POLICY_CMD_LINE_LENGTH);
	const char *text = s->cfg->rules[POLICY_CMD_LINE_LENGTH].reply;
	char	line[POLICY_REPLY_TEXT_MAX + 32];

	if (act == POLICY_NONE || act == POLICY_LOG || s->who.monitor)
		act = POLICY_REJECT;	/* the hard cap: not buffered whole */
	rule_fire(s, POLICY_CMD_LINE_LENGTH, act, (long long)len,
	    (long long)limit, "command", NULL);
	if (act == POLICY_DROP_CONNECTION) {
		drop_for(s, POLICY_CMD_LINE_LENGTH);
		return;
	}
	(void)snprintf(line, sizeof(line), "500 5.5.2 %s\r\n",
	    text != NULL && *text != '\0' ? text : "Line too long");
	refusal(s, line);
}

/* Not permitted, command-other = mask: only X's and the terminator
 * reach the MTA, an unknown command after which it reads the next line. */
static void
forward_masked(struct session *s, const unsigned char *line, size_t len)
{
	struct evbuffer *out = pipe_out(&s->u);
	struct evbuffer_iovec v;

	if (evbuffer_reserve_space(out, len, &v, 1) < 1) {
		internal_error(s, "out of memory");
		return;
	}
	memcpy(v.iov_base, line, len);
	ehlo_mask_command(v.iov_base, len);
	v.iov_len = len;
	trace(s, "command", v.iov_base, len);
	(void)evbuffer_commit_space(out, &v, 1);
	(void)pend_push(s, P_OTHER, NULL);
}

/*
 * BDAT (SPEC 5.6): forwarded only when the MTA reads the same chunk size
 * (smtpframe_bdat_arg()) and offered CHUNKING, in every mode; the chunk is
 * then counted through the framer.  Returns 0 to forward, -1 when the
 * line was refused (or the session ended).
 */
static int
bdat(struct session *s, const unsigned char *line, size_t len)
{
	unsigned long long size;
	const char *err;
	int	last;

	err = s->chunking ? smtpframe_bdat_arg(line, len, &size, &last) :
	    "CHUNKING not offered";
	if (err != NULL) {
		ev_log(s, LOG_WARNING, "event=bdat action=reject", err,
		    strlen(err), 0);
		refusal(s, shim_reply(SR_BDAT_SYNTAX));
		return (-1);
	}
	if (size > 0) {
		if (smtpframe_bdat(s->fr, size) != 0) {
			internal_error(s, "BDAT after a partial line");
			return (-1);
		}
		s->content = C_BDAT;
	}
	s->bdat_last = last;
	if (last)
		trace(s, "bdat-last", "", 0);
	return (0);
}

/* bare-linefeed and cmd-line-length on a line.  Returns -1 when refused. */
static int
line_checks(struct session *s, size_t len, unsigned bare, const char *verb)
{
	enum policy_action act;
	size_t	limit;

	if (bare > 0 && (act = rule_action(s, POLICY_BARE_LINEFEED)) !=
	    POLICY_NONE) {
		rule_fire(s, POLICY_BARE_LINEFEED, act, bare, 0, "command",
		    NULL);
		if (act == POLICY_DROP_CONNECTION && !s->who.monitor) {
			drop_for(s, POLICY_BARE_LINEFEED);
			return (-1);
		}
	}
	limit = (size_t)s->cfg->rules[POLICY_CMD_LINE_LENGTH].limit;
	if (verb != NULL && strcmp(verb, "AUTH") == 0 &&
	    limit < SESSION_AUTH_LINE)
		limit = SESSION_AUTH_LINE;
	act = rule_action(s, POLICY_CMD_LINE_LENGTH);
	if (act != POLICY_NONE && len > limit) {
		if (!s->who.monitor && act != POLICY_LOG) {
			line_too_long(s, len, limit);
			return (-1);
		}
		rule_fire(s, POLICY_CMD_LINE_LENGTH, act, (long long)len,
		    (long long)limit, "command", NULL);
	}
	return (0);
}

/*
 * One complete command line from the client: the checks, then what
 * verb_plan() says, then forwarded with an entry in the pending queue.
 */
static void
command_line(struct session *s, const unsigned char *line, size_t len,
    unsigned bare)
{
	struct smtpframe_cmd cmd;
	struct verb_plan plan;
	struct verb_ctx ctx;
	const char *verb;
	char   *text = NULL;
	size_t	w;

	s->commands++;
	verb = smtpframe_cmd(line, len, &cmd) == NULL ? cmd.verb : NULL;
	if (line_checks(s, len, bare, verb) != 0)
		return;
	ctx.cfg = &s->cfg->shim;
	ctx.terminate = s->tls_ctx != NULL;
	ctx.tls_on = s->c.tls;
	ctx.monitor = s->who.monitor;
	verb_plan(verb, &ctx, &plan);
	if (plan.policy != VERB_DO_FORWARD) {
		/* SPEC 6: what monitor mode only logs is a notice. */
		w = cmd.wordlen < 32 ? cmd.wordlen : 32;
		ev_log(s, s->who.monitor ? LOG_NOTICE : LOG_WARNING,
		    "event=command action=%s", (const char *)cmd.word, w,
		    s->who.monitor, plan.policy == VERB_DO_REJECT ? "reject" :
		    "mask");
		counters_match(COUNTERS_COMMAND_OTHER, plan.policy ==
		    VERB_DO_REJECT ? POLICY_REJECT : COUNTERS_MASK,
		    s->who.monitor);
	}
	switch (plan.what) {
	case VERB_DO_REJECT:
		refusal(s, shim_reply(SR_NOT_PERMITTED));
		return;
	case VERB_DO_MASK:
		forward_masked(s, line, len);
		return;
	case VERB_DO_TLS_ACTIVE:
		refusal(s, shim_reply(SR_TLS_ACTIVE));
		return;
	case VERB_DO_TLS:
		/* The shim's own, never forwarded: once earlier replies
		 * are out (answer.c meets P_TLSGO at the head). */
		s->hold = 1;
		if (pendq_len(&s->pq) == 0)
			starttls_terminate(s);
		else
			(void)pend_push(s, P_TLSGO, NULL);
		return;
	case VERB_DO_BDAT:
		if (bdat(s, line, len) != 0)
			return;
		break;
	case VERB_DO_FORWARD:
		break;
	}
	/* invalid-recipients logs the address its reply refuses. */
	if (plan.reply == P_RCPT &&
	    rule_action(s, POLICY_INVALID_RECIPIENTS) != POLICY_NONE &&
	    (text = invrcpt_addr(cmd.arg, cmd.arglen)) == NULL) {
		internal_error(s, "out of memory");
		return;
	}
	if (plan.quit)
		s->quit_sent = 1;
	if (evbuffer_add(pipe_out(&s->u), line, len) != 0) {
		free(text);
		internal_error(s, "out of memory");
		return;
	}
	trace(s, "command", line, len);
	if (pend_push(s, plan.reply, text) != 0)
		free(text);
	else if (plan.reply == P_BDAT) {
		pendq_last(&s->pq)->last = s->bdat_last;
		if (s->content == C_BDAT)
			pendq_last(&s->pq)->open = 1;
	}
	if (plan.hold)
		s->hold = 1;
}

/*
 * DATA or BDAT octets from the framer (SPEC 5.6).  ${ev} points into the
 * head of the client's input buffer; ${n} octets were consumed.
 */
static void
content(struct session *s, const struct smtpframe_ev *ev, size_t n)
{
	struct evbuffer *in = pipe_in(&s->c);
	struct evbuffer *out = pipe_out(&s->u);
	enum policy_action act;

	if (ev->ambiguous) {
		/*
		 * "." on a line of its own, delimited by a bare LF or
		 * followed by extra CRs: Postfix 3.7 would end the message
		 * there, CRLF.CRLF does not.  The two readings must never
		 * differ, so this drops the session whatever the action.
		 */
		(void)evbuffer_remove_buffer(in, out, ev->len);
		(void)evbuffer_drain(in, n - ev->len);
		s->who.monitor = 0;
		rule_fire(s, POLICY_BARE_LINEFEED, POLICY_DROP_CONNECTION,
		    ev->bare ? ev->bare : 1, 0, "data",
		    "ambiguous end of data");
		drop_for(s, POLICY_BARE_LINEFEED);
		return;
	}
	if (ev->bare > 0 && s->content == C_DATA &&
	    (act = rule_action(s, POLICY_BARE_LINEFEED)) != POLICY_NONE) {
		if (act == POLICY_DROP_CONNECTION && !s->who.monitor) {
			(void)evbuffer_drain(in, n);
			rule_fire(s, POLICY_BARE_LINEFEED, act, ev->bare, 0,
			    "data", NULL);
			drop_for(s, POLICY_BARE_LINEFEED);
			return;
		}
		if (!s->bare_logged)
			rule_fire(s, POLICY_BARE_LINEFEED, act, ev->bare, 0,
			    "data", NULL);
		s->bare_logged = 1;
	}
	(void)evbuffer_remove_buffer(in, out, ev->len);
	if (n > ev->len)
		(void)evbuffer_drain(in, n - ev->len);
	if (ev->end) {
		if (s->content == C_DATA) {
			(void)pend_push(s, P_DATAEND, NULL);
			trace(s, "data-end", "", 0);
		} else if (pendq_len(&s->pq) > 0)
			/* No command is read inside a chunk: its BDAT is
			 * still the last entry. */
			pendq_last(&s->pq)->open = 0;
		s->content = C_NONE;
	}
	session_arm(s);			/* content moved: progress */
}

/*
 * An AUTH continuation line (after 334): relayed as data up to its LF,
 * never parsed (SPEC 5); then wait for the next reply.
 */
static void
auth_continue(struct session *s)
{
	struct evbuffer *in = pipe_in(&s->c);
	struct evbuffer *out = pipe_out(&s->u);
	struct evbuffer_ptr p;

	p = evbuffer_search(in, "\n", 1, NULL);
	if (p.pos < 0) {
		(void)evbuffer_remove_buffer(in, out, evbuffer_get_length(in));
		return;
	}
	(void)evbuffer_remove_buffer(in, out, (size_t)p.pos + 1);
	trace(s, "auth", "", 0);	/* a line, its octets not kept */
	s->auth_cont = 0;
	s->hold = 1;
	(void)pend_push(s, P_AUTH, NULL);
	session_arm(s);			/* a complete line: progress */
}

/*
 * A PROXY header from a client not in accept-proxy-from closes the
 * session: only a trusted balancer may say who the client is (a trusted
 * one's was read by endpoint.c; a second one is not).  Returns 1 when
 * command_process() must stop (closed, or too few octets to tell).
 */
static int
sniff_proxy(struct session *s, struct evbuffer *in)
{
	unsigned char sig[12];
	ev_ssize_t n;

	n = evbuffer_copyout(in, sig, sizeof(sig));
	switch (proxy_sniff(sig, n > 0 ? (size_t)n : 0)) {
	case 0:
		s->sniffed = 1;
		return (0);
	case 1:
		ev_log(s, LOG_WARNING, "event=proxy-error",
		    "PROXY header from a client not in accept-proxy-from",
		    51, 0);
		session_reason(s, COUNTERS_POLICY);
		close_with(s, NULL);
		return (1);
	default:
		return (1);
	}
}

/* A line over the framer's cap. */
static void
too_long(struct session *s, size_t len)
{
	enum policy_action act = rule_action(s, POLICY_CMD_LINE_LENGTH);

	/* The rule's limit when it is enforcing, else the hard cap is what
	 * refused. */
	line_too_long(s, len, !s->who.monitor && (act == POLICY_REJECT ||
	    act == POLICY_DROP_CONNECTION) ?
	    (size_t)s->cfg->rules[POLICY_CMD_LINE_LENGTH].limit :
	    s->fr->limit);
}

/**
 * command_process(s): client input in CMD: frame, inspect, forward, as
 * far as the held replies, the outputs and the pending queue allow.
 */
void
command_process(struct session *s)
{
	struct evbuffer *in;
	struct evbuffer_iovec v;
	struct smtpframe_ev ev;
	size_t	n;

	while (!s->dead && s->state == S_CMD && !s->hold &&
	    s->u.bev != NULL && !s->u.shut) {
		/* Either output full: no more until it drains (the
		 * shim's own replies fill the client's). */
		if (pipe_outlen(&s->u) > SESSION_OUT_MAX ||
		    pipe_outlen(&s->c) > SESSION_OUT_MAX) {
			pipe_pause(&s->c);
			return;
		}
		/* Room for a reply of our own too; resumed by the replies. */
		if (pendq_len(&s->pq) >= PENDQ_MAX - 1)
			break;
		in = pipe_in(&s->c);
		if (evbuffer_get_length(in) == 0)
			break;
		if (s->auth_cont) {
			auth_continue(s);
			continue;
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		if (!s->sniffed && sniff_proxy(s, in))
			return;
		memset(&ev, 0, sizeof(ev));
		n = smtpframe_feed(s->fr, v.iov_base, v.iov_len, &ev);
		switch (ev.type) {
		case SMTPFRAME_NEED:
			(void)evbuffer_drain(in, n);
			break;
		case SMTPFRAME_LINE:
			/* ev.data is the framer's own copy. */
			(void)evbuffer_drain(in, n);
			session_arm(s);	/* a complete line: progress */
			command_line(s, ev.data, ev.len, ev.bare);
			break;
		case SMTPFRAME_TOOLONG:
			(void)evbuffer_drain(in, n);
			session_arm(s);
			too_long(s, ev.len);
			break;
		case SMTPFRAME_CONTENT:
			content(s, &ev, n);
			break;
		default:
			internal_error(s, "framer failed");
			return;
		}
	}
	/* Not while paused: the resume waits for the write callback. */
	if (!s->dead && !s->c.paused)
		pipe_write_now(&s->u);
}

/**
 * command_resume(s): the one call from the reply side: a reply has come
 * (or the greeting has gone), so held client input may be read on.
 */
void
command_resume(struct session *s)
{
	command_process(s);
}
