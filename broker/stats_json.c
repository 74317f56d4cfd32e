/*
 * stats_json.c - the JSON of one scope of the statistics: its live
 * figures and its three windows, with the derived figures (service level,
 * abandon rate, ASA, AHT, turnaround, deadline met, occupancy) computed
 * from the counters. The keys and units are specified in stats.h; this
 * file is their one implementation.
 */
#include "stats_int.h"

#include <stdio.h>
#include <string.h>

/* ---- JSON --------------------------------------------------------------- */

/* To 0.1 (figures are never negative). */
static double
round1(double x)
{
    return (double)(uint64_t)(x * 10.0 + 0.5) / 10.0;
}

static json_t *
seconds_json(uint64_t ms)
{
    return json_real(round1((double)ms / 1000.0));
}

/* Derived figures: (num + num2) * scale / (den + den2); null when the
 * denominator is 0. SWB_STAT_COUNT stands for "nothing". */
static const struct {
    const char *name;
    swb_stat_t num, num2, den, den2;
    double scale;
} derived[] = {
    {"service_level", SWB_STAT_ANSWERED_IN_SL, SWB_STAT_COUNT,
     SWB_STAT_ANSWERED, SWB_STAT_ABANDONED, 100.0},
    {"abandon_rate", SWB_STAT_ABANDONED, SWB_STAT_COUNT, SWB_STAT_ANSWERED,
     SWB_STAT_ABANDONED, 100.0},
    {"asa_seconds", SWB_STAT_ANSWER_WAIT, SWB_STAT_COUNT, SWB_STAT_ANSWERED,
     SWB_STAT_COUNT, 0.001},
    {"aht_seconds", SWB_STAT_HANDLE, SWB_STAT_WRAPUP, SWB_STAT_COMPLETED,
     SWB_STAT_COUNT, 0.001},
    {"avg_turnaround_seconds", SWB_STAT_TURNAROUND, SWB_STAT_COUNT,
     SWB_STAT_COMPLETED, SWB_STAT_COUNT, 0.001},
    {"deadline_met_percent", SWB_STAT_DEADLINE_MET, SWB_STAT_COUNT,
     SWB_STAT_DEADLINE_TOTAL, SWB_STAT_COUNT, 100.0},
    {"occupancy", SWB_STAT_BUSY, SWB_STAT_COUNT, SWB_STAT_STAFFED,
     SWB_STAT_COUNT, 100.0},
};

static uint64_t
pick(const uint64_t *v, swb_stat_t c)
{
    return (unsigned)c < SWB_STAT_COUNT ? v[c] : 0;
}

static json_t *
ratio_json(uint64_t num, uint64_t den, double scale)
{
    return den ? json_real(round1((double)num * scale / (double)den))
               : json_null();
}

static json_t *
window_json(const uint64_t *v)
{
    json_t *o = json_object();
    char key[64];
    for (int c = 0; o && c < SWB_STAT_COUNT; c++) {
        const swb_stats_counter_t *d = &swb_stats_counters[c];
        if (d->ms) {
            size_t n = strlen(d->name) - 3; /* without "_ms" */
            snprintf(key, sizeof key, "%.*s_seconds", (int)n, d->name);
            json_object_set_new(o, key, seconds_json(v[c]));
        } else {
            json_object_set_new(o, d->name, json_integer((json_int_t)v[c]));
        }
    }
    for (size_t i = 0; o && i < sizeof derived / sizeof derived[0]; i++)
        json_object_set_new(
            o, derived[i].name,
            ratio_json(pick(v, derived[i].num) + pick(v, derived[i].num2),
                       pick(v, derived[i].den) + pick(v, derived[i].den2),
                       derived[i].scale));
    return o;
}

static json_t *
agents_json(const live_t *l)
{
    json_t *o = json_object();
    uint64_t total = 0;
    for (int s = 0; o && s < SWB_AG_COUNT; s++) {
        if (s == SWB_AG_OFFLINE)
            continue;
        json_object_set_new(o, swb_agent_state_name(s),
                            json_integer((json_int_t)l->agents[s]));
        total += l->agents[s];
    }
    if (o) {
        json_object_set_new(o, "busy", json_integer((json_int_t)l->busy));
        json_object_set_new(o, "total", json_integer((json_int_t)total));
    }
    return o;
}

static json_t *
live_json(const scope_t *sc, swb_scope_kind_t kind)
{
    live_t zero = {0};
    const live_t *l = sc ? &sc->live : &zero;
    json_t *o = json_object(), *ages = json_object();
    if (!o || !ages) {
        json_decref(o);
        json_decref(ages);
        return NULL;
    }
    json_object_set_new(o, "waiting",
                        json_integer((json_int_t)l->task[SWB_LIVE_WAITING]));
    json_object_set_new(o, "scheduled",
                        json_integer((json_int_t)l->task[SWB_LIVE_SCHEDULED]));
    json_object_set_new(o, "active",
                        json_integer((json_int_t)l->task[SWB_LIVE_ACTIVE]));
    json_object_set_new(o, "oldest_wait_seconds",
                        l->task[SWB_LIVE_WAITING] ? seconds_json(l->oldest_ms)
                                                  : json_null());
    json_object_set_new(o, "calls_waiting", json_integer((json_int_t)l->calls));
    json_object_set_new(o, "longest_call_wait_seconds",
                        l->calls ? seconds_json(l->longest_ms) : json_null());
    for (int i = 0; i < SWB_STATS_AGE_BUCKETS; i++)
        json_object_set_new(ages, swb_stats_ages[i].label,
                            json_integer((json_int_t)l->backlog[i]));
    json_object_set_new(o, "backlog_by_age", ages);
    json_object_set_new(o, "agents", kind == SWB_SCOPE_QUEUE
                                         ? json_null()
                                         : agents_json(l));
    json_object_set_new(o, "occupancy",
                        ratio_json(l->occupied, l->staffed, 100.0));
    return o;
}

json_t *
swb_stats_scope_json(swb_stats_t *st, swb_scope_kind_t kind,
                     const swb_stats_where_t *id, uint64_t now_ms,
                     json_t *obj)
{
    static const char *const names[3] = {"last_15m", "today", "total"};
    scope_t *sc = swb_stats_find(st, kind, id, false);
    uint64_t v[SWB_STAT_COUNT];
    if (!obj)
        return NULL;
    json_object_set_new(obj, "live", live_json(sc, kind));
    for (int w = 0; w < 3; w++) {
        swb_stats_sum(st, sc, w, now_ms, v);
        json_object_set_new(obj, names[w], window_json(v));
    }
    return obj;
}

json_t *
swb_stats_agents_json(swb_stats_t *st, const char *site)
{
    live_t zero = {0};
    swb_stats_where_t w = {site, NULL, NULL};
    scope_t *sc = swb_stats_find(st,
                                 site ? SWB_SCOPE_SITE : SWB_SCOPE_REGION, &w,
                                 false);
    return agents_json(sc ? &sc->live : &zero);
}
