/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * smtpframe.h - SMTP framing for the shim (SPEC 5.3, 5.5, 5.6): the
 * client->server command framer (command lines, DATA content, BDAT
 * chunks), the server->client reply parser and the verb splitter.
 *
 * No sockets: bytes go in, events come out.  Memory is bounded: a
 * command line is buffered up to the limit only, in a buffer that grows
 * on demand and is given back between lines (an idle session holds at
 * most SMTPFRAME_BUF_MIN octets), DATA and BDAT content is never
 * buffered (events point into the caller's input), a reply is buffered
 * up to SMTPFRAME_REPLY_MAX octets.  Results do not depend on how the
 * input is split into chunks: the state the DATA end and the ambiguous
 * end of DATA depend on (the previous octet a CR, where the line began,
 * the dot and the CRs after it) is carried between calls.
 */
#ifndef SMTPFRAME_H
#define SMTPFRAME_H

#include <stddef.h>

/* Framer modes. */
enum smtpframe_mode {
	SMTPFRAME_CMD = 0,	/* command lines */
	SMTPFRAME_DATA,		/* DATA content up to CRLF.CRLF */
	SMTPFRAME_BDAT		/* exactly N octets of a BDAT chunk */
};

/* What smtpframe_feed() found. */
enum smtpframe_event {
	SMTPFRAME_NEED = 0,	/* all input consumed, nothing complete */
	SMTPFRAME_LINE,		/* a complete command line in ev->data */
	SMTPFRAME_TOOLONG,	/* a line over the limit ended; discarded */
	SMTPFRAME_CONTENT,	/* DATA/BDAT octets to relay, in ev->data */
	SMTPFRAME_NOMEM		/* the line buffer could not grow */
};

struct smtpframe_ev {
	enum smtpframe_event type;
	const unsigned char *data;	/* LINE: the line; CONTENT: into the input */
	size_t	len;		/* LINE/CONTENT: octets; TOOLONG: full length */
	unsigned bare;		/* bare LF or bare CR seen (count) */
	int	end;		/* CONTENT: these octets end the DATA/BDAT */
	int	ambiguous;	/* CONTENT: an end of DATA for a bare-LF reader */
};

/* The line buffer starts this small; idle sessions keep no more. */
#define SMTPFRAME_BUF_MIN	256

struct smtpframe {
	size_t	limit;		/* longest command line, CRLF included */
	enum smtpframe_mode mode;
	unsigned char *buf;	/* cap octets, NULL while cap is 0 */
	size_t	cap;		/* grows by doubling up to limit */
	void   *(*grow)(void *, size_t);	/* realloc(3); tests fake failure */
	size_t	len;		/* octets of the line in buf */
	size_t	full;		/* octets of the line seen, discarded ones too */
	unsigned bare;		/* bare LF/CR in the current line */
	int	cr;		/* the previous octet was a CR */
	int	dstate;		/* DATA end matcher state */
	unsigned long long left;	/* BDAT octets still to pass */
};

/**
 * smtpframe_new(limit): a framer in command mode for lines of at most
 * ${limit} octets, CRLF included (at least 6); the line buffer is
 * allocated on the first octet of a line and grows as the line does.
 * Returns NULL on error.
 */
struct smtpframe *smtpframe_new(size_t limit);

/** smtpframe_free(f): release ${f}; NULL is a no-op. */
void	smtpframe_free(struct smtpframe *f);

/**
 * smtpframe_feed(f, in, inlen, ev): consume octets of ${in} (${inlen})
 * until one event is complete or the input is used up; describe it in
 * ${ev}.  Returns the number of octets consumed; call again with the rest.
 * A command line ends at LF; a LF without CR before it, or a CR not
 * followed by LF, counts in ev->bare.  A line longer than the limit is
 * not buffered beyond it: it is discarded up to its LF and reported as
 * SMTPFRAME_TOOLONG with its full length.  The data of a LINE event stays
 * valid until the next call on ${f}.  When the line buffer cannot grow the
 * event is SMTPFRAME_NOMEM and the return value counts only the octets
 * before the one that could not be stored (it may be 0); nothing else
 * changed, so the caller ends the session (or retries later).  In DATA
 * mode content ends with the LF of CRLF.CRLF (the mode returns to CMD,
 * ev->end set).  A line of "." and zero or more CRs that begins at the
 * start of the content or after any LF and ends at a LF, other than that
 * exact CRLF "." CRLF, ends the message for an MTA reading bare-LF lines
 * (Postfix 3.7, smtpd_forbid_bare_newline = no) but not for us: the
 * content before its LF comes as SMTPFRAME_CONTENT with ev->ambiguous set
 * (safe to relay: without that LF no such reader has seen an end), the LF
 * is consumed (counted in the return value, not in ev->len) and the framer
 * stays in DATA mode; the caller drops the connection.  ev->ambiguous is
 * 0 on every other event.  Both ends are found octet by octet from state
 * carried between calls, so they do not depend on how ${in} is split.  In
 * BDAT mode exactly the announced octets pass, unchecked.
 */
size_t	smtpframe_feed(struct smtpframe *f, const unsigned char *in,
	    size_t inlen, struct smtpframe_ev *ev);

/**
 * smtpframe_data(f): switch to DATA mode (after the 354 reply); the
 * content starts at the beginning of a line.  A line buffer grown past
 * SMTPFRAME_BUF_MIN is released.  Returns -1 when a command line is
 * partly buffered (pipelined past DATA), else 0.
 */
int	smtpframe_data(struct smtpframe *f);

/**
 * smtpframe_bdat(f, n): switch to BDAT mode for the next ${n} octets;
 * ${n} == 0 leaves the framer in command mode.  A line buffer grown past
 * SMTPFRAME_BUF_MIN is released.  Returns -1 when a command line is
 * partly buffered, else 0.
 */
int	smtpframe_bdat(struct smtpframe *f, unsigned long long n);

#define SMTPFRAME_REPLY_LINE_MAX	1024	/* octets, CRLF included */
#define SMTPFRAME_REPLY_LINES		100
#define SMTPFRAME_REPLY_MAX		16384	/* octets of one reply */

/*
 * A reply is parsed into an inline buffer of SMTPFRAME_REPLY_MAX octets,
 * so the shim allocates one per session only while a reply is in
 * progress, never for the session's lifetime: idle sessions stay small.
 */
struct smtpframe_reply {
	int	code;		/* 100..599 once complete */
	unsigned nlines;	/* lines of the reply */
	int	done;		/* the reply is complete */
	const char *err;	/* sticky parse error */
	size_t	len;		/* octets in buf */
	size_t	cur;		/* start of the line in progress */
	size_t	line[SMTPFRAME_REPLY_LINES + 1];	/* line offsets; line[nlines] = len */
	unsigned char buf[SMTPFRAME_REPLY_MAX];
};

/** smtpframe_reply_init(r): start parsing a reply stream with ${r}. */
void	smtpframe_reply_init(struct smtpframe_reply *r);

/**
 * smtpframe_reply_feed(r, in, inlen, used): consume octets of ${in}
 * (${inlen}) until one reply is complete (r->done, then r->code, r->nlines,
 * r->line[], r->buf hold it, raw bytes as received) or the input is used
 * up; stores the octets consumed in ${used}.  The next call starts a new
 * reply.  Returns NULL, or an error (line over SMTPFRAME_REPLY_LINE_MAX,
 * more than SMTPFRAME_REPLY_LINES lines, no 3-digit code, code changing
 * within a reply) that stays until smtpframe_reply_init().
 */
const char *smtpframe_reply_feed(struct smtpframe_reply *r,
	    const unsigned char *in, size_t inlen, size_t *used);

#define SMTPFRAME_VERB_MAX	16	/* verb buffer size, NUL included */

/* A command line split as the MTA splits it (smtpframe_cmd()). */
struct smtpframe_cmd {
	char	verb[SMTPFRAME_VERB_MAX];	/* upper case; "" on an error */
	const unsigned char *word;	/* the verb as received, for the log */
	size_t	wordlen;
	const unsigned char *arg;	/* after the white space behind it */
	size_t	arglen;
};

/**
 * smtpframe_cmd(line, len, cmd): split the command ${line} (${len}
 * octets, terminator included or not) as Postfix's smtpd reads it: the
 * LF and every CR before it go, the command ends at its first NUL, and
 * words are separated by white space (space, tab, CR, LF, VT, FF); the
 * first word is the verb.  Fills ${cmd}: the verb upper-cased, where it
 * stands in ${line}, and the argument (the rest after the white space
 * that follows the verb).  Returns NULL, or an error for a line without a
 * verb or a verb that is shorter than 4 characters, longer than the
 * buffer or not all letters (such a command counts as unknown, SPEC 5.3;
 * no MTA has such a verb, so the MTA reads the line as an unknown
 * command too).
 */
const char *smtpframe_cmd(const unsigned char *line, size_t len,
	    struct smtpframe_cmd *cmd);

#define SMTPFRAME_BDAT_DIGITS	18	/* SPEC 5.6: 1*18DIGIT */

/**
 * smtpframe_bdat_arg(line, len, size, last): the BDAT command ${line}
 * (${len} octets) read strictly (SPEC 5.6): exactly `BDAT' SP 1*18DIGIT
 * [SP `LAST'] CRLF, the words in any case, nothing else.  Stores the
 * chunk size in ${size} and whether LAST was given in ${last}.  Returns
 * NULL, or what is wrong: a line any MTA might read with another size, or
 * not as BDAT, is never forwarded.
 */
const char *smtpframe_bdat_arg(const unsigned char *line, size_t len,
	    unsigned long long *size, int *last);

#endif /* SMTPFRAME_H */
