/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config.c - the configuration file (SPEC 3): load, validate, print.
 *
 * Interface: config_load() parses a libconfuse file into an immutable,
 * refcounted struct config; config_print() writes it back in the file's own
 * syntax (the -n output); config_install()/config_current() keep the
 * process-wide snapshot under a lock; config_rule_exempt() and
 * config_facility_name() are small lookups for the milter and the shim.
 *
 * Invariants: the cfg_opt_t table below is the only place option names and
 * standard defaults are written; rule_defaults[] holds the per-rule limit
 * and action of both profiles, and the asa_* tables the SPEC 3.1 shim
 * settings.  Every value is checked by a libconfuse parse callback while the
 * file is read, so an error names the line it was found on; nothing is
 * printed by libconfuse itself.  libconfuse reads the text confscan_read()
 * gives back, comments blanked: it counts lines wrongly after a comment,
 * and confscan also finds what libconfuse takes silently (a name given
 * twice, an open string, comment or block).  A value set in the file
 * (CFGF_MODIFIED) always wins over the profile.  libconfuse's scanner is
 * global state, so loads are serialised by load_lock (they happen at start
 * and on SIGHUP).
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include <confuse.h>

#include "config.h"
#include "confscan.h"
#include "sockspec.h"

#define LIMIT_TIMEOUT_MAX	86400
#define LIMIT_COUNT_MAX		1000000
#define SHOW_MAX		64	/* longest value quoted in an error */

/* The profiles, indexed by enum config_profile. */
enum { PROF_STANDARD = CONFIG_STANDARD, PROF_ASA = CONFIG_ASA, PROF_N };

/* Words of the enumerated options, indexed by their enum values. */
static const char *const w_profile[] = { "standard", "asa", NULL };
static const char *const w_mode[] = { "enforce", "monitor", NULL };
static const char *const w_on_error[] = { "tempfail", "accept", NULL };
static const char *const w_banner[] = { "pass", "mask", "asterisks", NULL };
static const char *const w_ehlo_other[] = { "pass", "strip", "mask", NULL };
static const char *const w_command_other[] = { "reject", "mask", NULL };
static const char *const w_starttls[] = { "allow", "strip", "terminate", "auto",
    NULL };
static const char *const w_proxy[] = { "none", "v1", "v2", NULL };

static const struct {
	const char *name;
	const char *const *words;
} enum_opts[] = {
	{ "profile", w_profile },
	{ "mode", w_mode },
	{ "on-error", w_on_error },
	{ "banner", w_banner },
	{ "ehlo-other", w_ehlo_other },
	{ "command-other", w_command_other },
	{ "starttls", w_starttls },
	{ "proxy-protocol", w_proxy },
};

/* Whole-number options other than `limit`, and their ranges. */
static const struct {
	const char *name;
	long	min, max;
} int_opts[] = {
	{ "timeout", 1, LIMIT_TIMEOUT_MAX },
	{ "connect-timeout", 1, LIMIT_TIMEOUT_MAX },
	{ "command-timeout", 1, LIMIT_TIMEOUT_MAX },
	{ "data-timeout", 1, LIMIT_TIMEOUT_MAX },
	{ "shutdown-timeout", 1, LIMIT_TIMEOUT_MAX },
	{ "max-connections", 1, LIMIT_COUNT_MAX },
	{ "max-connections-per-client", 1, LIMIT_COUNT_MAX },
	{ "max-embryonic", 1, LIMIT_COUNT_MAX },
	{ "client-ipv6-prefix", 1, 128 },
	{ "embryonic-timeout", 1, LIMIT_TIMEOUT_MAX },
	{ "hard-error-limit", 1, LIMIT_COUNT_MAX },
};

static const struct {
	const char *name;
	int	facility;
} facilities[] = {
	{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "cron", LOG_CRON },
	{ "daemon", LOG_DAEMON }, { "ftp", LOG_FTP }, { "kern", LOG_KERN },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 }, { "lpr", LOG_LPR },
	{ "mail", LOG_MAIL }, { "news", LOG_NEWS }, { "syslog", LOG_SYSLOG },
	{ "user", LOG_USER }, { "uucp", LOG_UUCP },
};

static int parse_enum(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_int(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_bool(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_facility(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_any(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_account(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_cidr(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_milter_socket(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_socket_mode(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_hostport(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_metrics(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_text(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_keyword(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_limit(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_action(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_header(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_pattern(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_encoding(cfg_t *, cfg_opt_t *, const char *, void *);
static int parse_domain(cfg_t *, cfg_opt_t *, const char *, void *);

/* List defaults: libconfuse wants them as modifiable strings. */
static char def_none[] = "{}";
static char def_listen[] = "{\"127.0.0.1:2526\"}";
static char def_ehlo_keywords[] = "{8BITMIME, AUTH, BINARYMIME, CHUNKING, DSN, "
    "ENHANCEDSTATUSCODES, ETRN, PIPELINING, SIZE, SMTPUTF8, STARTTLS, VRFY, "
    "DELIVERBY, HELP}";
static char def_commands[] = "{HELO, EHLO, MAIL, RCPT, DATA, BDAT, RSET, "
    "NOOP, QUIT, VRFY, HELP, STARTTLS, AUTH, ETRN}";

/*
 * The option table: every name and standard default of SPEC 3.  `limit`
 * and `action` defaults depend on the rule and the profile: rule_defaults[].
 */
static cfg_opt_t opts[] = {
	CFG_INT_CB("profile", CONFIG_STANDARD, CFGF_NONE, parse_enum),
	CFG_INT_CB("mode", CONFIG_ENFORCE, CFGF_NONE, parse_enum),
	CFG_INT_CB("syslog-facility", LOG_MAIL, CFGF_NONE, parse_facility),
	CFG_STR_LIST_CB("exempt-clients", def_none, CFGF_NONE, parse_cidr),
	CFG_STR_CB("user", "", CFGF_NONE, parse_account),
	CFG_STR_CB("group", "", CFGF_NONE, parse_account),
	CFG_SEC("milter", ((cfg_opt_t []){
		CFG_STR_CB("socket", "inet:8899@127.0.0.1", CFGF_NONE,
		    parse_milter_socket),
		CFG_STR_CB("socket-mode", "0660", CFGF_NONE, parse_socket_mode),
		CFG_INT_CB("timeout", 300, CFGF_NONE, parse_int),
		CFG_INT_CB("on-error", CONFIG_ON_ERROR_TEMPFAIL, CFGF_NONE,
		    parse_enum),
		CFG_STR_CB("metrics-listen", "", CFGF_NONE, parse_metrics),
		CFG_END()
	}), CFGF_NONE),
	CFG_SEC("shim", ((cfg_opt_t []){
		CFG_STR_LIST_CB("listen", def_listen, CFGF_NONE,
		    parse_hostport),
		CFG_STR_CB("upstream", "127.0.0.1:2525", CFGF_NONE,
		    parse_hostport),
		CFG_INT_CB("proxy-protocol", CONFIG_PROXY_V2, CFGF_NONE,
		    parse_enum),
		CFG_STR_LIST_CB("accept-proxy-from", def_none, CFGF_NONE,
		    parse_cidr),
		CFG_INT_CB("banner", CONFIG_BANNER_PASS, CFGF_NONE, parse_enum),
		CFG_STR_CB("banner-text", "", CFGF_NONE, parse_text),
		CFG_STR_LIST_CB("ehlo-keywords", def_ehlo_keywords, CFGF_NONE,
		    parse_keyword),
		CFG_INT_CB("ehlo-other", CONFIG_EHLO_STRIP, CFGF_NONE,
		    parse_enum),
		CFG_STR_LIST_CB("commands", def_commands, CFGF_NONE,
		    parse_keyword),
		CFG_INT_CB("command-other", CONFIG_CMD_REJECT, CFGF_NONE,
		    parse_enum),
		CFG_INT_CB("starttls", CONFIG_TLS_AUTO, CFGF_NONE, parse_enum),
		CFG_STR_CB("tls-certificate", "", CFGF_NONE, parse_any),
		CFG_STR_CB("tls-key", "", CFGF_NONE, parse_any),
		CFG_BOOL_CB("upstream-tls", cfg_false, CFGF_NONE, parse_bool),
		CFG_INT_CB("max-connections", 1000, CFGF_NONE, parse_int),
		CFG_INT_CB("max-connections-per-client", 50, CFGF_NONE,
		    parse_int),
		CFG_INT_CB("max-embryonic", 100, CFGF_NONE, parse_int),
		CFG_INT_CB("client-ipv6-prefix", 64, CFGF_NONE, parse_int),
		CFG_INT_CB("embryonic-timeout", 30, CFGF_NONE, parse_int),
		CFG_INT_CB("hard-error-limit", 20, CFGF_NONE, parse_int),
		CFG_STR_CB("metrics-listen", "", CFGF_NONE, parse_metrics),
		CFG_INT_CB("connect-timeout", 10, CFGF_NONE, parse_int),
		CFG_INT_CB("command-timeout", 300, CFGF_NONE, parse_int),
		CFG_INT_CB("data-timeout", 600, CFGF_NONE, parse_int),
		CFG_INT_CB("shutdown-timeout", 30, CFGF_NONE, parse_int),
		CFG_END()
	}), CFGF_NONE),
	CFG_SEC("rule", ((cfg_opt_t []){
		CFG_INT_CB("limit", 0, CFGF_NONE, parse_limit),
		CFG_INT_CB("action", POLICY_NONE, CFGF_NONE, parse_action),
		CFG_BOOL_CB("log", cfg_true, CFGF_NONE, parse_bool),
		CFG_STR_CB("reply", "", CFGF_NONE, parse_text),
		CFG_STR_LIST_CB("exempt-clients", def_none, CFGF_NONE, parse_cidr),
		CFG_STR_LIST_CB("headers", def_none, CFGF_NONE, parse_header),
		CFG_STR_LIST_CB("patterns", def_none, CFGF_NONE, parse_pattern),
		CFG_STR_LIST_CB("encodings", def_none, CFGF_NONE,
		    parse_encoding),
		CFG_STR_LIST_CB("domains", def_none, CFGF_NONE, parse_domain),
		CFG_END()
	}), CFGF_MULTI | CFGF_TITLE),	/* again: replaces, with a warning */
	CFG_END()
};

/* Per-rule defaults (SPEC 3, 3.1) and limit ranges (decisions file). */
static const struct {
	long	limit, min, max;
	enum policy_action action[PROF_N];
} rule_defaults[POLICY_NRULES] = {
	[POLICY_RCPT_COUNT] = { 100, 0, 100000,
	    { POLICY_TEMPFAIL, POLICY_DROP_CONNECTION } },
	[POLICY_SENDER_LENGTH] = { 320, 0, 65536,
	    { POLICY_REJECT, POLICY_DROP_CONNECTION } },
	[POLICY_ADDRESS_CHARACTERS] = { 0, 0, 0,
	    { POLICY_REJECT, POLICY_DROP_CONNECTION } },
	[POLICY_CMD_LINE_LENGTH] = { 512, 6, 65536,
	    { POLICY_REJECT, POLICY_DROP_CONNECTION } },
	[POLICY_BARE_LINEFEED] = { 0, 0, 0,
	    { POLICY_DROP_CONNECTION, POLICY_DROP_CONNECTION } },
	[POLICY_HEADER_LINE_LENGTH] = { 998, 0, 1048576,
	    { POLICY_REJECT, POLICY_DROP_CONNECTION } },
	[POLICY_BODY_LINE_LENGTH] = { 998, 0, 1073741824,
	    { POLICY_LOG, POLICY_LOG } },
	[POLICY_MIME_FILENAME_LENGTH] = { 255, 0, 65536,
	    { POLICY_REJECT, POLICY_DROP_CONNECTION } },
	[POLICY_DUPLICATE_HEADER] = { 0, 0, 0,
	    { POLICY_REJECT, POLICY_NONE } },
	[POLICY_DKIM_UNSIGNED_DUPLICATE] = { 0, 0, 0,
	    { POLICY_REJECT, POLICY_NONE } },
	[POLICY_MIME_STRUCTURE] = { 0, 0, 0,
	    { POLICY_REJECT, POLICY_NONE } },
	/* SPEC 4.2: off in both profiles unless configured */
	[POLICY_HEADER_LENGTH] = { 65536, 0, 1073741824,
	    { POLICY_NONE, POLICY_NONE } },
	[POLICY_HEADER_TO_COUNT] = { 1, 0, 100000,
	    { POLICY_NONE, POLICY_NONE } },
	[POLICY_BODY_LENGTH] = { 52428800, 0, 1099511627776L,
	    { POLICY_NONE, POLICY_NONE } },
	[POLICY_MIME_TYPE] = { 0, 0, 0, { POLICY_NONE, POLICY_NONE } },
	[POLICY_MIME_ENCODING] = { 0, 0, 0, { POLICY_NONE, POLICY_NONE } },
	[POLICY_SENDER_ADDRESS] = { 0, 0, 0, { POLICY_NONE, POLICY_NONE } },
	[POLICY_MAIL_RELAY] = { 0, 0, 0, { POLICY_NONE, POLICY_NONE } },
	[POLICY_INVALID_RECIPIENTS] = { 10, 0, 100000,
	    { POLICY_NONE, POLICY_NONE } },
};

/* mime-encoding's `encodings` words, indexed by enum config_encoding. */
static const char *const encoding_names[CONFIG_NENC + 1] = {
	"7bit", "8bit", "binary", "base64", "quoted-printable", "others", NULL
};

/* duplicate-header's `headers` default, the same in both profiles. */
static const char *const dup_headers[] = {
	"from", "sender", "reply-to", "to", "cc", "bcc", "subject", "date",
	"message-id", "in-reply-to", "references", NULL
};

/* SPEC 3.1: the shim settings of profile asa, where the file is silent. */
static const char *const asa_ehlo_keywords[] = {
	"8BITMIME", "AUTH", "BINARYMIME", "CHECKPOINT", "DSN",
	"ENHANCEDSTATUSCODES", "ETRN", "PIPELINING", "SIZE", "VRFY", NULL
};
static const char *const asa_commands[] = {
	"HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "AUTH",
	"ETRN", "HELP", "SAML", "SEND", "SOML", "VRFY", NULL
};
static const struct {
	const char *name;
	long	value;
} asa_shim_enums[] = {
	{ "banner", CONFIG_BANNER_ASTERISKS },
	{ "ehlo-other", CONFIG_EHLO_MASK },
	{ "command-other", CONFIG_CMD_MASK },
	{ "starttls", CONFIG_TLS_STRIP },
};
static const struct {
	const char *name;
	const char *const *words;
} asa_shim_lists[] = {
	{ "ehlo-keywords", asa_ehlo_keywords },
	{ "commands", asa_commands },
};

/* Where libconfuse's and our own messages go while a file is read. */
struct load_ctx {
	const char *path;
	char   *err;
	size_t	errlen;
	int	quiet;			/* probing: drop messages */
	/* The first message as libconfuse wrote it, and its line: */
	char	first[CONFIG_ERR_MAX];
	int	first_line;
	/* Where values that warnings name were set (0: not in the file): */
	int	starttls_line;
	int	proxy_line;
	int	limit_line[POLICY_NRULES];
	int	exempt_line[POLICY_NRULES + 1];	/* [POLICY_NRULES]: global */
	int    *warn_lines;		/* the line of each warning */
};

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static struct load_ctx *load_ctx;	/* under load_lock */

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct config *current;		/* under current_lock */

/*
 * The error function given to libconfuse: keep the first message as
 * "FILE:LINE: message", control bytes escaped.  Section cfg_t's made at
 * cfg_init() time carry no file name, so the name comes from the context.
 */
static void
load_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char	msg[CONFIG_ERR_MAX], clean[CONFIG_ERR_MAX];
	size_t	i, o;

	if (load_ctx == NULL || load_ctx->quiet || load_ctx->first[0] != '\0')
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	(void)snprintf(load_ctx->first, sizeof(load_ctx->first), "%s", msg);
	load_ctx->first_line = cfg != NULL ? cfg->line : 0;
	if (load_ctx->err == NULL || load_ctx->errlen == 0)
		return;
	for (i = o = 0; msg[i] != '\0' && o + 5 < sizeof(clean); i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c < 0x20 || c > 0x7e)
			o += (size_t)snprintf(clean + o, sizeof(clean) - o,
			    "\\x%02x", c);
		else
			clean[o++] = (char)c;
	}
	clean[o] = '\0';
	if (cfg != NULL && cfg->line > 0)
		(void)snprintf(load_ctx->err, load_ctx->errlen, "%s:%d: %s",
		    load_ctx->path, cfg->line, clean);
	else
		(void)snprintf(load_ctx->err, load_ctx->errlen, "%s: %s",
		    load_ctx->path, clean);
}

/* Error with no line: "FILE: message". */
static void
load_error(const char *path, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
load_error(const char *path, char *err, size_t errlen, const char *fmt, ...)
{
	char	msg[CONFIG_ERR_MAX];
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)snprintf(err, errlen, "%s: %s", path, msg);
}

/* ${s} made safe and short for a message: \xHH for odd bytes, cut with "...". */
static const char *
show(const char *s, char *buf, size_t len)
{
	size_t	i, o = 0;

	for (i = 0; s[i] != '\0' && o + 8 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == SHOW_MAX) {
			(void)snprintf(buf + o, len - o, "...");
			return (buf);
		}
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return (buf);
}

/* Write "a, b, c" of the NULL-terminated ${words} into ${buf}. */
static const char *
word_list(const char *const *words, char *buf, size_t len)
{
	size_t	o = 0;
	int	i;

	buf[0] = '\0';
	for (i = 0; words[i] != NULL && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "",
		    words[i]);
	return (buf);
}

/* "a, b, c" of the actions in bit set ${bits}. */
static const char *
action_list(unsigned bits, char *buf, size_t len)
{
	size_t	o = 0;
	int	a, n = 0;

	buf[0] = '\0';
	for (a = 0; a < POLICY_NACTIONS && o < len; a++)
		if (bits & POLICY_ACTION_BIT(a))
			o += (size_t)snprintf(buf + o, len - o, "%s%s",
			    n++ ? ", " : "", policy_action_name(a));
	return (buf);
}

/* "a, b, c" of the rules for which ${want}(rule) holds (NULL: all). */
static const char *
rule_list(int (*want)(enum policy_rule), char *buf, size_t len)
{
	size_t	o = 0;
	int	r, n = 0;

	buf[0] = '\0';
	for (r = 0; r < POLICY_NRULES && o < len; r++)
		if (want == NULL || want(r))
			o += (size_t)snprintf(buf + o, len - o, "%s%s",
			    n++ ? ", " : "", policy_rule_name(r));
	return (buf);
}

/*
 * For an option inside `rule NAME { }`: the rule, or -1 after reporting an
 * unknown NAME.  Outside a rule: POLICY_NRULES.
 */
static int
rule_of(cfg_t *cfg)
{
	char	names[512], b[128];
	int	r;

	if (strcmp(cfg_name(cfg), "rule") != 0)
		return (POLICY_NRULES);
	if ((r = policy_rule_lookup(cfg_title(cfg))) >= 0)
		return (r);
	cfg_error(cfg, "unknown rule \"%s\" (%s)", show(cfg_title(cfg), b,
	    sizeof(b)), rule_list(NULL, names, sizeof(names)));
	return (-1);
}

/* The `rule "NAME": ` prefix of a message about an option in a rule. */
static const char *
prefix(cfg_t *cfg, char *buf, size_t len)
{
	if (strcmp(cfg_name(cfg), "rule") != 0)
		return ("");
	(void)snprintf(buf, len, "rule \"%s\": ", cfg_title(cfg));
	return (buf);
}

/* Parse a decimal whole number, sign allowed; 0 or -1 (not a number). */
static int
whole_number(const char *value, long *out)
{
	const char *p = value;
	char   *end;
	long	v;

	if (*p == '-')
		p++;
	if (*p == '\0')
		return (-1);
	for (; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return (-1);
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno == ERANGE)
		v = value[0] == '-' ? LONG_MIN : LONG_MAX;
	*out = v;
	return (0);
}

static int
parse_enum(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	words[256], b[128];
	size_t	i;
	int	w;

	for (i = 0; i < sizeof(enum_opts) / sizeof(enum_opts[0]); i++) {
		if (strcmp(opt->name, enum_opts[i].name) != 0)
			continue;
		for (w = 0; enum_opts[i].words[w] != NULL; w++)
			if (strcmp(value, enum_opts[i].words[w]) == 0) {
				*(long *)result = w;
				if (strcmp(opt->name, "starttls") == 0)
					load_ctx->starttls_line = cfg->line;
				if (strcmp(opt->name, "proxy-protocol") == 0)
					load_ctx->proxy_line = cfg->line;
				return (0);
			}
		cfg_error(cfg, "%s \"%s\" unknown (%s)", opt->name,
		    show(value, b, sizeof(b)),
		    word_list(enum_opts[i].words, words, sizeof(words)));
		return (-1);
	}
	cfg_error(cfg, "internal error: no words for option %s", opt->name);
	return (-1);
}

static int
parse_int(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	b[128];
	size_t	i;
	long	v;

	for (i = 0; i < sizeof(int_opts) / sizeof(int_opts[0]); i++) {
		if (strcmp(opt->name, int_opts[i].name) != 0)
			continue;
		if (whole_number(value, &v) != 0) {
			cfg_error(cfg, "%s \"%s\" is not a whole number "
			    "(%ld..%ld)", opt->name, show(value, b, sizeof(b)),
			    int_opts[i].min, int_opts[i].max);
			return (-1);
		}
		if (v < int_opts[i].min || v > int_opts[i].max) {
			cfg_error(cfg, "%s %s out of range (%ld..%ld)",
			    opt->name, show(value, b, sizeof(b)),
			    int_opts[i].min, int_opts[i].max);
			return (-1);
		}
		*(long *)result = v;
		return (0);
	}
	cfg_error(cfg, "internal error: no range for option %s", opt->name);
	return (-1);
}

static int
parse_bool(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	static const char *const yes[] = { "yes", "true", "on" };
	static const char *const no[] = { "no", "false", "off" };
	char	p[128], b[128];
	size_t	i;

	if (rule_of(cfg) < 0)
		return (-1);
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*(int *)result = 1;
			return (0);
		}
		if (strcasecmp(value, no[i]) == 0) {
			*(int *)result = 0;
			return (0);
		}
	}
	cfg_error(cfg, "%s%s \"%s\" is not yes or no", prefix(cfg, p, sizeof(p)),
	    opt->name, show(value, b, sizeof(b)));
	return (-1);
}

static int
parse_facility(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	names[512], b[128];
	size_t	i, o = 0;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(value, facilities[i].name) == 0) {
			*(long *)result = facilities[i].facility;
			return (0);
		}
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
		    i ? ", " : "", facilities[i].name);
	cfg_error(cfg, "%s \"%s\" unknown (%s)", opt->name,
	    show(value, b, sizeof(b)), names);
	return (-1);
}

/* Any string: TLS file names (checked where they are used). */
static int
parse_any(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	(void)cfg;
	(void)opt;
	*(const char **)result = value;
	return (0);
}

/*
 * user, group: empty, or an account of this host, looked up here so that
 * a wrong name is refused with its line (privs_lookup() resolves it again
 * when the daemon starts).
 */
static int
parse_account(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char	buf[16384], b[128], eb[128];
	int	rc;

	if (value[0] != '\0') {
		if (strcmp(opt->name, "user") == 0)
			rc = getpwnam_r(value, &pw, buf, sizeof(buf), &pwp);
		else
			rc = getgrnam_r(value, &gr, buf, sizeof(buf), &grp);
		/* getpwnam(3): these also mean "no such name" */
		if (rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
			rc = 0;
		if (rc != 0) {
			cfg_error(cfg, "%s \"%s\" cannot be looked up: %s",
			    opt->name, show(value, b, sizeof(b)),
			    strerror_r(rc, eb, sizeof(eb)));
			return (-1);
		}
		if (pwp == NULL && grp == NULL) {
			cfg_error(cfg, "%s \"%s\" does not exist", opt->name,
			    show(value, b, sizeof(b)));
			return (-1);
		}
	}
	*(const char **)result = value;
	return (0);
}

static int
parse_cidr(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct cidr c;
	const char *why;
	char	p[128], b[128];
	int	r;

	if ((r = rule_of(cfg)) < 0)
		return (-1);
	if ((why = cidr_parse(value, &c)) != NULL) {
		cfg_error(cfg, "%s%s \"%s\": %s", prefix(cfg, p, sizeof(p)),
		    opt->name, show(value, b, sizeof(b)), why);
		return (-1);
	}
	/* The line of the list's last entry, for the warnings of build(). */
	if (strcmp(opt->name, "exempt-clients") == 0)
		load_ctx->exempt_line[r] = cfg->line;
	*(const char **)result = value;
	return (0);
}

static int
parse_milter_socket(cfg_t *cfg, cfg_opt_t *opt, const char *value,
    void *result)
{
	const char *why;
	char	b[128], fix[128], bf[128];

	/* libmilter would listen on the wrong port of every address. */
	if (sockspec_milter_postfix(value, fix, sizeof(fix)) != NULL) {
		cfg_error(cfg, "%s \"%s\" is Postfix syntax; libmilter wants "
		    "\"%s\"", opt->name, show(value, b, sizeof(b)),
		    show(fix, bf, sizeof(bf)));
		return (-1);
	}
	if ((why = sockspec_milter_check(value)) != NULL) {
		cfg_error(cfg, "%s \"%s\": %s", opt->name,
		    show(value, b, sizeof(b)), why);
		return (-1);
	}
	*(const char **)result = value;
	return (0);
}

/* socket-mode: "0660"; the octal digits of a mode from 0 to 0777. */
static unsigned
octal_mode(const char *value, int *ok)
{
	unsigned v = 0;
	size_t	i;

	*ok = value[0] != '\0' && strlen(value) <= 4;
	for (i = 0; *ok && value[i] != '\0'; i++) {
		if (value[i] < '0' || value[i] > '7')
			*ok = 0;
		else
			v = v * 8 + (unsigned)(value[i] - '0');
	}
	if (v > 0777)
		*ok = 0;
	return (v);
}

static int
parse_socket_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	b[128];
	int	ok;

	(void)octal_mode(value, &ok);
	if (!ok) {
		cfg_error(cfg, "%s \"%s\" is not an octal mode (\"0000\".."
		    "\"0777\")", opt->name, show(value, b, sizeof(b)));
		return (-1);
	}
	*(const char **)result = value;
	return (0);
}

/* 1 if ${a} and ${b} are the same IP address and port. */
static int
same_sockaddr(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return (0);
	if (a->ss_family == AF_INET)
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	return (a6->sin6_port == b6->sin6_port &&
	    a6->sin6_scope_id == b6->sin6_scope_id &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0);
}

static int
parse_hostport(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct sockaddr_storage ss, ps;
	socklen_t sslen = sizeof(ss), pslen;
	const char *why, *prev;
	char	b[128], bp[128];
	unsigned i;

	if ((why = sockspec_hostport(value, &ss, &sslen)) != NULL) {
		cfg_error(cfg, "%s \"%s\": %s", opt->name,
		    show(value, b, sizeof(b)), why);
		return (-1);
	}
	/* The second bind() would fail: say so with the line.  The entry
	 * being set is already in the list, still without a string. */
	for (i = 0; strcmp(opt->name, "listen") == 0 && i < cfg_opt_size(opt);
	    i++) {
		pslen = sizeof(ps);
		if ((prev = cfg_opt_getnstr(opt, i)) != NULL &&
		    sockspec_hostport(prev, &ps, &pslen) == NULL &&
		    same_sockaddr(&ss, &ps)) {
			cfg_error(cfg, "%s \"%s\": the same address as \"%s\"",
			    opt->name, show(value, b, sizeof(b)),
			    show(prev, bp, sizeof(bp)));
			return (-1);
		}
	}
	*(const char **)result = value;
	return (0);
}

/* metrics-listen: "ADDR:PORT" as listen takes it, or "" for none. */
static int
parse_metrics(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	if (*value == '\0') {
		*(const char **)result = value;
		return (0);
	}
	return (parse_hostport(cfg, opt, value, result));
}

/* True if ${s} has only '*', '2', '0' and spaces: what a PIX banner looks like. */
static int
pix_like(const char *s)
{
	return (s[strspn(s, "*20 ")] == '\0');
}

/* reply and banner-text: SMTP reply text, printable ASCII, 400 octets. */
static int
parse_text(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	p[128];
	size_t	i;

	if (rule_of(cfg) < 0)
		return (-1);
	for (i = 0; value[i] != '\0'; i++)
		if (value[i] < 0x20 || value[i] > 0x7e) {
			cfg_error(cfg, "%s%s text must be printable ASCII "
			    "(octet %zu is \\x%02x)", prefix(cfg, p, sizeof(p)),
			    opt->name, i + 1, (unsigned char)value[i]);
			return (-1);
		}
	if (i > POLICY_REPLY_TEXT_MAX) {
		cfg_error(cfg, "%s%s text is %zu octets long (at most %d)",
		    prefix(cfg, p, sizeof(p)), opt->name, i,
		    POLICY_REPLY_TEXT_MAX);
		return (-1);
	}
	if (strcmp(opt->name, "banner-text") == 0 && i > 0 && pix_like(value)) {
		cfg_error(cfg, "%s of only \"*\", \"2\", \"0\" and spaces makes "
		    "clients take the server for a PIX and drop ESMTP; use a "
		    "neutral text", opt->name);
		return (-1);
	}
	*(const char **)result = value;
	return (0);
}

/* EHLO keywords and command verbs: letters, digits and '-'. */
static int
parse_keyword(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	b[128];
	size_t	i;

	for (i = 0; value[i] != '\0'; i++)
		if (!isalnum((unsigned char)value[i]) && value[i] != '-')
			break;
	if (i == 0 || value[i] != '\0') {
		cfg_error(cfg, "%s \"%s\" is not a keyword (letters, digits "
		    "and \"-\" only)", opt->name, show(value, b, sizeof(b)));
		return (-1);
	}
	*(const char **)result = value;
	return (0);
}

static int
parse_limit(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	names[512], b[128];
	long	v;
	int	r;

	if ((r = rule_of(cfg)) < 0)
		return (-1);
	if (!policy_rule_has_limit(r)) {
		cfg_error(cfg, "rule \"%s\" takes no %s (rules with one: %s)",
		    policy_rule_name(r), opt->name,
		    rule_list(policy_rule_has_limit, names, sizeof(names)));
		return (-1);
	}
	if (whole_number(value, &v) != 0) {
		cfg_error(cfg, "rule \"%s\": %s \"%s\" is not a whole number "
		    "(%ld..%ld)", policy_rule_name(r), opt->name,
		    show(value, b, sizeof(b)), rule_defaults[r].min,
		    rule_defaults[r].max);
		return (-1);
	}
	if (v < rule_defaults[r].min || v > rule_defaults[r].max) {
		cfg_error(cfg, "%s %s out of range for rule %s (%ld..%ld)",
		    opt->name, value, policy_rule_name(r),
		    rule_defaults[r].min, rule_defaults[r].max);
		return (-1);
	}
	load_ctx->limit_line[r] = cfg->line;
	*(long *)result = v;
	return (0);
}

static int
parse_action(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	names[256], b[128];
	unsigned bits;
	int	r, a;

	if ((r = rule_of(cfg)) < 0)
		return (-1);
	bits = policy_rule_actions(r);
	a = policy_action_lookup(value);
	if (a < 0 || !(bits & POLICY_ACTION_BIT(a))) {
		cfg_error(cfg, "rule \"%s\": %s \"%s\" not supported (%s)",
		    policy_rule_name(r), opt->name, show(value, b, sizeof(b)),
		    action_list(bits, names, sizeof(names)));
		return (-1);
	}
	*(long *)result = a;
	return (0);
}

/*
 * For a list option of one rule only: the rule, or -1 after reporting that
 * ${opt} belongs elsewhere or that the list is too long (SPEC 4.2: 1,000).
 */
static int
list_rule(cfg_t *cfg, cfg_opt_t *opt, enum policy_rule want1,
    enum policy_rule want2)
{
	int	r;

	if ((r = rule_of(cfg)) < 0)
		return (-1);
	if (r != (int)want1 && r != (int)want2) {
		if (want1 == want2)
			cfg_error(cfg, "rule \"%s\" takes no %s (only %s does)",
			    policy_rule_name(r), opt->name,
			    policy_rule_name(want1));
		else
			cfg_error(cfg, "rule \"%s\" takes no %s (only %s and "
			    "%s do)", policy_rule_name(r), opt->name,
			    policy_rule_name(want1), policy_rule_name(want2));
		return (-1);
	}
	if (cfg_opt_size(opt) > PATTERN_LIST_MAX) {
		cfg_error(cfg, "rule \"%s\": more than %d %s",
		    policy_rule_name(r), PATTERN_LIST_MAX, opt->name);
		return (-1);
	}
	return (r);
}

/* Header field names: printable ASCII except ':' and space (RFC 5322 2.2). */
static int
parse_header(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	b[128];
	size_t	i;
	int	r;

	if ((r = list_rule(cfg, opt, POLICY_DUPLICATE_HEADER,
	    POLICY_DUPLICATE_HEADER)) < 0)
		return (-1);
	for (i = 0; value[i] != '\0'; i++)
		if (value[i] <= 0x20 || value[i] > 0x7e || value[i] == ':')
			break;
	if (i == 0 || value[i] != '\0') {
		cfg_error(cfg, "rule \"%s\": header name \"%s\" is not valid "
		    "(printable ASCII except \":\" and space)",
		    policy_rule_name(r), show(value, b, sizeof(b)));
		return (-1);
	}
	*(const char **)result = value;
	return (0);
}

/* A PCRE2 pattern that compiles (pattern.c), checked where it is written. */
static int
parse_pattern(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	b[128], why[CONFIG_ERR_MAX / 2];
	int	r;

	if ((r = list_rule(cfg, opt, POLICY_MIME_TYPE,
	    POLICY_SENDER_ADDRESS)) < 0)
		return (-1);
	if (pattern_check(value, why, sizeof(why)) != 0) {
		cfg_error(cfg, "rule \"%s\": pattern \"%s\" does not compile: %s",
		    policy_rule_name(r), show(value, b, sizeof(b)), why);
		return (-1);
	}
	*(const char **)result = value;
	return (0);
}

/* One of encoding_names[], in any case. */
static int
parse_encoding(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	b[128], names[128];
	int	r;

	if ((r = list_rule(cfg, opt, POLICY_MIME_ENCODING,
	    POLICY_MIME_ENCODING)) < 0)
		return (-1);
	if (config_encoding_of(value, strlen(value)) == CONFIG_ENC_OTHERS &&
	    strcasecmp(value, "others") != 0) {
		cfg_error(cfg, "rule \"%s\": encoding \"%s\" is not one of %s",
		    policy_rule_name(r), show(value, b, sizeof(b)),
		    word_list(encoding_names, names, sizeof(names)));
		return (-1);
	}
	*(const char **)result = value;
	return (0);
}

/*
 * A domain name: labels of letters, digits and "-" (no "-" at either end)
 * joined by dots, at most 253 octets; a leading "." means "and every
 * subdomain".  No address literals: mail-relay is about domains.
 */
static int
parse_domain(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char	b[128];
	const char *p = value;
	size_t	label = 0, n;
	int	r, ok = 1;

	if ((r = list_rule(cfg, opt, POLICY_MAIL_RELAY, POLICY_MAIL_RELAY)) < 0)
		return (-1);
	if (*p == '.')
		p++;
	n = strlen(p);
	if (n == 0 || n > 253)
		ok = 0;
	for (; ok && *p != '\0'; p++) {
		if (*p == '.') {
			ok = label > 0 && p[-1] != '-';
			label = 0;
		} else if (isalnum((unsigned char)*p) ||
		    (*p == '-' && label > 0)) {
			ok = ++label <= 63;
		} else
			ok = 0;
	}
	if (!ok || label == 0 || p[-1] == '-') {
		cfg_error(cfg, "rule \"%s\": \"%s\" is not a domain name "
		    "(\"example.com\", or \".example.com\" for it and its "
		    "subdomains)", policy_rule_name(r), show(value, b, sizeof(b)));
		return (-1);
	}
	*(const char **)result = value;
	return (0);
}

/* End of a `rule NAME { }` block: catches unknown names of empty blocks. */
static int
valid_rule(cfg_t *cfg, cfg_opt_t *opt)
{
	unsigned n = cfg_opt_size(opt);

	(void)cfg;
	if (n == 0)
		return (0);
	return (rule_of(cfg_opt_getnsec(opt, n - 1)) < 0 ? -1 : 0);
}

/* End of the shim block: options that only make sense together. */
static int
valid_shim(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t  *shim = cfg_opt_getnsec(opt, 0);

	if (shim == NULL)
		return (0);
	if (cfg_getint(shim, "starttls") == CONFIG_TLS_TERMINATE &&
	    (*cfg_getstr(shim, "tls-certificate") == '\0' ||
	    *cfg_getstr(shim, "tls-key") == '\0')) {
		cfg_error(cfg, "starttls = terminate needs tls-certificate "
		    "and tls-key");
		return (-1);
	}
	/* One without the other would quietly turn auto into allow. */
	if ((*cfg_getstr(shim, "tls-certificate") == '\0') !=
	    (*cfg_getstr(shim, "tls-key") == '\0')) {
		cfg_error(cfg, "tls-certificate and tls-key go together: set "
		    "both or neither");
		return (-1);
	}
	if (cfg_size(shim, "listen") == 0) {
		cfg_error(cfg, "listen needs at least one \"ADDR:PORT\"");
		return (-1);
	}
	return (0);
}

/*
 * libconfuse takes end of file inside a "string" or a comment between two
 * options for a normal end: it drops that text and leaves its (global)
 * scanner in the string state, where parsing any default value afterwards
 * (cfg_addtsec) aborts the process.  confscan blanks such a tail, so this
 * only guards against the two scanners ever disagreeing: a reload must not
 * abort.  Probe the scanner: a lone "}" is an error only when it is read as
 * a token.  Returns 1 if the scanner is clean.
 */
static int
scanner_clean(cfg_t *c)
{
	int	rc;

	load_ctx->quiet = 1;
	rc = cfg_parse_buf(c, "}");
	load_ctx->quiet = 0;
	return (rc != CFG_SUCCESS);
}

/* 1 if option ${name} of ${sec} was set in the file. */
static int
modified(cfg_t *sec, const char *name)
{
	cfg_opt_t *opt = cfg_getopt(sec, name);

	return (opt != NULL && (opt->flags & CFGF_MODIFIED) != 0);
}

static void
strv_free(struct config_strv *sv)
{
	size_t	i;

	if (sv->v != NULL)
		for (i = 0; i < sv->n; i++)
			free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

/* Copy ${n} strings (or a NULL-terminated ${words} when ${sec} is NULL). */
static int
strv_make(struct config_strv *sv, cfg_t *sec, const char *name,
    const char *const *words, int (*conv)(int))
{
	size_t	i, n;
	char   *s;

	if (sec != NULL)
		n = cfg_size(sec, name);
	else
		for (n = 0; words[n] != NULL; n++)
			;
	if ((sv->v = calloc(n + 1, sizeof(char *))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		s = strdup(sec != NULL ? cfg_getnstr(sec, name, (unsigned)i) :
		    words[i]);
		if (s == NULL)
			return (-1);
		sv->v[sv->n++] = s;
		if (conv != NULL)
			for (; *s != '\0'; s++)
				*s = (char)conv((unsigned char)*s);
	}
	return (0);
}

static int
cidrs_make(struct cidr_list *cl, cfg_t *sec, const char *name)
{
	size_t	i, n = cfg_size(sec, name);

	if (n == 0)
		return (0);
	if ((cl->v = calloc(n, sizeof(*cl->v))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		if (cidr_parse(cfg_getnstr(sec, name, (unsigned)i),
		    &cl->v[cl->n]) != NULL)
			return (-1);
		cl->n++;
	}
	return (0);
}

static int
str_make(char **dst, cfg_t *sec, const char *name)
{
	return ((*dst = strdup(cfg_getstr(sec, name))) == NULL ? -1 : 0);
}

/*
 * A warning for -n: "FILE:LINE: text", or "FILE: text" with ${line} 0.
 * Kept in the order of the lines (0 first), under load_ctx.
 */
static int __attribute__((format(printf, 3, 4)))
warn(struct config *cfg, int line, const char *fmt, ...)
{
	char	msg[CONFIG_ERR_MAX], **v;
	char	*w;
	va_list	ap;
	size_t	i, n = cfg->warnings.n;
	int    *l;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((line > 0 ? asprintf(&w, "%s:%d: %s", cfg->path, line, msg) :
	    asprintf(&w, "%s: %s", cfg->path, msg)) < 0)
		return (-1);
	if ((v = realloc(cfg->warnings.v, (n + 2) * sizeof(*v))) == NULL) {
		free(w);
		return (-1);
	}
	cfg->warnings.v = v;
	if ((l = realloc(load_ctx->warn_lines, (n + 1) * sizeof(*l))) == NULL) {
		free(w);
		return (-1);
	}
	load_ctx->warn_lines = l;
	for (i = n; i > 0 && l[i - 1] > line; i--) {
		v[i] = v[i - 1];
		l[i] = l[i - 1];
	}
	v[i] = w;
	l[i] = line;
	v[++cfg->warnings.n] = NULL;
	return (0);
}

/* A range of client addresses, big-endian in IPv6 space (IPv4: the last 4). */
struct span {
	unsigned char lo[16], hi[16];
};

static int
span_cmp(const void *a, const void *b)
{
	return (memcmp(((const struct span *)a)->lo,
	    ((const struct span *)b)->lo, 16));
}

/*
 * 1 if no ${family} client escapes the prefixes of ${cl}, matched as
 * cidr_match() does: an IPv4 client by IPv4 prefixes only, an IPv6 one by
 * IPv6 prefixes and, when IPv4-mapped, by IPv4 ones too; else 0, -1 when
 * out of memory.  The union counts: 0.0.0.0/1 and 128.0.0.0/1 cover all.
 */
static int
covers_all(const struct cidr_list *cl, int family)
{
	unsigned char reach[16], top[16];
	struct span *sp;
	size_t	i, k, n = 0;
	unsigned bits;
	int	rc = 0;

	if ((sp = calloc(cl->n + 1, sizeof(*sp))) == NULL)
		return (-1);
	for (i = 0; i < cl->n; i++) {
		if (cl->v[i].family == AF_INET) {
			memcpy(sp[n].lo + 12, cl->v[i].addr, 4);
			if (family == AF_INET6)
				sp[n].lo[10] = sp[n].lo[11] = 0xff;
			bits = 96 + cl->v[i].prefix;
		} else if (family == AF_INET6) {
			memcpy(sp[n].lo, cl->v[i].addr, 16);
			bits = cl->v[i].prefix;
		} else
			continue;
		memcpy(sp[n].hi, sp[n].lo, 16);
		for (k = bits; k < 128; k++)
			sp[n].hi[k / 8] |= (unsigned char)(0x80 >> (k % 8));
		n++;
	}
	qsort(sp, n, sizeof(*sp), span_cmp);
	memset(reach, 0, sizeof(reach));	/* the first address not covered */
	memset(top, 0xff, sizeof(top));
	if (family == AF_INET)
		memset(top, 0, 12);
	for (i = 0; i < n; i++) {
		if (memcmp(sp[i].lo, reach, 16) > 0)
			break;			/* a gap */
		if (memcmp(sp[i].hi, reach, 16) < 0)
			continue;
		if (memcmp(sp[i].hi, top, 16) == 0) {
			rc = 1;
			break;
		}
		memcpy(reach, sp[i].hi, 16);
		for (k = 16; k-- > 0 && ++reach[k] == 0;)
			;
	}
	free(sp);
	return (rc);
}

/*
 * Warn when exempt-clients, global (${rule} POLICY_NRULES) or of a rule,
 * leaves a whole address family uninspected.
 */
static int
warn_exempt(struct config *cfg, const struct cidr_list *cl, int rule)
{
	const char *fam;
	int	v4, v6;

	if ((v4 = covers_all(cl, AF_INET)) < 0 ||
	    (v6 = covers_all(cl, AF_INET6)) < 0)
		return (-1);
	if (!v4 && !v6)
		return (0);
	fam = v4 && v6 ? "" : v4 ? "IPv4 " : "IPv6 ";
	if (rule == POLICY_NRULES)
		return (warn(cfg, load_ctx->exempt_line[rule], "exempt-clients "
		    "covers every %saddress: no %sclient is inspected", fam,
		    fam));
	return (warn(cfg, load_ctx->exempt_line[rule], "rule \"%s\": "
	    "exempt-clients covers every %saddress: the rule never fires%s%s%s",
	    policy_rule_name(rule), fam, *fam ? " for an " : "", fam,
	    *fam ? "client" : ""));
}

/* What a rule with limit = 0 fires on ("gt": any value above 0). */
static const char *
limit0_fires_on(enum policy_rule rule)
{
	switch (rule) {
	case POLICY_RCPT_COUNT:
		return ("every recipient");
	case POLICY_SENDER_LENGTH:
		return ("every sender but the null sender <>");
	case POLICY_BODY_LINE_LENGTH:
		return ("every message whose body has a line");
	case POLICY_MIME_FILENAME_LENGTH:
		return ("every attachment with a name");
	default:
		return ("every message");
	}
}

/* Where a rule's list fires on nothing or on everything, say so (-n). */
static int
warn_list(struct config *cfg, struct config_rule *cr, enum policy_rule r,
    size_t n)
{
	if (cr->action == POLICY_NONE || n > 0)
		return (0);
	return (warn(cfg, 0, "rule \"%s\": action = %s with no %s %s",
	    policy_rule_name(r), policy_action_name(cr->action),
	    r == POLICY_MAIL_RELAY ? "domains" : r == POLICY_MIME_ENCODING ?
	    "encodings" : "patterns", r == POLICY_MAIL_RELAY ?
	    "fires on every recipient" : "fires on nothing"));
}

/* The list options of ${r}: headers, patterns (compiled), encodings, domains. */
static int
build_lists(struct config *cfg, struct config_rule *cr, cfg_t *sec,
    enum policy_rule r)
{
	char	err[CONFIG_ERR_MAX / 2];
	size_t	i;

	switch (r) {
	case POLICY_DUPLICATE_HEADER:
		return (modified(sec, "headers") ?
		    strv_make(&cr->headers, sec, "headers", NULL, tolower) :
		    strv_make(&cr->headers, NULL, NULL, dup_headers, NULL));
	case POLICY_MIME_TYPE:
	case POLICY_SENDER_ADDRESS:
		if (strv_make(&cr->patterns, sec, "patterns", NULL, NULL) != 0)
			return (-1);
		/* Each compiled when it was read: only memory can fail here. */
		if ((cr->re = pattern_list_compile(cr->patterns.v,
		    cr->patterns.n, err, sizeof(err))) == NULL) {
			(void)snprintf(load_ctx->err, load_ctx->errlen,
			    "%s: rule \"%s\": %s", cfg->path, policy_rule_name(r),
			    err);
			return (-1);
		}
		return (warn_list(cfg, cr, r, cr->patterns.n));
	case POLICY_MIME_ENCODING:
		cr->encodings = 0;
		for (i = 0; i < cfg_size(sec, "encodings"); i++) {
			const char *v = cfg_getnstr(sec, "encodings", i);

			cr->encodings |= CONFIG_ENC_BIT(config_encoding_of(v,
			    strlen(v)));
		}
		return (warn_list(cfg, cr, r, cfg_size(sec, "encodings")));
	case POLICY_MAIL_RELAY:
		if (strv_make(&cr->domains, sec, "domains", NULL, tolower) != 0)
			return (-1);
		return (warn_list(cfg, cr, r, cr->domains.n));
	default:
		return (0);
	}
}

static int
build_rules(struct config *cfg, cfg_t *c)
{
	struct config_rule *cr;
	cfg_t  *sec;
	int	r;

	for (r = 0; r < POLICY_NRULES; r++) {
		cr = &cfg->rules[r];
		sec = cfg_gettsec(c, "rule", policy_rule_name(r));
		if (sec == NULL &&
		    (sec = cfg_addtsec(c, "rule", policy_rule_name(r))) == NULL)
			return (-1);
		cr->limit = !policy_rule_has_limit(r) ? 0 :
		    modified(sec, "limit") ? cfg_getint(sec, "limit") :
		    rule_defaults[r].limit;
		cr->action = modified(sec, "action") ?
		    (enum policy_action)cfg_getint(sec, "action") :
		    rule_defaults[r].action[cfg->profile];
		cr->log = cfg_getbool(sec, "log") ? 1 : 0;
		if (str_make(&cr->reply, sec, "reply") != 0 ||
		    cidrs_make(&cr->exempt, sec, "exempt-clients") != 0 ||
		    warn_exempt(cfg, &cr->exempt, r) != 0)
			return (-1);
		/* An explicit 0 (no default is 0) with a refusing action. */
		if (policy_rule_has_limit(r) && cr->limit == 0 &&
		    cr->action >= POLICY_TEMPFAIL &&
		    warn(cfg, load_ctx->limit_line[r], "rule \"%s\": limit = 0 "
		    "with action = %s fires on %s", policy_rule_name(r),
		    policy_action_name(cr->action), limit0_fires_on(r)) != 0)
			return (-1);
		if (build_lists(cfg, cr, sec, r) != 0)
			return (-1);
	}
	return (0);
}

static int
build_shim(struct config *cfg, cfg_t *c)
{
	struct config_shim *s = &cfg->shim;
	cfg_t  *sec = cfg_getsec(c, "shim");
	long	v[sizeof(asa_shim_enums) / sizeof(asa_shim_enums[0])];
	size_t	i;

	for (i = 0; i < sizeof(asa_shim_enums) / sizeof(asa_shim_enums[0]); i++)
		v[i] = cfg->profile == CONFIG_ASA &&
		    !modified(sec, asa_shim_enums[i].name) ?
		    asa_shim_enums[i].value :
		    cfg_getint(sec, asa_shim_enums[i].name);
	s->banner = (enum config_banner)v[0];
	s->ehlo_other = (enum config_ehlo_other)v[1];
	s->command_other = (enum config_command_other)v[2];
	s->starttls = (enum config_starttls)v[3];
	/* SPEC 5.4: auto is terminate with a certificate, else allow; the
	 * asa profile's auto is strip (the ASA's "no allow-tls"). */
	if (s->starttls == CONFIG_TLS_AUTO)
		s->starttls = cfg->profile == CONFIG_ASA ? CONFIG_TLS_STRIP :
		    *cfg_getstr(sec, "tls-certificate") != '\0' ?
		    CONFIG_TLS_TERMINATE : CONFIG_TLS_ALLOW;
	for (i = 0; i < 2; i++) {
		struct config_strv *sv = i == 0 ? &s->ehlo_keywords :
		    &s->commands;
		int	asa = cfg->profile == CONFIG_ASA &&
		    !modified(sec, asa_shim_lists[i].name);

		if (strv_make(sv, asa ? NULL : sec, asa_shim_lists[i].name,
		    asa_shim_lists[i].words, toupper) != 0)
			return (-1);
	}
	s->proxy_protocol = (enum config_proxy)cfg_getint(sec, "proxy-protocol");
	s->upstream_tls = cfg_getbool(sec, "upstream-tls") ? 1 : 0;
	s->max_connections = (int)cfg_getint(sec, "max-connections");
	s->max_connections_per_client =
	    (int)cfg_getint(sec, "max-connections-per-client");
	s->max_embryonic = (int)cfg_getint(sec, "max-embryonic");
	s->client_ipv6_prefix = (int)cfg_getint(sec, "client-ipv6-prefix");
	s->embryonic_timeout = (int)cfg_getint(sec, "embryonic-timeout");
	s->hard_error_limit = (int)cfg_getint(sec, "hard-error-limit");
	s->connect_timeout = (int)cfg_getint(sec, "connect-timeout");
	s->command_timeout = (int)cfg_getint(sec, "command-timeout");
	s->data_timeout = (int)cfg_getint(sec, "data-timeout");
	s->shutdown_timeout = (int)cfg_getint(sec, "shutdown-timeout");
	if (strv_make(&s->listen, sec, "listen", NULL, NULL) != 0 ||
	    str_make(&s->upstream, sec, "upstream") != 0 ||
	    str_make(&s->metrics_listen, sec, "metrics-listen") != 0 ||
	    cidrs_make(&s->accept_proxy_from, sec, "accept-proxy-from") != 0 ||
	    str_make(&s->banner_text, sec, "banner-text") != 0 ||
	    str_make(&s->tls_certificate, sec, "tls-certificate") != 0 ||
	    str_make(&s->tls_key, sec, "tls-key") != 0)
		return (-1);
	/* Checked by parse_hostport(); parsed here once, not per session. */
	s->upstream_addrlen = sizeof(s->upstream_addr);
	if (sockspec_hostport(s->upstream, &s->upstream_addr,
	    &s->upstream_addrlen) != NULL)
		return (-1);
	if (s->starttls == CONFIG_TLS_ALLOW &&
	    warn(cfg, load_ctx->starttls_line, "%s", CONFIG_STARTTLS_ALLOW) != 0)
		return (-1);
	if (s->proxy_protocol == CONFIG_PROXY_NONE &&
	    warn(cfg, load_ctx->proxy_line, "proxy-protocol = none: the MTA "
	    "sees the shim's address as the client of every session") != 0)
		return (-1);
	return (0);
}

/* Turn the parsed tree into a snapshot, profile applied. */
static struct config *
build(cfg_t *c, const char *path)
{
	struct config *cfg;
	cfg_t  *m;
	int	ok;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return (NULL);
	cfg->refs = 1;
	cfg->profile = (enum config_profile)cfg_getint(c, "profile");
	cfg->mode = (enum config_mode)cfg_getint(c, "mode");
	cfg->facility = (int)cfg_getint(c, "syslog-facility");
	m = cfg_getsec(c, "milter");
	cfg->milter.socket_mode = octal_mode(cfg_getstr(m, "socket-mode"), &ok);
	cfg->milter.timeout = (int)cfg_getint(m, "timeout");
	cfg->milter.on_error = (enum config_on_error)cfg_getint(m, "on-error");
	if ((cfg->path = strdup(path)) == NULL ||
	    cidrs_make(&cfg->exempt, c, "exempt-clients") != 0 ||
	    warn_exempt(cfg, &cfg->exempt, POLICY_NRULES) != 0 ||
	    str_make(&cfg->user, c, "user") != 0 ||
	    str_make(&cfg->group, c, "group") != 0 ||
	    str_make(&cfg->milter.socket, m, "socket") != 0 ||
	    str_make(&cfg->milter.metrics_listen, m, "metrics-listen") != 0 ||
	    build_shim(cfg, c) != 0 || build_rules(cfg, c) != 0) {
		config_unref(cfg);
		return (NULL);
	}
	return (cfg);
}

/* "FILE:LINE: message" in the caller's buffer, instead of what is there. */
static void __attribute__((format(printf, 2, 3)))
load_error_at(int line, const char *fmt, ...)
{
	char	msg[CONFIG_ERR_MAX];
	va_list	ap;

	if (load_ctx->err == NULL || load_ctx->errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)snprintf(load_ctx->err, load_ctx->errlen, "%s:%d: %s",
	    load_ctx->path, line, msg);
}

/*
 * After libconfuse has read the text (${parsed}: without an error): what
 * confscan found that libconfuse reports wrongly or not at all.  Returns 1
 * if the file is refused.
 */
static int
scan_errors(const struct confscan *cs, int parsed)
{
	char	want[CONFIG_ERR_MAX], b[128];

	/* Blanked to the end: libconfuse missed at most a value there. */
	if (cs->open != 0 && (parsed ||
	    strcmp(load_ctx->first, "premature end of file") == 0)) {
		load_error_at(cs->open_line, "unterminated %s", cs->open == '*' ?
		    "comment" : "quoted string");
		return (1);
	}
	if (!parsed && cs->stray != NULL) {
		(void)snprintf(want, sizeof(want), "no such option '%s'",
		    cs->stray);
		if (load_ctx->first_line == cs->stray_line &&
		    strcmp(load_ctx->first, want) == 0)
			load_error_at(cs->stray_line, "missing \"}\" for \"%s\" "
			    "opened at line %d", show(cs->stray_block, b,
			    sizeof(b)), cs->stray_open);
	}
	return (!parsed);
}

/* -n warnings for what confscan found: names given twice, an open block. */
static int
scan_warnings(struct config *cfg, const struct confscan *cs)
{
	const struct confscan_dup *d;
	char	b[128], bb[128], in[160];
	size_t	i;
	int	rc = 0;

	for (i = 0; i < cs->ndups && rc == 0; i++) {
		d = &cs->dups[i];
		in[0] = '\0';
		if (d->block != NULL)
			(void)snprintf(in, sizeof(in), " in \"%s\"",
			    show(d->block, bb, sizeof(bb)));
		rc = warn(cfg, d->line, "\"%s\" given twice%s (also line %d); "
		    "%s", show(d->name, b, sizeof(b)), in, d->first,
		    d->kind == CONFSCAN_DUP_OPTION ? "the last one wins" :
		    d->kind == CONFSCAN_DUP_MERGED ? "the blocks are merged, "
		    "the later settings win" : "the last one wins, the earlier "
		    "block is ignored");
	}
	if (rc == 0 && cs->unclosed != NULL)
		rc = warn(cfg, cs->unclosed_line, "\"%s\" has no closing \"}\": "
		    "the end of the file closes it", show(cs->unclosed, b,
		    sizeof(b)));
	/* A pattern's "\." must not quietly become "." */
	if (rc == 0 && cs->dropped_line > 0)
		rc = warn(cfg, cs->dropped_line, "\"\\%s\" in a double-quoted "
		    "string reads as \"%s\" (write \"\\\\%s\", or the string "
		    "in single quotes, where a backslash stays)",
		    show((char []){ cs->dropped, '\0' }, b, sizeof(b)), b, b);
	return (rc);
}

/* The whole of ${fp} in a new buffer, its length in *len; NULL with errno. */
static char *
read_all(FILE *fp, size_t *len)
{
	char   *buf = NULL, *nb;
	size_t	cap = 0, n = 0, r;

	do {
		if (n == cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				errno = ENOMEM;
				return (NULL);
			}
			buf = nb;
		}
		n += (r = fread(buf + n, 1, cap - n, fp));
	} while (r > 0);
	if (ferror(fp)) {
		free(buf);
		if (errno == 0)
			errno = EIO;
		return (NULL);
	}
	*len = n;
	return (buf);
}

/**
 * config_load(path, err, errlen): read and validate ${path}.  Returns a new
 * snapshot with one reference, or NULL with "FILE:LINE: message" (or
 * "FILE: message" when no line applies) in ${err}.
 */
struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct load_ctx ctx;
	struct confscan cs;
	struct config *cfg = NULL;
	struct stat st;
	char	ebuf[256], *text;
	size_t	len;
	cfg_t  *c = NULL;
	FILE   *fp;
	int	line, rc = CFG_SUCCESS;

	memset(&ctx, 0, sizeof(ctx));
	memset(&cs, 0, sizeof(cs));
	ctx.path = path;
	ctx.err = err;
	ctx.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((fp = fopen(path, "r")) == NULL) {
		load_error(path, err, errlen, "%s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return (NULL);
	}
	/* A FIFO or a device could be read for ever: a file only. */
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		load_error(path, err, errlen, "%s", S_ISDIR(st.st_mode) ?
		    strerror_r(EISDIR, ebuf, sizeof(ebuf)) : "not a regular file");
		(void)fclose(fp);
		return (NULL);
	}
	errno = 0;
	text = read_all(fp, &len);
	(void)fclose(fp);
	if (text == NULL) {
		load_error(path, err, errlen, "%s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return (NULL);
	}
	rc = confscan_read(&cs, text, len, opts);
	free(text);
	(void)pthread_mutex_lock(&load_lock);
	load_ctx = &ctx;
	if (rc != 0 || (c = cfg_init(opts, CFGF_NONE)) == NULL)
		goto nomem;
	(void)cfg_set_error_function(c, load_errfunc);
	(void)cfg_set_validate_func(c, "rule", valid_rule);
	(void)cfg_set_validate_func(c, "shim", valid_shim);
	free(c->filename);
	if ((c->filename = strdup(path)) == NULL)
		goto nomem;
	/* The blanked text; fmemopen() refuses an empty buffer. */
	if (cs.len > 0) {
		if ((fp = fmemopen(cs.text, cs.len, "r")) == NULL)
			goto nomem;
		rc = cfg_parse_fp(c, fp);
		(void)fclose(fp);
	}
	if (scan_errors(&cs, rc == CFG_SUCCESS)) {
		if (err != NULL && errlen > 0 && err[0] == '\0')
			load_error(path, err, errlen, "syntax error");
		goto done;
	}
	line = c->line;
	if (!scanner_clean(c)) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "%s:%d: end of file inside a "
			    "quoted string or a comment", path, line);
		goto done;
	}
	if ((cfg = build(c, path)) == NULL || scan_warnings(cfg, &cs) != 0)
		goto nomem;
	goto done;
nomem:
	config_unref(cfg);
	cfg = NULL;
	load_error(path, err, errlen, "%s",
	    strerror_r(ENOMEM, ebuf, sizeof(ebuf)));
done:
	load_ctx = NULL;
	if (c != NULL)
		(void)cfg_free(c);
	(void)pthread_mutex_unlock(&load_lock);
	free(ctx.warn_lines);
	confscan_free(&cs);
	return (cfg);
}

/** config_ref(cfg): take another reference to ${cfg}; returns ${cfg}. */
struct config *
config_ref(struct config *cfg)
{
	if (cfg != NULL)
		(void)__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
	return (cfg);
}

/** config_unref(cfg): drop a reference; frees at zero.  NULL is a no-op. */
void
config_unref(struct config *cfg)
{
	struct config_rule *cr;
	int	r;

	if (cfg == NULL || __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL)
	    != 0)
		return;
	free(cfg->path);
	cidr_list_free(&cfg->exempt);
	free(cfg->user);
	free(cfg->group);
	free(cfg->milter.socket);
	free(cfg->milter.metrics_listen);
	free(cfg->shim.metrics_listen);
	strv_free(&cfg->shim.listen);
	free(cfg->shim.upstream);
	cidr_list_free(&cfg->shim.accept_proxy_from);
	free(cfg->shim.banner_text);
	strv_free(&cfg->shim.ehlo_keywords);
	strv_free(&cfg->shim.commands);
	strv_free(&cfg->warnings);
	free(cfg->shim.tls_certificate);
	free(cfg->shim.tls_key);
	for (r = 0; r < POLICY_NRULES; r++) {
		cr = &cfg->rules[r];
		free(cr->reply);
		cidr_list_free(&cr->exempt);
		strv_free(&cr->headers);
		strv_free(&cr->patterns);
		pattern_list_free(cr->re);
		strv_free(&cr->domains);
	}
	free(cfg);
}


/* mime-encoding's `encodings`, in the order of encoding_names[]. */
static void
print_encodings(FILE *fp, const char *indent, unsigned bits)
{
	int	e, n = 0;

	(void)fprintf(fp, "%sencodings = {", indent);
	for (e = 0; e < CONFIG_NENC; e++)
		if (bits & CONFIG_ENC_BIT(e))
			(void)fprintf(fp, "%s\"%s\"", n++ ? ", " : " ",
			    encoding_names[e]);
	(void)fputs(n ? " }\n" : "}\n", fp);
}
/* Print ${s} as a libconfuse string: quoted, escaped so it reads back the same. */
static void
print_str(FILE *fp, const char *s)
{
	unsigned char c;

	(void)fputc('"', fp);
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '"' || c == '\\' || c == '$')	/* $: no ${VAR} */
			(void)fprintf(fp, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			(void)fprintf(fp, "\\x%02x", c);
		else
			(void)fputc(c, fp);
	}
	(void)fputc('"', fp);
}

static void
print_strv(FILE *fp, const char *indent, const char *name,
    const struct config_strv *sv)
{
	size_t	i;

	(void)fprintf(fp, "%s%s = {", indent, name);
	for (i = 0; i < sv->n; i++) {
		(void)fputs(i ? ", " : " ", fp);
		print_str(fp, sv->v[i]);
	}
	(void)fputs(sv->n ? " }\n" : "}\n", fp);
}

static void
print_cidrs(FILE *fp, const char *indent, const char *name,
    const struct cidr_list *cl)
{
	char	buf[64];
	size_t	i;

	(void)fprintf(fp, "%s%s = {", indent, name);
	for (i = 0; i < cl->n; i++) {
		cidr_format(&cl->v[i], buf, sizeof(buf));
		(void)fprintf(fp, "%s\"%s\"", i ? ", " : " ", buf);
	}
	(void)fputs(cl->n ? " }\n" : "}\n", fp);
}

static void
print_named(FILE *fp, const char *indent, const char *name, const char *s)
{
	(void)fprintf(fp, "%s%s = ", indent, name);
	print_str(fp, s);
	(void)fputc('\n', fp);
}

/** config_print(cfg, fp): write the effective configuration in the file's own syntax. */
void
config_print(const struct config *cfg, FILE *fp)
{
	const struct config_shim *s = &cfg->shim;
	const struct config_rule *cr;
	const char *in = "  ";
	const char *fac = config_facility_name(cfg->facility);
	int	r;

	(void)fprintf(fp, "profile = %s\n", w_profile[cfg->profile]);
	(void)fprintf(fp, "mode = %s\n", w_mode[cfg->mode]);
	(void)fprintf(fp, "syslog-facility = %s\n", fac ? fac : "mail");
	print_cidrs(fp, "", "exempt-clients", &cfg->exempt);
	print_named(fp, "", "user", cfg->user);
	print_named(fp, "", "group", cfg->group);

	(void)fprintf(fp, "\nmilter {\n");
	print_named(fp, in, "socket", cfg->milter.socket);
	(void)fprintf(fp, "%ssocket-mode = \"%04o\"\n", in,
	    cfg->milter.socket_mode);
	(void)fprintf(fp, "%stimeout = %d\n", in, cfg->milter.timeout);
	(void)fprintf(fp, "%son-error = %s\n", in,
	    w_on_error[cfg->milter.on_error]);
	print_named(fp, in, "metrics-listen", cfg->milter.metrics_listen);
	(void)fprintf(fp, "}\n");

	(void)fprintf(fp, "\nshim {\n");
	print_strv(fp, in, "listen", &s->listen);
	print_named(fp, in, "upstream", s->upstream);
	(void)fprintf(fp, "%sproxy-protocol = %s\n", in,
	    w_proxy[s->proxy_protocol]);
	print_cidrs(fp, in, "accept-proxy-from", &s->accept_proxy_from);
	(void)fprintf(fp, "%sbanner = %s\n", in, w_banner[s->banner]);
	print_named(fp, in, "banner-text", s->banner_text);
	print_strv(fp, in, "ehlo-keywords", &s->ehlo_keywords);
	(void)fprintf(fp, "%sehlo-other = %s\n", in,
	    w_ehlo_other[s->ehlo_other]);
	print_strv(fp, in, "commands", &s->commands);
	(void)fprintf(fp, "%scommand-other = %s\n", in,
	    w_command_other[s->command_other]);
	(void)fprintf(fp, "%sstarttls = %s\n", in, w_starttls[s->starttls]);
	print_named(fp, in, "tls-certificate", s->tls_certificate);
	print_named(fp, in, "tls-key", s->tls_key);
	(void)fprintf(fp, "%supstream-tls = %s\n", in,
	    s->upstream_tls ? "yes" : "no");
	(void)fprintf(fp, "%smax-connections = %d\n", in, s->max_connections);
	(void)fprintf(fp, "%smax-connections-per-client = %d\n", in,
	    s->max_connections_per_client);
	(void)fprintf(fp, "%smax-embryonic = %d\n", in, s->max_embryonic);
	(void)fprintf(fp, "%sclient-ipv6-prefix = %d\n", in,
	    s->client_ipv6_prefix);
	(void)fprintf(fp, "%sembryonic-timeout = %d\n", in, s->embryonic_timeout);
	(void)fprintf(fp, "%shard-error-limit = %d\n", in, s->hard_error_limit);
	print_named(fp, in, "metrics-listen", s->metrics_listen);
	(void)fprintf(fp, "%sconnect-timeout = %d\n", in, s->connect_timeout);
	(void)fprintf(fp, "%scommand-timeout = %d\n", in, s->command_timeout);
	(void)fprintf(fp, "%sdata-timeout = %d\n", in, s->data_timeout);
	(void)fprintf(fp, "%sshutdown-timeout = %d\n", in, s->shutdown_timeout);
	(void)fprintf(fp, "}\n");

	for (r = 0; r < POLICY_NRULES; r++) {
		cr = &cfg->rules[r];
		(void)fprintf(fp, "\nrule %s {\n", policy_rule_name(r));
		if (policy_rule_has_limit(r))
			(void)fprintf(fp, "%slimit = %lld\n", in, cr->limit);
		(void)fprintf(fp, "%saction = %s\n", in,
		    policy_action_name(cr->action));
		(void)fprintf(fp, "%slog = %s\n", in, cr->log ? "yes" : "no");
		print_named(fp, in, "reply", cr->reply);
		print_cidrs(fp, in, "exempt-clients", &cr->exempt);
		if (r == POLICY_DUPLICATE_HEADER)
			print_strv(fp, in, "headers", &cr->headers);
		if (r == POLICY_MIME_TYPE || r == POLICY_SENDER_ADDRESS)
			print_strv(fp, in, "patterns", &cr->patterns);
		if (r == POLICY_MIME_ENCODING)
			print_encodings(fp, in, cr->encodings);
		if (r == POLICY_MAIL_RELAY)
			print_strv(fp, in, "domains", &cr->domains);
		(void)fprintf(fp, "}\n");
	}
}

/** config_install(cfg): make ${cfg} current (takes over the caller's reference). */
void
config_install(struct config *cfg)
{
	struct config *old;

	(void)pthread_mutex_lock(&current_lock);
	old = current;
	current = cfg;
	(void)pthread_mutex_unlock(&current_lock);
	config_unref(old);
}

/** config_current(): a new reference to the current snapshot, or NULL before the first install. */
struct config *
config_current(void)
{
	struct config *cfg;

	(void)pthread_mutex_lock(&current_lock);
	cfg = config_ref(current);
	(void)pthread_mutex_unlock(&current_lock);
	return (cfg);
}

/** config_facility_name(facility): the syslog facility's name ("mail"), or NULL. */
const char *
config_facility_name(int facility)
{
	size_t	i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (facilities[i].facility == facility)
			return (facilities[i].name);
	return (NULL);
}

/** config_exempt(cfg, rule, sa): 1 if a client at ${sa} is exempt from ${rule} (per-rule list). */
int
config_rule_exempt(const struct config *cfg, enum policy_rule rule,
    const struct sockaddr *sa)
{
	if (cfg == NULL || (unsigned)rule >= POLICY_NRULES)
		return (0);
	return (cidr_list_match_sa(&cfg->rules[rule].exempt, sa));
}

/**
 * config_encoding_of(value, len): the CONFIG_ENC_* of the ${len}-octet
 * Content-Transfer-Encoding value at ${value} (compared case-insensitively;
 * any other value is CONFIG_ENC_OTHERS).
 */
enum config_encoding
config_encoding_of(const char *value, size_t len)
{
	int	e;

	for (e = 0; e < CONFIG_ENC_OTHERS; e++)
		if (strlen(encoding_names[e]) == len &&
		    strncasecmp(value, encoding_names[e], len) == 0)
			return ((enum config_encoding)e);
	return (CONFIG_ENC_OTHERS);
}

/** config_encoding_name(e): the name of ${e} as in `encodings`. */
const char *
config_encoding_name(enum config_encoding e)
{
	return ((unsigned)e < CONFIG_NENC ? encoding_names[e] : NULL);
}

/**
 * config_domain_listed(rule, domain, len): 1 if the ${len}-octet domain at
 * ${domain} is in mail-relay's `domains` of ${rule} (compared
 * case-insensitively; an entry ".example.com" also takes every subdomain
 * of example.com), else 0.
 */
int
config_domain_listed(const struct config_rule *rule, const char *domain,
    size_t len)
{
	const char *d;
	size_t	i, n;

	/* "example.com." is example.com */
	if (len > 0 && domain[len - 1] == '.')
		len--;
	for (i = 0; i < rule->domains.n; i++) {
		d = rule->domains.v[i];
		n = strlen(d);
		if (n == len && strncasecmp(d, domain, len) == 0)
			return (1);
		if (d[0] != '.')
			continue;
		/* ".example.com": example.com itself, or a name ending in it */
		if (n - 1 == len && strncasecmp(d + 1, domain, len) == 0)
			return (1);
		if (len > n && strncasecmp(d, domain + len - n, n) == 0)
			return (1);
	}
	return (0);
}
