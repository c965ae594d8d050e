/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_sockspec.c - libmilter socket specs, Postfix's spelling of them
 * and the shim's "ADDR:PORT" rows.  Rows hold their strings inline
 * (Criterion 2.4 copies parameters to a worker).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "sockspec.h"

struct milter_row {
	char	spec[160];
	int	ok;
	int	is_unix;
	char	path[160];	/* when is_unix */
};

ParameterizedTestParameters(sockspec, milter)
{
	static struct milter_row rows[] = {
		/* inet */
		{ "inet:8899@127.0.0.1", 1, 0, "" },
		{ "inet:8899", 1, 0, "" },
		{ "inet:1@0.0.0.0", 1, 0, "" },
		{ "inet:65535@192.0.2.1", 1, 0, "" },
		{ "inet:8899@localhost", 1, 0, "" },
		{ "inet:8899@milter.example.test", 1, 0, "" },
		{ "inet:8899@mx-1.example.test", 1, 0, "" },
		{ "inet:0@127.0.0.1", 0, 0, "" },
		{ "inet:65536@127.0.0.1", 0, 0, "" },
		{ "inet:99999@127.0.0.1", 0, 0, "" },
		{ "inet:-1@127.0.0.1", 0, 0, "" },
		{ "inet:+25@127.0.0.1", 0, 0, "" },
		{ "inet: 25@127.0.0.1", 0, 0, "" },
		{ "inet:smtp@127.0.0.1", 0, 0, "" },
		{ "inet:@127.0.0.1", 0, 0, "" },
		{ "inet:", 0, 0, "" },
		{ "inet:8899@", 0, 0, "" },
		{ "inet:8899@256.0.0.1", 0, 0, "" },
		{ "inet:8899@127.0.0", 0, 0, "" },
		{ "inet:8899@127.0.0.1 ", 0, 0, "" },
		{ "inet:8899@-bad.example", 0, 0, "" },
		{ "inet:8899@bad-.example", 0, 0, "" },
		{ "inet:8899@bad..example", 0, 0, "" },
		{ "inet:8899@bad_name", 0, 0, "" },
		{ "inet:8899@::1", 0, 0, "" },
		{ "inet:8899@[127.0.0.1]", 0, 0, "" },
		{ "inet:8899@127.0.0.1@x", 0, 0, "" },
		{ "inet:127.0.0.1:8899", 0, 0, "" },
		/* inet6 */
		{ "inet6:8899@[::1]", 1, 0, "" },
		{ "inet6:8899@::1", 1, 0, "" },
		{ "inet6:8899@[2001:db8::1]", 1, 0, "" },
		{ "inet6:8899@2001:db8::1", 1, 0, "" },
		{ "inet6:8899@[::]", 1, 0, "" },
		{ "inet6:8899@[::ffff:127.0.0.1]", 1, 0, "" },
		{ "inet6:8899@127.0.0.1", 0, 0, "" },
		{ "inet6:8899@[127.0.0.1]", 0, 0, "" },
		{ "inet6:8899@localhost", 0, 0, "" },
		{ "inet6:8899@[::1", 0, 0, "" },
		{ "inet6:8899@::1]", 0, 0, "" },
		{ "inet6:8899@[]", 0, 0, "" },
		{ "inet6:8899@", 0, 0, "" },
		{ "inet6:0@[::1]", 0, 0, "" },
		{ "inet6:x@[::1]", 0, 0, "" },
		{ "inet6:8899@[::1]x", 0, 0, "" },
		/* unix / local */
		{ "unix:/run/esmtp-inspect/milter.sock", 1, 1, "/run/esmtp-inspect/milter.sock" },
		{ "local:/var/spool/postfix/esmtp.sock", 1, 1, "/var/spool/postfix/esmtp.sock" },
		{ "unix:/s", 1, 1, "/s" },
		{ "unix:", 0, 1, "" },
		{ "local:", 0, 1, "" },
		{ "unix:relative/path", 0, 1, "relative/path" },
		{ "unix:/run/dir/", 0, 1, "/run/dir/" },
		/* unknown or missing type */
		{ "", 0, 0, "" },
		{ "/run/milter.sock", 0, 0, "" },
		{ "tcp:8899@127.0.0.1", 0, 0, "" },
		{ "INET:8899@127.0.0.1", 0, 0, "" },
		{ "127.0.0.1:8899", 0, 0, "" },
		{ "inet6", 0, 0, "" },
	};
	return cr_make_param_array(struct milter_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct milter_row *r, sockspec, milter)
{
	const char *err, *path = NULL;

	err = sockspec_milter_check(r->spec);
	if (r->ok)
		cr_assert_null(err, "\"%s\": %s", r->spec, err);
	else
		cr_assert_not_null(err, "\"%s\" should be refused", r->spec);
	cr_assert_eq(sockspec_milter_is_unix(r->spec, &path), r->is_unix, "%s", r->spec);
	if (r->is_unix) {
		cr_assert_str_eq(path, r->path);
		cr_assert_eq(sockspec_milter_is_unix(r->spec, NULL), 1);
	}
}

/* sun_path holds 108 octets: a 107-octet path fits, 108 does not. */
Test(sockspec, milter_unix_path_length)
{
	char	spec[5 + 200];
	size_t	n;

	for (n = 2; n <= 120; n++) {
		memcpy(spec, "unix:", 5);
		memset(spec + 5, 'a', n);
		spec[5] = '/';
		spec[5 + n] = '\0';
		if (n <= 107)
			cr_assert_null(sockspec_milter_check(spec), "%zu", n);
		else
			cr_assert_not_null(sockspec_milter_check(spec), "%zu", n);
	}
}

Test(sockspec, milter_null)
{
	cr_assert_not_null(sockspec_milter_check(NULL));
	cr_assert_eq(sockspec_milter_is_unix(NULL, NULL), 0);
}

/* Postfix's spelling of a milter socket, and libmilter's ("": not one). */
struct postfix_row {
	char	spec[80];
	char	fix[80];
};

ParameterizedTestParameters(sockspec, postfix)
{
	static struct postfix_row rows[] = {
		{ "inet:127.0.0.1:8899", "inet:8899@127.0.0.1" },
		{ "inet:[127.0.0.1]:8899", "inet:8899@127.0.0.1" },
		{ "inet:[::1]:8899", "inet6:8899@[::1]" },
		{ "inet6:[2001:db8::1]:25", "inet6:25@[2001:db8::1]" },
		{ "inet:::1:8899", "inet6:8899@[::1]" },
		{ "inet:localhost:8899", "inet:8899@localhost" },
		{ "inet:mx.example.test:1", "inet:1@mx.example.test" },
		/* libmilter's own, or neither */
		{ "inet:8899@127.0.0.1", "" },
		{ "inet:8899", "" },
		{ "inet6:8899@[::1]", "" },
		{ "unix:/run/m.sock", "" },
		{ "inet:127.0.0.1:0", "" },
		{ "inet:127.0.0.1:65536", "" },
		{ "inet:127.0.0.1:smtp", "" },
		{ "inet::8899", "" },
		{ "inet:bad_host:8899", "" },
		{ "inet:256.1.1.1:8899", "" },
		{ "tcp:127.0.0.1:8899", "" },
	};
	return cr_make_param_array(struct postfix_row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct postfix_row *r, sockspec, postfix)
{
	char	buf[80];
	const char *fix = sockspec_milter_postfix(r->spec, buf, sizeof(buf));

	if (r->fix[0] == '\0') {
		cr_assert_null(fix, "%s: %s", r->spec, fix);
		return;
	}
	cr_assert_eq(fix, buf, "%s", r->spec);
	cr_assert_str_eq(fix, r->fix);
	cr_assert_null(sockspec_milter_check(fix), "%s", fix);
	cr_assert_null(sockspec_milter_postfix(r->spec, buf, 8));
}

struct hostport_row {
	char	spec[80];
	int	ok;
	int	family;
	char	addr[48];	/* inet_ntop of the result */
	unsigned port;
};

ParameterizedTestParameters(sockspec, hostport)
{
	static struct hostport_row rows[] = {
		{ "127.0.0.1:2525", 1, AF_INET, "127.0.0.1", 2525 },
		{ "0.0.0.0:25", 1, AF_INET, "0.0.0.0", 25 },
		{ "192.0.2.1:1", 1, AF_INET, "192.0.2.1", 1 },
		{ "192.0.2.1:65535", 1, AF_INET, "192.0.2.1", 65535 },
		{ "[::1]:2526", 1, AF_INET6, "::1", 2526 },
		{ "[::]:25", 1, AF_INET6, "::", 25 },
		{ "[2001:db8::25]:587", 1, AF_INET6, "2001:db8::25", 587 },
		{ "[::ffff:192.0.2.1]:25", 1, AF_INET6, "::ffff:192.0.2.1", 25 },
		{ "127.0.0.1:0", 0, 0, "", 0 },
		{ "127.0.0.1:65536", 0, 0, "", 0 },
		{ "127.0.0.1:123456", 0, 0, "", 0 },
		{ "127.0.0.1:", 0, 0, "", 0 },
		{ "127.0.0.1", 0, 0, "", 0 },
		{ "127.0.0.1:smtp", 0, 0, "", 0 },
		{ "127.0.0.1:-25", 0, 0, "", 0 },
		{ "127.0.0.1: 25", 0, 0, "", 0 },
		{ "127.0.0.1:25 ", 0, 0, "", 0 },
		{ ":25", 0, 0, "", 0 },
		{ "", 0, 0, "", 0 },
		{ "localhost:25", 0, 0, "", 0 },
		{ "mx.example.test:25", 0, 0, "", 0 },
		{ "256.0.0.1:25", 0, 0, "", 0 },
		{ "::1:25", 0, 0, "", 0 },
		{ "2001:db8::1:25", 0, 0, "", 0 },
		{ "[::1]", 0, 0, "", 0 },
		{ "[::1]:", 0, 0, "", 0 },
		{ "[::1]25", 0, 0, "", 0 },
		{ "[::1:25", 0, 0, "", 0 },
		{ "[127.0.0.1]:25", 0, 0, "", 0 },
		{ "[localhost]:25", 0, 0, "", 0 },
		{ "[]:25", 0, 0, "", 0 },
		{ "[::1]:25:26", 0, 0, "", 0 },
	};
	return cr_make_param_array(struct hostport_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct hostport_row *r, sockspec, hostport)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const char *err;
	char	buf[INET6_ADDRSTRLEN];

	err = sockspec_hostport(r->spec, &ss, &len);
	if (!r->ok) {
		cr_assert_not_null(err, "\"%s\" should be refused", r->spec);
		return;
	}
	cr_assert_null(err, "\"%s\": %s", r->spec, err);
	cr_assert_eq(ss.ss_family, r->family);
	if (r->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		cr_assert_eq(len, sizeof(*sin));
		cr_assert_eq(ntohs(sin->sin_port), r->port);
		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		cr_assert_eq(len, sizeof(*sin6));
		cr_assert_eq(ntohs(sin6->sin6_port), r->port);
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
	}
	cr_assert_str_eq(buf, r->addr);
	/* the result arguments are optional */
	cr_assert_null(sockspec_hostport(r->spec, NULL, NULL));
}

Test(sockspec, hostport_null)
{
	cr_assert_not_null(sockspec_hostport(NULL, NULL, NULL));
}
