/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pipe.c - one connected socket of a session and the octets on it: read,
 * write, backpressure, EOF, half-close, under a TLS filter too.
 *
 * Interface: shim.h, "pipe.c".  The lowest layer of the relay: it knows
 * nothing of SMTP or sessions.  What it reads, its drained output, its
 * end, and the end of a paused peer go to the callbacks its owner set
 * (on_read, on_write, on_event, on_gone), which may close the pipe; a
 * pipe function never touches the pipe after calling one.
 *
 * Invariants:
 * - A plain socket is read by our own event (pipe_sock_read(): one recv()
 *   of up to 64 KiB into the bufferevent's input) and written by the
 *   bufferevent; a TLS filter (pipe_tls()) reads and writes for itself.
 * - Input held unread never passes rmax: reading stops there and resumes
 *   when the owner drains it.
 * - A paused pipe (pipe_pause(): its peer's output is full) reads
 *   nothing, and if it has a watch it is polled every SESSION_WATCH_MS
 *   for its peer's end, which on_gone reports.
 * - pipe_shut() shuts the write side only once every octet before it has
 *   gone to the kernel: under TLS the plaintext, then the close_notify
 *   and the ciphertext under the filter.
 * - The ciphertext under a filter is bounded (SESSION_TLS_OUT_MAX): the
 *   plaintext waits in the filter's output, where backpressure looks.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "shim.h"

#define PIPE_READ_CHUNK	(64 * 1024)	/* one recv() at most */

static unsigned char read_chunk[PIPE_READ_CHUNK];	/* one thread */

struct evbuffer *
pipe_in(const struct pipe *p)
{
	return (bufferevent_get_input(p->bev));
}

struct evbuffer *
pipe_out(const struct pipe *p)
{
	return (bufferevent_get_output(p->bev));
}

size_t
pipe_outlen(const struct pipe *p)
{
	return (p->bev != NULL ? evbuffer_get_length(pipe_out(p)) : 0);
}

/* Our read event on or off, as wanted and as the input's room allows. */
static void
read_sync(struct pipe *p)
{
	int	want;

	if (p->rd == NULL)
		return;
	want = p->rdon && (p->rmax == 0 ||
	    evbuffer_get_length(pipe_in(p)) < p->rmax);
	if (want && !event_pending(p->rd, EV_READ, NULL))
		(void)event_add(p->rd, NULL);
	else if (!want && event_pending(p->rd, EV_READ, NULL))
		(void)event_del(p->rd);
}

/** pipe_read_set(p, on): reading wanted or not, whoever reads: our event or the filter. */
void
pipe_read_set(struct pipe *p, int on)
{
	if (p->bev == NULL)
		return;
	if (p->rd != NULL) {
		p->rdon = on;
		read_sync(p);
	} else if (on)
		(void)bufferevent_enable(p->bev, EV_READ);
	else
		(void)bufferevent_disable(p->bev, EV_READ);
}

/*
 * Reading a plain socket by hand rather than by the bufferevent.
 * libevent 2.1's evbuffer_read() asks the kernel with ioctl(FIONREAD)
 * before every read and reads at most 4096 octets at a time: a quarter of
 * the shim's system calls per session, and a read, an ioctl and an epoll
 * round per 4 KiB of message.  Here one recv() of up to 64 KiB goes into
 * the bufferevent's input (whose end libevent keeps frozen, as around its
 * own reads) and on_read runs; EOF and errors go to on_event as the
 * bufferevent would report them.
 */
static void
pipe_sock_read(evutil_socket_t fd, short what, void *arg)
{
	struct pipe *p = arg;
	struct evbuffer *in = pipe_in(p);
	size_t	room = sizeof(read_chunk), have;
	ssize_t	n;
	int	e;

	(void)what;
	if (p->rmax > 0) {
		if ((have = evbuffer_get_length(in)) >= p->rmax) {
			read_sync(p);	/* full: off until drained */
			return;
		}
		if (room > p->rmax - have)
			room = p->rmax - have;
	}
	n = recv(fd, read_chunk, room, 0);
	if (n > 0) {
		(void)evbuffer_unfreeze(in, 0);
		(void)evbuffer_add(in, read_chunk, (size_t)n);
		(void)evbuffer_freeze(in, 0);
		p->on_read(p->arg);
		return;
	}
	e = errno;
	if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == EINTR))
		return;
	/* EOF or an error: nothing more to read on this side. */
	p->rdon = 0;
	read_sync(p);
	errno = e;
	p->on_event(p->arg, BEV_EVENT_READING |
	    (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR));
}

/* The owner drained the input: reading resumes below rmax. */
static void
pipe_drained_in(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	(void)b;
	if (info->n_deleted > 0)
		read_sync(arg);
}

/* New output on a socket bufferevent: make sure it is written (its write
 * event may be off since pipe_write_now()).  Under a TLS filter this is
 * the ciphertext side. */
static void
out_arm(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct bufferevent *bev = arg;

	(void)b;
	if (info->n_added > 0 && !(bufferevent_get_enabled(bev) & EV_WRITE))
		(void)bufferevent_enable(bev, EV_WRITE);
}

/* Octets read from and written to the socket (ciphertext under TLS). */
static void
count_in(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	(void)b;
	((struct pipe *)arg)->in += info->n_added;
}

static void
count_out(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	(void)b;
	((struct pipe *)arg)->out += info->n_added;
}

static void
bev_read(struct bufferevent *bev, void *arg)
{
	struct pipe *p = arg;

	(void)bev;
	p->on_read(p->arg);
}

static void
bev_write(struct bufferevent *bev, void *arg)
{
	struct pipe *p = arg;

	(void)bev;
	p->on_write(p->arg);
}

static void
bev_event(struct bufferevent *bev, short what, void *arg)
{
	struct pipe *p = arg;

	(void)bev;
	p->on_event(p->arg, what);
}

/*
 * A paused pipe's watch: a FIN (POLLRDHUP, reported even with octets
 * still unread before it) or a reset.  An event for the close alone
 * cannot be had from level-triggered epoll, which reports a reset as
 * readable and writable, never as EV_CLOSED, and so spins the loop on it
 * while reading is paused; edge-triggered events cannot share the
 * descriptor with the bufferevent's.
 */
static void
pipe_watch(evutil_socket_t fd, short what, void *arg)
{
	struct pipe *p = arg;
	struct pollfd pf;

	(void)fd;
	(void)what;
	if (!p->paused || p->bev == NULL) {
		(void)event_del(p->watch);
		return;
	}
	pf.fd = p->fd;
	pf.events = POLLRDHUP;
	pf.revents = 0;
	if (poll(&pf, 1, 0) != 1 ||
	    !(pf.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return;
	(void)event_del(p->watch);
	p->on_gone(p->arg);
}

/**
 * pipe_open(p, base, fd, rmax, flags, arg): take the connected,
 * non-blocking socket ${fd} (closed with the pipe, and on failure);
 * ${rmax} caps the input held unread (0: none); PIPE_WATCH polls the peer
 * while paused, PIPE_COUNT counts the octets (in, out).  The callbacks in
 * ${p} must be set.  Returns 0 or -1.
 */
int
pipe_open(struct pipe *p, struct event_base *base, int fd, size_t rmax,
    int flags, void *arg)
{
	int	on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	p->fd = fd;
	p->rmax = rmax;
	p->arg = arg;
	if ((p->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		(void)close(fd);
		return (-1);
	}
	bufferevent_setcb(p->bev, bev_read, bev_write, bev_event, p);
	if (flags & PIPE_COUNT) {
		(void)evbuffer_add_cb(pipe_in(p), count_in, p);
		(void)evbuffer_add_cb(pipe_out(p), count_out, p);
	}
	(void)evbuffer_add_cb(pipe_out(p), out_arm, p->bev);
	if (rmax > 0) {
		bufferevent_setwatermark(p->bev, EV_READ, 0, rmax);
		(void)evbuffer_add_cb(pipe_in(p), pipe_drained_in, p);
	}
	if ((p->rd = event_new(base, fd, EV_READ | EV_PERSIST, pipe_sock_read,
	    p)) == NULL)
		return (-1);
	if ((flags & PIPE_WATCH) && (p->watch = event_new(base, -1,
	    EV_PERSIST, pipe_watch, p)) == NULL)
		return (-1);
	return (0);
}

/** pipe_close(p): free the socket, its bufferevents and events; may be called twice. */
void
pipe_close(struct pipe *p)
{
	if (p->rd != NULL)
		event_free(p->rd);
	if (p->watch != NULL)
		event_free(p->watch);
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	p->rd = p->watch = NULL;
	p->bev = NULL;
}

/**
 * pipe_drain_peer(p): closing: read (for the owner to throw away) even if
 * paused, and have on_write report when the output has gone.
 */
void
pipe_drain_peer(struct pipe *p)
{
	pipe_read_set(p, 1);
	p->paused = 0;
	(void)bufferevent_enable(p->bev, EV_WRITE);
}

/** pipe_feed(p, early): octets read before the pipe existed go first in its input. */
void
pipe_feed(struct pipe *p, struct evbuffer *early)
{
	struct evbuffer *in = pipe_in(p);

	(void)evbuffer_unfreeze(in, 0);
	(void)evbuffer_add_buffer(in, early);
	(void)evbuffer_freeze(in, 0);
}

/** pipe_pause(p): stop reading until pipe_resume(); a watched pipe is polled for its peer's end. */
void
pipe_pause(struct pipe *p)
{
	struct timeval tv = { 0, SESSION_WATCH_MS * 1000 };

	pipe_read_set(p, 0);
	p->paused = 1;
	if (p->watch != NULL && !event_pending(p->watch, EV_TIMEOUT, NULL))
		(void)event_add(p->watch, &tv);
}

/** pipe_resume(p): read again after pipe_pause(). */
void
pipe_resume(struct pipe *p)
{
	p->paused = 0;
	if (p->watch != NULL)
		(void)event_del(p->watch);
	pipe_read_set(p, 1);
}

/**
 * pipe_relay(from, to): move everything ${from} has read to ${to}'s
 * output (thrown away when ${to} is closed or shut); ${from} pauses while
 * ${to}'s output holds more than SESSION_OUT_MAX.  Returns 1 if it paused.
 */
int
pipe_relay(struct pipe *from, struct pipe *to)
{
	struct evbuffer *in = pipe_in(from);
	size_t	n = evbuffer_get_length(in);

	if (n == 0)
		return (0);
	if (to->bev == NULL || to->shut) {
		(void)evbuffer_drain(in, n);
		return (0);
	}
	(void)evbuffer_add_buffer(pipe_out(to), in);
	if (pipe_outlen(to) <= SESSION_OUT_MAX)
		return (0);
	pipe_pause(from);
	return (1);
}

/*
 * pipe_write_now(p): write what a plain socket's bufferevent holds now,
 * in the callback that produced it, instead of one more trip through the
 * event loop for its write event: one command or reply per round trip is
 * the common case, and the extra epoll_wait() per hop was most of the
 * latency the shim added.  What the kernel does not take, and any error,
 * stay for libevent's write event.  Not under TLS, whose output is
 * plaintext.
 *
 * A socket bufferevent keeps the start of its output frozen so that only
 * its own write callback drains it; this writes the way that callback
 * does: unfreeze, write, freeze again.
 */
void
pipe_write_now(struct pipe *p)
{
	struct evbuffer *out;

	if (p->bev == NULL || p->tls || p->shut)
		return;
	out = pipe_out(p);
	if (evbuffer_get_length(out) > 0) {
		(void)evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, p->fd);
		(void)evbuffer_freeze(out, 1);
	}
	/* All written: no write event until out_arm() sees new output.
	 * With the epoll change list the event added for this output and
	 * deleted here cost no system call at all. */
	if (evbuffer_get_length(out) == 0)
		(void)bufferevent_disable(p->bev, EV_WRITE);
}

/**
 * pipe_tls(p, base, ssl, accepting): an OpenSSL filter takes over ${p}'s
 * socket, reading and writing for itself, with the same callbacks.
 * Returns 0, or -1 with ${ssl} freed and ${p} unchanged.
 */
int
pipe_tls(struct pipe *p, struct event_base *base, SSL *ssl, int accepting)
{
	struct bufferevent *f;

	if ((f = bufferevent_openssl_filter_new(base, p->bev, ssl,
	    accepting ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		return (-1);
	}
	if (p->rd != NULL)
		event_free(p->rd);
	p->rd = NULL;
	p->bev = f;
	p->tls = 1;
	bufferevent_setcb(f, bev_read, bev_write, bev_event, p);
	if (p->rmax > 0)
		bufferevent_setwatermark(f, EV_READ, 0, p->rmax);
	/*
	 * The filter writes ciphertext into the socket bufferevent under
	 * it, which has no limit of its own: a peer that does not read
	 * would grow it without end.  The filter stops writing at the
	 * underlying's high-water mark and goes on when it drains.
	 */
	bufferevent_setwatermark(bufferevent_get_underlying(f), EV_WRITE, 0,
	    SESSION_TLS_OUT_MAX);
	bufferevent_enable(f, EV_READ | EV_WRITE);
	return (0);
}

/*
 * Under TLS, the ciphertext before the half-close (the close_notify
 * last) is all written: shut the write side.  An evbuffer callback of the
 * socket's output: it never frees anything.
 */
static void
pipe_drained_out(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct pipe *p = arg;

	if (info->n_deleted == 0 || evbuffer_get_length(b) > 0 || !p->bye ||
	    p->shut || p->bev == NULL)
		return;
	(void)shutdown(p->fd, SHUT_WR);
	p->shut = 1;
}

/**
 * pipe_shut(p, notify): shut the write side once every octet before it is
 * written; under TLS after a close_notify when ${notify}.  Returns 1 when
 * shut now, 0 when it will be (plaintext still queued: call again when
 * on_write says it drained; ciphertext: shut by itself as it drains).
 */
int
pipe_shut(struct pipe *p, int notify)
{
	struct evbuffer *low;

	if (p->shut)
		return (1);
	if (p->bev == NULL || evbuffer_get_length(pipe_out(p)) > 0)
		return (0);
	if (p->tls) {
		low = bufferevent_get_output(bufferevent_get_underlying(p->bev));
		if (!p->bye) {
			p->bye = 1;
			if (notify)
				(void)SSL_shutdown(
				    bufferevent_openssl_get_ssl(p->bev));
			ERR_clear_error();
			(void)evbuffer_add_cb(low, pipe_drained_out, p);
		}
		if (evbuffer_get_length(low) > 0)
			return (0);
	}
	p->bye = 1;
	(void)shutdown(p->fd, SHUT_WR);
	p->shut = 1;
	return (1);
}
