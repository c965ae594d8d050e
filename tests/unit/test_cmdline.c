/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cmdline.c - the command line both daemons share (SPEC 2).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "config.h"
#include "privs.h"

struct cl_row {
	char	args[5][24];	/* argv after the program name; "" ends */
	int	ret;		/* -1: go on */
	char	path[32];	/* "": the default */
	int	foreground, debug, check;
};

static struct cl_row cl_rows[] = {
	{ { "" }, -1, "", 0, 0, 0 },
	{ { "-c", "x.conf", "" }, -1, "x.conf", 0, 0, 0 },
	{ { "-f", "-d", "" }, -1, "", 1, 1, 0 },
	{ { "-fdn", "-cy.conf", "" }, -1, "y.conf", 1, 1, 1 },
	{ { "-n", "" }, -1, "", 0, 0, 1 },
	{ { "-V", "" }, 0, "", 0, 0, 0 },
	{ { "-h", "" }, 0, "", 0, 0, 0 },
	{ { "--help", "" }, 0, "", 0, 0, 0 },
	{ { "--version", "" }, 0, "", 0, 0, 0 },
	{ { "--bogus", "" }, EX_USAGE, "", 0, 0, 0 },
	{ { "-x", "" }, EX_USAGE, "", 0, 0, 0 },
	{ { "-c", "" }, EX_USAGE, "", 0, 0, 0 },	/* -c needs FILE */
	{ { "extra", "" }, EX_USAGE, "", 0, 0, 0 },
	/* the milter's -t and its options are no options here (the shim) */
	{ { "-t", "m.eml", "" }, EX_USAGE, "", 0, 0, 0 },
	{ { "-s", "a@x", "" }, EX_USAGE, "", 0, 0, 0 },
};

ParameterizedTestParameters(cmdline, parse)
{
	return cr_make_param_array(struct cl_row, cl_rows,
	    sizeof(cl_rows) / sizeof(cl_rows[0]));
}

ParameterizedTest(struct cl_row *row, cmdline, parse)
{
	static char prog[] = "prog";
	char   *argv[7];
	struct cmdline cl;
	int	argc = 1, r;

	argv[0] = prog;
	while (argc < 6 && row->args[argc - 1][0] != '\0') {
		argv[argc] = row->args[argc - 1];
		argc++;
	}
	argv[argc] = NULL;
	optind = 0;			/* glibc: start getopt afresh */
	r = cmdline_parse(argc, argv, "prog", &cl);
	cr_assert_eq(r, row->ret, "%s: got %d", row->args[0], r);
	if (r != -1)
		return;
	cr_assert_str_eq(cl.path, row->path[0] ? row->path : CONFIG_DEFAULT_PATH);
	cr_assert_eq(cl.foreground, row->foreground);
	cr_assert_eq(cl.debug, row->debug);
	cr_assert_eq(cl.check, row->check);
}

/* After cmdline_allow_test() (the milter): -t MESSAGE and its options. */
struct test_row {
	char	args[13][24];	/* argv after the program name; "" ends */
	int	ret;		/* -1: go on */
	char	test[16];	/* -t; "": none */
	int	has_sender;
	char	sender[16];
	size_t	nrcpt;
	char	rcpt[2][16];	/* the first two -r */
	char	client[32];	/* -a; "": none */
};

static struct test_row test_rows[] = {
	{ { "-t", "m.eml", "" }, -1, "m.eml", 0, "", 0, { "" }, "" },
	{ { "-t", "-", "" }, -1, "-", 0, "", 0, { "" }, "" },
	{ { "-c", "x.conf", "-t", "m", "-s", "a@x", "-r", "r1@x", "-r", "<r2@x>",
	    "-a", "192.0.2.1", "" }, -1, "m", 1, "a@x", 2, { "r1@x", "<r2@x>" },
	    "192.0.2.1" },
	{ { "-tm", "-s", "", "-ah[::1]:25", "" }, -1, "m", 1, "", 0, { "" },
	    "h[::1]:25" },
	{ { "-r", "a@x", "-t", "m", "-r", "b@x", "-r", "c@x", "" }, -1, "m", 0,
	    "", 3, { "a@x", "b@x" }, "" },
	/* -s, -r, -a need -t */
	{ { "-s", "a@x", "" }, EX_USAGE, "", 0, "", 0, { "" }, "" },
	{ { "-r", "a@x", "" }, EX_USAGE, "", 0, "", 0, { "" }, "" },
	{ { "-a", "192.0.2.1", "-f", "" }, EX_USAGE, "", 0, "", 0, { "" }, "" },
	/* -t with a daemon's options */
	{ { "-t", "m", "-f", "" }, EX_USAGE, "", 0, "", 0, { "" }, "" },
	{ { "-d", "-t", "m", "" }, EX_USAGE, "", 0, "", 0, { "" }, "" },
	{ { "-t", "m", "-n", "" }, EX_USAGE, "", 0, "", 0, { "" }, "" },
	{ { "-t", "" }, EX_USAGE, "", 0, "", 0, { "" }, "" },
	{ { "-t", "m", "extra", "" }, EX_USAGE, "", 0, "", 0, { "" }, "" },
	{ { "-t", "m", "-r", "a@x", "-x", "" }, EX_USAGE, "", 0, "", 0, { "" }, "" },
	{ { "-t", "m", "-r", "a@x", "-h", "" }, 0, "", 0, "", 0, { "" }, "" },
	/* the daemon's options still work */
	{ { "-f", "-d", "" }, -1, "", 0, "", 0, { "" }, "" },
};

ParameterizedTestParameters(cmdline, test)
{
	return cr_make_param_array(struct test_row, test_rows,
	    sizeof(test_rows) / sizeof(test_rows[0]));
}

ParameterizedTest(struct test_row *row, cmdline, test, .init = cr_redirect_stdout)
{
	static char prog[] = "prog";
	char   *argv[15];
	struct cmdline cl;
	int	argc = 1, r;

	argv[0] = prog;
	while (argc < 14 && row->args[argc - 1][0] != '\0') {
		argv[argc] = row->args[argc - 1];
		argc++;
	}
	/* An empty argument is one: "-s" "" is the null sender. */
	if (argc >= 3 && strcmp(argv[argc - 1], "-s") == 0) {
		argv[argc] = row->args[argc - 1];
		argc++;
		while (argc < 14 && row->args[argc - 1][0] != '\0') {
			argv[argc] = row->args[argc - 1];
			argc++;
		}
	}
	argv[argc] = NULL;
	optind = 0;
	cmdline_allow_test();
	r = cmdline_parse(argc, argv, "prog", &cl);
	cr_assert_eq(r, row->ret, "%s %s: got %d", row->args[0], row->args[1], r);
	if (r != -1) {
		cr_assert_null(cl.rcpt);
		return;
	}
	if (row->test[0] == '\0')
		cr_assert_null(cl.test);
	else
		cr_assert_str_eq(cl.test, row->test);
	if (row->has_sender)
		cr_assert_str_eq(cl.sender, row->sender);
	else
		cr_assert_null(cl.sender);
	cr_assert_eq(cl.nrcpt, row->nrcpt);
	if (row->nrcpt == 0)
		cr_assert_null(cl.rcpt);
	else {
		cr_assert_str_eq(cl.rcpt[0], row->rcpt[0]);
		if (row->nrcpt > 1)
			cr_assert_str_eq(cl.rcpt[1], row->rcpt[1]);
		cr_assert_null(cl.rcpt[row->nrcpt]);
	}
	if (row->client[0] == '\0')
		cr_assert_null(cl.client);
	else
		cr_assert_str_eq(cl.client, row->client);
	free(cl.rcpt);
}

/* cmdline_start(): load, check hook, user lookup, -n, the path for reloads. */
static int
hook_ok(const struct config *cfg, char *err, size_t len)
{
	(void)cfg;
	(void)err;
	(void)len;
	return (0);
}

static int
hook_fails(const struct config *cfg, char *err, size_t len)
{
	(void)cfg;
	(void)snprintf(err, len, "tls-certificate: cannot read");
	return (-1);
}

struct start_row {
	char	text[64];	/* the file; "-": no file at all */
	int	hook;		/* 0 none, 1 passes, 2 fails */
	int	check;		/* -n */
	int	ret;
};

static struct start_row start_rows[] = {
	{ "", 0, 0, -1 },
	{ "", 1, 0, -1 },
	{ "user = \"root\"\ngroup = \"root\"\n", 0, 0, -1 },
	{ "", 0, 1, 0 },			/* -n: printed, exit 0 */
	{ "", 2, 0, CONFIG_EX },		/* the hook refuses */
	{ "", 2, 1, CONFIG_EX },		/* ... also with -n */
	{ "no-such-option = 1\n", 0, 0, CONFIG_EX },
	{ "user = \"no-such-user-here\"\n", 0, 1, CONFIG_EX },
	{ "-", 0, 0, CONFIG_EX },		/* no file */
};

ParameterizedTestParameters(cmdline, start)
{
	return cr_make_param_array(struct start_row, start_rows,
	    sizeof(start_rows) / sizeof(start_rows[0]));
}

ParameterizedTest(struct start_row *row, cmdline, start, .init = cr_redirect_stdout)
{
	static int (*const hooks[])(const struct config *, char *, size_t) = {
		NULL, hook_ok, hook_fails };
	char	path[64], *abspath = NULL;
	struct cmdline cl;
	struct config *cfg = NULL;
	struct privs ids;
	int	fd, r;

	(void)snprintf(path, sizeof(path), "/tmp/test_cmdline.XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp");
	cr_assert(write(fd, row->text, strlen(row->text)) ==
	    (ssize_t)strlen(row->text));
	(void)close(fd);
	if (strcmp(row->text, "-") == 0)
		(void)unlink(path);
	memset(&cl, 0, sizeof(cl));
	cl.path = path;
	cl.check = row->check;
	r = cmdline_start(&cl, hooks[row->hook], &cfg, &ids, &abspath);
	(void)unlink(path);
	cr_assert_eq(r, row->ret, "\"%s\" hook %d -n %d: got %d", row->text,
	    row->hook, row->check, r);
	if (r != -1)
		return;
	cr_assert_not_null(cfg);
	cr_assert_str_eq(abspath, path);	/* /tmp: already absolute */
	free(abspath);
	config_unref(cfg);
}

/* -V and --version: our version, then every library linked, one a line. */
Test(cmdline, version_lists_libraries, .init = cr_redirect_stdout)
{
	static char prog[] = "prog", opt[] = "--version";
	char   *argv[] = { prog, opt, NULL };
	struct cmdline cl;
	char	out[1024];
	size_t	n;
	FILE   *f;

	cmdline_set_libraries("  libtest 1.2\n");
	optind = 0;
	cr_assert_eq(cmdline_parse(2, argv, "prog", &cl), 0);
	(void)fflush(stdout);
	f = cr_get_redirected_stdout();
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	cr_assert(strncmp(out, "prog " VERSION "\n", strlen("prog " VERSION
	    "\n")) == 0, "%s", out);
	cr_assert(strstr(out, "\n  libconfuse ") != NULL, "%s", out);
	cr_assert(strstr(out, "\n  GMime 3.") != NULL, "%s", out);
	cr_assert(strstr(out, "\n  libtest 1.2\n") != NULL, "%s", out);
}
