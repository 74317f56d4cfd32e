/*
 * handler.h - one `--exec CMD` handler run of switchboard-worker: a child
 * process that gets one task.
 *
 * swbw_job_start forks `/bin/sh -c CMD` in its own process group with the
 * task as one JSON object on stdin and SWB_TASK_ID, SWB_CHANNEL,
 * SWB_ATTEMPT in its environment. The parent side never blocks: stdin is
 * written, stdout collected (at most SWBW_OUT_MAX bytes) and the last
 * SWBW_TAIL bytes of stderr kept, all through non-blocking pipes that the
 * caller polls (swbw_job_pollfds) and services (swbw_job_pump). The child
 * is reaped with waitpid(WNOHANG) inside swbw_job_pump.
 *
 * Not here: the broker session, deciding when to kill (the runner does),
 * logging.
 */
#ifndef SWBW_HANDLER_H
#define SWBW_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <zmq.h>

#include "swb_msg.h"

#define SWBW_OUT_MAX (1u << 20) /* stdout collected: 1 MiB */
#define SWBW_TAIL 1024          /* stderr tail kept */
#define SWBW_KILL_AFTER 2000    /* ms from SIGTERM to SIGKILL */
#define SWBW_DRAIN_MS 500       /* ms to wait for pipe EOF after exit */
#define SWBW_RETRY_EXIT 75      /* EX_TEMPFAIL: "try again later" */

typedef struct swbw_job {
    swb_task_t *task; /* owned; NULL once answered or dropped */
    uint64_t id;      /* task id (kept after task is gone) */
    pid_t pid;        /* handler = its process group id */
    bool reaped;
    int status;       /* waitpid status once reaped */
    int in_fd;        /* -1 once closed */
    int out_fd;
    int err_fd;
    char *in_buf; /* the task JSON, owned */
    size_t in_len;
    size_t in_off;
    char *out; /* collected stdout, owned */
    size_t out_len;
    size_t out_cap;
    bool out_over; /* stdout went over SWBW_OUT_MAX */
    char tail[SWBW_TAIL];
    size_t tail_len;
    uint64_t started; /* mono ms */
    uint64_t ended;   /* mono ms of the reap */
    uint64_t kill_at; /* mono ms to escalate to SIGKILL, 0 = not killing */
} swbw_job_t;

/* The result of a finished job. */
typedef struct swbw_outcome {
    bool done;           /* true: done with the stdout as result */
    bool retry;          /* exit 75 */
    char reason[SWB_MAX_REASON + 1]; /* when !done */
} swbw_outcome_t;

/*
 * Starts CMD for task (on success the job owns the task and *out owns
 * the job; on failure the task stays with the caller). Errors: SWB_ESYS
 * (pipe / fork failed), SWB_ENOMEM; `why` says what failed.
 */
swb_err_t swbw_job_start(const char *cmd, swb_task_t *task, swbw_job_t **out,
                         char *why, size_t why_len);

/* Appends the job's open pipe fds (at most 3) to items; returns how many. */
size_t swbw_job_pollfds(const swbw_job_t *j, zmq_pollitem_t *items);

/* Non-blocking I/O on the pipes, waitpid, SIGKILL escalation. */
void swbw_job_pump(swbw_job_t *j, uint64_t now);

/* True once the handler was reaped and its pipes are drained (or stopped
 * draining after SWBW_DRAIN_MS: leftover children holding the pipes are
 * then killed). */
bool swbw_job_finished(swbw_job_t *j, uint64_t now);

/* Sends SIGTERM to the handler's process group (SIGKILL follows after
 * SWBW_KILL_AFTER ms). No-op when already killing or reaped. */
void swbw_job_kill(swbw_job_t *j, uint64_t now);

/* What a finished job amounts to (done with stdout, or the fail reason). */
void swbw_job_outcome(const swbw_job_t *j, swbw_outcome_t *o);

/* Kills what is left (SIGKILL), reaps it (blocking), frees the job and
 * its task if still owned. NULL-safe. */
void swbw_job_free(swbw_job_t **j);

/* The task as one JSON object (plus "\n"); malloc'd, *len its length.
 * NULL when out of memory. */
char *swbw_task_json(const swb_task_t *t, size_t *len);

#endif
