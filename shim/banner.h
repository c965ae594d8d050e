/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * banner.h - rewriting the upstream SMTP greeting (SPEC 5.1): banner
 * asterisks (what the ASA does) and banner mask (a neutral text).
 *
 * Pure functions over caller buffers: no sockets, no allocation, no state.
 */
#ifndef BANNER_H
#define BANNER_H

#include <stddef.h>
#include <sys/types.h>

/**
 * banner_text_ok(text): 1 if ${text} may be sent as a masked greeting: not
 * empty, printable ASCII only, and not made only of '*', '2', '0' and spaces
 * (Postfix's smtp client takes such a greeting for a PIX and drops ESMTP).
 */
int	banner_text_ok(const char *text);

/**
 * banner_asterisks(in, len, out, outlen): copy the complete 220 greeting
 * ${in} (one "220 ...\r\n" line, or "220-" lines ending with a "220 " line)
 * to ${out}, keeping "220" and the separator of each line and CR and LF
 * octets, every other octet replaced with '*'.  ${out} may be ${in}.
 * Returns ${len} (the length is preserved), or -1 if ${in} is not one
 * complete 220 reply or ${outlen} < ${len}; the caller then relays it as is.
 */
ssize_t	banner_asterisks(const char *in, size_t len, char *out, size_t outlen);

/**
 * banner_mask(in, len, text, hostname, out, outlen): for the complete 220
 * greeting ${in}, write the single line "220 ${text}\r\n" into ${out}; the
 * multi-line structure collapses to that one line.  When ${text} is NULL or
 * fails banner_text_ok(), "${hostname} ESMTP" is used instead ("localhost"
 * when ${hostname} is NULL, empty or not printable).  Returns the length
 * written (no NUL), or -1 if ${in} is not one complete 220 reply or the
 * result does not fit in ${outlen}.
 */
ssize_t	banner_mask(const char *in, size_t len, const char *text,
	    const char *hostname, char *out, size_t outlen);

#endif /* BANNER_H */
