/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * linelen.c - line lengths of header fields and of the body (SPEC 4, the
 * header-line-length and body-line-length rules).
 *
 * Interface: linelen_header() measures the physical lines of one folded
 * header field; linelen_body_init(), linelen_body_feed() and
 * linelen_body_finish() measure the body as it streams past in chunks.
 *
 * Invariants: lengths are octets, terminator excluded.  A line ends at LF;
 * a CR immediately before that LF belongs to the terminator, any other CR
 * is content.  The body state is a few counters (struct linelen_body): a
 * CRLF split across two chunks is remembered as pending_cr, so the result
 * never depends on where chunks split.  Lines are found with memchr(), so
 * long lines cost little more than a memory scan.
 */
#include <string.h>

#include "linelen.h"

/**
 * linelen_header(name, namelen, value, valuelen, line): the length of the
 * longest physical line of the header field ${name}:${value}.  ${value} is
 * as a milter sees it with SMFIP_HDR_LEADSPC (leading whitespace kept,
 * continuation lines separated by LF or CRLF).  The first line counts the
 * name and the colon.  Stores the 1-based number of that line in ${line}
 * (may be NULL).
 */
size_t
linelen_header(const char *name, size_t namelen, const char *value,
    size_t valuelen, unsigned *line)
{
	const char *p = value, *end = value + valuelen, *nl;
	size_t	len, max = 0, extra = namelen + 1;	/* "name:" on line 1 */
	unsigned n = 0, maxline = 1;

	(void)name;
	for (;;) {
		n++;
		nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		if (nl == NULL) {
			len = (size_t)(end - p) + extra;
		} else {
			len = (size_t)(nl - p);
			if (len > 0 && nl[-1] == '\r')
				len--;
			len += extra;
		}
		if (len > max) {
			max = len;
			maxline = n;
		}
		if (nl == NULL)
			break;
		extra = 0;
		p = nl + 1;
	}
	if (line != NULL)
		*line = maxline;
	return (max);
}

/* A line of ${len} octets has ended. */
static void
line_end(struct linelen_body *lb, unsigned long long len)
{
	lb->lines++;
	if (len > lb->max)
		lb->max = len;
	if (lb->first_over == 0 && len > lb->limit)
		lb->first_over = len;
	lb->cur = 0;
}

/** linelen_body_init(lb, limit): start measuring a body against ${limit}. */
void
linelen_body_init(struct linelen_body *lb, unsigned long long limit)
{
	memset(lb, 0, sizeof(*lb));
	lb->limit = limit;
}

/** linelen_body_feed(lb, buf, len): measure the next ${len} octets of the body. */
void
linelen_body_feed(struct linelen_body *lb, const unsigned char *buf,
    size_t len)
{
	const unsigned char *p = buf, *end = buf + len, *nl;
	size_t	n;

	if (len == 0)
		return;
	/* A CR that ended the previous chunk: terminator if LF follows. */
	if (lb->pending_cr) {
		lb->pending_cr = 0;
		if (*p == '\n') {
			line_end(lb, lb->cur);
			p++;
		} else {
			lb->cur++;
		}
	}
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			n = (size_t)(end - p);
			/* A trailing CR waits for the next chunk's first octet. */
			if (end[-1] == '\r') {
				n--;
				lb->pending_cr = 1;
			}
			lb->cur += n;
			return;
		}
		n = (size_t)(nl - p);
		if (n > 0 && nl[-1] == '\r')
			n--;
		line_end(lb, lb->cur + n);
		p = nl + 1;
	}
}

/** linelen_body_finish(lb): end of body: an unterminated last line counts as a line. */
void
linelen_body_finish(struct linelen_body *lb)
{
	if (lb->pending_cr) {
		lb->pending_cr = 0;
		lb->cur++;
	}
	if (lb->cur > 0)
		line_end(lb, lb->cur);
}
