/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * counters.h - what each daemon counts from its start (SPEC 8): rule
 * matches by rule, action and mode; the milter's messages by verdict; the
 * shim's sessions by how they ended, and the sessions open now; limit
 * refusals; reloads by result.
 *
 * One set of counters per process, in static storage, so that a reload
 * (a new configuration snapshot) keeps them.  Counting is one relaxed
 * atomic add: no lock, safe from libmilter's worker threads and the
 * shim's loop alike.  Reading takes a snapshot (each counter read
 * atomically; the set is not one instant, which counters need not be);
 * the three renderings (Prometheus text, the ASA's "show service-policy
 * inspect esmtp" shape, event=stats log lines) work on a snapshot and are
 * pure apart from counters_log().
 */
#ifndef COUNTERS_H
#define COUNTERS_H

#include <stdio.h>

#include "policy.h"

struct config;

enum counters_daemon { COUNTERS_MILTER, COUNTERS_SHIM };

/*
 * What is matched: the rules of policy.h, then the shim's settings that
 * act like the ASA's match criteria (banner: "parameter mask-banner";
 * ehlo-other: "match ehlo-reply-parameter others"; command-other: "match
 * cmd verb").
 */
#define COUNTERS_BANNER		POLICY_NRULES
#define COUNTERS_EHLO_OTHER	(POLICY_NRULES + 1)
#define COUNTERS_COMMAND_OTHER	(POLICY_NRULES + 2)
#define COUNTERS_NMATCH		(POLICY_NRULES + 3)

/* Actions: those of policy.h, then the settings' own. */
#define COUNTERS_MASK		POLICY_NACTIONS
#define COUNTERS_STRIP		(POLICY_NACTIONS + 1)
#define COUNTERS_ASTERISKS	(POLICY_NACTIONS + 2)
#define COUNTERS_NACTION	(POLICY_NACTIONS + 3)

/* The milter's messages, by the answer the MTA got for them. */
enum counters_verdict {
	COUNTERS_ACCEPT, COUNTERS_REJECT, COUNTERS_TEMPFAIL, COUNTERS_DROP,
	COUNTERS_ERROR, COUNTERS_NVERDICT
};

/* How a shim session ended (the reason= of its disconnect line). */
enum counters_reason {
	COUNTERS_QUIT, COUNTERS_CLIENT_CLOSE, COUNTERS_UPSTREAM_CLOSE,
	COUNTERS_TIMEOUT, COUNTERS_LIMIT, COUNTERS_POLICY, COUNTERS_DESYNC,
	COUNTERS_ERROR_CLOSE, COUNTERS_SHUTDOWN, COUNTERS_NREASON
};

/* The shim's limits that refuse a client or end a session. */
enum counters_limit {
	COUNTERS_MAX_CONNECTIONS, COUNTERS_MAX_PER_CLIENT,
	COUNTERS_MAX_EMBRYONIC, COUNTERS_HARD_ERRORS, COUNTERS_NLIMIT
};

enum counters_reload { COUNTERS_RELOAD_OK, COUNTERS_RELOAD_ERROR,
	COUNTERS_NRELOAD };

/* Every counter at one reading. */
struct counters_snap {
	unsigned long long match[COUNTERS_NMATCH][COUNTERS_NACTION][2];
	unsigned long long verdict[COUNTERS_NVERDICT];
	unsigned long long reason[COUNTERS_NREASON];
	unsigned long long limit[COUNTERS_NLIMIT];
	unsigned long long reload[COUNTERS_NRELOAD];
	long long active;
};

/** counters_match(what, action, monitor): one match of ${what} (a rule or COUNTERS_BANNER...) with ${action}. */
void	counters_match(int what, int action, int monitor);

/** counters_verdict(v): one message answered with ${v} (milter). */
void	counters_verdict(enum counters_verdict v);

/** counters_session_open(): a session began (shim: sessions_active). */
void	counters_session_open(void);

/** counters_session_end(r): a session ended for reason ${r}. */
void	counters_session_end(enum counters_reason r);

/** counters_session_count(r): a connection that never became a session (a balancer's without a PROXY header) ended for reason ${r}. */
void	counters_session_count(enum counters_reason r);

/** counters_limit(l): a limit refused a client or ended a session. */
void	counters_limit(enum counters_limit l);

/** counters_reload(r): a SIGHUP reload with result ${r}. */
void	counters_reload(enum counters_reload r);

/** counters_read(snap): every counter now, into ${snap}. */
void	counters_read(struct counters_snap *snap);

/** counters_reason_name(r): "quit", "client-close"... */
const char *counters_reason_name(enum counters_reason r);

/**
 * counters_prometheus(snap, cfg, daemon, fp): ${snap} as Prometheus text
 * format 0.0.4.  Every series the configuration ${cfg} can produce is
 * there from the start, at 0 (each rule that is on, with its configured
 * action and mode); a series seen since (an action of a rule before a
 * reload) stays.
 */
void	counters_prometheus(const struct counters_snap *snap,
	    const struct config *cfg, enum counters_daemon daemon, FILE *fp);

/**
 * counters_stats(snap, cfg, daemon, fp): ${snap} as text, a match line
 * per rule in the shape of the ASA's "show service-policy inspect esmtp"
 * ("match header line length gt 998  reject log, packet 41"), then the
 * other counts a line each.
 */
void	counters_stats(const struct counters_snap *snap,
	    const struct config *cfg, enum counters_daemon daemon, FILE *fp);

/** counters_log(snap, cfg, daemon): ${snap} as event=stats log lines (SIGUSR1). */
void	counters_log(const struct counters_snap *snap,
	    const struct config *cfg, enum counters_daemon daemon);

#endif /* COUNTERS_H */
