/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.c - rules, actions and the SMTP replies they produce (SPEC 4, 5).
 *
 * Interface: name <-> identifier lookups for rules and actions, the set of
 * actions each rule supports, whether a rule takes a limit or belongs to the
 * shim, and policy_reply(), which turns an action into the reply the client
 * gets.
 *
 * Invariants: the tables below are indexed by enum policy_rule / enum
 * policy_action and are the only place these names and codes are written.
 * Reply text is always printable ASCII (no CR/LF to split the reply) and
 * plain: '%' is not doubled here, because the shim sends the text as is
 * and the milter's smfi wrapper doubles it for smfi_setreply().
 */
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define ALL_ACTIONS	(POLICY_ACTION_BIT(POLICY_NONE) | \
			 POLICY_ACTION_BIT(POLICY_LOG) | \
			 POLICY_ACTION_BIT(POLICY_TEMPFAIL) | \
			 POLICY_ACTION_BIT(POLICY_REJECT) | \
			 POLICY_ACTION_BIT(POLICY_DROP_CONNECTION))

static const struct {
	const char *name;
	unsigned actions;
	int	has_limit;
	int	shim;
} rules[POLICY_NRULES] = {
	[POLICY_RCPT_COUNT] = { "rcpt-count", ALL_ACTIONS, 1, 0 },
	[POLICY_SENDER_LENGTH] = { "sender-length", ALL_ACTIONS, 1, 0 },
	[POLICY_ADDRESS_CHARACTERS] = { "address-characters", ALL_ACTIONS, 0, 0 },
	[POLICY_CMD_LINE_LENGTH] = { "cmd-line-length",
	    POLICY_ACTION_BIT(POLICY_NONE) | POLICY_ACTION_BIT(POLICY_LOG) |
	    POLICY_ACTION_BIT(POLICY_REJECT) |
	    POLICY_ACTION_BIT(POLICY_DROP_CONNECTION), 1, 1 },
	[POLICY_BARE_LINEFEED] = { "bare-linefeed",
	    POLICY_ACTION_BIT(POLICY_NONE) | POLICY_ACTION_BIT(POLICY_LOG) |
	    POLICY_ACTION_BIT(POLICY_DROP_CONNECTION), 0, 1 },
	[POLICY_HEADER_LINE_LENGTH] = { "header-line-length", ALL_ACTIONS, 1, 0 },
	[POLICY_BODY_LINE_LENGTH] = { "body-line-length", ALL_ACTIONS, 1, 0 },
	[POLICY_MIME_FILENAME_LENGTH] = { "mime-filename-length", ALL_ACTIONS, 1, 0 },
	[POLICY_DUPLICATE_HEADER] = { "duplicate-header", ALL_ACTIONS, 0, 0 },
	[POLICY_DKIM_UNSIGNED_DUPLICATE] = { "dkim-unsigned-duplicate", ALL_ACTIONS, 0, 0 },
	[POLICY_MIME_STRUCTURE] = { "mime-structure", ALL_ACTIONS, 0, 0 },
	[POLICY_HEADER_LENGTH] = { "header-length", ALL_ACTIONS, 1, 0 },
	[POLICY_HEADER_TO_COUNT] = { "header-to-count", ALL_ACTIONS, 1, 0 },
	[POLICY_BODY_LENGTH] = { "body-length", ALL_ACTIONS, 1, 0 },
	[POLICY_MIME_TYPE] = { "mime-type", ALL_ACTIONS, 0, 0 },
	[POLICY_MIME_ENCODING] = { "mime-encoding", ALL_ACTIONS, 0, 0 },
	[POLICY_SENDER_ADDRESS] = { "sender-address", ALL_ACTIONS, 0, 0 },
	[POLICY_MAIL_RELAY] = { "mail-relay", ALL_ACTIONS, 0, 0 },
	/* the MTA has answered the RCPT: only counting or hanging up is left */
	[POLICY_INVALID_RECIPIENTS] = { "invalid-recipients",
	    POLICY_ACTION_BIT(POLICY_NONE) | POLICY_ACTION_BIT(POLICY_LOG) |
	    POLICY_ACTION_BIT(POLICY_DROP_CONNECTION), 1, 1 },
};

static const char *const actions[POLICY_NACTIONS] = {
	[POLICY_NONE] = "none",
	[POLICY_LOG] = "log",
	[POLICY_TEMPFAIL] = "tempfail",
	[POLICY_REJECT] = "reject",
	[POLICY_DROP_CONNECTION] = "drop-connection",
};

/** policy_rule_name(rule): the rule's name as in the configuration file. */
const char *
policy_rule_name(enum policy_rule rule)
{
	if ((unsigned)rule >= POLICY_NRULES)
		return (NULL);
	return (rules[rule].name);
}

/** policy_rule_lookup(name): the rule called ${name}, or -1. */
int
policy_rule_lookup(const char *name)
{
	int	i;

	if (name == NULL)
		return (-1);
	for (i = 0; i < POLICY_NRULES; i++)
		if (strcmp(name, rules[i].name) == 0)
			return (i);
	return (-1);
}

/** policy_action_name(action): the action's name as in the configuration. */
const char *
policy_action_name(enum policy_action action)
{
	if ((unsigned)action >= POLICY_NACTIONS)
		return (NULL);
	return (actions[action]);
}

/** policy_action_lookup(name): the action called ${name}, or -1. */
int
policy_action_lookup(const char *name)
{
	int	i;

	if (name == NULL)
		return (-1);
	for (i = 0; i < POLICY_NACTIONS; i++)
		if (strcmp(name, actions[i]) == 0)
			return (i);
	return (-1);
}

/** policy_rule_actions(rule): bit set (POLICY_ACTION_BIT) of the actions ${rule} supports. */
unsigned
policy_rule_actions(enum policy_rule rule)
{
	if ((unsigned)rule >= POLICY_NRULES)
		return (0);
	return (rules[rule].actions);
}

/** policy_rule_has_limit(rule): 1 if ${rule} takes a numeric limit, else 0. */
int
policy_rule_has_limit(enum policy_rule rule)
{
	if ((unsigned)rule >= POLICY_NRULES)
		return (0);
	return (rules[rule].has_limit);
}

/** policy_rule_is_shim(rule): 1 if ${rule} is enforced by the shim, 0 if by the milter. */
int
policy_rule_is_shim(enum policy_rule rule)
{
	if ((unsigned)rule >= POLICY_NRULES)
		return (0);
	return (rules[rule].shim);
}

/*
 * Copy ${src} into ${dst} (POLICY_REPLY_TEXT_MAX + 1 octets), cut at the
 * maximum, with octets outside 0x20..0x7e written as '?': an SMTP reply
 * line must not carry CR, LF or 8-bit octets.  '%' stays single; the
 * libmilter wrapper (mfwrap_setreply) doubles it for smfi_setreply().
 */
static void
reply_text(char *dst, const char *src)
{
	size_t	n;
	unsigned char c;

	for (n = 0; n < POLICY_REPLY_TEXT_MAX &&
	    (c = (unsigned char)src[n]) != '\0'; n++)
		dst[n] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
	dst[n] = '\0';
}

/**
 * policy_reply(rule, action, text, reply): fill ${reply} with the SMTP reply
 * that ${action} of ${rule} gives the client; ${text} is the rule's `reply`
 * setting or NULL/"" for the default.  Returns 0, or -1 for actions that give
 * no reply (none, log).
 */
int
policy_reply(enum policy_rule rule, enum policy_action action,
    const char *text, struct policy_reply *reply)
{
	char	deftext[POLICY_REPLY_TEXT_MAX + 1];
	const char *name;

	if ((name = policy_rule_name(rule)) == NULL || reply == NULL)
		return (-1);

	switch (action) {
	case POLICY_TEMPFAIL:
		if (rule == POLICY_RCPT_COUNT) {
			reply->rcode = "452";
			reply->xcode = "4.5.3";
		} else {
			reply->rcode = "451";
			reply->xcode = "4.7.1";
		}
		break;
	case POLICY_REJECT:
		if (rule == POLICY_SENDER_LENGTH) {
			reply->rcode = "553";
			reply->xcode = "5.1.7";
		} else {
			reply->rcode = "550";
			reply->xcode = "5.7.1";
		}
		break;
	case POLICY_DROP_CONNECTION:
		reply->rcode = "421";
		reply->xcode = "4.7.0";
		break;
	default:
		return (-1);
	}

	if (text == NULL || *text == '\0') {
		if (rule == POLICY_RCPT_COUNT && action == POLICY_TEMPFAIL)
			text = "Too many recipients";
		else {
			(void)snprintf(deftext, sizeof(deftext),
			    "Message refused by policy (%s)", name);
			text = deftext;
		}
	}
	reply_text(reply->text, text);
	return (0);
}
