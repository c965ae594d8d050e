/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config.h - the configuration file (SPEC 3): load, validate, print.
 *
 * config_load() parses a libconfuse file, applies the profile (explicit
 * settings win over profile defaults), validates everything, and returns an
 * immutable snapshot with a reference count.  Readers take a reference
 * (config_ref) for as long as they use it; the last config_unref frees it.
 * config_current()/config_install() keep the process-wide current snapshot
 * under a lock, so a SIGHUP reload can swap it while sessions keep theirs.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdio.h>

#include "cidr.h"
#include "policy.h"
#include "pattern.h"

#define CONFIG_DEFAULT_PATH	SYSCONFDIR "/esmtp-inspect/esmtp-inspect.conf"

/* Exit status for configuration errors (sysexits.h EX_CONFIG). */
#define CONFIG_EX		78

/* SPEC 5.4: the notice while starttls = allow is in effect (start, reload, -n). */
#define CONFIG_STARTTLS_ALLOW	"starttls=allow: sessions that start TLS are " \
	"relayed uninspected"

/* Longest error message config_load() produces. */
#define CONFIG_ERR_MAX		1024

enum config_profile { CONFIG_STANDARD, CONFIG_ASA };
enum config_mode { CONFIG_ENFORCE, CONFIG_MONITOR };
enum config_on_error { CONFIG_ON_ERROR_TEMPFAIL, CONFIG_ON_ERROR_ACCEPT };
enum config_banner { CONFIG_BANNER_PASS, CONFIG_BANNER_MASK, CONFIG_BANNER_ASTERISKS };
enum config_ehlo_other { CONFIG_EHLO_PASS, CONFIG_EHLO_STRIP, CONFIG_EHLO_MASK };
enum config_command_other { CONFIG_CMD_REJECT, CONFIG_CMD_MASK };
/* CONFIG_TLS_AUTO is only ever read from the file: a loaded snapshot holds
 * what it resolved to (SPEC 5.4). */
enum config_starttls { CONFIG_TLS_ALLOW, CONFIG_TLS_STRIP, CONFIG_TLS_TERMINATE,
	CONFIG_TLS_AUTO };
enum config_proxy { CONFIG_PROXY_NONE, CONFIG_PROXY_V1, CONFIG_PROXY_V2 };

/* A NULL-terminated, owned array of strings. */
struct config_strv {
	char  **v;
	size_t	n;
};

/* mime-encoding's `encodings`: a bit per Content-Transfer-Encoding. */
enum config_encoding {
	CONFIG_ENC_7BIT, CONFIG_ENC_8BIT, CONFIG_ENC_BINARY, CONFIG_ENC_BASE64,
	CONFIG_ENC_QUOTED_PRINTABLE, CONFIG_ENC_OTHERS, CONFIG_NENC
};
#define CONFIG_ENC_BIT(e)	(1u << (e))

struct config_rule {
	enum policy_action action;
	long long limit;		/* only for rules with a limit */
	int	log;			/* log = yes|no */
	char   *reply;			/* "" for the default text */
	struct cidr_list exempt;
	struct config_strv headers;	/* duplicate-header only, lower case */
	struct config_strv patterns;	/* mime-type, sender-address: as written */
	struct pattern_list *re;	/* ... compiled (NULL when none) */
	unsigned encodings;		/* mime-encoding: CONFIG_ENC_BIT()s */
	struct config_strv domains;	/* mail-relay: lower case, ".x" = subdomains */
};

struct config_milter {
	char   *socket;			/* libmilter spec */
	unsigned socket_mode;		/* octal, unix sockets */
	int	timeout;		/* seconds */
	enum config_on_error on_error;
	char   *metrics_listen;		/* "ADDR:PORT" of /metrics, or "" */
};

struct config_shim {
	struct config_strv listen;
	char   *upstream;
	char   *metrics_listen;		/* "ADDR:PORT" of /metrics, or "" */
	struct sockaddr_storage upstream_addr;	/* upstream, parsed at load */
	socklen_t upstream_addrlen;
	enum config_proxy proxy_protocol;
	struct cidr_list accept_proxy_from;
	enum config_banner banner;
	char   *banner_text;
	struct config_strv ehlo_keywords;	/* upper case */
	enum config_ehlo_other ehlo_other;
	struct config_strv commands;		/* upper case */
	enum config_command_other command_other;
	enum config_starttls starttls;
	char   *tls_certificate;
	char   *tls_key;
	int	upstream_tls;
	int	max_connections;
	int	max_connections_per_client;
	int	max_embryonic;
	int	client_ipv6_prefix;	/* per-client limits: IPv6 by this prefix */
	int	embryonic_timeout;	/* seconds from admission to HELO/EHLO */
	int	hard_error_limit;	/* the shim's own refusals per session */
	int	connect_timeout;
	int	command_timeout;
	int	data_timeout;
	int	shutdown_timeout;
};

struct config {
	int	refs;			/* atomic; see config_ref() */
	char   *path;
	enum config_profile profile;
	enum config_mode mode;
	int	facility;		/* LOG_MAIL, ... */
	struct cidr_list exempt;
	char   *user;
	char   *group;
	struct config_milter milter;
	struct config_shim shim;
	struct config_rule rules[POLICY_NRULES];
	struct config_strv warnings;	/* "FILE:LINE: text", for -n (SPEC 2) */
};

/**
 * config_load(path, err, errlen): read and validate ${path}.  Returns a new
 * snapshot with one reference, or NULL with "FILE:LINE: message" (or
 * "FILE: message" when no line applies) in ${err}.
 */
struct config *config_load(const char *path, char *err, size_t errlen);

/** config_ref(cfg): take another reference to ${cfg}; returns ${cfg}. */
struct config *config_ref(struct config *cfg);

/** config_unref(cfg): drop a reference; frees at zero.  NULL is a no-op. */
void	config_unref(struct config *cfg);

/** config_print(cfg, fp): write the effective configuration in the file's own syntax. */
void	config_print(const struct config *cfg, FILE *fp);

/** config_install(cfg): make ${cfg} current (takes over the caller's reference). */
void	config_install(struct config *cfg);

/** config_current(): a new reference to the current snapshot, or NULL before the first install. */
struct config *config_current(void);

/** config_facility_name(facility): the syslog facility's name ("mail"), or NULL. */
const char *config_facility_name(int facility);

/**
 * config_encoding_of(value, len): the CONFIG_ENC_* of the ${len}-octet
 * Content-Transfer-Encoding value at ${value} (compared case-insensitively;
 * any other value is CONFIG_ENC_OTHERS).
 */
enum config_encoding config_encoding_of(const char *value, size_t len);

/** config_encoding_name(e): the name of ${e} as in `encodings`. */
const char *config_encoding_name(enum config_encoding e);

/**
 * config_domain_listed(rule, domain, len): 1 if the ${len}-octet domain at
 * ${domain} is in mail-relay's `domains` of ${rule} (compared
 * case-insensitively; an entry ".example.com" also takes every subdomain
 * of example.com), else 0.
 */
int	config_domain_listed(const struct config_rule *rule, const char *domain,
	    size_t len);

/** config_exempt(cfg, rule, sa): 1 if a client at ${sa} is exempt from ${rule} (per-rule list). */
int	config_rule_exempt(const struct config *cfg, enum policy_rule rule,
	    const struct sockaddr *sa);

#endif /* CONFIG_H */
