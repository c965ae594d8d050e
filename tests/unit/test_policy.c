/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_policy.c - rule/action tables and policy_reply() (SPEC 4, decisions).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "policy.h"

#define BIT(a)	POLICY_ACTION_BIT(POLICY_##a)
#define ALL	(BIT(NONE) | BIT(LOG) | BIT(TEMPFAIL) | BIT(REJECT) | BIT(DROP_CONNECTION))

/*
 * Criterion 2.4 runs each parameter in a re-executed worker: rows are copied
 * by value, so strings live inside the rows, never behind pointers.
 */
struct rule_row {
	int	rule;
	char	name[32];
	unsigned actions;
	int	has_limit;
	int	shim;
};

ParameterizedTestParameters(policy, rules)
{
	static struct rule_row rows[] = {
		{ POLICY_RCPT_COUNT, "rcpt-count", ALL, 1, 0 },
		{ POLICY_SENDER_LENGTH, "sender-length", ALL, 1, 0 },
		{ POLICY_ADDRESS_CHARACTERS, "address-characters", ALL, 0, 0 },
		{ POLICY_CMD_LINE_LENGTH, "cmd-line-length",
		    BIT(NONE) | BIT(LOG) | BIT(REJECT) | BIT(DROP_CONNECTION), 1, 1 },
		{ POLICY_BARE_LINEFEED, "bare-linefeed",
		    BIT(NONE) | BIT(LOG) | BIT(DROP_CONNECTION), 0, 1 },
		{ POLICY_HEADER_LINE_LENGTH, "header-line-length", ALL, 1, 0 },
		{ POLICY_BODY_LINE_LENGTH, "body-line-length", ALL, 1, 0 },
		{ POLICY_MIME_FILENAME_LENGTH, "mime-filename-length", ALL, 1, 0 },
		{ POLICY_DUPLICATE_HEADER, "duplicate-header", ALL, 0, 0 },
		{ POLICY_DKIM_UNSIGNED_DUPLICATE, "dkim-unsigned-duplicate", ALL, 0, 0 },
		{ POLICY_MIME_STRUCTURE, "mime-structure", ALL, 0, 0 },
	};
	return cr_make_param_array(struct rule_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct rule_row *r, policy, rules)
{
	cr_assert_str_eq(policy_rule_name(r->rule), r->name);
	cr_assert_eq(policy_rule_lookup(r->name), r->rule);
	cr_assert_eq(policy_rule_actions(r->rule), r->actions, "%s", r->name);
	cr_assert_eq(policy_rule_has_limit(r->rule), r->has_limit, "%s", r->name);
	cr_assert_eq(policy_rule_is_shim(r->rule), r->shim, "%s", r->name);
}

struct action_row {
	int	action;
	char	name[32];
};

ParameterizedTestParameters(policy, actions)
{
	static struct action_row rows[] = {
		{ POLICY_NONE, "none" },
		{ POLICY_LOG, "log" },
		{ POLICY_TEMPFAIL, "tempfail" },
		{ POLICY_REJECT, "reject" },
		{ POLICY_DROP_CONNECTION, "drop-connection" },
	};
	return cr_make_param_array(struct action_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct action_row *r, policy, actions)
{
	cr_assert_str_eq(policy_action_name(r->action), r->name);
	cr_assert_eq(policy_action_lookup(r->name), r->action);
}

Test(policy, unknown_names)
{
	static const char *bad[] = { "", "rcpt_count", "RCPT-COUNT", "rcpt-count ",
	    "drop", "Reject", "accept", "discard" };
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(policy_rule_lookup(bad[i]), -1, "%s", bad[i]);
		cr_assert_eq(policy_action_lookup(bad[i]), -1, "%s", bad[i]);
	}
	cr_assert_eq(policy_rule_lookup(NULL), -1);
	cr_assert_eq(policy_action_lookup(NULL), -1);
	cr_assert_null(policy_rule_name(POLICY_NRULES));
	cr_assert_null(policy_action_name(POLICY_NACTIONS));
	cr_assert_eq(policy_rule_actions(POLICY_NRULES), 0);
}

Test(policy, action_strength_order)
{
	cr_assert_lt(POLICY_NONE, POLICY_LOG);
	cr_assert_lt(POLICY_LOG, POLICY_TEMPFAIL);
	cr_assert_lt(POLICY_TEMPFAIL, POLICY_REJECT);
	cr_assert_lt(POLICY_REJECT, POLICY_DROP_CONNECTION);
}

struct reply_row {
	int	rule;
	int	action;
	char	text[64];	/* the rule's reply setting; "" default */
	int	ret;
	char	rcode[4], xcode[6], out[64];
};


ParameterizedTestParameters(policy, reply)
{
	static struct reply_row rows[] = {
		/* none and log give no reply */
		{ POLICY_RCPT_COUNT, POLICY_NONE, "", -1, "", "", "" },
		{ POLICY_RCPT_COUNT, POLICY_LOG, "", -1, "", "", "" },
		{ POLICY_HEADER_LINE_LENGTH, POLICY_LOG, "x", -1, "", "", "" },
		{ POLICY_BODY_LINE_LENGTH, POLICY_NONE, "", -1, "", "", "" },
		/* rcpt-count: 452 4.5.3 on tempfail, ordinary otherwise */
		{ POLICY_RCPT_COUNT, POLICY_TEMPFAIL, "", 0, "452", "4.5.3",
		    "Too many recipients" },
		{ POLICY_RCPT_COUNT, POLICY_TEMPFAIL, "", 0, "452", "4.5.3",
		    "Too many recipients" },
		{ POLICY_RCPT_COUNT, POLICY_TEMPFAIL, "Slow down", 0, "452", "4.5.3",
		    "Slow down" },
		{ POLICY_RCPT_COUNT, POLICY_REJECT, "", 0, "550", "5.7.1",
		    "Message refused by policy (rcpt-count)" },
		{ POLICY_RCPT_COUNT, POLICY_DROP_CONNECTION, "", 0, "421", "4.7.0",
		    "Message refused by policy (rcpt-count)" },
		/* sender-length: 553 5.1.7 on reject */
		{ POLICY_SENDER_LENGTH, POLICY_REJECT, "", 0, "553", "5.1.7",
		    "Message refused by policy (sender-length)" },
		{ POLICY_SENDER_LENGTH, POLICY_REJECT, "Sender too long", 0, "553",
		    "5.1.7", "Sender too long" },
		{ POLICY_SENDER_LENGTH, POLICY_TEMPFAIL, "", 0, "451", "4.7.1",
		    "Message refused by policy (sender-length)" },
		{ POLICY_SENDER_LENGTH, POLICY_DROP_CONNECTION, "", 0, "421", "4.7.0",
		    "Message refused by policy (sender-length)" },
		/* everything else: 451 4.7.1 / 550 5.7.1 / 421 4.7.0 */
		{ POLICY_ADDRESS_CHARACTERS, POLICY_TEMPFAIL, "", 0, "451", "4.7.1",
		    "Message refused by policy (address-characters)" },
		{ POLICY_ADDRESS_CHARACTERS, POLICY_REJECT, "", 0, "550", "5.7.1",
		    "Message refused by policy (address-characters)" },
		{ POLICY_ADDRESS_CHARACTERS, POLICY_DROP_CONNECTION, "Go away", 0,
		    "421", "4.7.0", "Go away" },
		{ POLICY_CMD_LINE_LENGTH, POLICY_REJECT, "", 0, "550", "5.7.1",
		    "Message refused by policy (cmd-line-length)" },
		{ POLICY_BARE_LINEFEED, POLICY_DROP_CONNECTION, "", 0, "421", "4.7.0",
		    "Message refused by policy (bare-linefeed)" },
		{ POLICY_HEADER_LINE_LENGTH, POLICY_REJECT, "", 0, "550", "5.7.1",
		    "Message refused by policy (header-line-length)" },
		{ POLICY_BODY_LINE_LENGTH, POLICY_TEMPFAIL, "", 0, "451", "4.7.1",
		    "Message refused by policy (body-line-length)" },
		{ POLICY_MIME_FILENAME_LENGTH, POLICY_REJECT, "Attachment name too long",
		    0, "550", "5.7.1", "Attachment name too long" },
		{ POLICY_DUPLICATE_HEADER, POLICY_REJECT, "", 0, "550", "5.7.1",
		    "Message refused by policy (duplicate-header)" },
		{ POLICY_DKIM_UNSIGNED_DUPLICATE, POLICY_DROP_CONNECTION, "", 0,
		    "421", "4.7.0",
		    "Message refused by policy (dkim-unsigned-duplicate)" },
		/* printable ASCII only; '%' is left to the smfi wrapper */
		{ POLICY_DUPLICATE_HEADER,
		    POLICY_REJECT, "100% spam", 0, "550", "5.7.1", "100% spam" },
		{ POLICY_HEADER_LINE_LENGTH, POLICY_REJECT, "a\r\nb\tc\x7f\xc3\xa9",
		    0, "550", "5.7.1", "a??b?c???" },
	};
	return cr_make_param_array(struct reply_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct reply_row *r, policy, reply)
{
	struct policy_reply rep;

	memset(&rep, 0, sizeof(rep));
	cr_assert_eq(policy_reply(r->rule, r->action, r->text, &rep), r->ret,
	    "%s/%s", policy_rule_name(r->rule), policy_action_name(r->action));
	if (r->ret != 0)
		return;
	cr_assert_str_eq(rep.rcode, r->rcode);
	cr_assert_str_eq(rep.xcode, r->xcode);
	cr_assert_str_eq(rep.text, r->out);
}

Test(policy, reply_null_text_is_default)
{
	struct policy_reply rep;

	cr_assert_eq(policy_reply(POLICY_RCPT_COUNT, POLICY_TEMPFAIL, NULL, &rep), 0);
	cr_assert_str_eq(rep.text, "Too many recipients");
	cr_assert_eq(policy_reply(POLICY_SENDER_LENGTH, POLICY_REJECT, NULL, &rep), 0);
	cr_assert_str_eq(rep.rcode, "553");
	cr_assert_str_eq(rep.text, "Message refused by policy (sender-length)");
	cr_assert_eq(policy_reply(POLICY_RCPT_COUNT, POLICY_LOG, NULL, &rep), -1);
}

Test(policy, reply_long_text_is_cut)
{
	struct policy_reply rep;
	char	text[1000];

	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	cr_assert_eq(policy_reply(POLICY_HEADER_LINE_LENGTH, POLICY_REJECT, text, &rep), 0);
	cr_assert_eq(strlen(rep.text), POLICY_REPLY_TEXT_MAX);

	/* the cut is on the text as given, control octets included */
	text[0] = '\n';
	cr_assert_eq(policy_reply(POLICY_HEADER_LINE_LENGTH, POLICY_REJECT, text, &rep), 0);
	cr_assert_eq(strlen(rep.text), POLICY_REPLY_TEXT_MAX);
	cr_assert_eq(rep.text[0], '?');
}

Test(policy, reply_bad_arguments)
{
	struct policy_reply rep;

	cr_assert_eq(policy_reply(POLICY_NRULES, POLICY_REJECT, NULL, &rep), -1);
	cr_assert_eq(policy_reply(POLICY_RCPT_COUNT, POLICY_NACTIONS, NULL, &rep), -1);
	cr_assert_eq(policy_reply(POLICY_RCPT_COUNT, POLICY_REJECT, NULL, NULL), -1);
}
