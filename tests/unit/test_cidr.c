/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cidr.c - cidr_parse() good/bad rows, cidr_format(), matching
 * (IPv4-mapped IPv6 clients included).  Rows hold their strings inline:
 * Criterion 2.4 copies parameters into a re-executed worker.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cidr.h"

struct parse_row {
	char	text[64];
	int	ok;
	char	formatted[64];	/* cidr_format() of the result when ok */
};

ParameterizedTestParameters(cidr, parse)
{
	static struct parse_row rows[] = {
		/* good IPv4 */
		{ "192.0.2.0/24", 1, "192.0.2.0/24" },
		{ "192.0.2.25/32", 1, "192.0.2.25/32" },
		{ "192.0.2.25", 1, "192.0.2.25/32" },
		{ "0.0.0.0/0", 1, "0.0.0.0/0" },
		{ "10.0.0.0/8", 1, "10.0.0.0/8" },
		{ "192.0.2.128/25", 1, "192.0.2.128/25" },
		{ "127.0.0.1/32", 1, "127.0.0.1/32" },
		/* good IPv6 */
		{ "2001:db8::/32", 1, "2001:db8::/32" },
		{ "2001:DB8::/32", 1, "2001:db8::/32" },
		{ "2001:db8::1", 1, "2001:db8::1/128" },
		{ "::/0", 1, "::/0" },
		{ "::1/128", 1, "::1/128" },
		{ "fe80::/10", 1, "fe80::/10" },
		{ "::ffff:192.0.2.0/120", 1, "::ffff:192.0.2.0/120" },
		/* host bits set */
		{ "192.0.2.1/24", 0, "" },
		{ "192.0.2.128/24", 0, "" },
		{ "10.0.0.1/0", 0, "" },
		{ "2001:db8::1/32", 0, "" },
		{ "fec0::/9", 0, "" },
		/* prefix out of range or malformed */
		{ "192.0.2.0/33", 0, "" },
		{ "192.0.2.0/99999999999", 0, "" },
		{ "2001:db8::/129", 0, "" },
		{ "192.0.2.0/", 0, "" },
		{ "192.0.2.0/-1", 0, "" },
		{ "192.0.2.0/+8", 0, "" },
		{ "192.0.2.0/ 24", 0, "" },
		{ "192.0.2.0/24/24", 0, "" },
		/* garbage, empty, trailing junk */
		{ "", 0, "" },
		{ "/24", 0, "" },
		{ "localhost", 0, "" },
		{ "example.com/24", 0, "" },
		{ "192.0.2", 0, "" },
		{ "192.0.2.0.0/24", 0, "" },
		{ "256.0.2.0/24", 0, "" },
		{ "192.0.2.0/24x", 0, "" },
		{ "192.0.2.0/24 ", 0, "" },
		{ " 192.0.2.0/24", 0, "" },
		{ "192.0.2.0x/24", 0, "" },
		{ "2001:db8:::/32", 0, "" },
		{ "2001:db8::g/32", 0, "" },
		{ "[2001:db8::]/32", 0, "" },
		{ "2001:db8::%eth0", 0, "" },
		{ "0x7f000001", 0, "" },
	};
	return cr_make_param_array(struct parse_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct parse_row *r, cidr, parse)
{
	struct cidr c;
	const char *err;
	char	buf[80];

	err = cidr_parse(r->text, &c);
	if (!r->ok) {
		cr_assert_not_null(err, "\"%s\" should be refused", r->text);
		return;
	}
	cr_assert_null(err, "\"%s\": %s", r->text, err);
	cidr_format(&c, buf, sizeof(buf));
	cr_assert_str_eq(buf, r->formatted);
	/* what cidr_format() writes, cidr_parse() reads back */
	cr_assert_null(cidr_parse(buf, &c));
}

struct match_row {
	char	cidr[64];
	char	addr[64];	/* client address */
	int	match;
};

ParameterizedTestParameters(cidr, match)
{
	static struct match_row rows[] = {
		{ "192.0.2.0/24", "192.0.2.1", 1 },
		{ "192.0.2.0/24", "192.0.2.255", 1 },
		{ "192.0.2.0/24", "192.0.3.0", 0 },
		{ "192.0.2.0/25", "192.0.2.127", 1 },
		{ "192.0.2.0/25", "192.0.2.128", 0 },
		{ "192.0.2.25", "192.0.2.25", 1 },
		{ "192.0.2.25", "192.0.2.24", 0 },
		{ "0.0.0.0/0", "203.0.113.9", 1 },
		{ "0.0.0.0/0", "2001:db8::1", 0 },
		{ "10.0.0.0/7", "11.255.255.255", 1 },
		{ "10.0.0.0/7", "12.0.0.0", 0 },
		/* IPv4-mapped IPv6 clients match IPv4 prefixes */
		{ "192.0.2.0/24", "::ffff:192.0.2.7", 1 },
		{ "192.0.2.0/24", "::ffff:192.0.3.7", 0 },
		{ "0.0.0.0/0", "::ffff:1.2.3.4", 1 },
		/* ... but other IPv6 addresses ending the same way do not */
		{ "192.0.2.0/24", "::192.0.2.7", 0 },
		{ "192.0.2.0/24", "64:ff9b::192.0.2.7", 0 },
		{ "192.0.2.0/24", "2001:db8::c000:207", 0 },
		/* IPv6 */
		{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
		{ "2001:db8::/32", "2001:db9::1", 0 },
		{ "2001:db8::/32", "192.0.2.1", 0 },
		{ "::/0", "::1", 1 },
		{ "::/0", "192.0.2.1", 0 },
		{ "fe80::/10", "febf::1", 1 },
		{ "fe80::/10", "fec0::1", 0 },
		{ "::1", "::1", 1 },
		{ "::1", "::2", 0 },
		{ "::ffff:192.0.2.0/120", "::ffff:192.0.2.9", 1 },
		{ "2001:db8::1:0/127", "2001:db8::1:1", 1 },
		{ "2001:db8::1:0/127", "2001:db8::1:2", 0 },
	};
	return cr_make_param_array(struct match_row, rows, sizeof(rows) / sizeof(rows[0]));
}

/* Build a sockaddr for a numeric address. */
static socklen_t
make_sa(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return sizeof(*sin);
	}
	cr_assert_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1, "%s", text);
	sin6->sin6_family = AF_INET6;
	return sizeof(*sin6);
}

ParameterizedTest(struct match_row *r, cidr, match)
{
	struct sockaddr_storage ss;
	struct cidr c;
	struct cidr_list list;
	const struct sockaddr *sa = (const struct sockaddr *)&ss;
	unsigned char raw[16];
	int	family;

	cr_assert_null(cidr_parse(r->cidr, &c), "%s", r->cidr);
	make_sa(r->addr, &ss);
	cr_assert_eq(cidr_match_sa(&c, sa), r->match, "%s in %s", r->addr, r->cidr);

	family = ss.ss_family;
	if (family == AF_INET)
		memcpy(raw, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(raw, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	cr_assert_eq(cidr_match(&c, family, raw), r->match, "%s in %s", r->addr, r->cidr);

	list.v = &c;
	list.n = 1;
	cr_assert_eq(cidr_list_match_sa(&list, sa), r->match);
}

Test(cidr, list)
{
	struct cidr_list list = { NULL, 0 };
	struct sockaddr_storage ss;
	const struct sockaddr *sa = (const struct sockaddr *)&ss;

	make_sa("192.0.2.1", &ss);
	cr_assert_eq(cidr_list_match_sa(&list, sa), 0);
	cr_assert_eq(cidr_list_match_sa(NULL, sa), 0);

	list.v = calloc(2, sizeof(*list.v));
	list.n = 2;
	cr_assert_null(cidr_parse("2001:db8::/32", &list.v[0]));
	cr_assert_null(cidr_parse("192.0.2.0/24", &list.v[1]));
	cr_assert_eq(cidr_list_match_sa(&list, sa), 1);
	make_sa("2001:db8::5", &ss);
	cr_assert_eq(cidr_list_match_sa(&list, sa), 1);
	make_sa("198.51.100.1", &ss);
	cr_assert_eq(cidr_list_match_sa(&list, sa), 0);
	cr_assert_eq(cidr_list_match_sa(&list, NULL), 0);

	cidr_list_free(&list);
	cr_assert_null(list.v);
	cr_assert_eq(list.n, 0);
	cidr_list_free(&list);
	cidr_list_free(NULL);
}

Test(cidr, non_ip_families)
{
	struct sockaddr_un sun;
	struct cidr c;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert_null(cidr_parse("0.0.0.0/0", &c));
	cr_assert_eq(cidr_match_sa(&c, (struct sockaddr *)&sun), 0);
	cr_assert_eq(cidr_match_sa(&c, NULL), 0);
	cr_assert_eq(cidr_match_sa(NULL, (struct sockaddr *)&sun), 0);
	cr_assert_null(cidr_parse("::/0", &c));
	cr_assert_eq(cidr_match_sa(&c, (struct sockaddr *)&sun), 0);
}

Test(cidr, parse_null)
{
	struct cidr c;

	cr_assert_not_null(cidr_parse(NULL, &c));
}

Test(cidr, format_small_buffer)
{
	struct cidr c;
	char	buf[8];

	cr_assert_null(cidr_parse("192.0.2.0/24", &c));
	cidr_format(&c, buf, sizeof(buf));
	cr_assert_str_eq(buf, "192.0.2");
}
