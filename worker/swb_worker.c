/*
 * swb_worker.c - the public functions of libswitchboard's worker session
 * (see swb_worker.h).
 *
 * This file checks arguments, turns the caller's answers (accept, reject,
 * done, fail, release) into pending messages, keeps the agent state the
 * caller sets, and runs the session loop of swb_worker_next: hand out a
 * queued event, else tick the timers, read a frame, or wait on the socket
 * until something is due.
 *
 * Not here: the connection, HELLO and heartbeats (wsession.c), the held /
 * pending tables and the handling of what the broker sends (wtasks.c).
 */
#include "wk_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_domain.h"

/* ---- text checks -------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p[i] (of n bytes), 0 if invalid. */
static size_t
wk_utf8_at(const unsigned char *p, size_t n, size_t i)
{
    unsigned c = p[i];
    size_t extra = c < 0x80                   ? 0
                   : (c >= 0xc2 && c <= 0xdf) ? 1
                   : (c >= 0xe0 && c <= 0xef) ? 2
                   : (c >= 0xf0 && c <= 0xf4) ? 3
                                              : 9;
    if (extra == 9 || i + extra >= n + (extra ? 0 : 1))
        return 0;
    if (extra &&
        ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
         (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f)))
        return 0;
    for (size_t k = 1; k <= extra; k++)
        if ((p[i + k] & 0xc0) != 0x80)
            return 0;
    return extra + 1;
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
        size_t ok = wk_utf8_at(p, n, i);
        size_t take = ok ? ok : 1;
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

/* A reason code: at most max bytes of UTF-8 without control characters. */
static bool
wk_code_ok(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    if (n > max)
        return false;
    for (size_t i = 0; i < n;) {
        size_t k = wk_utf8_at(p, n, i);
        if (!k || p[i] < ' ' || p[i] == 0x7f)
            return false;
        i += k;
    }
    return true;
}

/* ---- life cycle --------------------------------------------------------- */

swb_err_t
swb_worker_new(const char *endpoint, const swb_m_hello_t *profile,
               swb_worker_t **out)
{
    return swb_worker_new_secure(endpoint, profile, NULL, out);
}

swb_err_t
swb_worker_new_secure(const char *endpoint, const swb_m_hello_t *profile,
                      const swb_curve_t *keys, swb_worker_t **out)
{
    *out = NULL;
    if (!endpoint || !*endpoint || !profile || !profile->site ||
        !*profile->site || !profile->agent || !*profile->agent ||
        profile->channels.n == 0)
        return SWB_EINVAL;
    int st = profile->state ? swb_agent_state_parse(profile->state)
                            : SWB_AG_READY;
    if (st != SWB_AG_READY && st != SWB_AG_NOT_READY && st != SWB_AG_BREAK)
        return SWB_EINVAL;
    swb_worker_t *w = calloc(1, sizeof *w);
    if (!w)
        return SWB_ENOMEM;
    w->state = st;
    if (keys) {
        w->secure = true;
        w->keys = *keys;
    }
    swb_m_hello_t tmp = *profile;
    tmp.holding.v = NULL;
    tmp.holding.n = 0;
    tmp.state = NULL; /* kept in w->state */
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
    if (swb_wk_open(w) != SWB_OK) {
        swb_worker_destroy(&w, 0);
        return SWB_ESYS;
    }
    if (zsock_connect(w->sock, "%s", endpoint) != 0) {
        swb_worker_destroy(&w, 0);
        return SWB_EINVAL;
    }
    uint64_t now = swb_mono_ms();
    w->last_rx = now;
    swb_wk_send_hello(w, now);
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
    swb_wk_events_clear(w); /* offers never handed out stay in held */
    uint64_t now = swb_mono_ms();
    uint64_t end = now + (uint64_t)(linger_ms > 0 ? linger_ms : 0);
    if (w->sock && !w->connect_at && w->welcomed) {
        /* Hand back what we hold, say goodbye, wait for the ACKs. */
        while (w->nheld) {
            wk_held_t h = w->held[--w->nheld];
            (void)swb_wk_pend_drop(w, h.id, h.lease, SWB_MSG_ACCEPT);
            (void)swb_wk_queue_lease_msg(w, SWB_MSG_RELEASE, h.id, h.lease);
        }
        swb_wk_send_empty(w, SWB_MSG_BYE);
        while (w->npend && (now = swb_mono_ms()) < end) {
            zmq_pollitem_t it = {zsock_resolve(w->sock), 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&it, 1, (long)(end - now)) > 0)
                while (swb_wk_recv_one(w, swb_mono_ms()))
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
    swb_wk_events_clear(w); /* STATE events that came during the wait */
    swb_wk_pend_clear(w);
    free(w->held);
    swb_codec_free(swb_msg_schema(SWB_MSG_HELLO), &w->profile);
    free(w->endpoint);
    free(w);
}

/* ---- the session loop ---------------------------------------------------- */

/* Hands event e to the caller in *ev and frees it. */
static void
wk_deliver(swb_worker_t *w, wk_event_t *e, swb_wevent_t *ev)
{
    ev->type = e->type;
    ev->task = e->offer;
    ev->id = e->id;
    ev->ring = e->ring;
    ev->ringing = e->ringing;
    if (e->type == SWB_WEV_STATE) {
        memcpy(w->ev_state, e->state, sizeof w->ev_state);
        memcpy(w->ev_reason, e->reason, sizeof w->ev_reason);
        ev->state = w->ev_state;
        ev->reason = w->ev_reason[0] ? w->ev_reason : NULL;
    }
    free(e);
}

swb_err_t
swb_worker_next(swb_worker_t *w, int timeout_ms, swb_wevent_t *ev)
{
    if (ev)
        memset(ev, 0, sizeof *ev);
    if (!w || !ev)
        return SWB_EINVAL;
    uint64_t now = swb_mono_ms();
    uint64_t end = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (w->fatal)
            return w->fatal;
        uint64_t ring_due = swb_wk_ring_out(w, swb_mono_ms());
        wk_event_t *e = swb_wk_event_pop(w);
        if (e) {
            wk_deliver(w, e, ev);
            return SWB_OK;
        }
        now = swb_mono_ms();
        swb_wk_tick(w, now);
        if (swb_wk_recv_one(w, now))
            continue;
        now = swb_mono_ms();
        if (now >= end)
            return SWB_ETIMEOUT;
        uint64_t wait = end - now;
        uint64_t due = swb_wk_next_due(w, now);
        if (due < wait)
            wait = due;
        if (ring_due < wait)
            wait = ring_due;
        if (w->sock && !w->connect_at) {
            zmq_pollitem_t it = {zsock_resolve(w->sock), 0, ZMQ_POLLIN, 0};
            (void)zmq_poll(&it, 1, (long)wait);
        } else {
            zclock_sleep((int)wait);
        }
    }
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
    uint64_t end = swb_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        uint64_t now = swb_mono_ms();
        swb_wevent_t ev;
        swb_err_t rc = swb_worker_next(w, now < end ? (int)(end - now) : 0,
                                       &ev);
        if (rc)
            return rc;
        if (ev.type == SWB_WEV_OFFER) {
            *offer = ev.task;
            return SWB_OK;
        }
        if (ev.type == SWB_WEV_REVOKE) {
            if (revoked)
                *revoked = ev.id;
            return SWB_OK;
        }
        /* STATE: absorbed; swb_worker_state tells */
    }
}

/* ---- answers ------------------------------------------------------------ */

/* The held entry of task, or NULL when it is not held under its lease. */
static wk_held_t *
wk_held_of(swb_worker_t *w, const swb_task_t *t)
{
    long h = swb_wk_held_find(w, t->id);
    return h >= 0 && w->held[h].lease == t->lease ? &w->held[h] : NULL;
}

/* Common tail of done / fail / release / reject: the task must be one
 * we hold. The answer supersedes a pending ACCEPT (the broker takes an
 * answer to a ringing offer as its accept). */
static swb_err_t
wk_answer(swb_worker_t *w, swb_task_t **task, const swb_msg_t *m)
{
    swb_task_t *t = *task;
    long h = swb_wk_held_find(w, t->id);
    if (h < 0 || w->held[h].lease != t->lease) {
        swb_worker_task_free(task); /* revoked or re-offered meanwhile */
        return SWB_ESTALE;
    }
    (void)swb_wk_pend_drop(w, t->id, t->lease, SWB_MSG_ACCEPT);
    swb_err_t rc = swb_wk_pend_add(w, m, t->id, t->lease);
    if (rc)
        return rc; /* *task stays with the caller */
    swb_wk_held_remove(w, h);
    swb_worker_task_free(task);
    return SWB_OK;
}

swb_err_t
swb_worker_accept(swb_worker_t *w, const swb_task_t *task)
{
    if (!w || !task)
        return SWB_EINVAL;
    wk_held_t *h = wk_held_of(w, task);
    if (!h)
        return SWB_ESTALE;
    if (!h->ringing)
        return SWB_OK;
    swb_err_t rc = swb_wk_queue_lease_msg(w, SWB_MSG_ACCEPT, task->id,
                                          task->lease);
    if (rc == SWB_OK)
        h->ringing = false;
    return rc;
}

swb_err_t
swb_worker_reject(swb_worker_t *w, swb_task_t **task, const char *reason)
{
    if (!w || !task || !*task)
        return SWB_EINVAL;
    wk_held_t *h = wk_held_of(w, *task);
    if (h && !h->ringing)
        return SWB_ESTATE;
    char *r = wk_reason_dup(reason);
    if (!r)
        return SWB_ENOMEM;
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = SWB_MSG_REJECT;
    m.u.fail.id = (*task)->id;
    m.u.fail.lease = (*task)->lease;
    m.u.fail.reason = *r ? r : NULL;
    swb_err_t rc = wk_answer(w, task, &m);
    free(r);
    return rc;
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

/* ---- agent state -------------------------------------------------------- */

swb_err_t
swb_worker_set_state(swb_worker_t *w, const char *state, const char *reason)
{
    if (!w || !state)
        return SWB_EINVAL;
    int st = swb_agent_state_parse(state);
    if (st != SWB_AG_READY && st != SWB_AG_NOT_READY && st != SWB_AG_BREAK)
        return SWB_EINVAL;
    if (reason && !wk_code_ok(reason, SWB_MAX_NAME))
        return SWB_EINVAL;
    w->state = st;
    snprintf(w->reason, sizeof w->reason, "%s", reason ? reason : "");
    w->state_unsent = true;
    if (w->welcomed && !w->connect_at)
        swb_wk_send_state(w);
    return SWB_OK;
}

const char *
swb_worker_state(const swb_worker_t *w, const char **reason)
{
    if (reason)
        *reason = w && w->reason[0] ? w->reason : NULL;
    return swb_agent_state_name(w ? w->state : SWB_AG_OFFLINE);
}

bool
swb_worker_ringing(const swb_worker_t *w, uint64_t id, uint64_t *ms_left)
{
    if (ms_left)
        *ms_left = 0;
    long h = w ? swb_wk_held_find(w, id) : -1;
    if (h < 0 || !w->held[h].ringing)
        return false;
    uint64_t now = swb_mono_ms();
    if (ms_left && w->held[h].ring_until > now)
        *ms_left = w->held[h].ring_until - now;
    return true;
}

/* ---- inspection --------------------------------------------------------- */

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
