/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hdrcount.c - top-level header fields counted by name, for the
 * duplicate-header and dkim-unsigned-duplicate rules (SPEC 4).
 *
 * Interface: hdrcount_new() once per connection, hdrcount_add() for each
 * top-level field, hdrcount_get() and hdrcount_dkim_unsigned() at end of
 * headers, hdrcount_reset() between messages, hdrcount_free().
 *
 * Invariants: one allocation, made by hdrcount_new(); nothing grows with
 * the message.  Names are stored lower-cased with white space before the
 * colon trimmed, NUL-terminated, in an arena; an open-addressing table
 * (linear probing, at most half full) maps them to entries.  Only the
 * field *name* is ever counted: a DKIM-Signature value is parsed for its
 * h= list (dkim.c), whose names are interned with count 0 and never
 * counted; DomainKey-Signature, ARC-* and every other value stay opaque.
 *
 * For each name the smallest h= count over all signatures that list it
 * (minlisted) is kept: the smallest count among signatures listing a name
 * fewer times than it occurs is that minimum whenever the minimum is below
 * the occurrences, so no per-signature list has to be kept.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "hdrcount.h"

#define NSLOTS		(2 * HDRCOUNT_MAX_NAMES)	/* power of two */
#define ARENA_SIZE	(HDRCOUNT_MAX_NAMES * 16)	/* octets of names */
#define MAX_HNAMES	256		/* names in one h= tag */

struct entry {
	uint32_t hash;
	uint32_t off;			/* name in the arena */
	uint32_t len;
	uint32_t slot;			/* where the table points at it */
	unsigned count;			/* occurrences as a field */
	unsigned minlisted;		/* smallest h= count, 0: never listed */
	unsigned stamp;			/* signature being recorded */
	unsigned tmp;			/* its h= count of this name */
};

struct hname {
	const char *s;
	size_t	len;
};

struct hdrcount {
	uint16_t slots[NSLOTS];		/* entry index + 1, 0: free */
	struct entry ent[HDRCOUNT_MAX_NAMES];
	uint16_t order[HDRCOUNT_MAX_NAMES];	/* entries by first appearance */
	char	arena[ARENA_SIZE];
	size_t	nent, norder, arena_used;
	unsigned nsigs;
	/* scratch for one h= list */
	struct hname hn[MAX_HNAMES];
	uint16_t hidx[MAX_HNAMES];	/* their entries */
	size_t	nhn;
	int	hn_overflow;
};

/* The trace and signature fields MTAs prepend after signing. */
static const char *const excluded[] = {
	"received", "return-path", "received-spf", "authentication-results",
	"dkim-signature", "arc-seal", "arc-message-signature",
	"arc-authentication-results",
};

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c);
}

/* ${len} without the white space before the colon. */
static size_t
trim_name(const char *name, size_t len)
{
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	return (len);
}

static uint32_t
hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	size_t	i;

	for (i = 0; i < len; i++) {
		h ^= lower((unsigned char)s[i]);
		h *= 16777619u;
	}
	return (h);
}

/* Does the stored (lower-case) ${e} name ${s}, any case? */
static int
same_name(const struct hdrcount *hc, const struct entry *e, const char *s,
    size_t len)
{
	const char *t = hc->arena + e->off;
	size_t	i;

	if (e->len != len)
		return (0);
	for (i = 0; i < len; i++)
		if ((unsigned char)t[i] != lower((unsigned char)s[i]))
			return (0);
	return (1);
}

/*
 * The slot holding ${s} (already trimmed), or the free slot where it
 * belongs.  The table is never more than half full, so one is found.
 */
static size_t
find_slot(const struct hdrcount *hc, const char *s, size_t len, uint32_t h)
{
	size_t	i = h & (NSLOTS - 1);
	const struct entry *e;

	while (hc->slots[i] != 0) {
		e = &hc->ent[hc->slots[i] - 1];
		if (e->hash == h && same_name(hc, e, s, len))
			break;
		i = (i + 1) & (NSLOTS - 1);
	}
	return (i);
}

/* The entry for ${s}, created with count 0 if new; NULL when full. */
static struct entry *
intern(struct hdrcount *hc, const char *s, size_t len)
{
	uint32_t h = hash_name(s, len);
	size_t	slot = find_slot(hc, s, len, h), i;
	struct entry *e;

	if (hc->slots[slot] != 0)
		return (&hc->ent[hc->slots[slot] - 1]);
	if (hc->nent == HDRCOUNT_MAX_NAMES ||
	    len + 1 > ARENA_SIZE - hc->arena_used)
		return (NULL);
	e = &hc->ent[hc->nent];
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->off = (uint32_t)hc->arena_used;
	e->len = (uint32_t)len;
	for (i = 0; i < len; i++)
		hc->arena[hc->arena_used + i] = (char)lower((unsigned char)s[i]);
	hc->arena[hc->arena_used + len] = '\0';
	hc->arena_used += len + 1;
	e->slot = (uint32_t)slot;
	hc->slots[slot] = (uint16_t)(++hc->nent);
	return (e);
}

/* dkim_name_fn: collect one h= name (used only if the list parses). */
static void
collect(void *arg, const char *name, size_t len)
{
	struct hdrcount *hc = arg;

	if (hc->nhn == MAX_HNAMES) {
		hc->hn_overflow = 1;
		return;
	}
	hc->hn[hc->nhn].s = name;
	hc->hn[hc->nhn++].len = len;
}

/* Record the h= list of one DKIM-Signature value. */
static int
add_signature(struct hdrcount *hc, const char *value, size_t valuelen)
{
	struct entry *e;
	unsigned stamp;
	size_t	i;

	hc->nhn = 0;
	hc->hn_overflow = 0;
	if (dkim_hnames(value, valuelen, collect, hc) != NULL)
		return (0);		/* cannot verify: no protection to check */
	if (hc->hn_overflow || hc->nsigs == HDRCOUNT_MAX_SIGS)
		return (-1);
	stamp = ++hc->nsigs;
	for (i = 0; i < hc->nhn; i++) {
		if ((e = intern(hc, hc->hn[i].s, hc->hn[i].len)) == NULL)
			return (-1);
		hc->hidx[i] = (uint16_t)(e - hc->ent);
		if (e->stamp != stamp) {
			e->stamp = stamp;
			e->tmp = 0;
		}
		e->tmp++;
	}
	for (i = 0; i < hc->nhn; i++) {
		e = &hc->ent[hc->hidx[i]];
		if (e->tmp == 0)
			continue;	/* already folded in */
		if (e->minlisted == 0 || e->tmp < e->minlisted)
			e->minlisted = e->tmp;
		e->tmp = 0;
	}
	return (0);
}

/** hdrcount_new(): an empty counter, or NULL. */
struct hdrcount *
hdrcount_new(void)
{
	/* calloc: every slot free, every count zero. */
	return (calloc(1, sizeof(struct hdrcount)));
}

/** hdrcount_free(hc): free ${hc}; NULL is a no-op. */
void
hdrcount_free(struct hdrcount *hc)
{
	free(hc);
}

/** hdrcount_reset(hc): forget the message (keeps the allocation for the next one). */
void
hdrcount_reset(struct hdrcount *hc)
{
	size_t	i;

	/*
	 * Clear only the slots in use: cheap for the usual few dozen names.
	 * (Searching for each name instead would break linear-probe chains.)
	 */
	if (hc->nent < NSLOTS / 8) {
		for (i = 0; i < hc->nent; i++)
			hc->slots[hc->ent[i].slot] = 0;
	} else {
		memset(hc->slots, 0, sizeof(hc->slots));
	}
	hc->nent = 0;
	hc->norder = 0;
	hc->arena_used = 0;
	hc->nsigs = 0;
	hc->nhn = 0;
	hc->hn_overflow = 0;
}

/**
 * hdrcount_add(hc, name, namelen, value, valuelen): count one top-level
 * field; for a DKIM-Signature also record its h= list (a malformed tag list
 * is ignored: such a signature cannot verify).  Returns 0, or -1 when a
 * bound is exceeded or memory runs out (the counts are then incomplete).
 */
int
hdrcount_add(struct hdrcount *hc, const char *name, size_t namelen,
    const char *value, size_t valuelen)
{
	struct entry *e;

	namelen = trim_name(name, namelen);
	if ((e = intern(hc, name, namelen)) == NULL)
		return (-1);
	if (e->count == 0)
		hc->order[hc->norder++] = (uint16_t)(e - hc->ent);
	if (e->count < UINT_MAX)
		e->count++;
	if (namelen == 14 && memcmp(hc->arena + e->off, "dkim-signature", 14) == 0)
		return (add_signature(hc, value, valuelen));
	return (0);
}

/** hdrcount_get(hc, name): how often the field ${name} (any case) occurred. */
unsigned
hdrcount_get(const struct hdrcount *hc, const char *name)
{
	size_t	len = trim_name(name, strlen(name)), slot;

	slot = find_slot(hc, name, len, hash_name(name, len));
	return (hc->slots[slot] ? hc->ent[hc->slots[slot] - 1].count : 0);
}

/**
 * hdrcount_dkim_unsigned(hc, fn, arg): for every field name that occurs
 * more often than a DKIM-Signature's h= lists it, call ${fn} once with the
 * occurrences and the smallest such h= count, in order of first
 * appearance.  Trace and signature fields that MTAs prepend after signing
 * (Received, Return-Path, Received-SPF, Authentication-Results,
 * DKIM-Signature, ARC-*) are never reported.  Returns the number of calls.
 */
unsigned
hdrcount_dkim_unsigned(const struct hdrcount *hc, hdrcount_unsigned_fn *fn,
    void *arg)
{
	const struct entry *e;
	const char *name;
	unsigned calls = 0;
	size_t	i, j;

	for (i = 0; i < hc->norder; i++) {
		e = &hc->ent[hc->order[i]];
		if (e->minlisted == 0 || e->minlisted >= e->count)
			continue;
		name = hc->arena + e->off;
		for (j = 0; j < sizeof(excluded) / sizeof(excluded[0]); j++)
			if (strlen(excluded[j]) == e->len &&
			    memcmp(name, excluded[j], e->len) == 0)
				break;
		if (j < sizeof(excluded) / sizeof(excluded[0]))
			continue;
		fn(arg, name, e->count, e->minlisted);
		calls++;
	}
	return (calls);
}
