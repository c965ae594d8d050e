/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cidr.c - IPv4 and IPv6 network prefixes and matching client addresses.
 *
 * Interface: cidr_parse() reads "ADDR/PREFIX" or a bare address (numeric
 * only, inet_pton: never DNS), cidr_format() writes it back, cidr_match*()
 * test an address, cidr_list_*() work on the arrays held by the
 * configuration.
 *
 * Invariants: a parsed struct cidr has its host bits zero (set host bits
 * are a parse error, as in Postfix), prefix <= 32 or 128.  An IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d) matches IPv4 prefixes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* 1 if the first ${bits} bits of ${a} and ${b} are equal. */
static int
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, whole) != 0)
		return (0);
	if (rest == 0)
		return (1);
	mask = (unsigned char)(0xff << (8 - rest));
	return ((a[whole] & mask) == (b[whole] & mask));
}

/**
 * cidr_parse(text, cidr): parse "192.0.2.0/24", "2001:db8::/32" or a bare
 * address (a host prefix) into ${cidr}.  Host bits set beyond the prefix are
 * an error, as in Postfix.  Returns NULL, or a static error message.
 */
const char *
cidr_parse(const char *text, struct cidr *cidr)
{
	char	buf[INET6_ADDRSTRLEN + 1];
	const char *slash, *p;
	unsigned char addr[16];
	size_t	alen, i;
	unsigned prefix, max, bits;
	int	family;

	if (text == NULL || *text == '\0')
		return ("empty address");
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0)
		return ("missing address");
	if (alen >= sizeof(buf))
		return ("malformed address");
	memcpy(buf, text, alen);
	buf[alen] = '\0';

	memset(addr, 0, sizeof(addr));
	if (strchr(buf, ':') != NULL) {
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return ("malformed IPv6 address");
		family = AF_INET6;
		max = 128;
	} else {
		if (inet_pton(AF_INET, buf, addr) != 1)
			return ("malformed IPv4 address");
		family = AF_INET;
		max = 32;
	}

	if (slash == NULL)
		prefix = max;
	else {
		p = slash + 1;
		if (*p == '\0')
			return ("missing prefix length");
		prefix = 0;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return ("malformed prefix length");
			prefix = prefix * 10 + (unsigned)(*p - '0');
			if (prefix > max)
				return ("prefix length out of range");
		}
	}

	/* Host bits beyond the prefix must be zero. */
	for (bits = prefix, i = 0; i < max / 8; i++, bits = bits > 8 ? bits - 8 : 0) {
		unsigned char hostmask = bits >= 8 ? 0 :
		    (unsigned char)(0xff >> bits);

		if (addr[i] & hostmask)
			return ("host bits set beyond the prefix length");
	}

	cidr->family = family;
	memcpy(cidr->addr, addr, sizeof(cidr->addr));
	cidr->prefix = prefix;
	return (NULL);
}

/** cidr_format(cidr, buf, len): write ${cidr} as "ADDR/PREFIX" into ${buf}. */
void
cidr_format(const struct cidr *cidr, char *buf, size_t len)
{
	char	abuf[INET6_ADDRSTRLEN];

	if (buf == NULL || len == 0)
		return;
	if (cidr == NULL ||
	    inet_ntop(cidr->family, cidr->addr, abuf, sizeof(abuf)) == NULL) {
		buf[0] = '\0';
		return;
	}
	(void)snprintf(buf, len, "%s/%u", abuf, cidr->prefix);
}

/** cidr_match(cidr, family, addr): 1 if the address (4 or 16 octets) is inside ${cidr}. */
int
cidr_match(const struct cidr *cidr, int family, const void *addr)
{
	const unsigned char *a = addr;

	if (cidr == NULL || addr == NULL)
		return (0);
	if (family == AF_INET6 && cidr->family == AF_INET &&
	    memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
		family = AF_INET;
		a += sizeof(v4mapped);
	}
	if (family != cidr->family)
		return (0);
	return (prefix_equal(a, cidr->addr, cidr->prefix));
}

/** cidr_match_sa(cidr, sa): cidr_match() for a sockaddr; 0 for non-IP families or NULL. */
int
cidr_match_sa(const struct cidr *cidr, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (cidr == NULL || sa == NULL)
		return (0);
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		return (cidr_match(cidr, AF_INET, &sin->sin_addr));
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		return (cidr_match(cidr, AF_INET6, &sin6->sin6_addr));
	default:
		return (0);
	}
}

/** cidr_list_match_sa(list, sa): 1 if any prefix in ${list} matches ${sa}. */
int
cidr_list_match_sa(const struct cidr_list *list, const struct sockaddr *sa)
{
	size_t	i;

	if (list == NULL || sa == NULL)
		return (0);
	for (i = 0; i < list->n; i++)
		if (cidr_match_sa(&list->v[i], sa))
			return (1);
	return (0);
}

/** cidr_list_free(list): free the array of ${list}; NULL and empty lists are fine. */
void
cidr_list_free(struct cidr_list *list)
{
	if (list == NULL)
		return;
	free(list->v);
	list->v = NULL;
	list->n = 0;
}
