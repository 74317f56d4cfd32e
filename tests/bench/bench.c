/*
 * bench.c - switchboard-bench: what a real broker does per second and per
 * CPU microsecond (PRODUCT.md section 9), run by hand; not a test.
 *
 * Every phase (bench_phase.c) starts a fresh switchboard-broker process on
 * free loopback ports with a fresh LMDB folder under one mkdtemp folder,
 * forks the clients and workers (bench_roles.c), waits until all of them
 * are connected, sets go, and watches the shared counters (bench.h) until
 * the phase's goal is reached; then it reads the broker's CPU time from
 * /proc, sets stop, reaps the children and stops the broker (SIGTERM,
 * then SIGKILL). The phases:
 *
 *   1. submit: N clients pipelining durable submits, no workers;
 *      tasks/s from go until the last acknowledgement.
 *   2. end-to-end: N clients submitting while M workers take every offer
 *      and answer DONE; tasks/s from go until the last DONE is acked.
 *   3. latency: one client at a fixed rate, M workers; submit->offer
 *      latency percentiles.
 *   4. regions (only with --regions; bench_regions.c): two brokers,
 *      "origin" and "peer", peered on loopback; tasks that only the
 *      peer's M workers can take (a language) go in at the origin and
 *      are waited for there. Forwarded throughput and hand-off latency,
 *      each beside the same tasks in one region.
 *
 * Phases 1 and 2 (and 4's throughput) run --runs times and the table
 * shows every run and the median. Every wait has a deadline: a counter
 * that does not move for BENCH_STALL_MS, a child that fails or a broker
 * that exits ends the bench with a message (and the brokers' last log
 * lines) and exit 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "store.h"

static volatile sig_atomic_t bench_interrupted;

static void
on_signal(int sig)
{
    (void)sig;
    bench_interrupted = 1;
}

/* ---- options -------------------------------------------------------------- */

typedef enum opt_kind { OPT_NUM, OPT_FLAG, OPT_PATH, OPT_HELP } opt_kind_t;

typedef struct opt_def {
    const char *name;
    opt_kind_t kind;
    size_t off; /* OPT_NUM / OPT_FLAG: the uint64_t in bench_opts_t */
    uint64_t min, max, def;
    const char *help;
} opt_def_t;

#define NUM(n, field, lo, hi, d, h)                                            \
    {n, OPT_NUM, offsetof(bench_opts_t, field), lo, hi, d, h}

static const opt_def_t opt_defs[] = {
    NUM("clients", clients, 1, 64, 2, "N  client processes (2)"),
    NUM("workers", workers, 1, 64, 2, "M  worker processes (2)"),
    NUM("tasks", tasks, 1, 10000000, 10000,
        "T  tasks per client in phases 1 and 2 (10000)"),
    NUM("rate", rate, 1, 100000, 500, "R  tasks/s of the latency phase (500)"),
    NUM("seconds", seconds, 1, 3600, 5,
        "S  length of the latency phase in seconds (5)"),
    NUM("runs", runs, 1, 99, 3,
        "K  runs of phases 1 and 2, each on a fresh broker (3)"),
    NUM("inflight", inflight, 1, 1000, 256,
        "N  submits in flight per client (256)"),
    NUM("capacity", capacity, 1, 100, 64,
        "N  email tasks a worker holds at once (64)"),
    NUM("timeout", timeout, 1, 86400, 300,
        "S  seconds one phase may take at most (300)"),
    {"keep", OPT_FLAG, offsetof(bench_opts_t, keep), 0, 1, 0,
     "keep the temp folder (data and broker logs)"},
    {"broker-info", OPT_FLAG, offsetof(bench_opts_t, info), 0, 1, 0,
     "brokers log at level info, not warn (read them with --keep)"},
    {"regions", OPT_FLAG, offsetof(bench_opts_t, regions), 0, 1, 0,
     "also run phase 4: work forwarded between two regions"},
    NUM("region-tasks", xtasks, 1, 10000000, 1000,
        "N  tasks of phase 4's throughput (1000)"),
    NUM("region-rate", xrate, 1, 100000, 5,
        "R  tasks/s of phase 4's latency; keep it below the forwarded "
        "throughput (5)"),
    NUM("region-seconds", xseconds, 1, 3600, 20,
        "S  length of phase 4's latency in seconds (20)"),
    {"broker-bin", OPT_PATH, 0, 0, 0, 0,
     "PATH  broker executable (default: ../../broker/switchboard-broker "
     "from this program's folder)"},
    {"help", OPT_HELP, 0, 0, 0, 0, "this help"},
};
#define N_OPTS (sizeof opt_defs / sizeof opt_defs[0])

static uint64_t *
opt_slot(bench_opts_t *o, const opt_def_t *d)
{
    return (uint64_t *)(void *)((char *)o + d->off);
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: switchboard-bench [options]\n"
               "Starts a real switchboard-broker with client and worker "
               "processes and prints\ndurable submit and end-to-end "
               "throughput, the broker's CPU per task and\n"
               "submit->offer latency; with --regions also forwarded "
               "throughput and hand-off\nlatency between two peered "
               "regions.\n\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *h = opt_defs[i].help, *sp = strchr(h, ' ');
        bool arg = opt_defs[i].kind == OPT_NUM || opt_defs[i].kind == OPT_PATH;
        int n = arg && sp ? (int)(sp - h) : 0;
        char left[40];
        snprintf(left, sizeof left, "--%s%s%.*s", opt_defs[i].name,
                 n ? " " : "", n, h);
        fprintf(f, "  %-20s %s\n", left, n ? sp + 2 : h);
    }
}

static int
set_num(bench_opts_t *o, const opt_def_t *d, const char *text)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = text[0] >= '0' && text[0] <= '9'
                               ? strtoull(text, &end, 10)
                               : 0;
    if (!end || *end || errno || v < d->min || v > d->max) {
        fprintf(stderr, "switchboard-bench: --%s: \"%s\" is not a whole "
                "number from %" PRIu64 " to %" PRIu64 "\n", d->name, text,
                d->min, d->max);
        return -1;
    }
    *opt_slot(o, d) = v;
    return 0;
}

/* Default broker: <folder of this executable>/../../broker/... */
static int
default_broker(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    char guess[PATH_MAX + 64];
    snprintf(guess, sizeof guess, "%s/../../broker/switchboard-broker", self);
    char real[PATH_MAX];
    int n2 = snprintf(out, len, "%s", realpath(guess, real) ? real : guess);
    return n2 < 0 || (size_t)n2 >= len ? -1 : 0;
}

/* Returns 0 to run, 1 to exit 0 (help), 2 on a usage error. */
static int
parse_opts(int argc, char **argv, bench_opts_t *o)
{
    struct option longopts[N_OPTS + 1];
    memset(o, 0, sizeof *o);
    memset(longopts, 0, sizeof longopts);
    for (size_t i = 0; i < N_OPTS; i++) {
        longopts[i].name = opt_defs[i].name;
        longopts[i].has_arg = opt_defs[i].kind == OPT_NUM ||
                              opt_defs[i].kind == OPT_PATH;
        longopts[i].val = (int)i;
        if (opt_defs[i].kind == OPT_NUM)
            *opt_slot(o, &opt_defs[i]) = opt_defs[i].def;
    }
    int c, idx;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        if (c < 0 || (size_t)c >= N_OPTS) {
            fprintf(stderr, "switchboard-bench: unknown option or missing "
                    "value: \"%s\"\n", argv[optind - 1]);
            return 2;
        }
        const opt_def_t *d = &opt_defs[c];
        switch (d->kind) {
        case OPT_NUM:
            if (set_num(o, d, optarg))
                return 2;
            break;
        case OPT_FLAG: *opt_slot(o, d) = 1; break;
        case OPT_PATH:
            snprintf(o->broker_bin, sizeof o->broker_bin, "%s", optarg);
            break;
        case OPT_HELP: usage(stdout); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "switchboard-bench: unexpected argument \"%s\"\n",
                argv[optind]);
        return 2;
    }
    if (o->rate * o->seconds > BENCH_MAX_SAMPLES ||
        o->xrate * o->xseconds > BENCH_MAX_SAMPLES) {
        fprintf(stderr, "switchboard-bench: --rate or --region-rate x "
                "--seconds is over %u tasks\n", BENCH_MAX_SAMPLES);
        return 2;
    }
    if (!*o->broker_bin &&
        default_broker(o->broker_bin, sizeof o->broker_bin) != 0) {
        fprintf(stderr, "switchboard-bench: cannot find myself; give "
                "--broker-bin\n");
        return 2;
    }
    if (access(o->broker_bin, X_OK) != 0) {
        fprintf(stderr, "switchboard-bench: no broker executable at %s (%s); "
                "build it or give --broker-bin\n", o->broker_bin,
                strerror(errno));
        return 2;
    }
    return 0;
}

/* ---- figures -------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

double
bench_median(const double *v, size_t n)
{
    double s[99];
    memcpy(s, v, n * sizeof *v);
    qsort(s, n, sizeof *s, cmp_double);
    if (s[0] < 0)
        return -1;
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void
print_value(double v, int decimals)
{
    if (v < 0)
        printf("%10s", "n/a");
    else
        printf("%10.*f", decimals, v);
}

typedef bench_row_t figure_t;

enum {
    FIG_SUBMIT,
    FIG_E2E,
    FIG_CPU_SUBMIT,
    FIG_CPU_E2E,
    FIG_BASE,
    FIG_RATIO,
    FIG_COUNT
};

static const figure_t figures[FIG_COUNT] = {
    {"submit (durable)", "tasks/s", 0},
    {"end-to-end (durable)", "tasks/s", 0},
    {"broker CPU, submit", "us/task", 1},
    {"broker CPU, end-to-end", "us/task", 1},
    {"baseline: 1 commit/task", "tasks/s", 0},
    {"submit / baseline", "x", 1},
};

/*
 * The baseline of the same run: what one synced LMDB commit per
 * submitted task allows on this disk (PRODUCT.md 9), measured with the
 * broker's own store module in this process. -1 when it cannot run.
 */
static double
baseline_commits_per_s(const bench_t *b, uint64_t run)
{
    char dir[4200], why[256];
    swb_store_t *st = NULL;
    swb_store_batch_t *batch = swb_store_batch_new();
    double rate = -1;
    snprintf(dir, sizeof dir, "%s/baseline-%" PRIu64, b->root, run);
    if (!batch || swb_store_open(dir, NULL, &st, why, sizeof why)) {
        swb_store_batch_destroy(&batch);
        return -1;
    }
    enum { N = 500 };
    unsigned char key[8], val[120];
    memset(val, 'x', sizeof val);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int i;
    for (i = 0; i < N; i++) {
        swb_store_batch_reset(batch);
        swb_store_u64_key((uint64_t)i + 1, key);
        if (swb_store_batch_put(batch, SWB_DB_TASKS, key, 8, val, sizeof val) ||
            swb_store_commit(st, batch, why, sizeof why))
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (i == N && secs > 0)
        rate = N / secs;
    swb_store_batch_destroy(&batch);
    swb_store_close(&st);
    return rate;
}

void
bench_print_runs(const bench_opts_t *o, const bench_row_t *rows, int nrows,
                 double fig[][99])
{
    printf("%-24s %-8s", "", "");
    for (uint64_t r = 0; r < o->runs; r++) {
        char head[24];
        snprintf(head, sizeof head, "run%" PRIu64, r + 1);
        printf("%10s", head);
    }
    printf("%10s\n", "median");
    for (int f = 0; f < nrows; f++) {
        printf("%-24s %-8s", rows[f].label, rows[f].unit);
        for (uint64_t r = 0; r < o->runs; r++)
            print_value(fig[f][r], rows[f].decimals);
        print_value(bench_median(fig[f], o->runs), rows[f].decimals);
        printf("\n");
    }
}

static void
print_table(const bench_opts_t *o, double fig[FIG_COUNT][99])
{
    bench_print_runs(o, figures, FIG_COUNT, fig);
}

/* Nearest-rank percentile of n sorted samples, in microseconds. */
static double
percentile_us(const uint64_t *s, uint64_t n, unsigned pct)
{
    uint64_t rank = (n * pct + 99) / 100;
    return (double)s[rank ? rank - 1 : 0] / 1000.0;
}

void
bench_percentiles(uint64_t *s, uint64_t n, double p[4])
{
    static const unsigned pct[4] = {50, 90, 99, 100};
    qsort(s, n, sizeof *s, cmp_u64);
    for (int i = 0; i < 4; i++)
        p[i] = n ? percentile_us(s, n, pct[i]) : -1;
}

static void
print_latency(const bench_t *b)
{
    const bench_opts_t *o = &b->opts;
    uint64_t n = atomic_load(&b->sh->nsamples);
    if (n > b->sh->cap)
        n = b->sh->cap;
    if (n == 0) {
        printf("%-24s no samples\n", "submit->offer latency");
        return;
    }
    qsort(b->sh->samples, n, sizeof b->sh->samples[0], cmp_u64);
    const uint64_t *v = b->sh->samples;
    printf("%-24s p50 %.0f  p90 %.0f  p99 %.0f  max %.0f us\n"
           "%-24s at %" PRIu64 "/s for %" PRIu64 " s: %" PRIu64 " samples, "
           "clients=1 workers=%" PRIu64 "\n", "submit->offer latency",
           percentile_us(v, n, 50), percentile_us(v, n, 90),
           percentile_us(v, n, 99), percentile_us(v, n, 100), "", o->rate,
           o->seconds, n, o->workers);
}

static int
run_all(bench_t *b)
{
    const bench_opts_t *o = &b->opts;
    uint64_t total = o->clients * o->tasks;
    const phase_t phases[2] = {
        {.name = "submit", .tag = "submit", .nclients = o->clients,
         .client = bench_client_pipelined, .nworkers = 0,
         .counter_off = offsetof(bench_shared_t, submitted),
         .end_off = offsetof(bench_shared_t, submit_end), .goal = total},
        {.name = "end-to-end", .tag = "e2e", .nclients = o->clients,
         .client = bench_client_pipelined, .nworkers = o->workers,
         .counter_off = offsetof(bench_shared_t, done_acked),
         .end_off = offsetof(bench_shared_t, done_end), .goal = total},
    };
    const phase_t latency = {
        .name = "latency", .tag = "latency", .nclients = 1,
        .client = bench_client_paced, .nworkers = o->workers,
        .counter_off = offsetof(bench_shared_t, nsamples), .end_off = 0,
        .goal = o->rate * o->seconds, .latency = true};
    double fig[FIG_COUNT][99];
    uint64_t stale = 0, redelivered = 0;
    for (uint64_t r = 0; r < o->runs; r++) {
        phase_result_t res[2];
        for (int p = 0; p < 2; p++) {
            if (bench_run_phase(b, &phases[p], (int)r + 1, &res[p]))
                return 1;
            fig[FIG_SUBMIT + p][r] = res[p].tasks_per_s;
            fig[FIG_CPU_SUBMIT + p][r] = res[p].cpu_us_per_task;
            stale += res[p].stale;
            redelivered += res[p].redelivered;
        }
        fig[FIG_BASE][r] = baseline_commits_per_s(b, r + 1);
        fig[FIG_RATIO][r] = fig[FIG_BASE][r] > 0
                                ? fig[FIG_SUBMIT][r] / fig[FIG_BASE][r]
                                : -1;
        fprintf(stderr, "run %" PRIu64 "/%" PRIu64 ": submit %.0f tasks/s "
                "(%.1f us broker CPU/task), end-to-end %.0f tasks/s (%.1f us "
                "broker CPU/task)\n", r + 1, o->runs, res[0].tasks_per_s,
                res[0].cpu_us_per_task, res[1].tasks_per_s,
                res[1].cpu_us_per_task);
    }
    phase_result_t lres;
    if (bench_run_phase(b, &latency, 0, &lres))
        return 1;
    printf("\nswitchboard-bench: clients=%" PRIu64 " workers=%" PRIu64
           " tasks=%" PRIu64 " runs=%" PRIu64 " inflight=%" PRIu64
           " capacity=%" PRIu64 "\n", o->clients, o->workers, total, o->runs,
           o->inflight, o->capacity);
    print_table(o, fig);
    print_latency(b);
    if (stale + lres.stale)
        printf("note: %" PRIu64 " DONEs were refused as stale (lease gone)\n",
               stale + lres.stale);
    if (redelivered + lres.redelivered)
        printf("note: %" PRIu64 " offers beyond one per task (redelivered)\n",
               redelivered + lres.redelivered);
    return o->regions ? bench_regions_run(b) : 0;
}

/*
 * The shared counters and samples, and the id queue of phase 4 (one slot
 * without --regions). Both before any fork; 0 or 1 (message printed).
 */
static int
map_shared(bench_t *b)
{
    const bench_opts_t *o = &b->opts;
    uint64_t cap = 1;
    if (o->regions)
        cap = o->xtasks > o->xrate * o->xseconds ? o->xtasks
                                                 : o->xrate * o->xseconds;
    b->q_size = sizeof *b->q + 3 * cap * sizeof(uint64_t);
    void *sh = mmap(NULL, b->sh_size, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    void *q = mmap(NULL, b->q_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    b->sh = sh == MAP_FAILED ? NULL : sh;
    b->q = q == MAP_FAILED ? NULL : q;
    if (!b->sh || !b->q) {
        fprintf(stderr, "switchboard-bench: mmap of %zu + %zu bytes: %s\n",
                b->sh_size, b->q_size, strerror(errno));
        return 1;
    }
    uint64_t *slots = (uint64_t *)(void *)(b->q + 1);
    b->q->cap = cap;
    b->q->ids = slots;
    b->q->acks = slots + cap;
    b->q->lat = slots + 2 * cap;
    return 0;
}

int
main(int argc, char **argv)
{
    bench_t b;
    memset(&b, 0, sizeof b);
    int rc = parse_opts(argc, argv, &b.opts);
    if (rc)
        return rc == 1 ? 0 : 2;
    const bench_opts_t *o = &b.opts;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    b.interrupted = &bench_interrupted;
    const char *tmp = getenv("TMPDIR");
    snprintf(b.root, sizeof b.root, "%s/swb-bench.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    uint64_t n = o->rate * o->seconds;
    if (o->regions && o->xrate * o->xseconds > n)
        n = o->xrate * o->xseconds;
    b.sh_size = sizeof *b.sh + n * sizeof b.sh->samples[0];
    b.kids = calloc(o->clients + o->workers + BENCH_WAITERS + 1,
                    sizeof *b.kids);
    if (!b.kids || !mkdtemp(b.root)) {
        fprintf(stderr, "switchboard-bench: cannot create %s: %s\n", b.root,
                strerror(errno));
        free(b.kids);
        return 1;
    }
    rc = map_shared(&b);
    if (rc == 0) {
        fprintf(stderr, "switchboard-bench: broker %s, data in %s\n",
                o->broker_bin, b.root);
        rc = run_all(&b);
    }
    if (b.sh)
        munmap(b.sh, b.sh_size);
    if (b.q)
        munmap(b.q, b.q_size);
    if (o->keep) {
        fprintf(stderr, "switchboard-bench: kept %s\n", b.root);
    } else {
        bench_rmtree(b.root);
    }
    free(b.kids);
    return bench_interrupted ? 130 : rc;
}
