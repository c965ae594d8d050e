/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pending.c - the shim's queue of commands awaiting a reply (pending.h).
 *
 * Invariants: entries live in q[(head + i) % PENDQ_MAX] for i < len;
 * len <= PENDQ_MAX; an entry's text belongs to the queue until it is
 * popped (pendq_pop() hands it over) or cleared.
 */
#include <stdlib.h>

#include "pending.h"

/** pendq_init(pq): an empty queue. */
void
pendq_init(struct pendq *pq)
{
	pq->head = 0;
	pq->len = 0;
}

/** pendq_push(pq, kind, text): append an entry owning ${text}; 0, or -1 when full. */
int
pendq_push(struct pendq *pq, enum pkind kind, char *text)
{
	struct pend *p;

	if (pq->len >= PENDQ_MAX)
		return (-1);
	p = &pq->q[(pq->head + pq->len) % PENDQ_MAX];
	p->kind = kind;
	p->text = text;
	p->open = 0;
	pq->len++;
	return (0);
}

/** pendq_head(pq): the oldest entry, or NULL when empty. */
struct pend *
pendq_head(struct pendq *pq)
{
	return (pq->len > 0 ? &pq->q[pq->head] : NULL);
}

/** pendq_last(pq): the newest entry, or NULL when empty. */
struct pend *
pendq_last(struct pendq *pq)
{
	return (pq->len > 0 ?
	    &pq->q[(pq->head + pq->len - 1) % PENDQ_MAX] : NULL);
}

/** pendq_pop(pq): remove the head and return it (its text is the caller's). */
struct pend
pendq_pop(struct pendq *pq)
{
	struct pend p = pq->q[pq->head];

	pq->q[pq->head].text = NULL;
	pq->head = (pq->head + 1) % PENDQ_MAX;
	pq->len--;
	return (p);
}

/** pendq_len(pq): how many entries wait. */
unsigned
pendq_len(const struct pendq *pq)
{
	return (pq->len);
}

/** pendq_clear(pq): free every text and empty the queue. */
void
pendq_clear(struct pendq *pq)
{
	while (pq->len > 0)
		free(pendq_pop(pq).text);
}
