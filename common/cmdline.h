/*
 * cmdline.h - the command line both daemons share (SPEC 2):
 * [-c FILE] [-f] [-d] [-n] [-V] [-h], and how a start-up error ends them.
 */
#ifndef CMDLINE_H
#define CMDLINE_H

struct cmdline {
	const char *path;	/* -c, else CONFIG_DEFAULT_PATH */
	int	foreground;	/* -f */
	int	debug;		/* -d */
	int	check;		/* -n */
};

#include <sysexits.h>		/* EX_USAGE, EX_SOFTWARE, EX_OSERR for callers */

/**
 * cmdline_parse(argc, argv, progname, cl): read the options of SPEC 2
 * into ${cl}; ${progname} names the program in -V, -h, usage and
 * cmdline_fatal().  Returns -1 when the program goes on, else the status
 * to exit with: 0 after -V or -h (printed on stdout), 64 after a usage
 * error (usage on stderr).
 */
int	cmdline_parse(int argc, char **argv, const char *progname,
	    struct cmdline *cl);

/**
 * cmdline_fatal(status, fmt, ...): a start-up error: "progname: message"
 * on stderr and "event=error stage=start detail=..." in the audit log,
 * then exit(${status}).
 */
void	cmdline_fatal(int status, const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 2, 3)));

#endif /* CMDLINE_H */
