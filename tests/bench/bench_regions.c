/*
 * bench_regions.c - phase 4 of switchboard-bench (--regions): work that
 * one region hands to another, measured beside the same work in one
 * region, in the same run.
 *
 * Forwarded: two brokers on loopback, "origin" and "peer", each naming
 * the other (--region, --peer). The M workers connect to the peer only
 * and write BENCH_LANG; every task asks for BENCH_LANG, so no agent of
 * the origin can take it and the origin hands it over at once (FORWARD,
 * then START/GO before the offer, then RESULT back; proto/PROTOCOL.md,
 * "Federation"). The client submits at the origin and BENCH_WAITERS
 * waiter children WAIT for every task at the origin: a task counts when
 * the origin reports it final, i.e. when its result is back and committed
 * there.
 * One region: one broker, the same workers, tasks, client and waiters.
 *
 * Throughput (--runs times, median): --region-tasks tasks submitted
 *     pipelined (--inflight) by one client; tasks/s from go until the
 *     last one is final at the origin.
 * Latency (once): one client at --region-rate tasks/s for
 *     --region-seconds; ack->completed (submit acknowledged at the client
 *     -> the origin's WAIT answer says completed) from the waiters, and
 *     submit->offer (send time in the payload -> the worker has the
 *     offer) from the workers, as in phase 3. A rate above the forwarded
 *     throughput measures a growing queue, not the hand-off (the report
 *     says so).
 *
 * What bounds forwarded work (measured 2026-11; see README "Measuring"):
 * the origin hands waiting tasks over every 250 ms (overflow.c), the
 * peer sends a RESULT on its next 50 ms timer pass (handoff.c), and the
 * peer has at most as many START questions out as it has ready agents;
 * a task that may not ask yet is held 200 ms before it tries again, so
 * each ready agent starts about one forwarded task per ~200 ms whatever
 * its capacity.
 *
 * Before go, the client's probe task must have gone the whole way (the
 * peer's agents are advertised, the link is up), so the figures do not
 * include the first PEER_HELLO / ADVERT exchange.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "bench.h"

enum { X_LOCAL, X_FWD };

typedef bench_row_t xrow_t;

enum {
    XR_FWD,
    XR_LOCAL,
    XR_RATIO,
    XR_CPU_ORIGIN,
    XR_CPU_PEER,
    XR_CPU_LOCAL,
    XR_COUNT
};

static const xrow_t xrows[XR_COUNT] = {
    {"forwarded end-to-end", "tasks/s", 0},
    {"one region end-to-end", "tasks/s", 0},
    {"forwarded / one region", "x", 4},
    {"origin CPU, forwarded", "us/task", 1},
    {"peer CPU, forwarded", "us/task", 1},
    {"broker CPU, one region", "us/task", 1},
};

typedef struct xlat {
    double offer[4]; /* submit->offer at the worker, us  */
    double done[4];  /* ack->completed at the origin, us */
    uint64_t n_offer, n_done;
} xlat_t;

typedef struct xsum {
    uint64_t failed, late, redelivered, stale;
} xsum_t;

static void
xsum_add(xsum_t *s, const phase_result_t *r)
{
    s->failed += r->failed;
    s->late += r->late;
    s->redelivered += r->redelivered;
    s->stale += r->stale;
}

static phase_t
xphase(const bench_opts_t *o, int kind, bool latency)
{
    phase_t ph = {
        .nclients = 1,
        .nworkers = o->workers,
        .counter_off = offsetof(bench_shared_t, final),
        .end_off = latency ? 0 : offsetof(bench_shared_t, final_end),
        .latency = latency,
        .regions = kind == X_FWD,
        .lang = true,
        .nwaiters = BENCH_WAITERS,
    };
    if (latency) {
        ph.name = kind == X_FWD ? "forwarded latency" : "one-region latency";
        ph.tag = kind == X_FWD ? "x-fwd-latency" : "x-local-latency";
        ph.client = bench_client_paced;
        ph.rate = o->xrate;
        ph.seconds = o->xseconds;
        ph.goal = o->xrate * o->xseconds;
    } else {
        ph.name = kind == X_FWD ? "forwarded end-to-end"
                                : "one-region end-to-end";
        ph.tag = kind == X_FWD ? "x-fwd" : "x-local";
        ph.client = bench_client_pipelined;
        ph.tasks = o->xtasks;
        ph.goal = o->xtasks;
    }
    return ph;
}

/* Runs a latency phase and takes its percentiles before the next phase
 * reuses the sample arrays. */
static int
run_latency(bench_t *b, int kind, xlat_t *out, xsum_t *sum)
{
    phase_t ph = xphase(&b->opts, kind, true);
    phase_result_t res;
    if (bench_run_phase(b, &ph, 0, &res))
        return -1;
    xsum_add(sum, &res);
    out->n_offer = atomic_load(&b->sh->nsamples);
    if (out->n_offer > b->sh->cap)
        out->n_offer = b->sh->cap;
    out->n_done = atomic_load(&b->q->nlat);
    if (out->n_done > b->q->cap)
        out->n_done = b->q->cap;
    bench_percentiles(b->sh->samples, out->n_offer, out->offer);
    bench_percentiles(b->q->lat, out->n_done, out->done);
    return 0;
}

static void
print_xtable(const bench_opts_t *o, double fig[XR_COUNT][99])
{
    bench_print_runs(o, xrows, XR_COUNT, fig);
}

static void
print_pcts(const char *label, const double p[4], uint64_t n)
{
    if (!n) {
        printf("%-36s no samples\n", label);
        return;
    }
    printf("%-36s p50 %6.0f  p90 %6.0f  p99 %6.0f  max %6.0f us\n", label,
           p[0], p[1], p[2], p[3]);
}

static void
print_ratio(const char *label, const double fwd[4], const double local[4])
{
    printf("%-36s", label);
    static const char *const name[4] = {"p50", "p90", "p99", "max"};
    for (int i = 0; i < 4; i++) {
        if (fwd[i] > 0 && local[i] > 0)
            printf(" %s %6.1f ", name[i], fwd[i] / local[i]);
        else
            printf(" %s %6s ", name[i], "n/a");
    }
    printf("x\n");
}

static void
print_report(const bench_opts_t *o, double fig[XR_COUNT][99],
             const xlat_t lat[2], const xsum_t *sum)
{
    printf("\nswitchboard-bench phase 4, regions: origin and peer brokers on "
           "loopback;\nworkers=%" PRIu64 " at the peer only (writing %s, "
           "capacity %" PRIu64 "), every task needs %s;\n1 client and %d "
           "waiters at the origin. One region: the same on one broker.\n"
           "throughput: tasks=%" PRIu64 " inflight=%" PRIu64 " runs=%" PRIu64
           ", go -> last task final at the origin\n", o->workers,
           BENCH_LANG, o->capacity, BENCH_LANG, BENCH_WAITERS, o->xtasks,
           o->inflight, o->runs);
    print_xtable(o, fig);
    printf("latency at %" PRIu64 "/s for %" PRIu64 " s (%" PRIu64
           " tasks), clients=1 workers=%" PRIu64 ":\n", o->xrate, o->xseconds,
           o->xrate * o->xseconds, o->workers);
    print_pcts("  forwarded:  ack->completed (origin)", lat[X_FWD].done,
               lat[X_FWD].n_done);
    print_pcts("  one region: ack->completed", lat[X_LOCAL].done,
               lat[X_LOCAL].n_done);
    print_ratio("  forwarded / one region", lat[X_FWD].done,
                lat[X_LOCAL].done);
    print_pcts("  forwarded:  submit->offer (peer)", lat[X_FWD].offer,
               lat[X_FWD].n_offer);
    print_pcts("  one region: submit->offer", lat[X_LOCAL].offer,
               lat[X_LOCAL].n_offer);
    double fwd = bench_median(fig[XR_FWD], o->runs);
    if (fwd >= 0 && (double)o->xrate >= 0.8 * fwd)
        printf("note: --region-rate %" PRIu64 " is near or above the "
               "forwarded throughput (%.0f tasks/s):\n      the forwarded "
               "latency includes a growing queue\n", o->xrate, fwd);
    if (sum->failed)
        printf("note: %" PRIu64 " tasks ended other than completed\n",
               sum->failed);
    if (sum->late)
        printf("note: %" PRIu64 " WAITs began over %u us after the ack "
               "(waiters behind: latencies of those are upper bounds)\n",
               sum->late, BENCH_LATE_NS / 1000);
    if (sum->stale)
        printf("note: %" PRIu64 " DONEs were refused as stale (lease gone)\n",
               sum->stale);
    if (sum->redelivered)
        printf("note: %" PRIu64 " offers beyond one per task (redelivered)\n",
               sum->redelivered);
}

int
bench_regions_run(bench_t *b)
{
    const bench_opts_t *o = &b->opts;
    double fig[XR_COUNT][99];
    xsum_t sum = {0, 0, 0, 0};
    xlat_t lat[2];
    for (uint64_t r = 0; r < o->runs; r++) {
        phase_result_t res[2];
        for (int kind = X_LOCAL; kind <= X_FWD; kind++) {
            phase_t ph = xphase(o, kind, false);
            if (bench_run_phase(b, &ph, (int)r + 1, &res[kind]))
                return 1;
            xsum_add(&sum, &res[kind]);
        }
        fig[XR_FWD][r] = res[X_FWD].tasks_per_s;
        fig[XR_LOCAL][r] = res[X_LOCAL].tasks_per_s;
        fig[XR_RATIO][r] = res[X_LOCAL].tasks_per_s > 0
                               ? res[X_FWD].tasks_per_s /
                                     res[X_LOCAL].tasks_per_s
                               : -1;
        fig[XR_CPU_ORIGIN][r] = res[X_FWD].cpu_us_per_task;
        fig[XR_CPU_PEER][r] = res[X_FWD].peer_cpu_us_per_task;
        fig[XR_CPU_LOCAL][r] = res[X_LOCAL].cpu_us_per_task;
        fprintf(stderr, "regions run %" PRIu64 "/%" PRIu64 ": forwarded %.0f "
                "tasks/s (last DONE at the peer after %.2f s, last final at "
                "the origin after %.2f s), one region %.0f tasks/s\n", r + 1,
                o->runs, res[X_FWD].tasks_per_s, res[X_FWD].peer_done_s,
                res[X_FWD].tasks_per_s > 0
                    ? (double)o->xtasks / res[X_FWD].tasks_per_s
                    : -1,
                res[X_LOCAL].tasks_per_s);
    }
    for (int kind = X_LOCAL; kind <= X_FWD; kind++)
        if (run_latency(b, kind, &lat[kind], &sum))
            return 1;
    print_report(o, fig, lat, &sum);
    return 0;
}
