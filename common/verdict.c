/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verdict.c - the one verdict engine of the milter and the shim (SPEC 4).
 *
 * Interface: verdict_exempt(), verdict_active(), verdict_init(),
 * verdict_fire(), verdict_reply().
 *
 * Invariants: a fired rule is logged once, here, with the action it fired
 * with; in monitor mode nothing is enforced (the stage stays none); a tie
 * between rules goes to the first in table order, whatever order they
 * fired in (the man page says so).
 */
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "config.h"
#include "counters.h"
#include "verdict.h"

/** verdict_exempt(cfg, sa): bit (1u << rule) set for each rule a client at ${sa} is exempt from. */
unsigned
verdict_exempt(const struct config *cfg, const struct sockaddr *sa)
{
	unsigned bits = 0;
	int	r;

	for (r = 0; r < POLICY_NRULES; r++)
		if (config_rule_exempt(cfg, (enum policy_rule)r, sa))
			bits |= 1u << r;
	return (bits);
}

/** verdict_active(cfg, who, rule): the action of ${rule} for ${who}: none when off or exempt. */
enum policy_action
verdict_active(const struct config *cfg, const struct verdict_who *who,
    enum policy_rule rule)
{
	if ((who->exempt & (1u << rule)) != 0)
		return (POLICY_NONE);
	return (cfg->rules[rule].action);
}

/** verdict_init(v, cfg, who, stage): an empty verdict for ${stage}. */
void
verdict_init(struct verdict *v, const struct config *cfg,
    const struct verdict_who *who, const char *stage)
{
	memset(v, 0, sizeof(*v));
	v->cfg = cfg;
	v->who = who;
	v->stage = stage;
	v->action = POLICY_NONE;
}

/** verdict_fire(v, ev): log rule ${ev->rule}, keep the strongest action; returns the action fired with. */
enum policy_action
verdict_fire(struct verdict *v, struct audit_rule *ev)
{
	const struct config_rule *r = &v->cfg->rules[ev->rule];
	const struct verdict_who *w = v->who;

	if (ev->action == POLICY_NONE)
		ev->action = r->action;
	if (ev->id == NULL)
		ev->id = w->id;
	ev->stage = v->stage;
	ev->client_name = w->client_name != NULL ? w->client_name : "unknown";
	ev->client_addr = w->client_addr;
	ev->client_port = w->client_port;
	ev->monitor = w->monitor;
	v->nfired++;
	counters_match(ev->rule, ev->action, ev->monitor);
	if (r->log)
		audit_log_rule(ev);
	if (!ev->monitor && (ev->action > v->action ||
	    (ev->action == v->action && ev->rule < v->rule))) {
		v->action = ev->action;
		v->rule = ev->rule;
	}
	return (ev->action);
}

/** verdict_reply(cfg, rule, action, line, len): the reply line of ${action}; 0, or -1 for none/log. */
int
verdict_reply(const struct config *cfg, enum policy_rule rule,
    enum policy_action action, char *line, size_t len)
{
	struct policy_reply rep;

	if (policy_reply(rule, action, cfg->rules[rule].reply, &rep) != 0)
		return (-1);
	(void)snprintf(line, len, "%s %s %s\r\n", rep.rcode, rep.xcode,
	    rep.text);
	return (0);
}
