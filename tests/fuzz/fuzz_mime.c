/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_mime.c - libFuzzer target for the streaming MIME scanner.  The
 * input is a message: header fields up to the first empty line go to
 * mime_header() as Postfix passes them, the rest is the body.  The body is
 * scanned twice, once in a single chunk and once in small chunks whose
 * sizes come from the input itself; the two runs must report the same
 * names and the same part types and encodings, and every name must be
 * valid UTF-8 of the length reported.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "mime.h"
#include "../lib/mimefeed.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX	(1 << 20)

struct out {
	char	s[OUT_MAX];
	size_t	n;
	size_t	count;
};

static struct out out[2];

static void
collect(void *arg, const char *param, const char *name, size_t len, int trunc)
{
	struct out *o = arg;
	size_t	need = strlen(param) + len + 4;

	if (!g_utf8_validate(name, (gssize)len, NULL))
		abort();
	if (strcmp(param, "filename") != 0 && strcmp(param, "name") != 0)
		abort();
	o->count++;
	if (o->n + need > OUT_MAX)
		return;
	o->n += (size_t)strlen(strcpy(o->s + o->n, param));
	memcpy(o->s + o->n, name, len);
	o->n += len;
	o->s[o->n++] = trunc ? 'T' : '=';
	o->s[o->n++] = '|';
}

/* Each part's type and encoding, in the same stream as the names. */
static void
collect_part(void *arg, const struct mime_part *p)
{
	struct out *o = arg;
	size_t	need = p->typelen + p->cte_len + 8;

	if (p->typelen > MIME_TYPE_MAX || p->cte_len > MIME_CTE_MAX)
		abort();
	o->count++;
	if (o->n + need > OUT_MAX)
		return;
	memcpy(o->s + o->n, p->type, p->typelen);
	o->n += p->typelen;
	o->s[o->n++] = p->type_cut ? 'C' : ' ';
	o->s[o->n++] = (char)('0' + p->cte);
	if (p->cte_value != NULL) {
		memcpy(o->s + o->n, p->cte_value, p->cte_len);
		o->n += p->cte_len;
	}
	o->s[o->n++] = '|';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mime *m[2];
	char   *msg = malloc(size ? size : 1), *val = malloc(size + 1);
	size_t	body, i, k, step, skipped;
	int	r;

	if (msg == NULL || val == NULL)
		abort();
	memcpy(msg, data, size);
	for (r = 0; r < 2; r++) {
		if (m[r] == NULL) {
			if ((m[r] = mime_new(collect, NULL, &out[r])) == NULL)
				abort();
			mime_set_part_fn(m[r], collect_part);
		}
		out[r].n = 0;
		out[r].count = 0;
		mime_reset(m[r]);
		body = mimefeed_headers(m[r], msg, size, val, &skipped);
		if (r == 0)
			mime_body(m[r], (const unsigned char *)msg + body, size - body);
		else
			for (i = body, k = 0; i < size; i += step, k++) {
				/* Exact-size copies so ASan sees reads past a chunk. */
				unsigned char *c;

				step = 1 + data[k % size] % 13;
				if (step > size - i)
					step = size - i;
				if ((c = malloc(step)) == NULL)
					abort();
				memcpy(c, msg + i, step);
				mime_body(m[r], c, step);
				free(c);
			}
		mime_end(m[r]);
	}
	if (out[0].count != out[1].count || out[0].n != out[1].n ||
	    memcmp(out[0].s, out[1].s, out[0].n) != 0)
		abort();
	free(msg);
	free(val);
	return (0);
}
