/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * endpoint.c - who a client is (SPEC 5.8, 6): its identity and the form
 * of its log lines, and the inbound PROXY header of a trusted load
 * balancer (accept-proxy-from), read with its own read event and timer
 * before the client has a session.
 *
 * Interface: shim.h, "endpoint.c".  Below the session: the server makes
 * an endpoint for a balancer's connection and gets it back through the
 * ready callback, with the client the header names, or never (a bad
 * header, a timeout, an EOF: the endpoint closes and ended reports it).
 *
 * Invariants:
 * - At most PROXY_V2_HDRLEN + PROXY_V2_LEN_MAX octets are read before the
 *   header is complete: a longer one is refused, never buffered.
 * - Exactly the header is consumed; octets read behind it go to the
 *   session first (endpoint_early()), so the session's framer sees every
 *   octet the client sent after the header.
 * - An endpoint lasts connect-timeout at most, then SESSION_LINGER while
 *   it closes: it shuts its write side and reads what the client still
 *   sends, so that closing does not reset the connection.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "audit.h"
#include "config.h"
#include "proxy.h"
#include "shim.h"

#define ENDPOINT_HDR_MAX	(PROXY_V2_HDRLEN + PROXY_V2_LEN_MAX)

/**
 * client_vlog(cl, level, pre, detail, dlen, monitor, ap): the log line of
 * an event for client ${cl}: "<sid>: <pre> client=unknown[addr]:port
 * [mode=monitor] [detail="..."]" (SPEC 6), ${detail} escaped.
 */
void
client_vlog(const struct client *cl, int level, const char *pre,
    const char *detail, size_t dlen, int monitor, va_list ap)
{
	char	p[512], esc[AUDIT_LINE_MAX], client[128];

	(void)vsnprintf(p, sizeof(p), pre, ap);
	if (detail != NULL)
		(void)audit_escape(esc, sizeof(esc), detail, dlen);
	(void)audit_client(client, sizeof(client), NULL, cl->addr, cl->port);
	audit_log(level, cl->id, "%s %s%s%s%s%s", p,
	    client, monitor ? " mode=monitor" : "",
	    detail != NULL ? " detail=\"" : "", detail != NULL ? esc : "",
	    detail != NULL ? "\"" : "");
}

static void __attribute__((format(printf, 3, 5)))
client_log(const struct client *cl, int level, const char *pre,
    const char *detail, ...)
{
	va_list	ap;

	va_start(ap, detail);
	client_vlog(cl, level, pre, detail, strlen(detail), 0, ap);
	va_end(ap);
}

/* The header is refused for ${why}. */
static void
ep_log(struct endpoint *ep, const char *why)
{
	if (ep->reason == 0)
		ep->reason = COUNTERS_POLICY + 1;
	client_log(&ep->cl, LOG_WARNING, "event=proxy-error", why);
}

/** endpoint_free(ep): close and free ${ep} (its socket too, unless taken). */
void
endpoint_free(struct endpoint *ep)
{
	/* A balancer's connection that never became a session is counted
	 * as one that ended (SPEC 8). */
	if (!ep->handed)
		counters_session_count(ep->reason > 0 ?
		    (enum counters_reason)(ep->reason - 1) :
		    COUNTERS_CLIENT_CLOSE);
	if (ep->ended != NULL)
		ep->ended(ep, ep->arg);
	if (ep->rd != NULL)
		event_free(ep->rd);
	if (ep->timer != NULL)
		event_free(ep->timer);
	if (ep->in != NULL)
		evbuffer_free(ep->in);
	if (ep->fd >= 0)
		(void)close(ep->fd);
	config_unref(ep->cfg);
	free(ep);
}

/**
 * endpoint_close(ep): close without a reply: shut the write side, then
 * read and throw away until the client's EOF, SESSION_LINGER at most.
 */
void
endpoint_close(struct endpoint *ep)
{
	struct timeval tv = { SESSION_LINGER, 0 };

	if (ep->closing)
		return;
	ep->closing = 1;
	(void)shutdown(ep->fd, SHUT_WR);
	(void)evtimer_add(ep->timer, &tv);
}

/* The header is read: the real client is what policy, limits and the
 * outgoing header use from now on. */
static void
ep_ready(struct endpoint *ep, const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst, size_t used)
{
	(void)evbuffer_drain(ep->in, used);
	ep->hdrlen = used;
	/* LOCAL/UNKNOWN: the balancer's own check; it stays the client. */
	if (src->ss_family != AF_UNSPEC) {
		ep->cl.peer = *src;
		ep->cl.local = *dst;
		audit_addr((const struct sockaddr *)&ep->cl.peer, ep->cl.addr,
		    sizeof(ep->cl.addr), &ep->cl.port);
	}
	(void)event_del(ep->rd);
	(void)event_del(ep->timer);
	ep->handed = 1;
	ep->ready(ep, ep->arg);		/* takes ep->fd, reads ep->in */
	endpoint_free(ep);
}

static void
ep_read(evutil_socket_t fd, short what, void *arg)
{
	struct endpoint *ep = arg;
	struct sockaddr_storage src, dst;
	char	junk[4096];
	size_t	len, used = 0;
	const char *err = NULL;
	unsigned char *p;
	int	n, r;

	(void)what;
	if (ep->closing) {
		if ((n = (int)recv(fd, junk, sizeof(junk), 0)) == 0 ||
		    (n < 0 && errno != EAGAIN && errno != EINTR))
			endpoint_free(ep);
		return;
	}
	len = evbuffer_get_length(ep->in);
	n = evbuffer_read(ep->in, fd, (int)(ENDPOINT_HDR_MAX - len));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {			/* gone before its header */
		endpoint_free(ep);
		return;
	}
	len = evbuffer_get_length(ep->in);
	if ((p = evbuffer_pullup(ep->in, (ssize_t)len)) == NULL) {
		/* An internal error, as a session's: come back later. */
		client_log(&ep->cl, LOG_ERR, "event=error stage=relay",
		    "out of memory");
		ep->reason = COUNTERS_ERROR_CLOSE + 1;
		(void)send(fd, shim_reply(SR_UNAVAILABLE),
		    shim_reply_len(SR_UNAVAILABLE), MSG_DONTWAIT | MSG_NOSIGNAL);
		endpoint_close(ep);
		return;
	}
	r = proxy_parse(p, len, &src, &dst, &used, &err);
	if (r == 1 && len < ENDPOINT_HDR_MAX)
		return;			/* more to come */
	if (r != 0) {
		ep_log(ep, err != NULL ? err : "header too long");
		endpoint_close(ep);
		return;
	}
	ep_ready(ep, &src, &dst, used);
}

static void
ep_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct endpoint *ep = arg;

	(void)fd;
	(void)what;
	if (ep->closing) {
		endpoint_free(ep);
		return;
	}
	ep->reason = COUNTERS_TIMEOUT + 1;
	ep_log(ep, "no PROXY header");
	endpoint_close(ep);
}

/**
 * endpoint_new(base, cfg, cl, fd): read the PROXY header on ${fd} for the
 * balancer's connection ${cl}, within ${cfg}'s connect-timeout.  The
 * caller sets ready, ended and arg.  Returns NULL (${fd} untouched) when
 * out of memory.
 */
struct endpoint *
endpoint_new(struct event_base *base, struct config *cfg,
    const struct client *cl, int fd)
{
	struct endpoint *ep;
	struct timeval tv = { cfg->shim.connect_timeout, 0 };

	if ((ep = calloc(1, sizeof(*ep))) == NULL)
		return (NULL);
	ep->fd = -1;
	ep->cfg = config_ref(cfg);
	ep->cl = *cl;
	if ((ep->in = evbuffer_new()) == NULL ||
	    (ep->rd = event_new(base, fd, EV_READ | EV_PERSIST, ep_read,
	    ep)) == NULL ||
	    (ep->timer = evtimer_new(base, ep_timeout, ep)) == NULL) {
		endpoint_free(ep);
		return (NULL);
	}
	ep->fd = fd;
	(void)event_add(ep->rd, NULL);
	(void)evtimer_add(ep->timer, &tv);
	return (ep);
}
