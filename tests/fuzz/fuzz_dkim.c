/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_dkim.c - libFuzzer target for the DKIM tag parser (dkim.c) and the
 * header counter (hdrcount.c).
 *
 * The whole input is a DKIM-Signature value for dkim_hnames(): every name
 * it reports must lie inside the input, be non-empty and hold no ':', ';'
 * or white space.  Then the input is a header block: records separated by
 * NUL, each split at its first ':' into name and value (no ':': the first
 * half is the name), fed to hdrcount_add() as the milter would; every
 * counted name must be found again and every report must be consistent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "hdrcount.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct span {
	const char *lo, *hi;
	size_t	n;
};

static void
check_name(void *arg, const char *name, size_t len)
{
	struct span *s = arg;
	size_t	i;

	if (len == 0 || name < s->lo || name + len > s->hi)
		abort();
	for (i = 0; i < len; i++)
		if (name[i] == ':' || name[i] == ';' || (unsigned char)name[i] <= ' ' ||
		    (unsigned char)name[i] > 0x7e)
			abort();
	s->n++;
}

static void
check_report(void *arg, const char *name, unsigned occ, unsigned listed)
{
	const struct hdrcount *hc = arg;

	if (listed == 0 || occ <= listed || hdrcount_get(hc, name) != occ)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hdrcount *hc;
	struct span sp;
	const char *p, *end, *rec, *colon, *nul;
	char   *buf, tmp[64];
	size_t	namelen, calls;
	int	bounded = 0;

	if (hc == NULL && (hc = hdrcount_new()) == NULL)
		abort();
	/* An exact-size copy so ASan sees any read past the length. */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return (0);
	memcpy(buf, data, size);

	sp.lo = buf;
	sp.hi = buf + size;
	sp.n = 0;
	(void)dkim_hnames(buf, size, check_name, &sp);

	hdrcount_reset(hc);
	for (p = buf, end = buf + size; p < end; p = nul + 1) {
		rec = p;
		if ((nul = memchr(p, '\0', (size_t)(end - p))) == NULL)
			nul = end;
		if ((colon = memchr(rec, ':', (size_t)(nul - rec))) == NULL)
			colon = rec + (nul - rec) / 2;
		namelen = (size_t)(colon - rec);
		if (hdrcount_add(hc, rec, namelen, colon, (size_t)(nul - colon)) < 0) {
			bounded = 1;
			continue;
		}
		/* a counted name is found again (the NUL-terminated lookup) */
		if (namelen < sizeof(tmp) && memchr(rec, '\0', namelen) == NULL) {
			memcpy(tmp, rec, namelen);
			tmp[namelen] = '\0';
			if (hdrcount_get(hc, tmp) == 0)
				abort();
		}
		if (nul == end)
			break;
	}
	/* the whole input as one DKIM-Signature value, too */
	if (hdrcount_add(hc, "DKIM-Signature", 14, buf, size) < 0)
		bounded = 1;
	calls = hdrcount_dkim_unsigned(hc, check_report, hc);
	(void)calls;
	(void)bounded;
	free(buf);
	return (0);
}
