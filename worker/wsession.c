/*
 * wsession.c - the connection of a worker session (see wk_int.h).
 *
 * One DEALER socket to the broker's worker endpoint; every message is one
 * frame of swb_msg_encode(). The session is a small state machine driven
 * only from swb_worker_next / swb_worker_poll:
 *
 *   connecting --HELLO--> waiting for WELCOME --WELCOME--> welcomed
 *        ^                        |                           |
 *        +---- backoff <---- 3 heartbeats of silence <--------+
 *
 * While welcomed it heartbeats every `heartbeat` ms. Any frame from the
 * broker counts as a sign of life; after 3 silent periods the socket is
 * destroyed and a fresh one connects after a backoff (100 ms doubling to
 * 5 s, reset by a WELCOME), saying HELLO with `holding` = the tasks still
 * held plus those whose DONE / FAIL is not yet acknowledged, and `state`
 * = the agent state we are in (its reason follows in a STATE once
 * welcomed). Frames are decoded here and handed to wtasks.c by type.
 *
 * Not here: the held / pending tables and events (wtasks.c), the public
 * functions (swb_worker.c).
 */
#include "wk_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_domain.h"

void
swb_wk_set_error(swb_worker_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->last_error, sizeof w->last_error, fmt, ap);
    va_end(ap);
}

/* ---- sending ------------------------------------------------------------ */

/* Never blocks: a frame that does not fit the queue is dropped (pending
 * answers are re-sent, HELLO and heartbeats are repeated anyway). */
bool
swb_wk_send_frame(swb_worker_t *w, const void *buf, size_t len)
{
    if (!w->sock || w->connect_at)
        return false;
    return zmq_send(zsock_resolve(w->sock), buf, len, ZMQ_DONTWAIT) >= 0;
}

bool
swb_wk_send_msg(swb_worker_t *w, const swb_msg_t *m)
{
    void *buf;
    size_t len;
    if (swb_msg_encode(m, &buf, &len) != SWB_OK)
        return false;
    bool ok = swb_wk_send_frame(w, buf, len);
    free(buf);
    return ok;
}

void
swb_wk_send_empty(swb_worker_t *w, swb_msg_type_t type)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    (void)swb_wk_send_msg(w, &m);
}

void
swb_wk_send_state(swb_worker_t *w)
{
    if (w->state != SWB_AG_READY && w->state != SWB_AG_NOT_READY &&
        w->state != SWB_AG_BREAK)
        return; /* the broker's own states are not ours to say */
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = SWB_MSG_STATE;
    m.u.state.state = (char *)swb_agent_state_name(w->state);
    m.u.state.reason = w->reason[0] ? w->reason : NULL;
    if (swb_wk_send_msg(w, &m))
        w->state_unsent = false;
}

/* The state a HELLO may carry: ready (as NULL), not-ready or break. A
 * wrap-up or offline state the broker set says nothing about the next
 * session: it starts ready. */
static char *
wk_hello_state(const swb_worker_t *w)
{
    if (w->state == SWB_AG_NOT_READY || w->state == SWB_AG_BREAK)
        return (char *)swb_agent_state_name(w->state);
    return NULL;
}

/* HELLO with the profile, the agent state and what we still hold (held
 * tasks, then those whose DONE / FAIL waits for its ACK). */
void
swb_wk_send_hello(swb_worker_t *w, uint64_t now)
{
    size_t cap = w->nheld + w->npend;
    swb_hold_t *hold = cap ? calloc(cap, sizeof *hold) : NULL;
    size_t n = 0;
    for (size_t i = 0; hold && i < w->nheld && n < WK_MAX_HOLDING; i++) {
        hold[n].id = w->held[i].id;
        hold[n].lease = w->held[i].lease;
        n++;
    }
    for (size_t i = 0; hold && i < w->npend && n < WK_MAX_HOLDING; i++) {
        if (w->pend[i].type != SWB_MSG_DONE &&
            w->pend[i].type != SWB_MSG_FAIL)
            continue; /* handed back, or (ACCEPT) already in held */
        hold[n].id = w->pend[i].id;
        hold[n].lease = w->pend[i].lease;
        n++;
    }
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = SWB_MSG_HELLO;
    m.u.hello = w->profile; /* shallow: nothing here is freed */
    m.u.hello.holding.v = hold;
    m.u.hello.holding.n = n;
    m.u.hello.state = wk_hello_state(w);
    (void)swb_wk_send_msg(w, &m);
    free(hold);
    w->last_hello = now;
}

/* ---- connection --------------------------------------------------------- */

swb_err_t
swb_wk_open(swb_worker_t *w)
{
    w->sock = zsock_new(ZMQ_DEALER);
    if (!w->sock)
        return SWB_ESYS;
    zsock_set_linger(w->sock, 0);
    if (w->secure)
        swb_curve_apply(&w->keys, w->sock);
    return SWB_OK;
}

void
swb_wk_connect(swb_worker_t *w, uint64_t now)
{
    if (!w->sock && swb_wk_open(w) != SWB_OK) {
        w->connect_at = now + w->backoff;
        return;
    }
    if (zsock_connect(w->sock, "%s", w->endpoint) != 0) {
        swb_wk_set_error(w, "cannot connect to %s: %s", w->endpoint,
                         zmq_strerror(zmq_errno()));
        w->connect_at = now + w->backoff;
        return;
    }
    w->connect_at = 0;
    w->welcomed = false;
    w->last_rx = now;
    swb_wk_send_hello(w, now);
}

/* The broker went silent: drop the socket, reconnect after the backoff. */
static void
wk_drop_connection(swb_worker_t *w, uint64_t now)
{
    zsock_destroy(&w->sock);
    (void)swb_wk_open(w); /* on failure swb_wk_connect retries */
    w->welcomed = false;
    w->connect_at = now + w->backoff;
    w->backoff = w->backoff * 2 > WK_BACKOFF_MAX ? WK_BACKOFF_MAX
                                                : w->backoff * 2;
    swb_wk_set_error(w, "broker %s silent for %llu ms; reconnecting",
                     w->endpoint, (unsigned long long)(WK_MISSED * w->hb_ms));
}

/* ---- what the broker sends ---------------------------------------------- */

static bool
wk_code_is(const char *code, const char *name)
{
    return code && strcmp(code, name) == 0;
}

static void
wk_on_error(swb_worker_t *w, const swb_m_error_t *e, uint64_t now)
{
    swb_wk_set_error(w, "broker error %s%s%s: %s", e->code,
                     e->field ? " in " : "", e->field ? e->field : "",
                     e->message ? e->message : "");
    if (e->id) {
        swb_wk_on_task_error(w, e);
        return;
    }
    if (wk_code_is(e->code, "version")) {
        w->fatal = SWB_EVERSION;
        return;
    }
    if (wk_code_is(e->code, "protocol")) {
        /* "unknown session, say hello first" (e.g. a restarted broker).
         * Several frames may bounce at once: one HELLO per period. */
        if (w->closing)
            return;
        if (w->welcomed || now - w->last_hello >= w->hb_ms)
            swb_wk_send_hello(w, now);
        w->welcomed = false;
        return;
    }
    if (!w->welcomed && !w->closing)
        w->fatal = SWB_EREFUSED; /* the HELLO itself was refused */
}

static void
wk_on_welcome(swb_worker_t *w, const swb_m_welcome_t *wel, uint64_t now)
{
    w->hb_ms = wel->heartbeat < WK_HB_MIN ? WK_HB_MIN : wel->heartbeat;
    w->lease_ms = wel->lease;
    w->welcomed = true;
    w->backoff = WK_BACKOFF_MIN;
    w->last_hb = now;
    if (w->reason[0] || w->state_unsent) /* HELLO has no reason code and */
        swb_wk_send_state(w); /* may have gone out before a change  */
    swb_wk_resend(w, now, true);
}

/* One frame from the broker. */
static void
wk_handle(swb_worker_t *w, const void *buf, size_t len, uint64_t now)
{
    swb_msg_t m;
    swb_decode_err_t de;
    memset(&de, 0, sizeof de);
    w->last_rx = now; /* any frame is a sign of life */
    swb_err_t rc = swb_msg_decode(buf, len, &m, &de);
    if (rc) {
        swb_wk_set_error(w, "bad frame from broker (%s%s%s): %s",
                         swb_err_name(rc), de.field[0] ? " in " : "",
                         de.field, de.message);
        if (rc == SWB_EVERSION && !w->closing)
            w->fatal = SWB_EVERSION;
        return;
    }
    switch (m.type) {
    case SWB_MSG_WELCOME: wk_on_welcome(w, &m.u.welcome, now); break;
    case SWB_MSG_HEARTBEAT: break;
    case SWB_MSG_OFFER: swb_wk_on_offer(w, &m, now); break;
    case SWB_MSG_ACK: swb_wk_on_ack(w, &m.u.lease); break;
    case SWB_MSG_REVOKE: swb_wk_on_revoke(w, &m.u.lease); break;
    case SWB_MSG_STATE: swb_wk_on_state(w, &m.u.state); break;
    case SWB_MSG_ERROR: wk_on_error(w, &m.u.error, now); break;
    default:
        swb_wk_set_error(w, "unexpected %s from broker",
                         swb_msg_name(m.type));
        break;
    }
    swb_msg_clear(&m);
}

bool
swb_wk_recv_one(swb_worker_t *w, uint64_t now)
{
    if (!w->sock || w->connect_at)
        return false;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, zsock_resolve(w->sock), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return false;
    }
    bool more = zmq_msg_more(&msg);
    wk_handle(w, zmq_msg_data(&msg), zmq_msg_size(&msg), now);
    zmq_msg_close(&msg);
    while (more) { /* not our protocol: drop the rest of the message */
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, zsock_resolve(w->sock), ZMQ_DONTWAIT) < 0)
            more = false;
        else
            more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
    }
    return true;
}

/* ---- timers -------------------------------------------------------------- */

void
swb_wk_tick(swb_worker_t *w, uint64_t now)
{
    if (w->connect_at) {
        if (now >= w->connect_at)
            swb_wk_connect(w, now);
        return;
    }
    if (now - w->last_rx >= WK_MISSED * w->hb_ms) {
        wk_drop_connection(w, now);
        return;
    }
    if (!w->welcomed)
        return;
    if (now - w->last_hb >= w->hb_ms) {
        swb_wk_send_empty(w, SWB_MSG_HEARTBEAT);
        w->last_hb = now;
    }
    swb_wk_resend(w, now, false);
}

uint64_t
swb_wk_next_due(const swb_worker_t *w, uint64_t now)
{
    if (w->connect_at)
        return w->connect_at > now ? w->connect_at - now : 0;
    uint64_t due = w->last_rx + WK_MISSED * w->hb_ms;
    if (w->welcomed) {
        if (w->last_hb + w->hb_ms < due)
            due = w->last_hb + w->hb_ms;
        for (size_t i = 0; i < w->npend; i++)
            if (w->pend[i].sent_at + w->hb_ms < due)
                due = w->pend[i].sent_at + w->hb_ms;
    }
    return due > now ? due - now : 0;
}
