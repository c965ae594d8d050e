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
 * past MIME_MAX_DEPTH, an encoded message/ part, a field too costly to
 * decode) it says so through the structure callback.  Only part headers are ever buffered, each field up
 * to MIME_FIELD_MAX octets; memory does not grow with the message.  Text
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

struct mime;

/** mime_init(): initialise GMime once per process, before any thread uses mime_*. */
void	mime_init(void);

/** mime_new(fn, sfn, arg): a scanner reporting names to ${fn} and structure problems to ${sfn} (may be NULL), or NULL. */
struct mime *mime_new(mime_name_fn *fn, mime_struct_fn *sfn, void *arg);

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
