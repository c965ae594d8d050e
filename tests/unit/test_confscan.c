/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_confscan.c - the second reading of the configuration text: token
 * rows, the same tokens as libconfuse's own scanner (cfg_yylex, exported
 * by libconfuse though not declared) on rows and on random texts, and
 * confscan_read() rows (blanked comments, names given twice, an open
 * string, comment or block, a stray top-level name).  Rows hold their
 * strings inline: Criterion 2.4 copies parameters into a re-executed
 * worker.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confscan.h"

/* libconfuse's scanner (lexer.l); not in confuse.h. */
extern int cfg_yylex(cfg_t *cfg);
extern void cfg_yylex_destroy(void);
extern void cfg_scan_fp_begin(FILE *fp);
extern void cfg_scan_fp_end(void);
extern char *cfg_yylval;
extern FILE *cfg_yyout;

/* Render ${text}'s tokens as "S(v) { = C ..." with our scanner. */
static void
ours(const char *text, size_t len, char *out, size_t outlen)
{
	struct confscan_lex lx;
	size_t	o = 0;
	int	t;

	out[0] = '\0';
	confscan_lex_init(&lx, text, len);
	while ((t = confscan_lex_next(&lx)) != CONFSCAN_END) {
		cr_assert(t >= 0);
		if (lx.error)		/* libconfuse stops there */
			break;
		if (t == CONFSCAN_STR)
			o += (size_t)snprintf(out + o, outlen - o, "S(%s) ",
			    lx.value);
		else if (t == CONFSCAN_COMMENT)
			o += (size_t)snprintf(out + o, outlen - o, "C ");
		else
			o += (size_t)snprintf(out + o, outlen - o, "%c ",
			    lx.punct);
		cr_assert(o < outlen);
	}
	if (lx.open != 0 || lx.error)
		(void)snprintf(out + o, outlen - o, "OPEN");
	confscan_lex_free(&lx);
}

static void
quiet(cfg_t *cfg, const char *fmt, va_list ap)
{
	(void)cfg;
	(void)fmt;
	(void)ap;
}

/*
 * The same with libconfuse's scanner.  "OPEN": it stopped on an error, or
 * ended inside a string or comment (the next text, "Z", is not a word).
 */
static void
theirs(const char *text, size_t len, char *out, size_t outlen)
{
	static cfg_opt_t none[] = { CFG_END() };
	static char z[] = "Z";
	cfg_t  *c = cfg_init(none, CFGF_NONE);
	FILE   *fp, *fz, *null = fopen("/dev/null", "w");
	char   *copy = malloc(len);
	size_t	o = 0;
	int	t;

	cr_assert_not_null(c);
	cr_assert_not_null(null);
	(void)cfg_set_error_function(c, quiet);
	cfg_yyout = null;		/* flex echoes a lone backslash */
	out[0] = '\0';
	cr_assert_not_null(copy);
	memcpy(copy, text, len);
	fp = fmemopen(copy, len, "r");
	cr_assert_not_null(fp);
	cfg_scan_fp_begin(fp);
	for (;;) {
		t = cfg_yylex(c);
		if (t == 0 || t == EOF)
			break;
		if (t == CFGT_STR)
			o += (size_t)snprintf(out + o, outlen - o, "S(%s) ",
			    cfg_yylval);
		else if (t == CFGT_COMMENT)
			o += (size_t)snprintf(out + o, outlen - o, "C ");
		else
			o += (size_t)snprintf(out + o, outlen - o, "%c ", t);
		cr_assert(o < outlen);
	}
	if (t == EOF) {
		fz = fmemopen(z, 1, "r");
		cfg_scan_fp_begin(fz);
		t = cfg_yylex(c);
		if (t != CFGT_STR || strcmp(cfg_yylval, "Z") != 0)
			t = 0;
		cfg_scan_fp_end();
		fclose(fz);
	}
	if (t == 0)
		(void)snprintf(out + o, outlen - o, "OPEN");
	cfg_scan_fp_end();
	fclose(fp);
	cfg_yylex_destroy();
	cfg_free(c);
	fclose(null);
	free(copy);
}

struct lex_row {
	char	text[64];
	char	toks[128];
};

ParameterizedTestParameters(confscan, lex)
{
	static struct lex_row rows[] = {
		{ "mode = enforce", "S(mode) = S(enforce) " },
		{ "a+=b a+b", "S(a) + S(b) S(a) S(b) " },
		{ "x{y}z(w),", "S(x) { S(y) } S(z) ( S(w) ) , " },
		/* comments: # and // at a word's start; / and // inside */
		{ "a#b\nc", "S(a) C S(c) " },
		{ "a//b c //d\ne", "S(a//b) S(c) C S(e) " },
		{ "/a /* b */ c", "S(/a) C S(c) " },
		{ "x/*y*/z", "S(x/) S(y) S(/z) " },
		{ "/* a\n * b **/ c", "C S(c) " },
		{ "/* open", "OPEN" },
		{ "a * b \r c", "S(a) S(b) S(c) " },
		/* strings */
		{ "\"a b\\\"c\\x41\\101\\n\" 'd\\'e\\f'",
		  "S(a b\"cAA\n) S(d'e\\f) " },
		{ "\"a\\\nb\"", "S(ab) " },
		{ "\"open", "OPEN" },
		{ "'open", "OPEN" },
		{ "\"\\8\"", "OPEN" },
		{ "\"\\0123\"", "OPEN" },
		{ "\"\\400\"", "OPEN" },
		{ "\"#not\" '//not'", "S(#not) S(//not) " },
		/* ${VAR} */
		{ "${CONFSCAN_T} ${CONFSCAN_UNSET} ${CONFSCAN_UNSET:-d}",
		  "S(tv) S() S(d) " },
		{ "\"<${CONFSCAN_T}>\" a${CONFSCAN_T}", "S(<tv>) S(a$) { "
		  "S(CONFSCAN_T) } " },
		{ "${x", "S($) { S(x) " },
	};
	return cr_make_param_array(struct lex_row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct lex_row *r, confscan, lex)
{
	char	a[512], b[512];

	(void)setenv("CONFSCAN_T", "tv", 1);
	ours(r->text, strlen(r->text), a, sizeof(a));
	cr_assert_str_eq(a, r->toks, "text: %s", r->text);
	theirs(r->text, strlen(r->text), b, sizeof(b));
	cr_assert_str_eq(a, b, "text: %s (libconfuse)", r->text);
}

/* Random texts of the octets that matter: both scanners agree. */
Test(confscan, same_as_libconfuse)
{
	static const char abc[] = "ab/*#\"'\\{}()=+,$ \n\t\r07x\303-";
	char	text[40], a[1024], b[1024];
	unsigned seed = 16;
	int	i, j, n;

	(void)setenv("CONFSCAN_T", "tv", 1);
	for (i = 0; i < 20000; i++) {
		n = 1 + (int)(rand_r(&seed) % (sizeof(text) - 1));
		for (j = 0; j < n; j++)
			text[j] = abc[rand_r(&seed) % (sizeof(abc) - 1)];
		ours(text, (size_t)n, a, sizeof(a));
		theirs(text, (size_t)n, b, sizeof(b));
		cr_assert_str_eq(a, b, "text: \"%.*s\"", n, text);
	}
}

/* -------------------------------------------------------------------- */

static char def_empty[] = "{}";
static cfg_opt_t sub[] = {
	CFG_INT("n", 0, CFGF_NONE),
	CFG_STR_LIST("l", def_empty, CFGF_NONE),
	CFG_END()
};
static cfg_opt_t opts[] = {
	CFG_INT("n", 0, CFGF_NONE),
	CFG_STR_LIST("l", def_empty, CFGF_NONE),
	CFG_SEC("sec", sub, CFGF_NONE),
	CFG_SEC("other", sub, CFGF_NONE),
	CFG_SEC("r", sub, CFGF_MULTI | CFGF_TITLE),
	CFG_SEC("m", sub, CFGF_MULTI),
	CFG_END()
};

struct read_row {
	char	text[128];
	char	blanked[128];	/* "": the text itself */
	char	found[256];	/* what confscan_read() reports, see below */
};

/* One line per finding, in a fixed order. */
static void
describe(const struct confscan *cs, char *out, size_t len)
{
	static const char *const kinds[] = { "option", "merged", "replaced" };
	size_t	o = 0, i;

	out[0] = '\0';
	if (cs->open)
		o += (size_t)snprintf(out + o, len - o, "open %c %d\n",
		    cs->open, cs->open_line);
	if (cs->unclosed != NULL)
		o += (size_t)snprintf(out + o, len - o, "unclosed %s %d\n",
		    cs->unclosed, cs->unclosed_line);
	if (cs->stray != NULL)
		o += (size_t)snprintf(out + o, len - o, "stray %s %d in %s %d\n",
		    cs->stray, cs->stray_line, cs->stray_block, cs->stray_open);
	for (i = 0; i < cs->ndups; i++)
		o += (size_t)snprintf(out + o, len - o, "dup %s%s%s %d %d %s\n",
		    cs->dups[i].name, cs->dups[i].block ? " in " : "",
		    cs->dups[i].block ? cs->dups[i].block : "",
		    cs->dups[i].line, cs->dups[i].first,
		    kinds[cs->dups[i].kind]);
}

ParameterizedTestParameters(confscan, read)
{
	static struct read_row rows[] = {
		{ "n = 1\nl = {}\n", "", "" },
		/* comments blanked, newlines kept */
		{ "n = 1 # c\n// d\n/* e\nf */ l = {}",
		  "n = 1    \n    \n    \n     l = {}", "" },
		{ "l = { a, # c\n b }", "l = { a,    \n b }", "" },
		/* given twice: options, lists, blocks */
		{ "n = 1\nn = 2\nn = 3", "",
		  "dup n 2 1 option\ndup n 3 2 option\n" },
		{ "l = {a}\nl += {b}\nl = {}", "", "dup l 3 2 option\n" },
		{ "sec { n = 1 n = 2 }\nsec {\n}", "",
		  "dup n in sec 1 1 option\ndup sec 2 1 merged\n" },
		{ "r a { }\nr b { }\nr 'a' { n = 1 }", "",
		  "dup r a 3 1 replaced\n" },
		{ "m { } m { }", "", "" },
		{ "\"n\" = 1 n = 2", "", "dup n 1 1 option\n" },
		{ "sec { n = 1 } other { n = 1 }", "", "" },
		/* open at the end */
		{ "n = 1\nl = { \"a,\n b }", "n = 1\nl = {    \n    ",
		  "open \" 2\n" },
		{ "n = 1 /* x\n y", "n = 1     \n  ", "open * 1\n" },
		{ "sec {\n n = 1\n", "", "unclosed sec 1\n" },
		{ "sec { n = 1 }\nr x {\n", "", "unclosed r x 2\n" },
		/* a top-level name inside a block never closed */
		{ "sec {\n l = {}\nother {\n n = 1\n}\n", "",
		  "unclosed sec 1\nstray other 3 in sec 1\n" },
		{ "r x {\n n = 1\nsec { }\n", "",
		  "unclosed r x 1\nstray sec 3 in r x 1\n" },
		/* ... closed after all: not a missing "}" */
		{ "sec {\n other { }\n}\n", "", "" },
		/* following stops where libconfuse would refuse */
		{ "sec {\n other {\n n = = 1", "", "" },
		{ "n = 1 }\nn = 2", "", "" },
	};
	return cr_make_param_array(struct read_row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct read_row *r, confscan, read)
{
	struct confscan cs;
	char	found[512];

	cr_assert_eq(confscan_read(&cs, r->text, strlen(r->text), opts), 0);
	cr_assert_eq(cs.len, strlen(r->text));
	cr_assert_str_eq(cs.text, r->blanked[0] ? r->blanked : r->text,
	    "text: %s", r->text);
	describe(&cs, found, sizeof(found));
	cr_assert_str_eq(found, r->found, "text: %s", r->text);
	confscan_free(&cs);
	confscan_free(&cs);		/* a zeroed one is fine */
}

/* True lines after comments, where libconfuse 3.3 counts too many. */
Test(confscan, lines)
{
	static const char text[] = "# a\n// b\n/* c\n d */\nsec {\n n = 1\n";
	struct confscan cs;

	cr_assert_eq(confscan_read(&cs, text, sizeof(text) - 1, opts), 0);
	cr_assert_str_eq(cs.unclosed, "sec");
	cr_assert_eq(cs.unclosed_line, 5);
	confscan_free(&cs);
}
