/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msgfile.c - a message file read as Postfix hands it to a milter.
 *
 * Interface: msgfile_open(), msgfile_feed(), msgfile_full() and
 * msgfile_close(), or msgfile_parse() at once; msgfile_free();
 * msgfile_envelope() and msgfile_env_free().  See msgfile.h for what a
 * milter sees.
 *
 * Postfix 3.7 handles a message in three steps, each mirrored here on
 * the records it passes along (a record is a line, or a piece of
 * MSGFILE_LINE_LIMIT octets of a longer one, "cont" when more follows):
 *   smtpd(8)   cuts lines into records as smtp_get() reads them from
 *              the client (msgfile_octet()), turns UNIX From_ lines at
 *              the very start into X-Mailbox-Line: fields, puts an empty
 *              record before a first line that starts with white space
 *              (so that it cannot continue smtpd's own Received: field),
 *              and passes nothing on once the records' octets, 2 more
 *              each, pass MSGFILE_SIZE_LIMIT (msgfile_smtpd());
 *   cleanup(8) makes each CR left in a record a space, counts the
 *              Received: fields of the message header (MSGFILE_HOP_LIMIT,
 *              its own included), and reads the records with mime_state(3)
 *              (msgfile_update(), a port of mime_state_update() as far as
 *              it changes what a milter gets): header blocks are the
 *              message header, each
 *              multipart part header and each header that starts a
 *              message/rfc822 or message/global body; boundaries are
 *              followed as it follows them (by prefix, innermost first,
 *              MSGFILE_MIME_DEPTH deep).  In a header block a field is a
 *              line that is_header() accepts, continued by lines starting
 *              with space or tab, joined with "\n", white space before the
 *              colon dropped, each record cut at a NUL, nothing appended
 *              once MSGFILE_HEADER_LIMIT is reached; the first other line
 *              ends the block (after an empty line put before it, in the
 *              message header only).  Each field is written out line by
 *              line, cut at the header limit (at the last line boundary
 *              when that keeps 90% of it, else at the limit itself): a
 *              message header field to the header, but the fields of
 *              message_drop_headers; a part header field to the body;
 *   milter8    sends each message header field as name and value, and the
 *              body without its first line (the empty line that ends the
 *              header), every record followed by CRLF unless continued.
 * Postfix's own Received: field is never shown to milters, and
 * local_header_rewrite_clients (address rewriting, missing Date:,
 * Message-Id:, From:, To: added) is not applied: the defaults for a
 * remote client.
 *
 * Invariants: nothing reads outside the input given; the input is not
 * kept, and nothing is stored once the size limit is passed; every
 * allocation is checked and freed by msgfile_close(), msgfile_free() or
 * msgfile_env_free().
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "msgfile.h"

static const char msgfile_nomem[] = "out of memory";

/* message_drop_headers' default: removed before milters see the header. */
static const char *const msgfile_drop[] = {
	"bcc", "content-length", "resent-bcc", "return-path",
};

/* A growing buffer. */
struct msgfile_buf {
	char   *p;
	size_t	len;
	size_t	size;
};

/*
 * The array ${p} of ${n} elements of ${size} octets with room for one
 * more (it grows at ${first} elements and at each power of two above), or
 * NULL without memory (${p} is then still valid).
 */
static void *
msgfile_room(void *p, size_t n, size_t size, size_t first)
{
	if (n != 0 && (n < first || (n & (n - 1)) != 0))
		return (p);
	return (realloc(p, (n == 0 ? first : n * 2) * size));
}

static int
buf_add(struct msgfile_buf *b, const char *s, size_t n)
{
	size_t	want;
	char   *np;

	if (b->len + n + 1 > b->size) {
		want = b->size > 0 ? b->size : 256;
		while (want < b->len + n + 1)
			want *= 2;
		if ((np = realloc(b->p, want)) == NULL)
			return (-1);
		b->p = np;
		b->size = want;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return (0);
}

/*
 * Postfix's is_header_buf(): the length of the field name that starts
 * ${s} (printable ASCII up to white space or the colon, white space then
 * only up to the colon), or 0 if ${s} does not start a field.
 */
static size_t
msgfile_is_header(const char *s, size_t len)
{
	size_t	i, n = 0;
	int	space = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ':')
			return (n);
		if (c == ' ' || c == '\t') {
			if (n == 0)
				return (0);
			space = 1;
			continue;
		}
		if (c == 0 || c >= 0x80 || c < 0x20 || c == 0x7f || space)
			return (0);
		n++;
	}
	return (0);
}

/* 1 if the field name ${name} of ${len} octets is ${want} (lower case). */
static int
msgfile_name_is(const char *name, size_t len, const char *want)
{
	return (strlen(want) == len && strncasecmp(want, name, len) == 0);
}

/* 1 if the field name ${name} is one that Postfix drops. */
static int
msgfile_dropped(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(msgfile_drop) / sizeof(msgfile_drop[0]); i++)
		if (msgfile_name_is(name, len, msgfile_drop[i]))
			return (1);
	return (0);
}

/*
 * cleanup_out_header(): the field ${f} of ${len} octets (no NUL in it) as
 * written to the queue file, into ${out}: line by line, cut at
 * MSGFILE_HEADER_LIMIT.
 */
static int
msgfile_cut(const char *f, size_t len, struct msgfile_buf *out)
{
	const char *nl;
	size_t	pos = 0, linelen;
	int	last = 0;

	out->len = 0;
	while (!last) {
		if ((nl = memchr(f + pos, '\n', len - pos)) != NULL)
			linelen = (size_t)(nl - (f + pos));
		else {
			linelen = len - pos;
			last = 1;
		}
		if (pos + linelen > MSGFILE_HEADER_LIMIT) {
			/* Nice cut: this line and the rest go. */
			if (pos * 10 > (size_t)MSGFILE_HEADER_LIMIT * 9)
				break;
			/* Unkind cut: the field ends at the limit. */
			linelen = MSGFILE_HEADER_LIMIT - pos;
			last = 1;
		}
		if ((pos > 0 && buf_add(out, "\n", 1) != 0) ||
		    buf_add(out, f + pos, linelen) != 0)
			return (-1);
		pos += linelen + 1;
	}
	return (0);
}

/* Add the field read into ${hb} (its name ${namelen} octets) to ${m}. */
static int
msgfile_field_out(struct msgfile *m, const struct msgfile_buf *hb,
    size_t namelen, struct msgfile_buf *tmp)
{
	struct msgfile_field *f;
	const char *text = hb->p;
	size_t	len = hb->len;
	char   *p;

	if ((f = msgfile_room(m->field, m->nfield, sizeof(*f), 8)) == NULL)
		return (-1);
	m->field = f;
	f = &m->field[m->nfield];
	memset(f, 0, sizeof(*f));
	f->dropped = msgfile_dropped(text, namelen);
	if (!f->dropped) {
		if (msgfile_cut(text, len, tmp) != 0)
			return (-1);
		text = tmp->p;
		len = tmp->len;
	}
	/* name NUL value NUL; the colon follows the name (is_header()). */
	if ((p = malloc(len + 1)) == NULL)
		return (-1);
	memcpy(p, text, len);
	p[len] = '\0';
	p[namelen] = '\0';
	f->name = p;
	f->namelen = namelen;
	f->value = p + namelen + 1;
	f->valuelen = len - namelen - 1;
	m->nfield++;
	return (0);
}

/** msgfile_free(m): free what msgfile_close() put in ${m}; an empty ${m} is fine. */
void
msgfile_free(struct msgfile *m)
{
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nfield; i++)
		free(m->field[i].name);
	free(m->field);
	free(m->body);
	memset(m, 0, sizeof(*m));
}

/*
 * cleanup(8)'s mime_state(3), as far as it changes what a milter gets:
 * which lines are header fields (of the message, of a multipart part, of
 * a message/rfc822 or message/global body) and which are body.  Its
 * states, the content types it tells apart, and record types (0: none).
 */
enum { MS_PRIMARY, MS_MULTIPART, MS_NESTED, MS_BODY };
enum { CT_OTHER, CT_TEXT, CT_MESSAGE, CT_MULTIPART };
enum { ST_OTHER, ST_PLAIN, ST_RFC822, ST_PARTIAL, ST_EXTERN_BODY, ST_GLOBAL };
enum { REC_NONE, REC_NORM, REC_CONT };

/* A multipart boundary on mime_state's stack, innermost first. */
struct msgfile_bound {
	int	def_ctype, def_stype;	/* of a part without Content-Type */
	char   *s;			/* at most MSGFILE_BOUNDARY_LIMIT octets */
	size_t	len;
	struct msgfile_bound *next;
};

/* header_token()'s tokens: a special is its own octet. */
#define TOK_TOKEN	256
#define TOK_QSTRING	257
#define TOK_MAX		3		/* MIME_MAX_TOKEN */
struct msgfile_tok {
	int	type;
	size_t	off;			/* in the token buffer, NUL-terminated */
};

/* A message being read. */
struct msgfile_reader {
	struct msgfile m;		/* the result */
	const char *err;		/* no memory (sticky) */
	/* smtpd(8): smtp_get() and the DATA loop */
	char	wire[MSGFILE_LINE_LIMIT];	/* the read in progress */
	size_t	wlen;
	int	bol;			/* the next octet starts a line */
	int	in_line;		/* a line started, its LF not yet read */
	int	cr_wait;		/* wire is full and ends in CR */
	int	smtpd_prev;		/* the previous record's type */
	int	first;			/* still at the message's first line */
	size_t	size;			/* octets counted against the limit */
	int	full;			/* MSGFILE_SIZE_LIMIT passed */
	struct msgfile_buf mbox;	/* an X-Mailbox-Line: record */
	/* cleanup(8): mime_state(3) */
	int	state, ctype, stype;
	int	prev;			/* the previous record's type */
	struct msgfile_buf hdr;		/* the field being read; "" none */
	size_t	namelen;
	int	hidden;			/* hdr is Postfix's own Received: */
	size_t	hops;			/* Received: fields, Postfix's included */
	struct msgfile_bound *stack;
	int	nesting;		/* depth of the stack - 1 */
	struct msgfile_buf tok;		/* header_token()'s buffer */
	struct msgfile_tok t[TOK_MAX];
	struct msgfile_buf out;		/* cleanup_out_header()'s */
	/* milter8 */
	int	body_seen;		/* the first body line is never shown */
	struct msgfile_buf body;
};

/*
 * milter8: body record ${s} of ${len} octets, continued if ${cont}, as
 * the milter gets it: CRLF after it unless it goes on; not the first one
 * (the empty line that ends the header, or the one cleanup put there).
 */
static int
msgfile_body_out(struct msgfile_reader *p, const char *s, size_t len, int cont)
{
	if (!p->body_seen) {
		p->body_seen = 1;
		return (0);
	}
	if (buf_add(&p->body, s, len) != 0)
		return (-1);
	return (cont ? 0 : buf_add(&p->body, "\r\n", 2));
}

#define TOK_LWSP(c)	((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')
#define TOK_CNTRL(c)	((c) < 0x20 || (c) == 0x7f)
#define TOK_SPECIAL(c)	((c) < 0x80 && strchr("()<>@,;:\\\"/[]?=", (c)) != NULL)

/*
 * header_token() with MIME_MAX_TOKEN tokens, RFC 2045 specials and ";"
 * as terminator: the next parameter of the NUL-terminated text at *${pp}
 * into ${p}->t (the first TOK_MAX tokens); *${pp} moves past it.  Returns
 * its number of tokens, -1 at the end, or -2 without memory.
 */
static long
msgfile_token(struct msgfile_reader *p, const char **pp)
{
	const unsigned char *cp = (const unsigned char *)*pp;
	long	n = 0;
	int	ch, level;

#define TOK_ADD(c)	do { char _c = (char)(c); \
	if (buf_add(&p->tok, &_c, 1) != 0) return (-2); } while (0)

	p->tok.len = 0;
	while ((ch = *cp) != 0) {
		cp++;
		if (TOK_LWSP(ch))
			continue;
		if (ch == ';')
			break;
		if (ch == '(') {			/* a comment; they nest */
			level = 1;
			while ((ch = *cp) != 0) {
				cp++;
				if (ch == '(')
					level++;
				else if (ch == ')') {
					if (--level == 0)
						break;
				} else if (ch == '\\') {
					if ((ch = *cp) == 0)
						break;
					cp++;
				}
			}
			continue;
		}
		if (ch == '"') {
			if (n < TOK_MAX) {
				p->t[n].off = p->tok.len;
				p->t[n].type = TOK_QSTRING;
			}
			while ((ch = *cp) != 0) {
				cp++;
				if (ch == '"')
					break;
				if (ch == '\n') {	/* unfold */
					if (n < TOK_MAX)
						while (p->tok.len > 0 &&
						    TOK_LWSP(p->tok.p[p->tok.len - 1]))
							p->tok.len--;
					continue;
				}
				if (ch == '\\') {
					if ((ch = *cp) == 0)
						break;
					cp++;
				}
				if (n < TOK_MAX)
					TOK_ADD(ch);
			}
			if (n < TOK_MAX) {
				TOK_ADD(0);
				n++;
			}
			continue;
		}
		if (TOK_SPECIAL(ch) || TOK_CNTRL(ch)) {
			if (n < TOK_MAX) {
				p->t[n].off = p->tok.len;
				p->t[n].type = ch;
				TOK_ADD(ch);
				TOK_ADD(0);
				n++;
			}
			continue;
		}
		if (n < TOK_MAX) {
			p->t[n].off = p->tok.len;
			p->t[n].type = TOK_TOKEN;
			TOK_ADD(ch);
		}
		while ((ch = *cp) != 0 && !TOK_LWSP(ch) && !TOK_CNTRL(ch) &&
		    !TOK_SPECIAL(ch)) {
			cp++;
			if (n < TOK_MAX)
				TOK_ADD(ch);
		}
		if (n < TOK_MAX) {
			TOK_ADD(0);
			n++;
		}
	}
#undef TOK_ADD
	if (n == 0 && ch == 0)
		return (-1);
	*pp = (const char *)cp;
	return (n);
}

/* Token ${i} of the last msgfile_token(). */
#define TOK_VALUE(p, i)		((p)->tok.p + (p)->t[i].off)
#define TOK_MATCH(p, i, s)	((p)->t[i].type == TOK_TOKEN && \
				strcasecmp(TOK_VALUE(p, i), (s)) == 0)

/* mime_state_push(): boundary ${b} onto the stack. */
static int
msgfile_push(struct msgfile_reader *p, int ctype, int stype, const char *b)
{
	struct msgfile_bound *sp;

	if ((sp = malloc(sizeof(*sp))) == NULL)
		return (-1);
	if ((sp->len = strlen(b)) > MSGFILE_BOUNDARY_LIMIT)
		sp->len = MSGFILE_BOUNDARY_LIMIT;
	if ((sp->s = strndup(b, sp->len)) == NULL) {
		free(sp);
		return (-1);
	}
	sp->def_ctype = ctype;
	sp->def_stype = stype;
	sp->next = p->stack;
	p->stack = sp;
	p->nesting++;
	return (0);
}

/* mime_state_pop(): the innermost boundary off the stack. */
static void
msgfile_pop(struct msgfile_reader *p)
{
	struct msgfile_bound *sp = p->stack;

	p->stack = sp->next;
	p->nesting--;
	free(sp->s);
	free(sp);
}

/*
 * mime_state_content_type(): the Content-Type field in ${p}->hdr sets
 * the content type, and a multipart one pushes each of its boundary
 * parameters (up to the nesting limit).  A type that is none of text,
 * message, multipart leaves the one before; an empty field is "other".
 */
static int
msgfile_content_type(struct msgfile_reader *p)
{
	const char *cp = p->hdr.p + p->namelen + 1;
	long	n;
	int	dct, dst;

	if ((n = msgfile_token(p, &cp)) < -1)
		return (-1);
	if (n <= 0) {
		p->ctype = CT_OTHER;
		return (0);
	}
	if (TOK_MATCH(p, 0, "text")) {
		p->ctype = CT_TEXT;
		p->stype = n >= 3 && p->t[1].type == '/' &&
		    TOK_MATCH(p, 2, "plain") ? ST_PLAIN : ST_OTHER;
	} else if (TOK_MATCH(p, 0, "message")) {
		p->ctype = CT_MESSAGE;
		p->stype = ST_OTHER;
		if (n >= 3 && p->t[1].type == '/') {
			if (TOK_MATCH(p, 2, "rfc822"))
				p->stype = ST_RFC822;
			else if (TOK_MATCH(p, 2, "partial"))
				p->stype = ST_PARTIAL;
			else if (TOK_MATCH(p, 2, "external-body"))
				p->stype = ST_EXTERN_BODY;
			else if (TOK_MATCH(p, 2, "global"))
				p->stype = ST_GLOBAL;
		}
	} else if (TOK_MATCH(p, 0, "multipart")) {
		p->ctype = CT_MULTIPART;
		if (n >= 3 && p->t[1].type == '/' && TOK_MATCH(p, 2, "digest")) {
			dct = CT_MESSAGE;
			dst = ST_RFC822;
		} else {
			dct = CT_TEXT;
			dst = ST_PLAIN;
		}
		/* Every boundary parameter, whatever its value's form. */
		while ((n = msgfile_token(p, &cp)) >= 0)
			if (n >= 3 && TOK_MATCH(p, 0, "boundary") &&
			    p->t[1].type == '=' && p->nesting <= MSGFILE_MIME_DEPTH &&
			    msgfile_push(p, dct, dst, TOK_VALUE(p, 2)) != 0)
				return (-1);
		if (n < -1)
			return (-1);
	}
	return (0);
}

/*
 * The field read into ${p}->hdr is complete: its Content-Type read, then
 * a field of the message header to the list (Postfix's own Received:
 * only counted), or a part header field written to the body as
 * cleanup_out_header() writes it to the queue file.
 */
static int
msgfile_head_out(struct msgfile_reader *p)
{
	const char *s;
	size_t	i, n;

	if (msgfile_name_is(p->hdr.p, p->namelen, "content-type") &&
	    msgfile_content_type(p) != 0)
		return (-1);
	if (p->state == MS_PRIMARY) {
		/* Only those of the message header count, as cleanup counts. */
		if (msgfile_name_is(p->hdr.p, p->namelen, "received"))
			p->hops++;
		if (p->hidden) {
			p->hidden = 0;
			return (0);
		}
		return (msgfile_field_out(&p->m, &p->hdr, p->namelen, &p->out));
	}
	if (msgfile_cut(p->hdr.p, p->hdr.len, &p->out) != 0)
		return (-1);
	for (i = 0, s = p->out.p; i <= p->out.len; i++)
		if (i == p->out.len || p->out.p[i] == '\n') {
			n = (size_t)(p->out.p + i - s);
			if (msgfile_body_out(p, s, n, 0) != 0)
				return (-1);
			s = p->out.p + i + 1;
		}
	return (0);
}

/* Append record text ${s} of ${len} octets to the field, up to a NUL. */
static int
msgfile_hdr_add(struct msgfile_reader *p, const char *s, size_t len)
{
	return (buf_add(&p->hdr, s, strnlen(s, len)));
}

#define SPACE_TAB(c)	((c) == ' ' || (c) == '\t')

/*
 * mime_state_update() on record ${s} of ${len} octets of type ${type}
 * (REC_NORM or REC_CONT): a header line is kept until the field is
 * complete, any other line is body.  Returns 0, or -1 without memory.
 */
static int
msgfile_update(struct msgfile_reader *p, const char *s, size_t len, int type)
{
	struct msgfile_bound *sp;
	size_t	hl;

	if (p->state != MS_BODY) {
		if (p->hdr.len > 0) {
			/* The rest of a line, or a continuation line. */
			if (p->prev == REC_CONT || (len > 0 && SPACE_TAB(s[0]))) {
				if (p->hdr.len < MSGFILE_HEADER_LIMIT &&
				    ((p->prev != REC_CONT &&
				    buf_add(&p->hdr, "\n", 1) != 0) ||
				    msgfile_hdr_add(p, s, len) != 0))
					return (-1);
				p->prev = type;
				return (0);
			}
			if (msgfile_head_out(p) != 0)
				return (-1);
			p->prev = REC_NONE;
			p->hdr.len = 0;
		}
		if ((hl = msgfile_is_header(s, len)) > 0) {
			/* "Name :" becomes "Name:". */
			p->namelen = hl;
			if (buf_add(&p->hdr, s, hl) != 0)
				return (-1);
			while (hl < len && SPACE_TAB(s[hl]))
				hl++;
			if (msgfile_hdr_add(p, s + hl, len - hl) != 0)
				return (-1);
			p->prev = type;
			return (0);
		}
		/*
		 * The end of the header block.  After an empty line, a
		 * message/rfc822 or message/global body starts with one;
		 * another line ends the message header after an empty line
		 * put before it, a part header without one.
		 */
		if (len == 0) {
			if (p->ctype == CT_MESSAGE && (p->stype == ST_RFC822 ||
			    p->stype == ST_GLOBAL)) {
				p->state = MS_NESTED;
				p->ctype = CT_TEXT;
				p->stype = ST_PLAIN;
			} else {
				if (p->ctype == CT_MULTIPART) {
					p->ctype = CT_OTHER;
					p->stype = ST_OTHER;
				}
				p->state = MS_BODY;
			}
		} else {
			if (p->state == MS_PRIMARY &&
			    msgfile_body_out(p, "", 0, 0) != 0)
				return (-1);
			p->state = MS_BODY;
		}
	}
	/*
	 * A body line: a boundary line of any multipart around it ("--",
	 * the boundary, "--" or anything) ends the parts inside, and opens
	 * a part header, or ends that multipart too.  Not after a record
	 * that goes on.
	 */
	if (p->stack != NULL && p->prev != REC_CONT && len > 2 &&
	    s[0] == '-' && s[1] == '-')
		for (sp = p->stack; sp != NULL; sp = sp->next) {
			if (len < 2 + sp->len || memcmp(s + 2, sp->s, sp->len) != 0)
				continue;
			while (sp != p->stack)
				msgfile_pop(p);
			if (len >= 4 + sp->len &&
			    memcmp(s + 2 + sp->len, "--", 2) == 0) {
				msgfile_pop(p);
				p->state = MS_BODY;
				p->ctype = CT_OTHER;
				p->stype = ST_OTHER;
			} else {
				p->state = MS_MULTIPART;
				p->ctype = sp->def_ctype;
				p->stype = sp->def_stype;
			}
			break;
		}
	if (msgfile_body_out(p, s, len, type == REC_CONT) != 0)
		return (-1);
	p->prev = type;
	return (0);
}

/* The end of the message to mime_state(3): a field being read is complete. */
static int
msgfile_update_end(struct msgfile_reader *p)
{
	if (p->prev == REC_CONT && msgfile_update(p, "", 0, REC_NORM) != 0)
		return (-1);
	if (p->state != MS_BODY && p->hdr.len > 0 && msgfile_head_out(p) != 0)
		return (-1);
	p->hdr.len = 0;
	p->state = MS_BODY;
	return (0);
}

/* Free ${p}, its result included; NULL is fine. */
static void
msgfile_reader_free(struct msgfile_reader *p)
{
	if (p == NULL)
		return;
	while (p->stack != NULL)
		msgfile_pop(p);
	msgfile_free(&p->m);
	free(p->mbox.p);
	free(p->hdr.p);
	free(p->tok.p);
	free(p->out.p);
	free(p->body.p);
	free(p);
}

/*
 * cleanup(8) on record ${s} of ${len} octets (changed in place) of type
 * ${type}, as smtpd(8) sends it: each CR in it made a space
 * (cleanup_replace_stray_cr_lf = yes; a record holds no LF, and the CRs
 * of its line end are gone), then mime_state(3).
 */
static void
msgfile_cleanup(struct msgfile_reader *p, char *s, size_t len, int type)
{
	char   *cr;

	if (p->err != NULL)
		return;
	for (cr = s; (cr = memchr(cr, '\r', len - (size_t)(cr - s))) != NULL;
	    cr++)
		*cr = ' ';
	if (msgfile_update(p, s, len, type) != 0)
		p->err = msgfile_nomem;
}

/*
 * smtpd(8)'s DATA loop on the record read into ${p}->wire, of type
 * ${type}: at the very start a UNIX From_ line becomes an X-Mailbox-Line:
 * field, and an empty record goes before a first line that starts with
 * white space (it must not continue smtpd's own Received: field); the "."
 * the client doubled goes; then the record counts its octets + 2 against
 * MSGFILE_SIZE_LIMIT, and from the one that passes it none goes on.
 */
static void
msgfile_smtpd(struct msgfile_reader *p, int type)
{
	static const char mbox[] = "X-Mailbox-Line: ";
	char	empty[1] = "";
	char   *s = p->wire;
	size_t	len = p->wlen, gt;
	int	prev = p->smtpd_prev;

	p->smtpd_prev = type;
	p->wlen = 0;
	if (p->first) {
		for (gt = 0; gt < len && s[gt] == '>'; gt++)
			;
		if (len - gt >= 5 && memcmp(s + gt, "From ", 5) == 0) {
			/* Written with "%s": the record ends at a NUL. */
			p->mbox.len = 0;
			if (buf_add(&p->mbox, mbox, sizeof(mbox) - 1) != 0 ||
			    buf_add(&p->mbox, s, strnlen(s, len)) != 0)
				p->err = msgfile_nomem;
			else
				msgfile_cleanup(p, p->mbox.p, p->mbox.len, type);
			return;			/* still the first line */
		}
		p->first = 0;
		if (len > 0 && SPACE_TAB(s[0]))
			msgfile_cleanup(p, empty, 0, REC_NORM);
	}
	if (prev != REC_CONT && len > 0 && s[0] == '.') {
		s++;
		len--;
	}
	if (p->full || MSGFILE_SIZE_LIMIT - p->size < len + 2) {
		p->full = 1;
		return;
	}
	p->size += len + 2;
	msgfile_cleanup(p, s, len, type);
}

/* A read of smtp_get() ends: at an LF (with every CR before it), or full. */
static void
msgfile_read_end(struct msgfile_reader *p, int lf)
{
	if (!lf) {
		msgfile_smtpd(p, REC_CONT);
		return;
	}
	while (p->wlen > 0 && p->wire[p->wlen - 1] == '\r')
		p->wlen--;
	p->bol = 1;
	p->in_line = 0;
	msgfile_smtpd(p, REC_NORM);
}

/*
 * smtp_get() on the next octet ${c} the client sends: it reads at most
 * MSGFILE_LINE_LIMIT octets at a time, up to an LF; a read that ends in
 * CR also takes the LF right after it.  The client sends a line that
 * starts with "." with one more.
 */
static void
msgfile_octet(struct msgfile_reader *p, int c)
{
	if (p->cr_wait) {
		p->cr_wait = 0;
		if (c == '\n') {
			msgfile_read_end(p, 1);
			return;
		}
		msgfile_read_end(p, 0);		/* the CR stays */
	}
	if (p->bol) {
		p->bol = 0;
		p->in_line = 1;
		if (c == '.')
			p->wire[p->wlen++] = '.';
	}
	if (c == '\n') {
		msgfile_read_end(p, 1);
		return;
	}
	p->wire[p->wlen++] = (char)c;
	if (p->wlen == MSGFILE_LINE_LIMIT) {
		if (c == '\r')
			p->cr_wait = 1;
		else
			msgfile_read_end(p, 0);
	}
}

/**
 * msgfile_open(): a reader for one message, to be given its octets with
 * msgfile_feed() and ended with msgfile_close().  NULL without memory.
 */
struct msgfile_reader *
msgfile_open(void)
{
	struct msgfile_reader *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->bol = p->first = 1;
	p->state = MS_PRIMARY;
	p->ctype = CT_TEXT;
	p->stype = ST_PLAIN;
	p->nesting = -1;
	/*
	 * The header starts with smtpd's own Received: field, never shown
	 * to milters, nor what continues it (a first line that starts with
	 * a CR).
	 */
	p->hidden = 1;
	p->namelen = 8;
	if (buf_add(&p->hdr, "Received:", 9) != 0) {
		msgfile_reader_free(p);
		return (NULL);
	}
	return (p);
}

/**
 * msgfile_feed(r, buf, len): the next ${len} octets of the message to ${r}.
 * Returns NULL, or an error message (no memory; ${r} must then only be
 * closed).  Once msgfile_full(${r}), input is read no further.
 */
const char *
msgfile_feed(struct msgfile_reader *r, const char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i < len && r->err == NULL && !r->full; i++)
		msgfile_octet(r, (unsigned char)buf[i]);
	return (r->err);
}

/**
 * msgfile_full(r): 1 if the message of ${r} is over MSGFILE_SIZE_LIMIT,
 * so that no more input can change what msgfile_close() gives.
 */
int
msgfile_full(const struct msgfile_reader *r)
{
	return (r->full);
}

/**
 * msgfile_close(r, m): end the message of ${r} (NULL is fine), free ${r},
 * and put the message into ${m}.  Returns NULL, or an error message (no
 * memory, also from an earlier msgfile_feed() or a msgfile_open() that
 * gave NULL) with ${m} left empty.
 */
const char *
msgfile_close(struct msgfile_reader *r, struct msgfile *m)
{
	const char *err;

	memset(m, 0, sizeof(*m));
	if (r == NULL)
		return (msgfile_nomem);
	/* The client ends a last line without LF with CRLF. */
	if (r->err == NULL && !r->full && r->in_line) {
		msgfile_octet(r, '\r');
		msgfile_octet(r, '\n');
	}
	/* Past the limit too: the fields read so far, for the envelope. */
	if (r->err == NULL && msgfile_update_end(r) != 0)
		r->err = msgfile_nomem;
	if ((err = r->err) == NULL) {
		*m = r->m;
		memset(&r->m, 0, sizeof(r->m));
		m->body = r->body.p;
		m->bodylen = r->body.len;
		r->body.p = NULL;
		if (r->full)
			m->refused = MSGFILE_TOO_BIG;
		else if (r->hops >= MSGFILE_HOP_LIMIT)
			m->refused = MSGFILE_TOO_MANY_HOPS;
	}
	msgfile_reader_free(r);
	return (err);
}

/**
 * msgfile_parse(m, buf, len): read the message ${buf} of ${len} octets
 * into ${m}: msgfile_open(), msgfile_feed() and msgfile_close() at once.
 * Returns NULL, or an error message (no memory) with ${m} left empty.
 */
const char *
msgfile_parse(struct msgfile *m, const char *buf, size_t len)
{
	struct msgfile_reader *r;

	if ((r = msgfile_open()) != NULL)
		(void)msgfile_feed(r, buf, len);
	return (msgfile_close(r, m));
}

/* What msgfile_envelope() collects into. */
struct msgfile_collect {
	struct msgfile_env *env;
	int	failed;
	int	sender;			/* collect the sender, else recipients */
};

/* addr_list() callback: the first address as the sender. */
static int
msgfile_take_sender(void *arg, const char *addr, size_t len)
{
	struct msgfile_collect *c = arg;

	if ((c->env->sender = strndup(addr, len)) == NULL)
		c->failed = 1;
	return (1);
}

/* addr_list() callback: a recipient, unless it is empty or known. */
static int
msgfile_take_rcpt(void *arg, const char *addr, size_t len)
{
	struct msgfile_collect *c = arg;
	struct msgfile_env *env = c->env;
	char  **nr;
	size_t	i;

	if (len == 0)
		return (0);
	for (i = 0; i < env->nrcpt; i++)
		if (strlen(env->rcpt[i]) == len &&
		    strncasecmp(env->rcpt[i], addr, len) == 0)
			return (0);
	if ((nr = msgfile_room(env->rcpt, env->nrcpt, sizeof(*nr), 4)) != NULL)
		env->rcpt = nr;
	if (nr == NULL ||
	    (env->rcpt[env->nrcpt] = strndup(addr, len)) == NULL) {
		c->failed = 1;
		return (1);
	}
	env->nrcpt++;
	return (0);
}

/* 1 if field ${f} is named ${name} (lower case). */
static int
msgfile_named(const struct msgfile_field *f, const char *name)
{
	return (strlen(name) == f->namelen &&
	    strncasecmp(f->name, name, f->namelen) == 0);
}

/* The addresses of field ${f} to ${fn}; ${c}->failed on no memory. */
static void
msgfile_addrs(const struct msgfile_field *f, addr_list_fn *fn,
    struct msgfile_collect *c)
{
	char   *buf;

	if ((buf = malloc(f->valuelen + 1)) == NULL) {
		c->failed = 1;
		return;
	}
	(void)addr_list(f->value, f->valuelen, buf, fn, c);
	free(buf);
}

/**
 * msgfile_envelope(m, env): the envelope ${m} implies, into ${env}
 * (msgfile.h).  Returns NULL, or an error message with ${env} empty.
 */
const char *
msgfile_envelope(const struct msgfile *m, struct msgfile_env *env)
{
	struct msgfile_collect c;
	const char *const senders[] = { "return-path", "from" };
	size_t	i, k;

	memset(env, 0, sizeof(*env));
	memset(&c, 0, sizeof(c));
	c.env = env;
	for (k = 0; k < 2 && env->sender == NULL && !c.failed; k++)
		for (i = 0; i < m->nfield && env->sender == NULL && !c.failed;
		    i++)
			if (msgfile_named(&m->field[i], senders[k]))
				msgfile_addrs(&m->field[i], msgfile_take_sender,
				    &c);
	if (env->sender == NULL && !c.failed &&
	    (env->sender = strdup("")) == NULL)
		c.failed = 1;
	for (i = 0; i < m->nfield && !c.failed; i++)
		if (msgfile_named(&m->field[i], "to") ||
		    msgfile_named(&m->field[i], "cc"))
			msgfile_addrs(&m->field[i], msgfile_take_rcpt, &c);
	if (c.failed) {
		msgfile_env_free(env);
		return (msgfile_nomem);
	}
	return (NULL);
}

/** msgfile_env_free(env): free what msgfile_envelope() put in ${env}; an empty ${env} is fine. */
void
msgfile_env_free(struct msgfile_env *env)
{
	size_t	i;

	if (env == NULL)
		return;
	free(env->sender);
	for (i = 0; i < env->nrcpt; i++)
		free(env->rcpt[i]);
	free(env->rcpt);
	memset(env, 0, sizeof(*env));
}
