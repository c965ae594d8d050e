/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit.h - the audit log of SPEC 6: one syslog line per decision.
 *
 *   <id>: rule=<rule> action=<action> value=<n> limit=<n> stage=<stage>
 *         client=<name>[<addr>]:<port> [from=<addr>] [rcpt=<addr>]
 *         [header=<name>] [mode=monitor] [detail="..."]
 *
 * Every untrusted byte goes through audit_escape().  Formatting is separate
 * from output so that tests can check the exact line.  Thread-safe: no
 * shared buffers; syslog(3) and stdio lock internally.  audit_defer()'s
 * queue is the exception, for a single-threaded event loop only.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stdarg.h>
#include <stddef.h>

#include "policy.h"

/* Values longer than this many octets are cut and marked "..." (SPEC 6). */
#define AUDIT_VALUE_MAX		200
/* Longest line audit_format_*() produce, terminator included. */
#define AUDIT_LINE_MAX		2048

/* One rule decision. Pointers may be NULL where the field does not apply. */
struct audit_rule {
	const char *id;			/* queue id, "S<hex>", or NULL: NOQUEUE */
	enum policy_rule rule;
	enum policy_action action;
	long long value;
	long long limit;
	const char *stage;		/* "mail", "rcpt", "header", ... */
	const char *client_name;	/* untrusted */
	const char *client_addr;
	unsigned client_port;
	const char *from;		/* untrusted, without <>; logged as from=<...> */
	size_t	from_len;
	const char *rcpt;		/* untrusted, without <> */
	size_t	rcpt_len;
	const char *header;		/* untrusted */
	size_t	header_len;
	int	monitor;		/* mode=monitor */
	const char *detail;		/* untrusted */
	size_t	detail_len;
};

/**
 * audit_open(ident, facility, to_stderr, debug): start logging as ${ident}
 * with syslog ${facility}; with ${to_stderr} every line is also written to
 * standard error.  ${debug} enables audit_debug() output.
 */
void	audit_open(const char *ident, int facility, int to_stderr, int debug);

/** audit_set_facility(facility): change the syslog facility (after a reload). */
void	audit_set_facility(int facility);

/* Where finished lines go instead of syslog: ${level} is LOG_WARNING etc. */
typedef void audit_sink_fn(void *arg, int level, const char *line);

/**
 * audit_set_sink(sink, arg): send every line from now on to
 * ${sink}(${arg}, level, line) instead of syslog and standard error
 * (milter -t prints them); NULL: syslog again.  Before any thread logs.
 */
void	audit_set_sink(audit_sink_fn *sink, void *arg);

/**
 * audit_escape(dst, dstlen, src, srclen): copy ${src} into ${dst} with every
 * octet outside 0x21..0x7e except space, and every '"' and '\\', written as
 * \xHH; inputs longer than AUDIT_VALUE_MAX octets are cut there and "..." is
 * appended.  Always NUL-terminates (dstlen > 0).  Returns the length written.
 */
size_t	audit_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

/** audit_client(buf, len, name, addr, port): "client=NAME[ADDR]:PORT" into ${buf}, NAME and ADDR escaped ("unknown" when NULL or empty); its length. */
size_t	audit_client(char *buf, size_t len, const char *name, const char *addr,
	    unsigned port);

struct sockaddr;
/** audit_addr(sa, buf, len, port): the address of ${sa} as text ("unknown" for none or another family), an IPv4-mapped IPv6 address as IPv4; its port in ${port}. */
void	audit_addr(const struct sockaddr *sa, char *buf, size_t len,
	    unsigned *port);

/** audit_format_rule(buf, len, ev): format ${ev} as one log line (no newline). Returns its length. */
size_t	audit_format_rule(char *buf, size_t len, const struct audit_rule *ev);

/** audit_rule_level(ev): LOG_WARNING when the action changes the outcome, LOG_NOTICE for log/monitor. */
int	audit_rule_level(const struct audit_rule *ev);

/** audit_log_rule(ev): format ${ev} and send it to syslog (and stderr). */
void	audit_log_rule(const struct audit_rule *ev);

/**
 * audit_log(level, id, fmt, ...): log "<id>: " followed by the printf-style
 * rest; ${id} NULL means "NOQUEUE".  For event=... lines.  Callers escape
 * untrusted arguments with audit_escape() first.
 */
void	audit_log(int level, const char *id, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/** audit_vlog(level, id, fmt, ap): va_list form of audit_log(). */
void	audit_vlog(int level, const char *id, const char *fmt, va_list ap);

/** audit_debug(id, fmt, ...): audit_log() at LOG_DEBUG, only when debug output is on. */
void	audit_debug(const char *id, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/** audit_debugging(): 1 when audit_debug() writes (-d), so callers skip work. */
int	audit_debugging(void);

/**
 * audit_defer(wake, arg): with ${wake}, queue the lines from now on
 * instead of sending each at once, and call ${wake}(${arg}) whenever the
 * queue stops being empty; the caller then calls audit_flush() when it
 * has nothing more urgent to do.  A full queue is flushed on the spot, and
 * exit() flushes it too.  With ${wake} NULL: flush and send at once again.
 * For one single-threaded caller only (the shim's event loop).
 */
void	audit_defer(void (*wake)(void *), void *arg);

/** audit_flush(): send the lines that audit_defer() queued, in order. */
void	audit_flush(void);

#endif /* AUDIT_H */
