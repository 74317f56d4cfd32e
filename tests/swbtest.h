/*
 * swbtest.h - the small test kit every Switchboard test binary uses.
 *
 * A test binary is a main() that calls SWB_RUN(test_fn) for each of its
 * test_<behaviour> functions. Asserts print both values and the line, then
 * fail the current test (the binary exits 1 at the end if any failed).
 * Process helpers start the real executables from SWB_BIN_DIR (set by
 * ctest) and kill them for real; temp folders live under $TMPDIR.
 * SWB_TIMEOUT_MULT (environment, default 1; sanitizer runs use more)
 * scales the waits in swbt_ms().
 */
#ifndef SWBTEST_H
#define SWBTEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

extern int swbt_failed;     /* failures in the current test */
extern int swbt_total_fail; /* failed tests so far */

#define SWBT_FAIL_(...)                                                        \
    do {                                                                       \
        fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);                 \
        fprintf(stderr, __VA_ARGS__);                                          \
        fprintf(stderr, "\n");                                                 \
        swbt_failed++;                                                         \
        return;                                                                \
    } while (0)

#define ASSERT_TRUE(c)                                                         \
    do {                                                                       \
        if (!(c))                                                              \
            SWBT_FAIL_("expected true: %s", #c);                               \
    } while (0)
#define ASSERT_INT_EQ(a, b)                                                    \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_)                                                          \
            SWBT_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);              \
    } while (0)
#define ASSERT_INT_GE(a, b)                                                    \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ < b_)                                                           \
            SWBT_FAIL_("%s >= %s: %lld < %lld", #a, #b, a_, b_);               \
    } while (0)
#define ASSERT_STR_EQ(a, b)                                                    \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                 \
            SWBT_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b,                  \
                       a_ ? a_ : "(null)", b_ ? b_ : "(null)");                \
    } while (0)
#define ASSERT_STR_CONTAINS(hay, needle)                                       \
    do {                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                \
        if (!h_ || !strstr(h_, n_))                                            \
            SWBT_FAIL_("\"%s\" should contain \"%s\"", h_ ? h_ : "(null)",    \
                       n_);                                                    \
    } while (0)

/* SWBT_ONLY=SUBSTRING (environment) runs only the tests whose name has it. */
#define SWB_RUN(fn)                                                            \
    do {                                                                       \
        if (!swbt_selected(#fn))                                               \
            break;                                                             \
        swbt_failed = 0;                                                       \
        fprintf(stderr, "RUN  %s\n", #fn);                                     \
        fn();                                                                  \
        fprintf(stderr, "%s %s\n", swbt_failed ? "FAIL" : "OK  ", #fn);       \
        if (swbt_failed)                                                       \
            swbt_total_fail++;                                                 \
    } while (0)
bool swbt_selected(const char *name);
#define SWB_TEST_EXIT() (swbt_total_fail ? 1 : 0)

/* Milliseconds scaled by SWB_TIMEOUT_MULT. */
int swbt_ms(int ms);
/* Monotonic clock in milliseconds. */
int64_t swbt_now_ms(void);
void swbt_sleep_ms(int ms);

/* Makes a fresh temp folder; returns a malloc'd path (caller frees). */
char *swbt_tempdir(const char *tag);
/* rm -rf of a folder made by swbt_tempdir. A sanitizer report in any
 * *.log file inside fails the current test (the report is printed). */
void swbt_rmdir(const char *path);

/* A free TCP port on 127.0.0.1 (bind to port 0, read it, close). */
int swbt_free_port(void);

/* Path of an executable in the build tree: SWB_BIN_DIR/<subdir>/<name>.
 * Static buffer, valid until the next call. */
const char *swbt_bin(const char *name);

/* Starts argv[0] (a path) with argv, stdout/stderr to `log` (appended;
 * NULL = inherit). Returns the pid, or -1. */
pid_t swbt_spawn(char *const argv[], const char *log);
/* kill(pid, sig) then waitpid; returns the exit status as from waitpid. */
int swbt_kill(pid_t pid, int sig);
/* Waits up to ms for pid to exit; returns its exit code (0..255),
 * 128+signal if killed, -1 on timeout (process left running). */
int swbt_wait_exit(pid_t pid, int ms);

/* Runs a shell command line, captures stdout into a malloc'd string
 * (*out, may be NULL) and returns its exit code (or -1). */
int swbt_run(const char *cmdline, char **out);

/* Runs `switchboard --broker EP <args>` (args formatted like printf),
 * stderr appended to logdir/cli.log (so sanitizer reports fail the
 * test), stdin from /dev/null; *out gets its stdout (malloc'd). Returns
 * the exit code. */
int swbt_cli(const char *ep, const char *logdir, char **out, const char *fmt,
             ...) __attribute__((format(printf, 4, 5)));

/* Sends frames (all but the last with MORE) on a fresh DEALER to ep and
 * waits up to ms for one reply frame (a zframe_t *, caller destroys with
 * zframe_destroy), or NULL. */
void *swbt_raw_exchange(const char *ep, const void *const *frames,
                        const size_t *lens, int n, int ms);
/* True when the frame (a zframe_t *, may be NULL) contains text. */
bool swbt_frame_has(void *frame, const char *text);

/* Polls with status requests on client c until the broker answers
 * anything (up to 10 s, scaled) or process pid exits. 0 when it
 * answered, -1 otherwise. */
struct swb_client;
int swbt_wait_answering(struct swb_client *c, pid_t pid);

/* Reads a whole file into a malloc'd NUL-terminated string, or NULL. */
char *swbt_read_file(const char *path);

#endif

/* ---- tasks ---- */

#include "swb_msg.h"

/* A task spec for channel ch with a text payload (may be NULL). The
 * strings are borrowed: do not swb_codec_free the result. */
swb_task_spec_t swbt_spec(const char *ch, const char *payload);

/* Submits n copies of *base pipelined (up to 100 in flight), the payload
 * of task i being prefix followed by i (base->payload is overwritten);
 * ids[i] gets the id of task i, 0 when it was not acknowledged. Returns
 * the number acknowledged; stops early when the broker goes silent. */
int swbt_submit_many(struct swb_client *c, swb_task_spec_t *base,
                     const char *prefix, int n, uint64_t *ids);

/* ---- real processes of a region ---- */

typedef struct swbt_broker {
    pid_t pid;
    char data[512];      /* LMDB folder                               */
    char log[600];       /* the broker's stderr, appended across runs */
    char client_ep[64];
    char worker_ep[64];
    char *extra[32];     /* extra arguments, kept for restarts        */
} swbt_broker_t;

/*
 * Starts switchboard-broker on two free loopback ports with its data in
 * tmpdir/data and log in tmpdir/broker.log, plus the NULL-terminated
 * extra arguments (copied). Waits (up to 10 s, scaled) until it answers a
 * request. Returns 0, or -1 when it did not come up.
 */
int swbt_broker_start(swbt_broker_t *b, const char *tmpdir,
                      const char *const *extra);
/* Starts it again on the same ports and data (after a stop or kill). */
int swbt_broker_restart(swbt_broker_t *b);
/* Sends sig (SIGKILL, SIGTERM) and reaps it. */
void swbt_broker_stop(swbt_broker_t *b, int sig);
/* Frees the copied extra arguments. */
void swbt_broker_free(swbt_broker_t *b);

/*
 * Starts switchboard-worker against b's worker endpoint with
 * --site site --agent agent --channels channels --exec cmd plus the
 * NULL-terminated extra arguments; stderr to tmpdir/worker-AGENT.log.
 */
pid_t swbt_worker_start(const swbt_broker_t *b, const char *tmpdir,
                        const char *site, const char *agent,
                        const char *channels, const char *cmd,
                        const char *const *extra);
