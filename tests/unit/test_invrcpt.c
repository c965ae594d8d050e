/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_invrcpt.c - invalid-recipients in the shim (shim/invrcpt.c): which
 * replies to a RCPT count as refusals, the address kept for the log, and
 * whole sessions driven as command.c and answer.c drive them: each client
 * line through smtpframe_cmd() and verb_plan() onto the pending queue
 * (a RCPT with its address), each MTA reply popping the head and counted
 * by invrcpt_answer(), the shim's own replies (P_LOCAL) flushed in
 * between.  Table-driven; no sockets.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "invrcpt.h"
#include "pending.h"
#include "smtpframe.h"
#include "verb.h"

/* ---- which reply codes count ------------------------------------------ */

struct code_row {
	int	code;
	int	counts;
};

static struct code_row codes[] = {
	{ 250, 0 }, { 251, 0 }, { 252, 0 },
	/* not now, not "no such recipient": greylisting, lookup failure,
	 * too many recipients, the MTA closing */
	{ 421, 0 }, { 450, 0 }, { 451, 0 }, { 452, 0 }, { 455, 0 },
	/* syntax and sequence: the RCPT was not read as naming a recipient */
	{ 500, 0 }, { 501, 0 }, { 502, 0 }, { 503, 0 }, { 504, 0 }, { 555, 0 },
	/* refused: the dictionary-attack signal and its kin */
	{ 550, 1 }, { 551, 1 }, { 552, 1 }, { 553, 1 }, { 554, 1 },
	{ 521, 1 }, { 530, 1 }, { 556, 1 }, { 599, 1 },
	/* not a reply code at all */
	{ 0, 0 }, { 600, 0 }, { 99, 0 },
};

ParameterizedTestParameters(invrcpt, codes)
{
	return cr_make_param_array(struct code_row, codes,
	    sizeof(codes) / sizeof(codes[0]));
}

ParameterizedTest(struct code_row *r, invrcpt, codes)
{
	struct pend rcpt = { P_RCPT, NULL, 0, 0 };
	unsigned long count = 0;

	cr_assert_eq(invrcpt_refused(r->code), r->counts, "%d", r->code);
	/* limit 0: a counted refusal fires at once */
	cr_assert_eq(invrcpt_answer(&count, &rcpt, r->code, 0),
	    r->counts ? INVRCPT_FIRE : INVRCPT_PASS, "%d", r->code);
	cr_assert_eq(count, (unsigned long)r->counts, "%d", r->code);
}

/* Only a RCPT's reply counts, whatever the code. */
Test(invrcpt, only_rcpt_entries)
{
	static const enum pkind kinds[] = { P_LOCAL, P_TLSGO, P_HELO, P_EHLO,
		P_DATA, P_DATAEND, P_BDAT, P_AUTH, P_STARTTLS, P_QUIT, P_OTHER,
		P_UNKNOWN };
	struct pend e = { P_OTHER, NULL, 0, 0 };
	unsigned long count = 0;
	size_t	i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		e.kind = kinds[i];
		cr_assert_eq(invrcpt_answer(&count, &e, 550, 0), INVRCPT_PASS,
		    "kind %d", kinds[i]);
	}
	cr_assert_eq(invrcpt_answer(&count, NULL, 550, 0), INVRCPT_PASS);
	cr_assert_eq(count, 0);
}

/* ---- the address kept for the log -------------------------------------- */

struct addr_row {
	char	arg[300];
	char	want[300];
};

static struct addr_row addrs[] = {
	{ "TO:<u1@dest.test>", "u1@dest.test" },
	{ "to:<U1@Dest.Test>", "U1@Dest.Test" },
	{ "TO:<u1@dest.test> NOTIFY=NEVER ORCPT=rfc822;x@y", "u1@dest.test" },
	{ "TO: <u1@dest.test>", "u1@dest.test" },	/* Postfix takes it */
	{ "TO:u1@dest.test NOTIFY=NEVER", "u1@dest.test" },
	{ "TO:<>", "" },
	{ "TO:<\"a>b\"@dest.test>", "\"a>b\"@dest.test" },
	{ "TO:<a|b@dest.test>", "a|b@dest.test" },	/* kept: the log escapes */
	{ "<u1@dest.test>", "u1@dest.test" },		/* no TO: */
	{ "", "" },
};

ParameterizedTestParameters(invrcpt, addr)
{
	return cr_make_param_array(struct addr_row, addrs,
	    sizeof(addrs) / sizeof(addrs[0]));
}

ParameterizedTest(struct addr_row *r, invrcpt, addr)
{
	char   *a = invrcpt_addr((const unsigned char *)r->arg, strlen(r->arg));

	cr_assert_not_null(a);
	cr_assert_str_eq(a, r->want, "%s", r->arg);
	free(a);
}

/* A long address is kept up to INVRCPT_ADDR_MAX octets, enough for the
 * log to cut it and mark the cut. */
Test(invrcpt, long_address_capped)
{
	char	arg[1024], *a;

	memset(arg, 'x', sizeof(arg));
	memcpy(arg, "TO:<", 4);
	memcpy(arg + 900, "@dest.test>", 11);
	a = invrcpt_addr((const unsigned char *)arg, 911);
	cr_assert_not_null(a);
	cr_assert_eq(strlen(a), INVRCPT_ADDR_MAX);
	free(a);
}

/* ---- sessions: commands, replies and the count -------------------------- */

/*
 * One step: 'c' a client line the shim forwards; 'l' a client line the
 * shim answers itself (an over-long line: P_LOCAL, never forwarded); 'r'
 * an MTA reply ${code} to the head of the queue, with what it does to the
 * count: ${res}, the count after it, and for INVRCPT_FIRE the address the
 * log line names.
 */
struct step {
	char	op;
	char	line[48];
	int	code;
	enum invrcpt_result res;
	unsigned long count;
};

struct session_row {
	char	name[64];
	long long limit;
	struct step steps[24];
};

#define C(l)			{ 'c', l, 0, INVRCPT_PASS, 0 }
#define L(l)			{ 'l', l, 0, INVRCPT_PASS, 0 }
#define R(code, res, n)		{ 'r', "", code, res, n }
#define FIRE(code, n, addr)	{ 'r', addr, code, INVRCPT_FIRE, n }
#define PASS	INVRCPT_PASS
#define CNT	INVRCPT_COUNTED

static struct session_row sessions[] = {
	{ "limit edge: fires on limit + 1, not on limit", 2, {
	    C("MAIL FROM:<s@example.test>"), R(250, PASS, 0),
	    C("RCPT TO:<a@dest.test>"), R(550, CNT, 1),
	    C("RCPT TO:<b@dest.test>"), R(550, CNT, 2),
	    C("RCPT TO:<c@dest.test>"), FIRE(550, 3, "c@dest.test"),
	    C("RCPT TO:<d@dest.test>"), FIRE(550, 4, "d@dest.test"),
	    C("RCPT TO:<u1@dest.test>"), R(250, PASS, 4),
	    C("RCPT TO:<e@dest.test>"), FIRE(550, 5, "e@dest.test") } },
	{ "limit 0: the first refusal fires", 0, {
	    C("MAIL FROM:<s@example.test>"), R(250, PASS, 0),
	    C("RCPT TO:<u1@dest.test>"), R(250, PASS, 0),
	    C("RCPT TO:<a@dest.test>"), FIRE(550, 1, "a@dest.test") } },
	{ "pipelined: each reply paired with its own RCPT", 1, {
	    C("MAIL FROM:<s@example.test>"), C("RCPT TO:<a@dest.test>"),
	    C("RCPT TO:<u1@dest.test>"), C("RCPT TO:<c@dest.test>"),
	    C("RCPT TO:<d@dest.test>"), C("DATA"),
	    R(250, PASS, 0), R(550, CNT, 1), R(250, PASS, 1),
	    FIRE(550, 2, "c@dest.test"), FIRE(553, 3, "d@dest.test"),
	    /* a 5xx to DATA is no recipient refused */
	    R(554, PASS, 3) } },
	{ "a refused MAIL's RCPTs: 503 is not counted", 0, {
	    C("MAIL FROM:<s@example.test>"), C("RCPT TO:<a@dest.test>"),
	    C("RCPT TO:<b@dest.test>"),
	    R(553, PASS, 0), R(503, PASS, 0), R(503, PASS, 0) } },
	{ "4xx and syntax errors are not invalid recipients", 1, {
	    C("MAIL FROM:<s@example.test>"), R(250, PASS, 0),
	    C("RCPT TO:<a@dest.test>"), R(450, PASS, 0),
	    C("RCPT TO:<b@dest.test>"), R(451, PASS, 0),
	    C("RCPT TO:<c@dest.test>"), R(452, PASS, 0),
	    C("RCPT TO:<@@>"), R(501, PASS, 0),
	    C("RCPT TO:<e@dest.test> FOO=1"), R(555, PASS, 0),
	    C("RCPT TO:<f@elsewhere.test>"), R(554, CNT, 1),
	    C("RCPT TO:<g@dest.test>"), FIRE(550, 2, "g@dest.test") } },
	{ "the count spans RSET and transactions", 2, {
	    C("MAIL FROM:<s@example.test>"), R(250, PASS, 0),
	    C("RCPT TO:<a@dest.test>"), R(550, CNT, 1),
	    C("RSET"), R(250, PASS, 1),
	    C("MAIL FROM:<s@example.test>"), R(250, PASS, 1),
	    C("RCPT TO:<b@dest.test>"), R(550, CNT, 2),
	    C("DATA"), R(554, PASS, 2),
	    C("MAIL FROM:<t@example.test>"), R(250, PASS, 2),
	    C("RCPT TO:<c@dest.test>"), FIRE(550, 3, "c@dest.test") } },
	{ "the shim's own reply to a RCPT is not counted", 1, {
	    C("MAIL FROM:<s@example.test>"), C("RCPT TO:<a@dest.test>"),
	    L("RCPT TO:<too-long@dest.test>"), C("RCPT TO:<b@dest.test>"),
	    L("RCPT TO:<too-long@dest.test>"),
	    R(250, PASS, 0), R(550, CNT, 1), FIRE(550, 2, "b@dest.test") } },
	{ "a masked command, answered 502 by the MTA: not a recipient", 0, {
	    C("MAIL FROM:<s@example.test>"), R(250, PASS, 0),
	    C("XXXX TO:<a@dest.test>"), R(502, PASS, 0),
	    C("RCPT TO:<b@dest.test>"), FIRE(550, 1, "b@dest.test") } },
};

ParameterizedTestParameters(invrcpt, sessions)
{
	return cr_make_param_array(struct session_row, sessions,
	    sizeof(sessions) / sizeof(sessions[0]));
}

ParameterizedTest(struct session_row *row, invrcpt, sessions)
{
	char	names[][8] = { "EHLO", "MAIL", "RCPT", "DATA", "RSET" };
	char   *list[5];
	struct config_shim cs;
	struct verb_ctx ctx;
	struct verb_plan plan;
	struct smtpframe_cmd cmd;
	struct pendq pq;
	struct pend e, *h;
	unsigned long count = 0;
	char   *text;
	size_t	i, k;

	for (i = 0; i < 5; i++)
		list[i] = names[i];
	memset(&cs, 0, sizeof(cs));
	cs.commands.v = list;
	cs.commands.n = 5;
	cs.command_other = CONFIG_CMD_MASK;
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cs;
	pendq_init(&pq);
	for (k = 0; k < sizeof(row->steps) / sizeof(row->steps[0]) &&
	    row->steps[k].op != '\0'; k++) {
		const struct step *st = &row->steps[k];

		switch (st->op) {
		case 'c':	/* command.c: plan, address, push */
			cr_assert_null(smtpframe_cmd((const unsigned char *)
			    st->line, strlen(st->line), &cmd), "%s", st->line);
			verb_plan(cmd.verb, &ctx, &plan);
			text = plan.reply == P_RCPT ? invrcpt_addr(cmd.arg,
			    cmd.arglen) : NULL;
			cr_assert_eq(pendq_push(&pq, plan.reply, text), 0);
			break;
		case 'l':	/* command.c: local_reply() behind replies */
			cr_assert_eq(pendq_push(&pq, P_LOCAL,
			    strdup("500 5.5.2 Line too long\r\n")), 0);
			break;
		case 'r':	/* answer.c: handle_reply(), then the flush */
			h = pendq_head(&pq);
			cr_assert_not_null(h, "%s: step %zu", row->name, k);
			cr_assert_neq(h->kind, P_LOCAL, "%s: step %zu",
			    row->name, k);
			e = pendq_pop(&pq);
			cr_assert_eq(invrcpt_answer(&count, &e, st->code,
			    row->limit), st->res, "%s: step %zu", row->name, k);
			cr_assert_eq(count, st->count, "%s: step %zu: count %lu",
			    row->name, k, count);
			if (st->res == INVRCPT_FIRE)
				cr_assert_str_eq(e.text, st->line,
				    "%s: step %zu", row->name, k);
			free(e.text);
			while ((h = pendq_head(&pq)) != NULL &&
			    h->kind == P_LOCAL)
				free(pendq_pop(&pq).text);
			break;
		}
	}
	cr_assert_eq(pendq_len(&pq), 0, "%s: replies left unpaired",
	    row->name);
}
