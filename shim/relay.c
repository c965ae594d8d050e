/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * relay.c - what happens on a session's two connections, state by state
 * (SPEC 5, 5.7, 5.8): the pipes' callbacks, starting the upstream
 * connection, backpressure between the two, half-close and the end of
 * both.
 *
 * Interface: shim.h, "relay.c".  The top of a session's layers: it hands
 * client input to command.c in CMD, upstream input to answer.c in GREET
 * and CMD, and relays octets itself in BLIND; below it session.c, tls.c
 * and pipe.c.  Only server.c calls in here.
 *
 * Invariants:
 * - Memory per session is bounded: the client's input stops at
 *   SESSION_READ_MAX (its pipe's rmax), and a side whose peer's output
 *   holds more than SESSION_OUT_MAX stops reading until that drains
 *   (on_write resumes it).
 * - A paused upstream is still watched for its end (its pipe's watch),
 *   so the session ends within SESSION_LINGER of the upstream's close
 *   whatever the client does.
 * - Half-close (SPEC 5.8): once the client has sent EOF and everything it
 *   sent is passed on, the upstream gets its EOF; once the upstream has
 *   ended, the replies it sent before still reach the client, in order,
 *   and then the session closes.  relay_shutdown() decides both, after
 *   every event that may have changed them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "proxy.h"
#include "shim.h"
#include "smtpframe.h"

static void
client_input(struct session *s)
{
	command_process(s);
	if (!s->dead)
		relay_shutdown(s);
}

static void
upstream_input(struct session *s)
{
	answer_process(s);
	if (!s->dead && s->state == S_BLIND && s->u.bev != NULL)
		(void)pipe_relay(&s->u, &s->c);
	if (!s->dead)
		relay_shutdown(s);
}

/*
 * The client is done and all it sent has been passed on: the upstream
 * gets its EOF (SPEC 5.8).  Under upstream-tls a close_notify first (not
 * after a QUIT: the MTA answers 221 and closes without reading on, and a
 * close_notify left unread makes its kernel reset the connection, so the
 * 221 could be lost; the FIN alone follows the QUIT).
 */
static void
half_close_upstream(struct session *s)
{
	(void)pipe_shut(&s->u, !s->quit_sent);	/* once: see pipe_shut() */
}

/**
 * relay_shutdown(s): half-close (SPEC 5.7, 5.8): once the client has sent
 * EOF and everything it sent has been passed on, shut the write side
 * towards the upstream.  Once the upstream has closed, nothing the client
 * sends can be answered any more: the replies already in (and the shim's
 * own that come before any that is lost) go out and the session closes,
 * within SESSION_LINGER; at once when the client has gone too.  Never
 * sooner than the replies the upstream sent: while they wait for the
 * client to read (u.paused), on_write comes back here.
 */
void
relay_shutdown(struct session *s)
{
	struct pend *p, e;

	if (s->dead || s->state == S_CLOSING || s->state == S_CONNECT)
		return;
	if (s->c.eof && s->u.bev != NULL &&
	    evbuffer_get_length(pipe_in(&s->c)) == 0 &&
	    pipe_outlen(&s->u) == 0)
		half_close_upstream(s);
	if (!s->u.eof || s->u.paused)
		return;
	/* A TLS filter may report the upstream's close before its last
	 * octets were read: pass them on first. */
	if (s->u.bev != NULL && evbuffer_get_length(pipe_in(&s->u)) > 0) {
		if (s->state == S_CMD) {
			upstream_input(s);	/* comes back here */
			return;
		}
		(void)pipe_relay(&s->u, &s->c);
		if (s->dead || s->u.paused)
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

/* ${p}, paused for its peer's full output, reads and passes on again. */
static void
resume(struct session *s, struct pipe *p)
{
	pipe_resume(p);
	if (s->state == S_BLIND)
		(void)pipe_relay(p, p == &s->c ? &s->u : &s->c);
	else if (p == &s->c)
		client_input(s);
	else
		upstream_input(s);
}

static void
client_read(void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = pipe_in(&s->c);

	if (s->state == S_CLOSING) {
		(void)evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	/* In CMD only lines and content re-arm the timer (command.c): one
	 * octet at a time of a line that never ends must not. */
	if (s->state == S_BLIND) {
		session_arm(s);
		(void)pipe_relay(&s->c, &s->u);
	} else if (s->state == S_CMD)
		client_input(s);
}

/* The client's output drained: resume the upstream, finish a close. */
static void
client_write(void *arg)
{
	struct session *s = arg;

	if (s->state == S_CLOSING) {
		closing_flush(s);
		return;
	}
	if (s->u.paused && s->u.bev != NULL)
		resume(s, &s->u);
	/* Paused for its own full output (command.c). */
	if (!s->dead && s->c.paused && s->state == S_CMD)
		resume(s, &s->c);
	if (!s->dead)
		relay_shutdown(s);
}

static void
client_event(void *arg, short what)
{
	struct session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		tls_client_event(s, what);	/* terminate: handshake done */
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		tls_client_event(s, what);
		session_reason(s, s->quit_sent ? COUNTERS_QUIT :
		    COUNTERS_CLIENT_CLOSE);
		session_drop(s);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	s->c.eof = 1;
	/* After its QUIT, a client's close is the end it asked for. */
	session_reason(s, s->quit_sent ? COUNTERS_QUIT : COUNTERS_CLIENT_CLOSE);
	/* Closing: the last replies still go out (closing_flush() ends the
	 * session once they are written, or SESSION_LINGER does). */
	if (s->state == S_CLOSING) {
		if (s->c.shut)
			session_drop(s);
		else
			closing_flush(s);
		return;
	}
	if (s->state == S_CONNECT || s->state == S_GREET) {
		session_drop(s);
		return;
	}
	relay_shutdown(s);
}

static void
upstream_read(void *arg)
{
	struct session *s = arg;

	/* The upstream's first octets: connected (relay_start()).  An
	 * exempt client's octets are relayed from now on. */
	if (s->state == S_CONNECT) {
		session_enter(s, s->exempt ? S_BLIND : S_GREET);
		if (s->exempt) {
			pipe_read_set(&s->c, 1);
			(void)pipe_relay(&s->c, &s->u);
			if (s->dead || s->state == S_CLOSING)
				return;
		}
	}
	session_arm(s);
	if (s->state == S_BLIND)
		(void)pipe_relay(&s->u, &s->c);
	else
		upstream_input(s);
}

/* The upstream's output drained: resume the client. */
static void
upstream_write(void *arg)
{
	struct session *s = arg;

	if (s->c.paused && s->state != S_CLOSING)
		resume(s, &s->c);
	if (!s->dead)
		relay_shutdown(s);
}

static void
upstream_event(void *arg, short what)
{
	struct session *s = arg;
	char	eb[128];
	int	e;

	if ((what & BEV_EVENT_CONNECTED) && s->uptls == U_HANDSHAKE) {
		/* TLS towards the upstream is up: now the client's greeting. */
		s->uptls = U_DONE;
		answer_greeted(s, s->greet, s->greet_len, 220);
		if (!s->dead)
			relay_shutdown(s);
		return;
	}
	/* After our own EOF towards it, a reset is the upstream's end (it
	 * closed with our close_notify unread), not a failure. */
	if ((what & BEV_EVENT_ERROR) && (s->u.shut || s->u.bye) &&
	    s->state == S_CMD)
		what = BEV_EVENT_EOF;
	if (what & BEV_EVENT_ERROR) {
		e = EVUTIL_SOCKET_ERROR();
		if (s->state == S_BLIND) {
			session_reason(s, COUNTERS_UPSTREAM_CLOSE);
			session_drop(s);
			return;
		}
		(void)snprintf(eb, sizeof(eb), "%s %s: %s",
		    s->state == S_CONNECT ? "connect" :
		    s->state == S_GREET ? "greeting" : "relay",
		    s->cfg->shim.upstream, evutil_socket_error_to_string(e));
		ev_log(s, LOG_ERR, "event=upstream-error", eb, strlen(eb), 0);
		session_reason(s, COUNTERS_ERROR_CLOSE);
		close_with(s, shim_reply(SR_UNAVAILABLE));
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	s->u.eof = 1;
	if (s->state == S_CONNECT || s->state == S_GREET)
		session_reason(s, COUNTERS_ERROR_CLOSE);
	upstream_gone(s);
	if (s->state == S_CONNECT || s->state == S_GREET) {
		ev_log(s, LOG_ERR, "event=upstream-error", eb,
		    (size_t)snprintf(eb, sizeof(eb), "%s: closed before "
		    "its greeting", s->cfg->shim.upstream), 0);
		close_with(s, shim_reply(SR_UNAVAILABLE));
		return;
	}
	relay_shutdown(s);
}

/* The paused upstream's peer ended (its pipe's watch). */
static void
upstream_ended(void *arg)
{
	upstream_gone(arg);
}

/**
 * relay_client(s, fd, early): the client's pipe on ${fd} (closed on
 * failure), holding ${early} (may be NULL): octets read before the
 * session existed, after a PROXY header.  Returns 0, or -1.
 */
int
relay_client(struct session *s, int fd, struct evbuffer *early)
{
	s->c.on_read = client_read;
	s->c.on_write = client_write;
	s->c.on_event = client_event;
	if (pipe_open(&s->c, s->base, fd, SESSION_READ_MAX, PIPE_COUNT,
	    s) != 0)
		return (-1);
	if (early != NULL)
		pipe_feed(&s->c, early);
	return (0);
}

/* Connect upstream, the PROXY header first (SPEC 5.8); -1 with errno. */
static int
connect_upstream(struct session *s)
{
	const struct config_shim *c = &s->cfg->shim;
	unsigned char hdr[PROXY_ENCODE_MAX];
	ssize_t	n = 0;
	int	fd;

	if ((fd = socket(c->upstream_addr.ss_family, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return (-1);
	s->u.on_read = upstream_read;
	s->u.on_write = upstream_write;
	s->u.on_event = upstream_event;
	s->u.on_gone = upstream_ended;
	if (pipe_open(&s->u, s->base, fd, 0, PIPE_WATCH, s) != 0) {
		errno = ENOMEM;
		return (-1);
	}
	if (c->proxy_protocol == CONFIG_PROXY_V1)
		n = proxy_encode_v1(hdr, sizeof(hdr),
		    (struct sockaddr *)&s->cl.peer,
		    (struct sockaddr *)&s->cl.local);
	else if (c->proxy_protocol == CONFIG_PROXY_V2)
		n = proxy_encode_v2(hdr, sizeof(hdr),
		    (struct sockaddr *)&s->cl.peer,
		    (struct sockaddr *)&s->cl.local);
	if (n < 0 || (n > 0 && evbuffer_add(pipe_out(&s->u), hdr,
	    (size_t)n) != 0)) {
		errno = ENOMEM;
		return (-1);
	}
	/*
	 * connect() by hand, not bufferevent_socket_connect(): that waits
	 * for the socket to become writable and asks SO_ERROR before
	 * reading, a poll round and two system calls per session.  The
	 * upstream speaks first, so its first octet (or the error that a
	 * failed connect leaves for recv()) says it all; a PROXY header
	 * waits in the output for the socket to become writable.
	 */
	if (connect(fd, (const struct sockaddr *)&c->upstream_addr,
	    c->upstream_addrlen) != 0 && errno != EINPROGRESS) {
		/* Refused at once: the same report as a refusal later. */
		upstream_event(s, BEV_EVENT_ERROR);
		return (0);
	}
	pipe_read_set(&s->u, 1);
	return (0);
}

/**
 * relay_start(s): an admitted session starts: its framer, its timer, its
 * upstream connection.  Returns 0, or -1 with errno set when the upstream
 * connection could not be started (EMFILE: the server stops accepting
 * for a while); relay_failed() then ends the session.
 */
int
relay_start(struct session *s)
{
	size_t	lim = (size_t)s->cfg->rules[POLICY_CMD_LINE_LENGTH].limit;

	if (!s->exempt && (s->fr = smtpframe_new(lim > SESSION_AUTH_LINE ?
	    lim : SESSION_AUTH_LINE)) == NULL) {
		internal_error(s, "out of memory");
		return (0);
	}
	pipe_read_set(&s->c, 0);
	session_enter(s, S_CONNECT);
	return (connect_upstream(s));
}

/** relay_failed(s): relay_start() failed: 421 to the client. */
void
relay_failed(struct session *s)
{
	if (s->dead || s->state != S_CONNECT)
		return;
	ev_log(s, LOG_ERR, "event=upstream-error", "cannot connect", 14, 0);
	session_reason(s, COUNTERS_ERROR_CLOSE);
	close_with(s, shim_reply(SR_UNAVAILABLE));
}
