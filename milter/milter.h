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

/** milter_negotiate(...): ask the MTA for the steps the rules need only, and for macro "i" at MAIL, RCPT, EOM (and DATA, EOH for content rules). */
sfsistat milter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
	    unsigned long f2, unsigned long f3, unsigned long *pf0,
	    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3);

/** milter_connect(ctx, hostname, hostaddr): start a connection: snapshot, client, exemptions. */
sfsistat milter_connect(SMFICTX *ctx, char *hostname, struct sockaddr *hostaddr);

/** milter_envfrom(ctx, argv): MAIL FROM: start a transaction; sender-length, address-characters. */
sfsistat milter_envfrom(SMFICTX *ctx, char **argv);

/** milter_envrcpt(ctx, argv): RCPT TO: rcpt-count, address-characters. */
sfsistat milter_envrcpt(SMFICTX *ctx, char **argv);

/** milter_header(ctx, name, value): one top-level header field: header-line-length; fed to the counters and the MIME scanner. */
sfsistat milter_header(SMFICTX *ctx, char *name, char *value);

/** milter_eoh(ctx): end of headers: duplicate-header, dkim-unsigned-duplicate. */
sfsistat milter_eoh(SMFICTX *ctx);

/** milter_body(ctx, buf, len): a body chunk: body-line-length, mime-filename-length; SMFIS_SKIP once neither can fire. */
sfsistat milter_body(SMFICTX *ctx, unsigned char *buf, size_t len);

/**
 * milter_eom(ctx): end of message: an unterminated last body line and the
 * end of the MIME structure (logged as stage=body); end the transaction.
 */
sfsistat milter_eom(SMFICTX *ctx);

/** milter_abort(ctx): the transaction was aborted (RSET, refused message): reset it. */
sfsistat milter_abort(SMFICTX *ctx);

/** milter_close(ctx): end of connection: release everything; no private data is fine. */
sfsistat milter_close(SMFICTX *ctx);

#endif /* MILTER_H */
