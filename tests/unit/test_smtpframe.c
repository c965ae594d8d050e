/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_smtpframe.c - the command framer, the reply parser and the verb
 * splitter.  Every stream is fed in chunks of every size from 1 octet to
 * the whole input, and the events, written as a compact log, must be
 * the same for each split; that includes the ambiguous end of DATA (a
 * "." line Postfix 3.7 ends DATA at but CRLF.CRLF does not), whose
 * state spans chunks.  The line buffer's growth, release and allocation
 * failure are checked through the framer's realloc hook.  Tables are static and looped over inside one
 * Test (Criterion 2.4 re-launches the binary per ParameterizedTest row).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpframe.h"

/* A string literal as (bytes, length), embedded NULs included. */
#define S(x)	x, sizeof(x) - 1

struct log {
	char	s[65536];
	size_t	n;
	size_t	clen;		/* content octets since the last end */
	unsigned cbare;
	unsigned char content[65536];	/* all content, concatenated */
	size_t	ctot;
};

static void
logev(struct log *l, char tag, unsigned long a, unsigned long b, int end)
{
	int	k = snprintf(l->s + l->n, sizeof(l->s) - l->n, "%c%lu,%lu%s;",
	    tag, a, b, end ? ",E" : "");

	cr_assert(k > 0 && (size_t)k < sizeof(l->s) - l->n);
	l->n += (size_t)k;
}

/*
 * Frame ${in} in chunks of ${cs}, acting like the relay: after a DATA
 * line the framer goes to DATA mode, after "BDAT n" to BDAT mode.
 * Log: L<len>,<bare>; T<len>,<bare>; C<len>,<bare>,E; A<len>,<bare>;
 * (content merged up to its end or its ambiguous end, so the log does
 * not depend on the split; A counts the content relayed before the LF,
 * its bare octets the LF too).  The content log keeps the consumed LF,
 * so content events and those LFs give back the input.
 */
static void
frame(const unsigned char *in, size_t len, size_t limit, size_t cs,
    struct log *l)
{
	struct smtpframe *f = smtpframe_new(limit);
	struct smtpframe_ev ev;
	size_t	off = 0, end, used;
	struct smtpframe_cmd cmd;
	unsigned long long size;
	int	last;

	cr_assert_not_null(f);
	memset(l, 0, sizeof(*l));
	while (off < len) {
		end = off + cs < len ? off + cs : len;
		while (off < end) {
			used = smtpframe_feed(f, in + off, end - off, &ev);
			cr_assert(used > 0 && used <= end - off);
			off += used;
			cr_assert(!ev.ambiguous || ev.type == SMTPFRAME_CONTENT);
			cr_assert(!(ev.ambiguous && ev.end));
			switch (ev.type) {
			case SMTPFRAME_LINE:
				cr_assert(ev.len <= limit);
				logev(l, 'L', ev.len, ev.bare, 0);
				if (smtpframe_cmd(ev.data, ev.len, &cmd) != NULL)
					break;
				if (strcmp(cmd.verb, "DATA") == 0)
					cr_assert_eq(smtpframe_data(f), 0);
				else if (strcmp(cmd.verb, "BDAT") == 0 &&
				    smtpframe_bdat_arg(ev.data, ev.len, &size,
				    &last) == NULL)
					cr_assert_eq(smtpframe_bdat(f, size), 0);
				break;
			case SMTPFRAME_TOOLONG:
				logev(l, 'T', ev.len, ev.bare, 0);
				break;
			case SMTPFRAME_CONTENT:
				cr_assert(ev.data == in + off - used);
				memcpy(l->content + l->ctot, ev.data, ev.len);
				l->ctot += ev.len;
				l->clen += ev.len;
				l->cbare += ev.bare;
				if (ev.ambiguous) {
					/* the LF is consumed, not relayed */
					cr_assert_eq(ev.len + 1, used);
					cr_assert_eq(in[off - 1], '\n');
					l->content[l->ctot++] = '\n';
					logev(l, 'A', l->clen, l->cbare, 0);
					l->clen = 0;
					l->cbare = 0;
					break;
				}
				cr_assert_eq(ev.len, used);
				if (ev.end) {
					logev(l, 'C', l->clen, l->cbare, 1);
					l->clen = 0;
					l->cbare = 0;
				}
				break;
			case SMTPFRAME_NEED:
				cr_assert_eq(used, end - (off - used));
				break;
			case SMTPFRAME_NOMEM:
				cr_assert_fail("out of memory");
				break;
			}
		}
	}
	if (l->clen > 0 || l->cbare > 0)
		logev(l, 'C', l->clen, l->cbare, 0);
	if (f->full > 0)
		logev(l, 'P', f->full, 0, 0);
	smtpframe_free(f);
}

/* Every split gives the log ${want}. */
static void
frame_all(const unsigned char *in, size_t len, size_t limit, const char *want)
{
	static struct log whole, l;
	size_t	cs;

	frame(in, len, limit, len ? len : 1, &whole);
	cr_assert_str_eq(whole.s, want, "input %.60s got %s", (const char *)in, whole.s);
	for (cs = 1; cs < len; cs++) {
		frame(in, len, limit, cs, &l);
		cr_assert_str_eq(l.s, want, "chunk %zu", cs);
		cr_assert_eq(l.ctot, whole.ctot);
		cr_assert(memcmp(l.content, whole.content, l.ctot) == 0);
	}
}

struct frame_row {
	char	in[256];
	size_t	len;
	const char *want;
};

static const struct frame_row frame_rows[] = {
	/* RFC 2920 pipelining: one chunk, several commands */
	{ S("MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"),
	  "L22,0;L20,0;L6,0;" },
	{ S("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
	    "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n"),
	  "L8,0;L17,0;L15,0;L6,0;C23,0,E;L6,0;" },
	/* bare LF, bare CR in commands */
	{ S("NOOP\n"), "L5,1;" },
	{ S("NO\rOP\r\n"), "L7,1;" },
	{ S("NOOP\r\r\n"), "L7,1;" },
	{ S("NOOP\r\nRSET\r"), "L6,0;P5,0;" },
	{ S("\r\n"), "L2,0;" },
	/* DATA: empty message right after 354 */
	{ S("DATA\r\n.\r\nQUIT\r\n"), "L6,0;C3,0,E;L6,0;" },
	/* dot-stuffed lines are content */
	{ S("DATA\r\n..dot\r\n.x\r\n.\r\nQUIT\r\n"), "L6,0;C14,0,E;L6,0;" },
	/*
	 * <LF>.<LF> smuggling: no end for us, an end for Postfix 3.7, so
	 * ambiguous: the content stops before that LF (both bare LFs are
	 * flagged) and the framer stays in DATA mode.
	 */
	{ S("DATA\r\nhi\n.\nMAIL FROM:<x>\r\n.\r\nQUIT\r\n"),
	  "L6,0;A4,2;C18,0,E;L6,0;" },
	{ S("DATA\r\nhi\r\n.\nRSET\r\n.\r\n"), "L6,0;A5,1;C9,0,E;" },
	{ S("DATA\r\nhi\n.\r\nRSET\r\n.\r\n"), "L6,0;A5,1;C9,0,E;" },
	/* \n.\n, \n.\r\n, \r\n.\n, \r\n.\r\r\n, \n.\r\r\n */
	{ S("DATA\r\na\n.\nX\r\n.\r\n"), "L6,0;A3,2;C6,0,E;" },
	{ S("DATA\r\na\n.\r\nX\r\n.\r\n"), "L6,0;A4,1;C6,0,E;" },
	{ S("DATA\r\na\r\n.\nX\r\n.\r\n"), "L6,0;A4,1;C6,0,E;" },
	{ S("DATA\r\na\r\n.\r\r\nX\r\n.\r\n"), "L6,0;A6,1;C6,0,E;" },
	{ S("DATA\r\na\n.\r\r\n"), "L6,0;A5,2;" },
	/* "." as the first content line, ended by a bare LF or extra CRs */
	{ S("DATA\r\n.\nX\r\n.\r\n"), "L6,0;A1,1;C6,0,E;" },
	{ S("DATA\r\n.\r\r\n"), "L6,0;A3,1;" },
	{ S("DATA\r\n.\n.\n"), "L6,0;A1,1;A1,1;" },
	/* not ambiguous: the exact end, dot-stuffing, "." not at a line start */
	{ S("DATA\r\na\r\n.\r\nQUIT\r\n"), "L6,0;C6,0,E;L6,0;" },
	{ S("DATA\r\na\r\n..\nb\r\n.\r\n"), "L6,0;C12,1,E;" },
	{ S("DATA\r\na\n..\r\n.\r\n"), "L6,0;C9,1,E;" },
	{ S("DATA\r\na\r.\nb\r\n.\r\n"), "L6,0;C10,2,E;" },
	{ S("DATA\r\n. \r\n.\r\n"), "L6,0;C7,0,E;" },
	/* bare CR inside content, and .CR not followed by LF */
	{ S("DATA\r\nx\r\n.\rX\r\n.\r\n"), "L6,0;C11,1,E;" },
	{ S("DATA\r\na\rb\r\n.\r\n"), "L6,0;C8,1,E;" },
	/* unfinished content */
	{ S("DATA\r\nabc\r\n."), "L6,0;C6,0;" },
	/* BDAT: exactly N octets, no dot, no CR/LF meaning */
	{ S("BDAT 5\r\nhelloBDAT 3 LAST\r\n\r\n.\r\nQUIT\r\n"),
	  "L8,0;C5,0,E;L13,0;C3,0,E;L2,0;L6,0;" },
	{ S("BDAT 4\r\n\n.\n\nNOOP\r\n"), "L8,0;C4,0,E;L6,0;" },
	{ S("BDAT 0 LAST\r\nQUIT\r\n"), "L13,0;L6,0;" },
	/* short limit (16): 16 incl. CRLF passes, 17 is too long */
	{ S("12345678901234\r\n123456789012345\r\nNOOP\r\n"),
	  "L16,0;T17,0;L6,0;" },
	{ S("123456789012345678901234567890\nNOOP\r\n"), "T31,1;L6,0;" },
};

Test(smtpframe, table)
{
	size_t	i, limit;

	for (i = 0; i < sizeof(frame_rows) / sizeof(frame_rows[0]); i++) {
		/* the line-length rows (want has T, or digits) use limit 16 */
		limit = strstr(frame_rows[i].want, "T") != NULL ||
		    strncmp(frame_rows[i].in, "1234", 4) == 0 ? 16 : 512;
		frame_all((const unsigned char *)frame_rows[i].in,
		    frame_rows[i].len, limit, frame_rows[i].want);
	}
}

/* RFC 5321 4.5.3.1.4: 512 octets incl. CRLF pass, 513 do not. */
Test(smtpframe, line_length_512)
{
	static unsigned char in[2048];
	size_t	n = 0;
	char	want[64];

	memcpy(in, "RCPT TO:<", 9);
	n = 9;
	memset(in + n, 'a', 510 - n);
	n = 510;
	memcpy(in + n, "\r\n", 2);
	n += 2;				/* 512 */
	memset(in + n, 'b', 511);
	n += 511;
	memcpy(in + n, "\r\nQUIT\r\n", 8);
	n += 8;				/* 513, then QUIT */
	snprintf(want, sizeof(want), "L512,0;T513,0;L6,0;");
	frame_all(in, n, 512, want);
}

/* An over-long line is not buffered: the framer's memory stays at limit. */
Test(smtpframe, long_line_bounded)
{
	static unsigned char in[100000];
	struct smtpframe *f = smtpframe_new(64);
	struct smtpframe_ev ev;
	size_t	used;

	memset(in, 'x', sizeof(in));
	in[sizeof(in) - 1] = '\n';
	cr_assert_null(smtpframe_new(5));
	used = smtpframe_feed(f, in, sizeof(in) - 1, &ev);
	cr_assert_eq(used, sizeof(in) - 1);
	cr_assert_eq(ev.type, SMTPFRAME_NEED);
	cr_assert_eq(f->len, 64);
	used = smtpframe_feed(f, in + sizeof(in) - 1, 1, &ev);
	cr_assert_eq(ev.type, SMTPFRAME_TOOLONG);
	cr_assert_eq(ev.len, sizeof(in));
	cr_assert_eq(ev.bare, 1);
	smtpframe_free(f);
	smtpframe_free(NULL);
}

/*
 * The line buffer: none at creation, SMTPFRAME_BUF_MIN (or the limit,
 * if smaller) for a short line, doubled up to the limit for a long one,
 * released before the next feed and on the switch to DATA/BDAT mode.
 */
struct grow_row {
	size_t	limit;
	size_t	linelen;	/* a command line of this many octets, CRLF included */
	size_t	cap;		/* buffer capacity once it is complete */
};

static const struct grow_row grow_rows[] = {
	{ 16, 6, 16 },
	{ 512, 6, SMTPFRAME_BUF_MIN },
	{ 512, 256, SMTPFRAME_BUF_MIN },
	{ 512, 257, 512 },
	{ 512, 600, 512 },		/* too long: kept up to the limit */
	{ 12288, 1000, 1024 },
	{ 12288, 12288, 12288 },	/* 256 doubled to 8192, then the limit */
	{ 12288, 20000, 12288 },
};

Test(smtpframe, buffer_growth)
{
	static unsigned char in[20000];
	struct smtpframe *f;
	struct smtpframe_ev ev;
	size_t	i, n, used;

	for (i = 0; i < sizeof(grow_rows) / sizeof(grow_rows[0]); i++) {
		const struct grow_row *r = &grow_rows[i];

		n = r->linelen;
		memset(in, 'a', n - 2);
		memcpy(in + n - 2, "\r\n", 2);
		cr_assert_not_null(f = smtpframe_new(r->limit));
		cr_assert_null(f->buf);
		cr_assert_eq(f->cap, 0);
		used = smtpframe_feed(f, in, n, &ev);
		cr_assert_eq(used, n, "row %zu", i);
		cr_assert_eq(ev.type, n > r->limit ? SMTPFRAME_TOOLONG :
		    SMTPFRAME_LINE, "row %zu", i);
		cr_assert_eq(f->cap, r->cap, "row %zu cap %zu", i, f->cap);
		if (ev.type == SMTPFRAME_LINE)
			cr_assert(memcmp(ev.data, in, n) == 0, "row %zu", i);
		/* an idle framer keeps at most SMTPFRAME_BUF_MIN octets */
		cr_assert_eq(smtpframe_feed(f, in, 0, &ev), 0);
		cr_assert(f->cap <= SMTPFRAME_BUF_MIN, "row %zu", i);
		smtpframe_free(f);
	}

	/* DATA and BDAT content needs no line buffer */
	f = smtpframe_new(12288);
	memset(in, 'a', 998);
	memcpy(in + 998, "\r\n", 2);
	cr_assert_eq(smtpframe_feed(f, in, 1000, &ev), 1000);
	cr_assert_eq(f->cap, 1024);
	cr_assert_eq(smtpframe_data(f), 0);
	cr_assert_eq(f->cap, 0);
	cr_assert_eq(smtpframe_feed(f, in, 1000, &ev), 1000);
	cr_assert_eq(ev.type, SMTPFRAME_CONTENT);
	cr_assert_eq(f->cap, 0);
	smtpframe_free(f);
}

/* A realloc that fails once the buffer would pass fail_above octets. */
static size_t fail_above;

static void *
fake_realloc(void *p, size_t n)
{
	return (n > fail_above ? NULL : realloc(p, n));
}

struct nomem_row {
	size_t	fail;		/* fail_above */
	size_t	linelen;	/* line fed in one chunk, CRLF included */
	size_t	used;		/* octets consumed when NOMEM comes */
};

static const struct nomem_row nomem_rows[] = {
	{ 0, 6, 0 },				/* the first allocation */
	{ SMTPFRAME_BUF_MIN, 300, SMTPFRAME_BUF_MIN },	/* the first doubling */
	{ 1024, 3000, 1024 },
};

/*
 * Allocation failure: SMTPFRAME_NOMEM, the octets before the failing one
 * consumed, nothing else changed; with memory back, the same line
 * completes as if nothing had happened.
 */
Test(smtpframe, nomem)
{
	static unsigned char in[4096];
	struct smtpframe *f;
	struct smtpframe_ev ev;
	size_t	i, n, used;

	for (i = 0; i < sizeof(nomem_rows) / sizeof(nomem_rows[0]); i++) {
		const struct nomem_row *r = &nomem_rows[i];

		n = r->linelen;
		memset(in, 'a', n - 2);
		memcpy(in + n - 2, "\r\n", 2);
		/* a CR right before the failing octet: bare once resumed */
		if (r->used > 0)
			in[r->used - 1] = '\r';
		cr_assert_not_null(f = smtpframe_new(4096));
		fail_above = r->fail;
		f->grow = fake_realloc;
		used = smtpframe_feed(f, in, n, &ev);
		cr_assert_eq(ev.type, SMTPFRAME_NOMEM, "row %zu", i);
		cr_assert_eq(used, r->used, "row %zu", i);
		cr_assert_eq(ev.len, 0);
		cr_assert_eq(ev.ambiguous, 0);
		/* retried, it fails again at the same octet */
		cr_assert_eq(smtpframe_feed(f, in + used, n - used, &ev), 0);
		cr_assert_eq(ev.type, SMTPFRAME_NOMEM);
		f->grow = realloc;
		cr_assert_eq(smtpframe_feed(f, in + used, n - used, &ev),
		    n - used, "row %zu", i);
		cr_assert_eq(ev.type, SMTPFRAME_LINE, "row %zu", i);
		cr_assert_eq(ev.len, n);
		cr_assert_eq(ev.bare, r->used > 0 ? 1 : 0, "row %zu", i);
		cr_assert(memcmp(ev.data, in, n) == 0, "row %zu", i);
		smtpframe_free(f);
	}
}

Test(smtpframe, line_bytes_and_mode_switch)
{
	struct smtpframe *f = smtpframe_new(512);
	struct smtpframe_ev ev;
	const unsigned char in[] = "NOOP\r\nRS";
	size_t	used;

	used = smtpframe_feed(f, in, 8, &ev);
	cr_assert_eq(used, 6);
	cr_assert_eq(ev.type, SMTPFRAME_LINE);
	cr_assert(memcmp(ev.data, "NOOP\r\n", 6) == 0);
	used = smtpframe_feed(f, in + 6, 2, &ev);
	cr_assert_eq(ev.type, SMTPFRAME_NEED);
	/* a half command buffered: DATA/BDAT mode refused */
	cr_assert_eq(smtpframe_data(f), -1);
	cr_assert_eq(smtpframe_bdat(f, 3), -1);
	cr_assert_eq(smtpframe_feed(f, in, 0, &ev), 0);
	smtpframe_free(f);
}

/* Replies: log R<code>,<nlines>; each, or E; on error. */
static void
replies(const unsigned char *in, size_t len, size_t cs, char *out, size_t outsz)
{
	static struct smtpframe_reply r;
	size_t	off = 0, end, used, n = 0;
	const char *err = NULL;

	smtpframe_reply_init(&r);
	out[0] = '\0';
	while (off < len && err == NULL) {
		end = off + cs < len ? off + cs : len;
		while (off < end) {
			err = smtpframe_reply_feed(&r, in + off, end - off, &used);
			off += used;
			if (err != NULL) {
				n += (size_t)snprintf(out + n, outsz - n, "E;");
				break;
			}
			if (r.done) {
				cr_assert_eq(r.line[r.nlines], r.len);
				n += (size_t)snprintf(out + n, outsz - n,
				    "R%d,%u,%zu;", r.code, r.nlines, r.len);
			}
		}
	}
}

struct reply_row {
	char	in[512];
	size_t	len;
	const char *want;
};

static const struct reply_row reply_rows[] = {
	{ S("220 mx.test ESMTP\r\n"), "R220,1,19;" },
	{ S("250-mx.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n"), "R250,3,43;" },
	/* pipelined replies in one chunk */
	{ S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
	  "R250,1,14;R250,1,14;R354,1,37;" },
	{ S("250\r\n221 Bye\n"), "R250,1,5;R221,1,8;" },
	{ S("250-a\r\n550 b\r\n"), "E;" },
	{ S("25x ok\r\n"), "E;" },
	{ S("hello\r\n"), "E;" },
	{ S("250+x\r\n"), "E;" },
	{ S("\r\n"), "E;" },
	{ S("250-a\r\n250-b"), "" },
};

Test(smtpframe, replies)
{
	char	want[256], got[256];
	size_t	i, cs;

	for (i = 0; i < sizeof(reply_rows) / sizeof(reply_rows[0]); i++) {
		const struct reply_row *row = &reply_rows[i];

		replies((const unsigned char *)row->in, row->len, row->len,
		    want, sizeof(want));
		cr_assert_str_eq(want, row->want, "row %zu", i);
		for (cs = 1; cs < row->len; cs++) {
			replies((const unsigned char *)row->in, row->len, cs,
			    got, sizeof(got));
			cr_assert_str_eq(got, want, "row %zu chunk %zu", i, cs);
		}
	}
}

Test(smtpframe, reply_bounds)
{
	static unsigned char in[20000];
	static struct smtpframe_reply r;
	size_t	n = 0, used, i;
	const char *err;

	/* a line of SMTPFRAME_REPLY_LINE_MAX octets passes, one more fails */
	memcpy(in, "250 ", 4);
	memset(in + 4, 'a', SMTPFRAME_REPLY_LINE_MAX - 6);
	memcpy(in + SMTPFRAME_REPLY_LINE_MAX - 2, "\r\n", 2);
	smtpframe_reply_init(&r);
	cr_assert_null(smtpframe_reply_feed(&r, in, SMTPFRAME_REPLY_LINE_MAX, &used));
	cr_assert(r.done);
	memcpy(in, "250 ", 4);
	memset(in + 4, 'a', SMTPFRAME_REPLY_LINE_MAX - 5);
	memcpy(in + SMTPFRAME_REPLY_LINE_MAX - 1, "\r\n", 2);
	smtpframe_reply_init(&r);
	cr_assert_not_null(smtpframe_reply_feed(&r, in, SMTPFRAME_REPLY_LINE_MAX + 1, &used));
	/* sticky */
	cr_assert_not_null(smtpframe_reply_feed(&r, in, 1, &used));
	cr_assert_eq(used, 0);

	/* 100 lines pass, 101 fail */
	for (i = 0, n = 0; i < 100; i++) {
		memcpy(in + n, i == 99 ? "250 x\r\n" : "250-x\r\n", 7);
		n += 7;
	}
	smtpframe_reply_init(&r);
	cr_assert_null(smtpframe_reply_feed(&r, in, n, &used));
	cr_assert(r.done);
	cr_assert_eq(r.nlines, 100);
	cr_assert(memcmp(r.buf + r.line[99], "250 x\r\n", 7) == 0);
	in[n - 4] = '-';
	memcpy(in + n, "250 x\r\n", 7);
	smtpframe_reply_init(&r);
	err = smtpframe_reply_feed(&r, in, n + 7, &used);
	cr_assert_not_null(err);
}

/*
 * smtpframe_cmd(): a line split as Postfix 3.7's smtpd splits it
 * (smtp_get() drops LF and the CRs before it, smtpd_token() splits at
 * ISSPACE, the command is a C string): a line the MTA reads as DATA or
 * BDAT must never look like anything else to the shim.
 */
struct cmd_row {
	char	line[64];
	size_t	len;		/* 0: strlen(line) */
	int	ok;
	char	verb[SMTPFRAME_VERB_MAX];
	char	word[32];	/* the verb as received */
	char	arg[64];
};

static const struct cmd_row cmd_rows[] = {
	{ "MAIL FROM:<a@b>\r\n", 0, 1, "MAIL", "MAIL", "FROM:<a@b>" },
	{ "mail from:<a@b>\r\n", 0, 1, "MAIL", "mail", "from:<a@b>" },
	{ "eHlO  client.test \r\n", 0, 1, "EHLO", "eHlO", "client.test " },
	{ "DATA\r\n", 0, 1, "DATA", "DATA", "" },
	{ "QUIT\n", 0, 1, "QUIT", "QUIT", "" },
	{ "STARTTLS\r\n", 0, 1, "STARTTLS", "STARTTLS", "" },
	{ "XXXX\r\n", 0, 1, "XXXX", "XXXX", "" },
	/* white space as Postfix's smtpd_token(): before the verb too */
	{ " NOOP\r\n", 0, 1, "NOOP", "NOOP", "" },
	{ "\t\v\fDATA\r\n", 0, 1, "DATA", "DATA", "" },
	{ "BDAT\t10\r\n", 0, 1, "BDAT", "BDAT", "10" },
	{ "DATA\rjunk\r\n", 0, 1, "DATA", "DATA", "junk" },
	{ "BDAT 10\x0bLAST\r\n", 0, 1, "BDAT", "BDAT", "10\x0bLAST" },
	/* every CR before the LF goes (smtp_get()) */
	{ "DATA\r\r\r\n", 0, 1, "DATA", "DATA", "" },
	{ "DATA \r\n", 0, 1, "DATA", "DATA", "" },
	/* the command ends at a NUL (a C string to smtpd_token()) */
	{ "DATA\0 junk\r\n", 11, 1, "DATA", "DATA", "" },
	{ "BDAT 10\0 LAST\r\n", 16, 1, "BDAT", "BDAT", "10" },
	{ "\0DATA\r\n", 7, 0, "", "", "" },
	/* unknown to the shim and, as no verb looks like it, to the MTA */
	{ "HEL\r\n", 0, 0, "", "HEL", "" },
	{ "HEL x\r\n", 0, 0, "", "HEL", "x" },
	{ "\r\n", 0, 0, "", "", "" },
	{ " \t\r\n", 0, 0, "", "", "" },
	{ "NO0P\r\n", 0, 0, "", "NO0P", "" },
	{ "\"DATA\"\r\n", 0, 0, "", "\"DATA\"", "" },
	{ "<DATA>\r\n", 0, 0, "", "<DATA>", "" },
	{ "DATA:\r\n", 0, 0, "", "DATA:", "" },
	{ "D\\ATA\r\n", 0, 0, "", "D\\ATA", "" },
	{ "DA\xc3\x84TA\r\n", 0, 0, "", "DA\xc3\x84TA", "" },
	{ "ABCDEFGHIJKLMNOPQ\r\n", 0, 0, "", "ABCDEFGHIJKLMNOPQ", "" },
	{ "ABCDEFGHIJKLMNO\r\n", 0, 1, "ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNO", "" },
};

Test(smtpframe, cmd)
{
	struct smtpframe_cmd cmd;
	size_t	i, len;
	const char *err;

	for (i = 0; i < sizeof(cmd_rows) / sizeof(cmd_rows[0]); i++) {
		const struct cmd_row *row = &cmd_rows[i];

		len = row->len ? row->len : strlen(row->line);
		err = smtpframe_cmd((const unsigned char *)row->line, len,
		    &cmd);
		cr_assert_eq(err == NULL, row->ok, "row %zu %s: %s", i,
		    row->line, err ? err : "ok");
		cr_assert_str_eq(cmd.verb, row->verb, "row %zu", i);
		cr_assert_eq(cmd.wordlen, strlen(row->word), "row %zu", i);
		cr_assert(memcmp(cmd.word, row->word, cmd.wordlen) == 0,
		    "row %zu", i);
		cr_assert_eq(cmd.arglen, strlen(row->arg), "row %zu: %zu", i,
		    cmd.arglen);
		cr_assert(memcmp(cmd.arg, row->arg, cmd.arglen) == 0, "row %zu",
		    i);
	}
}

/* smtpframe_bdat_arg(): SPEC 5.6, BDAT SP 1*18DIGIT [SP LAST] CRLF only. */
struct bdat_row {
	char	line[64];
	size_t	len;		/* 0: strlen(line) */
	unsigned long long size;	/* ~0ULL: refused */
	int	last;
};

#define REFUSED	(~0ULL)

static const struct bdat_row bdat_rows[] = {
	{ "BDAT 10\r\n", 0, 10, 0 },
	{ "BDAT 10 LAST\r\n", 0, 10, 1 },
	{ "bdat 0 last\r\n", 0, 0, 1 },
	{ "BdAt 7 LaSt\r\n", 0, 7, 1 },
	{ "BDAT 0\r\n", 0, 0, 0 },
	{ "BDAT 000000000000000010\r\n", 0, 10, 0 },		/* 18 digits */
	{ "BDAT 999999999999999999\r\n", 0, 999999999999999999ULL, 0 },
	/* the issue-12 attack: 22 digits Postfix reads as 10 */
	{ "BDAT 0000000000000000000010\r\n", 0, REFUSED, 0 },
	{ "BDAT 0000000000000000010\r\n", 0, REFUSED, 0 },	/* 19 */
	{ "BDAT\r\n", 0, REFUSED, 0 },
	{ "BDAT \r\n", 0, REFUSED, 0 },
	{ "BDAT  10\r\n", 0, REFUSED, 0 },
	{ "BDAT\t10\r\n", 0, REFUSED, 0 },
	{ " BDAT 10\r\n", 0, REFUSED, 0 },
	{ "BDAT +10\r\n", 0, REFUSED, 0 },
	{ "BDAT -1\r\n", 0, REFUSED, 0 },
	{ "BDAT 0x10\r\n", 0, REFUSED, 0 },
	{ "BDAT 1e3\r\n", 0, REFUSED, 0 },
	{ "BDAT 10 \r\n", 0, REFUSED, 0 },
	{ "BDAT 10  LAST\r\n", 0, REFUSED, 0 },
	{ "BDAT 10 LAST \r\n", 0, REFUSED, 0 },
	{ "BDAT 10 LASTX\r\n", 0, REFUSED, 0 },
	{ "BDAT 10 LAS\r\n", 0, REFUSED, 0 },
	{ "BDAT 10 X\r\n", 0, REFUSED, 0 },
	{ "BDAT 1 X\r\n", 0, REFUSED, 0 },
	{ "BDAT 10\tLAST\r\n", 0, REFUSED, 0 },
	{ "BDAT 10\n", 0, REFUSED, 0 },
	{ "BDAT 10\r\r\n", 0, REFUSED, 0 },
	{ "BDAT 10", 0, REFUSED, 0 },
	{ "BDAT 10\0\r\n", 10, REFUSED, 0 },
	{ "BDAT 1\x00" "0\r\n", 10, REFUSED, 0 },
	{ "BDATX 10\r\n", 0, REFUSED, 0 },
	{ "BDA 10\r\n", 0, REFUSED, 0 },
	{ "\"10\"\r\n", 0, REFUSED, 0 },
};

Test(smtpframe, bdat_arg)
{
	unsigned long long size;
	size_t	i, len;
	const char *err;
	int	last;

	for (i = 0; i < sizeof(bdat_rows) / sizeof(bdat_rows[0]); i++) {
		const struct bdat_row *row = &bdat_rows[i];

		len = row->len ? row->len : strlen(row->line);
		err = smtpframe_bdat_arg((const unsigned char *)row->line, len,
		    &size, &last);
		if (row->size == REFUSED) {
			cr_assert_not_null(err, "row %zu %s: accepted", i,
			    row->line);
			continue;
		}
		cr_assert_null(err, "row %zu %s: %s", i, row->line, err);
		cr_assert_eq(size, row->size, "row %zu: %llu", i, size);
		cr_assert_eq(last, row->last, "row %zu", i);
	}
}
