/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_msgfile.c - a message file read as Postfix hands it to a milter:
 * rows of (message, the fields, the body), Postfix's limits, and the
 * envelope a message implies.  Rows hold their bytes inline (Criterion 2.4
 * copies parameters to a worker) with explicit lengths, NULs included.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgfile.h"

#define S(x)	x, sizeof(x) - 1
/* What a CR that is not part of a line end reaches the milter as. */
#define KEPT_CR	' '

struct parse_row {
	char	in[160];
	size_t	inlen;
	char	fields[160];	/* each "name:value|", "-" before a dropped one */
	char	body[100];
	size_t	bodylen;
};

ParameterizedTestParameters(msgfile, parse)
{
	static struct parse_row rows[] = {
		{ S("From: a@x\r\nTo: b@y\r\n\r\nbody\r\n"),
		    "From: a@x|To: b@y|", S("body\r\n") },
		/* LF line ends read alike; a last line without one counts */
		{ S("From: a@x\nTo: b@y\n\nbody\nend"),
		    "From: a@x|To: b@y|", S("body\r\nend\r\n") },
		/* folded: continuation lines joined with a bare LF */
		{ S("Subject: a\r\n b\r\n\tc\r\n\r\nx\r\n"),
		    "Subject: a\n b\n\tc|", S("x\r\n") },
		/* white space before the colon is dropped */
		{ S("A: 1\r\nFrom : a\r\nTo\t:\tb\r\n\r\n"), "A: 1|From: a|To:\tb|",
		    S("") },
		/* ... but "From :" first is a UNIX From_ line to smtpd(8) */
		{ S("From : a\r\n\r\n"), "X-Mailbox-Line: From : a|", S("") },
		{ S("A:b\r\nB:\r\nC: x: y\r\n\r\n"), "A:b|B:|C: x: y|", S("") },
		/* a line that is no field ends the header and is body */
		{ S("A: 1\r\nnot a header\r\nB: 2\r\n"),
		    "A: 1|", S("not a header\r\nB: 2\r\n") },
		{ S("A: 1\r\nX Y: 2\r\n\r\nb\r\n"), "A: 1|", S("X Y: 2\r\n\r\nb\r\n") },
		{ S("A: 1\r\n: 2\r\n"), "A: 1|", S(": 2\r\n") },
		{ S("\xc3\xa9: 1\r\n"), "", S("\xc3\xa9: 1\r\n") },
		{ S("A\x7f: 1\r\n"), "", S("A\x7f: 1\r\n") },
		/* a first line starting with white space: all of it is body */
		{ S(" x: 1\r\nA: 2\r\n"), "", S(" x: 1\r\nA: 2\r\n") },
		/* UNIX From_ lines at the start become X-Mailbox-Line: */
		{ S("From a@x Mon Jan  1 00:00:00 2024\r\n>From b\r\nA: 1\r\n\r\nb\r\n"),
		    "X-Mailbox-Line: From a@x Mon Jan  1 00:00:00 2024|"
		    "X-Mailbox-Line: >From b|A: 1|", S("b\r\n") },
		{ S("A: 1\r\nFrom a@x\r\n"), "A: 1|", S("From a@x\r\n") },
		/* message_drop_headers: marked, any case, "Bcc :" too */
		{ S("Bcc: x\r\nReturn-Path: <r@x>\r\nCONTENT-LENGTH: 5\r\n"
		    "Resent-Bcc: y\r\nbcc : z\r\n\tw\r\nTo: z\r\n"),
		    "-Bcc: x|-Return-Path: <r@x>|-CONTENT-LENGTH: 5|"
		    "-Resent-Bcc: y|-bcc: z\n\tw|To: z|", S("") },
		/* empty message, no body, empty body, an empty body line */
		{ S(""), "", S("") },
		{ S("A: 1\r\n"), "A: 1|", S("") },
		{ S("A: 1"), "A: 1|", S("") },
		{ S("A: 1\r\n\r\n"), "A: 1|", S("") },
		{ S("A: 1\r\n\r\n\r\n"), "A: 1|", S("\r\n") },
		/* CRs before the LF go with the line end; others are spaces */
		{ S("A: 1\r\r\n\r\nb\r\r\n"), "A: 1|", S("b\r\n") },
		{ S("A: x\ry\r\n\r\nb\rc\r\n"), "A: x y|", S("b c\r\n") },
		/* a CR first: smtpd sees no white space, cleanup then does */
		{ S("\rA: 1\r\n\tB\r\nC: 2\r\n\r\nb\r\n"), "C: 2|", S("b\r\n") },
		{ S("\rA: 1\r\n\r\nb\r\n"), "", S("b\r\n") },
		{ S("From a\r\r\nA: x\r\n \ry\r\n"),
		    "X-Mailbox-Line: From a|A: x\n  y|", S("") },
		/* a NUL ends a header line (not the field), never a body line */
		{ S("A: x\0y\r\n\tz\0w\r\nB: 2\r\n\r\nb\0c\r\n"),
		    "A: x\n\tz|B: 2|", S("b\0c\r\n") },
		{ S("A\0: 1\r\n"), "", S("A\0: 1\r\n") },
		/* MIME part headers are written to the body as cleanup writes them */
		{ S("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		    "X : 1\0z\r\n\tc\0d\r\n\r\nX : 2\0z\r\n--b--\r\n"),
		    "Content-Type: multipart/mixed; boundary=b|",
		    S("--b\r\nX: 1\r\n\tc\r\n\r\nX : 2\0z\r\n--b--\r\n") },
		/* ... no empty line put after one ended by another line */
		{ S("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		    "X : 1\r\nno field\r\nY : 2\r\n"),
		    "Content-Type: multipart/mixed; boundary=b|",
		    S("--b\r\nX: 1\r\nno field\r\nY : 2\r\n") },
		/* a boundary that starts with one on the stack is that one */
		{ S("Content-Type: multipart/mixed; boundary=b\r\n\r\n--bx\r\n"
		    "X : 1\r\n"), "Content-Type: multipart/mixed; boundary=b|",
		    S("--bx\r\nX: 1\r\n") },
		/* message/rfc822: the body starts with a header */
		{ S("Content-Type: message/rfc822\r\n\r\nX : 1\0z\r\n\r\nY : 2\r\n"),
		    "Content-Type: message/rfc822|", S("X: 1\r\n\r\nY : 2\r\n") },
		/* a type none of text, message, multipart keeps the one before */
		{ S("Content-Type: message/rfc822\r\nContent-Type: image/png\r\n"
		    "\r\nX : 1\r\n"), "Content-Type: message/rfc822|"
		    "Content-Type: image/png|", S("X: 1\r\n") },
		{ S("Content-Type: message/rfc822\r\nContent-Type: text/x\r\n"
		    "\r\nX : 1\r\n"), "Content-Type: message/rfc822|"
		    "Content-Type: text/x|", S("X : 1\r\n") },
		{ S("Content-Type: message/partial\r\n\r\nX : 1\r\n"),
		    "Content-Type: message/partial|", S("X : 1\r\n") },
		/* multipart/digest: a part is message/rfc822 unless it says */
		{ S("Content-Type: multipart/digest; boundary=\"b\" (c)\r\n\r\n"
		    "--b\r\n\r\nX : 1\r\n"), "Content-Type: multipart/digest;"
		    " boundary=\"b\" (c)|", S("--b\r\n\r\nX: 1\r\n") },
	};
	return cr_make_param_array(struct parse_row, rows, sizeof(rows) / sizeof(rows[0]));
}

/* The fields of ${m} as a row writes them. */
static void
render(const struct msgfile *m, char *out, size_t len)
{
	size_t	i, n = 0;

	out[0] = '\0';
	for (i = 0; i < m->nfield; i++) {
		cr_assert_eq(strlen(m->field[i].name), m->field[i].namelen);
		cr_assert_eq(strlen(m->field[i].value), m->field[i].valuelen);
		n += (size_t)snprintf(out + n, len - n, "%s%s:%s|",
		    m->field[i].dropped ? "-" : "", m->field[i].name,
		    m->field[i].value);
		cr_assert_lt(n, len);
	}
}

ParameterizedTest(struct parse_row *r, msgfile, parse)
{
	struct msgfile m;
	char	got[512];

	cr_assert_null(msgfile_parse(&m, r->in, r->inlen));
	render(&m, got, sizeof(got));
	cr_assert_str_eq(got, r->fields, "\"%s\": got \"%s\"", r->in, got);
	cr_assert_eq(m.bodylen, r->bodylen, "\"%s\": body %zu octets", r->in,
	    m.bodylen);
	if (r->bodylen > 0)
		cr_assert_eq(memcmp(m.body, r->body, r->bodylen), 0, "\"%s\"", r->in);
	msgfile_free(&m);
	msgfile_free(&m);		/* an emptied one is fine */
}

/* ${n} octets of ${c} into ${p}; returns the end. */
static char *
fill(char *p, int c, size_t n)
{
	memset(p, c, n);
	return (p + n);
}

/* Lines longer than Postfix's records (2048 octets) are joined whole. */
Test(msgfile, long_lines)
{
	struct msgfile m;
	char	*buf, *p;

	buf = malloc(20000);
	cr_assert_not_null(buf);
	p = buf;
	memcpy(p, "X: ", 3);
	p = fill(p + 3, 'v', 4997);
	memcpy(p, "\r\n\tw", 4);
	p = fill(p + 4, 'w', 2047);
	memcpy(p, "\r\n\r\n", 4);
	p = fill(p + 4, 'b', 5000);
	cr_assert_null(msgfile_parse(&m, buf, (size_t)(p - buf)));
	cr_assert_eq(m.nfield, 1);
	cr_assert_eq(m.field[0].valuelen, 1 + 4997 + 1 + 2049);
	cr_assert_eq(m.field[0].value[4998], '\n');
	cr_assert_eq(m.bodylen, 5002);
	msgfile_free(&m);

	/* a name whose colon is not in the first record is no field */
	p = fill(buf, 'N', 2048);
	memcpy(p, ": v\r\n", 5);
	p += 5;
	cr_assert_null(msgfile_parse(&m, buf, (size_t)(p - buf)));
	cr_assert_eq(m.nfield, 0);
	cr_assert_eq(m.bodylen, 2048 + 5);
	msgfile_free(&m);
	free(buf);
}

/*
 * Records at Postfix's line_length_limit: smtp_get() reads 2048 octets at
 * a time, and a read ending in CR keeps it unless an LF follows; the
 * client's doubled "." counts in the 2048, and it sends CRLF after a last
 * line without LF.  Rows: "X: 1", an empty line, then [.] nb "b" and the
 * tail; the body must be [.] nb "b", ncr kept CRs, CRLF.
 */
struct record_row {
	size_t	nb;
	char	tail[24];
	int	dot;
	size_t	want_nb, want_ncr;
};

ParameterizedTestParameters(msgfile, records)
{
	static struct record_row rows[] = {
		{ 2047, "\r\r\n", 0, 2047, 1 },
		{ 2047, "\r\n", 0, 2047, 0 },
		{ 2046, "\r\r\n", 0, 2046, 0 },
		{ 2048, "\r\n", 0, 2048, 0 },
		{ 2040, "\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\n", 0, 2040, 8 },
		{ 4095, "\r\r\r\n", 0, 4095, 1 },
		{ 2047, "\r", 0, 2047, 1 },	/* no LF at the end */
		{ 2047, "", 0, 2047, 0 },
		{ 2045, "\r\r\n", 1, 2045, 1 },	/* ".." on the wire */
		{ 2046, "\r\r\n", 1, 2046, 0 },
		{ 2046, "\r\n", 1, 2046, 0 },
	};
	return cr_make_param_array(struct record_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct record_row *r, msgfile, records)
{
	static const char head[] = "X: 1\r\n\r\n";
	struct msgfile m;
	char   *in, *want;
	size_t	inlen, wantlen, d = (size_t)r->dot;

	in = malloc(sizeof(head) + 1 + r->nb + strlen(r->tail));
	want = malloc(1 + r->want_nb + r->want_ncr + 2);
	cr_assert(in != NULL && want != NULL);
	memcpy(in, head, sizeof(head) - 1);
	inlen = sizeof(head) - 1;
	in[inlen] = '.';
	memset(in + inlen + d, 'b', r->nb);
	inlen += d + r->nb;
	memcpy(in + inlen, r->tail, strlen(r->tail));
	inlen += strlen(r->tail);
	want[0] = '.';
	memset(want + d, 'b', r->want_nb);
	memset(want + d + r->want_nb, KEPT_CR, r->want_ncr);
	wantlen = d + r->want_nb + r->want_ncr;
	memcpy(want + wantlen, "\r\n", 2);
	wantlen += 2;
	cr_assert_null(msgfile_parse(&m, in, inlen));
	cr_assert_eq(m.bodylen, wantlen, "%zu b, tail \"%s\": body %zu octets",
	    r->nb, r->tail, m.bodylen);
	cr_assert_eq(memcmp(m.body, want, wantlen), 0);
	msgfile_free(&m);
	free(in);
	free(want);
}

/* A header line's CR at the end of a record stays (header-line-length). */
Test(msgfile, record_cr_header)
{
	struct msgfile m;
	char	buf[2100];

	memcpy(buf, "Subject: ", 9);
	memset(buf + 9, 'x', 2038);
	memcpy(buf + 2047, "\r\r\n\r\n", 5);
	cr_assert_null(msgfile_parse(&m, buf, 2052));
	cr_assert_eq(m.nfield, 1);
	cr_assert_eq(m.field[0].valuelen, 2040);
	cr_assert_eq(m.field[0].value[2039], KEPT_CR);
	msgfile_free(&m);
}

/*
 * The header limit (60000 with milters): cleanup stops appending there,
 * then writes the field out cut at the last line boundary (when that
 * keeps 90%), or at the limit itself.
 */
Test(msgfile, header_size_limit)
{
	struct msgfile m;
	char	*buf, *p;
	int	i;

	buf = malloc(400000);
	cr_assert_not_null(buf);
	/* "X: a", then lines of 1000 octets: 60 read, 59 kept */
	p = buf;
	memcpy(p, "X: a", 4);
	p += 4;
	for (i = 0; i < 150; i++) {
		memcpy(p, "\r\n\t", 3);
		p = fill(p + 3, 'y', 999);
	}
	memcpy(p, "\r\nZ: 1\r\n\r\n", 10);
	p += 10;
	cr_assert_null(msgfile_parse(&m, buf, (size_t)(p - buf)));
	cr_assert_eq(m.nfield, 2);
	cr_assert_eq(MSGFILE_HEADER_LIMIT, 60000);
	cr_assert_eq(2 + m.field[0].valuelen, 4 + 59 * 1001);
	cr_assert_eq(m.field[0].value[m.field[0].valuelen - 1], 'y');
	cr_assert_str_eq(m.field[1].name, "Z");
	msgfile_free(&m);

	/* one line of 150000 after a short one: cut at the limit itself */
	p = buf;
	memcpy(p, "X: ", 3);
	p = fill(p + 3, 'a', 997);
	memcpy(p, "\r\n\t", 3);
	p = fill(p + 3, 'b', 150000);
	memcpy(p, "\r\n\r\nbody\r\n", 10);
	p += 10;
	cr_assert_null(msgfile_parse(&m, buf, (size_t)(p - buf)));
	cr_assert_eq(m.nfield, 1);
	cr_assert_eq(2 + m.field[0].valuelen, MSGFILE_HEADER_LIMIT);
	cr_assert_eq(m.bodylen, 6);
	msgfile_free(&m);

	/* a field of one line: read in records of 2048, cut at the limit */
	p = buf;
	memcpy(p, "X: ", 3);
	p = fill(p + 3, 'c', 300000);
	cr_assert_null(msgfile_parse(&m, buf, (size_t)(p - buf)));
	cr_assert_eq(2 + m.field[0].valuelen, MSGFILE_HEADER_LIMIT);
	msgfile_free(&m);
	free(buf);
}

/* Part headers are cut at the header limit as the message header is. */
Test(msgfile, part_header_limit)
{
	static const char head[] = "Content-Type: multipart/mixed; boundary=b"
	    "\r\n\r\n--b\r\nX: ";
	struct msgfile m;
	char   *buf, *p;

	buf = malloc(100000);
	cr_assert_not_null(buf);
	memcpy(buf, head, sizeof(head) - 1);
	p = fill(buf + sizeof(head) - 1, 'a', 70000);
	memcpy(p, "\r\n\r\nz\r\n--b--\r\n", 14);
	p += 14;
	cr_assert_null(msgfile_parse(&m, buf, (size_t)(p - buf)));
	/* "--b", the field cut at the limit, "", "z", "--b--" */
	cr_assert_eq(m.bodylen, 5 + MSGFILE_HEADER_LIMIT + 2 + 2 + 3 + 7);
	cr_assert_eq(memcmp(m.body + 5 + MSGFILE_HEADER_LIMIT - 1, "a\r\n\r\nz", 6), 0);
	msgfile_free(&m);
	free(buf);
}

/*
 * mime_nesting_limit: boundaries are pushed while the stack is at most
 * MSGFILE_MIME_DEPTH + 1 deep; a part past that is body, its "header"
 * not rewritten.  Boundaries n000..n101 are followed, not n102.
 */
Test(msgfile, nesting_limit)
{
	struct msgfile m;
	char   *buf, *want, *p, *w;
	int	i;

	buf = malloc(40000);
	want = malloc(40000);
	cr_assert(buf != NULL && want != NULL);
	p = buf + sprintf(buf, "Content-Type: multipart/mixed; boundary=n000\r\n\r\n");
	w = want;
	for (i = 1; i <= 104; i++) {
		p += sprintf(p, "--n%03d\r\nContent-Type: multipart/mixed; "
		    "boundary=n%03d\r\nX : %d\r\n\r\n", i - 1, i, i);
		w += sprintf(w, "--n%03d\r\nContent-Type: multipart/mixed; "
		    "boundary=n%03d\r\nX%s: %d\r\n\r\n", i - 1, i,
		    i <= 102 ? "" : " ", i);
	}
	cr_assert_null(msgfile_parse(&m, buf, (size_t)(p - buf)));
	cr_assert_eq(m.bodylen, (size_t)(w - want));
	cr_assert_eq(memcmp(m.body, want, m.bodylen), 0, "%.*s",
	    (int)m.bodylen, m.body);
	msgfile_free(&m);
	free(buf);
	free(want);
}

/* ${m} and ${n} hold the same fields, body and verdict. */
static void
same_msgfile(const struct msgfile *m, const struct msgfile *n, const char *what)
{
	size_t	i;

	cr_assert_eq(m->nfield, n->nfield, "%s", what);
	for (i = 0; i < m->nfield; i++) {
		cr_assert_str_eq(m->field[i].name, n->field[i].name, "%s", what);
		cr_assert_str_eq(m->field[i].value, n->field[i].value, "%s", what);
		cr_assert_eq(m->field[i].dropped, n->field[i].dropped, "%s", what);
	}
	cr_assert_eq(m->bodylen, n->bodylen, "%s", what);
	cr_assert(m->bodylen == 0 || memcmp(m->body, n->body, m->bodylen) == 0,
	    "%s", what);
	cr_assert_eq(m->refused, n->refused, "%s", what);
}

/* Fed in two pieces, cut anywhere, a message reads as fed whole. */
Test(msgfile, pieces)
{
	static const char *const in[] = {
		"From a@x\r\n>From b\r\nA: 1\r\n \r\tc\r\n\r\n.b\r\r\n.\r\nend",
		" x: 1\r\n\rA: 2\r\n",
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
		    "X : 1\0z\r\n\r\nc\r\n--b--\r\n",
	};
	struct msgfile whole, cut;
	struct msgfile_reader *r;
	char   *big, what[64];
	size_t	i, k, len;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		len = strlen(in[i]);
		cr_assert_null(msgfile_parse(&whole, in[i], len));
		for (k = 0; k <= len; k++) {
			(void)snprintf(what, sizeof(what), "row %zu cut at %zu", i, k);
			cr_assert_not_null(r = msgfile_open());
			cr_assert_null(msgfile_feed(r, in[i], k));
			cr_assert_null(msgfile_feed(r, in[i] + k, len - k));
			cr_assert_null(msgfile_close(r, &cut));
			same_msgfile(&whole, &cut, what);
			msgfile_free(&cut);
		}
		msgfile_free(&whole);
	}
	/* records of 2048 octets, CRs at their ends, cut octet by octet */
	big = malloc(8200);
	cr_assert_not_null(big);
	memcpy(big, "X: 1\r\n\r\n", 8);
	memset(big + 8, 'b', 8192);
	big[8 + 2047] = big[8 + 2048] = big[8 + 4095] = '\r';
	memcpy(big + 8 + 4096, "\r\r\n", 3);
	cr_assert_null(msgfile_parse(&whole, big, 8200));
	cr_assert_not_null(r = msgfile_open());
	for (k = 0; k < 8200; k++)
		cr_assert_null(msgfile_feed(r, big + k, 1));
	cr_assert_null(msgfile_close(r, &cut));
	same_msgfile(&whole, &cut, "octet by octet");
	msgfile_free(&cut);
	msgfile_free(&whole);
	free(big);
	/* closing what msgfile_open() did not give */
	cr_assert_not_null(msgfile_close(NULL, &cut));
	cr_assert_eq(cut.nfield, 0);
}

/*
 * hopcount_limit: Postfix refuses a message whose header holds 49
 * Received: fields (50 with its own); those of part headers do not count.
 */
Test(msgfile, hops)
{
	static const char rcvd[] = "Received: x\r\n";
	struct msgfile m;
	char	buf[2000], *p;
	int	n;

	for (n = 47; n <= 49; n++) {
		p = buf;
		p += sprintf(p, "%s", "received : y\r\n");
		for (int i = 1; i < n; i++)
			p += sprintf(p, "%s", rcvd);
		p += sprintf(p, "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		    "--b\r\nReceived: z\r\nReceived: z\r\n\r\n--b--\r\n");
		cr_assert_null(msgfile_parse(&m, buf, (size_t)(p - buf)));
		if (n < 49)
			cr_assert_null(m.refused, "%d fields", n);
		else
			cr_assert_str_eq(m.refused, MSGFILE_TOO_MANY_HOPS);
		cr_assert_eq(m.nfield, (size_t)n + 1);
		msgfile_free(&m);
	}
}

/*
 * message_size_limit: smtpd counts each record it reads from the client,
 * its octets + 2 (the "." the client doubled, the CRs before the LF not
 * counted), and refuses past the limit; msgfile_full() says input no
 * longer matters.
 */
Test(msgfile, size_limit)
{
	struct msgfile m;
	struct msgfile_reader *r;
	size_t	len, n;
	char   *buf;

	buf = malloc(MSGFILE_SIZE_LIMIT + 20000);	/* a CR more a line */
	cr_assert_not_null(buf);
	/* "A: 1" (6), then lines of "." + 998 octets: 999 + 2 each */
	memcpy(buf, "A: 1\r\n", 6);
	for (len = 6, n = 6; n + 1001 <= MSGFILE_SIZE_LIMIT; n += 1001) {
		memcpy(buf + len, ".", 1);
		memset(buf + len + 1, 'x', 998);
		memcpy(buf + len + 999, "\r\r\n", 3);
		len += 1002;
	}
	/* a last line up to the limit exactly, then one octet more */
	memset(buf + len, 'y', MSGFILE_SIZE_LIMIT - n - 2);
	len += MSGFILE_SIZE_LIMIT - n - 2;
	cr_assert_null(msgfile_parse(&m, buf, len));
	cr_assert_null(m.refused);
	cr_assert_gt(m.bodylen, 0);
	msgfile_free(&m);
	buf[len] = 'y';
	cr_assert_null(msgfile_parse(&m, buf, len + 1));
	cr_assert_str_eq(m.refused, MSGFILE_TOO_BIG);
	cr_assert_eq(m.nfield, 1);
	msgfile_free(&m);

	/* the limit passed (known at the line's end), the rest is not read */
	cr_assert_not_null(r = msgfile_open());
	cr_assert_null(msgfile_feed(r, buf, len + 1));
	cr_assert(!msgfile_full(r));
	cr_assert_null(msgfile_feed(r, "\r\r\n", 3));
	cr_assert(msgfile_full(r));
	cr_assert_null(msgfile_feed(r, "B: 2\r\n", 6));
	cr_assert_null(msgfile_close(r, &m));
	cr_assert_str_eq(m.refused, MSGFILE_TOO_BIG);
	msgfile_free(&m);
	free(buf);
}

struct env_row {
	char	in[200];
	char	sender[32];
	char	rcpt[80];	/* joined with "|" */
};

ParameterizedTestParameters(msgfile, envelope)
{
	static struct env_row rows[] = {
		{ "Return-Path: <r@x>\r\nFrom: f@x\r\nTo: t@x\r\n", "r@x", "t@x" },
		{ "From: \"A, B\" <a@x>, c@y\r\nTo: t@x\r\n", "a@x", "t@x" },
		{ "From: a@x\r\nReturn-Path: <>\r\n", "", "" },
		{ "Return-Path: nobody here\r\nFrom: (c) f@x\r\n", "f@x", "" },
		{ "Subject: none\r\n", "", "" },
		{ "From: f@x\r\nTo: a@x, B <b@x>\r\nCc: g: c@x, A@X;\r\n"
		    "Bcc: h@x\r\nResent-To: i@x\r\nTo: undisclosed:;\r\n"
		    "To: d@x (D)\r\n", "f@x", "a@x|b@x|c@x|d@x" },
		{ "From: f@x\r\nTo: <>, t@x\r\n\r\nTo: body@x\r\n", "f@x", "t@x" },
		{ "FROM: f@x\r\nto : a@x,\r\n b@x\r\n", "f@x", "a@x|b@x" },
	};
	return cr_make_param_array(struct env_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct env_row *r, msgfile, envelope)
{
	struct msgfile m;
	struct msgfile_env env;
	char	got[200];
	size_t	i, n = 0;

	cr_assert_null(msgfile_parse(&m, r->in, strlen(r->in)));
	cr_assert_null(msgfile_envelope(&m, &env));
	cr_assert_str_eq(env.sender, r->sender, "\"%s\"", r->in);
	got[0] = '\0';
	for (i = 0; i < env.nrcpt; i++)
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s",
		    i > 0 ? "|" : "", env.rcpt[i]);
	cr_assert_str_eq(got, r->rcpt, "\"%s\"", r->in);
	msgfile_env_free(&env);
	msgfile_env_free(&env);
	msgfile_free(&m);
}

/* Many recipients: the list grows past its first allocations. */
Test(msgfile, many_recipients)
{
	struct msgfile m;
	struct msgfile_env env;
	char	buf[8192];
	size_t	n = 0;
	int	i;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "To: u0@x");
	for (i = 1; i < 300; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\r\n u%d@x", i);
	cr_assert_lt(n, sizeof(buf));
	cr_assert_null(msgfile_parse(&m, buf, n));
	cr_assert_null(msgfile_envelope(&m, &env));
	cr_assert_eq(env.nrcpt, 300);
	cr_assert_str_eq(env.rcpt[299], "u299@x");
	cr_assert_str_eq(env.sender, "");
	msgfile_env_free(&env);
	msgfile_free(&m);
}
