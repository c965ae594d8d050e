/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mfwrap.c - a thin wrapper over every libmilter (smfi_*) call we make.
 *
 * See mfwrap.h.  Each function maps one libmilter call, converting
 * MI_SUCCESS/MI_FAILURE to 0/-1 and const strings to the writable buffers
 * libmilter's prototypes ask for.  The one state is the backend of the
 * calls made on a connection (mfwrap_set_ops()), set before any callback
 * runs and only read afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mfwrap.h"

/* Longest macro name or list we pass; libmilter's own are far shorter. */
#define MFWRAP_NAME_MAX		256

/* Copy ${src} into ${dst}; -1 if it does not fit. */
static int
mfwrap_copy(char *dst, size_t dstlen, const char *src)
{
	size_t	len = strlen(src);

	if (len >= dstlen)
		return (-1);
	memcpy(dst, src, len + 1);
	return (0);
}

/* NULL: libmilter; else milter -t's backend (offline.c). */
static const struct mfwrap_ops *mfwrap_ops;

/**
 * mfwrap_set_ops(ops): route the calls made on a connection to ${ops}
 * (NULL: to libmilter).  Before any callback runs.
 */
void
mfwrap_set_ops(const struct mfwrap_ops *ops)
{

	mfwrap_ops = ops;
}

/** mfwrap_getpriv(ctx): the connection's private data, or NULL. */
void *
mfwrap_getpriv(SMFICTX *ctx)
{

	if (mfwrap_ops != NULL)
		return (mfwrap_ops->getpriv(ctx));
	return (smfi_getpriv(ctx));
}

/** mfwrap_setpriv(ctx, priv): attach ${priv} to the connection.  Returns 0 or -1. */
int
mfwrap_setpriv(SMFICTX *ctx, void *priv)
{

	if (mfwrap_ops != NULL)
		return (mfwrap_ops->setpriv(ctx, priv));
	return (smfi_setpriv(ctx, priv) == MI_SUCCESS ? 0 : -1);
}

/** mfwrap_getsymval(ctx, name): the value of macro ${name}, or NULL when the MTA did not send it. */
const char *
mfwrap_getsymval(SMFICTX *ctx, const char *name)
{
	char	buf[MFWRAP_NAME_MAX];

	if (mfwrap_ops != NULL)
		return (mfwrap_ops->getsymval(ctx, name));
	if (mfwrap_copy(buf, sizeof(buf), name) != 0)
		return (NULL);
	return (smfi_getsymval(ctx, buf));
}

/**
 * mfwrap_setreply(ctx, rcode, xcode, text): set the SMTP reply for the
 * current stage.  Every '%' in ${text} is doubled, as smfi_setreply()
 * requires.  Returns 0 or -1.
 */
int
mfwrap_setreply(SMFICTX *ctx, const char *rcode, const char *xcode,
    const char *text)
{
	char	rc[8], xc[16];
	char   *t;
	size_t	i, j, len = strlen(text);
	int	ret;

	if (mfwrap_ops != NULL)
		return (mfwrap_ops->setreply(ctx, rcode, xcode, text));
	if (mfwrap_copy(rc, sizeof(rc), rcode) != 0 ||
	    mfwrap_copy(xc, sizeof(xc), xcode) != 0)
		return (-1);
	if ((t = malloc(2 * len + 1)) == NULL)
		return (-1);
	for (i = j = 0; i < len; i++) {
		t[j++] = text[i];
		if (text[i] == '%')
			t[j++] = '%';
	}
	t[j] = '\0';
	ret = smfi_setreply(ctx, rc, xc, t) == MI_SUCCESS ? 0 : -1;
	free(t);
	return (ret);
}

/** mfwrap_setsymlist(ctx, stage, macros): ask for ${macros} at ${stage} (SMFIM_*).  Returns 0 or -1. */
int
mfwrap_setsymlist(SMFICTX *ctx, int stage, const char *macros)
{
	char	buf[MFWRAP_NAME_MAX];

	if (mfwrap_ops != NULL)
		return (mfwrap_ops->setsymlist(ctx, stage, macros));
	if (mfwrap_copy(buf, sizeof(buf), macros) != 0)
		return (-1);
	return (smfi_setsymlist(ctx, stage, buf) == MI_SUCCESS ? 0 : -1);
}

/** mfwrap_version(buf, len): "  libmilter MAJOR.MINOR.PATCH\n" of the library linked. */
void
mfwrap_version(char *buf, size_t len)
{
	unsigned int major = 0, minor = 0, patch = 0;

	(void)smfi_version(&major, &minor, &patch);
	(void)snprintf(buf, len, "  libmilter %u.%u.%u\n", major, minor, patch);
}

/** mfwrap_register(desc): register the filter description ${desc}.  Returns 0 or -1. */
int
mfwrap_register(const struct smfiDesc *desc)
{

	return (smfi_register(*desc) == MI_SUCCESS ? 0 : -1);
}

/** mfwrap_setconn(spec): set the socket to listen on.  Returns 0 or -1. */
int
mfwrap_setconn(const char *spec)
{
	char   *s;
	int	ret;

	/* smfi_setconn() keeps a copy of its own. */
	if ((s = strdup(spec)) == NULL)
		return (-1);
	ret = smfi_setconn(s) == MI_SUCCESS ? 0 : -1;
	free(s);
	return (ret);
}

/** mfwrap_opensocket(rmsocket): create the socket now (removing a stale unix socket if ${rmsocket}).  Returns 0 or -1. */
int
mfwrap_opensocket(int rmsocket)
{

	return (smfi_opensocket(rmsocket ? true : false) == MI_SUCCESS ? 0 : -1);
}

/** mfwrap_settimeout(seconds): the MTA I/O timeout.  Returns 0 or -1. */
int
mfwrap_settimeout(int seconds)
{

	return (smfi_settimeout(seconds) == MI_SUCCESS ? 0 : -1);
}

/** mfwrap_main(): run the milter until mfwrap_stop().  Returns 0 or -1. */
int
mfwrap_main(void)
{

	return (smfi_main() == MI_SUCCESS ? 0 : -1);
}

/** mfwrap_stop(): make mfwrap_main() return. */
void
mfwrap_stop(void)
{

	(void)smfi_stop();
}
