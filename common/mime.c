/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mime.c - a streaming MIME scanner that finds attachment names.
 *
 * Interface (mime.h): mime_header() for each top-level header field, then
 * mime_body() for each body chunk of any size, then mime_end(); every
 * `filename` of Content-Disposition and `name` of Content-Type, in the
 * top-level header and in every part header at any depth, goes to the
 * name callback as UTF-8, and the first structure the scanner cannot read
 * exactly (SPEC 4.1) to the structure callback.  mime_set_part_fn() adds a
 * part callback: each header block (the message's, every part's at any
 * depth, multiparts and attached messages included) reports its
 * type/subtype and Content-Transfer-Encoding when it ends, as GMime's
 * object for it has them (mime-type, mime-encoding).
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
 * collected Content-Type / Content-Disposition value goes to GMime.  Only
 * RFC 2047 words are also decoded here, one by one (mime_2047_words()),
 * because GMime joins adjacent words before decoding and then measures a
 * name shorter than a client shows it.
 *
 * The structure is read as GMime's parser (gmime-parser.c, 3.2) reads it,
 * and tests/fuzz/fuzz_mime_oracle.c holds the two against each other:
 * - A boundary line is "--" boundary, or "--" boundary "--", followed by
 *   nothing but white space (space, tab, CR); at each enclosing level from
 *   the innermost out, the closing form is tried before the opening one.
 * - Part headers end at an empty line or a boundary line only.  A line
 *   that is not a header field does not end them (GMime reads on; Postfix
 *   would not, but inserts no empty line into attachments either), it is
 *   skipped with its continuation lines, and it is a structure cause
 *   (GMime loses the field after it when it ends at its buffer's end).
 * - A header field value is unfolded by removing every CR and LF, and
 *   ends at its first NUL, as in GMime; for the names a second reading
 *   with each NUL as a space is reported too, the longer one counting.
 * - The last Content-Type of a header block decides its structure; one
 *   that is not "type/subtype" means text/plain (message/rfc822 in a
 *   multipart/digest).  message/rfc822, rfc2822, global and news are
 *   attached messages; one whose first Content-Transfer-Encoding is
 *   base64, quoted-printable or x-uuencode is opaque content.
 * - The part callback reports GMime's reading of the type and encoding
 *   (last Content-Type, last Content-Transfer-Encoding RFC 2047-decoded)
 *   and also the first Content-Type's type and every class any reading
 *   of any Content-Transfer-Encoding gives (raw or decoded, whole or cut
 *   at ';', ',' or white space as Thunderbird cuts it), so that a rule
 *   sees what every client decodes by.
 *
 * Where that cannot be done exactly, or where mail clients are known to
 * read a structure differently, the structure callback fires (once per
 * message, the first cause): a boundary empty or over 70 octets (it is
 * still followed up to MIME_BOUNDARY_MAX octets), more than
 * MIME_BOUNDARY_WSP octets of white space after a boundary line (still
 * acted on), Content-Type, Content-Disposition or Content-Transfer-Encoding
 * twice in one header block, a Content-Type longer than MIME_FIELD_MAX,
 * nesting past MIME_MAX_DEPTH, a line that is no field in a part header,
 * a part header cut by the end of the body inside a line, an encoded
 * message/ part (any subtype,
 * as SPEC 4.1 says; only the four above are read as messages), a field with
 * more than MIME_OPEN_WORDS "=?" after its last "?=" (GMime's RFC 2047
 * reader is quadratic on those: such a field is not given to it), a
 * Content-Type or Content-Transfer-Encoding that RFC 2047 decoding
 * changes (GMime decodes it, other
 * clients do not), and what GMime reads by the accident of its 4096-octet
 * read buffer: a part header ended by a boundary line (missed when its CR
 * and LF straddle the buffer's end); a boundary at the end of a content
 * line longer than 128 octets or of a part header line, a boundary form
 * with more than 32 octets of white space at the start of a line, and a
 * run of white space over 2048 octets (GMime may cut a line at any of
 * them and read a piece as a boundary line).  A field of more than
 * MIME_PARAMS parameters is not given to GMime either.
 *
 * Structure: a stack of nesting levels (a multipart with its boundary, or
 * a message/rfc822 body), at most MIME_MAX_DEPTH deep.  Body lines are
 * found with memchr(); outside part headers a line matters only if it
 * starts with "--".  Only the first LINE_KEEP octets of a line are kept,
 * and whether everything after them is white space; part header fields
 * are kept up to MIME_FIELD_MAX octets.  Preamble, epilogue and part
 * content are never parsed for headers.
 *
 * Decisions (documented here once):
 * - Lines end with LF; a CR right before it belongs to the terminator.
 * - Every Content-Type and Content-Disposition is searched for names, and
 *   every `filename` / `name` parameter of a field is reported (duplicates
 *   included: MUAs disagree on which one wins).
 * - A field longer than MIME_FIELD_MAX is cut there.  If it is a
 *   Content-Type or Content-Disposition, every name decoded from the kept
 *   part is reported with truncated = 1 (the name may be cut, or another
 *   may follow the cut), and if the kept part holds none, one empty name
 *   is reported with truncated = 1: such a field is never legitimate and
 *   must not hide a name behind the cut.
 * - What the scanner cannot follow (nesting past MIME_MAX_DEPTH, a
 *   multipart whose boundary is longer than MIME_BOUNDARY_MAX) is skipped
 *   as opaque content and also reported once per message as an empty
 *   `filename` with truncated = 1, so that mime-filename-length fails
 *   closed even where mime-structure is off.
 * - When GMime drops a parameter it could not parse (e.g. after a
 *   parameter without "=") or decodes a non-empty value to nothing (a
 *   malformed encoded word), the raw parameter text is reported instead
 *   (quotes removed, sections of a continuation concatenated).  Invalid
 *   UTF-8 in GMime's result (unknown charset, 8-bit raw text) is made
 *   valid with U+FFFD per bad octet, so a length is never under-counted.
 *
 * Invariants: the scanner's own state is allocated in mime_new() only
 * (GMime's parsing of one field allocates and frees); the result never
 * depends on how the body is split into chunks.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime.h"

#define LINE_KEEP	(2 + MIME_BOUNDARY_MAX + 2 + MIME_BOUNDARY_WSP)
#define MIME_OPEN_WORDS	64	/* "=?" no "?=" follows, per field */
#define GMIME_LINE	128	/* GMime may cut a longer content line (SCAN_HEAD) */
#define GMIME_STRIDE	1024	/* probe for a white space run a buffer long */
#define SEEN_MAX	64	/* names per field compared for duplicates */
#define MIME_PARAMS	256	/* parameters per field given to GMime */

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
	int	msg;			/* a message/rfc822 level, no boundary */
	int	digest;			/* multipart/digest */
	size_t	blen;
	char	b[MIME_BOUNDARY_MAX];
};

struct mime {
	mime_name_fn *fn;
	mime_struct_fn *sfn;
	mime_part_fn *pfn;
	void   *arg;
	GMimeParserOptions *opts;

	enum mime_state state;
	int	depth;			/* levels in use */
	int	nbound;			/* levels with a boundary */
	int	overflow;		/* an unreadable part reported as a name */
	int	structured;		/* a structure cause reported */
	struct mime_level lv[MIME_MAX_DEPTH];

	/* The header block being read. */
	int	dflt_msg;		/* without a Content-Type: message/rfc822 */
	int	nct, ncd, ncte;		/* Content-Type, -Disposition, -Transfer-Encoding */
	int	encoded;		/* the first C-T-E is base64, q-p or uuencode */
	int	message;		/* the last Content-Type is message/ */
	int	unfollowed;		/* multipart whose boundary is not held */
	enum mime_kind kind;
	int	digest;
	size_t	blen;
	char	b[MIME_BOUNDARY_MAX];
	/* What the part callback gets for the block (block_end()). */
	int	pending;		/* not reported yet */
	unsigned bgen;			/* blocks begun in this message */
	size_t	blines;			/* lines of the block ended so far */
	size_t	ptlen;			/* type/subtype, lower case; 0: default */
	int	ptcut;
	char	ptype[MIME_TYPE_MAX];
	size_t	pt1len;			/* the first Content-Type's, the same way */
	int	pt1cut;
	char	ptype1[MIME_TYPE_MAX];
	enum mime_cte pcte;		/* GMime's class: the last field, decoded */
	int	pcte_set;		/* a Content-Transfer-Encoding was seen */
	size_t	pcelen;
	int	pcecut;
	char	pce[MIME_CTE_MAX];
	unsigned pctes;			/* classes of every reading of every field */
	size_t	pcvlen[MIME_CTE_N];	/* the first value giving each class */
	int	pcvcut[MIME_CTE_N];
	char	pcv[MIME_CTE_N][MIME_CTE_MAX];

	/* The current line. */
	size_t	llen;			/* octets so far, CR terminator excluded */
	int	lcr;			/* a CR held back at a chunk end */
	int	ltail;			/* octets past LINE_KEEP are all white space
					   (0 once not, or if the line is no "-" line) */
	unsigned char lbuf[LINE_KEEP];
	size_t	ltn;			/* the line's last octets, but at the top */
	int	lws;			/* white space at consecutive probe points */
	int	lwsmax;			/* the most of them in this line */
	unsigned char ltb[LINE_KEEP];

	/* The current header field, and scratch for raw parameter text. */
	size_t	flen;
	int	ftrunc;
	char	fbuf[MIME_FIELD_MAX + 1];
	char	rbuf[MIME_FIELD_MAX + 1];
	GString *seen;			/* "param=name\0" reported for this field */
	int	nseen;			/* how many: past SEEN_MAX, no more checks */
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

/* GMime's linear white space after a boundary (the LF never occurs). */
static int
is_lwsp(int c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

static int
all_lwsp(const unsigned char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!is_lwsp(s[i]))
			return (0);
	return (1);
}

/* The first structure cause of the message goes to the callback. */
static void
structure(struct mime *m, const char *detail)
{
	if (m->structured)
		return;
	m->structured = 1;
	if (m->sfn != NULL)
		m->sfn(m->arg, detail);
}

/*
 * Report a name once per field (several readings may find the same).
 * Only the first SEEN_MAX are compared: a field of thousands of names
 * would make that quadratic, and a name reported twice does no harm.
 */
static void
report_once(struct mime *m, const char *param, const char *v, size_t len,
    int trunc)
{
	const char *p = m->seen->str, *e = m->seen->str + m->seen->len;
	size_t	pl = strlen(param), n;

	if (m->nseen >= SEEN_MAX) {
		m->fn(m->arg, param, v, len, trunc);
		return;
	}
	for (; p < e; p += n + 1) {
		n = strlen(p);
		if (n == pl + 1 + len && memcmp(p, param, pl) == 0 &&
		    memcmp(p + pl + 1, v, len) == 0)
			return;
	}
	if (memchr(v, '\0', len) == NULL) {
		g_string_append(m->seen, param);
		g_string_append_c(m->seen, '=');
		g_string_append_len(m->seen, v, (gssize)len);
		g_string_append_c(m->seen, '\0');
		m->nseen++;
	}
	m->fn(m->arg, param, v, len, trunc);
}

/* Names are reported as valid UTF-8, never shorter than what a MUA shows. */
static void
report(struct mime *m, const char *param, const char *v, size_t len, int trunc)
{
	gchar  *fixed;

	if (g_utf8_validate(v, (gssize)len, NULL)) {
		report_once(m, param, v, len, trunc);
		return;
	}
	fixed = g_utf8_make_valid(v, (gssize)len);
	report_once(m, param, fixed, strlen(fixed), trunc);
	g_free(fixed);
}

/* Append ${n} octets of charset ${cs} to ${out} as valid UTF-8. */
static void
append_charset(GString *out, const char *cs, const char *s, size_t n)
{
	const char *star;
	char	name[64];
	gchar  *u = NULL, *fixed, *guess;
	iconv_t	cd;
	size_t	cl;
	int	unknown = 0;

	/* RFC 2231 allows a language after the charset: "utf-8*en". */
	cl = (star = strchr(cs, '*')) != NULL ? (size_t)(star - cs) : strlen(cs);
	if (cl >= sizeof(name))
		unknown = 1;
	else if (cl > 0) {
		memcpy(name, cs, cl);
		name[cl] = '\0';
		if (g_ascii_strcasecmp(name, "utf-8") != 0 &&
		    g_ascii_strcasecmp(name, "utf8") != 0 &&
		    g_ascii_strcasecmp(name, "us-ascii") != 0) {
			if ((cd = g_mime_iconv_open("UTF-8", name)) != (iconv_t)-1) {
				u = g_mime_iconv_strndup(cd, s, n);
				g_mime_iconv_close(cd);
			}
			/* Yielding nothing from something is failing. */
			if (u != NULL && *u == '\0' && n > 0) {
				g_free(u);
				u = NULL;
			}
			unknown = u == NULL;
		}
	}
	if (u != NULL) {
		s = u;
		n = strlen(u);
	}
	/* Bad octets: U+FFFD each, never shorter. */
	fixed = g_utf8_make_valid(s, (gssize)n);
	if (unknown) {
		/*
		 * A charset iconv does not know: GMime (and so a client
		 * built on it) guesses one for the octets, which can be
		 * longer than U+FFFD per bad octet: the longer reading.
		 */
		guess = g_mime_utils_decode_8bit(NULL, s, n);
		if (guess != NULL && strlen(guess) > strlen(fixed)) {
			g_free(fixed);
			fixed = guess;
			guess = NULL;
		}
		g_free(guess);
	}
	g_string_append(out, fixed);
	g_free(fixed);
	g_free(u);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Decode the payload of one encoded word in place; its new length. */
static size_t
decode_word(int enc, char *t, size_t n)
{
	size_t	i, o = 0;
	int	state = 0, h, l;
	guint32	save = 0;

	if (enc == 'B' || enc == 'b')
		return (g_mime_encoding_base64_decode_step((unsigned char *)t,
		    n, (unsigned char *)t, &state, &save));
	for (i = 0; i < n; i++) {
		if (t[i] == '_')
			t[o++] = ' ';
		else if (t[i] == '=' && i + 2 < n &&
		    (h = hexval((unsigned char)t[i + 1])) >= 0 &&
		    (l = hexval((unsigned char)t[i + 2])) >= 0) {
			t[o++] = (char)(h * 16 + l);
			i += 2;
		} else
			t[o++] = t[i];
	}
	return (o);
}

/*
 * The encoded word "=?cs?e?text?=" at ${p} (up to ${e}): its length, the
 * charset and the payload bounds; 0 if ${p} starts none.  As GMime's
 * loose tokenizer: the charset runs to the next '?', the text to "?=".
 */
static size_t
encoded_word(const char *p, const char *e, const char **cs, size_t *csl,
    int *enc, const char **t, size_t *tl)
{
	const char *q, *r;

	if (e - p < 8 || p[0] != '=' || p[1] != '?')
		return (0);
	for (q = p + 2; q < e && *q != '?'; q++)
		;
	if (e - q < 5 || strchr("BbQq", q[1]) == NULL || q[1] == '\0' ||
	    q[2] != '?')
		return (0);
	if ((r = memmem(q + 3, (size_t)(e - q - 3), "?=", 2)) == NULL)
		return (0);
	*cs = p + 2;
	*csl = (size_t)(q - p - 2);
	*enc = q[1];
	*t = q + 3;
	*tl = (size_t)(r - q - 3);
	return ((size_t)(r + 2 - p));
}

/** mime_2047_words(in, len, out): decode RFC 2047 words of ${in} one by one into the GString ${out}. */
void
mime_2047_words(const char *in, size_t len, GString *out)
{
	const char *p = in, *e, *cs, *t, *w, *text;
	char	csname[64], *buf;
	size_t	n, csl, tl;
	int	enc, prev_word = 0;

	mime_init();
	/*
	 * No word can end after the last "?=": searching up to it only keeps
	 * the scan linear (a failed candidate never searches the rest).
	 */
	for (e = in + len; e - in >= 2 && !(e[-2] == '?' && e[-1] == '='); e--)
		;
	while (p < e) {
		/* White space between two encoded words is dropped. */
		for (w = p; w < e && is_lwsp((unsigned char)*w); w++)
			;
		if (w > p && w < e && prev_word &&
		    encoded_word(w, e, &cs, &csl, &enc, &t, &tl) > 0) {
			p = w;
			continue;
		}
		if ((n = encoded_word(p, e, &cs, &csl, &enc, &t, &tl)) > 0) {
			buf = g_strndup(t, tl);
			tl = decode_word(enc, buf, tl);
			if (csl >= sizeof(csname))
				csl = 0;	/* no such charset: raw octets */
			memcpy(csname, cs, csl);
			csname[csl] = '\0';
			append_charset(out, csname, buf, tl);
			g_free(buf);
			p += n;
			prev_word = 1;
			continue;
		}
		/* Plain text up to the next "=?" that could start a word. */
		text = p;
		for (p++; p < e && !(p[0] == '=' && p + 1 < e && p[1] == '?'); p++)
			;
		append_charset(out, "", text, (size_t)(p - text));
		prev_word = 0;
	}
	/* The text after the last "?=". */
	if (e < in + len)
		append_charset(out, "", e, (size_t)(in + len - e));
}

/*
 * The raw text of every parameter of ${v} named ${want} (and, unless
 * ${each}, ${want}*...) after the first ';', unquoted and concatenated
 * into m->rbuf; its length, or -1 when there is none.  With ${each}, each
 * one named exactly ${want} goes through mime_2047_words() instead and is
 * reported (report_once() drops it if GMime's reading was the same).
 */
static long
raw_param(struct mime *m, const char *v, const char *want, int each, int trunc)
{
	size_t	wl = strlen(want), n = 0, start;
	const char *p = v, *ns, *ne;
	int	found = 0, quoted = 0;
	GString *g;

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
		    ((size_t)(ne - ns) == wl || (!each && ns[wl] == '*'))) {
			found = 1;
			start = n;
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
			if (each) {
				g = g_string_new(NULL);
				mime_2047_words(m->rbuf + start, n - start, g);
				report(m, want, g->str, g->len, trunc);
				g_string_free(g, TRUE);
				n = start;
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
	int	i, n, reported = 0, words = 0;
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
		if (g_mime_param_get_encoding_method(p) ==
		    GMIME_PARAM_ENCODING_METHOD_RFC2047)
			words = 1;
	}
	/* GMime joined adjacent encoded words: also each word on its own. */
	if (words)
		(void)raw_param(m, v, want, 1, trunc);
	if (reported)
		return;
	if ((rl = raw_param(m, v, want, 0, trunc)) >= 0)
		report(m, want, m->rbuf, (size_t)rl, trunc);
	else if (trunc)
		report(m, want, "", 0, 1);
}

/* GMime's token characters of a MIME type. */
static int
is_ttoken(int c)
{
	return (c > 32 && c != 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL);
}

/* Skip white space and (nested) comments, as GMime's skip_cfws(). */
static const char *
skip_cfws(const char *p)
{
	int	depth;

	for (;;) {
		while (is_lwsp((unsigned char)*p))
			p++;
		if (*p != '(')
			return (p);
		for (p++, depth = 1; *p != '\0' && depth > 0; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
		}
		if (depth > 0)
			return (p);
	}
}

/*
 * The "type/subtype" that ${v} starts with, as GMime's parser reads it to
 * decide the structure (from the raw value, before RFC 2047 decoding):
 * 1 and the two tokens, or 0 when there is none.
 */
static int
ct_tokens(const char *v, const char **t, size_t *tl, const char **st,
    size_t *stl)
{
	const char *p = skip_cfws(v);

	for (*t = p; is_ttoken((unsigned char)*p); p++)
		;
	*tl = (size_t)(p - *t);
	p = skip_cfws(p);
	if (*p++ != '/')
		return (0);
	for (*st = p = skip_cfws(p); is_ttoken((unsigned char)*p); p++)
		;
	*stl = (size_t)(p - *st);
	return (*stl > 0);
}

static int
token_is(const char *t, size_t tl, const char *want)
{
	return (tl == strlen(want) && g_ascii_strncasecmp(t, want, tl) == 0);
}

/* The class g_mime_content_encoding_from_string() gives ${r}. */
static enum mime_cte
cte_class(const char *r)
{

	switch (g_mime_content_encoding_from_string(r)) {
	case GMIME_CONTENT_ENCODING_7BIT:
		return (MIME_CTE_7BIT);
	case GMIME_CONTENT_ENCODING_8BIT:
		return (MIME_CTE_8BIT);
	case GMIME_CONTENT_ENCODING_BINARY:
		return (MIME_CTE_BINARY);
	case GMIME_CONTENT_ENCODING_BASE64:
		return (MIME_CTE_BASE64);
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		return (MIME_CTE_QUOTED_PRINTABLE);
	default:
		return (MIME_CTE_OTHER);
	}
}

/*
 * One Content-Transfer-Encoding of the block, the unfolded value ${v}:
 * GMime's part decodes by ${r} (${v} RFC 2047-decoded) of the last one.
 */
static void
part_cte(struct mime *m, const char *r, const char *v)
{
	size_t	n = strlen(v);

	m->pcte = cte_class(r);
	m->pcte_set = 1;
	m->pcecut = n > MIME_CTE_MAX;
	m->pcelen = m->pcecut ? MIME_CTE_MAX : n;
	memcpy(m->pce, v, m->pcelen);
}

/*
 * One reading ${r} of the Content-Transfer-Encoding ${v}: whole, as GMime
 * reads it, and cut at its first ';', ',' or white space, as Thunderbird
 * does (MimeHeaders_get()); a rule fires if any reading of any field is
 * listed, so no client decodes by one the rule did not see.
 */
static void
cte_readings(struct mime *m, const char *r, const char *v)
{
	enum mime_cte k[2];
	size_t	n, i;
	char   *t;

	t = g_strndup(r, strcspn(r, ";, \t\r\n\f\v"));
	k[0] = cte_class(r);
	k[1] = cte_class(t);
	g_free(t);
	for (i = 0; i < 2; i++) {
		if (m->pctes & (1u << k[i]))
			continue;
		m->pctes |= 1u << k[i];
		n = strlen(v);
		m->pcvcut[k[i]] = n > MIME_CTE_MAX;
		m->pcvlen[k[i]] = m->pcvcut[k[i]] ? MIME_CTE_MAX : n;
		memcpy(m->pcv[k[i]], v, m->pcvlen[k[i]]);
	}
}

/* Append ${n} octets of ${s} in lower case to the block's type, cut at MIME_TYPE_MAX. */
static void
part_type_add(struct mime *m, const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (m->ptlen == MIME_TYPE_MAX) {
			m->ptcut = 1;
			return;
		}
		m->ptype[m->ptlen++] = g_ascii_tolower(s[i]);
	}
}

/* The block's type is ${t}/${st} (the last Content-Type wins). */
static void
part_type(struct mime *m, const char *t, size_t tl, const char *st, size_t sl)
{
	m->ptlen = 0;
	m->ptcut = 0;
	part_type_add(m, t, tl);
	part_type_add(m, "/", 1);
	part_type_add(m, st, sl);
}

/*
 * One Content-Type, the last one winning: its type from the raw value
 * ${v}, its boundary from ${ct} parsed from the decoded value (GMime's
 * parser takes the one from the first, its object the other).
 */
static void
content_type(struct mime *m, GMimeContentType *ct, const char *v, int trunc)
{
	const char *s, *t, *sub;
	size_t	tl, sl;

	if (++m->nct == 2)
		structure(m, "Content-Type twice in one header");
	if (trunc)
		structure(m, "Content-Type longer than 16384 octets");
	/*
	 * The type the part callback reports is GMime's object's (decoded
	 * value); without one (not handed to GMime, a structure cause
	 * already) the raw tokens, else what GMime makes of a value it
	 * cannot parse.
	 */
	if (ct != NULL) {
		t = g_mime_content_type_get_media_type(ct);
		sub = g_mime_content_type_get_media_subtype(ct);
		part_type(m, t, t != NULL ? strlen(t) : 0, sub,
		    sub != NULL ? strlen(sub) : 0);
	} else if (ct_tokens(v, &t, &tl, &sub, &sl))
		part_type(m, t, tl, sub, sl);
	else
		part_type(m, "application", 11, "octet-stream", 12);
	if (m->nct == 1) {
		/* Thunderbird reads the first: the rules see it too. */
		memcpy(m->ptype1, m->ptype, m->ptlen);
		m->pt1len = m->ptlen;
		m->pt1cut = m->ptcut;
	}
	m->kind = m->dflt_msg ? K_MSG : K_LEAF;
	m->digest = 0;
	m->blen = 0;
	m->unfollowed = 0;
	m->message = 0;
	if (!ct_tokens(v, &t, &tl, &sub, &sl))
		return;
	m->kind = K_LEAF;
	m->message = token_is(t, tl, "message");
	if (token_is(t, tl, "multipart")) {
		/*
		 * Whether parts default to message/rfc822 GMime takes from its
		 * object, i.e. the decoded value, like the boundary.
		 */
		m->digest = ct != NULL &&
		    g_mime_content_type_is_type(ct, "multipart", "digest");
		if (ct == NULL) {
			/* Not parsed (see field_done()): cannot be followed. */
			m->unfollowed = 1;
			return;
		}
		if ((s = g_mime_content_type_get_parameter(ct, "boundary")) == NULL)
			return;
		m->blen = strlen(s);
		if (m->blen == 0)
			structure(m, "empty boundary");
		else if (m->blen > MIME_BOUNDARY_MAX)
			structure(m, "boundary longer than 200 octets");
		else if (m->blen > MIME_BOUNDARY_RFC)
			structure(m, "boundary longer than 70 octets");
		if (m->blen > MIME_BOUNDARY_MAX) {
			m->unfollowed = 1;
			return;
		}
		memcpy(m->b, s, m->blen);
		m->kind = K_MULTI;
	} else if (token_is(t, tl, "message") && (token_is(sub, sl, "rfc822") ||
	    token_is(sub, sl, "rfc2822") || token_is(sub, sl, "global") ||
	    token_is(sub, sl, "news")))
		m->kind = K_MSG;
}

/*
 * 1 if the Content-Types ${x} and ${y} (either NULL when it did not parse)
 * differ in type, subtype or boundary: GMime reads the decoded value,
 * most clients the raw one.
 */
static int
ct_differs(GMimeContentType *x, GMimeContentType *y)
{
	const char *bx, *by;
	int	d;

	if (x == NULL || y == NULL)
		d = x != y;
	else {
		bx = g_mime_content_type_get_parameter(x, "boundary");
		by = g_mime_content_type_get_parameter(y, "boundary");
		d = g_ascii_strcasecmp(g_mime_content_type_get_media_type(x),
		    g_mime_content_type_get_media_type(y)) != 0 ||
		    g_ascii_strcasecmp(g_mime_content_type_get_media_subtype(x),
		    g_mime_content_type_get_media_subtype(y)) != 0 ||
		    (bx == NULL) != (by == NULL) ||
		    (bx != NULL && strcmp(bx, by) != 0);
	}
	return (d);
}

/* How many ';' ${v} holds: about how many parameters GMime would parse. */
static size_t
semicolons(const char *v)
{
	size_t	n = 0;

	while ((v = strchr(v, ';')) != NULL) {
		n++;
		v++;
	}
	return (n);
}

/* How many "=?" of ${v} come after its last "?=" (they can start no word). */
static size_t
open_words(const char *v)
{
	const char *p = v, *q, *last = v;
	size_t	n = 0;

	while ((q = strstr(p, "?=")) != NULL) {
		last = q + 2;
		p = q + 1;
	}
	for (p = last; (q = strstr(p, "=?")) != NULL; p = q + 2)
		n++;
	return (n);
}

/*
 * The names of a Content-Type (${ctype}) or Content-Disposition value
 * ${v}; and the structure of the block from it and the raw value ${raw},
 * unless ${names_only}.  A Content-Type is returned as GMime parsed it
 * (the caller unrefs it), or NULL.
 */
static GMimeContentType *
field_params(struct mime *m, int ctype, const char *v, const char *raw,
    int trunc, int names_only)
{
	GMimeContentType *ct;
	GMimeContentDisposition *cd;

	if (ctype) {
		if ((ct = g_mime_content_type_parse(m->opts, v)) == NULL) {
			report_params(m, NULL, v, "name", trunc);
			return (NULL);
		}
		if (!names_only)
			content_type(m, ct, raw, trunc);
		report_params(m, g_mime_content_type_get_parameters(ct), v,
		    "name", trunc);
		return (ct);
	}
	cd = g_mime_content_disposition_parse(m->opts, v);
	report_params(m, cd != NULL ?
	    g_mime_content_disposition_get_parameters(cd) : NULL, v,
	    "filename", trunc);
	if (cd != NULL)
		g_object_unref(cd);
	return (NULL);
}

/*
 * One complete header field: names from the unfolded value ${v}, and,
 * unless ${names_only} (the second, NUL-as-space reading of a field), the
 * structure of the block from ${raw}, the value as GMime's parser decides
 * on it (not unfolded: a CR in it ends a token there).
 */
static void
field_done(struct mime *m, const char *name, size_t nlen, char *v,
    const char *raw, int trunc, int names_only)
{
	GMimeContentEncoding ce;
	GMimeContentType *x, *y;
	int	ctype, many;
	char   *dec;
	long	rl;

	ctype = nlen == 12 && g_ascii_strncasecmp(name, "Content-Type", 12) == 0;
	if (ctype || (nlen == 19 &&
	    g_ascii_strncasecmp(name, "Content-Disposition", 19) == 0)) {
		if (!ctype && !names_only && ++m->ncd == 2)
			structure(m, "Content-Disposition twice in one header");
		/*
		 * GMime's RFC 2047 reader rescans the rest of the value for
		 * every "=?" that no "?=" follows: quadratic in the field.
		 * Such a field (raw, or once decoded, when GMime's parameter
		 * parser reads it again), or one of hundreds of parameters
		 * (each read up to four times), is never real mail; it is not
		 * handed to GMime, its raw names are reported and its
		 * structure is unknown.
		 *
		 * GMime's object decodes RFC 2047 words in the whole value
		 * before it parses it, so a boundary or a name can hide in
		 * one: that reading decides, and the raw one is reported too.
		 */
		dec = NULL;
		many = semicolons(v) > MIME_PARAMS;
		if (open_words(v) <= MIME_OPEN_WORDS && !many &&
		    (dec = g_mime_utils_header_decode_text(m->opts, v)) != NULL &&
		    open_words(dec) > MIME_OPEN_WORDS) {
			g_free(dec);
			dec = NULL;
		}
		if (dec == NULL) {
			if (!names_only) {
				structure(m, many ?
				    "more than 256 parameters in one field" :
				    "more than 64 unterminated encoded words in one field");
				if (ctype)
					content_type(m, NULL, raw, trunc);
			}
			if ((rl = raw_param(m, v, ctype ? "name" : "filename",
			    0, trunc)) >= 0)
				report(m, ctype ? "name" : "filename", m->rbuf,
				    (size_t)rl, trunc);
			return;
		}
		x = field_params(m, ctype, dec, raw, trunc, names_only);
		if (strcmp(dec, v) != 0) {
			y = field_params(m, ctype, v, NULL, trunc, 1);
			if (ctype && !names_only && ct_differs(x, y))
				structure(m, "Content-Type changed by RFC 2047 "
				    "decoding");
			if (y != NULL)
				g_object_unref(y);
		}
		if (x != NULL)
			g_object_unref(x);
		g_free(dec);
	} else if (!names_only && nlen == 25 &&
	    g_ascii_strncasecmp(name, "Content-Transfer-Encoding", 25) == 0) {
		if (++m->ncte == 2)
			structure(m, "Content-Transfer-Encoding twice in one header");
		else {
			ce = g_mime_content_encoding_from_string(raw);
			m->encoded = ce == GMIME_CONTENT_ENCODING_BASE64 ||
			    ce == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
			    ce == GMIME_CONTENT_ENCODING_UUENCODE;
		}
		/*
		 * GMime's part decodes by the last field, unfolded (a CR in
		 * it is no white space) and RFC 2047-decoded
		 * (g_mime_header_get_value()); other clients read the raw
		 * value, so a change by decoding is a structure cause.  The
		 * rules see every reading of every field.
		 */
		dec = NULL;
		if (open_words(v) > MIME_OPEN_WORDS ||
		    (dec = g_mime_utils_header_decode_text(m->opts, v)) == NULL)
			structure(m, "more than 64 unterminated encoded words "
			    "in one field");
		else if (strcmp(dec, v) != 0)
			structure(m, "Content-Transfer-Encoding changed by "
			    "RFC 2047 decoding");
		part_cte(m, dec != NULL ? dec : v, v);
		cte_readings(m, v, v);
		if (dec != NULL) {
			cte_readings(m, dec, v);
			g_free(dec);
		}
	}
}

/* ${v} of ${n} octets without space and tab at either end, NUL-terminated. */
static char *
trim(char *v, size_t n)
{
	while (n > 0 && is_wsp(v[n - 1]))
		n--;
	v[n] = '\0';
	while (is_wsp(*v))
		v++;
	return (v);
}

/*
 * The value ${v} of ${len} octets (NUL-terminated at ${len}) as GMime
 * reads it: raw, and unfolded with every CR and LF removed, both cut at
 * the first NUL; then, if it held a NUL, the names once more with each NUL
 * a space.  ${v} is changed.
 */
static void
field_value(struct mime *m, const char *name, size_t nlen, char *v, size_t len,
    int trunc)
{
	size_t	i, n = 0;
	int	nul = 0;
	char   *raw;

	g_string_truncate(m->seen, 0);
	m->nseen = 0;
	raw = g_strdup(v);
	for (i = 0; i < len; i++)
		if (v[i] != '\r' && v[i] != '\n') {
			nul |= v[i] == '\0';
			v[n++] = v[i];
		}
	v[n] = '\0';
	/* GMime's unfolding also trims white space at both ends. */
	field_done(m, name, nlen, trim(v, strlen(v)), raw, trunc, 0);
	g_free(raw);
	if (!nul)
		return;
	for (i = 0; i < n; i++)
		if (v[i] == '\0')
			v[i] = ' ';
	field_done(m, name, nlen, trim(v, n), NULL, trunc, 1);
}

/*
 * Length of the field name in ${f} before the colon, or 0 if ${f} is no
 * field: no white space or control character inside the name, white space
 * allowed before the colon (GMime allows 8-bit octets too, but no field
 * we look at has one).
 */
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
		m->fbuf[m->flen] = '\0';
		field_value(m, m->fbuf, nlen, m->fbuf + colon + 1,
		    m->flen - colon - 1, m->ftrunc);
	} else
		/*
		 * Postfix ends part headers there, GMime skips the line, and
		 * loses the field after it when the line ends at its read
		 * buffer's end (the fuzz oracle): no one reading.
		 */
		structure(m, "a line that is no header field in a part header");
	m->flen = 0;
	m->ftrunc = 0;
}

/* A new header block: a part, or the header of an attached message. */
static void
block_reset(struct mime *m, int digest)
{
	m->dflt_msg = digest;
	m->nct = m->ncd = m->ncte = 0;
	m->encoded = 0;
	m->message = 0;
	m->unfollowed = 0;
	m->kind = digest ? K_MSG : K_LEAF;
	m->digest = 0;
	m->blen = 0;
	m->flen = 0;
	m->ftrunc = 0;
	m->pending = 1;
	m->bgen++;
	m->blines = 0;
	m->ptlen = 0;
	m->ptcut = 0;
	m->pt1len = 0;
	m->pt1cut = 0;
	m->pcte = MIME_CTE_7BIT;
	m->pcte_set = 0;
	m->pcelen = 0;
	m->pcecut = 0;
	m->pctes = 0;
}

/*
 * The header block has ended, however (an empty line, a boundary line,
 * the end of the body): its type and encoding go to the part callback,
 * once.
 */
static void
block_end(struct mime *m)
{
	struct mime_part p;
	int	k;

	if (!m->pending)
		return;
	m->pending = 0;
	if (m->pfn == NULL)
		return;
	memset(&p, 0, sizeof(p));
	if (m->ptlen > 0 || m->ptcut) {
		p.type = m->ptype;
		p.typelen = m->ptlen;
		p.type_cut = m->ptcut;
	} else if (m->dflt_msg) {
		p.type = "message/rfc822";
		p.typelen = 14;
	} else {
		p.type = "text/plain";
		p.typelen = 10;
	}
	p.type1 = p.type;
	p.type1len = p.typelen;
	p.type1_cut = p.type_cut;
	if (m->nct >= 2) {
		p.type1 = m->ptype1;
		p.type1len = m->pt1len;
		p.type1_cut = m->pt1cut;
	}
	p.cte = m->pcte;
	if (m->pcte_set) {
		p.cte_value = m->pce;
		p.cte_len = m->pcelen;
		p.cte_cut = m->pcecut;
		p.ctes = m->pctes;
		for (k = 0; k < MIME_CTE_N; k++)
			if (m->pctes & (1u << k)) {
				p.cte_by[k] = m->pcv[k];
				p.cte_by_len[k] = m->pcvlen[k];
				p.cte_by_cut[k] = m->pcvcut[k];
			}
	} else
		p.ctes = 1u << MIME_CTE_7BIT;
	m->pfn(m->arg, &p);
}

static void
skip_content(struct mime *m)
{
	m->state = m->nbound > 0 ? S_SKIP : S_OFF;
}

/* A part the scanner cannot read: a name may hide in it. */
static void
unreadable(struct mime *m)
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

	block_end(m);
	if ((m->kind == K_MSG || m->message) && m->encoded) {
		structure(m, "encoded message part");
		m->kind = K_LEAF;
	}
	if (m->unfollowed) {
		structure(m, "boundary longer than 200 octets");
		unreadable(m);
		return;
	}
	if (m->kind == K_LEAF) {
		skip_content(m);
		return;
	}
	if (m->depth >= MIME_MAX_DEPTH) {
		structure(m, "nesting deeper than 100 levels");
		unreadable(m);
		return;
	}
	l = &m->lv[m->depth++];
	if (m->kind == K_MULTI) {
		l->msg = 0;
		l->blen = m->blen;
		l->digest = m->digest;
		memcpy(l->b, m->b, m->blen);
		m->nbound++;
		m->state = S_SKIP;		/* the preamble */
	} else {
		l->msg = 1;
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
		if (!m->lv[--m->depth].msg)
			m->nbound--;
}

/*
 * Whether the line (its first ${kept} octets ${s}, ${n} in all, ${tail}:
 * the octets past ${kept} are all white space) is "--" b, plus "--" if
 * ${fin}, followed by white space only; the amount of that white space.
 */
static int
is_boundary(const struct mime_level *l, const unsigned char *s, size_t kept,
    size_t n, int tail, int fin, size_t *wsp)
{
	size_t	need = 2 + l->blen + (fin ? 2 : 0);

	if (n < need || memcmp(s + 2, l->b, l->blen) != 0 ||
	    (fin && (s[need - 2] != '-' || s[need - 1] != '-')))
		return (0);
	if (!all_lwsp(s + need, kept - need) || (n > kept && !tail))
		return (0);
	*wsp = n - need;
	return (1);
}

/*
 * The innermost level whose boundary line the line is, or -1; ${fin}: the
 * closing form.  ${s}: its first ${kept} octets (at least LINE_KEEP of
 * them unless the line is shorter), ${n} in all; ${tail}: the rest is all
 * white space.  As GMime: innermost level first, closing form first.
 */
static int
boundary_match(const struct mime *m, const unsigned char *s, size_t kept,
    size_t n, int tail, int *fin, size_t *wsp)
{
	const struct mime_level *l;
	int	k;

	if (m->nbound == 0 || n < 2 || s[0] != '-' || s[1] != '-')
		return (-1);
	for (k = m->depth - 1; k >= 0; k--) {
		l = &m->lv[k];
		if (l->msg)
			continue;
		if (is_boundary(l, s, kept, n, tail, 1, wsp)) {
			*fin = 1;
			return (k);
		}
		if (is_boundary(l, s, kept, n, tail, 0, wsp)) {
			*fin = 0;
			return (k);
		}
	}
	return (-1);
}

/*
 * 1 if the line (its first ${kept} octets ${s}, ${n} in all) starts with a
 * boundary form of an enclosing level and more than MIME_BOUNDARY_WSP
 * octets of white space (or white space to the end of what is kept),
 * whatever follows: GMime may cut it inside that white space (see
 * long_line()) and take the first piece for a boundary line.
 */
static int
padded_prefix(const struct mime *m, const unsigned char *s, size_t kept,
    size_t n)
{
	const struct mime_level *l;
	size_t	need, w;
	int	k, fin;

	if (m->nbound == 0 || kept < 2 || s[0] != '-' || s[1] != '-')
		return (0);
	for (k = m->depth - 1; k >= 0; k--) {
		l = &m->lv[k];
		if (l->msg || kept < 2 + l->blen ||
		    memcmp(s + 2, l->b, l->blen) != 0)
			continue;
		for (fin = 0; fin < 2; fin++) {
			need = 2 + l->blen + (fin ? 2 : 0);
			if (fin && (kept < need || s[need - 2] != '-' ||
			    s[need - 1] != '-'))
				continue;
			for (w = 0; need + w < kept && is_lwsp(s[need + w]); w++)
				;
			if (w > MIME_BOUNDARY_WSP || (need + w == kept && n > kept))
				return (1);
		}
	}
	return (0);
}

/* If the line is a boundary line (boundary_match()), act on it: 1. */
static int
boundary_line(struct mime *m, const unsigned char *s, size_t kept, size_t n,
    int tail)
{
	size_t	wsp;
	int	k, fin;

	if ((k = boundary_match(m, s, kept, n, tail, &fin, &wsp)) < 0)
		return (0);
	if (m->state == S_HEADERS)
		block_end(m);		/* a part header ended by it */
	if (fin) {
		pop_to(m, k);
		m->flen = 0;
		m->ftrunc = 0;
		skip_content(m);
	} else {
		pop_to(m, k + 1);
		m->state = S_HEADERS;
		block_reset(m, m->lv[k].digest);
	}
	if (wsp > MIME_BOUNDARY_WSP)
		structure(m, "more than 32 octets of white space after a boundary");
	return (1);
}

/*
 * Probe the line at offsets GMIME_STRIDE - 1, 2 * GMIME_STRIDE - 1, ...:
 * three white space probes in a row mean a run of more than 2048 octets,
 * in which GMime's read buffer may end on both sides of a boundary.
 * ${s}: the line's next ${n} octets, from offset m->llen.
 */
static void
probe_ws(struct mime *m, const unsigned char *s, size_t n)
{
	size_t	q;

	for (q = GMIME_STRIDE - 1 - m->llen % GMIME_STRIDE; q < n;
	    q += GMIME_STRIDE) {
		m->lws = is_lwsp(s[q]) ? m->lws + 1 : 0;
		if (m->lws > m->lwsmax)
			m->lwsmax = m->lws;
	}
}

/* Octets of the current line (no LF; a final CR already held back). */
static void
put(struct mime *m, const unsigned char *s, size_t n)
{
	size_t	k;

	if (n == 0)
		return;
	/* A line that does not start with white space starts a field. */
	if (m->llen == 0 && m->state == S_HEADERS && !is_wsp(s[0]))
		field_finish(m);
	k = 0;
	if (m->llen < LINE_KEEP) {
		k = LINE_KEEP - m->llen < n ? LINE_KEEP - m->llen : n;
		memcpy(m->lbuf + m->llen, s, k);
	}
	if (k < n && m->ltail)
		m->ltail = m->lbuf[0] == '-' && all_lwsp(s + k, n - k);
	if (m->state == S_SKIP || m->state == S_HEADERS) {
		probe_ws(m, s, n);
		if (n >= LINE_KEEP) {
			memcpy(m->ltb, s + n - LINE_KEEP, LINE_KEEP);
			m->ltn = LINE_KEEP;
		} else {
			if (m->ltn + n > LINE_KEEP) {
				k = m->ltn + n - LINE_KEEP;
				memmove(m->ltb, m->ltb + k, m->ltn - k);
				m->ltn -= k;
			}
			memcpy(m->ltb + m->ltn, s, n);
			m->ltn += n;
		}
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

/*
 * GMime reads a content line that straddles the end of its 4096-octet
 * buffer with more than 128 octets before it as two lines (a header line
 * whatever its length), and tries the second for a boundary: so a
 * boundary at the end of a line can open a part that no client sees.  A
 * line of ${n} octets longer than ${min} whose last ${tn} octets ${t} end
 * in a boundary and white space (or are all white space, hiding what
 * precedes) is a structure cause.
 */
static void
long_line(struct mime *m, const unsigned char *t, size_t tn, size_t n,
    size_t min)
{
	const struct mime_level *l;
	size_t	w = 0, r, need;
	int	k;

	if (m->nbound == 0 || n <= min)
		return;
	while (w < tn && is_lwsp(t[tn - 1 - w]))
		w++;
	r = tn - w;
	for (k = m->depth - 1; k >= 0; k--) {
		l = &m->lv[k];
		if (l->msg)
			continue;
		need = 2 + l->blen;
		if ((r >= need && memcmp(t + r - l->blen, l->b, l->blen) == 0 &&
		    t[r - need] == '-' && t[r - need + 1] == '-') ||
		    (r >= need + 2 && t[r - 1] == '-' && t[r - 2] == '-' &&
		    memcmp(t + r - 2 - l->blen, l->b, l->blen) == 0 &&
		    t[r - need - 2] == '-' && t[r - need - 1] == '-'))
			break;
	}
	if (k >= 0 || (w == tn && n > tn))
		structure(m, min > 0 ? "a boundary at the end of a line longer "
		    "than 128 octets" : "a boundary at the end of a part header "
		    "line");
}

/*
 * White space where GMime's read buffer can cut a line of content or
 * part headers: a boundary form at the start of a line followed by 32 or
 * more octets of it (then anything), or a run of over 2048 octets of it
 * anywhere (m->lwsmax, see probe_ws()).
 */
static void
ws_causes(struct mime *m, const unsigned char *s, size_t kept, size_t n)
{
	if (m->state != S_SKIP && m->state != S_HEADERS)
		return;
	if (m->nbound > 0 && m->lwsmax >= 3)
		structure(m, "a run of white space longer than 2048 octets in a line");
	else if (padded_prefix(m, s, kept, n))
		structure(m, "more than 32 octets of white space after a boundary");
}

/* The current line has ended. */
static void
line_end(struct mime *m)
{
	size_t	kept = m->llen < LINE_KEEP ? m->llen : LINE_KEEP, wsp;
	int	fin;

	if (m->state == S_HEADERS)
		m->blines++;

	/*
	 * A boundary line ends part headers (the line itself is no field).
	 * If they announced a multipart, GMime opens it first and tries the
	 * same line against its boundary too: so do we.
	 */
	ws_causes(m, m->lbuf, kept, m->llen);
	if (m->state == S_HEADERS &&
	    boundary_match(m, m->lbuf, kept, m->llen, m->ltail, &fin, &wsp) >= 0) {
		/*
		 * GMime misses such a line when its CR and LF fall on either
		 * side of its buffer's end, and reads on as headers.
		 */
		structure(m, "a part header ended by a boundary line");
		m->flen = 0;
		m->ftrunc = 0;
		if (m->kind == K_MULTI || m->unfollowed)
			headers_end(m);
	}
	if (boundary_line(m, m->lbuf, kept, m->llen, m->ltail))
		;
	else if (m->state == S_SKIP)
		long_line(m, m->ltb, m->ltn, m->llen, GMIME_LINE);
	else if (m->state == S_HEADERS && m->llen > 0)
		long_line(m, m->ltb, m->ltn, m->llen, 0);
	else if (m->state == S_HEADERS && m->llen == 0) {
		field_finish(m);
		headers_end(m);
	}
	m->llen = 0;
	m->ltn = 0;
	m->lws = m->lwsmax = 0;
	m->ltail = 1;
}

/** mime_new(fn, sfn, arg): a scanner reporting names to ${fn} and structure problems to ${sfn} (may be NULL), or NULL. */
struct mime *
mime_new(mime_name_fn *fn, mime_struct_fn *sfn, void *arg)
{
	struct mime *m;

	mime_init();
	if ((m = malloc(sizeof(*m))) == NULL)
		return (NULL);
	if ((m->opts = g_mime_parser_options_new()) == NULL) {
		free(m);
		return (NULL);
	}
	m->seen = g_string_sized_new(256);
	g_mime_parser_options_set_rfc2047_compliance_mode(m->opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(m->opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	m->fn = fn;
	m->sfn = sfn;
	m->pfn = NULL;
	m->arg = arg;
	mime_reset(m);
	return (m);
}

/** mime_set_part_fn(m, pfn): also report every part's type and encoding to ${pfn} (NULL: not). */
void
mime_set_part_fn(struct mime *m, mime_part_fn *pfn)
{
	m->pfn = pfn;
}

/** mime_set_arg(m, arg): report to ${arg} from now on. */
void
mime_set_arg(struct mime *m, void *arg)
{
	m->arg = arg;
}

/** mime_free(m): free ${m}; NULL is a no-op. */
void
mime_free(struct mime *m)
{
	if (m == NULL)
		return;
	g_mime_parser_options_free(m->opts);
	g_string_free(m->seen, TRUE);
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
	m->structured = 0;
	m->llen = 0;
	m->lcr = 0;
	m->ltn = 0;
	m->lws = m->lwsmax = 0;
	m->ltail = 1;
	m->bgen = 0;
	block_reset(m, 0);
}

/** mime_header(m, name, namelen, value, valuelen): one top-level header field (value as with SMFIP_HDR_LEADSPC). */
void
mime_header(struct mime *m, const char *name, size_t namelen,
    const char *value, size_t valuelen)
{
	int	trunc = 0;

	if (m->state != S_TOP)
		return;
	while (namelen > 0 && is_wsp(name[namelen - 1]))
		namelen--;
	if (namelen < 12 || g_ascii_strncasecmp(name, "Content-", 8) != 0 ||
	    (!(namelen == 12 && g_ascii_strncasecmp(name, "Content-Type", 12) == 0) &&
	    !(namelen == 19 && g_ascii_strncasecmp(name, "Content-Disposition", 19) == 0) &&
	    !(namelen == 25 && g_ascii_strncasecmp(name,
	    "Content-Transfer-Encoding", 25) == 0)))
		return;
	if (valuelen > MIME_FIELD_MAX) {
		valuelen = MIME_FIELD_MAX;
		trunc = 1;
	}
	memcpy(m->fbuf, value, valuelen);
	m->fbuf[valuelen] = '\0';
	field_value(m, name, namelen, m->fbuf, valuelen, trunc);
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
			if (n > 0 && p[n - 1] == '\r')
				n--;
			if (n > GMIME_STRIDE) {
				m->lws = m->lwsmax = 0;
				probe_ws(m, p, n);
			}
			if (m->lwsmax > 0 || (n >= 2 && p[0] == '-' && p[1] == '-'))
				ws_causes(m, p, n < LINE_KEEP ? n : LINE_KEEP, n);
			m->lws = m->lwsmax = 0;
			if ((n < 2 || p[0] != '-' || p[1] != '-' ||
			    !boundary_line(m, p, n, n, 1)) && n > GMIME_LINE)
				long_line(m, n < LINE_KEEP ? p : p + n - LINE_KEEP,
				    n < LINE_KEEP ? n : LINE_KEEP, n, GMIME_LINE);
		} else {
			line_data(m, p, nl, 1);
			line_end(m);
		}
		p = nl + 1;
	}
}

/** mime_done(m): 1 once nothing in the rest of the body can be reported. */
int
mime_done(const struct mime *m)
{
	/* S_OFF: mime_body() and mime_end() read nothing more. */
	return (m->state == S_OFF);
}

/** mime_end(m): end of the body. */
void
mime_end(struct mime *m)
{
	unsigned gen;
	int	keep;

	if (m->state == S_TOP)
		headers_end(m);
	if (m->state == S_OFF)
		return;
	/*
	 * A part whose header block the body ends: GMime makes no part of
	 * an empty one (a boundary line, then nothing), but one of whole
	 * lines; whether it makes one of a header cut inside a line depends
	 * on what the cut leaves in its header reader (a name cut short, a
	 * blank continuation of a line that is no field, ...).  The MTAs
	 * end every body with a line end, so that is never real mail: a
	 * structure cause, and the part is reported (fail closed).
	 */
	gen = m->bgen;
	keep = m->state != S_HEADERS || m->blines > 0;
	/* An unterminated last line; a CR at the very end is its terminator. */
	if (m->llen > 0 || m->lcr) {
		if (m->state == S_HEADERS) {
			structure(m, "a part header cut by the end of the body");
			keep = 1;
		}
		m->lcr = 0;
		line_end(m);
	}
	if (m->state == S_HEADERS) {
		field_finish(m);
		if (keep && gen == m->bgen)
			block_end(m);
		m->pending = 0;
	}
	m->state = S_OFF;
}
