/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pattern.c - lists of PCRE2 patterns (SPEC 4.2), as Postfix's pcre
 * tables use them.
 *
 * Interface: pattern_check() validates one pattern for the configuration
 * loader (which reports FILE:LINE), pattern_list_compile() compiles a list
 * once per load, pattern_list_match() tries each pattern in order.
 *
 * Invariants: patterns are compiled with PCRE2_CASELESS (SPEC 4: type and
 * subtype are case-insensitive; addresses are compared as Postfix's pcre
 * tables compare them) and without PCRE2_UTF, so any octet string is a
 * valid subject.  Every match runs under one shared, read-only match
 * context with PATTERN_MATCH_LIMIT and PATTERN_DEPTH_LIMIT; its match
 * data is made for the call, so lists are shared between threads freely.
 * A match that hits a limit is -1: the caller fires the rule, so that no
 * pattern and no input can stall a callback or slip past unread.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

struct pattern_list {
	size_t	n;
	pcre2_match_context *mctx;
	pcre2_code *code[];
};

#define COMPILE_OPTIONS	(PCRE2_CASELESS)

/* Compile ${pattern}; NULL with the reason in ${err}. */
static pcre2_code *
compile(const char *pattern, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	pcre2_code *code;
	size_t	len = strlen(pattern);
	int	rc;

	if (len > PATTERN_LEN_MAX) {
		(void)snprintf(err, errlen, "pattern longer than %d octets",
		    PATTERN_LEN_MAX);
		return (NULL);
	}
	code = pcre2_compile((PCRE2_SPTR)pattern, len, COMPILE_OPTIONS, &rc,
	    &off, NULL);
	if (code == NULL) {
		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			(void)snprintf((char *)msg, sizeof(msg), "error %d", rc);
		(void)snprintf(err, errlen, "%s at offset %zu", (char *)msg,
		    (size_t)off);
	}
	return (code);
}

/**
 * pattern_check(pattern, err, errlen): 0 if ${pattern} compiles (as
 * pattern_list_compile() would compile it), else -1 with the reason in
 * ${err}.
 */
int
pattern_check(const char *pattern, char *err, size_t errlen)
{
	pcre2_code *code;

	if ((code = compile(pattern, err, errlen)) == NULL)
		return (-1);
	pcre2_code_free(code);
	return (0);
}

/**
 * pattern_list_compile(patterns, n, err, errlen): the ${n} patterns,
 * compiled case-insensitively, on octets (no UTF-8 check of the subject),
 * JIT-compiled where the platform has it.  NULL with the reason in ${err}
 * on failure.  ${n} may be 0.
 */
struct pattern_list *
pattern_list_compile(char *const *patterns, size_t n, char *err,
    size_t errlen)
{
	struct pattern_list *l;
	size_t	i;

	if (n > PATTERN_LIST_MAX) {
		(void)snprintf(err, errlen, "more than %d patterns",
		    PATTERN_LIST_MAX);
		return (NULL);
	}
	if ((l = calloc(1, sizeof(*l) + n * sizeof(l->code[0]))) == NULL ||
	    (l->mctx = pcre2_match_context_create(NULL)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		goto fail;
	}
	(void)pcre2_set_match_limit(l->mctx, PATTERN_MATCH_LIMIT);
	(void)pcre2_set_depth_limit(l->mctx, PATTERN_DEPTH_LIMIT);
	for (i = 0; i < n; i++) {
		if ((l->code[i] = compile(patterns[i], err, errlen)) == NULL)
			goto fail;
		l->n = i + 1;
		/* Without JIT (or if it fails) the interpreter runs. */
		(void)pcre2_jit_compile(l->code[i], PCRE2_JIT_COMPLETE);
	}
	return (l);
fail:
	pattern_list_free(l);
	return (NULL);
}

/**
 * pattern_list_match(list, subject, len, which): 1 if a pattern of ${list}
 * matches the ${len} octets at ${subject} (${which}, if not NULL, is its
 * index), 0 if none does, -1 if a match ran into the match or depth limit
 * or failed otherwise (${which} is then the pattern's index).  Safe from
 * any thread: the compiled patterns are only read.
 */
int
pattern_list_match(const struct pattern_list *list, const char *subject,
    size_t len, size_t *which)
{
	pcre2_match_data *md;
	size_t	i;
	int	rc;

	if (list == NULL || list->n == 0)
		return (0);
	if ((md = pcre2_match_data_create(1, NULL)) == NULL) {
		if (which != NULL)
			*which = 0;
		return (-1);
	}
	for (i = 0; i < list->n; i++) {
		rc = pcre2_match(list->code[i], (PCRE2_SPTR)(subject != NULL ?
		    subject : ""), len, 0, 0, md, list->mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			continue;
		if (which != NULL)
			*which = i;
		pcre2_match_data_free(md);
		return (rc >= 0 ? 1 : -1);
	}
	pcre2_match_data_free(md);
	return (0);
}

/** pattern_list_size(list): the number of patterns in ${list} (0 for NULL). */
size_t
pattern_list_size(const struct pattern_list *list)
{
	return (list != NULL ? list->n : 0);
}

/** pattern_list_free(list): free ${list}; NULL is a no-op. */
void
pattern_list_free(struct pattern_list *list)
{
	size_t	i;

	if (list == NULL)
		return;
	for (i = 0; i < list->n; i++)
		pcre2_code_free(list->code[i]);
	pcre2_match_context_free(list->mctx);
	free(list);
}
