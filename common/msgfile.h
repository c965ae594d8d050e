/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msgfile.h - a message file read as Postfix hands it to a milter.
 *
 * milter -t (SPEC 9) feeds a message file to the daemon's own callbacks;
 * this is what those callbacks would receive from a Postfix 3.7 with its
 * default settings for the same message sent over SMTP (a line that
 * starts with "." doubled by the client, CRLF sent after a last line
 * without LF): the top-level header fields one by one, name and value
 * split at the colon, white space before the colon dropped, continuation
 * lines joined with a bare LF, fields longer than MSGFILE_HEADER_LIMIT
 * cut, a UNIX From_ first line turned into X-Mailbox-Line:; the fields of
 * message_drop_headers marked (Postfix removes them before milters see
 * them); the body with every line ended by CRLF, its MIME part headers
 * (multipart parts, the header of a message/rfc822 body) rewritten as
 * cleanup(8) writes them: white space before the colon dropped, a line
 * cut at a NUL, a field cut at MSGFILE_HEADER_LIMIT.  The header ends at
 * an empty line, or at the first line that is neither a field nor a
 * continuation (that line is then the first body line).  Input lines end
 * in LF or CRLF; a last line without one counts as a line.  CRs before
 * the LF go with the line end, except one that ends one of Postfix's
 * MSGFILE_LINE_LIMIT-octet reads of a longer line; every other CR
 * reaches the milter as a space.  Also what Postfix refuses before a
 * milter sees the header: a message over MSGFILE_SIZE_LIMIT, or with
 * MSGFILE_HOP_LIMIT Received: fields (its own included).
 *
 * Pure: no libmilter, no I/O.  Untrusted input of any octets, NUL
 * included, with an explicit length, whole or in pieces of any size;
 * memory never grows much past MSGFILE_SIZE_LIMIT whatever the input.
 */
#ifndef MSGFILE_H
#define MSGFILE_H

#include <stddef.h>

/* Postfix's defaults for the limits that shape what a milter sees. */
#define MSGFILE_LINE_LIMIT	2048	/* line_length_limit: SMTP record size */
/* header_size_limit (102400), lowered by cleanup(8) to 60000 when milters
 * are on, so that a field fits libmilter's 65535-octet packets. */
#define MSGFILE_HEADER_LIMIT	60000
#define MSGFILE_SIZE_LIMIT	10240000	/* message_size_limit */
#define MSGFILE_HOP_LIMIT	50	/* hopcount_limit, Postfix's Received: included */
#define MSGFILE_MIME_DEPTH	100	/* mime_nesting_limit */
#define MSGFILE_BOUNDARY_LIMIT	2048	/* mime_boundary_length_limit */

/* Postfix's replies when it refuses a message before milters see it. */
#define MSGFILE_TOO_BIG		"552 5.3.4 Error: message file too big"
#define MSGFILE_TOO_MANY_HOPS	"554 5.4.0 Error: too many hops"

/* One top-level header field. */
struct msgfile_field {
	char   *name;			/* NUL-terminated; no white space before the colon */
	size_t	namelen;
	char   *value;			/* NUL-terminated: all after the colon, leading
					 * white space included, lines joined with "\n" */
	size_t	valuelen;
	int	dropped;		/* removed by Postfix before milters see it */
};

struct msgfile {
	struct msgfile_field *field;	/* in message order, dropped ones included */
	size_t	nfield;
	char   *body;			/* the body as the milter gets it, CRLF lines */
	size_t	bodylen;
	/*
	 * NULL, or the reply with which Postfix refuses the message before a
	 * milter sees its header (MSGFILE_TOO_BIG: then the fields and body
	 * are those of the first MSGFILE_SIZE_LIMIT octets only;
	 * MSGFILE_TOO_MANY_HOPS).
	 */
	const char *refused;
};

/* The envelope a message implies (milter -t without -s and -r). */
struct msgfile_env {
	char   *sender;			/* without <>; "" for the null sender */
	char  **rcpt;			/* without <>; nrcpt of them */
	size_t	nrcpt;
};

/* A message being read in pieces. */
struct msgfile_reader;

/**
 * msgfile_open(): a reader for one message, to be given its octets with
 * msgfile_feed() and ended with msgfile_close().  NULL without memory.
 */
struct msgfile_reader *msgfile_open(void);

/**
 * msgfile_feed(r, buf, len): the next ${len} octets of the message to ${r}.
 * Returns NULL, or an error message (no memory; ${r} must then only be
 * closed).  Once msgfile_full(${r}), input is read no further.
 */
const char *msgfile_feed(struct msgfile_reader *r, const char *buf, size_t len);

/**
 * msgfile_full(r): 1 if the message of ${r} is over MSGFILE_SIZE_LIMIT,
 * so that no more input can change what msgfile_close() gives.
 */
int	msgfile_full(const struct msgfile_reader *r);

/**
 * msgfile_close(r, m): end the message of ${r} (NULL is fine), free ${r},
 * and put the message into ${m} (msgfile.h says how).  Returns NULL, or
 * an error message (no memory, also from an earlier msgfile_feed()) with
 * ${m} left empty.  ${m} does not point into any input.
 */
const char *msgfile_close(struct msgfile_reader *r, struct msgfile *m);

/**
 * msgfile_parse(m, buf, len): read the message ${buf} of ${len} octets
 * into ${m}: msgfile_open(), msgfile_feed() and msgfile_close() at once.
 * Returns NULL, or an error message (no memory) with ${m} left empty.
 */
const char *msgfile_parse(struct msgfile *m, const char *buf, size_t len);

/** msgfile_free(m): free what msgfile_close() put in ${m}; an empty ${m} is fine. */
void	msgfile_free(struct msgfile *m);

/**
 * msgfile_envelope(m, env): the envelope ${m} implies, into ${env}: the
 * sender from the first Return-Path: field with an address (a null
 * path "<>" too), else the first address of the first From: field, else
 * the null sender; the recipients are every address of every To: and Cc:
 * field, in order, each once (compared case-insensitively).  Display
 * names, groups and comments are read as RFC 5322 has them (addr_list()).
 * Returns NULL, or an error message (no memory) with ${env} empty.
 */
const char *msgfile_envelope(const struct msgfile *m, struct msgfile_env *env);

/** msgfile_env_free(env): free what msgfile_envelope() put in ${env}; an empty ${env} is fine. */
void	msgfile_env_free(struct msgfile_env *env);

#endif /* MSGFILE_H */
