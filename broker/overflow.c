/*
 * overflow.c - which waiting task goes to which peer region (PRODUCT.md
 * 5: overflow and follow-the-sun).
 *
 * Every 50 ms (5 ms after new work found no free agent here) this walks the requirement classes of this region's own
 * waiting work (router.h swb_router_each_queue: classes, not tasks). A
 * class's first task goes to a peer when
 *   - no agent here could take it: nobody eligible is connected at an
 *     open site (the language nobody speaks here, every eligible site
 *     closed for the night: follow-the-sun), or
 *   - its oldest task has waited longer than its sponsor's service-level
 *     threshold (service-level = 80/20: 20 s) and a peer predicts a
 *     shorter wait than this region does.
 * The peer is chosen by predicted wait among those that are up, that the
 * sponsor allows (its regions list) and that advertised an eligible
 * class of agents at an open site; ties go to the peer named first.
 * Tasks handed to a peer since its last advert count as waiting there,
 * so a burst does not all land on one peer's single ready agent. Tasks a
 * peer handed to us sit in classes of their own and are never offered
 * here (no loops). A class no peer could take is not weighed again
 * until an advert or a peer going up or down changes what peers offer
 * (its memo word holds that generation), so a backlog nobody anywhere
 * can serve costs nothing per tick.
 */
#include "broker_int.h"

#include <stdlib.h>
#include <string.h>

#include "swb_log.h"

#define OVERFLOW_TICK_MS 50
#define OVERFLOW_SOON_MS 5 /* least gap when new work found nobody here */
#define MAX_PER_CLASS 200 /* tasks handed out per class and tick */

/* The best peer for spec and its predicted wait; NULL when none. */
static swb_peer_t *
best_peer(swb_broker_t *b, const swb_task_spec_t *spec, uint64_t *wait,
          size_t *cap_index)
{
    swb_peer_t *best = NULL;
    const swb_sponsor_def_t *sp = swb_config_sponsor(b->cfg, spec->sponsor);
    *wait = UINT64_MAX;
    for (size_t i = 0; i < b->fed->npeers; i++) {
        swb_peer_t *p = &b->fed->peers[i];
        if (!p->up || (sp && sp->regions.n &&
                       !swb_strs_has(&sp->regions, p->name)))
            continue;
        swb_cap_t *caps = p->advert.classes.v;
        for (size_t c = 0; c < p->advert.classes.n; c++) {
            const swb_cap_t *cap = &caps[c];
            if (!cap->open || !cap->agents)
                continue;
            swb_m_hello_t prof = {.site = cap->site,
                                  .channels = cap->channels,
                                  .speaks = cap->speaks,
                                  .writes = cap->writes,
                                  .skills = cap->skills,
                                  .sponsors = cap->sponsors};
            swb_site_def_t site = {.id = cap->site,
                                   .country = cap->country ? cap->country
                                                           : (char *)""};
            if (!swb_router_eligible_in(b->cfg, p->name, &prof, &site, spec))
                continue;
            uint64_t extra = p->extra ? p->extra[c] : 0;
            uint64_t w = swb_peer_predict(b, cap->agents, cap->ready,
                                          cap->waiting + extra);
            if (w < *wait) {
                *wait = w;
                best = p;
                *cap_index = c;
            }
        }
    }
    return best;
}

/* The service-level threshold of a task's sponsor, ms. */
static uint64_t
threshold_ms(const swb_broker_t *b, const swb_task_spec_t *spec)
{
    const swb_sponsor_def_t *sp = swb_config_sponsor(b->cfg, spec->sponsor);
    unsigned s = sp && sp->sl_seconds ? sp->sl_seconds : 20;
    return (uint64_t)s * 1000u;
}

static bool
weigh_queue(const swb_router_queue_t *q, void *arg)
{
    swb_broker_t *b = arg;
    swb_btask_t *t;
    if (q->agents) { /* agents here: only work waiting past its threshold */
        t = q->oldest;
        if (b->now_wall - t->rec.created < threshold_ms(b, q->req))
            return false;
    } else {
        t = q->top;
    }
    if (t->no_forward_until > b->now)
        return false;
    uint64_t wait;
    size_t c = 0;
    if (*q->memo == b->fed->gen + 1)
        return false; /* no peer fitted, and nothing changed since */
    swb_peer_t *p = best_peer(b, q->req, &wait, &c);
    if (!p) {
        *q->memo = b->fed->gen + 1;
        return false;
    }
    if (q->agents &&
        wait >= swb_peer_predict(b, q->agents, q->ready, q->waiting))
        return false; /* no better there */
    if (p->extra)
        p->extra[c]++;
    swb_handoff_forward(b, t, p);
    return true;
}

void
swb_overflow_run(swb_broker_t *b)
{
    if (!b->fed || b->now < b->fed->next_overflow)
        return;
    if (b->now < b->fed->quiet_until) {
        b->fed->next_overflow = b->fed->quiet_until;
        return;
    }
    b->fed->last_overflow = b->now;
    b->fed->next_overflow = b->now + OVERFLOW_TICK_MS;
    swb_router_each_queue(b->router, weigh_queue, b, MAX_PER_CLASS);
}

void
swb_overflow_soon(swb_broker_t *b)
{
    uint64_t soon = b->fed ? b->fed->last_overflow + OVERFLOW_SOON_MS : 0;
    if (b->fed && soon < b->fed->next_overflow)
        b->fed->next_overflow = soon;
}
