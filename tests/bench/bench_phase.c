/*
 * bench_phase.c - running one phase of switchboard-bench: start its
 * brokers (one, or the origin and peer of a region phase) on free
 * loopback ports in a fresh folder, fork its clients, workers and
 * waiters, wait until all are connected, set go, watch the phase's
 * counter until its goal, read the brokers' CPU time, set stop, reap
 * everything and stop the brokers (SIGTERM, then SIGKILL).
 *
 * Every wait has a deadline: a counter that does not move for
 * BENCH_STALL_MS, a child that fails or a broker that exits ends the
 * phase with a message (and the brokers' last log lines). This file
 * prints no figures; bench.c and bench_regions.c do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define BENCH_READY_MS (BENCH_CONNECT_MS + 5000)
#define BENCH_EXIT_MS 10000 /* children's time to leave after stop */

static atomic_uint_fast64_t *
shared_u64(bench_shared_t *sh, size_t off)
{
    return (atomic_uint_fast64_t *)(void *)((char *)sh + off);
}

static void
kid_name(const bench_t *b, size_t i, char *buf, size_t len)
{
    if (i < b->nclients)
        snprintf(buf, len, "client %zu", i + 1);
    else if (i < b->nclients + b->nworkers)
        snprintf(buf, len, "worker %zu", i - b->nclients + 1);
    else
        snprintf(buf, len, "waiter %zu", i - b->nclients - b->nworkers + 1);
}

static const char *
broker_name(const bench_t *b, size_t i)
{
    return b->nbrokers < 2 ? "the broker" : i == 0 ? "the origin broker"
                                                   : "the peer broker";
}

/* Reaps whatever exited; -1 (with a message) when the broker is gone or
 * a child failed. A child that exits 0 is simply done. */
static int
check_procs(bench_t *b)
{
    int st;
    char what[32], how[64];
    for (size_t i = 0; i < b->nbrokers; i++)
        if (b->brokers[i] > 0 &&
            waitpid(b->brokers[i], &st, WNOHANG) == b->brokers[i]) {
            b->brokers[i] = 0;
            fprintf(stderr, "switchboard-bench: %s exited unexpectedly "
                    "(%s)\n", broker_name(b, i),
                    bench_status_text(st, how, sizeof how));
            return -1;
        }
    for (size_t i = 0; i < b->nkids; i++) {
        if (b->kids[i] <= 0 || waitpid(b->kids[i], &st, WNOHANG) != b->kids[i])
            continue;
        b->kids[i] = 0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            kid_name(b, i, what, sizeof what);
            fprintf(stderr, "switchboard-bench: %s failed (%s)\n", what,
                    bench_status_text(st, how, sizeof how));
            return -1;
        }
    }
    return 0;
}

/*
 * Waits until *ctr reaches goal. Fails when interrupted, when a process
 * fails, when the counter does not move for stall_ms (0 = no such check)
 * or when limit_ms pass.
 */
static int
watch(bench_t *b, const atomic_uint_fast64_t *ctr, uint64_t goal,
      uint64_t limit_ms, uint64_t stall_ms, const char *what)
{
    uint64_t start = bench_now_ns(), changed = start;
    uint64_t last = atomic_load(ctr);
    for (;;) {
        if (b->interrupted && *b->interrupted) {
            fprintf(stderr, "switchboard-bench: interrupted\n");
            return -1;
        }
        if (check_procs(b))
            return -1;
        uint64_t v = atomic_load(ctr), now = bench_now_ns();
        if (v >= goal)
            return 0;
        if (v != last) {
            last = v;
            changed = now;
        }
        if (stall_ms && now - changed > stall_ms * 1000000u) {
            fprintf(stderr, "switchboard-bench: %s: no progress for %" PRIu64
                    " s at %" PRIu64 " of %" PRIu64 ": the broker stopped "
                    "answering\n", what, stall_ms / 1000, v, goal);
            return -1;
        }
        if (now - start > limit_ms * 1000000u) {
            fprintf(stderr, "switchboard-bench: %s: not done within %" PRIu64
                    " s (%" PRIu64 " of %" PRIu64 ")\n", what,
                    limit_ms / 1000, v, goal);
            return -1;
        }
        bench_sleep_ns(1000000);
    }
}

/* After stop: lets the children leave by themselves (bounded). */
static int
wait_kids_exit(bench_t *b)
{
    uint64_t end = bench_now_ns() + BENCH_EXIT_MS * 1000000ull;
    for (;;) {
        if (check_procs(b))
            return -1;
        size_t left = 0;
        for (size_t i = 0; i < b->nkids; i++)
            left += b->kids[i] > 0;
        if (!left)
            return 0;
        if (bench_now_ns() >= end) {
            fprintf(stderr, "switchboard-bench: warning: %zu children still "
                    "running %d s after stop; killing them\n", left,
                    BENCH_EXIT_MS / 1000);
            return 0;
        }
        bench_sleep_ns(1000000);
    }
}

/* Kills and reaps everything of a phase; on failure shows the brokers'
 * last log lines. */
static void
teardown(bench_t *b, bool failed)
{
    char how[64];
    bench_kill_all(b->kids, NULL, b->nkids, 2000);
    b->nkids = 0;
    for (size_t i = 0; i < b->nbrokers; i++) {
        int st = 0;
        bool had_broker = b->brokers[i] > 0;
        size_t killed = bench_kill_all(&b->brokers[i], &st, 1, 5000);
        if (!failed && had_broker && killed)
            fprintf(stderr, "switchboard-bench: warning: %s did not stop "
                    "within 5 s of SIGTERM; killed\n", broker_name(b, i));
        else if (!failed && had_broker && st != 0)
            fprintf(stderr, "switchboard-bench: warning: %s ended with %s "
                    "on SIGTERM\n", broker_name(b, i),
                    bench_status_text(st, how, sizeof how));
        if (failed || (had_broker && (killed || st != 0)))
            bench_print_tail(b->broker_log[i], 15);
    }
    b->nbrokers = 0;
}

static int
spawn(bench_t *b, bench_role_fn fn, const bench_env_t *env, int index)
{
    pid_t pid = bench_fork_role(fn, env, index);
    if (pid < 0)
        return -1;
    b->kids[b->nkids++] = pid;
    return 0;
}

static int
make_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0)
        return 0;
    fprintf(stderr, "switchboard-bench: cannot create %s: %s\n", dir,
            strerror(errno));
    return -1;
}

static int
loopback_ep(char *out, size_t len)
{
    int port = bench_free_port();
    if (port < 0) {
        fprintf(stderr, "switchboard-bench: no free loopback port\n");
        return -1;
    }
    snprintf(out, len, "tcp://127.0.0.1:%d", port);
    return 0;
}

/* One broker in `dir` (made here); i-th of the phase. */
static int
start_broker(bench_t *b, const char *dir, const char *client_ep,
             const char *worker_ep, const char *peer_ep,
             const char *const *extra)
{
    size_t i = b->nbrokers;
    int n = snprintf(b->broker_log[i], sizeof b->broker_log[i],
                     "%s/broker.log", dir);
    if (n < 0 || (size_t)n >= sizeof b->broker_log[i]) {
        fprintf(stderr, "switchboard-bench: temp folder path too long\n");
        return -1;
    }
    if (make_dir(dir))
        return -1;
    pid_t pid = bench_spawn_broker(b->opts.broker_bin, dir, client_ep,
                                   worker_ep, peer_ep,
                                   b->opts.info ? "info" : "warn", extra);
    if (pid < 0)
        return -1;
    b->brokers[i] = pid;
    b->nbrokers++;
    return 0;
}

/*
 * The brokers of a phase in `dir`: one on env's endpoints; or (regions)
 * "origin" in dir/origin, whose client endpoint is env's, and "peer" in
 * dir/peer, whose worker endpoint is env's, each naming the other.
 */
static int
start_brokers(bench_t *b, const phase_t *ph, const char *dir,
              bench_env_t *env)
{
    char eps[6][64]; /* clients, workers, peers: origin 0-2, peer 3-5 */
    for (int i = 0; i < (ph->regions ? 6 : 3); i++)
        if (loopback_ep(eps[i], sizeof eps[i]))
            return -1;
    snprintf(env->client_ep, sizeof env->client_ep, "%s", eps[0]);
    snprintf(env->worker_ep, sizeof env->worker_ep, "%s",
             eps[ph->regions ? 4 : 1]);
    if (!ph->regions)
        return start_broker(b, dir, eps[0], eps[1], eps[2], NULL);
    if (make_dir(dir))
        return -1;
    char sub[2][4224], peer[2][96];
    snprintf(sub[0], sizeof sub[0], "%s/origin", dir);
    snprintf(sub[1], sizeof sub[1], "%s/peer", dir);
    snprintf(peer[0], sizeof peer[0], "peer=%s", eps[5]);
    snprintf(peer[1], sizeof peer[1], "origin=%s", eps[2]);
    const char *const origin[] = {"--region", "origin", "--peer", peer[0],
                                  NULL};
    const char *const other[] = {"--region", "peer", "--peer", peer[1], NULL};
    return start_broker(b, sub[0], eps[0], eps[1], eps[2], origin) ||
           start_broker(b, sub[1], eps[3], eps[4], eps[5], other) ? -1 : 0;
}

/* Starts the brokers and all children of a phase and waits until every
 * child is connected (clients of a phase with waiters: and probed). */
static int
phase_start(bench_t *b, const phase_t *ph, const char *tag, bench_env_t *env)
{
    char dir[4200];
    int n1 = snprintf(dir, sizeof dir, "%s/%s", b->root, tag);
    if (n1 < 0 || (size_t)n1 >= sizeof dir - 16) {
        fprintf(stderr, "switchboard-bench: temp folder path too long\n");
        return -1;
    }
    memset(b->sh, 0, offsetof(bench_shared_t, samples));
    b->sh->cap = (b->sh_size - sizeof *b->sh) / sizeof b->sh->samples[0];
    b->sh->goal = ph->goal;
    atomic_store(&b->q->nlat, 0);
    b->nclients = ph->nclients;
    b->nworkers = ph->nworkers;
    if (start_brokers(b, ph, dir, env))
        return -1;
    for (uint64_t i = 0; i < ph->nclients; i++)
        if (spawn(b, ph->client, env, (int)i))
            return -1;
    for (uint64_t i = 0; i < ph->nworkers; i++)
        if (spawn(b, bench_worker, env, (int)i))
            return -1;
    for (uint64_t i = 0; i < ph->nwaiters; i++)
        if (spawn(b, bench_waiter, env, (int)i))
            return -1;
    return watch(b, &b->sh->ready, b->nkids, BENCH_READY_MS, 0,
                 "waiting for clients and workers to connect");
}

/* Go, wait for the goal, read the broker's CPU, stop, let children leave. */
static int
phase_measure(bench_t *b, const phase_t *ph, phase_result_t *res)
{
    bench_shared_t *sh = b->sh;
    int64_t cpu0 = bench_cpu_us(b->brokers[0]);
    int64_t pcpu0 = b->nbrokers > 1 ? bench_cpu_us(b->brokers[1]) : -1;
    sh->go_ns = bench_now_ns();
    atomic_store(&sh->go, 1);
    if (watch(b, shared_u64(sh, ph->counter_off), ph->goal,
              b->opts.timeout * 1000, BENCH_STALL_MS, ph->name))
        return -1;
    int64_t cpu1 = bench_cpu_us(b->brokers[0]);
    int64_t pcpu1 = b->nbrokers > 1 ? bench_cpu_us(b->brokers[1]) : -1;
    uint64_t now = bench_now_ns();
    atomic_store(&sh->stop, 1);
    if (wait_kids_exit(b))
        return -1;
    /* read only now: the child that set it has exited */
    uint64_t end = ph->end_off ? atomic_load(shared_u64(sh, ph->end_off))
                               : now;
    double secs = end > sh->go_ns ? (double)(end - sh->go_ns) / 1e9 : 0;
    res->tasks_per_s = secs > 0 ? (double)ph->goal / secs : 0;
    res->cpu_us_per_task = cpu0 >= 0 && cpu1 >= cpu0
                               ? (double)(cpu1 - cpu0) / (double)ph->goal
                               : -1;
    res->peer_cpu_us_per_task = pcpu0 >= 0 && pcpu1 >= pcpu0
                                    ? (double)(pcpu1 - pcpu0) /
                                          (double)ph->goal
                                    : -1;
    res->stale = atomic_load(&sh->stale);
    /* the probe tasks were offered too */
    uint64_t offers = atomic_load(&sh->offers), want = ph->goal +
                                                       atomic_load(&sh->probes);
    res->redelivered = ph->nworkers && offers > want ? offers - want : 0;
    res->failed = atomic_load(&sh->failed);
    res->late = atomic_load(&sh->late);
    uint64_t done = atomic_load(&sh->done_end);
    res->peer_done_s = done > sh->go_ns ? (double)(done - sh->go_ns) / 1e9
                                        : -1;
    return 0;
}

int
bench_run_phase(bench_t *b, const phase_t *ph, int run, phase_result_t *res)
{
    char tag[64];
    bench_env_t env;
    if (run)
        snprintf(tag, sizeof tag, "run%d-%s", run, ph->tag);
    else
        snprintf(tag, sizeof tag, "%s", ph->tag);
    memset(&env, 0, sizeof env);
    env.opts = &b->opts;
    env.sh = b->sh;
    env.q = b->q;
    env.latency = ph->latency;
    env.lang = ph->lang;
    env.waiters = ph->nwaiters > 0;
    env.tasks = ph->tasks;
    env.rate = ph->rate;
    env.seconds = ph->seconds;
    memset(res, 0, sizeof *res);
    int rc = phase_start(b, ph, tag, &env);
    if (rc == 0)
        rc = phase_measure(b, ph, res);
    teardown(b, rc != 0);
    if (rc && b->opts.keep)
        fprintf(stderr, "switchboard-bench: phase %s failed; its data and "
                "log are in %s/%s\n", ph->name, b->root, tag);
    else if (rc)
        fprintf(stderr, "switchboard-bench: phase %s failed (--keep keeps "
                "its data and log)\n", ph->name);
    return rc;
}
