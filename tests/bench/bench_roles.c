/*
 * bench_roles.c - what switchboard-bench's child processes do, through
 * libswitchboard in-process (not the CLIs, so that the figures are the
 * broker's and not process spawning's).
 *
 * - pipelined client: submits its tasks keeping up to opts->inflight
 *   submits in flight (swb_client_send_submit / swb_client_recv_submitted);
 *   every acknowledgement means the task is committed and synced.
 * - paced client: submits at a fixed rate, each payload starting with the
 *   CLOCK_MONOTONIC send time in nanoseconds, draining acks meanwhile.
 * - worker: says HELLO for channel email with opts->capacity and answers
 *   every offer with DONE at once. A DONE counts as acknowledged when
 *   swb_worker_unacked() drops. With env->latency it stores now - send
 *   time, taken the moment swb_worker_poll returns the offer.
 * - waiter (region phases, env->waiters): takes acknowledged ids from the
 *   queue (bench.h) in order and WAITs for each at the client endpoint
 *   (the origin) until it is final; with env->latency it stores final
 *   time - ack time. A waiter asks for the next id the moment it is
 *   free, so with BENCH_WAITERS of them a WAIT is pending before the task
 *   can end, unless tasks pile up (counted as `late` in latency phases).
 *
 * With env->lang, tasks ask for BENCH_LANG writing at B2 and workers
 * write it at C1. With env->waiters, each client first submits one probe
 * task and waits until it is completed (at the origin: so the peer's
 * agents are known and the link is warm) before it counts itself ready,
 * and publishes the id of every acknowledged submit in the queue; the
 * queue has one writer, so such a phase has one client.
 *
 * Every child reports into the shared counters (bench.h) and bounds every
 * wait: a broker silent for BENCH_STALL_MS makes it print why and exit 1.
 * Nothing here decides whether a phase is over; the parent does (stop),
 * and a child told to stop exits 0.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "bench.h"
#include "swb_client.h"
#include "swb_domain.h"
#include "swb_worker.h"

static void
role_fail(const char *role, int index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
role_fail(const char *role, int index, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(stderr, "switchboard-bench: %s %d: %s\n", role, index + 1, text);
}

static bool
stopping(const bench_env_t *env)
{
    return atomic_load(&env->sh->stop) != 0;
}

/* ---- clients -------------------------------------------------------------- */

typedef struct bench_client {
    const bench_env_t *env;
    int index;
    swb_client_t *c;
    uint64_t sent;
    uint64_t answered;
    char channel[sizeof BENCH_CHANNEL];
    char lang_name[sizeof BENCH_LANG];
    swb_level_t lang;
    uint8_t payload[BENCH_PAYLOAD];
    swb_task_spec_t spec;
} bench_client_t;

/* Waits until the broker answers a request (a STATUS of a task that does
 * not exist). */
static int
client_connect(swb_client_t *c, const bench_env_t *env, const char *role,
               int index)
{
    uint64_t end = bench_now_ns() + BENCH_CONNECT_MS * 1000000ull;
    for (;;) {
        swb_task_t t;
        memset(&t, 0, sizeof t);
        swb_err_t rc = swb_client_status(c, 1, &t, NULL);
        swb_codec_free(&swb_task_schema, &t);
        if (rc != SWB_EUNREACHABLE)
            return 0;
        if (stopping(env))
            return -1;
        if (bench_now_ns() >= end) {
            role_fail(role, index, "broker at %s did not answer within %d s",
                      env->client_ep, BENCH_CONNECT_MS / 1000);
            return -1;
        }
    }
}

/* One task through the whole path, before the measurement: it must be
 * completed within BENCH_CONNECT_MS. Its payload is not a time stamp,
 * so workers do not sample it. */
static int
client_probe(bench_client_t *k)
{
    uint64_t id = 0;
    swb_task_t t;
    swb_err_t rc = swb_client_submit(k->c, &k->spec, &id, NULL);
    if (rc) {
        role_fail("client", k->index, "probe submit failed: %s (%s)",
                  swb_strerror(rc), swb_client_last_error(k->c));
        return -1;
    }
    atomic_fetch_add(&k->env->sh->probes, 1);
    rc = swb_client_wait(k->c, id, BENCH_CONNECT_MS, &t, NULL);
    bool ok = rc == SWB_OK && t.state && strcmp(t.state, "completed") == 0;
    if (!ok)
        role_fail("client", k->index, "probe task %" PRIu64 " not completed "
                  "within %d s (%s; region %s, hand %s): is the peer linked "
                  "and are its workers there?", id, BENCH_CONNECT_MS / 1000,
                  rc ? swb_strerror(rc) : t.state ? t.state : "?",
                  rc == SWB_OK && t.region ? t.region : "-",
                  rc == SWB_OK && t.hand ? t.hand : "-");
    if (rc == SWB_OK)
        swb_codec_free(&swb_task_schema, &t);
    return ok ? 0 : -1;
}

/* Connects and waits until the broker answers, probes when the phase
 * has waiters, then counts itself ready. */
static int
client_open(bench_client_t *k, const bench_env_t *env, int index)
{
    memset(k, 0, sizeof *k);
    k->env = env;
    k->index = index;
    memcpy(k->channel, BENCH_CHANNEL, sizeof k->channel);
    memset(k->payload, 'x', sizeof k->payload);
    k->spec.channel = k->channel;
    k->spec.payload.data = k->payload;
    k->spec.payload.len = sizeof k->payload;
    if (env->lang) {
        memcpy(k->lang_name, BENCH_LANG, sizeof k->lang_name);
        k->lang.name = k->lang_name;
        k->lang.level = BENCH_LANG_TASK;
        k->spec.lang.v = &k->lang;
        k->spec.lang.n = 1;
    }
    swb_err_t rc = swb_client_new(env->client_ep, 1000, &k->c);
    if (rc) {
        role_fail("client", index, "cannot create a client for %s: %s",
                  env->client_ep, swb_strerror(rc));
        return -1;
    }
    if (client_connect(k->c, env, "client", index))
        return -1;
    if (env->waiters && client_probe(k))
        return -1;
    atomic_fetch_add(&env->sh->ready, 1);
    return 0;
}

static void
client_close(bench_client_t *k)
{
    swb_client_destroy(&k->c);
}

/* Waits (bounded) for the parent's go. */
static int
client_wait_go(const bench_client_t *k)
{
    uint64_t end = bench_now_ns() + 2 * BENCH_CONNECT_MS * 1000000ull;
    while (!atomic_load(&k->env->sh->go)) {
        if (stopping(k->env))
            return -1;
        if (bench_now_ns() >= end) {
            role_fail("client", k->index, "no start signal from the bench");
            return -1;
        }
        bench_sleep_ns(50000);
    }
    return 0;
}

static int
client_send(bench_client_t *k)
{
    uint64_t req;
    swb_err_t rc = swb_client_send_submit(k->c, &k->spec, &req);
    if (rc) {
        role_fail("client", k->index, "cannot send submit %" PRIu64 ": %s (%s)",
                  k->sent + 1, swb_strerror(rc), swb_client_last_error(k->c));
        return -1;
    }
    k->sent++;
    return 0;
}

/* Puts an acknowledged id and its ack time into the queue (one writer:
 * slots first, then the count the waiters read). */
static int
client_publish(bench_client_t *k, uint64_t id)
{
    bench_shared_t *sh = k->env->sh;
    bench_queue_t *q = k->env->q;
    uint64_t slot = atomic_load(&sh->published);
    if (slot >= q->cap) {
        role_fail("client", k->index, "id queue full (%" PRIu64 " slots)",
                  q->cap);
        return -1;
    }
    q->ids[slot] = id;
    q->acks[slot] = bench_now_ns();
    atomic_store(&sh->published, slot + 1);
    return 0;
}

/*
 * Takes one submit reply within timeout_ms: 1 when one came, 0 when none
 * did, -1 when the broker refused the submit (a benchmark must not see
 * that: it is reported and ends the client).
 */
static int
client_ack(bench_client_t *k, int timeout_ms)
{
    uint64_t req = 0, id = 0;
    bool dup = false;
    swb_err_t rc = swb_client_recv_submitted(k->c, timeout_ms, &req, &id,
                                             &dup);
    if (rc == SWB_ETIMEOUT)
        return 0;
    if (rc) {
        role_fail("client", k->index, "submit (req %" PRIu64 ") failed: %s "
                  "(%s)", req, swb_strerror(rc), swb_client_last_error(k->c));
        return -1;
    }
    k->answered++;
    atomic_fetch_add(&k->env->sh->submitted, 1);
    if (k->env->waiters && client_publish(k, id))
        return -1;
    return 1;
}

/* Takes one submit reply, failing when none comes within the stall time. */
static int
client_await(bench_client_t *k)
{
    int r = client_ack(k, BENCH_STALL_MS);
    if (r == 0)
        role_fail("client", k->index, "no submit acknowledgement within %d s "
                  "(%" PRIu64 " of %" PRIu64 " answered): the broker stopped "
                  "answering", BENCH_STALL_MS / 1000, k->answered, k->sent);
    return r > 0 ? 0 : -1;
}

/* Waits for every reply still owed, then records the time of the last. */
static int
client_drain(bench_client_t *k)
{
    while (k->answered < k->sent)
        if (client_await(k))
            return -1;
    bench_atomic_max(&k->env->sh->submit_end, bench_now_ns());
    return 0;
}

int
bench_client_pipelined(const bench_env_t *env, int index)
{
    bench_client_t k;
    uint64_t total = env->tasks ? env->tasks : env->opts->tasks;
    uint64_t window = env->opts->inflight;
    int rc = 1;
    if (client_open(&k, env, index) || client_wait_go(&k))
        goto out;
    while (k.sent < total && !stopping(env)) {
        while (k.sent < total && k.sent - k.answered < window)
            if (client_send(&k))
                goto out;
        if (client_await(&k))
            goto out;
    }
    if (!stopping(env) && client_drain(&k))
        goto out;
    rc = 0;
out:
    client_close(&k);
    return rc;
}

/* Until `target` (monotonic ns): take replies as they come, then sleep
 * off the last fraction of a millisecond. */
static int
client_pace(bench_client_t *k, uint64_t target)
{
    for (;;) {
        int r;
        while ((r = client_ack(k, 0)) > 0)
            ;
        if (r < 0)
            return -1;
        uint64_t now = bench_now_ns();
        if (now >= target)
            return 0;
        uint64_t ms = (target - now) / 1000000u;
        if (ms == 0)
            bench_sleep_ns(target - now);
        else if (client_ack(k, (int)ms) < 0)
            return -1;
    }
}

int
bench_client_paced(const bench_env_t *env, int index)
{
    bench_client_t k;
    uint64_t rate = env->rate ? env->rate : env->opts->rate;
    uint64_t secs = env->seconds ? env->seconds : env->opts->seconds;
    uint64_t total = rate * secs;
    int rc = 1;
    if (client_open(&k, env, index) || client_wait_go(&k))
        goto out;
    uint64_t start = env->sh->go_ns;
    for (uint64_t i = 0; i < total && !stopping(env); i++) {
        if (client_pace(&k, start + i * 1000000000ull / rate))
            goto out;
        uint64_t t = bench_now_ns();
        memcpy(k.payload, &t, sizeof t);
        if (client_send(&k))
            goto out;
    }
    if (!stopping(env) && client_drain(&k))
        goto out;
    rc = 0;
out:
    client_close(&k);
    return rc;
}

/* ---- worker --------------------------------------------------------------- */

typedef struct bench_worker {
    const bench_env_t *env;
    int index;
    swb_worker_t *w;
    size_t pend; /* swb_worker_unacked() at our last look */
    bool ready;
} bench_worker_t;

static int
worker_open(bench_worker_t *k, const bench_env_t *env, int index)
{
    char site[] = "bench", agent[32], channel[] = BENCH_CHANNEL;
    char lang[] = BENCH_LANG;
    char *channels[] = {channel};
    swb_level_t cap = {channel, env->opts->capacity};
    swb_level_t writes = {lang, BENCH_LANG_AGENT};
    swb_m_hello_t p;
    memset(k, 0, sizeof *k);
    k->env = env;
    k->index = index;
    snprintf(agent, sizeof agent, "bench-w%d", index + 1);
    memset(&p, 0, sizeof p);
    p.site = site;
    p.agent = agent;
    p.channels.v = channels;
    p.channels.n = 1;
    p.capacity.v = &cap;
    p.capacity.n = 1;
    if (env->lang) {
        p.writes.v = &writes;
        p.writes.n = 1;
    }
    swb_err_t rc = swb_worker_new(env->worker_ep, &p, &k->w);
    if (rc) {
        role_fail("worker", index, "cannot create a worker for %s: %s",
                  env->worker_ep, swb_strerror(rc));
        return -1;
    }
    return 0;
}

/* Counts DONEs the broker acknowledged since the last look; the one that
 * completes the phase's goal records the time. */
static void
worker_count_acks(bench_worker_t *k)
{
    bench_shared_t *sh = k->env->sh;
    size_t cur = swb_worker_unacked(k->w);
    if (cur < k->pend) {
        uint64_t d = k->pend - cur;
        uint64_t before = atomic_fetch_add(&sh->done_acked, d);
        if (before < sh->goal && before + d >= sh->goal)
            atomic_store(&sh->done_end, bench_now_ns());
    }
    k->pend = cur;
}

static void
worker_sample(const bench_worker_t *k, const swb_task_t *t, uint64_t now)
{
    bench_shared_t *sh = k->env->sh;
    uint64_t sent;
    if (!t->spec || t->spec->payload.len < sizeof sent)
        return;
    memcpy(&sent, t->spec->payload.data, sizeof sent);
    if (now < sent)
        return;
    uint64_t i = atomic_fetch_add(&sh->nsamples, 1);
    if (i < sh->cap)
        sh->samples[i] = now - sent;
}

/* An offer that swb_worker_poll returned at `now`: sample, answer DONE. */
static int
worker_take(bench_worker_t *k, swb_task_t *offer, uint64_t now)
{
    if (k->env->latency)
        worker_sample(k, offer, now);
    atomic_fetch_add(&k->env->sh->offers, 1);
    worker_count_acks(k);
    uint64_t id = offer->id;
    swb_err_t rc = swb_worker_done(k->w, &offer, "ok", 2);
    if (rc == SWB_ESTALE) {
        atomic_fetch_add(&k->env->sh->stale, 1);
        return 0;
    }
    if (rc) {
        role_fail("worker", k->index, "cannot answer task %" PRIu64 ": %s",
                  id, swb_strerror(rc));
        swb_worker_task_free(&offer);
        return -1;
    }
    k->pend = swb_worker_unacked(k->w);
    return 0;
}

/* Sleeps until the session's socket is readable, at most timeout_ms. */
static void
worker_wait(bench_worker_t *k, int timeout_ms)
{
    void *s = swb_worker_zsock(k->w);
    if (!s) { /* between sockets: reconnect pending */
        bench_sleep_ns((uint64_t)timeout_ms * 1000000u);
        return;
    }
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    (void)zmq_poll(&it, 1, timeout_ms);
}

/* Counts itself ready once welcomed; fails when that takes too long. */
static int
worker_check_ready(bench_worker_t *k, uint64_t connect_end)
{
    if (k->ready)
        return 0;
    if (swb_worker_connected(k->w)) {
        k->ready = true;
        atomic_fetch_add(&k->env->sh->ready, 1);
        return 0;
    }
    if (bench_now_ns() < connect_end)
        return 0;
    role_fail("worker", k->index, "broker at %s did not welcome it within "
              "%d s%s%s", k->env->worker_ep, BENCH_CONNECT_MS / 1000,
              *swb_worker_last_error(k->w) ? ": " : "",
              swb_worker_last_error(k->w));
    return -1;
}

int
bench_worker(const bench_env_t *env, int index)
{
    bench_worker_t k;
    uint64_t connect_end = bench_now_ns() + BENCH_CONNECT_MS * 1000000ull;
    int rc = 1;
    if (worker_open(&k, env, index))
        return 1;
    while (!stopping(env)) {
        worker_wait(&k, 20);
        swb_task_t *offer;
        uint64_t revoked;
        swb_err_t e;
        while ((e = swb_worker_poll(k.w, 0, &offer, &revoked)) == SWB_OK)
            if (offer && worker_take(&k, offer, bench_now_ns()))
                goto out;
        if (e != SWB_ETIMEOUT) {
            role_fail("worker", index, "session failed: %s (%s)",
                      swb_strerror(e), swb_worker_last_error(k.w));
            goto out;
        }
        worker_count_acks(&k);
        if (worker_check_ready(&k, connect_end))
            goto out;
    }
    rc = 0;
out:
    swb_worker_destroy(&k.w, 500);
    return rc;
}

/* ---- waiter --------------------------------------------------------------- */

/* Takes the next published slot; false when there is none. */
static bool
waiter_claim(bench_shared_t *sh, uint64_t *slot)
{
    uint_fast64_t c = atomic_load(&sh->claimed);
    while (c < atomic_load(&sh->published))
        if (atomic_compare_exchange_weak(&sh->claimed, &c, c + 1)) {
            *slot = c;
            return true;
        }
    return false;
}

/* WAITs (in one-second slices, so that stop is seen) until task `id` is
 * final: 1 final (state in *t, owned by the caller), 0 told to stop, -1
 * the broker failed. */
static int
waiter_wait(swb_client_t *c, const bench_env_t *env, int index, uint64_t id,
            swb_task_t *t)
{
    for (;;) {
        swb_err_t rc = swb_client_wait(c, id, 1000, t, NULL);
        if (rc) {
            role_fail("waiter", index, "WAIT for task %" PRIu64 " failed: %s "
                      "(%s)", id, swb_strerror(rc), swb_client_last_error(c));
            return -1;
        }
        if (t->state && swb_state_final(swb_state_parse(t->state)))
            return 1;
        swb_codec_free(&swb_task_schema, t);
        if (stopping(env))
            return 0;
    }
}

/* A task final at `now`: count it, sample it, and the one that completes
 * the goal records the time. */
static void
waiter_count(const bench_env_t *env, uint64_t slot, const swb_task_t *t,
             uint64_t now)
{
    bench_shared_t *sh = env->sh;
    bench_queue_t *q = env->q;
    if (strcmp(t->state, "completed") != 0)
        atomic_fetch_add(&sh->failed, 1);
    if (env->latency && now >= q->acks[slot]) {
        uint64_t i = atomic_fetch_add(&q->nlat, 1);
        if (i < q->cap)
            q->lat[i] = now - q->acks[slot];
    }
    uint64_t before = atomic_fetch_add(&sh->final, 1);
    if (before + 1 == sh->goal)
        atomic_store(&sh->final_end, now);
}

int
bench_waiter(const bench_env_t *env, int index)
{
    swb_client_t *c = NULL;
    swb_err_t e = swb_client_new(env->client_ep, 1000, &c);
    int rc = 1;
    if (e) {
        role_fail("waiter", index, "cannot create a client for %s: %s",
                  env->client_ep, swb_strerror(e));
        return 1;
    }
    if (client_connect(c, env, "waiter", index))
        goto out;
    atomic_fetch_add(&env->sh->ready, 1);
    while (!stopping(env)) {
        uint64_t slot;
        if (!waiter_claim(env->sh, &slot)) {
            bench_sleep_ns(200000);
            continue;
        }
        if (env->latency && bench_now_ns() - env->q->acks[slot] >
                                BENCH_LATE_NS)
            atomic_fetch_add(&env->sh->late, 1);
        swb_task_t t;
        int r = waiter_wait(c, env, index, env->q->ids[slot], &t);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        waiter_count(env, slot, &t, bench_now_ns());
        swb_codec_free(&swb_task_schema, &t);
    }
    rc = 0;
out:
    swb_client_destroy(&c);
    return rc;
}
