/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dkim.h - the tag list of a DKIM-Signature field (RFC 6376 3.2, 3.5).
 *
 * Only what the dkim-unsigned-duplicate rule needs: the header field names
 * of the h= tag.  Folding white space may appear anywhere RFC 6376 allows
 * it (around tags, "=", ";" and ":"), as real signers write it
 * ("h=from : from : to").  Nothing here verifies a signature.
 */
#ifndef DKIM_H
#define DKIM_H

#include <stddef.h>

/* Called for each name in h=, in order, trimmed of white space, not NUL-terminated. */
typedef void dkim_name_fn(void *arg, const char *name, size_t len);

/**
 * dkim_hnames(value, len, fn, arg): parse the DKIM-Signature field value
 * ${value} and call ${fn} for every field name in its h= tag.  Returns
 * NULL, or why the tag list is malformed (no h= tag, a duplicated tag, a
 * bad tag name or field name); ${fn} may have been called before an error
 * is found, so callers collect names first and use them only on NULL.
 */
const char *dkim_hnames(const char *value, size_t len, dkim_name_fn *fn,
	    void *arg);

#endif /* DKIM_H */
