/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - esmtp-inspect-shim: command line, start-up, signals.
 *
 * Start-up order: parse the command line; load the configuration (errors:
 * "FILE:LINE: message", exit 78); bind every listen address while still
 * privileged (exit 71 if one cannot be bound); daemonize unless -f; give
 * up root (user, group: setgroups, setresgid, setresuid, each checked);
 * then create the libevent loop (after fork(), so nothing needs reinit)
 * and run it.  One thread: every session, timer and signal is an event.
 *
 * SIGHUP loads the file again, TLS certificate and key included: new
 * sessions get the new snapshot, running ones keep theirs, a file that
 * does not validate (or a certificate that does not load) is logged and
 * the old snapshot kept; listen addresses are bound once, at start.
 * SIGTERM and SIGINT stop accepting, let sessions finish for
 * shutdown-timeout seconds, then close the rest with 421 and exit 0.
 * SIGUSR1 logs the counters (event=stats) and SIGUSR2 and SIGPIPE are
 * ignored: no signal a postmaster might send by habit stops the shim
 * (SPEC 2).  shim.metrics-listen is bound with the listen addresses and
 * served from the same loop (common/metrics.c).
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "audit.h"
#include "cmdline.h"
#include "config.h"
#include "counters.h"
#include "metrics.h"
#include "privs.h"
#include "server.h"
#include "sockspec.h"

#define PROGNAME	"esmtp-inspect-shim"

#define MAIN_BACKLOG	1024

struct main_ctx {
	struct event_base *base;
	struct shim *shim;
	struct config *start;		/* what a reload cannot change */
	char   *path;
};

/* Bind and listen on "ADDR:PORT"; returns the socket or exits 71. */
static int
bind_one(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *err;
	char	eb[256];
	int	fd, on = 1;

	if ((err = sockspec_hostport(spec, &ss, &len)) != NULL)
		cmdline_fatal(CONFIG_EX, "listen %s: %s", spec, err);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		cmdline_fatal(EX_OSERR, "socket: %s", strerror_r(errno, eb,
		    sizeof(eb)));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* "[::]:25" next to "0.0.0.0:25" must not clash. */
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, MAIN_BACKLOG) != 0)
		cmdline_fatal(EX_OSERR, "cannot listen on %s: %s", spec,
		    strerror_r(errno, eb, sizeof(eb)));
	return (fd);
}

/* SPEC 5.4: while starttls = allow is in effect, start and reload say so. */
static const char *
tls_notice(const struct config *cfg)
{
	return (cfg->shim.starttls == CONFIG_TLS_ALLOW ?
	    " detail=\"" CONFIG_STARTTLS_ALLOW "\"" : "");
}

/* SIGHUP: load the file again; keep the running snapshot if it is bad. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct main_ctx *m = arg;
	struct config *cfg;
	char	err[CONFIG_ERR_MAX];

	(void)sig;
	(void)what;
	cmdline_notify("RELOADING=1");
	/* New certificates too: a file that does not load keeps the old. */
	if ((cfg = config_load(m->path, err, sizeof(err))) != NULL &&
	    shim_tls(m->shim, cfg, err, sizeof(err)) != 0) {
		config_unref(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		cmdline_reload_failed(m->path, err);
		cmdline_notify("READY=1");
		return;
	}
	audit_set_facility(cfg->facility);
	cmdline_reloaded(m->start, cfg, m->path,
	    cfg->shim.starttls == CONFIG_TLS_ALLOW ? CONFIG_STARTTLS_ALLOW :
	    NULL);
	config_install(cfg);
	cmdline_notify("READY=1");
}

/* SIGUSR1: the counters, as event=stats lines (SPEC 8). */
static void
on_usr1(evutil_socket_t sig, short what, void *arg)
{
	struct counters_snap snap;
	struct config *cfg = config_current();

	(void)sig;
	(void)what;
	(void)arg;
	counters_read(&snap);
	counters_log(&snap, cfg, COUNTERS_SHIM);
	config_unref(cfg);
}

/* SIGTERM, SIGINT: stop accepting, drain, leave the loop. */
static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct main_ctx *m = arg;
	struct config *cfg = config_current();
	int	timeout = cfg != NULL ? cfg->shim.shutdown_timeout : 30;

	(void)what;
	config_unref(cfg);
	cmdline_notify("STOPPING=1");
	audit_log(LOG_INFO, NULL, "event=stopping signal=%s sessions=%d "
	    "shutdown-timeout=%d", sig == SIGINT ? "INT" : "TERM",
	    shim_sessions(m->shim), timeout);
	shim_stop(m->shim, timeout);
}

/*
 * The epoll backend with its change list: the add and delete of a write
 * event around each write collapse into one epoll_ctl() per loop
 * iteration, or none.  Safe here because no descriptor is ever dup()ed.
 * Three priorities: every event gets the middle one by default, the log
 * flush the lowest (LOG_PRIORITY).
 */
#define NPRIORITIES	3
#define LOG_PRIORITY	2

static struct event_base *
new_base(void)
{
	struct event_config *ec;
	struct event_base *b;

	if ((ec = event_config_new()) == NULL)
		return (NULL);
	(void)event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	b = event_base_new_with_config(ec);
	event_config_free(ec);
	if (b != NULL && event_base_priority_init(b, NPRIORITIES) != 0) {
		event_base_free(b);
		b = NULL;
	}
	return (b);
}

/*
 * Log lines wait until the loop has nothing else to run: a syslog() wakes
 * the log daemon, which may take this CPU for a while, and that must not
 * come between a reply and its relay.  The flush event has the lowest
 * priority, so it runs once the events of this round are done.
 */
static void
log_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	audit_flush();
}

static void
log_wake(void *arg)
{
	event_active(arg, EV_TIMEOUT, 0);
}

/* -n and start-up check the certificate and key of starttls = terminate. */
static int
check_tls(const struct config *cfg, char *err, size_t len)
{
	return (shim_tls(NULL, cfg, err, len));
}

int
main(int argc, char **argv)
{
	struct cmdline cl;
	char	err[CONFIG_ERR_MAX], host[256];
	struct privs ids;
	struct config *cfg;
	struct main_ctx m;
	struct event *ev_hup, *ev_term, *ev_int, *ev_usr1, *ev_log;
	struct metrics *metrics = NULL;
	sigset_t held;
	int	ch, *fds, mfd = -1;
	size_t	i;
	static char libs[256];

	memset(&m, 0, sizeof(m));
	(void)snprintf(libs, sizeof(libs), "  %s\n  libevent %s\n",
	    OpenSSL_version(OPENSSL_VERSION), event_get_version());
	cmdline_set_libraries(libs);
	if ((ch = cmdline_parse(argc, argv, PROGNAME, &cl)) >= 0)
		return (ch);
	if (!cl.check)
		cmdline_hold_signals();

	if ((ch = cmdline_start(&cl, check_tls, &cfg, &ids, &m.path)) >= 0)
		return (ch);
	if ((fds = calloc(cfg->shim.listen.n, sizeof(*fds))) == NULL)
		cmdline_fatal(EX_OSERR, "out of memory");
	for (i = 0; i < cfg->shim.listen.n; i++)
		fds[i] = bind_one(cfg->shim.listen.v[i]);
	if (*cfg->shim.metrics_listen != '\0' &&
	    (mfd = metrics_bind(cfg->shim.metrics_listen, err,
	    sizeof(err))) < 0)
		cmdline_fatal(EX_OSERR, "%s", err);
	if (!cl.foreground && daemon(0, cl.debug) != 0)
		cmdline_fatal(EX_OSERR, "daemon: %s", strerror_r(errno, err,
		    sizeof(err)));
	if (privs_drop(&ids, err, sizeof(err)) != 0)
		cmdline_fatal(EX_OSERR, "%s", err);

	if (gethostname(host, sizeof(host)) != 0)
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if ((m.base = new_base()) == NULL ||
	    (ev_log = event_new(m.base, -1, 0, log_flush, NULL)) == NULL ||
	    event_priority_set(ev_log, LOG_PRIORITY) != 0 ||
	    (m.shim = shim_new(m.base, host)) == NULL)
		cmdline_fatal(EX_SOFTWARE, "cannot set up the event loop");
	audit_defer(log_wake, ev_log);
	if (shim_tls(m.shim, cfg, err, sizeof(err)) != 0)
		cmdline_fatal(CONFIG_EX, "%s", err);
	for (i = 0; i < cfg->shim.listen.n; i++)
		if (shim_listen(m.shim, fds[i]) != 0)
			cmdline_fatal(EX_SOFTWARE, "cannot listen on %s",
			    cfg->shim.listen.v[i]);
	free(fds);
	if (mfd >= 0 && (metrics = metrics_new(m.base, mfd, COUNTERS_SHIM)) ==
	    NULL)
		cmdline_fatal(EX_SOFTWARE, "cannot serve metrics-listen %s",
		    cfg->shim.metrics_listen);
	if ((ev_hup = evsignal_new(m.base, SIGHUP, on_hup, &m)) == NULL ||
	    (ev_term = evsignal_new(m.base, SIGTERM, on_term, &m)) == NULL ||
	    (ev_int = evsignal_new(m.base, SIGINT, on_term, &m)) == NULL ||
	    (ev_usr1 = evsignal_new(m.base, SIGUSR1, on_usr1, &m)) == NULL ||
	    evsignal_add(ev_usr1, NULL) != 0 ||
	    evsignal_add(ev_hup, NULL) != 0 ||
	    evsignal_add(ev_term, NULL) != 0 ||
	    evsignal_add(ev_int, NULL) != 0)
		cmdline_fatal(EX_SOFTWARE, "cannot set up signal handling");
	/* Held since the start (cmdline_hold_signals()): the loop takes
	 * them now, any that came meanwhile first. */
	(void)sigemptyset(&held);
	(void)sigaddset(&held, SIGHUP);
	(void)sigaddset(&held, SIGUSR1);
	(void)sigprocmask(SIG_UNBLOCK, &held, NULL);

	audit_log(LOG_INFO, NULL, "event=start version=%s config=%s %s "
	    "listen=%s upstream=%s%s%s%s", VERSION, m.path,
	    cmdline_settings(cfg), cfg->shim.listen.v[0], cfg->shim.upstream,
	    mfd >= 0 ? " metrics-listen=" : "",
	    mfd >= 0 ? cfg->shim.metrics_listen : "", tls_notice(cfg));
	m.start = config_ref(cfg);
	config_install(cfg);		/* takes over our reference */
	cfg = NULL;
	/* Every listen address is bound: clients can be sent here. */
	cmdline_notify("READY=1");

	if (event_base_dispatch(m.base) < 0)
		cmdline_fatal(EX_SOFTWARE, "event loop failed");
	metrics_free(metrics);
	shim_free(m.shim);
	/* Let the sessions' deferred frees run before the loop goes. */
	(void)event_base_loop(m.base, EVLOOP_NONBLOCK);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_usr1);
	audit_defer(NULL, NULL);
	event_free(ev_log);
	event_base_free(m.base);
	config_install(NULL);
	config_unref(m.start);
	audit_log(LOG_INFO, NULL, "event=stop");
	free(m.path);
	return (0);
}
