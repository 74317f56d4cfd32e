/*
 * test_retention.c - finished tasks are removed after --retention.
 *
 * Unit level: swb_store_scan reads a bounded range from a start key.
 * Integration: a real broker with `--retention 2s --retention-batch 2`
 * (so the sweep needs several passes) and a real worker (`--exec "echo
 * ok"`, channel email); completed and canceled tasks become not_found
 * (exit 2) with their idempotency keys free again, an unfinished task on a
 * channel nobody serves stays queued, and the broker keeps serving.
 * The CLI runs through the shell; stdout is parsed with jansson.
 */
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "swbtest.h"

/* ---- swb_store_scan ---- */

typedef struct scan_log {
    uint64_t ids[32];
    size_t n;
    size_t stop_after; /* 0 = never stop */
} scan_log_t;

static int
scan_note(const void *key, size_t klen, const void *val, size_t vlen,
          void *arg)
{
    scan_log_t *l = arg;
    (void)val;
    (void)vlen;
    if (klen == 8 && l->n < 32)
        l->ids[l->n++] = swb_store_key_u64(key);
    return l->stop_after && l->n >= l->stop_after;
}

static void
test_store_scan_is_bounded(void)
{
    char *dir = swbt_tempdir("scan");
    char path[600];
    snprintf(path, sizeof path, "%s/data", dir);
    swb_store_t *s = NULL;
    ASSERT_INT_EQ(swb_store_open(path, NULL, &s, NULL, 0), SWB_OK);
    swb_store_batch_t *b = swb_store_batch_new();
    unsigned char k[8];
    for (uint64_t id = 1; id <= 10; id++) {
        swb_store_u64_key(id * 10, k);
        swb_store_batch_put(b, SWB_DB_TASKS, k, 8, "x", 1);
    }
    ASSERT_INT_EQ(swb_store_commit(s, b, NULL, 0), SWB_OK);
    swb_store_batch_destroy(&b);

    scan_log_t l = {0};
    size_t seen = 99;
    swb_store_u64_key(35, k); /* between keys: starts at the next one */
    ASSERT_INT_EQ(swb_store_scan(s, SWB_DB_TASKS, k, 8, 3, scan_note, &l,
                                 &seen), SWB_OK);
    ASSERT_INT_EQ(seen, 3);
    ASSERT_INT_EQ(l.n, 3);
    ASSERT_INT_EQ(l.ids[0], 40);
    ASSERT_INT_EQ(l.ids[2], 60);

    memset(&l, 0, sizeof l);
    ASSERT_INT_EQ(swb_store_scan(s, SWB_DB_TASKS, NULL, 0, 100, scan_note,
                                 &l, &seen), SWB_OK);
    ASSERT_INT_EQ(seen, 10);
    ASSERT_INT_EQ(l.ids[0], 10);

    memset(&l, 0, sizeof l);
    l.stop_after = 2;
    ASSERT_INT_EQ(swb_store_scan(s, SWB_DB_TASKS, NULL, 0, 100, scan_note,
                                 &l, &seen), SWB_OK);
    ASSERT_INT_EQ(seen, 2);

    memset(&l, 0, sizeof l);
    swb_store_u64_key(101, k);
    ASSERT_INT_EQ(swb_store_scan(s, SWB_DB_TASKS, k, 8, 5, scan_note, &l,
                                 &seen), SWB_OK);
    ASSERT_INT_EQ(seen, 0);
    ASSERT_INT_EQ(swb_store_scan(s, SWB_DB_TASKS, k, 8, 0, scan_note, &l,
                                 &seen), SWB_EINVAL);
    swb_store_close(&s);
    swbt_rmdir(dir);
    free(dir);
}

/* ---- a live broker ---- */

typedef struct env {
    char *dir;
    swbt_broker_t b;
    pid_t worker;
} env_t;

/* Submits; returns the id (0 on failure). */
static uint64_t
submit(const env_t *e, const char *args)
{
    char *out = NULL;
    int rc = swbt_cli(e->b.client_ep, e->dir, &out, "submit %s", args);
    uint64_t id = rc == 0 && out ? strtoull(out, NULL, 10) : 0;
    free(out);
    return id;
}

/* The task's state (static buffer), "not_found" when the broker says
 * so (exit 2), "?" otherwise. */
static const char *
state_of(const env_t *e, uint64_t id)
{
    static char state[64];
    char *out = NULL;
    int rc = swbt_cli(e->b.client_ep, e->dir, &out, "status %llu --json", (unsigned long long)id);
    snprintf(state, sizeof state, "%s", rc == 2 ? "not_found" : "?");
    /* exit 1 for a canceled / failed task, which still prints it */
    json_t *doc = rc <= 1 ? json_loads(out ? out : "", 0, NULL) : NULL;
    const char *s = doc ? json_string_value(json_object_get(doc, "state"))
                        : NULL;
    if (s)
        snprintf(state, sizeof state, "%s", s);
    json_decref(doc);
    free(out);
    return state;
}

static void
env_stop(env_t *e)
{
    if (e->worker > 0)
        swbt_kill(e->worker, SIGTERM);
    e->worker = 0;
    swbt_broker_stop(&e->b, SIGTERM);
    swbt_broker_free(&e->b);
    if (e->dir) {
        swbt_rmdir(e->dir);
        free(e->dir);
    }
    e->dir = NULL;
}

static void
retention_body(env_t *e)
{
    uint64_t done[3], queued, canceled;
    char args[200];
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "--channel email --key k%d --payload hi",
                 i);
        done[i] = submit(e, args);
        ASSERT_TRUE(done[i] > 0);
    }
    queued = submit(e, "--channel data --key keep --payload waits");
    canceled = submit(e, "--channel data --key gone --payload cancel-me");
    ASSERT_TRUE(queued > 0 && canceled > 0);
    char *out = NULL;
    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "cancel %llu", (unsigned long long)canceled),
                  0);
    free(out);
    for (int i = 0; i < 3; i++) {
        ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "wait %llu --timeout 20",
                          (unsigned long long)done[i]), 0);
        free(out);
    }
    ASSERT_STR_EQ(state_of(e, done[0]), "completed");
    ASSERT_STR_EQ(state_of(e, canceled), "canceled");

    /* 2 s after they finished, a sweep (2 removals a pass) takes them */
    int64_t until = swbt_now_ms() + swbt_ms(15000);
    int left = 4;
    while (left > 0 && swbt_now_ms() < until) {
        swbt_sleep_ms(200);
        left = 0;
        for (int i = 0; i < 3; i++)
            left += strcmp(state_of(e, done[i]), "not_found") != 0;
        left += strcmp(state_of(e, canceled), "not_found") != 0;
    }
    ASSERT_INT_EQ(left, 0);
    ASSERT_STR_EQ(state_of(e, queued), "queued");

    /* the keys went with them: k0 makes a new task; keep still dedups */
    uint64_t again = submit(e, "--channel email --key k0 --payload hi");
    ASSERT_TRUE(again > done[2]);
    ASSERT_INT_EQ(submit(e, "--channel data --key keep --payload waits"),
                  queued);
    /* the broker keeps serving: a new task runs to the end */
    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "submit --channel email --payload more "
                      "--wait --timeout 20"), 0);
    free(out);
    char *log = swbt_read_file(e->b.log);
    ASSERT_STR_CONTAINS(log, "event=swept");
    free(log);
}

static void
test_finished_tasks_are_removed(void)
{
    env_t e;
    memset(&e, 0, sizeof e);
    e.dir = swbt_tempdir("retention");
    const char *extra[] = {"--retention", "2s", "--retention-batch", "2",
                           "--http", "off", NULL};
    int rc = e.dir ? swbt_broker_start(&e.b, e.dir, extra) : -1;
    if (rc == 0) {
        e.worker = swbt_worker_start(&e.b, e.dir, "s1", "a1", "email",
                                     "echo ok", NULL);
        rc = e.worker > 0 ? 0 : -1;
    }
    if (rc == 0)
        retention_body(&e);
    env_stop(&e);
    ASSERT_INT_EQ(rc, 0);
}

int
main(void)
{
    SWB_RUN(test_store_scan_is_bounded);
    SWB_RUN(test_finished_tasks_are_removed);
    return SWB_TEST_EXIT();
}
