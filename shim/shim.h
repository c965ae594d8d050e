/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shim.h - the internal header of esmtp-inspect-shim's relay (SPEC 5):
 * the session object and the functions each module gives the others.
 * server.h is the interface main.c sees.
 *
 * The modules form layers, highest first; each calls only the layers
 * below it, and a lower layer reports upwards only through callbacks
 * installed from above (a pipe's on_read/on_write/on_event/on_gone, an
 * endpoint's ready/ended, a session's ended):
 *
 *   server.c     listeners, accept, admission against the limits, stop
 *   relay.c      a session's events: which side handles them, per state;
 *                starting a session, half-close and the end of both
 *   command.c    client to MTA: framing, the verb table, line checks
 *   answer.c     MTA to client: replies against the pending queue,
 *                banner and EHLO rewriting (beside command.c)
 *   tls.c        TLS contexts, STARTTLS under allow and terminate, the
 *                shim's own STARTTLS towards the MTA (upstream-tls)
 *   session.c    life cycle: one state setter, the timer, log lines,
 *                rule decisions, closing and the single teardown
 *   endpoint.c   who the client is and the form of its log lines; the
 *                inbound PROXY header, read with its own read and timer
 *                before the client has a session
 *   pipe.c       one socket and its direction of octets: read, write,
 *                backpressure, EOF, half-close (under TLS too); no SMTP
 *   pending.c, smtpframe.c, verb.c, reply.c, banner.c, ehlo.c, proxy.c,
 *   limit.c, invrcpt.c
 *                pure modules: no sockets, each with unit tests
 *
 * command.c and answer.c talk to each other only through the pending
 * queue (a command pushes what its reply will mean; a reply pops it) and
 * one explicit call: answer.c calls command_resume() once a reply lets
 * the client's held input be read.  tests/layers (make check) reads the
 * "----" markers below and fails on any call upwards or sideways.
 */
#ifndef SHIM_H
#define SHIM_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "counters.h"
#include "pending.h"
#include "policy.h"
#include "reply.h"
#include "verdict.h"

struct bufferevent;
struct evbuffer;
struct config;
struct limit;
struct smtpframe;
struct smtpframe_reply;

#define SESSION_READ_MAX	(64 * 1024)	/* client input held unparsed */
#define SESSION_OUT_MAX		(256 * 1024)	/* output before the source pauses */
#define SESSION_TLS_OUT_MAX	(64 * 1024)	/* ciphertext under a TLS filter */
#define SESSION_AUTH_LINE	12288		/* RFC 4954 4: AUTH line, CRLF included */
#define SESSION_LINGER		1		/* seconds to flush a final reply */
#define SESSION_WATCH_MS	500		/* polling a paused upstream */
#define SESSION_DISCARD_MAX	(1024 * 1024)	/* plaintext after STARTTLS */

/* ---- pipe.c ------------------------------------------------------------ */

/*
 * One connected socket: a libevent bufferevent that writes (and, once a
 * TLS filter sits on it, reads), a read event of our own for a plain
 * socket, and the flags of its life.  It knows nothing of SMTP: what it
 * reads and how it ends go to the callbacks of whoever owns it.
 */
struct pipe {
	struct bufferevent *bev;	/* NULL once closed */
	int	fd;			/* the socket, under a TLS filter too */
	struct event *rd;		/* reading a plain socket: NULL under TLS */
	struct event *watch;		/* polls a paused pipe for its end */
	size_t	rmax;			/* input held unread at most (0: none) */
	int	rdon;			/* reading wanted */
	int	tls;			/* a TLS filter sits on the socket */
	int	eof;			/* EOF (or an error) read */
	int	shut;			/* our write side is shut */
	int	bye;			/* half-close under way (TLS: the
					 * ciphertext before it is draining) */
	int	paused;			/* reading stopped for backpressure */
	unsigned long long in, out;	/* octets on the socket (PIPE_COUNT) */
	void	(*on_read)(void *);
	void	(*on_write)(void *);	/* output drained */
	void	(*on_event)(void *, short);	/* BEV_EVENT_* */
	void	(*on_gone)(void *);	/* paused, and the peer ended */
	void   *arg;
};

#define PIPE_WATCH	0x01		/* pipe_open(): watch while paused */
#define PIPE_COUNT	0x02		/* pipe_open(): count in and out */

int	pipe_open(struct pipe *, struct event_base *, int fd, size_t rmax,
	    int flags, void *arg);
void	pipe_close(struct pipe *);
void	pipe_read_set(struct pipe *, int on);
void	pipe_pause(struct pipe *);
void	pipe_resume(struct pipe *);
int	pipe_relay(struct pipe *from, struct pipe *to);
void	pipe_write_now(struct pipe *);
int	pipe_tls(struct pipe *, struct event_base *, SSL *, int accepting);
int	pipe_shut(struct pipe *, int notify);
void	pipe_feed(struct pipe *, struct evbuffer *);
void	pipe_drain_peer(struct pipe *);
struct evbuffer *pipe_in(const struct pipe *);
struct evbuffer *pipe_out(const struct pipe *);
size_t	pipe_outlen(const struct pipe *);

/* ---- endpoint.c -------------------------------------------------------- */

/* Who the client is: fixed at accept, or by a trusted PROXY header. */
struct client {
	char	id[24];			/* "S<hex>": the log lines' prefix */
	char	addr[INET6_ADDRSTRLEN];
	unsigned port;
	struct sockaddr_storage peer;
	struct sockaddr_storage local;	/* only for an outgoing PROXY header */
};

/* A balancer's connection whose PROXY header is being read. */
struct endpoint {
	struct client cl;
	struct config *cfg;
	int	fd;
	struct event *rd, *timer;
	struct evbuffer *in;		/* read so far */
	size_t	hdrlen;			/* the header's octets, once read */
	int	closing;
	int	handed;			/* ready() took it: a session now */
	int	reason;			/* its end, counted when not handed:
					 * COUNTERS_* + 1, 0 for client-close */
	void	(*ready)(struct endpoint *, void *);	/* takes fd */
	void	(*ended)(struct endpoint *, void *);	/* freed after */
	void   *arg;
	LIST_ENTRY(endpoint) entry;	/* the server's list */
};

void	client_vlog(const struct client *, int level, const char *pre,
	    const char *detail, size_t dlen, int monitor, va_list ap)
	    __attribute__((format(printf, 3, 0)));
struct endpoint *endpoint_new(struct event_base *, struct config *,
	    const struct client *, int fd);
void	endpoint_close(struct endpoint *);
void	endpoint_free(struct endpoint *);

/* ---- session.c --------------------------------------------------------- */

enum sstate { S_CONNECT, S_GREET, S_CMD, S_BLIND, S_CLOSING };

/* starttls = terminate with upstream-tls: the shim's own STARTTLS upstream. */
enum uptls { U_NONE, U_EHLO, U_STARTTLS, U_HANDSHAKE, U_DONE };

/* Content being relayed. */
enum content { C_NONE, C_DATA, C_BDAT };

struct session {
	/* Identity, fixed at the start. */
	struct client cl;
	struct verdict_who who;		/* rule decisions: exempt, monitor */
	struct config *cfg;		/* the snapshot of its start */
	struct event_base *base;
	const char *hostname;		/* the server's: banner = mask, EHLO */
	struct limit *limit;		/* the server's, for hatch() */
	void	(*ended)(struct session *, void *);	/* the server's:
						 * called by session_drop() */
	void   *ended_arg;
	LIST_ENTRY(session) entry;	/* the server's list */

	/* Life cycle (session.c). */
	enum sstate state;
	struct event *timer;
	long long embryonic_end;	/* ms, CLOCK_MONOTONIC */
	int	embryonic;		/* counted as embryonic in the limits */
	int	exempt;			/* global exempt-clients: byte relay */
	int	admitted;		/* counted in the limits */
	int	u_gone;			/* the upstream has ended: SESSION_LINGER
					 * from the client's last progress */
	int	dead;
	long long start_ms;		/* CLOCK_MONOTONIC, for duration= */
	enum counters_reason reason;	/* why it ended: session_reason() */
	int	reason_set;
	unsigned long messages;		/* message ends the MTA accepted */

	/* The two connections. */
	struct pipe c, u;

	/* TLS (tls.c). */
	SSL_CTX *tls_ctx;		/* terminate: towards the client */
	SSL_CTX *tls_uctx;		/* terminate + upstream-tls */
	int	tls_up;			/* the client's handshake is done */
	enum uptls uptls;
	char   *greet;			/* upstream-tls: the greeting, held */
	size_t	greet_len;

	/* The command side (command.c). */
	struct smtpframe *fr;
	enum content content;
	int	hold;			/* client input waits for a reply */
	int	auth_cont;		/* the next line is an AUTH continuation */
	int	sniffed;		/* first octets checked for a PROXY header */
	int	bare_logged;		/* bare-linefeed logged for this message */
	int	quit_sent;		/* QUIT went upstream */
	unsigned errors;		/* the shim's own refusals */
	unsigned long commands;
	int	bdat_last;		/* the BDAT being forwarded has LAST */

	/* The reply side (answer.c) and what both share. */
	struct smtpframe_reply *rp;	/* only while a reply is arriving */
	struct pendq pq;
	int	dataend;		/* DATA end replies outstanding */
	int	chunking;		/* the MTA's last EHLO offered CHUNKING */
	unsigned long rcpt_refused;	/* RCPTs the MTA refused, this session
					 * (invalid-recipients, invrcpt.c) */
};

struct session *session_new(struct event_base *, struct config *,
	    const struct client *);
void	session_enter(struct session *, enum sstate);
void	session_arm(struct session *);
void	session_drop(struct session *);
void	session_reason(struct session *, enum counters_reason);
void	close_with(struct session *, const char *reply);
void	closing_flush(struct session *);
void	internal_error(struct session *, const char *what);
void	upstream_gone(struct session *);
void	to_client(struct session *, const void *, size_t);
int	pend_push(struct session *, enum pkind, char *text);
void	local_reply(struct session *, const char *text);
void	ev_log(struct session *, int level, const char *pre,
	    const char *detail, size_t dlen, int monitor, ...)
	    __attribute__((format(printf, 3, 7)));
void	trace(struct session *, const char *frame, const void *, size_t);
enum policy_action rule_action(const struct session *, enum policy_rule);
void	rule_fire(struct session *, enum policy_rule, enum policy_action,
	    long long value, long long limit, const char *stage,
	    const char *detail);
enum policy_action rule_fire_ev(struct session *, struct audit_rule *,
	    const char *stage);
void	drop_for(struct session *, enum policy_rule);
void	hatch(struct session *);
long long mono_ms(void);

/* ---- tls.c ------------------------------------------------------------- */

int	discard_pipelined(struct session *);
void	starttls_allow(struct session *, const char *reply, size_t);
void	starttls_terminate(struct session *);
void	tls_client_event(struct session *, short what);
int	uptls_reply(struct session *, const char *, size_t, int code);
int	tls_contexts(const struct config *, SSL_CTX **server,
	    SSL_CTX **client, char *err, size_t errlen);

/* ---- command.c --------------------------------------------------------- */

void	command_process(struct session *);
void	command_resume(struct session *);

/* ---- answer.c ---------------------------------------------------------- */

void	answer_process(struct session *);
void	answer_greeted(struct session *, const char *, size_t, int code);

/* ---- relay.c ----------------------------------------------------------- */

int	relay_client(struct session *, int fd, struct evbuffer *early);
int	relay_start(struct session *);
void	relay_failed(struct session *);
void	relay_shutdown(struct session *);

#endif /* SHIM_H */
