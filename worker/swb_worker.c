/*
 * swb_worker.c - the worker session of libswitchboard (see swb_worker.h).
 *
 * One DEALER socket to the broker's worker endpoint; every message is one
 * frame of swb_msg_encode(). The session is a small state machine driven
 * only from swb_worker_poll:
 *
 *   connecting --HELLO--> waiting for WELCOME --WELCOME--> welcomed
 *        ^                        |                           |
 *        +---- backoff <---- 3 heartbeats of silence <--------+
 *
 * While welcomed it heartbeats every `heartbeat` ms. Any frame from the
 * broker counts as a sign of life; after 3 silent periods the socket is
 * destroyed and a fresh one connects after a backoff (100 ms doubling to
 * 5 s, reset by a WELCOME), saying HELLO with `holding` = the tasks still
 * held plus those whose DONE / FAIL is not yet acknowledged.
 *
 * Answers (DONE / FAIL / RELEASE) are kept encoded in a pending table and
 * re-sent every heartbeat period and after every WELCOME until the broker
 * ACKs them or says (ERROR stale_lease / not_found) it no longer wants them.
 * Offers and revokes reach the caller through a small event queue, one per
 * swb_worker_poll call.
 *
 * Not here: running handlers, logging (the caller logs; the last broker
 * error is kept for swb_worker_last_error), any policy about how many tasks
 * to take (the broker decides what it offers).
 */
#include "swb_worker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "swb_domain.h"

#define WK_HB_DEFAULT 1000 /* ms, until a WELCOME says otherwise */
#define WK_HB_MIN 10       /* ms, floor for a broker's heartbeat */
#define WK_MISSED 3        /* silent heartbeat periods = broker gone */
#define WK_BACKOFF_MIN 100 /* ms */
#define WK_BACKOFF_MAX 5000
#define WK_MAX_HOLDING 1000 /* the HELLO schema's limit */

/* An answer waiting for its ACK, kept encoded for re-sending. */
typedef struct wk_pending {
    swb_msg_type_t type; /* DONE, FAIL or RELEASE */
    uint64_t id;
    uint64_t lease;
    void *frame; /* owned */
    size_t len;
    uint64_t sent_at; /* mono ms of the last send, 0 = never */
} wk_pending_t;

/* Something for the caller: an offer (task owned here until handed out)
 * or a revoked task id. */
typedef struct wk_event {
    struct wk_event *next;
    swb_task_t *offer;
    uint64_t revoked;
} wk_event_t;

struct swb_worker {
    char *endpoint;
    swb_m_hello_t profile; /* deep copy, holding empty */
    zsock_t *sock;         /* NULL only if a re-open failed */
    bool welcomed;
    bool closing; /* inside swb_worker_destroy */
    uint64_t hb_ms;
    uint64_t lease_ms;
    uint64_t last_rx;    /* mono ms of the last frame from the broker */
    uint64_t last_hb;    /* mono ms of the last HEARTBEAT sent */
    uint64_t last_hello; /* mono ms of the last HELLO sent */
    uint64_t connect_at; /* mono ms to (re)connect at; 0 = connected */
    uint64_t backoff;
    swb_hold_t *held; /* offered, not yet answered */
    size_t nheld;
    size_t capheld;
    wk_pending_t *pend;
    size_t npend;
    size_t cappend;
    wk_event_t *ev_head;
    wk_event_t *ev_tail;
    swb_err_t fatal; /* SWB_OK, or the error every poll now returns */
    char last_error[640];
};

static void
wk_set_error(swb_worker_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
wk_set_error(swb_worker_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->last_error, sizeof w->last_error, fmt, ap);
    va_end(ap);
}

/* ---- sending ------------------------------------------------------------ */

/* Never blocks: a frame that does not fit the queue is dropped (pending
 * answers are re-sent, HELLO and heartbeats are repeated anyway). */
static bool
wk_send_frame(swb_worker_t *w, const void *buf, size_t len)
{
    if (!w->sock || w->connect_at)
        return false;
    return zmq_send(zsock_resolve(w->sock), buf, len, ZMQ_DONTWAIT) >= 0;
}

static bool
wk_send_msg(swb_worker_t *w, const swb_msg_t *m)
{
    void *buf;
    size_t len;
    if (swb_msg_encode(m, &buf, &len) != SWB_OK)
        return false;
    bool ok = wk_send_frame(w, buf, len);
    free(buf);
    return ok;
}

static void
wk_send_empty(swb_worker_t *w, swb_msg_type_t type)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    (void)wk_send_msg(w, &m);
}

/* HELLO with the profile and what we still hold (held tasks, then those
 * whose DONE / FAIL waits for its ACK). */
static void
wk_send_hello(swb_worker_t *w, uint64_t now)
{
    size_t cap = w->nheld + w->npend;
    swb_hold_t *hold = cap ? calloc(cap, sizeof *hold) : NULL;
    size_t n = 0;
    for (size_t i = 0; hold && i < w->nheld && n < WK_MAX_HOLDING; i++)
        hold[n++] = w->held[i];
    for (size_t i = 0; hold && i < w->npend && n < WK_MAX_HOLDING; i++) {
        if (w->pend[i].type == SWB_MSG_RELEASE)
            continue; /* handed back: not ours any more */
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
    (void)wk_send_msg(w, &m);
    free(hold);
    w->last_hello = now;
}

/* ---- connection --------------------------------------------------------- */

static swb_err_t
wk_open(swb_worker_t *w)
{
    w->sock = zsock_new(ZMQ_DEALER);
    if (!w->sock)
        return SWB_ESYS;
    zsock_set_linger(w->sock, 0);
    return SWB_OK;
}

static void
wk_connect(swb_worker_t *w, uint64_t now)
{
    if (!w->sock && wk_open(w) != SWB_OK) {
        w->connect_at = now + w->backoff;
        return;
    }
    if (zsock_connect(w->sock, "%s", w->endpoint) != 0) {
        wk_set_error(w, "cannot connect to %s: %s", w->endpoint,
                     zmq_strerror(zmq_errno()));
        w->connect_at = now + w->backoff;
        return;
    }
    w->connect_at = 0;
    w->welcomed = false;
    w->last_rx = now;
    wk_send_hello(w, now);
}

/* The broker went silent: drop the socket, reconnect after the backoff. */
static void
wk_drop_connection(swb_worker_t *w, uint64_t now)
{
    zsock_destroy(&w->sock);
    (void)wk_open(w); /* on failure wk_connect retries */
    w->welcomed = false;
    w->connect_at = now + w->backoff;
    w->backoff = w->backoff * 2 > WK_BACKOFF_MAX ? WK_BACKOFF_MAX
                                                : w->backoff * 2;
    wk_set_error(w, "broker %s silent for %llu ms; reconnecting",
                 w->endpoint, (unsigned long long)(WK_MISSED * w->hb_ms));
}

/* ---- held tasks, pending answers, events -------------------------------- */

static long
wk_held_find(const swb_worker_t *w, uint64_t id)
{
    for (size_t i = 0; i < w->nheld; i++)
        if (w->held[i].id == id)
            return (long)i;
    return -1;
}

static void
wk_held_remove(swb_worker_t *w, long i)
{
    w->held[i] = w->held[--w->nheld];
}

static swb_err_t
wk_held_add(swb_worker_t *w, uint64_t id, uint64_t lease)
{
    if (w->nheld == w->capheld) {
        size_t cap = w->capheld ? w->capheld * 2 : 16;
        swb_hold_t *nv = realloc(w->held, cap * sizeof *nv);
        if (!nv)
            return SWB_ENOMEM;
        w->held = nv;
        w->capheld = cap;
    }
    w->held[w->nheld].id = id;
    w->held[w->nheld].lease = lease;
    w->nheld++;
    return SWB_OK;
}

static void
wk_pend_remove(swb_worker_t *w, size_t i)
{
    free(w->pend[i].frame);
    w->pend[i] = w->pend[--w->npend];
}

/* Removes pending answers for id (any lease when lease is 0). */
static bool
wk_pend_drop(swb_worker_t *w, uint64_t id, uint64_t lease)
{
    bool any = false;
    for (size_t i = 0; i < w->npend;) {
        if (w->pend[i].id == id && (!lease || w->pend[i].lease == lease)) {
            wk_pend_remove(w, i);
            any = true;
        } else {
            i++;
        }
    }
    return any;
}

/* Queues an encoded answer (takes msg's fields by reference only) and
 * sends it now when the session is up. */
static swb_err_t
wk_pend_add(swb_worker_t *w, const swb_msg_t *m, uint64_t id, uint64_t lease)
{
    if (w->npend == w->cappend) {
        size_t cap = w->cappend ? w->cappend * 2 : 16;
        wk_pending_t *nv = realloc(w->pend, cap * sizeof *nv);
        if (!nv)
            return SWB_ENOMEM;
        w->pend = nv;
        w->cappend = cap;
    }
    wk_pending_t *p = &w->pend[w->npend];
    memset(p, 0, sizeof *p);
    swb_err_t rc = swb_msg_encode(m, &p->frame, &p->len);
    if (rc)
        return rc;
    p->type = m->type;
    p->id = id;
    p->lease = lease;
    w->npend++;
    if (w->welcomed && wk_send_frame(w, p->frame, p->len))
        p->sent_at = swb_mono_ms();
    return SWB_OK;
}

static void
wk_resend(swb_worker_t *w, uint64_t now, bool all)
{
    for (size_t i = 0; i < w->npend; i++) {
        wk_pending_t *p = &w->pend[i];
        if (all || now - p->sent_at >= w->hb_ms) {
            (void)wk_send_frame(w, p->frame, p->len);
            p->sent_at = now; /* a full queue: try again next period */
        }
    }
}

static void
wk_event_push(swb_worker_t *w, wk_event_t *e)
{
    e->next = NULL;
    if (w->ev_tail)
        w->ev_tail->next = e;
    else
        w->ev_head = e;
    w->ev_tail = e;
}

/* Removes a queued (not yet handed out) offer of task id; true if found. */
static bool
wk_event_forget(swb_worker_t *w, uint64_t id)
{
    wk_event_t *prev = NULL;
    for (wk_event_t *e = w->ev_head; e; prev = e, e = e->next) {
        if (!e->offer || e->offer->id != id)
            continue;
        if (prev)
            prev->next = e->next;
        else
            w->ev_head = e->next;
        if (w->ev_tail == e)
            w->ev_tail = prev;
        swb_worker_task_free(&e->offer);
        free(e);
        return true;
    }
    return false;
}

/* The broker took task id back: report it unless the caller never saw it. */
static void
wk_revoke_held(swb_worker_t *w, long h)
{
    uint64_t id = w->held[h].id;
    wk_held_remove(w, h);
    if (wk_event_forget(w, id) || w->closing)
        return;
    wk_event_t *e = calloc(1, sizeof *e);
    if (!e)
        return; /* the caller's answer will be refused as stale */
    e->revoked = id;
    wk_event_push(w, e);
}

/* ---- handling what the broker sends ------------------------------------- */

/* Queues a message of just id + lease (RELEASE). */
static swb_err_t
wk_queue_lease_msg(swb_worker_t *w, swb_msg_type_t type, uint64_t id,
                   uint64_t lease)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.u.lease.id = id;
    m.u.lease.lease = lease;
    return wk_pend_add(w, &m, id, lease);
}

static void
wk_on_offer(swb_worker_t *w, swb_msg_t *m)
{
    swb_task_t *t = m->u.offer.task;
    m->u.offer.task = NULL;
    if (!t)
        return;
    if (w->closing) { /* shutting down: hand it straight back */
        (void)wk_queue_lease_msg(w, SWB_MSG_RELEASE, t->id, t->lease);
        swb_worker_task_free(&t);
        return;
    }
    long h = wk_held_find(w, t->id);
    if (h >= 0 && w->held[h].lease == t->lease) {
        swb_worker_task_free(&t); /* a duplicate of what we run */
        return;
    }
    if (h >= 0) /* offered again under a new lease: the old one is gone */
        wk_revoke_held(w, h);
    wk_event_t *e = calloc(1, sizeof *e);
    if (!e || wk_held_add(w, t->id, t->lease) != SWB_OK) {
        free(e);
        swb_worker_task_free(&t); /* the lease will run out broker-side */
        return;
    }
    e->offer = t;
    wk_event_push(w, e);
}

static void
wk_on_revoke(swb_worker_t *w, const swb_m_lease_t *r)
{
    long h = wk_held_find(w, r->id);
    if (h < 0) {
        (void)wk_pend_drop(w, r->id, r->lease); /* no answer wanted now */
        return;
    }
    if (r->lease && w->held[h].lease != r->lease)
        return; /* about an older lease of a task we now hold anew */
    wk_revoke_held(w, h);
}

static bool
wk_code_is(const char *code, const char *name)
{
    return code && strcmp(code, name) == 0;
}

/* An ERROR about one of our answers (or held tasks). */
static void
wk_on_task_error(swb_worker_t *w, const swb_m_error_t *e)
{
    if (wk_code_is(e->code, "stale_lease") ||
        wk_code_is(e->code, "not_found")) {
        if (!wk_pend_drop(w, e->id, 0)) {
            long h = wk_held_find(w, e->id);
            if (h >= 0)
                wk_revoke_held(w, h);
        }
        return;
    }
    if (!wk_code_is(e->code, "invalid") && !wk_code_is(e->code, "too_big") &&
        !wk_code_is(e->code, "malformed"))
        return; /* transient (store full, ...): re-sent next period */
    /* The broker will never take this answer as it is. A refused result
     * becomes a failed attempt; anything else is dropped. */
    for (size_t i = 0; i < w->npend; i++) {
        if (w->pend[i].id != e->id)
            continue;
        swb_msg_type_t type = w->pend[i].type;
        uint64_t lease = w->pend[i].lease;
        wk_pend_remove(w, i);
        if (type == SWB_MSG_DONE) {
            char reason[SWB_MAX_REASON];
            swb_msg_t m;
            memset(&m, 0, sizeof m);
            snprintf(reason, sizeof reason, "broker refused the result "
                     "(%s): %.900s", e->code, e->message ? e->message : "");
            m.type = SWB_MSG_FAIL;
            m.u.fail.id = e->id;
            m.u.fail.lease = lease;
            m.u.fail.reason = reason;
            (void)wk_pend_add(w, &m, e->id, lease);
        }
        return;
    }
}

static void
wk_on_error(swb_worker_t *w, const swb_m_error_t *e, uint64_t now)
{
    wk_set_error(w, "broker error %s%s%s: %s", e->code,
                 e->field ? " in " : "", e->field ? e->field : "",
                 e->message ? e->message : "");
    if (e->id) {
        wk_on_task_error(w, e);
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
            wk_send_hello(w, now);
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
    wk_resend(w, now, true);
}

static void
wk_on_ack(swb_worker_t *w, const swb_m_lease_t *a)
{
    (void)wk_pend_drop(w, a->id, a->lease);
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
        wk_set_error(w, "bad frame from broker (%s%s%s): %s",
                     swb_err_name(rc), de.field[0] ? " in " : "", de.field,
                     de.message);
        if (rc == SWB_EVERSION && !w->closing)
            w->fatal = SWB_EVERSION;
        return;
    }
    switch (m.type) {
    case SWB_MSG_WELCOME: wk_on_welcome(w, &m.u.welcome, now); break;
    case SWB_MSG_HEARTBEAT: break;
    case SWB_MSG_OFFER: wk_on_offer(w, &m); break;
    case SWB_MSG_ACK: wk_on_ack(w, &m.u.lease); break;
    case SWB_MSG_REVOKE: wk_on_revoke(w, &m.u.lease); break;
    case SWB_MSG_ERROR: wk_on_error(w, &m.u.error, now); break;
    default:
        wk_set_error(w, "unexpected %s from broker", swb_msg_name(m.type));
        break;
    }
    swb_msg_clear(&m);
}

/* Reads one frame if there is one; true if it did. */
static bool
wk_recv_one(swb_worker_t *w, uint64_t now)
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

static void
wk_tick(swb_worker_t *w, uint64_t now)
{
    if (w->connect_at) {
        if (now >= w->connect_at)
            wk_connect(w, now);
        return;
    }
    if (now - w->last_rx >= WK_MISSED * w->hb_ms) {
        wk_drop_connection(w, now);
        return;
    }
    if (!w->welcomed)
        return;
    if (now - w->last_hb >= w->hb_ms) {
        wk_send_empty(w, SWB_MSG_HEARTBEAT);
        w->last_hb = now;
    }
    wk_resend(w, now, false);
}

/* Milliseconds until wk_tick has something to do. */
static uint64_t
wk_next_due(const swb_worker_t *w, uint64_t now)
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

/* ---- public API --------------------------------------------------------- */

swb_err_t
swb_worker_new(const char *endpoint, const swb_m_hello_t *profile,
               swb_worker_t **out)
{
    *out = NULL;
    if (!endpoint || !*endpoint || !profile || !profile->site ||
        !*profile->site || !profile->agent || !*profile->agent ||
        profile->channels.n == 0)
        return SWB_EINVAL;
    swb_worker_t *w = calloc(1, sizeof *w);
    if (!w)
        return SWB_ENOMEM;
    swb_m_hello_t tmp = *profile;
    tmp.holding.v = NULL;
    tmp.holding.n = 0;
    swb_err_t rc = swb_codec_copy(swb_msg_schema(SWB_MSG_HELLO), &w->profile,
                                  &tmp);
    if (rc) { /* the copy re-checks every limit of the HELLO schema */
        swb_worker_destroy(&w, 0);
        return rc == SWB_ENOMEM ? SWB_ENOMEM : SWB_EINVAL;
    }
    w->endpoint = strdup(endpoint);
    w->hb_ms = WK_HB_DEFAULT;
    w->backoff = WK_BACKOFF_MIN;
    if (!w->endpoint) {
        swb_worker_destroy(&w, 0);
        return SWB_ENOMEM;
    }
    if (wk_open(w) != SWB_OK) {
        swb_worker_destroy(&w, 0);
        return SWB_ESYS;
    }
    if (zsock_connect(w->sock, "%s", endpoint) != 0) {
        swb_worker_destroy(&w, 0);
        return SWB_EINVAL;
    }
    uint64_t now = swb_mono_ms();
    w->last_rx = now;
    wk_send_hello(w, now);
    *out = w;
    return SWB_OK;
}

void
swb_worker_destroy(swb_worker_t **pw, int linger_ms)
{
    swb_worker_t *w = pw ? *pw : NULL;
    if (!w)
        return;
    *pw = NULL;
    w->closing = true;
    while (w->ev_head) { /* offers never handed out stay in held */
        wk_event_t *e = w->ev_head;
        w->ev_head = e->next;
        swb_worker_task_free(&e->offer);
        free(e);
    }
    w->ev_tail = NULL;
    uint64_t now = swb_mono_ms();
    uint64_t end = now + (uint64_t)(linger_ms > 0 ? linger_ms : 0);
    if (w->sock && !w->connect_at && w->welcomed) {
        /* Hand back what we hold, say goodbye, wait for the ACKs. */
        while (w->nheld) {
            swb_hold_t h = w->held[--w->nheld];
            (void)wk_queue_lease_msg(w, SWB_MSG_RELEASE, h.id, h.lease);
        }
        wk_send_empty(w, SWB_MSG_BYE);
        while (w->npend && (now = swb_mono_ms()) < end) {
            zmq_pollitem_t it = {zsock_resolve(w->sock), 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&it, 1, (long)(end - now)) > 0)
                while (wk_recv_one(w, swb_mono_ms()))
                    ;
        }
    }
    if (w->sock) {
        now = swb_mono_ms();
        uint64_t left = end > now ? end - now : 0;
        if (left < 200 && linger_ms > 0) /* let BYE and RELEASEs flush */
            left = (uint64_t)linger_ms < 200 ? (uint64_t)linger_ms : 200;
        zsock_set_linger(w->sock, (int)left);
        zsock_destroy(&w->sock);
    }
    while (w->npend)
        wk_pend_remove(w, w->npend - 1);
    free(w->pend);
    free(w->held);
    swb_codec_free(swb_msg_schema(SWB_MSG_HELLO), &w->profile);
    free(w->endpoint);
    free(w);
}

swb_err_t
swb_worker_poll(swb_worker_t *w, int timeout_ms, swb_task_t **offer,
                uint64_t *revoked)
{
    if (offer)
        *offer = NULL;
    if (revoked)
        *revoked = 0;
    if (!w || !offer)
        return SWB_EINVAL;
    uint64_t now = swb_mono_ms();
    uint64_t end = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (w->fatal)
            return w->fatal;
        if (w->ev_head) {
            wk_event_t *e = w->ev_head;
            w->ev_head = e->next;
            if (!w->ev_head)
                w->ev_tail = NULL;
            *offer = e->offer;
            if (revoked)
                *revoked = e->revoked;
            free(e);
            return SWB_OK;
        }
        now = swb_mono_ms();
        wk_tick(w, now);
        if (wk_recv_one(w, now))
            continue;
        now = swb_mono_ms();
        if (now >= end)
            return SWB_ETIMEOUT;
        uint64_t wait = end - now;
        uint64_t due = wk_next_due(w, now);
        if (due < wait)
            wait = due;
        if (w->sock && !w->connect_at) {
            zmq_pollitem_t it = {zsock_resolve(w->sock), 0, ZMQ_POLLIN, 0};
            (void)zmq_poll(&it, 1, (long)wait);
        } else {
            zclock_sleep((int)wait);
        }
    }
}

/* A copy of reason that the wire accepts: at most SWB_MAX_REASON bytes
 * of valid UTF-8 without NUL, bad bytes replaced by '?'. */
static char *
wk_reason_dup(const char *reason)
{
    const unsigned char *p = (const unsigned char *)(reason ? reason : "");
    size_t n = strlen((const char *)p);
    char *out = malloc(n + 1 > SWB_MAX_REASON + 1 ? SWB_MAX_REASON + 1
                                                  : n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t extra = c < 0x80 ? 0
                       : (c >= 0xc2 && c <= 0xdf) ? 1
                       : (c >= 0xe0 && c <= 0xef) ? 2
                       : (c >= 0xf0 && c <= 0xf4) ? 3
                                                  : 9;
        bool ok = extra != 9 && i + extra < n + (extra ? 0 : 1);
        if (ok && extra &&
            ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
             (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f)))
            ok = false;
        for (size_t k = 1; ok && k <= extra; k++)
            ok = (p[i + k] & 0xc0) == 0x80;
        size_t take = ok ? extra + 1 : 1;
        if (o + take > SWB_MAX_REASON)
            break;
        if (ok)
            memcpy(out + o, p + i, take);
        else
            out[o] = '?';
        o += take;
        i += take;
    }
    out[o] = 0;
    return out;
}

/* Common tail of done / fail / release: the task must be one we hold. */
static swb_err_t
wk_answer(swb_worker_t *w, swb_task_t **task, const swb_msg_t *m)
{
    swb_task_t *t = *task;
    long h = wk_held_find(w, t->id);
    if (h < 0 || w->held[h].lease != t->lease) {
        swb_worker_task_free(task); /* revoked or re-offered meanwhile */
        return SWB_ESTALE;
    }
    swb_err_t rc = wk_pend_add(w, m, t->id, t->lease);
    if (rc)
        return rc; /* *task stays with the caller */
    wk_held_remove(w, h);
    swb_worker_task_free(task);
    return SWB_OK;
}

swb_err_t
swb_worker_done(swb_worker_t *w, swb_task_t **task, const void *result,
                size_t len)
{
    if (!w || !task || !*task || (len && !result))
        return SWB_EINVAL;
    if (len > SWB_MAX_PAYLOAD)
        return SWB_ETOOBIG;
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = SWB_MSG_DONE;
    m.u.done.id = (*task)->id;
    m.u.done.lease = (*task)->lease;
    m.u.done.result.data = (uint8_t *)(uintptr_t)result; /* only read */
    m.u.done.result.len = len;
    return wk_answer(w, task, &m);
}

swb_err_t
swb_worker_fail(swb_worker_t *w, swb_task_t **task, const char *reason,
                bool final)
{
    if (!w || !task || !*task)
        return SWB_EINVAL;
    char *r = wk_reason_dup(reason);
    if (!r)
        return SWB_ENOMEM;
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = SWB_MSG_FAIL;
    m.u.fail.id = (*task)->id;
    m.u.fail.lease = (*task)->lease;
    m.u.fail.reason = *r ? r : NULL;
    m.u.fail.final = final;
    swb_err_t rc = wk_answer(w, task, &m);
    free(r);
    return rc;
}

swb_err_t
swb_worker_release(swb_worker_t *w, swb_task_t **task)
{
    if (!w || !task || !*task)
        return SWB_EINVAL;
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = SWB_MSG_RELEASE;
    m.u.lease.id = (*task)->id;
    m.u.lease.lease = (*task)->lease;
    return wk_answer(w, task, &m);
}

void
swb_worker_task_free(swb_task_t **task)
{
    if (!task || !*task)
        return;
    swb_codec_free(&swb_task_schema, *task);
    free(*task);
    *task = NULL;
}

void *
swb_worker_zsock(swb_worker_t *w)
{
    return w && w->sock ? zsock_resolve(w->sock) : NULL;
}

size_t
swb_worker_held(const swb_worker_t *w)
{
    return w ? w->nheld : 0;
}

size_t
swb_worker_unacked(const swb_worker_t *w)
{
    return w ? w->npend : 0;
}

bool
swb_worker_connected(const swb_worker_t *w)
{
    return w && w->welcomed && !w->connect_at &&
           swb_mono_ms() - w->last_rx < WK_MISSED * w->hb_ms;
}

const char *
swb_worker_last_error(const swb_worker_t *w)
{
    return w ? w->last_error : "";
}
