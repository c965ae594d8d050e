/*
 * ehlo.h - the EHLO reply rewriter (SPEC 5.2, 5.4 strip) and the command
 * line masker (SPEC 5.3) of the shim.
 *
 * Pure functions on complete byte buffers: no sockets, no allocation.
 * Mask mode and the command masker preserve the length; strip mode keeps
 * the reply well formed (every line `250-' except the last, `250 ').
 * ehlo_changed() names the keywords a rewrite changes, for the log.
 */
#ifndef EHLO_H
#define EHLO_H

#include <stddef.h>
#include <sys/types.h>

enum ehlo_mode {
	EHLO_PASS = 0,		/* keywords not allowed are relayed */
	EHLO_STRIP,		/* ... their lines are removed */
	EHLO_MASK		/* ... overwritten in place, counting letter */
};

/**
 * ehlo_rewrite(in, inlen, allow, nallow, mode, out, outlen, changed):
 * rewrite the complete 250 EHLO reply ${in} (${inlen} octets, lines ending
 * in LF, CRLF normally) into ${out} (at least ${inlen} octets; may be
 * ${in}).  The first line (the greeting) is kept; on every other line the
 * keyword (letters, digits, `-') passes when it is in ${allow} (${nallow}
 * names, compared case-insensitively), else ${mode} applies: EHLO_MASK
 * writes `X' over the keyword except its last character, which becomes
 * the count of masked keywords of this reply as a letter (`A', `B', ...;
 * from the 26th on always `Z'; a 1-character keyword becomes just the
 * letter), and `X' over every parameter octet except spaces.  Stores the
 * output length in ${outlen} and the number of keywords masked or
 * stripped in ${changed} (may be NULL).  Returns NULL, or an error for a
 * reply that is not a well-formed 250 reply (${out} then undefined).
 */
const char *ehlo_rewrite(const char *in, size_t inlen,
	    const char *const *allow, size_t nallow, enum ehlo_mode mode,
	    char *out, size_t *outlen, unsigned *changed);

/**
 * ehlo_changed(in, inlen, allow, nallow, out, outlen): for the complete
 * 250 EHLO reply ${in} (${inlen} octets), write the keywords that
 * ehlo_rewrite() would strip or mask (those not in ${allow}, ${nallow}
 * names, compared case-insensitively), as received (letters, digits,
 * `-' only), in reply order, space separated and NUL-terminated into
 * ${out} (${outlen} octets; 0: nothing written); a keyword that does
 * not fit whole is left out, with all after it, so ${out} never holds a
 * cut name.  Returns how many such keywords the reply has (the count
 * ehlo_rewrite() reports in ${changed} for EHLO_STRIP and EHLO_MASK, left
 * out ones included), 0 with ${out} empty for a reply it refuses.
 */
unsigned ehlo_changed(const char *in, size_t inlen,
	    const char *const *allow, size_t nallow, char *out, size_t outlen);

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

#endif /* EHLO_H */
