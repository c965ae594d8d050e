/*
 * fuzz_ehlo.c - libFuzzer target for the EHLO reply rewriter and the
 * command masker: the input is a reply as the MTA might send it.  Pass
 * mode must give the input back, mask mode the same length with only
 * keyword/parameter octets changed, strip mode a well-formed reply (every
 * line `250-' but the last), and ehlo_changed() the count both report,
 * NUL-terminated inside its buffer; the command masker keeps length and
 * terminator.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ehlo.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const asa[] = { "8BITMIME", "AUTH", "BINARYMIME",
	"CHECKPOINT", "DSN", "ENHANCEDSTATUSCODES", "ETRN", "PIPELINING",
	"SIZE", "VRFY" };
#define NASA	(sizeof(asa) / sizeof(asa[0]))

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

	err = ehlo_rewrite(in, size, asa, NASA, EHLO_PASS, out, &outlen, NULL);
	if (err == NULL && (outlen != size || memcmp(in, out, size) != 0))
		abort();

	err = ehlo_rewrite(in, size, asa, NASA, EHLO_MASK, out, &outlen,
	    &changed);
	count = ehlo_changed(in, size, asa, NASA, kw, size + 1);
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

	err = ehlo_rewrite(in, size, asa, NASA, EHLO_STRIP, out, &outlen,
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
	err = ehlo_rewrite(out, size, asa, NASA, EHLO_STRIP, out, &outlen, NULL);
	if (err != NULL && memcmp(out, in, size) != 0)
		abort();

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
