/*
 * cmdline.c - the command line both daemons share (see cmdline.h).
 *
 * Interface: cmdline_parse, cmdline_start, cmdline_fatal.  getopt(3)
 * state is global, so this runs once, in the main thread, before anything
 * else.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <confuse.h>
#include <gmime/gmime.h>

#include "audit.h"
#include "cmdline.h"
#include "config.h"
#include "privs.h"

static const char *cmdline_prog = "esmtp-inspect";
static const char *cmdline_libs = "";

static void
usage(FILE *fp)
{
	(void)fprintf(fp, "usage: %s [-c FILE] [-f] [-d] [-n] [-V] [-h]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground\n"
	    "  -d       debug: log also to standard error, with debug lines\n"
	    "  -n       check the configuration, print the effective settings, exit\n"
	    "  -V, --version  print the versions (ours and the libraries') and exit\n"
	    "  -h, --help     print this help and exit\n",
	    cmdline_prog, CONFIG_DEFAULT_PATH);
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

/**
 * cmdline_parse(argc, argv, progname, cl): read the options of SPEC 2
 * into ${cl}; ${progname} names the program in -V, -h, usage and
 * cmdline_fatal().  Returns -1 when the program goes on, else the status
 * to exit with: 0 after -V or -h (printed on stdout), 64 after a usage
 * error (usage on stderr).
 */
int
cmdline_parse(int argc, char **argv, const char *progname, struct cmdline *cl)
{
	int	ch;

	cmdline_prog = progname;
	memset(cl, 0, sizeof(*cl));
	cl->path = CONFIG_DEFAULT_PATH;
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, "c:fdnVh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
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
			return (0);
		case 'h':
			usage(stdout);
			return (0);
		default:
			usage(stderr);
			return (EX_USAGE);
		}
	}
	if (optind != argc) {
		usage(stderr);
		return (EX_USAGE);
	}
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
