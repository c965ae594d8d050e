/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * offline.h - esmtp-inspect-milter -t: a message file checked offline
 * through the daemon's own callbacks (SPEC 9).
 */
#ifndef OFFLINE_H
#define OFFLINE_H

struct cmdline;

/* Exit status of -t (SPEC 9), besides 64 (usage) and 78 (configuration). */
#define OFFLINE_ACCEPTED	0	/* nothing refused */
#define OFFLINE_REFUSED		1	/* the message or a recipient refused */
#define OFFLINE_NOINPUT		66	/* the message cannot be read (EX_NOINPUT) */

/**
 * offline_main(cl): check the message ${cl}->test ("-": standard input)
 * with the configuration ${cl}->path and the envelope of -s, -r and -a
 * (or the message's own): feed it to milter.c's callbacks as Postfix and
 * libmilter would, print each line the daemon would log and then the
 * reply of each refusal, or "250 2.0.0 accepted", on standard output.
 * Nothing goes to syslog; no thread, socket or libmilter is started.
 * Returns the exit status: OFFLINE_ACCEPTED, OFFLINE_REFUSED,
 * OFFLINE_NOINPUT, 64 for a bad -a or no recipient at all (none given,
 * none in To: or Cc:), 71 without memory, 74 when standard output fails,
 * 78 for a bad configuration.
 */
int	offline_main(const struct cmdline *cl);

#endif /* OFFLINE_H */
