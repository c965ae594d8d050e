/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_proxy.c - PROXY protocol: golden bytes of proxy_encode_v1/_v2 (the
 * haproxy spec's own examples, IPv4 and IPv6, LOCAL/UNKNOWN), round trips
 * encode -> parse, parse rows fed in every split (need more until
 * complete), invalid rows.  Rows hold their bytes inline: Criterion 2.4
 * copies parameters into a re-executed worker, pointers would dangle.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "proxy.h"

/* ${text}:${port} into ${ss}; NULL text gives AF_UNSPEC. */
static void
mksa(struct sockaddr_storage *ss, const char *text, unsigned port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (text == NULL || *text == 0) {
		ss->ss_family = AF_UNSPEC;
	} else if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1, "%s", text);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
	}
}

/* "ADDR port" of ${ss}, or "unspec". */
static void
fmtsa(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		snprintf(buf, len, "%s %u",
		    inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)), ntohs(sin->sin_port));
	else if (ss->ss_family == AF_INET6)
		snprintf(buf, len, "%s %u",
		    inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)), ntohs(sin6->sin6_port));
	else
		snprintf(buf, len, "unspec");
}

#define SIG 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a

struct golden {
	const char *src, *dst;
	unsigned sport, dport;
	const char *v1;
	unsigned char v2[64];
	size_t	v2len;
};

static const struct golden golden[] = {
	/* haproxy spec 2.1 example */
	{ "192.168.0.1", "192.168.0.11", 56324, 443,
	  "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
	  { SIG, 0x21, 0x11, 0x00, 0x0c,
	    0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0x0b,
	    0xdc, 0x04, 0x01, 0xbb }, 28 },
	{ "2001:db8::1", "2001:db8::25", 56324, 25,
	  "PROXY TCP6 2001:db8::1 2001:db8::25 56324 25\r\n",
	  { SIG, 0x21, 0x21, 0x00, 0x24,
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25,
	    0xdc, 0x04, 0x00, 0x19 }, 52 },
	/* haproxy spec 2.1: the worst case, 107 octets with CRLF (104 here
	   as inet_ntop writes ffff, not 0xffff padded forms) */
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 65535,
	  "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	  { SIG, 0x21, 0x21, 0x00, 0x24,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff }, 52 },
	/* dual-stack listener: IPv4-mapped written as TCP4 */
	{ "::ffff:192.0.2.7", "::ffff:192.0.2.25", 1, 0,
	  "PROXY TCP4 192.0.2.7 192.0.2.25 1 0\r\n",
	  { SIG, 0x21, 0x11, 0x00, 0x0c,
	    0xc0, 0x00, 0x02, 0x07, 0xc0, 0x00, 0x02, 0x19,
	    0x00, 0x01, 0x00, 0x00 }, 28 },
	/* mixed families: TCP6 with the IPv4 side mapped */
	{ "192.0.2.7", "2001:db8::25", 2525, 25,
	  "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::25 2525 25\r\n",
	  { SIG, 0x21, 0x21, 0x00, 0x24,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x07,
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25,
	    0x09, 0xdd, 0x00, 0x19 }, 52 },
	/* unknown source: UNKNOWN / LOCAL */
	{ NULL, "192.0.2.25", 0, 25,
	  "PROXY UNKNOWN\r\n",
	  { SIG, 0x20, 0x00, 0x00, 0x00 }, 16 },
};

Test(proxy, golden)
{
	struct sockaddr_storage s, d, ps, pd;
	unsigned char buf[PROXY_ENCODE_MAX];
	char	a[80], b[80];
	size_t	i, cut, used;
	ssize_t	n;
	const char *err;

	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		const struct golden *g = &golden[i];

		mksa(&s, g->src, g->sport);
		mksa(&d, g->dst, g->dport);
		n = proxy_encode_v1(buf, sizeof(buf), (struct sockaddr *)&s,
		    (struct sockaddr *)&d);
		cr_assert_eq(n, (ssize_t)strlen(g->v1), "row %zu v1 len %zd", i, n);
		cr_assert(memcmp(buf, g->v1, (size_t)n) == 0, "row %zu v1 %.*s", i, (int)n, buf);
		/* too small a buffer: -1, for every short length */
		for (cut = 0; cut < (size_t)n; cut++)
			cr_assert_eq(proxy_encode_v1(buf, cut, (struct sockaddr *)&s,
			    (struct sockaddr *)&d), -1);

		n = proxy_encode_v2(buf, sizeof(buf), (struct sockaddr *)&s,
		    (struct sockaddr *)&d);
		cr_assert_eq(n, (ssize_t)g->v2len, "row %zu v2 len %zd", i, n);
		cr_assert(memcmp(buf, g->v2, g->v2len) == 0, "row %zu v2 bytes", i);
		for (cut = 0; cut < (size_t)n; cut++)
			cr_assert_eq(proxy_encode_v2(buf, cut, (struct sockaddr *)&s,
			    (struct sockaddr *)&d), -1);

		/* golden bytes parse back */
		cr_assert_eq(proxy_parse(g->v2, g->v2len, &ps, &pd, &used, &err), 0,
		    "row %zu: %s", i, err ? err : "");
		cr_assert_eq(used, g->v2len);
		cr_assert_eq(proxy_parse(g->v1, strlen(g->v1), &ps, &pd, &used, &err), 0,
		    "row %zu: %s", i, err ? err : "");
		cr_assert_eq(used, strlen(g->v1));
		if (g->src == NULL) {
			cr_assert_eq(ps.ss_family, AF_UNSPEC);
			cr_assert_eq(pd.ss_family, AF_UNSPEC);
		} else {
			/* v1 and v2 of one row decode to the same endpoints */
			fmtsa(&ps, a, sizeof(a));
			cr_assert_eq(proxy_parse(g->v2, g->v2len, &ps, &pd, &used, &err), 0);
			fmtsa(&ps, b, sizeof(b));
			cr_assert_str_eq(a, b, "row %zu", i);
			cr_assert_eq(ps.ss_family, g->v2[13] == 0x11 ? AF_INET : AF_INET6);
		}
	}
}

Test(proxy, unix_socket_is_unknown)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_storage d;
	unsigned char buf[PROXY_ENCODE_MAX];

	mksa(&d, "192.0.2.1", 25);
	cr_assert_eq(proxy_encode_v1(buf, sizeof(buf), (struct sockaddr *)&un,
	    (struct sockaddr *)&d), 15);
	cr_assert(memcmp(buf, "PROXY UNKNOWN\r\n", 15) == 0);
	cr_assert_eq(proxy_encode_v2(buf, sizeof(buf), (struct sockaddr *)&d, NULL), 16);
	cr_assert_eq(buf[12], 0x20);
}

/* Round trip over a static table (no pointers cross a worker). */
Test(proxy, round_trip)
{
	static const struct { const char *s, *d; unsigned sp, dp; } rt[] = {
		{ "127.0.0.1", "127.0.0.1", 41234, 25 },
		{ "0.0.0.0", "255.255.255.255", 0, 65535 },
		{ "::1", "::", 65535, 0 },
		{ "2001:db8:0:0:1:0:0:1", "fe80::1", 12345, 587 },
		{ "::192.0.2.1", "2001:db8::", 1, 2 },	/* IPv4-compatible stays v6 */
	};
	struct sockaddr_storage s, d, ps, pd;
	unsigned char buf[PROXY_ENCODE_MAX];
	char	a[80], b[80];
	size_t	i, used;
	ssize_t	n;
	int	v;
	const char *err;

	for (i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		for (v = 1; v <= 2; v++) {
			mksa(&s, rt[i].s, rt[i].sp);
			mksa(&d, rt[i].d, rt[i].dp);
			n = v == 1 ? proxy_encode_v1(buf, sizeof(buf),
			    (struct sockaddr *)&s, (struct sockaddr *)&d) :
			    proxy_encode_v2(buf, sizeof(buf),
			    (struct sockaddr *)&s, (struct sockaddr *)&d);
			cr_assert_gt(n, 0);
			cr_assert_eq(proxy_parse(buf, (size_t)n, &ps, &pd, &used, &err), 0,
			    "row %zu v%d: %s", i, v, err ? err : "");
			cr_assert_eq(used, (size_t)n);
			fmtsa(&s, a, sizeof(a));
			fmtsa(&ps, b, sizeof(b));
			cr_assert_str_eq(a, b, "row %zu v%d src", i, v);
			fmtsa(&d, a, sizeof(a));
			fmtsa(&pd, b, sizeof(b));
			cr_assert_str_eq(a, b, "row %zu v%d dst", i, v);
		}
	}
}

/*
 * Parse rows.  want 0: a valid header of ${hdrlen} octets followed by
 * client data; every shorter prefix must give "need more".  want -1: the
 * full input is invalid and no prefix may be accepted.
 */
struct parse_row {
	unsigned char in[160];
	size_t	len;
	int	want;
	size_t	hdrlen;
	char	src[64];		/* fmtsa() form */
	char	dst[64];
};

#define V1(s, w, h, a, b) { s, sizeof(s) - 1, w, h, a, b }

ParameterizedTestParameters(proxy, parse)
{
	static struct parse_row rows[] = {
		/* v1 valid */
		V1("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nEHLO x\r\n", 0, 47,
		    "192.168.0.1 56324", "192.168.0.11 443"),
		V1("PROXY TCP6 2001:db8::1 2001:db8::25 56324 25\r\n", 0, 46,
		    "2001:db8::1 56324", "2001:db8::25 25"),
		V1("PROXY TCP6 ::ffff:192.0.2.1 ::1 0 65535\r\n", 0, 41,
		    "::ffff:192.0.2.1 0", "::1 65535"),
		V1("PROXY UNKNOWN\r\n", 0, 15, "unspec", "unspec"),
		V1("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nQUIT\r\n", 0, 35,
		    "unspec", "unspec"),
		V1("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", 0, 104,
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535"),
		/* v1 invalid */
		V1("EHLO x\r\n", -1, 0, "", ""),
		V1("PROXY\r\n", -1, 0, "", ""),
		V1("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n", -1, 0, "", ""),
		V1("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\r\n", -1, 0, "", ""),
		V1("PROXY TCP4  192.168.0.1 192.168.0.11 56324 443\r\n", -1, 0, "", ""),
		V1("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 \r\n", -1, 0, "", ""),
		V1("PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n", -1, 0, "", ""),
		V1("PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n", -1, 0, "", ""),
		V1("PROXY TCP4 192.168.0.1 192.168.0.11 +1 443\r\n", -1, 0, "", ""),
		V1("PROXY TCP4 192.168.0.1 192.168.0.11 1 443x\r\n", -1, 0, "", ""),
		V1("PROXY TCP4 192.168.0.1 192.168.0.11 1\r\n", -1, 0, "", ""),
		V1("PROXY TCP4 192.168.0.01 192.168.0.11 1 2\r\n", -1, 0, "", ""),
		V1("PROXY TCP4 2001:db8::1 192.168.0.11 1 2\r\n", -1, 0, "", ""),
		V1("PROXY TCP6 192.168.0.1 2001:db8::1 1 2\r\n", -1, 0, "", ""),
		V1("PROXY TCP5 192.168.0.1 192.168.0.11 1 2\r\n", -1, 0, "", ""),
		V1("PROXY UNKNOWNX\r\n", -1, 0, "", ""),
		V1("proxy TCP4 192.168.0.1 192.168.0.11 1 2\r\n", -1, 0, "", ""),
		V1("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350000\r\n", -1, 0, "", ""),
		V1("PROXY UNKNOWN 0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789012345678901234567890\r\n",
		    -1, 0, "", ""),
		/* v2 valid: IPv4 with a TLV (PP2_TYPE_NOOP, 3 octets) and data */
		{ { SIG, 0x21, 0x11, 0x00, 0x12,
		    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x19,
		    0xdc, 0x04, 0x00, 0x19, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00,
		    'E', 'H', 'L', 'O' }, 38, 0, 34,
		  "192.0.2.1 56324", "198.51.100.25 25" },
		{ { SIG, 0x21, 0x21, 0x00, 0x24,
		    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25,
		    0xdc, 0x04, 0x00, 0x19 }, 52, 0, 52,
		  "2001:db8::1 56324", "2001:db8::25 25" },
		/* LOCAL with a payload that is skipped unread */
		{ { SIG, 0x20, 0x11, 0x00, 0x02, 0xff, 0xff, 'Q' }, 19, 0, 18,
		  "unspec", "unspec" },
		/* PROXY with UNSPEC family */
		{ { SIG, 0x21, 0x00, 0x00, 0x00 }, 16, 0, 16, "unspec", "unspec" },
		/* v2 invalid */
		{ { SIG, 0x11, 0x11, 0x00, 0x0c }, 16, -1, 0, "", "" },	/* version 1 */
		{ { SIG, 0x22, 0x11, 0x00, 0x0c }, 16, -1, 0, "", "" },	/* command 2 */
		{ { SIG, 0x21, 0x12, 0x00, 0x0c }, 16, -1, 0, "", "" },	/* UDP */
		{ { SIG, 0x21, 0x31, 0x00, 0xd8 }, 16, -1, 0, "", "" },	/* UNIX */
		{ { SIG, 0x21, 0x11, 0x00, 0x0b }, 16, -1, 0, "", "" },	/* short */
		{ { SIG, 0x21, 0x21, 0x00, 0x0c }, 16, -1, 0, "", "" },	/* short */
		{ { SIG, 0x21, 0x11, 0x04, 0x01 }, 16, -1, 0, "", "" },	/* > max */
		{ { SIG, 0x21, 0x11, 0x00, 0x0e,			/* TLV cut */
		    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x19,
		    0xdc, 0x04, 0x00, 0x19, 0x04, 0x00 }, 30, -1, 0, "", "" },
		{ { SIG, 0x21, 0x11, 0x00, 0x10,			/* TLV overruns */
		    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x19,
		    0xdc, 0x04, 0x00, 0x19, 0x04, 0x00, 0x02, 0x00 }, 32, -1, 0, "", "" },
		{ { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		    0x54, 0x0b, 0x21, 0x11, 0x00, 0x00 }, 16, -1, 0, "", "" },
		{ { 0x00 }, 1, -1, 0, "", "" },
	};

	return cr_make_param_array(struct parse_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct parse_row *row, proxy, parse)
{
	struct sockaddr_storage s, d;
	size_t	k, used;
	int	r, seen_bad = 0;
	const char *err;
	char	a[80];
	unsigned char *copy;

	for (k = 0; k <= row->len; k++) {
		/* an exact-size heap copy: ASan catches a read past k */
		copy = malloc(k ? k : 1);
		cr_assert_not_null(copy);
		memcpy(copy, row->in, k);
		used = 999;
		err = NULL;
		r = proxy_parse(copy, k, &s, &d, &used, &err);
		free(copy);
		if (row->want == 0 && k < row->hdrlen) {
			cr_assert_eq(r, 1, "prefix %zu: r=%d %s", k, r, err ? err : "");
			cr_assert_eq(used, 999, "consumed touched on need-more");
		} else if (row->want == 0) {
			cr_assert_eq(r, 0, "prefix %zu: r=%d %s", k, r, err ? err : "");
			cr_assert_eq(used, row->hdrlen);
			fmtsa(&s, a, sizeof(a));
			cr_assert_str_eq(a, row->src);
			fmtsa(&d, a, sizeof(a));
			cr_assert_str_eq(a, row->dst);
		} else {
			cr_assert_neq(r, 0, "prefix %zu accepted", k);
			if (r == -1) {
				cr_assert_not_null(err);
				seen_bad = 1;
			} else {
				cr_assert_eq(seen_bad, 0, "prefix %zu: need-more after invalid", k);
			}
		}
	}
	if (row->want == -1)
		cr_assert_eq(r, -1, "full input not refused");
}

/* proxy_sniff: is this the start of a PROXY header? */
struct sniff_row {
	unsigned char in[20];
	size_t	len;
	int	want;
};

static struct sniff_row sniff_rows[] = {
	{ "", 0, -1 },
	{ "P", 1, -1 },
	{ "PROXY", 5, -1 },
	{ "PROXY ", 6, 1 },
	{ "PROXY TCP4 1", 12, 1 },
	{ "PROXZ", 5, 0 },
	{ "EHLO x\r\n", 8, 0 },
	{ "proxy ", 6, 0 },		/* the signature is case-sensitive */
	{ "\r\n", 2, -1 },
	{ "\r\n\r\n\0\r\nQUIT", 11, -1 },
	{ "\r\n\r\n\0\r\nQUIT\n", 12, 1 },
	{ "\r\n\r\n\0\r\nQUIT\n\x21", 13, 1 },
	{ "\r\n\r\n\0\r\nQUIX\n", 12, 0 },
	{ "\r\nEHLO", 6, 0 },
};

ParameterizedTestParameters(proxy, sniff)
{
	return cr_make_param_array(struct sniff_row, sniff_rows,
	    sizeof(sniff_rows) / sizeof(sniff_rows[0]));
}

ParameterizedTest(struct sniff_row *row, proxy, sniff)
{
	cr_assert_eq(proxy_sniff(row->in, row->len), row->want,
	    "len %zu: got %d", row->len, proxy_sniff(row->in, row->len));
}
