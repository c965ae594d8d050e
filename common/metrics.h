/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.h - the HTTP side of the counters (SPEC 8): metrics-listen
 * serves GET /metrics (Prometheus text format 0.0.4) and GET /stats (the
 * ASA's "show service-policy inspect esmtp" shape), one bounded request
 * per connection (metrics.c says why not evhttp).
 *
 * The socket is bound at start, while still privileged (metrics_bind());
 * the server runs on an event base of the caller's (the shim's loop) or
 * on a thread of its own (the milter: metrics_thread_start()).  Every
 * answer is built from one counters_read() and the configuration
 * current at the time of the request.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include "counters.h"

struct event_base;
struct metrics;

/* Seconds a metrics connection lives, from its accept. */
#define METRICS_TIMEOUT		10

/**
 * metrics_bind(spec, err, len): a listening socket on "ADDR:PORT".
 * Returns it, or -1 with the reason in ${err}.
 */
int	metrics_bind(const char *spec, char *err, size_t len);

/** metrics_new(base, fd, daemon): serve the counters of ${daemon} on the listening socket ${fd} from ${base}; NULL when out of memory. */
struct metrics *metrics_new(struct event_base *base, int fd,
	    enum counters_daemon daemon);

/** metrics_free(m): stop serving and close the socket; NULL is a no-op. */
void	metrics_free(struct metrics *m);

/**
 * metrics_thread_start(fd, daemon): serve from a thread of its own, with
 * its own event base (signals stay blocked there as the caller's mask
 * says).  Returns 0, or -1.
 */
int	metrics_thread_start(int fd, enum counters_daemon daemon);

/** metrics_thread_stop(): end that thread and free what it held; safe when none runs. */
void	metrics_thread_stop(void);

#endif /* METRICS_H */
