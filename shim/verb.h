/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verb.h - the shim's table of SMTP verbs (SPEC 5.3, 5.6): for each verb
 * it knows, what the shim does before forwarding it, what the MTA reads
 * after it (so that the shim frames the octets after a forwarded command
 * exactly as the MTA will), and what its reply means.  verb_plan() reads
 * the row with the policy into what command.c does with one line.
 *
 * Pure data and functions: no sockets, no session.  A verb that is not
 * in the table is unknown: the shim reads nothing after it until the MTA
 * has answered (VERB_NEXT_REPLY), so an MTA that knows more verbs than
 * the shim cannot read the next octets differently.
 */
#ifndef VERB_H
#define VERB_H

#include "config.h"
#include "pending.h"

/* The verbs the session treats apart. */
enum verb_kind {
	VERB_UNKNOWN = 0,	/* not in the table */
	VERB_HELO,
	VERB_EHLO,
	VERB_DATA,
	VERB_BDAT,
	VERB_AUTH,
	VERB_STARTTLS,
	VERB_QUIT,
	VERB_OTHER		/* in the table, nothing to do but relay */
};

/* What the MTA reads after the command line. */
enum verb_next {
	VERB_NEXT_LINE = 0,	/* the next command line, whatever it answers */
	VERB_NEXT_REPLY,	/* what its reply says: read nothing more until then */
	VERB_NEXT_CHUNK		/* the BDAT chunk's octets, then command lines */
};

/* What the shim does with a permitted command line before forwarding it. */
enum verb_check {
	VERB_CHECK_NONE = 0,	/* nothing: forward it */
	VERB_CHECK_BDAT,	/* the chunk size both sides read, CHUNKING */
	VERB_CHECK_STARTTLS,	/* starttls = terminate: answered by the shim */
	VERB_CHECK_QUIT		/* remembered: no close_notify after it */
};

struct verb {
	const char *name;	/* upper case */
	enum verb_kind kind;
	enum verb_check check;
	enum verb_next next;
	enum pkind reply;	/* what its reply means (pending.h) */
};

/* What command.c does with one complete command line. */
enum verb_do {
	VERB_DO_FORWARD = 0,	/* forward it; its reply means ${reply} */
	VERB_DO_BDAT,		/* check the BDAT count, then forward */
	VERB_DO_TLS,		/* the shim's own STARTTLS (terminate) */
	VERB_DO_TLS_ACTIVE,	/* STARTTLS inside the shim's TLS: 503 */
	VERB_DO_REJECT,		/* not permitted: 502 (command-other) */
	VERB_DO_MASK		/* not permitted: forwarded as X's */
};

/* What the session knows that decides a line's fate. */
struct verb_ctx {
	const struct config_shim *cfg;	/* starttls, command-other, commands */
	int	terminate;	/* the shim has a TLS context for the client */
	int	tls_on;		/* ... and the client side is TLS already */
	int	monitor;	/* mode = monitor: log, never refuse */
};

struct verb_plan {
	enum verb_do what;
	enum pkind reply;	/* VERB_DO_FORWARD, _BDAT: what its reply means */
	int	hold;		/* read nothing more until that reply */
	int	quit;		/* QUIT goes upstream */
	enum verb_do policy;	/* _REJECT or _MASK: logged as refused
				 * (in monitor mode too); else _FORWARD */
};

/**
 * verb_lookup(verb): the row of ${verb} (upper case, as smtpframe_cmd()
 * gives it), or NULL for a verb the shim does not know, which is framed
 * as VERB_NEXT_REPLY.
 */
const struct verb *verb_lookup(const char *verb);

/** verb_next(v): what the MTA reads after the verb ${v} (NULL: unknown). */
enum verb_next verb_next(const struct verb *v);

/**
 * verb_plan(verb, ctx, plan): what to do with a command line whose verb
 * is ${verb} (smtpframe_cmd()'s, upper case; NULL when the line is not a
 * command at all): the permitted commands (commands, starttls = strip),
 * command-other, monitor mode and the row of the verb.
 */
void	verb_plan(const char *verb, const struct verb_ctx *ctx,
	    struct verb_plan *plan);

#endif /* VERB_H */
