/*
 * runner.h - the event loop of `switchboard-worker --exec CMD`.
 *
 * One zmq_poll over the worker socket, a signal self-pipe and every
 * running handler's pipes (timeout 100 ms). Each pass services the pipes,
 * reaps handlers, turns finished ones into DONE / FAIL, and drains the
 * session (swb_worker_next(w, 0, ...)) for offers (a ringing one is
 * accepted at once), revokes and agent states the broker sets (logged as
 * event=state).
 *
 * SIGTERM / SIGINT start a drain: new offers are released (ringing ones
 * rejected) at once, running handlers get the grace period, then the
 * rest are killed and their tasks released; the worker is destroyed
 * (RELEASE + BYE) and the loop returns. A second signal ends the grace
 * at once.
 */
#ifndef SWBW_RUNNER_H
#define SWBW_RUNNER_H

#include <stdint.h>

#include "swb_worker.h"

typedef struct swbw_opts {
    const char *cmd;      /* the --exec command line (borrowed) */
    const char *broker;   /* endpoint, for log lines (borrowed) */
    uint64_t grace_ms;    /* --grace */
    int linger_ms;        /* how long destroy waits for ACKs */
} swbw_opts_t;

/*
 * Runs the worker until a signal (then drains as above) or a fatal
 * session error. Takes ownership of *w (destroyed, set NULL). Returns the
 * process exit code: 0 after a clean stop, 3 when the broker refused the
 * worker or speaks another protocol version, 1 on a local failure.
 */
int swbw_run(swb_worker_t **w, const swbw_opts_t *o);

#endif
