/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * asaconf.h - an ASA configuration in, the equivalent esmtp-inspect.conf
 * out (SPEC 10, esmtp-inspect-asa2conf(8)).
 *
 * asaconf_translate() reads the text of `show running-config` (or only its
 * ESMTP part) and writes the configuration that enforces the same policy:
 * the `policy-map type inspect esmtp` that `inspect esmtp` uses (the
 * built-in _default_esmtp_map when none is named), its parameters, the
 * class-map/access-list exemption of the mail host (`no inspect esmtp`)
 * and the `static ... tcp MAX EMBRYONIC` of the mail host.  Each line it
 * cannot translate faithfully is listed, and written into the output as a
 * "# not translated:" comment.  Pure: no I/O, no global state; the input
 * is bounded (ASACONF_MAX_*) and read without recursion.
 */
#ifndef ASACONF_H
#define ASACONF_H

#include <stddef.h>

/* Bounds on the input: beyond them it is refused (ASACONF_REFUSED). */
#define ASACONF_MAX_INPUT	(16u * 1024 * 1024)	/* octets */
#define ASACONF_MAX_LINE	8192			/* octets per line */
#define ASACONF_MAX_LINES	1000000

/* Entries of one pattern or domain list (SPEC 4.2). */
#define ASACONF_MAX_LIST	1000

enum asaconf_status {
	ASACONF_OK,			/* everything translated */
	ASACONF_PARTIAL,		/* some lines "# not translated:" */
	ASACONF_NO_ESMTP,		/* the input holds no ESMTP inspection */
	ASACONF_REFUSED			/* not an ASA configuration (err says why) */
};

/* A line that was not translated. */
struct asaconf_untranslated {
	int	line;			/* in the input, from 1; 0: built-in map */
	char   *text;			/* the line, trimmed, made printable */
	char   *why;
};

struct asaconf_result {
	enum asaconf_status status;
	char   *conf;			/* the configuration text (OK, PARTIAL) */
	size_t	conflen;
	struct asaconf_untranslated *untr;	/* OK, PARTIAL only */
	size_t	nuntr;
	char	err[256];		/* ASACONF_REFUSED: "line N: ..." */
};

/**
 * asaconf_translate(text, len, res): translate the ${len} octets of the
 * ASA configuration at ${text} into ${res} (asaconf_free() it after, also
 * on error).  Returns 0 with ${res}->status set, or -1 when out of memory.
 */
int	asaconf_translate(const char *text, size_t len,
	    struct asaconf_result *res);

/** asaconf_free(res): free what ${res} holds; a zeroed ${res} is fine. */
void	asaconf_free(struct asaconf_result *res);

#endif /* ASACONF_H */
