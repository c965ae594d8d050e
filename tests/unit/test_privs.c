/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_privs.c - user/group lookup, and the drop itself in a child
 * process (the tests run as root on the CI machines; skipped otherwise).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <grp.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privs.h"

struct lookup_row {
	char	user[32];
	char	group[32];
	int	ret;
	int	have_uid;
	int	have_gid;
	long	uid;		/* -1: not checked */
	long	gid;
	char	err[64];
};

static struct lookup_row lookup_rows[] = {
	{ "", "", 0, 0, 0, -1, -1, "" },
	{ "root", "", 0, 1, 1, 0, 0, "" },
	{ "nobody", "", 0, 1, 1, 65534, 65534, "" },
	{ "nobody", "root", 0, 1, 1, 65534, 0, "" },
	{ "", "nogroup", 0, 0, 1, -1, 65534, "" },
	{ "no-such-user-x", "", -1, 0, 0, -1, -1, "unknown user \"no-such-user-x\"" },
	{ "root", "no-such-group-x", -1, 0, 0, -1, -1, "unknown group \"no-such-group-x\"" },
};

ParameterizedTestParameters(privs, lookup)
{
	return cr_make_param_array(struct lookup_row, lookup_rows,
	    sizeof(lookup_rows) / sizeof(lookup_rows[0]));
}

ParameterizedTest(struct lookup_row *r, privs, lookup)
{
	struct privs p;
	char	err[128] = "";

	cr_assert_eq(privs_lookup(r->user, r->group, &p, err, sizeof(err)),
	    r->ret, "%s/%s", r->user, r->group);
	if (r->ret != 0) {
		cr_assert_str_eq(err, r->err);
		return;
	}
	cr_assert_eq(p.have_uid, r->have_uid);
	cr_assert_eq(p.have_gid, r->have_gid);
	if (r->uid >= 0)
		cr_assert_eq((long)p.uid, r->uid);
	if (r->gid >= 0)
		cr_assert_eq((long)p.gid, r->gid);
}

Test(privs, drop_in_child)
{
	struct privs p;
	char	err[128];
	pid_t	pid;
	int	st;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(privs_lookup("nobody", "nogroup", &p, err, sizeof(err)), 0);
	if ((pid = fork()) == 0) {
		gid_t	groups[4];
		uid_t	r, e, s;
		gid_t	gr, ge, gs;

		if (privs_drop(&p, err, sizeof(err)) != 0)
			_exit(10);
		if (getresuid(&r, &e, &s) != 0 || r != 65534 || e != 65534 ||
		    s != 65534)
			_exit(11);
		if (getresgid(&gr, &ge, &gs) != 0 || gr != 65534 ||
		    ge != 65534 || gs != 65534)
			_exit(12);
		if (getgroups(4, groups) != 1 || groups[0] != 65534)
			_exit(13);
		if (setuid(0) == 0)
			_exit(14);
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "child step %d failed",
	    WEXITSTATUS(st));
}

Test(privs, nothing_named_is_a_no_op)
{
	struct privs p;
	char	err[128];

	cr_assert_eq(privs_lookup(NULL, NULL, &p, err, sizeof(err)), 0);
	cr_assert_eq(privs_drop(&p, err, sizeof(err)), 0);
	cr_assert_eq(getuid(), getuid());
}
