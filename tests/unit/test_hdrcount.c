/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hdrcount.c - hdrcount over whole header blocks: the MUST-flag and
 * MUST-NOT-flag layouts of mail-peers.md 2.3 / 2.4, reset between
 * messages, and the capacity bounds.
 *
 * A row is a header block, top first, one "Name:value" per string (the
 * value as a milter sees it with SMFIP_HDR_LEADSPC), the expected
 * hdrcount_dkim_unsigned() report ("name occurrences/listed;" per call,
 * in order) and one hdrcount_get() check.  Bytes inline: Criterion 2.4
 * re-launches the binary per row.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "hdrcount.h"

#define NHDRS	10

struct hc_row {
	char	hdr[NHDRS][360];
	char	want[96];
	char	getname[32];
	unsigned getcount;
};

#define SIG_FOLDED \
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n" \
	"\td=victim.example; s=sel2024; t=1700000000;\r\n" \
	"\th=from:to:subject:date:message-id:\r\n" \
	"\t content-type : mime-version;\r\n" \
	"\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n" \
	"\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR\r\n" \
	"\t qI9sPKQjg7TAdA6QTVk4OWUu0jG2yFZeXbQ0uk5y1nY2m0a8xv3T2FWeQ=="

ParameterizedTestParameters(hdrcount, layouts)
{
	static struct hc_row rows[] = {
		/* ---- MUST flag (2.3) ---- */
		/* 1: two From, the signature lists it once (A18, RFC 6376 8.15) */
		{ { "From: a@evil.example", "From: ceo@victim.example",
		    "DKIM-Signature: v=1; d=victim.example; h=from:to:subject; b=x",
		    "To: b@victim.example", "Subject: hi" },
		  "from 2/1;", "from", 2 },
		/* 2: a prepended Subject (A15) */
		{ { "DKIM-Signature: v=1; d=x; h=from:subject; b=x",
		    "Subject: Your account is suspended", "Subject: statement",
		    "From: bank@x.example" },
		  "subject 2/1;", "subject", 2 },
		/* 3, 4: two To, two Content-Type (Fig.10) */
		{ { SIG_FOLDED, "From: a@victim.example", "To: b@x", "To: c@x",
		    "Subject: s", "Content-Type: multipart/mixed; boundary=evil",
		    "Content-Type: multipart/mixed; boundary=good" },
		  "to 2/1;content-type 2/1;", "content-type", 2 },
		/* 5: Reply-To, Message-ID, Date, Sender twice */
		{ { "DKIM-Signature: v=1; h=reply-to:message-id:date:sender:from; d=x",
		    "Reply-To: a", "Reply-To: b", "Message-ID: <1@x>", "Message-ID: <2@x>",
		    "Date: Mon, 1 Jan 2024 00:00:00 +0000", "Date: Tue, 2 Jan 2024 00:00:00 +0000",
		    "Sender: s@x", "Sender: t@x", "From: f@x" },
		  "reply-to 2/1;message-id 2/1;date 2/1;sender 2/1;", "date", 2 },
		/* 7: case variants name the same field */
		{ { "FROM: a@evil", "From: ceo@victim", "DKIM-Signature: h=From; d=x" },
		  "from 2/1;", "From", 2 },
		/* 7: white space before the colon ("From :", Fig.6b/c) */
		{ { "From : a@evil", "From: ceo@victim", "DKIM-Signature: h=from; d=x" },
		  "from 2/1;", "FROM", 2 },
		{ { "From\t : a@evil", "fRoM: ceo@victim", "DKIM-Signature: h = FROM ; d=x" },
		  "from 2/1;", "from", 2 },
		/* 7: a From whose value starts on a continuation line */
		{ { "From:\r\n a@evil", "From: ceo@victim", "DKIM-Signature: h=from; d=x" },
		  "from 2/1;", "from", 2 },
		/* 9: several signatures: the smallest count below the occurrences */
		{ { "From: a@evil", "From: ceo@victim",
		    "DKIM-Signature: v=1; d=list.example; h=from:from:subject; b=x",
		    "DKIM-Signature: v=1; d=victim.example; h=from:subject; b=y",
		    "Subject: x" },
		  "from 2/1;", "dkim-signature", 2 },
		{ { "From: a", "From: b", "From: c",
		    "DKIM-Signature: h=from:from; d=x", "DKIM-Signature: h=from; d=y",
		    "DKIM-Signature: h=from:from:from; d=z" },
		  "from 3/1;", "from", 3 },
		/* reported in order of first appearance, signature below */
		{ { "Subject: 1", "To: a", "From: x", "Subject: 2", "To: b",
		    "DKIM-Signature: h=from:to:subject; d=x" },
		  "subject 2/1;to 2/1;", "to", 2 },
		/* a folded signature, the duplicate on top of the signed one */
		{ { "Subject: prepended", SIG_FOLDED, "From: a@victim.example",
		    "To: b@x", "Subject: s" },
		  "subject 2/1;", "subject", 2 },
		/* the signature is parsed wherever it sits */
		{ { "From: a", "From: b", "DKIM-Signature: h=from; d=x" },
		  "from 2/1;", "from", 2 },

		/* ---- MUST NOT flag (2.4) ---- */
		/* 1: oversigned */
		{ { "DKIM-Signature: v=1; h=from:from:to:to:subject:subject; d=x",
		    "From: a", "To: b", "Subject: c" },
		  "", "from", 1 },
		{ { "DKIM-Signature: v=1; h=from:from; d=x", "From: a", "From: b" },
		  "", "from", 2 },
		/* 2: folded over many lines */
		{ { SIG_FOLDED, "From: a@victim.example", "To: b@x", "Subject: s",
		    "Date: d", "Message-ID: <m@x>", "Content-Type: text/plain",
		    "MIME-Version: 1.0" },
		  "", "dkim-signature", 1 },
		/* 3: several signatures */
		{ { "DKIM-Signature: v=1; a=ed25519-sha256; h=from:to; d=x",
		    "DKIM-Signature: v=1; a=rsa-sha256; h=from:to; d=x",
		    "DKIM-Signature: v=1; a=rsa-sha256; h=from:subject:to; d=list",
		    "From: a", "To: b", "Subject: c" },
		  "", "dkim-signature", 3 },
		/* 4: ARC sets i=1..2; their h= are tag values, and ARC-* repeat */
		{ { "ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=l.example; s=a; b=x",
		    "ARC-Message-Signature: i=2; a=rsa-sha256; h=from:from:to:subject; d=l; b=y",
		    "ARC-Authentication-Results: i=2; l.example; dkim=pass",
		    "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=m.example; s=a; b=x",
		    "ARC-Message-Signature: i=1; a=rsa-sha256; h=from:to:subject; d=m; b=y",
		    "ARC-Authentication-Results: i=1; m.example; spf=pass",
		    "DKIM-Signature: v=1; h=from:to:subject:arc-seal; d=x",
		    "From: a", "To: b", "Subject: c" },
		  "", "arc-seal", 2 },
		/* 5: many Received etc., even when a signature lists them */
		{ { "Received: from a", "Received: from b", "Received: from c",
		    "Received: from d", "Received: from e",
		    "Authentication-Results: mx; dkim=pass",
		    "Authentication-Results: mx2; dkim=pass",
		    "Received-SPF: pass", "Return-Path: <a@x>",
		    "DKIM-Signature: v=1; h=received:authentication-results:received-spf:"
		    "return-path:dkim-signature:from; d=x" },
		  "", "received", 5 },
		/* 5: X-*, Comments, Keywords repeated but not signed */
		{ { "DKIM-Signature: h=from; d=x", "From: a", "X-Foo: 1", "X-Foo: 2",
		    "Comments: a", "Comments: b", "Keywords: k", "Keywords: l" },
		  "", "x-foo", 2 },
		/* z= copied headers are never headers */
		{ { "DKIM-Signature: v=1; d=x; h=from:to:subject;\r\n"
		    "\tz=From:a@b.test|From:evil@x|To:c@d.test|Subject:hi|Subject:again;\r\n"
		    "\tb=abc", "From: a@b.test", "To: c@d.test", "Subject: hi" },
		  "", "from", 1 },
		/* DomainKey-Signature h= is ignored */
		{ { "DomainKey-Signature: a=rsa-sha1; c=nofws; d=x; h=x-mailer:from; b=z",
		    "X-Mailer: a", "X-Mailer: b", "From: a" },
		  "", "x-mailer", 2 },
		/* 6: Resent blocks */
		{ { "Resent-From: a", "Resent-Date: d1", "Resent-To: t",
		    "Resent-From: b", "Resent-Date: d2", "Resent-To: u",
		    "DKIM-Signature: h=from:to:subject; d=x", "From: f", "To: t", "Subject: s" },
		  "", "resent-from", 2 },
		/* a listed name that is absent contributes nothing */
		{ { "DKIM-Signature: h=from:reply-to:reply-to:cc; d=x", "From: a" },
		  "", "reply-to", 0 },
		/* a malformed signature (duplicated tag) cannot verify: ignored */
		{ { "DKIM-Signature: h=from; d=x; d=y", "From: a", "From: b" },
		  "", "from", 2 },
		{ { "DKIM-Signature: d=x; b=y", "From: a", "From: b" },
		  "", "from", 2 },
		/* header names inside other values */
		{ { "Subject: From: a@b To: c", "From: x", "X-Note: \"Subject: y\"",
		    "DKIM-Signature: h=from:subject; d=x" },
		  "", "subject", 1 },
		/* no signature at all */
		{ { "From: a", "From: b" }, "", "from", 2 },
	};
	return cr_make_param_array(struct hc_row, rows, sizeof(rows) / sizeof(rows[0]));
}

struct report {
	char	buf[256];
	size_t	len;
};

static void
report(void *arg, const char *name, unsigned occ, unsigned listed)
{
	struct report *r = arg;
	int	n;

	cr_assert(occ > listed && listed >= 1);
	n = snprintf(r->buf + r->len, sizeof(r->buf) - r->len, "%s %u/%u;", name,
	    occ, listed);
	cr_assert(n > 0 && (size_t)n < sizeof(r->buf) - r->len);
	r->len += (size_t)n;
}

/* Feed one "Name:value" string. */
static int
add(struct hdrcount *hc, const char *h)
{
	const char *colon = strchr(h, ':');

	cr_assert_not_null(colon, "%s", h);
	return (hdrcount_add(hc, h, (size_t)(colon - h), colon + 1,
	    strlen(colon + 1)));
}

static unsigned
semicolons(const char *s)
{
	unsigned n = 0;

	for (; *s != '\0'; s++)
		n += *s == ';';
	return (n);
}

static void
run(struct hdrcount *hc, const struct hc_row *r)
{
	struct report rep;
	unsigned calls;
	size_t	i;

	for (i = 0; i < NHDRS && r->hdr[i][0] != '\0'; i++)
		cr_assert_eq(add(hc, r->hdr[i]), 0, "%s", r->hdr[i]);
	memset(&rep, 0, sizeof(rep));
	calls = hdrcount_dkim_unsigned(hc, report, &rep);
	cr_assert_str_eq(rep.buf, r->want, "block starting \"%.40s\"", r->hdr[0]);
	cr_assert_eq(calls, semicolons(r->want));
	cr_assert_eq(hdrcount_get(hc, r->getname), r->getcount, "%s", r->getname);
}

ParameterizedTest(struct hc_row *r, hdrcount, layouts)
{
	struct hdrcount *hc = hdrcount_new();

	cr_assert_not_null(hc);
	run(hc, r);
	/* the same block again after a reset: the same answer */
	hdrcount_reset(hc);
	run(hc, r);
	hdrcount_free(hc);
}

Test(hdrcount, reset_between_messages)
{
	struct hdrcount *hc = hdrcount_new();
	struct report rep;
	char	name[32];
	int	i;

	cr_assert_not_null(hc);
	cr_assert_eq(add(hc, "From: a"), 0);
	cr_assert_eq(add(hc, "From: b"), 0);
	cr_assert_eq(add(hc, "DKIM-Signature: h=from; d=x"), 0);
	memset(&rep, 0, sizeof(rep));
	cr_assert_eq(hdrcount_dkim_unsigned(hc, report, &rep), 1);
	hdrcount_reset(hc);
	cr_assert_eq(hdrcount_get(hc, "from"), 0);
	cr_assert_eq(hdrcount_get(hc, "dkim-signature"), 0);
	cr_assert_eq(add(hc, "From: a"), 0);
	memset(&rep, 0, sizeof(rep));
	cr_assert_eq(hdrcount_dkim_unsigned(hc, report, &rep), 0);
	cr_assert_eq(hdrcount_get(hc, "from"), 1);
	/* a signature of the previous message does not linger */
	cr_assert_eq(add(hc, "From: b"), 0);
	cr_assert_eq(hdrcount_dkim_unsigned(hc, report, &rep), 0);

	/* a big message (the other reset path), then a small one */
	hdrcount_reset(hc);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "X-N%d", i);
		cr_assert_eq(hdrcount_add(hc, name, strlen(name), " v", 2), 0);
	}
	cr_assert_eq(hdrcount_get(hc, "x-n2999"), 1);
	hdrcount_reset(hc);
	cr_assert_eq(hdrcount_get(hc, "x-n2999"), 0);
	cr_assert_eq(hdrcount_get(hc, "x-n0"), 0);
	cr_assert_eq(add(hc, "X-N5: v"), 0);
	cr_assert_eq(hdrcount_get(hc, "X-n5"), 1);
	hdrcount_free(hc);
	hdrcount_free(NULL);
}

Test(hdrcount, bound_names)
{
	struct hdrcount *hc = hdrcount_new();
	char	name[32];
	int	i, round;

	cr_assert_not_null(hc);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < HDRCOUNT_MAX_NAMES; i++) {
			snprintf(name, sizeof(name), "X-%d", i);
			cr_assert_eq(hdrcount_add(hc, name, strlen(name), " v", 2), 0, "%s", name);
		}
		/* known names still count; a new one does not fit */
		cr_assert_eq(hdrcount_add(hc, "x-0", 3, " v", 2), 0);
		cr_assert_eq(hdrcount_get(hc, "X-0"), 2);
		cr_assert_eq(hdrcount_add(hc, "From", 4, " v", 2), -1);
		cr_assert_eq(hdrcount_get(hc, "from"), 0);
		hdrcount_reset(hc);
	}
	cr_assert_eq(hdrcount_add(hc, "From", 4, " v", 2), 0);
	cr_assert_eq(hdrcount_get(hc, "from"), 1);
	hdrcount_free(hc);
}

Test(hdrcount, bound_name_octets)
{
	/* long distinct names exhaust the name store before the count does */
	static char name[2000];
	struct hdrcount *hc = hdrcount_new();
	int	i, rc = 0;

	cr_assert_not_null(hc);
	memset(name, 'n', sizeof(name));
	for (i = 0; i < HDRCOUNT_MAX_NAMES && rc == 0; i++) {
		snprintf(name, 16, "X-%08d", i);
		name[10] = 'n';
		rc = hdrcount_add(hc, name, sizeof(name), " v", 2);
	}
	cr_assert_eq(rc, -1);
	cr_assert(i < HDRCOUNT_MAX_NAMES);
	hdrcount_reset(hc);
	cr_assert_eq(hdrcount_add(hc, name, sizeof(name), " v", 2), 0);
	hdrcount_free(hc);
}

Test(hdrcount, bound_signatures)
{
	struct hdrcount *hc = hdrcount_new();
	struct report rep;
	int	i;

	cr_assert_not_null(hc);
	cr_assert_eq(add(hc, "From: a"), 0);
	cr_assert_eq(add(hc, "From: b"), 0);
	for (i = 0; i < HDRCOUNT_MAX_SIGS; i++)
		cr_assert_eq(add(hc, "DKIM-Signature: h=from:from; d=x"), 0, "sig %d", i);
	cr_assert_eq(add(hc, "DKIM-Signature: h=from; d=x"), -1);
	/* the field was still counted */
	cr_assert_eq(hdrcount_get(hc, "dkim-signature"), HDRCOUNT_MAX_SIGS + 1);
	/* malformed signatures are ignored, not counted against the bound */
	hdrcount_reset(hc);
	for (i = 0; i < HDRCOUNT_MAX_SIGS * 2; i++)
		cr_assert_eq(add(hc, "DKIM-Signature: d=x"), 0);
	cr_assert_eq(add(hc, "DKIM-Signature: h=from; d=x"), 0);
	cr_assert_eq(add(hc, "From: a"), 0);
	cr_assert_eq(add(hc, "From: b"), 0);
	memset(&rep, 0, sizeof(rep));
	cr_assert_eq(hdrcount_dkim_unsigned(hc, report, &rep), 1);
	cr_assert_str_eq(rep.buf, "from 2/1;");
	hdrcount_free(hc);
}

Test(hdrcount, bound_names_per_signature)
{
	static char v[256 * 8 + 64];
	struct hdrcount *hc = hdrcount_new();
	size_t	len = 0;
	int	i;

	cr_assert_not_null(hc);
	len += (size_t)snprintf(v, sizeof(v), "d=x; h=from");
	for (i = 1; i < 256; i++)
		len += (size_t)snprintf(v + len, sizeof(v) - len, ":from");
	cr_assert_eq(hdrcount_add(hc, "DKIM-Signature", 14, v, len), 0);
	len += (size_t)snprintf(v + len, sizeof(v) - len, ":to");
	cr_assert_eq(hdrcount_add(hc, "DKIM-Signature", 14, v, len), -1);
	hdrcount_free(hc);
}

/* Many messages through one counter: reset must leave no stale slot. */
Test(hdrcount, reset_many_messages, .timeout = 20)
{
	struct hdrcount *hc = hdrcount_new();
	char	name[32];
	int	m, j;

	cr_assert_not_null(hc);
	for (m = 0; m < 300; m++) {
		hdrcount_reset(hc);
		for (j = 0; j < 200; j++) {
			snprintf(name, sizeof(name), "X-%d-%d", m, j);
			cr_assert_eq(hdrcount_add(hc, name, strlen(name), " v", 2), 0);
		}
		cr_assert_eq(add(hc, "From: a"), 0);
		for (j = 0; j < 200; j++) {
			snprintf(name, sizeof(name), "x-%d-%d", m, j);
			cr_assert_eq(hdrcount_get(hc, name), 1, "message %d: %s", m, name);
			if (m > 0) {
				snprintf(name, sizeof(name), "x-%d-%d", m - 1, j);
				cr_assert_eq(hdrcount_get(hc, name), 0, "message %d: %s", m, name);
			}
		}
		cr_assert_eq(hdrcount_get(hc, "from"), 1, "message %d", m);
	}
	hdrcount_free(hc);
}
