/*
 * metrics.c - GET /metrics and GET /stats over evhttp (SPEC 8).
 *
 * Interface: metrics_bind(), metrics_new(), metrics_free(),
 * metrics_thread_start(), metrics_thread_stop().
 *
 * Invariants: only GET of the two paths is answered 200 (another method
 * 405, another path 404); a request carries no body and at most 8 KiB of
 * headers; a connection ends after METRICS_TIMEOUT idle seconds.  The
 * answer is built in memory from one counters_read(): a few KiB whatever
 * the traffic, since the series are fixed by the rule table.  Out of
 * descriptors, the listener pauses for a second instead of spinning.
 * metrics-listen is meant for a monitoring host on a trusted network,
 * as Postfix's own status ports are: it has no authentication and no
 * connection cap of its own (libevent 2.1's evhttp has none).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "config.h"
#include "metrics.h"
#include "sockspec.h"

#define METRICS_BACKLOG		16
#define METRICS_HEADERS_MAX	8192

struct metrics {
	struct evhttp *http;
	struct event *resume;		/* the paused listener, a second on */
	struct evconnlistener *lis;
	enum counters_daemon daemon;
};

/** metrics_bind(spec, err, len): a listening socket on "ADDR:PORT", or -1. */
int
metrics_bind(const char *spec, char *err, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	const char *why;
	char	eb[128];
	int	fd, on = 1;

	if ((why = sockspec_hostport(spec, &ss, &sslen)) != NULL) {
		(void)snprintf(err, len, "metrics-listen %s: %s", spec, why);
		return (-1);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0) {
		(void)snprintf(err, len, "socket: %s", strerror_r(errno, eb,
		    sizeof(eb)));
		return (-1);
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 ||
	    listen(fd, METRICS_BACKLOG) != 0) {
		(void)snprintf(err, len, "cannot listen on metrics-listen %s: "
		    "%s", spec, strerror_r(errno, eb, sizeof(eb)));
		(void)close(fd);
		return (-1);
	}
	return (fd);
}

/* One request: GET /metrics or GET /stats. */
static void
serve(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	struct counters_snap snap;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *body;
	struct config *cfg;
	char   *text = NULL;
	size_t	len = 0;
	FILE   *fp;
	int	prom;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		(void)evhttp_add_header(out, "Allow", "GET");
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	if (path == NULL || (strcmp(path, "/metrics") != 0 &&
	    strcmp(path, "/stats") != 0)) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	prom = strcmp(path, "/metrics") == 0;
	counters_read(&snap);
	cfg = config_current();
	if ((fp = open_memstream(&text, &len)) != NULL) {
		if (prom)
			counters_prometheus(&snap, cfg, m->daemon, fp);
		else
			counters_stats(&snap, cfg, m->daemon, fp);
		if (fclose(fp) != 0) {
			free(text);
			text = NULL;
		}
	}
	config_unref(cfg);
	if (text == NULL || (body = evbuffer_new()) == NULL) {
		free(text);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	(void)evbuffer_add(body, text, len);
	free(text);
	(void)evhttp_add_header(out, "Content-Type", prom ?
	    "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

static void
resume(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;

	(void)fd;
	(void)what;
	(void)evconnlistener_enable(m->lis);
}

/* accept() failed (out of descriptors): pause a second, do not spin. */
static void
accept_error(struct evconnlistener *lis, void *arg)
{
	struct metrics *m = arg;
	struct timeval tv = { 1, 0 };

	(void)lis;
	(void)evconnlistener_disable(m->lis);
	(void)evtimer_add(m->resume, &tv);
}

/** metrics_new(base, fd, daemon): serve on ${fd} from ${base}. */
struct metrics *
metrics_new(struct event_base *base, int fd, enum counters_daemon daemon)
{
	struct evhttp_bound_socket *bs;
	struct metrics *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	m->daemon = daemon;
	if ((m->http = evhttp_new(base)) == NULL ||
	    (m->resume = evtimer_new(base, resume, m)) == NULL ||
	    (bs = evhttp_accept_socket_with_handle(m->http, fd)) == NULL) {
		metrics_free(m);
		return (NULL);
	}
	m->lis = evhttp_bound_socket_get_listener(bs);
	evconnlistener_set_error_cb(m->lis, accept_error);
	/* Every method reaches serve(), which answers 405 but for GET. */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT);
	evhttp_set_max_headers_size(m->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_gencb(m->http, serve, m);
	return (m);
}

/** metrics_free(m): stop serving, close the socket. */
void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->http != NULL)
		evhttp_free(m->http);
	if (m->resume != NULL)
		event_free(m->resume);
	free(m);
}

/* ---- the milter's thread ------------------------------------------------ */

static struct {
	pthread_t tid;
	int	running;
	int	wake[2];		/* stop: a byte on wake[1] */
	struct event_base *base;
	struct metrics *m;
	struct event *stop;
} th = { .wake = { -1, -1 } };

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)event_base_loopbreak(arg);
}

static void *
thread_main(void *arg)
{
	(void)arg;
	(void)event_base_dispatch(th.base);
	return (NULL);
}

static void
thread_clear(void)
{
	metrics_free(th.m);
	th.m = NULL;
	if (th.stop != NULL)
		event_free(th.stop);
	th.stop = NULL;
	if (th.base != NULL)
		event_base_free(th.base);
	th.base = NULL;
	if (th.wake[0] >= 0)
		(void)close(th.wake[0]);
	if (th.wake[1] >= 0)
		(void)close(th.wake[1]);
	th.wake[0] = th.wake[1] = -1;
}

/** metrics_thread_start(fd, daemon): serve from a thread of its own; 0 or -1. */
int
metrics_thread_start(int fd, enum counters_daemon daemon)
{
	if (th.running)
		return (-1);
	if (pipe2(th.wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    (th.base = event_base_new()) == NULL ||
	    (th.stop = event_new(th.base, th.wake[0], EV_READ, stop_cb,
	    th.base)) == NULL || event_add(th.stop, NULL) != 0 ||
	    (th.m = metrics_new(th.base, fd, daemon)) == NULL ||
	    pthread_create(&th.tid, NULL, thread_main, NULL) != 0) {
		if (th.m == NULL)
			(void)close(fd);
		thread_clear();
		return (-1);
	}
	th.running = 1;
	return (0);
}

/** metrics_thread_stop(): end the thread and free what it held. */
void
metrics_thread_stop(void)
{
	if (!th.running)
		return;
	while (write(th.wake[1], "", 1) < 0 && errno == EINTR)
		;
	(void)pthread_join(th.tid, NULL);
	th.running = 0;
	thread_clear();
}
