/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmdline.h - the command line both daemons share (SPEC 2):
 * [-c FILE] [-f] [-d] [-n] [-V|--version] [-h|--help], the milter's
 * offline check -t MESSAGE [-s SENDER] [-r RCPT]... [-a ADDR] (SPEC 9),
 * and how a start-up error ends them.
 */
#ifndef CMDLINE_H
#define CMDLINE_H

#include <stddef.h>

struct cmdline {
	const char *path;	/* -c, else CONFIG_DEFAULT_PATH */
	int	foreground;	/* -f */
	int	debug;		/* -d */
	int	check;		/* -n */
	/* After cmdline_allow_test() only (the milter): */
	const char *test;	/* -t MESSAGE ("-": stdin); NULL: run as a daemon */
	const char *sender;	/* -s, or NULL: from the message */
	const char **rcpt;	/* each -r, NULL-terminated, the caller's to
				 * free(); NULL: from the message */
	size_t	nrcpt;
	const char *client;	/* -a, or NULL: 127.0.0.1 */
};

#include <sysexits.h>		/* EX_USAGE, EX_SOFTWARE, EX_OSERR for callers */

struct config;
struct privs;

/**
 * cmdline_set_libraries(text): what -V prints after our version and the
 * libraries every program links (libconfuse, GMime): "  name version\n"
 * lines of the program's own (libmilter; OpenSSL, libevent).  Before
 * cmdline_parse(); ${text} must outlive it.
 */
void	cmdline_set_libraries(const char *text);

/**
 * cmdline_allow_test(): before cmdline_parse(), make -t, -s, -r and -a
 * options (the milter's offline check); -s, -r and -a then need -t, and
 * -t goes with none of -f, -d and -n.
 */
void	cmdline_allow_test(void);

/**
 * cmdline_parse(argc, argv, progname, cl): read the options of SPEC 2
 * into ${cl}; ${progname} names the program in -V, -h, usage and
 * cmdline_fatal().  Returns -1 when the program goes on, else the status
 * to exit with: 0 after -V or -h (printed on stdout), 64 after a usage
 * error (usage on stderr), 71 without memory.
 */
int	cmdline_parse(int argc, char **argv, const char *progname,
	    struct cmdline *cl);

/**
 * cmdline_start(cl, check, cfgp, ids, abspathp): what both daemons do
 * after cmdline_parse(): load the configuration file ${cl}->path, run
 * ${check} on it (may be NULL: the shim's TLS files), look up its user
 * and group into ${ids}; with -n print the warnings of the file on
 * stderr ("warning: FILE:LINE: text") and the effective settings; then open
 * the audit log and resolve the file's absolute path for reloads (which
 * happen after daemon() has changed to "/") into ${abspathp} (the
 * caller's to free).  A bad configuration is told on stderr
 * ("FILE:LINE: message").  Returns -1 when the program goes on, with the
 * configuration in ${cfgp}, else the status to exit with: 78 (CONFIG_EX)
 * for a bad configuration, 0 after -n; a failing realpath() ends the
 * program through cmdline_fatal().
 */
int	cmdline_start(const struct cmdline *cl,
	    int (*check)(const struct config *, char *, size_t),
	    struct config **cfgp, struct privs *ids, char **abspathp);

/**
 * cmdline_hold_signals(): from the very start of a daemon, SIGHUP and
 * SIGUSR1 wait (blocked) until it handles them, SIGUSR2 and SIGPIPE are
 * ignored: one sent by habit while it loads its file, binds and drops
 * privileges stops nothing (SPEC 2).  Exits 71 if the mask cannot be set.
 */
void	cmdline_hold_signals(void);

/**
 * cmdline_notify(state): tell systemd (Type=notify) ${state}:
 * "READY=1" once the sockets are bound and the daemon serves,
 * "RELOADING=1" and "READY=1" around a reload, "STOPPING=1".  Nothing
 * without $NOTIFY_SOCKET (not started by systemd).
 */
void	cmdline_notify(const char *state);

/** cmdline_settings(cfg): "profile=P mode=M" of ${cfg}, for the start and reload lines. */
const char *cmdline_settings(const struct config *cfg);

/**
 * cmdline_reloaded(start, cfg, path, notice): log the event=reload line
 * of ${cfg}, just loaded from ${path}, and count it: its profile and
 * mode, the settings bound at start that it changes from ${start} (they
 * need a restart: milter.socket, milter.metrics-listen, shim.listen,
 * shim.metrics-listen, user, group) and ${notice} (may be NULL) in
 * detail="...".
 */
void	cmdline_reloaded(const struct config *start, const struct config *cfg,
	    const char *path, const char *notice);

/** cmdline_reload_failed(path, err): log event=config-error for a reload that did not validate, and count it. */
void	cmdline_reload_failed(const char *path, const char *err);

/**
 * cmdline_fatal(status, fmt, ...): a start-up error: "progname: message"
 * on stderr and "event=error stage=start detail=..." in the audit log,
 * then exit(${status}).
 */
void	cmdline_fatal(int status, const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 2, 3)));

#endif /* CMDLINE_H */
