/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mime.h - a streaming MIME scanner that finds attachment names.
 *
 * Fed the top-level header fields and then the body in chunks of any size,
 * it follows multipart boundaries at any depth up to MIME_MAX_DEPTH
 * (preamble and epilogue skipped, boundaries split across chunks, folded
 * part headers, message/rfc822 parts scanned as messages), and reports
 * every `filename` parameter of Content-Disposition and `name` of
 * Content-Type, decoded (RFC 2231 continuations and charsets, RFC 2047
 * words one by one) to UTF-8.  It reads the structure as GMime's full
 * parser does; where it cannot (SPEC 4.1: an overlong boundary, more
 * whitespace after one than it keeps, a repeated Content-* field, nesting
 * past MIME_MAX_DEPTH, an encoded message/ part, a Content-Type or
 * Content-Transfer-Encoding that RFC 2047 decoding changes, a field too
 * costly to decode) it says so through the structure callback.  With a part
 * callback (mime_set_part_fn()) it also reports each entity's
 * type/subtype and Content-Transfer-Encoding, as GMime's objects have
 * them.  Only part headers are ever buffered, each field up to
 * MIME_FIELD_MAX octets; memory does not grow with the message.  Text
 * in a body that only looks like a MIME header is not a part header.  The
 * result never depends on where chunks split.
 */
#ifndef MIME_H
#define MIME_H

#include <stddef.h>

#define MIME_MAX_DEPTH		100	/* Postfix's mime_nesting_limit */
#define MIME_FIELD_MAX		16384	/* longest part header field kept */
#define MIME_BOUNDARY_RFC	70	/* RFC 2046 5.1.1 */
#define MIME_BOUNDARY_MAX	200	/* longest boundary followed */
#define MIME_BOUNDARY_WSP	32	/* whitespace after a boundary line kept */
#define MIME_TYPE_MAX		255	/* type "/" subtype kept (RFC 6838 4.2: 127 each) */
#define MIME_CTE_MAX		255	/* Content-Transfer-Encoding value kept */

/*
 * One attachment name.  ${param} is "filename" or "name"; ${name} is UTF-8
 * of ${len} octets (not NUL-terminated).  ${truncated}: the field was longer
 * than MIME_FIELD_MAX (or nesting deeper than MIME_MAX_DEPTH) and could not
 * be decoded whole; ${len} is then a lower bound and ${name} what was kept.
 */
typedef void mime_name_fn(void *arg, const char *param, const char *name,
	    size_t len, int truncated);

/*
 * The scanner cannot read the structure exactly as a mail client would
 * (mime-structure): ${detail} names the cause, a constant string.  Called
 * at most once per message, for the first cause found.
 */
typedef void mime_struct_fn(void *arg, const char *detail);

/* Classes of a Content-Transfer-Encoding as GMime reads it (absent: 7bit). */
enum mime_cte {
	MIME_CTE_7BIT, MIME_CTE_8BIT, MIME_CTE_BINARY, MIME_CTE_BASE64,
	MIME_CTE_QUOTED_PRINTABLE, MIME_CTE_OTHER
};
#define MIME_CTE_N	(MIME_CTE_OTHER + 1)

/*
 * One MIME entity (the message itself, every part at any depth, multiparts
 * and attached messages included, and each attached message's own body),
 * reported when its header block ends, in the order of the message.
 * ${type}: "type/subtype" as GMime's object has it (the last Content-Type
 * of the block, RFC 2047-decoded, parameters and comments stripped),
 * lower case, ${typelen} octets (not NUL-terminated); text/plain without
 * a Content-Type (message/rfc822 in a multipart/digest),
 * application/octet-stream for one GMime cannot parse.  ${type_cut}: it
 * was longer than MIME_TYPE_MAX and is cut there.  ${type1}, ${type1len},
 * ${type1_cut}: the same of the block's first Content-Type (Thunderbird
 * reads the first), or ${type} itself when there is at most one.
 * ${cte}: the class of the last Content-Transfer-Encoding (GMime's part
 * reads them all, the last one winning), unfolded and RFC 2047-decoded,
 * as GMime's part decodes by it (g_mime_content_encoding_from_string():
 * case-insensitive, "7-bit" and "8-bit" too, white space or a comment
 * after the word allowed; x-uuencode and anything else is other).
 * ${cte_value}: that value as written, unfolded, white space at both ends
 * removed, ${cte_len} octets (cut at MIME_CTE_MAX: ${cte_cut}), NULL when
 * the block has none.
 * ${ctes}: bit (1u << class) of every reading of every
 * Content-Transfer-Encoding of the block (raw and RFC 2047-decoded, whole
 * as GMime reads it and cut at the first ';', ',' or white space as
 * Thunderbird does); MIME_CTE_7BIT alone when the block has none.
 * ${cte_by}[class], ${cte_by_len}, ${cte_by_cut}: the first value as
 * written that gave that class (NULL for 7bit without a field).
 */
struct mime_part {
	const char *type;
	size_t	typelen;
	int	type_cut;
	const char *type1;
	size_t	type1len;
	int	type1_cut;
	enum mime_cte cte;
	const char *cte_value;
	size_t	cte_len;
	int	cte_cut;
	unsigned ctes;
	const char *cte_by[MIME_CTE_N];
	size_t	cte_by_len[MIME_CTE_N];
	int	cte_by_cut[MIME_CTE_N];
};

typedef void mime_part_fn(void *arg, const struct mime_part *part);

struct mime;

/** mime_init(): initialise GMime once per process, before any thread uses mime_*. */
void	mime_init(void);

/** mime_new(fn, sfn, arg): a scanner reporting names to ${fn} and structure problems to ${sfn} (may be NULL), or NULL. */
struct mime *mime_new(mime_name_fn *fn, mime_struct_fn *sfn, void *arg);

/** mime_set_part_fn(m, pfn): also report every part's type and encoding to ${pfn} (NULL: not). */
void	mime_set_part_fn(struct mime *m, mime_part_fn *pfn);

/** mime_set_arg(m, arg): report to ${arg} from now on (a scanner kept for reuse). */
void	mime_set_arg(struct mime *m, void *arg);

/** mime_free(m): free ${m}; NULL is a no-op. */
void	mime_free(struct mime *m);

/** mime_reset(m): forget the message, ready for the next one. */
void	mime_reset(struct mime *m);

/** mime_header(m, name, namelen, value, valuelen): one top-level header field (value as with SMFIP_HDR_LEADSPC). */
void	mime_header(struct mime *m, const char *name, size_t namelen,
	    const char *value, size_t valuelen);

/** mime_body(m, buf, len): the next ${len} octets of the body (after the header's empty line). */
void	mime_body(struct mime *m, const unsigned char *buf, size_t len);

/** mime_end(m): end of the body. */
void	mime_end(struct mime *m);

/**
 * mime_done(m): 1 once nothing in the rest of the body can be reported
 * (a leaf body, or past the last boundary the scanner follows): the rest
 * of the body may go unread.  0 before the body has started.
 */
int	mime_done(const struct mime *m);

/**
 * mime_2047_words(in, len, out): decode the RFC 2047 encoded words of
 * ${in} one by one (adjacent words are never joined before decoding, white
 * space between two of them dropped, invalid UTF-8 made valid with U+FFFD
 * per bad octet) and append the UTF-8 to the GString ${out}.
 */
struct _GString;
void	mime_2047_words(const char *in, size_t len, struct _GString *out);

#endif /* MIME_H */
