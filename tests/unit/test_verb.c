/*
 * test_verb.c - the shim's verb table: what the MTA reads after each
 * verb (SPEC 5.6).  A verb whose next octets the MTA decides by its reply
 * must make the shim wait; a verb the table does not know must too.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "smtpframe.h"
#include "verb.h"

struct row {
	char	verb[16];
	int	known;
	enum verb_kind kind;
	enum verb_next next;
};

static struct row rows[] = {
	{ "HELO", 1, VERB_HELO, VERB_NEXT_LINE },
	{ "EHLO", 1, VERB_EHLO, VERB_NEXT_LINE },
	{ "MAIL", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "RCPT", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "RSET", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "NOOP", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "VRFY", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "EXPN", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "HELP", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "ETRN", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "XFORWARD", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "SEND", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "SOML", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "SAML", 1, VERB_OTHER, VERB_NEXT_LINE },
	{ "DATA", 1, VERB_DATA, VERB_NEXT_REPLY },
	{ "BDAT", 1, VERB_BDAT, VERB_NEXT_CHUNK },
	{ "AUTH", 1, VERB_AUTH, VERB_NEXT_REPLY },
	{ "STARTTLS", 1, VERB_STARTTLS, VERB_NEXT_REPLY },
	{ "QUIT", 1, VERB_QUIT, VERB_NEXT_REPLY },
	/* unknown: the reply decides, whatever an MTA makes of them */
	{ "XCLIENT", 0, VERB_UNKNOWN, VERB_NEXT_REPLY },
	{ "TURN", 0, VERB_UNKNOWN, VERB_NEXT_REPLY },
	{ "ATRN", 0, VERB_UNKNOWN, VERB_NEXT_REPLY },
	{ "XXXX", 0, VERB_UNKNOWN, VERB_NEXT_REPLY },
	{ "data", 0, VERB_UNKNOWN, VERB_NEXT_REPLY },	/* upper case only */
	{ "", 0, VERB_UNKNOWN, VERB_NEXT_REPLY },
};

ParameterizedTestParameters(verb, table)
{
	return cr_make_param_array(struct row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct row *r, verb, table)
{
	const struct verb *v = verb_lookup(r->verb);

	cr_assert_eq(v != NULL, r->known, "%s", r->verb);
	cr_assert_eq(verb_next(v), r->next, "%s", r->verb);
	if (v == NULL)
		return;
	cr_assert_str_eq(v->name, r->verb);
	cr_assert_eq(v->kind, r->kind, "%s", r->verb);
}

/* Every row is found by the verb smtpframe_cmd() makes of its line. */
Test(verb, reachable_from_a_command_line)
{
	struct smtpframe_cmd cmd;
	char	line[64];
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (!rows[i].known)
			continue;
		(void)snprintf(line, sizeof(line), "%.16s x\r\n", rows[i].verb);
		line[0] = (char)(line[0] - 'A' + 'a');	/* any case */
		cr_assert_null(smtpframe_cmd((const unsigned char *)line,
		    strlen(line), &cmd), "%s", line);
		cr_assert_eq(verb_lookup(cmd.verb), verb_lookup(rows[i].verb));
	}
}
