/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_hdrcount_oracle.c - differential libFuzzer target: the header
 * counter behind duplicate-header and dkim-unsigned-duplicate
 * (common/hdrcount.c, common/dkim.c) against GMime's header list.
 *
 * The input is a message header.  Its fields go to hdrcount_add() as
 * Postfix passes them to a milter (tests/lib/mimefeed.h); GMime parses the
 * same octets, and its top-level header list (the message's fields and
 * the Content-* fields it files under the top MIME part) is the reference:
 * - every field name GMime has is counted by hdrcount exactly as often
 *   (names compared as GMime compares them: ASCII case folded, 8-bit
 *   octets as they are, white space before the colon not part of it);
 * - dkim-unsigned-duplicate: from each DKIM-Signature in GMime's list, the
 *   h= tag is read here by a separate, simple reader; every name listed
 *   that occurs more often than the fewest times a signature lists it
 *   (trace and signature fields excepted) must be reported by hdrcount
 *   with the same counts, and nothing else.  Where a signature's tag list
 *   is not plain (odd tags, duplicates, more than hdrcount keeps) only the
 *   counts are compared.
 * The seeds hold folding, white space before the colon, 8-bit names and
 * DKIM, DomainKey and ARC values with header names inside them.
 * Inputs Postfix would not pass as they stand (a line that is neither a
 * field nor a continuation) and those GMime cannot parse are skipped.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "hdrcount.h"
#include "mime.h"
#include "../lib/mimefeed.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_MAX		(HDRCOUNT_MAX_NAMES)
#define SIGS_MAX	(HDRCOUNT_MAX_SIGS)

struct ref {
	char   *name[REF_MAX];		/* ASCII lower case */
	unsigned count[REF_MAX];
	unsigned minlisted[REF_MAX];	/* 0: no signature lists it */
	unsigned seen[REF_MAX];		/* reported by hdrcount */
	size_t	n;
	int	overflow;
};

static struct ref ref;
static int feed_failed;

static void
feed(void *arg, const char *name, size_t namelen, const char *value,
    size_t valuelen)
{
	/* The milter protocol passes C strings: a NUL ends them there. */
	namelen = strnlen(name, namelen);
	valuelen = strnlen(value, valuelen);
	if (hdrcount_add(arg, name, namelen, value, valuelen) != 0)
		feed_failed = 1;
}

static long
ref_find(const char *lname)
{
	size_t	i;

	for (i = 0; i < ref.n; i++)
		if (strcmp(ref.name[i], lname) == 0)
			return ((long)i);
	return (-1);
}

static void
ref_count(const char *name)
{
	char   *l = g_ascii_strdown(name, -1);
	long	i;

	if (*l == '\0') {
		g_free(l);
		return;
	}
	if ((i = ref_find(l)) >= 0) {
		ref.count[i]++;
		g_free(l);
		return;
	}
	if (ref.n == REF_MAX) {
		ref.overflow = 1;
		g_free(l);
		return;
	}
	ref.name[ref.n] = l;
	ref.count[ref.n] = 1;
	ref.minlisted[ref.n] = 0;
	ref.seen[ref.n] = 0;
	ref.n++;
}

static void
ref_list(GMimeHeaderList *hl, int content_only)
{
	GMimeHeader *h;
	const char *name;
	int	i, n;

	n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;
	for (i = 0; i < n; i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		name = g_mime_header_get_name(h);
		if (content_only && g_ascii_strncasecmp(name, "Content-", 8) != 0)
			continue;
		ref_count(name);
	}
}

static int
fws(int c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

/* ${s} of ${n} octets with FWS trimmed on both sides. */
static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && fws((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && fws((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/*
 * The h= names of a plain DKIM-Signature value into ${names} (lower
 * case): 1, or 0 when the tag list is anything but plain.
 */
static int
plain_h(const char *v, GPtrArray *names)
{
	gchar **specs = g_strsplit(v, ";", -1), **tags, **hn;
	const char *s, *eq;
	size_t	n, k, i, j, ntags = 0;
	int	ok = 1, have_h = 0;
	char   *seen[256];

	for (i = 0; ok && specs[i] != NULL; i++) {
		s = specs[i];
		n = strlen(s);
		trim(&s, &n);
		if (n == 0)
			continue;
		if ((eq = memchr(s, '=', n)) == NULL) {
			ok = 0;
			break;
		}
		k = (size_t)(eq - s);
		while (k > 0 && fws((unsigned char)s[k - 1]))
			k--;
		if (k == 0 || !g_ascii_isalpha(s[0]) || ntags == 256) {
			ok = 0;
			break;
		}
		for (j = 0; j < k; j++)
			if (!g_ascii_isalnum(s[j]) && s[j] != '_')
				ok = 0;
		for (j = 0; ok && j < ntags; j++)
			if (strlen(seen[j]) == k && memcmp(seen[j], s, k) == 0)
				ok = 0;
		if (!ok)
			break;
		seen[ntags++] = g_strndup(s, k);
		if (k != 1 || s[0] != 'h')
			continue;
		have_h = 1;
		tags = g_strsplit(eq + 1, ":", -1);
		for (hn = tags; ok && *hn != NULL; hn++) {
			const char *e = *hn;
			size_t	el = strlen(e);

			trim(&e, &el);
			if (el == 0)
				ok = 0;
			for (j = 0; ok && j < el; j++)
				if ((unsigned char)e[j] < 33 || (unsigned char)e[j] > 126)
					ok = 0;
			if (ok)
				g_ptr_array_add(names, g_ascii_strdown(e, (gssize)el));
		}
		g_strfreev(tags);
	}
	for (j = 0; j < ntags; j++)
		g_free(seen[j]);
	g_strfreev(specs);
	return (ok && have_h);
}

static const char *const excluded[] = {
	"received", "return-path", "received-spf", "authentication-results",
	"dkim-signature", "arc-seal", "arc-message-signature",
	"arc-authentication-results",
};

/* The signatures of GMime's list; 0 if one is not plain. */
static int
ref_dkim(GMimeHeaderList *hl)
{
	GMimeHeader *h;
	GPtrArray *names;
	gchar  *v;
	unsigned listed[REF_MAX];
	int	i, n, nsig = 0, ok = 1;
	size_t	j;
	long	k;

	n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;
	for (i = 0; ok && i < n; i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "DKIM-Signature") != 0)
			continue;
		if (++nsig > SIGS_MAX)
			return (0);
		names = g_ptr_array_new_with_free_func(g_free);
		v = g_strdup(g_mime_header_get_raw_value(h));
		if (!(ok = plain_h(v, names))) {
			g_free(v);
			g_ptr_array_free(names, TRUE);
			break;
		}
		memset(listed, 0, sizeof(listed));
		for (j = 0; j < names->len; j++)
			if ((k = ref_find(g_ptr_array_index(names, j))) >= 0)
				listed[k]++;
		for (j = 0; j < ref.n; j++)
			if (listed[j] > 0 && (ref.minlisted[j] == 0 ||
			    listed[j] < ref.minlisted[j]))
				ref.minlisted[j] = listed[j];
		g_free(v);
		g_ptr_array_free(names, TRUE);
	}
	return (ok);
}

static void
on_unsigned(void *arg, const char *name, unsigned occ, unsigned listed)
{
	long	i;

	(void)arg;
	/* hdrcount keeps names as they came; compare in lower case. */
	{
		char   *l = g_ascii_strdown(name, -1);

		i = ref_find(l);
		g_free(l);
	}
	if (i < 0 || ref.count[i] != occ || ref.minlisted[i] != listed)
		abort();
	ref.seen[i] = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hdrcount *hc;
	static GMimeParserOptions *opts;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	char   *buf, *val;
	size_t	skipped, i, j;
	int	dkim_ok;

	if (hc == NULL) {
		mime_init();
		if ((hc = hdrcount_new()) == NULL ||
		    (opts = g_mime_parser_options_new()) == NULL)
			abort();
	}
	if ((buf = malloc(size + 1)) == NULL || (val = malloc(size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	hdrcount_reset(hc);
	feed_failed = 0;
	(void)mimefeed_fields(buf, size, val, &skipped, feed, hc);

	stream = g_mime_stream_mem_new_with_buffer((const char *)data, size);
	parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	msg = g_mime_parser_construct_message(parser, opts);
	g_object_unref(parser);
	if (skipped > 0 || feed_failed || msg == NULL)
		goto out;

	memset(&ref, 0, sizeof(ref));
	ref_list(g_mime_object_get_header_list((GMimeObject *)msg), 0);
	ref_list(g_mime_object_get_header_list(g_mime_message_get_mime_part(msg)), 1);
	if (ref.overflow)
		goto out;
	for (i = 0; i < ref.n; i++)
		if (hdrcount_get(hc, ref.name[i]) != ref.count[i])
			abort();
	dkim_ok = ref_dkim(g_mime_object_get_header_list((GMimeObject *)msg));
	if (dkim_ok) {
		(void)hdrcount_dkim_unsigned(hc, on_unsigned, NULL);
		for (i = 0; i < ref.n; i++) {
			if (ref.minlisted[i] == 0 || ref.minlisted[i] >= ref.count[i])
				continue;
			for (j = 0; j < sizeof(excluded) / sizeof(excluded[0]); j++)
				if (strcmp(ref.name[i], excluded[j]) == 0)
					break;
			if (j == sizeof(excluded) / sizeof(excluded[0]) && !ref.seen[i])
				abort();
		}
	}
out:
	for (i = 0; i < ref.n; i++)
		g_free(ref.name[i]);
	ref.n = 0;
	if (msg != NULL)
		g_object_unref(msg);
	free(buf);
	free(val);
	return (0);
}
