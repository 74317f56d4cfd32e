/*
 * test_faults.c - durability and robustness with real processes:
 * kill -9 of the broker (again and again, mid-traffic) and of a worker
 * holding tasks, a full store, malformed and oversized frames on both
 * endpoints. Every test counts tasks: acknowledged, completed, lost,
 * duplicated.
 */
#include <czmq.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "swb_client.h"
#include "swb_domain.h"
#include "swbtest.h"

/* Waits for a task to be final; returns its state name (static) or "". */
static const char *
final_state(swb_client_t *c, uint64_t id, int ms, uint64_t *attempt,
            char *reason, size_t reason_len)
{
    static char st[32];
    swb_task_t t;
    st[0] = 0;
    if (swb_client_wait(c, id, (uint64_t)ms, &t, NULL) != SWB_OK)
        return st;
    snprintf(st, sizeof st, "%s", t.state);
    if (attempt)
        *attempt = t.attempt;
    if (reason)
        snprintf(reason, reason_len, "%s", t.reason ? t.reason : "");
    swb_codec_free(&swb_task_schema, &t);
    return st;
}

/* ---- kill -9 of the broker, again and again ---- */

/* Child: submits pipelined until killed; appends every acknowledged id
 * to `acked` (one line each, flushed before the next request). */
static void
submitter(const char *ep, const char *acked)
{
    FILE *f = fopen(acked, "a");
    swb_client_t *c;
    if (!f || swb_client_new(ep, 500, &c) != SWB_OK)
        _exit(1);
    for (int n = 0; n < 100000; n++) {
        uint64_t req, id;
        bool dup;
        char payload[32];
        snprintf(payload, sizeof payload, "p%d", n);
        swb_task_spec_t s = swbt_spec("email", payload);
        for (int k = 0; k < 8; k++)
            swb_client_send_submit(c, &s, &req);
        for (int k = 0; k < 8; k++) {
            swb_err_t rc = swb_client_recv_submitted(c, 500, &req, &id, &dup);
            if (rc == SWB_OK) {
                fprintf(f, "%llu\n", (unsigned long long)id);
                fflush(f);
            } else if (rc == SWB_ETIMEOUT || rc == SWB_EUNREACHABLE) {
                break;
            }
        }
        usleep(2000);
    }
    _exit(0);
}

static void
test_kill9_broker_loses_nothing(void)
{
    char *dir = swbt_tempdir("kill9");
    char acked[600], runs[600], cmd[1400];
    snprintf(acked, sizeof acked, "%s/acked", dir);
    snprintf(runs, sizeof runs, "%s/runs", dir);
    const char *args[] = {"--lease-ms", "1500", "--heartbeat-ms", "200",
                          "--retry-base-ms", "50", "--max-attempts", "20",
                          NULL};
    swbt_broker_t b;
    ASSERT_INT_EQ(swbt_broker_start(&b, dir, args), 0);
    snprintf(cmd, sizeof cmd, "echo $SWB_TASK_ID >> %s; echo r-$SWB_TASK_ID",
             runs);
    const char *wx[] = {"--capacity", "email=4", NULL};
    pid_t w1 = swbt_worker_start(&b, dir, "s1", "k1", "email", cmd, wx);
    pid_t w2 = swbt_worker_start(&b, dir, "s1", "k2", "email", cmd, wx);
    pid_t sub = fork();
    if (sub == 0)
        submitter(b.client_ep, acked);
    srand((unsigned)getpid());
    for (int round = 0; round < 6; round++) {
        swbt_sleep_ms(300 + rand() % 500);
        swbt_broker_stop(&b, SIGKILL);
        ASSERT_INT_EQ(swbt_broker_restart(&b), 0);
    }
    swbt_sleep_ms(500);
    swbt_kill(sub, SIGKILL);

    /* every acknowledged task must reach a final state */
    swb_client_t *c;
    ASSERT_INT_EQ(swb_client_new(b.client_ep, swbt_ms(5000), &c), SWB_OK);
    FILE *f = fopen(acked, "r");
    ASSERT_TRUE(f != NULL);
    int n_acked = 0, completed = 0, lost = 0;
    unsigned long long id;
    while (fscanf(f, "%llu", &id) == 1) {
        n_acked++;
        const char *st = final_state(c, id, swbt_ms(30000), NULL, NULL, 0);
        if (strcmp(st, "completed") == 0)
            completed++;
        else {
            lost++;
            fprintf(stderr, "  task %llu: state \"%s\"\n", id, st);
        }
    }
    fclose(f);
    /* duplicates: ids whose handler ran more than once (allowed by
     * at-least-once delivery, reported) */
    char *dups = NULL;
    snprintf(cmd, sizeof cmd, "sort %s | uniq -d | wc -l", runs);
    swbt_run(cmd, &dups);
    fprintf(stderr, "  acknowledged=%d completed=%d lost=%d duplicated=%s",
            n_acked, completed, lost, dups ? dups : "?\n");
    free(dups);
    ASSERT_INT_GE(n_acked, 50);
    ASSERT_INT_EQ(lost, 0);
    ASSERT_INT_EQ(completed, n_acked);
    swb_client_destroy(&c);
    swbt_kill(w1, SIGKILL);
    swbt_kill(w2, SIGKILL);
    swbt_broker_stop(&b, SIGTERM);
    swbt_broker_free(&b);
    swbt_rmdir(dir);
    free(dir);
}

/* ---- kill -9 of a worker that holds tasks ---- */

static void
test_kill9_worker_tasks_offered_again(void)
{
    char *dir = swbt_tempdir("killw");
    const char *args[] = {"--lease-ms", "1000", "--heartbeat-ms", "200",
                          "--retry-base-ms", "50", NULL};
    swbt_broker_t b;
    ASSERT_INT_EQ(swbt_broker_start(&b, dir, args), 0);
    const char *wx[] = {"--capacity", "email=3", NULL};
    pid_t slow = swbt_worker_start(&b, dir, "s1", "slow", "email",
                                   "exec sleep 20", wx);
    swb_client_t *c;
    ASSERT_INT_EQ(swb_client_new(b.client_ep, swbt_ms(5000), &c), SWB_OK);
    uint64_t ids[3];
    for (int i = 0; i < 3; i++) {
        swb_task_spec_t s = swbt_spec("email", "hold me");
        ASSERT_INT_EQ(swb_client_submit(c, &s, &ids[i], NULL), SWB_OK);
    }
    /* all three running on the slow worker */
    int64_t end = swbt_now_ms() + swbt_ms(10000);
    int active = 0;
    while (active < 3 && swbt_now_ms() < end) {
        active = 0;
        for (int i = 0; i < 3; i++) {
            swb_task_t t;
            if (swb_client_status(c, ids[i], &t, NULL) == SWB_OK) {
                active += strcmp(t.state, "active") == 0;
                swb_codec_free(&swb_task_schema, &t);
            }
        }
        swbt_sleep_ms(50);
    }
    ASSERT_INT_EQ(active, 3);
    swbt_kill(slow, SIGKILL);
    swbt_run("pkill -KILL -f 'sleep 20' 2>/dev/null", NULL);
    pid_t fast = swbt_worker_start(&b, dir, "s1", "fast", "email",
                                   "echo fine", wx);
    for (int i = 0; i < 3; i++) {
        uint64_t attempt = 0;
        ASSERT_STR_EQ(final_state(c, ids[i], swbt_ms(20000), &attempt, NULL,
                                  0),
                      "completed");
        ASSERT_INT_EQ(attempt, 2);
    }
    swb_client_destroy(&c);
    swbt_kill(fast, SIGTERM);
    swbt_broker_stop(&b, SIGTERM);
    swbt_broker_free(&b);
    swbt_rmdir(dir);
    free(dir);
}

/* ---- retries, dead tasks, cancel, restarts ---- */

static void
test_retry_then_dead_with_reason(void)
{
    char *dir = swbt_tempdir("retry");
    const char *args[] = {"--retry-base-ms", "50", "--heartbeat-ms", "200",
                          NULL};
    swbt_broker_t b;
    ASSERT_INT_EQ(swbt_broker_start(&b, dir, args), 0);
    pid_t w = swbt_worker_start(
        &b, dir, "s1", "w", "email,form",
        "if [ \"$SWB_CHANNEL\" = form ]; then echo disk on fire >&2; exit 3;"
        " fi; if [ $SWB_ATTEMPT -lt 2 ]; then exit 75; fi; echo ok",
        NULL);
    swb_client_t *c;
    ASSERT_INT_EQ(swb_client_new(b.client_ep, swbt_ms(5000), &c), SWB_OK);
    uint64_t retried, dead;
    swb_task_spec_t s = swbt_spec("email", "x");
    ASSERT_INT_EQ(swb_client_submit(c, &s, &retried, NULL), SWB_OK);
    s = swbt_spec("form", "y");
    s.max_attempts = 2;
    ASSERT_INT_EQ(swb_client_submit(c, &s, &dead, NULL), SWB_OK);
    uint64_t attempt = 0;
    char reason[300];
    ASSERT_STR_EQ(final_state(c, retried, swbt_ms(20000), &attempt, NULL, 0),
                  "completed");
    ASSERT_INT_EQ(attempt, 2);
    ASSERT_STR_EQ(final_state(c, dead, swbt_ms(20000), &attempt, reason,
                              sizeof reason),
                  "dead");
    ASSERT_INT_EQ(attempt, 2);
    ASSERT_STR_CONTAINS(reason, "disk on fire");
    swb_client_destroy(&c);
    swbt_kill(w, SIGTERM);
    swbt_broker_stop(&b, SIGTERM);
    swbt_broker_free(&b);
    swbt_rmdir(dir);
    free(dir);
}

static void
test_cancel_status_wait_across_restarts(void)
{
    char *dir = swbt_tempdir("cancel");
    swbt_broker_t b;
    ASSERT_INT_EQ(swbt_broker_start(&b, dir, NULL), 0);
    swb_client_t *c;
    ASSERT_INT_EQ(swb_client_new(b.client_ep, swbt_ms(5000), &c), SWB_OK);
    uint64_t a, k, k2, k3;
    swb_task_spec_t s = swbt_spec("research", "find the CFO of globex");
    ASSERT_INT_EQ(swb_client_submit(c, &s, &a, NULL), SWB_OK);
    s.key = "order-1";
    s.sponsor = "acme";
    bool dup = true;
    ASSERT_INT_EQ(swb_client_submit(c, &s, &k, &dup), SWB_OK);
    ASSERT_TRUE(!dup);
    ASSERT_INT_EQ(swb_client_submit(c, &s, &k2, &dup), SWB_OK);
    ASSERT_TRUE(dup);
    ASSERT_INT_EQ(k2, k);
    swb_task_t t;
    ASSERT_INT_EQ(swb_client_cancel(c, a, &t), SWB_OK);
    ASSERT_STR_EQ(t.state, "canceled");
    swb_codec_free(&swb_task_schema, &t);
    ASSERT_INT_EQ(swb_client_cancel(c, a, NULL), SWB_ESTATE);
    ASSERT_INT_EQ(swb_client_status(c, 999999, &t, NULL), SWB_ENOTFOUND);

    /* restart: the canceled task, the key and the queued task survive */
    swbt_broker_stop(&b, SIGKILL);
    ASSERT_INT_EQ(swbt_broker_restart(&b), 0);
    ASSERT_INT_EQ(swb_client_submit(c, &s, &k3, &dup), SWB_OK);
    ASSERT_TRUE(dup);
    ASSERT_INT_EQ(k3, k);
    ASSERT_INT_EQ(swb_client_status(c, a, &t, NULL), SWB_OK);
    ASSERT_STR_EQ(t.state, "canceled");
    swb_codec_free(&swb_task_schema, &t);
    /* a worker arrives; wait sees the result; it survives a restart */
    pid_t w = swbt_worker_start(&b, dir, "s1", "r", "research",
                                "echo found it", NULL);
    ASSERT_STR_EQ(final_state(c, k, swbt_ms(20000), NULL, NULL, 0),
                  "completed");
    swbt_broker_stop(&b, SIGKILL);
    ASSERT_INT_EQ(swbt_broker_restart(&b), 0);
    swb_bytes_t r;
    ASSERT_INT_EQ(swb_client_status(c, k, &t, &r), SWB_OK);
    ASSERT_STR_EQ(t.state, "completed");
    ASSERT_INT_EQ(r.len, 9);
    ASSERT_TRUE(memcmp(r.data, "found it\n", 9) == 0);
    swb_codec_free(&swb_task_schema, &t);
    free(r.data);
    swb_client_destroy(&c);
    swbt_kill(w, SIGTERM);
    swbt_broker_stop(&b, SIGTERM);
    swbt_broker_free(&b);
    swbt_rmdir(dir);
    free(dir);
}

/* ---- a full store ---- */

static void
test_full_store_refuses_and_keeps_acked(void)
{
    char *dir = swbt_tempdir("full");
    const char *args[] = {"--map-initial", "1048576", "--map-max", "2097152",
                          "--max-payload", "200000", NULL};
    swbt_broker_t b;
    ASSERT_INT_EQ(swbt_broker_start(&b, dir, args), 0);
    swb_client_t *c;
    ASSERT_INT_EQ(swb_client_new(b.client_ep, swbt_ms(5000), &c), SWB_OK);
    static char big[100001];
    memset(big, 'x', sizeof big - 1);
    uint64_t ids[100];
    int acked = 0;
    swb_err_t rc = SWB_OK;
    for (int i = 0; i < 100 && rc == SWB_OK; i++) {
        swb_task_spec_t s = swbt_spec("data", big);
        uint64_t id;
        rc = swb_client_submit(c, &s, &id, NULL);
        if (rc == SWB_OK)
            ids[acked++] = id;
    }
    fprintf(stderr, "  acked=%d then: %s\n", acked, swb_client_last_error(c));
    ASSERT_INT_EQ(rc, SWB_EFULL);
    ASSERT_INT_GE(acked, 3);
    ASSERT_STR_CONTAINS(swb_client_last_error(c), "full");
    /* still serving reads */
    swb_task_t t;
    ASSERT_INT_EQ(swb_client_status(c, ids[0], &t, NULL), SWB_OK);
    swb_codec_free(&swb_task_schema, &t);
    /* every acknowledged task is there after a kill -9 */
    swbt_broker_stop(&b, SIGKILL);
    ASSERT_INT_EQ(swbt_broker_restart(&b), 0);
    int found = 0;
    for (int i = 0; i < acked; i++)
        if (swb_client_status(c, ids[i], &t, NULL) == SWB_OK) {
            found += strcmp(t.state, "queued") == 0;
            swb_codec_free(&swb_task_schema, &t);
        }
    ASSERT_INT_EQ(found, acked);
    swb_client_destroy(&c);
    swbt_broker_stop(&b, SIGTERM);
    swbt_broker_free(&b);
    swbt_rmdir(dir);
    free(dir);
}

/* ---- malformed frames on both endpoints ---- */

static void
test_malformed_frames_get_errors(void)
{
    char *dir = swbt_tempdir("frames");
    const char *args[] = {"--max-payload", "1000", NULL};
    swbt_broker_t b;
    ASSERT_INT_EQ(swbt_broker_start(&b, dir, args), 0);
    const char *eps[2] = {b.client_ep, b.worker_ep};
    for (int side = 0; side < 2; side++) {
        const char *ep = eps[side];
        /* not msgpack at all */
        const void *g[] = {"\xc1garbage"};
        size_t gl[] = {8};
        zframe_t *r = swbt_raw_exchange(ep, g, gl, 1, swbt_ms(3000));
        ASSERT_TRUE(swbt_frame_has(r, "malformed"));
        zframe_destroy(&r);
        /* three frames */
        const void *m3[] = {"a", "b", "c"};
        size_t l3[] = {1, 1, 1};
        r = swbt_raw_exchange(ep, m3, l3, 3, swbt_ms(3000));
        ASSERT_TRUE(swbt_frame_has(r, "frames"));
        zframe_destroy(&r);
        /* an array claiming 2^32-1 items in 5 bytes */
        const void *h[] = {"\xdd\xff\xff\xff\xff"};
        size_t hl[] = {5};
        r = swbt_raw_exchange(ep, h, hl, 1, swbt_ms(3000));
        ASSERT_TRUE(swbt_frame_has(r, "malformed"));
        zframe_destroy(&r);
        /* over ZMQ_MAXMSGSIZE: the broker drops the connection */
        size_t huge = 200000;
        char *buf = calloc(1, huge);
        const void *o[] = {buf};
        size_t ol[] = {huge};
        r = swbt_raw_exchange(ep, o, ol, 1, swbt_ms(1000));
        ASSERT_TRUE(r == NULL);
        free(buf);
    }
    /* a well-formed submit whose payload is over the broker's limit */
    swb_client_t *c;
    ASSERT_INT_EQ(swb_client_new(b.client_ep, swbt_ms(5000), &c), SWB_OK);
    static char p[1500];
    memset(p, 'p', sizeof p - 1);
    swb_task_spec_t s = swbt_spec("email", p);
    uint64_t id;
    ASSERT_INT_EQ(swb_client_submit(c, &s, &id, NULL), SWB_ETOOBIG);
    ASSERT_STR_EQ(swb_client_last_field(c), "task.payload");
    s = swbt_spec("fax", "x");
    ASSERT_INT_EQ(swb_client_submit(c, &s, &id, NULL), SWB_EINVAL);
    ASSERT_STR_CONTAINS(swb_client_last_error(c), "fax");
    /* and it goes on serving */
    s = swbt_spec("email", "still here");
    ASSERT_INT_EQ(swb_client_submit(c, &s, &id, NULL), SWB_OK);
    ASSERT_INT_EQ(swbt_wait_exit(b.pid, 0), -1);
    swb_client_destroy(&c);
    swbt_broker_stop(&b, SIGTERM);
    swbt_broker_free(&b);
    swbt_rmdir(dir);
    free(dir);
}

/* Submits s and expects the broker's error: code, field, words. */
static void
expect_refusal(swb_client_t *c, swb_task_spec_t *s, swb_err_t code,
               const char *field, const char *words)
{
    uint64_t id;
    ASSERT_INT_EQ(swb_client_submit(c, s, &id, NULL), code);
    ASSERT_STR_EQ(swb_client_last_field(c), field);
    ASSERT_STR_CONTAINS(swb_client_last_error(c), words);
}

/* A HELLO built by hand; the reply must name field and words. */
static void
expect_hello_refused(const char *ep, swb_m_hello_t *h, const char *field,
                     const char *words)
{
    swb_msg_t m = {.type = SWB_MSG_HELLO};
    m.u.hello = *h;
    void *buf;
    size_t len;
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    const void *f[] = {buf};
    size_t l[] = {len};
    void *r = swbt_raw_exchange(ep, f, l, 1, swbt_ms(3000));
    free(buf);
    bool ok = swbt_frame_has(r, field) && swbt_frame_has(r, words);
    zframe_destroy((zframe_t **)&r);
    ASSERT_TRUE(ok);
}

static void
test_broker_checks_what_the_codec_cannot(void)
{
    char *dir = swbt_tempdir("checks");
    const char *args[] = {"--site", "mnl-1", NULL};
    swbt_broker_t b;
    ASSERT_INT_EQ(swbt_broker_start(&b, dir, args), 0);
    swb_client_t *c;
    ASSERT_INT_EQ(swb_client_new(b.client_ep, swbt_ms(5000), &c), SWB_OK);
    swb_task_spec_t s = swbt_spec("email", "x");
    s.routing = "fastest";
    expect_refusal(c, &s, SWB_EINVAL, "task.routing", "fastest");
    s = swbt_spec("email", "x");
    s.window = "09:00-17:00";
    s.tz = "Asia/Manila";
    expect_refusal(c, &s, SWB_EINVAL, "task.window", "voice.outbound");
    s = swbt_spec("voice.outbound", "x");
    s.window = "9-17";
    s.tz = "Asia/Manila";
    expect_refusal(c, &s, SWB_EINVAL, "task.window", "HH:MM-HH:MM");
    s.window = "09:00-17:00";
    s.tz = "Mars/Olympus";
    expect_refusal(c, &s, SWB_EINVAL, "task.tz", "Mars/Olympus");
    s = swbt_spec("email", "x");
    s.patience = 30;
    expect_refusal(c, &s, SWB_EINVAL, "task.patience", "voice.inbound");

    swb_m_hello_t h;
    memset(&h, 0, sizeof h);
    char *fax[] = {"fax"}, *mail[] = {"email"};
    h.site = "mnl-1";
    h.agent = "a1";
    h.channels.v = fax;
    h.channels.n = 1;
    expect_hello_refused(b.worker_ep, &h, "channels", "fax");
    h.channels.v = mail;
    h.site = "nowhere";
    expect_hello_refused(b.worker_ep, &h, "site", "nowhere");
    h.site = "mnl-1";
    h.state = "asleep";
    expect_hello_refused(b.worker_ep, &h, "state", "asleep");
    swb_client_destroy(&c);
    swbt_broker_stop(&b, SIGTERM);
    swbt_broker_free(&b);
    swbt_rmdir(dir);
    free(dir);
}

int
main(void)
{
    SWB_RUN(test_broker_checks_what_the_codec_cannot);
    SWB_RUN(test_malformed_frames_get_errors);
    SWB_RUN(test_cancel_status_wait_across_restarts);
    SWB_RUN(test_retry_then_dead_with_reason);
    SWB_RUN(test_kill9_worker_tasks_offered_again);
    SWB_RUN(test_full_store_refuses_and_keeps_acked);
    SWB_RUN(test_kill9_broker_loses_nothing);
    return SWB_TEST_EXIT();
}
