/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - esmtp-inspect-milter: command line, start-up, signals.
 *
 * With -t MESSAGE the program is no daemon: offline.c checks the message
 * through the same callbacks and exits, before anything below is started.
 *
 * Start-up order: parse the command line; load the configuration (errors:
 * "FILE:LINE: message", exit 78); initialise the MIME scanner (GMime)
 * once, before any thread exists; open the milter socket while still
 * privileged (exit 71 if it cannot be opened) and fix a unix socket's mode
 * and owner; daemonize unless -f; drop privileges (setgroups, setresgid,
 * setresuid, each checked); block SIGHUP, SIGTERM and SIGINT in every thread;
 * run smfi_main() in a second thread.
 *
 * The main thread then sigwait()s for those signals.  Linux hands a
 * process-directed signal to the thread-group leader first when it is
 * waiting for it, so libmilter's own signal thread (which takes SIGHUP for
 * "stop") does not see them.  SIGHUP reloads the configuration (a file
 * that does not validate is logged and the running snapshot kept);
 * SIGTERM and SIGINT call smfi_stop(), join the milter thread and exit 0.
 * SIGUSR1 from the milter thread says smfi_main() returned (it sets
 * milter_returned first: the kernel's si_code cannot tell its tgkill()
 * from a kill(), Linux 6.18 says SI_USER for both); SIGUSR2 (main to
 * listener: wake up from select()) is internal too.  The same signals sent from outside, by
 * a postmaster's habit, stop nothing: SIGUSR1 logs the counters
 * (event=stats), SIGUSR2 wakes a select() that loops again, SIGPIPE is
 * ignored.  With milter.metrics-listen, its socket is bound with the
 * milter's and served from a third thread (common/metrics.c).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cmdline.h"
#include "config.h"
#include "counters.h"
#include "metrics.h"
#include "mime.h"
#include "privs.h"
#include "sockspec.h"

#include "mfwrap.h"
#include "milter.h"
#include "offline.h"

#define PROGNAME	"esmtp-inspect-milter"

/* Result of smfi_main(), written by the milter thread before it signals,
 * and that it has returned. */
static int main_milter_ret;
static atomic_int milter_returned;
static pthread_t main_thread;

/* SIGHUP: load ${path} again; keep the running snapshot if it is bad.
 * ${start} is the configuration of the start, whose socket stays. */
static void
reload(const char *path, const struct config *start)
{
	struct config *cfg;
	char	err[CONFIG_ERR_MAX];

	cmdline_notify("RELOADING=1");
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		cmdline_reload_failed(path, err);
		cmdline_notify("READY=1");
		return;
	}
	audit_set_facility(cfg->facility);
	cmdline_reloaded(start, cfg, path, NULL);
	config_install(cfg);
	cmdline_notify("READY=1");
}

/* SIGUSR1 from outside: the counters, as event=stats lines (SPEC 8). */
static void
log_stats(void)
{
	struct counters_snap snap;
	struct config *cfg = config_current();

	counters_read(&snap);
	counters_log(&snap, cfg, COUNTERS_MILTER);
	config_unref(cfg);
}

/*
 * libmilter's own signal thread (libmilter/signal.c) sigwait()s for
 * SIGHUP, SIGTERM and SIGINT and stops the listener on any of them.  The
 * main thread owns those signals (reload, clean stop), and gets them while
 * it waits in sigwaitinfo(); but one that arrives while it is busy (a
 * second SIGHUP during a reload) goes to whichever thread waits for it:
 * libmilter's, which then closed the milter socket while the process lived
 * on, so Postfix tempfailed all mail and systemd saw nothing wrong.  This
 * definition interposes libc's for libmilter (an executable's symbol comes
 * first); the main thread uses sigwaitinfo(), so whoever calls sigwait()
 * is libmilter's signal thread, and it parks here for good, every signal
 * blocked.  The process's exit ends it.
 */
int	sigwait(const sigset_t *set, int *sig);

int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t all;

	(void)set;
	(void)sig;
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;)
		(void)pause();
}

/* SIGUSR2 only interrupts the listener's select(); see stop_milter(). */
static void
wake(int sig)
{

	(void)sig;
}

/* smfi_stop() blocks until the listener leaves select(): its own thread. */
static void *
stopper_thread(void *arg)
{

	(void)arg;
	mfwrap_stop();
	return (NULL);
}

/*
 * smfi_stop() and wait for the milter thread.  libmilter's listener holds
 * a lock across a select() of several seconds, and smfi_stop() needs that
 * lock; so smfi_stop() runs in a helper thread while SIGUSR2 at the
 * listener makes select() return EINTR, drop the lock and see the stop.
 * Repeated, because a signal may land before the stop flag is set or
 * before select() starts.
 */
static void
stop_milter(pthread_t tid)
{
	struct timespec ts;
	pthread_t st;
	int	have_st;

	have_st = pthread_create(&st, NULL, stopper_thread, NULL) == 0;
	if (!have_st)
		mfwrap_stop();
	/*
	 * Give smfi_stop() time to set its flag before the first wake-up: a
	 * listener woken before it loops once more and may then find its
	 * socket closed under it, which libmilter reports as a failure.
	 */
	ts.tv_sec = 0;
	ts.tv_nsec = 20 * 1000 * 1000;
	(void)nanosleep(&ts, NULL);
	for (;;) {
		(void)pthread_kill(tid, SIGUSR2);
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000 * 1000;
		if (ts.tv_nsec >= 1000 * 1000 * 1000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000 * 1000 * 1000;
		}
		if (pthread_timedjoin_np(tid, NULL, &ts) == 0)
			break;
	}
	if (have_st)
		(void)pthread_join(st, NULL);
}

/* The libmilter thread: run until smfi_stop(), then wake the main thread. */
static void *
milter_thread(void *arg)
{

	(void)arg;
	main_milter_ret = mfwrap_main();
	atomic_store(&milter_returned, 1);
	(void)pthread_kill(main_thread, SIGUSR1);
	return (NULL);
}

int
main(int argc, char **argv)
{
	const char *sockpath;
	struct cmdline cl;
	char   *abspath;
	struct config *cfg;
	sigset_t set;
	struct sigaction sa;
	pthread_t tid;
	struct privs ids;
	struct config *start;
	char	perr[256];
	int	ch, mfd = -1;
	int	sig, running;
	static char libs[64];

	mfwrap_version(libs, sizeof(libs));
	cmdline_set_libraries(libs);
	cmdline_allow_test();
	if ((ch = cmdline_parse(argc, argv, PROGNAME, &cl)) >= 0)
		return (ch);
	if (cl.test != NULL) {
		ch = offline_main(&cl);
		free(cl.rcpt);
		return (ch);
	}
	if (!cl.check)
		cmdline_hold_signals();

	if ((ch = cmdline_start(&cl, NULL, &cfg, &ids, &abspath)) >= 0)
		return (ch);

	/* GMime's global state, before any thread can scan a message. */
	mime_init();
	if (mfwrap_register(&milter_desc) != 0)
		cmdline_fatal(EX_SOFTWARE, "smfi_register failed");
	if (mfwrap_setconn(cfg->milter.socket) != 0 ||
	    mfwrap_settimeout(cfg->milter.timeout) != 0)
		cmdline_fatal(EX_SOFTWARE, "cannot set up milter socket %s",
		    cfg->milter.socket);
	errno = 0;
	if (mfwrap_opensocket(1) != 0) {
		char	eb[256];

		cmdline_fatal(EX_OSERR, "cannot open milter socket %s%s%s",
		    cfg->milter.socket, errno ? ": " : "",
		    errno ? strerror_r(errno, eb, sizeof(eb)) : "");
	}
	if (sockspec_milter_is_unix(cfg->milter.socket, &sockpath)) {
		if (chmod(sockpath, cfg->milter.socket_mode) != 0)
			cmdline_fatal(EX_OSERR, "chmod %s: %m", sockpath);
		if ((ids.have_uid || ids.have_gid) && chown(sockpath,
		    ids.have_uid ? ids.uid : (uid_t)-1,
		    ids.have_gid ? ids.gid : (gid_t)-1) != 0)
			cmdline_fatal(EX_OSERR, "chown %s: %m", sockpath);
	}
	if (*cfg->milter.metrics_listen != '\0' &&
	    (mfd = metrics_bind(cfg->milter.metrics_listen, perr,
	    sizeof(perr))) < 0)
		cmdline_fatal(EX_OSERR, "%s", perr);
	if (!cl.foreground && daemon(0, cl.debug) != 0)
		cmdline_fatal(EX_OSERR, "daemon: %m");
	if (privs_drop(&ids, perr, sizeof(perr)) != 0)
		cmdline_fatal(EX_OSERR, "%s", perr);

	/* Every thread created from here on inherits the blocked set. */
	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGHUP);
	(void)sigaddset(&set, SIGTERM);
	(void)sigaddset(&set, SIGINT);
	(void)sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		cmdline_fatal(EX_OSERR, "pthread_sigmask failed");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake;		/* no SA_RESTART: select() gets EINTR */
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		cmdline_fatal(EX_OSERR, "sigaction: %m");
	main_thread = pthread_self();
	audit_log(LOG_INFO, NULL, "event=start version=%s config=%s %s "
	    "socket=%s%s%s", VERSION, abspath, cmdline_settings(cfg),
	    cfg->milter.socket, mfd >= 0 ? " metrics-listen=" : "",
	    mfd >= 0 ? cfg->milter.metrics_listen : "");
	start = config_ref(cfg);	/* what a reload cannot change */
	config_install(cfg);		/* takes over our reference */
	cfg = NULL;
	if (mfd >= 0 && metrics_thread_start(mfd, COUNTERS_MILTER) != 0)
		cmdline_fatal(EX_OSERR, "cannot start the metrics thread");
	if (pthread_create(&tid, NULL, milter_thread, NULL) != 0)
		cmdline_fatal(EX_OSERR, "cannot start the milter thread");
	/* The socket was bound before daemon(): systemd may start the MTA. */
	cmdline_notify("READY=1");

	for (running = 1; running; ) {
		if ((sig = sigwaitinfo(&set, NULL)) < 0)
			continue;
		switch (sig) {
		case SIGHUP:
			reload(abspath, start);
			break;
		case SIGUSR1:
			/* smfi_main() returned by itself: the milter thread's
			 * pthread_kill().  From anyone else: not a stop. */
			if (atomic_load(&milter_returned)) {
				running = 0;
				break;
			}
			log_stats();
			break;
		case SIGTERM:
		case SIGINT:
			running = 0;
			break;
		}
	}
	cmdline_notify("STOPPING=1");
	stop_milter(tid);
	metrics_thread_stop();
	config_unref(start);
	/* After our own stop request, the listener's complaint is not an error. */
	if (sig == SIGUSR1 && main_milter_ret != 0)
		audit_log(LOG_ERR, NULL, "event=error stage=main "
		    "detail=\"smfi_main failed\"");
	audit_log(LOG_INFO, NULL, "event=stop");
	free(abspath);
	return (sig == SIGUSR1 && main_milter_ret != 0 ? EX_SOFTWARE : 0);
}
