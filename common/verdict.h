/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verdict.h - the one verdict engine of the milter and the shim (SPEC 4).
 *
 * A rule fires: the engine fills in who it fired for, logs it (unless the
 * rule says log = no) and keeps the strongest action of the stage, a tie
 * going to the rule first in table order.  The milter fires every rule of
 * a stage and answers once; the shim acts on each rule as it fires
 * (verdict_fire() returns its action) and replies with verdict_reply().
 * Monitor mode logs and never enforces: the stage's action stays none.
 *
 * Pure apart from the log line: no libmilter, no sockets.
 */
#ifndef VERDICT_H
#define VERDICT_H

#include <stddef.h>
#include <sys/socket.h>

#include "audit.h"
#include "policy.h"

struct config;

/* Who the decisions are about: one per milter connection or shim session. */
struct verdict_who {
	const char *id;			/* log prefix: "S<hex>", or NULL */
	const char *client_name;	/* untrusted; NULL: "unknown" */
	const char *client_addr;
	unsigned client_port;
	unsigned exempt;		/* bit (1u << rule): verdict_exempt() */
	int	monitor;		/* mode = monitor, or forced off */
};

/* What one stage decided. */
struct verdict {
	const struct config *cfg;
	const struct verdict_who *who;
	const char *stage;		/* stage word of the log lines */
	unsigned nfired;		/* rules that fired (logged or not) */
	enum policy_action action;	/* strongest action enforced so far */
	enum policy_rule rule;		/* the rule that set it */
};

/** verdict_exempt(cfg, sa): bit (1u << rule) set for each rule a client at ${sa} is exempt from. */
unsigned verdict_exempt(const struct config *cfg, const struct sockaddr *sa);

/** verdict_active(cfg, who, rule): the action of ${rule} for ${who}: none when off or exempt. */
enum policy_action verdict_active(const struct config *cfg,
	    const struct verdict_who *who, enum policy_rule rule);

/** verdict_init(v, cfg, who, stage): an empty verdict for ${stage}. */
void	verdict_init(struct verdict *v, const struct config *cfg,
	    const struct verdict_who *who, const char *stage);

/**
 * verdict_fire(v, ev): rule ${ev->rule} fired with ${ev->value},
 * ${ev->limit} and the rest of ${ev} the caller knows (${ev->id} when it
 * is not ${who}'s: the milter's queue id).  The action is the rule's,
 * unless ${ev->action} is set (the shim's hard caps, which refuse
 * whatever the rule says).  Logs the line (unless the rule says log =
 * no), keeps the strongest action (not in monitor mode) and returns the
 * action fired with.
 */
enum policy_action verdict_fire(struct verdict *v, struct audit_rule *ev);

/**
 * verdict_reply(cfg, rule, action, line, len): "CODE X.Y.Z text\r\n" that
 * ${action} of ${rule} gives the client, the rule's reply text if set.
 * Returns 0, or -1 for actions that give no reply (none, log).
 */
int	verdict_reply(const struct config *cfg, enum policy_rule rule,
	    enum policy_action action, char *line, size_t len);

#endif /* VERDICT_H */
