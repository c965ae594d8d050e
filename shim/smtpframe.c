/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * smtpframe.c - SMTP framing for the shim (SPEC 5.3, 5.5, 5.6).
 *
 * Interface: smtpframe_new/feed/data/bdat/free frame the client->server
 * stream; smtpframe_reply_init/feed parse the server->client stream;
 * smtpframe_cmd splits a command line as the MTA does and
 * smtpframe_bdat_arg reads a BDAT line strictly.
 *
 * Invariants: the framer holds at most `limit' octets of a command line,
 * in a buffer that grows by doubling only as a line needs it and shrinks
 * back between lines, and nothing of DATA/BDAT content; every decision is
 * made octet by octet from state carried between calls (the previous
 * octet a CR, where the DATA line began and how far it matches "." CR*,
 * octets left of a BDAT chunk), so the events do not depend on how the
 * input was split.  A line or content ends only at LF; bare LF and bare
 * CR are counted, never taken as line ends for the DATA end (no
 * <LF>.<LF> smuggling).  Because Postfix 3.7 still takes any LF as a line
 * end and strips every CR before it, a "." line such a reader would end
 * DATA at while we do not is reported as ambiguous before its LF is
 * relayed, so the two readings never diverge downstream.  The reply
 * parser never writes beyond its fixed buffer; an error is sticky.
 */
#include <stdlib.h>
#include <string.h>

#include "smtpframe.h"

/*
 * DATA end matcher.  A line starts clean (content start or after CRLF) or
 * bare (after a lone LF); only a clean "." CR LF is our end.  Every other
 * "." CR* LF line is the ambiguous end Postfix would also take.
 */
enum {
	D_BOL = 0,	/* clean line start */
	D_BOLBARE,	/* line start after a bare LF */
	D_MID,		/* anything else: no end on this line */
	D_DOT,		/* clean "." */
	D_DOTCR,	/* clean "." CR: our end if LF follows */
	D_DOTAMB	/* bare "." CR*, or clean "." CR CR+ */
};

/**
 * smtpframe_new(limit): a framer in command mode for lines of at most
 * ${limit} octets, CRLF included (at least 6); the line buffer is
 * allocated on the first octet of a line and grows as the line does.
 * Returns NULL on error.
 */
struct smtpframe *
smtpframe_new(size_t limit)
{
	struct smtpframe *f;

	if (limit < 6)
		return (NULL);
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (NULL);
	/* No buffer yet: a session that never sends a command costs none. */
	f->limit = limit;
	f->grow = realloc;
	f->mode = SMTPFRAME_CMD;
	return (f);
}

/** smtpframe_free(f): release ${f}; NULL is a no-op. */
void
smtpframe_free(struct smtpframe *f)
{
	if (f == NULL)
		return;
	free(f->buf);
	free(f);
}

static void
line_reset(struct smtpframe *f)
{
	f->len = 0;
	f->full = 0;
	f->bare = 0;
	f->cr = 0;
}

/*
 * Between lines: give back a buffer one long line grew, so that a session
 * which once sent a 12 KiB AUTH line does not keep it while idle.
 */
static void
buf_shrink(struct smtpframe *f)
{
	if (f->len != 0 || f->cap <= SMTPFRAME_BUF_MIN)
		return;
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
}

/* Room for one more octet in buf; -1 when the allocation failed. */
static int
buf_grow(struct smtpframe *f)
{
	unsigned char *nb;
	size_t	ncap;

	if (f->len < f->cap)
		return (0);
	ncap = f->cap == 0 ? SMTPFRAME_BUF_MIN : f->cap * 2;
	if (ncap > f->limit || ncap < f->cap)
		ncap = f->limit;
	if ((nb = f->grow(f->buf, ncap)) == NULL)
		return (-1);
	f->buf = nb;
	f->cap = ncap;
	return (0);
}

static size_t
feed_cmd(struct smtpframe *f, const unsigned char *in, size_t inlen,
    struct smtpframe_ev *ev)
{
	size_t	i;
	unsigned char c;
	int	was_cr;

	for (i = 0; i < inlen; i++) {
		c = in[i];
		/* Grow first, so a failure leaves the octet unseen. */
		if (f->full < f->limit && buf_grow(f) < 0) {
			ev->type = SMTPFRAME_NOMEM;
			return (i);
		}
		was_cr = f->cr;
		f->cr = (c == '\r');
		if ((was_cr && c != '\n') || (c == '\n' && !was_cr))
			f->bare++;
		/* Beyond the limit octets are counted, not kept. */
		if (f->full < f->limit)
			f->buf[f->len++] = c;
		f->full++;
		if (c != '\n')
			continue;
		ev->bare = f->bare;
		if (f->full > f->limit) {
			ev->type = SMTPFRAME_TOOLONG;
			ev->data = NULL;
			ev->len = f->full;
		} else {
			ev->type = SMTPFRAME_LINE;
			ev->data = f->buf;
			ev->len = f->len;
		}
		line_reset(f);
		return (i + 1);
	}
	return (inlen);
}

static size_t
feed_data(struct smtpframe *f, const unsigned char *in, size_t inlen,
    struct smtpframe_ev *ev)
{
	size_t	i;
	unsigned char c;
	int	was_cr;

	ev->type = SMTPFRAME_CONTENT;
	ev->data = in;
	ev->bare = 0;
	for (i = 0; i < inlen; i++) {
		/*
		 * Inside a line with no CR pending only a CR or a LF can
		 * change the state or the count: skip to the first of them
		 * with memchr(), many times faster than this loop on a body.
		 */
		if (f->dstate == D_MID && !f->cr) {
			const unsigned char *lf, *cr;
			size_t	end;

			lf = memchr(in + i, '\n', inlen - i);
			end = lf != NULL ? (size_t)(lf - in) : inlen;
			if ((cr = memchr(in + i, '\r', end - i)) != NULL)
				end = (size_t)(cr - in);
			if ((i = end) == inlen)
				break;
		}
		c = in[i];
		was_cr = f->cr;
		f->cr = (c == '\r');
		if ((was_cr && c != '\n') || (c == '\n' && !was_cr))
			ev->bare++;
		if (c == '\n') {
			if (f->dstate == D_DOTCR) {
				ev->len = i + 1;
				ev->end = 1;
				f->mode = SMTPFRAME_CMD;
				line_reset(f);
				return (i + 1);
			}
			if (f->dstate == D_DOT || f->dstate == D_DOTAMB) {
				/* Stop before the LF: only it makes the end. */
				ev->len = i;
				ev->ambiguous = 1;
				f->dstate = was_cr ? D_BOL : D_BOLBARE;
				return (i + 1);
			}
			f->dstate = was_cr ? D_BOL : D_BOLBARE;
		} else if (c == '.' && f->dstate == D_BOL)
			f->dstate = D_DOT;
		else if (c == '.' && f->dstate == D_BOLBARE)
			f->dstate = D_DOTAMB;
		else if (c == '\r' && f->dstate == D_DOT)
			f->dstate = D_DOTCR;
		else if (c == '\r' && (f->dstate == D_DOTCR ||
		    f->dstate == D_DOTAMB))
			f->dstate = D_DOTAMB;
		else
			f->dstate = D_MID;
	}
	ev->len = inlen;
	return (inlen);
}

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
size_t
smtpframe_feed(struct smtpframe *f, const unsigned char *in, size_t inlen,
    struct smtpframe_ev *ev)
{
	size_t	n;

	memset(ev, 0, sizeof(*ev));
	ev->type = SMTPFRAME_NEED;
	/* The previous LINE's data is no longer needed. */
	buf_shrink(f);
	if (inlen == 0)
		return (0);
	switch (f->mode) {
	case SMTPFRAME_DATA:
		return (feed_data(f, in, inlen, ev));
	case SMTPFRAME_BDAT:
		n = f->left < inlen ? (size_t)f->left : inlen;
		f->left -= n;
		ev->type = SMTPFRAME_CONTENT;
		ev->data = in;
		ev->len = n;
		if (f->left == 0) {
			ev->end = 1;
			f->mode = SMTPFRAME_CMD;
			line_reset(f);
		}
		return (n);
	case SMTPFRAME_CMD:
	default:
		return (feed_cmd(f, in, inlen, ev));
	}
}

/**
 * smtpframe_data(f): switch to DATA mode (after the 354 reply); the
 * content starts at the beginning of a line.  A line buffer grown past
 * SMTPFRAME_BUF_MIN is released.  Returns -1 when a command line is
 * partly buffered (pipelined past DATA), else 0.
 */
int
smtpframe_data(struct smtpframe *f)
{
	if (f->full != 0)
		return (-1);
	line_reset(f);
	buf_shrink(f);
	f->mode = SMTPFRAME_DATA;
	f->dstate = D_BOL;
	return (0);
}

/**
 * smtpframe_bdat(f, n): switch to BDAT mode for the next ${n} octets;
 * ${n} == 0 leaves the framer in command mode.  A line buffer grown past
 * SMTPFRAME_BUF_MIN is released.  Returns -1 when a command line is
 * partly buffered, else 0.
 */
int
smtpframe_bdat(struct smtpframe *f, unsigned long long n)
{
	if (f->full != 0)
		return (-1);
	line_reset(f);
	buf_shrink(f);
	f->left = n;
	f->mode = n ? SMTPFRAME_BDAT : SMTPFRAME_CMD;
	return (0);
}

/** smtpframe_reply_init(r): start parsing a reply stream with ${r}. */
void
smtpframe_reply_init(struct smtpframe_reply *r)
{
	r->code = 0;
	r->nlines = 0;
	r->done = 0;
	r->err = NULL;
	r->len = 0;
	r->cur = 0;
	r->line[0] = 0;
}

/* A complete line buf[cur..len): check it, record it; 1: last line. */
static int
reply_line(struct smtpframe_reply *r)
{
	const unsigned char *p = r->buf + r->cur;
	size_t	n = r->len - r->cur;
	int	code;

	if (n < 4 || p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9' ||
	    (p[3] != ' ' && p[3] != '-' && p[3] != '\r' && p[3] != '\n')) {
		r->err = "reply line without a reply code";
		return (-1);
	}
	code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (r->nlines > 0 && code != r->code) {
		r->err = "reply code changes within a reply";
		return (-1);
	}
	if (r->nlines >= SMTPFRAME_REPLY_LINES) {
		r->err = "too many reply lines";
		return (-1);
	}
	r->code = code;
	r->line[r->nlines++] = r->cur;
	r->line[r->nlines] = r->len;
	r->cur = r->len;
	return (p[3] != '-');
}

/**
 * smtpframe_reply_feed(r, in, inlen, used): consume octets of ${in}
 * (${inlen}) until one reply is complete (r->done, then r->code, r->nlines,
 * r->line[], r->buf hold it, raw bytes as received) or the input is used
 * up; stores the octets consumed in ${used}.  The next call starts a new
 * reply.  Returns NULL, or an error (line over SMTPFRAME_REPLY_LINE_MAX,
 * more than SMTPFRAME_REPLY_LINES lines, no 3-digit code, code changing
 * within a reply) that stays until smtpframe_reply_init().
 */
const char *
smtpframe_reply_feed(struct smtpframe_reply *r, const unsigned char *in,
    size_t inlen, size_t *used)
{
	size_t	i;
	int	last;

	*used = 0;
	if (r->err != NULL)
		return (r->err);
	if (r->done)
		smtpframe_reply_init(r);
	for (i = 0; i < inlen; i++) {
		if (r->len - r->cur >= SMTPFRAME_REPLY_LINE_MAX) {
			r->err = "reply line too long";
			break;
		}
		if (r->len >= SMTPFRAME_REPLY_MAX) {
			r->err = "reply too long";
			break;
		}
		r->buf[r->len++] = in[i];
		if (in[i] != '\n')
			continue;
		if ((last = reply_line(r)) < 0)
			break;
		if (last) {
			r->done = 1;
			*used = i + 1;
			return (NULL);
		}
	}
	*used = i;
	return (r->err);
}

static int
is_alpha(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
}

/* Postfix's ISSPACE() in the C locale, as smtpd_token() splits words. */
static int
is_space(unsigned char c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f');
}

static unsigned char
to_upper(unsigned char c)
{
	return (c >= 'a' && c <= 'z' ? (unsigned char)(c - ('a' - 'A')) : c);
}

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
const char *
smtpframe_cmd(const unsigned char *line, size_t len, struct smtpframe_cmd *cmd)
{
	const unsigned char *nul;
	size_t	i, n, end = len;
	const char *err = NULL;

	/* smtp_get(): the terminator and the CRs before it; a C string. */
	if (end > 0 && line[end - 1] == '\n')
		end--;
	while (end > 0 && line[end - 1] == '\r')
		end--;
	if ((nul = memchr(line, '\0', end)) != NULL)
		end = (size_t)(nul - line);
	for (i = 0; i < end && is_space(line[i]); i++)
		;
	for (n = 0; i + n < end && !is_space(line[i + n]); n++)
		if (err == NULL && !is_alpha(line[i + n]))
			err = "command verb not all letters";
	cmd->word = line + i;
	cmd->wordlen = n;
	cmd->verb[0] = '\0';
	if (err == NULL && n == 0)
		err = "no command verb";
	else if (err == NULL && n < 4)
		err = "command verb shorter than 4 characters";
	else if (err == NULL && n >= SMTPFRAME_VERB_MAX)
		err = "command verb too long";
	if (err == NULL) {
		for (n = 0; n < cmd->wordlen; n++)
			cmd->verb[n] = (char)to_upper(cmd->word[n]);
		cmd->verb[n] = '\0';
	}
	for (i += cmd->wordlen; i < end && is_space(line[i]); i++)
		;
	cmd->arg = line + i;
	cmd->arglen = end - i;
	return (err);
}

/* Does ${p} (${n} octets) hold ${word} (upper case) in any case? */
static int
word_is(const unsigned char *p, size_t n, const char *word)
{
	size_t	i;

	for (i = 0; i < n && word[i] != '\0'; i++)
		if (to_upper(p[i]) != (unsigned char)word[i])
			return (0);
	return (i == n && word[i] == '\0');
}

/**
 * smtpframe_bdat_arg(line, len, size, last): the BDAT command ${line}
 * (${len} octets) read strictly (SPEC 5.6): exactly `BDAT' SP 1*18DIGIT
 * [SP `LAST'] CRLF, the words in any case, nothing else.  Stores the
 * chunk size in ${size} and whether LAST was given in ${last}.  Returns
 * NULL, or what is wrong: a line any MTA might read with another size, or
 * not as BDAT, is never forwarded.
 */
const char *
smtpframe_bdat_arg(const unsigned char *line, size_t len,
    unsigned long long *size, int *last)
{
	unsigned long long n = 0;
	size_t	i, d;

	*size = 0;
	*last = 0;
	if (len < 2 || line[len - 2] != '\r' || line[len - 1] != '\n')
		return ("BDAT line not ended by CRLF");
	len -= 2;
	if (len < 5 || !word_is(line, 4, "BDAT") || line[4] != ' ')
		return ("not BDAT SP count");
	/*
	 * No sign, no other white space, no more than 18 digits: Postfix's
	 * off_cvt_string() reads 22 digits with leading zeros, strtoull()
	 * a sign and leading blanks, and what overflows differs by MTA.
	 */
	for (i = 5, d = 0; i < len && line[i] >= '0' && line[i] <= '9'; i++)
		if (++d > SMTPFRAME_BDAT_DIGITS)
			return ("BDAT count longer than 18 digits");
		else
			n = n * 10 + (unsigned long long)(line[i] - '0');
	if (d == 0)
		return ("BDAT count not a number");
	if (i < len) {
		if (line[i] != ' ' || !word_is(line + i + 1, len - i - 1, "LAST"))
			return ("BDAT count not followed by SP LAST or CRLF");
		*last = 1;
	}
	*size = n;
	return (NULL);
}
