/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * confscan.c - the configuration text read a second time, token by token
 * as libconfuse's own scanner reads it (see confscan.h for why).
 *
 * Interface: confscan_lex_init/next/free() are the tokenizer;
 * confscan_read() runs it over a file, follows the blocks and returns the
 * text with every comment blanked, the names given twice in one block, a
 * string or comment left open at the end, a block left open, and a
 * top-level name met inside a block that is never closed.
 *
 * Invariants: the tokens are those of lexer.l in libconfuse 3.3 (flex:
 * the longest match wins, the earlier rule on a tie), so that a blanked
 * comment is exactly what libconfuse would skip and no other byte changes;
 * tests/unit/test_confscan.c holds this against the library's own
 * cfg_yylex().  Lines are counted truly (libconfuse miscounts comments).
 * The blocks are followed by syntax alone (name = value, name { },
 * name title { }); the option table only says how a repeated block is
 * taken and which names belong to the top level.  Following stops at the
 * first thing libconfuse would refuse: config_load() reports that.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "confscan.h"

/* Octets that end a bare word (lexer.l: the unquoted string rule). */
#define BARE_STOP	" #\"'\t\n\r={}()+,*"

/* 1 if ${c} may be part of a bare word (flex's [^...] takes a NUL). */
static int
bare(char c)
{
	return (c == '\0' || strchr(BARE_STOP, c) == NULL);
}

/* Append ${c} to the token's value; -1 when out of memory. */
static int
put(struct confscan_lex *lx, char c)
{
	char   *v;

	if (lx->vlen + 1 >= lx->vcap) {
		if ((v = realloc(lx->value, lx->vcap * 2 + 32)) == NULL)
			return (-1);
		lx->value = v;
		lx->vcap = lx->vcap * 2 + 32;
	}
	lx->value[lx->vlen++] = c;
	lx->value[lx->vlen] = '\0';
	return (0);
}

static int
put_str(struct confscan_lex *lx, const char *s)
{
	for (; *s != '\0'; s++)
		if (put(lx, *s) != 0)
			return (-1);
	return (0);
}

/*
 * ${NAME} or ${NAME:-default} at ${at}: its value goes to the token's
 * value (nothing when unset without a default), the octet after its "}"
 * to *end.  Returns 0 if there is no such reference at ${at}, 1 if there
 * is, -1 when out of memory.  Its newlines count (libconfuse skips them).
 */
static int
env_ref(struct confscan_lex *lx, size_t at, size_t *end)
{
	const char *close, *v;
	char   *name, *e;
	size_t	i;
	int	rc = 0;

	if (at + 1 >= lx->len || lx->text[at + 1] != '{')
		return (0);
	if ((close = memchr(lx->text + at + 2, '}', lx->len - at - 2)) == NULL)
		return (0);
	if ((name = strndup(lx->text + at + 2,
	    (size_t)(close - lx->text) - at - 2)) == NULL)
		return (-1);
	for (i = at; i < (size_t)(close - lx->text); i++)
		if (lx->text[i] == '\n')
			lx->line++;
	if ((e = strchr(name, ':')) != NULL && e[1] == '-')
		*e = '\0';
	else
		e = NULL;
	if ((v = getenv(name)) == NULL && e != NULL)
		v = e + 2;
	if (v != NULL)
		rc = put_str(lx, v);
	free(name);
	*end = (size_t)(close - lx->text) + 1;
	return (rc == 0 ? 1 : -1);
}

/* "..." from ${p}, the quote; fills the value.  -1 when out of memory. */
static int
dq_string(struct confscan_lex *lx, size_t p)
{
	static const char esc[] = "n\nr\rb\bf\fa\007e\033t\tv\v";
	const char *t = lx->text, *m;
	size_t	i = p + 1, n = lx->len, o, d, end;
	unsigned v;
	int	r;

	for (;;) {
		if (i >= n) {
			lx->open = '"';
			lx->pos = n;
			return (0);
		}
		if (t[i] == '"')
			break;
		if (t[i] == '$') {
			if ((r = env_ref(lx, i, &end)) < 0)
				return (-1);
			if (r > 0) {
				i = end;
				continue;
			}
		}
		if (t[i] == '\n')
			lx->line++;
		if (t[i] != '\\') {
			if (put(lx, t[i++]) != 0)
				return (-1);
			continue;
		}
		if (i + 1 >= n) {		/* flex echoes a lone "\" */
			i++;
			continue;
		}
		if (t[i + 1] == '\n') {		/* continued on the next line */
			lx->line++;
			i += 2;
			continue;
		}
		if (isdigit((unsigned char)t[i + 1])) {
			/* \[0-7]{1,3} is octal; a longer \[0-9]+ an error */
			for (o = 0, v = 0; o < 3 && i + 1 + o < n &&
			    t[i + 1 + o] >= '0' && t[i + 1 + o] <= '7'; o++)
				v = v * 8 + (unsigned)(t[i + 1 + o] - '0');
			for (d = 0; i + 1 + d < n &&
			    isdigit((unsigned char)t[i + 1 + d]); d++)
				;
			if (d > o || v > 0xff) {
				lx->error = 1;
				i += 1 + (d > o ? d : o);
				continue;
			}
			if (put(lx, (char)v) != 0)
				return (-1);
			i += 1 + o;
			continue;
		}
		if (t[i + 1] == 'x' && i + 2 < n &&
		    isxdigit((unsigned char)t[i + 2])) {
			for (o = 0, v = 0; o < 2 && i + 2 + o < n &&
			    isxdigit((unsigned char)t[i + 2 + o]); o++)
				v = v * 16 + (unsigned)(isdigit((unsigned char)
				    t[i + 2 + o]) ? t[i + 2 + o] - '0' :
				    tolower((unsigned char)t[i + 2 + o]) - 'a' +
				    10);
			if (put(lx, (char)v) != 0)
				return (-1);
			i += 2 + o;
			continue;
		}
		m = t[i + 1] != '\0' ? strchr(esc, t[i + 1]) : NULL;
		if ((m == NULL || (m - esc) % 2 != 0) && t[i + 1] != '"' && t[i + 1] != '$' &&
		    t[i + 1] != '\\' && lx->dropped_line == 0) {
			lx->dropped_line = lx->line;
			lx->dropped = t[i + 1];
		}
		if (put(lx, m != NULL && (m - esc) % 2 == 0 ? m[1] :
		    t[i + 1]) != 0)
			return (-1);
		i += 2;
	}
	lx->pos = i + 1;
	lx->type = CONFSCAN_STR;
	return (0);
}

/* '...' from ${p}, the quote; fills the value.  -1 when out of memory. */
static int
sq_string(struct confscan_lex *lx, size_t p)
{
	const char *t = lx->text;
	size_t	i = p + 1, n = lx->len;

	for (;;) {
		if (i >= n) {
			lx->open = '\'';
			lx->pos = n;
			return (0);
		}
		if (t[i] == '\'')
			break;
		if (t[i] == '\n')
			lx->line++;
		if (t[i] != '\\' || i + 1 >= n) {
			if (t[i] != '\\' && put(lx, t[i]) != 0)
				return (-1);
			i++;			/* flex echoes a lone "\" */
			continue;
		}
		if (t[i + 1] == '\n') {
			lx->line++;
		} else if (t[i + 1] == '\\' || t[i + 1] == '\'') {
			if (put(lx, t[i + 1]) != 0)
				return (-1);
		} else if (put(lx, '\\') != 0 || put(lx, t[i + 1]) != 0)
			return (-1);
		i += 2;
	}
	lx->pos = i + 1;
	lx->type = CONFSCAN_STR;
	return (0);
}

/** confscan_lex_init(lx, text, len): start reading ${len} octets at ${text}. */
void
confscan_lex_init(struct confscan_lex *lx, const char *text, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->text = text;
	lx->len = len;
	lx->line = 1;
}

/**
 * confscan_lex_next(lx): read the next token into ${lx}; returns its type,
 * or -1 when out of memory.
 */
int
confscan_lex_next(struct confscan_lex *lx)
{
	const char *t = lx->text;
	size_t	p, n = lx->len, end;
	int	r;

	lx->vlen = 0;			/* an empty value, allocated */
	if (put(lx, '\0') != 0)
		return (-1);
	lx->vlen = 0;
	for (;;) {
		p = lx->pos;
		lx->start = p;
		lx->tline = lx->line;
		lx->type = CONFSCAN_END;
		if (p >= n)
			return (CONFSCAN_END);
		switch (t[p]) {
		case ' ':
		case '\t':
			lx->pos++;
			continue;
		case '\n':
			lx->line++;
			lx->pos++;
			continue;
		case '{': case '}': case '(': case ')': case '=': case ',':
			lx->type = CONFSCAN_PUNCT;
			lx->punct = t[p];
			lx->pos++;
			return (lx->type);
		case '+':
			lx->pos++;
			if (p + 1 >= n || t[p + 1] != '=')
				continue;	/* eaten, as flex's "." */
			lx->pos++;
			lx->type = CONFSCAN_PUNCT;
			lx->punct = '+';
			return (lx->type);
		case '"':
			if (dq_string(lx, p) != 0)
				return (-1);
			return (lx->type);
		case '\'':
			if (sq_string(lx, p) != 0)
				return (-1);
			return (lx->type);
		case '#':
			break;
		case '/':
			if (p + 1 < n && t[p + 1] == '/')
				break;
			if (p + 1 < n && t[p + 1] == '*') {
				for (p += 2; p < n; p++) {
					if (t[p] == '*' && p + 1 < n &&
					    t[p + 1] == '/')
						break;
					if (t[p] == '\n')
						lx->line++;
				}
				lx->pos = p < n ? p + 2 : n;
				if (p < n)
					lx->type = CONFSCAN_COMMENT;
				else
					lx->open = '*';
				return (lx->type);
			}
			goto word;
		case '$':
			if ((r = env_ref(lx, p, &end)) < 0)
				return (-1);
			if (r == 0)
				goto word;
			lx->pos = end;
			lx->type = CONFSCAN_STR;
			return (lx->type);
		default:
			if (!bare(t[p])) {
				lx->pos++;	/* eaten, as flex's "." */
				continue;
			}
			goto word;
		}
		/* "#" or "//": a comment to the end of the line */
		for (; p < n && t[p] != '\n'; p++)
			;
		lx->pos = p;
		lx->type = CONFSCAN_COMMENT;
		return (lx->type);
word:
		for (; p < n && bare(t[p]); p++)
			if (put(lx, t[p]) != 0)
				return (-1);
		lx->pos = p;
		lx->type = CONFSCAN_STR;
		return (lx->type);
	}
}

/** confscan_lex_free(lx): free the value buffer of ${lx}. */
void
confscan_lex_free(struct confscan_lex *lx)
{
	free(lx->value);
	lx->value = NULL;
	lx->vlen = lx->vcap = 0;
}

/* ---------------------------------------------------------------- */

/* A name set in a block, and the line of its last setting. */
struct key {
	char   *name;
	int	line;
};

/* An open block. */
struct frame {
	cfg_opt_t *opts;		/* its options, NULL if unknown */
	char   *label;			/* NULL at top */
	int	line;			/* where it opened */
	struct key *keys;
	size_t	nkeys;
};

struct walk {
	struct confscan *cs;
	cfg_opt_t *top;
	struct frame *f;
	size_t	depth, cap;		/* f[0] is the top level */
	size_t	stray_depth;		/* the block of cs->stray */
};

static cfg_opt_t *
find(cfg_opt_t *opts, const char *name)
{
	if (opts == NULL)
		return (NULL);
	for (; opts->name != NULL; opts++)
		if (strcmp(opts->name, name) == 0)
			return (opts);
	return (NULL);
}

static void
frame_free(struct frame *f)
{
	size_t	i;

	for (i = 0; i < f->nkeys; i++)
		free(f->keys[i].name);
	free(f->keys);
	free(f->label);
	memset(f, 0, sizeof(*f));
}

/*
 * ${name} set on ${line} in the innermost block; ${append} for "+=",
 * which adds to a list.  -1 when out of memory.
 */
static int
seen(struct walk *w, const char *name, int line, int append,
    enum confscan_dup_kind kind)
{
	struct frame *f = &w->f[w->depth];
	struct confscan *cs = w->cs;
	struct confscan_dup *d;
	struct key *k;
	size_t	i;

	for (i = 0; i < f->nkeys; i++)
		if (strcmp(f->keys[i].name, name) == 0)
			break;
	if (i == f->nkeys) {
		if ((k = realloc(f->keys, (f->nkeys + 1) * sizeof(*k))) ==
		    NULL)
			return (-1);
		f->keys = k;
		if ((k[i].name = strdup(name)) == NULL)
			return (-1);
		k[i].line = line;
		f->nkeys++;
		return (0);
	}
	if (!append) {
		if ((d = realloc(cs->dups, (cs->ndups + 1) * sizeof(*d))) ==
		    NULL)
			return (-1);
		cs->dups = d;
		d += cs->ndups;
		memset(d, 0, sizeof(*d));
		cs->ndups++;
		d->line = line;
		d->first = f->keys[i].line;
		d->kind = kind;
		if ((d->name = strdup(name)) == NULL ||
		    (f->label != NULL && (d->block = strdup(f->label)) == NULL))
			return (-1);
	}
	f->keys[i].line = line;
	return (0);
}

/* Block ${name} [${title}] opens on ${line}.  -1 when out of memory. */
static int
open_block(struct walk *w, const char *name, const char *title, int line)
{
	cfg_opt_t *opt = find(w->f[w->depth].opts, name);
	struct frame *f;
	char   *label;
	int	rc = 0;

	if (title == NULL)
		label = strdup(name);
	else if (asprintf(&label, "%s %s", name, title) < 0)
		label = NULL;
	if (label == NULL)
		return (-1);
	/* An untitled CFGF_MULTI block is meant to repeat. */
	if (opt == NULL || (opt->flags & CFGF_MULTI) == 0)
		rc = seen(w, label, line, 0, CONFSCAN_DUP_MERGED);
	else if ((opt->flags & CFGF_TITLE) != 0)
		rc = seen(w, label, line, 0, CONFSCAN_DUP_REPLACED);
	if (rc == 0 && w->depth + 1 == w->cap) {
		if ((f = realloc(w->f, 2 * w->cap * sizeof(*f))) == NULL)
			rc = -1;
		else {
			w->f = f;
			w->cap *= 2;
		}
	}
	if (rc != 0) {
		free(label);
		return (-1);
	}
	f = &w->f[++w->depth];
	memset(f, 0, sizeof(*f));
	f->opts = opt != NULL && opt->type == CFGT_SEC ? opt->subopts : NULL;
	f->label = label;
	f->line = line;
	return (0);
}

/*
 * A name starts a statement on ${line}: inside a block, one that belongs
 * to the top level and not to the block is where libconfuse stops with
 * "no such option"; keep the first.  -1 when out of memory.
 */
static int
statement(struct walk *w, const char *name, int line)
{
	struct frame *f = &w->f[w->depth];
	struct confscan *cs = w->cs;

	if (w->depth == 0 || cs->stray != NULL || f->opts == NULL ||
	    find(f->opts, name) != NULL || find(w->top, name) == NULL)
		return (0);
	if ((cs->stray = strdup(name)) == NULL ||
	    (cs->stray_block = strdup(f->label)) == NULL)
		return (-1);
	cs->stray_line = line;
	cs->stray_open = f->line;
	w->stray_depth = w->depth;
	return (0);
}

/* Where the walk is in a statement. */
enum state { S_NAME, S_AFTER, S_VALUE, S_LIST, S_SEP, S_TITLE, S_STOP };

/* Blank octets ${from} to ${to} of the copy, newlines kept. */
static void
blank(struct confscan *cs, size_t from, size_t to)
{
	for (; from < to; from++)
		if (cs->text[from] != '\n')
			cs->text[from] = ' ';
}

/* The walk proper; confscan_read() sets up and frees. */
static int
walk(struct walk *w, struct confscan_lex *lx)
{
	struct confscan *cs = w->cs;
	enum state st = S_NAME;
	char   *name = NULL, *title = NULL;
	int	nline = 0, type, p, rc = -1;

	while ((type = confscan_lex_next(lx)) != CONFSCAN_END) {
		if (type < 0)
			goto done;
		if (type == CONFSCAN_COMMENT) {
			blank(cs, lx->start, lx->pos);
			continue;
		}
		p = type == CONFSCAN_PUNCT ? lx->punct : 0;
		switch (st) {
		case S_NAME:
			if (type == CONFSCAN_STR) {
				free(name);
				if ((name = strdup(lx->value)) == NULL ||
				    statement(w, name, lx->tline) != 0)
					goto done;
				nline = lx->tline;
				st = S_AFTER;
			} else if (p == '}' && w->depth > 0) {
				if (w->stray_depth == w->depth)
					w->stray_depth = 0;
				frame_free(&w->f[w->depth--]);
			} else
				st = S_STOP;
			break;
		case S_AFTER:
			if (p == '=' || p == '+') {
				if (seen(w, name, nline, p == '+',
				    CONFSCAN_DUP_OPTION) != 0)
					goto done;
				st = S_VALUE;
			} else if (p == '{') {
				if (open_block(w, name, NULL, nline) != 0)
					goto done;
				st = S_NAME;
			} else if (type == CONFSCAN_STR) {
				free(title);
				if ((title = strdup(lx->value)) == NULL)
					goto done;
				st = S_TITLE;
			} else
				st = S_STOP;
			break;
		case S_VALUE:
			st = p == '{' ? S_LIST : type == CONFSCAN_STR ?
			    S_NAME : S_STOP;
			break;
		case S_LIST:
			st = p == '}' ? S_NAME : type == CONFSCAN_STR ?
			    S_SEP : S_STOP;
			break;
		case S_SEP:
			st = p == ',' ? S_LIST : p == '}' ? S_NAME : S_STOP;
			break;
		case S_TITLE:
			if (p != '{') {
				st = S_STOP;
				break;
			}
			if (open_block(w, name, title, nline) != 0)
				goto done;
			st = S_NAME;
			break;
		case S_STOP:
			break;
		}
	}
	if (lx->open != 0) {
		cs->open = lx->open;
		cs->open_line = lx->tline;
		blank(cs, lx->start, cs->len);
	} else if (st == S_NAME && w->depth > 0) {
		if ((cs->unclosed = strdup(w->f[1].label)) == NULL)
			goto done;
		cs->unclosed_line = w->f[1].line;
	}
	/* Only a block still open at a clean end proves the missing "}". */
	if (cs->stray != NULL && (lx->open != 0 || st != S_NAME ||
	    w->stray_depth == 0)) {
		free(cs->stray);
		free(cs->stray_block);
		cs->stray = cs->stray_block = NULL;
		cs->stray_line = cs->stray_open = 0;
	}
	rc = 0;
done:
	free(name);
	free(title);
	return (rc);
}

/**
 * confscan_read(cs, text, len, opts): scan ${len} octets of ${text}, a file
 * for the libconfuse option table ${opts}, into ${cs}.  Returns 0, or -1
 * when out of memory.  confscan_free() in either case.
 */
int
confscan_read(struct confscan *cs, const char *text, size_t len,
    cfg_opt_t *opts)
{
	struct confscan_lex lx;
	struct walk w;
	int	rc;

	memset(cs, 0, sizeof(*cs));
	memset(&w, 0, sizeof(w));
	if ((cs->text = malloc(len + 1)) == NULL)
		return (-1);
	memcpy(cs->text, text, len);
	cs->text[len] = '\0';
	cs->len = len;
	w.cs = cs;
	w.top = opts;
	w.cap = 8;
	if ((w.f = calloc(w.cap, sizeof(*w.f))) == NULL)
		return (-1);
	w.f[0].opts = opts;
	confscan_lex_init(&lx, cs->text, len);
	/* The lexer reads the copy it blanks behind itself: same octets. */
	rc = walk(&w, &lx);
	cs->dropped_line = lx.dropped_line;
	cs->dropped = lx.dropped;
	confscan_lex_free(&lx);
	for (; w.depth > 0; w.depth--)
		frame_free(&w.f[w.depth]);
	frame_free(&w.f[0]);
	free(w.f);
	return (rc);
}

/** confscan_free(cs): free what ${cs} holds; a zeroed ${cs} is fine. */
void
confscan_free(struct confscan *cs)
{
	size_t	i;

	free(cs->text);
	free(cs->unclosed);
	free(cs->stray);
	free(cs->stray_block);
	for (i = 0; i < cs->ndups; i++) {
		free(cs->dups[i].name);
		free(cs->dups[i].block);
	}
	free(cs->dups);
	memset(cs, 0, sizeof(*cs));
}
