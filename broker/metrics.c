/*
 * metrics.c - Prometheus text from the statistics document (metrics.h).
 *
 * One table, metric_defs, lists every family: its name after the scope
 * prefix, where its value is in a scope of the document, its type, its
 * scale (percent -> ratio) and the scopes it applies to. The writer walks
 * scope kinds, then families, then the scopes of that kind, so every
 * family is one block with its # HELP and # TYPE lines, as the format
 * wants. This file reads the document only: it counts nothing.
 */
#include "metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a family's value is in one scope object of the document. */
typedef enum metric_src {
    SRC_TOTAL,   /* scope.total[key]: a counter since the data was made   */
    SRC_LIVE,    /* scope.live[key]: a gauge now                          */
    SRC_WINDOWS, /* scope.last_15m[key], scope.today[key]: window="..."   */
    SRC_LIVE_MAP, /* scope.live[key] is {label value -> number}           */
    SRC_SCOPE    /* scope[key] itself                                     */
} metric_src_t;

#define SC_REGION 1u
#define SC_SITE 2u
#define SC_QUEUE 4u
#define SC_ALL (SC_REGION | SC_SITE | SC_QUEUE)

#define MF_NULL_ZERO 1u /* a null value is written as 0                 */
#define MF_WITH_NOW 2u  /* SRC_WINDOWS: also window="now" from live      */
#define MF_BOOL 4u      /* true/false as 1/0                             */

typedef struct metric_def {
    const char *name;  /* after "switchboard_<scope>_"               */
    const char *key;   /* in the document                            */
    const char *sub;   /* SRC_SCOPE: a member of scope[key], or NULL
                          SRC_LIVE_MAP: the label name              */
    metric_src_t src;
    const char *type;  /* "counter" or "gauge"                       */
    double scale;      /* 0.01 for percents                          */
    unsigned scopes;
    unsigned flags;
    const char *help;
} metric_def_t;

#define CNT(n, k, sc, h) {n, k, NULL, SRC_TOTAL, "counter", 1, sc, 0, h}
#define WIN(n, k, s, f, sc, h) {n, k, NULL, SRC_WINDOWS, "gauge", s, sc, f, h}
#define LIVE(n, k, f, sc, h) {n, k, NULL, SRC_LIVE, "gauge", 1, sc, f, h}

static const metric_def_t metric_defs[] = {
    CNT("tasks_submitted_total", "submitted", SC_ALL, "Tasks submitted."),
    CNT("calls_offered_total", "offered", SC_ALL,
        "Inbound calls that arrived."),
    CNT("calls_answered_total", "answered", SC_ALL,
        "Inbound calls an agent answered."),
    CNT("calls_answered_within_sl_total", "answered_within_sl", SC_ALL,
        "Inbound calls answered within the sponsor's service-level "
        "threshold."),
    CNT("calls_abandoned_total", "abandoned", SC_ALL,
        "Inbound calls whose caller hung up while waiting."),
    CNT("answer_wait_seconds_total", "answer_wait_seconds", SC_ALL,
        "Sum of the waits of answered calls."),
    CNT("tasks_completed_total", "completed", SC_ALL,
        "Tasks done (throughput)."),
    CNT("handle_seconds_total", "handle_seconds", SC_ALL,
        "Sum of the handle times (active to done) of completed tasks."),
    CNT("wrapup_seconds_total", "wrapup_seconds", SC_ALL,
        "Sum of after-call work (wrap-up)."),
    CNT("turnaround_seconds_total", "turnaround_seconds", SC_ALL,
        "Sum of submit-to-done times of completed tasks."),
    CNT("attempts_failed_total", "failed", SC_ALL,
        "Failed attempts (each retry and each death)."),
    CNT("tasks_dead_total", "dead", SC_ALL,
        "Tasks dead after their last attempt."),
    CNT("tasks_expired_total", "expired", SC_ALL, "Tasks that expired."),
    CNT("tasks_canceled_total", "canceled", SC_ALL, "Tasks canceled."),
    CNT("deadline_tasks_total", "deadline_total", SC_ALL,
        "Non-voice tasks with a deadline that completed or expired."),
    CNT("deadline_met_total", "deadline_met", SC_ALL,
        "Non-voice tasks completed by their deadline."),
    CNT("agent_staffed_seconds_total", "staffed_seconds",
        SC_REGION | SC_SITE,
        "Agent time ready, in wrap-up or holding work."),
    CNT("agent_busy_seconds_total", "busy_seconds", SC_REGION | SC_SITE,
        "Agent time holding work or in wrap-up."),

    WIN("service_level_ratio", "service_level", 0.01, 0, SC_ALL,
        "Calls answered within the threshold / (answered + abandoned)."),
    WIN("abandon_ratio", "abandon_rate", 0.01, 0, SC_ALL,
        "Abandoned calls / (answered + abandoned)."),
    WIN("asa_seconds", "asa_seconds", 1, 0, SC_ALL,
        "Average speed of answer."),
    WIN("aht_seconds", "aht_seconds", 1, 0, SC_ALL,
        "Average handle time including wrap-up."),
    WIN("turnaround_avg_seconds", "avg_turnaround_seconds", 1, 0, SC_ALL,
        "Average submit-to-done time of completed tasks."),
    WIN("deadline_met_ratio", "deadline_met_percent", 0.01, 0, SC_ALL,
        "Non-voice tasks done by their deadline / those with one."),
    WIN("occupancy_ratio", "occupancy", 0.01, MF_WITH_NOW,
        SC_REGION | SC_SITE,
        "Agent time busy / staffed (window=now: agents busy / staffed)."),

    LIVE("tasks_waiting", "waiting", 0, SC_ALL,
         "Tasks that may be offered now or are ringing."),
    LIVE("tasks_scheduled", "scheduled", 0, SC_ALL,
         "Tasks held back (not-before, calling window, retry backoff)."),
    LIVE("tasks_active", "active", 0, SC_ALL, "Tasks being worked on."),
    LIVE("oldest_wait_seconds", "oldest_wait_seconds", MF_NULL_ZERO, SC_ALL,
         "Age of the oldest waiting task (0 when none waits)."),
    LIVE("calls_waiting", "calls_waiting", 0, SC_ALL,
         "Inbound calls waiting."),
    LIVE("longest_call_wait_seconds", "longest_call_wait_seconds",
         MF_NULL_ZERO, SC_ALL,
         "The longest current wait of a caller (0 when none waits)."),
    {"backlog_tasks", "backlog_by_age", "age", SRC_LIVE_MAP, "gauge", 1,
     SC_ALL, 0, "Non-voice tasks waiting or scheduled, by age since submit."},
    {"agents", "agents", "state", SRC_LIVE_MAP, "gauge", 1,
     SC_REGION | SC_SITE, 0,
     "Connected agents by state (busy = holding work; total = all)."},

    {"service_level_target_ratio", "service_level_target", "percent",
     SRC_SCOPE, "gauge", 0.01, SC_QUEUE, 0,
     "The sponsor's service-level target: share of calls."},
    {"service_level_target_seconds", "service_level_target", "seconds",
     SRC_SCOPE, "gauge", 1, SC_QUEUE, 0,
     "The sponsor's service-level target: answer within this time."},
    {"open", "open", NULL, SRC_SCOPE, "gauge", 1, SC_SITE, MF_BOOL,
     "1 while the site is inside its opening hours."},
};
#define NDEFS (sizeof metric_defs / sizeof metric_defs[0])

/* ---- writing ---- */

/* A label value with \\, \" and \n escaped. */
static void
put_label(FILE *f, const char *name, const char *value)
{
    fprintf(f, "%s=\"", name);
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            fputc('\\', f), fputc(*p, f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A sample's value: an integer stays exact, the rest is a double. */
typedef struct num {
    bool is_int;
    long long i;
    double d;
} num_t;

static num_t
num_of(const json_t *v, double scale)
{
    num_t n = {0};
    if (json_is_integer(v) && scale == 1) {
        n.is_int = true;
        n.i = (long long)json_integer_value(v);
    } else {
        n.d = json_number_value(v) * scale;
    }
    return n;
}

static void
put_value(FILE *f, num_t n)
{
    if (n.is_int)
        fprintf(f, "%lld\n", n.i);
    else if (isnan(n.d))
        fputs("NaN\n", f);
    else
        fprintf(f, "%.10g\n", n.d);
}

/* The labels of one scope, without braces: region="..",site="..". */
typedef struct scope_labels {
    const char *region;
    const char *site;
    const char *channel;
    const char *sponsor;
    unsigned kind; /* SC_* */
} scope_labels_t;

static void
put_sample(FILE *f, const char *full, const scope_labels_t *sl,
           const char *xname, const char *xval, num_t v)
{
    fprintf(f, "%s{", full);
    put_label(f, "region", sl->region);
    if (sl->kind == SC_SITE) {
        fputc(',', f);
        put_label(f, "site", sl->site);
    } else if (sl->kind == SC_QUEUE) {
        fputc(',', f);
        put_label(f, "channel", sl->channel);
        fputc(',', f);
        put_label(f, "sponsor", sl->sponsor);
    }
    if (xname) {
        fputc(',', f);
        put_label(f, xname, xval);
    }
    fputs("} ", f);
    put_value(f, v);
}

/* The value of def in the window win of one scope; false: no sample. */
static bool
plain_value(const metric_def_t *d, const json_t *scope, const char *win,
            num_t *out)
{
    const json_t *v = json_object_get(json_object_get(scope, win), d->key);
    if (json_is_null(v) && (d->flags & MF_NULL_ZERO)) {
        *out = (num_t){.is_int = true};
        return true;
    }
    if (!json_is_number(v))
        return false;
    *out = num_of(v, d->scale);
    return true;
}

static void
write_scope(FILE *f, const metric_def_t *d, const char *full,
            const scope_labels_t *sl, const json_t *scope)
{
    num_t v;
    switch (d->src) {
    case SRC_TOTAL:
        if (plain_value(d, scope, "total", &v))
            put_sample(f, full, sl, NULL, NULL, v);
        break;
    case SRC_LIVE:
        if (plain_value(d, scope, "live", &v))
            put_sample(f, full, sl, NULL, NULL, v);
        break;
    case SRC_WINDOWS:
        if ((d->flags & MF_WITH_NOW) && plain_value(d, scope, "live", &v))
            put_sample(f, full, sl, "window", "now", v);
        if (plain_value(d, scope, "last_15m", &v))
            put_sample(f, full, sl, "window", "15m", v);
        if (plain_value(d, scope, "today", &v))
            put_sample(f, full, sl, "window", "today", v);
        break;
    case SRC_LIVE_MAP: {
        const json_t *map =
            json_object_get(json_object_get(scope, "live"), d->key);
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)map, k, x) {
            if (json_is_number(x))
                put_sample(f, full, sl, d->sub, k, num_of(x, d->scale));
        }
        break;
    }
    case SRC_SCOPE: {
        const json_t *x = json_object_get(scope, d->key);
        if (d->sub)
            x = json_object_get(x, d->sub);
        if ((d->flags & MF_BOOL) && json_is_boolean(x))
            put_sample(f, full, sl, NULL, NULL,
                       (num_t){.is_int = true, .i = json_is_true(x)});
        else if (json_is_number(x))
            put_sample(f, full, sl, NULL, NULL, num_of(x, d->scale));
        break;
    }
    }
}

static const char *
str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

/* Writes every family of one scope kind. scopes: the objects of that
 * kind (an array; the region is an array of one). */
static void
write_kind(FILE *f, unsigned kind, const char *prefix, const char *region,
           const json_t *scopes)
{
    for (size_t i = 0; i < NDEFS; i++) {
        const metric_def_t *d = &metric_defs[i];
        if (!(d->scopes & kind))
            continue;
        char full[160];
        snprintf(full, sizeof full, "switchboard_%s_%s", prefix, d->name);
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", full, d->help, full,
                d->type);
        size_t j;
        const json_t *scope;
        json_array_foreach((json_t *)scopes, j, scope) {
            scope_labels_t sl = {region, NULL, NULL, NULL, kind};
            sl.site = str_or(scope, "site", "");
            sl.channel = str_or(scope, "channel", "");
            sl.sponsor = str_or(scope, "sponsor", "");
            write_scope(f, d, full, &sl, scope);
        }
    }
}

/* switchboard_site_info{region,site,country,tz} 1 */
static void
write_site_info(FILE *f, const char *region, const json_t *sites)
{
    fputs("# HELP switchboard_site_info A site's country and time zone.\n"
          "# TYPE switchboard_site_info gauge\n", f);
    size_t i;
    const json_t *s;
    json_array_foreach((json_t *)sites, i, s) {
        fputs("switchboard_site_info{", f);
        put_label(f, "region", region);
        fputc(',', f);
        put_label(f, "site", str_or(s, "site", ""));
        fputc(',', f);
        put_label(f, "country", str_or(s, "country", ""));
        fputc(',', f);
        put_label(f, "tz", str_or(s, "tz", ""));
        fputs("} 1\n", f);
    }
}

/* Gauges and counters of each peer region (stats document "peers"). */
static void
write_peers(FILE *f, const char *region, const json_t *peers)
{
    static const struct {
        const char *key, *type, *help;
    } m[] = {
        {"up", "gauge", "1 while the peer region advertises."},
        {"ready", "gauge", "Ready agents the peer advertised at open sites."},
        {"handed", "gauge", "Tasks handed to the peer and not final."},
        {"forwarded", "counter", "Tasks handed to the peer since start."},
        {"refused", "counter", "Hand-offs the peer refused since start."},
        {"results", "counter", "Results the peer sent back since start."},
        {"reclaims_pending", "gauge", "Taken-back tasks the peer has not "
                                      "confirmed dropping."},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        const char *total = strcmp(m[k].type, "counter") == 0 ? "_total" : "";
        fprintf(f, "# HELP switchboard_peer_%s%s %s\n# TYPE "
                "switchboard_peer_%s%s %s\n", m[k].key, total, m[k].help,
                m[k].key, total, m[k].type);
        size_t i;
        const json_t *p;
        json_array_foreach((json_t *)peers, i, p) {
            const json_t *v = json_object_get(p, m[k].key);
            fprintf(f, "switchboard_peer_%s%s{", m[k].key, total);
            put_label(f, "region", region);
            fputc(',', f);
            put_label(f, "peer", str_or(p, "name", ""));
            fprintf(f, "} %lld\n", json_is_boolean(v) ? (long long)json_is_true(v)
                                   : (long long)json_integer_value(v));
        }
    }
}

swb_err_t
swb_metrics_text(const json_t *stats, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    const json_t *region = json_object_get(stats, "region");
    if (!json_is_object(region))
        return SWB_EINVAL;
    const char *rname = str_or(region, "name", "");
    json_t *one = json_array();
    if (!one || json_array_append((json_t *)one, (json_t *)region) != 0) {
        json_decref(one);
        return SWB_ENOMEM;
    }
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) {
        json_decref(one);
        return SWB_ENOMEM;
    }
    const json_t *sites = json_object_get(stats, "sites");
    write_kind(f, SC_REGION, "region", rname, one);
    write_kind(f, SC_SITE, "site", rname, sites);
    write_kind(f, SC_QUEUE, "queue", rname, json_object_get(stats, "queues"));
    write_site_info(f, rname, sites);
    const json_t *peers = json_object_get(stats, "peers");
    if (json_array_size(peers))
        write_peers(f, rname, peers);
    json_decref(one);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return SWB_ENOMEM;
    }
    *text = buf;
    *len = size;
    return SWB_OK;
}
