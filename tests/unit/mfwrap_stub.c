/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mfwrap_stub.c - a test double of milter/mfwrap.c for the unit tests.
 *
 * Provides the mfwrap_* functions backed by a fake SMFICTX: settable
 * macros, the private data pointer, the macro lists asked for, and the
 * last reply set, as the callbacks passed it (the real wrapper then
 * doubles '%' for smfi_setreply()).  The
 * stub_* functions let a test build and inspect a context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mfwrap.h"

#define STUB_MACROS	16

/* The fake libmilter context (libmilter leaves struct smfi_str opaque). */
struct smfi_str {
	void   *priv;
	char   *name[STUB_MACROS];
	char   *value[STUB_MACROS];
	char	symlist[8][64];		/* by SMFIM_* stage */
	int	nreplies;
	char	reply[1024];		/* "RCODE XCODE TEXT" of the last reply */
};

SMFICTX	*stub_ctx_new(void);
void	stub_ctx_free(SMFICTX *ctx);
void	stub_set_macro(SMFICTX *ctx, const char *name, const char *value);
const char *stub_reply(SMFICTX *ctx);
int	stub_nreplies(SMFICTX *ctx);
void	stub_clear_reply(SMFICTX *ctx);
const char *stub_symlist(SMFICTX *ctx, int stage);
void	*stub_priv(SMFICTX *ctx);

SMFICTX *
stub_ctx_new(void)
{
	SMFICTX *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		abort();
	return (ctx);
}

void
stub_ctx_free(SMFICTX *ctx)
{
	int	i;

	if (ctx == NULL)
		return;
	for (i = 0; i < STUB_MACROS; i++) {
		free(ctx->name[i]);
		free(ctx->value[i]);
	}
	free(ctx);
}

/* Set macro ${name} to ${value}; NULL removes it. */
void
stub_set_macro(SMFICTX *ctx, const char *name, const char *value)
{
	int	i, freeslot = -1;

	for (i = 0; i < STUB_MACROS; i++) {
		if (ctx->name[i] != NULL && strcmp(ctx->name[i], name) == 0)
			break;
		if (ctx->name[i] == NULL && freeslot < 0)
			freeslot = i;
	}
	if (i == STUB_MACROS) {
		if (value == NULL)
			return;
		if ((i = freeslot) < 0)
			abort();
		ctx->name[i] = strdup(name);
	} else if (value == NULL) {
		free(ctx->name[i]);
		ctx->name[i] = NULL;
	}
	free(ctx->value[i]);
	ctx->value[i] = value != NULL ? strdup(value) : NULL;
}

const char *
stub_reply(SMFICTX *ctx)
{

	return (ctx->nreplies > 0 ? ctx->reply : NULL);
}

int
stub_nreplies(SMFICTX *ctx)
{

	return (ctx->nreplies);
}

void
stub_clear_reply(SMFICTX *ctx)
{

	ctx->nreplies = 0;
	ctx->reply[0] = '\0';
}

const char *
stub_symlist(SMFICTX *ctx, int stage)
{

	return (stage >= 0 && stage < 8 ? ctx->symlist[stage] : NULL);
}

void *
stub_priv(SMFICTX *ctx)
{

	return (ctx->priv);
}

void *
mfwrap_getpriv(SMFICTX *ctx)
{

	return (ctx->priv);
}

int
mfwrap_setpriv(SMFICTX *ctx, void *priv)
{

	ctx->priv = priv;
	return (0);
}

const char *
mfwrap_getsymval(SMFICTX *ctx, const char *name)
{
	int	i;

	for (i = 0; i < STUB_MACROS; i++)
		if (ctx->name[i] != NULL && strcmp(ctx->name[i], name) == 0)
			return (ctx->value[i]);
	return (NULL);
}

/* Records the text as the callbacks pass it, before the real wrapper doubles '%'. */
int
mfwrap_setreply(SMFICTX *ctx, const char *rcode, const char *xcode,
    const char *text)
{
	int	len;

	len = snprintf(ctx->reply, sizeof(ctx->reply), "%s %s %s", rcode,
	    xcode, text);
	if (len < 0 || (size_t)len >= sizeof(ctx->reply))
		return (-1);
	ctx->nreplies++;
	return (0);
}

int
mfwrap_setsymlist(SMFICTX *ctx, int stage, const char *macros)
{

	if (stage < 0 || stage >= 8)
		return (-1);
	(void)snprintf(ctx->symlist[stage], sizeof(ctx->symlist[stage]), "%s",
	    macros);
	return (0);
}

int
mfwrap_register(const struct smfiDesc *desc)
{

	(void)desc;
	return (0);
}

int
mfwrap_setconn(const char *spec)
{

	(void)spec;
	return (0);
}

int
mfwrap_opensocket(int rmsocket)
{

	(void)rmsocket;
	return (-1);
}

int
mfwrap_settimeout(int seconds)
{

	(void)seconds;
	return (0);
}

int
mfwrap_main(void)
{

	return (-1);
}

void
mfwrap_stop(void)
{
}
