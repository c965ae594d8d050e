/*
 * session.c - esmtp-inspect-shim's relay (SPEC 5): listeners, limits,
 * sessions, shutdown.
 *
 * Interface: shim_new, shim_listen, shim_stop, shim_sessions, shim_free.
 *
 * One session joins a client to its own upstream connection, both
 * libevent bufferevents.  States: PROXYIN (reading a load balancer's
 * PROXY header), CONNECT (upstream connecting: until its first octet or
 * an error), GREET (waiting for the rest of the upstream greeting, and
 * with upstream-tls for the shim's own STARTTLS towards it; client input
 * not read yet), CMD (inspected SMTP), BLIND
 * (byte relay: after STARTTLS allow, or an exempt client), CLOSING (a
 * final reply is being flushed to the client; the upstream is already
 * closed).  With starttls = terminate the client side becomes an OpenSSL
 * filter bufferevent in CMD, and inspection goes on above it.
 *
 * Invariants:
 * - Every command forwarded upstream, and every reply the shim makes
 *   itself while upstream replies are outstanding, has an entry in the
 *   pending queue (shim/pending.c, a pure module with unit tests); each
 *   complete upstream reply answers the head entry.
 *   So replies reach the client in command order, pipelining included.
 *   An upstream reply with no upstream entry at the head, or one that
 *   does not fit the command it answers, is a desync: the session ends
 *   (SPEC 5.6), since the MTA has read something the shim did not frame.
 * - The shim frames every octet as the MTA does (SPEC 5.6): a command
 *   line is split as Postfix splits it (smtpframe_cmd()), and what
 *   follows a forwarded command is decided by verb.c's table: after
 *   DATA, AUTH (and each AUTH continuation), STARTTLS, QUIT and any verb
 *   the table does not know, client input is not parsed until the
 *   upstream has answered; a BDAT chunk is counted, and BDAT is only
 *   forwarded when both sides read the same count.  Monitor mode changes
 *   what is refused, never how octets are framed.
 * - Memory per session is bounded: the client's input buffer stops
 *   reading at SESSION_READ_MAX, a side whose peer's output buffer holds
 *   more than SESSION_OUT_MAX stops reading until it drains, the framer
 *   holds one command line (its buffer grows only while a line does), the
 *   reply parser one reply and exists only while a reply is arriving.
 * - Message content is never buffered whole: DATA and BDAT octets move
 *   from the client's input buffer to the upstream's output buffer as
 *   they arrive (evbuffer_remove_buffer moves chains, it does not copy).
 * - Every session has exactly one timeout, that of its phase, re-armed
 *   by progress: a complete command line or AUTH line, content
 *   relayed, an upstream reply, any octet of a blind relay; never by the
 *   octets of an unfinished command line.  Until HELO/EHLO is answered
 *   250 it never runs past the embryonic deadline, fixed at admission.
 * - When the upstream has ended, the replies it sent before still go to
 *   the client as it takes them, and the session ends SESSION_LINGER
 *   after the client's last progress (upstream_gone(); an upstream
 *   paused for a client that does not read is polled for its end,
 *   upstream_watch()); when both peers have closed it ends at once.  A
 *   closing session shuts its write side towards the client (after TLS's
 *   close_notify inside TLS) and waits at most SESSION_LINGER for the
 *   client's end.
 * - session_drop() is the one teardown; it frees the bufferevents at
 *   once and the session itself from the event loop, so code up the call
 *   stack may still test s->dead after anything that can drop it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "audit.h"
#include "banner.h"
#include "cidr.h"
#include "config.h"
#include "ehlo.h"
#include "limit.h"
#include "pending.h"
#include "policy.h"
#include "proxy.h"
#include "reply.h"
#include "session.h"
#include "smtpframe.h"
#include "verb.h"

#define SESSION_READ_MAX	(64 * 1024)	/* client input held unparsed */
#define SESSION_OUT_MAX		(256 * 1024)	/* output before the source pauses */
#define SESSION_TLS_OUT_MAX	(64 * 1024)	/* ciphertext under a TLS filter */
#define SESSION_AUTH_LINE	12288		/* RFC 4954 4: AUTH line, CRLF included */
#define SESSION_LINGER		1		/* seconds to flush a final reply */
#define SESSION_WATCH_MS	500		/* polling a paused upstream */
#define SESSION_DISCARD_MAX	(1024 * 1024)	/* plaintext after STARTTLS */
#define SESSION_READ_CHUNK	(64 * 1024)	/* one recv() at most */
#define SHIM_LISTEN_MAX		16

enum sstate { S_PROXYIN, S_CONNECT, S_GREET, S_CMD, S_BLIND, S_CLOSING };

/* starttls = terminate with upstream-tls: the shim's own STARTTLS upstream. */
enum uptls { U_NONE, U_EHLO, U_STARTTLS, U_HANDSHAKE, U_DONE };

/* Content being relayed. */
enum content { C_NONE, C_DATA, C_BDAT };

struct session {
	struct shim *sh;
	struct session *prev, *next;
	struct config *cfg;
	char	id[24];
	char	addr[INET6_ADDRSTRLEN];
	unsigned port;
	struct sockaddr_storage peer;
	struct sockaddr_storage local;
	struct bufferevent *c, *u;
	int	cfd, ufd;	/* the sockets under c and u (TLS filters) */
	struct event *crd, *urd;	/* reading cfd, ufd: sock_read() */
	int	c_rdon, u_rdon;	/* reading wanted (read_set()) */
	struct event *timer;
	SSL_CTX *tls_ctx;	/* terminate: towards the client */
	SSL_CTX *tls_uctx;	/* terminate + upstream-tls */
	int	tls_on;		/* the client side is TLS (terminate) */
	int	tls_up;		/* ... and its handshake is done */
	enum uptls uptls;
	char   *greet;		/* upstream-tls: the greeting, held */
	size_t	greet_len;
	enum sstate state;
	enum content content;
	int	exempt;		/* global exempt-clients: byte relay */
	int	proxied;	/* from accept-proxy-from: header read first */
	int	admitted;	/* counted in the limits */
	int	sniffed;	/* first octets checked for a PROXY header */
	int	embryonic;	/* counted as embryonic in the limits */
	int	monitor;	/* mode = monitor */
	int	hold;		/* client input waits for a reply */
	int	auth_cont;	/* the next client line is an AUTH continuation */
	int	dataend;	/* DATA end replies outstanding */
	int	c_eof, u_eof;	/* EOF read from client / upstream */
	int	c_shut, u_shut;	/* write side shut towards client / upstream */
	int	c_paused, u_paused;	/* reading stopped for backpressure */
	int	bare_logged;	/* bare-linefeed logged for this message */
	int	chunking;	/* the upstream's last EHLO reply had CHUNKING */
	unsigned errors;	/* the shim's own refusals (hard-error-limit) */
	long long embryonic_end;	/* ms, CLOCK_MONOTONIC: embryonic deadline */
	int	tls_bye;	/* closing inside TLS: close_notify queued */
	int	u_bye;		/* upstream-tls half-close under way (after the
				 * close_notify, unless QUIT went) */
	int	quit_sent;	/* QUIT went upstream */
	struct event *uwatch;	/* polls a paused upstream for its end */
	int	u_gone;		/* the upstream has ended: SESSION_LINGER
				 * from the client's last progress */
	int	dead;
	struct smtpframe *fr;
	struct smtpframe_reply *rp;
	struct pendq pq;
	unsigned long commands;
	unsigned long long in, out;
};

struct shim {
	struct event_base *base;
	SSL_CTX *tls_server;	/* starttls = terminate */
	SSL_CTX *tls_client;	/* upstream-tls */
	char   *hostname;
	struct evconnlistener *lis[SHIM_LISTEN_MAX];
	int	nlis;
	struct event *resume;	/* re-enables accepting after EMFILE */
	int	paused_logged;	/* this episode of exhaustion was logged */
	time_t	paused_at;	/* last pause, CLOCK_MONOTONIC seconds */
	struct limit *limit;
	struct session *sessions;
	int	nsessions;
	struct event *stop_timer;
	int	stopping;
	unsigned long long next_id;
};

static void session_drop(struct session *);
static void client_process(struct session *);
static void upstream_process(struct session *);
static void try_shutdown(struct session *);
static void proxy_in(struct session *);
static void accept_pause(struct shim *, int);
static time_t mono_now(void);
static long long mono_ms(void);
static void tls_go(struct session *);
static void client_read(struct bufferevent *, void *);
static void client_write(struct bufferevent *, void *);
static void client_event(struct bufferevent *, short, void *);
static void upstream_read(struct bufferevent *, void *);
static void upstream_write(struct bufferevent *, void *);
static void upstream_event(struct bufferevent *, short, void *);
static void read_set(struct session *, struct bufferevent *, int);
static void read_handover(struct session *, int);
static void pause_reading(struct session *, struct bufferevent *);

/* Scratch space for rewriting one reply; the shim is single-threaded. */
static char session_scratch[SMTPFRAME_REPLY_MAX + 1024];

/*
 * Logging.  Every line: "<sid>: <pre> client=unknown[addr]:port
 * [mode=monitor] [detail="..."]" (SPEC 6), untrusted detail escaped.
 */
static void __attribute__((format(printf, 3, 7)))
ev_log(struct session *s, int level, const char *pre, const char *detail,
    size_t dlen, int monitor, ...)
{
	char	p[512], esc[AUDIT_LINE_MAX], client[128];
	va_list	ap;

	va_start(ap, monitor);
	(void)vsnprintf(p, sizeof(p), pre, ap);
	va_end(ap);
	if (detail != NULL)
		(void)audit_escape(esc, sizeof(esc), detail, dlen);
	(void)audit_client(client, sizeof(client), NULL, s->addr, s->port);
	audit_log(level, s->id, "%s %s%s%s%s%s", p,
	    client, monitor ? " mode=monitor" : "",
	    detail != NULL ? " detail=\"" : "", detail != NULL ? esc : "",
	    detail != NULL ? "\"" : "");
}

/*
 * -d only: how the shim framed what it forwarded, one line per command
 * line ("command"), AUTH continuation line ("auth"), and message end
 * ("data-end" at CRLF.CRLF, "bdat-last" at a BDAT LAST), so that the
 * session fuzzer (tests/fuzz/fuzz-sessions) can compare it with what the MTA
 * read.  The line is escaped, its terminator left out.
 */
static void
trace(struct session *s, const char *frame, const void *line, size_t len)
{
	char	esc[AUDIT_LINE_MAX];
	const char *p = line;

	if (!audit_debugging())
		return;
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	(void)audit_escape(esc, sizeof(esc), p, len);
	audit_debug(s->id, "frame=%s line=\"%s\"", frame, esc);
}

/* The action of ${rule} for this session: none when off or exempt. */
static enum policy_action
rule_action(const struct session *s, enum policy_rule rule)
{
	const struct config_rule *r = &s->cfg->rules[rule];

	if (r->action == POLICY_NONE ||
	    config_rule_exempt(s->cfg, rule, (const struct sockaddr *)&s->peer))
		return (POLICY_NONE);
	return (r->action);
}

/* Log a decision of ${rule} (unless the rule says log = no). */
static void
rule_log(struct session *s, enum policy_rule rule, enum policy_action action,
    long long value, long long limit, const char *stage, const char *detail)
{
	struct audit_rule ev;

	if (!s->cfg->rules[rule].log)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.id = s->id;
	ev.rule = rule;
	ev.action = action;
	ev.value = value;
	ev.limit = limit;
	ev.stage = stage;
	ev.client_name = "unknown";
	ev.client_addr = s->addr;
	ev.client_port = s->port;
	ev.monitor = s->monitor;
	ev.detail = detail;
	ev.detail_len = detail != NULL ? strlen(detail) : 0;
	audit_log_rule(&ev);
}

/* Octets to the client (counted by count_out()). */
static void
to_client(struct session *s, const void *data, size_t len)
{
	if (s->c == NULL || s->c_shut)
		return;
	(void)evbuffer_add(bufferevent_get_output(s->c), data, len);
}

/*
 * The timeout of the session's phase, from now: called on progress (see
 * the invariants).  An embryonic session's timer never runs past its
 * embryonic deadline, however it progresses.
 */
static void
timer_arm(struct session *s)
{
	const struct config_shim *c = &s->cfg->shim;
	struct timeval tv = { 0, 0 };
	long long left;

	switch (s->state) {
	case S_PROXYIN:
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

/*
 * Closing inside TLS: the socket under the filter has written the last
 * ciphertext (the close_notify included): shut its write side.  An
 * evbuffer callback of that socket's output: it never frees anything.
 */
static void
closing_drained(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct session *s = arg;

	if (info->n_deleted == 0 || evbuffer_get_length(b) > 0 ||
	    s->state != S_CLOSING || s->c_shut || s->dead)
		return;
	(void)shutdown(s->cfd, SHUT_WR);
	s->c_shut = 1;
}

/*
 * A closing session: once every octet for the client is written, shut
 * the write side towards it, inside TLS after a close_notify; then the
 * client's own end (or SESSION_LINGER) ends the session, at once when
 * the client has already gone.  Called when closing starts and whenever
 * the client's output drains.
 */
static void
closing_flush(struct session *s)
{
	struct bufferevent *low;
	struct evbuffer *lowout;

	if (s->dead || s->c == NULL || s->c_shut)
		return;
	if (evbuffer_get_length(bufferevent_get_output(s->c)) > 0)
		return;			/* client_write() comes back */
	if (s->tls_on) {
		low = bufferevent_get_underlying(s->c);
		lowout = bufferevent_get_output(low);
		if (!s->tls_bye) {
			s->tls_bye = 1;
			if (s->tls_up)
				(void)SSL_shutdown(
				    bufferevent_openssl_get_ssl(s->c));
			ERR_clear_error();
			(void)evbuffer_add_cb(lowout, closing_drained, s);
		}
		if (evbuffer_get_length(lowout) > 0)
			return;		/* closing_drained() shuts it */
	}
	(void)shutdown(s->cfd, SHUT_WR);
	s->c_shut = 1;
	if (s->c_eof)
		session_drop(s);
}

/*
 * Close the upstream now and the client once ${reply} (may be NULL) is
 * flushed: a drop-connection, a timeout, an upstream failure or close.
 * The upstream is closed first so that a message in progress is
 * discarded by the MTA, never half-delivered.  Inside TLS too the
 * session ends within SESSION_LINGER (every 421 closes, SPEC 5.4).
 */
static void
close_with(struct session *s, const char *reply)
{
	if (s->dead || s->state == S_CLOSING)
		return;
	if (s->u != NULL) {
		read_handover(s, 0);
		if (s->uwatch != NULL)
			(void)event_del(s->uwatch);
		bufferevent_free(s->u);
		s->u = NULL;
	}
	if (reply != NULL)
		to_client(s, reply, strlen(reply));
	s->state = S_CLOSING;
	if (s->c == NULL || s->c_shut) {
		session_drop(s);
		return;
	}
	/* Read and throw away what the client still sends, so that closing
	 * does not reset the connection before it has read the reply. */
	read_set(s, s->c, 1);
	bufferevent_enable(s->c, EV_WRITE);
	s->c_paused = 0;
	timer_arm(s);
	closing_flush(s);
}

/* drop-connection of ${rule}: 421 4.7.0 and close both sides. */
static void
drop_for(struct session *s, enum policy_rule rule)
{
	struct policy_reply rep;
	char	line[POLICY_REPLY_TEXT_MAX + 32];

	if (policy_reply(rule, POLICY_DROP_CONNECTION,
	    s->cfg->rules[rule].reply, &rep) != 0)
		(void)snprintf(line, sizeof(line), "421 4.7.0 Message refused "
		    "by policy (%s)\r\n", policy_rule_name(rule));
	else
		(void)snprintf(line, sizeof(line), "%s %s %s\r\n", rep.rcode,
		    rep.xcode, rep.text);
	close_with(s, line);
}

/* Internal error: tell the client to come back later. */
static void
internal_error(struct session *s, const char *what)
{
	ev_log(s, LOG_ERR, "event=error stage=relay", what, strlen(what), 0);
	close_with(s, shim_reply(SR_UNAVAILABLE));
}

static int
pend_push(struct session *s, enum pkind kind, char *text)
{
	if (pendq_push(&s->pq, kind, text) != 0)
		return (-1);
	if (kind == P_DATAEND)
		s->dataend++;
	return (0);
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
			tls_go(s);
			return;
		}
		to_client(s, e.text, strlen(e.text));
		free(e.text);
	}
}

/* A reply of the shim's own, in order among the upstream's replies. */
static void
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

/*
 * A refusal of the shim's own (500, 501, 502, 503) to a command that is
 * not forwarded: counted, and the one beyond hard-error-limit ends the
 * session with 421 instead (SPEC 5.7), so that junk lines cost neither
 * a log line nor a reply each for ever.  Returns 1 when it closed.
 */
static int
refusal(struct session *s, const char *reply)
{
	int	limit = s->cfg->shim.hard_error_limit;

	if (++s->errors > (unsigned)limit) {
		ev_log(s, LOG_WARNING, "event=limit action=drop-connection "
		    "value=%u limit=%d", "hard-error-limit", 16, 0, s->errors,
		    limit);
		close_with(s, shim_reply(SR_TOO_MANY_ERRORS));
		return (1);
	}
	local_reply(s, reply);
	return (0);
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
	close_with(s, shim_reply(SR_CLOSING));
}

/*
 * ${from} stops reading until its peer's output has drained (resume()).
 * A paused upstream is still watched for its end (SPEC 5.7: the session
 * ends within a second of the upstream's close, whatever the client
 * does), by polling it every SESSION_WATCH_MS: an event for the close
 * alone cannot be had from level-triggered epoll, which reports a reset
 * as readable and writable, never as EV_CLOSED, and so spins the loop on
 * it while reading is paused.  Edge-triggered events cannot share the
 * descriptor with the bufferevent's.
 */
static void
pause_reading(struct session *s, struct bufferevent *from)
{
	struct timeval tv = { 0, SESSION_WATCH_MS * 1000 };

	read_set(s, from, 0);
	if (from == s->c) {
		s->c_paused = 1;
		return;
	}
	s->u_paused = 1;
	if (s->uwatch != NULL && !event_pending(s->uwatch, EV_TIMEOUT, NULL))
		(void)event_add(s->uwatch, &tv);
}

/* Once the upstream has gone, the client taking its replies is progress. */
static void
client_took(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct session *s = arg;

	(void)b;
	if (info->n_deleted > 0 && !s->dead && s->state != S_CLOSING)
		timer_arm(s);
}

/*
 * The upstream has ended (its EOF read, or its close or reset seen by
 * upstream_watch()): nothing more can come but the replies it sent
 * before, which the shim still relays, in order, as the client takes
 * them.  The session then lasts only while the client does so:
 * SESSION_LINGER from its last progress (SPEC 5.7), not the phase's
 * timeout.
 */
static void
upstream_gone(struct session *s)
{
	if (s->u_gone || s->dead ||
	    (s->state != S_CMD && s->state != S_BLIND))
		return;
	s->u_gone = 1;
	audit_debug(s->id, "upstream=gone");
	if (s->uwatch != NULL)
		(void)event_del(s->uwatch);
	(void)evbuffer_add_cb(bufferevent_get_output(s->c), client_took, s);
	timer_arm(s);
}

/*
 * The paused upstream's watch: a FIN (POLLRDHUP, reported even with
 * replies still unread before it) or a reset.  The replies held, in the
 * shim and in the kernel, still go to the client as it reads (a reset's
 * error comes when reading reaches it); one that stops reading for
 * SESSION_LINGER loses the rest with the session.
 */
static void
upstream_watch(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct pollfd p;

	(void)fd;
	(void)what;
	if (s->dead || !s->u_paused || s->u == NULL ||
	    s->state == S_CLOSING) {
		(void)event_del(s->uwatch);
		return;
	}
	p.fd = s->ufd;
	p.events = POLLRDHUP;
	p.revents = 0;
	if (poll(&p, 1, 0) != 1 ||
	    !(p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return;
	upstream_gone(s);
}

/*
 * Byte relay from ${from} to ${to} (exempt clients, after STARTTLS):
 * everything moves; the source pauses while the destination is full.
 */
static void
relay(struct session *s, struct bufferevent *from, struct bufferevent *to)
{
	struct evbuffer *in = bufferevent_get_input(from);
	size_t	n = evbuffer_get_length(in);

	if (n == 0)
		return;
	if (to == NULL || (to == s->u ? s->u_shut : s->c_shut)) {
		(void)evbuffer_drain(in, n);
		return;
	}
	(void)evbuffer_add_buffer(bufferevent_get_output(to), in);
	if (evbuffer_get_length(bufferevent_get_output(to)) > SESSION_OUT_MAX)
		pause_reading(s, from);
}

/* The greeting, with banner = pass | mask | asterisks (SPEC 5.1). */
static void
send_banner(struct session *s, const char *buf, size_t len, int code)
{
	const struct config_shim *c = &s->cfg->shim;
	const char *action = NULL;
	ssize_t	n = -1;

	if (code == 220 && c->banner == CONFIG_BANNER_ASTERISKS) {
		action = "asterisks";
		n = banner_asterisks(buf, len, session_scratch,
		    sizeof(session_scratch));
	} else if (code == 220 && c->banner == CONFIG_BANNER_MASK) {
		action = "mask";
		n = banner_mask(buf, len, c->banner_text, s->sh->hostname,
		    session_scratch, sizeof(session_scratch));
	}
	if (action == NULL || n < 0) {
		to_client(s, buf, len);
		return;
	}
	ev_log(s, LOG_NOTICE, "event=banner action=%s", NULL, 0, s->monitor,
	    action);
	if (s->monitor)
		to_client(s, buf, len);
	else
		to_client(s, session_scratch, (size_t)n);
}

static int
in_list(const struct config_strv *sv, const char *word)
{
	size_t	i;

	for (i = 0; i < sv->n; i++)
		if (strcasecmp(sv->v[i], word) == 0)
			return (1);
	return (0);
}

/*
 * The EHLO reply, with ehlo-other and starttls (SPEC 5.2, 5.4): STARTTLS
 * advertised once when allowed or terminated (the shim's own then),
 * never when stripped, whatever ehlo-other is.
 */
static void
send_ehlo(struct session *s, const char *buf, size_t len)
{
	static char out[2 * SMTPFRAME_REPLY_MAX + 16];
	const struct config_shim *c = &s->cfg->shim;
	char	list[1024];
	size_t	outlen;
	unsigned changed;
	const char *err;

	err = ehlo_client_reply(buf, len, c, s->monitor,
	    s->tls_ctx != NULL && !s->tls_on, out, sizeof(out), &outlen, list,
	    sizeof(list), &changed);
	if (err != NULL) {
		/* Not a reply the rewrite can read: pass none of it. */
		internal_error(s, "EHLO reply not well formed");
		return;
	}
	if (changed > 0)
		ev_log(s, LOG_NOTICE, "event=ehlo action=%s value=%u", list,
		    strlen(list), s->monitor, c->ehlo_other == CONFIG_EHLO_MASK ?
		    "mask" : "strip", changed);
	to_client(s, out, outlen);
}

static void
hatch(struct session *s)
{
	if (s->embryonic) {
		s->embryonic = 0;
		limit_hatch(s->sh->limit);
	}
}

/*
 * The upstream accepted STARTTLS: throw away whatever the client sent
 * before it could have seen the 220 (SPEC 5.4, the CVE-2011-0411 class),
 * then relay the 220 and go blind.  Bytes still in the kernel's socket
 * buffer were sent before the 220 too, because the 220 is only written
 * after this, so they are read and discarded here as well.
 */
static int
discard_pipelined(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->c);
	unsigned long long discard;
	char	junk[4096];
	ssize_t	r;

	discard = evbuffer_get_length(in);
	(void)evbuffer_drain(in, discard);
	while (discard < SESSION_DISCARD_MAX &&
	    (r = recv(s->cfd, junk, sizeof(junk), MSG_DONTWAIT)) > 0) {
		discard += (unsigned long long)r;
		s->in += (unsigned long long)r;
	}
	if (discard > 0)
		ev_log(s, LOG_WARNING, "event=starttls-discard value=%llu",
		    NULL, 0, 0, discard);
	if (discard >= SESSION_DISCARD_MAX) {
		close_with(s, NULL);
		return (-1);
	}
	return (0);
}

static void
starttls_go(struct session *s, const char *buf, size_t len)
{
	if (discard_pipelined(s) != 0)
		return;
	to_client(s, buf, len);
	s->state = S_BLIND;
	ev_log(s, LOG_INFO, "event=tls-started", NULL, 0, 0);
	/* No more SMTP to parse: the framer and the reply parser go. */
	smtpframe_free(s->fr);
	s->fr = NULL;
	free(s->rp);
	s->rp = NULL;
	timer_arm(s);
	relay(s, s->u, s->c);
	relay(s, s->c, s->u);
}

/*
 * A TLS filter writes ciphertext into the socket bufferevent under it,
 * which has no limit of its own: a peer that does not read would grow it
 * without end, and the shim's backpressure (SESSION_OUT_MAX on the
 * filter's output) would never see it.  libevent's filter stops writing
 * at the underlying's high-water mark and goes on when it drains, so the
 * plaintext waits in the filter's output, where the checks look.
 */
static void
tls_bound(struct bufferevent *filter)
{
	bufferevent_setwatermark(bufferevent_get_underlying(filter), EV_WRITE,
	    0, SESSION_TLS_OUT_MAX);
}

/* The first OpenSSL error, for the log. */
static const char *
tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		(void)snprintf(buf, len, "handshake failed");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return (buf);
}

/*
 * starttls = terminate: the client's STARTTLS, now that every earlier
 * reply is out.  Pipelined plaintext goes (as with allow), "220" goes out
 * in plain text, then an OpenSSL filter takes over the client side and
 * the session goes on being inspected, decrypted (SPEC 5.4).
 */
static void
tls_go(struct session *s)
{
	struct bufferevent *f;
	SSL	*ssl;

	s->hold = 0;
	if (discard_pipelined(s) != 0)
		return;
	to_client(s, shim_reply(SR_TLS_READY), shim_reply_len(SR_TLS_READY));
	read_handover(s, 1);
	if ((ssl = SSL_new(s->tls_ctx)) == NULL ||
	    (f = bufferevent_openssl_filter_new(s->sh->base, s->c, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (ssl != NULL)
			SSL_free(ssl);
		internal_error(s, "cannot start TLS");
		return;
	}
	s->c = f;
	s->tls_on = 1;
	bufferevent_setcb(f, client_read, client_write, client_event, s);
	bufferevent_setwatermark(f, EV_READ, 0, SESSION_READ_MAX);
	tls_bound(f);
	bufferevent_enable(f, EV_READ | EV_WRITE);
	timer_arm(s);
}

/*
 * upstream-tls: after the upstream's greeting (held back), EHLO and
 * STARTTLS of the shim's own, then a TLS handshake towards the upstream;
 * only then does the client get the greeting.  Returns 1 while this is
 * in progress (the reply was consumed here).
 */
static int
uptls_reply(struct session *s, const char *buf, size_t len, int code)
{
	char	line[300], eb[256];
	struct bufferevent *f;
	SSL	*ssl;
	const char *why = NULL;

	switch (s->uptls) {
	case U_NONE:
		if (code != 220 || (s->greet = malloc(len)) == NULL)
			return (0);	/* a refusal reaches the client */
		memcpy(s->greet, buf, len);
		s->greet_len = len;
		(void)snprintf(line, sizeof(line), "EHLO %s\r\n",
		    s->sh->hostname[0] != '\0' ? s->sh->hostname : "localhost");
		(void)evbuffer_add(bufferevent_get_output(s->u), line,
		    strlen(line));
		s->uptls = U_EHLO;
		return (1);
	case U_EHLO:
		if (code != 250 || !ehlo_offers(buf, len, "STARTTLS")) {
			why = "no STARTTLS offered";
			break;
		}
		(void)evbuffer_add(bufferevent_get_output(s->u),
		    "STARTTLS\r\n", 10);
		s->uptls = U_STARTTLS;
		return (1);
	case U_STARTTLS:
		if (code != 220) {
			why = "STARTTLS refused";
			break;
		}
		read_handover(s, 0);
		ssl = SSL_new(s->tls_uctx);
		f = ssl == NULL ? NULL : bufferevent_openssl_filter_new(
		    s->sh->base, s->u, ssl, BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE);
		if (f == NULL) {
			if (ssl != NULL)
				SSL_free(ssl);
			why = tls_error(eb, sizeof(eb));
			break;
		}
		s->u = f;
		s->uptls = U_HANDSHAKE;
		bufferevent_setcb(f, upstream_read, upstream_write,
		    upstream_event, s);
		tls_bound(f);
		bufferevent_enable(f, EV_READ | EV_WRITE);
		return (1);
	default:
		return (0);
	}
	(void)snprintf(line, sizeof(line), "%s: %s", s->cfg->shim.upstream,
	    why);
	ev_log(s, LOG_ERR, "event=upstream-error", line, strlen(line), 0);
	close_with(s, shim_reply(SR_UNAVAILABLE));
	return (1);
}

/* The greeting goes to the client: commands may come. */
static void
greeted(struct session *s, const char *buf, size_t len, int code)
{
	s->state = S_CMD;
	send_banner(s, buf, len, code);
	read_set(s, s->c, 1);
	timer_arm(s);
	client_process(s);
}

/* One complete upstream reply in s->rp. */
static void
handle_reply(struct session *s)
{
	const char *buf = (const char *)s->rp->buf;
	size_t	len = s->rp->len;
	int	code = s->rp->code;
	enum pkind kind = P_OTHER;
	struct pend *head, e;
	int	open;

	if (s->state == S_GREET) {
		if (s->tls_uctx != NULL && uptls_reply(s, buf, len, code))
			return;
		greeted(s, buf, len, code);
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
	kind = e.kind;
	open = e.open;
	/* Only DATA is answered 354 and only AUTH 334: any other command
	 * so answered was read by the MTA as one of them. */
	if ((code == 354 && kind != P_DATA) ||
	    (code == 334 && kind != P_AUTH)) {
		desync(s, buf, len, "reply does not fit the command");
		return;
	}
	switch (kind) {
	case P_EHLO:
		if (code == 250) {
			hatch(s);
			s->chunking = ehlo_offers(buf, len, "CHUNKING");
			send_ehlo(s, buf, len);
			goto sent;
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
			return;
		}
		break;
	case P_QUIT:
		if (code != 221)
			s->hold = 0;
		break;
	case P_UNKNOWN:
		s->hold = 0;
		break;
	case P_DATA:
		s->hold = 0;
		if (code == 354) {
			if (smtpframe_data(s->fr) != 0) {
				internal_error(s, "DATA after a partial line");
				return;
			}
			s->content = C_DATA;
			s->bare_logged = 0;
		}
		break;
	case P_DATAEND:
		s->dataend--;
		break;
	case P_AUTH:
		s->hold = 0;
		if (code == 334)
			s->auth_cont = 1;
		break;
	case P_STARTTLS:
		s->hold = 0;
		if (code == 220) {
			starttls_go(s, buf, len);
			return;
		}
		/* Refused: what the client pipelined after it goes anyway. */
		if (discard_pipelined(s) != 0)
			return;
		break;
	default:
		break;
	}
	to_client(s, buf, len);
sent:
	if (s->dead || s->state != S_CMD)
		return;
	pend_flush_local(s);
	timer_arm(s);
	client_process(s);
}

/*
 * Write what a plain socket bufferevent has queued now, in the callback
 * that produced it, instead of one more trip through the event loop for
 * its write event: one command or reply per round trip is the common
 * case, and the extra epoll_wait() per hop was most of the latency the
 * shim added.  Whatever the kernel does not take, and any error, stays
 * for libevent's write event.  Not for TLS filters, whose output is
 * plaintext.
 *
 * A socket bufferevent keeps the start of its output frozen so that only
 * its own write callback drains it; this writes the way that callback
 * does: unfreeze, write, freeze again.
 */
static void
write_now(struct bufferevent *b, int fd)
{
	struct evbuffer *out = bufferevent_get_output(b);

	if (fd < 0)
		return;
	if (evbuffer_get_length(out) > 0) {
		(void)evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, fd);
		(void)evbuffer_freeze(out, 1);
	}
	/* All written: no write event until out_arm() sees new output.
	 * With the epoll change list the event added for this output and
	 * deleted here cost no system call at all. */
	if (evbuffer_get_length(out) == 0)
		(void)bufferevent_disable(b, EV_WRITE);
}

/* New output on a socket bufferevent: make sure it is written (its write
 * event may be off since write_now()).  Under a TLS filter this is the
 * ciphertext side. */
static void
out_arm(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct bufferevent *bev = arg;

	(void)b;
	if (info->n_added > 0 && !(bufferevent_get_enabled(bev) & EV_WRITE))
		(void)bufferevent_enable(bev, EV_WRITE);
}

/*
 * Reading a plain socket, by hand rather than by the bufferevent.
 * libevent 2.1's evbuffer_read() asks the kernel with ioctl(FIONREAD)
 * before every read and reads at most 4096 octets at a time: a quarter of
 * the shim's system calls per session, and a read, an ioctl and an epoll
 * round per 4 KiB of message.  Here one recv() of up to 64 KiB goes
 * into the bufferevent's input (whose end libevent keeps frozen, as around
 * its own reads), and the same read callback runs; EOF and errors reach
 * the same event callback.  The bufferevent still does all the writing,
 * and under a TLS filter (terminate, upstream-tls) it does the reading
 * too: these events are freed when a filter takes over.  The client's
 * input stops at SESSION_READ_MAX unparsed octets, as the bufferevent's
 * read watermark did, and resumes when the framer has drained it.
 */
static unsigned char read_chunk[SESSION_READ_CHUNK];	/* one thread */

static void
read_sync(struct session *s, int client)
{
	struct event *e = client ? s->crd : s->urd;
	int	want;

	if (e == NULL)
		return;
	want = client ? s->c_rdon && evbuffer_get_length(
	    bufferevent_get_input(s->c)) < SESSION_READ_MAX : s->u_rdon;
	if (want && !event_pending(e, EV_READ, NULL))
		(void)event_add(e, NULL);
	else if (!want && event_pending(e, EV_READ, NULL))
		(void)event_del(e);
}

/* Reading on or off, whoever reads ${b}: these events or the filter. */
static void
read_set(struct session *s, struct bufferevent *b, int on)
{
	if (b == s->c && s->crd != NULL) {
		s->c_rdon = on;
		read_sync(s, 1);
	} else if (b == s->u && s->urd != NULL) {
		s->u_rdon = on;
		read_sync(s, 0);
	} else if (on)
		(void)bufferevent_enable(b, EV_READ);
	else
		(void)bufferevent_disable(b, EV_READ);
}

/* A TLS filter takes over ${client}'s socket: it reads for itself. */
static void
read_handover(struct session *s, int client)
{
	struct event **e = client ? &s->crd : &s->urd;

	if (*e != NULL)
		event_free(*e);
	*e = NULL;
}

static void
sock_read(struct session *s, int client)
{
	struct bufferevent *b = client ? s->c : s->u;
	struct evbuffer *in = bufferevent_get_input(b);
	size_t	room = sizeof(read_chunk), have;
	ssize_t	n;
	int	e;

	if (client) {
		if ((have = evbuffer_get_length(in)) >= SESSION_READ_MAX) {
			read_sync(s, 1);	/* full: off until drained */
			return;
		}
		if (room > SESSION_READ_MAX - have)
			room = SESSION_READ_MAX - have;
	}
	n = recv(client ? s->cfd : s->ufd, read_chunk, room, 0);
	if (n > 0) {
		(void)evbuffer_unfreeze(in, 0);
		(void)evbuffer_add(in, read_chunk, (size_t)n);
		(void)evbuffer_freeze(in, 0);
		if (client)
			client_read(b, s);
		else
			upstream_read(b, s);
		return;
	}
	e = errno;
	if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == EINTR))
		return;
	/* EOF or an error: nothing more to read on this side. */
	if (client)
		s->c_rdon = 0;
	else
		s->u_rdon = 0;
	read_sync(s, client);
	errno = e;
	if (client)
		client_event(b, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF :
		    BEV_EVENT_ERROR), s);
	else
		upstream_event(b, BEV_EVENT_READING | (n == 0 ?
		    BEV_EVENT_EOF : BEV_EVENT_ERROR), s);
}

static void
client_sock_read(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sock_read(arg, 1);
}

static void
upstream_sock_read(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sock_read(arg, 0);
}

/* The framer drained the client's input: reading resumes below the cap. */
static void
client_drained(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	(void)b;
	if (info->n_deleted > 0)
		read_sync(arg, 1);
}

/* Upstream input in GREET and CMD: complete replies, one at a time. */
static void
upstream_process(struct session *s)
{
	struct evbuffer *in;
	struct evbuffer_iovec v;
	const char *err;
	size_t	used;

	while (!s->dead && s->u != NULL &&
	    (s->state == S_GREET || s->state == S_CMD)) {
		if (evbuffer_get_length(bufferevent_get_output(s->c)) >
		    SESSION_OUT_MAX) {
			pause_reading(s, s->u);
			return;
		}
		in = bufferevent_get_input(s->u);
		if (evbuffer_get_length(in) == 0)
			break;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		/* The parser (16 KiB) lives only while a reply is coming in,
		 * so that idle sessions stay small. */
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
			close_with(s, shim_reply(SR_UNAVAILABLE));
			return;
		}
		(void)evbuffer_drain(in, used);
		if (!s->rp->done)
			continue;
		handle_reply(s);
		if (s->rp != NULL && s->u != NULL &&
		    evbuffer_get_length(bufferevent_get_input(s->u)) == 0) {
			free(s->rp);
			s->rp = NULL;
		}
	}
	if (!s->dead && s->state == S_BLIND && s->u != NULL)
		relay(s, s->u, s->c);
	if (!s->dead && s->state == S_CMD && !s->tls_on && !s->u_paused)
		write_now(s->c, s->cfd);
	if (!s->dead)
		try_shutdown(s);
}

/* A command line the framer found too long (or over the AUTH cap). */
static void
line_too_long(struct session *s, size_t len, size_t limit)
{
	enum policy_action act = rule_action(s, POLICY_CMD_LINE_LENGTH);
	const char *text = s->cfg->rules[POLICY_CMD_LINE_LENGTH].reply;
	char	line[POLICY_REPLY_TEXT_MAX + 32];

	if (act == POLICY_NONE || act == POLICY_LOG || s->monitor)
		act = POLICY_REJECT;	/* the hard cap: not buffered whole */
	rule_log(s, POLICY_CMD_LINE_LENGTH, act, (long long)len,
	    (long long)limit, "command", NULL);
	if (act == POLICY_DROP_CONNECTION) {
		drop_for(s, POLICY_CMD_LINE_LENGTH);
		return;
	}
	(void)snprintf(line, sizeof(line), "500 5.5.2 %s\r\n",
	    text != NULL && *text != '\0' ? text : "Line too long");
	(void)refusal(s, line);
}

/*
 * A verb the policy does not permit (SPEC 5.3), or STARTTLS with
 * starttls = strip (5.4).  Returns 1 when the line is dealt with (refused
 * with 502, or masked and forwarded), 0 in monitor mode, where it goes on
 * like any command: monitor changes what is refused, never the framing.
 */
static int
not_permitted(struct session *s, const unsigned char *line, size_t len,
    const struct smtpframe_cmd *cmd)
{
	struct evbuffer *out = bufferevent_get_output(s->u);
	struct evbuffer_iovec v;
	size_t	w = cmd->wordlen < 32 ? cmd->wordlen : 32;

	if (s->cfg->shim.command_other == CONFIG_CMD_REJECT) {
		ev_log(s, LOG_WARNING, "event=command action=reject",
		    (const char *)cmd->word, w, s->monitor);
		if (s->monitor)
			return (0);
		(void)refusal(s, shim_reply(SR_NOT_PERMITTED));
		return (1);
	}
	ev_log(s, LOG_WARNING, "event=command action=mask",
	    (const char *)cmd->word, w, s->monitor);
	if (s->monitor)
		return (0);
	/* Only X's and the terminator reach the MTA: an unknown command,
	 * after which it reads the next line. */
	if (evbuffer_reserve_space(out, len, &v, 1) < 1) {
		internal_error(s, "out of memory");
		return (1);
	}
	memcpy(v.iov_base, line, len);
	ehlo_mask_command(v.iov_base, len);
	v.iov_len = len;
	trace(s, "command", v.iov_base, len);
	(void)evbuffer_commit_space(out, &v, 1);
	(void)pend_push(s, P_OTHER, NULL);
	return (1);
}

/*
 * BDAT (SPEC 5.6): forwarded only when the MTA reads the same chunk size
 * (smtpframe_bdat_arg()) and offered CHUNKING, in every mode; the chunk is
 * then counted through the framer.  Returns the pending kind, or -1 when
 * the line was refused (or the session ended).
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
		(void)refusal(s, shim_reply(SR_BDAT_SYNTAX));
		return (-1);
	}
	if (size > 0) {
		if (smtpframe_bdat(s->fr, size) != 0) {
			internal_error(s, "BDAT after a partial line");
			return (-1);
		}
		s->content = C_BDAT;
	}
	if (last)
		trace(s, "bdat-last", "", 0);
	return (P_BDAT);
}

/* One complete command line from the client (SPEC 5.3, 5.5, 5.6). */
static void
command_line(struct session *s, const unsigned char *line, size_t len,
    unsigned bare)
{
	const struct config_shim *c = &s->cfg->shim;
	enum policy_action act;
	struct smtpframe_cmd cmd;
	const struct verb *v;
	size_t	limit;
	const char *err;
	int	kind = P_OTHER, permitted;

	s->commands++;
	if (bare > 0 && (act = rule_action(s, POLICY_BARE_LINEFEED)) !=
	    POLICY_NONE) {
		rule_log(s, POLICY_BARE_LINEFEED, act, bare, 0, "command",
		    NULL);
		if (act == POLICY_DROP_CONNECTION && !s->monitor) {
			drop_for(s, POLICY_BARE_LINEFEED);
			return;
		}
	}
	err = smtpframe_cmd(line, len, &cmd);
	limit = (size_t)s->cfg->rules[POLICY_CMD_LINE_LENGTH].limit;
	if (err == NULL && strcmp(cmd.verb, "AUTH") == 0 &&
	    limit < SESSION_AUTH_LINE)
		limit = SESSION_AUTH_LINE;
	act = rule_action(s, POLICY_CMD_LINE_LENGTH);
	if (act != POLICY_NONE && len > limit) {
		if (!s->monitor && act != POLICY_LOG) {
			line_too_long(s, len, limit);
			return;
		}
		rule_log(s, POLICY_CMD_LINE_LENGTH, act, (long long)len,
		    (long long)limit, "command", NULL);
	}
	v = err == NULL ? verb_lookup(cmd.verb) : NULL;
	if (err != NULL)
		permitted = 0;
	else if (v != NULL && v->kind == VERB_STARTTLS)
		permitted = c->starttls != CONFIG_TLS_STRIP;
	else
		permitted = in_list(&c->commands, cmd.verb);
	if (!permitted && not_permitted(s, line, len, &cmd))
		return;
	/* What the MTA reads after this line decides what the shim does. */
	switch (v == NULL ? VERB_UNKNOWN : v->kind) {
	case VERB_HELO:
		kind = P_HELO;
		break;
	case VERB_EHLO:
		kind = P_EHLO;
		break;
	case VERB_DATA:
		kind = P_DATA;
		break;
	case VERB_BDAT:
		if ((kind = bdat(s, line, len)) < 0)
			return;
		break;
	case VERB_AUTH:
		kind = P_AUTH;
		break;
	case VERB_STARTTLS:
		if (s->tls_ctx != NULL) {
			/* terminate: the shim's own, never forwarded */
			if (s->tls_on) {
				(void)refusal(s, shim_reply(SR_TLS_ACTIVE));
				return;
			}
			s->hold = 1;
			if (pendq_len(&s->pq) == 0)
				tls_go(s);
			else
				(void)pend_push(s, P_TLSGO, NULL);
			return;
		}
		kind = P_STARTTLS;
		break;
	case VERB_QUIT:
		kind = P_QUIT;
		s->quit_sent = 1;
		break;
	case VERB_UNKNOWN:
		kind = P_UNKNOWN;
		break;
	case VERB_OTHER:
	default:
		break;
	}
	if (evbuffer_add(bufferevent_get_output(s->u), line, len) != 0) {
		internal_error(s, "out of memory");
		return;
	}
	trace(s, "command", line, len);
	if (pend_push(s, (enum pkind)kind, NULL) == 0 && kind == P_BDAT &&
	    s->content == C_BDAT)
		pendq_last(&s->pq)->open = 1;
	if (verb_next(v) == VERB_NEXT_REPLY)
		s->hold = 1;
}

/*
 * DATA or BDAT octets from the framer (SPEC 5.6).  ${ev} points into the
 * head of the client's input buffer; ${n} octets were consumed.
 */
static void
content(struct session *s, const struct smtpframe_ev *ev, size_t n)
{
	struct evbuffer *in = bufferevent_get_input(s->c);
	struct evbuffer *out = bufferevent_get_output(s->u);
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
		s->monitor = 0;
		rule_log(s, POLICY_BARE_LINEFEED, POLICY_DROP_CONNECTION,
		    ev->bare ? ev->bare : 1, 0, "data",
		    "ambiguous end of data");
		drop_for(s, POLICY_BARE_LINEFEED);
		return;
	}
	if (ev->bare > 0 && s->content == C_DATA &&
	    (act = rule_action(s, POLICY_BARE_LINEFEED)) != POLICY_NONE) {
		if (act == POLICY_DROP_CONNECTION && !s->monitor) {
			(void)evbuffer_drain(in, n);
			rule_log(s, POLICY_BARE_LINEFEED, act, ev->bare, 0,
			    "data", NULL);
			drop_for(s, POLICY_BARE_LINEFEED);
			return;
		}
		if (!s->bare_logged)
			rule_log(s, POLICY_BARE_LINEFEED, act, ev->bare, 0,
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
	timer_arm(s);			/* content moved: progress */
}

/*
 * An AUTH continuation line (after 334): relayed as data up to its LF,
 * never parsed (SPEC 5); then wait for the next reply.
 */
static void
auth_continue(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->c);
	struct evbuffer *out = bufferevent_get_output(s->u);
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
	timer_arm(s);			/* a complete line: progress */
}

/*
 * A PROXY header from a client not in accept-proxy-from closes the
 * session: only a trusted balancer may say who the client is.  Returns 1
 * when client_process() must stop (closed, or too few octets to tell).
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
		close_with(s, NULL);
		return (1);
	default:
		return (1);
	}
}

/* Client input in CMD: frame, inspect, forward, as far as allowed. */
static void
client_process(struct session *s)
{
	struct evbuffer *in;
	struct evbuffer_iovec v;
	struct smtpframe_ev ev;
	enum policy_action act;
	size_t	n;

	while (!s->dead && s->state == S_CMD && !s->hold && s->u != NULL &&
	    !s->u_shut) {
		/* Either output full: no more until it drains (the
		 * shim's own replies fill the client's). */
		if (evbuffer_get_length(bufferevent_get_output(s->u)) >
		    SESSION_OUT_MAX ||
		    evbuffer_get_length(bufferevent_get_output(s->c)) >
		    SESSION_OUT_MAX) {
			pause_reading(s, s->c);
			return;
		}
		/* Room for a reply of our own too; resumed by the replies. */
		if (pendq_len(&s->pq) >= PENDQ_MAX - 1)
			break;
		in = bufferevent_get_input(s->c);
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
			timer_arm(s);	/* a complete line: progress */
			command_line(s, ev.data, ev.len, ev.bare);
			break;
		case SMTPFRAME_TOOLONG:
			(void)evbuffer_drain(in, n);
			timer_arm(s);
			/* Over the framer's cap: the rule's limit when it
			 * is enforcing, else the hard cap is what refused. */
			act = rule_action(s, POLICY_CMD_LINE_LENGTH);
			line_too_long(s, ev.len, !s->monitor &&
			    (act == POLICY_REJECT ||
			    act == POLICY_DROP_CONNECTION) ?
			    (size_t)s->cfg->rules[POLICY_CMD_LINE_LENGTH].limit :
			    s->fr->limit);
			break;
		case SMTPFRAME_CONTENT:
			content(s, &ev, n);
			break;
		default:
			internal_error(s, "framer failed");
			return;
		}
	}
	/* Not while paused: the resume waits for libevent's write callback. */
	if (!s->dead && s->u != NULL && s->uptls == U_NONE && !s->u_shut &&
	    !s->c_paused)
		write_now(s->u, s->ufd);
	if (!s->dead)
		try_shutdown(s);
}

/*
 * upstream-tls: the ciphertext under the filter, the close_notify last,
 * is all written: shut the write side.  An evbuffer callback of that
 * socket's output: it never frees anything.
 */
static void
upstream_drained(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct session *s = arg;

	if (info->n_deleted == 0 || evbuffer_get_length(b) > 0 || !s->u_bye ||
	    s->u_shut || s->dead)
		return;
	(void)shutdown(s->ufd, SHUT_WR);
	s->u_shut = 1;
}

/*
 * The client is done and all it sent has been passed on: the upstream
 * gets its EOF (SPEC 5.8).  Under upstream-tls, a close_notify first
 * (not after a QUIT), and the shutdown only once the ciphertext under the
 * filter is written: a shutdown of the socket while it still holds the
 * end of DATA or a QUIT lost them.
 */
static void
half_close_upstream(struct session *s)
{
	struct evbuffer *lowout;

	if (s->u_shut || s->u_bye)
		return;
	if (s->uptls == U_DONE) {
		s->u_bye = 1;
		/* After QUIT the MTA answers and closes without reading on:
		 * a close_notify (data, unlike a FIN) left unread makes its
		 * kernel reset the connection, and the 221 can be lost.  The
		 * FIN alone follows the QUIT. */
		if (!s->quit_sent) {
			(void)SSL_shutdown(bufferevent_openssl_get_ssl(s->u));
			ERR_clear_error();
		}
		lowout = bufferevent_get_output(bufferevent_get_underlying(s->u));
		if (evbuffer_get_length(lowout) > 0) {
			(void)evbuffer_add_cb(lowout, upstream_drained, s);
			return;
		}
	}
	(void)shutdown(s->ufd, SHUT_WR);
	s->u_shut = 1;
}

/*
 * Half-close (SPEC 5.7, 5.8): once the client has sent EOF and
 * everything it sent has been passed on, shut the write side towards the
 * upstream.  Once the upstream has closed, nothing the client sends can
 * be answered any more: the replies already in (and the shim's own that
 * come before any that is lost) go out and the session closes, its
 * write side shut towards the client, within SESSION_LINGER; at once
 * when the client has gone too.  Never sooner than the replies the
 * upstream sent: while they wait for the client to read (u_paused),
 * resume() comes back here.
 */
static void
try_shutdown(struct session *s)
{
	struct pend *p, e;

	if (s->dead || s->state == S_CLOSING || s->state == S_CONNECT ||
	    s->state == S_PROXYIN)
		return;
	if (s->c_eof && s->u != NULL &&
	    evbuffer_get_length(bufferevent_get_input(s->c)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(s->u)) == 0)
		half_close_upstream(s);
	if (!s->u_eof || s->u_paused)
		return;
	/* A TLS filter may report the upstream's close before its last
	 * octets reached upstream_read(): pass them on first. */
	if (s->u != NULL &&
	    evbuffer_get_length(bufferevent_get_input(s->u)) > 0) {
		if (s->state == S_CMD) {
			upstream_process(s);	/* comes back here */
			return;
		}
		relay(s, s->u, s->c);
		if (s->dead || s->u_paused)
			return;
	}
	while (s->state == S_CMD && (p = pendq_head(&s->pq)) != NULL &&
	    p->kind == P_LOCAL) {
		e = pendq_pop(&s->pq);
		to_client(s, e.text, strlen(e.text));
		free(e.text);
	}
	close_with(s, NULL);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (s->state == S_CLOSING) {
		(void)evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	/* In CMD only lines and content re-arm the timer (client_process()):
	 * one octet at a time of a line that never ends must not. */
	if (s->state == S_BLIND) {
		timer_arm(s);
		relay(s, s->c, s->u);
	} else if (s->state == S_CMD)
		client_process(s);
	else if (s->state == S_PROXYIN)
		proxy_in(s);
}

/* Octets from and to the client, for the disconnect line. */
static void
count_in(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct session *s = arg;

	(void)b;
	s->in += info->n_added;
}

static void
count_out(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct session *s = arg;

	(void)b;
	s->out += info->n_added;
}

static void
upstream_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	/* The upstream's first octets: connected (session_connect()).  An
	 * exempt client's octets are relayed from now on. */
	if (s->state == S_CONNECT) {
		s->state = s->exempt ? S_BLIND : S_GREET;
		if (s->exempt) {
			read_set(s, s->c, 1);
			relay(s, s->c, s->u);
			if (s->dead || s->state == S_CLOSING)
				return;
		}
	}
	timer_arm(s);
	if (s->state == S_BLIND)
		relay(s, s->u, s->c);
	else
		upstream_process(s);
}

/* ${from}, paused for its peer's full output, reads and passes on again. */
static void
resume(struct session *s, struct bufferevent *from)
{
	if (from == s->c)
		s->c_paused = 0;
	else {
		s->u_paused = 0;
		if (s->uwatch != NULL)
			(void)event_del(s->uwatch);
	}
	read_set(s, from, 1);
	if (s->state == S_BLIND)
		relay(s, from, from == s->c ? s->u : s->c);
	else if (from == s->c)
		client_process(s);
	else
		upstream_process(s);
}

/* The client's output drained: resume the upstream, finish a close. */
static void
client_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->state == S_CLOSING) {
		closing_flush(s);
		return;
	}
	if (s->u_paused && s->u != NULL)
		resume(s, s->u);
	/* Paused for its own full output (client_process()). */
	if (!s->dead && s->c_paused && s->state == S_CMD)
		resume(s, s->c);
	if (!s->dead)
		try_shutdown(s);
}

/* The upstream's output drained: resume the client. */
static void
upstream_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->c_paused && s->state != S_CLOSING)
		resume(s, s->c);
	if (!s->dead)
		try_shutdown(s);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* terminate: the client's TLS handshake completed */
		SSL	*ssl = bufferevent_openssl_get_ssl(bev);
		char	d[128];

		(void)snprintf(d, sizeof(d), "%s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
		s->tls_up = 1;
		ev_log(s, LOG_INFO, "event=tls-started", d, strlen(d), 0);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (s->tls_on && !s->tls_up) {
			/* libevent queues OpenSSL's errors; the first with a
			 * library is the reason, e.g. "unsupported protocol". */
			unsigned long e, why = 0;
			const char *r = NULL;

			while ((e = bufferevent_get_openssl_error(bev)) != 0)
				if (why == 0 && ERR_GET_LIB(e) != 0)
					why = e;
			if (why != 0)
				r = ERR_reason_error_string(why);
			if (r == NULL)
				r = "handshake failed";
			ev_log(s, LOG_WARNING, "event=tls-error", r, strlen(r),
			    0);
		}
		session_drop(s);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	s->c_eof = 1;
	/* Closing: the last replies still go out (closing_flush() ends the
	 * session once they are written, or SESSION_LINGER does). */
	if (s->state == S_CLOSING) {
		if (s->c_shut)
			session_drop(s);
		else
			closing_flush(s);
		return;
	}
	if (s->state == S_CONNECT || s->state == S_GREET ||
	    s->state == S_PROXYIN) {
		session_drop(s);
		return;
	}
	try_shutdown(s);
}

static void
upstream_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	char	eb[128];
	int	e;

	(void)bev;
	if ((what & BEV_EVENT_CONNECTED) && s->uptls == U_HANDSHAKE) {
		/* TLS towards the upstream is up: now the client's greeting. */
		s->uptls = U_DONE;
		greeted(s, s->greet, s->greet_len, 220);
		return;
	}
	/* After our own EOF towards it, a reset is the upstream's end (it
	 * closed with our close_notify unread), not a failure. */
	if ((what & BEV_EVENT_ERROR) && (s->u_shut || s->u_bye) &&
	    s->state == S_CMD)
		what = BEV_EVENT_EOF;
	if (what & BEV_EVENT_ERROR) {
		e = EVUTIL_SOCKET_ERROR();
		if (s->state == S_BLIND) {
			session_drop(s);
			return;
		}
		(void)snprintf(eb, sizeof(eb), "%s %s: %s",
		    s->state == S_CONNECT ? "connect" :
		    s->state == S_GREET ? "greeting" : "relay",
		    s->cfg->shim.upstream, evutil_socket_error_to_string(e));
		ev_log(s, LOG_ERR, "event=upstream-error", eb, strlen(eb), 0);
		close_with(s, shim_reply(SR_UNAVAILABLE));
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	s->u_eof = 1;
	upstream_gone(s);
	if (s->state == S_CONNECT || s->state == S_GREET) {
		ev_log(s, LOG_ERR, "event=upstream-error", eb,
		    (size_t)snprintf(eb, sizeof(eb), "%s: closed before "
		    "its greeting", s->cfg->shim.upstream), 0);
		close_with(s, shim_reply(SR_UNAVAILABLE));
		return;
	}
	try_shutdown(s);
}

/* The embryonic deadline has passed (timer_arm() armed it to fire then). */
static int
embryonic_over(const struct session *s)
{
	/* libevent may fire a timer a hair before clock_gettime() agrees. */
	return (s->embryonic && s->embryonic_end > 0 &&
	    mono_ms() >= s->embryonic_end - 10);
}

static void
session_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	switch (s->state) {
	case S_PROXYIN:
		ev_log(s, LOG_WARNING, "event=proxy-error", "no PROXY header",
		    15, 0);
		close_with(s, NULL);
		break;
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

static void shim_check_done(struct shim *);

/* The one teardown, safe from any state. */
static void
session_drop(struct session *s)
{
	struct shim *sh = s->sh;
	char	client[128];

	if (s->dead)
		return;
	s->dead = 1;
	(void)audit_client(client, sizeof(client), NULL, s->addr, s->port);
	if (s->admitted)
		audit_log(LOG_INFO, s->id, "event=disconnect %s commands=%lu "
		    "in=%llu out=%llu", client, s->commands, s->in, s->out);
	if (s->admitted)
		limit_release(sh->limit, (const struct sockaddr *)&s->peer,
		    s->cfg->shim.client_ipv6_prefix, s->exempt, s->embryonic);
	read_handover(s, 1);
	read_handover(s, 0);
	if (s->c != NULL)
		bufferevent_free(s->c);
	if (s->u != NULL)
		bufferevent_free(s->u);
	s->c = s->u = NULL;
	if (s->timer != NULL)
		event_free(s->timer);
	s->timer = NULL;
	if (s->uwatch != NULL)
		event_free(s->uwatch);
	s->uwatch = NULL;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sh->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	sh->nsessions--;
	if (event_base_once(sh->base, -1, EV_TIMEOUT, session_free, s,
	    NULL) != 0)
		session_free(-1, 0, s);
	shim_check_done(sh);
}

static void
set_nodelay(int fd)
{
	int	on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* Connect upstream and send the PROXY header first (SPEC 5.8). */
static int
session_connect(struct session *s)
{
	const struct config_shim *c = &s->cfg->shim;
	unsigned char hdr[PROXY_ENCODE_MAX];
	ssize_t	n = 0;
	int	fd;

	if ((fd = socket(c->upstream_addr.ss_family, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		/* Out of descriptors: stop taking clients for a while. */
		if (errno == EMFILE || errno == ENFILE)
			accept_pause(s->sh, errno);
		return (-1);
	}
	set_nodelay(fd);
	s->ufd = fd;
	if ((s->u = bufferevent_socket_new(s->sh->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		(void)close(fd);
		return (-1);
	}
	bufferevent_setcb(s->u, upstream_read, upstream_write, upstream_event,
	    s);
	(void)evbuffer_add_cb(bufferevent_get_output(s->u), out_arm, s->u);
	if ((s->urd = event_new(s->sh->base, fd, EV_READ | EV_PERSIST,
	    upstream_sock_read, s)) == NULL ||
	    (s->uwatch = event_new(s->sh->base, -1, EV_PERSIST, upstream_watch,
	    s)) == NULL)
		return (-1);
	if (c->proxy_protocol == CONFIG_PROXY_V1)
		n = proxy_encode_v1(hdr, sizeof(hdr),
		    (struct sockaddr *)&s->peer, (struct sockaddr *)&s->local);
	else if (c->proxy_protocol == CONFIG_PROXY_V2)
		n = proxy_encode_v2(hdr, sizeof(hdr),
		    (struct sockaddr *)&s->peer, (struct sockaddr *)&s->local);
	if (n < 0 || (n > 0 && evbuffer_add(bufferevent_get_output(s->u),
	    hdr, (size_t)n) != 0))
		return (-1);
	/*
	 * connect() by hand, not bufferevent_socket_connect(): that waits
	 * for the socket to become writable and asks SO_ERROR before
	 * reading, a poll round and two system calls per session.  The
	 * upstream speaks first, so its first octet (or the error that
	 * a failed connect leaves for recv()) says it all; a PROXY header
	 * waits in the output for the socket to become writable.
	 */
	if (connect(fd, (const struct sockaddr *)&c->upstream_addr,
	    c->upstream_addrlen) != 0 && errno != EINPROGRESS) {
		/* Refused at once: the same report as a refusal later. */
		upstream_event(s->u, BEV_EVENT_ERROR, s);
		return (0);
	}
	read_set(s, s->u, 1);
	return (0);
}

/* "421 4.7.0 Too many connections" straight on the socket, then close. */
static void
refuse(int fd)
{
	(void)send(fd, shim_reply(SR_TOO_MANY_CONNECTIONS),
	    shim_reply_len(SR_TOO_MANY_CONNECTIONS), MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)close(fd);
}

static const char *const limit_names[] = { "", "max-connections",
	"max-connections-per-client", "max-embryonic" };

/*
 * Admission of a client whose address is known (at accept, or after an
 * inbound PROXY header): exemption, limits, the connect line, the
 * framer, the upstream connection.
 */
static void
session_admit(struct session *s)
{
	struct shim *sh = s->sh;
	struct config *cfg = s->cfg;
	const struct sockaddr *sa = (const struct sockaddr *)&s->peer;
	struct limit_max max;
	struct limit_verdict v;
	int	r;

	s->exempt = cidr_list_match_sa(&cfg->exempt, sa);
	max.total = cfg->shim.max_connections;
	max.client = cfg->shim.max_connections_per_client;
	max.embryonic = cfg->shim.max_embryonic;
	max.v6prefix = cfg->shim.client_ipv6_prefix;
	if ((r = limit_admit(sh->limit, sa, s->exempt, &max, &v)) != 0) {
		if (r < 0)
			ev_log(s, LOG_ERR, "event=error stage=accept",
			    "out of memory", 13, 0);
		else if (v.log)
			ev_log(s, LOG_WARNING, "event=limit action=reject "
			    "value=%d limit=%d", limit_names[v.kind],
			    strlen(limit_names[v.kind]), 0, v.value, v.limit);
		close_with(s, shim_reply(SR_TOO_MANY_CONNECTIONS));
		return;
	}
	s->admitted = 1;
	s->embryonic = !s->exempt;
	if (s->embryonic)
		s->embryonic_end = mono_ms() +
		    (long long)cfg->shim.embryonic_timeout * 1000;
	s->state = S_CONNECT;
	ev_log(s, LOG_INFO, "event=connect", NULL, 0, 0);
	if (s->exempt)
		ev_log(s, LOG_INFO, "event=exempt", NULL, 0, 0);
	if (!s->exempt && cfg->shim.starttls == CONFIG_TLS_TERMINATE &&
	    sh->tls_server != NULL) {
		/* The session keeps the contexts of its start (SIGHUP). */
		if (SSL_CTX_up_ref(sh->tls_server) == 1)
			s->tls_ctx = sh->tls_server;
		if (cfg->shim.upstream_tls && sh->tls_client != NULL &&
		    SSL_CTX_up_ref(sh->tls_client) == 1)
			s->tls_uctx = sh->tls_client;
	}
	if (!s->exempt) {
		size_t	lim = (size_t)cfg->rules[POLICY_CMD_LINE_LENGTH].limit;

		s->fr = smtpframe_new(lim > SESSION_AUTH_LINE ? lim :
		    SESSION_AUTH_LINE);
		if (s->fr == NULL) {
			internal_error(s, "out of memory");
			return;
		}
	}
	read_set(s, s->c, 0);
	timer_arm(s);
	if (session_connect(s) != 0 && !s->dead && s->state == S_CONNECT) {
		ev_log(s, LOG_ERR, "event=upstream-error", "cannot connect",
		    14, 0);
		close_with(s, shim_reply(SR_UNAVAILABLE));
	}
}

/*
 * Inbound PROXY header from a trusted load balancer (accept-proxy-from):
 * peek, parse, consume exactly the header; the real client is then what
 * the policy, the limits, the exemptions and the outgoing header use.
 * Anything else closes the session with a log line.
 */
static void
proxy_in(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->c);
	struct sockaddr_storage src, dst;
	size_t	len, used = 0;
	const char *err = NULL;
	unsigned char *p;
	int	r;

	len = evbuffer_get_length(in);
	if (len > PROXY_V2_HDRLEN + PROXY_V2_LEN_MAX)
		len = PROXY_V2_HDRLEN + PROXY_V2_LEN_MAX;
	if ((p = evbuffer_pullup(in, (ssize_t)len)) == NULL && len > 0) {
		internal_error(s, "out of memory");
		return;
	}
	r = proxy_parse(p, len, &src, &dst, &used, &err);
	if (r == 1 && len < PROXY_V2_HDRLEN + PROXY_V2_LEN_MAX)
		return;			/* more to come */
	if (r != 0) {
		ev_log(s, LOG_WARNING, "event=proxy-error",
		    err != NULL ? err : "header too long",
		    strlen(err != NULL ? err : "header too long"), 0);
		close_with(s, NULL);
		return;
	}
	(void)evbuffer_drain(in, used);
	/* LOCAL/UNKNOWN: the balancer's own check; it stays the client. */
	if (src.ss_family != AF_UNSPEC) {
		s->peer = src;
		s->local = dst;
		audit_addr((struct sockaddr *)&s->peer, s->addr,
		    sizeof(s->addr), &s->port);
	}
	session_admit(s);
}

static void
accept_client(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct shim *sh = arg;
	struct session *s;
	struct config *cfg;
	socklen_t len;

	(void)lis;
	if (sh->paused_logged && mono_now() - sh->paused_at > 10)
		sh->paused_logged = 0;	/* ten quiet seconds end an episode */
	if ((cfg = config_current()) == NULL || sh->stopping) {
		config_unref(cfg);
		(void)close(fd);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		config_unref(cfg);
		refuse(fd);
		return;
	}
	pendq_init(&s->pq);
	s->sh = sh;
	s->cfg = cfg;
	(void)snprintf(s->id, sizeof(s->id), "S%llX", sh->next_id++);
	memcpy(&s->peer, sa, (size_t)salen < sizeof(s->peer) ?
	    (size_t)salen : sizeof(s->peer));
	/* The local address is only ever sent in the PROXY header. */
	len = sizeof(s->local);
	if (cfg->shim.proxy_protocol == CONFIG_PROXY_NONE ||
	    getsockname(fd, (struct sockaddr *)&s->local, &len) != 0)
		s->local.ss_family = AF_UNSPEC;
	audit_addr(sa, s->addr, sizeof(s->addr), &s->port);
	s->monitor = cfg->mode == CONFIG_MONITOR;
	s->state = S_PROXYIN;
	s->next = sh->sessions;
	if (sh->sessions != NULL)
		sh->sessions->prev = s;
	sh->sessions = s;
	sh->nsessions++;
	set_nodelay(fd);
	s->cfd = fd;
	s->ufd = -1;
	s->timer = evtimer_new(sh->base, session_timeout, s);
	s->c = bufferevent_socket_new(sh->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->c == NULL)
		(void)close(fd);
	s->crd = event_new(sh->base, fd, EV_READ | EV_PERSIST,
	    client_sock_read, s);
	if (s->timer == NULL || s->c == NULL || s->crd == NULL) {
		session_drop(s);
		return;
	}
	bufferevent_setcb(s->c, client_read, client_write, client_event, s);
	bufferevent_setwatermark(s->c, EV_READ, 0, SESSION_READ_MAX);
	(void)evbuffer_add_cb(bufferevent_get_input(s->c), count_in, s);
	(void)evbuffer_add_cb(bufferevent_get_output(s->c), count_out, s);
	(void)evbuffer_add_cb(bufferevent_get_output(s->c), out_arm, s->c);
	(void)evbuffer_add_cb(bufferevent_get_input(s->c), client_drained, s);
	if (cidr_list_match_sa(&cfg->shim.accept_proxy_from, sa)) {
		/* A balancer: its header first, within connect-timeout. */
		s->proxied = 1;
		read_set(s, s->c, 1);
		timer_arm(s);
		return;
	}
	session_admit(s);
}

/* Out of file descriptors: stop accepting for a second, never spin. */
static void
accept_error(struct evconnlistener *lis, void *arg)
{
	struct shim *sh = arg;
	int	e = EVUTIL_SOCKET_ERROR();

	(void)lis;
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
		return;
	accept_pause(sh, e);
}

static time_t
mono_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec);
}

static long long
mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Stop accepting for a second; logged once per episode. */
static void
accept_pause(struct shim *sh, int e)
{
	struct timeval tv = { 1, 0 };
	char	eb[128];
	int	i;

	sh->paused_at = mono_now();
	if (!sh->paused_logged) {
		(void)snprintf(eb, sizeof(eb), "accept: %s",
		    evutil_socket_error_to_string(e));
		audit_log(LOG_ERR, NULL, "event=error stage=accept "
		    "detail=\"%s\" sessions=%d", eb, sh->nsessions);
		sh->paused_logged = 1;
	}
	for (i = 0; i < sh->nlis; i++)
		(void)evconnlistener_disable(sh->lis[i]);
	(void)evtimer_add(sh->resume, &tv);
}

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct shim *sh = arg;
	int	i;

	(void)fd;
	(void)what;
	if (sh->stopping)
		return;
	for (i = 0; i < sh->nlis; i++)
		(void)evconnlistener_enable(sh->lis[i]);
}

/**
 * shim_new(base, hostname): the relay's server state on ${base}; ${hostname}
 * is used by banner = mask when banner-text is empty.  Sessions take the
 * configuration snapshot current at accept (config_current()).  Returns
 * NULL on error.
 */
struct shim *
shim_new(struct event_base *base, const char *hostname)
{
	struct shim *sh;

	if ((sh = calloc(1, sizeof(*sh))) == NULL)
		return (NULL);
	sh->base = base;
	sh->next_id = ((unsigned long long)time(NULL) << 20) |
	    ((unsigned long long)getpid() & 0xfffff);
	if ((sh->hostname = strdup(hostname != NULL ? hostname : "")) == NULL ||
	    (sh->limit = limit_new()) == NULL ||
	    (sh->resume = evtimer_new(base, accept_resume, sh)) == NULL) {
		shim_free(sh);
		return (NULL);
	}
	return (sh);
}

/**
 * shim_listen(sh, fd): accept clients on the bound, listening socket ${fd}
 * (non-blocking; the shim closes it).  Returns 0, or -1 on error.
 */
int
shim_listen(struct shim *sh, int fd)
{
	struct evconnlistener *l;

	if (sh->nlis >= SHIM_LISTEN_MAX)
		return (-1);
	/* Backlog 0: the socket already listens with main.c's backlog; -1
	 * would make libevent listen() again and cut it to 128. */
	if ((l = evconnlistener_new(sh->base, accept_client, sh,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd)) == NULL)
		return (-1);
	evconnlistener_set_error_cb(l, accept_error);
	sh->lis[sh->nlis++] = l;
	return (0);
}

/* Stopping and no session left: leave the event loop. */
static void
shim_check_done(struct shim *sh)
{
	if (sh->stopping && sh->nsessions == 0)
		(void)event_base_loopexit(sh->base, NULL);
}

/* shutdown-timeout expired: 421 to the sessions still there. */
static void
stop_expired(evutil_socket_t fd, short what, void *arg)
{
	struct shim *sh = arg;
	struct session *s, *next;

	(void)fd;
	(void)what;
	for (s = sh->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->state == S_CMD && s->content == C_NONE)
			close_with(s, shim_reply(SR_SHUTTING_DOWN));
		else if (s->state != S_CLOSING)
			close_with(s, NULL);
	}
	shim_check_done(sh);
}

/**
 * shim_stop(sh, timeout): stop accepting; sessions may finish for
 * ${timeout} seconds, then those left get "421 4.3.2 Service shutting
 * down" (in the command phase) and are closed.  The event loop is left
 * (event_base_loopexit) once no session remains.
 */
void
shim_stop(struct shim *sh, int timeout)
{
	struct timeval tv = { timeout, 0 };
	int	i;

	if (sh->stopping)
		return;
	sh->stopping = 1;
	for (i = 0; i < sh->nlis; i++)
		evconnlistener_free(sh->lis[i]);
	sh->nlis = 0;
	if ((sh->stop_timer = evtimer_new(sh->base, stop_expired, sh)) != NULL)
		(void)evtimer_add(sh->stop_timer, &tv);
	shim_check_done(sh);
}

/** shim_sessions(sh): number of live sessions. */
int
shim_sessions(const struct shim *sh)
{
	return (sh->nsessions);
}

/** shim_free(sh): close every session and listener; NULL is a no-op. */
void
shim_free(struct shim *sh)
{
	int	i;

	if (sh == NULL)
		return;
	while (sh->sessions != NULL)
		session_drop(sh->sessions);
	for (i = 0; i < sh->nlis; i++)
		evconnlistener_free(sh->lis[i]);
	if (sh->resume != NULL)
		event_free(sh->resume);
	if (sh->stop_timer != NULL)
		event_free(sh->stop_timer);
	limit_free(sh->limit);
	SSL_CTX_free(sh->tls_server);
	SSL_CTX_free(sh->tls_client);
	free(sh->hostname);
	free(sh);
}

/* A server context: TLS 1.2 at least, the configured certificate and key. */
static SSL_CTX *
tls_server_ctx(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char	eb[256];

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx,
	    cfg->shim.tls_certificate) != 1) {
		(void)snprintf(err, errlen, "%s: tls-certificate %s: %s",
		    cfg->path, cfg->shim.tls_certificate, tls_error(eb,
		    sizeof(eb)));
		SSL_CTX_free(ctx);
		return (NULL);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->shim.tls_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		(void)snprintf(err, errlen, "%s: tls-key %s: %s", cfg->path,
		    cfg->shim.tls_key, tls_error(eb, sizeof(eb)));
		SSL_CTX_free(ctx);
		return (NULL);
	}
	return (ctx);
fail:
	(void)snprintf(err, errlen, "%s: TLS: %s", cfg->path,
	    tls_error(eb, sizeof(eb)));
	SSL_CTX_free(ctx);
	return (NULL);
}

/*
 * A client context for upstream-tls: TLS 1.2 at least, no certificate
 * check (the upstream is the MTA on the loopback or a private network:
 * this is encryption on the wire, not authentication).
 */
static SSL_CTX *
tls_client_ctx(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char	eb[256];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		(void)snprintf(err, errlen, "%s: TLS: %s", cfg->path,
		    tls_error(eb, sizeof(eb)));
		SSL_CTX_free(ctx);
		return (NULL);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return (ctx);
}

/**
 * shim_tls(sh, cfg, err, errlen): load the TLS contexts ${cfg} asks for
 * (starttls = terminate: the certificate and key; upstream-tls: a client
 * context) into ${sh} for sessions accepted from now on; sessions already
 * running keep theirs.  ${sh} NULL only checks.  Returns 0, or -1 with
 * "FILE: message" in ${err} and ${sh} unchanged.
 */
int
shim_tls(struct shim *sh, const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *server = NULL, *client = NULL;

	if (cfg->shim.starttls == CONFIG_TLS_TERMINATE) {
		if ((server = tls_server_ctx(cfg, err, errlen)) == NULL)
			return (-1);
		if (cfg->shim.upstream_tls &&
		    (client = tls_client_ctx(cfg, err, errlen)) == NULL) {
			SSL_CTX_free(server);
			return (-1);
		}
	}
	if (sh == NULL) {
		SSL_CTX_free(server);
		SSL_CTX_free(client);
		return (0);
	}
	SSL_CTX_free(sh->tls_server);
	SSL_CTX_free(sh->tls_client);
	sh->tls_server = server;
	sh->tls_client = client;
	return (0);
}
