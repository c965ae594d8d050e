/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * privs.c - giving up root after binding (see privs.h).
 *
 * Interface: privs_lookup, privs_drop.  Reentrant user database calls
 * only (getpwnam_r, getgrnam_r): the milter has threads by then.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privs.h"

/**
 * privs_lookup(user, group, p, err, errlen): resolve ${user} and ${group}
 * (NULL or empty: not named; the group defaults to the user's primary
 * group) into ${p}.  Returns 0, or -1 with a message in ${err}.
 */
int
privs_lookup(const char *user, const char *group, struct privs *p,
    char *err, size_t errlen)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char	buf[16384];

	memset(p, 0, sizeof(*p));
	if (user != NULL && user[0] != '\0') {
		if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 ||
		    pwp == NULL) {
			(void)snprintf(err, errlen, "unknown user \"%s\"", user);
			return (-1);
		}
		p->uid = pw.pw_uid;
		p->gid = pw.pw_gid;
		p->have_uid = p->have_gid = 1;
	}
	if (group != NULL && group[0] != '\0') {
		if (getgrnam_r(group, &gr, buf, sizeof(buf), &grp) != 0 ||
		    grp == NULL) {
			(void)snprintf(err, errlen, "unknown group \"%s\"",
			    group);
			return (-1);
		}
		p->gid = gr.gr_gid;
		p->have_gid = 1;
	}
	return (0);
}

/**
 * privs_drop(p, err, errlen): switch to the ids in ${p} (nothing when none
 * was named, or when a non-root process already has them): setgroups()
 * to the one group, setresgid(), setresuid(), then check that setuid(0)
 * fails.  Returns 0, or -1 with a message in ${err}.
 */
int
privs_drop(const struct privs *p, char *err, size_t errlen)
{
	char	eb[128];

	if (!p->have_gid)
		return (0);
	/*
	 * Already running as the account (a service manager started us as
	 * it): nothing to drop, and setgroups() would fail without root.
	 */
	if (geteuid() != 0 && getegid() == p->gid && getgid() == p->gid &&
	    (!p->have_uid || (geteuid() == p->uid && getuid() == p->uid)))
		return (0);
	if (setgroups(1, &p->gid) != 0) {
		(void)snprintf(err, errlen, "setgroups(%lu): %s",
		    (unsigned long)p->gid, strerror_r(errno, eb, sizeof(eb)));
		return (-1);
	}
	if (setresgid(p->gid, p->gid, p->gid) != 0) {
		(void)snprintf(err, errlen, "setresgid(%lu): %s",
		    (unsigned long)p->gid, strerror_r(errno, eb, sizeof(eb)));
		return (-1);
	}
	if (p->have_uid && setresuid(p->uid, p->uid, p->uid) != 0) {
		(void)snprintf(err, errlen, "setresuid(%lu): %s",
		    (unsigned long)p->uid, strerror_r(errno, eb, sizeof(eb)));
		return (-1);
	}
	/* Root must not be recoverable. */
	if (p->have_uid && p->uid != 0 && setuid(0) == 0) {
		(void)snprintf(err, errlen, "could still regain root");
		return (-1);
	}
	return (0);
}
