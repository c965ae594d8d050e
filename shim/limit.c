/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * limit.c - the shim's connection limits (SPEC 5.7).
 *
 * Interface: limit_new/free, limit_admit, limit_hatch, limit_release and
 * the counters' readers.
 *
 * Invariants: total >= embryonic >= 0; a per-client entry exists exactly
 * while its count is above zero, so memory follows the number of
 * sessions.  The hash is keyed with a random seed so that a client
 * cannot choose addresses that share a bucket.  An episode of refusals
 * starts at the first refusal (logged) and ends when the count is below
 * the limit again, at a release or at the next admission.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "limit.h"

struct limit_client {
	struct limit_client *next;
	unsigned char addr[16];	/* IPv6, or IPv4-mapped */
	int	count;
	int	episode;	/* refusing this client, already logged */
};

struct limit {
	int	total;
	int	embryonic;
	int	episode_total;
	int	episode_embryonic;
	uint64_t seed;
	size_t	nbuckets;	/* power of two */
	size_t	nclients;
	struct limit_client **bucket;
};

#define LIMIT_BUCKETS_MIN	64

/** limit_new(): an empty set of counters, or NULL on error. */
struct limit *
limit_new(void)
{
	struct limit *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	if (getrandom(&l->seed, sizeof(l->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(l->seed))
		l->seed = (uint64_t)(uintptr_t)l ^ 0x9e3779b97f4a7c15ULL;
	l->nbuckets = LIMIT_BUCKETS_MIN;
	if ((l->bucket = calloc(l->nbuckets, sizeof(*l->bucket))) == NULL) {
		free(l);
		return (NULL);
	}
	return (l);
}

/** limit_free(l): release ${l}; NULL is a no-op. */
void
limit_free(struct limit *l)
{
	struct limit_client *c, *next;
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nbuckets; i++)
		for (c = l->bucket[i]; c != NULL; c = next) {
			next = c->next;
			free(c);
		}
	free(l->bucket);
	free(l);
}

/*
 * The 16-octet key of ${sa}: IPv4 as IPv4-mapped IPv6, IPv6 cut to its
 * first ${v6prefix} bits (a site gets a /64 or shorter: one attacker holds
 * every address in it); 0 if not IP.
 */
static int
addr_key(const struct sockaddr *sa, int v6prefix, unsigned char key[16])
{
	int	i;

	memset(key, 0, 16);
	if (sa == NULL)
		return (0);
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return (1);
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(key,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(void *)key))
			return (1);
		if (v6prefix < 0)
			v6prefix = 0;
		for (i = 0; i < 16; i++) {
			if (v6prefix >= 8 * (i + 1))
				continue;
			key[i] &= v6prefix <= 8 * i ? 0 :
			    (unsigned char)(0xff << (8 * (i + 1) - v6prefix));
		}
		return (1);
	}
	return (0);
}

/* FNV-1a over the key, started from the seed. */
static size_t
addr_hash(const struct limit *l, const unsigned char key[16])
{
	uint64_t h = 0xcbf29ce484222325ULL ^ l->seed;
	int	i;

	for (i = 0; i < 16; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29;
	return ((size_t)h & (l->nbuckets - 1));
}

static struct limit_client **
find(const struct limit *l, const unsigned char key[16])
{
	struct limit_client **pp;

	for (pp = &l->bucket[addr_hash(l, key)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (memcmp((*pp)->addr, key, 16) == 0)
			return (pp);
	return (pp);
}

/* Double the table when it gets crowded; failure only costs speed. */
static void
grow(struct limit *l)
{
	struct limit_client **nb, **ob, *c, *next;
	size_t	on, i, h;

	if (l->nclients < 2 * l->nbuckets || l->nbuckets > SIZE_MAX / 4)
		return;
	if ((nb = calloc(l->nbuckets * 2, sizeof(*nb))) == NULL)
		return;
	ob = l->bucket;
	on = l->nbuckets;
	l->bucket = nb;
	l->nbuckets = on * 2;
	for (i = 0; i < on; i++)
		for (c = ob[i]; c != NULL; c = next) {
			next = c->next;
			h = addr_hash(l, c->addr);
			c->next = nb[h];
			nb[h] = c;
		}
	free(ob);
}

static void
refuse(struct limit_verdict *v, enum limit_kind kind, int value, int max,
    int *episode)
{
	v->kind = kind;
	v->value = value;
	v->limit = max;
	v->log = !*episode;
	*episode = 1;
}

/**
 * limit_admit(l, sa, exempt, max, v): decide whether a new client at ${sa}
 * may have a session under the limits ${max}; an ${exempt} client counts
 * only for max->total.  On admission the counters include the new session
 * (total, its client, and embryonic unless ${exempt}).  Fills ${v}: a
 * refusal says which limit, the count and the limit, and whether it is
 * the first refusal of an episode (which ends once the count has fallen
 * below the limit again).  Returns 0 when admitted, 1 when refused, -1
 * when memory ran out (nothing counted; the caller refuses the client).
 */
int
limit_admit(struct limit *l, const struct sockaddr *sa, int exempt,
    const struct limit_max *max, struct limit_verdict *v)
{
	struct limit_client **pp = NULL, *c = NULL;
	unsigned char key[16];
	int	ip;

	memset(v, 0, sizeof(*v));
	if (l->total >= max->total) {
		refuse(v, LIMIT_TOTAL, l->total, max->total, &l->episode_total);
		return (1);
	}
	l->episode_total = 0;
	if (exempt) {
		l->total++;
		return (0);
	}
	ip = addr_key(sa, max->v6prefix, key);
	if (ip) {
		pp = find(l, key);
		c = *pp;
		if (c != NULL && c->count >= max->client) {
			refuse(v, LIMIT_CLIENT, c->count, max->client,
			    &c->episode);
			return (1);
		}
		if (c != NULL)
			c->episode = 0;
	}
	if (l->embryonic >= max->embryonic) {
		refuse(v, LIMIT_EMBRYONIC, l->embryonic, max->embryonic,
		    &l->episode_embryonic);
		return (1);
	}
	l->episode_embryonic = 0;
	if (ip && c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return (-1);
		memcpy(c->addr, key, 16);
		c->next = *pp;
		*pp = c;
		l->nclients++;
		grow(l);
	}
	if (c != NULL)
		c->count++;
	l->total++;
	l->embryonic++;
	return (0);
}

/** limit_hatch(l): an admitted, non-exempt session left the embryonic state. */
void
limit_hatch(struct limit *l)
{
	if (l->embryonic > 0)
		l->embryonic--;
}

/**
 * limit_release(l, sa, v6prefix, exempt, embryonic): the session of ${sa}
 * admitted with ${exempt} and an IPv6 prefix of ${v6prefix} bits (the same
 * as max->v6prefix then) ended, ${embryonic} if it never hatched.
 */
void
limit_release(struct limit *l, const struct sockaddr *sa, int v6prefix,
    int exempt, int embryonic)
{
	struct limit_client **pp, *c;
	unsigned char key[16];

	if (l->total > 0)
		l->total--;
	l->episode_total = 0;
	if (exempt)
		return;
	if (embryonic && l->embryonic > 0) {
		l->embryonic--;
		l->episode_embryonic = 0;
	}
	if (!addr_key(sa, v6prefix, key))
		return;
	pp = find(l, key);
	if ((c = *pp) == NULL)
		return;
	c->episode = 0;
	if (--c->count <= 0) {
		*pp = c->next;
		free(c);
		l->nclients--;
	}
}

/** limit_total(l): sessions counted now. */
int
limit_total(const struct limit *l)
{
	return (l->total);
}

/** limit_embryonic(l): embryonic sessions counted now. */
int
limit_embryonic(const struct limit *l)
{
	return (l->embryonic);
}

/**
 * limit_client(l, sa, v6prefix): sessions of the client at ${sa} (an IPv6
 * address cut to ${v6prefix} bits) counted now.
 */
int
limit_client(const struct limit *l, const struct sockaddr *sa, int v6prefix)
{
	unsigned char key[16];
	const struct limit_client *c;

	if (!addr_key(sa, v6prefix, key))
		return (0);
	c = *find(l, key);
	return (c != NULL ? c->count : 0);
}
