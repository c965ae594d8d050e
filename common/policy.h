/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.h - rules, actions and the SMTP replies they produce (SPEC 4, 5).
 *
 * The rule and action tables here are the single place where names,
 * which actions a rule supports, and the reply codes are defined.
 * Everything is pure data: no libmilter, no sockets.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>

/* Rule identifiers; the order is the order of SPEC 3 and of -n output. */
enum policy_rule {
	POLICY_RCPT_COUNT,
	POLICY_SENDER_LENGTH,
	POLICY_ADDRESS_CHARACTERS,
	POLICY_CMD_LINE_LENGTH,
	POLICY_BARE_LINEFEED,
	POLICY_HEADER_LINE_LENGTH,
	POLICY_BODY_LINE_LENGTH,
	POLICY_MIME_FILENAME_LENGTH,
	POLICY_DUPLICATE_HEADER,
	POLICY_DKIM_UNSIGNED_DUPLICATE,
	POLICY_MIME_STRUCTURE,
	/* the ASA's optional criteria, off unless configured (SPEC 4.2) */
	POLICY_HEADER_LENGTH,
	POLICY_HEADER_TO_COUNT,
	POLICY_BODY_LENGTH,
	POLICY_MIME_TYPE,
	POLICY_MIME_ENCODING,
	POLICY_SENDER_ADDRESS,
	POLICY_MAIL_RELAY,
	POLICY_INVALID_RECIPIENTS,
	POLICY_NRULES
};

/* Actions, ordered by strength: a larger value wins (SPEC 4). */
enum policy_action {
	POLICY_NONE = 0,
	POLICY_LOG,
	POLICY_TEMPFAIL,
	POLICY_REJECT,
	POLICY_DROP_CONNECTION,
	POLICY_NACTIONS
};

/* Bit for an action in policy_rule_actions(). */
#define POLICY_ACTION_BIT(a)	(1u << (a))

/* Longest reply text we build, without the code and the CRLF. */
#define POLICY_REPLY_TEXT_MAX	400

/* A reply as libmilter's smfi_setreply() and the shim want it. */
struct policy_reply {
	const char *rcode;		/* "550" */
	const char *xcode;		/* "5.7.1" */
	char	text[POLICY_REPLY_TEXT_MAX + 1];
};

/** policy_rule_name(rule): the rule's name as in the configuration file. */
const char *policy_rule_name(enum policy_rule rule);

/** policy_rule_lookup(name): the rule called ${name}, or -1. */
int	policy_rule_lookup(const char *name);

/** policy_action_name(action): the action's name as in the configuration. */
const char *policy_action_name(enum policy_action action);

/** policy_action_lookup(name): the action called ${name}, or -1. */
int	policy_action_lookup(const char *name);

/** policy_rule_actions(rule): bit set (POLICY_ACTION_BIT) of the actions ${rule} supports. */
unsigned policy_rule_actions(enum policy_rule rule);

/** policy_rule_has_limit(rule): 1 if ${rule} takes a numeric limit, else 0. */
int	policy_rule_has_limit(enum policy_rule rule);

/** policy_rule_is_shim(rule): 1 if ${rule} is enforced by the shim, 0 if by the milter. */
int	policy_rule_is_shim(enum policy_rule rule);

/**
 * policy_reply(rule, action, text, reply): fill ${reply} with the SMTP reply
 * that ${action} of ${rule} gives the client; ${text} is the rule's `reply`
 * setting or NULL/"" for the default.  Returns 0, or -1 for actions that give
 * no reply (none, log).
 */
int	policy_reply(enum policy_rule rule, enum policy_action action,
	    const char *text, struct policy_reply *reply);

#endif /* POLICY_H */
