/*
 * worker_api.c - the broker's side of the worker conversation: sessions
 * (HELLO, HEARTBEAT, BYE), results (DONE, FAIL, RELEASE), leases,
 * retries with backoff, and dispatch of waiting tasks to sessions with
 * room (proto/PROTOCOL.md, "Worker conversation").
 *
 * A lease is a token written into the task record when it is offered.
 * Any message from the holder renews it for --lease-ms; a session silent
 * for three heartbeats is dropped and its tasks go back. A DONE or FAIL
 * counts only with the task's current token, so a worker that lost its
 * lease cannot complete a task someone else now runs.
 */
#include "broker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define W_ERR(b, rid, len, id, code, field, ...)                               \
    swb_broker_error(b, SWB_SIDE_WORKER, rid, len, 0, id, code, field,         \
                     __VA_ARGS__)

static void
send_lease_msg(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
               swb_msg_type_t type, uint64_t id, uint64_t lease)
{
    swb_msg_t m = {.type = type};
    m.u.lease.id = id;
    m.u.lease.lease = lease;
    swb_broker_send(b, SWB_SIDE_WORKER, rid, rid_len, &m, 0);
}

void
swb_worker_api_unlease(swb_broker_t *b, swb_btask_t *t)
{
    if (t->holder) {
        t->holder->last_assigned = b->now;
        swb_session_unhold(t);
        b->want_dispatch = true;
    }
    if (t->lhandle) {
        zlistx_detach(b->leased, t->lhandle);
        t->lhandle = NULL;
    }
    t->lease_until = 0;
}

static uint64_t
backoff_ms(const swb_broker_t *b, uint64_t attempt)
{
    uint64_t d = b->cfg->retry_base_ms;
    for (uint64_t i = 1; i < attempt && d < b->cfg->retry_max_ms; i++)
        d *= 2;
    return d < b->cfg->retry_max_ms ? d : b->cfg->retry_max_ms;
}

void
swb_worker_api_retry(swb_broker_t *b, swb_btask_t *t, const char *reason,
                     bool final)
{
    swb_worker_api_unlease(b, t);
    swb_btask_set_str(&t->rec.reason, reason);
    uint64_t max = t->rec.spec->max_attempts ? t->rec.spec->max_attempts
                                             : b->cfg->max_attempts;
    if (final || t->rec.attempt >= max) {
        swb_broker_set_state(b, t, SWB_ST_DEAD);
        swb_log(SWB_LOG_WARN, "broker", "dead", "task=%llu attempts=%llu "
                "reason=\"%s\"", (unsigned long long)t->rec.id,
                (unsigned long long)t->rec.attempt, reason);
        return;
    }
    t->rec.ready_at = b->now_wall + backoff_ms(b, t->rec.attempt);
    swb_broker_set_state(b, t, SWB_ST_FAILED);
    swb_queue_add(b->queue, t, b->now_wall);
    swb_log(SWB_LOG_INFO, "broker", "retry", "task=%llu attempt=%llu "
            "in_ms=%llu reason=\"%s\"", (unsigned long long)t->rec.id,
            (unsigned long long)t->rec.attempt,
            (unsigned long long)(t->rec.ready_at - b->now_wall), reason);
}

/* Gives a task back without counting the attempt (RELEASE, BYE). */
static void
hand_back(swb_broker_t *b, swb_btask_t *t)
{
    swb_worker_api_unlease(b, t);
    if (t->rec.attempt > 0)
        t->rec.attempt--;
    swb_broker_set_state(b, t, SWB_ST_QUEUED);
    swb_queue_add(b->queue, t, b->now_wall);
}

static void
drop_session(swb_broker_t *b, swb_session_t *s, const char *why, bool lost)
{
    swb_btask_t *t;
    while ((t = zlistx_first(s->held))) {
        if (lost)
            swb_worker_api_retry(b, t, why, false);
        else
            hand_back(b, t);
    }
    swb_log(SWB_LOG_INFO, "broker", "session_end", "agent=%s site=%s why=\"%s\"",
            s->profile.agent, s->profile.site, why);
    zlistx_detach(b->order, s->ohandle);
    zhashx_delete(b->sessions, s->key); /* frees s */
}

/* ---- handlers ---- */

static bool
check_profile(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
              const swb_m_hello_t *h)
{
    if (!*h->site || !*h->agent) {
        W_ERR(b, rid, rid_len, 0, SWB_EINVAL, !*h->site ? "site" : "agent",
              "site and agent must not be empty");
        return false;
    }
    if (h->channels.n == 0) {
        W_ERR(b, rid, rid_len, 0, SWB_EINVAL, "channels",
              "a worker needs at least one channel");
        return false;
    }
    for (size_t i = 0; i < h->channels.n; i++)
        if (swb_channel_parse(h->channels.v[i]) < 0) {
            W_ERR(b, rid, rid_len, 0, SWB_EINVAL, "channels",
                  "unknown channel \"%s\"; channels are: %s",
                  h->channels.v[i], swb_channel_list());
            return false;
        }
    for (size_t i = 0; i < h->capacity.n; i++)
        if (swb_channel_parse(h->capacity.v[i].name) < 0) {
            W_ERR(b, rid, rid_len, 0, SWB_EINVAL, "capacity",
                  "capacity names unknown channel \"%s\"",
                  h->capacity.v[i].name);
            return false;
        }
    if (b->cfg->nsites && !swb_config_site(b->cfg, h->site)) {
        W_ERR(b, rid, rid_len, 0, SWB_EINVAL, "site",
              "site \"%s\" is not one of this region's sites", h->site);
        return false;
    }
    return true;
}

static void
on_hello(swb_broker_t *b, const uint8_t *rid, size_t rid_len, swb_msg_t *m,
         swb_session_t *old)
{
    swb_m_hello_t *h = &m->u.hello;
    if (!check_profile(b, rid, rid_len, h))
        return;
    if (old)
        drop_session(b, old, "hello again on the same connection", false);
    swb_list_t holding = h->holding;
    memset(&h->holding, 0, sizeof h->holding);
    swb_session_t *s = swb_session_new(rid, rid_len, h,
                                       swb_config_site(b->cfg, h->site),
                                       b->now);
    if (!s) {
        swb_codec_free(swb_msg_schema(SWB_MSG_HELLO), h);
        W_ERR(b, rid, rid_len, 0, SWB_ENOMEM, NULL, "out of memory");
        return;
    }
    /* the profile now lives in s; give the holding list back to m */
    m->u.hello.holding = holding;
    zhashx_insert(b->sessions, s->key, s);
    s->ohandle = zlistx_add_start(b->order, s);
    size_t rebound = 0;
    for (size_t i = 0; i < holding.n; i++) {
        const swb_hold_t *hd = (const swb_hold_t *)holding.v + i;
        swb_btask_t *t = zhashx_lookup(b->tasks, &hd->id);
        if (!t || t->state != SWB_ST_ACTIVE || t->rec.lease != hd->lease) {
            send_lease_msg(b, rid, rid_len, SWB_MSG_REVOKE, hd->id, hd->lease);
            continue;
        }
        if (t->holder)
            swb_session_unhold(t);
        swb_session_hold(s, t);
        t->lease_until = b->now + b->cfg->lease_ms;
        if (!t->lhandle)
            t->lhandle = zlistx_add_end(b->leased, t);
        rebound++;
    }
    swb_msg_t w = {.type = SWB_MSG_WELCOME};
    w.u.welcome.heartbeat = b->cfg->heartbeat_ms;
    w.u.welcome.lease = b->cfg->lease_ms;
    w.u.welcome.region = b->cfg->region;
    swb_broker_send(b, SWB_SIDE_WORKER, rid, rid_len, &w, 0);
    swb_log(SWB_LOG_INFO, "broker", "session_start", "agent=%s site=%s "
            "channels=%zu rebound=%zu", s->profile.agent, s->profile.site,
            s->profile.channels.n, rebound);
    b->want_dispatch = true;
}

/*
 * Finds the task a DONE / FAIL / RELEASE is about and checks its lease.
 * Returns the task when the message counts. Otherwise answers: ACK again
 * for a repeated DONE of a task completed with that lease, or ERROR.
 */
static swb_btask_t *
leased_task(swb_broker_t *b, const uint8_t *rid, size_t rid_len, uint64_t id,
            uint64_t lease, bool is_done)
{
    swb_btask_t *t = zhashx_lookup(b->tasks, &id);
    swb_task_t rec = {0};
    const swb_task_t *r = t ? &t->rec : NULL;
    if (!t && swb_broker_load(b, id, &rec, NULL) == SWB_OK)
        r = &rec;
    if (!r) {
        W_ERR(b, rid, rid_len, id, SWB_ENOTFOUND, "id", "no task with id %llu",
              (unsigned long long)id);
        return NULL;
    }
    int st = swb_state_parse(r->state);
    if (t && st == SWB_ST_ACTIVE && r->lease == lease)
        return t;
    if (is_done && st == SWB_ST_COMPLETED && r->lease == lease)
        send_lease_msg(b, rid, rid_len, SWB_MSG_ACK, id, lease);
    else
        W_ERR(b, rid, rid_len, id, SWB_ESTALE, "lease", "lease %llu of task "
              "%llu is not current (task is %s, lease %llu)",
              (unsigned long long)lease, (unsigned long long)id, r->state,
              (unsigned long long)r->lease);
    if (r == &rec)
        swb_codec_free(&swb_task_schema, &rec);
    return NULL;
}

static void
on_done(swb_broker_t *b, const uint8_t *rid, size_t rid_len, swb_msg_t *m)
{
    swb_m_done_t *d = &m->u.done;
    if (d->result.len > b->cfg->max_payload) {
        W_ERR(b, rid, rid_len, d->id, SWB_ETOOBIG, "result", "result of %zu "
              "bytes is over the limit of %llu", d->result.len,
              (unsigned long long)b->cfg->max_payload);
        return;
    }
    swb_btask_t *t = leased_task(b, rid, rid_len, d->id, d->lease, true);
    if (!t)
        return;
    swb_worker_api_unlease(b, t);
    free(t->result.data);
    t->result = d->result; /* take the bytes */
    memset(&d->result, 0, sizeof d->result);
    unsigned char key[8];
    swb_store_u64_key(t->rec.id, key);
    swb_store_batch_put(b->batch, SWB_DB_RESULTS, key, 8, t->result.data,
                        t->result.len);
    swb_btask_set_str(&t->rec.reason, NULL);
    swb_broker_set_state(b, t, SWB_ST_COMPLETED);
    send_lease_msg(b, rid, rid_len, SWB_MSG_ACK, d->id, d->lease);
}

static void
on_fail(swb_broker_t *b, const uint8_t *rid, size_t rid_len, swb_msg_t *m)
{
    swb_m_fail_t *f = &m->u.fail;
    swb_btask_t *t = leased_task(b, rid, rid_len, f->id, f->lease, false);
    if (!t)
        return;
    swb_worker_api_retry(b, t, f->reason ? f->reason : "failed by worker",
                         f->final);
    send_lease_msg(b, rid, rid_len, SWB_MSG_ACK, f->id, f->lease);
}

static void
on_release(swb_broker_t *b, const uint8_t *rid, size_t rid_len, swb_msg_t *m)
{
    swb_btask_t *t = leased_task(b, rid, rid_len, m->u.lease.id,
                                 m->u.lease.lease, false);
    if (!t)
        return;
    hand_back(b, t);
    send_lease_msg(b, rid, rid_len, SWB_MSG_ACK, m->u.lease.id,
                   m->u.lease.lease);
}

void
swb_worker_api_handle(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                      swb_msg_t *m)
{
    char key[2 * SWB_RID_MAX + 1];
    swb_session_key(rid, rid_len, key);
    swb_session_t *s = zhashx_lookup(b->sessions, key);
    if (m->type == SWB_MSG_HELLO) {
        on_hello(b, rid, rid_len, m, s);
        return;
    }
    if (!s) {
        W_ERR(b, rid, rid_len, 0, SWB_EPROTO, "command", "unknown session: "
              "say hello first");
        return;
    }
    s->last_seen = b->now;
    for (swb_btask_t *t = zlistx_first(s->held); t; t = zlistx_next(s->held))
        t->lease_until = b->now + b->cfg->lease_ms;
    switch (m->type) {
    case SWB_MSG_HEARTBEAT:
        break;
    case SWB_MSG_DONE:
        on_done(b, rid, rid_len, m);
        break;
    case SWB_MSG_FAIL:
        on_fail(b, rid, rid_len, m);
        break;
    case SWB_MSG_RELEASE:
        on_release(b, rid, rid_len, m);
        break;
    case SWB_MSG_BYE:
        drop_session(b, s, "bye", false);
        break;
    default:
        W_ERR(b, rid, rid_len, 0, SWB_EPROTO, "command", "command \"%s\" is "
              "not for the worker endpoint", swb_msg_name(m->type));
    }
}

/* ---- dispatch ---- */

static bool
eligible_pred(const swb_btask_t *t, void *arg)
{
    return swb_session_eligible(arg, t);
}

static void
offer(swb_broker_t *b, swb_session_t *s, swb_btask_t *t)
{
    swb_queue_remove(b->queue, t);
    t->rec.attempt++;
    t->rec.lease = b->next_lease++;
    b->meta_dirty = true;
    swb_btask_set_str(&t->rec.agent, s->profile.agent);
    swb_btask_set_str(&t->rec.site, s->profile.site);
    swb_broker_set_state(b, t, SWB_ST_ACTIVE);
    t->lease_until = b->now + b->cfg->lease_ms;
    t->lhandle = zlistx_add_end(b->leased, t);
    swb_session_hold(s, t);
    s->last_assigned = b->now;
    swb_msg_t m = {.type = SWB_MSG_OFFER};
    m.u.offer.task = &t->rec;
    swb_broker_send(b, SWB_SIDE_WORKER, s->rid, s->rid_len, &m, 0);
}

/* Fills one session: voice first, then the other channels in order. */
static bool
fill_session(swb_broker_t *b, swb_session_t *s)
{
    bool gave = false;
    for (int ch = 0; ch < SWB_CH_COUNT; ch++) {
        while (swb_session_can_take(s, ch) && swb_queue_ready(b->queue, ch)) {
            swb_btask_t *t = swb_queue_find(b->queue, ch, eligible_pred, s);
            if (!t)
                break;
            offer(b, s, t);
            gave = true;
        }
    }
    return gave;
}

void
swb_worker_api_dispatch(swb_broker_t *b)
{
    size_t ready = 0;
    for (int ch = 0; ch < SWB_CH_COUNT; ch++)
        ready += swb_queue_ready(b->queue, ch);
    if (!ready)
        return;
    /* longest since its last task first; those served move to the end */
    zlistx_t *served = zlistx_new();
    for (swb_session_t *s = zlistx_first(b->order); s;
         s = zlistx_next(b->order))
        if (swb_session_has_room(s) && fill_session(b, s) && served)
            zlistx_add_end(served, s);
    for (swb_session_t *s = served ? zlistx_first(served) : NULL; s;
         s = zlistx_next(served))
        zlistx_move_end(b->order, s->ohandle);
    zlistx_destroy(&served);
}

/* ---- timers ---- */

void
swb_worker_api_timers(swb_broker_t *b)
{
    if (swb_queue_promote(b->queue, b->now_wall))
        b->want_dispatch = true;

    uint64_t silent = 3 * b->cfg->heartbeat_ms;
    zlistx_t *dead = zlistx_new();
    for (swb_session_t *s = zhashx_first(b->sessions); s;
         s = zhashx_next(b->sessions))
        if (b->now > s->last_seen + silent && dead)
            zlistx_add_end(dead, s);
    for (swb_session_t *s = dead ? zlistx_first(dead) : NULL; s;
         s = zlistx_next(dead))
        drop_session(b, s, "worker lost: no heartbeat", true);
    zlistx_destroy(&dead);

    zlistx_t *expired = zlistx_new();
    for (swb_btask_t *t = zlistx_first(b->leased); t && expired;
         t = zlistx_next(b->leased))
        if (b->now > t->lease_until)
            zlistx_add_end(expired, t);
    for (swb_btask_t *t = expired ? zlistx_first(expired) : NULL; t;
         t = zlistx_next(expired)) {
        if (t->holder)
            send_lease_msg(b, t->holder->rid, t->holder->rid_len,
                           SWB_MSG_REVOKE, t->rec.id, t->rec.lease);
        swb_worker_api_retry(b, t, "lease expired", false);
    }
    zlistx_destroy(&expired);

    if (b->now >= b->next_heartbeat) {
        b->next_heartbeat = b->now + b->cfg->heartbeat_ms;
        swb_msg_t hb = {.type = SWB_MSG_HEARTBEAT};
        for (swb_session_t *s = zhashx_first(b->sessions); s;
             s = zhashx_next(b->sessions))
            swb_broker_send(b, SWB_SIDE_WORKER, s->rid, s->rid_len, &hb, 0);
    }
}
