/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ehlo.h - the EHLO reply rewriter (SPEC 5.2, 5.4 strip) and the command
 * line masker (SPEC 5.3) of the shim.
 *
 * Pure functions on complete byte buffers: no sockets, no allocation.
 * Mask mode and the command masker preserve the length; strip mode keeps
 * the reply well formed (every line `250-' except the last, `250 ').
 * ehlo_changed() names the keywords a rewrite changes, for the log, from
 * the same policy the rewrite reads.
 */
#ifndef EHLO_H
#define EHLO_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

enum ehlo_mode {
	EHLO_PASS = 0,		/* keywords not allowed are relayed */
	EHLO_STRIP,		/* ... their lines are removed */
	EHLO_MASK		/* ... overwritten in place, counting letter */
};

/*
 * What becomes of STARTTLS in an EHLO reply (SPEC 5.4).  It is decided by
 * the starttls setting alone, never by the allow list or the mode: the
 * keyword is advertised exactly once when TLS is allowed or terminated
 * and never when it is stripped.
 */
enum ehlo_tls {
	EHLO_TLS_PASS = 0,	/* allow: relayed as the MTA sent it */
	EHLO_TLS_OTHER,		/* strip: changed like a keyword not allowed,
				 * masked in mask mode and stripped otherwise */
	EHLO_TLS_REMOVE		/* terminate: removed without a count, the
				 * shim advertises its own (ehlo_add) */
};

/* The rules one EHLO reply is rewritten by. */
struct ehlo_policy {
	const char *const *allow;	/* keywords that pass */
	size_t	nallow;
	enum ehlo_mode other;		/* what becomes of the others */
	enum ehlo_tls tls;		/* what becomes of STARTTLS */
};

/**
 * ehlo_rewrite(in, inlen, pol, out, outlen, changed): rewrite the complete
 * 250 EHLO reply ${in} (${inlen} octets, lines ending in LF, CRLF
 * normally) by the policy ${pol} into ${out} (at least ${inlen} octets;
 * may be ${in}).  The first line (the greeting) is kept; on every other
 * line the keyword (letters, digits, `-') is judged: STARTTLS by
 * pol->tls, any other keyword passes when it is in pol->allow (compared
 * case-insensitively) and is changed by pol->other when not.  A changed
 * keyword is counted; in EHLO_MASK mode `X' is written over it except its
 * last character, which becomes the count of masked keywords of this
 * reply as a letter (`A', `B', ...; from the 26th on always `Z'; a
 * 1-character keyword becomes just the letter), and `X' over every
 * parameter octet except spaces; otherwise its line is removed, as is a
 * removed STARTTLS (not counted).  Stores the output length in ${outlen}
 * and the count in ${changed} (may be NULL).  Returns NULL, or an error for
 * a reply that is not a well-formed 250 reply (${out} then undefined).
 */
const char *ehlo_rewrite(const char *in, size_t inlen,
	    const struct ehlo_policy *pol, char *out, size_t *outlen,
	    unsigned *changed);

/**
 * ehlo_changed(in, inlen, pol, out, outlen): for the complete 250 EHLO
 * reply ${in} (${inlen} octets), write the keywords that ehlo_rewrite()
 * would count as changed under ${pol}, as received (letters, digits, `-'
 * only), in reply order, space separated and NUL-terminated into ${out}
 * (${outlen} octets; 0: nothing written); a keyword that does not fit
 * whole is left out, with all after it, so ${out} never holds a cut name.
 * Returns how many such keywords the reply has (the count ehlo_rewrite()
 * reports, left out ones included), 0 with ${out} empty for a reply it
 * refuses.
 */
unsigned ehlo_changed(const char *in, size_t inlen,
	    const struct ehlo_policy *pol, char *out, size_t outlen);

/**
 * ehlo_offers(in, inlen, keyword): 1 if the complete 250 EHLO reply ${in}
 * (${inlen} octets) has a line whose keyword is ${keyword} (compared
 * case-insensitively, the greeting line excluded), else 0 (also for a
 * reply ehlo_rewrite() refuses).
 */
int	ehlo_offers(const char *in, size_t inlen, const char *keyword);

/**
 * ehlo_mask_command(line, len): overwrite the command ${line} (${len}
 * octets) with `X' in place, its line terminator (CRLF, or a bare LF)
 * kept, length preserved (SPEC 5.3 mask, what the ASA does).
 */
void	ehlo_mask_command(char *line, size_t len);

/**
 * ehlo_add(in, inlen, keyword, out, outlen): copy the complete 250 EHLO
 * reply ${in} (${inlen} octets, lines ending in CRLF) to ${out} with a
 * `250-${keyword}' line inserted before the last line (a one-line reply
 * becomes `250-greeting', `250 ${keyword}'): how the shim advertises a
 * STARTTLS of its own.  ${out} must not overlap ${in}.  Returns the new
 * length, or -1 if ${in} is not a well-formed 250 reply ending in CRLF or
 * the result does not fit in ${outlen}.
 */
ssize_t	ehlo_add(const char *in, size_t inlen, const char *keyword, char *out,
	    size_t outlen);

/**
 * ehlo_policy(pol, c, monitor): the policy of the shim settings ${c}:
 * ehlo-keywords, ehlo-other and starttls (SPEC 5.2, 5.4).  With ${monitor}
 * the policy applied in monitor mode: nothing is changed but the upstream's
 * STARTTLS that terminate replaces with the shim's own (which is how the
 * session works, not a decision).
 */
void	ehlo_policy(struct ehlo_policy *pol, const struct config_shim *c,
	    int monitor);

/**
 * ehlo_client_reply(in, inlen, c, monitor, offer_tls, out, outsize,
 * outlen, names, nameslen, changed): the EHLO reply a client of the shim
 * gets for the upstream's complete 250 reply ${in} (${inlen} octets) under
 * the shim settings ${c}: rewritten by ehlo_policy(${c}, ${monitor}), with
 * a `250-STARTTLS' line of the shim's own added when ${offer_tls}
 * (terminate, before the client's TLS), into ${out} (${outsize} octets,
 * at least 2 * ${inlen} + 16; must not overlap ${in}), its length in
 * ${outlen}.  The keywords the enforcing policy changes (also in monitor
 * mode: what would have been done) go to ${names} (${nameslen} octets, as
 * ehlo_changed()) and their count to ${changed}.  Returns NULL, or an
 * error for a reply that is not a well-formed 250 reply ending in CRLF.
 */
const char *ehlo_client_reply(const char *in, size_t inlen,
	    const struct config_shim *c, int monitor, int offer_tls, char *out,
	    size_t outsize, size_t *outlen, char *names, size_t nameslen,
	    unsigned *changed);

#endif /* EHLO_H */
