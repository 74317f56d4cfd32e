/*
 * worker_api.c - the broker's side of the worker conversation: sessions
 * (HELLO, HEARTBEAT, STATE, BYE), answers to offers (ACCEPT, REJECT) and
 * results (DONE, FAIL, RELEASE) (proto/PROTOCOL.md, "Worker
 * conversation"). What happens to the tasks is dispatch.c's business.
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

#include "swb_log.h"

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

static void
drop_session(swb_broker_t *b, swb_session_t *s, const char *why, bool lost)
{
    swb_btask_t *t;
    while ((t = zlistx_first(s->held))) {
        if (lost && t->state == SWB_ST_ACTIVE)
            swb_dispatch_retry(b, t, why, false);
        else
            swb_dispatch_hand_back(b, t);
    }
    swb_agent_record(b, s->profile.agent, s->profile.site, SWB_AG_OFFLINE,
                     why);
    swb_log(SWB_LOG_INFO, "broker", "session_end", "agent=%s site=%s why=\"%s\"",
            s->profile.agent, s->profile.site, why);
    swb_dispatch_agent_gone(b, s);
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
    for (size_t i = 0; i < h->speaks.n + h->writes.n; i++) {
        const swb_level_t *l = i < h->speaks.n ? &h->speaks.v[i]
                                               : &h->writes.v[i - h->speaks.n];
        if (l->level < 1) {
            W_ERR(b, rid, rid_len, 0, SWB_EINVAL,
                  i < h->speaks.n ? "speaks" : "writes",
                  "level of %s must be 1..6 (A1..C2)", l->name);
            return false;
        }
    }
    int st = h->state ? swb_agent_state_parse(h->state) : SWB_AG_READY;
    if (st != SWB_AG_READY && st != SWB_AG_NOT_READY && st != SWB_AG_BREAK) {
        W_ERR(b, rid, rid_len, 0, SWB_EINVAL, "state", "initial state \"%s\""
              " must be ready, not-ready or break", h->state);
        return false;
    }
    if (b->cfg->nsites && !swb_config_site(b->cfg, h->site)) {
        W_ERR(b, rid, rid_len, 0, SWB_EINVAL, "site",
              "site \"%s\" is not one of this region's sites", h->site);
        return false;
    }
    return true;
}

/* Re-binds the tasks a worker says it still holds (after a reconnect or
 * a broker restart); the ones it may no longer run are revoked. */
static size_t
rebind(swb_broker_t *b, swb_session_t *s, const swb_list_t *holding)
{
    size_t rebound = 0;
    for (size_t i = 0; i < holding->n; i++) {
        const swb_hold_t *hd = (const swb_hold_t *)holding->v + i;
        swb_btask_t *t = zhashx_lookup(b->tasks, &hd->id);
        /* with keys, a task of another site is never claimed back */
        bool other_site = b->who && t && t->rec.site && *t->rec.site &&
                          strcmp(t->rec.site, b->who->binding) != 0;
        if (!t || (t->state != SWB_ST_ACTIVE && t->state != SWB_ST_OFFERED) ||
            t->rec.lease != hd->lease || other_site) {
            if (other_site)
                swb_log(SWB_LOG_WARN, "auth", "refused", "key=%.8s "
                        "role=worker binding=%s action=hello task=%llu "
                        "why=\"holds a task of site %s\"", b->who->key,
                        b->who->binding, (unsigned long long)hd->id,
                        t->rec.site);
            send_lease_msg(b, s->rid, s->rid_len, SWB_MSG_REVOKE, hd->id,
                           hd->lease);
            continue;
        }
        if (t->holder)
            swb_dispatch_unlease(b, t);
        swb_session_hold(s, t);
        t->lease_until = b->now + (t->state == SWB_ST_OFFERED
                                       ? b->cfg->ring_ms
                                       : b->cfg->lease_ms);
        if (!t->lhandle)
            t->lhandle = zlistx_add_end(b->leased, t);
        rebound++;
    }
    return rebound;
}

static void
on_hello(swb_broker_t *b, const uint8_t *rid, size_t rid_len, swb_msg_t *m,
         swb_session_t *old)
{
    swb_m_hello_t *h = &m->u.hello;
    if (b->who && strcmp(h->site, b->who->binding) != 0) {
        /* a worker key acts only for its site */
        swb_broker_refuse(b, SWB_SIDE_WORKER, rid, rid_len, 0, 0, "hello",
                          "site \"%s\" is not the key's", h->site);
        return;
    }
    if (!check_profile(b, rid, rid_len, h))
        return;
    if (old) {
        /* the tasks it says it still holds move to the new session */
        for (size_t i = 0; i < h->holding.n; i++) {
            const swb_hold_t *hd = (const swb_hold_t *)h->holding.v + i;
            swb_btask_t *t = zhashx_lookup(b->tasks, &hd->id);
            if (t && t->holder == old && t->rec.lease == hd->lease)
                swb_session_unhold(t);
        }
        drop_session(b, old, "hello again on the same connection", false);
    }
    int state = h->state ? swb_agent_state_parse(h->state) : SWB_AG_READY;
    bool accept = h->accept;
    swb_list_t holding = h->holding;
    memset(&h->holding, 0, sizeof h->holding);
    swb_session_t *s = swb_session_new(rid, rid_len, h,
                                       swb_config_site(b->cfg, h->site),
                                       b->now);
    m->u.hello.holding = holding; /* freed with m */
    if (!s || swb_router_add_agent(b->router, s) != SWB_OK) {
        swb_session_destroy(&s);
        W_ERR(b, rid, rid_len, 0, SWB_ENOMEM, NULL, "out of memory");
        return;
    }
    s->explicit_accept = accept;
    swb_peer_agents_changed(b);
    s->state = -1; /* so that the first state is recorded */
    s->idle_since = b->now_wall;
    zhashx_insert(b->sessions, s->key, s);
    size_t rebound = rebind(b, s, &holding);
    swb_msg_t w = {.type = SWB_MSG_WELCOME};
    w.u.welcome.heartbeat = b->cfg->heartbeat_ms;
    w.u.welcome.lease = b->cfg->lease_ms;
    w.u.welcome.region = b->cfg->region;
    swb_broker_send(b, SWB_SIDE_WORKER, rid, rid_len, &w, 0);
    swb_agent_set_state(b, s, state, NULL, false);
    swb_log(SWB_LOG_INFO, "broker", "session_start", "agent=%s site=%s "
            "channels=%zu rebound=%zu", s->profile.agent, s->profile.site,
            s->profile.channels.n, rebound);
}

/*
 * Finds the task a DONE / FAIL / RELEASE / ACCEPT / REJECT is about and
 * checks its lease. Returns the task when the message counts. Otherwise
 * answers: ACK again for a repeated DONE of a task completed with that
 * lease, or ERROR.
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
    if (t && (st == SWB_ST_ACTIVE || st == SWB_ST_OFFERED) &&
        r->lease == lease)
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
on_done(swb_broker_t *b, swb_session_t *s, swb_msg_t *m)
{
    swb_m_done_t *d = &m->u.done;
    if (d->result.len > b->cfg->max_payload) {
        W_ERR(b, s->rid, s->rid_len, d->id, SWB_ETOOBIG, "result", "result of "
              "%zu bytes is over the limit of %llu", d->result.len,
              (unsigned long long)b->cfg->max_payload);
        return;
    }
    swb_btask_t *t = leased_task(b, s->rid, s->rid_len, d->id, d->lease, true);
    if (!t)
        return;
    swb_session_t *holder = t->holder;
    if (t->rec.updated <= b->now_wall) /* since it became active */
        swb_peer_handled(b, b->now_wall - t->rec.updated);
    swb_dispatch_unlease(b, t);
    swb_dispatch_forget(b, t);
    free(t->result.data);
    t->result = d->result; /* take the bytes */
    memset(&d->result, 0, sizeof d->result);
    unsigned char key[8];
    swb_store_u64_key(t->rec.id, key);
    swb_store_batch_put(b->batch, SWB_DB_RESULTS, key, 8, t->result.data,
                        t->result.len);
    swb_btask_set_str(&t->rec.reason, NULL);
    swb_broker_set_state(b, t, SWB_ST_COMPLETED);
    send_lease_msg(b, s->rid, s->rid_len, SWB_MSG_ACK, d->id, d->lease);
    swb_dispatch_finished_by(b, holder, t->channel);
}

static void
on_fail(swb_broker_t *b, swb_session_t *s, swb_msg_t *m)
{
    swb_m_fail_t *f = &m->u.fail;
    swb_btask_t *t = leased_task(b, s->rid, s->rid_len, f->id, f->lease,
                                 false);
    if (!t)
        return;
    swb_session_t *holder = t->holder;
    swb_dispatch_retry(b, t, f->reason ? f->reason : "failed by worker",
                       f->final);
    send_lease_msg(b, s->rid, s->rid_len, SWB_MSG_ACK, f->id, f->lease);
    swb_dispatch_finished_by(b, holder, t->channel);
}

static void
on_release(swb_broker_t *b, swb_session_t *s, swb_msg_t *m)
{
    swb_btask_t *t = leased_task(b, s->rid, s->rid_len, m->u.lease.id,
                                 m->u.lease.lease, false);
    if (!t)
        return;
    swb_dispatch_hand_back(b, t);
    send_lease_msg(b, s->rid, s->rid_len, SWB_MSG_ACK, m->u.lease.id,
                   m->u.lease.lease);
}

static void
on_accept(swb_broker_t *b, swb_session_t *s, swb_msg_t *m)
{
    swb_btask_t *t = leased_task(b, s->rid, s->rid_len, m->u.lease.id,
                                 m->u.lease.lease, false);
    if (!t)
        return;
    if (t->state == SWB_ST_OFFERED)
        swb_dispatch_accepted(b, t);
    send_lease_msg(b, s->rid, s->rid_len, SWB_MSG_ACK, m->u.lease.id,
                   m->u.lease.lease);
}

static void
on_reject(swb_broker_t *b, swb_session_t *s, swb_msg_t *m)
{
    swb_btask_t *t = leased_task(b, s->rid, s->rid_len, m->u.fail.id,
                                 m->u.fail.lease, false);
    if (!t)
        return;
    if (t->state != SWB_ST_OFFERED) {
        W_ERR(b, s->rid, s->rid_len, m->u.fail.id, SWB_ESTATE, "id",
              "task %llu was already accepted; use release or fail",
              (unsigned long long)m->u.fail.id);
        return;
    }
    swb_dispatch_refused(b, t, false);
    send_lease_msg(b, s->rid, s->rid_len, SWB_MSG_ACK, m->u.fail.id,
                   m->u.fail.lease);
}

static void
on_state(swb_broker_t *b, swb_session_t *s, swb_msg_t *m)
{
    int st = swb_agent_state_parse(m->u.state.state);
    if (st != SWB_AG_READY && st != SWB_AG_NOT_READY && st != SWB_AG_BREAK) {
        W_ERR(b, s->rid, s->rid_len, 0, SWB_EINVAL, "state",
              "state \"%s\" cannot be set; use ready, not-ready or break",
              m->u.state.state);
        return;
    }
    swb_agent_set_state(b, s, st, m->u.state.reason, false);
}

static void
on_heartbeat(swb_broker_t *b, swb_session_t *s, swb_msg_t *m)
{
    (void)b;
    (void)s;
    (void)m;
}

static void
on_bye(swb_broker_t *b, swb_session_t *s, swb_msg_t *m)
{
    (void)m;
    drop_session(b, s, "bye", false);
}

typedef void (*worker_fn)(swb_broker_t *b, swb_session_t *s, swb_msg_t *m);

static const worker_fn swb_worker_handlers[SWB_MSG_COUNT] = {
    [SWB_MSG_HEARTBEAT] = on_heartbeat, [SWB_MSG_DONE] = on_done,
    [SWB_MSG_FAIL] = on_fail,           [SWB_MSG_RELEASE] = on_release,
    [SWB_MSG_ACCEPT] = on_accept,       [SWB_MSG_REJECT] = on_reject,
    [SWB_MSG_STATE] = on_state,         [SWB_MSG_BYE] = on_bye,
};

/* The task a worker message is about (0 = none). */
static uint64_t
msg_task(const swb_msg_t *m)
{
    switch (m->type) {
    case SWB_MSG_DONE: return m->u.done.id;
    case SWB_MSG_FAIL:
    case SWB_MSG_REJECT: return m->u.fail.id;
    case SWB_MSG_RELEASE:
    case SWB_MSG_ACCEPT: return m->u.lease.id;
    default: return 0;
    }
}

/* A worker key acts only for its site: its session's site and the
 * task's. False (after an ERROR "refused") otherwise. */
static bool
same_site(swb_broker_t *b, swb_session_t *s, const swb_msg_t *m)
{
    if (!b->who)
        return true;
    const char *action = swb_msg_name(m->type);
    if (strcmp(s->profile.site, b->who->binding) != 0) {
        swb_broker_refuse(b, SWB_SIDE_WORKER, s->rid, s->rid_len, 0, 0,
                          action, "the session is for site \"%s\"",
                          s->profile.site);
        return false;
    }
    uint64_t id = msg_task(m);
    swb_btask_t *t = id ? zhashx_lookup(b->tasks, &id) : NULL;
    if (t && t->rec.site && *t->rec.site &&
        strcmp(t->rec.site, b->who->binding) != 0) {
        swb_broker_refuse(b, SWB_SIDE_WORKER, s->rid, s->rid_len, 0, id,
                          action, "task %llu is at site \"%s\"",
                          (unsigned long long)id, t->rec.site);
        return false;
    }
    return true;
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
    worker_fn fn = swb_worker_handlers[m->type];
    if (!fn) {
        W_ERR(b, rid, rid_len, 0, SWB_EPROTO, "command", "command \"%s\" is "
              "not for the worker endpoint", swb_msg_name(m->type));
        return;
    }
    if (!s) {
        W_ERR(b, rid, rid_len, 0, SWB_EPROTO, "command", "unknown session: "
              "say hello first");
        return;
    }
    if (!same_site(b, s, m))
        return;
    s->last_seen = b->now;
    for (swb_btask_t *t = zlistx_first(s->held); t; t = zlistx_next(s->held))
        if (t->state == SWB_ST_ACTIVE)
            t->lease_until = b->now + b->cfg->lease_ms;
    fn(b, s, m);
}

/* ---- timers ---- */

void
swb_worker_api_timers(swb_broker_t *b)
{
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

    if (b->now >= b->next_heartbeat) {
        b->next_heartbeat = b->now + b->cfg->heartbeat_ms;
        swb_msg_t hb = {.type = SWB_MSG_HEARTBEAT};
        for (swb_session_t *s = zhashx_first(b->sessions); s;
             s = zhashx_next(b->sessions))
            swb_broker_send(b, SWB_SIDE_WORKER, s->rid, s->rid_len, &hb, 0);
    }
}
