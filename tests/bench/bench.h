/*
 * bench.h - the pieces switchboard-bench's files share (tests/bench/).
 *
 * switchboard-bench runs a real broker and forks itself into client and
 * worker processes. Parent and children talk only through one
 * bench_shared_t in MAP_SHARED|MAP_ANONYMOUS memory, made before the first
 * fork and reset before every phase: a ready counter and go / stop flags
 * for the start barrier, atomic progress counters, end times and the
 * latency samples. The parent never touches ZeroMQ (a ZeroMQ context does
 * not survive fork); every socket lives in a child.
 *
 * The cross-region phase (--regions) adds a second mapping, the id queue
 * (bench_queue_t): the one client writes each acknowledged task id and
 * the time of its acknowledgement there, and waiter children take the
 * ids in order and WAIT for each at the origin; they count tasks final
 * at the origin and sample ack->completed latencies.
 *
 * bench.c: options, phases 1-3, the report. bench_phase.c: running one
 * phase. bench_regions.c: phase 4. bench_proc.c: processes, the temp
 * folder, the brokers, /proc CPU times. bench_roles.c: what the children
 * do (pipelined client, paced client, worker, waiter).
 */
#ifndef SWB_BENCH_H
#define SWB_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_STALL_MS 10000   /* no progress this long = broker gone  */
#define BENCH_CONNECT_MS 15000 /* a child's wait for the broker        */
#define BENCH_PAYLOAD 64       /* bytes of every task's payload        */
#define BENCH_CHANNEL "email"
#define BENCH_MAX_SAMPLES 10000000u
#define BENCH_WAITERS 4        /* waiter children of a region phase    */
#define BENCH_LANG "pl"        /* regions: what only the peer can do   */
#define BENCH_LANG_TASK 4      /* tasks ask for writing at B2          */
#define BENCH_LANG_AGENT 5     /* the peer's workers write at C1       */
#define BENCH_LATE_NS 1000000u /* a waiter this late to a task = biased */

/* Command-line settings; every number is a uint64_t so that one option
 * table (bench.c) can fill them. */
typedef struct bench_opts {
    uint64_t clients;   /* --clients: client processes              */
    uint64_t workers;   /* --workers: worker processes              */
    uint64_t tasks;     /* --tasks: tasks per client (phases 1, 2)  */
    uint64_t rate;      /* --rate: tasks/s of the latency phase     */
    uint64_t seconds;   /* --seconds: length of the latency phase   */
    uint64_t runs;      /* --runs: repeats of phases 1 and 2        */
    uint64_t inflight;  /* --inflight: submits in flight per client */
    uint64_t capacity;  /* --capacity: email tasks per worker       */
    uint64_t timeout;   /* --timeout: seconds one phase may take    */
    uint64_t keep;      /* --keep: keep the data folder (0/1)       */
    uint64_t regions;   /* --regions: run phase 4 too (0/1)         */
    uint64_t xtasks;    /* --region-tasks: tasks of 4's throughput  */
    uint64_t xrate;     /* --region-rate: tasks/s of 4's latency    */
    uint64_t xseconds;  /* --region-seconds: length of 4's latency  */
    uint64_t info;      /* --broker-info: brokers log info (0/1)    */
    char broker_bin[4096];
} bench_opts_t;

/* Shared between the parent and all children of one phase. */
typedef struct bench_shared {
    atomic_uint_fast64_t ready;      /* children connected              */
    atomic_int go;                   /* parent: start submitting        */
    atomic_int stop;                 /* parent: wind down and exit      */
    uint64_t go_ns;                  /* CLOCK_MONOTONIC of go           */
    uint64_t goal;                   /* tasks the phase is about        */
    atomic_uint_fast64_t submitted;  /* submits acknowledged            */
    atomic_uint_fast64_t submit_end; /* ns of the last submit ack       */
    atomic_uint_fast64_t offers;     /* offers received by workers      */
    atomic_uint_fast64_t done_acked; /* DONEs acknowledged              */
    atomic_uint_fast64_t done_end;   /* ns when done_acked reached goal */
    atomic_uint_fast64_t stale;      /* DONEs refused (lease gone)      */
    atomic_uint_fast64_t nsamples;   /* latency samples taken           */
    /* region phases: the id queue (bench_queue_t) and the waiters */
    atomic_uint_fast64_t probes;     /* warm-up tasks before ready      */
    atomic_uint_fast64_t published;  /* ids in the queue                */
    atomic_uint_fast64_t claimed;    /* ids a waiter took               */
    atomic_uint_fast64_t final;      /* tasks seen final at the origin  */
    atomic_uint_fast64_t final_end;  /* ns when final reached goal      */
    atomic_uint_fast64_t failed;     /* final, but not completed        */
    atomic_uint_fast64_t late;       /* waits begun BENCH_LATE_NS late  */
    uint64_t cap;                    /* room in samples[]               */
    uint64_t samples[];              /* submit->offer latencies, ns     */
} bench_shared_t;

/* The id queue of the region phases: slot i holds the i-th acknowledged
 * task's id and ack time; lat[] the ack->completed latencies (ns) of the
 * latency phase, filled by the waiters. Written by the one client
 * (ids, acks, then bench_shared_t.published) and the waiters (lat). */
typedef struct bench_queue {
    uint64_t cap;  /* slots in each array */
    uint64_t *ids;
    uint64_t *acks;
    uint64_t *lat;
    atomic_uint_fast64_t nlat;
} bench_queue_t;

/* What a child needs to know; a copy lives in every child. */
typedef struct bench_env {
    const bench_opts_t *opts;
    bench_shared_t *sh;
    bench_queue_t *q; /* MAP_SHARED; used when `waiters`         */
    char client_ep[64];
    char worker_ep[64];
    uint64_t tasks;   /* tasks per client (pipelined), 0 = opts  */
    uint64_t rate;    /* paced client's tasks/s, 0 = opts        */
    uint64_t seconds; /* paced client's seconds, 0 = opts        */
    bool latency;     /* workers sample submit->offer latency    */
    bool lang;        /* tasks need BENCH_LANG, workers write it */
    bool waiters;     /* clients publish ids; probe before ready */
} bench_env_t;

/* A child's job; returns its exit code. */
typedef int (*bench_role_fn)(const bench_env_t *env, int index);

/* ---- bench_roles.c ---- */

/* Submits opts->tasks tasks keeping opts->inflight in flight. */
int bench_client_pipelined(const bench_env_t *env, int index);
/* Submits opts->rate tasks/s for opts->seconds, each stamped with its
 * CLOCK_MONOTONIC send time in the first 8 payload bytes. */
int bench_client_paced(const bench_env_t *env, int index);
/* Takes email offers and answers each with DONE at once until stop. */
int bench_worker(const bench_env_t *env, int index);
/* Takes ids from the queue in order and WAITs for each at the client
 * endpoint (the origin) until it is final; counts and samples. */
int bench_waiter(const bench_env_t *env, int index);

/* ---- bench_phase.c: one phase (bench.c and bench_regions.c run them) ---- */

typedef struct bench {
    bench_opts_t opts;
    char root[4096];      /* the mkdtemp folder                  */
    bench_shared_t *sh;   /* MAP_SHARED, made before any fork    */
    size_t sh_size;
    bench_queue_t *q;     /* MAP_SHARED id queue (region phases) */
    size_t q_size;
    pid_t brokers[2];     /* the broker; region phases: origin, peer */
    char broker_log[2][4200];
    size_t nbrokers;
    pid_t *kids;          /* clients, then workers, then waiters */
    size_t nkids;
    size_t nclients;      /* of the current phase, for messages  */
    size_t nworkers;
    volatile sig_atomic_t *interrupted; /* set by SIGINT / SIGTERM */
} bench_t;

typedef struct phase {
    const char *name;     /* for messages                          */
    const char *tag;      /* its folder: tag or runK-tag           */
    uint64_t nclients;
    bench_role_fn client; /* what each client does                 */
    uint64_t nworkers;
    size_t counter_off;   /* counter in bench_shared_t to reach goal */
    size_t end_off;       /* its end time in bench_shared_t, or 0  */
    uint64_t goal;
    bool latency;
    /* region phases */
    bool regions;         /* origin + peer; workers at the peer      */
    bool lang;            /* env.lang                                */
    uint64_t nwaiters;    /* waiter children (env.waiters when > 0)  */
    uint64_t tasks;       /* env.tasks                               */
    uint64_t rate;        /* env.rate                                */
    uint64_t seconds;     /* env.seconds                             */
} phase_t;

typedef struct phase_result {
    double tasks_per_s;
    double cpu_us_per_task; /* < 0 when /proc could not be read */
    double peer_cpu_us_per_task; /* region phases: the peer's    */
    uint64_t stale;         /* DONEs refused as stale            */
    uint64_t redelivered;   /* offers beyond one per task        */
    uint64_t failed;        /* waiters: final but not completed  */
    uint64_t late;          /* waiters: WAITs begun late         */
    double peer_done_s;     /* region phases: go -> last DONE acked at
                               the peer, seconds (< 0 unknown)   */
} phase_result_t;

/* One phase on fresh brokers; everything is reaped when it returns.
 * run > 0 names its folder runK-tag. 0 or -1 (message printed). */
int bench_run_phase(bench_t *b, const phase_t *ph, int run,
                    phase_result_t *res);
/* ---- bench.c: figures ---- */

/* Median of n (<= 99) values; negative when any value is. */
double bench_median(const double *v, size_t n);

/* One row of a table of runs: what it shows and how. */
typedef struct bench_row {
    const char *label;
    const char *unit;
    int decimals;
} bench_row_t;
/* Prints the runs of every row (fig[row][run], negative = n/a) and their
 * median, under a heading run1..runN. */
void bench_print_runs(const bench_opts_t *o, const bench_row_t *rows,
                      int nrows, double fig[][99]);
/* Sorts n samples (ns) and fills p[] with p50, p90, p99 and max in
 * microseconds (nearest rank; -1 each when n is 0). */
void bench_percentiles(uint64_t *s, uint64_t n, double p[4]);

/* ---- bench_regions.c ---- */

/* Phase 4 (--regions): throughput and latency of work handed from an
 * origin region to a peer, each beside the same in one region. Prints
 * its own table. 0 or 1. */
int bench_regions_run(bench_t *b);

/* ---- bench_proc.c ---- */

uint64_t bench_now_ns(void);
void bench_sleep_ns(uint64_t ns);
/* Raises *a to v if v is larger. */
void bench_atomic_max(atomic_uint_fast64_t *a, uint64_t v);

/* A free TCP port on 127.0.0.1, or -1. */
int bench_free_port(void);
/* rm -rf; quiet about what is already gone. */
void bench_rmtree(const char *path);
/* Prints the last `lines` lines of a file to stderr, indented. */
void bench_print_tail(const char *path, int lines);

/*
 * Starts the broker binary with its data in dir/data and stdout+stderr in
 * dir/broker.log, on the given endpoints (http off) at log_level, with
 * `extra` (NULL-terminated, may be NULL) appended to its arguments.
 * Returns its pid or -1 (message printed).
 */
pid_t bench_spawn_broker(const char *bin, const char *dir,
                         const char *client_ep, const char *worker_ep,
                         const char *peer_ep, const char *log_level,
                         const char *const *extra);
/* Forks a child that runs fn(env, index) and exits with its result. The
 * child dies with the parent (PR_SET_PDEATHSIG). Returns pid or -1. */
pid_t bench_fork_role(bench_role_fn fn, const bench_env_t *env, int index);
/* utime + stime of a process in microseconds; -1 when unreadable. */
int64_t bench_cpu_us(pid_t pid);
/* SIGTERM to every pids[i] > 0, up to grace_ms for them to exit, then
 * SIGKILL; reaps them all and sets each pids[i] to 0. status (may be
 * NULL) receives each wait status. Returns how many needed SIGKILL. */
size_t bench_kill_all(pid_t *pids, int *status, size_t n, int grace_ms);
/* Writes "exit 3" / "signal 9 (Killed)" for a wait status into buf;
 * returns buf. */
const char *bench_status_text(int status, char *buf, size_t len);

#endif
