/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.c - the life of one shim session (SPEC 5): its state, its one
 * timer, its log lines and rule decisions, closing, and the single
 * teardown.
 *
 * Interface: shim.h, "session.c".  Below it only pipe.c and the pure
 * modules; what happens on the wire in each state is relay.c's, and the
 * end of a session goes to the server through s->ended.
 *
 * A session joins a client to its own upstream connection.  States:
 * CONNECT (upstream connecting: until its first octet or an error),
 * GREET (waiting for the rest of the upstream greeting, and with
 * upstream-tls for the shim's own STARTTLS towards it; client input not
 * read yet), CMD (inspected SMTP), BLIND (byte relay: after STARTTLS
 * allow, or an exempt client), CLOSING (a final reply is being flushed
 * to the client; the upstream is already closed).  With starttls =
 * terminate the client side becomes a TLS filter in CMD, and inspection
 * goes on above it.  A client behind a trusted balancer has had its
 * PROXY header read by endpoint.c before its session exists.
 *
 * Invariants:
 * - Every state change goes through session_enter(), which re-arms the
 *   timer for the new phase and traces it under -d.
 * - Every session has exactly one timeout, that of its phase, re-armed
 *   by progress (session_arm()): a complete command line or AUTH line,
 *   content relayed, an upstream reply, any octet of a blind relay; never
 *   by the octets of an unfinished command line.  Until HELO/EHLO is
 *   answered 250 it never runs past the embryonic deadline, fixed at
 *   admission.
 * - When the upstream has ended, the replies it sent before still go to
 *   the client as it takes them, and the session ends SESSION_LINGER
 *   after the client's last progress (upstream_gone()); when both peers
 *   have closed it ends at once.  A closing session shuts its write side
 *   towards the client (after TLS's close_notify inside TLS) and waits at
 *   most SESSION_LINGER for the client's end.
 * - session_drop() is the one teardown, safe from any state; it frees
 *   the pipes at once and the session itself from the event loop, so
 *   code up the call stack may still test s->dead after anything that
 *   can drop it.
 * - Every rule decision goes through the common verdict engine
 *   (common/verdict.c), as the milter's do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "audit.h"
#include "config.h"
#include "limit.h"
#include "shim.h"
#include "smtpframe.h"

long long
mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* An event of this session: its log line (client_vlog()). */
void
ev_log(struct session *s, int level, const char *pre, const char *detail,
    size_t dlen, int monitor, ...)
{
	va_list	ap;

	va_start(ap, monitor);
	client_vlog(&s->cl, level, pre, detail, dlen, monitor, ap);
	va_end(ap);
}

/*
 * -d only: how the shim framed what it forwarded, one line per command
 * line ("command"), AUTH continuation line ("auth"), and message end
 * ("data-end" at CRLF.CRLF, "bdat-last" at a BDAT LAST), so that the
 * session fuzzer (tests/fuzz/fuzz-sessions) can compare it with what the
 * MTA read.  The line is escaped, its terminator left out.
 */
void
trace(struct session *s, const char *frame, const void *line, size_t len)
{
	char	esc[AUDIT_LINE_MAX];
	const char *p = line;

	if (!audit_debugging())
		return;
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	(void)audit_escape(esc, sizeof(esc), p, len);
	audit_debug(s->cl.id, "frame=%s line=\"%s\"", frame, esc);
}

/* The action of ${rule} for this session: none when off or exempt. */
enum policy_action
rule_action(const struct session *s, enum policy_rule rule)
{
	return (verdict_active(s->cfg, &s->who, rule));
}

/*
 * ${ev->rule} fired at ${stage}, with the fields of ${ev} the caller
 * knows (rcpt=, detail=; the action is the rule's unless ${ev->action}
 * is set): the log line (unless log = no).  Returns the action fired with.
 */
enum policy_action
rule_fire_ev(struct session *s, struct audit_rule *ev, const char *stage)
{
	struct verdict v;

	verdict_init(&v, s->cfg, &s->who, stage);
	return (verdict_fire(&v, ev));
}

/* ${rule} fired with ${action}: the log line (unless log = no). */
void
rule_fire(struct session *s, enum policy_rule rule, enum policy_action action,
    long long value, long long limit, const char *stage, const char *detail)
{
	struct audit_rule ev;

	memset(&ev, 0, sizeof(ev));
	ev.rule = rule;
	ev.action = action;
	ev.value = value;
	ev.limit = limit;
	ev.detail = detail;
	ev.detail_len = detail != NULL ? strlen(detail) : 0;
	(void)rule_fire_ev(s, &ev, stage);
}

/* Octets to the client (counted by the pipe). */
void
to_client(struct session *s, const void *data, size_t len)
{
	if (s->c.bev == NULL || s->c.shut)
		return;
	(void)evbuffer_add(pipe_out(&s->c), data, len);
}

/*
 * session_arm(s): the timeout of the session's phase, from now: called on
 * progress (see the invariants).  An embryonic session's timer never runs
 * past its embryonic deadline, however it progresses.
 */
void
session_arm(struct session *s)
{
	const struct config_shim *c = &s->cfg->shim;
	struct timeval tv = { 0, 0 };
	long long left;

	switch (s->state) {
	case S_CONNECT:
	case S_GREET:
		tv.tv_sec = c->connect_timeout;
		break;
	case S_CMD:
		tv.tv_sec = s->content != C_NONE || s->dataend > 0 ?
		    c->data_timeout : c->command_timeout;
		break;
	case S_BLIND:
		tv.tv_sec = c->command_timeout;
		break;
	case S_CLOSING:
		tv.tv_sec = SESSION_LINGER;
		break;
	}
	if (s->u_gone && (s->state == S_CMD || s->state == S_BLIND))
		tv.tv_sec = SESSION_LINGER;
	if (s->embryonic && s->embryonic_end > 0 && s->state != S_CLOSING &&
	    (left = s->embryonic_end - mono_ms()) < tv.tv_sec * 1000LL) {
		if (left < 0)
			left = 0;
		tv.tv_sec = (time_t)(left / 1000);
		tv.tv_usec = (suseconds_t)(left % 1000 * 1000);
	}
	(void)evtimer_add(s->timer, &tv);
}

/* session_enter(s, state): the one state setter: state, timer, trace. */
void
session_enter(struct session *s, enum sstate state)
{
	static const char *const names[] = { "connect", "greet", "command",
		"blind", "closing" };

	s->state = state;
	audit_debug(s->cl.id, "state=%s", names[state]);
	session_arm(s);
}

/*
 * A closing session: once every octet for the client is written, shut
 * the write side towards it, inside TLS after a close_notify; then the
 * client's own end (or SESSION_LINGER) ends the session, at once when
 * the client has already gone.  Called when closing starts and whenever
 * the client's output drains.
 */
void
closing_flush(struct session *s)
{
	if (s->dead || s->c.bev == NULL || s->c.shut)
		return;
	if (pipe_shut(&s->c, s->tls_up) && s->c.eof)
		session_drop(s);
}

/*
 * Close the upstream now and the client once ${reply} (may be NULL) is
 * flushed: a drop-connection, a timeout, an upstream failure or close.
 * The upstream is closed first so that a message in progress is
 * discarded by the MTA, never half-delivered.  Inside TLS too the
 * session ends within SESSION_LINGER (every 421 closes, SPEC 5.4).
 */
void
close_with(struct session *s, const char *reply)
{
	if (s->dead || s->state == S_CLOSING)
		return;
	pipe_close(&s->u);
	if (reply != NULL)
		to_client(s, reply, strlen(reply));
	session_enter(s, S_CLOSING);
	if (s->c.bev == NULL || s->c.shut) {
		session_drop(s);
		return;
	}
	/* Read and throw away what the client still sends, so that closing
	 * does not reset the connection before it has read the reply. */
	pipe_drain_peer(&s->c);
	closing_flush(s);
}

/* drop-connection of ${rule}: 421 4.7.0 and close both sides. */
void
drop_for(struct session *s, enum policy_rule rule)
{
	char	line[POLICY_REPLY_TEXT_MAX + 32];

	/* drop-connection always has a reply: no fallback to write. */
	(void)verdict_reply(s->cfg, rule, POLICY_DROP_CONNECTION, line,
	    sizeof(line));
	session_reason(s, COUNTERS_POLICY);
	close_with(s, line);
}

/* Internal error: tell the client to come back later. */
void
internal_error(struct session *s, const char *what)
{
	ev_log(s, LOG_ERR, "event=error stage=relay", what, strlen(what), 0);
	session_reason(s, COUNTERS_ERROR_CLOSE);
	close_with(s, shim_reply(SR_UNAVAILABLE));
}

/* A command awaits a reply meaning ${kind}. */
int
pend_push(struct session *s, enum pkind kind, char *text)
{
	if (pendq_push(&s->pq, kind, text) != 0)
		return (-1);
	if (kind == P_DATAEND)
		s->dataend++;
	return (0);
}

/* A reply of the shim's own, in order among the upstream's replies. */
void
local_reply(struct session *s, const char *text)
{
	char   *t;

	if (pendq_len(&s->pq) == 0) {
		to_client(s, text, strlen(text));
		return;
	}
	if ((t = strdup(text)) == NULL || pend_push(s, P_LOCAL, t) != 0) {
		free(t);
		internal_error(s, "out of memory for a reply");
	}
}

/* HELO or EHLO answered 250: no longer embryonic. */
void
hatch(struct session *s)
{
	if (s->embryonic) {
		s->embryonic = 0;
		limit_hatch(s->limit);
	}
}

/* Once the upstream has gone, the client taking its replies is progress. */
static void
client_took(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct session *s = arg;

	(void)b;
	if (info->n_deleted > 0 && !s->dead && s->state != S_CLOSING)
		session_arm(s);
}

/*
 * The upstream has ended (its EOF read, or its close or reset seen by
 * the paused pipe's watch): nothing more can come but the replies it
 * sent before, which the shim still relays, in order, as the client
 * takes them.  The session then lasts only while the client does so:
 * SESSION_LINGER from its last progress (SPEC 5.7), not the phase's
 * timeout.
 */
void
upstream_gone(struct session *s)
{
	if (s->u_gone || s->dead ||
	    (s->state != S_CMD && s->state != S_BLIND))
		return;
	s->u_gone = 1;
	session_reason(s, COUNTERS_UPSTREAM_CLOSE);
	audit_debug(s->cl.id, "upstream=gone");
	if (s->u.watch != NULL)
		(void)event_del(s->u.watch);
	(void)evbuffer_add_cb(pipe_out(&s->c), client_took, s);
	session_arm(s);
}

/* The embryonic deadline has passed (session_arm() armed it for then). */
static int
embryonic_over(const struct session *s)
{
	/* libevent may fire a timer a hair before clock_gettime() agrees. */
	return (s->embryonic && s->embryonic_end > 0 &&
	    mono_ms() >= s->embryonic_end - 10);
}

/* The phase's timeout: what it says depends on the phase (SPEC 5.7). */
static void
session_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	session_reason(s, s->u_gone ? COUNTERS_UPSTREAM_CLOSE :
	    COUNTERS_TIMEOUT);
	switch (s->state) {
	case S_CONNECT:
	case S_GREET:
		ev_log(s, LOG_WARNING, "event=timeout stage=connect", NULL, 0,
		    0);
		close_with(s, shim_reply(SR_UNAVAILABLE));
		break;
	case S_CMD:
		if (s->u_gone) {	/* not a timeout: see upstream_gone() */
			session_drop(s);
			break;
		}
		ev_log(s, LOG_WARNING, "event=timeout stage=%s", NULL, 0, 0,
		    embryonic_over(s) ? "embryonic" :
		    s->content != C_NONE || s->dataend > 0 ? "data" :
		    "command");
		close_with(s, shim_reply(SR_TIMEOUT));
		break;
	case S_BLIND:
		if (s->u_gone) {
			session_drop(s);
			break;
		}
		ev_log(s, LOG_WARNING, "event=timeout stage=%s", NULL, 0, 0,
		    embryonic_over(s) ? "embryonic" : s->exempt ? "relay" :
		    "tls");
		close_with(s, NULL);
		break;
	case S_CLOSING:
		session_drop(s);
		break;
	}
}

/**
 * session_new(base, cfg, cl): a session for the client ${cl} (its pipes
 * are opened by relay.c), holding its own reference to ${cfg}.  Its
 * timer is not armed yet: relay_start() enters CONNECT once the client is
 * admitted.  Returns NULL when out of memory.
 */
struct session *
session_new(struct event_base *base, struct config *cfg,
    const struct client *cl)
{
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	if ((s->timer = evtimer_new(base, session_timeout, s)) == NULL) {
		free(s);
		return (NULL);
	}
	pendq_init(&s->pq);
	s->base = base;
	s->cfg = config_ref(cfg);
	s->cl = *cl;
	s->c.fd = s->u.fd = -1;
	s->who.id = s->cl.id;
	s->who.client_addr = s->cl.addr;
	s->who.client_port = s->cl.port;
	s->who.exempt = verdict_exempt(cfg,
	    (const struct sockaddr *)&s->cl.peer);
	s->who.monitor = cfg->mode == CONFIG_MONITOR;
	s->state = S_CONNECT;
	s->start_ms = mono_ms();
	counters_session_open();
	return (s);
}

/* The session's memory, from the event loop after session_drop(). */
static void
session_free(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	pendq_clear(&s->pq);
	smtpframe_free(s->fr);
	free(s->rp);
	free(s->greet);
	SSL_CTX_free(s->tls_ctx);
	SSL_CTX_free(s->tls_uctx);
	config_unref(s->cfg);
	free(s);
}

/**
 * session_reason(s, r): why ${s} ends, for its disconnect line and the
 * counters; the first reason given stands (a 221 to QUIT, then the MTA's
 * close, is a quit).
 */
void
session_reason(struct session *s, enum counters_reason r)
{
	if (!s->reason_set) {
		s->reason = r;
		s->reason_set = 1;
	}
}

/** session_drop(s): the one teardown, safe from any state and twice. */
void
session_drop(struct session *s)
{
	char	client[128];
	long long ms;

	if (s->dead)
		return;
	s->dead = 1;
	/* Nothing else said why: the client went (its close or reset). */
	session_reason(s, COUNTERS_CLIENT_CLOSE);
	counters_session_end(s->reason);
	if (s->admitted) {
		(void)audit_client(client, sizeof(client), NULL, s->cl.addr,
		    s->cl.port);
		ms = mono_ms() - s->start_ms;
		audit_log(LOG_INFO, s->cl.id, "event=disconnect %s "
		    "duration=%lld.%03lld reason=%s commands=%lu messages=%lu "
		    "in=%llu out=%llu", client, ms / 1000, ms % 1000,
		    counters_reason_name(s->reason), s->commands, s->messages,
		    s->c.in, s->c.out);
	}
	pipe_close(&s->c);
	pipe_close(&s->u);
	if (s->timer != NULL)
		event_free(s->timer);
	s->timer = NULL;
	if (s->ended != NULL)
		s->ended(s, s->ended_arg);
	if (event_base_once(s->base, -1, EV_TIMEOUT, session_free, s,
	    NULL) != 0)
		session_free(-1, 0, s);
}
