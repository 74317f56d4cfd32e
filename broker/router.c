/*
 * router.c - the waiting tasks, the idle agents, and the two decisions
 * (see router.h for the rules). The classes themselves, their keys and
 * links are in router_class.c; the layout in router_int.h.
 *
 * Waiting tasks sit in two keyed heaps per tclass (priority order and
 * age); after every change the tclass copies its heads' keys into its
 * summary line, and tells its linked aclasses when an inbound class
 * starts or stops having callers waiting. Ready agents with room for a
 * channel sit in one of two FIFO lists per aclass and channel: FREE
 * (holding nothing) and BUSY (holding work), linked through the sessions
 * (no allocation); the aclass keeps each head's idle_since and name hash
 * in the slot pick_agent reads.
 *
 * So pick_task reads one summary line per linked tclass and follows a
 * pointer only for the winner (or for a class whose head the agent
 * refused), and pick_agent reads half a line per linked aclass and walks
 * a list only when a head's name hash matches an agent who refused the
 * task. Both first prefetch all those lines, so their misses overlap.
 */
#include "router.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "router_int.h"
#include "swb_domain.h"

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

#define REFUSED_HASHES 16 /* refusals hashed on the stack per pick_agent */
#define SLOW_CLASSES 16   /* tclasses pick_task re-reads before all      */

/* ---- keys and summaries ---- */

static void
prio_key(const swb_btask_t *t, uint64_t k[SWB_RK_PRIO])
{
    const swb_task_spec_t *sp = t->rec.spec;
    k[0] = UINT64_MAX - sp->priority; /* high first */
    k[1] = sp->deadline ? sp->deadline : UINT64_MAX;
    k[2] = t->rec.created;
    k[3] = t->rec.id;
}

static void
age_key(const swb_btask_t *t, uint64_t k[SWB_RK_AGE])
{
    k[0] = t->rec.created;
    k[1] = t->rec.id;
}

/* Copies the heads' keys into the summary; counts the class in (or out
 * of) its aclasses' inbound_busy when it starts (or stops) waiting. */
static void
tsum_refresh(swb_tclass_t *tc)
{
    bool was = tc->sum.waiting, now = tc->prio.n > 0;
    if (now) {
        memcpy(tc->sum.prio, swb_kheap_top_key(&tc->prio),
               sizeof tc->sum.prio);
        memcpy(tc->sum.age, swb_kheap_top_key(&tc->age), sizeof tc->sum.age);
    }
    tc->sum.waiting = now;
    if (!tc->inbound || was == now)
        return;
    for (size_t i = 0; i < tc->nla; i++) {
        swb_aclass_t *a = tc->la[i];
        bool crossed = now ? a->inbound_busy++ == 0 : --a->inbound_busy == 0;
        if (crossed)
            swb_router_aclass_sync(a);
    }
}

/* FNV-1a: the name hash of agents and refusals. */
static uint32_t
name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; s && *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static bool
refused_by(const swb_btask_t *t, const swb_session_t *s)
{
    return t->refused.n && swb_strs_has(&t->refused, s->profile.agent);
}

/* ---- idle lists ---- */

/* Copies the head of list (ch, l) into the slot pick_agent reads. */
static void
idle_refresh(swb_aclass_t *a, int ch, int l)
{
    const swb_session_t *h = a->head[ch][l];
    swb_aslot_t *slot = &a->slot[ch];
    slot->hash[l] = h ? h->agent_hash : 0;
    slot->since[l] = !h ? SWB_SINCE_NONE
                     : h->idle_since == SWB_SINCE_NONE ? SWB_SINCE_NONE - 1
                                                       : h->idle_since;
}

static void
idle_leave(swb_aclass_t *a, swb_session_t *s, int ch)
{
    int l = (int)(s->idle_busy >> ch & 1);
    struct swb_idle_link *k = &s->idle_link[ch];
    if (k->prev)
        k->prev->idle_link[ch].next = k->next;
    else
        a->head[ch][l] = k->next;
    if (k->next)
        k->next->idle_link[ch].prev = k->prev;
    else
        a->tail[ch][l] = k->prev;
    bool was_head = !k->prev;
    k->prev = k->next = NULL;
    s->idle_h[ch] = NULL;
    if (was_head)
        idle_refresh(a, ch, l);
}

static void
idle_join(swb_aclass_t *a, swb_session_t *s, int ch, int l)
{
    struct swb_idle_link *k = &s->idle_link[ch];
    k->prev = a->tail[ch][l];
    k->next = NULL;
    if (k->prev)
        k->prev->idle_link[ch].next = s;
    else
        a->head[ch][l] = s;
    a->tail[ch][l] = s;
    s->idle_h[ch] = k;
    s->idle_busy = (s->idle_busy & ~(1u << ch)) | (uint32_t)l << ch;
    if (!k->prev)
        idle_refresh(a, ch, l);
}

/* ---- public ---- */

swb_router_t *
swb_router_new(const swb_config_t *cfg)
{
    swb_router_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = cfg;
    r->tmap = zhashx_new();
    r->amap = zhashx_new();
    r->closed = zhashx_new();
    if (!r->tmap || !r->amap || !r->closed) {
        swb_router_destroy(&r);
        return NULL;
    }
    return r;
}

void
swb_router_destroy(swb_router_t **rp)
{
    if (!rp || !*rp)
        return;
    swb_router_t *r = *rp;
    zhashx_destroy(&r->tmap);
    zhashx_destroy(&r->amap);
    zhashx_destroy(&r->closed);
    swb_router_classes_free(r);
    free(r);
    *rp = NULL;
}

swb_err_t
swb_router_add_task(swb_router_t *r, swb_btask_t *t)
{
    if (!t->tclass &&
        !(t->tclass = swb_router_tclass_get(r, t->rec.spec, t->foreign)))
        return SWB_ENOMEM;
    swb_tclass_t *tc = t->tclass;
    uint64_t pk[SWB_RK_PRIO], ak[SWB_RK_AGE];
    prio_key(t, pk);
    age_key(t, ak);
    if (swb_kheap_push(&tc->prio, t, pk))
        return SWB_ENOMEM;
    if (swb_kheap_push(&tc->age, t, ak)) {
        swb_kheap_remove(&tc->prio, t); /* the heads are as before */
        return SWB_ENOMEM;
    }
    if (!tc->sum.waiting || t->prio_pos == 0 || t->age_pos == 0)
        tsum_refresh(tc);
    r->waiting++;
    return SWB_OK;
}

bool
swb_router_has_task(const swb_btask_t *t)
{
    return t->tclass && t->prio_pos != SWB_HEAP_NONE;
}

void
swb_router_remove_task(swb_router_t *r, swb_btask_t *t)
{
    if (!swb_router_has_task(t))
        return;
    swb_tclass_t *tc = t->tclass;
    bool head = t->prio_pos == 0 || t->age_pos == 0;
    swb_kheap_remove(&tc->prio, t);
    swb_kheap_remove(&tc->age, t);
    if (head)
        tsum_refresh(tc);
    r->waiting--;
}

void
swb_router_update_task(swb_router_t *r, swb_btask_t *t)
{
    (void)r;
    if (!swb_router_has_task(t))
        return;
    uint64_t pk[SWB_RK_PRIO];
    prio_key(t, pk);
    swb_kheap_update(&t->tclass->prio, t, pk);
    tsum_refresh(t->tclass);
}

swb_err_t
swb_router_add_agent(swb_router_t *r, swb_session_t *s)
{
    s->agent_hash = name_hash(s->profile.agent);
    s->aclass = swb_router_aclass_get(r, &s->profile);
    if (!s->aclass)
        return SWB_ENOMEM;
    s->aclass->members++;
    return SWB_OK;
}

/* True when s sits in at least one idle list. */
static bool
in_idle(const swb_session_t *s)
{
    for (int ch = 0; ch < SWB_CH_COUNT; ch++)
        if (s->idle_h[ch])
            return true;
    return false;
}

void
swb_router_remove_agent(swb_router_t *r, swb_session_t *s)
{
    swb_aclass_t *a = s->aclass;
    if (!a)
        return;
    if (in_idle(s)) {
        a->ready--;
        r->ready--;
    }
    for (int ch = 0; ch < SWB_CH_COUNT; ch++)
        if (s->idle_h[ch])
            idle_leave(a, s, ch);
    a->members--;
    s->aclass = NULL;
}

void
swb_router_agent_changed(swb_router_t *r, swb_session_t *s, uint64_t now_wall)
{
    (void)now_wall;
    swb_aclass_t *a = s->aclass;
    if (!a)
        return;
    int l = zlistx_size(s->held) ? SWB_IDLE_BUSY : SWB_IDLE_FREE;
    bool was = in_idle(s);
    for (int ch = 0; ch < SWB_CH_COUNT; ch++) {
        if (!(a->chans >> ch & 1))
            continue;
        bool should = s->state == SWB_AG_READY && swb_session_can_take(s, ch);
        if (s->idle_h[ch] &&
            (!should || (int)(s->idle_busy >> ch & 1) != l))
            idle_leave(a, s, ch);
        if (should && !s->idle_h[ch])
            idle_join(a, s, ch, l);
        else if (should && a->head[ch][l] == s)
            idle_refresh(a, ch, l); /* its idle_since may have moved */
    }
    bool is = in_idle(s);
    if (is && !was) {
        a->ready++;
        r->ready++;
    } else if (was && !is) {
        a->ready--;
        r->ready--;
    }
}

/* The first agent in the list from s on who did not refuse t, or NULL;
 * the first one who did becomes *fallback if that is still empty. */
static swb_session_t *
first_willing(const swb_btask_t *t, swb_session_t *s, int ch,
              swb_session_t **fallback)
{
    for (; s; s = s->idle_link[ch].next) {
        if (!refused_by(t, s))
            return s;
        if (!*fallback)
            *fallback = s;
    }
    return NULL;
}

static bool
hash_in(const uint32_t *v, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == h)
            return true;
    return false;
}

swb_session_t *
swb_router_pick_agent(swb_router_t *r, const swb_btask_t *t, uint64_t now_wall)
{
    (void)r;
    (void)now_wall;
    swb_tclass_t *tc = t->tclass;
    if (!tc || tc->channel < 0)
        return NULL;
    int ch = tc->channel;
    /* refusals: a head whose name hash matches is checked by name */
    uint32_t rh[REFUSED_HASHES];
    size_t nrh = t->refused.n <= REFUSED_HASHES ? t->refused.n : 0;
    bool check_all = t->refused.n > REFUSED_HASHES;
    for (size_t i = 0; i < nrh; i++)
        rh[i] = name_hash(t->refused.v[i]);
    for (size_t i = 0; i < tc->nla; i++) /* all misses at once */
        PREFETCH(&tc->la[i]->slot[ch]);
    swb_aclass_t *best = NULL;
    swb_session_t *best_s = NULL, *fallback = NULL;
    uint64_t best_since = 0, best_score = 0;
    int best_l = 0;
    for (size_t i = 0; i < tc->nla; i++) {
        swb_aclass_t *a = tc->la[i];
        const swb_aslot_t *slot = &a->slot[ch];
        if ((slot->since[0] & slot->since[1]) == SWB_SINCE_NONE ||
            !slot->open)
            continue;
        /* blended: a busy agent keeps room for waiting inbound callers */
        int lists = !tc->voice && slot->callers ? 1 : 2;
        uint64_t score = tc->score[i];
        for (int l = 0; l < lists; l++) {
            uint64_t sn = slot->since[l];
            swb_session_t *s = NULL;
            if (sn == SWB_SINCE_NONE)
                continue;
            if (check_all || (nrh && hash_in(rh, nrh, slot->hash[l]))) {
                s = first_willing(t, a->head[ch][l], ch, &fallback);
                if (!s)
                    continue;
                sn = s->idle_since;
            }
            bool better;
            if (!best)
                better = true;
            else if (tc->best_skilled && score != best_score)
                better = score > best_score;
            else
                better = sn < best_since;
            if (better) {
                best = a;
                best_l = l;
                best_s = s;
                best_since = sn;
                best_score = score;
            }
        }
    }
    if (!best) /* an agent who refused it, only when nobody else can */
        return fallback;
    return best_s ? best_s : best->head[ch][best_l];
}

/* A tclass's offer to an agent, as pick_task compares them. */
typedef struct cand {
    swb_tclass_t *tc;
    swb_btask_t *t;       /* NULL: the head of age or prio, by starving */
    const uint64_t *key;  /* age key when starving, else priority key   */
    bool inbound, starving;
} cand_t;

/* True when x goes before y: inbound voice, starving (oldest first), then
 * priority, deadline, age. */
static bool
cand_first(const cand_t *x, const cand_t *y)
{
    if (x->inbound != y->inbound)
        return x->inbound;
    if (x->starving != y->starving)
        return x->starving;
    size_t n = x->starving ? SWB_RK_AGE : SWB_RK_PRIO;
    for (size_t i = 0; i < n; i++)
        if (x->key[i] != y->key[i])
            return x->key[i] < y->key[i];
    return false;
}

/* The class's offer to s read from its tasks: when s refused the head,
 * the other order's head (not starving) before giving up on the class. */
static bool
cand_exact(cand_t *c, const swb_session_t *s)
{
    swb_tclass_t *tc = c->tc;
    swb_btask_t *t = swb_kheap_top(c->starving ? &tc->age : &tc->prio);
    if (refused_by(t, s)) {
        t = swb_kheap_top(c->starving ? &tc->prio : &tc->age);
        c->starving = false;
        if (!t || refused_by(t, s))
            return false;
    }
    c->t = t;
    c->key = c->starving ? swb_kheap_key(&tc->age, t)
                         : swb_kheap_key(&tc->prio, t);
    return true;
}

static bool
class_in(swb_tclass_t *const *v, size_t n, const swb_tclass_t *tc)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == tc)
            return true;
    return false;
}

swb_btask_t *
swb_router_pick_task(swb_router_t *r, const swb_session_t *s, uint64_t now_wall)
{
    swb_aclass_t *a = s->aclass;
    if (!a || s->state != SWB_AG_READY || !a->site_open)
        return NULL;
    uint32_t chans = 0;
    for (int ch = 0; ch < SWB_CH_COUNT; ch++)
        if (swb_session_can_take(s, ch))
            chans |= 1u << ch;
    if (!chans)
        return NULL;
    uint64_t starve = r->cfg->starve_ms;
    /* Classes whose head s refused are read exactly. Their offer then is
     * never better than the head, so the first pass on the summaries,
     * then a check of the winner only, gives the same answer. */
    swb_tclass_t *slow[SLOW_CLASSES];
    size_t nslow = 0;
    bool all_slow = false;
    for (size_t i = 0; i < a->nlt; i++) /* all misses at once */
        PREFETCH(&a->lt[i]->sum);
    for (;;) {
        cand_t best = {NULL, NULL, NULL, false, false};
        for (size_t i = 0; i < a->nlt; i++) {
            swb_tclass_t *tc = a->lt[i];
            const swb_tsum_t *m = &tc->sum;
            if (!m->waiting || !(chans >> m->channel & 1))
                continue;
            bool starving = now_wall >= m->age[0] + starve;
            cand_t c = {tc, NULL, starving ? m->age : m->prio, m->inbound,
                        starving};
            if ((all_slow || (nslow && class_in(slow, nslow, tc))) &&
                !cand_exact(&c, s))
                continue;
            if (!best.tc || cand_first(&c, &best))
                best = c;
        }
        if (!best.tc)
            return NULL;
        swb_btask_t *t = best.t;
        if (!t) {
            t = swb_kheap_top(best.starving ? &best.tc->age : &best.tc->prio);
            if (refused_by(t, s)) {
                if (nslow < SLOW_CLASSES)
                    slow[nslow++] = best.tc;
                else
                    all_slow = true;
                continue;
            }
        }
        if (t->channel != SWB_CH_VOICE_INBOUND && a->inbound_busy > 0 &&
            zlistx_size(s->held) > 0)
            return NULL; /* blended: finish, then answer the callers */
        return t;
    }
}

bool
swb_router_set_site_open(swb_router_t *r, const char *site, bool open)
{
    bool changed = false;
    if (open)
        zhashx_delete(r->closed, site);
    else
        zhashx_update(r->closed, site, r); /* classes made later see it */
    for (size_t i = 0; i < r->av.n; i++) {
        swb_aclass_t *a = r->av.v[i];
        if (strcmp(a->prof.site, site) == 0 && a->site_open != open) {
            a->site_open = open;
            swb_router_aclass_sync(a);
            changed = true;
        }
    }
    return changed;
}

size_t
swb_router_tclasses(const swb_router_t *r)
{
    return r->tv.n;
}

size_t
swb_router_aclasses(const swb_router_t *r)
{
    return r->av.n;
}

size_t
swb_router_waiting(const swb_router_t *r)
{
    return r->waiting;
}

size_t
swb_router_ready(const swb_router_t *r)
{
    return r->ready;
}

/* ---- views for the regions (overflow.c, peer.c) ---- */

/* Agents and ready agents of the classes linked to tc at open sites. */
static void
tclass_capacity(const swb_tclass_t *tc, size_t *agents, size_t *ready)
{
    *agents = *ready = 0;
    for (size_t i = 0; i < tc->nla; i++) {
        const swb_aclass_t *a = tc->la[i];
        if (!a->site_open)
            continue;
        *agents += a->members;
        *ready += a->ready;
    }
}

void
swb_router_each_queue(swb_router_t *r, swb_router_queue_fn fn, void *arg,
                      size_t max_per_class)
{
    for (size_t i = 0; i < r->tv.n; i++) {
        swb_tclass_t *tc = r->tv.v[i];
        if (tc->foreign)
            continue;
        for (size_t k = 0; k < max_per_class && tc->prio.n; k++) {
            swb_router_queue_t q = {&tc->req, tc->prio.n,
                                    swb_kheap_top(&tc->prio),
                                    swb_kheap_top(&tc->age), 0, 0,
                                    &tc->memo};
            tclass_capacity(tc, &q.agents, &q.ready);
            if (!fn(&q, arg))
                break;
        }
    }
}

void
swb_router_each_team(swb_router_t *r, swb_router_team_fn fn, void *arg)
{
    for (size_t i = 0; i < r->av.n; i++) {
        const swb_aclass_t *a = r->av.v[i];
        if (!a->members)
            continue;
        swb_router_team_t t = {&a->prof, a->site, a->site_open, a->members,
                               a->ready, 0};
        for (size_t j = 0; j < a->nlt; j++)
            t.waiting += a->lt[j]->prio.n;
        fn(&t, arg);
    }
}

bool
swb_router_can_serve(swb_router_t *r, const swb_task_spec_t *spec,
                     bool foreign)
{
    swb_tclass_t *tc = swb_router_tclass_get(r, spec, foreign);
    size_t agents, ready;
    if (!tc)
        return false;
    tclass_capacity(tc, &agents, &ready);
    return agents > 0;
}
