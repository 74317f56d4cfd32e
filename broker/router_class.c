/*
 * router_class.c - the router's classes: canonical keys, the static
 * eligibility rules, making a class and linking it once against every
 * class on the other side, and freeing them. The decisions that use the
 * classes are in router.c; the layout is in router_int.h.
 *
 * Keys are built in a stack buffer (a heap buffer only for unusually long
 * ones): every name is written with its length in front, so no name can
 * fake a separator, and lists are sorted only when they have two or more
 * items. Making a class is rare (once per distinct profile or set of
 * requirements) and costs one eligibility test per class on the other
 * side.
 */
#include <stdlib.h>
#include <string.h>

#include "router_int.h"
#include "swb_domain.h"

/* ---- small growable arrays ---- */

/* Makes room for one more item of size sz in *v (n used of *cap). */
static swb_err_t
reserve(void **v, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap)
        return SWB_OK;
    size_t nc = *cap ? 2 * *cap : 8;
    void *nv = realloc(*v, nc * sz);
    if (!nv)
        return SWB_ENOMEM;
    *v = nv;
    *cap = nc;
    return SWB_OK;
}

static swb_err_t
classes_push(swb_classes_t *c, void *k)
{
    if (reserve((void **)&c->v, c->n, &c->cap, sizeof *c->v))
        return SWB_ENOMEM;
    c->v[c->n++] = k;
    return SWB_OK;
}

/* ---- canonical class keys ---- */

#define KB_STACK 512 /* key bytes before a heap buffer is needed */
#define KB_SORT 64   /* list items sorted on the stack            */

typedef struct keybuf {
    char *s;
    size_t n, cap;
    bool oom, heap;
    char buf[KB_STACK];
} keybuf_t;

static void
kb_init(keybuf_t *k)
{
    k->s = k->buf;
    k->n = 0;
    k->cap = sizeof k->buf;
    k->oom = k->heap = false;
    k->buf[0] = '\0';
}

static void
kb_fini(keybuf_t *k)
{
    if (k->heap)
        free(k->s);
}

static void
kb_put(keybuf_t *k, const char *p, size_t len)
{
    if (k->oom)
        return;
    if (k->n + len + 1 > k->cap) {
        size_t nc = 2 * (k->n + len + 1);
        char *ns = k->heap ? realloc(k->s, nc) : malloc(nc);
        if (!ns) {
            k->oom = true;
            return;
        }
        if (!k->heap)
            memcpy(ns, k->s, k->n);
        k->s = ns;
        k->cap = nc;
        k->heap = true;
    }
    memcpy(k->s + k->n, p, len);
    k->n += len;
    k->s[k->n] = '\0';
}

static void
kb_num(keybuf_t *k, uint64_t v)
{
    char d[20];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    kb_put(k, d + i, sizeof d - i);
}

/* <length>:<text> */
static void
kb_name(keybuf_t *k, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    kb_num(k, len);
    kb_put(k, ":", 1);
    kb_put(k, s ? s : "", len);
}

static int
name_cmp(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* tag, then each item (sorted) */
static void
kb_strs(keybuf_t *k, char tag, const swb_strs_t *s)
{
    const char *stack[KB_SORT], **v = stack;
    kb_put(k, &tag, 1);
    if (s->n > KB_SORT && !(v = malloc(s->n * sizeof *v))) {
        k->oom = true;
        return;
    }
    for (size_t i = 0; i < s->n; i++) { /* insertion sort: lists are short */
        const char *x = s->v[i];
        size_t j = i;
        for (; j > 0 && name_cmp(v[j - 1], x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    for (size_t i = 0; i < s->n; i++)
        kb_name(k, v[i]);
    if (v != stack)
        free(v);
}

/* tag, then each name=level; (sorted by name) */
static void
kb_levels(keybuf_t *k, char tag, const swb_levels_t *l)
{
    const swb_level_t *stack[KB_SORT], **v = stack;
    kb_put(k, &tag, 1);
    if (l->n > KB_SORT && !(v = malloc(l->n * sizeof *v))) {
        k->oom = true;
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        const swb_level_t *x = &l->v[i];
        size_t j = i;
        for (; j > 0 && name_cmp(v[j - 1]->name, x->name) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    for (size_t i = 0; i < l->n; i++) {
        kb_name(k, v[i]->name);
        kb_put(k, "=", 1);
        kb_num(k, v[i]->level);
        kb_put(k, ";", 1);
    }
    if (v != stack)
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

static void
tclass_key(keybuf_t *k, const swb_config_t *cfg, const swb_task_spec_t *t)
{
    kb_put(k, "c", 1);
    kb_name(k, t->channel);
    kb_levels(k, 'l', &t->lang);
    kb_levels(k, 'k', &t->skills);
    kb_put(k, "p", 1);
    kb_name(k, t->sponsor);
    kb_strs(k, 's', &t->sites);
    kb_strs(k, 'n', &t->countries);
    kb_put(k, task_best_skilled(cfg, t) ? "b" : "i", 1);
}

static void
aclass_key(keybuf_t *k, const swb_m_hello_t *a)
{
    kb_put(k, "s", 1);
    kb_name(k, a->site);
    kb_strs(k, 'c', &a->channels);
    kb_levels(k, 'p', &a->speaks);
    kb_levels(k, 'w', &a->writes);
    kb_levels(k, 'k', &a->skills);
    kb_strs(k, 'o', &a->sponsors);
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
    return swb_router_eligible_in(cfg, cfg->region, a, site, t);
}

bool
swb_router_eligible_in(const swb_config_t *cfg, const char *region,
                       const swb_m_hello_t *a, const swb_site_def_t *site,
                       const swb_task_spec_t *t)
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
    if (sp && sp->regions.n && !swb_strs_has(&sp->regions, region))
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

/* ---- classes ---- */

/* Makes room for one more link of t (both arrays). */
static swb_err_t
links_reserve(swb_tclass_t *t)
{
    if (t->nla < t->capla)
        return SWB_OK;
    size_t nc = t->capla ? 2 * t->capla : 8;
    swb_aclass_t **nl = realloc(t->la, nc * sizeof *nl);
    if (!nl)
        return SWB_ENOMEM;
    t->la = nl;
    uint64_t *ns = realloc(t->score, nc * sizeof *ns);
    if (!ns)
        return SWB_ENOMEM;
    t->score = ns;
    t->capla = nc;
    return SWB_OK;
}

static void
link_add(swb_tclass_t *t, swb_aclass_t *a)
{
    t->score[t->nla] = skill_score(&a->prof, &t->req);
    t->la[t->nla++] = a;
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

/* A zeroed block of whole cache lines (the classes start with their hot
 * line). */
static void *
line_alloc(size_t size)
{
    size_t sz = (size + 63) / 64 * 64;
    void *p = aligned_alloc(64, sz);
    if (p)
        memset(p, 0, sz);
    return p;
}

static void
tclass_free(swb_tclass_t *t)
{
    free(t->key);
    swb_codec_free(&swb_task_spec_schema, &t->req);
    swb_kheap_fini(&t->prio);
    swb_kheap_fini(&t->age);
    free(t->la);
    free(t->score);
    free(t);
}

static void
aclass_free(swb_aclass_t *a)
{
    free(a->key);
    swb_codec_free(swb_msg_schema(SWB_MSG_HELLO), &a->prof);
    free(a->lt);
    free(a);
}

/* A copy of the key for a new class. */
static char *
kb_take(keybuf_t *k)
{
    if (k->heap) {
        char *s = k->s;
        k->heap = false;
        return s;
    }
    return strdup(k->s);
}

swb_tclass_t *
swb_router_tclass_get(swb_router_t *r, const swb_task_spec_t *spec,
                      bool foreign)
{
    keybuf_t k;
    kb_init(&k);
    tclass_key(&k, r->cfg, spec);
    if (foreign)
        kb_put(&k, "|F", 2);
    swb_tclass_t *t = k.oom ? NULL : zhashx_lookup(r->tmap, k.s);
    if (t || k.oom) {
        kb_fini(&k);
        return t;
    }
    t = line_alloc(sizeof *t);
    if (!t || !(t->key = kb_take(&k))) {
        kb_fini(&k);
        free(t);
        return NULL;
    }
    t->channel = swb_channel_parse(spec->channel);
    t->voice = swb_channel_is_voice(t->channel);
    t->inbound = t->channel == SWB_CH_VOICE_INBOUND;
    t->best_skilled = task_best_skilled(r->cfg, spec);
    t->foreign = foreign;
    t->sum.channel = (int8_t)t->channel;
    t->sum.inbound = t->inbound;
    swb_kheap_init(&t->prio, SWB_RK_PRIO, pos_prio);
    swb_kheap_init(&t->age, SWB_RK_AGE, pos_age);
    swb_task_spec_t shallow = *spec; /* requirements only */
    memset(&shallow.payload, 0, sizeof shallow.payload);
    shallow.key = NULL;
    if (swb_codec_copy(&swb_task_spec_schema, &t->req, &shallow) != SWB_OK)
        goto fail;
    /* the links: first make room everywhere, then link (cannot fail) */
    for (size_t i = 0; i < r->av.n; i++) {
        swb_aclass_t *a = r->av.v[i];
        if (!swb_router_eligible(r->cfg, &a->prof, a->site, &t->req))
            continue;
        if (links_reserve(t) ||
            reserve((void **)&a->lt, a->nlt, &a->caplt, sizeof *a->lt))
            goto fail;
        link_add(t, a);
    }
    if (classes_push(&r->tv, t))
        goto fail;
    for (size_t i = 0; i < t->nla; i++) {
        swb_aclass_t *a = t->la[i];
        a->lt[a->nlt++] = t; /* an empty class: no inbound count yet */
    }
    zhashx_insert(r->tmap, t->key, t);
    return t;
fail:
    tclass_free(t);
    return NULL;
}

swb_aclass_t *
swb_router_aclass_get(swb_router_t *r, const swb_m_hello_t *prof)
{
    keybuf_t k;
    kb_init(&k);
    aclass_key(&k, prof);
    swb_aclass_t *a = k.oom ? NULL : zhashx_lookup(r->amap, k.s);
    if (a || k.oom) {
        kb_fini(&k);
        return a;
    }
    a = line_alloc(sizeof *a);
    if (!a || !(a->key = kb_take(&k))) {
        kb_fini(&k);
        free(a);
        return NULL;
    }
    a->site_open = !zhashx_lookup(r->closed, prof->site);
    for (int ch = 0; ch < SWB_CH_COUNT; ch++)
        a->slot[ch].since[0] = a->slot[ch].since[1] = SWB_SINCE_NONE;
    a->site = swb_config_site(r->cfg, prof->site);
    swb_m_hello_t shallow = *prof;
    memset(&shallow.holding, 0, sizeof shallow.holding);
    if (swb_codec_copy(swb_msg_schema(SWB_MSG_HELLO), &a->prof, &shallow))
        goto fail;
    for (size_t i = 0; i < a->prof.channels.n; i++) {
        int ch = swb_channel_parse(a->prof.channels.v[i]);
        if (ch >= 0)
            a->chans |= 1u << ch;
    }
    for (size_t i = 0; i < r->tv.n; i++) {
        swb_tclass_t *t = r->tv.v[i];
        if (!swb_router_eligible(r->cfg, &a->prof, a->site, &t->req))
            continue;
        if (reserve((void **)&a->lt, a->nlt, &a->caplt, sizeof *a->lt) ||
            links_reserve(t))
            goto fail;
        a->lt[a->nlt++] = t;
    }
    if (classes_push(&r->av, a))
        goto fail;
    for (size_t i = 0; i < a->nlt; i++) {
        swb_tclass_t *t = a->lt[i];
        link_add(t, a);
        if (t->inbound && t->sum.waiting)
            a->inbound_busy++;
    }
    swb_router_aclass_sync(a);
    zhashx_insert(r->amap, a->key, a);
    return a;
fail:
    aclass_free(a);
    return NULL;
}

void
swb_router_aclass_sync(swb_aclass_t *a)
{
    for (int ch = 0; ch < SWB_CH_COUNT; ch++) {
        a->slot[ch].open = a->site_open;
        a->slot[ch].callers = a->inbound_busy > 0;
    }
}

void
swb_router_classes_free(swb_router_t *r)
{
    for (size_t i = 0; i < r->tv.n; i++)
        tclass_free(r->tv.v[i]);
    for (size_t i = 0; i < r->av.n; i++)
        aclass_free(r->av.v[i]);
    free(r->tv.v);
    free(r->av.v);
    r->tv = (swb_classes_t){NULL, 0, 0};
    r->av = (swb_classes_t){NULL, 0, 0};
}
