/*
 * agent.c - agent states: ready, not-ready (with a reason code), break,
 * wrap-up and offline. Every change is written durably with its time
 * (the "agents" database holds the latest state of each agent, the
 * "events" database every change in order, for the statistics of the
 * operations work), told to the worker and to the router. Also answers
 * AGENTS and AGENT_STATE from the client endpoint.
 */
#include "broker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_log.h"

static void
put_record(swb_broker_t *b, swb_store_db_t db, const void *key, size_t klen,
           const swb_agent_info_t *info)
{
    void *val;
    size_t len;
    if (swb_codec_encode(&swb_agent_info_schema, info, &val, &len) != SWB_OK)
        return;
    swb_store_batch_put(b->batch, db, key, klen, val, len);
    free(val);
}

void
swb_agent_record(swb_broker_t *b, const char *agent, const char *site,
                 int state, const char *reason)
{
    swb_agent_info_t info = {0};
    info.agent = (char *)agent;
    info.site = (char *)site;
    info.state = (char *)swb_agent_state_name(state);
    info.reason = (char *)reason;
    info.since = b->now_wall;
    put_record(b, SWB_DB_AGENTS, agent, strlen(agent), &info);
    unsigned char key[8];
    swb_store_u64_key(b->next_event++, key);
    b->meta_dirty = true;
    put_record(b, SWB_DB_EVENTS, key, 8, &info);
}

void
swb_agent_set_state(swb_broker_t *b, swb_session_t *s, int state,
                    const char *reason, bool tell_worker)
{
    if (s->state == state &&
        ((!reason && !s->state_reason) ||
         (reason && s->state_reason && strcmp(reason, s->state_reason) == 0)))
        return;
    swb_stats_agent_moved(b, s, state);
    s->state = state;
    swb_btask_set_str(&s->state_reason, reason);
    s->state_since = b->now_wall;
    if (state != SWB_AG_WRAPUP)
        s->wrapup_until = 0;
    if (state == SWB_AG_READY) {
        s->missed = 0;
        s->idle_since = b->now_wall;
        swb_dispatch_agent_free(b, s);
    }
    swb_router_agent_changed(b->router, s, b->now_wall);
    swb_peer_agents_changed(b);
    swb_agent_record(b, s->profile.agent, s->profile.site, state, reason);
    swb_log(SWB_LOG_INFO, "agent", "state", "agent=%s site=%s state=%s "
            "reason=%s", s->profile.agent, s->profile.site,
            swb_agent_state_name(state), reason ? reason : "-");
    if (tell_worker) {
        swb_msg_t m = {.type = SWB_MSG_STATE};
        m.u.state.state = (char *)swb_agent_state_name(state);
        m.u.state.reason = (char *)reason;
        swb_broker_send(b, SWB_SIDE_WORKER, s->rid, s->rid_len, &m, 0);
    }
}

/* ---- AGENTS ---- */

typedef struct agent_rows {
    swb_agent_info_t *v;
    size_t n, cap;
    const char *site;
    zhashx_t *seen; /* agent ids already listed (connected ones) */
} agent_rows_t;

static swb_agent_info_t *
row_add(agent_rows_t *rows)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? 2 * rows->cap : 16;
        swb_agent_info_t *nv = realloc(rows->v, cap * sizeof *nv);
        if (!nv)
            return NULL;
        rows->v = nv;
        rows->cap = cap;
    }
    swb_agent_info_t *r = &rows->v[rows->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static void
row_of_session(agent_rows_t *rows, const swb_session_t *s)
{
    swb_agent_info_t live = {0}, *r;
    live.agent = s->profile.agent;
    live.site = s->profile.site;
    live.state = (char *)swb_agent_state_name(s->state);
    live.reason = s->state_reason;
    live.since = s->state_since;
    live.channels = s->profile.channels;
    live.held = zlistx_size(s->held);
    live.missed = s->missed;
    live.connected = true;
    if ((r = row_add(rows)) &&
        swb_codec_copy(&swb_agent_info_schema, r, &live) != SWB_OK)
        rows->n--;
    zhashx_insert(rows->seen, s->profile.agent, (void *)1);
}

static int
row_of_record(const void *key, size_t klen, const void *val, size_t vlen,
              void *arg)
{
    agent_rows_t *rows = arg;
    (void)key;
    (void)klen;
    swb_agent_info_t info = {0};
    if (swb_codec_decode(&swb_agent_info_schema, val, vlen, &info, NULL) ||
        zhashx_lookup(rows->seen, info.agent) ||
        (rows->site && (!info.site || strcmp(info.site, rows->site) != 0)) ||
        rows->n >= SWB_MAX_LIST) {
        swb_codec_free(&swb_agent_info_schema, &info);
        return 0;
    }
    swb_agent_info_t *r = row_add(rows);
    if (r)
        *r = info;
    else
        swb_codec_free(&swb_agent_info_schema, &info);
    return 0;
}

void
swb_agent_rows_free(swb_agent_info_t **v, size_t n)
{
    if (!v || !*v)
        return;
    for (size_t i = 0; i < n; i++)
        swb_codec_free(&swb_agent_info_schema, &(*v)[i]);
    free(*v);
    *v = NULL;
}

static void
reply_rows(swb_broker_t *b, const uint8_t *rid, size_t rid_len, uint64_t req,
           agent_rows_t *rows)
{
    swb_msg_t m = {.type = SWB_MSG_AGENT_LIST};
    m.u.agents.req = req;
    m.u.agents.agents.v = rows->v;
    m.u.agents.agents.n = rows->n;
    swb_broker_send(b, SWB_SIDE_CLIENT, rid, rid_len, &m, req);
    swb_agent_rows_free(&rows->v, rows->n);
    zhashx_destroy(&rows->seen);
}

swb_err_t
swb_agent_rows(swb_broker_t *b, const char *site, swb_agent_info_t **v,
               size_t *n)
{
    agent_rows_t rows = {0};
    *v = NULL;
    *n = 0;
    rows.site = site;
    rows.seen = zhashx_new();
    if (!rows.seen)
        return SWB_ENOMEM;
    for (swb_session_t *s = zhashx_first(b->sessions); s;
         s = zhashx_next(b->sessions))
        if ((!rows.site || strcmp(s->profile.site, rows.site) == 0) &&
            rows.n < SWB_MAX_LIST)
            row_of_session(&rows, s);
    swb_err_t rc = swb_store_each(b->store, SWB_DB_AGENTS, row_of_record,
                                  &rows);
    zhashx_destroy(&rows.seen);
    if (rc) {
        swb_agent_rows_free(&rows.v, rows.n);
        return rc;
    }
    *v = rows.v;
    *n = rows.n;
    return SWB_OK;
}

void
swb_agent_list(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
               swb_msg_t *m)
{
    agent_rows_t rows = {0};
    if (swb_agent_rows(b, m->u.agents.site, &rows.v, &rows.n) != SWB_OK) {
        swb_broker_error(b, SWB_SIDE_CLIENT, rid, rid_len, m->u.agents.req, 0,
                         SWB_ESTORE, NULL, "the agents could not be read");
        return;
    }
    reply_rows(b, rid, rid_len, m->u.agents.req, &rows);
}

void
swb_agent_command(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                  swb_msg_t *m)
{
    swb_m_state_t *st = &m->u.state;
    int state = swb_agent_state_parse(st->state);
    if (state != SWB_AG_READY && state != SWB_AG_NOT_READY &&
        state != SWB_AG_BREAK) {
        swb_broker_error(b, SWB_SIDE_CLIENT, rid, rid_len, st->req, 0,
                         SWB_EINVAL, "state", "state \"%s\" cannot be set; "
                         "use ready, not-ready or break", st->state);
        return;
    }
    if (!st->agent) {
        swb_broker_error(b, SWB_SIDE_CLIENT, rid, rid_len, st->req, 0,
                         SWB_EINVAL, "agent", "missing agent");
        return;
    }
    agent_rows_t rows = {0};
    rows.seen = zhashx_new();
    if (!rows.seen)
        return;
    for (swb_session_t *s = zhashx_first(b->sessions); s;
         s = zhashx_next(b->sessions))
        if (strcmp(s->profile.agent, st->agent) == 0) {
            swb_agent_set_state(b, s, state, st->reason, true);
            row_of_session(&rows, s);
        }
    if (!rows.n) {
        zhashx_destroy(&rows.seen);
        swb_broker_error(b, SWB_SIDE_CLIENT, rid, rid_len, st->req, 0,
                         SWB_ENOTFOUND, "agent", "agent \"%s\" is not "
                         "connected", st->agent);
        return;
    }
    reply_rows(b, rid, rid_len, st->req, &rows);
}
