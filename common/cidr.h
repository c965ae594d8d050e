/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cidr.h - IPv4 and IPv6 network prefixes and matching client addresses.
 *
 * An IPv4-mapped IPv6 client (::ffff:192.0.2.1) matches IPv4 prefixes, as
 * Postfix's mynetworks does, because dual-stack listeners report them so.
 */
#ifndef CIDR_H
#define CIDR_H

#include <stddef.h>
#include <sys/socket.h>

struct cidr {
	int	family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network address, host bits zero */
	unsigned prefix;		/* prefix length in bits */
};

struct cidr_list {
	struct cidr *v;
	size_t	n;
};

/**
 * cidr_parse(text, cidr): parse "192.0.2.0/24", "2001:db8::/32" or a bare
 * address (a host prefix) into ${cidr}.  Host bits set beyond the prefix are
 * an error, as in Postfix.  Returns NULL, or a static error message.
 */
const char *cidr_parse(const char *text, struct cidr *cidr);

/** cidr_format(cidr, buf, len): write ${cidr} as "ADDR/PREFIX" into ${buf}. */
void	cidr_format(const struct cidr *cidr, char *buf, size_t len);

/** cidr_match(cidr, family, addr): 1 if the address (4 or 16 octets) is inside ${cidr}. */
int	cidr_match(const struct cidr *cidr, int family, const void *addr);

/** cidr_match_sa(cidr, sa): cidr_match() for a sockaddr; 0 for non-IP families or NULL. */
int	cidr_match_sa(const struct cidr *cidr, const struct sockaddr *sa);

/** cidr_list_match_sa(list, sa): 1 if any prefix in ${list} matches ${sa}. */
int	cidr_list_match_sa(const struct cidr_list *list, const struct sockaddr *sa);

/** cidr_list_free(list): free the array of ${list}; NULL and empty lists are fine. */
void	cidr_list_free(struct cidr_list *list);

#endif /* CIDR_H */
