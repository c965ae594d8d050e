/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reply.h - the replies the shim makes itself, in one table.
 *
 * Every reply text the shim writes on its own (not the MTA's, not a
 * rule's policy_reply()) is here, CRLF included, so that a text is
 * written once and a newcomer finds them all in one place (SPEC 5).
 */
#ifndef SHIM_REPLY_H
#define SHIM_REPLY_H

#include <stddef.h>

enum shim_reply {
	SR_UNAVAILABLE,		/* the MTA or the shim cannot go on */
	SR_TIMEOUT,		/* command-, data- or embryonic-timeout */
	SR_SHUTTING_DOWN,	/* stop: sessions left after shutdown-timeout */
	SR_TOO_MANY_CONNECTIONS,	/* a limit at admission */
	SR_TOO_MANY_ERRORS,	/* hard-error-limit */
	SR_CLOSING,		/* the session ends at the shim's decision */
	SR_TLS_READY,		/* STARTTLS under starttls = terminate */
	SR_TLS_ACTIVE,		/* STARTTLS again inside TLS */
	SR_NOT_PERMITTED,	/* a verb command-other = reject refuses */
	SR_BDAT_SYNTAX,		/* a BDAT the shim cannot frame as the MTA */
	SR_NREPLIES
};

/** shim_reply(r): the reply's text, CRLF included. */
const char *shim_reply(enum shim_reply r);

/** shim_reply_len(r): its length in octets. */
size_t	shim_reply_len(enum shim_reply r);

#endif /* SHIM_REPLY_H */
