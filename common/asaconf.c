/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * asaconf.c - an ASA configuration in, the equivalent esmtp-inspect.conf
 * out (SPEC 10).
 *
 * Interface: asaconf_translate() and asaconf_free() (asaconf.h).
 *
 * The input is copied and cut into lines (doc_read); each line knows its
 * parent, the nearest line above it with less indentation, as the ASA's
 * sub-modes nest (`policy-map` > ` class` > `  inspect esmtp`).  Nothing
 * recurses: every walk is a loop over the lines.  The translation fills a
 * table of rule states (rstate, indexed like rules[], which is SPEC 3's
 * order) and the shim settings, and lists every line it cannot translate
 * faithfully; the output is then written in one pass, every setting
 * explicit, with the ASA line each value comes from as a comment.
 *
 * Invariants: every string written into the output as a value is quoted
 * and escaped as config_print() does, and every comment is printable
 * ASCII, so the output always reads back through the configuration
 * loader; a limit outside the loader's range is never written (the line
 * is "not translated" instead).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "asaconf.h"
#include "cidr.h"
#include "pattern.h"
#include "policy.h"

#define MAXW		64	/* words of a line looked at */
#define MAXDEPTH	16	/* indentation levels followed */
#define REGEX_MAX	1024	/* octets of one ASA regex */
#define REGEX_NEST	32	/* parentheses of one ASA regex */
#define SHOW_MAX	200	/* octets of an input line quoted in a comment */
#define MAX_STATEMENTS	1000	/* of one map; exemptions */
#define MAX_POLICIES	1024	/* service-policy lines */
#define WORK_MAX	20000000 /* lines all look-ups may visit */
#define COUNT_MAX	1000000	/* the loader's max-connections, max-embryonic */
#define DEFAULT_MAP	"_default_esmtp_map"

/* _default_esmtp_map as the ASA has it built in (asa-esmtp.md 1). */
static const char default_map[] =
    "policy-map type inspect esmtp _default_esmtp_map\n"
    " description Default ESMTP policy-map\n"
    " parameters\n"
    "  mask-banner\n"
    "  no mail-relay\n"
    "  no special-character\n"
    "  no allow-tls\n"
    " match cmd line length gt 512\n"
    "  drop-connection log\n"
    " match cmd RCPT count gt 100\n"
    "  drop-connection log\n"
    " match body line length gt 998\n"
    "  log\n"
    " match header line length gt 998\n"
    "  drop-connection log\n"
    " match sender-address length gt 320\n"
    "  drop-connection log\n"
    " match MIME filename length gt 255\n"
    "  drop-connection log\n"
    " match ehlo-reply-parameter others\n"
    "  mask\n";

/* The rules of SPEC 3, in its order (the order of the output). */
enum {
	R_RCPT_COUNT, R_SENDER_LENGTH, R_ADDRESS_CHARACTERS,
	R_CMD_LINE_LENGTH, R_BARE_LINEFEED, R_HEADER_LINE_LENGTH,
	R_BODY_LINE_LENGTH, R_MIME_FILENAME_LENGTH, R_DUPLICATE_HEADER,
	R_DKIM_UNSIGNED_DUPLICATE, R_MIME_STRUCTURE,
	/* SPEC 4.2, the ASA's optional criteria */
	R_HEADER_LENGTH, R_HEADER_TO_COUNT, R_BODY_LENGTH, R_MIME_TYPE,
	R_MIME_ENCODING, R_SENDER_ADDRESS, R_MAIL_RELAY,
	R_INVALID_RECIPIENTS,
	R_N
};

enum rkind { RK_PLAIN, RK_LIMIT, RK_LIST };

static const struct {
	const char *name;
	enum rkind kind;
	const char *list;		/* RK_LIST: the list's option */
	long long def, min, max;	/* RK_LIMIT: default, the loader's range */
	int	base;			/* the ASA's base engine: drop-connection */
} rules[R_N] = {
	[R_RCPT_COUNT] = { "rcpt-count", RK_LIMIT, NULL, 100, 0, 100000, 0 },
	[R_SENDER_LENGTH] = { "sender-length", RK_LIMIT, NULL, 320, 0, 65536,
	    0 },
	[R_ADDRESS_CHARACTERS] = { "address-characters", RK_PLAIN, NULL, 0, 0,
	    0, 1 },
	[R_CMD_LINE_LENGTH] = { "cmd-line-length", RK_LIMIT, NULL, 512, 6,
	    65536, 0 },
	[R_BARE_LINEFEED] = { "bare-linefeed", RK_PLAIN, NULL, 0, 0, 0, 1 },
	[R_HEADER_LINE_LENGTH] = { "header-line-length", RK_LIMIT, NULL, 998,
	    0, 1048576, 0 },
	[R_BODY_LINE_LENGTH] = { "body-line-length", RK_LIMIT, NULL, 998, 0,
	    1073741824, 0 },
	[R_MIME_FILENAME_LENGTH] = { "mime-filename-length", RK_LIMIT, NULL,
	    255, 0, 65536, 0 },
	[R_DUPLICATE_HEADER] = { "duplicate-header", RK_PLAIN, NULL, 0, 0, 0,
	    0 },
	[R_DKIM_UNSIGNED_DUPLICATE] = { "dkim-unsigned-duplicate", RK_PLAIN,
	    NULL, 0, 0, 0, 0 },
	[R_MIME_STRUCTURE] = { "mime-structure", RK_PLAIN, NULL, 0, 0, 0, 0 },
	/* The loader's ranges (config.c): beyond them a line is not translated. */
	[R_HEADER_LENGTH] = { "header-length", RK_LIMIT, NULL, 65536, 0,
	    1073741824, 0 },
	[R_HEADER_TO_COUNT] = { "header-to-count", RK_LIMIT, NULL, 1, 0,
	    100000, 0 },
	[R_BODY_LENGTH] = { "body-length", RK_LIMIT, NULL, 52428800, 0,
	    1099511627776LL, 0 },
	[R_MIME_TYPE] = { "mime-type", RK_LIST, "patterns", 0, 0, 0, 0 },
	[R_MIME_ENCODING] = { "mime-encoding", RK_LIST, "encodings", 0, 0, 0,
	    0 },
	[R_SENDER_ADDRESS] = { "sender-address", RK_LIST, "patterns", 0, 0, 0,
	    0 },
	[R_MAIL_RELAY] = { "mail-relay", RK_LIST, "domains", 0, 0, 0, 0 },
	[R_INVALID_RECIPIENTS] = { "invalid-recipients", RK_LIMIT, NULL, 10,
	    0, 100000, 0 },
};

/* `match ... gt N` criteria and their rules. */
static const struct {
	const char *k[5];
	int	rule;
} limit_crits[] = {
	{ { "cmd", "line", "length", "gt" }, R_CMD_LINE_LENGTH },
	{ { "cmd", "rcpt", "count", "gt" }, R_RCPT_COUNT },
	{ { "body", "length", "gt" }, R_BODY_LENGTH },
	{ { "body", "line", "length", "gt" }, R_BODY_LINE_LENGTH },
	{ { "header", "length", "gt" }, R_HEADER_LENGTH },
	{ { "header", "line", "length", "gt" }, R_HEADER_LINE_LENGTH },
	{ { "header", "to-fields", "count", "gt" }, R_HEADER_TO_COUNT },
	{ { "invalid-recipients", "count", "gt" }, R_INVALID_RECIPIENTS },
	{ { "mime", "filename", "length", "gt" }, R_MIME_FILENAME_LENGTH },
	{ { "sender-address", "length", "gt" }, R_SENDER_LENGTH },
};

/* The ASA's allowed verbs: commands of profile asa (SPEC 3.1). */
static const char *const base_verbs[] = {
	"HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "AUTH",
	"ETRN", "HELP", "SAML", "SEND", "SOML", "VRFY", NULL
};

/* `ehlo-reply-parameter` words and the keywords they name (SPEC 3.1). */
static const struct {
	const char *asa, *keyword;
} ehlo_params[] = {
	{ "8bitmime", "8BITMIME" }, { "auth", "AUTH" },
	{ "binarymime", "BINARYMIME" }, { "checkpnt", "CHECKPOINT" },
	{ "dsn", "DSN" }, { "ecode", "ENHANCEDSTATUSCODES" },
	{ "etrn", "ETRN" }, { "pipelining", "PIPELINING" },
	{ "size", "SIZE" }, { "vrfy", "VRFY" },
};
#define N_EHLO		(sizeof(ehlo_params) / sizeof(ehlo_params[0]))
#define EHLO_OTHERS	(1u << N_EHLO)
#define EHLO_ALL	((1u << (N_EHLO + 1)) - 1)

/* `match mime encoding` words, as mime-encoding takes them. */
static const char *const encodings[] = {
	"7bit", "8bit", "binary", "base64", "quoted-printable", "others", NULL
};

/* duplicate-header's `headers` (SPEC 3), written with the rule. */
static const char *const dup_headers[] = {
	"from", "sender", "reply-to", "to", "cc", "bcc", "subject", "date",
	"message-id", "in-reply-to", "references", NULL
};

/* ---------------------------------------------------------------- */

struct buf {
	char   *s;
	size_t	len, cap;
	int	nomem;
};

static void buf_add(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_add(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	size_t	need, cap;
	char   *ns;
	int	n;

	if (b->nomem)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->nomem = 1;
		return;
	}
	need = b->len + (size_t)n + 1;
	if (need > b->cap) {
		for (cap = b->cap ? b->cap : 256; cap < need; cap *= 2)
			;
		if ((ns = realloc(b->s, cap)) == NULL) {
			b->nomem = 1;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	va_start(ap, fmt);
	(void)vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ${s} as printable ASCII (\xHH), cut at SHOW_MAX octets with "...". */
static void
buf_show(struct buf *b, const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == SHOW_MAX) {
			buf_add(b, "...");
			return;
		}
		if (c < 0x20 || c > 0x7e)
			buf_add(b, "\\x%02x", c);
		else
			buf_add(b, "%c", c);
	}
}

/* ${s} as a libconfuse string: quoted and escaped as config_print() does. */
static void
buf_quote(struct buf *b, const char *s)
{
	unsigned char c;

	buf_add(b, "\"");
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '"' || c == '\\' || c == '$')
			buf_add(b, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			buf_add(b, "\\x%02x", c);
		else
			buf_add(b, "%c", c);
	}
	buf_add(b, "\"");
}

struct strv {
	char  **v;
	size_t	n, cap;
};

static int
strv_has(const struct strv *sv, const char *s)
{
	size_t	i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return (1);
	return (0);
}

/* Append a copy of ${s} unless it is there; -1 when out of memory. */
static int
strv_add(struct strv *sv, const char *s)
{
	char  **nv;

	if (strv_has(sv, s))
		return (0);
	if (sv->n == sv->cap) {
		size_t	cap = sv->cap ? sv->cap * 2 : 8;

		if ((nv = realloc(sv->v, cap * sizeof(*nv))) == NULL)
			return (-1);
		sv->v = nv;
		sv->cap = cap;
	}
	if ((sv->v[sv->n] = strdup(s)) == NULL)
		return (-1);
	sv->n++;
	return (0);
}

static void
strv_free(struct strv *sv)
{
	size_t	i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

/* ---------------------------------------------------------------- */

struct line {
	char   *s;			/* trimmed text */
	int	no;			/* in the input, from 1 */
	int	indent;
	long	parent;			/* index, or -1 at the top */
};

struct doc {
	char   *copy;
	struct line *v;
	size_t	n;
};

/*
 * Cut ${len} octets of ${text} into the lines of ${d}; blank lines and
 * "!" and ":" lines (the ASA's separators and comments) are left out.
 * Returns 0, -1 when out of memory, 1 with ${err} when the input is
 * refused (a NUL octet, a line or a count beyond the bounds).
 */
static int
doc_read(struct doc *d, const char *text, size_t len, char *err,
    size_t errlen)
{
	long	stack[MAXDEPTH];
	int	sind[MAXDEPTH], depth = 0, no = 0;
	size_t	i, n = 1, start;
	char   *s, *e;

	memset(d, 0, sizeof(*d));
	if (len > ASACONF_MAX_INPUT) {
		(void)snprintf(err, errlen, "input longer than %u octets",
		    ASACONF_MAX_INPUT);
		return (1);
	}
	for (i = 0; i < len; i++) {
		if (text[i] == '\0') {
			(void)snprintf(err, errlen, "line %zu: a NUL octet: "
			    "not a configuration text", n);
			return (1);
		}
		if (text[i] == '\n')
			n++;
	}
	if (n > ASACONF_MAX_LINES) {
		(void)snprintf(err, errlen, "more than %d lines",
		    ASACONF_MAX_LINES);
		return (1);
	}
	if ((d->copy = malloc(len + 1)) == NULL ||
	    (d->v = calloc(n, sizeof(*d->v))) == NULL)
		return (-1);
	memcpy(d->copy, text, len);
	d->copy[len] = '\0';
	for (start = 0; start <= len; start = i + 1) {
		for (i = start; i < len && d->copy[i] != '\n'; i++)
			;
		no++;
		if (i - start > ASACONF_MAX_LINE) {
			(void)snprintf(err, errlen, "line %d: longer than %d "
			    "octets", no, ASACONF_MAX_LINE);
			return (1);
		}
		d->copy[i] = '\0';
		s = d->copy + start;
		e = d->copy + i;
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '!' || *s == ':')
			continue;
		d->v[d->n].s = s;
		d->v[d->n].no = no;
		d->v[d->n].indent = (int)(s - (d->copy + start));
		while (depth > 0 && sind[depth - 1] >= d->v[d->n].indent)
			depth--;
		d->v[d->n].parent = depth > 0 ? stack[depth - 1] : -1;
		if (depth < MAXDEPTH) {
			stack[depth] = (long)d->n;
			sind[depth++] = d->v[d->n].indent;
		}
		d->n++;
	}
	return (0);
}

static void
doc_free(struct doc *d)
{
	free(d->copy);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* The words of one line; a "quoted" word is one word, quotes removed. */
struct words {
	int	n;
	char   *w[MAXW];
	char	buf[ASACONF_MAX_LINE + 1];
};

static void
words_split(struct words *ws, const char *s)
{
	char   *p;

	(void)snprintf(ws->buf, sizeof(ws->buf), "%s", s);
	ws->n = 0;
	for (p = ws->buf; *p != '\0' && ws->n < MAXW;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p == '"') {
			ws->w[ws->n++] = ++p;
			while (*p != '\0' && *p != '"')
				p++;
		} else {
			ws->w[ws->n++] = p;
			while (*p != '\0' && *p != ' ' && *p != '\t')
				p++;
		}
		if (*p != '\0')
			*p++ = '\0';
	}
}

/* 1 if word ${i} of ${ws} is the keyword ${k} (keywords: any case). */
static int
kw(const struct words *ws, int i, const char *k)
{
	return (i < ws->n && strcasecmp(ws->w[i], k) == 0);
}

/* A whole number of at most 18 digits into *v; 0 if it is not one. */
static int
number(const char *s, long long *v)
{
	size_t	i;

	*v = 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]) || i == 18)
			return (0);
		*v = *v * 10 + (s[i] - '0');
	}
	return (i > 0);
}

/* ---------------------------------------------------------------- */

struct lref {
	const struct doc *d;
	size_t	i;
};

struct lrefs {
	struct lref *v;
	size_t	n, cap;
};

struct rstate {
	int	set;			/* the ASA gave it */
	long long limit;
	enum policy_action action;
	int	log;
	struct strv list;
	struct buf from;		/* comment lines: where it comes from */
};

struct ctx {
	struct asaconf_result *res;
	struct doc in, def;
	int	nomem;
	size_t	ucap;
	struct rstate r[R_N];
	struct buf head;		/* what was translated from where */
	/* shim */
	int	banner_mask;
	struct buf banner_from;
	unsigned ehlo_masked;		/* bits of ehlo_params, EHLO_OTHERS */
	struct lrefs ehlo_lines;
	struct strv verbs_masked;
	struct lrefs verb_lines;
	int	starttls_allow;
	struct buf starttls_from;
	long long maxconn, maxemb;	/* 0: not given */
	int	unlimited;		/* the static said 0: no limit */
	struct buf limits_from;
	/* the mail host */
	struct strv exempt;		/* CIDRs, canonical */
	struct strv hosts;		/* host addresses the exemption names */
	struct buf exempt_from;
	struct strv classes_done;	/* exemption classes read */
	struct strv acls_done;		/* their access-lists read */
	size_t	work;			/* lines visited by look-ups */
};

static void
lrefs_add(struct ctx *c, struct lrefs *lr, const struct doc *d, size_t i)
{
	struct lref *nv;

	if (lr->n == lr->cap) {
		size_t	cap = lr->cap ? lr->cap * 2 : 8;

		if ((nv = realloc(lr->v, cap * sizeof(*nv))) == NULL) {
			c->nomem = 1;
			return;
		}
		lr->v = nv;
		lr->cap = cap;
	}
	lr->v[lr->n].d = d;
	lr->v[lr->n++].i = i;
}

static void untr(struct ctx *, const struct doc *, size_t, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* Line ${i} of ${d} is not translated, because ${fmt}. */
static void
untr(struct ctx *c, const struct doc *d, size_t i, const char *fmt, ...)
{
	struct asaconf_result *res = c->res;
	struct asaconf_untranslated *u, *nv;
	struct buf t = { 0 }, w = { 0 };
	char	why[512];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (res->nuntr == c->ucap) {
		size_t	cap = c->ucap ? c->ucap * 2 : 8;

		if ((nv = realloc(res->untr, cap * sizeof(*nv))) == NULL) {
			c->nomem = 1;
			return;
		}
		res->untr = nv;
		c->ucap = cap;
	}
	buf_show(&t, d->v[i].s);
	buf_show(&w, why);
	if (t.nomem || w.nomem) {
		free(t.s);
		free(w.s);
		c->nomem = 1;
		return;
	}
	u = &res->untr[res->nuntr++];
	u->line = d == &c->def ? 0 : d->v[i].no;
	u->text = t.s;
	u->why = w.s;
}

/* "line N: text" (or "built-in _default_esmtp_map: text") into ${b}. */
static void
from_line(struct ctx *c, struct buf *b, const struct doc *d, size_t i)
{
	if (d == &c->def)
		buf_add(b, "built-in %s: ", DEFAULT_MAP);
	else
		buf_add(b, "line %d: ", d->v[i].no);
	buf_show(b, d->v[i].s);
}

/*
 * Each look-up through the input costs its length; 0 (and line ${i} of
 * ${d} not translated) once the total would pass WORK_MAX, so that no
 * input makes the translation quadratic.
 */
static int
budget(struct ctx *c, const struct doc *d, size_t i)
{
	if (c->work + c->in.n > WORK_MAX) {
		untr(c, d, i, "the input makes too many look-ups (more than "
		    "%d lines visited): not translated", WORK_MAX);
		return (0);
	}
	c->work += c->in.n;
	return (1);
}

/* The top-level line "${k0} ${name} ..." at or after ${from}, or -1. */
static long
next_top(const struct doc *d, const char *k0, const char *name,
    size_t from, struct words *ws)
{
	size_t	i, n = strlen(k0);

	for (i = from; i < d->n; i++) {
		if (d->v[i].parent != -1 || strncasecmp(d->v[i].s, k0, n) != 0
		    || (d->v[i].s[n] != ' ' && d->v[i].s[n] != '\t'))
			continue;
		words_split(ws, d->v[i].s);
		if (ws->n > 1 && strcmp(ws->w[1], name) == 0)
			return ((long)i);
	}
	return (-1);
}

/* The first top-level line "${k0} ${name} ...", or -1. */
static long
find_top(const struct doc *d, const char *k0, const char *name,
    struct words *ws)
{
	return (next_top(d, k0, name, 0, ws));
}

/* ---------------------------------------------------------------- */

/*
 * The ASA regex ${re} (config guide, "Creating a Regular Expression") as
 * a PCRE2 pattern that matches the same strings, or NULL with ${why}.
 * Literal text, ., [ ] classes, ( ), |, ?, *, +, {x} {x,} {x,y}, ^, and
 * the escapes \r \n \t \f \xHH \NNN (octal) and \ before punctuation are
 * translated; what PCRE2 would read otherwise ($, a stray ] or }) is
 * escaped; anything else is refused.
 */
static char *
regex_pcre(const char *re, const char **why)
{
	struct buf b = { 0 };
	size_t	i, n = strlen(re);
	int	depth = 0, atom = 0, quant = 0;
	unsigned char ch;

	*why = NULL;
	if (n == 0)
		*why = "an empty regex";
	else if (n > REGEX_MAX)
		*why = "a regex longer than 1024 octets";
	for (i = 0; i < n && *why == NULL; i++) {
		ch = (unsigned char)re[i];
		if (ch >= 0x7f) {
			*why = "a non-ASCII octet in the regex";
			break;
		}
		switch (ch) {
		case '(':
			if (++depth > REGEX_NEST)
				*why = "parentheses nested deeper than 32";
			buf_add(&b, "(");
			atom = quant = 0;
			break;
		case ')':
			if (depth-- == 0)
				*why = "a \")\" without \"(\"";
			buf_add(&b, ")");
			atom = 1;
			quant = 0;
			break;
		case '|':
			buf_add(&b, "|");
			atom = quant = 0;
			break;
		case '^':
			buf_add(&b, "^");
			atom = quant = 0;
			break;
		case '*': case '+': case '?':
			if (!atom || quant)
				*why = "a quantifier that follows no item (or "
				    "another quantifier)";
			buf_add(&b, "%c", ch);
			quant = 1;
			break;
		case '{': {
			long long x = 0, y = -1;
			size_t	j = i + 1, k;

			if (!atom || quant) {
				*why = "a quantifier that follows no item (or "
				    "another quantifier)";
				break;
			}
			for (k = j; isdigit((unsigned char)re[k]); k++)
				if (k - j < 6)
					x = x * 10 + (re[k] - '0');
			if (k == j || k - j > 5) {
				*why = "a malformed {x,y} quantifier";
				break;
			}
			if (re[k] == ',') {
				j = ++k;
				for (; isdigit((unsigned char)re[k]); k++)
					if (k - j < 6)
						y = (y < 0 ? 0 : y) * 10 +
						    (re[k] - '0');
				if (k - j > 5) {
					*why = "a malformed {x,y} quantifier";
					break;
				}
				if (k == j)
					y = -2;		/* {x,} */
			} else
				y = x;
			if (re[k] != '}' || x > 65535 || y > 65535 ||
			    (y >= 0 && y < x)) {
				*why = "a malformed {x,y} quantifier";
				break;
			}
			if (y == -2)
				buf_add(&b, "{%lld,}", x);
			else if (y == x)
				buf_add(&b, "{%lld}", x);
			else
				buf_add(&b, "{%lld,%lld}", x, y);
			i = k;
			quant = 1;
			break;
		}
		case '[': {
			size_t	j = i + 1;
			int	prev = -1, range = 0, members = 0;

			buf_add(&b, "[");
			if (re[j] == '^') {
				buf_add(&b, "^");
				j++;
			}
			for (; j < n && (re[j] != ']' || members == 0) &&
			    *why == NULL; j++) {
				int	cur;

				ch = (unsigned char)re[j];
				if (ch >= 0x7f) {
					*why = "a non-ASCII octet in the regex";
					break;
				}
				if (ch == '-' && prev >= 0 && !range &&
				    j + 1 < n && re[j + 1] != ']') {
					range = 1;
					buf_add(&b, "-");
					continue;
				}
				if (ch == '\\') {
					ch = (unsigned char)re[++j];
					if (ch == '\0' || isalnum(ch)) {
						*why = "an escape inside [ ] "
						    "other than punctuation";
						break;
					}
				}
				cur = ch;
				if (ch < 0x20)
					buf_add(&b, "\\x%02x", ch);
				else if (strchr("\\]-[^", ch) != NULL)
					buf_add(&b, "\\%c", ch);
				else
					buf_add(&b, "%c", ch);
				if (range && cur < prev)
					*why = "a range out of order in [ ]";
				prev = range ? -1 : cur;
				range = 0;
				members++;
			}
			if (*why == NULL && j >= n)
				*why = "a \"[\" without \"]\"";
			buf_add(&b, "]");
			i = j;
			atom = 1;
			quant = 0;
			break;
		}
		case '\\': {
			ch = (unsigned char)re[++i];
			if (ch == 'r' || ch == 'n' || ch == 't' || ch == 'f')
				buf_add(&b, "\\%c", ch);
			else if (ch == 'x' && isxdigit((unsigned char)re[i + 1])
			    && isxdigit((unsigned char)re[i + 2])) {
				buf_add(&b, "\\x%c%c", re[i + 1], re[i + 2]);
				i += 2;
			} else if (ch >= '0' && ch <= '3' &&
			    re[i + 1] >= '0' && re[i + 1] <= '7' &&
			    re[i + 2] >= '0' && re[i + 2] <= '7') {
				buf_add(&b, "\\o{%c%c%c}", ch, re[i + 1],
				    re[i + 2]);
				i += 2;
			} else if (ch != '\0' && ch < 0x7f && !isalnum(ch) &&
			    ch >= 0x20)
				buf_add(&b, "\\%c", ch);	/* literal */
			else
				*why = "an escape the ASA does not define "
				    "(or a \"\\\" at the end)";
			atom = 1;
			quant = 0;
			break;
		}
		case '.':
			buf_add(&b, ".");
			atom = 1;
			quant = 0;
			break;
		default:
			if (ch < 0x20)
				buf_add(&b, "\\x%02x", ch);
			else if (strchr("$]}", ch) != NULL)
				buf_add(&b, "\\%c", ch);	/* literal */
			else
				buf_add(&b, "%c", ch);
			atom = 1;
			quant = 0;
			break;
		}
	}
	if (*why == NULL && depth != 0)
		*why = "a \"(\" without \")\"";
	if (*why == NULL && b.nomem)
		*why = "out of memory";
	if (*why != NULL) {
		free(b.s);
		return (NULL);
	}
	return (b.s);
}

/* The pattern of `regex NAME "..."`, in ${out}; 0 if there is none. */
static int
regex_text(const char *line, char *out, size_t len)
{
	const char *p = line, *q;
	int	w;

	for (w = 0; w < 2; w++) {		/* "regex", NAME */
		while (*p == ' ' || *p == '\t')
			p++;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"') {
		p++;
		if ((q = strrchr(p, '"')) == NULL)
			return (0);
	} else
		q = p + strlen(p);
	if ((size_t)(q - p) >= len)
		return (0);
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return (1);
}

/* ---------------------------------------------------------------- */

/* What the action lines under a match (or class) say. */
enum akind { A_NONE, A_LOG, A_MASK, A_DROP };

struct act {
	enum akind kind;
	int	log;
	struct buf text;		/* the action lines, for comments */
};

static void
read_actions(struct ctx *c, const struct doc *d, size_t at, struct act *a)
{
	struct words ws;
	size_t	j;

	memset(a, 0, sizeof(*a));
	for (j = at + 1; j < d->n && d->v[j].indent > d->v[at].indent; j++) {
		enum akind k = A_NONE;
		int	log = 0, bad = 0;

		if (d->v[j].parent != (long)at)
			continue;
		words_split(&ws, d->v[j].s);
		if (kw(&ws, 0, "drop-connection") || kw(&ws, 0, "reset"))
			k = A_DROP;
		else if (kw(&ws, 0, "mask"))
			k = A_MASK;
		else if (kw(&ws, 0, "log") && ws.n == 1)
			k = A_LOG;
		if (k == A_DROP || k == A_MASK) {
			if (ws.n == 2 && kw(&ws, 1, "log"))
				log = 1;
			else if (ws.n != 1)
				bad = 1;
		}
		if (kw(&ws, 0, "rate-limit"))
			untr(c, d, j, "rate-limit: esmtp-inspect limits no "
			    "message rate");
		else if (k == A_NONE || bad)
			untr(c, d, j, "not an action of an ESMTP inspection "
			    "map (drop-connection, reset, mask, log)");
		else {
			if (k > a->kind)
				a->kind = k;
			a->log |= log || k == A_LOG;
			buf_add(&a->text, "%s%s", a->text.len ? "; " : "",
			    d->v[j].s);
		}
	}
}

/* The rule action of ${a}, or -1 (mask, none) after saying why. */
static int
rule_action(struct ctx *c, const struct doc *d, size_t i,
    const struct act *a, int *log)
{
	*log = a->log;
	switch (a->kind) {
	case A_DROP:
		return (POLICY_DROP_CONNECTION);
	case A_LOG:
		*log = 1;
		return (POLICY_LOG);
	case A_MASK:
		untr(c, d, i, "mask applies only to ehlo-reply-parameter and "
		    "cmd verb");
		return (-1);
	default:
		return (-1);	/* no action: the ASA does nothing either */
	}
}

/* A rule given by the map: the first match line wins, others conflict. */
static int
rule_take(struct ctx *c, int r, long long limit, int action, int log,
    const struct doc *d, size_t i, const struct act *a)
{
	struct rstate *rs = &c->r[r];

	if (rs->set && (rs->limit != limit || (int)rs->action != action ||
	    rs->log != log)) {
		untr(c, d, i, "rule %s is already set by an earlier line "
		    "with another limit or action", rules[r].name);
		return (-1);
	}
	rs->set = 1;
	rs->limit = limit;
	rs->action = (enum policy_action)action;
	rs->log = log;
	buf_add(&rs->from, "# ");
	from_line(c, &rs->from, d, i);
	if (a != NULL && a->text.len > 0) {
		buf_add(&rs->from, " -> ");
		buf_show(&rs->from, a->text.s);
	}
	buf_add(&rs->from, "\n");
	return (0);
}

/* Add ${item} to the list of rule ${r}; -1 when the list is full. */
static int
rule_item(struct ctx *c, int r, const char *item, const struct doc *d,
    size_t i)
{
	if (!strv_has(&c->r[r].list, item) &&
	    c->r[r].list.n >= ASACONF_MAX_LIST) {
		untr(c, d, i, "rule %s takes at most %d entries", rules[r].name,
		    ASACONF_MAX_LIST);
		return (-1);
	}
	if (strv_add(&c->r[r].list, item) != 0)
		c->nomem = 1;
	return (0);
}

/* `match [not] mime filetype|sender-address regex NAME`. */
static void
match_regex(struct ctx *c, const struct doc *d, size_t i,
    const struct words *ws, int at, int not, int r, const struct act *a)
{
	char	text[ASACONF_MAX_LINE + 1], perr[256];
	const char *why;
	struct words rw;
	struct buf pat = { 0 };
	char   *p;
	long	ri, r2;
	int	action, log;

	if (kw(ws, at, "class")) {
		untr(c, d, i, "a regex class: esmtp-inspect takes the patterns "
		    "one by one; write each as its own match line");
		return;
	}
	/*
	 * Patterns are compiled caseless; the ASA may compare with case, so
	 * a negation would match less than on the ASA: a weaker policy.
	 */
	if (not) {
		untr(c, d, i, "\"match not\" on a regex: esmtp-inspect "
		    "compiles patterns without regard to case, so the "
		    "negation could match less than on the ASA");
		return;
	}
	if (ws->n != at + 1) {
		untr(c, d, i, "not a regex criterion esmtp-inspect knows");
		return;
	}
	if (!budget(c, d, i))
		return;
	if ((ri = find_top(&c->in, "regex", ws->w[at], &rw)) < 0) {
		untr(c, d, i, "regex %s is not in the input", ws->w[at]);
		return;
	}
	if (!regex_text(c->in.v[ri].s, text, sizeof(text))) {
		untr(c, &c->in, (size_t)ri, "a regex without its pattern");
		return;
	}
	/* Defined again: which text the ASA keeps is not known. */
	if ((r2 = next_top(&c->in, "regex", ws->w[at], (size_t)ri + 1,
	    &rw)) >= 0) {
		untr(c, &c->in, (size_t)r2, "regex %s is defined twice: "
		    "which pattern the ASA uses is not known", ws->w[at]);
		untr(c, d, i, "its regex %s is not translated", ws->w[at]);
		return;
	}
	if ((p = regex_pcre(text, &why)) == NULL) {
		untr(c, &c->in, (size_t)ri, "the regex has %s", why);
		untr(c, d, i, "its regex %s is not translated", ws->w[at]);
		return;
	}
	buf_add(&pat, "%s", p);
	free(p);
	if (pat.nomem) {
		c->nomem = 1;
		free(pat.s);
		return;
	}
	/* What the loader refuses is not translated (config.c, pattern.c). */
	if (pat.len > PATTERN_LEN_MAX) {
		untr(c, &c->in, (size_t)ri, "the regex is longer than %d "
		    "octets once written for PCRE2", PATTERN_LEN_MAX);
		untr(c, d, i, "its regex %s is not translated", ws->w[at]);
		free(pat.s);
		return;
	}
	if (pattern_check(pat.s, perr, sizeof(perr)) != 0) {
		untr(c, &c->in, (size_t)ri, "PCRE2 refuses the regex: %s",
		    perr);
		untr(c, d, i, "its regex %s is not translated", ws->w[at]);
		free(pat.s);
		return;
	}
	if ((action = rule_action(c, d, i, a, &log)) >= 0 &&
	    rule_take(c, r, 0, action, log, d, i, a) == 0) {
		if (rule_item(c, r, pat.s, d, i) == 0) {
			buf_add(&c->r[r].from, "#   ");
			from_line(c, &c->r[r].from, &c->in, (size_t)ri);
			buf_add(&c->r[r].from, "\n");
		}
	}
	free(pat.s);
}

/* `match [not] mime encoding T...`. */
static void
match_encoding(struct ctx *c, const struct doc *d, size_t i,
    const struct words *ws, int at, int not, const struct act *a)
{
	int	j, e, action, log;
	unsigned named = 0;

	if (at >= ws->n) {
		untr(c, d, i, "mime encoding without an encoding");
		return;
	}
	for (j = at; j < ws->n; j++) {
		for (e = 0; encodings[e] != NULL; e++)
			if (strcasecmp(ws->w[j], encodings[e]) == 0)
				break;
		if (encodings[e] == NULL) {
			untr(c, d, i, "unknown MIME encoding \"%s\"", ws->w[j]);
			return;
		}
		named |= 1u << e;
	}
	if ((action = rule_action(c, d, i, a, &log)) < 0 ||
	    rule_take(c, R_MIME_ENCODING, 0, action, log, d, i, a) != 0)
		return;
	for (e = 0; encodings[e] != NULL; e++)
		if (((named >> e) & 1) != (unsigned)not)
			(void)rule_item(c, R_MIME_ENCODING, encodings[e], d, i);
}

/* `match [not] ehlo-reply-parameter P...`: masks (see finish_shim). */
static void
match_ehlo(struct ctx *c, const struct doc *d, size_t i,
    const struct words *ws, int at, int not, const struct act *a)
{
	unsigned named = 0;
	size_t	e;
	int	j;

	if (a->kind != A_MASK) {
		if (a->kind != A_NONE)
			untr(c, d, i, "the shim can only mask (or strip) EHLO "
			    "keywords, not drop the connection or log them");
		return;
	}
	if (at >= ws->n) {
		untr(c, d, i, "ehlo-reply-parameter without a parameter");
		return;
	}
	for (j = at; j < ws->n; j++) {
		if (strcasecmp(ws->w[j], "others") == 0) {
			named |= EHLO_OTHERS;
			continue;
		}
		for (e = 0; e < N_EHLO; e++)
			if (strcasecmp(ws->w[j], ehlo_params[e].asa) == 0)
				break;
		if (e == N_EHLO) {
			untr(c, d, i, "unknown ehlo-reply-parameter \"%s\"",
			    ws->w[j]);
			return;
		}
		named |= 1u << e;
	}
	c->ehlo_masked |= not ? (EHLO_ALL & ~named) : named;
	lrefs_add(c, &c->ehlo_lines, d, i);
}

/* `match [not] cmd verb V...`: masks (see finish_shim). */
static void
match_verb(struct ctx *c, const struct doc *d, size_t i,
    const struct words *ws, int at, int not, const struct act *a)
{
	struct strv named = { 0 };
	char	v[17];
	size_t	k;
	int	j, bad = 0;

	if (a->kind != A_MASK) {
		if (a->kind != A_NONE)
			untr(c, d, i, "the shim can only mask (or refuse) "
			    "verbs, not drop the connection or log them");
		return;
	}
	if (at >= ws->n) {
		untr(c, d, i, "cmd verb without a verb");
		return;
	}
	for (j = at; j < ws->n && !bad; j++) {
		for (k = 0; ws->w[j][k] != '\0' && k < sizeof(v) - 1; k++) {
			if (!isalpha((unsigned char)ws->w[j][k]))
				bad = 1;
			v[k] = (char)toupper((unsigned char)ws->w[j][k]);
		}
		v[k] = '\0';
		if (bad || ws->w[j][k] != '\0') {
			untr(c, d, i, "\"%s\" is not an SMTP verb", ws->w[j]);
			bad = 1;
		} else if (strv_add(&named, v) != 0)
			c->nomem = 1;
	}
	if (!bad) {
		if (!not) {
			for (k = 0; k < named.n; k++)
				if (strv_add(&c->verbs_masked, named.v[k]) != 0)
					c->nomem = 1;
		} else {
			for (k = 0; base_verbs[k] != NULL; k++)
				if (!strv_has(&named, base_verbs[k]) &&
				    strv_add(&c->verbs_masked,
				    base_verbs[k]) != 0)
					c->nomem = 1;
			if (!strv_has(&named, "STARTTLS") &&
			    strv_add(&c->verbs_masked, "STARTTLS") != 0)
				c->nomem = 1;
		}
		lrefs_add(c, &c->verb_lines, d, i);
	}
	strv_free(&named);
}

/*
 * One match line: the criterion is line ${ci} of ${cd}, the actions are
 * the lines under line ${ai} of ${ad} (the same line for an inline match,
 * the `class` line for a class-map of type inspect esmtp).
 */
static void
match_line(struct ctx *c, const struct doc *cd, size_t ci,
    const struct doc *ad, size_t ai)
{
	struct words ws;
	struct act a;
	long long n;
	size_t	k;
	int	at = 1, not = 0, j, action, log;

	read_actions(c, ad, ai, &a);
	words_split(&ws, cd->v[ci].s);
	if (kw(&ws, 1, "not")) {
		not = 1;
		at = 2;
	}
	for (k = 0; k < sizeof(limit_crits) / sizeof(limit_crits[0]); k++) {
		for (j = 0; limit_crits[k].k[j] != NULL; j++)
			if (!kw(&ws, at + j, limit_crits[k].k[j]))
				break;
		if (limit_crits[k].k[j] != NULL)
			continue;
		int	r = limit_crits[k].rule;

		if (not)
			untr(c, cd, ci, "\"match not\" on a length or a count: "
			    "rule %s has no inverse", rules[r].name);
		else if (ws.n != at + j + 1 || !number(ws.w[at + j], &n))
			untr(c, cd, ci, "not a number after \"gt\"");
		else if (n < rules[r].min || n > rules[r].max)
			untr(c, cd, ci, "%lld is outside the range of rule %s "
			    "(%lld..%lld)", n, rules[r].name, rules[r].min,
			    rules[r].max);
		else if ((action = rule_action(c, cd, ci, &a, &log)) >= 0)
			(void)rule_take(c, r, n, action, log, cd, ci, &a);
		free(a.text.s);
		return;
	}
	if (kw(&ws, at, "mime") && kw(&ws, at + 1, "filetype") &&
	    kw(&ws, at + 2, "regex"))
		match_regex(c, cd, ci, &ws, at + 3, not, R_MIME_TYPE, &a);
	else if (kw(&ws, at, "sender-address") && kw(&ws, at + 1, "regex"))
		match_regex(c, cd, ci, &ws, at + 2, not, R_SENDER_ADDRESS, &a);
	else if (kw(&ws, at, "mime") && kw(&ws, at + 1, "encoding"))
		match_encoding(c, cd, ci, &ws, at + 2, not, &a);
	else if (kw(&ws, at, "ehlo-reply-parameter"))
		match_ehlo(c, cd, ci, &ws, at + 1, not, &a);
	else if (kw(&ws, at, "cmd") && kw(&ws, at + 1, "verb"))
		match_verb(c, cd, ci, &ws, at + 2, not, &a);
	else
		untr(c, cd, ci, "not an ESMTP match criterion esmtp-inspect "
		    "knows");
	free(a.text.s);
}

/*
 * A domain as the loader's mail-relay takes it (config.c parse_domain):
 * labels of letters, digits and "-", no "-" at either end of a label, at
 * most 63 octets a label and 253 in all, after an optional leading "."
 * (the domain and its subdomains).
 */
static int
domain_ok(const char *s)
{
	size_t	label = 0, n;
	const char *p = s;

	if (*p == '.')
		p++;
	n = strlen(p);
	if (n == 0 || n > 253)
		return (0);
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return (0);
			label = 0;
		} else if (isalnum((unsigned char)*p) ||
		    (*p == '-' && label > 0)) {
			if (++label > 63)
				return (0);
		} else
			return (0);
	}
	return (label > 0 && p[-1] != '-');
}

/* The `parameters` sub-mode of the map at line ${p}. */
static void
parameters(struct ctx *c, const struct doc *d, size_t p)
{
	struct words ws;
	size_t	j;
	int	no;

	for (j = p + 1; j < d->n && d->v[j].indent > d->v[p].indent; j++) {
		if (d->v[j].parent != (long)p)
			continue;
		words_split(&ws, d->v[j].s);
		no = kw(&ws, 0, "no");
		if (kw(&ws, no, "mask-banner") && ws.n == no + 1) {
			c->banner_mask = !no;
			buf_add(&c->banner_from, "  # ");
			from_line(c, &c->banner_from, d, j);
			buf_add(&c->banner_from, "\n");
		} else if (kw(&ws, no, "allow-tls") && (ws.n == no + 1 ||
		    (!no && ws.n == 3 && kw(&ws, 1, "action") &&
		    kw(&ws, 2, "log")))) {
			c->starttls_allow = !no;
			buf_add(&c->starttls_from, "  # ");
			from_line(c, &c->starttls_from, d, j);
			buf_add(&c->starttls_from, "%s\n", no ? "" :
			    ": TLS sessions pass uninspected, as through the "
			    "ASA");
		} else if (kw(&ws, 0, "no") && ws.n == 2 &&
		    (kw(&ws, 1, "mail-relay") ||
		    kw(&ws, 1, "special-character"))) {
			continue;		/* off, as without the line */
		} else if (kw(&ws, 0, "special-character") &&
		    kw(&ws, 1, "action") && kw(&ws, 2, "drop-connection") &&
		    (ws.n == 3 || (ws.n == 4 && kw(&ws, 3, "log")))) {
			buf_add(&c->r[R_ADDRESS_CHARACTERS].from, "# ");
			from_line(c, &c->r[R_ADDRESS_CHARACTERS].from, d, j);
			buf_add(&c->r[R_ADDRESS_CHARACTERS].from, "\n");
		} else if (kw(&ws, 0, "special-character")) {
			untr(c, d, j, "address-characters has one action for "
			    "every character, and the ASA drops a misplaced "
			    "< or > whatever this says (108003): kept at "
			    "drop-connection");
		} else if (kw(&ws, 0, "mail-relay") && ws.n >= 4 &&
		    kw(&ws, 2, "action") && (kw(&ws, 3, "drop-connection") ||
		    (kw(&ws, 3, "log") && ws.n == 4)) &&
		    (ws.n == 4 || (ws.n == 5 && kw(&ws, 4, "log")))) {
			struct act a = { 0 };
			char	dom[256];
			size_t	k;

			if (!domain_ok(ws.w[1])) {
				untr(c, d, j, "\"%s\" is not a domain name",
				    ws.w[1]);
				continue;
			}
			for (k = 0; ws.w[1][k] != '\0'; k++)
				dom[k] = (char)tolower(
				    (unsigned char)ws.w[1][k]);
			dom[k] = '\0';
			a.kind = kw(&ws, 3, "log") ? A_LOG : A_DROP;
			a.log = a.kind == A_LOG || ws.n == 5;
			if (rule_take(c, R_MAIL_RELAY, 0, a.kind == A_LOG ?
			    POLICY_LOG : POLICY_DROP_CONNECTION, a.log, d, j,
			    NULL) == 0)
				(void)rule_item(c, R_MAIL_RELAY, dom, d, j);
		} else
			untr(c, d, j, "not an ESMTP parameter esmtp-inspect "
			    "knows");
	}
}

/* The `class NAME` of an inspect map: its class-map's match lines. */
static void
inspect_class(struct ctx *c, const struct doc *d, size_t at,
    const struct words *cw)
{
	struct words ws;
	size_t	j, nmatch = 0;
	long	ci = -1, i;
	int	all = 1;

	if (!budget(c, d, at))
		return;
	for (i = 0; i < (long)c->in.n && cw->n == 2; i++) {
		if (c->in.v[i].parent != -1)
			continue;
		words_split(&ws, c->in.v[i].s);
		if (kw(&ws, 0, "class-map") && kw(&ws, 1, "type") &&
		    kw(&ws, 2, "inspect") && kw(&ws, 3, "esmtp") &&
		    strcmp(ws.w[ws.n - 1], cw->w[1]) == 0) {
			if (ci >= 0) {
				/* re-entered: match-all over both blocks */
				untr(c, &c->in, (size_t)i, "class-map %s in "
				    "two blocks: not translated", cw->w[1]);
				untr(c, d, at, "its class-map is not "
				    "translated");
				return;
			}
			ci = i;
			all = !kw(&ws, 4, "match-any");
		}
	}
	if (ci < 0) {
		untr(c, d, at, "no class-map type inspect esmtp of that name "
		    "in the input");
		return;
	}
	for (j = (size_t)ci + 1; j < c->in.n &&
	    c->in.v[j].indent > c->in.v[ci].indent; j++)
		if (c->in.v[j].parent == ci && strncasecmp(c->in.v[j].s,
		    "match ", 6) == 0)
			nmatch++;
	if (all && nmatch > 1) {
		untr(c, d, at, "a match-all class of %zu criteria: each rule "
		    "fires on its own", nmatch);
		return;
	}
	for (j = (size_t)ci + 1; j < c->in.n &&
	    c->in.v[j].indent > c->in.v[ci].indent; j++) {
		if (c->in.v[j].parent != ci)
			continue;
		words_split(&ws, c->in.v[j].s);
		if (kw(&ws, 0, "match"))
			match_line(c, &c->in, j, d, at);
		else if (!kw(&ws, 0, "description"))
			untr(c, &c->in, j, "not a statement of an ESMTP "
			    "class-map");
	}
}

/* The policy-map type inspect esmtp at line ${m} of ${d}. */
static void
translate_map(struct ctx *c, const struct doc *d, size_t m)
{
	struct words ws;
	size_t	j, n = 0;

	for (j = m + 1; j < d->n && d->v[j].indent > d->v[m].indent; j++) {
		if (d->v[j].parent != (long)m)
			continue;
		/* Each statement may look the input through: bounded work. */
		if (++n > MAX_STATEMENTS) {
			untr(c, d, j, "more than %d statements in one map: "
			    "this one and the rest are not translated",
			    MAX_STATEMENTS);
			return;
		}
		words_split(&ws, d->v[j].s);
		if (kw(&ws, 0, "description"))
			continue;
		if (kw(&ws, 0, "parameters") && ws.n == 1)
			parameters(c, d, j);
		else if (kw(&ws, 0, "match"))
			match_line(c, d, j, d, j);
		else if (kw(&ws, 0, "class"))
			inspect_class(c, d, j, &ws);
		else
			untr(c, d, j, "not a statement of an ESMTP "
			    "policy-map");
	}
}

/* ---------------------------------------------------------------- */

/* "A" and "M" (dotted mask) as canonical "A/len" in ${out}; 0 if not. */
static int
cidr_v4(const char *addr, const char *mask, char *out, size_t len)
{
	struct in_addr a, m;
	struct cidr cd;
	uint32_t mv, av;
	char	text[64];
	int	plen = 0;

	if (inet_pton(AF_INET, addr, &a) != 1 ||
	    inet_pton(AF_INET, mask, &m) != 1)
		return (0);
	mv = ntohl(m.s_addr);
	while (plen < 32 && (mv & (0x80000000u >> plen)))
		plen++;
	if (plen < 32 && (mv & (0xffffffffu >> plen)) != 0)
		return (0);			/* not contiguous */
	av = ntohl(a.s_addr) & mv;
	a.s_addr = htonl(av);
	if (inet_ntop(AF_INET, &a, text, sizeof(text)) == NULL)
		return (0);
	(void)snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    "/%d", plen);
	if (cidr_parse(text, &cd) != NULL)
		return (0);
	cidr_format(&cd, out, len);
	return (1);
}

/* "A/len" (IPv6) as canonical "A/len", host bits cleared; 0 if not. */
static int
cidr_v6(const char *spec, char *out, size_t len)
{
	struct in6_addr a;
	struct cidr cd;
	char	addr[64], text[96];
	const char *slash = strchr(spec, '/');
	long long plen = 128;
	size_t	n = slash ? (size_t)(slash - spec) : strlen(spec);
	int	b;

	if (n >= sizeof(addr))
		return (0);
	memcpy(addr, spec, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET6, addr, &a) != 1 ||
	    (slash && (!number(slash + 1, &plen) || plen > 128)))
		return (0);
	for (b = (int)plen; b < 128; b++)
		a.s6_addr[b / 8] &= (unsigned char)~(0x80u >> (b % 8));
	if (inet_ntop(AF_INET6, &a, addr, sizeof(addr)) == NULL)
		return (0);
	(void)snprintf(text, sizeof(text), "%s/%d", addr, (int)plen);
	if (cidr_parse(text, &cd) != NULL)
		return (0);
	cidr_format(&cd, out, len);
	return (1);
}

/*
 * An address of an access-list entry at word *i of ${ws}: its CIDR into
 * ${out}, or "" with *any set (1 any4, 2 any6, 3 any); *i past it.
 * Returns 1, 0 for a form that has no CIDR (object, interface), -1 for
 * no address at all.
 */
static int
acl_addr(const struct words *ws, int *i, char *out, size_t len, int *any)
{
	*any = 0;
	out[0] = '\0';
	if (*i >= ws->n)
		return (-1);
	if (kw(ws, *i, "any") || kw(ws, *i, "any4") || kw(ws, *i, "any6")) {
		*any = kw(ws, *i, "any4") ? 1 : kw(ws, *i, "any6") ? 2 : 3;
		(*i)++;
		return (1);
	}
	if (kw(ws, *i, "host") && *i + 1 < ws->n) {
		*i += 2;
		return (cidr_v4(ws->w[*i - 1], "255.255.255.255", out, len) ||
		    cidr_v6(ws->w[*i - 1], out, len) ? 1 : 0);
	}
	if (kw(ws, *i, "object") || kw(ws, *i, "object-group") ||
	    kw(ws, *i, "interface")) {
		*i += 2;
		return (0);
	}
	if (*i + 1 < ws->n && cidr_v4(ws->w[*i], ws->w[*i + 1], out, len)) {
		*i += 2;
		return (1);
	}
	if (strchr(ws->w[*i], ':') != NULL && cidr_v6(ws->w[*i], out, len)) {
		(*i)++;
		return (1);
	}
	return (-1);
}

/* A port of an access-list entry: "smtp" or a number into *v; 0 if not. */
static int
acl_portnum(const char *w, long long *v)
{
	if (strcasecmp(w, "smtp") == 0) {
		*v = 25;
		return (1);
	}
	return (number(w, v) && *v <= 65535);
}

/*
 * A port operator at word *i (if any), *i past it: 1 if the ports it
 * names include 25 (or there is none), 0 if they cannot, -1 if that is
 * not known (an object-group of ports, a port name other than smtp in a
 * comparison, a malformed operator).  ${given}: there was an operator.
 */
static int
acl_port(const struct words *ws, int *i, int *given)
{
	long long a, b;
	int	r;

	*given = 1;
	if (kw(ws, *i, "eq") && *i + 1 < ws->n) {
		/* a port name other than smtp is not 25 */
		r = acl_portnum(ws->w[*i + 1], &a) ? a == 25 : 0;
		*i += 2;
	} else if (kw(ws, *i, "neq") && *i + 1 < ws->n) {
		r = acl_portnum(ws->w[*i + 1], &a) ? a != 25 :
		    strcasecmp(ws->w[*i + 1], "smtp") != 0;
		*i += 2;
	} else if ((kw(ws, *i, "lt") || kw(ws, *i, "gt")) && *i + 1 < ws->n) {
		if (!acl_portnum(ws->w[*i + 1], &a))
			r = -1;
		else
			r = kw(ws, *i, "lt") ? 25 < a : 25 > a;
		*i += 2;
	} else if (kw(ws, *i, "range") && *i + 2 < ws->n) {
		if (!acl_portnum(ws->w[*i + 1], &a) ||
		    !acl_portnum(ws->w[*i + 2], &b))
			r = -1;
		else
			r = a <= 25 && b >= 25;
		*i += 3;
	} else if (kw(ws, *i, "object-group") && *i + 1 < ws->n) {
		r = -1;				/* its ports are elsewhere */
		*i += 2;
	} else if (kw(ws, *i, "eq") || kw(ws, *i, "neq") || kw(ws, *i, "lt") ||
	    kw(ws, *i, "gt") || kw(ws, *i, "range") ||
	    kw(ws, *i, "object-group")) {
		r = -1;				/* an operator cut short */
		*i = ws->n;
	} else {
		*given = 0;
		r = 1;
	}
	return (r);
}

/*
 * The words after the destination of an access-list entry, from word
 * ${i}: 0 when they change nothing (log options), 1 for inactive (the
 * entry does nothing), -1 with ${why} otherwise (time-range, unknown).
 */
static int
acl_tail(const struct words *ws, int i, const char **why)
{
	*why = NULL;
	for (; i < ws->n; i++) {
		if (kw(ws, i, "inactive"))
			return (1);
		if (kw(ws, i, "time-range")) {
			*why = "a time-range entry: exempt only part of the "
			    "time on the ASA, always in exempt-clients";
			return (-1);
		}
		if (kw(ws, i, "log") || kw(ws, i, "disable") ||
		    kw(ws, i, "default") || kw(ws, i, "interval") ||
		    kw(ws, i, "emergencies") || kw(ws, i, "alerts") ||
		    kw(ws, i, "critical") || kw(ws, i, "errors") ||
		    kw(ws, i, "warnings") || kw(ws, i, "notifications") ||
		    kw(ws, i, "informational") || kw(ws, i, "debugging"))
			continue;
		if (isdigit((unsigned char)ws->w[i][0]) && i > 0 &&
		    (kw(ws, i - 1, "log") || kw(ws, i - 1, "interval")))
			continue;		/* a log level or interval */
		*why = "words after the destination esmtp-inspect does not "
		    "know";
		return (-1);
	}
	return (0);
}

static void
exempt_add(struct ctx *c, const char *cidr)
{
	if (strv_add(&c->exempt, cidr) != 0)
		c->nomem = 1;
}

/* A CIDR of the exemption; a host address is the mail host's. */
static void
exempt_addr(struct ctx *c, const char *cidr)
{
	exempt_add(c, cidr);
	if ((strstr(cidr, "/32") != NULL || strstr(cidr, "/128") != NULL) &&
	    strv_add(&c->hosts, cidr) != 0)
		c->nomem = 1;
}

/*
 * The entries of access-list ${name}: every address they name (the mail
 * host, as source or destination; "any" only where both are any) goes
 * into exempt-clients.  Entries for another service than port 25 are
 * skipped; a deny entry or an object cannot be written as a CIDR list.
 */
static void
exempt_acl(struct ctx *c, const char *name, const struct doc *d, size_t at)
{
	struct words ws;
	char	src[80], dst[80];
	const char *why;
	size_t	i;
	int	k, found = 0, sany, dany, rs, rd, any, sport, dport, t;

	if (!budget(c, d, at))
		return;
	for (i = 0; i < c->in.n; i++) {
		if (c->in.v[i].parent != -1 ||
		    strncasecmp(c->in.v[i].s, "access-list ", 12) != 0)
			continue;
		words_split(&ws, c->in.v[i].s);
		if (ws.n < 3 || strcmp(ws.w[1], name) != 0)
			continue;
		found = 1;
		k = 2;
		if (kw(&ws, k, "line") && k + 1 < ws.n)
			k += 2;
		if (kw(&ws, k, "remark"))
			continue;
		src[0] = dst[0] = '\0';
		sany = 3;
		sport = 0;
		dport = 1;
		if (kw(&ws, k, "standard")) {
			k++;
			if (kw(&ws, k, "permit")) {
				k++;
				rd = acl_addr(&ws, &k, dst, sizeof(dst), &dany);
				rs = 1;
			} else
				rs = rd = -2;
		} else {
			if (kw(&ws, k, "extended"))
				k++;
			if (!kw(&ws, k, "permit"))
				rs = rd = -2;
			else if (kw(&ws, k + 1, "udp") || kw(&ws, k + 1, "icmp"))
				continue;	/* carries no mail */
			else if (!kw(&ws, k + 1, "tcp") && !kw(&ws, k + 1, "ip")
			    && !(k + 1 < ws.n && strcmp(ws.w[k + 1], "6") == 0))
				rs = rd = -3;
			else {
				k += 2;
				rs = acl_addr(&ws, &k, src, sizeof(src), &sany);
				if (rs == 1 && acl_port(&ws, &k, &sport) != 1)
					sport = 1;	/* any operator */
				rd = rs == 1 ? acl_addr(&ws, &k, dst,
				    sizeof(dst), &dany) : rs;
				if (rd == 1 && (dport = acl_port(&ws, &k,
				    &any)) == 0)
					continue;	/* another service */
				if (rd == 1 && sport) {
					untr(c, &c->in, i, "a source-port "
					    "filter: exempt-clients would "
					    "exempt every port of the client");
					continue;
				}
				if (rd == 1 && dport < 0) {
					untr(c, &c->in, i, "ports esmtp-inspect "
					    "cannot tell include 25 or not "
					    "(object-group, a port name)");
					continue;
				}
			}
			if (rs == 1 && rd == 1) {
				if ((t = acl_tail(&ws, k, &why)) > 0)
					continue;	/* inactive: nothing */
				if (t < 0) {
					untr(c, &c->in, i, "%s", why);
					continue;
				}
			}
		}
		if (rs == -2) {
			untr(c, &c->in, i, "a deny entry: exempt-clients lists "
			    "only who is exempt");
			continue;
		}
		if (rs != 1 || rd != 1) {
			untr(c, &c->in, i, "an access-list entry esmtp-inspect "
			    "cannot read as addresses (object, object-group, "
			    "interface, another protocol)");
			continue;
		}
		if (src[0] != '\0')
			exempt_addr(c, src);
		if (dst[0] != '\0')
			exempt_addr(c, dst);
		if (src[0] == '\0' && dst[0] == '\0') {
			any = sany & dany;
			if (any & 1)
				exempt_add(c, "0.0.0.0/0");
			if (any & 2)
				exempt_add(c, "::/0");
		}
		buf_add(&c->exempt_from, "# ");
		from_line(c, &c->exempt_from, &c->in, i);
		buf_add(&c->exempt_from, "\n");
	}
	if (!found)
		untr(c, d, at, "access-list %s is not in the input", name);
}

/*
 * `no inspect esmtp` in class ${cls}: the access-lists of its class-map,
 * every block of it (a re-entered class-map adds to it), each
 * access-list read once.
 */
static void
exempt_class(struct ctx *c, const char *cls, const struct doc *d, size_t at)
{
	struct words ws;
	size_t	j;
	long	ci;
	int	any = 0;

	if (!budget(c, d, at))
		return;
	if ((ci = find_top(&c->in, "class-map", cls, &ws)) < 0) {
		untr(c, d, at, "class-map %s is not in the input", cls);
		return;
	}
	buf_add(&c->exempt_from, "# ");
	from_line(c, &c->exempt_from, d, at);
	buf_add(&c->exempt_from, " (class ");
	buf_show(&c->exempt_from, cls);
	buf_add(&c->exempt_from, ")\n");
	for (; ci >= 0; ci = next_top(&c->in, "class-map", cls,
	    (size_t)ci + 1, &ws)) {
		for (j = (size_t)ci + 1; j < c->in.n &&
		    c->in.v[j].indent > c->in.v[ci].indent; j++) {
			if (c->in.v[j].parent != ci)
				continue;
			words_split(&ws, c->in.v[j].s);
			if (kw(&ws, 0, "match") && kw(&ws, 1, "access-list") &&
			    ws.n == 3) {
				any = 1;
				if (strv_has(&c->acls_done, ws.w[2]))
					continue;
				if (c->acls_done.n >= MAX_STATEMENTS) {
					untr(c, &c->in, j, "more than %d "
					    "access-lists in exemptions",
					    MAX_STATEMENTS);
					continue;
				}
				if (strv_add(&c->acls_done, ws.w[2]) != 0) {
					c->nomem = 1;
					return;
				}
				exempt_acl(c, ws.w[2], &c->in, j);
			} else if (!kw(&ws, 0, "description")) {
				untr(c, &c->in, j, "only a class of "
				    "access-lists can become exempt-clients");
				any = 1;
			}
		}
	}
	if (!any)
		untr(c, d, at, "class-map %s matches nothing", cls);
}

/*
 * `static (real,mapped) [tcp] MAPPED [PORT] REAL [PORT] [netmask M]
 * [tcp] [MAX [EMB]] ...`: the mail host's (a port static for smtp, or
 * an address of the exemption) gives max-connections and max-embryonic;
 * its other address joins the exemption.  ${only}: the sole static with
 * limits in the input, taken as the mail host's.
 */
static void
statics(struct ctx *c)
{
	struct words ws;
	char	a1[80], a2[80];
	size_t	i, nlim = 0;
	long long v, lim[2];
	int	pass, k, port, mail, nl, have;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < c->in.n; i++) {
			if (c->in.v[i].parent != -1)
				continue;
			words_split(&ws, c->in.v[i].s);
			if (!kw(&ws, 0, "static") || ws.n < 4)
				continue;
			k = 2;
			port = kw(&ws, k, "tcp") || kw(&ws, k, "udp");
			mail = 0;
			if (port) {
				if (ws.n < 7)
					continue;
				mail = kw(&ws, k + 2, "smtp") ||
				    strcmp(ws.w[k + 2], "25") == 0 ||
				    kw(&ws, k + 4, "smtp") ||
				    strcmp(ws.w[k + 4], "25") == 0;
				if (kw(&ws, k, "udp"))
					mail = 0;
				k++;
			}
			if (!cidr_v4(ws.w[k], "255.255.255.255", a1,
			    sizeof(a1)))
				a1[0] = '\0';
			k += port ? 2 : 1;
			if (k >= ws.n || !cidr_v4(ws.w[k], "255.255.255.255",
			    a2, sizeof(a2)))
				a2[0] = '\0';
			k += port ? 2 : 1;
			nl = 0;
			for (; k < ws.n; k++) {
				if (kw(&ws, k, "netmask") || kw(&ws, k, "udp"))
					k++;		/* and its value */
				else if (nl < 2 && number(ws.w[k], &v))
					lim[nl++] = v;
			}
			if (pass == 0) {
				nlim += nl > 0;
				continue;
			}
			if ((a1[0] && strv_has(&c->hosts, a1)) ||
			    (a2[0] && strv_has(&c->hosts, a2)))
				mail = 1;
			if (!mail && !(nlim == 1 && nl > 0))
				continue;
			/* the exemption covers both faces of the host */
			if ((a1[0] && strv_has(&c->exempt, a1)) ||
			    (a2[0] && strv_has(&c->exempt, a2))) {
				if (a1[0])
					exempt_add(c, a1);
				if (a2[0])
					exempt_add(c, a2);
			}
			if (nl == 0)
				continue;
			have = c->maxconn != 0;
			for (k = 0; k < nl; k++)
				if (lim[k] == 0 || lim[k] > COUNT_MAX) {
					c->unlimited |= lim[k] == 0;
					lim[k] = COUNT_MAX;
				}
			if (nl < 2)
				lim[1] = have ? c->maxemb : COUNT_MAX;
			if (have && (c->maxconn != lim[0] ||
			    c->maxemb != lim[1])) {
				untr(c, &c->in, i, "a second static of the "
				    "mail host with other limits: the first "
				    "is kept");
				continue;
			}
			c->maxconn = lim[0];
			c->maxemb = lim[1];
			buf_add(&c->limits_from, "  # ");
			from_line(c, &c->limits_from, &c->in, i);
			buf_add(&c->limits_from, "\n");
		}
	}
}

/* ---------------------------------------------------------------- */

/* The shim settings the masks imply; untranslatable masks are listed. */
static void
finish_shim(struct ctx *c)
{
	size_t	k;

	if ((c->ehlo_masked & EHLO_OTHERS) == 0 && c->ehlo_masked != 0)
		for (k = 0; k < c->ehlo_lines.n; k++)
			untr(c, c->ehlo_lines.v[k].d, c->ehlo_lines.v[k].i,
			    "the shim masks the keywords not in a list: "
			    "masking listed ones needs \"others\" masked too");
	if (c->starttls_allow && strv_has(&c->verbs_masked, "STARTTLS"))
		for (k = 0; k < c->verb_lines.n; k++)
			untr(c, c->verb_lines.v[k].d, c->verb_lines.v[k].i,
			    "STARTTLS masked while allow-tls lets it pass: "
			    "the shim's starttls decides both");
}

static void
write_list(struct buf *b, const char *indent, const char *name,
    const struct strv *sv, const char *const *words)
{
	size_t	i;

	buf_add(b, "%s%s = {", indent, name);
	for (i = 0; sv != NULL ? i < sv->n : words[i] != NULL; i++) {
		buf_add(b, i ? ", " : " ");
		buf_quote(b, sv != NULL ? sv->v[i] : words[i]);
	}
	buf_add(b, i ? " }\n" : "}\n");
}

static void
write_rule(struct ctx *c, struct buf *b, int r)
{
	const struct rstate *rs = &c->r[r];
	enum policy_action action = rs->set ? rs->action :
	    rules[r].base ? POLICY_DROP_CONNECTION : POLICY_NONE;

	buf_add(b, "\n");
	if (rs->from.len > 0)
		buf_add(b, "%s", rs->from.s);
	if (rules[r].base)
		buf_add(b, "# the ASA's base engine, whatever the map says%s\n",
		    r == R_ADDRESS_CHARACTERS ? " (108002, 108003)" :
		    " (a command not ended by CRLF)");
	else if (!rs->set)
		buf_add(b, "# not in the ASA map: off\n");
	buf_add(b, "rule %s {\n", rules[r].name);
	if (rules[r].kind == RK_LIMIT)
		buf_add(b, "  limit = %lld\n", rs->set ? rs->limit :
		    rules[r].def);
	if (rules[r].kind == RK_LIST)
		write_list(b, "  ", rules[r].list, &rs->list, NULL);
	buf_add(b, "  action = %s\n", policy_action_name(action));
	buf_add(b, "  log = %s\n", !rs->set || rs->log ? "yes" : "no");
	buf_add(b, "  reply = \"\"\n  exempt-clients = {}\n");
	if (r == R_DUPLICATE_HEADER)
		write_list(b, "  ", "headers", NULL, dup_headers);
	buf_add(b, "}\n");
}

static void
write_conf(struct ctx *c, const char *source)
{
	struct asaconf_result *res = c->res;
	struct buf b = { 0 };
	struct strv kws = { 0 }, cmds = { 0 };
	size_t	i;
	int	r;

	buf_add(&b, "# esmtp-inspect.conf written by esmtp-inspect-asa2conf "
	    "from an ASA configuration\n# (esmtp-inspect-asa2conf(8)).  "
	    "ESMTP policy: %s.\n", source);
	buf_add(&b, "# Check it with:  esmtp-inspect-milter -n -c FILE  and  "
	    "esmtp-inspect-shim -n -c FILE\n");
	if (res->nuntr > 0) {
		buf_add(&b, "#\n# Lines of the ASA configuration that are NOT "
		    "translated (review each):\n");
		for (i = 0; i < res->nuntr; i++) {
			buf_add(&b, "# not translated: ");
			if (res->untr[i].line > 0)
				buf_add(&b, "line %d: ", res->untr[i].line);
			else
				buf_add(&b, "built-in %s: ", DEFAULT_MAP);
			buf_add(&b, "%s\n#   (%s)\n", res->untr[i].text,
			    res->untr[i].why);
		}
	}
	if (c->head.len > 0)
		buf_add(&b, "#\n%s", c->head.s);

	buf_add(&b, "\nprofile = standard\nmode = enforce\n"
	    "syslog-facility = mail\n");
	if (c->exempt_from.len > 0)
		buf_add(&b, "# the mail host, exempt from ESMTP inspection on "
		    "the ASA:\n%s", c->exempt_from.s);
	write_list(&b, "", "exempt-clients", &c->exempt, NULL);
	buf_add(&b, "user = \"\"\ngroup = \"\"\n");

	buf_add(&b, "\nmilter {\n  socket = \"inet:8899@127.0.0.1\"\n"
	    "  socket-mode = \"0660\"\n  timeout = 300\n"
	    "  on-error = tempfail\n  metrics-listen = \"\"\n}\n");

	buf_add(&b, "\nshim {\n  # where the ASA's mail host took mail: "
	    "set listen to its port 25\n"
	    "  listen = { \"127.0.0.1:2526\" }\n"
	    "  upstream = \"127.0.0.1:2525\"\n  proxy-protocol = v2\n"
	    "  accept-proxy-from = {}\n");
	if (c->banner_from.len > 0)
		buf_add(&b, "%s", c->banner_from.s);
	buf_add(&b, "  banner = %s\n  banner-text = \"\"\n",
	    c->banner_mask ? "asterisks" : "pass");
	for (i = 0; i < N_EHLO; i++)
		if (!(c->ehlo_masked & (1u << i)) &&
		    strv_add(&kws, ehlo_params[i].keyword) != 0)
			c->nomem = 1;
	if (c->ehlo_lines.n > 0) {
		for (i = 0; i < c->ehlo_lines.n; i++) {
			buf_add(&b, "  # ");
			from_line(c, &b, c->ehlo_lines.v[i].d,
			    c->ehlo_lines.v[i].i);
			buf_add(&b, "\n");
		}
	} else
		buf_add(&b, "  # no ehlo-reply-parameter mask: every EHLO "
		    "keyword passes\n");
	write_list(&b, "  ", "ehlo-keywords", &kws, NULL);
	buf_add(&b, "  ehlo-other = %s\n", c->ehlo_masked & EHLO_OTHERS ?
	    "mask" : "pass");
	for (i = 0; base_verbs[i] != NULL; i++)
		if (!strv_has(&c->verbs_masked, base_verbs[i]) &&
		    strv_add(&cmds, base_verbs[i]) != 0)
			c->nomem = 1;
	for (i = 0; i < c->verb_lines.n; i++) {
		buf_add(&b, "  # ");
		from_line(c, &b, c->verb_lines.v[i].d, c->verb_lines.v[i].i);
		buf_add(&b, "\n");
	}
	buf_add(&b, "  # the ASA passes these verbs and masks every other "
	    "as XXXX\n");
	write_list(&b, "  ", "commands", &cmds, NULL);
	buf_add(&b, "  command-other = mask\n");
	if (c->starttls_from.len > 0)
		buf_add(&b, "%s", c->starttls_from.s);
	else
		buf_add(&b, "  # no allow-tls (the ASA's default): STARTTLS "
		    "removed\n");
	buf_add(&b, "  starttls = %s\n  tls-certificate = \"\"\n"
	    "  tls-key = \"\"\n  upstream-tls = no\n",
	    c->starttls_allow ? "allow" : "strip");
	if (c->limits_from.len > 0)
		buf_add(&b, "%s", c->limits_from.s);
	if (c->unlimited)
		buf_add(&b, "  # (0, no limit on the ASA, is written as %d)\n",
		    COUNT_MAX);
	buf_add(&b, "  max-connections = %lld\n"
	    "  max-connections-per-client = 50\n  max-embryonic = %lld\n",
	    c->maxconn ? c->maxconn : 1000, c->maxemb ? c->maxemb : 100);
	buf_add(&b, "  client-ipv6-prefix = 64\n  embryonic-timeout = 30\n"
	    "  hard-error-limit = 20\n  metrics-listen = \"\"\n"
	    "  connect-timeout = 10\n  command-timeout = 300\n"
	    "  data-timeout = 600\n  shutdown-timeout = 30\n}\n");

	for (r = 0; r < R_N; r++)
		write_rule(c, &b, r);
	strv_free(&kws);
	strv_free(&cmds);
	for (r = 0; r < R_N; r++)
		if (c->r[r].from.nomem)
			c->nomem = 1;
	if (b.nomem || c->head.nomem || c->exempt_from.nomem ||
	    c->banner_from.nomem || c->starttls_from.nomem ||
	    c->limits_from.nomem) {
		free(b.s);
		c->nomem = 1;
		return;
	}
	res->conf = b.s;
	res->conflen = b.len;
}

/* ---------------------------------------------------------------- */

/* An `inspect esmtp` of the input (or `no inspect esmtp`, or a fixup). */
struct inspect {
	size_t	i;			/* line */
	char	cls[128];		/* class ("" for fixup) */
	char	map[128];		/* "" for the default */
	int	no, fixup;
};

/*
 * The policy-maps the service-policy lines apply, into ${sp}; none at
 * all: every policy-map counts (a part of a configuration).  Beyond
 * MAX_POLICIES lines the list is dropped, every policy-map counts, and
 * the line is not translated: the one that matters is never left out.
 */
static void
service_policies(struct ctx *c, struct strv *sp)
{
	struct words ws;
	size_t	i, nlines = 0;

	for (i = 0; i < c->in.n; i++) {
		if (c->in.v[i].parent != -1 ||
		    strncasecmp(c->in.v[i].s, "service-policy ", 15) != 0)
			continue;
		if (++nlines > MAX_POLICIES) {
			untr(c, &c->in, i, "more than %d service-policy "
			    "lines: the inspect esmtp of every policy-map is "
			    "looked at", MAX_POLICIES);
			strv_free(sp);
			return;
		}
		words_split(&ws, c->in.v[i].s);
		if (ws.n >= 2 && strv_add(sp, ws.w[1]) != 0)
			c->nomem = 1;
	}
}

/* Every inspect esmtp of the input into *v (the caller frees). */
static size_t
find_inspects(struct ctx *c, struct inspect **v)
{
	struct words ws, pw;
	struct inspect *nv;
	struct strv sp = { 0 };
	size_t	i, n = 0, cap = 0;
	long	cl, pm;

	*v = NULL;
	service_policies(c, &sp);
	for (i = 0; i < c->in.n; i++) {
		struct inspect in;

		memset(&in, 0, sizeof(in));
		words_split(&ws, c->in.v[i].s);
		in.i = i;
		if (c->in.v[i].parent == -1 && (kw(&ws, 0, "fixup") ||
		    (kw(&ws, 0, "no") && kw(&ws, 1, "fixup")))) {
			int	k = kw(&ws, 0, "no");

			if (!kw(&ws, k + 1, "protocol") ||
			    !(kw(&ws, k + 2, "smtp") || kw(&ws, k + 2, "esmtp")))
				continue;
			in.no = k;
			in.fixup = 1;
		} else {
			in.no = kw(&ws, 0, "no");
			if (!kw(&ws, in.no, "inspect") ||
			    !kw(&ws, in.no + 1, "esmtp"))
				continue;
			if ((cl = c->in.v[i].parent) < 0 ||
			    (pm = c->in.v[cl].parent) < 0)
				continue;
			words_split(&pw, c->in.v[pm].s);
			if (!kw(&pw, 0, "policy-map") || kw(&pw, 1, "type") ||
			    pw.n != 2 || (sp.n > 0 && !strv_has(&sp, pw.w[1])))
				continue;
			words_split(&pw, c->in.v[cl].s);
			if (!kw(&pw, 0, "class") || pw.n != 2)
				continue;
			(void)snprintf(in.cls, sizeof(in.cls), "%s", pw.w[1]);
			if (!in.no && ws.n == 3)
				(void)snprintf(in.map, sizeof(in.map), "%s",
				    ws.w[2]);
			else if (ws.n != in.no + 2) {
				untr(c, &c->in, i, "not an inspect esmtp "
				    "statement esmtp-inspect knows");
				continue;
			}
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nv = realloc(*v, cap * sizeof(*nv))) == NULL) {
				c->nomem = 1;
				break;
			}
			*v = nv;
		}
		(*v)[n++] = in;
	}
	strv_free(&sp);
	return (n);
}

/*
 * The policy-map type inspect esmtp ${name} (any name when NULL) of the
 * input at or after line ${from}, or -1.
 */
static long
find_map(const struct doc *d, const char *name, size_t from)
{
	struct words ws;
	size_t	i;

	for (i = from; i < d->n; i++) {
		if (d->v[i].parent != -1 ||
		    strncasecmp(d->v[i].s, "policy-map", 10) != 0)
			continue;
		words_split(&ws, d->v[i].s);
		if (ws.n == 5 && kw(&ws, 0, "policy-map") &&
		    kw(&ws, 1, "type") && kw(&ws, 2, "inspect") &&
		    kw(&ws, 3, "esmtp") && (name == NULL ||
		    strcmp(ws.w[4], name) == 0))
			return ((long)i);
	}
	return (-1);
}

/*
 * No inspect esmtp line names a map: the input's one map (a part of a
 * configuration), or with maps of several names the _default_esmtp_map,
 * which an inspect esmtp without a name applies; every map is then
 * listed as not translated, as which one is meant is not known.
 * Returns the map's first line or -1 (the built-in one), its name in
 * ${mw}->w[4] or "" in ${name}.
 */
static long
unnamed_map(struct ctx *c, long m, struct words *mw, const char **name)
{
	struct words ws;
	long	o;
	int	several = 0;

	words_split(mw, c->in.v[m].s);
	*name = mw->w[4];
	for (o = find_map(&c->in, NULL, (size_t)m + 1); o >= 0 && !several;
	    o = find_map(&c->in, NULL, (size_t)o + 1)) {
		words_split(&ws, c->in.v[o].s);
		several = strcmp(ws.w[4], mw->w[4]) != 0;
	}
	if (!several)
		return (m);
	for (o = m; o >= 0; o = find_map(&c->in, NULL, (size_t)o + 1)) {
		words_split(&ws, c->in.v[o].s);
		if (strcmp(ws.w[4], DEFAULT_MAP) != 0)
			untr(c, &c->in, (size_t)o, "maps of several names and "
			    "no inspect esmtp line naming one: an inspect "
			    "esmtp without a map applies %s, translated "
			    "instead", DEFAULT_MAP);
	}
	*name = DEFAULT_MAP;
	return (find_map(&c->in, DEFAULT_MAP, 0));
}

/* Select the map, translate it, the exemption and the limits. */
static void
translate(struct ctx *c)
{
	struct inspect *ins = NULL, *pick = NULL;
	struct buf src = { 0 };
	struct words mw;
	const char *name;
	size_t	n, k;
	long	m;
	int	global_off = 0, negs = 0;

	n = find_inspects(c, &ins);
	for (k = 0; k < n; k++) {
		if (ins[k].no) {
			if (ins[k].fixup || strcmp(ins[k].cls,
			    "inspection_default") == 0)
				global_off = 1;
			else
				negs++;
		} else if (pick == NULL || (!pick->fixup &&
		    strcmp(pick->cls, "inspection_default") != 0 &&
		    strcmp(ins[k].cls, "inspection_default") == 0))
			pick = &ins[k];
	}
	/*
	 * No inspect esmtp line: ESMTP inspection is on by default on an
	 * ASA, so an exemption or a map alone (a part of a configuration)
	 * still means the default inspection, with the map given if any.
	 */
	m = -1;
	if (pick == NULL && (global_off ||
	    ((m = find_map(&c->in, NULL, 0)) < 0 && negs == 0))) {
		c->res->status = ASACONF_NO_ESMTP;
		free(ins);
		return;
	}
	/* Other inspect esmtp lines with another map are not translated. */
	for (k = 0; pick != NULL && k < n; k++)
		if (&ins[k] != pick && !ins[k].no && (ins[k].fixup ||
		    strcmp(ins[k].map, pick->map) != 0))
			untr(c, &c->in, ins[k].i, "a second ESMTP policy: only "
			    "the one of class %s is translated",
			    pick->fixup ? "(fixup)" : pick->cls);
	name = pick != NULL && pick->map[0] != '\0' ? pick->map : DEFAULT_MAP;
	if (pick != NULL && pick->fixup)
		untr(c, &c->in, pick->i, "PIX 6 Mailguard: written as the "
		    "ASA's %s, which differs (NOOP for unknown verbs)",
		    DEFAULT_MAP);
	if (pick != NULL && !pick->fixup)
		m = find_map(&c->in, name, 0);
	else if (pick == NULL && m >= 0)
		m = unnamed_map(c, m, &mw, &name);
	if (m >= 0) {
		from_line(c, &src, &c->in, (size_t)m);
		/* A re-entered policy-map adds to it, as on the ASA. */
		for (; m >= 0; m = find_map(&c->in, name, (size_t)m + 1))
			translate_map(c, &c->in, (size_t)m);
	} else if (strcmp(name, DEFAULT_MAP) == 0) {
		buf_add(&src, "the built-in %s", DEFAULT_MAP);
		if (doc_read(&c->def, default_map, sizeof(default_map) - 1,
		    c->res->err, sizeof(c->res->err)) != 0)
			c->nomem = 1;
		else
			translate_map(c, &c->def, 0);
	} else {
		buf_add(&src, "none (the map is missing)");
		untr(c, &c->in, pick->i, "policy-map type inspect esmtp %s is "
		    "not in the input: only the ASA's base engine is "
		    "translated", name);
	}
	if (pick != NULL && !pick->fixup) {
		buf_add(&c->head, "# inspect esmtp: line %d (class ",
		    c->in.v[pick->i].no);
		buf_show(&c->head, pick->cls);
		buf_add(&c->head, ")\n");
	}
	else if (pick == NULL)
		buf_add(&c->head, "# no inspect esmtp line: the ASA inspects "
		    "ESMTP by default\n");
	for (k = 0, negs = 0; k < n; k++)
		if (ins[k].no && !ins[k].fixup &&
		    strcmp(ins[k].cls, "inspection_default") != 0) {
			if (c->classes_done.n < MAX_STATEMENTS &&
			    strv_has(&c->classes_done, ins[k].cls))
				continue;	/* the same class again */
			if (c->classes_done.n < MAX_STATEMENTS &&
			    strv_add(&c->classes_done, ins[k].cls) != 0) {
				c->nomem = 1;
				break;
			}
			if (++negs > MAX_STATEMENTS)
				untr(c, &c->in, ins[k].i, "more than %d "
				    "exemptions: not translated",
				    MAX_STATEMENTS);
			else
				exempt_class(c, ins[k].cls, &c->in, ins[k].i);
		}
	statics(c);
	finish_shim(c);
	free(ins);
	if (src.nomem)
		c->nomem = 1;
	else if (!c->nomem)
		write_conf(c, src.s);
	free(src.s);
}

/**
 * asaconf_translate(text, len, res): translate the ASA configuration at
 * ${text} into ${res}; returns 0 with ${res}->status, or -1 when out of
 * memory.
 */
int
asaconf_translate(const char *text, size_t len, struct asaconf_result *res)
{
	struct ctx *c;
	int	rc, r;

	memset(res, 0, sizeof(*res));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (-1);
	c->res = res;
	if ((rc = doc_read(&c->in, text, len, res->err, sizeof(res->err))) > 0)
		res->status = ASACONF_REFUSED;
	else if (rc < 0)
		c->nomem = 1;
	else {
		translate(c);
		if (res->status != ASACONF_NO_ESMTP)
			res->status = res->nuntr > 0 ? ASACONF_PARTIAL :
			    ASACONF_OK;
		else {
			/* An odd line on the way (no inspect esmtp X) is
			 * not a policy to review: there is none. */
			rc = res->status;
			asaconf_free(res);
			res->status = (enum asaconf_status)rc;
		}
	}
	doc_free(&c->in);
	doc_free(&c->def);
	for (r = 0; r < R_N; r++) {
		strv_free(&c->r[r].list);
		free(c->r[r].from.s);
	}
	free(c->head.s);
	free(c->banner_from.s);
	free(c->starttls_from.s);
	free(c->limits_from.s);
	free(c->exempt_from.s);
	free(c->ehlo_lines.v);
	free(c->verb_lines.v);
	strv_free(&c->verbs_masked);
	strv_free(&c->exempt);
	strv_free(&c->hosts);
	strv_free(&c->classes_done);
	strv_free(&c->acls_done);
	rc = c->nomem ? -1 : 0;
	free(c);
	return (rc);
}

/** asaconf_free(res): free what ${res} holds; a zeroed ${res} is fine. */
void
asaconf_free(struct asaconf_result *res)
{
	size_t	i;

	if (res == NULL)
		return;
	free(res->conf);
	for (i = 0; i < res->nuntr; i++) {
		free(res->untr[i].text);
		free(res->untr[i].why);
	}
	free(res->untr);
	memset(res, 0, sizeof(*res));
}
