/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * privs.h - giving up root after binding: the `user' and `group'
 * settings of the configuration, for both daemons.
 *
 * privs_lookup() runs first, while the user database is still readable;
 * privs_drop() then sets supplementary groups, group and user, each
 * checked, and makes sure root cannot be regained.
 */
#ifndef PRIVS_H
#define PRIVS_H

#include <stddef.h>
#include <sys/types.h>

struct privs {
	uid_t	uid;
	gid_t	gid;
	int	have_uid;	/* a user was named */
	int	have_gid;	/* a group was named, or the user's own */
};

/**
 * privs_lookup(user, group, p, err, errlen): resolve ${user} and ${group}
 * (NULL or empty: not named; the group defaults to the user's primary
 * group) into ${p}.  Returns 0, or -1 with a message in ${err}.
 */
int	privs_lookup(const char *user, const char *group, struct privs *p,
	    char *err, size_t errlen);

/**
 * privs_drop(p, err, errlen): switch to the ids in ${p} (nothing when none
 * was named, or when a non-root process already has them): setgroups()
 * to the one group, setresgid(), setresuid(), then check that setuid(0)
 * fails.  Returns 0, or -1 with a message in ${err}.
 */
int	privs_drop(const struct privs *p, char *err, size_t errlen);

#endif /* PRIVS_H */
