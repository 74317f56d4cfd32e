/*
 * test_stats.c - unit tests of the statistics counters (broker/stats.h)
 * with an injected clock: the sliding 15-minute window, "today" reset at
 * local midnight in each site's own zone, the formulas of the document
 * (service level, abandon rate, ASA, AHT, deadline, occupancy) and null
 * for undefined figures, live figures (waiting, oldest, backlog by age,
 * agents, occupancy now), the sponsor's service-level target from the
 * config, and the durable records: save into a batch, commit, load in a
 * new stats object, same windows; saves at most once a second.
 *
 * No broker, no sockets: a hand-made config, a tz cache and, for the
 * persistence tests, a real store in a temp folder.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "stats.h"
#include "store.h"
#include "swb_domain.h"
#include "swbtest.h"

#define MIN_MS 60000ull
/* 2026-11-23T00:00:00Z, a Monday; Manila is UTC+8, Warsaw UTC+1. */
#define DAY0 1795392000000ull

typedef struct fixture {
    swb_site_def_t sites[2];
    swb_sponsor_def_t sponsors[1];
    swb_config_t cfg;
    swb_tzcache_t *tz;
    swb_stats_t *st;
} fixture_t;

static void
fixture_init(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    f->sites[0].id = "mnl-1";
    f->sites[0].country = "PH";
    f->sites[0].tz = "Asia/Manila";
    f->sites[1].id = "waw-1";
    f->sites[1].country = "PL";
    f->sites[1].tz = "Europe/Warsaw";
    f->sponsors[0].name = "bank";
    f->sponsors[0].sl_percent = 90;
    f->sponsors[0].sl_seconds = 15;
    f->cfg.region = "manila";
    f->cfg.sites = f->sites;
    f->cfg.nsites = 2;
    f->cfg.sponsors = f->sponsors;
    f->cfg.nsponsors = 1;
    f->tz = swb_tzcache_new();
    f->st = swb_stats_new(&f->cfg, f->tz);
}

static void
fixture_fini(fixture_t *f)
{
    swb_stats_destroy(&f->st);
    swb_tzcache_destroy(&f->tz);
}

static const swb_stats_where_t calls_mnl = {"mnl-1", "voice.inbound", "bank"};
static const swb_stats_where_t region_id = {NULL, NULL, NULL};

static uint64_t
window_of(fixture_t *f, swb_scope_kind_t kind, const swb_stats_where_t *id,
          int window, uint64_t now, swb_stat_t c)
{
    uint64_t v[SWB_STAT_COUNT];
    swb_stats_window(f->st, kind, id, window, now, v);
    return v[c];
}

/* A member of the scope's JSON at a dotted path ("today.service_level"),
 * as a double; -1 for null or absent. */
static double
figure(fixture_t *f, swb_scope_kind_t kind, const swb_stats_where_t *id,
       uint64_t now, const char *path)
{
    json_t *o = swb_stats_scope_json(f->st, kind, id, now, json_object());
    json_t *v = o;
    char buf[96], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok_r(buf, ".", &save); v && k;
         k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    double d = json_is_number(v) ? json_number_value(v) : -1;
    json_decref(o);
    return d;
}

#define ASSERT_FIG(f, kind, id, now, path, want)                               \
    do {                                                                       \
        double got_ = figure(f, kind, id, now, path);                          \
        if (got_ < (want) - 0.001 || got_ > (want) + 0.001)                    \
            SWBT_FAIL_("%s: %.3f != %.3f", path, got_, (double)(want));       \
    } while (0)

static void
test_last_15m_slides_by_minutes(void)
{
    fixture_t f;
    fixture_init(&f);
    uint64_t t0 = DAY0 + 2 * 3600 * 1000ull + 10000; /* 02:00:10Z */
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_OFFERED, 1, t0);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_OFFERED, 1, t0 + 5 * MIN_MS);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_OFFERED, 2, t0 + 14 * MIN_MS);
    uint64_t at = t0 + 14 * MIN_MS;
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_QUEUE, &calls_mnl, 0, at,
                            SWB_STAT_OFFERED), 4);
    /* the minute of the first event has left the window */
    at = t0 + 15 * MIN_MS;
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_QUEUE, &calls_mnl, 0, at,
                            SWB_STAT_OFFERED), 3);
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_SITE, &calls_mnl, 0, at,
                            SWB_STAT_OFFERED), 3);
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_REGION, &region_id, 0,
                            t0 + 29 * MIN_MS, SWB_STAT_OFFERED), 0);
    /* a bucket reused 15 minutes later starts from zero */
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_OFFERED, 1, t0 + 20 * MIN_MS);
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_QUEUE, &calls_mnl, 0,
                            t0 + 20 * MIN_MS, SWB_STAT_OFFERED), 3);
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_QUEUE, &calls_mnl, 2,
                            t0 + 20 * MIN_MS, SWB_STAT_OFFERED), 5);
    /* the event went to region, site and queue, to no other site */
    swb_stats_where_t waw = {"waw-1", NULL, NULL};
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_REGION, &region_id, 2, at,
                            SWB_STAT_OFFERED), 5);
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_SITE, &waw, 2, at,
                            SWB_STAT_OFFERED), 0);
    fixture_fini(&f);
}

static void
test_today_resets_at_local_midnight(void)
{
    fixture_t f;
    fixture_init(&f);
    swb_stats_where_t waw = {"waw-1", "email", NULL};
    uint64_t before_mnl = DAY0 + 15 * 3600 * 1000ull + 59 * MIN_MS; /* 15:59Z */
    uint64_t after_mnl = before_mnl + 2 * MIN_MS; /* 16:01Z = 00:01 Manila */
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_ANSWERED, 1, before_mnl);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_ANSWERED, 1, after_mnl);
    swb_stats_add(f.st, &waw, SWB_STAT_COMPLETED, 1, before_mnl);
    swb_stats_add(f.st, &waw, SWB_STAT_COMPLETED, 1, after_mnl);
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_SITE, &calls_mnl, 1, after_mnl,
                            SWB_STAT_ANSWERED), 1);
    /* Warsaw's day goes on until 23:00Z */
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_SITE, &waw, 1, after_mnl,
                            SWB_STAT_COMPLETED), 2);
    /* the region and the queues count days in the first site's zone */
    ASSERT_STR_EQ(swb_stats_region_tz(f.st), "Asia/Manila");
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_REGION, &region_id, 1, after_mnl,
                            SWB_STAT_COMPLETED), 1);
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_QUEUE, &waw, 1, after_mnl,
                            SWB_STAT_COMPLETED), 1);
    uint64_t after_waw = DAY0 + 23 * 3600 * 1000ull + MIN_MS;
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_SITE, &waw, 1, after_waw,
                            SWB_STAT_COMPLETED), 0);
    ASSERT_INT_EQ(window_of(&f, SWB_SCOPE_SITE, &waw, 2, after_waw,
                            SWB_STAT_COMPLETED), 2);
    fixture_fini(&f);
}

static void
test_formulas_and_nulls(void)
{
    fixture_t f;
    fixture_init(&f);
    uint64_t now = DAY0 + 3600 * 1000ull;
    swb_stats_where_t site = {"mnl-1", NULL, NULL};
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now, "today.service_level",
               -1);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now, "total.asa_seconds", -1);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now, "total.answered", 0);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_ANSWERED, 3, now);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_ANSWERED_IN_SL, 2, now);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_ABANDONED, 1, now);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_ANSWER_WAIT, 30000, now);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_COMPLETED, 4, now);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_HANDLE, 200000, now);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_WRAPUP, 40000, now);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_DEADLINE_TOTAL, 3, now);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_DEADLINE_MET, 2, now);
    swb_stats_add(f.st, &site, SWB_STAT_STAFFED, 100000, now);
    swb_stats_add(f.st, &site, SWB_STAT_BUSY, 25000, now);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now, "today.service_level",
               50.0);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now, "last_15m.abandon_rate",
               25.0);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now, "total.asa_seconds",
               10.0);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now, "total.aht_seconds",
               60.0);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now,
               "total.deadline_met_percent", 66.7);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now,
               "total.handle_seconds", 200.0);
    ASSERT_FIG(&f, SWB_SCOPE_SITE, &site, now, "today.occupancy", 25.0);
    ASSERT_FIG(&f, SWB_SCOPE_REGION, &region_id, now, "today.occupancy",
               25.0);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now, "today.occupancy", -1);
    /* an hour later the 15-minute window is empty again: null, not 0 */
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now + 3600 * 1000ull,
               "last_15m.service_level", -1);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now + 3600 * 1000ull,
               "today.service_level", 50.0);
    fixture_fini(&f);
}

static void
test_live_figures(void)
{
    fixture_t f;
    fixture_init(&f);
    uint64_t now = DAY0;
    swb_stats_where_t mail = {NULL, "email", "bank"};
    swb_stats_live_reset(f.st);
    swb_stats_live_task(f.st, &calls_mnl, SWB_LIVE_WAITING,
                        SWB_CH_VOICE_INBOUND, 12000);
    swb_stats_live_task(f.st, &calls_mnl, SWB_LIVE_ACTIVE,
                        SWB_CH_VOICE_INBOUND, 99000);
    swb_stats_live_task(f.st, &mail, SWB_LIVE_WAITING, SWB_CH_EMAIL,
                        2 * 3600 * 1000ull);
    swb_stats_live_task(f.st, &mail, SWB_LIVE_SCHEDULED, SWB_CH_EMAIL,
                        MIN_MS);
    swb_stats_live_agent(f.st, "mnl-1", SWB_AG_READY, true);
    swb_stats_live_agent(f.st, "mnl-1", SWB_AG_READY, false);
    swb_stats_live_agent(f.st, "mnl-1", SWB_AG_WRAPUP, false);
    swb_stats_live_agent(f.st, "mnl-1", SWB_AG_BREAK, false);
    ASSERT_FIG(&f, SWB_SCOPE_REGION, &region_id, now, "live.waiting", 2);
    ASSERT_FIG(&f, SWB_SCOPE_REGION, &region_id, now, "live.scheduled", 1);
    ASSERT_FIG(&f, SWB_SCOPE_REGION, &region_id, now, "live.active", 1);
    ASSERT_FIG(&f, SWB_SCOPE_REGION, &region_id, now,
               "live.oldest_wait_seconds", 7200);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now,
               "live.longest_call_wait_seconds", 12);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now, "live.calls_waiting",
               1);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &mail, now,
               "live.longest_call_wait_seconds", -1);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &mail, now, "live.backlog_by_age.1h-4h",
               1);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &mail, now, "live.backlog_by_age.0-5m",
               1);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now,
               "live.backlog_by_age.0-5m", 0);
    ASSERT_FIG(&f, SWB_SCOPE_SITE, &calls_mnl, now, "live.agents.ready", 2);
    ASSERT_FIG(&f, SWB_SCOPE_SITE, &calls_mnl, now, "live.agents.busy", 1);
    ASSERT_FIG(&f, SWB_SCOPE_SITE, &calls_mnl, now, "live.agents.total", 4);
    /* busy 1 + wrap-up 1 of staffed 3 (the agent on a break is not) */
    ASSERT_FIG(&f, SWB_SCOPE_SITE, &calls_mnl, now, "live.occupancy", 66.7);
    ASSERT_FIG(&f, SWB_SCOPE_QUEUE, &calls_mnl, now, "live.agents", -1);
    swb_stats_live_reset(f.st);
    ASSERT_FIG(&f, SWB_SCOPE_REGION, &region_id, now, "live.waiting", 0);
    ASSERT_FIG(&f, SWB_SCOPE_REGION, &region_id, now,
               "live.oldest_wait_seconds", -1);
    fixture_fini(&f);
}

static void
test_sl_target_of_sponsor(void)
{
    fixture_t f;
    fixture_init(&f);
    swb_sl_target_t t = swb_stats_sl_target(f.st, "bank");
    ASSERT_INT_EQ(t.percent, 90);
    ASSERT_INT_EQ(t.seconds, 15);
    t = swb_stats_sl_target(f.st, "unknown");
    ASSERT_INT_EQ(t.percent, 80);
    ASSERT_INT_EQ(t.seconds, 20);
    t = swb_stats_sl_target(f.st, NULL);
    ASSERT_INT_EQ(t.percent, 80);
    fixture_fini(&f);
}

/* Runs the broker's config loader on one --sponsor value. */
static swb_err_t
load_sponsor(const char *value, swb_config_t *cfg, swb_strs_t *problems)
{
    char *argv[] = {"switchboard-broker", "--data", "/nonexistent/x",
                    "--sponsor", (char *)value, NULL};
    swb_config_mode_t mode;
    memset(cfg, 0, sizeof *cfg);
    memset(problems, 0, sizeof *problems);
    return swb_config_load(5, argv, cfg, &mode, problems);
}

static void
test_service_level_config_key(void)
{
    swb_config_t cfg;
    swb_strs_t problems;
    swb_err_t rc = load_sponsor("bank,service-level=90/15", &cfg, &problems);
    const swb_sponsor_def_t *sp = swb_config_sponsor(&cfg, "bank");
    bool ok = rc == SWB_OK && sp && sp->sl_percent == 90 &&
              sp->sl_seconds == 15;
    swb_config_free(&cfg);
    swb_codec_free_strs(&problems);
    ASSERT_TRUE(ok);
    const char *bad[] = {"bank,service-level=101/20", "bank,service-level=80",
                         "bank,service-level=80/0", "bank,service-level=x/2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = load_sponsor(bad[i], &cfg, &problems);
        bool named = problems.n > 0 && strstr(problems.v[0], "service-level");
        swb_config_free(&cfg);
        swb_codec_free_strs(&problems);
        ASSERT_INT_EQ(rc, SWB_EINVAL);
        ASSERT_TRUE(named);
    }
}

static swb_store_t *
open_store(const char *dir)
{
    swb_store_t *s = NULL;
    char path[600], why[256];
    swb_store_opts_t o = {0, 0};
    snprintf(path, sizeof path, "%s/data", dir);
    return swb_store_open(path, &o, &s, why, sizeof why) == SWB_OK ? s : NULL;
}

/* Saves f's changed scopes and commits them; returns how many. */
static size_t
save_commit(fixture_t *f, swb_store_t *s, uint64_t now, bool force)
{
    swb_store_batch_t *batch = swb_store_batch_new();
    size_t n = swb_stats_save(f->st, batch, now, force);
    char why[256];
    if (n && swb_store_commit(s, batch, why, sizeof why) != SWB_OK)
        n = 0;
    swb_store_batch_destroy(&batch);
    return n;
}

static void
test_counters_survive_in_the_store(void)
{
    char *dir = swbt_tempdir("stats");
    swb_store_t *s = open_store(dir);
    fixture_t f, g;
    uint64_t now = DAY0 + 5 * 3600 * 1000ull;
    fixture_init(&f);
    fixture_init(&g);
    ASSERT_TRUE(s != NULL);
    swb_stats_where_t odd = {"elsewhere", "chat", "we\x1fird"};
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_ANSWERED, 7, now - 20 * MIN_MS);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_ANSWERED, 2, now - MIN_MS);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_HANDLE, 123456, now);
    swb_stats_add(f.st, &odd, SWB_STAT_DEAD, 3, now);
    ASSERT_INT_GE(save_commit(&f, s, now, true), 5);
    ASSERT_INT_EQ(swb_stats_load(g.st, s), SWB_OK);
    for (int w = 0; w < 3; w++) {
        uint64_t a[SWB_STAT_COUNT], b[SWB_STAT_COUNT];
        const swb_stats_where_t *ids[] = {&calls_mnl, &odd};
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < 2; i++) {
                swb_stats_window(f.st, (swb_scope_kind_t)k, ids[i], w, now, a);
                swb_stats_window(g.st, (swb_scope_kind_t)k, ids[i], w, now, b);
                ASSERT_TRUE(memcmp(a, b, sizeof a) == 0);
            }
    }
    ASSERT_INT_EQ(window_of(&g, SWB_SCOPE_QUEUE, &calls_mnl, 0, now,
                            SWB_STAT_ANSWERED), 2);
    ASSERT_INT_EQ(window_of(&g, SWB_SCOPE_QUEUE, &odd, 2, now,
                            SWB_STAT_DEAD), 3);
    ASSERT_TRUE(swb_stats_has_site(g.st, "elsewhere"));
    fixture_fini(&f);
    fixture_fini(&g);
    swb_store_close(&s);
    swbt_rmdir(dir);
    free(dir);
}

static void
test_saves_at_most_once_a_second(void)
{
    char *dir = swbt_tempdir("stats");
    swb_store_t *s = open_store(dir);
    fixture_t f;
    uint64_t now = DAY0;
    fixture_init(&f);
    ASSERT_TRUE(s != NULL);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_OFFERED, 1, now);
    ASSERT_INT_EQ(save_commit(&f, s, now, false), 3);
    swb_stats_add(f.st, &calls_mnl, SWB_STAT_OFFERED, 1, now + 10);
    ASSERT_INT_EQ(save_commit(&f, s, now + 500, false), 0);
    ASSERT_INT_EQ(save_commit(&f, s, now + 1000, false), 3);
    /* nothing changed: nothing written */
    ASSERT_INT_EQ(save_commit(&f, s, now + 5000, false), 0);
    swb_stats_unsaved(f.st);
    ASSERT_INT_GE(save_commit(&f, s, now + 6000, false), 3);
    fixture_fini(&f);
    swb_store_close(&s);
    swbt_rmdir(dir);
    free(dir);
}

int
main(void)
{
    SWB_RUN(test_last_15m_slides_by_minutes);
    SWB_RUN(test_today_resets_at_local_midnight);
    SWB_RUN(test_formulas_and_nulls);
    SWB_RUN(test_live_figures);
    SWB_RUN(test_sl_target_of_sponsor);
    SWB_RUN(test_service_level_config_key);
    SWB_RUN(test_counters_survive_in_the_store);
    SWB_RUN(test_saves_at_most_once_a_second);
    return SWB_TEST_EXIT();
}
