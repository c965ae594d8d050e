/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_config.c - config_load() bad rows (exact "FILE:LINE: message"), good
 * rows (a line of the -n output), profile and per-rule values, the -n round
 * trip (print, load, print) and the refcounted snapshot.  Rows hold their
 * strings inline: Criterion 2.4 copies parameters into a re-executed
 * worker.  Runs from tests/unit (the shipped file is ../../conf/...).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

#define SHIPPED	"../../conf/esmtp-inspect.conf"

/* Write ${text} to a new temporary file; its name goes to ${path}. */
static void
write_temp(const char *text, char *path, size_t len)
{
	int	fd;

	(void)snprintf(path, len, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp");
	cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

/* Load ${text} through a temporary file; ${err} gets the message. */
static struct config *
load_text(const char *text, char *path, size_t plen, char *err, size_t elen)
{
	struct config *cfg;

	write_temp(text, path, plen);
	cfg = config_load(path, err, elen);
	unlink(path);
	return (cfg);
}

/* config_print() into a malloc'ed string. */
static char *
print_str(const struct config *cfg)
{
	char   *buf = NULL;
	size_t	len = 0;
	FILE   *fp = open_memstream(&buf, &len);

	cr_assert_not_null(fp);
	config_print(cfg, fp);
	fclose(fp);
	return (buf);
}

/* Load ${text} that must be valid and return its -n output. */
static char *
print_text(const char *text)
{
	char	path[64], err[CONFIG_ERR_MAX], *out;
	struct config *cfg;

	cfg = load_text(text, path, sizeof(path), err, sizeof(err));
	cr_assert_not_null(cfg, "unexpected error: %s", err);
	out = print_str(cfg);
	config_unref(cfg);
	return (out);
}

/* -------------------------------------------------------------------- */

struct bad_row {
	char	text[256];
	char	err[512];	/* after the file name: ":LINE: message" */
};

#define RULES	"(rcpt-count, sender-length, address-characters, " \
		"cmd-line-length, bare-linefeed, header-line-length, " \
		"body-line-length, mime-filename-length, duplicate-header, " \
		"dkim-unsigned-duplicate, mime-structure, header-length, " \
		"header-to-count, body-length, mime-type, mime-encoding, " \
		"sender-address, mail-relay, invalid-recipients)"
#define ALL	"(none, log, tempfail, reject, drop-connection)"

ParameterizedTestParameters(config, bad)
{
	static struct bad_row rows[] = {
		/* unknown options (libconfuse's message) */
		{ "foo = 1", ":1: no such option 'foo'" },
		{ "mode = enforce\n\nbar = 2\n", ":3: no such option 'bar'" },
		{ "milter {\n  sockett = \"x\"\n}\n",
		  ":2: no such option 'sockett'" },
		{ "rule rcpt-count {\n  limits = 5\n}\n",
		  ":2: no such option 'limits'" },
		/* unknown rule names */
		{ "rule foo { action = reject }",
		  ":1: unknown rule \"foo\" " RULES },
		{ "\nrule rcpt_count {\n}\n",
		  ":3: unknown rule \"rcpt_count\" " RULES },
		/* limits */
		{ "rule rcpt-count { limit = -1 }",
		  ":1: limit -1 out of range for rule rcpt-count (0..100000)" },
		{ "rule rcpt-count {\n  limit = 100001\n}\n",
		  ":2: limit 100001 out of range for rule rcpt-count (0..100000)" },
		{ "rule sender-length { limit = 65537 }",
		  ":1: limit 65537 out of range for rule sender-length (0..65536)" },
		{ "rule cmd-line-length { limit = 5 }",
		  ":1: limit 5 out of range for rule cmd-line-length (6..65536)" },
		{ "rule header-line-length { limit = 1048577 }",
		  ":1: limit 1048577 out of range for rule header-line-length "
		  "(0..1048576)" },
		{ "rule body-line-length { limit = 99999999999999999999 }",
		  ":1: limit 99999999999999999999 out of range for rule "
		  "body-line-length (0..1073741824)" },
		{ "rule mime-filename-length { limit = -0300 }",
		  ":1: limit -0300 out of range for rule mime-filename-length "
		  "(0..65536)" },
		{ "rule rcpt-count { limit = abc }",
		  ":1: rule \"rcpt-count\": limit \"abc\" is not a whole number "
		  "(0..100000)" },
		{ "rule rcpt-count { limit = 0x10 }",
		  ":1: rule \"rcpt-count\": limit \"0x10\" is not a whole number "
		  "(0..100000)" },
		{ "rule address-characters { limit = 5 }",
		  ":1: rule \"address-characters\" takes no limit (rules with "
		  "one: rcpt-count, sender-length, cmd-line-length, "
		  "header-line-length, body-line-length, mime-filename-length, "
		  "header-length, header-to-count, body-length, "
		  "invalid-recipients)" },
		{ "rule header-length { limit = 1073741825 }",
		  ":1: limit 1073741825 out of range for rule header-length "
		  "(0..1073741824)" },
		{ "rule mime-type { limit = 1 }",
		  ":1: rule \"mime-type\" takes no limit (rules with one: "
		  "rcpt-count, sender-length, cmd-line-length, header-line-length, "
		  "body-line-length, mime-filename-length, header-length, "
		  "header-to-count, body-length, invalid-recipients)" },
		{ "rule invalid-recipients { action = reject }",
		  ":1: rule \"invalid-recipients\": action \"reject\" not "
		  "supported (none, log, drop-connection)" },
		/* actions */
		{ "rule rcpt-count { action = mask }",
		  ":1: rule \"rcpt-count\": action \"mask\" not supported " ALL },
		{ "rule bare-linefeed {\n  action = reject\n}",
		  ":2: rule \"bare-linefeed\": action \"reject\" not supported "
		  "(none, log, drop-connection)" },
		{ "rule cmd-line-length { action = tempfail }",
		  ":1: rule \"cmd-line-length\": action \"tempfail\" not "
		  "supported (none, log, reject, drop-connection)" },
		{ "rule sender-length { action = Reject }",
		  ":1: rule \"sender-length\": action \"Reject\" not supported "
		  ALL },
		/* enumerations */
		{ "profile = cisco",
		  ":1: profile \"cisco\" unknown (standard, asa)" },
		{ "mode = loud", ":1: mode \"loud\" unknown (enforce, monitor)" },
		{ "milter { on-error = ignore }",
		  ":1: on-error \"ignore\" unknown (tempfail, accept)" },
		{ "shim { banner = hide }",
		  ":1: banner \"hide\" unknown (pass, mask, asterisks)" },
		{ "shim { ehlo-other = drop }",
		  ":1: ehlo-other \"drop\" unknown (pass, strip, mask)" },
		{ "shim { command-other = pass }",
		  ":1: command-other \"pass\" unknown (reject, mask)" },
		{ "shim {\n  starttls = require\n}",
		  ":2: starttls \"require\" unknown (allow, strip, terminate, "
		  "auto)" },
		/* auto with half a pair would quietly be allow */
		{ "shim {\n  tls-certificate = \"/c.pem\"\n}",
		  ":3: tls-certificate and tls-key go together: set both or "
		  "neither" },
		{ "shim { starttls = auto tls-key = \"/k.pem\" }",
		  ":1: tls-certificate and tls-key go together: set both or "
		  "neither" },
		/* issue 12's limits */
		{ "shim { client-ipv6-prefix = 0 }",
		  ":1: client-ipv6-prefix 0 out of range (1..128)" },
		{ "shim { client-ipv6-prefix = 129 }",
		  ":1: client-ipv6-prefix 129 out of range (1..128)" },
		{ "shim { embryonic-timeout = 0 }",
		  ":1: embryonic-timeout 0 out of range (1..86400)" },
		{ "shim { hard-error-limit = 0 }",
		  ":1: hard-error-limit 0 out of range (1..1000000)" },
		{ "shim { hard-error-limit = many }",
		  ":1: hard-error-limit \"many\" is not a whole number "
		  "(1..1000000)" },
		{ "shim { proxy-protocol = v3 }",
		  ":1: proxy-protocol \"v3\" unknown (none, v1, v2)" },
		{ "syslog-facility = local8",
		  ":1: syslog-facility \"local8\" unknown (auth, authpriv, cron, "
		  "daemon, ftp, kern, local0, local1, local2, local3, local4, "
		  "local5, local6, local7, lpr, mail, news, syslog, user, uucp)" },
		/* CIDRs */
		{ "exempt-clients = { \"10.0.0.1/8\" }",
		  ":1: exempt-clients \"10.0.0.1/8\": host bits set beyond the "
		  "prefix length" },
		{ "exempt-clients = { \"192.0.2.0/24\",\n  \"2001:db8::/129\" }",
		  ":2: exempt-clients \"2001:db8::/129\": prefix length out of "
		  "range" },
		{ "rule rcpt-count { exempt-clients = { \"mx.example\" } }",
		  ":1: rule \"rcpt-count\": exempt-clients \"mx.example\": "
		  "malformed IPv4 address" },
		{ "shim { accept-proxy-from = { \"192.0.2.0/\" } }",
		  ":1: accept-proxy-from \"192.0.2.0/\": missing prefix length" },
		/* sockets */
		{ "milter { socket = \"tcp:8899\" }",
		  ":1: socket \"tcp:8899\": socket must be inet:PORT@HOST, "
		  "inet6:PORT@[ADDR], unix:/path or local:/path" },
		{ "milter { socket = \"unix:var/x.sock\" }",
		  ":1: socket \"unix:var/x.sock\": socket path must be absolute" },
		{ "shim { listen = { \"127.0.0.1:2526\", \"127.0.0.1\" } }",
		  ":1: listen \"127.0.0.1\": expected \"ADDR:PORT\"" },
		{ "shim { upstream = \"127.0.0.1:0\" }",
		  ":1: upstream \"127.0.0.1:0\": port must be a number from 1 "
		  "to 65535" },
		{ "shim {\n  listen = {}\n}\n",
		  ":3: listen needs at least one \"ADDR:PORT\"" },
		/* socket-mode, timeouts, counts */
		{ "milter { socket-mode = \"0999\" }",
		  ":1: socket-mode \"0999\" is not an octal mode "
		  "(\"0000\"..\"0777\")" },
		{ "milter { socket-mode = \"01777\" }",
		  ":1: socket-mode \"01777\" is not an octal mode "
		  "(\"0000\"..\"0777\")" },
		{ "milter { timeout = 0 }",
		  ":1: timeout 0 out of range (1..86400)" },
		{ "milter { timeout = 5m }",
		  ":1: timeout \"5m\" is not a whole number (1..86400)" },
		{ "shim { data-timeout = 86401 }",
		  ":1: data-timeout 86401 out of range (1..86400)" },
		{ "shim { connect-timeout = -5 }",
		  ":1: connect-timeout -5 out of range (1..86400)" },
		{ "shim { max-connections = 0 }",
		  ":1: max-connections 0 out of range (1..1000000)" },
		{ "shim { max-embryonic = 1000001 }",
		  ":1: max-embryonic 1000001 out of range (1..1000000)" },
		/* reply text, banner text */
		{ "rule rcpt-count { reply = \"tab\\there\" }",
		  ":1: rule \"rcpt-count\": reply text must be printable ASCII "
		  "(octet 4 is \\x09)" },
		{ "rule sender-length { reply = \"caf\\xc3\\xa9\" }",
		  ":1: rule \"sender-length\": reply text must be printable "
		  "ASCII (octet 4 is \\xc3)" },
		{ "shim { banner-text = \"** 220 **\" }",
		  ":1: banner-text of only \"*\", \"2\", \"0\" and spaces makes "
		  "clients take the server for a PIX and drop ESMTP; use a "
		  "neutral text" },
		/* header names, keywords, verbs */
		{ "rule duplicate-header { headers = { \"from:\" } }",
		  ":1: rule \"duplicate-header\": header name \"from:\" is not "
		  "valid (printable ASCII except \":\" and space)" },
		{ "rule duplicate-header {\n  headers = { \"to\",\n"
		  "    \"reply to\" }\n}",
		  ":3: rule \"duplicate-header\": header name \"reply to\" is not "
		  "valid (printable ASCII except \":\" and space)" },
		{ "rule duplicate-header { headers = { \"\" } }",
		  ":1: rule \"duplicate-header\": header name \"\" is not valid "
		  "(printable ASCII except \":\" and space)" },
		{ "rule sender-length { headers = { \"from\" } }",
		  ":1: rule \"sender-length\" takes no headers (only "
		  "duplicate-header does)" },
		/* patterns, encodings, domains (SPEC 4.2) */
		{ "rule mime-type {\n  patterns = { \"^audio/\", \"(x\" }\n}",
		  ":2: rule \"mime-type\": pattern \"(x\" does not compile: "
		  "missing closing parenthesis at offset 2" },
		{ "rule sender-address { patterns = { \"a{2,1}\" } }",
		  ":1: rule \"sender-address\": pattern \"a{2,1}\" does not "
		  "compile: numbers out of order in {} quantifier at offset 5" },
		{ "rule rcpt-count { patterns = { \"a\" } }",
		  ":1: rule \"rcpt-count\" takes no patterns (only mime-type "
		  "and sender-address do)" },
		{ "rule mime-encoding { encodings = { \"base64\", \"uuencode\" } }",
		  ":1: rule \"mime-encoding\": encoding \"uuencode\" is not one "
		  "of 7bit, 8bit, binary, base64, quoted-printable, others" },
		{ "rule mime-type { encodings = { \"base64\" } }",
		  ":1: rule \"mime-type\" takes no encodings (only "
		  "mime-encoding does)" },
		{ "rule mail-relay { domains = { \"-x.test\" } }",
		  ":1: rule \"mail-relay\": \"-x.test\" is not a domain name "
		  "(\"example.com\", or \".example.com\" for it and its "
		  "subdomains)" },
		{ "rule mail-relay { domains = { \"a..test\" } }",
		  ":1: rule \"mail-relay\": \"a..test\" is not a domain name "
		  "(\"example.com\", or \".example.com\" for it and its "
		  "subdomains)" },
		{ "rule mail-relay { domains = { \"[192.0.2.1]\" } }",
		  ":1: rule \"mail-relay\": \"[192.0.2.1]\" is not a domain "
		  "name (\"example.com\", or \".example.com\" for it and its "
		  "subdomains)" },
		{ "rule mail-relay { domains = { \"x-.test\" } }",
		  ":1: rule \"mail-relay\": \"x-.test\" is not a domain name "
		  "(\"example.com\", or \".example.com\" for it and its "
		  "subdomains)" },
		{ "rule sender-address { domains = { \"x.test\" } }",
		  ":1: rule \"sender-address\" takes no domains (only "
		  "mail-relay does)" },
		{ "shim { ehlo-keywords = { \"SIZE\", \"X_Y\" } }",
		  ":1: ehlo-keywords \"X_Y\" is not a keyword (letters, digits "
		  "and \"-\" only)" },
		{ "shim { commands = { \"MAIL FROM\" } }",
		  ":1: commands \"MAIL FROM\" is not a keyword (letters, digits "
		  "and \"-\" only)" },
		/* TLS */
		{ "shim {\n  starttls = terminate\n  tls-certificate = "
		  "\"/etc/c.pem\"\n}\n",
		  ":4: starttls = terminate needs tls-certificate and tls-key" },
		/* wrong types and syntax (libconfuse's messages) */
		{ "rule rcpt-count { log = maybe }",
		  ":1: rule \"rcpt-count\": log \"maybe\" is not yes or no" },
		{ "shim { upstream-tls = 2 }",
		  ":1: upstream-tls \"2\" is not yes or no" },
		{ "rule rcpt-count { action = { reject } }",
		  ":1: unexpected token '{'" },
		{ "milter = 5", ":1: missing opening brace for section 'milter'" },
		{ "rule { action = none }",
		  ":1: missing title for section 'rule'" },
		{ "}", ":1: unexpected closing brace" },
		{ "shim {\n  milter { }\n}\n", ":2: no such option 'milter'" },
		/* lines after comments (libconfuse counts too many) */
		{ "# comment\nmode = loud",
		  ":2: mode \"loud\" unknown (enforce, monitor)" },
		{ "/* a\n   b */\n\nfoo = 1", ":4: no such option 'foo'" },
		{ "mode = enforce // x\n# y\nshim {\n  banner = hide\n}",
		  ":4: banner \"hide\" unknown (pass, mask, asterisks)" },
		/* a string or comment open at the end: where it opened */
		{ "mode = \"enforce\n", ":1: unterminated quoted string" },
		{ "mode = monitor\n\"abc", ":2: unterminated quoted string" },
		{ "shim {\n  banner = mask\n  banner-text = \"abc\n"
		  "  ehlo-other = mask\n}\n", ":3: unterminated quoted string" },
		{ "mode = monitor\nuser = 'abc\n\n",
		  ":2: unterminated quoted string" },
		{ "rule rcpt-count { limit = 5 }\n/* limit = 6",
		  ":2: unterminated comment" },
		{ "foo = \"abc", ":1: no such option 'foo'" },
		/* a missing "}": where libconfuse finds the next block */
		{ "shim {\n  listen = {\"127.0.0.1:2526\"}\nmilter {\n"
		  "  timeout = 5\n}\n",
		  ":3: missing \"}\" for \"shim\" opened at line 1" },
		{ "rule rcpt-count {\n  limit = 5\n\n"
		  "rule sender-length { limit = 10 }\n",
		  ":4: missing \"}\" for \"rule rcpt-count\" opened at line 1" },
		{ "# c\nmilter {\n  timeout = 5\nmode = monitor\n",
		  ":4: missing \"}\" for \"milter\" opened at line 2" },
		/* accounts, looked up at load */
		{ "\nuser = \"no-such-user-here\"",
		  ":2: user \"no-such-user-here\" does not exist" },
		{ "user = \"root\"\ngroup = \"no-such-group-here\"",
		  ":2: group \"no-such-group-here\" does not exist" },
		/* Postfix's socket syntax: libmilter would bind port 127 */
		{ "milter {\n  socket = \"inet:127.0.0.1:8899\"\n}",
		  ":2: socket \"inet:127.0.0.1:8899\" is Postfix syntax; "
		  "libmilter wants \"inet:8899@127.0.0.1\"" },
		{ "milter { socket = \"inet:[::1]:8899\" }",
		  ":1: socket \"inet:[::1]:8899\" is Postfix syntax; "
		  "libmilter wants \"inet6:8899@[::1]\"" },
		{ "milter { socket = \"inet:localhost:8899\" }",
		  ":1: socket \"inet:localhost:8899\" is Postfix syntax; "
		  "libmilter wants \"inet:8899@localhost\"" },
		/* two listeners on one address */
		{ "shim { listen = { \"127.0.0.1:25\",\n  \"127.0.0.1:025\" } }",
		  ":2: listen \"127.0.0.1:025\": the same address as "
		  "\"127.0.0.1:25\"" },
		{ "shim { listen = { \"[::1]:25\", \"[0:0::1]:25\" } }",
		  ":1: listen \"[0:0::1]:25\": the same address as \"[::1]:25\"" },
		{ "shim { listen += { \"127.0.0.1:2526\" } }",
		  ":1: listen \"127.0.0.1:2526\": the same address as "
		  "\"127.0.0.1:2526\"" },
		/* control bytes in messages are escaped */
		{ "mode = \"a\\x01b\"",
		  ":1: mode \"a\\x01b\" unknown (enforce, monitor)" },
	};
	return cr_make_param_array(struct bad_row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct bad_row *r, config, bad)
{
	char	path[64], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	struct config *cfg;

	cfg = load_text(r->text, path, sizeof(path), err, sizeof(err));
	cr_assert_null(cfg, "accepted: %s", r->text);
	(void)snprintf(want, sizeof(want), "%s%s", path, r->err);
	cr_assert_str_eq(err, want, "text: %s", r->text);
}

/* -------------------------------------------------------------------- */

struct good_row {
	char	text[256];
	char	line[320];	/* must occur in the -n output */
};

ParameterizedTestParameters(config, good)
{
	static struct good_row rows[] = {
		{ "", "profile = standard\nmode = enforce\nsyslog-facility = "
		  "mail\nexempt-clients = {}\nuser = \"\"\ngroup = \"\"\n" },
		{ "", "  socket = \"inet:8899@127.0.0.1\"\n  socket-mode = "
		  "\"0660\"\n  timeout = 300\n  on-error = tempfail\n" },
		{ "", "rule rcpt-count {\n  limit = 100\n  action = tempfail\n"
		  "  log = yes\n  reply = \"\"\n  exempt-clients = {}\n}\n" },
		{ "", "rule bare-linefeed {\n  action = drop-connection\n" },
		{ "", "  banner = pass\n" },
		{ "", "  starttls = allow\n" },
		{ "", "  max-embryonic = 100\n  client-ipv6-prefix = 64\n"
		  "  embryonic-timeout = 30\n  hard-error-limit = 20\n" },
		/* starttls = auto: terminate with a certificate, else allow;
		 * the asa profile's auto is strip (SPEC 3.1, 5.4) */
		{ "shim { starttls = auto }", "  starttls = allow\n" },
		{ "shim { tls-certificate = \"/c.pem\" tls-key = \"/k.pem\" }",
		  "  starttls = terminate\n" },
		{ "shim { starttls = auto tls-certificate = \"/c.pem\" "
		  "tls-key = \"/k.pem\" }", "  starttls = terminate\n" },
		{ "shim { starttls = allow tls-certificate = \"/c.pem\" "
		  "tls-key = \"/k.pem\" }", "  starttls = allow\n" },
		{ "profile = asa\nshim { tls-certificate = \"/c.pem\" "
		  "tls-key = \"/k.pem\" }", "  starttls = strip\n" },
		{ "profile = asa\nshim { starttls = auto }", "  starttls = strip\n" },
		{ "shim { client-ipv6-prefix = 48 embryonic-timeout = 5 "
		  "hard-error-limit = 3 }", "  client-ipv6-prefix = 48\n"
		  "  embryonic-timeout = 5\n  hard-error-limit = 3\n" },
		/* profile asa, and explicit settings winning over it */
		{ "profile = asa", "  banner = asterisks\n" },
		{ "profile = asa", "  ehlo-other = mask\n" },
		{ "profile = asa", "  command-other = mask\n" },
		{ "profile = asa", "  starttls = strip\n" },
		{ "profile = asa", "  ehlo-keywords = { \"8BITMIME\", \"AUTH\", "
		  "\"BINARYMIME\", \"CHECKPOINT\", \"DSN\", "
		  "\"ENHANCEDSTATUSCODES\", \"ETRN\", \"PIPELINING\", \"SIZE\", "
		  "\"VRFY\" }\n" },
		{ "profile = asa", "  commands = { \"HELO\", \"EHLO\", \"MAIL\", "
		  "\"RCPT\", \"DATA\", \"RSET\", \"NOOP\", \"QUIT\", \"AUTH\", "
		  "\"ETRN\", \"HELP\", \"SAML\", \"SEND\", \"SOML\", \"VRFY\" }\n" },
		{ "profile = asa", "rule rcpt-count {\n  limit = 100\n"
		  "  action = drop-connection\n" },
		{ "profile = asa", "rule body-line-length {\n  limit = 998\n"
		  "  action = log\n" },
		{ "profile = asa", "rule duplicate-header {\n  action = none\n" },
		{ "profile = asa", "rule dkim-unsigned-duplicate {\n"
		  "  action = none\n" },
		{ "profile = asa", "rule mime-structure {\n  action = none\n" },
		{ "", "rule mime-structure {\n  action = reject\n" },
		{ "profile = asa\nrule rcpt-count { limit = 50 }",
		  "rule rcpt-count {\n  limit = 50\n  action = drop-connection\n" },
		{ "rule rcpt-count { action = reject }\nprofile = asa",
		  "rule rcpt-count {\n  limit = 100\n  action = reject\n" },
		{ "profile = asa\nshim { starttls = allow banner = pass }",
		  "  banner = pass\n" },
		{ "profile = asa\nshim { commands = { \"helo\", \"x-foo\" } }",
		  "  commands = { \"HELO\", \"X-FOO\" }\n" },
		/* values and normalisation */
		{ "exempt-clients = { \"2001:DB8::/32\", \"192.0.2.25\" }",
		  "exempt-clients = { \"2001:db8::/32\", \"192.0.2.25/32\" }\n" },
		{ "rule duplicate-header { headers = { \"From\", \"X-Mailer\" } }",
		  "  headers = { \"from\", \"x-mailer\" }\n" },
		{ "rule mime-type { patterns = { '^Application/X-.*$' } }",
		  "  patterns = { \"^Application/X-.*\\$\" }\n" },
		{ "rule mime-encoding { encodings = { \"OTHERS\", \"Base64\" } }",
		  "  encodings = { \"base64\", \"others\" }\n" },
		{ "rule mail-relay { domains = { \"Dest.TEST\", \".example.com\" } }",
		  "  domains = { \"dest.test\", \".example.com\" }\n" },
		{ "", "rule header-length {\n  limit = 65536\n  action = none\n" },
		{ "profile = asa", "rule body-length {\n  limit = 52428800\n"
		  "  action = none\n" },
		{ "profile = asa", "rule invalid-recipients {\n  limit = 10\n"
		  "  action = none\n" },
		{ "shim { ehlo-keywords = { \"size\", \"x-exps\" } }",
		  "  ehlo-keywords = { \"SIZE\", \"X-EXPS\" }\n" },
		{ "syslog-facility = local3", "syslog-facility = local3\n" },
		{ "mode = monitor", "mode = monitor\n" },
		{ "milter { socket = \"unix:/run/x.sock\" socket-mode = 600 }",
		  "  socket = \"unix:/run/x.sock\"\n  socket-mode = \"0600\"\n" },
		{ "rule rcpt-count { log = no reply = \"Too many, 100%\" }",
		  "  log = no\n  reply = \"Too many, 100%\"\n" },
		{ "shim { listen = { \"[::1]:2526\", \"0.0.0.0:25\" } }",
		  "  listen = { \"[::1]:2526\", \"0.0.0.0:25\" }\n" },
		{ "shim { upstream-tls = yes }", "  upstream-tls = yes\n" },
		{ "rule body-line-length { limit = 0 }",
		  "rule body-line-length {\n  limit = 0\n" },
		{ "rule cmd-line-length { limit = 65536 action = none }",
		  "rule cmd-line-length {\n  limit = 65536\n  action = none\n" },
		{ "shim { starttls = terminate tls-certificate = \"/c.pem\" "
		  "tls-key = \"/k.pem\" }", "  starttls = terminate\n" },
		{ "rule rcpt-count { reply = \"a\\\"b\\\\c$d\" }",
		  "  reply = \"a\\\"b\\\\c\\$d\"\n" },
		/* comments are blanks, inside a statement too */
		{ "shim { ehlo-keywords = { \"SIZE\", # \"VRFY\",\n  \"DSN\" } }",
		  "  ehlo-keywords = { \"SIZE\", \"DSN\" }\n" },
		{ "mode /* = enforce */ = monitor", "mode = monitor\n" },
		/* given twice: a rule block replaces, other blocks merge */
		{ "rule rcpt-count { limit = 5 }\nrule rcpt-count { action = reject }",
		  "rule rcpt-count {\n  limit = 100\n  action = reject\n" },
		{ "milter { timeout = 5 }\nmilter { on-error = accept }",
		  "  timeout = 5\n  on-error = accept\n" },
		{ "mode = monitor\nmode = enforce", "mode = enforce\n" },
		{ "user = \"root\"\ngroup = \"root\"",
		  "user = \"root\"\ngroup = \"root\"\n" },
		{ "milter { socket = \"inet:8899\" }", "  socket = \"inet:8899\"\n" },
		{ "milter { timeout = 86400 }\nshim { max-connections = 1000000 }",
		  "  max-connections = 1000000\n" },
		{ "rule address-characters { exempt-clients = { \"::1\" } }",
		  "rule address-characters {\n  action = reject\n  log = yes\n"
		  "  reply = \"\"\n  exempt-clients = { \"::1/128\" }\n}\n" },
	};
	return cr_make_param_array(struct good_row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct good_row *r, config, good)
{
	char   *out = print_text(r->text);

	cr_assert_not_null(strstr(out, r->line),
	    "text: %s\nwanted:\n%s\ngot:\n%s", r->text, r->line, out);
	free(out);
}

/* -------------------------------------------------------------------- */

Test(config, defaults_when_empty)
{
	char	path[64], err[CONFIG_ERR_MAX];
	struct config *cfg = load_text("", path, sizeof(path), err, sizeof(err));
	int	r;

	cr_assert_not_null(cfg, "%s", err);
	cr_assert_eq(cfg->profile, CONFIG_STANDARD);
	cr_assert_eq(cfg->mode, CONFIG_ENFORCE);
	cr_assert_eq(cfg->facility, LOG_MAIL);
	cr_assert_eq(cfg->exempt.n, 0);
	cr_assert_str_eq(cfg->user, "");
	cr_assert_str_eq(cfg->milter.socket, "inet:8899@127.0.0.1");
	cr_assert_eq(cfg->milter.socket_mode, 0660);
	cr_assert_eq(cfg->milter.timeout, 300);
	cr_assert_eq(cfg->milter.on_error, CONFIG_ON_ERROR_TEMPFAIL);
	cr_assert_eq(cfg->shim.listen.n, 1);
	cr_assert_str_eq(cfg->shim.listen.v[0], "127.0.0.1:2526");
	cr_assert_null(cfg->shim.listen.v[1]);
	cr_assert_eq(cfg->shim.proxy_protocol, CONFIG_PROXY_V2);
	/* upstream parsed once at load: 127.0.0.1:2525 */
	cr_assert_eq(cfg->shim.upstream_addrlen, sizeof(struct sockaddr_in));
	cr_assert_eq(((struct sockaddr_in *)&cfg->shim.upstream_addr)->sin_family,
	    AF_INET);
	cr_assert_eq(ntohs(((struct sockaddr_in *)
	    &cfg->shim.upstream_addr)->sin_port), 2525);
	cr_assert_eq(ntohl(((struct sockaddr_in *)
	    &cfg->shim.upstream_addr)->sin_addr.s_addr), 0x7f000001);
	cr_assert_eq(cfg->shim.ehlo_keywords.n, 14);
	cr_assert_eq(cfg->shim.commands.n, 14);
	cr_assert_eq(cfg->shim.max_connections_per_client, 50);
	cr_assert_eq(cfg->shim.data_timeout, 600);
	cr_assert_eq(cfg->shim.starttls, CONFIG_TLS_ALLOW);
	cr_assert_eq(cfg->shim.client_ipv6_prefix, 64);
	cr_assert_eq(cfg->shim.embryonic_timeout, 30);
	cr_assert_eq(cfg->shim.hard_error_limit, 20);
	cr_assert_eq(cfg->rules[POLICY_RCPT_COUNT].limit, 100);
	cr_assert_eq(cfg->rules[POLICY_RCPT_COUNT].action, POLICY_TEMPFAIL);
	cr_assert_eq(cfg->rules[POLICY_SENDER_LENGTH].limit, 320);
	cr_assert_eq(cfg->rules[POLICY_CMD_LINE_LENGTH].limit, 512);
	cr_assert_eq(cfg->rules[POLICY_BODY_LINE_LENGTH].action, POLICY_LOG);
	cr_assert_eq(cfg->rules[POLICY_MIME_FILENAME_LENGTH].limit, 255);
	cr_assert_eq(cfg->rules[POLICY_DUPLICATE_HEADER].headers.n, 11);
	cr_assert_str_eq(cfg->rules[POLICY_DUPLICATE_HEADER].headers.v[10],
	    "references");
	for (r = 0; r < POLICY_NRULES; r++) {
		cr_assert_eq(cfg->rules[r].log, 1);
		cr_assert_str_eq(cfg->rules[r].reply, "");
		cr_assert_eq(cfg->rules[r].exempt.n, 0);
		if (r != POLICY_DUPLICATE_HEADER)
			cr_assert_eq(cfg->rules[r].headers.n, 0);
	}
	cr_assert_eq(cfg->refs, 1);
	cr_assert_str_eq(cfg->path, path);
	config_unref(cfg);
}

Test(config, profile_asa)
{
	char	path[64], err[CONFIG_ERR_MAX];
	struct config *cfg = load_text("profile = asa\n"
	    "rule rcpt-count { limit = 50 }\n"
	    "rule sender-length { action = log }\n"
	    "shim { command-other = reject }\n",
	    path, sizeof(path), err, sizeof(err));

	cr_assert_not_null(cfg, "%s", err);
	cr_assert_eq(cfg->profile, CONFIG_ASA);
	cr_assert_eq(cfg->shim.banner, CONFIG_BANNER_ASTERISKS);
	cr_assert_eq(cfg->shim.ehlo_other, CONFIG_EHLO_MASK);
	cr_assert_eq(cfg->shim.command_other, CONFIG_CMD_REJECT);
	cr_assert_eq(cfg->shim.starttls, CONFIG_TLS_STRIP);
	cr_assert_eq(cfg->shim.ehlo_keywords.n, 10);
	cr_assert_str_eq(cfg->shim.ehlo_keywords.v[3], "CHECKPOINT");
	cr_assert_eq(cfg->shim.commands.n, 15);
	cr_assert_eq(cfg->rules[POLICY_RCPT_COUNT].limit, 50);
	cr_assert_eq(cfg->rules[POLICY_RCPT_COUNT].action,
	    POLICY_DROP_CONNECTION);
	cr_assert_eq(cfg->rules[POLICY_SENDER_LENGTH].limit, 320);
	cr_assert_eq(cfg->rules[POLICY_SENDER_LENGTH].action, POLICY_LOG);
	cr_assert_eq(cfg->rules[POLICY_ADDRESS_CHARACTERS].action,
	    POLICY_DROP_CONNECTION);
	cr_assert_eq(cfg->rules[POLICY_CMD_LINE_LENGTH].action,
	    POLICY_DROP_CONNECTION);
	cr_assert_eq(cfg->rules[POLICY_HEADER_LINE_LENGTH].action,
	    POLICY_DROP_CONNECTION);
	cr_assert_eq(cfg->rules[POLICY_BODY_LINE_LENGTH].action, POLICY_LOG);
	cr_assert_eq(cfg->rules[POLICY_MIME_FILENAME_LENGTH].action,
	    POLICY_DROP_CONNECTION);
	cr_assert_eq(cfg->rules[POLICY_DUPLICATE_HEADER].action, POLICY_NONE);
	cr_assert_eq(cfg->rules[POLICY_DKIM_UNSIGNED_DUPLICATE].action,
	    POLICY_NONE);
	cr_assert_eq(cfg->rules[POLICY_MIME_STRUCTURE].action, POLICY_NONE);
	config_unref(cfg);
}

static int
exempt(const struct config *cfg, enum policy_rule rule, const char *addr)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return (config_rule_exempt(cfg, rule, (struct sockaddr *)&s4));
	}
	cr_assert(inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1);
	s6.sin6_family = AF_INET6;
	return (config_rule_exempt(cfg, rule, (struct sockaddr *)&s6));
}

Test(config, rule_exempt_ipv4_ipv6)
{
	char	path[64], err[CONFIG_ERR_MAX];
	struct config *cfg = load_text(
	    "exempt-clients = { \"203.0.113.0/24\" }\n"
	    "rule rcpt-count {\n"
	    "  exempt-clients = { \"192.0.2.0/24\", \"2001:db8::/32\" }\n"
	    "}\n"
	    "rule sender-length { exempt-clients = { \"::1\" } }\n",
	    path, sizeof(path), err, sizeof(err));

	cr_assert_not_null(cfg, "%s", err);
	cr_assert_eq(cfg->exempt.n, 1);
	cr_assert_eq(cfg->rules[POLICY_RCPT_COUNT].exempt.n, 2);
	cr_assert_eq(cfg->rules[POLICY_RCPT_COUNT].exempt.v[1].family,
	    AF_INET6);
	cr_assert_eq(cfg->rules[POLICY_RCPT_COUNT].exempt.v[1].prefix, 32);
	cr_assert_eq(exempt(cfg, POLICY_RCPT_COUNT, "192.0.2.7"), 1);
	cr_assert_eq(exempt(cfg, POLICY_RCPT_COUNT, "192.0.3.7"), 0);
	cr_assert_eq(exempt(cfg, POLICY_RCPT_COUNT, "2001:db8::25"), 1);
	cr_assert_eq(exempt(cfg, POLICY_RCPT_COUNT, "2001:db9::25"), 0);
	cr_assert_eq(exempt(cfg, POLICY_RCPT_COUNT, "::ffff:192.0.2.9"), 1);
	/* the global list is not a per-rule list */
	cr_assert_eq(exempt(cfg, POLICY_RCPT_COUNT, "203.0.113.5"), 0);
	cr_assert_eq(exempt(cfg, POLICY_SENDER_LENGTH, "192.0.2.7"), 0);
	cr_assert_eq(exempt(cfg, POLICY_SENDER_LENGTH, "::1"), 1);
	cr_assert_eq(exempt(cfg, POLICY_SENDER_LENGTH, "::2"), 0);
	cr_assert_eq(exempt(cfg, POLICY_ADDRESS_CHARACTERS, "::1"), 0);
	cr_assert_eq(config_rule_exempt(cfg, POLICY_RCPT_COUNT, NULL), 0);
	cr_assert_eq(config_rule_exempt(NULL, POLICY_RCPT_COUNT, NULL), 0);
	cr_assert_eq(config_rule_exempt(cfg, POLICY_NRULES, NULL), 0);
	config_unref(cfg);
}

Test(config, reply_length)
{
	char	text[600], path[64], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	struct config *cfg;
	int	n;

	/* 400 octets are fine */
	n = snprintf(text, sizeof(text), "rule rcpt-count { reply = \"");
	memset(text + n, 'a', 400);
	(void)snprintf(text + n + 400, sizeof(text) - (size_t)n - 400, "\" }");
	cfg = load_text(text, path, sizeof(path), err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	cr_assert_eq(strlen(cfg->rules[POLICY_RCPT_COUNT].reply), 400);
	config_unref(cfg);
	/* 401 are not */
	memset(text + n, 'a', 401);
	(void)snprintf(text + n + 401, sizeof(text) - (size_t)n - 401, "\" }");
	cfg = load_text(text, path, sizeof(path), err, sizeof(err));
	cr_assert_null(cfg);
	(void)snprintf(want, sizeof(want), "%s:1: rule \"rcpt-count\": reply "
	    "text is 401 octets long (at most 400)", path);
	cr_assert_str_eq(err, want);
}

Test(config, missing_file)
{
	char	err[CONFIG_ERR_MAX];

	cr_assert_null(config_load("/nonexistent/esmtp-inspect.conf", err,
	    sizeof(err)));
	cr_assert_str_eq(err,
	    "/nonexistent/esmtp-inspect.conf: No such file or directory");
	cr_assert_null(config_load("/tmp", err, sizeof(err)));
	cr_assert_str_eq(err, "/tmp: Is a directory");
	/* a NULL or tiny buffer is not written beyond */
	cr_assert_null(config_load("/nonexistent", NULL, 0));
	cr_assert_null(config_load("/nonexistent", err, 1));
	cr_assert_str_eq(err, "");
}

/* print -> load -> print gives the same text. */
static void
round_trip(const char *path)
{
	char	err[CONFIG_ERR_MAX], tmp[64], *a, *b;
	struct config *cfg;

	cfg = config_load(path, err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	a = print_str(cfg);
	config_unref(cfg);
	cfg = load_text(a, tmp, sizeof(tmp), err, sizeof(err));
	cr_assert_not_null(cfg, "-n output does not load: %s\n%s", err, a);
	b = print_str(cfg);
	config_unref(cfg);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(config, round_trip_empty)
{
	char	path[64];

	write_temp("", path, sizeof(path));
	round_trip(path);
	unlink(path);
}

Test(config, round_trip_shipped)
{
	round_trip(SHIPPED);
}

Test(config, round_trip_asa)
{
	char	path[64];

	write_temp("profile = asa\nmode = monitor\nsyslog-facility = local5\n"
	    "exempt-clients = { \"192.0.2.0/24\", \"2001:db8::/48\" }\n"
	    "user = \"root\"\ngroup = \"root\"\n"
	    "milter { socket = \"inet6:8899@[::1]\" on-error = accept }\n"
	    "shim { listen = { \"[::]:25\", \"0.0.0.0:25\" } proxy-protocol = v1\n"
	    "  banner = mask banner-text = \"mx.example.net ESMTP ready\"\n"
	    "  accept-proxy-from = { \"10.0.0.0/8\" } }\n"
	    "rule rcpt-count { limit = 50 reply = \"Too many \\\"rcpts\\\"\" }\n"
	    "rule duplicate-header { action = log headers = { \"From\", \"To\" } }\n"
	    "rule bare-linefeed { log = no }\n", path, sizeof(path));
	round_trip(path);
	unlink(path);
}

/*
 * The shipped file is the defaults, spelled out, with the certificate
 * Postfix already has on Debian (so that starttls = auto terminates).
 */
Test(config, shipped_is_defaults)
{
	char	path[64], err[CONFIG_ERR_MAX], *a, *b;
	struct config *cfg;

	cfg = config_load(SHIPPED, err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	a = print_str(cfg);
	cr_assert_eq(cfg->shim.starttls, CONFIG_TLS_TERMINATE);
	cr_assert_eq(cfg->warnings.n, 0);
	config_unref(cfg);
	cfg = load_text("shim {\n"
	    "  tls-certificate = \"/etc/ssl/certs/ssl-cert-snakeoil.pem\"\n"
	    "  tls-key = \"/etc/ssl/private/ssl-cert-snakeoil.key\"\n}\n",
	    path, sizeof(path), err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	b = print_str(cfg);
	config_unref(cfg);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

/*
 * -n's warnings (SPEC 2): "FILE:LINE: text", "FILE: text" for a default,
 * in the order of the lines.  A row lists every warning the text gives.
 */
struct warn_row {
	char	text[256];
	char	warn[640];	/* after the path, one a line; "": none */
};

#define ALLOW	": " CONFIG_STARTTLS_ALLOW
#define ONE	" given twice (also line 1); the last one wins"

ParameterizedTestParameters(config, warnings)
{
	static struct warn_row rows[] = {
		{ "", ALLOW },
		{ "shim {\n  starttls = allow\n}", ":2: " CONFIG_STARTTLS_ALLOW },
		{ "\nshim { starttls = auto }", ":2: " CONFIG_STARTTLS_ALLOW },
		{ "shim { starttls = auto tls-certificate = \"/c\" "
		  "tls-key = \"/k\" }", "" },
		{ "shim { starttls = strip }", "" },
		{ "profile = asa", "" },
		/* true lines after comments */
		{ "# c\n// d\n/* e\n f */\nshim {\n  starttls = allow\n}",
		  ":6: " CONFIG_STARTTLS_ALLOW },
		/* an option or a block given twice */
		{ "mode = enforce\nprofile = standard\nmode = monitor\n",
		  ALLOW "\n:3: \"mode\"" ONE },
		{ "mode = enforce\n\"mode\" = monitor", ALLOW "\n:2: \"mode\"" ONE },
		{ "exempt-clients = {}\nexempt-clients = { \"192.0.2.1\" }",
		  ALLOW "\n:2: \"exempt-clients\"" ONE },
		{ "milter {\n  timeout = 5\n  timeout = 6\n}",
		  ALLOW "\n:3: \"timeout\" given twice in \"milter\" (also line 2); "
		  "the last one wins" },
		{ "rule rcpt-count {\n  limit = 5 limit = 6\n}",
		  ALLOW "\n:2: \"limit\" given twice in \"rule rcpt-count\" "
		  "(also line 2); the last one wins" },
		{ "milter { timeout = 5 }\nmilter {\n  socket = \"unix:/run/m.sock\"\n}",
		  ALLOW "\n:2: \"milter\" given twice (also line 1); the blocks "
		  "are merged, the later settings win" },
		{ "rule rcpt-count { limit = 5 }\n\nrule rcpt-count { action = "
		  "reject }", ALLOW "\n:3: \"rule rcpt-count\" given twice (also "
		  "line 1); the last one wins, the earlier block is ignored" },
		{ "shim { starttls = strip\n  starttls = strip\n  starttls = "
		  "strip }", ":2: \"starttls\" given twice in \"shim\" (also line "
		  "1); the last one wins\n:3: \"starttls\" given twice in \"shim\" "
		  "(also line 2); the last one wins" },
		/* ... but not: appending, other blocks, quotes, comments */
		{ "shim { starttls = strip commands = { \"HELO\" }\n"
		  "  commands += { \"EHLO\" } }", "" },
		{ "rule rcpt-count { limit = 5 }\nrule sender-length { limit = 5 }\n"
		  "exempt-clients = {}\nrule rcpt-count {}", ALLOW "\n:4: \"rule "
		  "rcpt-count\" given twice (also line 1); the last one wins, the "
		  "earlier block is ignored" },
		{ "shim {\n  starttls = strip # starttls = allow\n"
		  "  banner-text = \"starttls = allow\"\n"
		  "  /* starttls = allow */ // starttls = allow\n}", "" },
		/* proxy-protocol = none */
		{ "shim {\n  starttls = strip\n  proxy-protocol = none\n}",
		  ":3: proxy-protocol = none: the MTA sees the shim's address as "
		  "the client of every session" },
		{ "shim { starttls = strip proxy-protocol = v1 }", "" },
		/* exempt-clients covering a whole family */
		{ "exempt-clients = { \"0.0.0.0/0\", \"::/0\" }", ALLOW "\n:1: "
		  "exempt-clients covers every address: no client is inspected" },
		{ "exempt-clients = {\n  \"0.0.0.0/1\",\n  \"128.0.0.0/1\" }",
		  ALLOW "\n:3: exempt-clients covers every IPv4 address: no IPv4 "
		  "client is inspected" },
		{ "exempt-clients = { \"::/1\", \"8000::/2\", \"c000::/2\" }",
		  ALLOW "\n:1: exempt-clients covers every IPv6 address: no IPv6 "
		  "client is inspected" },
		{ "exempt-clients = { \"0.0.0.0/0\", \"::/1\", \"8000::/1\" }",
		  ALLOW "\n:1: exempt-clients covers every address: no client is "
		  "inspected" },
		{ "exempt-clients = { \"0.0.0.0/1\", \"128.0.0.0/2\", "
		  "\"::/1\", \"c000::/2\" }", ALLOW },
		{ "rule rcpt-count {\n  exempt-clients = { \"0.0.0.0/0\" }\n}",
		  ALLOW "\n:2: rule \"rcpt-count\": exempt-clients covers every "
		  "IPv4 address: the rule never fires for an IPv4 client" },
		{ "rule sender-length { exempt-clients = { \"::/0\", \"0.0.0.0/0\" "
		  "} }", ALLOW "\n:1: rule \"sender-length\": exempt-clients "
		  "covers every address: the rule never fires" },
		/* a refusing rule with limit = 0 */
		{ "rule rcpt-count {\n  limit = 0\n}", ALLOW "\n:2: rule "
		  "\"rcpt-count\": limit = 0 with action = tempfail fires on "
		  "every recipient" },
		{ "rule header-line-length { limit = 0 action = drop-connection }",
		  ALLOW "\n:1: rule \"header-line-length\": limit = 0 with "
		  "action = drop-connection fires on every message" },
		{ "profile = asa\nrule sender-length { limit = 0 }", ":2: rule "
		  "\"sender-length\": limit = 0 with action = drop-connection "
		  "fires on every sender but the null sender <>" },
		{ "rule mime-filename-length { limit = 0 }", ALLOW "\n:1: rule "
		  "\"mime-filename-length\": limit = 0 with action = reject fires "
		  "on every attachment with a name" },
		{ "rule body-line-length { limit = 0 }", ALLOW },
		{ "rule rcpt-count { limit = 0 action = log }", ALLOW },
		{ "rule rcpt-count { limit = 1 }", ALLOW },
		/* lists that fire on nothing or on every recipient (SPEC 4.2) */
		{ "rule mime-type { action = reject }", ALLOW "\n: rule "
		  "\"mime-type\": action = reject with no patterns fires on "
		  "nothing" },
		{ "rule mail-relay { action = reject }", ALLOW "\n: rule "
		  "\"mail-relay\": action = reject with no domains fires on "
		  "every recipient" },
		{ "rule mime-encoding { action = log }", ALLOW "\n: rule "
		  "\"mime-encoding\": action = log with no encodings fires on "
		  "nothing" },
		{ "rule mail-relay { action = reject domains = { \"x.test\" } }",
		  ALLOW },
		/* a backslash libconfuse drops from a double-quoted string */
		{ "shim { starttls = strip }\n\nrule sender-address {\n"
		  "  patterns = { \"@x\\.test$\" }\n}", ":4: \"\\.\" in a "
		  "double-quoted string reads as \".\" (write \"\\\\.\", or the "
		  "string in single quotes, where a backslash stays)" },
		{ "shim { starttls = strip }\nrule sender-address {\n"
		  "  patterns = { \"@x\\\\.test\\$\", '@y\\.test$' }\n}", "" },
		/* a block the end of the file closes */
		{ "mode = enforce\nshim {\n  starttls = strip\n", ":2: \"shim\" "
		  "has no closing \"}\": the end of the file closes it" },
		/* in the order of the lines */
		{ "mode = enforce\nmode = monitor\nshim { starttls = allow }",
		  ":2: \"mode\" given twice (also line 1); the last one wins\n"
		  ":3: " CONFIG_STARTTLS_ALLOW },
		{ "mode = enforce\nexempt-clients = { \"::/0\" }\n"
		  "shim { proxy-protocol = none }\nmode = monitor", ALLOW "\n:2: "
		  "exempt-clients covers every IPv6 address: no IPv6 client is "
		  "inspected\n:3: proxy-protocol = none: the MTA sees the shim's "
		  "address as the client of every session\n:4: \"mode\"" ONE },
	};
	return cr_make_param_array(struct warn_row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct warn_row *r, config, warnings)
{
	char	path[64], err[CONFIG_ERR_MAX], want[2048], got[2048];
	const char *p, *nl;
	struct config *cfg;
	size_t	i, o = 0;

	cfg = load_text(r->text, path, sizeof(path), err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	want[0] = got[0] = '\0';
	for (p = r->warn; *p != '\0'; p = nl != NULL ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		o += (size_t)snprintf(want + o, sizeof(want) - o, "%s%s%.*s",
		    o ? "\n" : "", path, (int)(nl ? nl - p : (int)strlen(p)), p);
	}
	for (i = 0, o = 0; i < cfg->warnings.n; i++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s",
		    i ? "\n" : "", cfg->warnings.v[i]);
	cr_assert(cfg->warnings.n == 0 ||
	    cfg->warnings.v[cfg->warnings.n] == NULL);
	cr_assert_str_eq(got, want, "text: %s", r->text);
	config_unref(cfg);
}

/* A failed load (scanner left inside a string) does not spoil the next one. */
Test(config, load_after_error)
{
	char	path[64], err[CONFIG_ERR_MAX];
	struct config *cfg;

	static const char *const bad[] = {
		"user = 'abc", "user = \"abc", "mode = monitor\n\"abc",
		"mode = monitor /* x", "user = \"\\8\"", "user = '\\",
		"shim {\n  milter {\n",
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_null(load_text(bad[i], path, sizeof(path), err,
		    sizeof(err)), "accepted: %s", bad[i]);
		cfg = load_text("mode = monitor\n", path, sizeof(path), err,
		    sizeof(err));
		cr_assert_not_null(cfg, "after %s: %s", bad[i], err);
		cr_assert_eq(cfg->mode, CONFIG_MONITOR);
		config_unref(cfg);
	}
}

Test(config, refcount_install_current)
{
	char	path[64], err[CONFIG_ERR_MAX];
	struct config *a, *b, *c;

	cr_assert_null(config_current());
	a = load_text("", path, sizeof(path), err, sizeof(err));
	b = load_text("mode = monitor", path, sizeof(path), err, sizeof(err));
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_eq(config_ref(a), a);
	cr_assert_eq(a->refs, 2);
	config_unref(a);
	cr_assert_eq(a->refs, 1);
	config_unref(NULL);
	cr_assert_null(config_ref(NULL));

	config_install(a);			/* takes our reference */
	c = config_current();
	cr_assert_eq(c, a);
	cr_assert_eq(a->refs, 2);
	config_install(b);			/* a keeps the session's ref */
	cr_assert_eq(a->refs, 1);
	cr_assert_eq(a->mode, CONFIG_ENFORCE);
	config_unref(c);			/* frees a */
	c = config_current();
	cr_assert_eq(c, b);
	cr_assert_eq(c->mode, CONFIG_MONITOR);
	config_unref(c);
	config_install(NULL);			/* frees b */
	cr_assert_null(config_current());
}

Test(config, facility_name)
{
	cr_assert_str_eq(config_facility_name(LOG_MAIL), "mail");
	cr_assert_str_eq(config_facility_name(LOG_LOCAL7), "local7");
	cr_assert_str_eq(config_facility_name(LOG_AUTHPRIV), "authpriv");
	cr_assert_null(config_facility_name(-8));
}

/* Lists hold at most 1,000 entries (SPEC 4.2): 1,000 load, 1,001 do not. */
Test(config, list_sizes)
{
	static const char *const rules[][2] = {
		{ "duplicate-header", "headers" }, { "mime-type", "patterns" },
		{ "sender-address", "patterns" }, { "mail-relay", "domains" },
	};
	char	path[64], err[CONFIG_ERR_MAX], *text, want[160];
	struct config *cfg;
	size_t	r, i, o, n;

	for (r = 0; r < sizeof(rules) / sizeof(rules[0]); r++)
		for (n = 1000; n <= 1001; n++) {
			cr_assert_not_null(text = malloc(n * 16 + 128));
			o = (size_t)sprintf(text, "rule %s { %s = {", rules[r][0],
			    rules[r][1]);
			for (i = 0; i < n; i++)
				o += (size_t)sprintf(text + o, "%s\"h%zu.test\"",
				    i ? ", " : " ", i);
			(void)strcpy(text + o, " } }\n");
			cfg = load_text(text, path, sizeof(path), err, sizeof(err));
			free(text);
			if (n == 1000) {
				cr_assert_not_null(cfg, "%s: %s", rules[r][0], err);
				config_unref(cfg);
				continue;
			}
			cr_assert_null(cfg);
			(void)snprintf(want, sizeof(want), "%s:1: rule \"%s\": more "
			    "than 1000 %s", path, rules[r][0], rules[r][1]);
			cr_assert_str_eq(err, want);
		}
}
