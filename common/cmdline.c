/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmdline.c - the command line both daemons share (see cmdline.h).
 *
 * Interface: cmdline_parse, cmdline_start, cmdline_fatal.  getopt(3)
 * state is global, so this runs once, in the main thread, before anything
 * else.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <confuse.h>
#include <systemd/sd-daemon.h>
#include <gmime/gmime.h>

#include "audit.h"
#include "cmdline.h"
#include "config.h"
#include "counters.h"
#include "privs.h"

static const char *cmdline_prog = "esmtp-inspect";
/* Which daemon: what a reload cannot change depends on it. */
static enum counters_daemon cmdline_daemon = COUNTERS_MILTER;
static const char *cmdline_libs = "";
static int cmdline_test;		/* cmdline_allow_test() */

static void
usage(FILE *fp)
{
	(void)fprintf(fp, "usage: %s [-c FILE] [-f] [-d] [-n] [-V] [-h]\n",
	    cmdline_prog);
	if (cmdline_test)
		(void)fprintf(fp, "       %s [-c FILE] -t MESSAGE [-s SENDER] "
		    "[-r RCPT]... [-a ADDR]\n", cmdline_prog);
	(void)fprintf(fp,
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground\n"
	    "  -d       debug: log also to standard error, with debug lines\n"
	    "  -n       check the configuration, print the effective settings, exit\n"
	    "  -V, --version  print the versions (ours and the libraries') and exit\n"
	    "  -h, --help     print this help and exit\n",
	    CONFIG_DEFAULT_PATH);
	if (cmdline_test)
		(void)fprintf(fp,
		    "  -t MESSAGE  check a message file (\"-\": standard input) "
		    "offline: print\n"
		    "              the log lines and the reply, exit 0 accepted, "
		    "1 refused\n"
		    "  -s SENDER   envelope sender (default: Return-Path:, else "
		    "From:)\n"
		    "  -r RCPT     envelope recipient, repeatable (default: To: "
		    "and Cc:)\n"
		    "  -a ADDR     client address (default 127.0.0.1), or "
		    "NAME[ADDR]:PORT\n");
}

/** cmdline_allow_test(): make -t, -s, -r and -a options (the milter). */
void
cmdline_allow_test(void)
{
	cmdline_test = 1;
}

/* A usage error: ${why} and the usage on stderr; the status to exit with. */
static int
usage_error(const char *why)
{
	if (why != NULL)
		(void)fprintf(stderr, "%s: %s\n", cmdline_prog, why);
	usage(stderr);
	return (EX_USAGE);
}

/** cmdline_set_libraries(text): lines "name version" -V prints after the common ones. */
void
cmdline_set_libraries(const char *text)
{
	cmdline_libs = text != NULL ? text : "";
}

/* -V: our version, then each library linked, one per line. */
static void
version(void)
{
	(void)printf("%s %s\n", cmdline_prog, VERSION);
	(void)printf("  libconfuse %s\n", confuse_version);
	(void)printf("  GMime %u.%u.%u\n", gmime_major_version,
	    gmime_minor_version, gmime_micro_version);
	(void)fputs(cmdline_libs, stdout);
}

/* cmdline_parse() ends with ${status}: nothing of ${cl} is kept. */
static int
parse_end(struct cmdline *cl, int status)
{
	free(cl->rcpt);
	cl->rcpt = NULL;
	cl->nrcpt = 0;
	return (status);
}

/**
 * cmdline_parse(argc, argv, progname, cl): read the options of SPEC 2
 * (and SPEC 9's after cmdline_allow_test()) into ${cl}; ${progname}
 * names the program in -V, -h, usage and cmdline_fatal().  Returns -1
 * when the program goes on, else the status to exit with: 0 after -V or
 * -h (printed on stdout), 64 after a usage error (usage on stderr), 71
 * without memory.
 */
int
cmdline_parse(int argc, char **argv, const char *progname, struct cmdline *cl)
{
	int	ch;

	cmdline_prog = progname;
	cmdline_daemon = strstr(progname, "shim") != NULL ? COUNTERS_SHIM :
	    COUNTERS_MILTER;
	memset(cl, 0, sizeof(*cl));
	cl->path = CONFIG_DEFAULT_PATH;
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, cmdline_test ? "c:fdnVht:s:r:a:" :
	    "c:fdnVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			cl->test = optarg;
			break;
		case 's':
			cl->sender = optarg;
			break;
		case 'a':
			cl->client = optarg;
			break;
		case 'r':
			/* No more than argc of them: room for all at once. */
			if (cl->rcpt == NULL &&
			    (cl->rcpt = calloc((size_t)argc + 1,
			    sizeof(*cl->rcpt))) == NULL) {
				(void)fprintf(stderr, "%s: out of memory\n",
				    cmdline_prog);
				return (parse_end(cl, EX_OSERR));
			}
			cl->rcpt[cl->nrcpt++] = optarg;
			break;
		case 'c':
			cl->path = optarg;
			break;
		case 'f':
			cl->foreground = 1;
			break;
		case 'd':
			cl->debug = 1;
			break;
		case 'n':
			cl->check = 1;
			break;
		case 'V':
			version();
			return (parse_end(cl, 0));
		case 'h':
			usage(stdout);
			return (parse_end(cl, 0));
		default:
			return (parse_end(cl, usage_error(NULL)));
		}
	}
	if (optind != argc)
		return (parse_end(cl, usage_error(NULL)));
	if (cl->test == NULL && (cl->sender != NULL || cl->rcpt != NULL ||
	    cl->client != NULL))
		return (parse_end(cl, usage_error("-s, -r and -a go with -t "
		    "only")));
	if (cl->test != NULL && (cl->foreground || cl->debug || cl->check))
		return (parse_end(cl, usage_error("-t goes with none of -f, -d "
		    "and -n")));
	return (-1);
}

/**
 * cmdline_start(cl, check, cfgp, ids, abspathp): load and check the
 * configuration, -n, the audit log, the path for reloads (cmdline.h).
 */
int
cmdline_start(const struct cmdline *cl,
    int (*check)(const struct config *, char *, size_t),
    struct config **cfgp, struct privs *ids, char **abspathp)
{
	char	err[CONFIG_ERR_MAX];
	struct config *cfg;

	if ((cfg = config_load(cl->path, err, sizeof(err))) == NULL) {
		(void)fprintf(stderr, "%s\n", err);
		return (CONFIG_EX);
	}
	if (check != NULL && check(cfg, err, sizeof(err)) != 0) {
		(void)fprintf(stderr, "%s\n", err);
		config_unref(cfg);
		return (CONFIG_EX);
	}
	if (privs_lookup(cfg->user, cfg->group, ids, err, sizeof(err)) != 0) {
		(void)fprintf(stderr, "%s: %s\n", cfg->path, err);
		config_unref(cfg);
		return (CONFIG_EX);
	}
	if (cl->check) {
		size_t	i;

		for (i = 0; i < cfg->warnings.n; i++)
			(void)fprintf(stderr, "warning: %s\n",
			    cfg->warnings.v[i]);
		config_print(cfg, stdout);
		config_unref(cfg);
		return (fflush(stdout) == 0 ? 0 : EX_OSERR);
	}
	audit_open(cmdline_prog, cfg->facility, cl->debug, cl->debug);
	if ((*abspathp = realpath(cl->path, NULL)) == NULL)
		cmdline_fatal(EX_OSERR, "%s: %s", cl->path,
		    strerror_r(errno, err, sizeof(err)));
	*cfgp = cfg;
	return (-1);
}

/** cmdline_hold_signals(): SIGHUP, SIGUSR1 held; SIGUSR2, SIGPIPE ignored. */
void
cmdline_hold_signals(void)
{
	sigset_t set;

	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGHUP);
	(void)sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    signal(SIGUSR2, SIG_IGN) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		cmdline_fatal(EX_OSERR, "cannot set the signal mask");
}

/** cmdline_notify(state): sd_notify(), no-op outside systemd. */
void
cmdline_notify(const char *state)
{
	(void)sd_notify(0, state);
}

/** cmdline_settings(cfg): "profile=P mode=M". */
const char *
cmdline_settings(const struct config *cfg)
{
	static const char *const s[2][2] = {
		{ "profile=standard mode=enforce", "profile=standard mode=monitor" },
		{ "profile=asa mode=enforce", "profile=asa mode=monitor" },
	};

	return (s[cfg->profile == CONFIG_ASA][cfg->mode == CONFIG_MONITOR]);
}

static int
same_strv(const struct config_strv *a, const struct config_strv *b)
{
	size_t	i;

	if (a->n != b->n)
		return (0);
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return (0);
	return (1);
}

/* Append ${name} to the list in ${buf}. */
static void
add_name(char *buf, size_t len, const char *name)
{
	size_t	used = strlen(buf);

	(void)snprintf(buf + used, len - used, "%s%s", used > 0 ? ", " : "",
	    name);
}

/** cmdline_reloaded(start, cfg, path, notice): the event=reload line. */
void
cmdline_reloaded(const struct config *start, const struct config *cfg,
    const char *path, const char *notice)
{
	char	names[256], detail[512];

	names[0] = '\0';
	if (strcmp(start->milter.socket, cfg->milter.socket) != 0 &&
	    cmdline_daemon == COUNTERS_MILTER)
		add_name(names, sizeof(names), "milter.socket");
	if (strcmp(start->milter.metrics_listen,
	    cfg->milter.metrics_listen) != 0 &&
	    cmdline_daemon == COUNTERS_MILTER)
		add_name(names, sizeof(names), "milter.metrics-listen");
	if (!same_strv(&start->shim.listen, &cfg->shim.listen) &&
	    cmdline_daemon == COUNTERS_SHIM)
		add_name(names, sizeof(names), "shim.listen");
	if (strcmp(start->shim.metrics_listen, cfg->shim.metrics_listen) != 0 &&
	    cmdline_daemon == COUNTERS_SHIM)
		add_name(names, sizeof(names), "shim.metrics-listen");
	if (strcmp(start->user, cfg->user) != 0)
		add_name(names, sizeof(names), "user");
	if (strcmp(start->group, cfg->group) != 0)
		add_name(names, sizeof(names), "group");
	detail[0] = '\0';
	if (names[0] != '\0')
		(void)snprintf(detail, sizeof(detail), "%s changed: the "
		    "running value stays until a restart", names);
	if (notice != NULL)
		(void)snprintf(detail + strlen(detail), sizeof(detail) -
		    strlen(detail), "%s%s", detail[0] != '\0' ? "; " : "",
		    notice);
	counters_reload(COUNTERS_RELOAD_OK);
	audit_log(names[0] != '\0' ? LOG_WARNING : LOG_INFO, NULL,
	    "event=reload config=%s %s%s%s%s", path, cmdline_settings(cfg),
	    detail[0] != '\0' ? " detail=\"" : "", detail,
	    detail[0] != '\0' ? "\"" : "");
}

/** cmdline_reload_failed(path, err): event=config-error, counted. */
void
cmdline_reload_failed(const char *path, const char *err)
{
	char	esc[CONFIG_ERR_MAX * 4];

	(void)audit_escape(esc, sizeof(esc), err, strlen(err));
	counters_reload(COUNTERS_RELOAD_ERROR);
	audit_log(LOG_ERR, NULL, "event=config-error config=%s "
	    "detail=\"%s; previous configuration kept\"", path, esc);
}

/**
 * cmdline_fatal(status, fmt, ...): a start-up error: "progname: message"
 * on stderr and "event=error stage=start detail=..." in the audit log,
 * then exit(${status}).
 */
void
cmdline_fatal(int status, const char *fmt, ...)
{
	char	msg[1024], esc[1024];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, "%s: %s\n", cmdline_prog, msg);
	(void)audit_escape(esc, sizeof(esc), msg, strlen(msg));
	audit_log(LOG_ERR, NULL, "event=error stage=start detail=\"%s\"", esc);
	exit(status);
}
