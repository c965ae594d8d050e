/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mfwrap.h - a thin wrapper over every libmilter (smfi_*) call we make.
 *
 * The callbacks in milter.c and the start-up code in main.c call these
 * instead of libmilter, so that the unit tests can link milter.o against a
 * test double (tests/unit/mfwrap_stub.c) and drive the callbacks with a
 * fake context, no MTA needed (OpenDKIM's dkimf_getpriv style).  The
 * wrappers also take const strings where libmilter's prototypes do not.
 *
 * The calls made on a connection have a second backend, installed with
 * mfwrap_set_ops(): milter -t (offline.c) plays the MTA and libmilter
 * itself and drives the same callbacks with a context of its own.
 */
#ifndef MFWRAP_H
#define MFWRAP_H

#include <libmilter/mfapi.h>

/*
 * The calls made on a connection, for a backend other than libmilter;
 * setreply() gets ${text} as given (no '%' doubling).
 */
struct mfwrap_ops {
	void   *(*getpriv)(SMFICTX *ctx);
	int	(*setpriv)(SMFICTX *ctx, void *priv);
	const char *(*getsymval)(SMFICTX *ctx, const char *name);
	int	(*setreply)(SMFICTX *ctx, const char *rcode, const char *xcode,
		    const char *text);
	int	(*setsymlist)(SMFICTX *ctx, int stage, const char *macros);
};

/**
 * mfwrap_set_ops(ops): route mfwrap_getpriv(), mfwrap_setpriv(),
 * mfwrap_getsymval(), mfwrap_setreply() and mfwrap_setsymlist() to
 * ${ops} (NULL: to libmilter).  Before any callback runs.
 */
void	mfwrap_set_ops(const struct mfwrap_ops *ops);

/** mfwrap_getpriv(ctx): the connection's private data, or NULL. */
void   *mfwrap_getpriv(SMFICTX *ctx);

/** mfwrap_setpriv(ctx, priv): attach ${priv} to the connection.  Returns 0 or -1. */
int	mfwrap_setpriv(SMFICTX *ctx, void *priv);

/** mfwrap_getsymval(ctx, name): the value of macro ${name}, or NULL when the MTA did not send it. */
const char *mfwrap_getsymval(SMFICTX *ctx, const char *name);

/**
 * mfwrap_setreply(ctx, rcode, xcode, text): set the SMTP reply for the
 * current stage.  Every '%' in ${text} is doubled, as smfi_setreply()
 * requires.  Returns 0 or -1.
 */
int	mfwrap_setreply(SMFICTX *ctx, const char *rcode, const char *xcode,
	    const char *text);

/** mfwrap_setsymlist(ctx, stage, macros): ask for ${macros} at ${stage} (SMFIM_*).  Returns 0 or -1. */
int	mfwrap_setsymlist(SMFICTX *ctx, int stage, const char *macros);

/** mfwrap_register(desc): register the filter description ${desc}.  Returns 0 or -1. */
int	mfwrap_register(const struct smfiDesc *desc);

/** mfwrap_setconn(spec): set the socket to listen on.  Returns 0 or -1. */
int	mfwrap_setconn(const char *spec);

/** mfwrap_opensocket(rmsocket): create the socket now (removing a stale unix socket if ${rmsocket}).  Returns 0 or -1. */
int	mfwrap_opensocket(int rmsocket);

/** mfwrap_settimeout(seconds): the MTA I/O timeout.  Returns 0 or -1. */
int	mfwrap_settimeout(int seconds);

/** mfwrap_main(): run the milter until mfwrap_stop().  Returns 0 or -1. */
int	mfwrap_main(void);

/** mfwrap_stop(): make mfwrap_main() return. */
void	mfwrap_stop(void);

/** mfwrap_version(buf, len): "  libmilter MAJOR.MINOR.PATCH\n" of the library linked. */
void	mfwrap_version(char *buf, size_t len);

#endif /* MFWRAP_H */
