/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_ehlo.c - libFuzzer target for the EHLO reply rewriter and the
 * command masker: the input is a reply as the MTA might send it.  Pass
 * mode must give the input back, mask mode the same length with only
 * keyword/parameter octets changed, strip mode a well-formed reply (every
 * line `250-' but the last), and ehlo_changed() the count both report,
 * NUL-terminated inside its buffer; the command masker keeps length and
 * terminator.  ehlo_client_reply() under every combination of ehlo-other
 * and starttls (SPEC 5.2, 5.4), in enforce and monitor mode: STARTTLS
 * appears as often as the MTA offered it when allowed, never when
 * stripped, exactly once when terminated before TLS and never after.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ehlo.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const asa[] = { "8BITMIME", "AUTH", "BINARYMIME",
	"CHECKPOINT", "DSN", "ENHANCEDSTATUSCODES", "ETRN", "PIPELINING",
	"SIZE", "VRFY" };
#define NASA	(sizeof(asa) / sizeof(asa[0]))

/* The asa keyword list in mode ${m}; STARTTLS (not listed) as any other. */
static const struct ehlo_policy *
pol(enum ehlo_mode m)
{
	static struct ehlo_policy p[3];

	p[m].allow = asa;
	p[m].nallow = NASA;
	p[m].other = m;
	p[m].tls = m == EHLO_PASS ? EHLO_TLS_PASS : EHLO_TLS_OTHER;
	return (&p[m]);
}

/* Every line 250 + '-' but the last; ends in LF. */
static void
check_form(const char *p, size_t len)
{
	size_t	s = 0, e;
	const char *lf;

	if (len == 0 || p[len - 1] != '\n')
		abort();
	while (s < len) {
		lf = memchr(p + s, '\n', len - s);
		e = (size_t)(lf - p) + 1;
		if (e - s < 4 || memcmp(p + s, "250", 3) != 0)
			abort();
		if ((e < len) != (p[s + 3] == '-'))
			abort();
		s = e;
	}
}

static int
kwchar(char ch)
{
	return ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '-');
}

/* Lines of the reply ${r} (${n} octets) but the first whose keyword is
 * STARTTLS, in any case. */
static int
starttls_lines(const char *r, size_t n)
{
	size_t	s, e, k;
	int	c = 0;

	for (s = 0; s < n; s = e) {
		const char *lf = memchr(r + s, '\n', n - s);

		e = lf != NULL ? (size_t)(lf - r) + 1 : n;
		if (s == 0 || e - s < 4)
			continue;
		for (k = s + 4; k < e && kwchar(r[k]); k++)
			;
		if (k - s - 4 == 8 && strncasecmp(r + s + 4, "STARTTLS", 8) == 0)
			c++;
	}
	return (c);
}

/* SPEC 5.2 and 5.4 for every combination, on any reply the rewrite reads. */
static void
combinations(const char *in, size_t size)
{
	static char *listed[] = { "PIPELINING", "STARTTLS", NULL };
	static char *unlisted[] = { "PIPELINING", NULL };
	struct config_shim c;
	char   *out, names[64];
	size_t	outlen, cap = 2 * size + 16;
	unsigned changed;
	int	l, o, t, mon, offer, up, got;

	if ((out = malloc(cap)) == NULL)
		return;
	up = starttls_lines(in, size);
	for (l = 0; l < 2; l++)
	for (o = 0; o < 3; o++)
	for (t = 0; t < 3; t++)
	for (mon = 0; mon < 2; mon++)
	for (offer = 0; offer < 2; offer++) {
		if (offer && t != CONFIG_TLS_TERMINATE)
			continue;
		memset(&c, 0, sizeof(c));
		c.ehlo_keywords.v = l ? listed : unlisted;
		c.ehlo_keywords.n = l ? 2 : 1;
		c.ehlo_other = (enum config_ehlo_other)o;
		c.starttls = (enum config_starttls)t;
		memset(names, '#', sizeof(names));
		if (ehlo_client_reply(in, size, &c, mon, offer, out, cap,
		    &outlen, names, sizeof(names), &changed) != NULL)
			continue;
		if (outlen > cap || memchr(names, '\0', sizeof(names)) == NULL)
			abort();
		got = starttls_lines(out, outlen);
		if (t == CONFIG_TLS_TERMINATE && got != offer)
			abort();
		if (t == CONFIG_TLS_STRIP && !mon && got != 0)
			abort();
		if ((t == CONFIG_TLS_ALLOW || (t == CONFIG_TLS_STRIP && mon)) &&
		    got != up)
			abort();
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *in, *out, *kw;
	size_t	outlen, i;
	unsigned changed, count;
	const char *err;

	/* Exact-size buffers so ASan sees any access past the length. */
	in = malloc(size ? size : 1);
	out = malloc(size ? size : 1);
	kw = malloc(size + 1);
	if (in == NULL || out == NULL || kw == NULL)
		goto done;
	memcpy(in, data, size);

	err = ehlo_rewrite(in, size, pol(EHLO_PASS), out, &outlen, NULL);
	if (err == NULL && (outlen != size || memcmp(in, out, size) != 0))
		abort();

	err = ehlo_rewrite(in, size, pol(EHLO_MASK), out, &outlen,
	    &changed);
	count = ehlo_changed(in, size, pol(EHLO_MASK), kw, size + 1);
	if (strnlen(kw, size + 1) > size || count != (err == NULL ? changed : 0))
		abort();
	if (err == NULL) {
		if (outlen != size)
			abort();
		check_form(out, outlen);
		for (i = 0; i < size; i++)
			if (out[i] != in[i] && (in[i] == '\r' || in[i] == '\n' ||
			    in[i] == ' ' || !(out[i] == 'X' ||
			    (out[i] >= 'A' && out[i] <= 'Z'))))
				abort();
	}

	err = ehlo_rewrite(in, size, pol(EHLO_STRIP), out, &outlen,
	    &changed);
	if (err == NULL) {
		if (changed != count)
			abort();
		if (outlen > size)
			abort();
		check_form(out, outlen);
	}

	/* in place */
	memcpy(out, in, size);
	err = ehlo_rewrite(out, size, pol(EHLO_STRIP), out, &outlen, NULL);
	if (err != NULL && memcmp(out, in, size) != 0)
		abort();

	combinations(in, size);

	memcpy(out, in, size);
	ehlo_mask_command(out, size);
	for (i = 0; i < size; i++)
		if (out[i] != 'X' && out[i] != in[i])
			abort();
	if (size > 0 && in[size - 1] == '\n' && out[size - 1] != '\n')
		abort();
done:
	free(in);
	free(out);
	free(kw);
	return (0);
}
