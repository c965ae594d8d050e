/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * limit.h - the shim's connection limits (SPEC 5.7): max-connections,
 * max-connections-per-client and max-embryonic, with "logged once per
 * episode" bookkeeping.
 *
 * No sockets and no clock: the relay calls limit_admit() at accept,
 * limit_hatch() when a session completes HELO/EHLO and limit_release()
 * at close.  Per-client counts live in a hash table keyed by the IP
 * address, an IPv6 address cut to a prefix (client-ipv6-prefix: one
 * holder of a /64 is one client), IPv4-mapped IPv6 counted as IPv4, whole;
 * an entry exists only while
 * that client has sessions, so the table never holds more entries than
 * there are sessions.  Single-threaded (the shim's event loop).
 */
#ifndef LIMIT_H
#define LIMIT_H

#include <sys/socket.h>

/* Why a client was refused. */
enum limit_kind {
	LIMIT_OK = 0,
	LIMIT_TOTAL,		/* max-connections */
	LIMIT_CLIENT,		/* max-connections-per-client */
	LIMIT_EMBRYONIC		/* max-embryonic */
};

/* The limits in force for one admission (from the configuration). */
struct limit_max {
	int	total;
	int	client;
	int	embryonic;
	int	v6prefix;	/* an IPv6 client is its first v6prefix bits */
};

/* What limit_admit() decided. */
struct limit_verdict {
	enum limit_kind kind;	/* LIMIT_OK: admitted */
	int	value;		/* the count that reached the limit */
	int	limit;		/* that limit */
	int	log;		/* first refusal of this episode: log it */
};

struct limit;

/** limit_new(): an empty set of counters, or NULL on error. */
struct limit *limit_new(void);

/** limit_free(l): release ${l}; NULL is a no-op. */
void	limit_free(struct limit *l);

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
int	limit_admit(struct limit *l, const struct sockaddr *sa, int exempt,
	    const struct limit_max *max, struct limit_verdict *v);

/** limit_hatch(l): an admitted, non-exempt session left the embryonic state. */
void	limit_hatch(struct limit *l);

/**
 * limit_release(l, sa, v6prefix, exempt, embryonic): the session of ${sa}
 * admitted with ${exempt} and an IPv6 prefix of ${v6prefix} bits (the same
 * as max->v6prefix then) ended, ${embryonic} if it never hatched.
 */
void	limit_release(struct limit *l, const struct sockaddr *sa, int v6prefix,
	    int exempt, int embryonic);

/** limit_total(l): sessions counted now. */
int	limit_total(const struct limit *l);

/** limit_embryonic(l): embryonic sessions counted now. */
int	limit_embryonic(const struct limit *l);

/**
 * limit_client(l, sa, v6prefix): sessions of the client at ${sa} (an IPv6
 * address cut to ${v6prefix} bits) counted now.
 */
int	limit_client(const struct limit *l, const struct sockaddr *sa,
	    int v6prefix);

#endif /* LIMIT_H */
