/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ehlo.c - the EHLO reply rewriter (SPEC 5.2, 5.4 strip) and the command
 * line masker (SPEC 5.3).
 *
 * Interface: ehlo_rewrite() on a complete 250 reply as received from the
 * MTA; ehlo_changed() on the same reply, naming what ehlo_rewrite()
 * changes; ehlo_offers() for one keyword; ehlo_add() for the shim's own
 * STARTTLS; ehlo_mask_command() on one framed command line.
 *
 * Invariants: every function finds keywords with the same helper and
 * ehlo_rewrite() and ehlo_changed() judge them with the same judge(), from
 * a policy passed by value-like const pointer that holds no buffer of
 * theirs, so the names logged are exactly the keywords rewritten; the
 * input is checked
 * whole before a byte is written, so a
 * rejected reply is left untouched even when rewritten in place; output
 * never exceeds the input (mask and pass: same length, strip: shorter);
 * the first line is never changed; the output has `250-' on every line
 * but the last, which has `250 ' (or is a bare `250').
 *
 * Masking follows the captures in reference/asa-esmtp.md 4.3 (STARTTLS
 * -> XXXXXXXA, then HELP -> XXXB).  Undocumented corners, decided here:
 * past 26 masked keywords the letter stays `Z' (distinctness cannot be
 * kept with letters, and a digit or lower-case letter would read as a
 * different syntax); a 1-character keyword is replaced by the letter
 * alone (the rule "all X but the last" applied literally); parameters
 * become `X' octet by octet with their separating spaces kept.
 */
#include <string.h>

#include "config.h"
#include "ehlo.h"

static int
kwchar(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-');
}

static unsigned char
upper(unsigned char c)
{
	return (c >= 'a' && c <= 'z' ? (unsigned char)(c - ('a' - 'A')) : c);
}

/* Is the keyword kw (klen octets) in the allow list? ASCII, no locale. */
static int
allowed(const char *kw, size_t klen, const char *const *allow, size_t nallow)
{
	size_t	i, j;

	for (i = 0; i < nallow; i++) {
		if (allow[i] == NULL || strlen(allow[i]) != klen)
			continue;
		for (j = 0; j < klen; j++)
			if (upper((unsigned char)kw[j]) !=
			    upper((unsigned char)allow[i][j]))
				break;
		if (j == klen)
			return (1);
	}
	return (0);
}

static int
is_starttls(const char *kw, size_t klen)
{
	static const char *const tls[] = { "STARTTLS" };

	return (allowed(kw, klen, tls, 1));
}

/* What ehlo_rewrite() does with a keyword. */
enum verdict { V_KEEP, V_CHANGE, V_REMOVE };

static enum verdict
judge(const char *kw, size_t klen, const struct ehlo_policy *pol)
{
	if (is_starttls(kw, klen)) {
		switch (pol->tls) {
		case EHLO_TLS_PASS:
			return (V_KEEP);
		case EHLO_TLS_REMOVE:
			return (V_REMOVE);
		case EHLO_TLS_OTHER:
		default:
			return (V_CHANGE);
		}
	}
	if (pol->other == EHLO_PASS ||
	    allowed(kw, klen, pol->allow, pol->nallow))
		return (V_KEEP);
	return (V_CHANGE);
}

/* Length of the line starting at in[s] (LF included), 0: no LF. */
static size_t
line_len(const char *in, size_t inlen, size_t s)
{
	const char *lf = memchr(in + s, '\n', inlen - s);

	return (lf == NULL ? 0 : (size_t)(lf - (in + s)) + 1);
}

/* Check the whole reply before anything is written. */
static const char *
check_reply(const char *in, size_t inlen)
{
	size_t	s, n;
	char	sep;

	if (inlen == 0)
		return ("empty EHLO reply");
	for (s = 0; s < inlen; s += n) {
		if ((n = line_len(in, inlen, s)) == 0)
			return ("EHLO reply line without LF");
		if (n < 4 || memcmp(in + s, "250", 3) != 0)
			return ("EHLO reply line not starting with 250");
		sep = in[s + 3];
		if (s + n < inlen ? sep != '-' :
		    (sep != ' ' && sep != '\r' && sep != '\n'))
			return ("EHLO reply with a misplaced continuation mark");
	}
	return (NULL);
}

/*
 * End of the keyword of the line in[s..s+n): the run of keyword octets
 * after "250-" or "250 " on a line other than the first (the greeting
 * has no keyword); s + 4 when there is none.
 */
static size_t
keyword_end(const char *in, size_t s, size_t n)
{
	size_t	kend = s + 4;

	if (s > 0 && (in[s + 3] == ' ' || in[s + 3] == '-'))
		while (kend < s + n && kwchar((unsigned char)in[kend]))
			kend++;
	return (kend);
}

/**
 * ehlo_rewrite(in, inlen, pol, out, outlen, changed): rewrite the complete
 * 250 EHLO reply ${in} (${inlen} octets, lines ending in LF, CRLF
 * normally) by the policy ${pol} into ${out} (at least ${inlen} octets;
 * may be ${in}).  The first line (the greeting) is kept; on every other
 * line the keyword (letters, digits, `-') is judged: STARTTLS by
 * pol->tls, any other keyword passes when it is in pol->allow (compared
 * case-insensitively) and is changed by pol->other when not.  A changed
 * keyword is counted; in EHLO_MASK mode `X' is written over it except its
 * last character, which becomes the count of masked keywords of this
 * reply as a letter (`A', `B', ...; from the 26th on always `Z'; a
 * 1-character keyword becomes just the letter), and `X' over every
 * parameter octet except spaces; otherwise its line is removed, as is a
 * removed STARTTLS (not counted).  Stores the output length in ${outlen}
 * and the count in ${changed} (may be NULL).  Returns NULL, or an error for
 * a reply that is not a well-formed 250 reply (${out} then undefined).
 */
const char *
ehlo_rewrite(const char *in, size_t inlen, const struct ehlo_policy *pol,
    char *out, size_t *outlen, unsigned *changed)
{
	const char *err;
	size_t	s, n, k, kend, o = 0, lastsep = 0, i;
	unsigned masked = 0, nchanged = 0;
	enum verdict v;
	char   *p;

	*outlen = 0;
	if (changed != NULL)
		*changed = 0;
	if ((err = check_reply(in, inlen)) != NULL)
		return (err);
	for (s = 0; s < inlen; s += n) {
		n = line_len(in, inlen, s);
		k = s + 4;
		kend = keyword_end(in, s, n);
		v = kend > k ? judge(in + k, kend - k, pol) : V_KEEP;
		if (v == V_CHANGE)
			nchanged++;
		if (v == V_REMOVE || (v == V_CHANGE && pol->other != EHLO_MASK))
			continue;
		if (v == V_KEEP)
			kend = k;	/* nothing to mask on this line */
		/* o <= s: later lines of an in-place reply stay intact. */
		memmove(out + o, in + s, n);
		lastsep = o + 3;
		if (kend > k) {
			p = out + o;
			for (i = 4; i < kend - s - 1; i++)
				p[i] = 'X';
			p[kend - s - 1] = (char)('A' + (masked < 25 ? masked : 25));
			masked++;
			for (i = kend - s; i < n && p[i] != '\r' && p[i] != '\n'; i++)
				if (p[i] != ' ')
					p[i] = 'X';
		}
		o += n;
	}
	/* The last line was stripped: its predecessor becomes the last. */
	if (out[lastsep] == '-')
		out[lastsep] = ' ';
	*outlen = o;
	if (changed != NULL)
		*changed = nchanged;
	return (NULL);
}

/**
 * ehlo_changed(in, inlen, pol, out, outlen): for the complete 250 EHLO
 * reply ${in} (${inlen} octets), write the keywords that ehlo_rewrite()
 * would count as changed under ${pol}, as received (letters, digits, `-'
 * only), in reply order, space separated and NUL-terminated into ${out}
 * (${outlen} octets; 0: nothing written); a keyword that does not fit
 * whole is left out, with all after it, so ${out} never holds a cut name.
 * Returns how many such keywords the reply has (the count ehlo_rewrite()
 * reports, left out ones included), 0 with ${out} empty for a reply it
 * refuses.
 */
unsigned
ehlo_changed(const char *in, size_t inlen, const struct ehlo_policy *pol,
    char *out, size_t outlen)
{
	size_t	s, n, k, kend, need, o = 0;
	unsigned count = 0;
	int	full = 0;

	if (outlen > 0)
		out[0] = '\0';
	else
		full = 1;
	/* The same acceptance as ehlo_rewrite(): no names for a refused reply. */
	if (check_reply(in, inlen) != NULL)
		return (0);
	for (s = 0; s < inlen; s += n) {
		n = line_len(in, inlen, s);
		k = s + 4;
		kend = keyword_end(in, s, n);
		if (kend == k || judge(in + k, kend - k, pol) != V_CHANGE)
			continue;
		count++;
		/* Separator, name and NUL must fit; else stop for good. */
		need = (o > 0 ? 1 : 0) + (kend - k) + 1;
		if (full || need > outlen - o) {
			full = 1;
			continue;
		}
		if (o > 0)
			out[o++] = ' ';
		memcpy(out + o, in + k, kend - k);
		o += kend - k;
		out[o] = '\0';
	}
	return (count);
}

/**
 * ehlo_offers(in, inlen, keyword): 1 if the complete 250 EHLO reply ${in}
 * (${inlen} octets) has a line whose keyword is ${keyword} (compared
 * case-insensitively, the greeting line excluded), else 0 (also for a
 * reply ehlo_rewrite() refuses).
 */
int
ehlo_offers(const char *in, size_t inlen, const char *keyword)
{
	size_t	s, n, kend;

	if (check_reply(in, inlen) != NULL)
		return (0);
	for (s = 0; s < inlen; s += n) {
		n = line_len(in, inlen, s);
		kend = keyword_end(in, s, n);
		if (kend > s + 4 && allowed(in + s + 4, kend - s - 4, &keyword, 1))
			return (1);
	}
	return (0);
}

/**
 * ehlo_mask_command(line, len): overwrite the command ${line} (${len}
 * octets) with `X' in place, its line terminator (CRLF, or a bare LF)
 * kept, length preserved (SPEC 5.3 mask, what the ASA does).
 */
void
ehlo_mask_command(char *line, size_t len)
{
	size_t	end = len;

	if (end > 0 && line[end - 1] == '\n') {
		end--;
		if (end > 0 && line[end - 1] == '\r')
			end--;
	}
	memset(line, 'X', end);
}

/**
 * ehlo_add(in, inlen, keyword, out, outlen): copy the complete 250 EHLO
 * reply ${in} (${inlen} octets, lines ending in CRLF) to ${out} with a
 * `250-${keyword}' line inserted before the last line (a one-line reply
 * becomes `250-greeting', `250 ${keyword}'): how the shim advertises a
 * STARTTLS of its own.  ${out} must not overlap ${in}.  Returns the new
 * length, or -1 if ${in} is not a well-formed 250 reply ending in CRLF or
 * the result does not fit in ${outlen}.
 */
ssize_t
ehlo_add(const char *in, size_t inlen, const char *keyword, char *out,
    size_t outlen)
{
	size_t	klen = strlen(keyword), last = 0, i, n;

	if (inlen < 5 || in[inlen - 2] != '\r' || in[inlen - 1] != '\n' ||
	    klen == 0)
		return (-1);
	/* Every line "250-" but the last "250 " (or a bare "250"). */
	for (i = 0; i < inlen; i = n) {
		const char *lf = memchr(in + i, '\n', inlen - i);

		n = (size_t)(lf - in) + 1;
		if (n - i < 5 || memcmp(in + i, "250", 3) != 0)
			return (-1);
		if (n < inlen && in[i + 3] != '-')
			return (-1);
		if (n == inlen && in[i + 3] != ' ' &&
		    !(in[i + 3] == '\r' && n - i == 5))
			return (-1);	/* the last line: "250 ..." or "250" */
		last = i;
	}
	/* A bare "250" line gains its '-' as well. */
	if (inlen + klen + 6 + (last == 0 && in[3] == '\r') > outlen)
		return (-1);
	if (last == 0) {
		/* One line: it becomes the first of two. */
		memcpy(out, in, inlen);
		out[3] = '-';
		if (in[3] == '\r') {		/* a bare "250\r\n" */
			memcpy(out + 3, "-\r\n", 3);
			n = 6;
		} else
			n = inlen;
		memcpy(out + n, "250 ", 4);
		memcpy(out + n + 4, keyword, klen);
		memcpy(out + n + 4 + klen, "\r\n", 2);
		return ((ssize_t)(n + klen + 6));
	}
	memcpy(out, in, last);
	memcpy(out + last, "250-", 4);
	memcpy(out + last + 4, keyword, klen);
	memcpy(out + last + 4 + klen, "\r\n", 2);
	memcpy(out + last + klen + 6, in + last, inlen - last);
	return ((ssize_t)(inlen + klen + 6));
}

/**
 * ehlo_policy(pol, c, monitor): the policy of the shim settings ${c}:
 * ehlo-keywords, ehlo-other and starttls (SPEC 5.2, 5.4).  With ${monitor}
 * the policy applied in monitor mode: nothing is changed but the upstream's
 * STARTTLS that terminate replaces with the shim's own (which is how the
 * session works, not a decision).
 */
void
ehlo_policy(struct ehlo_policy *pol, const struct config_shim *c, int monitor)
{
	pol->allow = (const char *const *)c->ehlo_keywords.v;
	pol->nallow = c->ehlo_keywords.n;
	pol->other = c->ehlo_other == CONFIG_EHLO_MASK ? EHLO_MASK :
	    c->ehlo_other == CONFIG_EHLO_STRIP ? EHLO_STRIP : EHLO_PASS;
	pol->tls = c->starttls == CONFIG_TLS_TERMINATE ? EHLO_TLS_REMOVE :
	    c->starttls == CONFIG_TLS_STRIP ? EHLO_TLS_OTHER : EHLO_TLS_PASS;
	if (monitor) {
		pol->other = EHLO_PASS;
		if (pol->tls == EHLO_TLS_OTHER)
			pol->tls = EHLO_TLS_PASS;
	}
}

/**
 * ehlo_client_reply(in, inlen, c, monitor, offer_tls, out, outsize,
 * outlen, names, nameslen, changed): the EHLO reply a client of the shim
 * gets for the upstream's complete 250 reply ${in} (${inlen} octets) under
 * the shim settings ${c}: rewritten by ehlo_policy(${c}, ${monitor}), with
 * a `250-STARTTLS' line of the shim's own added when ${offer_tls}
 * (terminate, before the client's TLS), into ${out} (${outsize} octets,
 * at least 2 * ${inlen} + 16; must not overlap ${in}), its length in
 * ${outlen}.  The keywords the enforcing policy changes (also in monitor
 * mode: what would have been done) go to ${names} (${nameslen} octets, as
 * ehlo_changed()) and their count to ${changed}.  Returns NULL, or an
 * error for a reply that is not a well-formed 250 reply ending in CRLF.
 */
const char *
ehlo_client_reply(const char *in, size_t inlen, const struct config_shim *c,
    int monitor, int offer_tls, char *out, size_t outsize, size_t *outlen,
    char *names, size_t nameslen, unsigned *changed)
{
	struct ehlo_policy enforce, applied;
	const char *err;
	ssize_t	n;

	*outlen = 0;
	*changed = 0;
	if (nameslen > 0)
		names[0] = '\0';
	if (outsize < 2 * inlen + 16)
		return ("EHLO reply too long");
	ehlo_policy(&enforce, c, 0);
	ehlo_policy(&applied, c, monitor);
	/* Rewritten at the end of ${out}, so that ehlo_add() can copy it to
	 * the start without an overlap. */
	if ((err = ehlo_rewrite(in, inlen, &applied, out + outsize - inlen,
	    outlen, NULL)) != NULL)
		return (err);
	if (offer_tls) {
		if ((n = ehlo_add(out + outsize - inlen, *outlen, "STARTTLS",
		    out, outsize - inlen)) < 0)
			return ("EHLO reply without CRLF");
		*outlen = (size_t)n;
	} else
		memmove(out, out + outsize - inlen, *outlen);
	*changed = ehlo_changed(in, inlen, &enforce, names, nameslen);
	return (NULL);
}
