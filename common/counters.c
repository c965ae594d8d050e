/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * counters.c - the counters of SPEC 8 and their three renderings.
 *
 * Interface: counters_match(), counters_verdict(), counters_session_open(),
 * counters_session_end(), counters_limit(), counters_reload(),
 * counters_read(), counters_prometheus(), counters_stats(), counters_log().
 *
 * Invariants: a count only grows (sessions_active excepted); every add is
 * one relaxed atomic, the only cost on the hot path; nothing here depends
 * on a configuration snapshot, so a reload keeps every count.  The
 * renderings take the snapshot to know which series exist from the start
 * (each rule that is on, at 0) and the ASA words of each match line.
 */
#include <stdatomic.h>
#include <string.h>
#include <syslog.h>

#include "audit.h"
#include "config.h"
#include "counters.h"

static atomic_ullong match_n[COUNTERS_NMATCH][COUNTERS_NACTION][2];
static atomic_ullong verdict_n[COUNTERS_NVERDICT];
static atomic_ullong reason_n[COUNTERS_NREASON];
static atomic_ullong limit_n[COUNTERS_NLIMIT];
static atomic_ullong reload_n[COUNTERS_NRELOAD];
static atomic_llong active_n;

static const char *const verdict_names[COUNTERS_NVERDICT] = {
	"accept", "reject", "tempfail", "drop", "error"
};
static const char *const reason_names[COUNTERS_NREASON] = {
	"quit", "client-close", "upstream-close", "timeout", "limit",
	"policy", "desync", "error", "shutdown"
};
static const char *const limit_names[COUNTERS_NLIMIT] = {
	"max-connections", "max-connections-per-client", "max-embryonic",
	"hard-error-limit"
};
static const char *const reload_names[COUNTERS_NRELOAD] = { "ok", "error" };
static const char *const setting_names[] = {
	"banner", "ehlo-other", "command-other"
};
static const char *const setting_actions[] = { "mask", "strip", "asterisks" };

/*
 * The ASA's words for each match (a rule with a limit: " gt N" follows),
 * from reference/asa-esmtp.md; a rule the ASA does not have goes by its
 * name.
 */
static const char *const asa_words[COUNTERS_NMATCH] = {
	[POLICY_RCPT_COUNT] = "cmd RCPT count",
	[POLICY_SENDER_LENGTH] = "sender-address length",
	[POLICY_ADDRESS_CHARACTERS] = "special-character",
	[POLICY_CMD_LINE_LENGTH] = "cmd line length",
	[POLICY_BARE_LINEFEED] = "bare-linefeed",
	[POLICY_HEADER_LINE_LENGTH] = "header line length",
	[POLICY_BODY_LINE_LENGTH] = "body line length",
	[POLICY_MIME_FILENAME_LENGTH] = "MIME filename length",
	[POLICY_DUPLICATE_HEADER] = "duplicate-header",
	[POLICY_DKIM_UNSIGNED_DUPLICATE] = "dkim-unsigned-duplicate",
	[POLICY_MIME_STRUCTURE] = "mime-structure",
	[POLICY_HEADER_LENGTH] = "header length",
	[POLICY_HEADER_TO_COUNT] = "header to-fields count",
	[POLICY_BODY_LENGTH] = "body length",
	[POLICY_MIME_TYPE] = "MIME filetype regex",
	[POLICY_MIME_ENCODING] = "MIME encoding",
	[POLICY_SENDER_ADDRESS] = "sender-address regex",
	[POLICY_MAIL_RELAY] = "mail-relay",
	[POLICY_INVALID_RECIPIENTS] = "invalid-recipients count",
	[COUNTERS_BANNER] = "mask-banner",
	[COUNTERS_EHLO_OTHER] = "ehlo-reply-parameter others",
	[COUNTERS_COMMAND_OTHER] = "cmd verb others",
};

#define ADD(x)	((void)atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed))
#define GET(x)	atomic_load_explicit(&(x), memory_order_relaxed)

/** counters_match(what, action, monitor): one match of ${what} with ${action}. */
void
counters_match(int what, int action, int monitor)
{
	if (what < 0 || what >= COUNTERS_NMATCH || action < 0 ||
	    action >= COUNTERS_NACTION)
		return;
	ADD(match_n[what][action][monitor != 0]);
}

/** counters_verdict(v): one message answered with ${v}. */
void
counters_verdict(enum counters_verdict v)
{
	ADD(verdict_n[v]);
}

/** counters_session_open(): a session began. */
void
counters_session_open(void)
{
	(void)atomic_fetch_add_explicit(&active_n, 1, memory_order_relaxed);
}

/** counters_session_end(r): a session ended for reason ${r}. */
void
counters_session_end(enum counters_reason r)
{
	(void)atomic_fetch_sub_explicit(&active_n, 1, memory_order_relaxed);
	counters_session_count(r);
}

/** counters_session_count(r): a connection ended, never a session. */
void
counters_session_count(enum counters_reason r)
{
	ADD(reason_n[r]);
}

/** counters_limit(l): a limit refused a client or ended a session. */
void
counters_limit(enum counters_limit l)
{
	ADD(limit_n[l]);
}

/** counters_reload(r): a reload with result ${r}. */
void
counters_reload(enum counters_reload r)
{
	ADD(reload_n[r]);
}

/** counters_read(snap): every counter now. */
void
counters_read(struct counters_snap *snap)
{
	int	w, a, m;

	for (w = 0; w < COUNTERS_NMATCH; w++)
		for (a = 0; a < COUNTERS_NACTION; a++)
			for (m = 0; m < 2; m++)
				snap->match[w][a][m] = GET(match_n[w][a][m]);
	for (w = 0; w < COUNTERS_NVERDICT; w++)
		snap->verdict[w] = GET(verdict_n[w]);
	for (w = 0; w < COUNTERS_NREASON; w++)
		snap->reason[w] = GET(reason_n[w]);
	for (w = 0; w < COUNTERS_NLIMIT; w++)
		snap->limit[w] = GET(limit_n[w]);
	for (w = 0; w < COUNTERS_NRELOAD; w++)
		snap->reload[w] = GET(reload_n[w]);
	snap->active = atomic_load_explicit(&active_n, memory_order_relaxed);
}

/** counters_reason_name(r): the reason's word. */
const char *
counters_reason_name(enum counters_reason r)
{
	return (reason_names[r]);
}

static const char *
match_name(int w)
{
	return (w < POLICY_NRULES ? policy_rule_name((enum policy_rule)w) :
	    setting_names[w - POLICY_NRULES]);
}

static const char *
action_name(int a)
{
	return (a < POLICY_NACTIONS ? policy_action_name((enum policy_action)a) :
	    setting_actions[a - POLICY_NACTIONS]);
}

/* 1 if ${w} belongs to ${daemon}. */
static int
match_of(int w, enum counters_daemon daemon)
{
	if (w >= POLICY_NRULES)
		return (daemon == COUNTERS_SHIM);
	return (policy_rule_is_shim((enum policy_rule)w) ==
	    (daemon == COUNTERS_SHIM));
}

/* The action ${w} has in ${cfg}, COUNTERS_NACTION when it is off. */
static int
configured(const struct config *cfg, int w)
{
	if (cfg == NULL)
		return (COUNTERS_NACTION);
	if (w < POLICY_NRULES)
		return (cfg->rules[w].action == POLICY_NONE ? COUNTERS_NACTION :
		    (int)cfg->rules[w].action);
	switch (w) {
	case COUNTERS_BANNER:
		return (cfg->shim.banner == CONFIG_BANNER_MASK ? COUNTERS_MASK :
		    cfg->shim.banner == CONFIG_BANNER_ASTERISKS ?
		    COUNTERS_ASTERISKS : COUNTERS_NACTION);
	case COUNTERS_EHLO_OTHER:
		return (cfg->shim.ehlo_other == CONFIG_EHLO_STRIP ?
		    COUNTERS_STRIP : cfg->shim.ehlo_other == CONFIG_EHLO_MASK ?
		    COUNTERS_MASK : COUNTERS_NACTION);
	default:
		return (cfg->shim.command_other == CONFIG_CMD_MASK ?
		    COUNTERS_MASK : POLICY_REJECT);
	}
}

/* 1 if the series (w, a, m) is shown: seen, or what ${cfg} would count. */
static int
series_shown(const struct counters_snap *snap, const struct config *cfg,
    int w, int a, int m)
{
	if (snap->match[w][a][m] > 0)
		return (1);
	return (cfg != NULL && configured(cfg, w) == a &&
	    (cfg->mode == CONFIG_MONITOR) == m);
}

/* The series of ${daemon} shown for ${snap} and ${cfg}, in table order:
 * (what, action, mode) triples into ${out}; their number. */
static int
series(const struct counters_snap *snap, const struct config *cfg,
    enum counters_daemon daemon, int out[][3])
{
	int	w, a, m, n = 0;

	for (w = 0; w < COUNTERS_NMATCH; w++) {
		if (!match_of(w, daemon))
			continue;
		for (a = 0; a < COUNTERS_NACTION; a++)
			for (m = 0; m < 2; m++)
				if (series_shown(snap, cfg, w, a, m)) {
					out[n][0] = w;
					out[n][1] = a;
					out[n][2] = m;
					n++;
				}
	}
	return (n);
}

static const char *
daemon_word(enum counters_daemon daemon)
{
	return (daemon == COUNTERS_SHIM ? "shim" : "milter");
}

/* A counter family esmtp_inspect_${name} with one ${label}, a series per name. */
static void
family(FILE *fp, const char *name, const char *help, const char *label,
    const char *const *names, const unsigned long long *v, int n)
{
	int	i;

	(void)fprintf(fp, "# HELP esmtp_inspect_%s %s\n"
	    "# TYPE esmtp_inspect_%s counter\n", name, help, name);
	for (i = 0; i < n; i++)
		(void)fprintf(fp, "esmtp_inspect_%s{%s=\"%s\"} %llu\n", name,
		    label, names[i], v[i]);
}

/** counters_prometheus(snap, cfg, daemon, fp): Prometheus text format 0.0.4. */
void
counters_prometheus(const struct counters_snap *snap,
    const struct config *cfg, enum counters_daemon daemon, FILE *fp)
{
	int	sv[COUNTERS_NMATCH * COUNTERS_NACTION * 2][3];
	int	i, n;

	(void)fputs("# HELP esmtp_inspect_rule_matches_total Rule matches "
	    "by rule, action and mode.\n"
	    "# TYPE esmtp_inspect_rule_matches_total counter\n", fp);
	for (i = 0, n = series(snap, cfg, daemon, sv); i < n; i++)
		(void)fprintf(fp, "esmtp_inspect_rule_matches_total{daemon="
		    "\"%s\",rule=\"%s\",action=\"%s\",mode=\"%s\"} %llu\n",
		    daemon_word(daemon), match_name(sv[i][0]),
		    action_name(sv[i][1]), sv[i][2] ? "monitor" : "enforce",
		    snap->match[sv[i][0]][sv[i][1]][sv[i][2]]);
	if (daemon == COUNTERS_MILTER)
		family(fp, "messages_total", "Messages by the answer the MTA got.",
		    "verdict", verdict_names, snap->verdict, COUNTERS_NVERDICT);
	else {
		family(fp, "sessions_total", "Sessions ended, by reason.",
		    "reason", reason_names, snap->reason, COUNTERS_NREASON);
		(void)fprintf(fp, "# HELP esmtp_inspect_sessions_active "
		    "Sessions open now.\n"
		    "# TYPE esmtp_inspect_sessions_active gauge\n"
		    "esmtp_inspect_sessions_active %lld\n", snap->active);
		family(fp, "limit_refusals_total", "Clients refused or sessions "
		    "ended by a limit.", "limit", limit_names, snap->limit,
		    COUNTERS_NLIMIT);
	}
	family(fp, "config_reloads_total", "Configuration reloads by result.",
	    "result", reload_names, snap->reload, COUNTERS_NRELOAD);
	(void)fprintf(fp, "# HELP esmtp_inspect_build_info The version "
	    "running.\n# TYPE esmtp_inspect_build_info gauge\n"
	    "esmtp_inspect_build_info{version=\"%s\"} 1\n", VERSION);
}

/* Matches of ${w} by any action and mode. */
static unsigned long long
match_total(const struct counters_snap *snap, int w)
{
	unsigned long long n = 0;
	int	a, m;

	for (a = 0; a < COUNTERS_NACTION; a++)
		for (m = 0; m < 2; m++)
			n += snap->match[w][a][m];
	return (n);
}

/* "name v, name v, ..." of ${n} counters. */
static void
list_line(FILE *fp, const char *head, const char *const *names,
    const unsigned long long *v, int n)
{
	int	i;

	(void)fputs(head, fp);
	for (i = 0; i < n; i++)
		(void)fprintf(fp, "%s %s %llu", i == 0 ? "" : ",", names[i],
		    v[i]);
	(void)fputc('\n', fp);
}

/** counters_stats(snap, cfg, daemon, fp): the ASA's shape. */
void
counters_stats(const struct counters_snap *snap, const struct config *cfg,
    enum counters_daemon daemon, FILE *fp)
{
	char	gt[32];
	int	w, a, log;

	(void)fprintf(fp, "Inspect: esmtp esmtp-inspect-%s, profile %s, "
	    "mode %s\n", daemon_word(daemon), cfg == NULL ? "-" :
	    cfg->profile == CONFIG_ASA ? "asa" : "standard", cfg == NULL ?
	    "-" : cfg->mode == CONFIG_MONITOR ? "monitor" : "enforce");
	for (w = 0; w < COUNTERS_NMATCH; w++) {
		if (!match_of(w, daemon))
			continue;
		a = configured(cfg, w);
		if (a == COUNTERS_NACTION && match_total(snap, w) == 0)
			continue;
		gt[0] = '\0';
		if (w < POLICY_NRULES && cfg != NULL &&
		    policy_rule_has_limit((enum policy_rule)w))
			(void)snprintf(gt, sizeof(gt), " gt %lld",
			    (long long)cfg->rules[w].limit);
		log = w < POLICY_NRULES && cfg != NULL && cfg->rules[w].log &&
		    a != POLICY_LOG;
		(void)fprintf(fp, "match %s%s  %s%s, packet %llu\n",
		    asa_words[w], gt,
		    a == COUNTERS_NACTION ? "none" : action_name(a),
		    log ? " log" : "", match_total(snap, w));
	}
	if (daemon == COUNTERS_MILTER)
		list_line(fp, "messages", verdict_names, snap->verdict,
		    COUNTERS_NVERDICT);
	else {
		(void)fprintf(fp, "sessions active %lld\n", snap->active);
		list_line(fp, "sessions", reason_names, snap->reason,
		    COUNTERS_NREASON);
		list_line(fp, "limits", limit_names, snap->limit,
		    COUNTERS_NLIMIT);
	}
	list_line(fp, "reloads", reload_names, snap->reload, COUNTERS_NRELOAD);
}

/* "name=v name=v ..." of ${n} counters into ${buf}. */
static void
list_kv(char *buf, size_t len, const char *const *names,
    const unsigned long long *v, int n)
{
	size_t	used = 0;
	int	i, k;

	buf[0] = '\0';
	for (i = 0; i < n && used < len; i++) {
		k = snprintf(buf + used, len - used, "%s%s=%llu",
		    i == 0 ? "" : " ", names[i], v[i]);
		if (k < 0)
			break;
		used += (size_t)k;
	}
}

/** counters_log(snap, cfg, daemon): event=stats lines. */
void
counters_log(const struct counters_snap *snap, const struct config *cfg,
    enum counters_daemon daemon)
{
	int	sv[COUNTERS_NMATCH * COUNTERS_NACTION * 2][3];
	char	kv[512];
	int	i, n;

	for (i = 0, n = series(snap, cfg, daemon, sv); i < n; i++)
		audit_log(LOG_INFO, NULL, "event=stats rule=%s action=%s "
		    "mode=%s matches=%llu", match_name(sv[i][0]),
		    action_name(sv[i][1]), sv[i][2] ? "monitor" : "enforce",
		    snap->match[sv[i][0]][sv[i][1]][sv[i][2]]);
	if (daemon == COUNTERS_MILTER) {
		list_kv(kv, sizeof(kv), verdict_names, snap->verdict,
		    COUNTERS_NVERDICT);
		audit_log(LOG_INFO, NULL, "event=stats counter=messages %s",
		    kv);
	} else {
		list_kv(kv, sizeof(kv), reason_names, snap->reason,
		    COUNTERS_NREASON);
		audit_log(LOG_INFO, NULL, "event=stats counter=sessions "
		    "active=%lld %s", snap->active, kv);
		list_kv(kv, sizeof(kv), limit_names, snap->limit,
		    COUNTERS_NLIMIT);
		audit_log(LOG_INFO, NULL, "event=stats counter=limits %s", kv);
	}
	list_kv(kv, sizeof(kv), reload_names, snap->reload, COUNTERS_NRELOAD);
	audit_log(LOG_INFO, NULL, "event=stats counter=reloads %s", kv);
}
