/* SPDX-License-Identifier: BSD-2-Clause */
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

/*
 * verb_plan(): what command.c does with one line, from the verb, the
 * policy and the session's TLS, table-driven.  No sockets: the plan is
 * the whole decision, command.c only carries it out.
 */
struct plan_row {
	char	name[48];
	char	verb[16];	/* "" with nocmd: not a command line */
	int	nocmd;
	int	starttls;	/* CONFIG_TLS_* */
	int	other;		/* CONFIG_CMD_* */
	int	terminate, tls_on, monitor;
	int	listed;		/* the verb is in commands */
	enum verb_do what;
	enum pkind reply;
	int	hold, quit;
	enum verb_do policy;
};

#define ALLOW	CONFIG_TLS_ALLOW
#define STRIP	CONFIG_TLS_STRIP
#define TERM	CONFIG_TLS_TERMINATE
#define REJ	CONFIG_CMD_REJECT
#define MASK	CONFIG_CMD_MASK
#define FWD	VERB_DO_FORWARD

static struct plan_row plans[] = {
	{ "MAIL permitted", "MAIL", 0, ALLOW, REJ, 0, 0, 0, 1,
	  FWD, P_OTHER, 0, 0, FWD },
	/* invalid-recipients pairs a RCPT's reply with it; a masked or
	 * refused RCPT is not one to the MTA */
	{ "RCPT permitted", "RCPT", 0, ALLOW, REJ, 0, 0, 0, 1,
	  FWD, P_RCPT, 0, 0, FWD },
	{ "RCPT not listed: masked", "RCPT", 0, ALLOW, MASK, 0, 0, 0, 0,
	  VERB_DO_MASK, P_OTHER, 0, 0, VERB_DO_MASK },
	{ "RCPT not listed, monitor: forwarded", "RCPT", 0, ALLOW, REJ, 0, 0,
	  1, 0, FWD, P_RCPT, 0, 0, VERB_DO_REJECT },
	{ "EHLO", "EHLO", 0, ALLOW, REJ, 0, 0, 0, 1,
	  FWD, P_EHLO, 0, 0, FWD },
	{ "HELO", "HELO", 0, ALLOW, REJ, 0, 0, 0, 1,
	  FWD, P_HELO, 0, 0, FWD },
	{ "DATA waits for its reply", "DATA", 0, ALLOW, REJ, 0, 0, 0, 1,
	  FWD, P_DATA, 1, 0, FWD },
	{ "AUTH waits", "AUTH", 0, ALLOW, REJ, 0, 0, 0, 1,
	  FWD, P_AUTH, 1, 0, FWD },
	{ "BDAT is checked", "BDAT", 0, ALLOW, REJ, 0, 0, 0, 1,
	  VERB_DO_BDAT, P_BDAT, 0, 0, FWD },
	{ "QUIT is remembered", "QUIT", 0, ALLOW, REJ, 0, 0, 0, 1,
	  FWD, P_QUIT, 1, 1, FWD },
	{ "STARTTLS allow: the MTA's", "STARTTLS", 0, ALLOW, REJ, 0, 0, 0,
	  0, FWD, P_STARTTLS, 1, 0, FWD },
	{ "STARTTLS strip: refused", "STARTTLS", 0, STRIP, REJ, 0, 0, 0, 1,
	  VERB_DO_REJECT, P_OTHER, 0, 0, VERB_DO_REJECT },
	{ "STARTTLS strip, mask", "STARTTLS", 0, STRIP, MASK, 0, 0, 0, 1,
	  VERB_DO_MASK, P_OTHER, 0, 0, VERB_DO_MASK },
	{ "STARTTLS terminate: the shim's", "STARTTLS", 0, TERM, REJ, 1, 0,
	  0, 0, VERB_DO_TLS, P_STARTTLS, 1, 0, FWD },
	{ "STARTTLS inside TLS: 503", "STARTTLS", 0, TERM, REJ, 1, 1, 0, 0,
	  VERB_DO_TLS_ACTIVE, P_STARTTLS, 0, 0, FWD },
	{ "not listed: rejected", "VRFY", 0, ALLOW, REJ, 0, 0, 0, 0,
	  VERB_DO_REJECT, P_OTHER, 0, 0, VERB_DO_REJECT },
	{ "not listed: masked", "VRFY", 0, ALLOW, MASK, 0, 0, 0, 0,
	  VERB_DO_MASK, P_OTHER, 0, 0, VERB_DO_MASK },
	{ "not listed, monitor: framed as known", "VRFY", 0, ALLOW, REJ, 0,
	  0, 1, 0, FWD, P_OTHER, 0, 0, VERB_DO_REJECT },
	{ "DATA not listed, monitor: still waits", "DATA", 0, ALLOW, MASK,
	  0, 0, 1, 0, FWD, P_DATA, 1, 0, VERB_DO_MASK },
	{ "unknown listed: waits", "XCLIENT", 0, ALLOW, REJ, 0, 0, 0, 1,
	  FWD, P_UNKNOWN, 1, 0, FWD },
	{ "not a command: refused", "", 1, ALLOW, REJ, 0, 0, 0, 0,
	  VERB_DO_REJECT, P_OTHER, 0, 0, VERB_DO_REJECT },
	{ "not a command, monitor: unknown", "", 1, ALLOW, REJ, 0, 0, 1, 0,
	  FWD, P_UNKNOWN, 1, 0, VERB_DO_REJECT },
};

ParameterizedTestParameters(verb, plan)
{
	return cr_make_param_array(struct plan_row, plans,
	    sizeof(plans) / sizeof(plans[0]));
}

ParameterizedTest(struct plan_row *r, verb, plan)
{
	struct config_shim cs;
	struct verb_ctx ctx;
	struct verb_plan p;
	char   *list[1];

	memset(&cs, 0, sizeof(cs));
	cs.starttls = (enum config_starttls)r->starttls;
	cs.command_other = (enum config_command_other)r->other;
	list[0] = r->verb;
	cs.commands.v = list;
	cs.commands.n = r->listed ? 1 : 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cs;
	ctx.terminate = r->terminate;
	ctx.tls_on = r->tls_on;
	ctx.monitor = r->monitor;
	verb_plan(r->nocmd ? NULL : r->verb, &ctx, &p);
	cr_assert_eq(p.what, r->what, "%s: what %d", r->name, p.what);
	cr_assert_eq(p.policy, r->policy, "%s: policy", r->name);
	if (p.what == VERB_DO_FORWARD || p.what == VERB_DO_BDAT ||
	    p.what == VERB_DO_REJECT || p.what == VERB_DO_MASK)
		cr_assert_eq(p.reply, r->reply, "%s: reply %d", r->name,
		    p.reply);
	cr_assert_eq(p.hold, r->hold, "%s: hold", r->name);
	cr_assert_eq(p.quit, r->quit, "%s: quit", r->name);
}

/*
 * A pipelined group through the plan and the pending queue, as
 * command.c and answer.c drive them: each forwarded line pushes what its
 * reply means, each reply pops the head, in order; a line that waits
 * stops the group there.
 */
Test(verb, pipelined_group_through_the_queue)
{
	static const char *const group[] = { "EHLO", "MAIL", "RCPT", "RCPT",
		"DATA", "NOOP" };
	static const enum pkind want[] = { P_EHLO, P_OTHER, P_RCPT, P_RCPT,
		P_DATA };
	char	names[5][8] = { "EHLO", "MAIL", "RCPT", "DATA", "NOOP" };
	char   *list[5];
	struct config_shim cs;
	struct verb_ctx ctx;
	struct verb_plan p;
	struct pendq pq;
	struct pend e;
	size_t	i, n = 0;

	for (i = 0; i < 5; i++)
		list[i] = names[i];
	memset(&cs, 0, sizeof(cs));
	cs.commands.v = list;
	cs.commands.n = 5;
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cs;
	pendq_init(&pq);
	for (i = 0; i < sizeof(group) / sizeof(group[0]); i++) {
		verb_plan(group[i], &ctx, &p);
		cr_assert_eq(p.what, VERB_DO_FORWARD, "%s", group[i]);
		cr_assert_eq(pendq_push(&pq, p.reply, NULL), 0);
		n++;
		if (p.hold)
			break;		/* NOOP is read only after DATA's reply */
	}
	cr_assert_eq(n, 5);
	for (i = 0; i < n; i++) {
		e = pendq_pop(&pq);
		cr_assert_eq(e.kind, want[i], "reply %zu", i);
	}
	cr_assert_eq(pendq_len(&pq), 0);
}
