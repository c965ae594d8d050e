/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reply.c - the replies the shim makes itself (reply.h).
 *
 * Invariant: the table is indexed by enum shim_reply and is the only
 * place these texts are written; each is one line "DDD X.Y.Z text\r\n".
 */
#include <string.h>

#include "reply.h"

static const char *const replies[SR_NREPLIES] = {
	[SR_UNAVAILABLE] = "421 4.3.0 Service not available\r\n",
	[SR_TIMEOUT] = "421 4.4.2 Timeout\r\n",
	[SR_SHUTTING_DOWN] = "421 4.3.2 Service shutting down\r\n",
	[SR_TOO_MANY_CONNECTIONS] = "421 4.7.0 Too many connections\r\n",
	[SR_TOO_MANY_ERRORS] = "421 4.7.0 Too many errors\r\n",
	[SR_CLOSING] = "421 4.7.0 Service closing transmission channel\r\n",
	[SR_TLS_READY] = "220 2.0.0 Ready to start TLS\r\n",
	[SR_TLS_ACTIVE] = "503 5.5.1 TLS already active\r\n",
	[SR_NOT_PERMITTED] = "502 5.5.1 Command not permitted\r\n",
	[SR_BDAT_SYNTAX] = "501 5.5.4 Syntax: BDAT count [LAST]\r\n",
};

/** shim_reply(r): the reply's text, CRLF included. */
const char *
shim_reply(enum shim_reply r)
{
	return ((unsigned)r < SR_NREPLIES ? replies[r] : replies[SR_UNAVAILABLE]);
}

/** shim_reply_len(r): its length in octets. */
size_t
shim_reply_len(enum shim_reply r)
{
	return (strlen(shim_reply(r)));
}
