/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit.c - the audit log of SPEC 6: one syslog line per decision.
 *
 * Interface: audit_open() once at start, audit_set_facility() after a
 * reload; audit_escape() and audit_format_rule() build lines into caller
 * buffers (tests check them exactly); audit_log_rule(), audit_log(),
 * audit_vlog() and audit_debug() send them to syslog and, with -d, to
 * standard error as "<ident>: <line>", or, after audit_set_sink(), to the
 * sink alone (the milter's offline check writes them to standard output).
 *
 * Invariants: every untrusted byte passes through audit_escape() before it
 * reaches a line.  Lines are built on the caller's stack, never in shared
 * buffers (the queue of audit_defer() aside, which only a single-threaded
 * caller turns on); the facility and flags are atomics so that a reload
 * may change them while other threads log; the ident is written only by
 * audit_open(), before any thread logs.  Queued or not, lines go out in
 * the order they were logged.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "audit.h"

static char ident_buf[64] = "esmtp-inspect";
static atomic_int log_facility = LOG_MAIL;
static atomic_int log_stderr;
static atomic_int log_debug;

/* A bounded output buffer; writes past the end are dropped. */
struct out {
	char   *buf;
	size_t	len;			/* size of buf, > 0 */
	size_t	pos;			/* < len, buf[pos] == '\0' */
};

static void
out_mem(struct out *o, const char *s, size_t n)
{
	size_t	room = o->len - 1 - o->pos;

	if (n > room)
		n = room;
	memcpy(o->buf + o->pos, s, n);
	o->pos += n;
	o->buf[o->pos] = '\0';
}

static void
out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void
out_escaped(struct out *o, const char *s, size_t n)
{
	o->pos += audit_escape(o->buf + o->pos, o->len - o->pos, s, n);
}

static void
out_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
out_fmt(struct out *o, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n < 0)
		o->buf[o->pos] = '\0';
	else if ((size_t)n >= o->len - o->pos)
		o->pos = o->len - 1;
	else
		o->pos += (size_t)n;
}

/*
 * The deferred queue of audit_defer(): entries of an int priority
 * (facility and level, as they were when logged) followed by the
 * NUL-terminated line, back to back, emptied whole by each flush.
 * Written by hand: a flat buffer is all a queue that is never read in
 * part needs.  One thread only (the shim's event loop); the milter's
 * threads never turn it on.
 */
#define QUEUE_MAX	(16 * AUDIT_LINE_MAX)
_Static_assert(QUEUE_MAX >= sizeof(int) + AUDIT_LINE_MAX,
    "every line fits in an empty queue");
static char queue[QUEUE_MAX];
static size_t queue_len;
static int queue_on;
static void (*queue_wake)(void *);
static void *queue_arg;

/* audit_set_sink(): set once, before any thread logs. */
static audit_sink_fn *sink_fn;
static void *sink_arg;

/* Send one finished line to the sink, or to syslog and, with -d, to stderr. */
static void
send_line(int pri, const char *line)
{
	if (sink_fn != NULL) {
		sink_fn(sink_arg, LOG_PRI(pri), line);
		return;
	}
	syslog(pri, "%s", line);
	if (atomic_load(&log_stderr))
		(void)fprintf(stderr, "%s: %s\n", ident_buf, line);
}

static void
emit(int level, const char *line)
{
	int	pri = LOG_MAKEPRI(atomic_load(&log_facility) & LOG_FACMASK,
	    level & LOG_PRIMASK), was_empty;
	size_t	len = strlen(line), need = sizeof(pri) + len + 1;

	if (!queue_on) {
		send_line(pri, line);
		return;
	}
	/* Full: send what is queued now, in order, rather than lose it. */
	if (queue_len + need > sizeof(queue))
		audit_flush();
	was_empty = queue_len == 0;
	memcpy(queue + queue_len, &pri, sizeof(pri));
	memcpy(queue + queue_len + sizeof(pri), line, len + 1);
	queue_len += need;
	if (was_empty && queue_wake != NULL)
		queue_wake(queue_arg);
}

/**
 * audit_flush(): send the lines that audit_defer() queued, in order.
 */
void
audit_flush(void)
{
	size_t	i = 0;
	int	pri;

	while (i < queue_len) {
		memcpy(&pri, queue + i, sizeof(pri));
		i += sizeof(pri);
		send_line(pri, queue + i);
		i += strlen(queue + i) + 1;
	}
	queue_len = 0;
}

/**
 * audit_defer(wake, arg): with ${wake}, queue the lines from now on
 * instead of sending each at once, and call ${wake}(${arg}) whenever the
 * queue stops being empty; the caller then calls audit_flush() when it
 * has nothing more urgent to do.  A full queue is flushed on the spot, and
 * exit() flushes it too.  With ${wake} NULL: flush and send at once again.
 * For one single-threaded caller only.
 */
void
audit_defer(void (*wake)(void *), void *arg)
{
	static int registered;

	audit_flush();
	/* Without a flush at exit, lines are sent at once as before. */
	if (wake != NULL && !registered && atexit(audit_flush) != 0)
		return;
	registered |= wake != NULL;
	queue_wake = wake;
	queue_arg = arg;
	queue_on = wake != NULL;
}

/**
 * audit_open(ident, facility, to_stderr, debug): start logging as ${ident}
 * with syslog ${facility}; with ${to_stderr} every line is also written to
 * standard error.  ${debug} enables audit_debug() output.
 */
void
audit_open(const char *ident, int facility, int to_stderr, int debug)
{
	if (ident != NULL)
		(void)snprintf(ident_buf, sizeof(ident_buf), "%s", ident);
	atomic_store(&log_facility, facility);
	atomic_store(&log_stderr, to_stderr != 0);
	atomic_store(&log_debug, debug != 0);
	openlog(ident_buf, LOG_PID | LOG_NDELAY, facility);
}

/** audit_set_facility(facility): change the syslog facility (after a reload). */
void
audit_set_facility(int facility)
{
	atomic_store(&log_facility, facility);
}

/**
 * audit_set_sink(sink, arg): send every line from now on to
 * ${sink}(${arg}, level, line) instead of syslog and standard error
 * (milter -t prints them); NULL: syslog again.  Before any thread logs.
 */
void
audit_set_sink(audit_sink_fn *sink, void *arg)
{
	sink_fn = sink;
	sink_arg = arg;
}

/** audit_client(buf, len, name, addr, port): "client=NAME[ADDR]:PORT" into ${buf}, NAME and ADDR escaped ("unknown" when NULL or empty); its length. */
size_t
audit_client(char *buf, size_t len, const char *name, const char *addr,
    unsigned port)
{
	struct out o;

	if (buf == NULL || len == 0)
		return (0);
	o.buf = buf;
	o.len = len;
	o.pos = 0;
	buf[0] = '\0';
	if (name == NULL || *name == '\0')
		name = "unknown";
	if (addr == NULL || *addr == '\0')
		addr = "unknown";
	out_str(&o, "client=");
	out_escaped(&o, name, strlen(name));
	out_str(&o, "[");
	out_escaped(&o, addr, strlen(addr));
	out_fmt(&o, "]:%u", port);
	return (o.pos);
}

/** audit_addr(sa, buf, len, port): the address of ${sa} as text ("unknown" for none or another family), an IPv4-mapped IPv6 address as IPv4; its port in ${port} (0 with "unknown"). */
void
audit_addr(const struct sockaddr *sa, char *buf, size_t len, unsigned *port)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	const char *r = NULL;

	*port = 0;
	if (sa != NULL && sa->sa_family == AF_INET) {
		r = inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)len);
		*port = ntohs(sin->sin_port);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			r = inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], buf,
			    (socklen_t)len);
		else
			r = inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
			    (socklen_t)len);
		*port = ntohs(sin6->sin6_port);
	}
	if (r == NULL) {
		(void)snprintf(buf, len, "unknown");
		*port = 0;
	}
}

/**
 * audit_escape(dst, dstlen, src, srclen): copy ${src} into ${dst} with every
 * octet outside 0x21..0x7e except space, and every '"' and '\\', written as
 * \xHH; inputs longer than AUDIT_VALUE_MAX octets are cut there and "..." is
 * appended.  Always NUL-terminates (dstlen > 0).  Returns the length written.
 */
size_t
audit_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t	i, n = 0, cut = srclen > AUDIT_VALUE_MAX ? AUDIT_VALUE_MAX : srclen;

	if (dst == NULL || dstlen == 0)
		return (0);
	if (src == NULL)
		cut = srclen = 0;
	for (i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
			/* Never split an escape: all four octets or none. */
			if (n + 4 >= dstlen)
				goto done;
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[c >> 4];
			dst[n++] = hex[c & 0xf];
		} else {
			if (n + 1 >= dstlen)
				goto done;
			dst[n++] = (char)c;
		}
	}
	if (srclen > AUDIT_VALUE_MAX && n + 3 < dstlen) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
done:
	dst[n] = '\0';
	return (n);
}

/** audit_format_rule(buf, len, ev): format ${ev} as one log line (no newline). Returns its length. */
size_t
audit_format_rule(char *buf, size_t len, const struct audit_rule *ev)
{
	struct out o = { buf, len, 0 };
	const char *s;

	if (buf == NULL || len == 0)
		return (0);
	buf[0] = '\0';
	if (ev == NULL)
		return (0);

	s = ev->id != NULL && *ev->id != '\0' ? ev->id : "NOQUEUE";
	out_escaped(&o, s, strlen(s));
	out_str(&o, ": rule=");
	s = policy_rule_name(ev->rule);
	out_str(&o, s != NULL ? s : "unknown");
	out_str(&o, " action=");
	s = policy_action_name(ev->action);
	out_str(&o, s != NULL ? s : "unknown");
	out_fmt(&o, " value=%lld limit=%lld stage=", ev->value, ev->limit);
	s = ev->stage != NULL ? ev->stage : "unknown";
	out_escaped(&o, s, strlen(s));

	out_str(&o, " ");
	o.pos += audit_client(o.buf + o.pos, o.len - o.pos, ev->client_name,
	    ev->client_addr, ev->client_port);

	if (ev->from != NULL) {
		out_str(&o, " from=<");
		out_escaped(&o, ev->from, ev->from_len);
		out_str(&o, ">");
	}
	if (ev->rcpt != NULL) {
		out_str(&o, " rcpt=<");
		out_escaped(&o, ev->rcpt, ev->rcpt_len);
		out_str(&o, ">");
	}
	if (ev->header != NULL) {
		out_str(&o, " header=");
		out_escaped(&o, ev->header, ev->header_len);
	}
	if (ev->monitor)
		out_str(&o, " mode=monitor");
	if (ev->detail != NULL) {
		out_str(&o, " detail=\"");
		out_escaped(&o, ev->detail, ev->detail_len);
		out_str(&o, "\"");
	}
	return (o.pos);
}

/** audit_rule_level(ev): LOG_WARNING when the action changes the outcome, LOG_NOTICE for log/monitor. */
int
audit_rule_level(const struct audit_rule *ev)
{
	if (ev == NULL || ev->monitor)
		return (LOG_NOTICE);
	switch (ev->action) {
	case POLICY_TEMPFAIL:
	case POLICY_REJECT:
	case POLICY_DROP_CONNECTION:
		return (LOG_WARNING);
	default:
		return (LOG_NOTICE);
	}
}

/** audit_log_rule(ev): format ${ev} and send it to syslog (and stderr). */
void
audit_log_rule(const struct audit_rule *ev)
{
	char	line[AUDIT_LINE_MAX];

	if (ev == NULL)
		return;
	(void)audit_format_rule(line, sizeof(line), ev);
	emit(audit_rule_level(ev), line);
}

/**
 * audit_log(level, id, fmt, ...): log "<id>: " followed by the printf-style
 * rest; ${id} NULL means "NOQUEUE".  For event=... lines.  Callers escape
 * untrusted arguments with audit_escape() first.
 */
void
audit_log(int level, const char *id, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	audit_vlog(level, id, fmt, ap);
	va_end(ap);
}

/** audit_vlog(level, id, fmt, ap): va_list form of audit_log(). */
void
audit_vlog(int level, const char *id, const char *fmt, va_list ap)
{
	char	line[AUDIT_LINE_MAX];
	struct out o = { line, sizeof(line), 0 };
	int	n;

	line[0] = '\0';
	if (id == NULL || *id == '\0')
		id = "NOQUEUE";
	out_escaped(&o, id, strlen(id));
	out_str(&o, ": ");
	if (fmt != NULL) {
		n = vsnprintf(o.buf + o.pos, o.len - o.pos, fmt, ap);
		if (n < 0)
			o.buf[o.pos] = '\0';
	}
	emit(level, line);
}

/** audit_debugging(): 1 when audit_debug() writes (-d), so callers skip work. */
int
audit_debugging(void)
{
	return (atomic_load(&log_debug));
}

/** audit_debug(id, fmt, ...): audit_log() at LOG_DEBUG, only when debug output is on. */
void
audit_debug(const char *id, const char *fmt, ...)
{
	va_list	ap;

	if (!atomic_load(&log_debug))
		return;
	va_start(ap, fmt);
	audit_vlog(LOG_DEBUG, id, fmt, ap);
	va_end(ap);
}
