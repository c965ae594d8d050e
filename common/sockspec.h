/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sockspec.h - validate the socket specifications of the configuration.
 *
 * Milter sockets use libmilter's syntax (inet:PORT@HOST, inet6:PORT@[ADDR],
 * unix:/path, local:/path); shim listeners and the upstream use "ADDR:PORT"
 * and "[IPv6]:PORT" with numeric addresses, so that no DNS lookup happens at
 * start.  Parsing only: nothing here opens a socket.
 */
#ifndef SOCKSPEC_H
#define SOCKSPEC_H

#include <stddef.h>
#include <sys/socket.h>

/** sockspec_milter_check(spec): NULL if ${spec} is a valid libmilter socket spec, else why not. */
const char *sockspec_milter_check(const char *spec);

/**
 * sockspec_milter_postfix(spec, buf, len): if ${spec} is a socket in
 * Postfix's syntax (inet:HOST:PORT, inet:[ADDR]:PORT), write libmilter's
 * spelling of it into ${buf} and return ${buf}; else NULL.
 */
const char *sockspec_milter_postfix(const char *spec, char *buf, size_t len);

/** sockspec_milter_is_unix(spec): 1 if ${spec} names a unix-domain socket; stores the path in ${path}. */
int	sockspec_milter_is_unix(const char *spec, const char **path);

/**
 * sockspec_hostport(spec, ss, sslen): parse "ADDR:PORT" or "[IPv6]:PORT"
 * (numeric only, port 1-65535) into ${ss}.  Returns NULL or why not.
 */
const char *sockspec_hostport(const char *spec, struct sockaddr_storage *ss,
	    socklen_t *sslen);

#endif /* SOCKSPEC_H */
