/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_limit.c - the shim's connection limits: admission, the three
 * limits, exempt clients, IPv4/IPv4-mapped equivalence, IPv6 clients
 * counted by prefix, episodes logged once, release.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <netinet/in.h>
#include <string.h>

#include "limit.h"

static struct sockaddr_storage
sa_of(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		cr_assert_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return (ss);
}

/*
 * A script of steps: 'a' admit (expect kind and log), 'h' hatch the
 * embryonic count, 'r' release (embryonic flag in ${emb}).
 */
struct step {
	char	op;
	char	addr[40];
	int	exempt;
	int	emb;		/* r: still embryonic */
	int	kind;		/* a: expected verdict */
	int	log;		/* a: expected first-of-episode */
};

struct script {
	const char *name;
	struct limit_max max;
	struct step steps[12];
};

static struct script scripts[] = {
	{ "total", { 2, 10, 10, 128 }, {
		{ 'a', "192.0.2.1", 0, 0, LIMIT_OK, 0 },
		{ 'a', "192.0.2.2", 0, 0, LIMIT_OK, 0 },
		{ 'a', "192.0.2.3", 0, 0, LIMIT_TOTAL, 1 },
		{ 'a', "192.0.2.4", 0, 0, LIMIT_TOTAL, 0 },	/* same episode */
		{ 'r', "192.0.2.1", 0, 1, 0, 0 },
		{ 'a', "192.0.2.5", 0, 0, LIMIT_OK, 0 },
		{ 'a', "192.0.2.6", 0, 0, LIMIT_TOTAL, 1 },	/* new episode */
	} },
	{ "per-client", { 10, 2, 10, 128 }, {
		{ 'a', "192.0.2.1", 0, 0, LIMIT_OK, 0 },
		{ 'a', "::ffff:192.0.2.1", 0, 0, LIMIT_OK, 0 },	/* same client */
		{ 'a', "192.0.2.1", 0, 0, LIMIT_CLIENT, 1 },
		{ 'a', "192.0.2.1", 0, 0, LIMIT_CLIENT, 0 },
		{ 'a', "192.0.2.2", 0, 0, LIMIT_OK, 0 },	/* others unaffected */
		{ 'r', "192.0.2.1", 0, 1, 0, 0 },
		{ 'a', "192.0.2.1", 0, 0, LIMIT_OK, 0 },
		{ 'a', "192.0.2.1", 0, 0, LIMIT_CLIENT, 1 },
	} },
	{ "embryonic", { 10, 10, 2, 128 }, {
		{ 'a', "2001:db8::1", 0, 0, LIMIT_OK, 0 },
		{ 'a', "2001:db8::2", 0, 0, LIMIT_OK, 0 },
		{ 'a', "2001:db8::3", 0, 0, LIMIT_EMBRYONIC, 1 },
		{ 'h', "", 0, 0, 0, 0 },			/* one said EHLO */
		{ 'a', "2001:db8::3", 0, 0, LIMIT_OK, 0 },
		{ 'a', "2001:db8::4", 0, 0, LIMIT_EMBRYONIC, 1 },
		{ 'r', "2001:db8::1", 0, 0, 0, 0 },		/* the hatched one */
		{ 'a', "2001:db8::4", 0, 0, LIMIT_EMBRYONIC, 0 },
		{ 'r', "2001:db8::2", 0, 1, 0, 0 },
		{ 'a', "2001:db8::4", 0, 0, LIMIT_OK, 0 },
	} },
	{ "exempt", { 2, 1, 1, 64 }, {
		{ 'a', "192.0.2.9", 1, 0, LIMIT_OK, 0 },
		{ 'a', "192.0.2.9", 0, 0, LIMIT_OK, 0 },	/* exempt did not count */
		{ 'a', "192.0.2.9", 1, 0, LIMIT_TOTAL, 1 },	/* but total counts */
		{ 'r', "192.0.2.9", 1, 0, 0, 0 },
		{ 'a', "192.0.2.9", 1, 0, LIMIT_OK, 0 },
	} },
	/* client-ipv6-prefix = 64: one /64 is one client */
	{ "ipv6-64", { 10, 2, 10, 64 }, {
		{ 'a', "2001:db8:1:2::1", 0, 0, LIMIT_OK, 0 },
		{ 'a', "2001:db8:1:2:ffff:ffff:ffff:ffff", 0, 0, LIMIT_OK, 0 },
		{ 'a', "2001:db8:1:2:a::b", 0, 0, LIMIT_CLIENT, 1 },
		{ 'a', "2001:db8:1:3::1", 0, 0, LIMIT_OK, 0 },	/* next /64 */
		{ 'a', "192.0.2.1", 0, 0, LIMIT_OK, 0 },	/* IPv4: whole */
		{ 'a', "::ffff:192.0.2.2", 0, 0, LIMIT_OK, 0 },	/* mapped: IPv4 */
		{ 'a', "192.0.2.2", 0, 0, LIMIT_OK, 0 },
		{ 'a', "192.0.2.3", 0, 0, LIMIT_OK, 0 },	/* not 192.0.2.2 */
		{ 'r', "2001:db8:1:2:dead::1", 0, 1, 0, 0 },	/* any of the /64 */
		{ 'a', "2001:db8:1:2::7", 0, 0, LIMIT_OK, 0 },
	} },
	/* a prefix that is not a multiple of 8 bits */
	{ "ipv6-60", { 10, 1, 10, 60 }, {
		{ 'a', "2001:db8:1:20::1", 0, 0, LIMIT_OK, 0 },
		{ 'a', "2001:db8:1:2f::1", 0, 0, LIMIT_CLIENT, 1 },
		{ 'a', "2001:db8:1:30::1", 0, 0, LIMIT_OK, 0 },
		{ 'a', "2001:db8:1:10::1", 0, 0, LIMIT_OK, 0 },
	} },
	/* 128: every address its own client */
	{ "ipv6-128", { 10, 1, 10, 128 }, {
		{ 'a', "2001:db8::1", 0, 0, LIMIT_OK, 0 },
		{ 'a', "2001:db8::2", 0, 0, LIMIT_OK, 0 },
		{ 'a', "2001:db8::1", 0, 0, LIMIT_CLIENT, 1 },
	} },
};

ParameterizedTestParameters(limit, scripts)
{
	return cr_make_param_array(struct script, scripts,
	    sizeof(scripts) / sizeof(scripts[0]));
}

ParameterizedTest(struct script *sc, limit, scripts)
{
	struct limit *l = limit_new();
	struct limit_verdict v;
	struct sockaddr_storage ss;
	const struct step *st;
	int	i, r;

	cr_assert_not_null(l);
	for (i = 0; i < 12 && sc->steps[i].op != 0; i++) {
		st = &sc->steps[i];
		if (st->op == 'h') {
			limit_hatch(l);
			continue;
		}
		ss = sa_of(st->addr);
		if (st->op == 'r') {
			limit_release(l, (struct sockaddr *)&ss,
			    sc->max.v6prefix, st->exempt, st->emb);
			continue;
		}
		r = limit_admit(l, (struct sockaddr *)&ss, st->exempt,
		    &sc->max, &v);
		cr_assert_eq(r, st->kind == LIMIT_OK ? 0 : 1,
		    "%s step %d: admit returned %d", sc->name, i, r);
		cr_assert_eq(v.kind, st->kind, "%s step %d: kind %d",
		    sc->name, i, v.kind);
		cr_assert_eq(v.log, st->log, "%s step %d: log %d", sc->name,
		    i, v.log);
	}
	limit_free(l);
}

Test(limit, counts_follow_sessions)
{
	struct limit *l = limit_new();
	struct limit_max max = { 100000, 100000, 100000, 64 };
	struct limit_verdict v;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	int	i;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	/* Enough clients to make the table grow several times. */
	for (i = 0; i < 5000; i++) {
		sin->sin_addr.s_addr = htonl(0x0a000000u + (unsigned)i);
		cr_assert_eq(limit_admit(l, (struct sockaddr *)&ss, 0, &max,
		    &v), 0);
	}
	cr_assert_eq(limit_total(l), 5000);
	cr_assert_eq(limit_embryonic(l), 5000);
	sin->sin_addr.s_addr = htonl(0x0a000000u + 77);
	cr_assert_eq(limit_client(l, (struct sockaddr *)&ss, 64), 1);
	for (i = 0; i < 5000; i++) {
		sin->sin_addr.s_addr = htonl(0x0a000000u + (unsigned)i);
		limit_release(l, (struct sockaddr *)&ss, 64, 0, 1);
	}
	cr_assert_eq(limit_total(l), 0);
	cr_assert_eq(limit_embryonic(l), 0);
	cr_assert_eq(limit_client(l, (struct sockaddr *)&ss, 64), 0);
	limit_free(l);
}

Test(limit, free_null)
{
	limit_free(NULL);
}
