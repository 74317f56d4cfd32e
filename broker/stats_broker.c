/*
 * stats_broker.c - the broker's side of the statistics (stats.h): turns
 * task and agent events into counters, reports the live state (waiting
 * tasks, agents) when a document is built, builds the statistics and
 * sites documents, saves the counters once a second and answers the
 * STATS and SITES requests of clients.
 *
 * Where an event counts: its queue is the task's channel and sponsor;
 * its site is the site of the agent who has (or last had) the task
 * (rec.site), else the one site the task may go to, else none; a task
 * handed to another region counts in no site here (its site is the other
 * region's; it counts there too, as that region's task). Handle
 * time is the time from the task's move to "active" to its completion:
 * a task's rec.updated is the time of its last state change while it is
 * active (nothing else touches an active task), so it is read before the
 * completion overwrites it. Wrap-up time is counted when the agent leaves
 * wrap-up, in the queue of the call it last completed.
 *
 * Not here: the counters and windows themselves (stats.c), HTTP.
 */
#include "broker_int.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swb_log.h"

/* ---- where events count ------------------------------------------------- */

static bool
task_pinned(const swb_btask_t *t)
{
    return t->rec.spec->sites.n == 1;
}

static void
task_where(const swb_btask_t *t, swb_stats_where_t *w)
{
    const swb_task_spec_t *sp = t->rec.spec;
    w->channel = swb_channel_name(t->channel);
    w->sponsor = sp->sponsor;
    if (t->hand != SWB_HAND_NONE && !t->foreign)
        w->site = NULL;
    else if (t->rec.site && *t->rec.site)
        w->site = t->rec.site;
    else
        w->site = task_pinned(t) ? sp->sites.v[0] : NULL;
}

static void
count(swb_broker_t *b, const swb_stats_where_t *w, swb_stat_t c,
      uint64_t amount)
{
    swb_stats_add(b->stats, w, c, amount, b->now_wall);
}

static uint64_t
since(const swb_broker_t *b, uint64_t then)
{
    return b->now_wall > then ? b->now_wall - then : 0;
}

/* ---- wrap-up: the queue of an agent's last call ------------------------- */

typedef struct last_call {
    char *channel;
    char *sponsor;
} last_call_t;

static void
last_call_free(void **item)
{
    last_call_t *lc = *item;
    if (lc) {
        free(lc->channel);
        free(lc->sponsor);
        free(lc);
        *item = NULL;
    }
}

static void
remember_call(swb_broker_t *b, const swb_btask_t *t)
{
    if (!t->rec.agent || !b->stats_calls)
        return;
    last_call_t *lc = calloc(1, sizeof *lc);
    if (!lc)
        return;
    lc->channel = strdup(swb_channel_name(t->channel));
    lc->sponsor = t->rec.spec->sponsor ? strdup(t->rec.spec->sponsor) : NULL;
    zhashx_update(b->stats_calls, t->rec.agent, lc); /* frees an old one */
}

/* ---- hooks -------------------------------------------------------------- */

swb_err_t
swb_stats_open(swb_broker_t *b)
{
    b->stats = swb_stats_new(b->cfg, b->tz);
    b->stats_calls = zhashx_new();
    if (!b->stats || !b->stats_calls)
        return SWB_ENOMEM;
    zhashx_set_destructor(b->stats_calls, last_call_free);
    return swb_stats_load(b->stats, b->store);
}

void
swb_stats_close(swb_broker_t *b)
{
    swb_stats_destroy(&b->stats);
    zhashx_destroy(&b->stats_calls);
}

void
swb_stats_task_new(swb_broker_t *b, const swb_btask_t *t)
{
    swb_stats_where_t w;
    task_where(t, &w);
    count(b, &w, SWB_STAT_SUBMITTED, 1);
    if (t->channel == SWB_CH_VOICE_INBOUND)
        count(b, &w, SWB_STAT_OFFERED, 1);
}

/* A call leaves the queue (answered or abandoned) at w's site: the site
 * counts it as offered now unless it did at arrival (pinned). */
static void
call_reached_site(swb_broker_t *b, const swb_btask_t *t,
                  const swb_stats_where_t *w)
{
    if (!task_pinned(t))
        swb_stats_add_to(b->stats, SWB_SCOPE_SITE, w, SWB_STAT_OFFERED, 1,
                         b->now_wall);
}

static void
counted_answer(swb_broker_t *b, const swb_btask_t *t,
               const swb_stats_where_t *w)
{
    uint64_t wait = since(b, t->rec.created);
    swb_sl_target_t sl = swb_stats_sl_target(b->stats, w->sponsor);
    call_reached_site(b, t, w);
    count(b, w, SWB_STAT_ANSWERED, 1);
    count(b, w, SWB_STAT_ANSWER_WAIT, wait);
    if (wait <= (uint64_t)sl.seconds * 1000)
        count(b, w, SWB_STAT_ANSWERED_IN_SL, 1);
}

static void
counted_completion(swb_broker_t *b, const swb_btask_t *t, int from,
                   const swb_stats_where_t *w)
{
    const swb_task_spec_t *sp = t->rec.spec;
    count(b, w, SWB_STAT_COMPLETED, 1);
    count(b, w, SWB_STAT_TURNAROUND, since(b, t->rec.created));
    if (from == SWB_ST_ACTIVE)
        count(b, w, SWB_STAT_HANDLE, since(b, t->rec.updated));
    if (!swb_channel_is_voice(t->channel) && sp->deadline) {
        count(b, w, SWB_STAT_DEADLINE_TOTAL, 1);
        if (b->now_wall <= sp->deadline)
            count(b, w, SWB_STAT_DEADLINE_MET, 1);
    }
    if (swb_channel_is_voice(t->channel) && b->cfg->wrapup_ms)
        remember_call(b, t);
}

void
swb_stats_task_moved(swb_broker_t *b, const swb_btask_t *t, int from, int to)
{
    swb_stats_where_t w;
    if (!b->stats || from == to)
        return;
    task_where(t, &w);
    switch (to) {
    case SWB_ST_ACTIVE:
        if (from == SWB_ST_OFFERED && t->channel == SWB_CH_VOICE_INBOUND)
            counted_answer(b, t, &w);
        break;
    case SWB_ST_COMPLETED:
        counted_completion(b, t, from, &w);
        break;
    case SWB_ST_DEAD: /* its last attempt failed */
    case SWB_ST_FAILED:
        count(b, &w, SWB_STAT_FAILED, 1);
        if (to == SWB_ST_DEAD)
            count(b, &w, SWB_STAT_DEAD, 1);
        break;
    case SWB_ST_ABANDONED:
        call_reached_site(b, t, &w);
        count(b, &w, SWB_STAT_ABANDONED, 1);
        break;
    case SWB_ST_EXPIRED:
        count(b, &w, SWB_STAT_EXPIRED, 1);
        if (!swb_channel_is_voice(t->channel) && t->rec.spec->deadline)
            count(b, &w, SWB_STAT_DEADLINE_TOTAL, 1);
        break;
    case SWB_ST_CANCELED:
        count(b, &w, SWB_STAT_CANCELED, 1);
        break;
    default:
        break;
    }
}

void
swb_stats_agent_moved(swb_broker_t *b, const swb_session_t *s, int to)
{
    if (!b->stats || s->state != SWB_AG_WRAPUP || to == SWB_AG_WRAPUP)
        return;
    swb_stats_where_t w = {s->profile.site, NULL, NULL};
    last_call_t *lc = b->stats_calls
                          ? zhashx_lookup(b->stats_calls, s->profile.agent)
                          : NULL;
    if (lc) {
        w.channel = lc->channel;
        w.sponsor = lc->sponsor;
    }
    count(b, &w, SWB_STAT_WRAPUP, since(b, s->state_since));
    if (lc)
        zhashx_delete(b->stats_calls, s->profile.agent);
}

/* Agent time for occupancy: each connected agent's last interval. */
static void
count_agent_time(swb_broker_t *b, uint64_t elapsed)
{
    for (swb_session_t *s = zhashx_first(b->sessions); s;
         s = zhashx_next(b->sessions)) {
        bool busy = zlistx_size(s->held) > 0 || s->state == SWB_AG_WRAPUP;
        bool staffed = busy || s->state == SWB_AG_READY;
        swb_stats_where_t w = {s->profile.site, NULL, NULL};
        if (staffed)
            count(b, &w, SWB_STAT_STAFFED, elapsed);
        if (busy)
            count(b, &w, SWB_STAT_BUSY, elapsed);
    }
}

void
swb_stats_tick(swb_broker_t *b)
{
    if (!b->stats)
        return;
    uint64_t now = b->now_wall;
    if (!b->stats_tick || now < b->stats_tick) {
        b->stats_tick = now;
    } else if (now - b->stats_tick >= 1000) {
        uint64_t elapsed = now - b->stats_tick;
        /* a stalled loop (or a suspended machine) counts 5 s at most */
        count_agent_time(b, elapsed < 5000 ? elapsed : 5000);
        b->stats_tick = now;
    }
    swb_stats_save(b->stats, b->batch, now, false);
}

/* ---- live figures ------------------------------------------------------- */

static void
report_live(swb_broker_t *b)
{
    swb_stats_live_reset(b->stats);
    for (swb_btask_t *t = zhashx_first(b->tasks); t;
         t = zhashx_next(b->tasks)) {
        if (swb_state_final(t->state))
            continue;
        swb_stats_where_t w;
        swb_live_task_t kind = SWB_LIVE_WAITING;
        if (t->state == SWB_ST_ACTIVE)
            kind = SWB_LIVE_ACTIVE;
        else if (t->state != SWB_ST_OFFERED && t->rec.ready_at > b->now_wall)
            kind = SWB_LIVE_SCHEDULED;
        task_where(t, &w);
        swb_stats_live_task(b->stats, &w, kind, t->channel,
                            since(b, t->rec.created));
    }
    for (swb_session_t *s = zhashx_first(b->sessions); s;
         s = zhashx_next(b->sessions))
        swb_stats_live_agent(b->stats, s->profile.site, s->state,
                             zlistx_size(s->held) > 0);
}

/* ---- documents ---------------------------------------------------------- */

static json_t *
str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static bool
site_open(swb_broker_t *b, const swb_site_def_t *d)
{
    if (!d || d->open_min == d->close_min || !d->tz || !*d->tz)
        return true;
    int minute = swb_tz_local_minute(b->tz, d->tz, b->now_wall);
    return minute < 0 ||
           swb_tz_window_contains(d->open_min, d->close_min, minute);
}

/* What a site row says about the site itself (both documents). */
static json_t *
site_head(swb_broker_t *b, const char *site)
{
    const swb_site_def_t *d = swb_config_site(b->cfg, site);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "site", json_string(site));
    json_object_set_new(o, "country", str_or_null(d ? d->country : NULL));
    json_object_set_new(o, "tz", str_or_null(d ? d->tz : NULL));
    json_object_set_new(o, "open", json_boolean(site_open(b, d)));
    return o;
}

typedef struct doc_ctx {
    swb_broker_t *b;
    const char *only; /* site filter */
    json_t *list;
} doc_ctx_t;

static void
add_site_stats(const swb_stats_where_t *id, void *arg)
{
    doc_ctx_t *c = arg;
    if (c->only && strcmp(c->only, id->site) != 0)
        return;
    json_t *o = site_head(c->b, id->site);
    json_array_append_new(c->list,
                          swb_stats_scope_json(c->b->stats, SWB_SCOPE_SITE,
                                               id, c->b->now_wall, o));
}

static void
add_queue_stats(const swb_stats_where_t *id, void *arg)
{
    doc_ctx_t *c = arg;
    swb_sl_target_t sl = swb_stats_sl_target(c->b->stats, id->sponsor);
    json_t *o = json_object();
    if (!o)
        return;
    json_object_set_new(o, "channel", json_string(id->channel));
    json_object_set_new(o, "sponsor", str_or_null(id->sponsor));
    json_object_set_new(o, "service_level_target",
                        json_pack("{s:i,s:i}", "percent", (int)sl.percent,
                                  "seconds", (int)sl.seconds));
    json_array_append_new(c->list,
                          swb_stats_scope_json(c->b->stats, SWB_SCOPE_QUEUE,
                                               id, c->b->now_wall, o));
}

/* "version", "generated_at", "now_ms" of both documents. */
static json_t *
doc_head(const swb_broker_t *b)
{
    char when[40];
    time_t secs = (time_t)(b->now_wall / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03uZ",
             (unsigned)(b->now_wall % 1000));
    return json_pack("{s:i,s:s,s:I}", "version", SWB_STATS_DOC_VERSION,
                     "generated_at", when, "now_ms",
                     (json_int_t)b->now_wall);
}

json_t *
swb_stats_json(swb_broker_t *b, const char *site)
{
    if (!b->stats)
        return NULL;
    report_live(b);
    json_t *doc = doc_head(b), *region = json_object();
    doc_ctx_t sites = {b, site, json_array()};
    doc_ctx_t queues = {b, NULL, json_array()};
    swb_stats_where_t all = {0};
    if (!doc || !region || !sites.list || !queues.list) {
        json_decref(doc);
        json_decref(region);
        json_decref(sites.list);
        json_decref(queues.list);
        return NULL;
    }
    json_object_set_new(region, "name", json_string(b->cfg->region));
    json_object_set_new(region, "tz",
                        json_string(swb_stats_region_tz(b->stats)));
    swb_stats_scope_json(b->stats, SWB_SCOPE_REGION, &all, b->now_wall,
                         region);
    swb_stats_each(b->stats, SWB_SCOPE_SITE, add_site_stats, &sites);
    swb_stats_each(b->stats, SWB_SCOPE_QUEUE, add_queue_stats, &queues);
    json_object_set_new(doc, "region", region);
    json_object_set_new(doc, "sites", sites.list);
    json_object_set_new(doc, "queues", queues.list);
    json_t *peers = swb_peer_json(b);
    json_object_set_new(doc, "peers", peers ? peers : json_array());
    return doc;
}

static void
add_site_row(const swb_stats_where_t *id, void *arg)
{
    doc_ctx_t *c = arg;
    const swb_site_def_t *d = swb_config_site(c->b->cfg, id->site);
    json_t *o = site_head(c->b, id->site);
    char text[48];
    if (!o)
        return;
    if (d && d->open_min != d->close_min) {
        snprintf(text, sizeof text, "%02d:%02d-%02d:%02d", d->open_min / 60,
                 d->open_min % 60, d->close_min / 60, d->close_min % 60);
        json_object_set_new(o, "hours", json_string(text));
    } else {
        json_object_set_new(o, "hours", json_null());
    }
    int minute = d && d->tz && *d->tz
                     ? swb_tz_local_minute(c->b->tz, d->tz, c->b->now_wall)
                     : -1;
    snprintf(text, sizeof text, "%02d:%02d", minute / 60, minute % 60);
    json_object_set_new(o, "local_time",
                        minute >= 0 ? json_string(text) : json_null());
    json_object_set_new(o, "agents",
                        swb_stats_agents_json(c->b->stats, id->site));
    json_array_append_new(c->list, o);
}

json_t *
swb_sites_json(swb_broker_t *b)
{
    if (!b->stats)
        return NULL;
    report_live(b);
    json_t *doc = doc_head(b);
    doc_ctx_t sites = {b, NULL, json_array()};
    if (!doc || !sites.list) {
        json_decref(doc);
        json_decref(sites.list);
        return NULL;
    }
    json_object_set_new(doc, "region", json_string(b->cfg->region));
    swb_stats_each(b->stats, SWB_SCOPE_SITE, add_site_row, &sites);
    json_object_set_new(doc, "sites", sites.list);
    return doc;
}

bool
swb_stats_site_known(swb_broker_t *b, const char *site)
{
    if (!site || !b->stats)
        return false;
    if (swb_stats_has_site(b->stats, site))
        return true;
    for (swb_session_t *s = zhashx_first(b->sessions); s;
         s = zhashx_next(b->sessions))
        if (strcmp(s->profile.site, site) == 0)
            return true;
    return false;
}

/* ---- STATS and SITES ---------------------------------------------------- */

static void
reply_doc(swb_broker_t *b, const uint8_t *rid, size_t rid_len, uint64_t req,
          swb_msg_type_t type, json_t *doc)
{
    char *text = doc ? json_dumps(doc, SWB_STATS_JSON_FLAGS) : NULL;
    json_decref(doc);
    if (!text) {
        swb_broker_error(b, SWB_SIDE_CLIENT, rid, rid_len, req, 0, SWB_ENOMEM,
                         NULL, "out of memory building the document");
        return;
    }
    if (strlen(text) > SWB_MAX_STATS_JSON) {
        swb_broker_error(b, SWB_SIDE_CLIENT, rid, rid_len, req, 0, SWB_ETOOBIG,
                         "json", "the document of %zu bytes is over the limit "
                         "of %u bytes", strlen(text),
                         (unsigned)SWB_MAX_STATS_JSON);
        free(text);
        return;
    }
    swb_msg_t m = {.type = type};
    m.u.stats.req = req;
    m.u.stats.json = text;
    swb_broker_send(b, SWB_SIDE_CLIENT, rid, rid_len, &m, req);
    free(text);
}

void
swb_stats_request(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                  swb_msg_t *m)
{
    const char *site = m->u.stats.site;
    if (site && !swb_stats_site_known(b, site)) {
        swb_broker_error(b, SWB_SIDE_CLIENT, rid, rid_len, m->u.stats.req, 0,
                         SWB_ENOTFOUND, "site", "site \"%s\" is not one of "
                         "this region's sites", site);
        return;
    }
    reply_doc(b, rid, rid_len, m->u.stats.req, SWB_MSG_STATS_REPLY,
              swb_stats_json(b, site));
}

void
swb_sites_request(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                  swb_msg_t *m)
{
    reply_doc(b, rid, rid_len, m->u.stats.req, SWB_MSG_SITES_REPLY,
              swb_sites_json(b));
}
