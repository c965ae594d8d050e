/*
 * test_cmdline.c - the command line both daemons share (SPEC 2).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "config.h"

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
	{ { "-x", "" }, EX_USAGE, "", 0, 0, 0 },
	{ { "-c", "" }, EX_USAGE, "", 0, 0, 0 },	/* -c needs FILE */
	{ { "extra", "" }, EX_USAGE, "", 0, 0, 0 },
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
