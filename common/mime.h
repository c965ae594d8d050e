/*
 * mime.h - a streaming MIME scanner that finds attachment names.
 *
 * Fed the top-level header fields and then the body in chunks of any size,
 * it follows multipart boundaries at any depth up to MIME_MAX_DEPTH
 * (preamble and epilogue skipped, boundaries split across chunks, folded
 * part headers, message/rfc822 parts scanned as messages), and reports
 * every `filename` parameter of Content-Disposition and `name` of
 * Content-Type, decoded (RFC 2231 continuations and charsets, RFC 2047
 * words) to UTF-8 by GMime.  Only part headers are ever buffered, each
 * field up to MIME_FIELD_MAX octets; memory does not grow with the
 * message.  Text in a body that only looks like a MIME header is not a
 * part header.  The verdict never depends on where chunks split.
 */
#ifndef MIME_H
#define MIME_H

#include <stddef.h>

#define MIME_MAX_DEPTH		100	/* Postfix's mime_nesting_limit */
#define MIME_FIELD_MAX		16384	/* longest part header field kept */

/*
 * One attachment name.  ${param} is "filename" or "name"; ${name} is UTF-8
 * of ${len} octets (not NUL-terminated).  ${truncated}: the field was longer
 * than MIME_FIELD_MAX (or nesting deeper than MIME_MAX_DEPTH) and could not
 * be decoded whole; ${len} is then a lower bound and ${name} what was kept.
 */
typedef void mime_name_fn(void *arg, const char *param, const char *name,
	    size_t len, int truncated);

struct mime;

/** mime_init(): initialise GMime once per process, before any thread uses mime_*. */
void	mime_init(void);

/** mime_new(fn, arg): a scanner reporting names to ${fn}, or NULL. */
struct mime *mime_new(mime_name_fn *fn, void *arg);

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

#endif /* MIME_H */
