/*
 * msgfile.c - a message file read as Postfix hands it to a milter.
 *
 * Interface: msgfile_parse() and msgfile_free(); msgfile_envelope() and
 * msgfile_env_free().  See msgfile.h for what a milter sees.
 *
 * Postfix 3.7 handles a message in three steps, each mirrored here on
 * the records it passes along (a record is a line, or a piece of
 * MSGFILE_LINE_LIMIT octets of a longer one, "cont" when more follows):
 *   smtpd(8)   cuts lines into records as smtp_get() reads them from
 *              the client (in_raw()), turns UNIX From_ lines at the
 *              very start into X-Mailbox-Line: fields, and puts an empty
 *              record before a first line that starts with white space
 *              (so that it cannot continue smtpd's own Received: field);
 *   cleanup(8) makes each CR left in a record a space (in_next()), then
 *              reads the records with mime_state(3) (msgfile_update(),
 *              a port of mime_state_update() as far as it changes what a
 *              milter gets): header blocks are the message header, each
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
 * Invariants: nothing reads outside [buf, buf + len); every allocation is
 * checked and freed by msgfile_free() / msgfile_env_free().
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

/* One record: a line or a piece of one; cont: the line goes on. */
struct msgfile_rec {
	const char *s;
	size_t	len;
	int	cont;
};

/* The records of the input, and smtpd(8)'s changes at its start. */
struct msgfile_in {
	const char *p, *e;		/* input not yet cut into lines */
	const char *line;		/* the current line, without its LF */
	size_t	linelen;
	size_t	wlen, off;		/* the line on the wire; octets of it read */
	int	stuffed;		/* the client sends the line's "." twice */
	int	in_line;
	int	first;			/* smtpd: still at the first line */
	int	held;			/* a record held behind an empty one */
	struct msgfile_rec hold;
	struct msgfile_buf mbox;	/* an X-Mailbox-Line: record */
	struct msgfile_buf clean;	/* a record without CR */
};

/*
 * Octet ${i} of the current line as the client sends it: a "." first if
 * the line starts with one, then the line, then LF, or CRLF after a last
 * line without LF.
 */
static int
in_wire(const struct msgfile_in *in, size_t i)
{
	if (i < (size_t)in->stuffed)
		return ('.');
	i -= (size_t)in->stuffed;
	if (i < in->linelen)
		return ((unsigned char)in->line[i]);
	/* The line end: LF, or CR then LF. */
	return (i - in->linelen + 1 <
	    in->wlen - (size_t)in->stuffed - in->linelen ? '\r' : '\n');
}

/*
 * The next record of the input as smtpd(8) reads it; 0 at the end.
 * smtp_get() reads the SMTP stream at most MSGFILE_LINE_LIMIT octets at
 * a time, up to an LF; a read that ends in CR also takes the LF right
 * after it.  A read that ends the line loses its LF and every CR before
 * it; any other read is a record that the next one continues, its CRs
 * kept.  Then smtpd removes the "." the client doubled (so the first
 * record of such a line holds one octet less of it).
 */
static int
in_raw(struct msgfile_in *in, struct msgfile_rec *r)
{
	const char *lf;
	size_t	end, start, stop;

	if (!in->in_line) {
		if (in->p >= in->e)
			return (0);
		in->line = in->p;
		if ((lf = memchr(in->p, '\n', (size_t)(in->e - in->p))) != NULL) {
			in->linelen = (size_t)(lf - in->p);
			in->p = lf + 1;
		} else {
			in->linelen = (size_t)(in->e - in->p);
			in->p = in->e;
		}
		in->stuffed = in->linelen > 0 && in->line[0] == '.';
		in->wlen = (size_t)in->stuffed + in->linelen + (lf != NULL ? 1 : 2);
		in->off = 0;
		in->in_line = 1;
	}
	/* The wire's [off, end): the LF is its last octet, wlen - 1. */
	end = in->wlen - 1;
	if (end - in->off < MSGFILE_LINE_LIMIT ||
	    (end - in->off == MSGFILE_LINE_LIMIT &&
	    in_wire(in, end - 1) == '\r')) {
		r->cont = 0;
		in->in_line = 0;
	} else {
		end = in->off + MSGFILE_LINE_LIMIT;
		r->cont = 1;
	}
	/* In the line: without the doubled "." and the CR the client adds. */
	start = in->off > (size_t)in->stuffed ? in->off - (size_t)in->stuffed : 0;
	stop = end - (size_t)in->stuffed;
	if (stop > in->linelen)
		stop = in->linelen;
	if (!r->cont)
		while (stop > start && in->line[stop - 1] == '\r')
			stop--;
	r->s = in->line + start;
	r->len = stop - start;
	in->off = end;
	return (1);
}

/* The next record as smtpd(8) passes it to cleanup(8); as in_next(). */
static int
in_smtpd(struct msgfile_in *in, struct msgfile_rec *r)
{
	static const char mbox[] = "X-Mailbox-Line: ";
	size_t	gt;

	if (in->held) {
		in->held = 0;
		*r = in->hold;
		return (1);
	}
	if (!in_raw(in, r))
		return (0);
	if (!in->first)
		return (1);
	for (gt = 0; gt < r->len && r->s[gt] == '>'; gt++)
		;
	if (r->len - gt >= 5 && memcmp(r->s + gt, "From ", 5) == 0) {
		/* Written with "%s": the record ends at a NUL. */
		in->mbox.len = 0;
		if (buf_add(&in->mbox, mbox, sizeof(mbox) - 1) != 0 ||
		    buf_add(&in->mbox, r->s, strnlen(r->s, r->len)) != 0)
			return (-1);
		r->s = in->mbox.p;
		r->len = in->mbox.len;
		return (1);			/* still the first line */
	}
	in->first = 0;
	if (r->len > 0 && (r->s[0] == ' ' || r->s[0] == '\t')) {
		in->hold = *r;
		in->held = 1;
		r->s = "";
		r->len = 0;
		r->cont = 0;
	}
	return (1);
}

/*
 * The next record as cleanup(8) reads it: as smtpd(8) passes it, each CR
 * in it a space (cleanup_replace_stray_cr_lf = yes: a record holds no
 * LF, and the CRs of its line end are gone).  0 at the end, -1 without
 * memory.  Records stay valid until the next call.
 */
static int
in_next(struct msgfile_in *in, struct msgfile_rec *r)
{
	size_t	i;
	int	more;

	if ((more = in_smtpd(in, r)) <= 0 || memchr(r->s, '\r', r->len) == NULL)
		return (more);
	in->clean.len = 0;
	if (buf_add(&in->clean, r->s, r->len) != 0)
		return (-1);
	for (i = 0; i < r->len; i++)
		if (in->clean.p[i] == '\r')
			in->clean.p[i] = ' ';
	r->s = in->clean.p;
	return (1);
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

/** msgfile_free(m): free what msgfile_parse() put in ${m}; an empty ${m} is fine. */
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
	struct msgfile_in in;		/* smtpd(8) */
	/* cleanup(8): mime_state(3) */
	int	state, ctype, stype;
	int	prev;			/* the previous record's type */
	struct msgfile_buf hdr;		/* the field being read; "" none */
	size_t	namelen;
	int	hidden;			/* hdr is Postfix's own Received: */
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
 * its number of tokens, or -1 at the end.
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

/* Free ${p} but its result ${p}->m. */
static void
msgfile_reader_free(struct msgfile_reader *p)
{
	while (p->stack != NULL)
		msgfile_pop(p);
	free(p->in.mbox.p);
	free(p->in.clean.p);
	free(p->hdr.p);
	free(p->tok.p);
	free(p->out.p);
	free(p->body.p);
}

/**
 * msgfile_parse(m, buf, len): read the message ${buf} of ${len} octets
 * into ${m} (msgfile.h says how).  Returns NULL, or an error message
 * (no memory) with ${m} left empty.
 */
const char *
msgfile_parse(struct msgfile *m, const char *buf, size_t len)
{
	struct msgfile_reader p;
	struct msgfile_rec r;
	int	more;

	memset(m, 0, sizeof(*m));
	memset(&p, 0, sizeof(p));
	p.in.p = buf;
	p.in.e = buf + len;
	p.in.first = 1;
	p.state = MS_PRIMARY;
	p.ctype = CT_TEXT;
	p.stype = ST_PLAIN;
	p.nesting = -1;
	/*
	 * The header starts with smtpd's own Received: field, never shown
	 * to milters, nor what continues it (a first line that starts with
	 * a CR).
	 */
	p.hidden = 1;
	if (buf_add(&p.hdr, "Received:", 9) != 0)
		goto fail;
	p.namelen = 8;
	while ((more = in_next(&p.in, &r)) > 0)
		if (msgfile_update(&p, r.s, r.len, r.cont ? REC_CONT :
		    REC_NORM) != 0)
			goto fail;
	if (more < 0 || msgfile_update_end(&p) != 0)
		goto fail;
	*m = p.m;
	m->body = p.body.p;
	m->bodylen = p.body.len;
	p.body.p = NULL;
	msgfile_reader_free(&p);
	return (NULL);
fail:
	msgfile_reader_free(&p);
	msgfile_free(&p.m);
	return (msgfile_nomem);
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
