/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_reply.c - libFuzzer target for the server->client path as the
 * relay drives it: after one byte choosing the chunk pattern and the size
 * of the log buffer, the input is an upstream stream parsed into replies
 * with smtpframe_reply_feed(); every complete 250 reply goes through
 * ehlo_rewrite() in pass, strip and mask mode (also in place) and
 * ehlo_changed(), every complete 220 reply through banner_asterisks()
 * and banner_mask().  Every buffer handed over has its exact size, so
 * ASan sees any access past it.  Invariants: pass gives the reply back,
 * mask keeps the length, strip does not grow it; all modes accept or
 * refuse alike and report the count ehlo_changed() returns, whose names
 * are keyword octets and single spaces, whole names only when cut short;
 * asterisks keeps the length and the line ends and writes only '*';
 * mask writes one "220 ...\r\n" line and refuses exactly what asterisks
 * refuses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "banner.h"
#include "ehlo.h"
#include "smtpframe.h"

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

static int
kwchar(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-');
}

/* Words in the NUL-terminated ${s} of ${outlen}; abort on a bad shape. */
static unsigned
names(const char *s, size_t outlen)
{
	size_t	n = strnlen(s, outlen), i;
	unsigned words = 0;

	if (n == outlen)
		abort();		/* not NUL-terminated inside */
	for (i = 0; i < n; i++) {
		if (s[i] == ' ') {
			/* one space between two names, none at the ends */
			if (i == 0 || i + 1 == n || s[i + 1] == ' ')
				abort();
		} else if (!kwchar(s[i]))
			abort();
		else if (i == 0 || s[i - 1] == ' ')
			words++;
	}
	return (words);
}

static void
ehlo(const char *in, size_t len, size_t smallen)
{
	char   *out, *big, *small;
	size_t	outlen, k;
	unsigned cpass, cmask, cstrip, count;
	const char *epass, *emask, *estrip;

	out = malloc(len);
	big = malloc(len + 1);
	small = malloc(smallen);
	if (out == NULL || big == NULL || small == NULL)
		goto done;

	epass = ehlo_rewrite(in, len, pol(EHLO_PASS), out, &outlen,
	    &cpass);
	if (epass == NULL && (outlen != len || memcmp(in, out, len) != 0 ||
	    cpass != 0))
		abort();
	emask = ehlo_rewrite(in, len, pol(EHLO_MASK), out, &outlen,
	    &cmask);
	if (emask == NULL && outlen != len)
		abort();
	/* in place, as the relay rewrites its reply buffer */
	memcpy(big, in, len);
	if ((ehlo_rewrite(big, len, pol(EHLO_MASK), big, &outlen,
	    NULL) == NULL) != (emask == NULL) ||
	    (emask == NULL && memcmp(big, out, len) != 0))
		abort();
	estrip = ehlo_rewrite(in, len, pol(EHLO_STRIP), out, &outlen,
	    &cstrip);
	if (estrip == NULL && outlen > len)
		abort();
	if ((epass == NULL) != (emask == NULL) ||
	    (emask == NULL) != (estrip == NULL))
		abort();

	/* len + 1 always holds every name: each sits on a longer line. */
	count = ehlo_changed(in, len, pol(EHLO_MASK), big, len + 1);
	if (emask != NULL ? count != 0 || big[0] != '\0' :
	    count != cmask || count != cstrip || names(big, len + 1) != count)
		abort();
	/* cut short: a prefix of the full list, ending between names */
	if (ehlo_changed(in, len, pol(EHLO_MASK), small, smallen) != count)
		abort();
	if (names(small, smallen) > count)
		abort();
	k = strlen(small);
	if (strncmp(small, big, k) != 0 ||
	    (k > 0 && big[k] != ' ' && big[k] != '\0'))
		abort();
	/* ehlo_add: the input plus exactly one "250-STARTTLS\r\n" line (a
	 * bare "250" gains its '-'), never beyond the output it is given. */
	{
		char   *add = malloc(len + 32);
		ssize_t	an;

		if (add == NULL)
			goto done;
		an = ehlo_add(in, len, "STARTTLS", add, len + 32);
		if (an >= 0 && (size_t)an != len + 14 && (size_t)an != len + 15)
			abort();
		if (an >= 0 && ehlo_add(in, len, "STARTTLS", add,
		    (size_t)an - 1) != -1)
			abort();
		free(add);
	}
done:
	free(out);
	free(big);
	free(small);
}

static void
banner(const char *in, size_t len)
{
	static const char text[] = "mx.test ESMTP";
	char   *out, *m;
	ssize_t	n, mn;
	size_t	i, mlen = 4 + sizeof(text) - 1 + 2;

	out = malloc(len);
	m = malloc(32);
	if (out == NULL || m == NULL)
		goto done;
	n = banner_asterisks(in, len, out, len);
	if (n != -1 && n != (ssize_t)len)
		abort();
	for (i = 0; n >= 0 && i < len; i++)
		if (out[i] != in[i] && (out[i] != '*' || in[i] == '\r' ||
		    in[i] == '\n'))
			abort();
	/* too small an output is refused, never overrun */
	if (len > 0 && banner_asterisks(in, len, out, len - 1) != -1)
		abort();

	mn = banner_mask(in, len, text, NULL, m, mlen);
	if ((mn == -1) != (n == -1))
		abort();
	if (mn >= 0 && ((size_t)mn != mlen || memcmp(m, "220 ", 4) != 0 ||
	    memcmp(m + 4, text, sizeof(text) - 1) != 0 ||
	    memcmp(m + mlen - 2, "\r\n", 2) != 0))
		abort();
	/* an unusable text falls back to "<hostname> ESMTP" */
	mn = banner_mask(in, len, "***", "h", m, 32);
	if ((mn == -1) != (n == -1) || (mn >= 0 && ((size_t)mn != 13 ||
	    memcmp(m, "220 h ESMTP\r\n", 13) != 0)))
		abort();
	mn = banner_mask(in, len, NULL, NULL, m, 32);
	if ((mn == -1) != (n == -1) || (mn >= 0 && ((size_t)mn != 21 ||
	    memcmp(m, "220 localhost ESMTP\r\n", 21) != 0)))
		abort();
done:
	free(out);
	free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtpframe_reply r;
	size_t	off = 0, end, used, cs, len;
	unsigned pat;
	size_t	smallen;
	char   *copy;
	const char *err = NULL;

	if (size < 1)
		return (0);
	pat = data[0] % 13;		/* 0: the whole stream at once */
	smallen = 1 + data[0] / 13;	/* 1..20 octets for the names */
	data++;
	size--;
	smtpframe_reply_init(&r);
	while (off < size && err == NULL) {
		cs = pat == 0 ? size : (pat + off * 3) % 17 + 1;
		end = off + cs < size ? off + cs : size;
		while (off < end) {
			err = smtpframe_reply_feed(&r, data + off, end - off,
			    &used);
			if (used > end - off)
				abort();
			off += used;
			if (err != NULL)
				break;	/* the relay gives up on the stream */
			if (!r.done)
				continue;
			len = r.len;
			if ((copy = malloc(len)) == NULL)
				return (0);
			memcpy(copy, r.buf, len);
			if (r.code == 250)
				ehlo(copy, len, smallen);
			else if (r.code == 220)
				banner(copy, len);
			free(copy);
		}
	}
	return (0);
}
