/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_reply.c - the shim's own replies (shim/reply.c): each text as SPEC 5
 * writes it, and every entry one well-formed reply line.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <string.h>

#include "reply.h"

static const struct {
	enum shim_reply r;
	const char *text;
} rows[] = {
	{ SR_UNAVAILABLE, "421 4.3.0 Service not available\r\n" },
	{ SR_TIMEOUT, "421 4.4.2 Timeout\r\n" },
	{ SR_SHUTTING_DOWN, "421 4.3.2 Service shutting down\r\n" },
	{ SR_TOO_MANY_CONNECTIONS, "421 4.7.0 Too many connections\r\n" },
	{ SR_TOO_MANY_ERRORS, "421 4.7.0 Too many errors\r\n" },
	{ SR_CLOSING, "421 4.7.0 Service closing transmission channel\r\n" },
	{ SR_TLS_READY, "220 2.0.0 Ready to start TLS\r\n" },
	{ SR_TLS_ACTIVE, "503 5.5.1 TLS already active\r\n" },
	{ SR_NOT_PERMITTED, "502 5.5.1 Command not permitted\r\n" },
	{ SR_BDAT_SYNTAX, "501 5.5.4 Syntax: BDAT count [LAST]\r\n" },
};

Test(reply, texts)
{
	size_t	i;

	cr_assert_eq(sizeof(rows) / sizeof(rows[0]), SR_NREPLIES,
	    "every reply has a row");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cr_assert_str_eq(shim_reply(rows[i].r), rows[i].text);
		cr_assert_eq(shim_reply_len(rows[i].r), strlen(rows[i].text));
	}
}

/* "DDD X.Y.Z text\r\n", the class digit of the code and the enhanced code alike. */
Test(reply, well_formed)
{
	const char *t;
	size_t	n;
	int	r;

	for (r = 0; r < SR_NREPLIES; r++) {
		t = shim_reply((enum shim_reply)r);
		n = strlen(t);
		cr_assert(n > 12 && isdigit((unsigned char)t[0]) &&
		    isdigit((unsigned char)t[1]) && isdigit((unsigned char)t[2]) &&
		    t[3] == ' ' && t[4] == t[0] && t[5] == '.', "%s", t);
		cr_assert(t[n - 2] == '\r' && t[n - 1] == '\n', "%s", t);
		cr_assert_null(memchr(t, '\n', n - 1), "%s", t);
	}
	/* Out of range: never a NULL to write. */
	cr_assert_str_eq(shim_reply(SR_NREPLIES), shim_reply(SR_UNAVAILABLE));
}
