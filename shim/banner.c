/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * banner.c - rewriting the upstream SMTP greeting (SPEC 5.1).
 *
 * Interface: banner_asterisks() keeps "220", the separators and the line
 * structure and stars everything else, length preserved (the Cisco ASA's
 * "banner obfuscation"); banner_mask() replaces the whole greeting with one
 * "220 <text>\r\n" line; banner_text_ok() says whether a configured text is
 * usable.
 *
 * Invariants: input is one complete reply as the reply framer delivers it:
 * lines ending in CRLF, every line code 220, "220-" on all lines but the
 * last, which is "220 " (or a bare "220").  Anything else (a 421 or 554
 * greeting, trailing octets) is refused with -1 so the caller relays it
 * untouched: a refusing MTA must never be turned into a welcoming one.
 * Never writes beyond the output length.
 */
#include <limits.h>
#include <string.h>

#include "banner.h"

/* 1 if [in, in+len) is one complete 220 reply as described above. */
static int
reply_ok(const char *in, size_t len)
{
	size_t	i = 0, eol;

	while (i < len) {
		for (eol = i; eol + 1 < len; eol++)
			if (in[eol] == '\r' && in[eol + 1] == '\n')
				break;
		if (eol + 1 >= len)
			return (0);		/* no CRLF: incomplete */
		if (eol - i < 3 || memcmp(in + i, "220", 3) != 0)
			return (0);
		eol += 2;			/* past CRLF */
		if (eol - i == 5 || in[i + 3] == ' ')
			return (eol == len);	/* last line */
		if (in[i + 3] != '-')
			return (0);
		i = eol;
	}
	return (0);
}

/* 1 if ${s} is non-empty printable ASCII (space included). */
static int
printable(const char *s)
{
	if (s == NULL || *s == 0)
		return (0);
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return (0);
	return (1);
}

/**
 * banner_text_ok(text): 1 if ${text} may be sent as a masked greeting: not
 * empty, printable ASCII only, and not made only of '*', '2', '0' and spaces
 * (Postfix's smtp client takes such a greeting for a PIX and drops ESMTP).
 */
int
banner_text_ok(const char *text)
{
	if (!printable(text))
		return (0);
	return (text[strspn(text, "*20 ")] != 0);
}

/**
 * banner_asterisks(in, len, out, outlen): copy the complete 220 greeting
 * ${in} (one "220 ...\r\n" line, or "220-" lines ending with a "220 " line)
 * to ${out}, keeping "220" and the separator of each line and CR and LF
 * octets, every other octet replaced with '*'.  ${out} may be ${in}.
 * Returns ${len} (the length is preserved), or -1 if ${in} is not one
 * complete 220 reply or ${outlen} < ${len}; the caller then relays it as is.
 */
ssize_t
banner_asterisks(const char *in, size_t len, char *out, size_t outlen)
{
	size_t	i, col = 0;

	if (!reply_ok(in, len) || outlen < len || len > (size_t)SSIZE_MAX)
		return (-1);
	for (i = 0; i < len; i++) {
		/* col counts octets since the last CRLF: 0..3 are "220" + sep. */
		if (in[i] == '\r' || in[i] == '\n')
			out[i] = in[i];
		else
			out[i] = col < 4 ? in[i] : '*';
		if (i > 0 && in[i - 1] == '\r' && in[i] == '\n')
			col = 0;
		else
			col++;
	}
	return ((ssize_t)len);
}

/**
 * banner_mask(in, len, text, hostname, out, outlen): for the complete 220
 * greeting ${in}, write the single line "220 ${text}\r\n" into ${out}; the
 * multi-line structure collapses to that one line.  When ${text} is NULL or
 * fails banner_text_ok(), "${hostname} ESMTP" is used instead ("localhost"
 * when ${hostname} is NULL, empty or not printable).  Returns the length
 * written (no NUL), or -1 if ${in} is not one complete 220 reply or the
 * result does not fit in ${outlen}.
 */
ssize_t
banner_mask(const char *in, size_t len, const char *text,
    const char *hostname, char *out, size_t outlen)
{
	const char *suffix = "";
	size_t	tlen, slen, n;

	if (!reply_ok(in, len))
		return (-1);
	if (!banner_text_ok(text)) {
		text = printable(hostname) ? hostname : "localhost";
		suffix = " ESMTP";
	}
	tlen = strlen(text);
	slen = strlen(suffix);
	n = 4 + tlen + slen + 2;
	if (n > outlen || n > (size_t)SSIZE_MAX)
		return (-1);
	memcpy(out, "220 ", 4);
	memcpy(out + 4, text, tlen);
	memcpy(out + 4 + tlen, suffix, slen);
	memcpy(out + 4 + tlen + slen, "\r\n", 2);
	return ((ssize_t)n);
}
