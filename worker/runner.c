/*
 * runner.c - the poll loop of `switchboard-worker --exec CMD`
 * (see runner.h).
 *
 * Owns the session (swb_worker_t) and the running handlers (swbw_job_t,
 * handler.c). A ringing offer is accepted at once (a bot answers), then
 * run like any other; a STATE the broker sends is logged. Signals only
 * write their number into a self-pipe (wsignal.c); all the work happens
 * in the loop. SIGCHLD just wakes the loop: handlers are reaped with
 * waitpid(WNOHANG) in swbw_job_pump.
 *
 * Not here: option parsing (main.c), the child side (handler.c), the
 * protocol (swb_worker.c).
 */
#include "runner.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "handler.h"
#include "swb_domain.h"
#include "swb_log.h"
#include "wsignal.h"

#define RUN_TICK_MS 100

typedef struct runner {
    swb_worker_t *w;
    const swbw_opts_t *o;
    swbw_job_t **jobs;
    size_t njobs;
    size_t capjobs;
    zmq_pollitem_t *items;
    size_t capitems;
    bool stopping;
    uint64_t stop_at; /* mono ms: end of the grace */
    bool grace_over;
    bool connected;
    int sigfd; /* wsignal.c's self-pipe */
    int rc;
} runner_t;

/* ---- jobs --------------------------------------------------------------- */

static swbw_job_t *
run_find(const runner_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->njobs; i++)
        if (r->jobs[i]->task && r->jobs[i]->id == id)
            return r->jobs[i];
    return NULL;
}

static bool
run_add_job(runner_t *r, swbw_job_t *j)
{
    if (r->njobs == r->capjobs) {
        size_t cap = r->capjobs ? r->capjobs * 2 : 8;
        swbw_job_t **nv = realloc(r->jobs, cap * sizeof *nv);
        if (!nv)
            return false;
        r->jobs = nv;
        r->capjobs = cap;
    }
    r->jobs[r->njobs++] = j;
    return true;
}

static void
run_start(runner_t *r, swb_task_t *t)
{
    char why[256];
    char q[300];
    const char *ch = t->spec && t->spec->channel ? t->spec->channel : "?";
    uint64_t id = t->id;
    swbw_job_t *j = NULL;
    swb_err_t rc = swbw_job_start(r->o->cmd, t, &j, why, sizeof why);
    if (rc == SWB_OK && !run_add_job(r, j)) {
        j->task = NULL; /* give the task back before freeing the job */
        swbw_job_free(&j);
        snprintf(why, sizeof why, "out of memory");
        rc = SWB_ENOMEM;
    }
    if (rc) {
        char reason[300];
        snprintf(reason, sizeof reason, "could not start the handler: %s",
                 why);
        swb_log(SWB_LOG_ERROR, "worker", "fail", "task=%llu reason=%s", (unsigned long long)id,
                 swb_log_quote(q, sizeof q, reason));
        (void)swb_worker_fail(r->w, &t, reason, false);
        swb_worker_task_free(&t);
        return;
    }
    swb_log(SWB_LOG_INFO, "worker", "start", "task=%llu channel=%s attempt=%llu pid=%d",
             (unsigned long long)id, ch, (unsigned long long)j->task->attempt,
             (int)j->pid);
}

/* A handler is finished: answer its task (unless revoked / released). */
static void
run_finish(runner_t *r, swbw_job_t *j)
{
    unsigned long long id = (unsigned long long)j->id;
    unsigned long long ms = (unsigned long long)(j->ended - j->started);
    if (!j->task) {
        swb_log(SWB_LOG_INFO, "worker", "handler_exit", "task=%llu ms=%llu answered=no", id,
                 ms);
        return;
    }
    swbw_outcome_t oc;
    swb_err_t rc;
    swbw_job_outcome(j, &oc);
    if (oc.done) {
        rc = swb_worker_done(r->w, &j->task, j->out, j->out_len);
        swb_log(SWB_LOG_INFO, "worker", "done", "task=%llu ms=%llu bytes=%zu", id, ms,
                 j->out_len);
    } else {
        char q[2 * SWB_MAX_REASON];
        rc = swb_worker_fail(r->w, &j->task, oc.reason, false);
        swb_log(SWB_LOG_WARN, "worker", oc.retry ? "retry" : "fail",
                 "task=%llu ms=%llu reason=%s", id, ms,
                 swb_log_quote(q, sizeof q, oc.reason));
    }
    if (rc == SWB_ESTALE)
        swb_log(SWB_LOG_INFO, "worker", "dropped", "task=%llu why=no_longer_held", id);
    else if (rc)
        swb_log(SWB_LOG_ERROR, "worker", "answer_failed", "task=%llu error=%s", id,
                 swb_err_name(rc));
}

static void
run_pump_jobs(runner_t *r, uint64_t now)
{
    for (size_t i = 0; i < r->njobs;) {
        swbw_job_t *j = r->jobs[i];
        swbw_job_pump(j, now);
        if (!swbw_job_finished(j, now)) {
            i++;
            continue;
        }
        run_finish(r, j);
        swbw_job_free(&j);
        r->jobs[i] = r->jobs[--r->njobs];
    }
}

/* ---- session events ----------------------------------------------------- */

static void
run_revoke(runner_t *r, uint64_t id, uint64_t now)
{
    swbw_job_t *j = run_find(r, id);
    if (!j) {
        swb_log(SWB_LOG_INFO, "worker", "revoke", "task=%llu running=no",
                 (unsigned long long)id);
        return;
    }
    swb_log(SWB_LOG_INFO, "worker", "revoke", "task=%llu pid=%d", (unsigned long long)id,
             (int)j->pid);
    swb_worker_task_free(&j->task); /* the broker wants no answer */
    swbw_job_kill(j, now);
}

/* A ringing offer: a bot answers at once. False when it is gone. */
static bool
run_accept(runner_t *r, swb_task_t **t, uint64_t ring)
{
    unsigned long long id = (unsigned long long)(*t)->id;
    swb_err_t rc = swb_worker_accept(r->w, *t);
    if (rc) {
        swb_log(SWB_LOG_WARN, "worker", "accept_failed", "task=%llu error=%s", id,
                 swb_err_name(rc));
        if (rc != SWB_ESTALE) /* out of memory: try to hand it back */
            (void)swb_worker_release(r->w, t);
        swb_worker_task_free(t);
        return false;
    }
    swb_log(SWB_LOG_INFO, "worker", "accept", "task=%llu ring_ms=%llu", id,
             (unsigned long long)ring);
    return true;
}

static void
run_offer(runner_t *r, swb_task_t *t, uint64_t ring)
{
    if (!r->stopping) {
        if (!ring || run_accept(r, &t, ring))
            run_start(r, t);
        return;
    }
    unsigned long long id = (unsigned long long)t->id;
    swb_err_t rc = ring ? swb_worker_reject(r->w, &t, "shutting down")
                        : swb_worker_release(r->w, &t);
    swb_worker_task_free(&t);
    swb_log(SWB_LOG_INFO, "worker", ring ? "reject" : "release",
             "task=%llu why=shutting_down%s", id, rc ? " error=stale" : "");
}

/* The broker changed the agent state (missed offers, wrap-up, ...). */
static void
run_state(const swb_wevent_t *ev)
{
    char q[2 * SWB_MAX_NAME + 8];
    swb_log(SWB_LOG_INFO, "worker", "state", "state=%s reason=%s by=broker", ev->state,
             swb_log_quote(q, sizeof q, ev->reason ? ev->reason : "-"));
}

/* Drains the session's events; false on a fatal session error. */
static bool
run_session(runner_t *r, uint64_t now)
{
    for (;;) {
        swb_wevent_t ev;
        swb_err_t rc = swb_worker_next(r->w, 0, &ev);
        if (rc == SWB_ETIMEOUT)
            break;
        if (rc) {
            char q[700];
            swb_log(SWB_LOG_ERROR, "worker", rc == SWB_EVERSION ? "version" : "refused",
                     "broker=%s reason=%s", r->o->broker,
                     swb_log_quote(q, sizeof q,
                                    swb_worker_last_error(r->w)));
            r->rc = 3;
            return false;
        }
        if (ev.type == SWB_WEV_OFFER)
            run_offer(r, ev.task, ev.ring);
        else if (ev.type == SWB_WEV_REVOKE)
            run_revoke(r, ev.id, now);
        else if (ev.type == SWB_WEV_STATE)
            run_state(&ev);
    }
    bool up = swb_worker_connected(r->w);
    if (up != r->connected) {
        char q[700];
        if (up)
            swb_log(SWB_LOG_INFO, "worker", "connected", "broker=%s held=%zu unacked=%zu",
                     r->o->broker, swb_worker_held(r->w),
                     swb_worker_unacked(r->w));
        else
            swb_log(SWB_LOG_WARN, "worker", "disconnected", "broker=%s reason=%s",
                     r->o->broker,
                     swb_log_quote(q, sizeof q,
                                    swb_worker_last_error(r->w)));
        r->connected = up;
    }
    return true;
}

/* ---- shutdown ----------------------------------------------------------- */

static void
run_signals_read(runner_t *r, uint64_t now)
{
    int buf[64];
    size_t n;
    while ((n = swbw_sig_take(buf, 64)) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (buf[i] != SIGTERM && buf[i] != SIGINT)
                continue; /* SIGCHLD: the pump reaps */
            if (!r->stopping) {
                r->stopping = true;
                r->stop_at = now + r->o->grace_ms;
                swb_log(SWB_LOG_INFO, "worker", "stopping", "signal=%d running=%zu "
                         "grace_ms=%llu", buf[i], r->njobs,
                         (unsigned long long)r->o->grace_ms);
            } else if (!r->grace_over) {
                r->stop_at = now; /* second signal: no more grace */
            }
        }
    }
}

/* The grace is over: kill the handlers still running, release tasks. */
static void
run_grace_over(runner_t *r, uint64_t now)
{
    r->grace_over = true;
    for (size_t i = 0; i < r->njobs; i++) {
        swbw_job_t *j = r->jobs[i];
        if (!j->task)
            continue;
        unsigned long long id = (unsigned long long)j->id;
        swb_err_t rc = swb_worker_release(r->w, &j->task);
        swb_worker_task_free(&j->task);
        swbw_job_kill(j, now);
        swb_log(SWB_LOG_WARN, "worker", "release", "task=%llu why=grace_over pid=%d%s", id,
                 (int)j->pid, rc ? " error=stale" : "");
    }
}

/* ---- the loop ----------------------------------------------------------- */

static bool
run_items_reserve(runner_t *r, size_t n)
{
    if (n <= r->capitems)
        return true;
    zmq_pollitem_t *nv = realloc(r->items, n * sizeof *nv);
    if (!nv)
        return false;
    r->items = nv;
    r->capitems = n;
    return true;
}

static void
run_loop(runner_t *r)
{
    for (;;) {
        size_t n = 0;
        if (!run_items_reserve(r, 2 + 3 * r->njobs)) {
            swb_log(SWB_LOG_ERROR, "worker", "out_of_memory", NULL);
            r->rc = 1;
            return;
        }
        void *zs = swb_worker_zsock(r->w);
        if (zs)
            r->items[n++] = (zmq_pollitem_t){zs, 0, ZMQ_POLLIN, 0};
        r->items[n++] = (zmq_pollitem_t){NULL, r->sigfd, ZMQ_POLLIN, 0};
        for (size_t i = 0; i < r->njobs; i++)
            n += swbw_job_pollfds(r->jobs[i], r->items + n);
        if (zmq_poll(r->items, (int)n, RUN_TICK_MS) < 0 && zmq_errno() != EINTR)
            swb_log(SWB_LOG_ERROR, "worker", "poll", "error=%s",
                     zmq_strerror(zmq_errno()));
        uint64_t now = swb_mono_ms();
        run_signals_read(r, now);
        run_pump_jobs(r, now);
        if (!run_session(r, now))
            return;
        if (r->stopping) {
            if (!r->grace_over && now >= r->stop_at && r->njobs)
                run_grace_over(r, now);
            if (!r->njobs)
                return;
        }
    }
}

int
swbw_run(swb_worker_t **w, const swbw_opts_t *o)
{
    runner_t r;
    memset(&r, 0, sizeof r);
    r.w = *w;
    r.o = o;
    *w = NULL;
    r.sigfd = swbw_sig_install();
    if (r.sigfd < 0) {
        swb_log(SWB_LOG_ERROR, "worker", "signals", "error=%s", strerror(errno));
        swb_worker_destroy(&r.w, 0);
        return 1;
    }
    swb_log(SWB_LOG_INFO, "worker", "started", "broker=%s pid=%d", o->broker, (int)getpid());
    run_loop(&r);
    /* Fatal error or out of memory: nothing may keep running. */
    for (size_t i = 0; i < r.njobs; i++) {
        if (r.jobs[i]->task)
            (void)swb_worker_release(r.w, &r.jobs[i]->task);
        swbw_job_free(&r.jobs[i]);
    }
    free(r.jobs);
    free(r.items);
    swb_log(SWB_LOG_INFO, "worker", "bye", "held=%zu unacked=%zu", swb_worker_held(r.w),
             swb_worker_unacked(r.w));
    swb_worker_destroy(&r.w, r.rc == 3 ? 0 : o->linger_ms);
    swbw_sig_remove();
    swb_log(SWB_LOG_INFO, "worker", "stopped", "exit=%d", r.rc);
    return r.rc;
}
