/*
 * stats.c - the counters of the operations figures: scopes (region, site,
 * queue), their three windows (15 one-minute buckets, today, total), the
 * live figures the broker reports at snapshot time, the JSON of a scope
 * (with the formulas: service level, ASA, AHT, occupancy, ...) and the
 * durable records in the store's "stats" database. See stats.h for the
 * meaning of every figure.
 *
 * This file knows nothing of tasks, sessions or sockets: stats_broker.c
 * turns broker events into swb_stats_add calls and builds the documents;
 * stats_json.c writes a scope's figures as JSON.
 * Time is always passed in (now_ms), never read here.
 *
 * Record format (value of a scope's key in "stats"): a codec map
 * {rows: [{window, stamp, <counter>...}]} with window 0 = total,
 * 1 = today (stamp = local day number), 2 = a minute bucket (stamp = unix
 * minute). Counters are named fields, zero ones left out: a new counter
 * reads as 0 from old records. To change the format otherwise, add a
 * "format" field and keep reading the old rows.
 */
#include "stats_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_log.h"

#define SEP '\x1f' /* between the parts of a scope key */

#define SWB_STAT_DEF_(id, name, ms) {name, ms},
const swb_stats_counter_t swb_stats_counters[SWB_STAT_COUNT] = {
    SWB_STATS_COUNTERS(SWB_STAT_DEF_)};
#undef SWB_STAT_DEF_

const swb_stats_age_t swb_stats_ages[SWB_STATS_AGE_BUCKETS] = {
    {"0-5m", 5},       {"5-15m", 15},    {"15m-1h", 60},
    {"1h-4h", 240},    {"4h-1d", 1440},  {"1d+", 0},
};

/* ---- scopes ------------------------------------------------------------- */

static void
scope_free(void **item)
{
    scope_t *sc = *item;
    if (!sc)
        return;
    free(sc->key);
    free(sc->site);
    free(sc->channel);
    free(sc->sponsor);
    free(sc);
    *item = NULL;
}

/* Appends a separator and s (when there is room). */
static size_t
key_part(char *out, size_t pos, size_t n, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (pos + 1 + len < n) {
        out[pos++] = SEP;
        if (len)
            memcpy(out + pos, s, len);
        pos += len;
    }
    out[pos] = 0;
    return pos;
}

/* The key of a scope: "R", "S<sep>site", "Q<sep>channel<sep>sponsor". */
static void
scope_key(swb_scope_kind_t kind, const swb_stats_where_t *w, char *out,
          size_t n)
{
    size_t pos = 1;
    out[0] = kind == SWB_SCOPE_REGION ? 'R'
             : kind == SWB_SCOPE_SITE ? 'S'
                                      : 'Q';
    out[1] = 0;
    if (kind == SWB_SCOPE_SITE)
        key_part(out, pos, n, w->site);
    if (kind == SWB_SCOPE_QUEUE) {
        pos = key_part(out, pos, n, w->channel);
        key_part(out, pos, n, w->sponsor);
    }
}

static bool
same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* True when scope sc is the one of kind for w. */
static bool
scope_is(const scope_t *sc, swb_scope_kind_t kind, const swb_stats_where_t *w)
{
    if (!sc || sc->kind != kind)
        return false;
    if (kind == SWB_SCOPE_SITE)
        return same_str(sc->site, w->site);
    if (kind == SWB_SCOPE_QUEUE)
        return same_str(sc->channel, w->channel) &&
               same_str(sc->sponsor, w->sponsor);
    return true;
}

static int
site_order(const swb_stats_t *st, const char *site)
{
    for (size_t i = 0; i < st->cfg->nsites; i++)
        if (strcmp(st->cfg->sites[i].id, site) == 0)
            return (int)i;
    return (int)st->cfg->nsites;
}

static char *
dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

scope_t *
swb_stats_find(swb_stats_t *st, swb_scope_kind_t kind,
               const swb_stats_where_t *w, bool create)
{
    char key[300];
    swb_stats_where_t other;
    if (scope_is(st->last[kind], kind, w))
        return st->last[kind];
    scope_key(kind, w, key, sizeof key);
    scope_t *sc = zhashx_lookup(st->scopes, key);
    if (sc)
        st->last[kind] = sc;
    if (sc || !create)
        return sc;
    if (kind == SWB_SCOPE_QUEUE && st->nqueues >= SWB_STATS_MAX_QUEUES &&
        !(w->sponsor && strcmp(w->sponsor, "(other)") == 0)) {
        other = *w;
        other.sponsor = "(other)";
        return swb_stats_find(st, kind, &other, create);
    }
    sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->kind = kind;
    sc->key = strdup(key);
    if (kind == SWB_SCOPE_SITE) {
        sc->site = strdup(w->site);
        sc->order = site_order(st, w->site);
    } else if (kind == SWB_SCOPE_QUEUE) {
        sc->channel = strdup(w->channel);
        sc->sponsor = dup_or_null(w->sponsor);
    }
    if (!sc->key || (kind == SWB_SCOPE_SITE && !sc->site) ||
        (kind == SWB_SCOPE_QUEUE && !sc->channel)) {
        scope_free((void **)&sc);
        return NULL;
    }
    zhashx_insert(st->scopes, key, sc);
    if (kind == SWB_SCOPE_QUEUE)
        st->nqueues++;
    return sc;
}

swb_stats_t *
swb_stats_new(const swb_config_t *cfg, swb_tzcache_t *tz)
{
    swb_stats_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->cfg = cfg;
    st->tz = tz;
    st->scopes = zhashx_new();
    if (!st->scopes) {
        free(st);
        return NULL;
    }
    zhashx_set_destructor(st->scopes, scope_free);
    st->region_tz = cfg->nsites && cfg->sites[0].tz && *cfg->sites[0].tz
                        ? cfg->sites[0].tz
                        : "UTC";
    swb_stats_where_t w = {0};
    swb_stats_find(st, SWB_SCOPE_REGION, &w, true);
    for (size_t i = 0; i < cfg->nsites; i++) {
        w.site = cfg->sites[i].id;
        swb_stats_find(st, SWB_SCOPE_SITE, &w, true);
    }
    return st;
}

void
swb_stats_destroy(swb_stats_t **st)
{
    if (!st || !*st)
        return;
    zhashx_destroy(&(*st)->scopes);
    free(*st);
    *st = NULL;
}

const char *
swb_stats_region_tz(const swb_stats_t *st)
{
    return st->region_tz;
}

/* ---- windows ------------------------------------------------------------ */

static const char *
scope_tz(const swb_stats_t *st, const scope_t *sc)
{
    if (sc->kind == SWB_SCOPE_SITE) {
        const swb_site_def_t *d = swb_config_site(st->cfg, sc->site);
        if (d && d->tz && *d->tz)
            return d->tz;
    }
    return st->region_tz;
}

/* Local day number of now_ms in the scope's zone (UTC when unknown).
 * Offsets are whole minutes, so the day can only change at the start of
 * a unix minute: the answer is kept for the minute. */
static uint64_t
local_day(const swb_stats_t *st, scope_t *sc, uint64_t now_ms)
{
    int32_t off = 0;
    if (sc->day_min == now_ms / 60000 + 1)
        return sc->now_day;
    if (swb_tz_offset(st->tz, scope_tz(st, sc), now_ms, &off) != SWB_OK)
        off = 0;
    int64_t s = (int64_t)(now_ms / 1000) + off;
    sc->day_min = now_ms / 60000 + 1;
    sc->now_day = s > 0 ? (uint64_t)(s / 86400) : 0;
    return sc->now_day;
}

static bool
bucket_live(const scope_t *sc, size_t i, uint64_t now_min)
{
    return sc->bucket_min[i] <= now_min &&
           sc->bucket_min[i] + BUCKETS > now_min;
}

static void
scope_add(swb_stats_t *st, scope_t *sc, swb_stat_t c, uint64_t amount,
          uint64_t now_ms)
{
    uint64_t min = now_ms / 60000;
    size_t i = (size_t)(min % BUCKETS);
    if (sc->bucket_min[i] != min) {
        memset(&sc->bucket[i], 0, sizeof sc->bucket[i]);
        sc->bucket_min[i] = min;
    }
    uint64_t day = local_day(st, sc, now_ms);
    if (sc->day != day) {
        memset(&sc->today, 0, sizeof sc->today);
        sc->day = day;
    }
    sc->bucket[i].v[c] += amount;
    sc->today.v[c] += amount;
    sc->total.v[c] += amount;
    sc->dirty = true;
}

void
swb_stats_sum(const swb_stats_t *st, scope_t *sc, int window,
              uint64_t now_ms, uint64_t *v)
{
    memset(v, 0, SWB_STAT_COUNT * sizeof *v);
    if (!sc)
        return;
    if (window == WIN_TOTAL) {
        memcpy(v, sc->total.v, sizeof sc->total.v);
    } else if (window == WIN_TODAY) {
        if (sc->day == local_day(st, sc, now_ms))
            memcpy(v, sc->today.v, sizeof sc->today.v);
    } else {
        for (size_t i = 0; i < BUCKETS; i++)
            if (bucket_live(sc, i, now_ms / 60000))
                for (int c = 0; c < SWB_STAT_COUNT; c++)
                    v[c] += sc->bucket[i].v[c];
    }
}

void
swb_stats_add_to(swb_stats_t *st, swb_scope_kind_t kind,
                 const swb_stats_where_t *w, swb_stat_t c, uint64_t amount,
                 uint64_t now_ms)
{
    if (!st || (unsigned)c >= SWB_STAT_COUNT || !amount ||
        (kind == SWB_SCOPE_SITE && !w->site) ||
        (kind == SWB_SCOPE_QUEUE && !w->channel))
        return;
    scope_t *sc = swb_stats_find(st, kind, w, true);
    if (sc)
        scope_add(st, sc, c, amount, now_ms);
}

void
swb_stats_add(swb_stats_t *st, const swb_stats_where_t *w, swb_stat_t c,
              uint64_t amount, uint64_t now_ms)
{
    swb_stats_add_to(st, SWB_SCOPE_REGION, w, c, amount, now_ms);
    swb_stats_add_to(st, SWB_SCOPE_SITE, w, c, amount, now_ms);
    swb_stats_add_to(st, SWB_SCOPE_QUEUE, w, c, amount, now_ms);
}

void
swb_stats_window(swb_stats_t *st, swb_scope_kind_t kind,
                 const swb_stats_where_t *id, int window, uint64_t now_ms,
                 uint64_t v[SWB_STAT_COUNT])
{
    swb_stats_sum(st, swb_stats_find(st, kind, id, false), window, now_ms, v);
}

/* ---- live figures ------------------------------------------------------- */

void
swb_stats_live_reset(swb_stats_t *st)
{
    for (scope_t *sc = zhashx_first(st->scopes); sc;
         sc = zhashx_next(st->scopes))
        memset(&sc->live, 0, sizeof sc->live);
}

static void
live_task(live_t *l, swb_live_task_t kind, int ch, uint64_t age_ms)
{
    l->task[kind]++;
    if (kind == SWB_LIVE_WAITING && age_ms >= l->oldest_ms)
        l->oldest_ms = age_ms;
    if (kind == SWB_LIVE_WAITING && ch == SWB_CH_VOICE_INBOUND) {
        l->calls++;
        if (age_ms > l->longest_ms)
            l->longest_ms = age_ms;
    }
    if (kind != SWB_LIVE_ACTIVE && !swb_channel_is_voice(ch)) {
        size_t i = 0;
        while (i + 1 < SWB_STATS_AGE_BUCKETS &&
               age_ms >= swb_stats_ages[i].below_min * 60000)
            i++;
        l->backlog[i]++;
    }
}

void
swb_stats_live_task(swb_stats_t *st, const swb_stats_where_t *w,
                    swb_live_task_t kind, int ch, uint64_t age_ms)
{
    scope_t *sc;
    if ((unsigned)kind > SWB_LIVE_ACTIVE)
        return;
    if ((sc = swb_stats_find(st, SWB_SCOPE_REGION, w, true)))
        live_task(&sc->live, kind, ch, age_ms);
    if (w->site && (sc = swb_stats_find(st, SWB_SCOPE_SITE, w, true)))
        live_task(&sc->live, kind, ch, age_ms);
    if (w->channel && (sc = swb_stats_find(st, SWB_SCOPE_QUEUE, w, true)))
        live_task(&sc->live, kind, ch, age_ms);
}

static void
live_agent(live_t *l, int state, bool busy)
{
    if ((unsigned)state < SWB_AG_COUNT)
        l->agents[state]++;
    if (busy)
        l->busy++;
    bool staffed = busy || state == SWB_AG_READY || state == SWB_AG_WRAPUP;
    if (staffed)
        l->staffed++;
    if (busy || state == SWB_AG_WRAPUP)
        l->occupied++;
}

void
swb_stats_live_agent(swb_stats_t *st, const char *site, int state, bool busy)
{
    swb_stats_where_t w = {site, NULL, NULL};
    scope_t *sc;
    if ((sc = swb_stats_find(st, SWB_SCOPE_REGION, &w, true)))
        live_agent(&sc->live, state, busy);
    if (site && (sc = swb_stats_find(st, SWB_SCOPE_SITE, &w, true)))
        live_agent(&sc->live, state, busy);
}

swb_sl_target_t
swb_stats_sl_target(const swb_stats_t *st, const char *sponsor)
{
    swb_sl_target_t t = {80, 20};
    const swb_sponsor_def_t *sp =
        sponsor ? swb_config_sponsor(st->cfg, sponsor) : NULL;
    if (sp && sp->sl_percent)
        t.percent = sp->sl_percent;
    if (sp && sp->sl_seconds)
        t.seconds = sp->sl_seconds;
    return t;
}

/* ---- enumeration -------------------------------------------------------- */

static int
channel_rank(const char *ch)
{
    int r = ch ? swb_channel_parse(ch) : -1;
    return r < 0 ? SWB_CH_COUNT : r;
}

static int
str_cmp(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int
scope_cmp(const void *pa, const void *pb)
{
    const scope_t *a = *(scope_t *const *)pa, *b = *(scope_t *const *)pb;
    if (a->kind == SWB_SCOPE_SITE) {
        if (a->order != b->order)
            return a->order < b->order ? -1 : 1;
        return str_cmp(a->site, b->site);
    }
    int ra = channel_rank(a->channel), rb = channel_rank(b->channel);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    int c = str_cmp(a->channel, b->channel);
    return c ? c : str_cmp(a->sponsor, b->sponsor);
}

void
swb_stats_each(swb_stats_t *st, swb_scope_kind_t kind, swb_stats_scope_fn fn,
               void *arg)
{
    size_t n = 0, cap = zhashx_size(st->scopes);
    scope_t **v = calloc(cap ? cap : 1, sizeof *v);
    if (!v)
        return;
    for (scope_t *sc = zhashx_first(st->scopes); sc && n < cap;
         sc = zhashx_next(st->scopes))
        if (sc->kind == kind)
            v[n++] = sc;
    qsort(v, n, sizeof *v, scope_cmp);
    for (size_t i = 0; i < n; i++) {
        swb_stats_where_t id = {v[i]->site, v[i]->channel, v[i]->sponsor};
        fn(&id, arg);
    }
    free(v);
}

bool
swb_stats_has_site(swb_stats_t *st, const char *site)
{
    swb_stats_where_t w = {site, NULL, NULL};
    return site && swb_stats_find(st, SWB_SCOPE_SITE, &w, false) != NULL;
}

/* ---- persistence -------------------------------------------------------- */

typedef struct rec_row {
    uint64_t window; /* REC_* */
    uint64_t stamp;  /* day or minute */
    uint64_t v[SWB_STAT_COUNT];
} rec_row_t;

typedef struct rec {
    swb_list_t rows; /* of rec_row_t */
} rec_t;

#define SWB_STAT_FIELD_(id, name, ms)                                          \
    {name, SWB_F_U64,                                                          \
     offsetof(rec_row_t, v) + SWB_STAT_##id * sizeof(uint64_t), false, 0, 0,   \
     NULL},
static const swb_field_t row_fields[] = {
    {"window", SWB_F_U64, offsetof(rec_row_t, window), true, 2, 0, NULL},
    {"stamp", SWB_F_U64, offsetof(rec_row_t, stamp), false, 0, 0, NULL},
    SWB_STATS_COUNTERS(SWB_STAT_FIELD_)};
#undef SWB_STAT_FIELD_
static const swb_schema_t row_schema = {
    "stats row", sizeof(rec_row_t), row_fields,
    sizeof row_fields / sizeof row_fields[0]};
static const swb_field_t rec_fields[] = {
    {"rows", SWB_F_LIST, offsetof(rec_t, rows), false, 2 + BUCKETS, 0,
     &row_schema},
};
static const swb_schema_t rec_schema = {"stats", sizeof(rec_t), rec_fields,
                                        1};

static void
row_set(rec_row_t *r, uint64_t window, uint64_t stamp, const counts_t *c)
{
    r->window = window;
    r->stamp = stamp;
    memcpy(r->v, c->v, sizeof r->v);
}

static swb_err_t
scope_save(const scope_t *sc, swb_store_batch_t *batch, uint64_t now_min)
{
    rec_row_t rows[2 + BUCKETS];
    rec_t rec = {{rows, 0}};
    row_set(&rows[rec.rows.n++], REC_TOTAL, 0, &sc->total);
    row_set(&rows[rec.rows.n++], REC_TODAY, sc->day, &sc->today);
    for (size_t i = 0; i < BUCKETS; i++)
        if (bucket_live(sc, i, now_min))
            row_set(&rows[rec.rows.n++], REC_MINUTE, sc->bucket_min[i],
                    &sc->bucket[i]);
    void *val;
    size_t len;
    swb_err_t rc = swb_codec_encode(&rec_schema, &rec, &val, &len);
    if (rc)
        return rc;
    rc = swb_store_batch_put(batch, SWB_DB_STATS, sc->key, strlen(sc->key),
                             val, len);
    free(val);
    return rc;
}

size_t
swb_stats_save(swb_stats_t *st, swb_store_batch_t *batch, uint64_t now_ms,
               bool force)
{
    size_t n = 0;
    if (!st || (!force && now_ms < st->last_save + 1000 &&
                now_ms >= st->last_save))
        return 0;
    st->last_save = now_ms;
    for (scope_t *sc = zhashx_first(st->scopes); sc;
         sc = zhashx_next(st->scopes))
        if (sc->dirty && scope_save(sc, batch, now_ms / 60000) == SWB_OK) {
            sc->dirty = false;
            n++;
        }
    return n;
}

void
swb_stats_unsaved(swb_stats_t *st)
{
    if (!st)
        return;
    for (scope_t *sc = zhashx_first(st->scopes); sc;
         sc = zhashx_next(st->scopes))
        sc->dirty = true;
}

/* Parses a record key into kind and where (pointing into buf). */
static bool
parse_key(char *buf, swb_scope_kind_t *kind, swb_stats_where_t *w)
{
    char *a = strchr(buf, SEP), *b = a ? strchr(a + 1, SEP) : NULL;
    memset(w, 0, sizeof *w);
    if (strcmp(buf, "R") == 0) {
        *kind = SWB_SCOPE_REGION;
        return true;
    }
    if (buf[0] == 'S' && a == buf + 1 && a[1]) {
        *kind = SWB_SCOPE_SITE;
        w->site = a + 1;
        return true;
    }
    if (buf[0] == 'Q' && a == buf + 1 && b && b > a + 1) {
        *b = 0;
        *kind = SWB_SCOPE_QUEUE;
        w->channel = a + 1;
        w->sponsor = b[1] ? b + 1 : NULL;
        return true;
    }
    return false;
}

static void
scope_load_rows(scope_t *sc, const rec_t *rec)
{
    const rec_row_t *rows = rec->rows.v;
    for (size_t i = 0; i < rec->rows.n; i++) {
        const rec_row_t *r = &rows[i];
        counts_t *dst = NULL;
        if (r->window == REC_TOTAL) {
            dst = &sc->total;
        } else if (r->window == REC_TODAY) {
            dst = &sc->today;
            sc->day = r->stamp;
        } else {
            size_t b = (size_t)(r->stamp % BUCKETS);
            sc->bucket_min[b] = r->stamp;
            dst = &sc->bucket[b];
        }
        memcpy(dst->v, r->v, sizeof dst->v);
    }
}

static int
load_one(const void *key, size_t klen, const void *val, size_t vlen,
         void *arg)
{
    swb_stats_t *st = arg;
    char buf[600];
    swb_scope_kind_t kind;
    swb_stats_where_t w;
    rec_t rec = {{0}};
    swb_decode_err_t err = {0};
    if (klen == 0 || klen >= sizeof buf)
        return 0;
    memcpy(buf, key, klen);
    buf[klen] = 0;
    if (!parse_key(buf, &kind, &w) ||
        swb_codec_decode(&rec_schema, val, vlen, &rec, &err) != SWB_OK) {
        swb_log(SWB_LOG_WARN, "stats", "bad_record", "bytes=%zu why=\"%s\"",
                vlen, err.message);
        swb_codec_free(&rec_schema, &rec);
        return 0;
    }
    scope_t *sc = swb_stats_find(st, kind, &w, true);
    if (sc)
        scope_load_rows(sc, &rec);
    swb_codec_free(&rec_schema, &rec);
    return 0;
}

swb_err_t
swb_stats_load(swb_stats_t *st, swb_store_t *store)
{
    return swb_store_each(store, SWB_DB_STATS, load_one, st);
}
