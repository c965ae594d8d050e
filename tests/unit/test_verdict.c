/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_verdict.c - the one verdict engine of the milter and the shim
 * (common/verdict.c): which action a stage ends with, the tie between
 * rules, monitor mode, exemptions, a forced action, the reply line, and
 * the log line each fired rule writes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "audit.h"
#include "config.h"
#include "counters.h"
#include "verdict.h"

static struct config *
load(const char *text)
{
	char	path[64], err[CONFIG_ERR_MAX];
	struct config *cfg;
	int	fd;

	(void)snprintf(path, sizeof(path), "/tmp/test_verdict.XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	(void)close(fd);
	cfg = config_load(path, err, sizeof(err));
	(void)unlink(path);
	cr_assert(cfg != NULL, "config_load: %s", err);
	return (cfg);
}

#define NONE	POLICY_NONE
#define LOG	POLICY_LOG
#define TEMP	POLICY_TEMPFAIL
#define REJ	POLICY_REJECT
#define DROP	POLICY_DROP_CONNECTION

/*
 * Rows are copied by value into Criterion's workers: strings inside.
 * Each fires up to three rules (-1 ends) with their configured action,
 * or the forced one when set.
 */
struct row {
	char	name[48];
	char	conf[256];
	int	monitor;
	int	exempt_rule;		/* -1: none */
	int	fire[3];
	int	forced[3];		/* 0: the rule's own action */
	int	want_action;
	int	want_rule;		/* when want_action > none */
	unsigned want_logged;		/* log lines written */
};

ParameterizedTestParameters(verdict, stage)
{
	static struct row rows[] = {
		{ "nothing fired", "profile = standard\n", 0, -1,
		  { -1 }, { 0 }, NONE, 0, 0 },
		{ "one reject", "profile = standard\n", 0, -1,
		  { POLICY_SENDER_LENGTH, -1 }, { 0 }, REJ,
		  POLICY_SENDER_LENGTH, 1 },
		{ "stronger wins, fired later",
		  "rule sender-length { action = tempfail }\n"
		  "rule address-characters { action = drop-connection }\n",
		  0, -1, { POLICY_SENDER_LENGTH, POLICY_ADDRESS_CHARACTERS,
		  -1 }, { 0 }, DROP, POLICY_ADDRESS_CHARACTERS, 2 },
		{ "tie: first in table order, fired last",
		  "rule rcpt-count { action = reject }\n"
		  "rule sender-length { action = reject }\n", 0, -1,
		  { POLICY_SENDER_LENGTH, POLICY_RCPT_COUNT, -1 }, { 0 }, REJ,
		  POLICY_RCPT_COUNT, 2 },
		{ "log only enforces nothing",
		  "rule sender-length { action = log }\n", 0, -1,
		  { POLICY_SENDER_LENGTH, -1 }, { 0 }, LOG,
		  POLICY_SENDER_LENGTH, 1 },
		{ "monitor logs, never enforces", "profile = standard\n", 1,
		  -1, { POLICY_SENDER_LENGTH, POLICY_RCPT_COUNT, -1 }, { 0 },
		  NONE, 0, 2 },
		{ "log = no: counted, not logged",
		  "rule sender-length { log = no }\n", 0, -1,
		  { POLICY_SENDER_LENGTH, -1 }, { 0 }, REJ,
		  POLICY_SENDER_LENGTH, 0 },
		{ "forced action beats the rule's",
		  "rule cmd-line-length { action = log }\n", 0, -1,
		  { POLICY_CMD_LINE_LENGTH, -1 }, { REJ }, REJ,
		  POLICY_CMD_LINE_LENGTH, 1 },
	};

	return (cr_make_param_array(struct row, rows,
	    sizeof(rows) / sizeof(rows[0])));
}

ParameterizedTest(struct row *r, verdict, stage)
{
	struct config *cfg = load(r->conf);
	struct verdict_who who;
	struct audit_rule ev;
	struct verdict v;
	char	buf[4096];
	FILE   *cap;
	int	saved, i, w, a;
	unsigned lines = 0;
	struct counters_snap snap;
	unsigned long long total;

	memset(&who, 0, sizeof(who));
	who.id = "S1";
	who.client_addr = "192.0.2.1";
	who.client_port = 25;
	who.monitor = r->monitor;
	audit_open("test", LOG_MAIL, 1, 0);
	fflush(stderr);
	cap = tmpfile();
	saved = dup(2);
	cr_assert(dup2(fileno(cap), 2) == 2);
	verdict_init(&v, cfg, &who, "mail");
	for (i = 0; i < 3 && r->fire[i] >= 0; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.rule = (enum policy_rule)r->fire[i];
		ev.action = (enum policy_action)r->forced[i];
		ev.value = 2;
		ev.limit = 1;
		(void)verdict_fire(&v, &ev);
		cr_assert_eq(ev.action, r->forced[i] != 0 ?
		    (enum policy_action)r->forced[i] :
		    cfg->rules[ev.rule].action, "%s", r->name);
	}
	fflush(stderr);
	cr_assert(dup2(saved, 2) == 2);
	rewind(cap);
	while (fgets(buf, sizeof(buf), cap) != NULL) {
		cr_assert(strstr(buf, "S1: rule=") != NULL, "%s", buf);
		cr_assert(strstr(buf, "stage=mail client=unknown[192.0.2.1]:25")
		    != NULL, "%s", buf);
		cr_assert_eq(strstr(buf, "mode=monitor") != NULL, r->monitor,
		    "%s", buf);
		lines++;
	}
	fclose(cap);
	cr_assert_eq(v.action, (enum policy_action)r->want_action, "%s",
	    r->name);
	if (r->want_action > NONE)
		cr_assert_eq(v.rule, (enum policy_rule)r->want_rule, "%s",
		    r->name);
	cr_assert_eq(lines, r->want_logged, "%s", r->name);
	/* Every rule fired is counted once, logged or not (SPEC 8); this
	 * worker process counted nothing else. */
	counters_read(&snap);
	for (w = 0, total = 0; w < COUNTERS_NMATCH; w++)
		for (a = 0; a < COUNTERS_NACTION; a++)
			total += snap.match[w][a][0] + snap.match[w][a][1];
	cr_assert_eq(total, (unsigned long long)i, "%s", r->name);
	for (i = 0; i < 3 && r->fire[i] >= 0; i++)
		cr_assert_geq(snap.match[r->fire[i]][r->forced[i] != 0 ?
		    r->forced[i] : (int)cfg->rules[r->fire[i]].action]
		    [r->monitor != 0], 1, "%s", r->name);
	config_unref(cfg);
}

/* A rule's exempt list takes the rule away for that client only. */
Test(verdict, exempt)
{
	struct config *cfg = load("rule sender-length { exempt-clients = "
	    "{ \"192.0.2.0/24\" } }\n");
	struct sockaddr_in in, out;
	struct verdict_who who;

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = inet_addr("192.0.2.9");
	out = in;
	out.sin_addr.s_addr = inet_addr("198.51.100.9");
	memset(&who, 0, sizeof(who));
	who.exempt = verdict_exempt(cfg, (struct sockaddr *)&in);
	cr_assert_eq(who.exempt, 1u << POLICY_SENDER_LENGTH);
	cr_assert_eq(verdict_active(cfg, &who, POLICY_SENDER_LENGTH), NONE);
	cr_assert_eq(verdict_active(cfg, &who, POLICY_RCPT_COUNT),
	    cfg->rules[POLICY_RCPT_COUNT].action);
	cr_assert_neq(cfg->rules[POLICY_RCPT_COUNT].action, NONE);
	who.exempt = verdict_exempt(cfg, (struct sockaddr *)&out);
	cr_assert_eq(who.exempt, 0);
	cr_assert_eq(verdict_active(cfg, &who, POLICY_SENDER_LENGTH), REJ);
	config_unref(cfg);
}

/* The reply line: the rule's text, or none for none and log. */
Test(verdict, reply)
{
	struct config *cfg = load("rule cmd-line-length { reply = "
	    "\"Too long here\" }\n");
	char	line[512];

	cr_assert_eq(verdict_reply(cfg, POLICY_CMD_LINE_LENGTH, DROP, line,
	    sizeof(line)), 0);
	cr_assert_str_eq(line, "421 4.7.0 Too long here\r\n");
	cr_assert_eq(verdict_reply(cfg, POLICY_SENDER_LENGTH, REJ, line,
	    sizeof(line)), 0);
	cr_assert_str_eq(line, "553 5.1.7 Message refused by policy "
	    "(sender-length)\r\n");
	cr_assert_eq(verdict_reply(cfg, POLICY_SENDER_LENGTH, LOG, line,
	    sizeof(line)), -1);
	cr_assert_eq(verdict_reply(cfg, POLICY_SENDER_LENGTH, NONE, line,
	    sizeof(line)), -1);
	config_unref(cfg);
}
