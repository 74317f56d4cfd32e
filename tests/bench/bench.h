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
 * bench.c: options, phases, the report. bench_proc.c: processes, the temp
 * folder, the broker, /proc CPU times. bench_roles.c: what the children
 * do (pipelined client, paced client, worker).
 */
#ifndef SWB_BENCH_H
#define SWB_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_STALL_MS 10000   /* no progress this long = broker gone  */
#define BENCH_CONNECT_MS 15000 /* a child's wait for the broker        */
#define BENCH_PAYLOAD 64       /* bytes of every task's payload        */
#define BENCH_CHANNEL "email"
#define BENCH_MAX_SAMPLES 10000000u

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
    uint64_t cap;                    /* room in samples[]               */
    uint64_t samples[];              /* submit->offer latencies, ns     */
} bench_shared_t;

/* What a child needs to know; a copy lives in every child. */
typedef struct bench_env {
    const bench_opts_t *opts;
    bench_shared_t *sh;
    char client_ep[64];
    char worker_ep[64];
    bool latency; /* workers sample submit->offer latency */
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
 * dir/broker.log, on env's endpoints (peers on peer_ep, http off, log
 * level warn). Returns its pid or -1 (message printed).
 */
pid_t bench_spawn_broker(const char *bin, const char *dir,
                         const bench_env_t *env, const char *peer_ep);
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
