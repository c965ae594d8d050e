/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pattern.h - lists of PCRE2 patterns, compiled once per configuration
 * load and matched with a bound on the work one match may do (SPEC 4.2:
 * mime-type, sender-address).
 */
#ifndef PATTERN_H
#define PATTERN_H

#include <stddef.h>

/* Longest pattern and most patterns in one list (SPEC 4.2: 1,000). */
#define PATTERN_LEN_MAX		1024
#define PATTERN_LIST_MAX	1000

/*
 * The bound on one match: PCRE2's match limit (backtracking steps) and
 * depth limit; a match that reaches either is an error, which the caller
 * treats as a match (fail closed).
 */
#define PATTERN_MATCH_LIMIT	100000
#define PATTERN_DEPTH_LIMIT	10000

struct pattern_list;

/**
 * pattern_check(pattern, err, errlen): 0 if ${pattern} compiles (as
 * pattern_list_compile() would compile it), else -1 with the reason in
 * ${err}.
 */
int	pattern_check(const char *pattern, char *err, size_t errlen);

/**
 * pattern_list_compile(patterns, n, err, errlen): the ${n} patterns,
 * compiled case-insensitively, on octets (no UTF-8 check of the subject),
 * JIT-compiled where the platform has it.  NULL with the reason in ${err}
 * on failure.  ${n} may be 0.
 */
struct pattern_list *pattern_list_compile(char *const *patterns, size_t n,
	    char *err, size_t errlen);

/**
 * pattern_list_match(list, subject, len, which): 1 if a pattern of ${list}
 * matches the ${len} octets at ${subject} (${which}, if not NULL, is its
 * index), 0 if none does, -1 if a match ran into the match or depth limit
 * or failed otherwise (${which} is then the pattern's index).  Safe from
 * any thread: the compiled patterns are only read.
 */
int	pattern_list_match(const struct pattern_list *list, const char *subject,
	    size_t len, size_t *which);

/** pattern_list_size(list): the number of patterns in ${list} (0 for NULL). */
size_t	pattern_list_size(const struct pattern_list *list);

/** pattern_list_free(list): free ${list}; NULL is a no-op. */
void	pattern_list_free(struct pattern_list *list);

#endif /* PATTERN_H */
