/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * invrcpt.h - invalid-recipients (SPEC 4.2, the ASA's `match
 * invalid-recipients count gt N`): the RCPT commands the MTA refused in
 * one shim session, and when the count passes the rule's limit.
 *
 * A RCPT the shim forwards is pushed on the pending queue as P_RCPT with
 * its address; the MTA's reply to it is paired with it there, so the
 * count follows pipelined RCPTs exactly.  Only the MTA's replies to
 * forwarded RCPTs reach invrcpt_answer(): a reply the shim makes itself
 * (a refused over-long or not permitted line) is a P_LOCAL entry and
 * never counts, since the MTA never read that RCPT.
 *
 * Pure: no sockets, no session; the count is the caller's, per session
 * (RSET and new transactions do not reset it).
 */
#ifndef INVRCPT_H
#define INVRCPT_H

#include <stddef.h>

#include "pending.h"

/* What one reply did to the count. */
enum invrcpt_result {
	INVRCPT_PASS = 0,	/* not a refused recipient: not counted */
	INVRCPT_COUNTED,	/* counted, not beyond the limit */
	INVRCPT_FIRE		/* counted, beyond the limit: the rule fires */
};

/* Octets of a recipient address kept for the log line: the audit log
 * cuts values at AUDIT_VALUE_MAX (200) and marks the cut, so one more
 * octet is enough for it to see that there was more. */
#define INVRCPT_ADDR_MAX	201

/**
 * invrcpt_refused(code): 1 if a reply ${code} to a RCPT the MTA read
 * says it refused the recipient: every 5xx except the syntax and sequence
 * errors (500-504: the command was not read as naming a recipient, e.g.
 * 503 "need MAIL command" behind a refused MAIL; 555: its parameters not
 * recognized).  4xx (450 greylisting, 451 a lookup failure, 452 too many
 * recipients, 421) says "not now", not "no such recipient": 0.
 */
int	invrcpt_refused(int code);

/**
 * invrcpt_answer(count, e, code, limit): the MTA answered the pending
 * entry ${e} with ${code}.  For a RCPT (P_RCPT) that invrcpt_refused(),
 * adds one to the session's ${count}; returns INVRCPT_FIRE when ${count}
 * is then beyond ${limit} (strictly greater: fires on limit + 1, and on
 * each one after), INVRCPT_COUNTED when not, INVRCPT_PASS for any other
 * reply or entry.
 */
enum invrcpt_result invrcpt_answer(unsigned long *count, const struct pend *e,
	    int code, long long limit);

/**
 * invrcpt_addr(arg, len): the recipient of a RCPT command whose argument
 * (smtpframe_cmd()'s, after the verb) is ${arg} (${len} octets): after
 * "TO:" (any case; the whole argument when it does not start so), without
 * "<" ">" and ESMTP parameters, at most INVRCPT_ADDR_MAX octets, as a
 * string the caller frees; NULL when out of memory.  The octets are kept
 * as sent: the log line escapes them.
 */
char   *invrcpt_addr(const unsigned char *arg, size_t len);

#endif /* INVRCPT_H */
