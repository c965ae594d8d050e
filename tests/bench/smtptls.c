/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * smtptls - an SMTP load generator that can speak STARTTLS.
 *
 *   smtptls [-s SESSIONS] [-m MESSAGES] [-l SIZE] [-T] HOST:PORT
 *
 * What smtp-source(1) does for the plain paths of shimbench, for the one
 * path it cannot drive: the shim with starttls = terminate.  SESSIONS
 * threads (default 1) share MESSAGES messages (default 100); for each
 * message a thread connects, reads the greeting, sends EHLO and, with -T,
 * STARTTLS, completes a full TLS handshake (no session resumption, the
 * certificate is not verified: a benchmark, not a client) and sends EHLO
 * again, then MAIL, RCPT, DATA, SIZE octets of message in CRLF lines, the
 * final dot and QUIT, and closes: one message per connection, as smtp-source
 * -s N -m M sends them.  Every reply is read whole and its code checked.
 *
 * Output: one key=value line on stdout (messages, seconds, rate).  Exit 0
 * when every message was accepted, 1 otherwise, with the reason on stderr.
 */

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define REPLY_MAX	4096

struct conn {
	int	fd;
	SSL    *ssl;
	char	buf[REPLY_MAX];
	size_t	len;		/* octets in buf */
};

static struct addrinfo *target;
static SSL_CTX *ctx;
static int use_tls;
static long nmessages = 100;
static char *body;
static size_t body_len;
static atomic_long next_msg;
static atomic_int failed;

static void __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list	ap;

	/* Only the first failure is told: the others follow from it. */
	if (atomic_exchange(&failed, 1) != 0)
		return;
	va_start(ap, fmt);
	(void)fputs("smtptls: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
	(void)fputc('\n', stderr);
	va_end(ap);
}

static int
c_write(struct conn *c, const void *p, size_t n)
{
	const char *q = p;
	ssize_t	r;

	while (n > 0) {
		if (c->ssl != NULL) {
			int	w = SSL_write(c->ssl, q, (int)n);

			if (w <= 0)
				return (-1);
			r = w;
		} else if ((r = send(c->fd, q, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		q += r;
		n -= (size_t)r;
	}
	return (0);
}

static ssize_t
c_read(struct conn *c, char *p, size_t n)
{
	ssize_t	r;

	if (c->ssl != NULL) {
		int	g = SSL_read(c->ssl, p, (int)n);

		return (g <= 0 ? -1 : g);
	}
	do
		r = recv(c->fd, p, n, 0);
	while (r < 0 && errno == EINTR);
	return (r <= 0 ? -1 : r);
}

/* Read one whole reply (the last line: "NNN "); 0 if its code is ${want}. */
static int
reply(struct conn *c, int want, const char *after)
{
	char   *eol, *line;
	ssize_t	r;

	for (;;) {
		line = c->buf;
		while ((eol = memchr(line, '\n', c->len - (size_t)(line -
		    c->buf))) != NULL) {
			if (eol - line >= 3 && (eol - line == 3 ||
			    line[3] != '-')) {
				int	code = atoi(line);
				size_t	used = (size_t)(eol + 1 - c->buf);

				memmove(c->buf, eol + 1, c->len - used);
				c->len -= used;
				if (code != want) {
					fail("after %s: expected %d, got %.*s",
					    after, want, (int)(eol - line),
					    line);
					return (-1);
				}
				return (0);
			}
			line = eol + 1;
		}
		if (c->len == sizeof(c->buf)) {
			fail("after %s: reply too long", after);
			return (-1);
		}
		if ((r = c_read(c, c->buf + c->len, sizeof(c->buf) -
		    c->len)) < 0) {
			fail("after %s: connection lost", after);
			return (-1);
		}
		c->len += (size_t)r;
	}
}

static int
command(struct conn *c, const char *cmd, int want)
{
	if (c_write(c, cmd, strlen(cmd)) != 0) {
		fail("cannot send %s", cmd);
		return (-1);
	}
	return (reply(c, want, cmd));
}

static int
one_message(void)
{
	struct conn c;
	int	on = 1, rc = -1;

	memset(&c, 0, sizeof(c));
	if ((c.fd = socket(target->ai_family, SOCK_STREAM, 0)) < 0) {
		fail("socket: %s", strerror(errno));
		return (-1);
	}
	(void)setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(c.fd, target->ai_addr, target->ai_addrlen) != 0) {
		fail("connect: %s", strerror(errno));
		goto out;
	}
	if (reply(&c, 220, "connect") != 0 ||
	    command(&c, "EHLO bench.example\r\n", 250) != 0)
		goto out;
	if (use_tls) {
		if (command(&c, "STARTTLS\r\n", 220) != 0)
			goto out;
		if (c.len != 0) {
			fail("octets after the 220 to STARTTLS");
			goto out;
		}
		if ((c.ssl = SSL_new(ctx)) == NULL ||
		    SSL_set_fd(c.ssl, c.fd) != 1 || SSL_connect(c.ssl) != 1) {
			fail("TLS handshake failed: %s",
			    ERR_reason_error_string(ERR_get_error()));
			goto out;
		}
		if (command(&c, "EHLO bench.example\r\n", 250) != 0)
			goto out;
	}
	if (command(&c, "MAIL FROM:<sender@bench.example>\r\n", 250) != 0 ||
	    command(&c, "RCPT TO:<rcpt@bench.example>\r\n", 250) != 0 ||
	    command(&c, "DATA\r\n", 354) != 0)
		goto out;
	if (c_write(&c, body, body_len) != 0) {
		fail("cannot send the message");
		goto out;
	}
	if (reply(&c, 250, "the final dot") != 0 ||
	    command(&c, "QUIT\r\n", 221) != 0)
		goto out;
	rc = 0;
out:
	if (c.ssl != NULL) {
		if (rc == 0)
			(void)SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	(void)close(c.fd);
	return (rc);
}

static void *
worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&failed) &&
	    atomic_fetch_add(&next_msg, 1) < nmessages)
		if (one_message() != 0)
			break;
	return (NULL);
}

/* Headers, then lines of 'X' up to ${size} octets, then the final dot. */
static void
make_body(size_t size)
{
	static const char hdr[] = "From: <sender@bench.example>\r\n"
	    "To: <rcpt@bench.example>\r\nSubject: smtptls\r\n\r\n";
	size_t	n = 0;

	if ((body = malloc(size + sizeof(hdr) + 80)) == NULL) {
		perror("smtptls: malloc");
		exit(1);
	}
	memcpy(body, hdr, sizeof(hdr) - 1);
	n = sizeof(hdr) - 1;
	while (n + 2 < size) {
		size_t	k = size - n - 2 < 76 ? size - n - 2 : 76;

		memset(body + n, 'X', k);
		n += k;
		body[n++] = '\r';
		body[n++] = '\n';
	}
	memcpy(body + n, ".\r\n", 3);
	body_len = n + 3;
}

static void
usage(void)
{
	(void)fprintf(stderr, "usage: smtptls [-s SESSIONS] [-m MESSAGES] "
	    "[-l SIZE] [-T] HOST:PORT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct addrinfo hints;
	struct timespec t0, t1;
	pthread_attr_t attr;
	pthread_t *th;
	char   *host, *port;
	long	sessions = 1, size = 4096, i;
	double	secs;
	int	ch, e;

	while ((ch = getopt(argc, argv, "s:m:l:T")) != -1) {
		switch (ch) {
		case 's':
			sessions = strtol(optarg, NULL, 10);
			break;
		case 'm':
			nmessages = strtol(optarg, NULL, 10);
			break;
		case 'l':
			size = strtol(optarg, NULL, 10);
			break;
		case 'T':
			use_tls = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || sessions < 1 || sessions > 10000 ||
	    nmessages < 1 || size < 0 || size > 64 * 1024 * 1024)
		usage();
	host = argv[optind];
	if ((port = strrchr(host, ':')) == NULL)
		usage();
	*port++ = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &target)) != 0) {
		(void)fprintf(stderr, "smtptls: %s: %s\n", host,
		    gai_strerror(e));
		return (1);
	}
	if (use_tls) {
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
			(void)fprintf(stderr, "smtptls: SSL_CTX_new failed\n");
			return (1);
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		/* A full handshake on every connection: the worst case. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		(void)SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	}
	make_body((size_t)size);

	if ((th = calloc((size_t)sessions, sizeof(*th))) == NULL) {
		perror("smtptls: calloc");
		return (1);
	}
	(void)pthread_attr_init(&attr);
	(void)pthread_attr_setstacksize(&attr, 256 * 1024);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < sessions; i++)
		if ((e = pthread_create(&th[i], &attr, worker, NULL)) != 0) {
			fail("pthread_create: %s", strerror(e));
			sessions = i;
			break;
		}
	for (i = 0; i < sessions; i++)
		(void)pthread_join(th[i], NULL);
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	if (atomic_load(&failed))
		return (1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	(void)printf("messages=%ld seconds=%.6f rate=%.1f\n", nmessages, secs,
	    (double)nmessages / secs);
	free(th);
	free(body);
	freeaddrinfo(target);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return (0);
}
