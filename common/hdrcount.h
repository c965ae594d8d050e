/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hdrcount.h - top-level header fields counted by name, for the
 * duplicate-header and dkim-unsigned-duplicate rules (SPEC 4).
 *
 * Fed every top-level field of one message in order (a milter's header
 * callback never sees MIME part headers or those of an attached
 * message/rfc822).  Names are compared case-insensitively with white space
 * before the colon ignored ("From :" is From).  The h= lists of
 * DKIM-Signature fields are recorded as lists of names, never counted as
 * fields: header names inside values (h=, z=, DomainKey-Signature, ARC
 * sets, quoted text) are not headers.  Memory is bounded: at most
 * HDRCOUNT_MAX_NAMES distinct names and HDRCOUNT_MAX_SIGS signatures.
 */
#ifndef HDRCOUNT_H
#define HDRCOUNT_H

#include <stddef.h>

#define HDRCOUNT_MAX_NAMES	4096
#define HDRCOUNT_MAX_SIGS	32

struct hdrcount;

/** hdrcount_new(): an empty counter, or NULL. */
struct hdrcount *hdrcount_new(void);

/** hdrcount_free(hc): free ${hc}; NULL is a no-op. */
void	hdrcount_free(struct hdrcount *hc);

/** hdrcount_reset(hc): forget the message (keeps the allocation for the next one). */
void	hdrcount_reset(struct hdrcount *hc);

/**
 * hdrcount_add(hc, name, namelen, value, valuelen): count one top-level
 * field; for a DKIM-Signature also record its h= list (a malformed tag list
 * is ignored: such a signature cannot verify).  Returns 0, or -1 when a
 * bound is exceeded or memory runs out (the counts are then incomplete).
 */
int	hdrcount_add(struct hdrcount *hc, const char *name, size_t namelen,
	    const char *value, size_t valuelen);

/** hdrcount_get(hc, name): how often the field ${name} (any case) occurred. */
unsigned hdrcount_get(const struct hdrcount *hc, const char *name);

/* Called once per field name that some DKIM-Signature lists fewer times than it occurs. */
typedef void hdrcount_unsigned_fn(void *arg, const char *name,
	    unsigned occurrences, unsigned listed);

/**
 * hdrcount_dkim_unsigned(hc, fn, arg): for every field name that occurs
 * more often than a DKIM-Signature's h= lists it, call ${fn} once with the
 * occurrences and the smallest such h= count, in order of first
 * appearance.  Trace and signature fields that MTAs prepend after signing
 * (Received, Return-Path, Received-SPF, Authentication-Results,
 * DKIM-Signature, ARC-*) are never reported.  Returns the number of calls.
 */
unsigned hdrcount_dkim_unsigned(const struct hdrcount *hc,
	    hdrcount_unsigned_fn *fn, void *arg);

#endif /* HDRCOUNT_H */
