/*
 * dispatch.c - moving tasks between waiting, held back, offered and
 * active, and the timers that drive it (see broker_int.h).
 *
 * Matching is event driven: a task that becomes ready is tried against
 * the free agents once (swb_router_pick_agent), and an agent that gets
 * room is tried against the waiting work once (swb_router_pick_task).
 * Both happen in swb_dispatch_run at the end of the pass, so a burst of
 * events costs one decision each, never a scan of fleet or backlog.
 *
 * Offers: voice offers (and non-voice ones to agents who asked for
 * explicit accept) ring for --ring-ms in state "offered"; the agent's
 * ACCEPT makes them active. A reject or a ring-out moves the task to the
 * next agent; --missed-offers in a row set the agent not-ready. Other
 * offers are active at once. Leases as in worker_api.c.
 */
#include "broker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_log.h"

/* ---- due heap: deadlines and patience ---- */

static int
due_cmp(const void *a, const void *b)
{
    const swb_btask_t *x = a, *y = b;
    if (x->due_at != y->due_at)
        return x->due_at < y->due_at ? -1 : 1;
    return x->rec.id < y->rec.id ? -1 : x->rec.id > y->rec.id;
}

static size_t *
due_pos(void *item)
{
    return &((swb_btask_t *)item)->due_pos;
}

void
swb_dispatch_init_heaps(swb_broker_t *b)
{
    swb_held_init(&b->held);
    swb_heap_init(&b->due, due_cmp, due_pos);
}

void
swb_dispatch_watch(swb_broker_t *b, swb_btask_t *t)
{
    const swb_task_spec_t *sp = t->rec.spec;
    uint64_t due = 0;
    if (t->channel == SWB_CH_VOICE_INBOUND && sp->patience)
        due = t->rec.created + sp->patience * 1000u;
    else if (!swb_channel_is_voice(t->channel) && sp->deadline &&
             sp->priority < SWB_MAX_PRIORITY)
        due = sp->deadline;
    if (!due || swb_heap_has(&b->due, t))
        return;
    t->due_at = due;
    swb_heap_push(&b->due, t);
}

void
swb_dispatch_forget(swb_broker_t *b, swb_btask_t *t)
{
    swb_router_remove_task(b->router, t);
    swb_held_remove(&b->held, t);
    swb_heap_remove(&b->due, t);
}

/* ---- placing tasks ---- */

/* For an outbound call: the next time its calling window is open, or 0
 * when it is open now (or has no window). */
static uint64_t
window_wait(swb_broker_t *b, const swb_btask_t *t)
{
    const swb_task_spec_t *sp = t->rec.spec;
    int open, close;
    uint64_t at;
    if (t->channel != SWB_CH_VOICE_OUTBOUND || !sp->window || !sp->tz ||
        swb_tz_parse_window(sp->window, &open, &close) != SWB_OK)
        return 0;
    if (swb_tz_window_next_open(b->tz, sp->tz, open, close, b->now_wall,
                                &at) != SWB_OK)
        return 0;
    return at > b->now_wall ? at : 0;
}

void
swb_dispatch_ready(swb_broker_t *b, swb_btask_t *t)
{
    uint64_t win = window_wait(b, t);
    if (win > t->rec.ready_at)
        t->rec.ready_at = win;
    swb_dispatch_watch(b, t);
    if (t->rec.ready_at > b->now_wall) {
        swb_held_add(&b->held, t);
        return;
    }
    if (swb_router_add_task(b->router, t) == SWB_OK)
        zlistx_add_end(b->fresh, t);
}

void
swb_dispatch_agent_free(swb_broker_t *b, swb_session_t *s)
{
    if (!s->freed_h)
        s->freed_h = zlistx_add_end(b->freed, s);
}

void
swb_dispatch_agent_gone(swb_broker_t *b, swb_session_t *s)
{
    if (s->freed_h) {
        zlistx_detach(b->freed, s->freed_h);
        s->freed_h = NULL;
    }
    swb_router_remove_agent(b->router, s);
    swb_peer_agents_changed(b);
}

/* ---- leases ---- */

void
swb_dispatch_unlease(swb_broker_t *b, swb_btask_t *t)
{
    swb_session_t *s = t->holder;
    if (s) {
        swb_session_unhold(t);
        s->idle_since = b->now_wall;
        swb_router_agent_changed(b->router, s, b->now_wall);
        swb_dispatch_agent_free(b, s);
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
swb_dispatch_retry(swb_broker_t *b, swb_btask_t *t, const char *reason,
                   bool final)
{
    swb_dispatch_unlease(b, t);
    swb_btask_set_str(&t->rec.reason, reason);
    uint64_t max = t->rec.spec->max_attempts ? t->rec.spec->max_attempts
                                             : b->cfg->max_attempts;
    if (final || t->rec.attempt >= max) {
        swb_dispatch_forget(b, t);
        swb_broker_set_state(b, t, SWB_ST_DEAD);
        swb_log(SWB_LOG_WARN, "broker", "dead", "task=%llu attempts=%llu "
                "reason=\"%s\"", (unsigned long long)t->rec.id,
                (unsigned long long)t->rec.attempt, reason);
        return;
    }
    t->rec.ready_at = b->now_wall + backoff_ms(b, t->rec.attempt);
    swb_broker_set_state(b, t, SWB_ST_FAILED);
    swb_log(SWB_LOG_INFO, "broker", "retry", "task=%llu attempt=%llu "
            "in_ms=%llu reason=\"%s\"", (unsigned long long)t->rec.id,
            (unsigned long long)t->rec.attempt,
            (unsigned long long)(t->rec.ready_at - b->now_wall), reason);
    swb_dispatch_ready(b, t);
}

void
swb_dispatch_hand_back(swb_broker_t *b, swb_btask_t *t)
{
    swb_dispatch_unlease(b, t);
    if (t->rec.attempt > 0)
        t->rec.attempt--;
    swb_broker_set_state(b, t, SWB_ST_QUEUED);
    swb_dispatch_ready(b, t);
}

void
swb_dispatch_refused(swb_broker_t *b, swb_btask_t *t, bool missed)
{
    swb_session_t *s = t->holder;
    if (s) {
        if (t->refused.n >= 4)
            swb_codec_free_strs(&t->refused);
        swb_strs_add(&t->refused, s->profile.agent);
    }
    swb_log(SWB_LOG_INFO, "broker", missed ? "offer_missed" : "offer_rejected",
            "task=%llu agent=%s", (unsigned long long)t->rec.id,
            s ? s->profile.agent : "-");
    swb_dispatch_hand_back(b, t);
    /* ring-no-answer counts; an explicit reject is the agent's choice */
    if (s && missed && ++s->missed >= b->cfg->missed_max &&
        s->state == SWB_AG_READY)
        swb_agent_set_state(b, s, SWB_AG_NOT_READY, "missed-offers", true);
}

void
swb_dispatch_accepted(swb_broker_t *b, swb_btask_t *t)
{
    if (t->holder)
        t->holder->missed = 0;
    t->lease_until = b->now + b->cfg->lease_ms;
    swb_broker_set_state(b, t, SWB_ST_ACTIVE);
}

void
swb_dispatch_finished_by(swb_broker_t *b, swb_session_t *s, int channel)
{
    if (!s || !swb_channel_is_voice(channel) || !b->cfg->wrapup_ms ||
        s->state != SWB_AG_READY)
        return;
    swb_agent_set_state(b, s, SWB_AG_WRAPUP, NULL, true);
    s->wrapup_until = b->now + b->cfg->wrapup_ms;
}

/* ---- offers ---- */

static void
offer(swb_broker_t *b, swb_session_t *s, swb_btask_t *t)
{
    if (!swb_handoff_may_offer(b, t))
        return; /* another region's task: its origin says GO first */
    swb_router_remove_task(b->router, t);
    t->rec.attempt++;
    t->rec.lease = b->next_lease++;
    b->meta_dirty = true;
    swb_btask_set_str(&t->rec.agent, s->profile.agent);
    swb_btask_set_str(&t->rec.site, s->profile.site);
    bool ring = swb_channel_is_voice(t->channel) || s->explicit_accept;
    swb_broker_set_state(b, t, ring ? SWB_ST_OFFERED : SWB_ST_ACTIVE);
    t->lease_until = b->now + (ring ? b->cfg->ring_ms : b->cfg->lease_ms);
    t->lhandle = zlistx_add_end(b->leased, t);
    swb_session_hold(s, t);
    swb_router_agent_changed(b->router, s, b->now_wall);
    swb_msg_t m = {.type = SWB_MSG_OFFER};
    m.u.offer.task = &t->rec;
    m.u.offer.ring = ring ? b->cfg->ring_ms : 0;
    swb_broker_send(b, SWB_SIDE_WORKER, s->rid, s->rid_len, &m, 0);
}

void
swb_dispatch_run(swb_broker_t *b)
{
    swb_btask_t *t;
    while ((t = zlistx_first(b->fresh))) {
        zlistx_delete(b->fresh, zlistx_cursor(b->fresh));
        if (!swb_router_has_task(t))
            continue;
        swb_session_t *s = swb_router_pick_agent(b->router, t, b->now_wall);
        if (s)
            offer(b, s, t);
        else if (b->fed && !t->foreign)
            swb_overflow_soon(b); /* perhaps another region can */
    }
    swb_session_t *s;
    while ((s = zlistx_first(b->freed))) {
        zlistx_delete(b->freed, zlistx_cursor(b->freed));
        s->freed_h = NULL;
        while ((t = swb_router_pick_task(b->router, s, b->now_wall)))
            offer(b, s, t);
    }
}

/* ---- timers ---- */

/* Tells the holder a task is no longer its to run. */
static void
revoke_offer(swb_broker_t *b, const swb_btask_t *t)
{
    swb_msg_t r = {.type = SWB_MSG_REVOKE};
    r.u.lease.id = t->rec.id;
    r.u.lease.lease = t->rec.lease;
    swb_broker_send(b, SWB_SIDE_WORKER, t->holder->rid, t->holder->rid_len, &r,
                    0);
}

void
swb_dispatch_cancel(swb_broker_t *b, swb_btask_t *t, const char *reason)
{
    if (t->holder)
        revoke_offer(b, t);
    swb_dispatch_unlease(b, t);
    swb_dispatch_forget(b, t);
    swb_btask_set_str(&t->rec.reason, reason);
    swb_broker_set_state(b, t, SWB_ST_CANCELED);
    swb_log(SWB_LOG_INFO, "broker", "canceled", "task=%llu reason=\"%s\"",
            (unsigned long long)t->rec.id, reason);
}

static void
due_fire(swb_broker_t *b, swb_btask_t *t)
{
    bool waiting = t->state == SWB_ST_QUEUED || t->state == SWB_ST_FAILED ||
                   t->state == SWB_ST_OFFERED;
    if (!waiting)
        return; /* being worked on: it may finish */
    if (t->channel == SWB_CH_VOICE_INBOUND) {
        if (t->holder) /* still ringing */
            revoke_offer(b, t);
        swb_dispatch_unlease(b, t);
        swb_dispatch_forget(b, t);
        swb_btask_set_str(&t->rec.reason, "caller hung up after waiting "
                          "past their patience");
        swb_broker_set_state(b, t, SWB_ST_ABANDONED);
        swb_log(SWB_LOG_INFO, "broker", "abandoned", "task=%llu",
                (unsigned long long)t->rec.id);
        return;
    }
    const swb_sponsor_def_t *sp =
        swb_config_sponsor(b->cfg, t->rec.spec->sponsor);
    if (sp && sp->escalate) {
        t->rec.spec->priority = SWB_MAX_PRIORITY;
        swb_router_update_task(b->router, t);
        swb_broker_touch(b, t);
        swb_log(SWB_LOG_WARN, "broker", "escalated", "task=%llu",
                (unsigned long long)t->rec.id);
        return;
    }
    if (t->holder)
        revoke_offer(b, t);
    swb_dispatch_unlease(b, t);
    swb_dispatch_forget(b, t);
    swb_btask_set_str(&t->rec.reason, "deadline passed before it was done");
    swb_broker_set_state(b, t, SWB_ST_EXPIRED);
    swb_log(SWB_LOG_INFO, "broker", "expired", "task=%llu",
            (unsigned long long)t->rec.id);
}

/* Opens and closes sites by their hours in their own time zone. */
static void
check_sites(swb_broker_t *b)
{
    for (size_t i = 0; i < b->cfg->nsites; i++) {
        const swb_site_def_t *st = &b->cfg->sites[i];
        bool open = true;
        if (st->open_min != st->close_min && *st->tz) {
            int minute = swb_tz_local_minute(b->tz, st->tz, b->now_wall);
            open = minute < 0 ||
                   swb_tz_window_contains(st->open_min, st->close_min, minute);
        }
        if (!swb_router_set_site_open(b->router, st->id, open))
            continue;
        swb_log(SWB_LOG_INFO, "broker", open ? "site_open" : "site_closed",
                "site=%s", st->id);
        if (open)
            for (swb_session_t *s = zhashx_first(b->sessions); s;
                 s = zhashx_next(b->sessions))
                if (strcmp(s->profile.site, st->id) == 0)
                    swb_dispatch_agent_free(b, s);
    }
}

void
swb_dispatch_timers(swb_broker_t *b)
{
    swb_btask_t *t;
    while ((t = swb_held_due(&b->held, b->now_wall))) {
        uint64_t win = window_wait(b, t);
        if (win) { /* its calling window is still closed */
            t->rec.ready_at = win;
            swb_held_add(&b->held, t);
            continue;
        }
        if (swb_router_add_task(b->router, t) == SWB_OK)
            zlistx_add_end(b->fresh, t);
    }
    while ((t = swb_heap_top(&b->due)) && t->due_at <= b->now_wall) {
        swb_heap_pop(&b->due);
        due_fire(b, t);
    }

    zlistx_t *expired = zlistx_new();
    for (t = zlistx_first(b->leased); t && expired; t = zlistx_next(b->leased))
        if (b->now > t->lease_until)
            zlistx_add_end(expired, t);
    for (t = expired ? zlistx_first(expired) : NULL; t;
         t = zlistx_next(expired)) {
        if (t->holder)
            revoke_offer(b, t);
        if (t->state == SWB_ST_OFFERED)
            swb_dispatch_refused(b, t, true); /* rang out */
        else
            swb_dispatch_retry(b, t, "lease expired", false);
    }
    zlistx_destroy(&expired);

    for (swb_session_t *s = zhashx_first(b->sessions); s;
         s = zhashx_next(b->sessions))
        if (s->wrapup_until && b->now >= s->wrapup_until) {
            s->wrapup_until = 0;
            if (s->state == SWB_AG_WRAPUP)
                swb_agent_set_state(b, s, SWB_AG_READY, NULL, true);
        }

    if (b->now >= b->next_sites_check) {
        b->next_sites_check = b->now + 1000;
        check_sites(b);
    }
}
