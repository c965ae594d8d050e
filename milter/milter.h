/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * milter.h - the libmilter callbacks of esmtp-inspect-milter.
 *
 * The callbacks turn MTA events into calls on common/: the configuration
 * snapshot (config.h), the rules and replies (policy.h), address parsing
 * (addr.h) and the audit log (audit.h).  They talk to libmilter only
 * through mfwrap.h, so tests can drive them with a fake context.
 *
 * State has two levels: a connection (config snapshot, client, per-rule
 * exemptions, what negotiation agreed, the header counter and MIME
 * scanner) that lives from negotiation to close, and a transaction (queue
 * id, sender, recipient count, rules fired, body line state) reset at
 * MAIL, end of message and abort.
 */
#ifndef MILTER_H
#define MILTER_H

#include <libmilter/mfapi.h>

/* The filter description: name "esmtp-inspect", SMFI_VERSION, flags 0. */
extern struct smfiDesc milter_desc;

struct config;

/* What negotiation agreed, kept per connection (across SMFIC_QUIT_NC). */
#define MILTER_NEG_LEADSPC	0x01	/* header values keep their leading space */
#define MILTER_NEG_SKIP		0x02	/* SMFIS_SKIP may be returned from body */
#define MILTER_NEG_NR_CONN	0x04	/* connect is not answered */
#define MILTER_NEG_NR_HDR	0x08	/* each header is not answered */
#define MILTER_NEG_NR_EOH	0x10	/* end of headers is not answered */
#define MILTER_NEG_NR_BODY	0x20	/* body chunks are not answered */

#define MILTER_NEG_STAGES	(SMFIM_LAST + 1)

/* What milter_negotiate() answers, decided by milter_neg_plan(). */
struct milter_neg {
	unsigned long actions;		/* *pf0: SMFIF_SETSYMLIST or 0 */
	unsigned long steps;		/* *pf1: SMFIP_* */
	unsigned flags;			/* MILTER_NEG_* */
	const char *macros[MILTER_NEG_STAGES];	/* per SMFIM_*: NULL: not asked */
};

/**
 * milter_neg_plan(cfg, f0, f1, n): the steps, no-reply steps and macros to
 * ask of an MTA offering actions ${f0} and steps ${f1}, for the rules on
 * in ${cfg} (NULL: all of them).  Pure: the negotiation table.
 */
void	milter_neg_plan(const struct config *cfg, unsigned long f0,
	    unsigned long f1, struct milter_neg *n);

/** milter_negotiate(...): ask the MTA for the steps and replies the rules need only (milter_neg_plan()). */
sfsistat milter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
	    unsigned long f2, unsigned long f3, unsigned long *pf0,
	    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3);

/** milter_connect(ctx, hostname, hostaddr): start a connection: snapshot, client, exemptions. */
sfsistat milter_connect(SMFICTX *ctx, char *hostname, struct sockaddr *hostaddr);

/** milter_envfrom(ctx, argv): MAIL FROM: start a transaction; sender-length, address-characters, sender-address. */
sfsistat milter_envfrom(SMFICTX *ctx, char **argv);

/** milter_envrcpt(ctx, argv): RCPT TO: rcpt-count, address-characters, mail-relay. */
sfsistat milter_envrcpt(SMFICTX *ctx, char **argv);

/** milter_header(ctx, name, value): one top-level header field: header-line-length; fed to the counters and the MIME scanner. */
sfsistat milter_header(SMFICTX *ctx, char *name, char *value);

/** milter_eoh(ctx): end of headers: header-line-length, header-length, header-to-count, duplicate-header, dkim-unsigned-duplicate. */
sfsistat milter_eoh(SMFICTX *ctx);

/** milter_body(ctx, buf, len): a body chunk: body-line-length, body-length (counted), the MIME rules; SMFIS_SKIP once none can fire. */
sfsistat milter_body(SMFICTX *ctx, unsigned char *buf, size_t len);

/**
 * milter_eom(ctx): end of message: an unterminated last body line, the
 * end of the MIME structure and body-length (logged as stage=body); end
 * the transaction.
 */
sfsistat milter_eom(SMFICTX *ctx);

/** milter_abort(ctx): the transaction was aborted (RSET, refused message): reset it. */
sfsistat milter_abort(SMFICTX *ctx);

/** milter_close(ctx): end of connection: release everything; no private data is fine. */
sfsistat milter_close(SMFICTX *ctx);

#endif /* MILTER_H */
