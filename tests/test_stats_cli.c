/*
 * test_stats_cli.c - `switchboard stats` and `switchboard sites` of the
 * real CLI against a real broker and a real worker (`--exec`, voice and
 * e-mail): calls answered and one abandoned (patience 1 s, a language
 * nobody speaks), e-mails completed by their deadline and one dead
 * (handler exits 3, one attempt). Checks the numbers of `stats --json`
 * (offered, answered, abandoned, completed, failed, dead, service level,
 * per region, site and queue; wrap-up time in the calls' AHT), that they
 * survive a kill -9 of the broker and a restart, the tables, `--site`,
 * `sites` and `--watch`.
 *
 * The broker and worker run in a temp folder on free ports and are
 * killed at the end; the CLI runs through the shell with its stderr in
 * cli.log there.
 */
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "swbtest.h"

/* The handler: "boom" in the task fails it, anything else is done. */
#define HANDLER                                                                \
    "case \"$(cat)\" in *boom*) echo boom >&2; exit 3;; *) echo ok;; esac"

typedef struct env {
    char *dir;
    swbt_broker_t b;
    pid_t worker;
} env_t;

static int
env_start(env_t *e)
{
    static const char *const broker_args[] = {
        "--site", "s1,country=PH,tz=Asia/Manila", "--sponsor",
        "acme,service-level=80/20", "--retry-base-ms", "100",
        "--wrapup-ms", "200", NULL};
    static const char *const worker_args[] = {"--speaks", "en:C1", NULL};
    memset(e, 0, sizeof *e);
    e->dir = swbt_tempdir("stats-cli");
    if (!e->dir || swbt_broker_start(&e->b, e->dir, broker_args) != 0)
        return -1;
    e->worker = swbt_worker_start(&e->b, e->dir, "s1", "a1",
                                  "voice.inbound,email", HANDLER,
                                  worker_args);
    return e->worker > 0 ? 0 : -1;
}

static void
env_stop(env_t *e)
{
    if (e->worker > 0)
        swbt_kill(e->worker, SIGTERM);
    swbt_broker_stop(&e->b, SIGTERM);
    swbt_broker_free(&e->b);
    if (e->dir) {
        swbt_rmdir(e->dir);
        free(e->dir);
    }
}

/* `<args> --json` parsed (new reference), or NULL. */
static json_t *
cli_json(const env_t *e, const char *args)
{
    char *out = NULL;
    int rc = swbt_cli(e->b.client_ep, e->dir, &out, "%s --json", args);
    json_t *doc = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return doc;
}

/* The member at a dotted path. */
static json_t *
at(json_t *o, const char *path)
{
    char buf[128], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok_r(buf, ".", &save); o && k;
         k = strtok_r(NULL, ".", &save))
        o = json_object_get(o, k);
    return o;
}

static long long
num(json_t *o, const char *path)
{
    json_t *v = at(o, path);
    return json_is_number(v) ? (long long)(json_number_value(v) * 10 + 0.5)
                             : -1; /* tenths, so 66.7 is 667 */
}

/* The row of array `list` whose `key` is `val` (borrowed), or NULL. */
static json_t *
row(json_t *list, const char *key, const char *val)
{
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r) {
        const char *s = json_string_value(json_object_get(r, key));
        if (s && strcmp(s, val) == 0)
            return r;
    }
    return NULL;
}

/* Submits a task; returns its id or 0. */
static unsigned long long
submit(const env_t *e, const char *args)
{
    char *out = NULL;
    unsigned long long id = 0;
    if (swbt_cli(e->b.client_ep, e->dir, &out, "submit --sponsor acme %s", args) == 0 && out)
        id = strtoull(out, NULL, 10);
    free(out);
    return id;
}

static int
wait_task(const env_t *e, unsigned long long id)
{
    char *out = NULL;
    int rc = swbt_cli(e->b.client_ep, e->dir, &out, "wait %llu --timeout %d", id,
                 swbt_ms(30000) / 1000);
    free(out);
    return rc;
}

/* Waits until the sites document shows n connected agents at s1. */
static bool
await_agents(const env_t *e, int n)
{
    int64_t end = swbt_now_ms() + swbt_ms(10000);
    while (swbt_now_ms() < end) {
        json_t *doc = cli_json(e, "sites");
        long long got = num(row(json_object_get(doc, "sites"), "site", "s1"),
                            "agents.ready");
        json_decref(doc);
        if (got == n * 10)
            return true;
        swbt_sleep_ms(100);
    }
    return false;
}

/* The traffic: 2 calls answered, 1 abandoned, 2 e-mails done in time,
 * 1 e-mail dead. */
static void
make_traffic(env_t *e)
{
    unsigned long long ids[6] = {
        submit(e, "--channel voice.inbound --payload call-1"),
        submit(e, "--channel voice.inbound --payload call-2"),
        submit(e, "--channel email --deadline 1h --payload mail-1"),
        submit(e, "--channel email --deadline 1h --payload mail-2"),
        submit(e, "--channel email --max-attempts 1 --payload boom"),
        submit(e, "--channel voice.inbound --lang xx:C2 --patience 1 "
                  "--payload nobody-speaks-xx"),
    };
    static const int want[6] = {0, 0, 0, 0, 1, 1};
    for (int i = 0; i < 6; i++) {
        ASSERT_TRUE(ids[i] != 0);
        ASSERT_INT_EQ(wait_task(e, ids[i]), want[i]);
    }
}

/* The counts every check expects, from a stats document. */
static void
check_counts(json_t *doc)
{
    json_t *total = at(doc, "region.total");
    ASSERT_TRUE(json_is_object(total));
    ASSERT_INT_EQ(num(total, "submitted"), 60);
    ASSERT_INT_EQ(num(total, "offered"), 30);
    ASSERT_INT_EQ(num(total, "answered"), 20);
    ASSERT_INT_EQ(num(total, "answered_within_sl"), 20);
    ASSERT_INT_EQ(num(total, "abandoned"), 10);
    ASSERT_INT_EQ(num(total, "completed"), 40);
    ASSERT_INT_EQ(num(total, "failed"), 10);
    ASSERT_INT_EQ(num(total, "dead"), 10);
    ASSERT_INT_EQ(num(total, "deadline_total"), 20);
    ASSERT_INT_EQ(num(total, "deadline_met_percent"), 1000);
    ASSERT_INT_EQ(num(total, "service_level"), 667);
    ASSERT_INT_EQ(num(total, "abandon_rate"), 333);
    ASSERT_INT_EQ(num(doc, "region.today.answered"), 20);
    ASSERT_INT_EQ(num(doc, "region.last_15m.answered"), 20);
    ASSERT_STR_EQ(json_string_value(at(doc, "region.tz")), "Asia/Manila");

    json_t *queues = json_object_get(doc, "queues");
    json_t *calls = row(queues, "channel", "voice.inbound");
    json_t *mail = row(queues, "channel", "email");
    ASSERT_TRUE(calls && mail);
    ASSERT_STR_EQ(json_string_value(json_object_get(calls, "sponsor")),
                  "acme");
    ASSERT_INT_EQ(num(calls, "total.offered"), 30);
    ASSERT_INT_EQ(num(calls, "total.abandoned"), 10);
    ASSERT_INT_EQ(num(calls, "total.service_level"), 667);
    ASSERT_INT_EQ(num(calls, "service_level_target.percent"), 800);
    ASSERT_INT_EQ(num(calls, "service_level_target.seconds"), 200);
    ASSERT_INT_EQ(num(mail, "total.completed"), 20);
    ASSERT_INT_EQ(num(mail, "total.dead"), 10);
    ASSERT_INT_EQ(num(mail, "total.offered"), 0);
    ASSERT_INT_EQ(num(mail, "total.service_level"), -1);

    /* the site answered both calls; the abandoned one never rang there */
    json_t *s1 = row(json_object_get(doc, "sites"), "site", "s1");
    ASSERT_TRUE(s1 != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(s1, "country")), "PH");
    ASSERT_INT_EQ(num(s1, "total.answered"), 20);
    ASSERT_INT_EQ(num(s1, "total.offered"), 20);
    ASSERT_INT_EQ(num(s1, "total.completed"), 40);
    ASSERT_INT_EQ(num(s1, "total.service_level"), 1000);
    ASSERT_INT_EQ(num(s1, "live.waiting"), 0);
}

/* Runs body on a fresh env whose agent is connected, and always stops
 * it, also when an assert in body failed (asserts return from body). */
static void
with_env(void (*body)(env_t *e))
{
    env_t e;
    int rc = env_start(&e);
    bool up = rc == 0 && await_agents(&e, 1);
    if (up)
        body(&e);
    env_stop(&e);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_TRUE(up);
}

static void
numbers_survive_kill9(env_t *e)
{
    make_traffic(e);
    json_t *doc = cli_json(e, "stats");
    ASSERT_TRUE(doc != NULL);
    check_counts(doc);
    json_decref(doc);
    if (swbt_failed)
        return;
    /* counters are saved at most once a second: give them that second */
    swbt_sleep_ms(swbt_ms(1500));
    swbt_broker_stop(&e->b, SIGKILL);
    ASSERT_INT_EQ(swbt_broker_restart(&e->b), 0);
    doc = cli_json(e, "stats");
    ASSERT_TRUE(doc != NULL);
    check_counts(doc);
    /* two wrap-ups of 200 ms after the calls, counted in the calls' queue
     * when they ended (long ago now) */
    json_t *calls = row(json_object_get(doc, "queues"), "channel",
                        "voice.inbound");
    long long wrap = num(calls, "total.wrapup_seconds");
    long long aht = num(calls, "total.aht_seconds");
    json_decref(doc);
    ASSERT_INT_GE(wrap, 4);
    ASSERT_INT_GE(aht, 2);
}

static void
test_stats_numbers_survive_kill9(void)
{
    with_env(numbers_survive_kill9);
}

static void
tables_filter_sites_watch(env_t *e)
{
    char *out = NULL;
    unsigned long long id = submit(e, "--channel voice.inbound --payload x");
    ASSERT_INT_EQ(wait_task(e, id), 0);

    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "stats"), 0);
    ASSERT_STR_CONTAINS(out, "Region local");
    ASSERT_STR_CONTAINS(out, "\ntotal ");
    ASSERT_STR_CONTAINS(out, "\ns1 ");
    ASSERT_STR_CONTAINS(out, "\nvoice.inbound  acme ");
    ASSERT_STR_CONTAINS(out, "100.0%");
    ASSERT_TRUE(strstr(out, "\033[") == NULL); /* no colours in a pipe */
    free(out);

    json_t *doc = cli_json(e, "stats --site s1");
    ASSERT_INT_EQ(json_array_size(json_object_get(doc, "sites")), 1);
    json_decref(doc);
    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "stats --site nowhere"), 2);
    free(out);

    doc = cli_json(e, "sites");
    json_t *s1 = row(json_object_get(doc, "sites"), "site", "s1");
    bool ok = s1 && json_is_true(json_object_get(s1, "open")) &&
              num(s1, "agents.total") == 10;
    ASSERT_STR_EQ(json_string_value(json_object_get(s1, "tz")),
                  "Asia/Manila");
    json_decref(doc);
    ASSERT_TRUE(ok);
    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "sites"), 0);
    ASSERT_STR_CONTAINS(out, "COUNTRY");
    ASSERT_STR_CONTAINS(out, "\ns1 ");
    free(out);

    /* --watch redraws until interrupted, then exits 0 */
    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "stats --watch & p=$!; sleep %.1f; "
                      "kill -INT $p; wait $p",
                      swbt_ms(2500) / 1000.0), 0);
    const char *first = out ? strstr(out, "Region local") : NULL;
    bool twice = first && strstr(first + 1, "Region local");
    free(out);
    ASSERT_TRUE(twice);
}

static void
test_tables_site_filter_sites_and_watch(void)
{
    with_env(tables_filter_sites_watch);
}

int
main(void)
{
    SWB_RUN(test_stats_numbers_survive_kill9);
    SWB_RUN(test_tables_site_filter_sites_and_watch);
    return SWB_TEST_EXIT();
}
