/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_proxy.c - libFuzzer target for the PROXY protocol code.
 *
 * 1. proxy_parse() on the raw input, in an exact-size heap copy so ASan
 *    sees any read past the length; a complete header is never longer than
 *    the input; every shorter prefix of an accepted header is "need more";
 *    on -1 the error message is set.
 * 2. The input's first octets also pick two endpoints (family, address,
 *    port); parse(encode_v1(x)) and parse(encode_v2(x)) give x back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Build an endpoint of ${family} from up to 18 octets at ${p}. */
static void
mkep(struct sockaddr_storage *ss, int family, const uint8_t *p)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p, 4);
		memcpy(&sin->sin_port, p + 4, 2);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p, 16);
		/* IPv4-mapped is encoded as TCP4 on purpose: keep it out */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			sin6->sin6_addr.s6_addr[10] = 0;
		memcpy(&sin6->sin6_port, p + 16, 2);
	}
}

static int
same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return (0);
	if (a->ss_family == AF_INET)
		return (memcmp(a, b, sizeof(struct sockaddr_in)) == 0);
	return (memcmp(a, b, sizeof(struct sockaddr_in6)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage s, d, ps, pd;
	unsigned char out[PROXY_ENCODE_MAX];
	uint8_t *copy = malloc(size ? size : 1);
	const char *err = NULL;
	size_t	used = 0, k, u2;
	ssize_t	n;
	int	r, v, family;

	if (copy == NULL)
		return (0);
	memcpy(copy, data, size);
	r = proxy_parse(copy, size, &ps, &pd, &used, &err);
	/* Whatever parses as a header starts with a signature. */
	if (r == 0 && proxy_sniff(copy, size) != 1)
		abort();
	if (r == 0) {
		if (used == 0 || used > size)
			abort();
		if (used <= 300)
			for (k = 0; k < used; k++)
				if (proxy_parse(copy, k, &s, &d, &u2, &err) != 1)
					abort();
	} else if (r == -1) {
		if (err == NULL)
			abort();
	} else if (r != 1) {
		abort();
	}
	free(copy);

	if (size < 37)
		return (0);
	family = data[0] & 1 ? AF_INET6 : AF_INET;
	mkep(&s, family, data + 1);
	mkep(&d, family, data + 19);
	for (v = 1; v <= 2; v++) {
		n = v == 1 ?
		    proxy_encode_v1(out, sizeof(out), (struct sockaddr *)&s,
			(struct sockaddr *)&d) :
		    proxy_encode_v2(out, sizeof(out), (struct sockaddr *)&s,
			(struct sockaddr *)&d);
		if (n <= 0 || (size_t)n > sizeof(out) ||
		    (v == 1 && (size_t)n > PROXY_V1_MAX))
			abort();
		if (proxy_parse(out, (size_t)n, &ps, &pd, &used, &err) != 0 ||
		    used != (size_t)n || !same(&s, &ps) || !same(&d, &pd))
			abort();
	}
	return (0);
}
