/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_addr.c - addr_strip(), addr_badchars() and addr_domain() rows.  Inputs carry an
 * explicit length so that NUL, CR and LF can sit inside them; rows hold
 * their bytes inline (Criterion 2.4 copies parameters to a worker).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "addr.h"

/* A string literal as (bytes, length), embedded NULs included. */
#define S(x)	x, sizeof(x) - 1

struct strip_row {
	char	in[64];
	size_t	inlen;
	char	out[64];
	size_t	outlen;
};

ParameterizedTestParameters(addr, strip)
{
	static struct strip_row rows[] = {
		{ S("<user@example.test>"), S("user@example.test") },
		{ S("user@example.test"), S("user@example.test") },
		{ S("<>"), S("") },
		{ S(""), S("") },
		{ S("   "), S("") },
		{ S(" <>  "), S("") },
		{ S("  <user@example.test>  "), S("user@example.test") },
		{ S("< user@example.test >"), S("user@example.test") },
		/* ESMTP parameters after the closing bracket */
		{ S("<user@example.test> SIZE=1000 BODY=8BITMIME"), S("user@example.test") },
		{ S("<user@example.test>SIZE=1000"), S("user@example.test") },
		{ S("<> SIZE=1000"), S("") },
		{ S("user@example.test SIZE=1000"), S("user@example.test") },
		/* unclosed bracket: the rest */
		{ S("<user@example.test"), S("user@example.test") },
		{ S("<"), S("") },
		/* a quoted local part may hold '>' and spaces */
		{ S("<\"a>b\"@example.test> SIZE=1"), S("\"a>b\"@example.test") },
		{ S("<\"a b\\\"c\"@example.test>"), S("\"a b\\\"c\"@example.test") },
		{ S("<\"unterminated@x> Y"), S("\"unterminated@x") },
		/* source route kept */
		{ S("<@relay.test:user@example.test>"), S("@relay.test:user@example.test") },
		/* NUL and other octets are just octets */
		{ S("<us\0er@example.test>"), S("us\0er@example.test") },
		{ S("\0"), S("\0") },
		{ S("<a|b`c\r\n@x>"), S("a|b`c\r\n@x") },
		{ S("<a<b@x>>"), S("a<b@x") },
		{ S("\t<a@x>\t"), S("a@x") },
	};
	return cr_make_param_array(struct strip_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct strip_row *r, addr, strip)
{
	const char *out = NULL;
	size_t	outlen = 12345;

	addr_strip(r->in, r->inlen, &out, &outlen);
	cr_assert_eq(outlen, r->outlen, "\"%s\": got %zu, want %zu", r->in, outlen,
	    r->outlen);
	cr_assert_not_null(out);
	if (r->inlen > 0)
		cr_assert(out >= r->in && out + outlen <= r->in + r->inlen);
	cr_assert_eq(memcmp(out, r->out, outlen), 0, "\"%s\"", r->in);
}

Test(addr, strip_does_not_read_past_len)
{
	/* the length, not the NUL, ends the input */
	const char buf[] = "<a@x>ZZZZ";
	const char *out;
	size_t	outlen;

	addr_strip(buf, 4, &out, &outlen);	/* "<a@x" */
	cr_assert_eq(outlen, 3);
	cr_assert_eq(memcmp(out, "a@x", 3), 0);
	addr_strip(NULL, 0, &out, &outlen);
	cr_assert_eq(outlen, 0);
}

struct bad_row {
	char	in[64];
	size_t	inlen;
	size_t	count;
	unsigned char first;
};

ParameterizedTestParameters(addr, badchars)
{
	static struct bad_row rows[] = {
		{ S("<user@example.test>"), 0, 0 },
		{ S("user@example.test"), 0, 0 },
		{ S("<>"), 0, 0 },
		{ S(""), 0, 0 },
		{ S(" <user@example.test> "), 0, 0 },
		{ S("<first.last+tag@example.test>"), 0, 0 },
		{ S("<\"quoted local\"@example.test>"), 0, 0 },
		/* forbidden octets */
		{ S("<a|b@example.test>"), 1, '|' },
		{ S("<a`b@example.test>"), 1, '`' },
		{ S("<a\0b@example.test>"), 1, '\0' },
		{ S("\0"), 1, '\0' },
		{ S("<a\rb@example.test>"), 1, '\r' },
		{ S("<a\nb@example.test>"), 1, '\n' },
		/* anything after ">" but spaces: the brackets are no pair */
		{ S("<a@example.test>\r\n"), 4, '<' },
		{ S("<|`\0\r\n@x>"), 5, '|' },
		{ S("<`|@x>"), 2, '`' },
		{ S("||||"), 4, '|' },
		/* stray angle brackets */
		{ S("<a<b@example.test>"), 1, '<' },
		{ S("<a>b@example.test>"), 1, '>' },
		{ S("<<a@example.test>>"), 2, '<' },
		{ S("a@example.test>"), 1, '>' },
		{ S("<a@example.test"), 1, '<' },
		{ S("<a@example.test> SIZE=1"), 2, '<' },
		{ S("><"), 2, '>' },
		{ S("<"), 1, '<' },
		{ S(">"), 1, '>' },
		{ S("a<b>c"), 2, '<' },
		{ S("<a@x>|"), 3, '<' },
		/* 8-bit and spaces are not this rule's business */
		{ S("<j\xc3\xb6rg@example.test>"), 0, 0 },
		{ S("<a b@example.test>"), 0, 0 },
	};
	return cr_make_param_array(struct bad_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct bad_row *r, addr, badchars)
{
	unsigned char first = 0xAA;
	size_t	n;

	n = addr_badchars(r->in, r->inlen, &first);
	cr_assert_eq(n, r->count, "\"%s\" (%zu octets): got %zu, want %zu",
	    r->in, r->inlen, n, r->count);
	if (r->count > 0)
		cr_assert_eq(first, r->first, "\"%s\": first 0x%02x, want 0x%02x",
		    r->in, first, r->first);
	else
		cr_assert_eq(first, 0xAA, "first must be left alone");
	/* first may be NULL */
	cr_assert_eq(addr_badchars(r->in, r->inlen, NULL), r->count);
}

Test(addr, badchars_uses_len)
{
	unsigned char first = 0;

	cr_assert_eq(addr_badchars("<a@x>|", 5, &first), 0);
	cr_assert_eq(addr_badchars(NULL, 0, &first), 0);
}

/* addr_list(): the addresses of a field body, joined with "|" for a row. */
struct list_row {
	char	in[160];
	char	out[160];
	size_t	count;
};

ParameterizedTestParameters(addr, list)
{
	static struct list_row rows[] = {
		{ "user@example.test", "user@example.test", 1 },
		{ " <user@example.test>", "user@example.test", 1 },
		{ "John Doe <jd@example.test>", "jd@example.test", 1 },
		{ "\"Doe, John\" <jd@example.test>, b@example.test",
		    "jd@example.test|b@example.test", 2 },
		{ "a@example.test (Alice, A.), b@example.test (Bob)",
		    "a@example.test|b@example.test", 2 },
		{ "(c) a @ example . test", "a@example.test", 1 },
		{ "a@example.test,\n\tb@example.test,\r\n c@example.test",
		    "a@example.test|b@example.test|c@example.test", 3 },
		/* groups: the name is skipped, the members listed */
		{ "undisclosed-recipients:;", "", 0 },
		{ "team: a@example.test, B <b@example.test>;, c@example.test",
		    "a@example.test|b@example.test|c@example.test", 3 },
		/* an obsolete route, comments and space inside the brackets */
		{ "<@relay.test,@r2.test:user@example.test>", "user@example.test", 1 },
		{ "< user (x) @example.test >", "user@example.test", 1 },
		/* quoted local parts and domain literals kept whole */
		{ "\"a b\"@example.test", "\"a b\"@example.test", 1 },
		{ "<\"a>,b\"@example.test>", "\"a>,b\"@example.test", 1 },
		{ "user@[192.0.2.1]", "user@[192.0.2.1]", 1 },
		/* the null path of Return-Path: an empty address */
		{ "<>", "", 1 },
		/* only a phrase, or nothing: no address */
		{ "John Doe", "", 0 },
		{ "", "", 0 },
		{ " , ,", "", 0 },
		{ "root", "root", 1 },
		/* after the angle address nothing counts; unclosed: the rest */
		{ "<a@example.test> trailing", "a@example.test", 1 },
		{ "Name <a@example.test", "a@example.test", 1 },
		/* RFC 2047 display names are phrases */
		{ "=?UTF-8?Q?J=C3=B6rg?= <j@example.test>", "j@example.test", 1 },
	};
	return cr_make_param_array(struct list_row, rows, sizeof(rows) / sizeof(rows[0]));
}

struct list_out {
	char	text[160];
	size_t	n;
};

static int
list_collect(void *arg, const char *addr, size_t len)
{
	struct list_out *o = arg;

	if (o->n > 0)
		o->text[o->n++] = '|';
	memcpy(o->text + o->n, addr, len);
	o->n += len;
	o->text[o->n] = '\0';
	return (0);
}

ParameterizedTest(struct list_row *r, addr, list)
{
	struct list_out o = { "", 0 };
	char	buf[160];
	size_t	n;

	n = addr_list(r->in, strlen(r->in), buf, list_collect, &o);
	cr_assert_str_eq(o.text, r->out, "\"%s\"", r->in);
	cr_assert_eq(n, r->count, "\"%s\": %zu addresses", r->in, n);
}

static int
list_first(void *arg, const char *addr, size_t len)
{
	list_collect(arg, addr, len);
	return (1);
}

Test(addr, list_stops_and_uses_len)
{
	struct list_out o = { "", 0 };
	char	buf[64];

	/* ${fn} returning non-zero ends the list */
	cr_assert_eq(addr_list("a@x, b@y", 8, buf, list_first, &o), 1);
	cr_assert_str_eq(o.text, "a@x");
	/* the length, not the NUL, ends the input; a NUL is an octet */
	o.n = 0;
	cr_assert_eq(addr_list("a\0b@x, c@y", 5, buf, list_collect, &o), 1);
	cr_assert_eq(o.n, 5);
	cr_assert_eq(memcmp(o.text, "a\0b@x", 5), 0);
	cr_assert_eq(addr_list(NULL, 0, buf, list_collect, &o), 0);
}

/* addr_domain(): the domain as an MTA routes the address. */
struct domain_row {
	char	in[64];
	size_t	inlen;
	int	rc;
	char	dom[64];
	size_t	domlen;
};

ParameterizedTestParameters(addr, domain)
{
	static struct domain_row rows[] = {
		{ S("user@example.test"), 1, S("example.test") },
		{ S("user@Example.TEST."), 1, S("Example.TEST.") },
		/* what Postfix may route by the local part: fail closed */
		{ S("a@b@example.test"), -1, S("") },
		{ S("\"a@evil.test\"@example.test"), -1, S("") },
		{ S("a\\@evil.test@example.test"), -1, S("") },
		{ S("\"a\\\"@evil.test\"@example.test"), -1, S("") },
		{ S("user%evil.test@example.test"), -1, S("") },
		{ S("evil.test!user@example.test"), -1, S("") },
		{ S("\"user%evil.test\"@example.test"), -1, S("") },
		{ S("user@exa%mple.test"), -1, S("") },
		{ S("\"john smith\"@example.test"), 1, S("example.test") },
		{ S("@relay.test,@r2.test:user@example.test"), 1,
		  S("example.test") },
		{ S("user@[192.0.2.1]"), 1, S("[192.0.2.1]") },
		{ S("user@"), 1, S("") },
		{ S("postmaster"), 0, S("") },
		{ S(""), 0, S("") },
		{ S("\"a@b\""), -1, S("") },
		{ S("a\\@b"), -1, S("") },
		{ S("@relay.test:postmaster"), 0, S("") },
		{ S("user%evil.test"), -1, S("") },
		{ S("evil.test!user"), -1, S("") },
		{ S("\"user%evil.test\""), -1, S("") },
		/* the length is explicit: a NUL does not end it */
		{ S("a\0@evil.test"), 1, S("evil.test") },
	};

	return (cr_make_param_array(struct domain_row, rows,
	    sizeof(rows) / sizeof(rows[0])));
}

ParameterizedTest(struct domain_row *row, addr, domain)
{
	const char *dom = NULL;
	size_t	domlen = 99;
	int	rc;

	rc = addr_domain(row->in, row->inlen, &dom, &domlen);
	cr_assert_eq(rc, row->rc, "%s: rc %d, want %d", row->in, rc, row->rc);
	if (rc != 1)
		return;
	cr_assert(dom >= row->in && dom + domlen <= row->in + row->inlen);
	cr_assert_eq(domlen, row->domlen, "%s: %zu octets", row->in, domlen);
	cr_assert(memcmp(dom, row->dom, domlen) == 0, "%s: %.*s", row->in,
	    (int)domlen, dom);
}
