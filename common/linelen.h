/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * linelen.h - line lengths of header fields and of the body (SPEC 4).
 *
 * Lengths are in octets, terminator (CRLF or a bare LF) excluded.  The
 * body measurer streams: chunks may split a line, or a CRLF, anywhere,
 * and the result does not depend on where; its state is a few counters,
 * whatever the line or message size.
 */
#ifndef LINELEN_H
#define LINELEN_H

#include <stddef.h>

/**
 * linelen_header(name, namelen, value, valuelen, line): the length of the
 * longest physical line of the header field ${name}:${value}.  ${value} is
 * as a milter sees it with SMFIP_HDR_LEADSPC (leading whitespace kept,
 * continuation lines separated by LF or CRLF).  The first line counts the
 * name and the colon.  Stores the 1-based number of that line in ${line}
 * (may be NULL).
 */
size_t	linelen_header(const char *name, size_t namelen, const char *value,
	    size_t valuelen, unsigned *line);

struct linelen_body {
	unsigned long long limit;	/* lines longer than this are "over" */
	unsigned long long cur;		/* octets of the line in progress */
	unsigned long long max;		/* longest completed line */
	unsigned long long first_over;	/* length of the first completed line > limit, 0: none */
	unsigned long long lines;	/* completed lines */
	int	pending_cr;		/* the last octet seen was a CR */
};

/** linelen_body_init(lb, limit): start measuring a body against ${limit}. */
void	linelen_body_init(struct linelen_body *lb, unsigned long long limit);

/** linelen_body_feed(lb, buf, len): measure the next ${len} octets of the body. */
void	linelen_body_feed(struct linelen_body *lb, const unsigned char *buf,
	    size_t len);

/** linelen_body_finish(lb): end of body: an unterminated last line counts as a line. */
void	linelen_body_finish(struct linelen_body *lb);

#endif /* LINELEN_H */
