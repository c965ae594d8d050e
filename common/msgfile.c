/*
 * msgfile.c - a message file read as Postfix hands it to a milter.
 *
 * Interface: msgfile_parse() and msgfile_free(); msgfile_envelope() and
 * msgfile_env_free().  See msgfile.h for what a milter sees.
 *
 * Postfix 3.x handles a message in three steps, each mirrored here on
 * the records it passes along (a record is a line, or a piece of
 * MSGFILE_LINE_LIMIT octets of a longer one, "cont" when more follows):
 *   smtpd(8)   cuts lines into records as smtp_get() reads them from
 *              the client (in_raw()), turns UNIX From_ lines at the
 *              very start into X-Mailbox-Line: fields, and puts an empty
 *              record before a first line that starts with white space
 *              (so that it cannot continue smtpd's own Received: field);
 *   cleanup(8) makes each CR left in a record a space (in_next()), then
 *              reads the header with mime_state(3): a field is a line
 *              that is_header() accepts, continued by lines starting with
 *              space or tab, joined with "\n", white space before the
 *              colon dropped, and nothing appended once the header limit
 *              (MSGFILE_HEADER_LIMIT) is reached, each record cut at a NUL; the first other line
 *              ends the header (an empty line is put before it if it is
 *              not empty); the fields of message_drop_headers are
 *              dropped; each field is written out line by line, cut at
 *              the header limit (at the last line boundary when that
 *              keeps 90% of it, else at the limit itself);
 *   milter8    sends each field as name and value, and the body without
 *              the empty line that ends the header, every record followed
 *              by CRLF unless it is continued.
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

/* 1 if the field name ${name} is one that Postfix drops. */
static int
msgfile_dropped(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(msgfile_drop) / sizeof(msgfile_drop[0]); i++)
		if (strlen(msgfile_drop[i]) == len &&
		    strncasecmp(msgfile_drop[i], name, len) == 0)
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

/* Append record ${r} to the body: CRLF after it unless it goes on. */
static int
msgfile_body_add(struct msgfile_buf *body, const struct msgfile_rec *r)
{
	if (buf_add(body, r->s, r->len) != 0)
		return (-1);
	return (r->cont ? 0 : buf_add(body, "\r\n", 2));
}

/**
 * msgfile_parse(m, buf, len): read the message ${buf} of ${len} octets
 * into ${m} (msgfile.h says how).  Returns NULL, or an error message
 * (no memory) with ${m} left empty.
 */
const char *
msgfile_parse(struct msgfile *m, const char *buf, size_t len)
{
	struct msgfile_in in;
	struct msgfile_rec r;
	struct msgfile_buf hb = { NULL, 0, 0 }, tmp = { NULL, 0, 0 };
	struct msgfile_buf body = { NULL, 0, 0 };
	size_t	namelen = 0, hl;
	int	more, in_field, prev_cont = 0, hidden;

	memset(m, 0, sizeof(*m));
	memset(&in, 0, sizeof(in));
	in.p = buf;
	in.e = buf + len;
	in.first = 1;
	/*
	 * The header, as mime_state_update() reads it in cleanup(8).  It
	 * starts with smtpd's own Received: field, never shown to milters,
	 * nor what continues it (a first line that starts with a CR).
	 */
	in_field = hidden = 1;
	for (;;) {
		if ((more = in_next(&in, &r)) < 0)
			goto fail;
		if (in_field && more) {
			if (prev_cont || (r.len > 0 &&
			    (r.s[0] == ' ' || r.s[0] == '\t'))) {
				if (!hidden && hb.len < MSGFILE_HEADER_LIMIT &&
				    ((!prev_cont && buf_add(&hb, "\n", 1) != 0) ||
				    buf_add(&hb, r.s, strnlen(r.s, r.len)) != 0))
					goto fail;
				prev_cont = r.cont;
				continue;
			}
		}
		if (in_field) {
			if (!hidden && msgfile_field_out(m, &hb, namelen,
			    &tmp) != 0)
				goto fail;
			in_field = hidden = 0;
		}
		if (!more)
			break;
		if ((hl = msgfile_is_header(r.s, r.len)) > 0) {
			/* "Name :" becomes "Name:". */
			hb.len = 0;
			namelen = hl;
			for (; hl < r.len && (r.s[hl] == ' ' || r.s[hl] == '\t');
			    hl++)
				;
			if (buf_add(&hb, r.s, namelen) != 0 ||
			    buf_add(&hb, r.s + hl, strnlen(r.s + hl,
			    r.len - hl)) != 0)
				goto fail;
			in_field = 1;
			prev_cont = r.cont;
			continue;
		}
		/* The end of the header; a line that is not empty is body. */
		if (r.len > 0 && msgfile_body_add(&body, &r) != 0)
			goto fail;
		break;
	}
	while (more && (more = in_next(&in, &r)) > 0)
		if (msgfile_body_add(&body, &r) != 0)
			goto fail;
	if (more < 0)
		goto fail;
	m->body = body.p;
	m->bodylen = body.len;
	free(hb.p);
	free(tmp.p);
	free(in.mbox.p);
	free(in.clean.p);
	return (NULL);
fail:
	free(hb.p);
	free(tmp.p);
	free(in.mbox.p);
	free(in.clean.p);
	free(body.p);
	msgfile_free(m);
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
