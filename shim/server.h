/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.h - esmtp-inspect-shim's relay as main.c sees it: the server
 * (listeners, limits, shutdown) and one session per client (SPEC 5).
 *
 * A session joins a client connection to its own upstream connection.
 * The client->upstream side is framed as the MTA frames it (commands,
 * DATA, BDAT, AUTH continuations), the upstream->client side by the
 * reply parser, and each reply is paired with the command it answers, in
 * order, so that pipelined commands keep working and the shim's own
 * replies land in the right place.  How the modules behind this divide
 * the work: shim.h.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct shim;

/**
 * shim_new(base, hostname): the relay's server state on ${base}; ${hostname}
 * is used by banner = mask when banner-text is empty.  Sessions take the
 * configuration snapshot current at accept (config_current()).  Returns
 * NULL on error.
 */
struct shim *shim_new(struct event_base *base, const char *hostname);

/**
 * shim_listen(sh, fd): accept clients on the bound, listening socket ${fd}
 * (non-blocking; the shim closes it).  Returns 0, or -1 on error.
 */
int	shim_listen(struct shim *sh, int fd);

/**
 * shim_stop(sh, timeout): stop accepting; sessions may finish for
 * ${timeout} seconds, then those left get "421 4.3.2 Service shutting
 * down" (in the command phase) and are closed.  The event loop is left
 * (event_base_loopexit) once no session remains.
 */
void	shim_stop(struct shim *sh, int timeout);

/**
 * shim_tls(sh, cfg, err, errlen): load the TLS contexts ${cfg} asks for
 * (starttls = terminate: the certificate and key; upstream-tls: a client
 * context) into ${sh} for sessions accepted from now on; sessions already
 * running keep theirs.  ${sh} NULL only checks.  Returns 0, or -1 with
 * "FILE: message" in ${err} and ${sh} unchanged.
 */
struct config;
int	shim_tls(struct shim *sh, const struct config *cfg, char *err,
	    size_t errlen);

/** shim_sessions(sh): number of live sessions. */
int	shim_sessions(const struct shim *sh);

/** shim_free(sh): close every session and listener; NULL is a no-op. */
void	shim_free(struct shim *sh);

#endif /* SERVER_H */
