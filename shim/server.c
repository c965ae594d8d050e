/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.c - esmtp-inspect-shim's server (SPEC 5.7): listeners, accept,
 * admission against the connection limits, descriptor exhaustion, stop.
 *
 * Interface: server.h (shim_new, shim_listen, shim_tls, shim_stop,
 * shim_sessions, shim_free).  The top layer: it makes an endpoint for a
 * trusted balancer's connection (endpoint.c reads its PROXY header) and
 * a session for every client it admits (session.c, started by relay.c).
 * Sessions and endpoints report their end through the callbacks set
 * here, which is how the server counts them.
 *
 * Invariants:
 * - A client is admitted (counted in limit.c) once its address is known:
 *   at accept, or after a trusted PROXY header; a session's end releases
 *   what its admission took, exactly once (session_ended()).
 * - Out of descriptors (accept or the upstream socket) the listeners
 *   pause for a second, never spin; logged once per episode.
 * - Stopping: no more accepts; once no session and no endpoint is left
 *   the event loop is left; shutdown-timeout ends those still there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "audit.h"
#include "cidr.h"
#include "config.h"
#include "limit.h"
#include "server.h"
#include "shim.h"

#define SHIM_LISTEN_MAX		16

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
	LIST_HEAD(, session) sessions;
	LIST_HEAD(, endpoint) endpoints;
	int	nsessions;	/* sessions and endpoints */
	struct event *stop_timer;
	int	stopping;
	unsigned long long next_id;
};

static const char *const limit_names[] = { "", "max-connections",
	"max-connections-per-client", "max-embryonic" };
static const enum counters_limit limit_counter[] = { COUNTERS_MAX_CONNECTIONS,
	COUNTERS_MAX_CONNECTIONS, COUNTERS_MAX_PER_CLIENT,
	COUNTERS_MAX_EMBRYONIC };

static time_t
mono_now(void)
{
	return ((time_t)(mono_ms() / 1000));
}

/* Stopping and nothing left: leave the event loop. */
static void
check_done(struct shim *sh)
{
	if (sh->stopping && sh->nsessions == 0)
		(void)event_base_loopexit(sh->base, NULL);
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

/* "421 4.7.0 Too many connections" straight on the socket, then close. */
static void
refuse(int fd)
{
	(void)send(fd, shim_reply(SR_TOO_MANY_CONNECTIONS),
	    shim_reply_len(SR_TOO_MANY_CONNECTIONS), MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)close(fd);
}

/* A session's end (session_drop()): uncount it, release its admission. */
static void
session_ended(struct session *s, void *arg)
{
	struct shim *sh = arg;

	if (s->admitted)
		limit_release(sh->limit, (const struct sockaddr *)&s->cl.peer,
		    s->cfg->shim.client_ipv6_prefix, s->exempt, s->embryonic);
	LIST_REMOVE(s, entry);
	sh->nsessions--;
	check_done(sh);
}

/*
 * Admission of a client whose address is known: exemption, limits, the
 * connect line, the TLS contexts of its start, then relay.c starts it.
 */
static void
admit(struct shim *sh, struct session *s)
{
	struct config *cfg = s->cfg;
	const struct sockaddr *sa = (const struct sockaddr *)&s->cl.peer;
	struct limit_max max;
	struct limit_verdict v;
	int	r;

	s->exempt = cidr_list_match_sa(&cfg->exempt, sa);
	max.total = cfg->shim.max_connections;
	max.client = cfg->shim.max_connections_per_client;
	max.embryonic = cfg->shim.max_embryonic;
	max.v6prefix = cfg->shim.client_ipv6_prefix;
	if ((r = limit_admit(sh->limit, sa, s->exempt, &max, &v)) != 0) {
		if (r < 0) {
			ev_log(s, LOG_ERR, "event=error stage=accept",
			    "out of memory", 13, 0);
			session_reason(s, COUNTERS_ERROR_CLOSE);
		} else {
			if (v.log)
				ev_log(s, LOG_WARNING, "event=limit "
				    "action=reject value=%d limit=%d",
				    limit_names[v.kind],
				    strlen(limit_names[v.kind]), 0, v.value,
				    v.limit);
			session_reason(s, COUNTERS_LIMIT);
			counters_limit(limit_counter[v.kind]);
		}
		close_with(s, shim_reply(SR_TOO_MANY_CONNECTIONS));
		return;
	}
	s->admitted = 1;
	s->embryonic = !s->exempt;
	if (s->embryonic)
		s->embryonic_end = mono_ms() +
		    (long long)cfg->shim.embryonic_timeout * 1000;
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
	if (relay_start(s) != 0) {
		/* Out of descriptors: stop taking clients for a while. */
		if (errno == EMFILE || errno == ENFILE)
			accept_pause(sh, errno);
		relay_failed(s);
	}
}

/* A client with its address known, on ${fd}: its session, admitted. */
static void
start_session(struct shim *sh, struct config *cfg, const struct client *cl,
    int fd, struct evbuffer *early, size_t hdrlen)
{
	struct session *s;

	if ((s = session_new(sh->base, cfg, cl)) == NULL) {
		refuse(fd);
		return;
	}
	s->hostname = sh->hostname;
	s->limit = sh->limit;
	s->ended = session_ended;
	s->ended_arg = sh;
	LIST_INSERT_HEAD(&sh->sessions, s, entry);
	sh->nsessions++;
	if (relay_client(s, fd, early) != 0) {
		session_reason(s, COUNTERS_ERROR_CLOSE);
		session_drop(s);
		return;
	}
	s->c.in += hdrlen;	/* the PROXY header, read by the endpoint */
	admit(sh, s);
}

/* An endpoint's PROXY header is read: the client it names starts. */
static void
endpoint_ready(struct endpoint *ep, void *arg)
{
	int	fd = ep->fd;

	ep->fd = -1;
	start_session(arg, ep->cfg, &ep->cl, fd, ep->in, ep->hdrlen);
}

static void
endpoint_ended(struct endpoint *ep, void *arg)
{
	struct shim *sh = arg;

	LIST_REMOVE(ep, entry);
	sh->nsessions--;
	check_done(sh);
}

static void
accept_client(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct shim *sh = arg;
	struct endpoint *ep;
	struct config *cfg;
	struct client cl;
	socklen_t len;

	(void)lis;
	if (sh->paused_logged && mono_now() - sh->paused_at > 10)
		sh->paused_logged = 0;	/* ten quiet seconds end an episode */
	if ((cfg = config_current()) == NULL || sh->stopping) {
		config_unref(cfg);
		(void)close(fd);
		return;
	}
	memset(&cl, 0, sizeof(cl));
	(void)snprintf(cl.id, sizeof(cl.id), "S%llX", sh->next_id++);
	memcpy(&cl.peer, sa, (size_t)salen < sizeof(cl.peer) ?
	    (size_t)salen : sizeof(cl.peer));
	/* The local address is only ever sent in the PROXY header. */
	len = sizeof(cl.local);
	if (cfg->shim.proxy_protocol == CONFIG_PROXY_NONE ||
	    getsockname(fd, (struct sockaddr *)&cl.local, &len) != 0)
		cl.local.ss_family = AF_UNSPEC;
	audit_addr(sa, cl.addr, sizeof(cl.addr), &cl.port);
	if (!cidr_list_match_sa(&cfg->shim.accept_proxy_from, sa)) {
		start_session(sh, cfg, &cl, fd, NULL, 0);
		config_unref(cfg);
		return;
	}
	/* A balancer: its header first, within connect-timeout. */
	if ((ep = endpoint_new(sh->base, cfg, &cl, fd)) == NULL) {
		refuse(fd);
		config_unref(cfg);
		return;
	}
	config_unref(cfg);
	ep->ready = endpoint_ready;
	ep->ended = endpoint_ended;
	ep->arg = sh;
	LIST_INSERT_HEAD(&sh->endpoints, ep, entry);
	sh->nsessions++;
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
	LIST_INIT(&sh->sessions);
	LIST_INIT(&sh->endpoints);
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

/* shutdown-timeout expired: 421 to the sessions still there. */
static void
stop_expired(evutil_socket_t fd, short what, void *arg)
{
	struct shim *sh = arg;
	struct session *s, *next;
	struct endpoint *ep;

	(void)fd;
	(void)what;
	for (s = LIST_FIRST(&sh->sessions); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		session_reason(s, COUNTERS_SHUTDOWN);
		if (s->state == S_CMD && s->content == C_NONE)
			close_with(s, shim_reply(SR_SHUTTING_DOWN));
		else if (s->state != S_CLOSING)
			close_with(s, NULL);
	}
	LIST_FOREACH(ep, &sh->endpoints, entry)
		endpoint_close(ep);
	check_done(sh);
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
	check_done(sh);
}

/** shim_sessions(sh): number of live sessions (PROXY headers being read included). */
int
shim_sessions(const struct shim *sh)
{
	return (sh->nsessions);
}

/**
 * shim_tls(sh, cfg, err, errlen): load the TLS contexts ${cfg} asks for
 * into ${sh} for sessions accepted from now on; sessions already running
 * keep theirs.  ${sh} NULL only checks.  Returns 0, or -1 with "FILE:
 * message" in ${err} and ${sh} unchanged.
 */
int
shim_tls(struct shim *sh, const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *server, *client;

	if (tls_contexts(cfg, &server, &client, err, errlen) != 0)
		return (-1);
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

/** shim_free(sh): close every session, endpoint and listener; NULL is a no-op. */
void
shim_free(struct shim *sh)
{
	int	i;

	if (sh == NULL)
		return;
	while (!LIST_EMPTY(&sh->sessions)) {
		session_reason(LIST_FIRST(&sh->sessions), COUNTERS_SHUTDOWN);
		session_drop(LIST_FIRST(&sh->sessions));
	}
	while (!LIST_EMPTY(&sh->endpoints))
		endpoint_free(LIST_FIRST(&sh->endpoints));
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
