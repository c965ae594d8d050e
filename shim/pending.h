/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pending.h - the shim's queue of commands awaiting a reply.
 *
 * Each command the shim forwards (or answers itself, in order among the
 * MTA's replies) is pushed with what its reply means; each complete reply
 * from the MTA answers the entry at the head.  A fixed ring: no memory is
 * allocated here, and a full queue refuses the push.  Pure data: no
 * sockets, no libevent, so unit tests drive it alone.
 */
#ifndef PENDING_H
#define PENDING_H

#define PENDQ_MAX	64		/* commands awaiting replies */

/* What a pending entry is waiting for. */
enum pkind { P_LOCAL, P_TLSGO, P_HELO, P_EHLO, P_DATA, P_DATAEND, P_BDAT,
	P_AUTH, P_STARTTLS, P_QUIT, P_RCPT, P_OTHER, P_UNKNOWN };

struct pend {
	enum pkind kind;
	char   *text;		/* P_LOCAL: the shim's reply, CRLF included;
				 * P_RCPT: its address for invalid-recipients
				 * (NULL when the rule is off) */
	int	open;		/* P_BDAT: its chunk is still being relayed */
	int	last;		/* P_BDAT: BDAT ... LAST, the message's end */
};

struct pendq {
	struct pend q[PENDQ_MAX];
	unsigned head, len;
};

/** pendq_init(pq): an empty queue. */
void	pendq_init(struct pendq *pq);

/** pendq_push(pq, kind, text): append an entry owning ${text} (may be NULL); 0, or -1 when full (${text} stays the caller's). */
int	pendq_push(struct pendq *pq, enum pkind kind, char *text);

/** pendq_head(pq): the oldest entry, or NULL when empty. */
struct pend *pendq_head(struct pendq *pq);

/** pendq_last(pq): the newest entry, or NULL when empty. */
struct pend *pendq_last(struct pendq *pq);

/** pendq_pop(pq): remove the head and return it (its text is the caller's); the queue must not be empty. */
struct pend pendq_pop(struct pendq *pq);

/** pendq_len(pq): how many entries wait. */
unsigned pendq_len(const struct pendq *pq);

/** pendq_clear(pq): free every text and empty the queue. */
void	pendq_clear(struct pendq *pq);

#endif /* PENDING_H */
