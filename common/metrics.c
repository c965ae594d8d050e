/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.c - GET /metrics and GET /stats on metrics-listen (SPEC 8).
 *
 * Interface: metrics_bind(), metrics_new(), metrics_free(),
 * metrics_thread_start(), metrics_thread_stop().
 *
 * A responder of its own on libevent's listener and bufferevents, not
 * evhttp: libevent 2.1's evhttp (Debian 12) has no cap on connections,
 * keeps reading a client's input while its reply waits to be written (a
 * client that pipelines requests and reads nothing made the daemon hold
 * gigabytes), and hands a listener's error callback its own data.  What
 * is served here needs none of HTTP's generality: one request per
 * connection, two paths, no body.
 *
 * Invariants: at most METRICS_CONNS connections at once (one more is
 * closed at accept); a request is read up to METRICS_REQUEST_MAX octets
 * (beyond: 431), then reading stops for good; the answer is written with
 * "Connection: close" and the connection closed once it is out; every
 * connection ends METRICS_TIMEOUT seconds after its accept, whatever the
 * peer does.  Memory per connection: the request, and one answer of a few
 * KiB (the series are fixed by the rule table).  Out of descriptors, the
 * listener pauses for a second instead of spinning.  Only GET of the two
 * paths is answered 200 (a query string is ignored); another method 405,
 * another path 404, another request line 400.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "metrics.h"
#include "sockspec.h"

#define METRICS_BACKLOG		16
#define METRICS_CONNS		16	/* connections at once */
#define METRICS_REQUEST_MAX	8192	/* request line and headers */

struct conn {
	struct metrics *m;
	struct bufferevent *bev;
	struct event *deadline;
	LIST_ENTRY(conn) entry;
};

struct metrics {
	struct event_base *base;
	struct evconnlistener *lis;
	struct event *resume;		/* the paused listener, a second on */
	enum counters_daemon daemon;
	int	nconns;
	LIST_HEAD(, conn) conns;
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

static void
conn_free(struct conn *c)
{
	LIST_REMOVE(c, entry);
	c->m->nconns--;
	bufferevent_free(c->bev);
	event_free(c->deadline);
	free(c);
}

/* The answer: status line, headers, ${body} (may be NULL). */
static void
answer(struct conn *c, int head, const char *status, const char *ctype,
    const char *body, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	(void)bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_add_printf(out, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
	    ctype, len, strncmp(status, "405", 3) == 0 ? "Allow: GET\r\n" :
	    "") < 0 || (!head && len > 0 && evbuffer_add(out, body, len) != 0))
		conn_free(c);
	/* conn_written() closes once it is out. */
}

/* The body of /metrics or /stats, malloc'ed; NULL when out of memory. */
static char *
render(const struct metrics *m, int prom, size_t *len)
{
	struct counters_snap snap;
	struct config *cfg;
	char   *text = NULL;
	FILE   *fp;

	*len = 0;
	counters_read(&snap);
	cfg = config_current();
	if ((fp = open_memstream(&text, len)) != NULL) {
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
	return (text);
}

static void
reply_error(struct conn *c, int head, const char *status)
{
	char	body[64];
	int	n;

	n = snprintf(body, sizeof(body), "%s\n", status);
	answer(c, head, status, "text/plain; charset=utf-8", body, (size_t)n);
}

/*
 * The request line, ${line} of ${len} octets without its line end:
 * "METHOD SP TARGET SP HTTP/1.x".  The headers after it are not read.
 */
static void
serve(struct conn *c, const char *line, size_t len)
{
	const char *sp1, *sp2, *path, *q;
	size_t	plen, mlen;
	char   *text;
	size_t	tlen;
	int	head, prom;

	sp1 = memchr(line, ' ', len);
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 -
	    line)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp1 == line || sp2 == sp1 + 1 ||
	    len - (size_t)(sp2 + 1 - line) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 &&
	    memcmp(sp2 + 1, "HTTP/1.1", 8) != 0)) {
		reply_error(c, 0, "400 Bad Request");
		return;
	}
	mlen = (size_t)(sp1 - line);
	head = mlen == 4 && memcmp(line, "HEAD", 4) == 0;
	if (mlen != 3 || memcmp(line, "GET", 3) != 0) {
		reply_error(c, head, "405 Method Not Allowed");
		return;
	}
	path = sp1 + 1;
	plen = (size_t)(sp2 - path);
	if ((q = memchr(path, '?', plen)) != NULL)
		plen = (size_t)(q - path);
	if ((plen != 8 || memcmp(path, "/metrics", 8) != 0) &&
	    (plen != 6 || memcmp(path, "/stats", 6) != 0)) {
		reply_error(c, 0, "404 Not Found");
		return;
	}
	prom = plen == 8;
	if ((text = render(c->m, prom, &tlen)) == NULL) {
		reply_error(c, 0, "500 Internal Server Error");
		return;
	}
	answer(c, 0, "200 OK", prom ? "text/plain; version=0.0.4; "
	    "charset=utf-8" : "text/plain; charset=utf-8", text, tlen);
	free(text);
}

/* Input: wait for the end of the headers, then answer. */
static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end, eol;
	char	line[METRICS_REQUEST_MAX];
	size_t	n;

	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		end = evbuffer_search(in, "\n\n", 2, NULL);
	if (end.pos < 0) {
		if (evbuffer_get_length(in) >= METRICS_REQUEST_MAX)
			reply_error(c, 0,
			    "431 Request Header Fields Too Large");
		return;
	}
	eol = evbuffer_search_eol(in, NULL, &n, EVBUFFER_EOL_CRLF);
	if (eol.pos < 0 || (size_t)eol.pos >= sizeof(line)) {
		reply_error(c, 0, "400 Bad Request");
		return;
	}
	(void)evbuffer_copyout(in, line, (size_t)eol.pos);
	serve(c, line, (size_t)eol.pos);
}

/* The answer is out: close. */
static void
conn_written(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
	    !(bufferevent_get_enabled(bev) & EV_READ))
		conn_free(c);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(arg);
}

static void
conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_free(arg);
}

static void
accepted(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct metrics *m = arg;
	struct timeval tv = { METRICS_TIMEOUT, 0 };
	struct conn *c;

	(void)lis;
	(void)sa;
	(void)salen;
	if (m->nconns >= METRICS_CONNS || (c = calloc(1, sizeof(*c))) == NULL) {
		(void)close(fd);
		return;
	}
	c->m = m;
	if ((c->bev = bufferevent_socket_new(m->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (c->deadline = evtimer_new(m->base, conn_deadline, c)) == NULL ||
	    evtimer_add(c->deadline, &tv) != 0) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			(void)close(fd);
		if (c->deadline != NULL)
			event_free(c->deadline);
		free(c);
		return;
	}
	LIST_INSERT_HEAD(&m->conns, c, entry);
	m->nconns++;
	/* Past the limit the request is refused: reading stops there. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, METRICS_REQUEST_MAX);
	bufferevent_setcb(c->bev, conn_read, conn_written, conn_event, c);
	(void)bufferevent_enable(c->bev, EV_READ | EV_WRITE);
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

	(void)evconnlistener_disable(lis);
	(void)evtimer_add(m->resume, &tv);
}

/** metrics_new(base, fd, daemon): serve on ${fd} from ${base}. */
struct metrics *
metrics_new(struct event_base *base, int fd, enum counters_daemon daemon)
{
	struct metrics *m;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		(void)close(fd);
		return (NULL);
	}
	m->base = base;
	m->daemon = daemon;
	LIST_INIT(&m->conns);
	if ((m->resume = evtimer_new(base, resume, m)) == NULL ||
	    (m->lis = evconnlistener_new(base, accepted, m,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) == NULL) {
		if (m->resume != NULL)
			event_free(m->resume);
		(void)close(fd);
		free(m);
		return (NULL);
	}
	evconnlistener_set_error_cb(m->lis, accept_error);
	return (m);
}

/** metrics_free(m): stop serving, close the socket and every connection. */
void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	while (!LIST_EMPTY(&m->conns))
		conn_free(LIST_FIRST(&m->conns));
	evconnlistener_free(m->lis);
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
	if (th.running) {
		(void)close(fd);
		return (-1);
	}
	if (pipe2(th.wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    (th.base = event_base_new()) == NULL ||
	    (th.stop = event_new(th.base, th.wake[0], EV_READ, stop_cb,
	    th.base)) == NULL || event_add(th.stop, NULL) != 0) {
		(void)close(fd);
		thread_clear();
		return (-1);
	}
	/* metrics_new() owns ${fd} from here, failing or not. */
	if ((th.m = metrics_new(th.base, fd, daemon)) == NULL ||
	    pthread_create(&th.tid, NULL, thread_main, NULL) != 0) {
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
