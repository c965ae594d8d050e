/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_smtpframe.c - libFuzzer target for the shim's framing: the input
 * (after one byte choosing the line limit and one the chunk pattern) is
 * a client->server stream framed as the relay would (DATA and BDAT mode
 * switches), and a server->client stream parsed into replies.  Each is
 * run once whole and once in chunks; the results must be identical, and
 * every event must stay inside its bounds.  DATA content is also read
 * the way Postfix 3.7 reads it (lines end at any LF, trailing CRs
 * stripped, "." ends): every LF where that reader ends DATA must be our
 * end or an ambiguous end, and nothing else may be either; content
 * events plus the LFs consumed by ambiguous ends give back the input.
 * The bare CR and LF counts of DATA content are checked against a plain
 * octet-by-octet count (the framer skips through lines with memchr()).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpframe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A rolling digest of the events, so no log has to be kept. */
struct digest {
	uint64_t h;
	size_t	n;
};

static void
mix(struct digest *d, uint64_t v)
{
	d->h = (d->h ^ v) * 0x100000001b3ULL;
	d->n++;
}

/* The Postfix 3.7 reading of DATA content (smtpd_forbid_bare_newline = no). */
enum { P_BOL = 0, P_DOT, P_MID };

/* Advance the Postfix reader by ${c}; 1: this LF ends DATA for it. */
static int
postfix_octet(int *p, uint8_t c)
{
	int	was = *p;

	if (c == '\n') {
		*p = P_BOL;
		return (was == P_DOT);
	}
	if ((c == '.' && was == P_BOL) || (c == '\r' && was == P_DOT))
		*p = P_DOT;
	else
		*p = P_MID;
	return (0);
}

static void
frame(const uint8_t *in, size_t len, size_t limit, unsigned pat,
    struct digest *d)
{
	struct smtpframe *f = smtpframe_new(limit);
	struct smtpframe_ev ev;
	size_t	off = 0, end, used, cs, i;
	struct smtpframe_cmd cmd;
	unsigned long long n;
	int	last;
	uint64_t clen = 0, cbare = 0, rbare;
	int	indata, pf = P_BOL, pend, rcr = 0;

	if (f == NULL)
		abort();
	memset(d, 0, sizeof(*d));
	while (off < len) {
		cs = pat == 0 ? len : (pat + off * 7) % 13 + 1;
		end = off + cs < len ? off + cs : len;
		while (off < end) {
			indata = f->mode == SMTPFRAME_DATA;
			used = smtpframe_feed(f, in + off, end - off, &ev);
			if (used == 0 || used > end - off)
				abort();
			if (f->len > f->cap || f->cap > f->limit)
				abort();
			if (ev.ambiguous && (ev.type != SMTPFRAME_CONTENT ||
			    ev.end || !indata || f->mode != SMTPFRAME_DATA))
				abort();
			off += used;
			switch (ev.type) {
			case SMTPFRAME_LINE:
				if (ev.len > limit || ev.len == 0 ||
				    ev.data[ev.len - 1] != '\n')
					abort();
				mix(d, 'L');
				mix(d, ev.len);
				mix(d, ev.bare);
				for (i = 0; i < ev.len; i++)
					mix(d, ev.data[i]);
				if (smtpframe_cmd(ev.data, ev.len, &cmd) != NULL)
					break;
				if (cmd.arg < ev.data ||
				    cmd.arg + cmd.arglen > ev.data + ev.len ||
				    cmd.word < ev.data ||
				    cmd.word + cmd.wordlen > cmd.arg)
					abort();
				if (strcmp(cmd.verb, "DATA") == 0) {
					if (smtpframe_data(f) == 0) {
						pf = P_BOL;
						rcr = 0;
					}
				}
				else if (strcmp(cmd.verb, "BDAT") == 0 &&
				    smtpframe_bdat_arg(ev.data, ev.len, &n,
				    &last) == NULL)
					/* keep chunks small enough to end */
					(void)smtpframe_bdat(f, n % 1000000);
				break;
			case SMTPFRAME_TOOLONG:
				if (ev.len <= limit)
					abort();
				mix(d, 'T');
				mix(d, ev.len);
				mix(d, ev.bare);
				break;
			case SMTPFRAME_CONTENT:
				/* Only an ambiguous end keeps its LF back. */
				if (ev.data != in + off - used ||
				    ev.len + (ev.ambiguous ? 1 : 0) != used)
					abort();
				if (ev.ambiguous && in[off - 1] != '\n')
					abort();
				for (i = 0, rbare = 0; indata && i < used; i++) {
					uint8_t c = in[off - used + i];

					pend = postfix_octet(&pf, c);
					if (pend != (i + 1 == used &&
					    (ev.end || ev.ambiguous)))
						abort();
					if ((rcr && c != '\n') || (!rcr && c == '\n'))
						rbare++;
					rcr = c == '\r';
				}
				if (indata && ev.bare != rbare)
					abort();
				clen += ev.len;
				cbare += ev.bare;
				if (ev.ambiguous) {
					mix(d, 'A');
					mix(d, clen);
					mix(d, cbare);
					clen = cbare = 0;
				}
				if (ev.end) {
					mix(d, 'C');
					mix(d, clen);
					mix(d, cbare);
					clen = cbare = 0;
				}
				break;
			case SMTPFRAME_NEED:
				break;
			case SMTPFRAME_NOMEM:
				abort();	/* realloc of a few KiB */
			}
		}
	}
	mix(d, clen);
	mix(d, cbare);
	mix(d, f->full);
	mix(d, f->mode);
	smtpframe_free(f);
}

static void
replies(const uint8_t *in, size_t len, unsigned pat, struct digest *d)
{
	static struct smtpframe_reply r;
	size_t	off = 0, end, used, cs, i;
	const char *err = NULL;

	memset(d, 0, sizeof(*d));
	smtpframe_reply_init(&r);
	while (off < len && err == NULL) {
		cs = pat == 0 ? len : (pat + off * 5) % 11 + 1;
		end = off + cs < len ? off + cs : len;
		while (off < end) {
			err = smtpframe_reply_feed(&r, in + off, end - off, &used);
			if (used > end - off)
				abort();
			off += used;
			if (err != NULL) {
				mix(d, 'E');
				mix(d, off);
				break;
			}
			if (!r.done)
				continue;
			if (r.nlines == 0 || r.nlines > SMTPFRAME_REPLY_LINES ||
			    r.line[r.nlines] != r.len || r.len > SMTPFRAME_REPLY_MAX)
				abort();
			mix(d, 'R');
			mix(d, (uint64_t)r.code);
			mix(d, r.nlines);
			for (i = 0; i < r.len; i++)
				mix(d, r.buf[i]);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest a, b;
	uint8_t *in;
	size_t	limit, len;
	unsigned pat;

	if (size < 2)
		return (0);
	limit = 6 + data[0];
	pat = data[1] % 13 + 1;
	len = size - 2;
	/* An exact-size copy so ASan sees any read past the length. */
	if ((in = malloc(len ? len : 1)) == NULL)
		return (0);
	memcpy(in, data + 2, len);

	frame(in, len, limit, 0, &a);
	frame(in, len, limit, pat, &b);
	if (a.h != b.h || a.n != b.n)
		abort();
	replies(in, len, 0, &a);
	replies(in, len, pat, &b);
	if (a.h != b.h || a.n != b.n)
		abort();
	free(in);
	return (0);
}
