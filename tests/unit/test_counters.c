/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_counters.c - the counters of SPEC 8 and their renderings: what is
 * counted where, which Prometheus series exist from the start (each rule
 * that is on, at 0) and which stay (an action seen before a reload), the
 * ASA's "show service-policy" lines, and that an out-of-range match is
 * ignored.  Each Criterion test runs in its own process, so the
 * process-wide counters start at 0 in each.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "counters.h"

static struct config *
load(const char *text)
{
	char	path[] = "/tmp/test_counters.XXXXXX", err[CONFIG_ERR_MAX];
	struct config *cfg;
	int	fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	cfg = config_load(path, err, sizeof(err));
	unlink(path);
	cr_assert_not_null(cfg, "%s", err);
	return (cfg);
}

/* A rendering of the current counts into a malloc'ed string. */
static char *
render(const char *conf, enum counters_daemon d, int prom)
{
	struct counters_snap snap;
	struct config *cfg = load(conf);
	char   *buf = NULL;
	size_t	len = 0;
	FILE   *fp = open_memstream(&buf, &len);

	cr_assert_not_null(fp);
	counters_read(&snap);
	if (prom)
		counters_prometheus(&snap, cfg, d, fp);
	else
		counters_stats(&snap, cfg, d, fp);
	fclose(fp);
	config_unref(cfg);
	return (buf);
}

Test(counters, stats_milter_shape)
{
	char   *s;
	int	i;

	for (i = 0; i < 41; i++)
		counters_match(POLICY_HEADER_LINE_LENGTH, POLICY_DROP_CONNECTION, 0);
	counters_match(POLICY_HEADER_LINE_LENGTH, POLICY_DROP_CONNECTION, 1);
	counters_verdict(COUNTERS_DROP);
	counters_verdict(COUNTERS_ACCEPT);
	counters_verdict(COUNTERS_ACCEPT);
	counters_reload(COUNTERS_RELOAD_OK);
	s = render("rule header-line-length { action = drop-connection }\n"
	    "rule mime-structure { action = none }\n", COUNTERS_MILTER, 0);
	cr_assert_str_eq(s,
	    "Inspect: esmtp esmtp-inspect-milter, profile standard, mode enforce\n"
	    "match cmd RCPT count gt 100  tempfail log, packet 0\n"
	    "match sender-address length gt 320  reject log, packet 0\n"
	    "match special-character  reject log, packet 0\n"
	    "match header line length gt 998  drop-connection log, packet 42\n"
	    "match body line length gt 998  log, packet 0\n"
	    "match MIME filename length gt 255  reject log, packet 0\n"
	    "match duplicate-header  reject log, packet 0\n"
	    "match dkim-unsigned-duplicate  reject log, packet 0\n"
	    "messages accept 2, reject 0, tempfail 0, drop 1, error 0\n"
	    "reloads ok 1, error 0\n");
	free(s);
}

/* The optional criteria (issue 19): with a limit "gt N", without none. */
Test(counters, stats_milter_criteria)
{
	char   *s;

	counters_match(POLICY_HEADER_LENGTH, POLICY_REJECT, 0);
	counters_match(POLICY_MIME_TYPE, POLICY_REJECT, 0);
	counters_match(POLICY_MIME_TYPE, POLICY_REJECT, 1);
	counters_match(POLICY_MAIL_RELAY, POLICY_LOG, 0);
	s = render("rule rcpt-count { action = none }\n"
	    "rule sender-length { action = none }\n"
	    "rule address-characters { action = none }\n"
	    "rule header-line-length { action = none }\n"
	    "rule body-line-length { action = none }\n"
	    "rule mime-filename-length { action = none }\n"
	    "rule duplicate-header { action = none }\n"
	    "rule dkim-unsigned-duplicate { action = none }\n"
	    "rule mime-structure { action = none }\n"
	    "rule header-length { action = reject }\n"
	    "rule header-to-count { limit = 3 action = tempfail }\n"
	    "rule mime-type { patterns = { 'x' } action = reject log = no }\n"
	    "rule mime-encoding { encodings = { \"base64\" } "
	    "action = drop-connection }\n"
	    "rule sender-address { patterns = { 'x' } action = reject }\n"
	    "rule mail-relay { domains = { \"d.test\" } action = log }\n",
	    COUNTERS_MILTER, 0);
	cr_assert_str_eq(s,
	    "Inspect: esmtp esmtp-inspect-milter, profile standard, mode enforce\n"
	    "match header length gt 65536  reject log, packet 1\n"
	    "match header to-fields count gt 3  tempfail log, packet 0\n"
	    "match MIME filetype regex  reject, packet 2\n"
	    "match MIME encoding  drop-connection log, packet 0\n"
	    "match sender-address regex  reject log, packet 0\n"
	    "match mail-relay  log, packet 1\n"
	    "messages accept 0, reject 0, tempfail 0, drop 0, error 0\n"
	    "reloads ok 0, error 0\n");
	free(s);
}

Test(counters, stats_shim_shape)
{
	char   *s;

	counters_session_open();
	counters_session_open();
	counters_session_end(COUNTERS_QUIT);
	counters_limit(COUNTERS_MAX_EMBRYONIC);
	counters_match(COUNTERS_BANNER, COUNTERS_ASTERISKS, 0);
	counters_match(COUNTERS_COMMAND_OTHER, COUNTERS_MASK, 0);
	s = render("profile = asa\nrule cmd-line-length { log = no }\n",
	    COUNTERS_SHIM, 0);
	cr_assert_str_eq(s,
	    "Inspect: esmtp esmtp-inspect-shim, profile asa, mode enforce\n"
	    "match cmd line length gt 512  drop-connection, packet 0\n"
	    "match bare-linefeed  drop-connection log, packet 0\n"
	    "match mask-banner  asterisks, packet 1\n"
	    "match ehlo-reply-parameter others  mask, packet 0\n"
	    "match cmd verb others  mask, packet 1\n"
	    "sessions active 1\n"
	    "sessions quit 1, client-close 0, upstream-close 0, timeout 0, "
	    "limit 0, policy 0, desync 0, error 0, shutdown 0\n"
	    "limits max-connections 0, max-connections-per-client 0, "
	    "max-embryonic 1, hard-error-limit 0\n"
	    "reloads ok 0, error 0\n");
	free(s);
}

/* A Prometheus row: after ${adds}, the rendering has ${line} or not. */
struct prom_row {
	char	conf[128];
	int	daemon;
	int	what, action, monitor;	/* one match added; what < 0: none */
	char	line[200];
	int	present;
};

ParameterizedTestParameters(counters, prometheus)
{
	static struct prom_row rows[] = {
		/* a rule that is on is a series from the start, at 0 */
		{ "", COUNTERS_MILTER, -1, 0, 0,
		  "esmtp_inspect_rule_matches_total{daemon=\"milter\","
		  "rule=\"rcpt-count\",action=\"tempfail\",mode=\"enforce\"} 0", 1 },
		/* in the mode configured */
		{ "mode = monitor\n", COUNTERS_MILTER, -1, 0, 0,
		  "esmtp_inspect_rule_matches_total{daemon=\"milter\","
		  "rule=\"rcpt-count\",action=\"tempfail\",mode=\"monitor\"} 0", 1 },
		{ "mode = monitor\n", COUNTERS_MILTER, -1, 0, 0,
		  "esmtp_inspect_rule_matches_total{daemon=\"milter\","
		  "rule=\"rcpt-count\",action=\"tempfail\",mode=\"enforce\"} 0", 0 },
		/* a rule that is off is not */
		{ "rule rcpt-count { action = none }\n", COUNTERS_MILTER, -1,
		  0, 0, "rule=\"rcpt-count\"", 0 },
		/* unless it counted before (a reload turned it off) */
		{ "rule rcpt-count { action = none }\n", COUNTERS_MILTER,
		  POLICY_RCPT_COUNT, POLICY_REJECT, 0,
		  "esmtp_inspect_rule_matches_total{daemon=\"milter\","
		  "rule=\"rcpt-count\",action=\"reject\",mode=\"enforce\"} 1", 1 },
		/* the other daemon's rules are not its series */
		{ "", COUNTERS_MILTER, -1, 0, 0, "rule=\"cmd-line-length\"", 0 },
		{ "", COUNTERS_SHIM, -1, 0, 0, "rule=\"rcpt-count\"", 0 },
		{ "", COUNTERS_SHIM, -1, 0, 0,
		  "esmtp_inspect_rule_matches_total{daemon=\"shim\","
		  "rule=\"command-other\",action=\"reject\",mode=\"enforce\"} 0", 1 },
		/* banner = pass: no series */
		{ "", COUNTERS_SHIM, -1, 0, 0, "rule=\"banner\"", 0 },
		/* each family has its TYPE */
		{ "", COUNTERS_MILTER, -1, 0, 0,
		  "# TYPE esmtp_inspect_messages_total counter", 1 },
		{ "", COUNTERS_MILTER, -1, 0, 0,
		  "esmtp_inspect_messages_total{verdict=\"error\"} 0", 1 },
		{ "", COUNTERS_MILTER, -1, 0, 0, "esmtp_inspect_sessions", 0 },
		{ "", COUNTERS_SHIM, -1, 0, 0,
		  "# TYPE esmtp_inspect_sessions_active gauge", 1 },
		{ "", COUNTERS_SHIM, -1, 0, 0,
		  "esmtp_inspect_limit_refusals_total{limit=\"max-embryonic\"} 0",
		  1 },
		{ "", COUNTERS_SHIM, -1, 0, 0, "esmtp_inspect_messages_total", 0 },
		{ "", COUNTERS_SHIM, -1, 0, 0,
		  "esmtp_inspect_build_info{version=\"" VERSION "\"} 1", 1 },
		{ "", COUNTERS_SHIM, -1, 0, 0,
		  "esmtp_inspect_config_reloads_total{result=\"error\"} 0", 1 },
		/* out of range: ignored, nothing rendered for it */
		{ "", COUNTERS_SHIM, COUNTERS_NMATCH, 0, 0, "mode=\"enforce\"} 1", 0 },
		{ "", COUNTERS_SHIM, 0, COUNTERS_NACTION, 0, "mode=\"enforce\"} 1", 0 },
	};

	return cr_make_param_array(struct prom_row, rows,
	    sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct prom_row *r, counters, prometheus)
{
	char   *s;

	if (r->what >= 0)
		counters_match(r->what, r->action, r->monitor);
	s = render(r->conf, (enum counters_daemon)r->daemon, 1);
	if (r->present)
		cr_assert_not_null(strstr(s, r->line), "missing %s in\n%s",
		    r->line, s);
	else
		cr_assert_null(strstr(s, r->line), "unexpected %s in\n%s",
		    r->line, s);
	free(s);
}

Test(counters, read_adds_up)
{
	struct counters_snap snap;
	int	i;

	for (i = 0; i < 5; i++)
		counters_match(POLICY_SENDER_LENGTH, POLICY_REJECT, 1);
	counters_session_open();
	counters_session_end(COUNTERS_TIMEOUT);
	counters_session_open();
	counters_reload(COUNTERS_RELOAD_ERROR);
	counters_read(&snap);
	cr_assert_eq(snap.match[POLICY_SENDER_LENGTH][POLICY_REJECT][1], 5);
	cr_assert_eq(snap.match[POLICY_SENDER_LENGTH][POLICY_REJECT][0], 0);
	cr_assert_eq(snap.reason[COUNTERS_TIMEOUT], 1);
	cr_assert_eq(snap.active, 1);
	cr_assert_eq(snap.reload[COUNTERS_RELOAD_ERROR], 1);
	cr_assert_str_eq(counters_reason_name(COUNTERS_ERROR_CLOSE), "error");
}
