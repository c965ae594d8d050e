/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verb.c - the shim's table of SMTP verbs (SPEC 5.3, 5.6).
 *
 * Interface: verb_lookup(), verb_next(), verb_plan().
 *
 * Invariant: the shim forwards octets that follow a command only where
 * this table says the MTA reads them the same way.  Each row says why
 * the MTA cannot read them otherwise; the reasons were checked against
 * Postfix 3.7 (src/smtpd/smtpd.c, smtpd_chat.c, smtpd_sasl_glue.c) and
 * the RFCs named.  Where the MTA decides by its reply (DATA, AUTH,
 * STARTTLS), the shim reads nothing after the command until that reply
 * has come (VERB_NEXT_REPLY), and a reply that does not fit the command
 * it answers (354 to anything but DATA, 334 to anything but AUTH) is a
 * desync that ends the session.
 */
#include <string.h>
#include <strings.h>

#include "verb.h"

static const struct verb verbs[] = {
	/*
	 * The MTA answers and reads the next command line (RFC 5321 4.1.1;
	 * Postfix's command loop), whatever it answers: none of these makes
	 * it read anything but a line.  So a line pipelined behind one of
	 * them (RFC 2920 3.1) is a command to the MTA and to the shim alike.
	 * HELO and EHLO also end the embryonic phase on a 250, and an EHLO
	 * reply says whether BDAT may follow (CHUNKING).
	 */
	{ "HELO", VERB_HELO, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_HELO },
	{ "EHLO", VERB_EHLO, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_EHLO },
	{ "MAIL", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	/* Its reply is paired with it for invalid-recipients (invrcpt.c). */
	{ "RCPT", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_RCPT },
	{ "RSET", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	{ "NOOP", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	{ "VRFY", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	{ "EXPN", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	{ "HELP", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	{ "ETRN", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	{ "XFORWARD", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	/* RFC 821's MAIL variants (the asa profile's list): MAIL-like where
	 * an MTA implements them, unknown commands (a line) elsewhere. */
	{ "SEND", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	{ "SOML", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	{ "SAML", VERB_OTHER, VERB_CHECK_NONE, VERB_NEXT_LINE,
	    P_OTHER },
	/*
	 * Content follows only after a 354 (RFC 5321 4.1.1.4); after any
	 * other reply (503, 554 "no valid recipients", a milter's refusal)
	 * the MTA reads command lines again.  Content pipelined behind a
	 * refused DATA is therefore commands to the MTA: the shim reads it
	 * only once the reply has said which it is.
	 */
	{ "DATA", VERB_DATA, VERB_CHECK_NONE, VERB_NEXT_REPLY,
	    P_DATA },
	/*
	 * A BDAT chunk is exactly the announced octets (RFC 3030 2), which
	 * the MTA reads whatever it answers (Postfix's skip_bdat() reads a
	 * refused chunk before its 503/551/552/554), then command lines
	 * again, so chunks may be pipelined.  That holds only when both
	 * read the same count: the session forwards BDAT only when
	 * smtpframe_bdat_arg() accepts it (1*18DIGIT, nothing the MTA could
	 * read otherwise) and the upstream offered CHUNKING in its last EHLO
	 * reply (Postfix answers BDAT with CHUNKING off, or malformed, with
	 * 521 and hangs up without reading the chunk).  An MTA that answers
	 * before it has the whole chunk, or with 530 (TLS required, RFC
	 * 3207 4: answered without reading it), did not read it as a chunk:
	 * a desync.
	 */
	{ "BDAT", VERB_BDAT, VERB_CHECK_BDAT, VERB_NEXT_CHUNK,
	    P_BDAT },
	/*
	 * After a 334 the MTA reads one continuation line, up to its LF
	 * (RFC 4954 4; Postfix's smtpd_chat_query_limit()), and answers it;
	 * after any other reply (235, 503, 535) command lines.  The shim
	 * relays the continuation line unparsed and waits for the reply
	 * again.
	 */
	{ "AUTH", VERB_AUTH, VERB_CHECK_NONE, VERB_NEXT_REPLY,
	    P_AUTH },
	/*
	 * After a 220 the client's next octets are a TLS handshake (RFC 3207
	 * 4); what it pipelined behind STARTTLS is discarded, never
	 * forwarded (CVE-2011-0411).  After any other reply command lines.
	 * With starttls = terminate the shim answers STARTTLS itself.
	 */
	{ "STARTTLS", VERB_STARTTLS, VERB_CHECK_STARTTLS, VERB_NEXT_REPLY,
	    P_STARTTLS },
	/* The MTA reads nothing after QUIT (it answers 221 and closes). */
	{ "QUIT", VERB_QUIT, VERB_CHECK_QUIT, VERB_NEXT_REPLY,
	    P_QUIT },
};

/**
 * verb_lookup(verb): the row of ${verb} (upper case, as smtpframe_cmd()
 * gives it), or NULL for a verb the shim does not know, which is framed
 * as VERB_NEXT_REPLY.
 */
const struct verb *
verb_lookup(const char *verb)
{
	size_t	i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, verb) == 0)
			return (&verbs[i]);
	return (NULL);
}

/**
 * verb_next(v): what the MTA reads after the verb ${v} (NULL: unknown).
 *
 * Unknown verbs wait for the reply: an MTA may know a verb the shim does
 * not, and such a verb may change what it reads next (Postfix's XCLIENT
 * greets anew with 220; RFC 821's TURN reverses the roles).
 */
enum verb_next
verb_next(const struct verb *v)
{
	return (v == NULL ? VERB_NEXT_REPLY : v->next);
}

static int
in_list(const struct config_strv *sv, const char *word)
{
	size_t	i;

	for (i = 0; i < sv->n; i++)
		if (strcasecmp(sv->v[i], word) == 0)
			return (1);
	return (0);
}

/**
 * verb_plan(verb, ctx, plan): what to do with a command line whose verb
 * is ${verb} (NULL: not a command line at all).
 *
 * A verb the policy does not permit (SPEC 5.3), or STARTTLS with
 * starttls = strip (5.4), is refused or masked; in monitor mode it is
 * only logged so, and goes on like any command: monitor changes what is
 * refused, never how octets are framed.  A masked line reaches the MTA
 * as X's, an unknown command after which it reads the next line.
 */
void
verb_plan(const char *verb, const struct verb_ctx *ctx,
    struct verb_plan *plan)
{
	const struct verb *v = verb != NULL ? verb_lookup(verb) : NULL;
	int	permitted;

	memset(plan, 0, sizeof(*plan));
	if (verb == NULL)
		permitted = 0;
	else if (v != NULL && v->kind == VERB_STARTTLS)
		permitted = ctx->cfg->starttls != CONFIG_TLS_STRIP;
	else
		permitted = in_list(&ctx->cfg->commands, verb);
	if (!permitted) {
		plan->policy = ctx->cfg->command_other == CONFIG_CMD_REJECT ?
		    VERB_DO_REJECT : VERB_DO_MASK;
		if (!ctx->monitor) {
			plan->what = plan->policy;
			plan->reply = P_OTHER;
			return;
		}
	}
	plan->reply = v != NULL ? v->reply : P_UNKNOWN;
	plan->hold = verb_next(v) == VERB_NEXT_REPLY;
	switch (v != NULL ? v->check : VERB_CHECK_NONE) {
	case VERB_CHECK_BDAT:
		plan->what = VERB_DO_BDAT;
		break;
	case VERB_CHECK_STARTTLS:
		if (ctx->terminate) {
			plan->what = ctx->tls_on ? VERB_DO_TLS_ACTIVE :
			    VERB_DO_TLS;
			plan->hold = !ctx->tls_on;
		}
		break;
	case VERB_CHECK_QUIT:
		plan->quit = 1;
		break;
	case VERB_CHECK_NONE:
		break;
	}
}
