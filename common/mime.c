/*
 * mime.c - a streaming MIME scanner that finds attachment names.
 *
 * Interface (mime.h): mime_header() for each top-level header field, then
 * mime_body() for each body chunk of any size, then mime_end(); every
 * `filename` of Content-Disposition and `name` of Content-Type, in the
 * top-level header and in every part header at any depth, goes to the
 * callback as UTF-8.
 *
 * Why the split between our code and GMime: the boundary scanning must
 * stream over a body of any size in memory that does not grow, chunk by
 * chunk as the MTA hands it over, at about memchr speed; no library does
 * that (GMime's parser wants a whole GMimeStream and builds the message
 * tree, and so does every other MIME library at hand).  Decoding a
 * parameter, on the other hand, is a small, fiddly, security-relevant job
 * on a short string (RFC 2231 continuations, charsets and percent-encoding,
 * RFC 2047 words inside quotes as real MUAs send them) that GMime does
 * well and that we must not get subtly different from MUAs, so the
 * collected Content-Type / Content-Disposition value goes to GMime.
 *
 * Structure: a stack of nesting levels (a multipart with its boundary, or
 * a message/rfc822 body), at most MIME_MAX_DEPTH deep.  Body lines are
 * found with memchr(); outside part headers a line matters only if it
 * starts with "--" and is short enough to be a boundary line of ANY
 * enclosing level ("--b" opens a part, "--b--" closes the multipart and
 * everything nested in it; trailing spaces and tabs allowed, RFC 2046
 * 5.1.1/5.1.2).  Only the first LINE_KEEP octets of a line are kept (a
 * boundary has at most BOUNDARY_MAX octets; RFC 2046 allows 70), and
 * part header fields up to MIME_FIELD_MAX octets.  Preamble, epilogue and
 * part content are never parsed for headers.
 *
 * Decisions (documented here once):
 * - Lines end with LF; a CR right before it belongs to the terminator.
 * - Part headers end at the first empty line, at a boundary line, or at a
 *   line that is not a header field (no "name:" with a printable name), as
 *   in Postfix; that line is then part content.
 * - The first Content-Type of a header block decides its structure; every
 *   Content-Type and Content-Disposition is searched for names, and every
 *   `filename` / `name` parameter of a field is reported (duplicates
 *   included: MUAs disagree on which one wins).
 * - In a multipart/digest, a part without Content-Type is message/rfc822.
 * - A field longer than MIME_FIELD_MAX is cut there.  If it is a
 *   Content-Type or Content-Disposition, every name decoded from the kept
 *   part is reported with truncated = 1 (the name may be cut, or another
 *   may follow the cut), and if the kept part holds none, one empty name
 *   is reported with truncated = 1: such a field is never legitimate and
 *   must not hide a name behind the cut.
 * - A multipart or message/rfc822 part that would nest deeper than
 *   MIME_MAX_DEPTH is skipped as opaque content and reported once per
 *   message as an empty `filename` with truncated = 1.
 * - When GMime drops a parameter it could not parse (e.g. after a
 *   parameter without "=") or decodes a non-empty value to nothing (a
 *   malformed encoded word), the raw parameter text is reported instead
 *   (quotes removed, sections of a continuation concatenated).  Invalid
 *   UTF-8 in GMime's result (unknown charset, 8-bit raw text) is made
 *   valid with U+FFFD per bad octet, so a length is never under-counted.
 *
 * Invariants: memory is allocated in mime_new() only; the result never
 * depends on how the body is split into chunks.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime.h"

#define BOUNDARY_MAX	200		/* longest boundary recognised */
#define LINE_KEEP	(2 + BOUNDARY_MAX + 2 + 32)	/* "--" b "--" + blanks */

enum mime_state {
	S_TOP,			/* top-level header, body not started */
	S_HEADERS,		/* inside part headers */
	S_SKIP,			/* content: only boundary lines matter */
	S_OFF			/* nothing more can be found */
};

enum mime_kind {
	K_LEAF,
	K_MULTI,
	K_MSG
};

struct mime_level {
	size_t	blen;			/* 0: a message/rfc822 level */
	int	digest;			/* multipart/digest */
	char	b[BOUNDARY_MAX];
};

struct mime {
	mime_name_fn *fn;
	void   *arg;
	GMimeParserOptions *opts;

	enum mime_state state;
	int	depth;			/* levels in use */
	int	nbound;			/* levels with a boundary */
	int	overflow;		/* depth overflow reported */
	struct mime_level lv[MIME_MAX_DEPTH];

	/* The header block being read. */
	int	ct_seen;
	enum mime_kind kind;
	int	digest;
	size_t	blen;
	char	b[BOUNDARY_MAX];

	/* The current line. */
	size_t	llen;			/* octets so far, CR terminator excluded */
	int	lcr;			/* a CR held back at a chunk end */
	int	fnew;			/* this line started a header field */
	unsigned char lbuf[LINE_KEEP];

	/* The current header field, and scratch for raw parameter text. */
	size_t	flen;
	int	ftrunc;
	char	fbuf[MIME_FIELD_MAX + 1];
	char	rbuf[MIME_FIELD_MAX + 1];
};

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;

static void
mime_init_once(void)
{
	g_mime_init();
}

/** mime_init(): initialise GMime once per process, before any thread uses mime_*. */
void
mime_init(void)
{
	(void)pthread_once(&mime_once, mime_init_once);
}

static int
is_wsp(int c)
{
	return (c == ' ' || c == '\t');
}

/* Names are reported as valid UTF-8, never shorter than what a MUA shows. */
static void
report(struct mime *m, const char *param, const char *v, size_t len, int trunc)
{
	gchar  *fixed;

	if (g_utf8_validate(v, (gssize)len, NULL)) {
		m->fn(m->arg, param, v, len, trunc);
		return;
	}
	fixed = g_utf8_make_valid(v, (gssize)len);
	m->fn(m->arg, param, fixed, strlen(fixed), trunc);
	g_free(fixed);
}

/*
 * The raw text of every parameter of ${v} named ${want} or ${want}*...
 * (after the first ';'), unquoted and concatenated into m->rbuf; its
 * length, or -1 when there is none.
 */
static long
raw_param(struct mime *m, const char *v, const char *want)
{
	size_t	wl = strlen(want), n = 0;
	const char *p = v, *ns, *ne;
	int	found = 0, quoted = 0;

	/* Skip the type or disposition token. */
	while (*p != '\0' && *p != ';')
		p++;
	while (*p == ';') {
		p++;
		while (*p != '\0' && g_ascii_isspace(*p))
			p++;
		ns = p;
		while (*p != '\0' && *p != '=' && *p != ';')
			p++;
		ne = p;
		while (ne > ns && g_ascii_isspace(ne[-1]))
			ne--;
		if (*p != '=')
			continue;
		p++;
		while (*p != '\0' && g_ascii_isspace(*p))
			p++;
		if ((size_t)(ne - ns) >= wl && g_ascii_strncasecmp(ns, want, wl) == 0 &&
		    ((size_t)(ne - ns) == wl || ns[wl] == '*')) {
			found = 1;
			if (*p == '"') {
				for (p++; *p != '\0' && *p != '"'; p++) {
					if (*p == '\\' && p[1] != '\0')
						p++;
					m->rbuf[n++] = *p;
				}
				if (*p == '"')
					p++;
				while (*p != '\0' && *p != ';')
					p++;
			} else {
				const char *vs = p;

				while (*p != '\0' && *p != ';')
					p++;
				ne = p;
				while (ne > vs && g_ascii_isspace(ne[-1]))
					ne--;
				memcpy(m->rbuf + n, vs, (size_t)(ne - vs));
				n += (size_t)(ne - vs);
			}
			continue;
		}
		/* Another parameter: skip its value, quotes included. */
		for (quoted = 0; *p != '\0' && (quoted || *p != ';'); p++) {
			if (quoted && *p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				quoted = !quoted;
		}
	}
	m->rbuf[n] = '\0';
	return (found ? (long)n : -1);
}

/* Report every ${want} parameter of ${list}, parsed by GMime from ${v}. */
static void
report_params(struct mime *m, GMimeParamList *list, const char *v,
    const char *want, int trunc)
{
	GMimeParam *p;
	const char *name, *val;
	int	i, n, reported = 0;
	long	rl;

	n = list != NULL ? g_mime_param_list_length(list) : 0;
	for (i = 0; i < n; i++) {
		p = g_mime_param_list_get_parameter_at(list, i);
		name = g_mime_param_get_name(p);
		val = g_mime_param_get_value(p);
		if (name == NULL || g_ascii_strcasecmp(name, want) != 0 ||
		    val == NULL || *val == '\0')
			continue;
		report(m, want, val, strlen(val), trunc);
		reported = 1;
	}
	if (reported)
		return;
	if ((rl = raw_param(m, v, want)) >= 0)
		report(m, want, m->rbuf, (size_t)rl, trunc);
	else if (trunc)
		report(m, want, "", 0, 1);
}

/* One complete header field: names, and the structure of the block. */
static void
field_done(struct mime *m, const char *name, size_t nlen, char *v, int trunc)
{
	GMimeContentType *ct;
	GMimeContentDisposition *cd;
	const char *s;

	if (nlen == 12 && g_ascii_strncasecmp(name, "Content-Type", 12) == 0) {
		if ((ct = g_mime_content_type_parse(m->opts, v)) == NULL) {
			report_params(m, NULL, v, "name", trunc);
			return;
		}
		if (!m->ct_seen) {
			m->ct_seen = 1;
			m->kind = K_LEAF;
			if (g_mime_content_type_is_type(ct, "multipart", "*")) {
				s = g_mime_content_type_get_parameter(ct, "boundary");
				m->digest = g_mime_content_type_is_type(ct,
				    "multipart", "digest");
				m->blen = s != NULL ? strlen(s) : 0;
				if (m->blen > 0 && m->blen <= BOUNDARY_MAX) {
					memcpy(m->b, s, m->blen);
					m->kind = K_MULTI;
				}
			} else if (g_mime_content_type_is_type(ct, "message", "rfc822") ||
			    g_mime_content_type_is_type(ct, "message", "global"))
				m->kind = K_MSG;
		}
		report_params(m, g_mime_content_type_get_parameters(ct), v,
		    "name", trunc);
		g_object_unref(ct);
	} else if (nlen == 19 &&
	    g_ascii_strncasecmp(name, "Content-Disposition", 19) == 0) {
		cd = g_mime_content_disposition_parse(m->opts, v);
		report_params(m, cd != NULL ?
		    g_mime_content_disposition_get_parameters(cd) : NULL, v,
		    "filename", trunc);
		if (cd != NULL)
			g_object_unref(cd);
	}
}

/* NULs would end the value early for GMime: they become spaces. */
static void
unnul(char *s, size_t len)
{
	char   *p = s, *e = s + len;

	while ((p = memchr(p, '\0', (size_t)(e - p))) != NULL)
		*p++ = ' ';
	s[len] = '\0';
}

/* Length of the field name in ${f} before the colon, or 0 if ${f} is no field. */
static size_t
field_name(const char *f, size_t len, size_t *colon)
{
	size_t	i, n;

	for (i = 0; i < len && f[i] != ':' && (unsigned char)f[i] > 32 &&
	    (unsigned char)f[i] < 127; i++)
		;
	n = i;
	while (i < len && is_wsp(f[i]))
		i++;
	if (n == 0 || i >= len || f[i] != ':')
		return (0);
	*colon = i;
	return (n);
}

/* The part header field collected so far is complete. */
static void
field_finish(struct mime *m)
{
	size_t	nlen, colon;

	if (m->flen == 0)
		return;
	if ((nlen = field_name(m->fbuf, m->flen, &colon)) > 0) {
		unnul(m->fbuf, m->flen);
		field_done(m, m->fbuf, nlen, m->fbuf + colon + 1, m->ftrunc);
	}
	m->flen = 0;
	m->ftrunc = 0;
}

/* A new header block: a part, or the header of an attached message. */
static void
block_reset(struct mime *m, int digest)
{
	m->ct_seen = 0;
	m->kind = digest ? K_MSG : K_LEAF;
	m->digest = 0;
	m->blen = 0;
	m->flen = 0;
	m->ftrunc = 0;
}

static void
skip_content(struct mime *m)
{
	m->state = m->nbound > 0 ? S_SKIP : S_OFF;
}

static void
overflow(struct mime *m)
{
	if (!m->overflow) {
		m->overflow = 1;
		m->fn(m->arg, "filename", "", 0, 1);
	}
	skip_content(m);
}

/* The header block has ended: descend into what it announced. */
static void
headers_end(struct mime *m)
{
	struct mime_level *l;

	if (m->kind == K_LEAF) {
		skip_content(m);
		return;
	}
	if (m->depth >= MIME_MAX_DEPTH) {
		overflow(m);
		return;
	}
	l = &m->lv[m->depth++];
	if (m->kind == K_MULTI) {
		l->blen = m->blen;
		l->digest = m->digest;
		memcpy(l->b, m->b, m->blen);
		m->nbound++;
		m->state = S_SKIP;		/* the preamble */
	} else {
		l->blen = 0;
		l->digest = 0;
		m->state = S_HEADERS;
		block_reset(m, 0);
	}
}

/* Leave only ${d} levels. */
static void
pop_to(struct mime *m, int d)
{
	while (m->depth > d)
		if (m->lv[--m->depth].blen > 0)
			m->nbound--;
}

/*
 * If the line ${s} of ${n} octets (terminator excluded) is a boundary line
 * of an enclosing level, act on it and return 1.
 */
static int
boundary_line(struct mime *m, const unsigned char *s, size_t n)
{
	struct mime_level *l;
	int	k;

	if (m->nbound == 0 || n < 3 || s[0] != '-' || s[1] != '-')
		return (0);
	while (n > 2 && is_wsp(s[n - 1]))
		n--;
	s += 2;
	n -= 2;
	for (k = m->depth - 1; k >= 0; k--) {
		l = &m->lv[k];
		if (l->blen == 0 || n < l->blen || memcmp(s, l->b, l->blen) != 0)
			continue;
		if (n == l->blen) {
			pop_to(m, k + 1);
			m->state = S_HEADERS;
			block_reset(m, l->digest);
			return (1);
		}
		if (n == l->blen + 2 && s[n - 2] == '-' && s[n - 1] == '-') {
			pop_to(m, k);
			m->flen = 0;
			m->ftrunc = 0;
			skip_content(m);
			return (1);
		}
	}
	return (0);
}

/* Octets of the current line (no LF; a final CR already held back). */
static void
put(struct mime *m, const unsigned char *s, size_t n)
{
	size_t	k;

	if (n == 0)
		return;
	if (m->llen == 0 && m->state == S_HEADERS) {
		if (is_wsp(s[0]))
			m->fnew = 0;
		else {
			field_finish(m);
			m->fnew = 1;
		}
	}
	if (m->llen < LINE_KEEP) {
		k = LINE_KEEP - m->llen < n ? LINE_KEEP - m->llen : n;
		memcpy(m->lbuf + m->llen, s, k);
	}
	if (m->state == S_HEADERS) {
		k = MIME_FIELD_MAX - m->flen < n ? MIME_FIELD_MAX - m->flen : n;
		memcpy(m->fbuf + m->flen, s, k);
		m->flen += k;
		if (k < n)
			m->ftrunc = 1;
	}
	m->llen += n;
}

/* A piece [s, e) of the current line; ${eol}: an LF follows it. */
static void
line_data(struct mime *m, const unsigned char *s, const unsigned char *e, int eol)
{
	static const unsigned char cr = '\r';

	if (m->lcr) {
		m->lcr = 0;
		if (s == e && eol)
			return;			/* it was the terminator */
		put(m, &cr, 1);
	}
	if (e > s && e[-1] == '\r') {
		e--;
		if (!eol)
			m->lcr = 1;
	}
	put(m, s, (size_t)(e - s));
}

/* The current line has ended. */
static void
line_end(struct mime *m)
{
	size_t	colon;

	if (m->llen <= LINE_KEEP && boundary_line(m, m->lbuf, m->llen))
		;
	else if (m->state == S_HEADERS) {
		if (m->llen == 0) {
			field_finish(m);
			headers_end(m);
		} else if (m->fnew && field_name(m->fbuf, m->flen, &colon) == 0) {
			/* Not a header field: the content has begun. */
			m->flen = 0;
			m->ftrunc = 0;
			skip_content(m);
		}
	}
	m->llen = 0;
	m->fnew = 0;
}

/** mime_new(fn, arg): a scanner reporting names to ${fn}, or NULL. */
struct mime *
mime_new(mime_name_fn *fn, void *arg)
{
	struct mime *m;

	mime_init();
	if ((m = malloc(sizeof(*m))) == NULL)
		return (NULL);
	if ((m->opts = g_mime_parser_options_new()) == NULL) {
		free(m);
		return (NULL);
	}
	g_mime_parser_options_set_rfc2047_compliance_mode(m->opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(m->opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	m->fn = fn;
	m->arg = arg;
	mime_reset(m);
	return (m);
}

/** mime_free(m): free ${m}; NULL is a no-op. */
void
mime_free(struct mime *m)
{
	if (m == NULL)
		return;
	g_mime_parser_options_free(m->opts);
	free(m);
}

/** mime_reset(m): forget the message, ready for the next one. */
void
mime_reset(struct mime *m)
{
	m->state = S_TOP;
	m->depth = 0;
	m->nbound = 0;
	m->overflow = 0;
	m->llen = 0;
	m->lcr = 0;
	m->fnew = 0;
	block_reset(m, 0);
}

/** mime_header(m, name, namelen, value, valuelen): one top-level header field (value as with SMFIP_HDR_LEADSPC). */
void
mime_header(struct mime *m, const char *name, size_t namelen,
    const char *value, size_t valuelen)
{
	size_t	i, n = 0;
	int	trunc = 0;

	if (m->state != S_TOP)
		return;
	while (namelen > 0 && is_wsp(name[namelen - 1]))
		namelen--;
	if (!(namelen == 12 && g_ascii_strncasecmp(name, "Content-Type", 12) == 0) &&
	    !(namelen == 19 && g_ascii_strncasecmp(name, "Content-Disposition", 19) == 0))
		return;
	/* Unfold: the MTA passes the line breaks of a folded value. */
	for (i = 0; i < valuelen; i++) {
		if (value[i] == '\r' || value[i] == '\n')
			continue;
		if (n == MIME_FIELD_MAX) {
			trunc = 1;
			break;
		}
		m->fbuf[n++] = value[i];
	}
	unnul(m->fbuf, n);
	field_done(m, name, namelen, m->fbuf, trunc);
}

/** mime_body(m, buf, len): the next ${len} octets of the body (after the header's empty line). */
void
mime_body(struct mime *m, const unsigned char *buf, size_t len)
{
	const unsigned char *p = buf, *end = buf + len, *nl;
	size_t	n;

	if (m->state == S_TOP)
		headers_end(m);
	while (p < end && m->state != S_OFF) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			line_data(m, p, end, 0);
			return;
		}
		if (m->state == S_SKIP && m->llen == 0 && !m->lcr) {
			/* Fast path: a whole content line in this chunk. */
			n = (size_t)(nl - p);
			if (n >= 3 && p[0] == '-' && p[1] == '-' && n <= LINE_KEEP + 1) {
				if (p[n - 1] == '\r')
					n--;
				if (n <= LINE_KEEP)
					(void)boundary_line(m, p, n);
			}
		} else {
			line_data(m, p, nl, 1);
			line_end(m);
		}
		p = nl + 1;
	}
}

/** mime_end(m): end of the body. */
void
mime_end(struct mime *m)
{
	if (m->state == S_TOP || m->state == S_OFF) {
		m->state = S_OFF;
		return;
	}
	/* An unterminated last line; a CR at the very end is its terminator. */
	if (m->llen > 0 || m->lcr) {
		m->lcr = 0;
		line_end(m);
	}
	if (m->state == S_HEADERS)
		field_finish(m);
	m->state = S_OFF;
}
