/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_command.c - libFuzzer target, differential: the shim's reading of
 * one command line (smtpframe_cmd(), smtpframe_bdat_arg(), the verb
 * table) against a model of how Postfix 3.7's smtpd reads the same line,
 * written here from its behaviour (smtp_get(): the LF and the CRs before
 * it go; the command is a C string; smtpd_token(): words split at
 * ISSPACE, "..." and <...> quoted with nesting, backslash escapes, a word
 * ends after "to:" or "from:"; the verb compared case-insensitively;
 * bdat_cmd(): argc 2 or 3, alldig() count read by off_cvt_string(), the
 * third word "LAST" in any case).
 *
 * The input is one line (a LF is added when missing).  Invariants, each
 * a way the MTA could read octets the shim framed otherwise:
 * - a verb the MTA knows and treats apart (DATA, BDAT, AUTH, STARTTLS,
 *   QUIT, HELO, EHLO) is the verb the shim finds, and the reverse;
 * - a line the shim forwards as BDAT with count N (and LAST or not) is
 *   BDAT N (LAST or not) to the MTA;
 * - a verb the shim does not know waits for the reply (verb_next()).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpframe.h"
#include "verb.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXW	16

struct words {
	int	n;
	char	w[MAXW][128];		/* cut at 127 octets: enough here */
};

static int
pf_space(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r');
}

static void
add(char *w, size_t *len, int c)
{
	if (*len < 127)
		w[(*len)++] = (char)c;
}

/* A quoted part: until ${last}, nested "..." and <...> inside <...>. */
static const char *
quoted(const char *cp, char *w, size_t *len, int start, int last)
{
	char	stack[256];
	int	depth = 0, wanted = last, c;

	stack[depth++] = (char)last;
	add(w, len, start);
	while ((c = (unsigned char)*cp) != 0) {
		cp++;
		add(w, len, c);
		if (c == '\\') {
			if ((c = (unsigned char)*cp) == 0)
				break;
			cp++;
			add(w, len, c);
		} else if (c == wanted) {
			if (depth == 1)
				return (cp);
			wanted = stack[--depth - 1];
		} else if (c == '"' && depth < (int)sizeof(stack)) {
			stack[depth++] = '"';
			wanted = '"';
		} else if (c == '<' && wanted == '>' &&
		    depth < (int)sizeof(stack)) {
			stack[depth++] = '>';
			wanted = '>';
		}
	}
	return (cp);
}

/* Postfix's words of the C string ${cp}. */
static void
pf_words(const char *cp, struct words *out)
{
	size_t	len;
	int	c;

	out->n = 0;
	while (out->n < MAXW) {
		char   *w = out->w[out->n];

		len = 0;
		while ((c = (unsigned char)*cp) != 0) {
			cp++;
			if (pf_space(c)) {
				while (*cp != 0 && pf_space((unsigned char)*cp))
					cp++;
				if (len > 0)
					break;
			} else if (c == '<') {
				cp = quoted(cp, w, &len, c, '>');
			} else if (c == '"') {
				cp = quoted(cp, w, &len, c, c);
			} else if (c == ':') {
				add(w, &len, c);
				if ((len == 3 && strncasecmp(w, "to:", 3) == 0) ||
				    (len == 5 && strncasecmp(w, "from:", 5) == 0))
					break;
			} else {
				if (c == '\\') {
					add(w, &len, c);
					if ((c = (unsigned char)*cp) == 0)
						break;
					cp++;
				}
				add(w, &len, c);
			}
		}
		if (len == 0)
			return;
		w[len] = '\0';
		out->n++;
	}
}

/* Postfix's off_cvt_string() on an all-digit word: -1 on overflow. */
static long long
pf_count(const char *w)
{
	long long n = 0;

	for (; *w != '\0'; w++) {
		if (n > (0x7fffffffffffffffLL - (*w - '0')) / 10)
			return (-1);
		n = n * 10 + (*w - '0');
	}
	return (n);
}

static int
all_digits(const char *w)
{
	if (*w == '\0')
		return (0);
	for (; *w != '\0'; w++)
		if (!isdigit((unsigned char)*w))
			return (0);
	return (1);
}

/* The verbs whose next octets the MTA reads otherwise than a line. */
static const char *const special[] = { "DATA", "BDAT", "AUTH", "STARTTLS",
	"QUIT", "HELO", "EHLO" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpframe_cmd cmd;
	struct words pw;
	unsigned char *line;
	char   *cstr;
	const char *err, *berr;
	unsigned long long n;
	size_t	len, end, i;
	int	last;

	if (size > 4096)
		return (0);
	/* Exact-size buffer: ASan sees any read past the line. */
	len = size + (size == 0 || data[size - 1] != '\n');
	if ((line = malloc(len)) == NULL || (cstr = malloc(len + 1)) == NULL) {
		free(line);
		return (0);
	}
	memcpy(line, data, size);
	line[len - 1] = '\n';

	/* The MTA's reading: smtp_get(), then a C string. */
	end = len - 1;
	while (end > 0 && line[end - 1] == '\r')
		end--;
	memcpy(cstr, line, end);
	cstr[end] = '\0';
	pf_words(cstr, &pw);

	err = smtpframe_cmd(line, len, &cmd);
	if (cmd.word < line || cmd.word + cmd.wordlen > line + len ||
	    cmd.arg < cmd.word + cmd.wordlen || cmd.arg + cmd.arglen > line + len)
		abort();
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		int	mta = pw.n > 0 && strcasecmp(pw.w[0], special[i]) == 0;
		int	shim = err == NULL && strcmp(cmd.verb, special[i]) == 0;

		if (mta != shim)
			abort();
	}
	if (err == NULL && verb_lookup(cmd.verb) == NULL &&
	    verb_next(NULL) != VERB_NEXT_REPLY)
		abort();

	berr = smtpframe_bdat_arg(line, len, &n, &last);
	if (berr == NULL) {
		/* forwarded as BDAT n: the MTA must read exactly that */
		if (err != NULL || strcmp(cmd.verb, "BDAT") != 0)
			abort();
		if (pw.n != 2 + last || strcasecmp(pw.w[0], "BDAT") != 0 ||
		    !all_digits(pw.w[1]) || pf_count(pw.w[1]) < 0 ||
		    (unsigned long long)pf_count(pw.w[1]) != n)
			abort();
		if (last && strcasecmp(pw.w[2], "LAST") != 0)
			abort();
	}
	free(line);
	free(cstr);
	return (0);
}
