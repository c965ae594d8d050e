/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_mime_oracle.c - differential libFuzzer target: the streaming MIME
 * scanner (common/mime.c) against GMime's full parser as the oracle.
 *
 * The input is a message.  Its header goes to the scanner field by field
 * as Postfix passes it (tests/lib/mimefeed.h), its body in chunks whose
 * sizes come from the input, as the MTA hands them over.  GMime parses the
 * same octets whole and its tree is walked: every `name` of a
 * Content-Type and `filename` of a Content-Disposition, at any depth,
 * inside attached messages too.  The target aborts when GMime finds a name
 * that the scanner did not report at least as long (per parameter, the
 * scanner's lengths must dominate GMime's, largest to largest), unless
 * the scanner said it could not read the structure (mime-structure) or
 * reported a truncated name (it fails closed there).
 *
 * Where GMime itself is wrong: it joins adjacent RFC 2047 words before
 * decoding them (so "=?UTF-8?B?4oKsYQ==?= =?UTF-8?B?4oKs?=" gives "\u20aca",
 * where a client shows "\u20aca\u20ac").  For every name GMime decoded from
 * encoded words (one such parameter in the field, as real mail has it),
 * a raw value made of whole words and plain text is also decoded here
 * word by word, each word through GMime on its own, and the scanner must
 * reach that length too.
 *
 * Inputs whose header Postfix would not pass as it stands (a line that is
 * neither a field nor a continuation: Postfix ends the header there and
 * inserts an empty line, which mimefeed does not model) are skipped, as
 * are inputs GMime cannot parse as a message at all.
 *
 * The part callback is held against GMime's tree the same way: the
 * scanner's list of (type/subtype, encoding) must be GMime's, entity by
 * entity in the order of the message (each object's content type, lower
 * case, and the encoding a leaf part is decoded with, or for a multipart
 * or message part the class g_mime_content_encoding_from_string() gives
 * its last Content-Transfer-Encoding, decoded, as GMime's part reads it;
 * 7bit without one), unless the scanner said it could not read the
 * structure.  The class must be among the scanner's readings (ctes).  A type the scanner cut
 * (longer than MIME_TYPE_MAX) must be a prefix of GMime's.
 *
 * FUZZ_MIME_ORACLE_DEBUG=1 in the environment prints both sides' lengths.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime.h"
#include "../lib/mimefeed.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAMES_MAX	4096
#define PARTS_MAX	1024

/* Lengths of the names found, per parameter: 0 "name", 1 "filename". */
struct names {
	size_t	len[2][NAMES_MAX];
	size_t	n[2];
	int	truncated;
	int	structure;
	/* The entities: "type/subtype" and the encoding class, in order. */
	char	type[PARTS_MAX][MIME_TYPE_MAX + 1];
	int	cut[PARTS_MAX];
	int	cte[PARTS_MAX];
	size_t	nparts;
	int	parts_over;		/* more than PARTS_MAX */
};

static struct names scan, oracle;

static int
param_index(const char *param)
{
	return (strcmp(param, "filename") == 0);
}

static void
add(struct names *s, int k, size_t len)
{
	if (s->n[k] < NAMES_MAX)
		s->len[k][s->n[k]++] = len;
}

static void
on_name(void *arg, const char *param, const char *name, size_t len, int trunc)
{
	struct names *s = arg;

	(void)name;
	if (trunc)
		s->truncated = 1;
	add(s, param_index(param), len);
}

static void
add_part(struct names *s, const char *type, size_t len, int cut, int cte)
{
	if (s->nparts >= PARTS_MAX) {
		s->parts_over = 1;
		return;
	}
	if (len > MIME_TYPE_MAX)
		len = MIME_TYPE_MAX;
	memcpy(s->type[s->nparts], type, len);
	s->type[s->nparts][len] = '\0';
	s->cut[s->nparts] = cut;
	s->cte[s->nparts++] = cte;
}

static void
on_part(void *arg, const struct mime_part *p)
{
	struct names *s = arg;
	size_t	i;

	/* Lower case, no NUL inside: what a pattern is matched against. */
	for (i = 0; i < p->typelen; i++)
		if (p->type[i] == '\0' || (p->type[i] >= 'A' && p->type[i] <= 'Z'))
			abort();
	if (p->typelen > MIME_TYPE_MAX || (p->type_cut && p->typelen !=
	    MIME_TYPE_MAX) || (p->cte_value == NULL && (p->cte !=
	    MIME_CTE_7BIT || p->cte_len != 0)) || p->cte_len > MIME_CTE_MAX ||
	    (p->ctes & (1u << p->cte)) == 0 || p->type1len > MIME_TYPE_MAX)
		abort();
	add_part(s, p->type, p->typelen, p->type_cut, (int)p->cte);
}

/* The class of ${o}'s encoding (${v}: its last field, NULL: none), as mime.h's enum mime_cte. */
static int
cte_class(GMimeObject *o, const char *v)
{
	GMimeContentEncoding e;

	if (v == NULL)
		return (MIME_CTE_7BIT);
	/* A leaf part: the encoding it is decoded with. */
	e = GMIME_IS_PART(o) ? g_mime_part_get_content_encoding((GMimePart *)o) :
	    g_mime_content_encoding_from_string(v);
	switch (e) {
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

static void
on_structure(void *arg, const char *detail)
{
	struct names *s = arg;

	(void)detail;
	s->structure = 1;
}

/* UTF-8 length of ${v} with every invalid octet as U+FFFD, as the scanner measures. */
static size_t
utf8_len(const char *v)
{
	gchar  *fixed = g_utf8_make_valid(v, -1);
	size_t	n = strlen(fixed);

	g_free(fixed);
	return (n);
}

/*
 * The encoded word at ${p}, found as GMime's loose tokenizer finds one:
 * "=?", a charset up to the next '?', B or Q, '?', text up to the next
 * "?=".  Its length, or 0.
 */
static size_t
word_at(const char *p)
{
	const char *q, *r;

	if (p[0] != '=' || p[1] != '?')
		return (0);
	if ((q = strchr(p + 2, '?')) == NULL || q[1] == '\0' ||
	    strchr("BbQq", q[1]) == NULL || q[2] != '?')
		return (0);
	if ((r = strstr(q + 3, "?=")) == NULL)
		return (0);
	return ((size_t)(r + 2 - p));
}

/*
 * 1 if ${raw} is printable ASCII: white space, at least one whole
 * encoded word and text without "=?" or "?=": the case where only
 * joining can make GMime differ from a client.  Broken words are left to GMime's own reading (the two
 * per-word models, here and in the scanner, need not agree on garbage).
 */
static int
plain_words(const char *raw)
{
	const char *s = raw, *e;
	char   *tok;
	int	ok = 1, words = 0;

	for (e = raw; *e != '\0'; e++)
		if ((*e < 0x20 || *e > 0x7e) && *e != '\t')
			return (0);
	while (ok && *s != '\0') {
		if (*s == ' ' || *s == '\t') {
			s++;
			continue;
		}
		for (e = s; *e != '\0' && *e != ' ' && *e != '\t'; e++)
			;
		tok = g_strndup(s, (gsize)(e - s));
		if (word_at(tok) == strlen(tok))
			words++;
		else if (strstr(tok, "=?") != NULL || strstr(tok, "?=") != NULL)
			ok = 0;
		g_free(tok);
		s = e;
	}
	return (ok && words > 0);
}

/*
 * The raw value of parameter ${want} in the unfolded field value ${v}
 * (quoted or not, quotes removed), decoded here word by word: each
 * encoded word through GMime on its own, white space between two of them
 * dropped, other text kept.  The longest such value, 0 if none.
 */
static size_t
per_word_len(GMimeParserOptions *opts, const char *v, const char *want)
{
	const char *p = v, *s, *w;
	size_t	wl = strlen(want), best = 0, n;
	GString *raw, *out;
	char   *tok, *dec;
	int	prev, seen = 0;

	/* Parameters one after the other, a quoted value skipped whole. */
	while ((p = strchr(p, ';')) != NULL) {
		int	match;

		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		match = g_ascii_strncasecmp(p, want, wl) == 0;
		for (s = p + (match ? wl : 0); match && (*s == ' ' || *s == '\t'); s++)
			;
		match = match && *s == '=';
		while (*p != '\0' && *p != '=' && *p != ';')
			p++;
		if (*p != '=')
			continue;
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		raw = g_string_new(NULL);
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				g_string_append_c(raw, *p);
			}
		} else
			for (; *p != '\0' && *p != ';'; p++)
				g_string_append_c(raw, *p);
		if (!match) {
			g_string_free(raw, TRUE);
			continue;
		}
		if (++seen > 1) {
			/* Several: which one GMime kept is its business. */
			g_string_free(raw, TRUE);
			return (0);
		}
		if (!plain_words(raw->str)) {
			g_string_free(raw, TRUE);
			continue;
		}
		out = g_string_new(NULL);
		prev = 0;
		for (s = raw->str; *s != '\0';) {
			for (w = s; *w == ' ' || *w == '\t'; w++)
				;
			if (prev && w > s && word_at(w) > 0)
				s = w;
			if ((n = word_at(s)) > 0) {
				tok = g_strndup(s, n);
				dec = g_mime_utils_header_decode_text(opts, tok);
				g_string_append(out, dec);
				g_free(dec);
				g_free(tok);
				s += n;
				prev = 1;
				continue;
			}
			g_string_append_c(out, *s++);
			prev = 0;
		}
		if (utf8_len(out->str) > best)
			best = utf8_len(out->str);
		g_string_free(out, TRUE);
		g_string_free(raw, TRUE);
	}
	return (best);
}

/* Every ${want} parameter GMime has in ${list}; ${raw}: the header's raw value. */
static void
oracle_params(GMimeParserOptions *opts, GMimeParamList *list, const char *raw,
    const char *want)
{
	GMimeParam *p, *q;
	const char *name, *val;
	gchar  *unf;
	size_t	len, w, longest = 0;
	int	i, j, n, k = param_index(want), words = 0, kept = 0;

	n = list != NULL ? g_mime_param_list_length(list) : 0;
	for (i = 0; i < n; i++) {
		p = g_mime_param_list_get_parameter_at(list, i);
		name = g_mime_param_get_name(p);
		val = g_mime_param_get_value(p);
		if (name == NULL || val == NULL || *val == '\0' ||
		    g_ascii_strcasecmp(name, want) != 0)
			continue;
		/* The scanner reports a name once per field. */
		for (j = 0; j < i; j++) {
			q = g_mime_param_list_get_parameter_at(list, j);
			if (g_mime_param_get_name(q) != NULL &&
			    g_mime_param_get_value(q) != NULL &&
			    g_ascii_strcasecmp(g_mime_param_get_name(q), want) == 0 &&
			    strcmp(g_mime_param_get_value(q), val) == 0)
				break;
		}
		if (j < i)
			continue;
		len = utf8_len(val);
		if (len > longest)
			longest = len;
		words |= g_mime_param_get_encoding_method(p) ==
		    GMIME_PARAM_ENCODING_METHOD_RFC2047;
		kept++;
		add(&oracle, k, len);
	}
	/*
	 * One more name: the value decoded word by word, if longer; only
	 * for a field with one such parameter (the real-world case).
	 */
	if (words && raw != NULL && kept == 1) {
		unf = g_mime_utils_header_unfold(raw);
		if ((w = per_word_len(opts, unf, want)) > longest)
			add(&oracle, k, w);
		g_free(unf);
	}
}

static void walk(GMimeParserOptions *opts, GMimeObject *o, int depth);

/* The names of one MIME object, then its children. */
static void
walk(GMimeParserOptions *opts, GMimeObject *o, int depth)
{
	GMimeContentType *ct;
	GMimeContentDisposition *cd;
	GMimeMessage *msg;
	GMimeHeaderList *hl;
	GMimeHeader *h;
	const char *raw_ct = NULL, *raw_cd = NULL, *cte = NULL;
	gchar  *type, *raw;
	int	i, n;

	if (o == NULL || depth > 2000)
		return;
	hl = g_mime_object_get_header_list(o);
	n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;
	for (i = 0; i < n; i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Content-Type") == 0)
			raw_ct = g_mime_header_get_raw_value(h);
		else if (g_ascii_strcasecmp(g_mime_header_get_name(h),
		    "Content-Disposition") == 0)
			raw_cd = g_mime_header_get_raw_value(h);
		else if (g_ascii_strcasecmp(
		    g_mime_header_get_name(h), "Content-Transfer-Encoding") == 0)
			cte = g_mime_header_get_value(h);
	}
	ct = g_mime_object_get_content_type(o);
	raw = g_strdup_printf("%s/%s", ct != NULL ?
	    g_mime_content_type_get_media_type(ct) : "", ct != NULL ?
	    g_mime_content_type_get_media_subtype(ct) : "");
	type = g_ascii_strdown(raw, -1);
	add_part(&oracle, type, strlen(type), strlen(type) > MIME_TYPE_MAX,
	    cte_class(o, cte));
	g_free(raw);
	g_free(type);
	if ((ct = g_mime_object_get_content_type(o)) != NULL)
		oracle_params(opts, g_mime_content_type_get_parameters(ct),
		    raw_ct, "name");
	if ((cd = g_mime_object_get_content_disposition(o)) != NULL)
		oracle_params(opts, g_mime_content_disposition_get_parameters(cd),
		    raw_cd, "filename");
	if (GMIME_IS_MULTIPART(o)) {
		n = g_mime_multipart_get_count((GMimeMultipart *)o);
		for (i = 0; i < n; i++)
			walk(opts, g_mime_multipart_get_part((GMimeMultipart *)o, i),
			    depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		msg = g_mime_message_part_get_message((GMimeMessagePart *)o);
		if (msg != NULL)
			walk(opts, g_mime_message_get_mime_part(msg), depth + 1);
	}
}

static int
cmp_desc(const void *a, const void *b)
{
	size_t	x = *(const size_t *)a, y = *(const size_t *)b;

	return (x < y ? 1 : x > y ? -1 : 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mime *m;
	static GMimeParserOptions *opts;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	char   *buf, *val;
	size_t	body, skipped, i, k, step;
	int	p;

	if (m == NULL) {
		mime_init();
		if ((m = mime_new(on_name, on_structure, &scan)) == NULL ||
		    (opts = g_mime_parser_options_new()) == NULL)
			abort();
		mime_set_part_fn(m, on_part);
		g_mime_parser_options_set_rfc2047_compliance_mode(opts,
		    GMIME_RFC_COMPLIANCE_LOOSE);
		g_mime_parser_options_set_parameter_compliance_mode(opts,
		    GMIME_RFC_COMPLIANCE_LOOSE);
	}
	if ((buf = malloc(size + 1)) == NULL || (val = malloc(size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	memset(&scan, 0, sizeof(scan));
	memset(&oracle, 0, sizeof(oracle));

	mime_reset(m);
	body = mimefeed_headers(m, buf, size, val, &skipped);
	if (skipped > 0 || body == 0)
		goto out;
	for (i = body, k = 0; i < size; i += step, k++) {
		unsigned char *c;

		step = 1 + (size_t)data[k % size] * 7 % 257;
		if (step > size - i)
			step = size - i;
		/* Exact-size copies so ASan sees reads past a chunk. */
		if ((c = malloc(step)) == NULL)
			abort();
		memcpy(c, buf + i, step);
		mime_body(m, c, step);
		free(c);
	}
	mime_end(m);

	stream = g_mime_stream_mem_new_with_buffer((const char *)data, size);
	parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, opts);
	g_object_unref(parser);
	if (msg == NULL)
		goto out;
	walk(opts, g_mime_message_get_mime_part(msg), 0);
	g_object_unref(msg);

	if (scan.structure)
		goto out;
	if (getenv("FUZZ_MIME_ORACLE_DEBUG") != NULL) {
		for (i = 0; i < scan.nparts; i++)
			fprintf(stderr, "scanner part %s %d\n", scan.type[i],
			    scan.cte[i]);
		for (i = 0; i < oracle.nparts; i++)
			fprintf(stderr, "gmime part   %s %d\n", oracle.type[i],
			    oracle.cte[i]);
	}
	if (!scan.parts_over && !oracle.parts_over) {
		if (scan.nparts != oracle.nparts)
			abort();
		for (i = 0; i < scan.nparts; i++)
			if (scan.cte[i] != oracle.cte[i] ||
			    (scan.cut[i] ? strncmp(scan.type[i], oracle.type[i],
			    MIME_TYPE_MAX) : strcmp(scan.type[i],
			    oracle.type[i])) != 0)
				abort();
	}
	if (scan.truncated)
		goto out;
	for (p = 0; p < 2; p++) {
		qsort(scan.len[p], scan.n[p], sizeof(size_t), cmp_desc);
		qsort(oracle.len[p], oracle.n[p], sizeof(size_t), cmp_desc);
		if (getenv("FUZZ_MIME_ORACLE_DEBUG") != NULL) {
			fprintf(stderr, "%s scanner:", p ? "filename" : "name");
			for (i = 0; i < scan.n[p]; i++)
				fprintf(stderr, " %zu", scan.len[p][i]);
			fprintf(stderr, "\n%s gmime:  ", p ? "filename" : "name");
			for (i = 0; i < oracle.n[p]; i++)
				fprintf(stderr, " %zu", oracle.len[p][i]);
			fprintf(stderr, "\n");
		}
		/* Zero-length names limit nothing: only longer ones must match. */
		while (oracle.n[p] > 0 && oracle.len[p][oracle.n[p] - 1] == 0)
			oracle.n[p]--;
		if (oracle.n[p] > scan.n[p])
			abort();
		for (i = 0; i < oracle.n[p]; i++)
			if (scan.len[p][i] < oracle.len[p][i])
				abort();
	}
out:
	free(buf);
	free(val);
	return (0);
}
