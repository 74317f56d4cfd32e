/*
 * wtasks.c - what a worker session holds (see wk_int.h): offered tasks,
 * answers waiting for their ACK, and events for the caller.
 *
 * Held tasks are the ones offered and not yet answered, with their lease
 * and, for a ringing offer, when its ring ends. Answers (DONE / FAIL /
 * RELEASE / ACCEPT / REJECT) are kept encoded in the pending table and
 * re-sent every heartbeat period and after every WELCOME until the broker
 * ACKs them or says (ERROR stale_lease / not_found) it no longer wants
 * them. An answer the broker will never take as it is (invalid, too big,
 * bad state) is turned into the next best one: a refused DONE into a
 * FAIL, a refused REJECT (the offer was accepted meanwhile) into a
 * RELEASE; anything else is dropped.
 *
 * Offers, revokes and broker-set agent states reach the caller through a
 * FIFO of events, one per swb_worker_next call. A ringing offer nobody
 * answered is dropped a little after its ring time even if the broker's
 * REVOKE never comes (lost with a connection, say), so that it does not
 * ring forever.
 *
 * Not here: the socket and timers (wsession.c), the public functions
 * (swb_worker.c).
 */
#include "wk_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_domain.h"

/* ---- held tasks --------------------------------------------------------- */

long
swb_wk_held_find(const swb_worker_t *w, uint64_t id)
{
    for (size_t i = 0; i < w->nheld; i++)
        if (w->held[i].id == id)
            return (long)i;
    return -1;
}

void
swb_wk_held_remove(swb_worker_t *w, long i)
{
    w->held[i] = w->held[--w->nheld];
}

static swb_err_t
wk_held_add(swb_worker_t *w, uint64_t id, uint64_t lease, uint64_t ring,
            uint64_t now)
{
    if (w->nheld == w->capheld) {
        size_t cap = w->capheld ? w->capheld * 2 : 16;
        wk_held_t *nv = realloc(w->held, cap * sizeof *nv);
        if (!nv)
            return SWB_ENOMEM;
        w->held = nv;
        w->capheld = cap;
    }
    wk_held_t *h = &w->held[w->nheld++];
    memset(h, 0, sizeof *h);
    h->id = id;
    h->lease = lease;
    h->ringing = ring > 0;
    h->ring_until = ring ? now + ring : 0;
    return SWB_OK;
}

/* ---- pending answers ---------------------------------------------------- */

static void
wk_pend_remove(swb_worker_t *w, size_t i)
{
    free(w->pend[i].frame);
    w->pend[i] = w->pend[--w->npend];
}

bool
swb_wk_pend_drop(swb_worker_t *w, uint64_t id, uint64_t lease,
                 swb_msg_type_t type)
{
    bool any = false;
    for (size_t i = 0; i < w->npend;) {
        const wk_pending_t *p = &w->pend[i];
        if (p->id == id && (!lease || p->lease == lease) &&
            (type == SWB_MSG_COUNT || p->type == type)) {
            wk_pend_remove(w, i);
            any = true;
        } else {
            i++;
        }
    }
    return any;
}

void
swb_wk_pend_clear(swb_worker_t *w)
{
    while (w->npend)
        wk_pend_remove(w, w->npend - 1);
    free(w->pend);
    w->pend = NULL;
    w->cappend = 0;
}

swb_err_t
swb_wk_pend_add(swb_worker_t *w, const swb_msg_t *m, uint64_t id,
                uint64_t lease)
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
    if (w->welcomed && swb_wk_send_frame(w, p->frame, p->len))
        p->sent_at = swb_mono_ms();
    return SWB_OK;
}

void
swb_wk_resend(swb_worker_t *w, uint64_t now, bool all)
{
    for (size_t i = 0; i < w->npend; i++) {
        wk_pending_t *p = &w->pend[i];
        if (all || now - p->sent_at >= w->hb_ms) {
            (void)swb_wk_send_frame(w, p->frame, p->len);
            p->sent_at = now; /* a full queue: try again next period */
        }
    }
}

swb_err_t
swb_wk_queue_lease_msg(swb_worker_t *w, swb_msg_type_t type, uint64_t id,
                       uint64_t lease)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.u.lease.id = id;
    m.u.lease.lease = lease;
    return swb_wk_pend_add(w, &m, id, lease);
}

/* ---- events ------------------------------------------------------------- */

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

wk_event_t *
swb_wk_event_pop(swb_worker_t *w)
{
    wk_event_t *e = w->ev_head;
    if (!e)
        return NULL;
    w->ev_head = e->next;
    if (!w->ev_head)
        w->ev_tail = NULL;
    return e;
}

void
swb_wk_events_clear(swb_worker_t *w)
{
    wk_event_t *e;
    while ((e = swb_wk_event_pop(w))) {
        swb_worker_task_free(&e->offer);
        free(e);
    }
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

/* The broker took held task h back: report it unless the caller never
 * saw it. */
static void
wk_revoke_held(swb_worker_t *w, long h)
{
    uint64_t id = w->held[h].id;
    bool ringing = w->held[h].ringing;
    (void)swb_wk_pend_drop(w, id, w->held[h].lease, SWB_MSG_ACCEPT);
    swb_wk_held_remove(w, h);
    if (wk_event_forget(w, id) || w->closing)
        return;
    wk_event_t *e = calloc(1, sizeof *e);
    if (!e)
        return; /* the caller's answer will be refused as stale */
    e->type = SWB_WEV_REVOKE;
    e->id = id;
    e->ringing = ringing;
    wk_event_push(w, e);
}

uint64_t
swb_wk_ring_out(swb_worker_t *w, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < w->nheld;) {
        const wk_held_t *h = &w->held[i];
        uint64_t end = h->ring_until + WK_RING_GRACE;
        if (!h->ringing) {
            i++;
        } else if (now >= end) {
            wk_revoke_held(w, (long)i); /* moves another entry to i */
        } else {
            if (end - now < next)
                next = end - now;
            i++;
        }
    }
    return next;
}

/* ---- what the broker sends ---------------------------------------------- */

void
swb_wk_on_offer(swb_worker_t *w, swb_msg_t *m, uint64_t now)
{
    swb_task_t *t = m->u.offer.task;
    uint64_t ring = m->u.offer.ring;
    m->u.offer.task = NULL;
    if (!t)
        return;
    if (w->closing) { /* shutting down: hand it straight back */
        (void)swb_wk_queue_lease_msg(w, SWB_MSG_RELEASE, t->id, t->lease);
        swb_worker_task_free(&t);
        return;
    }
    long h = swb_wk_held_find(w, t->id);
    if (h >= 0 && w->held[h].lease == t->lease) {
        swb_worker_task_free(&t); /* a duplicate of what we hold */
        return;
    }
    if (h >= 0) /* offered again under a new lease: the old one is gone */
        wk_revoke_held(w, h);
    wk_event_t *e = calloc(1, sizeof *e);
    if (!e || wk_held_add(w, t->id, t->lease, ring, now) != SWB_OK) {
        free(e);
        swb_worker_task_free(&t); /* the lease will run out broker-side */
        return;
    }
    e->type = SWB_WEV_OFFER;
    e->offer = t;
    e->id = t->id;
    e->ring = ring;
    wk_event_push(w, e);
}

void
swb_wk_on_revoke(swb_worker_t *w, const swb_m_lease_t *r)
{
    long h = swb_wk_held_find(w, r->id);
    if (h < 0) { /* no answer wanted now */
        (void)swb_wk_pend_drop(w, r->id, r->lease, SWB_MSG_COUNT);
        return;
    }
    if (r->lease && w->held[h].lease != r->lease)
        return; /* about an older lease of a task we now hold anew */
    wk_revoke_held(w, h);
}

/* ACKs carry no message type; the broker answers in order, so an ACK
 * is for what was sent: an answer queued while the session was down
 * (never sent) cannot be what this ACK is about. */
void
swb_wk_on_ack(swb_worker_t *w, const swb_m_lease_t *a)
{
    for (size_t i = 0; i < w->npend;) {
        const wk_pending_t *p = &w->pend[i];
        if (p->id == a->id && p->lease == a->lease && p->sent_at)
            wk_pend_remove(w, i);
        else
            i++;
    }
}

static bool
wk_code_is(const char *code, const char *name)
{
    return code && strcmp(code, name) == 0;
}

/* The broker will never take pending answer i as it is: a refused
 * result becomes a failed attempt, a refused reject a release; anything
 * else is dropped. */
static void
wk_pend_refused(swb_worker_t *w, size_t i, const swb_m_error_t *e)
{
    swb_msg_type_t type = w->pend[i].type;
    uint64_t id = w->pend[i].id;
    uint64_t lease = w->pend[i].lease;
    wk_pend_remove(w, i);
    if (type == SWB_MSG_DONE) {
        char reason[SWB_MAX_REASON];
        swb_msg_t m;
        memset(&m, 0, sizeof m);
        snprintf(reason, sizeof reason, "broker refused the result "
                 "(%s): %.900s", e->code, e->message ? e->message : "");
        m.type = SWB_MSG_FAIL;
        m.u.fail.id = id;
        m.u.fail.lease = lease;
        m.u.fail.reason = reason;
        (void)swb_wk_pend_add(w, &m, id, lease);
    } else if (type == SWB_MSG_REJECT) {
        (void)swb_wk_queue_lease_msg(w, SWB_MSG_RELEASE, id, lease);
    }
}

/* An ERROR about one of our answers (or held tasks). */
void
swb_wk_on_task_error(swb_worker_t *w, const swb_m_error_t *e)
{
    if (wk_code_is(e->code, "stale_lease") ||
        wk_code_is(e->code, "not_found")) {
        /* An answer other than ACCEPT is about a task no longer held (or
         * held anew under another lease, which this is not about). */
        bool answer = false;
        for (size_t i = 0; i < w->npend && !answer; i++)
            answer = w->pend[i].id == e->id &&
                     w->pend[i].type != SWB_MSG_ACCEPT;
        (void)swb_wk_pend_drop(w, e->id, 0, SWB_MSG_COUNT);
        long h = answer ? -1 : swb_wk_held_find(w, e->id);
        if (h >= 0)
            wk_revoke_held(w, h);
        return;
    }
    if (!wk_code_is(e->code, "invalid") && !wk_code_is(e->code, "too_big") &&
        !wk_code_is(e->code, "malformed") &&
        !wk_code_is(e->code, "bad_state"))
        return; /* transient (store full, ...): re-sent next period */
    for (size_t i = 0; i < w->npend; i++) {
        if (w->pend[i].id == e->id) {
            wk_pend_refused(w, i, e);
            return;
        }
    }
}

/* The broker changed our agent state. */
void
swb_wk_on_state(swb_worker_t *w, const swb_m_state_t *s)
{
    int st = swb_agent_state_parse(s->state);
    if (st < 0) {
        swb_wk_set_error(w, "broker set an unknown agent state \"%.32s\"",
                         s->state ? s->state : "");
        return;
    }
    w->state = st;
    snprintf(w->reason, sizeof w->reason, "%s", s->reason ? s->reason : "");
    if (w->closing)
        return;
    wk_event_t *e = calloc(1, sizeof *e);
    if (!e)
        return; /* swb_worker_state still tells */
    e->type = SWB_WEV_STATE;
    snprintf(e->state, sizeof e->state, "%s", swb_agent_state_name(st));
    snprintf(e->reason, sizeof e->reason, "%s", w->reason);
    wk_event_push(w, e);
}
