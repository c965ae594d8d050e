/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_asaconf.c - asaconf_translate() (SPEC 10): a row per ASA
 * configuration snippet with the status, lines the output must hold and
 * lines that must be listed as not translated; every output is printable
 * and loads through config_load() (the -n of both daemons); the
 * _default_esmtp_map gives exactly the -n dump of profile = asa; the ASA
 * regex translation, row by row (and, with libpcre2-8 at build time,
 * every translated pattern compiles).
 *
 * Rows whose output uses the rules of SPEC 4.2 (header-length,
 * header-to-count, body-length, mime-type, mime-encoding, sender-address,
 * mail-relay, invalid-recipients) are marked NEEDS_SPEC42 for the reader;
 * every row's output must load.  Rows hold
 * their strings inline: Criterion 2.4 copies parameters into a
 * re-executed worker.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef ASACONF_TEST_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif

#include "asaconf.h"
#include "config.h"

#define NEEDS_SPEC42	1	/* the output uses a SPEC 4.2 rule */

enum { OK = ASACONF_OK, PARTIAL = ASACONF_PARTIAL,
	NO_ESMTP = ASACONF_NO_ESMTP, REFUSED = ASACONF_REFUSED };

/* The ASA's default inspection, as `show running-config` has it. */
#define GLOBAL_POLICY \
	"policy-map global_policy\n" \
	" class inspection_default\n" \
	"  inspect dns preset_dns_map\n" \
	"  inspect esmtp\n" \
	"service-policy global_policy global\n"

/* A custom map applied to the default class. */
#define USE(map) \
	"policy-map global_policy\n" \
	" class inspection_default\n" \
	"  inspect esmtp " map "\n"

/* An exemption of the clients of access-list X, entry ${acl} first. */
#define EXEMPT(acl) \
	"access-list X extended " acl "\n" \
	"class-map c\n match access-list X\n" \
	"policy-map g\n class c\n  no inspect esmtp\n"

struct row {
	char	name[48];
	char	in[1536];
	int	status;
	char	want[6][200];	/* each must occur in the output */
	char	untr[3][120];	/* each must start a not-translated line */
	int	spec42;		/* NEEDS_SPEC42 */
};

/* Translate ${in} into ${res}; the call must succeed. */
static void
translate(const char *in, struct asaconf_result *res)
{
	cr_assert_eq(asaconf_translate(in, strlen(in), res), 0,
	    "out of memory");
}

/* "line N: text" of not-translated entry ${i}. */
static void
untr_line(const struct asaconf_result *res, size_t i, char *buf, size_t len)
{
	(void)snprintf(buf, len, "line %d: %s", res->untr[i].line,
	    res->untr[i].text);
}

/*
 * Load ${conf} through a temporary file, as -n does; NULL with the
 * message in ${err}.
 */
static struct config *
load_conf(const char *conf, char *err, size_t errlen)
{
	char	path[64];
	struct config *cfg;
	int	fd;

	(void)snprintf(path, sizeof(path), "/tmp/test_asaconf.XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp");
	cr_assert(write(fd, conf, strlen(conf)) == (ssize_t)strlen(conf));
	close(fd);
	cfg = config_load(path, err, errlen);
	unlink(path);
	return (cfg);
}

static char *
print_conf(const struct config *cfg)
{
	char   *buf = NULL;
	size_t	len = 0;
	FILE   *fp = open_memstream(&buf, &len);

	cr_assert_not_null(fp);
	config_print(cfg, fp);
	fclose(fp);
	return (buf);
}

/* -------------------------------------------------------------------- */

ParameterizedTestParameters(asaconf, rows)
{
	static struct row rows[] = {
	/* The firewall's defaults: _default_esmtp_map, built in. */
	{ "default map", GLOBAL_POLICY, OK,
	  { "  banner = asterisks\n", "  ehlo-other = mask\n",
	    "  command-other = mask\n", "  starttls = strip\n",
	    "rule cmd-line-length {\n  limit = 512\n"
	    "  action = drop-connection\n  log = yes\n",
	    "rule body-line-length {\n  limit = 998\n  action = log\n" },
	  { "" }, 0 },
	{ "default map named", "policy-map global_policy\n"
	  " class inspection_default\n  inspect esmtp _default_esmtp_map\n",
	  OK, { "rule rcpt-count {\n  limit = 100\n"
	    "  action = drop-connection\n",
	    "rule mime-filename-length {\n  limit = 255\n"
	    "  action = drop-connection\n",
	    "rule duplicate-header {\n  action = none\n" }, { "" }, 0 },
	/* No inspect line, only an exemption: the ASA's default inspection. */
	{ "TechNote 117801", "access-list ESA extended permit tcp any host "
	  "1.1.1.1 eq smtp\nclass-map ESA-class\n match access-list ESA\n"
	  "policy-map global_policy\n class ESA-class\n  no inspect esmtp\n"
	  "static (inside,outside) 1.1.1.1 192.168.1.1 netmask "
	  "255.255.255.255 tcp 50 100\n", OK,
	  { "exempt-clients = { \"1.1.1.1/32\", \"192.168.1.1/32\" }\n",
	    "  max-connections = 50\n", "  max-embryonic = 100\n",
	    "  banner = asterisks\n",
	    "rule sender-length {\n  limit = 320\n"
	    "  action = drop-connection\n" }, { "" }, 0 },
	{ "TechNote with inspection_default", GLOBAL_POLICY
	  "access-list ESA extended permit tcp host 192.168.1.1 any eq 25\n"
	  "access-list ESA extended permit tcp any host 1.1.1.1 eq smtp\n"
	  "class-map ESA-class\n match access-list ESA\n"
	  "policy-map global_policy\n class ESA-class\n  no inspect esmtp\n"
	  "static (inside,outside) 1.1.1.1 192.168.1.1 netmask "
	  "255.255.255.255 tcp 0 0\n", OK,
	  { "exempt-clients = { \"192.168.1.1/32\", \"1.1.1.1/32\" }\n",
	    "  max-connections = 1000000\n", "  max-embryonic = 1000000\n" },
	  { "" }, 0 },
	{ "port static, networks", "access-list M permit tcp 192.0.2.0 "
	  "255.255.255.0 any eq smtp\naccess-list M permit tcp any "
	  "2001:db8::/32 eq 25\naccess-list M permit tcp any host 10.0.0.1 "
	  "eq www\nclass-map mail\n match access-list M\npolicy-map gp\n"
	  " class mail\n  no inspect esmtp\nstatic (dmz,outside) tcp "
	  "198.51.100.25 smtp 10.0.0.25 smtp netmask 255.255.255.255 200 "
	  "20\n", OK, { "exempt-clients = { \"192.0.2.0/24\", "
	    "\"2001:db8::/32\" }\n", "  max-connections = 200\n",
	    "  max-embryonic = 20\n" }, { "" }, 0 },
	/* A custom map of the existing rules: log flags, reset, masks. */
	{ "custom, existing rules", "policy-map type inspect esmtp m\n"
	  " parameters\n  no mask-banner\n  allow-tls action log\n"
	  " match cmd line length gt 1000\n  reset log\n"
	  " match cmd RCPT count gt 500\n  drop-connection\n"
	  " match header line length gt 2000\n  log\n"
	  " match ehlo-reply-parameter others size dsn\n  mask log\n"
	  " match cmd verb vrfy etrn\n  mask\n" USE("m"), OK,
	  { "  banner = pass\n", "  starttls = allow\n",
	    "  ehlo-keywords = { \"8BITMIME\", \"AUTH\", \"BINARYMIME\", "
	    "\"CHECKPOINT\", \"ENHANCEDSTATUSCODES\", \"ETRN\", "
	    "\"PIPELINING\", \"VRFY\" }\n",
	    "  commands = { \"HELO\", \"EHLO\", \"MAIL\", \"RCPT\", \"DATA\", "
	    "\"RSET\", \"NOOP\", \"QUIT\", \"AUTH\", \"HELP\", \"SAML\", "
	    "\"SEND\", \"SOML\" }\n",
	    "rule rcpt-count {\n  limit = 500\n  action = drop-connection\n"
	    "  log = no\n",
	    "rule cmd-line-length {\n  limit = 1000\n"
	    "  action = drop-connection\n  log = yes\n" }, { "" }, 0 },
	{ "custom without ehlo mask", "policy-map type inspect esmtp m\n"
	  " match body line length gt 5000\n  drop-connection log\n" USE("m"),
	  OK, { "  banner = pass\n", "  ehlo-other = pass\n",
	    "  starttls = strip\n", "rule cmd-line-length {\n  limit = 512\n"
	    "  action = none\n", "rule body-line-length {\n  limit = 5000\n"
	    "  action = drop-connection\n" }, { "" }, 0 },
	{ "match not verb, not ehlo", "policy-map type inspect esmtp m\n"
	  " match not cmd verb helo ehlo mail rcpt data quit rset\n  mask\n"
	  " match not ehlo-reply-parameter size pipelining 8bitmime\n  mask\n"
	  USE("m"), OK, { "  commands = { \"HELO\", \"EHLO\", \"MAIL\", "
	    "\"RCPT\", \"DATA\", \"RSET\", \"QUIT\" }\n",
	    "  ehlo-keywords = { \"8BITMIME\", \"PIPELINING\", \"SIZE\" }\n",
	    "  ehlo-other = mask\n" }, { "" }, 0 },
	/* The rules of SPEC 4.2: every other criterion and mail-relay. */
	{ "every criterion", "regex exe \"application/(x-msdownload|"
	  "octet-stream)\"\nregex bulk \"^[a-z]+\\.bulk@example\\.com\"\n"
	  "policy-map type inspect esmtp all\n parameters\n  mask-banner\n"
	  "  mail-relay Example.COM action drop-connection log\n"
	  "  special-character action drop-connection\n  no allow-tls\n"
	  " match body length gt 20000000\n  drop-connection log\n"
	  " match header length gt 100000\n  reset log\n"
	  " match header to-fields count gt 3\n  log\n"
	  " match invalid-recipients count gt 20\n  drop-connection log\n"
	  " match mime filetype regex exe\n  drop-connection log\n"
	  " match not mime encoding 7bit 8bit quoted-printable base64\n"
	  "  drop-connection log\n match sender-address regex bulk\n"
	  "  drop-connection\n" USE("all"), OK,
	  { "rule body-length {\n  limit = 20000000\n"
	    "  action = drop-connection\n  log = yes\n",
	    "rule header-to-count {\n  limit = 3\n  action = log\n",
	    "rule mime-type {\n  patterns = { \"application/(x-msdownload|"
	    "octet-stream)\" }\n  action = drop-connection\n",
	    "rule mime-encoding {\n  encodings = { \"binary\", \"others\" }\n",
	    "rule sender-address {\n  patterns = { \"^[a-z]+\\\\.bulk@"
	    "example\\\\.com\" }\n  action = drop-connection\n  log = no\n",
	    "rule mail-relay {\n  domains = { \"example.com\" }\n"
	    "  action = drop-connection\n" }, { "" }, NEEDS_SPEC42 },
	/*
	 * match not on a regex: patterns are caseless, the ASA may not be,
	 * so the negation could match less than on the ASA (issue 19).
	 */
	{ "match not regex", "regex jpg \"^image/\"\n"
	  "policy-map type inspect esmtp m\n match not mime filetype regex "
	  "jpg\n  log\n" USE("m"), PARTIAL,
	  { "rule mime-type {\n  patterns = {}\n" },
	  { "line 3: match not mime filetype regex jpg" }, 0 },
	{ "match not sender regex", "regex s \"@example\\.com\"\n"
	  "policy-map type inspect esmtp m\n match not sender-address regex "
	  "s\n  drop-connection\n" USE("m"), PARTIAL, { "" },
	  { "line 3: match not sender-address regex s" }, 0 },
	/* What cannot be translated: comments, exit 1. */
	{ "rate-limit", "policy-map type inspect esmtp m\n"
	  " match cmd verb help\n  rate-limit 10\n" USE("m"), PARTIAL,
	  { "# not translated: line 3: rate-limit 10\n" },
	  { "line 3: rate-limit 10" }, 0 },
	{ "regex class", "class-map type regex match-any types\n"
	  " match regex a\npolicy-map type inspect esmtp m\n"
	  " match sender-address regex class types\n  drop-connection\n"
	  USE("m"), PARTIAL, { "" },
	  { "line 4: match sender-address regex class types" }, 0 },
	{ "match not length", "policy-map type inspect esmtp m\n"
	  " match not header line length gt 100\n  drop-connection\n"
	  " match cmd line length gt 900\n  drop-connection log\n" USE("m"),
	  PARTIAL, { "rule cmd-line-length {\n  limit = 900\n" },
	  { "line 2: match not header line length gt 100" }, 0 },
	{ "masks that need others", "policy-map type inspect esmtp m\n"
	  " match ehlo-reply-parameter size\n  mask\n"
	  " match cmd verb vrfy\n  drop-connection log\n"
	  " match header line length gt 100\n  mask\n" USE("m"), PARTIAL,
	  { "  ehlo-other = pass\n" },
	  { "line 2: match ehlo-reply-parameter size",
	    "line 4: match cmd verb vrfy",
	    "line 6: match header line length gt 100" }, 0 },
	{ "out of range, conflicts", "policy-map type inspect esmtp m\n"
	  " match cmd line length gt 5\n  drop-connection\n"
	  " match cmd RCPT count gt 10\n  log\n"
	  " match cmd RCPT count gt 20\n  log\n" USE("m"), PARTIAL,
	  { "rule rcpt-count {\n  limit = 10\n  action = log\n" },
	  { "line 2: match cmd line length gt 5",
	    "line 6: match cmd RCPT count gt 20" }, 0 },
	{ "special-character log", "policy-map type inspect esmtp m\n"
	  " parameters\n  special-character action log\n" USE("m"),
	  PARTIAL, { "rule address-characters {\n"
	    "  action = drop-connection\n" },
	  { "line 3: special-character action log" }, 0 },
	{ "missing map", USE("nosuch"), PARTIAL,
	  { "  banner = pass\n", "  command-other = mask\n" },
	  { "line 3: inspect esmtp nosuch" }, 0 },
	{ "bad regex", "regex r \"(ab\"\npolicy-map type inspect esmtp m\n"
	  " match sender-address regex r\n  log\n match sender-address "
	  "regex none\n  log\n" USE("m"), PARTIAL, { "" },
	  { "line 1: regex r \"(ab\"", "line 3: match sender-address regex r",
	    "line 5: match sender-address regex none" }, 0 },
	{ "acl deny and object", "access-list X extended deny tcp any any eq "
	  "25\naccess-list X extended permit tcp object-group O any eq 25\n"
	  "class-map c\n match access-list X\npolicy-map g\n class c\n"
	  "  no inspect esmtp\n", PARTIAL, { "exempt-clients = {}\n" },
	  { "line 1: access-list X extended deny",
	    "line 2: access-list X extended permit tcp object-group" }, 0 },
	{ "two maps", "policy-map type inspect esmtp a\n"
	  " match cmd line length gt 600\n  drop-connection log\n"
	  "policy-map g\n class inspection_default\n  inspect esmtp a\n"
	  " class other\n  inspect esmtp\n", PARTIAL,
	  { "rule cmd-line-length {\n  limit = 600\n" },
	  { "line 8: inspect esmtp" }, 0 },
	{ "PIX fixup", "fixup protocol smtp 25\n", PARTIAL,
	  { "  banner = asterisks\n" }, { "line 1: fixup protocol smtp 25" },
	  0 },
	/*
	 * Access-list exemptions no wider than on the ASA (issue 19): an
	 * entry that cannot carry port 25 is skipped, an uncertain one is
	 * not translated.
	 */
	{ "acl neq smtp", EXEMPT("permit tcp any any neq smtp"), OK,
	  { "\nexempt-clients = {}\n" }, { "" }, 0 },
	{ "acl gt 1024", EXEMPT("permit tcp any any gt 1024"), OK,
	  { "\nexempt-clients = {}\n" }, { "" }, 0 },
	{ "acl lt 25", EXEMPT("permit tcp any any lt 25"), OK,
	  { "\nexempt-clients = {}\n" }, { "" }, 0 },
	{ "acl lt 26, range", EXEMPT("permit tcp any host 192.0.2.25 lt 26\n"
	  "access-list X extended permit tcp any host 192.0.2.26 range 20 "
	  "30\naccess-list X extended permit tcp any host 192.0.2.27 range "
	  "26 30"), OK, { "\nexempt-clients = { \"192.0.2.25/32\", "
	    "\"192.0.2.26/32\" }\n" }, { "" }, 0 },
	{ "acl port object-group",
	  EXEMPT("permit tcp any any object-group WEBPORTS"), PARTIAL,
	  { "\nexempt-clients = {}\n" },
	  { "line 1: access-list X extended permit tcp any any object-group" },
	  0 },
	{ "acl source port",
	  EXEMPT("permit tcp 10.0.0.0 255.0.0.0 eq 80 any"), PARTIAL,
	  { "\nexempt-clients = {}\n" },
	  { "line 1: access-list X extended permit tcp 10.0.0.0" }, 0 },
	{ "acl inactive",
	  EXEMPT("permit tcp any host 192.0.2.25 eq smtp inactive"), OK,
	  { "\nexempt-clients = {}\n" }, { "" }, 0 },
	{ "acl time-range",
	  EXEMPT("permit tcp any host 192.0.2.25 eq smtp time-range WORK"),
	  PARTIAL, { "\nexempt-clients = {}\n" },
	  { "line 1: access-list X extended permit tcp any host 192.0.2.25" },
	  0 },
	{ "acl log options",
	  EXEMPT("permit tcp any host 192.0.2.25 eq 25 log 6 interval 300"),
	  OK, { "\nexempt-clients = { \"192.0.2.25/32\" }\n" }, { "" }, 0 },
	{ "acl unknown tail",
	  EXEMPT("permit tcp any host 192.0.2.25 eq 25 frobnicate"), PARTIAL,
	  { "\nexempt-clients = {}\n" },
	  { "line 1: access-list X extended permit" }, 0 },
	/* A re-entered exemption class-map adds to it. */
	{ "class-map in two blocks", "access-list X extended permit tcp any "
	  "host 192.0.2.1 eq 25\naccess-list Y extended permit tcp any host "
	  "192.0.2.2 eq 25\nclass-map c\n match access-list X\nclass-map c\n"
	  " match access-list Y\npolicy-map g\n class c\n  no inspect esmtp\n",
	  OK, { "\nexempt-clients = { \"192.0.2.1/32\", \"192.0.2.2/32\" }\n" },
	  { "" }, 0 },
	/* What the loader refuses never leaves with exit 0 (issue 19). */
	{ "mail-relay domains", "policy-map type inspect esmtp m\n"
	  " parameters\n  mail-relay a..example.com action drop-connection\n"
	  "  mail-relay -example-.com action drop-connection\n"
	  "  mail-relay x. action drop-connection\n"
	  "  mail-relay .Example.org action drop-connection\n" USE("m"),
	  PARTIAL, { "  domains = { \".example.org\" }\n" },
	  { "line 3: mail-relay a..example.com", "line 4: mail-relay -example",
	    "line 5: mail-relay x." }, NEEDS_SPEC42 },
	{ "mail-relay long label", "policy-map type inspect esmtp m\n"
	  " parameters\n  mail-relay aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaa.com action drop-connection\n" USE("m"),
	  PARTIAL, { "  domains = {}\n" }, { "line 3: mail-relay aaaa" }, 0 },
	{ "regex PCRE2 refuses", "regex r \"(a{65535}){65535}\"\n"
	  "policy-map type inspect esmtp m\n match sender-address regex r\n"
	  "  drop-connection\n" USE("m"), PARTIAL, { "  patterns = {}\n" },
	  { "line 1: regex r", "line 3: match sender-address regex r" }, 0 },
	{ "regex long once escaped", "regex r \""
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$"
	  "\"\npolicy-map type inspect esmtp m\n match sender-address regex r\n"
	  "  drop-connection\n" USE("m"), PARTIAL, { "  patterns = {}\n" },
	  { "line 1: regex r", "line 3: match sender-address regex r" }, 0 },
	/* Which map the ASA applies (issue 19). */
	{ "maps of two names, no inspect line",
	  "policy-map type inspect esmtp WEAK\n match cmd line length gt "
	  "60000\n  log\npolicy-map type inspect esmtp PROD\n match cmd line "
	  "length gt 600\n  drop-connection log\n", PARTIAL,
	  { "ESMTP policy: the built-in _default_esmtp_map.",
	    "rule cmd-line-length {\n  limit = 512\n"
	    "  action = drop-connection\n" },
	  { "line 1: policy-map type inspect esmtp WEAK",
	    "line 4: policy-map type inspect esmtp PROD" }, 0 },
	{ "map in two blocks", "policy-map type inspect esmtp M\n"
	  " match cmd line length gt 600\n  drop-connection log\n"
	  "policy-map type inspect esmtp M\n match cmd RCPT count gt 10\n"
	  "  drop-connection log\n" USE("M"), OK,
	  { "rule rcpt-count {\n  limit = 10\n",
	    "rule cmd-line-length {\n  limit = 600\n" }, { "" }, 0 },
	{ "regex defined twice", "regex r \"a\"\nregex r \"b\"\n"
	  "policy-map type inspect esmtp m\n match sender-address regex r\n"
	  "  drop-connection\n" USE("m"), PARTIAL, { "" },
	  { "line 2: regex r \"b\"", "line 4: match sender-address regex r" },
	  0 },
	{ "hostile bytes in a comment", "policy-map type inspect esmtp m\n"
	  " match \x01\x7f\xff \"*/ }\n" USE("m"), PARTIAL,
	  { "# not translated: line 2: match \\x01\\x7f\\xff \"*/ }\n" },
	  { "line 2: match \\x01\\x7f\\xff" }, 0 },
	/* No ESMTP inspection at all. */
	{ "nothing", "interface GigabitEthernet0/0\n nameif outside\n",
	  NO_ESMTP, { "" }, { "" }, 0 },
	{ "empty", "", NO_ESMTP, { "" }, { "" }, 0 },
	{ "globally off", "policy-map global_policy\n"
	  " class inspection_default\n  no inspect esmtp\n", NO_ESMTP,
	  { "" }, { "" }, 0 },
	{ "off and a map", "policy-map type inspect esmtp m\n"
	  " match cmd line length gt 600\n  log\nno fixup protocol smtp 25\n",
	  NO_ESMTP, { "" }, { "" }, 0 },
	{ "not applied", "policy-map other\n class inspection_default\n"
	  "  inspect esmtp\nservice-policy global_policy global\n", NO_ESMTP,
	  { "" }, { "" }, 0 },
	/* Not a configuration text. */
	{ "NUL", "inspect esmtp\n\0x", REFUSED, { "" }, { "" }, 0 },
	};
	return cr_make_param_array(struct row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct row *r, asaconf, rows)
{
	struct asaconf_result res;
	struct config *cfg;
	char	err[CONFIG_ERR_MAX], line[512];
	size_t	i, k, len = strlen(r->in);
	int	found;

	/* The NUL row: its input goes on past the NUL. */
	if (strcmp(r->name, "NUL") == 0)
		len += 2;
	cr_assert_eq(asaconf_translate(r->in, len, &res), 0);
	cr_assert_eq((int)res.status, r->status, "%s: status %d, want %d\n%s",
	    r->name, res.status, r->status, res.conf ? res.conf : res.err);
	if (r->status == NO_ESMTP || r->status == REFUSED) {
		cr_assert_null(res.conf, "%s", r->name);
		cr_assert(r->status != REFUSED || res.err[0] != '\0');
		asaconf_free(&res);
		return;
	}
	cr_assert_not_null(res.conf);
	cr_assert_eq(strlen(res.conf), res.conflen);
	for (k = 0; k < 6 && r->want[k][0] != '\0'; k++)
		cr_assert_not_null(strstr(res.conf, r->want[k]),
		    "%s: wanted:\n%s\ngot:\n%s", r->name, r->want[k], res.conf);
	for (k = 0; k < 3 && r->untr[k][0] != '\0'; k++) {
		for (found = 0, i = 0; i < res.nuntr && !found; i++) {
			untr_line(&res, i, line, sizeof(line));
			found = strncmp(line, r->untr[k], strlen(r->untr[k])) == 0;
		}
		cr_assert(found, "%s: not listed as not translated: %s\n%s",
		    r->name, r->untr[k], res.conf);
	}
	cr_assert_eq(res.nuntr > 0, r->status == PARTIAL);
	/* The output is printable ASCII: comments hold no raw input byte. */
	for (i = 0; i < res.conflen; i++)
		cr_assert(res.conf[i] == '\n' || (res.conf[i] >= 0x20 &&
		    res.conf[i] <= 0x7e), "%s: octet 0x%02x at %zu", r->name,
		    (unsigned char)res.conf[i], i);
	/* -n: the output loads. */
	cfg = load_conf(res.conf, err, sizeof(err));
	cr_assert_not_null(cfg, "%s: the output does not load: %s\n%s",
	    r->name, err, res.conf);
	config_unref(cfg);
	asaconf_free(&res);
}

/* -------------------------------------------------------------------- */

/*
 * The default map, however the input gives it, has exactly the
 * enforcement of profile = asa: the -n dumps are equal but for the
 * profile line itself (standard, every setting explicit, against asa).
 */
struct dump_row {
	char	name[32];
	char	in[1024];
};

ParameterizedTestParameters(asaconf, default_map_is_profile_asa)
{
	static struct dump_row rows[] = {
		{ "inspect esmtp", GLOBAL_POLICY },
		{ "named", USE("_default_esmtp_map") },
		{ "fixup-free snippet", "policy-map g\n class c\n"
		  "  no inspect esmtp\nclass-map c\n match access-list a\n"
		  "access-list a permit tcp any any eq 25\n" },
		{ "show running-config all", "policy-map type inspect esmtp "
		  "_default_esmtp_map\n description Default ESMTP policy-map\n"
		  " parameters\n  mask-banner\n  no mail-relay\n"
		  "  no special-character\n  no allow-tls\n"
		  " match cmd line length gt 512\n  drop-connection log\n"
		  " match cmd RCPT count gt 100\n  drop-connection log\n"
		  " match body line length gt 998\n  log\n"
		  " match header line length gt 998\n  drop-connection log\n"
		  " match sender-address length gt 320\n  drop-connection log\n"
		  " match MIME filename length gt 255\n  drop-connection log\n"
		  " match ehlo-reply-parameter others\n  mask\n"
		  GLOBAL_POLICY },
	};
	return cr_make_param_array(struct dump_row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct dump_row *r, asaconf, default_map_is_profile_asa)
{
	struct asaconf_result res;
	struct config *t, *a;
	char	err[CONFIG_ERR_MAX], *td, *ad, *p;

	translate(r->in, &res);
	cr_assert_eq(res.status, ASACONF_OK, "%s: status %d", r->name,
	    res.status);
	t = load_conf(res.conf, err, sizeof(err));
	cr_assert_not_null(t, "%s: %s", r->name, err);
	a = load_conf("profile = asa\n", err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	td = print_conf(t);
	ad = print_conf(a);
	/* The one presentational difference: the profile line. */
	cr_assert(strncmp(td, "profile = standard\n", 19) == 0);
	cr_assert(strncmp(ad, "profile = asa\n", 14) == 0);
	p = td + 19;
	if (strcmp(r->name, "fixup-free snippet") == 0) {
		/* exempt-clients: the snippet exempts every client */
		cr_assert_not_null(strstr(p, "exempt-clients = { \"0.0.0.0/0\", "
		    "\"::/0\" }\n"), "%s", p);
		p = strstr(p, "user = ");
		cr_assert_str_eq(p, strstr(ad, "user = "));
	} else
		cr_assert_str_eq(p, ad + 14, "%s: -n dumps differ:\n%s\n---\n%s",
		    r->name, td, ad);
	free(td);
	free(ad);
	config_unref(t);
	config_unref(a);
	asaconf_free(&res);
}

/* -------------------------------------------------------------------- */

/* ASA regex -> PCRE2, through a whole translation. */
struct re_row {
	char	asa[128];
	char	pcre[160];	/* as written in the conf, escaped; "" refused */
};

ParameterizedTestParameters(asaconf, regex)
{
	static struct re_row rows[] = {
		{ "abc", "abc" },
		{ "a.b", "a.b" },
		{ "^x-(foo|bar)?baz*", "^x-(foo|bar)?baz*" },
		{ "[A-Za-z0-9]+@ex", "[A-Za-z0-9]+@ex" },
		{ "[^]a-]", "[^\\\\]a\\\\-]" },
		{ "a{3}b{2,}c{1,4}", "a{3}b{2,}c{1,4}" },
		{ "cost$1", "cost\\\\\\$1" },
		{ "a]b}c", "a\\\\]b\\\\}c" },
		{ "\\.\\*\\\\", "\\\\.\\\\*\\\\\\\\" },
		{ "\\r\\n\\t\\f", "\\\\r\\\\n\\\\t\\\\f" },
		{ "\\x41\\101", "\\\\x41\\\\o{101}" },
		{ "with space", "with space" },
		{ "\\\"quoted\\\"", "\\\\\\\"quoted\\\\\\\"" },
		/* refused */
		{ "", "" },
		{ "*a", "" },
		{ "a**", "" },
		{ "a+?", "" },
		{ "(a", "" },
		{ "a)", "" },
		{ "[abc", "" },
		{ "[z-a]", "" },
		{ "a{x}", "" },
		{ "a{3,2}", "" },
		{ "a{70000}", "" },
		{ "\\d", "" },
		{ "\\w+", "" },
		{ "a\\", "" },
		{ "(?i)a", "" },
		{ "(*ACCEPT)", "" },
		{ "caf\xc3\xa9", "" },
		{ "((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))"
		  "))))))))", "" },
	};
	return cr_make_param_array(struct re_row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct re_row *r, asaconf, regex)
{
	struct asaconf_result res;
	char	in[512], want[256];

	(void)snprintf(in, sizeof(in), "regex r \"%s\"\n"
	    "policy-map type inspect esmtp m\n match sender-address regex r\n"
	    "  log\n" USE("m"), r->asa);
	translate(in, &res);
	if (r->pcre[0] == '\0') {
		cr_assert_eq(res.status, ASACONF_PARTIAL, "accepted: %s\n%s",
		    r->asa, res.conf);
		cr_assert_eq(res.untr[0].line, 1, "%s", r->asa);
		cr_assert_null(strstr(res.conf, "rule sender-address {\n"
		    "  patterns = { \""), "%s", r->asa);
	} else {
		cr_assert_eq(res.status, ASACONF_OK, "%s: %s", r->asa,
		    res.nuntr ? res.untr[0].why : "");
		(void)snprintf(want, sizeof(want), "  patterns = { \"%s\" }\n",
		    r->pcre);
		cr_assert_not_null(strstr(res.conf, want), "%s: wanted %s\n%s",
		    r->asa, want, res.conf);
	}
	asaconf_free(&res);
}

#ifdef ASACONF_TEST_PCRE2
/* Every pattern the translator writes compiles in PCRE2 (SPEC 4.2). */
Test(asaconf, patterns_compile)
{
	static const char *const res_in[] = {
		"abc", "^x-(foo|bar)?baz*", "[^]a-]", "a{3}b{2,}c{1,4}",
		"cost$1", "a]b}c", "\\.\\*\\\\", "\\x41\\101", "[\\]\\\\-]",
		"()", "a||b", "(^a|b)", "[-a]", "[a-]", "\\\"q\\\"",
	};
	struct asaconf_result res;
	char	in[512], pat[512], *p, *q, *o;
	size_t	i;
	int	not, ec;
	PCRE2_SIZE off;

	for (i = 0; i < sizeof(res_in) / sizeof(res_in[0]); i++)
		for (not = 0; not < 1; not++) {	/* match not: untr */
			(void)snprintf(in, sizeof(in), "regex r \"%s\"\n"
			    "policy-map type inspect esmtp m\n match %s"
			    "sender-address regex r\n  log\n" USE("m"),
			    res_in[i], not ? "not " : "");
			translate(in, &res);
			cr_assert_eq(res.status, ASACONF_OK, "%s", res_in[i]);
			p = strstr(res.conf, "  patterns = { \"");
			cr_assert_not_null(p);
			p += 16;
			q = strstr(p, "\" }\n");
			cr_assert_not_null(q);
			/* undo the libconfuse escapes */
			for (o = pat; p < q && o < pat + sizeof(pat) - 1; p++)
				*o++ = *p == '\\' ? *++p : *p;
			*o = '\0';
			pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat,
			    PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
			cr_assert_not_null(re, "%s -> %s does not compile "
			    "(error %d at %zu)", res_in[i], pat, ec,
			    (size_t)off);
			pcre2_code_free(re);
			asaconf_free(&res);
		}
}
#endif

/* -------------------------------------------------------------------- */

Test(asaconf, bounds)
{
	struct asaconf_result res;
	char   *big;
	size_t	n = ASACONF_MAX_LINE + 1;

	/* a line over the bound */
	big = malloc(n + 32);
	cr_assert_not_null(big);
	memcpy(big, "inspect esmtp\n", 14);
	memset(big + 14, 'a', n);
	cr_assert_eq(asaconf_translate(big, 14 + n, &res), 0);
	cr_assert_eq(res.status, ASACONF_REFUSED);
	cr_assert_str_eq(res.err, "line 2: longer than 8192 octets");
	asaconf_free(&res);
	/* a line at the bound is fine */
	cr_assert_eq(asaconf_translate(big, 13 + n, &res), 0);
	cr_assert_eq(res.status, ASACONF_NO_ESMTP);
	asaconf_free(&res);
	free(big);
	/* too much input, before anything is copied */
	cr_assert_eq(asaconf_translate("", (size_t)ASACONF_MAX_INPUT + 1, &res),
	    0);
	cr_assert_eq(res.status, ASACONF_REFUSED);
	asaconf_free(&res);
	asaconf_free(NULL);
}

/* Deep indentation and long maps: bounded, no recursion. */
Test(asaconf, deep_and_long)
{
	struct asaconf_result res;
	char   *in;
	size_t	i, o = 0, cap = 4 * 1024 * 1024;

	in = malloc(cap);
	cr_assert_not_null(in);
	o += (size_t)snprintf(in + o, cap - o,
	    "policy-map type inspect esmtp m\n");
	for (i = 0; i < 200; i++)
		o += (size_t)snprintf(in + o, cap - o, "%*smatch x\n",
		    (int)i + 1, "");
	for (i = 0; i < 1500; i++)
		o += (size_t)snprintf(in + o, cap - o,
		    " match cmd line length gt 600\n  log\n");
	o += (size_t)snprintf(in + o, cap - o, "%s", USE("m"));
	cr_assert_eq(asaconf_translate(in, o, &res), 0);
	cr_assert_eq(res.status, ASACONF_PARTIAL);
	cr_assert_not_null(strstr(res.conf, "more than 1000 statements"));
	asaconf_free(&res);
	free(in);
}

/* Count of ${needle} in ${hay}. */
static size_t
count(const char *hay, const char *needle)
{
	size_t	n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay += strlen(needle))
		n++;
	return (n);
}

/*
 * The same class exempted 1000 times, its access-list matched 1000
 * times (the reviewer's dos probes, issue 19): each is read once, so
 * the output holds one exemption comment per class and per entry, not
 * a million; no timing is asserted (that is for benchmarks).
 */
Test(asaconf, exemptions_read_once)
{
	struct asaconf_result res;
	char   *in;
	size_t	i, o = 0, cap = 1024 * 1024;

	in = malloc(cap);
	cr_assert_not_null(in);
	o += (size_t)snprintf(in + o, cap - o, "access-list A extended permit "
	    "tcp host 10.0.0.1 any eq 25\nclass-map C\n");
	for (i = 0; i < 1000; i++)
		o += (size_t)snprintf(in + o, cap - o, " match access-list A\n");
	o += (size_t)snprintf(in + o, cap - o, "policy-map global_policy\n"
	    " class inspection_default\n  inspect esmtp\n");
	for (i = 0; i < 1000; i++)
		o += (size_t)snprintf(in + o, cap - o,
		    " class C\n  no inspect esmtp\n");
	translate(in, &res);
	cr_assert_eq(res.status, ASACONF_OK);
	cr_assert_eq(count(res.conf, "(class C)"), 1, "%s", res.conf);
	cr_assert_eq(count(res.conf, "# line 1: access-list A "), 1);
	cr_assert_not_null(strstr(res.conf,
	    "\nexempt-clients = { \"10.0.0.1/32\" }\n"));
	cr_assert_lt(res.conflen, 8192);
	asaconf_free(&res);
	free(in);
}

/*
 * More service-policy lines than were once looked at (64): the one
 * that applies the real map, last, still counts (issue 19).
 */
Test(asaconf, many_service_policies)
{
	struct asaconf_result res;
	char   *in;
	size_t	i, o = 0, cap = 256 * 1024;

	in = malloc(cap);
	cr_assert_not_null(in);
	o += (size_t)snprintf(in + o, cap - o,
	    "policy-map type inspect esmtp WEAK\n match cmd line length gt "
	    "60000\n  log\npolicy-map type inspect esmtp STRICT\n match cmd "
	    "line length gt 600\n  drop-connection log\n" USE("STRICT"));
	for (i = 0; i < 100; i++)
		o += (size_t)snprintf(in + o, cap - o, "service-policy P%zu "
		    "interface if%zu\n", i, i);
	o += (size_t)snprintf(in + o, cap - o,
	    "service-policy global_policy global\n");
	translate(in, &res);
	cr_assert_eq(res.status, ASACONF_OK, "%s", res.conf);
	cr_assert_not_null(strstr(res.conf,
	    "rule cmd-line-length {\n  limit = 600\n"), "%s", res.conf);
	asaconf_free(&res);
	/* beyond the bound: every policy-map counts, and exit 1 */
	o -= strlen("service-policy global_policy global\n");
	for (i = 100; i < 1100; i++)
		o += (size_t)snprintf(in + o, cap - o, "service-policy P%zu "
		    "interface if%zu\n", i, i);
	o += (size_t)snprintf(in + o, cap - o,
	    "service-policy global_policy global\n");
	translate(in, &res);
	cr_assert_eq(res.status, ASACONF_PARTIAL);
	cr_assert_not_null(strstr(res.conf,
	    "rule cmd-line-length {\n  limit = 600\n"), "%s", res.conf);
	asaconf_free(&res);
	free(in);
}
