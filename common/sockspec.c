/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sockspec.c - validate the socket specifications of the configuration.
 *
 * Interface: sockspec_milter_check() accepts libmilter's inet:PORT@HOST,
 * inet:PORT (any address), inet6:PORT@[ADDR], inet6:PORT@ADDR, unix:/path
 * and local:/path; sockspec_milter_postfix() recognises Postfix's spelling
 * of the same sockets; sockspec_milter_is_unix() tells unix-domain specs
 * apart;
 * sockspec_hostport() parses the shim's numeric "ADDR:PORT" and
 * "[IPv6]:PORT" into a sockaddr.
 *
 * Invariants: parsing only, no DNS and no sockets.  Ports are 1-65535
 * written in decimal digits; unix paths are absolute and fit sun_path.
 * Errors are static strings.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "sockspec.h"

/* Parse ${len} octets at ${s} as a port; -1 if not 1-65535 in digits. */
static long
parse_port(const char *s, size_t len)
{
	long	port = 0;
	size_t	i;

	if (len == 0 || len > 5)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		port = port * 10 + (s[i] - '0');
	}
	return (port >= 1 && port <= 65535 ? port : -1);
}

/* 1 if ${s} is a syntactically valid DNS host name (RFC 1123 labels). */
static int
valid_hostname(const char *s)
{
	size_t	label = 0, total = 0;
	char	prev = '.';

	for (; *s != '\0'; s++, total++) {
		char	c = *s;

		if (c == '.') {
			if (label == 0 || prev == '-')
				return (0);
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') {
			if (c == '-' && label == 0)
				return (0);
			if (++label > 63)
				return (0);
		} else
			return (0);
		prev = c;
	}
	if (total == 0 || total > 253 || prev == '-')
		return (0);
	return (1);
}

/* 1 if ${s} has only digits and dots: meant as an IPv4 address. */
static int
looks_numeric(const char *s)
{
	for (; *s != '\0'; s++)
		if ((*s < '0' || *s > '9') && *s != '.')
			return (0);
	return (1);
}

static const char *
check_inet(const char *rest, int v6)
{
	char	buf[INET6_ADDRSTRLEN + 2];
	unsigned char addr[16];
	const char *at, *host;
	size_t	hlen;

	at = strchr(rest, '@');
	if (parse_port(rest, at ? (size_t)(at - rest) : strlen(rest)) < 0)
		return ("port must be a number from 1 to 65535");
	if (at == NULL) {
		if (v6)
			return ("missing IPv6 address after \"@\"");
		return (NULL);		/* inet:PORT: any address */
	}
	host = at + 1;
	hlen = strlen(host);
	if (hlen == 0)
		return ("missing host after \"@\"");

	if (v6) {
		if (host[0] == '[') {
			if (hlen < 3 || host[hlen - 1] != ']')
				return ("malformed bracketed IPv6 address");
			host++;
			hlen -= 2;
		}
		if (hlen >= sizeof(buf))
			return ("malformed IPv6 address");
		memcpy(buf, host, hlen);
		buf[hlen] = '\0';
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return ("malformed IPv6 address");
		return (NULL);
	}
	if (inet_pton(AF_INET, host, addr) == 1)
		return (NULL);
	if (looks_numeric(host))
		return ("malformed IPv4 address");
	if (!valid_hostname(host))
		return ("malformed host name");
	return (NULL);
}

/** sockspec_milter_check(spec): NULL if ${spec} is a valid libmilter socket spec, else why not. */
const char *
sockspec_milter_check(const char *spec)
{
	const char *path;

	if (spec == NULL || *spec == '\0')
		return ("empty socket specification");
	if (sockspec_milter_is_unix(spec, &path)) {
		if (*path == '\0')
			return ("missing socket path");
		if (*path != '/')
			return ("socket path must be absolute");
		if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return ("socket path too long");
		if (path[strlen(path) - 1] == '/')
			return ("socket path names a directory");
		return (NULL);
	}
	if (strncmp(spec, "inet:", 5) == 0)
		return (check_inet(spec + 5, 0));
	if (strncmp(spec, "inet6:", 6) == 0)
		return (check_inet(spec + 6, 1));
	return ("socket must be inet:PORT@HOST, inet6:PORT@[ADDR], "
	    "unix:/path or local:/path");
}

/**
 * sockspec_milter_postfix(spec, buf, len): if ${spec} is a socket in
 * Postfix's syntax (inet:HOST:PORT, inet:[ADDR]:PORT), write libmilter's
 * spelling of it into ${buf} and return ${buf}; else NULL.
 *
 * libmilter reads no "@" as "any address" and the port with atoi(), so
 * that inet:127.0.0.1:8899 would listen on port 127 of every address.
 */
const char *
sockspec_milter_postfix(const char *spec, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN + 1];
	unsigned char addr[16];
	const char *rest, *colon;
	size_t	hlen;
	long	port;
	int	n;

	if (strncmp(spec, "inet:", 5) == 0)
		rest = spec + 5;
	else if (strncmp(spec, "inet6:", 6) == 0)
		rest = spec + 6;
	else
		return (NULL);
	if (strchr(rest, '@') != NULL || (colon = strrchr(rest, ':')) == NULL ||
	    (port = parse_port(colon + 1, strlen(colon + 1))) < 0)
		return (NULL);
	hlen = (size_t)(colon - rest);
	if (hlen >= 2 && rest[0] == '[' && rest[hlen - 1] == ']') {
		rest++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return (NULL);
	memcpy(host, rest, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET6, host, addr) == 1)
		n = snprintf(buf, len, "inet6:%ld@[%s]", port, host);
	else if (inet_pton(AF_INET, host, addr) == 1 ||
	    (!looks_numeric(host) && valid_hostname(host)))
		n = snprintf(buf, len, "inet:%ld@%s", port, host);
	else
		return (NULL);
	return (n > 0 && (size_t)n < len ? buf : NULL);
}

/** sockspec_milter_is_unix(spec): 1 if ${spec} names a unix-domain socket; stores the path in ${path}. */
int
sockspec_milter_is_unix(const char *spec, const char **path)
{
	const char *p;

	if (spec == NULL)
		return (0);
	if (strncmp(spec, "unix:", 5) == 0)
		p = spec + 5;
	else if (strncmp(spec, "local:", 6) == 0)
		p = spec + 6;
	else
		return (0);
	if (path != NULL)
		*path = p;
	return (1);
}

/**
 * sockspec_hostport(spec, ss, sslen): parse "ADDR:PORT" or "[IPv6]:PORT"
 * (numeric only, port 1-65535) into ${ss}.  Returns NULL or why not.
 */
const char *
sockspec_hostport(const char *spec, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	char	buf[INET6_ADDRSTRLEN + 1];
	struct sockaddr_storage tmp;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	const char *host, *colon, *portstr;
	size_t	hlen;
	long	port;
	socklen_t len;
	int	v6;

	if (spec == NULL || *spec == '\0')
		return ("empty address");
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':')
			return ("expected \"[IPv6]:PORT\"");
		host = spec + 1;
		hlen = (size_t)(close - host);
		portstr = close + 2;
		v6 = 1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			return ("expected \"ADDR:PORT\"");
		if (memchr(spec, ':', (size_t)(colon - spec)) != NULL)
			return ("IPv6 addresses must be written \"[ADDR]:PORT\"");
		host = spec;
		hlen = (size_t)(colon - spec);
		portstr = colon + 1;
		v6 = 0;
	}
	if (hlen == 0)
		return ("missing address");
	if (hlen >= sizeof(buf))
		return ("malformed address");
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	if ((port = parse_port(portstr, strlen(portstr))) < 0)
		return ("port must be a number from 1 to 65535");

	memset(&tmp, 0, sizeof(tmp));
	if (v6) {
		sin6 = (struct sockaddr_in6 *)(void *)&tmp;
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
			return ("malformed IPv6 address");
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		len = sizeof(*sin6);
	} else {
		sin = (struct sockaddr_in *)(void *)&tmp;
		if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
			return ("address must be a numeric IPv4 address or [IPv6]");
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		len = sizeof(*sin);
	}
	if (ss != NULL)
		memcpy(ss, &tmp, sizeof(tmp));
	if (sslen != NULL)
		*sslen = len;
	return (NULL);
}
