/*
 * router.c - requirement classes, capability classes, the links between
 * them, and the two decisions (see router.h for the rules).
 */
#include "router.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "swb_domain.h"

typedef struct swb_link {
    struct swb_aclass *a;
    struct swb_tclass *t;
    uint64_t score; /* best-skilled: the agent's levels on the task's needs */
} swb_link_t;

typedef struct swb_links {
    swb_link_t **v;
    size_t n, cap;
} swb_links_t;

typedef struct swb_tclass {
    char *key;
    int channel;
    bool voice, inbound, best_skilled;
    swb_task_spec_t req; /* requirements (a copy without payload/key) */
    swb_heap_t prio;     /* priority, deadline, age                    */
    swb_heap_t age;      /* age only: the starvation guard             */
    swb_links_t links;   /* eligible capability classes                */
} swb_tclass_t;

typedef struct swb_aclass {
    char *key;
    swb_m_hello_t prof; /* the profile (a copy without holding)       */
    const swb_site_def_t *site;
    bool site_open;
    zlistx_t *idle[SWB_CH_COUNT]; /* ready sessions with room, per channel */
    swb_links_t links;            /* eligible requirement classes    */
    size_t inbound_waiting;       /* tasks waiting in linked inbound classes */
} swb_aclass_t;

typedef struct swb_classes {
    void **v;
    size_t n, cap;
} swb_classes_t;

struct swb_router {
    const swb_config_t *cfg;
    zhashx_t *tmap, *amap; /* key -> class (borrowed; owned by tv / av) */
    swb_classes_t tv, av;
    swb_links_t all;       /* every link, owned                         */
    size_t waiting;
};

/* ---- small growable arrays ---- */

static swb_err_t
grow_push(void ***v, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        void **nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return SWB_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = item;
    return SWB_OK;
}

static swb_err_t
links_push(swb_links_t *l, swb_link_t *k)
{
    return grow_push((void ***)&l->v, &l->n, &l->cap, k);
}

static swb_err_t
classes_push(swb_classes_t *c, void *k)
{
    return grow_push(&c->v, &c->n, &c->cap, k);
}

/* ---- canonical class keys ---- */

typedef struct keybuf {
    char *s;
    size_t n, cap;
    bool oom;
} keybuf_t;

static void
kb_add(keybuf_t *k, const char *text)
{
    size_t len = strlen(text);
    if (k->oom)
        return;
    if (k->n + len + 1 > k->cap) {
        size_t nc = (k->n + len + 1) * 2;
        char *ns = realloc(k->s, nc);
        if (!ns) {
            k->oom = true;
            return;
        }
        k->s = ns;
        k->cap = nc;
    }
    memcpy(k->s + k->n, text, len + 1);
    k->n += len;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_level(const void *a, const void *b)
{
    return strcmp(((const swb_level_t *)a)->name,
                  ((const swb_level_t *)b)->name);
}

/* tag=item,item (sorted) */
static void
kb_strs(keybuf_t *k, const char *tag, const swb_strs_t *s)
{
    kb_add(k, tag);
    if (!s->n)
        return;
    char **v = malloc(s->n * sizeof *v);
    if (!v) {
        k->oom = true;
        return;
    }
    memcpy(v, s->v, s->n * sizeof *v);
    qsort(v, s->n, sizeof *v, cmp_str);
    for (size_t i = 0; i < s->n; i++) {
        kb_add(k, v[i]);
        kb_add(k, ",");
    }
    free(v);
}

/* tag=name:level,... (sorted) */
static void
kb_levels(keybuf_t *k, const char *tag, const swb_levels_t *l)
{
    kb_add(k, tag);
    if (!l->n)
        return;
    swb_level_t *v = malloc(l->n * sizeof *v);
    if (!v) {
        k->oom = true;
        return;
    }
    memcpy(v, l->v, l->n * sizeof *v);
    qsort(v, l->n, sizeof *v, cmp_level);
    for (size_t i = 0; i < l->n; i++) {
        char lv[24];
        snprintf(lv, sizeof lv, ":%llu,", (unsigned long long)v[i].level);
        kb_add(k, v[i].name);
        kb_add(k, lv);
    }
    free(v);
}

static bool
task_best_skilled(const swb_config_t *cfg, const swb_task_spec_t *t)
{
    if (t->routing)
        return strcmp(t->routing, "best-skilled") == 0;
    const swb_sponsor_def_t *sp = swb_config_sponsor(cfg, t->sponsor);
    return sp && sp->best_skilled;
}

static char *
tclass_key(const swb_config_t *cfg, const swb_task_spec_t *t)
{
    keybuf_t k = {0};
    kb_add(&k, "c=");
    kb_add(&k, t->channel);
    kb_levels(&k, "|l=", &t->lang);
    kb_levels(&k, "|k=", &t->skills);
    kb_add(&k, "|p=");
    kb_add(&k, t->sponsor ? t->sponsor : "");
    kb_strs(&k, "|s=", &t->sites);
    kb_strs(&k, "|n=", &t->countries);
    kb_add(&k, task_best_skilled(cfg, t) ? "|b" : "|i");
    if (k.oom) {
        free(k.s);
        return NULL;
    }
    return k.s;
}

static char *
aclass_key(const swb_m_hello_t *a)
{
    keybuf_t k = {0};
    kb_add(&k, "s=");
    kb_add(&k, a->site);
    kb_strs(&k, "|c=", &a->channels);
    kb_levels(&k, "|p=", &a->speaks);
    kb_levels(&k, "|w=", &a->writes);
    kb_levels(&k, "|k=", &a->skills);
    kb_strs(&k, "|o=", &a->sponsors);
    if (k.oom) {
        free(k.s);
        return NULL;
    }
    return k.s;
}

/* ---- eligibility ---- */

static bool
levels_cover(const swb_levels_t *have, const swb_levels_t *need)
{
    for (size_t i = 0; i < need->n; i++) {
        const swb_level_t *h = swb_levels_find(have, need->v[i].name);
        if (!h || h->level < need->v[i].level)
            return false;
    }
    return true;
}

bool
swb_router_eligible(const swb_config_t *cfg, const swb_m_hello_t *a,
                    const swb_site_def_t *site, const swb_task_spec_t *t)
{
    int ch = swb_channel_parse(t->channel);
    if (ch < 0 || !swb_strs_has(&a->channels, t->channel))
        return false;
    /* spoken level for voice, written level for everything else */
    if (!levels_cover(swb_channel_is_voice(ch) ? &a->speaks : &a->writes,
                      &t->lang))
        return false;
    if (!levels_cover(&a->skills, &t->skills))
        return false;
    const swb_sponsor_def_t *sp = swb_config_sponsor(cfg, t->sponsor);
    if (sp && sp->certification && !swb_strs_has(&a->sponsors, t->sponsor))
        return false;
    const char *country = site ? site->country : "";
    if (t->sites.n && !swb_strs_has(&t->sites, a->site))
        return false;
    if (t->countries.n && !swb_strs_has(&t->countries, country))
        return false;
    if (sp && sp->countries.n && !swb_strs_has(&sp->countries, country))
        return false;
    if (sp && sp->regions.n && !swb_strs_has(&sp->regions, cfg->region))
        return false;
    return true;
}

static uint64_t
skill_score(const swb_m_hello_t *a, const swb_task_spec_t *t)
{
    uint64_t score = 0;
    for (size_t i = 0; i < t->skills.n; i++) {
        const swb_level_t *h = swb_levels_find(&a->skills, t->skills.v[i].name);
        score += h ? h->level : 0;
    }
    return score;
}

/* ---- task order ---- */

static int
cmp_prio(const void *a, const void *b)
{
    const swb_btask_t *x = a, *y = b;
    uint64_t px = x->rec.spec->priority, py = y->rec.spec->priority;
    if (px != py)
        return px > py ? -1 : 1;
    uint64_t dx = x->rec.spec->deadline ? x->rec.spec->deadline : UINT64_MAX;
    uint64_t dy = y->rec.spec->deadline ? y->rec.spec->deadline : UINT64_MAX;
    if (dx != dy)
        return dx < dy ? -1 : 1;
    if (x->rec.created != y->rec.created)
        return x->rec.created < y->rec.created ? -1 : 1;
    return x->rec.id < y->rec.id ? -1 : x->rec.id > y->rec.id;
}

static int
cmp_age(const void *a, const void *b)
{
    const swb_btask_t *x = a, *y = b;
    if (x->rec.created != y->rec.created)
        return x->rec.created < y->rec.created ? -1 : 1;
    return x->rec.id < y->rec.id ? -1 : x->rec.id > y->rec.id;
}

static size_t *
pos_prio(void *item)
{
    return &((swb_btask_t *)item)->prio_pos;
}

static size_t *
pos_age(void *item)
{
    return &((swb_btask_t *)item)->age_pos;
}

/* The task a class offers next, and whether it is starving. */
static swb_btask_t *
class_next(const swb_router_t *r, swb_tclass_t *tc, uint64_t now,
           bool *starving)
{
    swb_btask_t *old = swb_heap_top(&tc->age);
    *starving = old && now >= old->rec.created + r->cfg->starve_ms;
    return *starving ? old : swb_heap_top(&tc->prio);
}

/* True when x should go before y. */
static bool
goes_first(const swb_btask_t *x, bool xs, const swb_btask_t *y, bool ys)
{
    bool xi = x->channel == SWB_CH_VOICE_INBOUND;
    bool yi = y->channel == SWB_CH_VOICE_INBOUND;
    if (xi != yi)
        return xi;
    if (xs != ys)
        return xs;
    if (xs)
        return cmp_age(x, y) < 0;
    return cmp_prio(x, y) < 0;
}

static bool
refused_by(const swb_btask_t *t, const swb_session_t *s)
{
    return t->refused.n && swb_strs_has(&t->refused, s->profile.agent);
}

/* ---- classes ---- */

static swb_err_t
link_classes(swb_router_t *r, swb_aclass_t *a, swb_tclass_t *t)
{
    swb_link_t *k = calloc(1, sizeof *k);
    if (!k)
        return SWB_ENOMEM;
    k->a = a;
    k->t = t;
    k->score = skill_score(&a->prof, &t->req);
    if (links_push(&r->all, k)) {
        free(k);
        return SWB_ENOMEM;
    }
    if (links_push(&a->links, k) || links_push(&t->links, k))
        return SWB_ENOMEM;
    if (t->inbound)
        a->inbound_waiting += t->prio.n;
    return SWB_OK;
}

static void
tclass_free(swb_tclass_t *t)
{
    free(t->key);
    swb_codec_free(&swb_task_spec_schema, &t->req);
    swb_heap_fini(&t->prio);
    swb_heap_fini(&t->age);
    free(t->links.v);
    free(t);
}

static void
aclass_free(swb_aclass_t *a)
{
    free(a->key);
    swb_codec_free(swb_msg_schema(SWB_MSG_HELLO), &a->prof);
    for (int ch = 0; ch < SWB_CH_COUNT; ch++)
        zlistx_destroy(&a->idle[ch]);
    free(a->links.v);
    free(a);
}

static swb_tclass_t *
tclass_get(swb_router_t *r, const swb_task_spec_t *spec)
{
    char *key = tclass_key(r->cfg, spec);
    if (!key)
        return NULL;
    swb_tclass_t *t = zhashx_lookup(r->tmap, key);
    if (t) {
        free(key);
        return t;
    }
    t = calloc(1, sizeof *t);
    if (!t) {
        free(key);
        return NULL;
    }
    t->key = key;
    t->channel = swb_channel_parse(spec->channel);
    t->voice = swb_channel_is_voice(t->channel);
    t->inbound = t->channel == SWB_CH_VOICE_INBOUND;
    t->best_skilled = task_best_skilled(r->cfg, spec);
    swb_heap_init(&t->prio, cmp_prio, pos_prio);
    swb_heap_init(&t->age, cmp_age, pos_age);
    swb_task_spec_t shallow = *spec; /* requirements only */
    memset(&shallow.payload, 0, sizeof shallow.payload);
    shallow.key = NULL;
    if (swb_codec_copy(&swb_task_spec_schema, &t->req, &shallow) != SWB_OK ||
        classes_push(&r->tv, t) != SWB_OK) {
        tclass_free(t);
        return NULL;
    }
    zhashx_insert(r->tmap, t->key, t);
    for (size_t i = 0; i < r->av.n; i++) {
        swb_aclass_t *a = r->av.v[i];
        if (swb_router_eligible(r->cfg, &a->prof, a->site, &t->req))
            link_classes(r, a, t);
    }
    return t;
}

static swb_aclass_t *
aclass_get(swb_router_t *r, const swb_m_hello_t *prof)
{
    char *key = aclass_key(prof);
    if (!key)
        return NULL;
    swb_aclass_t *a = zhashx_lookup(r->amap, key);
    if (a) {
        free(key);
        return a;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        free(key);
        return NULL;
    }
    a->key = key;
    a->site_open = true;
    a->site = swb_config_site(r->cfg, prof->site);
    swb_m_hello_t shallow = *prof;
    memset(&shallow.holding, 0, sizeof shallow.holding);
    if (swb_codec_copy(swb_msg_schema(SWB_MSG_HELLO), &a->prof, &shallow) ||
        classes_push(&r->av, a)) {
        aclass_free(a);
        return NULL;
    }
    for (size_t i = 0; i < a->prof.channels.n; i++) {
        int ch = swb_channel_parse(a->prof.channels.v[i]);
        if (ch >= 0 && !a->idle[ch])
            a->idle[ch] = zlistx_new();
    }
    zhashx_insert(r->amap, a->key, a);
    for (size_t i = 0; i < r->tv.n; i++) {
        swb_tclass_t *t = r->tv.v[i];
        if (swb_router_eligible(r->cfg, &a->prof, a->site, &t->req))
            link_classes(r, a, t);
    }
    return a;
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
    if (!r->tmap || !r->amap) {
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
    for (size_t i = 0; i < r->tv.n; i++)
        tclass_free(r->tv.v[i]);
    for (size_t i = 0; i < r->av.n; i++)
        aclass_free(r->av.v[i]);
    for (size_t i = 0; i < r->all.n; i++)
        free(r->all.v[i]);
    free(r->tv.v);
    free(r->av.v);
    free(r->all.v);
    free(r);
    *rp = NULL;
}

swb_err_t
swb_router_add_task(swb_router_t *r, swb_btask_t *t)
{
    if (!t->tclass && !(t->tclass = tclass_get(r, t->rec.spec)))
        return SWB_ENOMEM;
    swb_tclass_t *tc = t->tclass;
    if (swb_heap_push(&tc->prio, t))
        return SWB_ENOMEM;
    if (swb_heap_push(&tc->age, t)) {
        swb_heap_remove(&tc->prio, t);
        return SWB_ENOMEM;
    }
    if (tc->inbound)
        for (size_t i = 0; i < tc->links.n; i++)
            tc->links.v[i]->a->inbound_waiting++;
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
    swb_heap_remove(&tc->prio, t);
    swb_heap_remove(&tc->age, t);
    if (tc->inbound)
        for (size_t i = 0; i < tc->links.n; i++)
            tc->links.v[i]->a->inbound_waiting--;
    r->waiting--;
}

void
swb_router_update_task(swb_router_t *r, swb_btask_t *t)
{
    (void)r;
    if (swb_router_has_task(t))
        swb_heap_update(&t->tclass->prio, t);
}

swb_err_t
swb_router_add_agent(swb_router_t *r, swb_session_t *s)
{
    s->aclass = aclass_get(r, &s->profile);
    return s->aclass ? SWB_OK : SWB_ENOMEM;
}

void
swb_router_remove_agent(swb_router_t *r, swb_session_t *s)
{
    (void)r;
    swb_aclass_t *a = s->aclass;
    if (!a)
        return;
    for (int ch = 0; ch < SWB_CH_COUNT; ch++)
        if (s->idle_h[ch]) {
            zlistx_detach(a->idle[ch], s->idle_h[ch]);
            s->idle_h[ch] = NULL;
        }
    s->aclass = NULL;
}

void
swb_router_agent_changed(swb_router_t *r, swb_session_t *s, uint64_t now_wall)
{
    (void)r;
    (void)now_wall;
    swb_aclass_t *a = s->aclass;
    if (!a)
        return;
    for (int ch = 0; ch < SWB_CH_COUNT; ch++) {
        if (!a->idle[ch])
            continue;
        bool should = s->state == SWB_AG_READY && swb_session_can_take(s, ch);
        if (should && !s->idle_h[ch])
            s->idle_h[ch] = zlistx_add_end(a->idle[ch], s);
        else if (!should && s->idle_h[ch]) {
            zlistx_detach(a->idle[ch], s->idle_h[ch]);
            s->idle_h[ch] = NULL;
        }
    }
}

#define SWB_IDLE_WALK 16 /* agents looked at per class when skipping */

swb_session_t *
swb_router_pick_agent(swb_router_t *r, const swb_btask_t *t, uint64_t now_wall)
{
    (void)r;
    (void)now_wall;
    swb_tclass_t *tc = t->tclass;
    swb_session_t *best = NULL, *fallback = NULL;
    uint64_t best_score = 0;
    if (!tc)
        return NULL;
    for (size_t i = 0; i < tc->links.n; i++) {
        swb_link_t *k = tc->links.v[i];
        swb_aclass_t *a = k->a;
        zlistx_t *idle = a->idle[tc->channel];
        if (!a->site_open || !idle || !zlistx_size(idle))
            continue;
        /* blended: a busy agent keeps room for waiting inbound callers */
        bool hold_back = !tc->voice && a->inbound_waiting > 0;
        int steps = 0;
        for (swb_session_t *s = zlistx_first(idle); s && steps < SWB_IDLE_WALK;
             s = zlistx_next(idle), steps++) {
            if (hold_back && zlistx_size(s->held))
                continue;
            if (refused_by(t, s)) {
                if (!fallback)
                    fallback = s;
                continue;
            }
            bool better;
            if (!best)
                better = true;
            else if (tc->best_skilled && k->score != best_score)
                better = k->score > best_score;
            else
                better = s->idle_since < best->idle_since;
            if (better) {
                best = s;
                best_score = k->score;
            }
            break;
        }
    }
    /* an agent who refused it gets it again only when nobody else can */
    return best ? best : fallback;
}

swb_btask_t *
swb_router_pick_task(swb_router_t *r, const swb_session_t *s, uint64_t now_wall)
{
    swb_aclass_t *a = s->aclass;
    if (!a || s->state != SWB_AG_READY || !a->site_open)
        return NULL;
    swb_btask_t *best = NULL;
    bool best_starving = false;
    for (size_t i = 0; i < a->links.n; i++) {
        swb_tclass_t *tc = a->links.v[i]->t;
        if (!tc->prio.n || !swb_session_can_take(s, tc->channel))
            continue;
        bool starving;
        swb_btask_t *t = class_next(r, tc, now_wall, &starving);
        if (refused_by(t, s)) {
            /* try the other order's head before giving up on the class */
            t = starving ? swb_heap_top(&tc->prio) : swb_heap_top(&tc->age);
            starving = false;
            if (!t || refused_by(t, s))
                continue;
        }
        if (!best || goes_first(t, starving, best, best_starving)) {
            best = t;
            best_starving = starving;
        }
    }
    if (best && best->channel != SWB_CH_VOICE_INBOUND &&
        a->inbound_waiting > 0 && zlistx_size(s->held) > 0)
        return NULL; /* blended: finish, then answer the callers */
    return best;
}

bool
swb_router_set_site_open(swb_router_t *r, const char *site, bool open)
{
    bool changed = false;
    for (size_t i = 0; i < r->av.n; i++) {
        swb_aclass_t *a = r->av.v[i];
        if (strcmp(a->prof.site, site) == 0 && a->site_open != open) {
            a->site_open = open;
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
