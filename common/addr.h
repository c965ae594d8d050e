/*
 * addr.h - envelope address parsing for MAIL FROM / RCPT TO arguments.
 *
 * Input is the argument as the MTA hands it to a milter (Postfix and
 * Sendmail pass "<user@domain>", possibly without brackets), never trusted:
 * it may hold any octet, NUL included (the length is explicit).
 */
#ifndef ADDR_H
#define ADDR_H

#include <stddef.h>

/**
 * addr_strip(arg, len, out, outlen): find the address inside ${arg}: without
 * the enclosing "<" ">" and without anything after the closing ">" (ESMTP
 * parameters).  Leading and trailing spaces are skipped.  Sets ${out} to
 * point into ${arg} and ${outlen} to the address length (0 for the null
 * sender "<>").
 */
void	addr_strip(const char *arg, size_t len, const char **out, size_t *outlen);

/**
 * addr_badchars(arg, len, first): count the octets of ${arg} forbidden by the
 * address-characters rule: "|", "`", NUL, CR, LF, and "<" / ">" other than
 * one leading "<" and its matching final ">".  Stores the first offending
 * octet in ${first} (when the count is not 0).  Returns the count.
 */
size_t	addr_badchars(const char *arg, size_t len, unsigned char *first);

#endif /* ADDR_H */
