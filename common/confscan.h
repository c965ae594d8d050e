/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * confscan.h - the configuration text read a second time, token by token
 * as libconfuse's own scanner reads it, for what libconfuse does not say.
 *
 * libconfuse 3.3 counts two lines for every "#" or "//" comment and one
 * too many for every multi-line C comment, so each line number after a
 * comment is wrong; it refuses a comment inside a statement; it drops a
 * string or comment left open at the end of the file; it takes an option
 * or block given twice without a word; it calls a block whose "}" is
 * missing an unknown option; and it closes an open block at the end of
 * the file.  confscan_read() gives config_load() the text with every
 * comment blanked (newlines kept, so lines stay where they are) and what
 * it found on the way, with true line numbers.
 */
#ifndef CONFSCAN_H
#define CONFSCAN_H

#include <stddef.h>

#include <confuse.h>

/* Tokens, as libconfuse's lexer returns them. */
enum confscan_type {
	CONFSCAN_END,			/* end of the text */
	CONFSCAN_STR,			/* quoted, bare or ${VAR}: value */
	CONFSCAN_COMMENT,		/* #, // or a C comment */
	CONFSCAN_PUNCT			/* { } ( ) = , and += as '+' */
};

/* The scanner over one text. */
struct confscan_lex {
	const char *text;
	size_t	len, pos;
	int	line;			/* line of pos, from 1 */
	/* The token just read: */
	enum confscan_type type;
	int	punct;			/* CONFSCAN_PUNCT */
	char   *value;			/* CONFSCAN_STR, NUL-terminated */
	size_t	vlen, vcap;
	size_t	start;			/* its first octet in text */
	int	tline;			/* the line it starts on */
	/*
	 * At CONFSCAN_END: '"' or '\'' if the text ends inside a string,
	 * '*' inside a C comment, which started at start and tline; else 0.
	 */
	int	open;
	int	error;			/* a bad escape (stays set): libconfuse
					 * refuses the text there */
	/*
	 * The first "\c" in a double-quoted string that libconfuse reads as
	 * plain c (a backslash that vanishes: "\." in a pattern is "."), 0
	 * if none: its line and c.
	 */
	int	dropped_line;
	char	dropped;
};

/** confscan_lex_init(lx, text, len): start reading ${len} octets at ${text}. */
void	confscan_lex_init(struct confscan_lex *lx, const char *text, size_t len);

/**
 * confscan_lex_next(lx): read the next token into ${lx}; returns its type,
 * or -1 when out of memory.
 */
int	confscan_lex_next(struct confscan_lex *lx);

/** confscan_lex_free(lx): free the value buffer of ${lx}. */
void	confscan_lex_free(struct confscan_lex *lx);

/* How libconfuse takes a name given twice in one block. */
enum confscan_dup_kind {
	CONFSCAN_DUP_OPTION,		/* the last value wins */
	CONFSCAN_DUP_MERGED,		/* a block: both are read into one */
	CONFSCAN_DUP_REPLACED		/* a titled block: the last replaces */
};

struct confscan_dup {
	char   *name;			/* "mode", "milter", "rule rcpt-count" */
	char   *block;			/* the enclosing block, NULL at top */
	int	line, first;		/* this one, the one before */
	enum confscan_dup_kind kind;
};

struct confscan {
	char   *text;			/* comments (and an open tail) blanked */
	size_t	len;
	int	open;			/* '"', '\'', '*': the text ends inside */
	int	open_line;		/* ... the string or comment opened here */
	/* A block the end of the file closes (the first one still open): */
	char   *unclosed;
	int	unclosed_line;
	/*
	 * A top-level name inside a block that is never closed: libconfuse
	 * says "no such option" there, where a "}" is missing.
	 */
	char   *stray;			/* the name */
	char   *stray_block;		/* the block, "shim", "rule rcpt-count" */
	int	stray_line, stray_open;
	struct confscan_dup *dups;	/* in the order of the file */
	size_t	ndups;
	/* The lexer's first vanishing backslash (confscan_lex): */
	int	dropped_line;
	char	dropped;
};

/**
 * confscan_read(cs, text, len, opts): scan ${len} octets of ${text}, a file
 * for the libconfuse option table ${opts}, into ${cs}.  Returns 0, or -1
 * when out of memory.  confscan_free() in either case.
 */
int	confscan_read(struct confscan *cs, const char *text, size_t len,
	    cfg_opt_t *opts);

/** confscan_free(cs): free what ${cs} holds; a zeroed ${cs} is fine. */
void	confscan_free(struct confscan *cs);

#endif /* CONFSCAN_H */
