/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * invrcpt.c - invalid-recipients: refused RCPTs counted per session
 * (invrcpt.h).
 *
 * Interface: invrcpt_refused(), invrcpt_answer(), invrcpt_addr().
 *
 * Invariants: only a P_RCPT entry's reply is ever counted, so a count
 * never includes a reply the shim made itself or the reply to another
 * command; the count only grows.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "invrcpt.h"

/** invrcpt_refused(code): 1 if a reply ${code} to a RCPT refuses the recipient. */
int
invrcpt_refused(int code)
{
	if (code < 500 || code > 599)
		return (0);
	/* RFC 5321 4.2.1: 50z are syntax errors; 555 is parameters not
	 * recognized.  Neither judged the recipient. */
	if (code <= 504 || code == 555)
		return (0);
	return (1);
}

/** invrcpt_answer(count, e, code, limit): count a refused RCPT; INVRCPT_FIRE beyond ${limit}. */
enum invrcpt_result
invrcpt_answer(unsigned long *count, const struct pend *e, int code,
    long long limit)
{
	if (e == NULL || e->kind != P_RCPT || !invrcpt_refused(code))
		return (INVRCPT_PASS);
	++*count;
	return ((long long)*count > limit ? INVRCPT_FIRE : INVRCPT_COUNTED);
}

/** invrcpt_addr(arg, len): the recipient of a RCPT argument, as a string to free; NULL when out of memory. */
char *
invrcpt_addr(const unsigned char *arg, size_t len)
{
	const char *a = (const char *)arg, *out;
	size_t	outlen;
	char   *s;

	if (len >= 3 && strncasecmp(a, "TO:", 3) == 0) {
		a += 3;
		len -= 3;
	}
	addr_strip(a, len, &out, &outlen);
	if (outlen > INVRCPT_ADDR_MAX)
		outlen = INVRCPT_ADDR_MAX;
	if ((s = malloc(outlen + 1)) == NULL)
		return (NULL);
	memcpy(s, out, outlen);
	s[outlen] = '\0';
	return (s);
}
