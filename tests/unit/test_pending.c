/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_pending.c - the shim's pending queue (shim/pending.c), without
 * sockets: a table of operation scripts, each checked step by step
 * against the expected length, head and newest entry.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

/* One step: 'p' push KIND, 'o' pop (expect KIND), 'c' clear. */
struct step {
	char	op;
	enum pkind kind;
	int	ret;		/* push: expected return */
	unsigned len;		/* length after the step */
};

struct script {
	const char *what;
	struct step steps[8];
	int	nsteps;
};

static const struct script scripts[] = {
	{ "push then pop, in order", {
	    { 'p', P_EHLO, 0, 1 }, { 'p', P_DATA, 0, 2 }, { 'p', P_LOCAL, 0, 3 },
	    { 'o', P_EHLO, 0, 2 }, { 'o', P_DATA, 0, 1 }, { 'o', P_LOCAL, 0, 0 } }, 6 },
	{ "clear empties and frees", {
	    { 'p', P_LOCAL, 0, 1 }, { 'p', P_QUIT, 0, 2 }, { 'c', P_OTHER, 0, 0 },
	    { 'p', P_AUTH, 0, 1 }, { 'o', P_AUTH, 0, 0 } }, 5 },
	{ "interleaved, around the ring", {
	    { 'p', P_HELO, 0, 1 }, { 'o', P_HELO, 0, 0 }, { 'p', P_BDAT, 0, 1 },
	    { 'p', P_STARTTLS, 0, 2 }, { 'o', P_BDAT, 0, 1 }, { 'o', P_STARTTLS, 0, 0 } }, 6 },
};

Test(pending, scripts)
{
	struct pendq pq;
	struct pend e, *h, *l;
	size_t	i;
	int	k;

	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		pendq_init(&pq);
		cr_assert_null(pendq_head(&pq));
		cr_assert_null(pendq_last(&pq));
		for (k = 0; k < scripts[i].nsteps; k++) {
			const struct step *st = &scripts[i].steps[k];

			switch (st->op) {
			case 'p':
				cr_assert_eq(pendq_push(&pq, st->kind,
				    st->kind == P_LOCAL ? strdup("250 x\r\n") : NULL),
				    st->ret, "%s: step %d", scripts[i].what, k);
				cr_assert_eq(pendq_last(&pq)->kind, st->kind);
				cr_assert_eq(pendq_last(&pq)->open, 0);
				break;
			case 'o':
				h = pendq_head(&pq);
				cr_assert_not_null(h, "%s: step %d", scripts[i].what, k);
				cr_assert_eq(h->kind, st->kind, "%s: step %d",
				    scripts[i].what, k);
				e = pendq_pop(&pq);
				cr_assert_eq(e.kind, st->kind);
				if (e.kind == P_LOCAL)
					cr_assert_str_eq(e.text, "250 x\r\n");
				free(e.text);
				break;
			case 'c':
				pendq_clear(&pq);
				break;
			}
			cr_assert_eq(pendq_len(&pq), st->len, "%s: step %d",
			    scripts[i].what, k);
			l = pendq_last(&pq);
			cr_assert((l == NULL) == (st->len == 0));
		}
		pendq_clear(&pq);
	}
}

/* Full at PENDQ_MAX: the push is refused and the text stays the caller's. */
Test(pending, full_and_wrap)
{
	struct pendq pq;
	struct pend e;
	char   *t;
	unsigned i, round;

	pendq_init(&pq);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < PENDQ_MAX; i++)
			cr_assert_eq(pendq_push(&pq, (enum pkind)(i % P_UNKNOWN),
			    NULL), 0);
		t = strdup("421 x\r\n");
		cr_assert_eq(pendq_push(&pq, P_LOCAL, t), -1);
		free(t);		/* still ours */
		cr_assert_eq(pendq_len(&pq), PENDQ_MAX);
		/* Pop half, so the next round wraps around the ring. */
		for (i = 0; i < PENDQ_MAX / 2 + round; i++) {
			e = pendq_pop(&pq);
			cr_assert_eq(e.kind, (enum pkind)(i % P_UNKNOWN));
		}
		pendq_clear(&pq);
		cr_assert_eq(pendq_len(&pq), 0);
		cr_assert_null(pendq_head(&pq));
	}
	/* The open flag of the newest entry is the caller's to set. */
	cr_assert_eq(pendq_push(&pq, P_BDAT, NULL), 0);
	pendq_last(&pq)->open = 1;
	cr_assert_eq(pendq_head(&pq)->open, 1);
	e = pendq_pop(&pq);
	cr_assert_eq(e.open, 1);
}
