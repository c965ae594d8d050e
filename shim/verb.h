/*
 * verb.h - the shim's table of SMTP verbs (SPEC 5.3, 5.6): for each verb
 * it knows, what the MTA reads after it, so that the shim frames the
 * octets after a forwarded command exactly as the MTA will.
 *
 * Pure data and a lookup: no sockets, no state.  A verb that is not in
 * the table is unknown: the shim reads nothing after it until the MTA
 * has answered (VERB_NEXT_REPLY), so an MTA that knows more verbs than
 * the shim cannot read the next octets differently.
 */
#ifndef VERB_H
#define VERB_H

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

struct verb {
	const char *name;	/* upper case */
	enum verb_kind kind;
	enum verb_next next;
};

/**
 * verb_lookup(verb): the row of ${verb} (upper case, as smtpframe_cmd()
 * gives it), or NULL for a verb the shim does not know, which is framed
 * as VERB_NEXT_REPLY.
 */
const struct verb *verb_lookup(const char *verb);

/** verb_next(v): what the MTA reads after the verb ${v} (NULL: unknown). */
enum verb_next verb_next(const struct verb *v);

#endif /* VERB_H */
