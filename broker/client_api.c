/*
 * client_api.c - the broker's answers to clients: SUBMIT, STATUS, WAIT,
 * CANCEL and LIST (proto/PROTOCOL.md, "Client conversation").
 *
 * Handlers validate what the codec cannot (channel names, the payload
 * limit of this broker, window and time zone), change memory and queue a
 * reply; broker.c sends it only after the pass's commit. Dispatch is by
 * the table at the end, not by a chain of ifs. With keys configured a
 * client key sees and submits only its sponsor's tasks (b->who, set by
 * secure.c for each message).
 */
#include "broker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "swb_log.h"

#define C_ERR(b, rid, len, req, id, code, field, ...)                          \
    swb_broker_error(b, SWB_SIDE_CLIENT, rid, len, req, id, code, field,       \
                     __VA_ARGS__)

static void
reply_task(swb_broker_t *b, const uint8_t *rid, size_t rid_len, uint64_t req,
           const swb_task_t *rec, const swb_bytes_t *result)
{
    swb_msg_t m = {.type = SWB_MSG_TASK};
    m.u.task.req = req;
    m.u.task.task = (swb_task_t *)rec;
    if (result)
        m.u.task.result = *result;
    swb_broker_send(b, SWB_SIDE_CLIENT, rid, rid_len, &m, req);
}

/* Replies with the task's current record, from memory or the store. */
static void
reply_current(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
              uint64_t req, uint64_t id)
{
    swb_btask_t *t = zhashx_lookup(b->tasks, &id);
    if (t) {
        reply_task(b, rid, rid_len, req, &t->rec, &t->result);
        return;
    }
    swb_task_t rec;
    swb_bytes_t result;
    swb_err_t rc = swb_broker_load(b, id, &rec, &result);
    if (rc == SWB_ENOTFOUND)
        C_ERR(b, rid, rid_len, req, id, SWB_ENOTFOUND, "id",
              "no task with id %llu", (unsigned long long)id);
    else if (rc)
        C_ERR(b, rid, rid_len, req, id, rc, NULL, "cannot read task %llu: %s",
              (unsigned long long)id, swb_strerror(rc));
    else
        reply_task(b, rid, rid_len, req, &rec, &result);
    if (!rc) {
        swb_codec_free(&swb_task_schema, &rec);
        free(result.data);
    }
}

/* A client key reads and changes only its sponsor's tasks (operators and
 * the keyless broker see all). True when the sender may touch task id;
 * otherwise an ERROR "refused" is queued. An unknown id passes: the
 * handler answers not_found as for anyone. */
static bool
may_touch(swb_broker_t *b, const uint8_t *rid, size_t rid_len, uint64_t req,
          uint64_t id, const char *action)
{
    if (!b->who || b->who->role != SWB_ROLE_CLIENT)
        return true;
    swb_btask_t *t = zhashx_lookup(b->tasks, &id);
    swb_task_t rec;
    const swb_task_t *r = t ? &t->rec : NULL;
    if (!t && swb_broker_load(b, id, &rec, NULL) == SWB_OK)
        r = &rec;
    if (!r)
        return true;
    const char *sponsor = r->spec && r->spec->sponsor ? r->spec->sponsor : "";
    bool ok = strcmp(sponsor, b->who->binding) == 0;
    if (!ok)
        swb_broker_refuse(b, SWB_SIDE_CLIENT, rid, rid_len, req, id, action,
                          "task %llu belongs to another sponsor",
                          (unsigned long long)id);
    if (r == &rec)
        swb_codec_free(&swb_task_schema, &rec);
    return ok;
}

/* Checks what the codec cannot; on error queues the reply and returns
 * false. */
static bool
validate_spec(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
              uint64_t req, const swb_task_spec_t *sp)
{
    int win_open, win_close;
    int ch = swb_channel_parse(sp->channel);
    if (ch < 0) {
        C_ERR(b, rid, rid_len, req, 0, SWB_EINVAL, "task.channel",
              "unknown channel \"%s\"; channels are: %s", sp->channel,
              swb_channel_list());
        return false;
    }
    if (sp->payload.len > b->cfg->max_payload) {
        C_ERR(b, rid, rid_len, req, 0, SWB_ETOOBIG, "task.payload",
              "payload of %zu bytes is over this broker's limit of %llu "
              "bytes", sp->payload.len,
              (unsigned long long)b->cfg->max_payload);
        return false;
    }
    for (size_t i = 0; i < sp->lang.n; i++)
        if (sp->lang.v[i].level < 1) {
            C_ERR(b, rid, rid_len, req, 0, SWB_EINVAL, "task.lang",
                  "level of %s must be 1..6 (A1..C2)", sp->lang.v[i].name);
            return false;
        }
    if (!!sp->window != !!sp->tz) {
        C_ERR(b, rid, rid_len, req, 0, SWB_EINVAL,
              sp->window ? "task.tz" : "task.window",
              "a calling window needs both window and tz");
        return false;
    }
    if (sp->window && ch != SWB_CH_VOICE_OUTBOUND) {
        C_ERR(b, rid, rid_len, req, 0, SWB_EINVAL, "task.window",
              "only voice.outbound tasks have a calling window");
        return false;
    }
    if (sp->window && swb_tz_parse_window(sp->window, &win_open, &win_close)) {
        C_ERR(b, rid, rid_len, req, 0, SWB_EINVAL, "task.window",
              "window \"%s\" is not HH:MM-HH:MM", sp->window);
        return false;
    }
    if (sp->tz && !swb_tz_known(sp->tz)) {
        C_ERR(b, rid, rid_len, req, 0, SWB_EINVAL, "task.tz",
              "time zone \"%s\" is not in the time zone database", sp->tz);
        return false;
    }
    if (sp->routing && strcmp(sp->routing, "best-skilled") != 0 &&
        strcmp(sp->routing, "longest-idle") != 0) {
        C_ERR(b, rid, rid_len, req, 0, SWB_EINVAL, "task.routing",
              "routing \"%s\" is not longest-idle or best-skilled",
              sp->routing);
        return false;
    }
    if (sp->patience && ch != SWB_CH_VOICE_INBOUND) {
        C_ERR(b, rid, rid_len, req, 0, SWB_EINVAL, "task.patience",
              "only voice.inbound tasks have a caller's patience");
        return false;
    }
    return true;
}

static void
reply_submitted(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                uint64_t req, uint64_t id, bool duplicate)
{
    swb_msg_t m = {.type = SWB_MSG_SUBMITTED};
    swb_btask_t *t = zhashx_lookup(b->tasks, &id);
    swb_task_t rec;
    bool loaded = false;
    m.u.submitted.req = req;
    m.u.submitted.id = id;
    m.u.submitted.duplicate = duplicate;
    if (t) {
        m.u.submitted.state = t->rec.state;
    } else if (swb_broker_load(b, id, &rec, NULL) == SWB_OK) {
        m.u.submitted.state = rec.state;
        loaded = true;
    }
    swb_broker_send(b, SWB_SIDE_CLIENT, rid, rid_len, &m, req);
    if (loaded)
        swb_codec_free(&swb_task_schema, &rec);
}

static void
on_submit(swb_broker_t *b, const uint8_t *rid, size_t rid_len, swb_msg_t *m)
{
    uint64_t req = m->u.submit.req;
    swb_task_spec_t *sp = m->u.submit.task;
    if (!sp) {
        C_ERR(b, rid, rid_len, req, 0, SWB_EINVAL, "task", "missing task");
        return;
    }
    if (b->refusing && b->now < b->refuse_until) {
        C_ERR(b, rid, rid_len, req, 0, SWB_EFULL, NULL,
              "the broker refuses new work until its store accepts writes "
              "again (%s)", b->refuse_why);
        return;
    }
    if (b->who && b->who->role == SWB_ROLE_CLIENT) {
        /* a client key submits only for its sponsor (none given: its) */
        if (!sp->sponsor && !(sp->sponsor = strdup(b->who->binding))) {
            C_ERR(b, rid, rid_len, req, 0, SWB_ENOMEM, NULL, "out of memory");
            return;
        }
        if (strcmp(sp->sponsor, b->who->binding) != 0) {
            swb_broker_refuse(b, SWB_SIDE_CLIENT, rid, rid_len, req, 0,
                              "submit", "sponsor \"%s\" is not the key's",
                              sp->sponsor);
            return;
        }
    }
    if (!validate_spec(b, rid, rid_len, req, sp))
        return;
    char *key = swb_btask_idem_key(sp);
    if (key) {
        uint64_t seen = swb_broker_key_id(b, SWB_DB_KEYS, key);
        if (seen) {
            reply_submitted(b, rid, rid_len, req, seen, true);
            free(key);
            return;
        }
    }
    if (!sp->max_attempts)
        sp->max_attempts = b->cfg->max_attempts;
    uint64_t id = b->next_id;
    swb_btask_t *t = swb_btask_new(id, &m->u.submit.task, b->now_wall);
    if (!t) {
        free(key);
        C_ERR(b, rid, rid_len, req, 0, SWB_ENOMEM, NULL, "out of memory");
        return;
    }
    b->next_id++;
    b->meta_dirty = true;
    zhashx_insert(b->tasks, &t->rec.id, t);
    swb_broker_touch(b, t);
    swb_stats_task_new(b, t);
    swb_dispatch_ready(b, t);
    if (key) {
        unsigned char val[8];
        uint64_t *idp = malloc(sizeof *idp);
        swb_store_u64_key(id, val);
        swb_store_batch_put(b->batch, SWB_DB_KEYS, key, strlen(key), val, 8);
        if (idp) {
            *idp = id;
            zhashx_insert(b->new_keys, key, idp);
        }
        free(key);
    }
    reply_submitted(b, rid, rid_len, req, id, false);
}

static void
on_status(swb_broker_t *b, const uint8_t *rid, size_t rid_len, swb_msg_t *m)
{
    if (!may_touch(b, rid, rid_len, m->u.ref.req, m->u.ref.id, "status"))
        return;
    reply_current(b, rid, rid_len, m->u.ref.req, m->u.ref.id);
}

static void
on_wait(swb_broker_t *b, const uint8_t *rid, size_t rid_len, swb_msg_t *m)
{
    uint64_t id = m->u.ref.id;
    if (!may_touch(b, rid, rid_len, m->u.ref.req, id, "wait"))
        return;
    swb_btask_t *t = zhashx_lookup(b->tasks, &id);
    if (!t || swb_state_final(t->state) || m->u.ref.timeout == 0) {
        reply_current(b, rid, rid_len, m->u.ref.req, id);
        return;
    }
    swb_waiter_t *w = calloc(1, sizeof *w);
    if (!w) {
        C_ERR(b, rid, rid_len, m->u.ref.req, id, SWB_ENOMEM, NULL,
              "out of memory");
        return;
    }
    memcpy(w->rid, rid, rid_len);
    w->rid_len = rid_len;
    w->req = m->u.ref.req;
    w->id = id;
    w->deadline = b->now + m->u.ref.timeout;
    zlistx_add_end(b->waiters, w);
}

static void
on_cancel(swb_broker_t *b, const uint8_t *rid, size_t rid_len, swb_msg_t *m)
{
    uint64_t id = m->u.ref.id, req = m->u.ref.req;
    if (!may_touch(b, rid, rid_len, req, id, "cancel"))
        return;
    swb_btask_t *t = zhashx_lookup(b->tasks, &id);
    if (!t) {
        swb_task_t rec;
        swb_err_t rc = swb_broker_load(b, id, &rec, NULL);
        if (rc == SWB_OK) {
            C_ERR(b, rid, rid_len, req, id, SWB_ESTATE, "id",
                  "task %llu is already %s", (unsigned long long)id,
                  rec.state);
            swb_codec_free(&swb_task_schema, &rec);
        } else {
            C_ERR(b, rid, rid_len, req, id, rc, "id", "no task with id %llu",
                  (unsigned long long)id);
        }
        return;
    }
    if (swb_state_final(t->state)) {
        C_ERR(b, rid, rid_len, req, id, SWB_ESTATE, "id",
              "task %llu is already %s", (unsigned long long)id, t->rec.state);
        return;
    }
    if (!swb_handoff_cancel(b, t)) {
        /* it runs in another region: asked to cancel there; the final
         * state comes back with its result */
        reply_task(b, rid, rid_len, req, &t->rec, NULL);
        return;
    }
    swb_dispatch_cancel(b, t, "canceled by client");
    reply_task(b, rid, rid_len, req, &t->rec, NULL);
}

/* LIST keeps the newest `limit` matches in a ring while it walks the
 * store in id order. */
typedef struct list_ctx {
    swb_broker_t *b;
    int state;
    const char *site;
    const char *sponsor; /* a client key's: only its tasks (NULL = all) */
    swb_task_t *ring;
    size_t limit, count;
    uint64_t matched;
} list_ctx_t;

static int
list_one(const void *key, size_t klen, const void *val, size_t vlen,
         void *arg)
{
    list_ctx_t *c = arg;
    swb_task_t rec = {0};
    (void)klen;
    uint64_t id = swb_store_key_u64(key);
    swb_btask_t *t = zhashx_lookup(c->b->tasks, &id);
    if (t) {
        if (swb_codec_copy(&swb_task_schema, &rec, &t->rec) != SWB_OK)
            goto skip;
    } else if (swb_codec_decode(&swb_task_schema, val, vlen, &rec, NULL)) {
        goto skip;
    }
    if ((c->state >= 0 && swb_state_parse(rec.state) != c->state) ||
        (c->site && (!rec.site || strcmp(rec.site, c->site) != 0)) ||
        (c->sponsor && (!rec.spec || !rec.spec->sponsor ||
                        strcmp(rec.spec->sponsor, c->sponsor) != 0)))
        goto skip;
    /* lists leave payloads out */
    free(rec.spec->payload.data);
    rec.spec->payload.data = NULL;
    rec.spec->payload.len = 0;
    swb_task_t *slot = &c->ring[c->matched % c->limit];
    swb_codec_free(&swb_task_schema, slot);
    *slot = rec;
    c->matched++;
    return 0;
skip:
    swb_codec_free(&swb_task_schema, &rec);
    return 0;
}

static void
on_list(swb_broker_t *b, const uint8_t *rid, size_t rid_len, swb_msg_t *m)
{
    swb_m_list_t *l = &m->u.list;
    list_ctx_t c = {b, -1, l->site, NULL, NULL, l->limit ? l->limit : 100, 0,
                    0};
    if (b->who && b->who->role == SWB_ROLE_CLIENT)
        c.sponsor = b->who->binding; /* filtered to the key's sponsor */
    if (l->state && (c.state = swb_state_parse(l->state)) < 0) {
        C_ERR(b, rid, rid_len, l->req, 0, SWB_EINVAL, "state",
              "unknown state \"%s\"", l->state);
        return;
    }
    c.ring = calloc(c.limit, sizeof *c.ring);
    if (!c.ring) {
        C_ERR(b, rid, rid_len, l->req, 0, SWB_ENOMEM, NULL, "out of memory");
        return;
    }
    swb_store_each(b->store, SWB_DB_TASKS, list_one, &c);
    size_t n = c.matched < c.limit ? (size_t)c.matched : c.limit;
    swb_task_t *out = calloc(n + 1, sizeof *out);
    if (out) {
        for (size_t i = 0; i < n; i++) /* newest first */
            out[i] = c.ring[(c.matched - 1 - i) % c.limit];
        swb_msg_t r = {.type = SWB_MSG_TASKS};
        r.u.tasks.req = l->req;
        r.u.tasks.tasks.v = out;
        r.u.tasks.tasks.n = n;
        r.u.tasks.more = c.matched > c.limit;
        swb_broker_send(b, SWB_SIDE_CLIENT, rid, rid_len, &r, l->req);
        free(out);
    }
    for (size_t i = 0; i < c.limit; i++)
        swb_codec_free(&swb_task_schema, &c.ring[i]);
    free(c.ring);
}

typedef void (*client_fn)(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                          swb_msg_t *m);

static const client_fn swb_client_handlers[SWB_MSG_COUNT] = {
    [SWB_MSG_SUBMIT] = on_submit, [SWB_MSG_STATUS] = on_status,
    [SWB_MSG_WAIT] = on_wait,     [SWB_MSG_CANCEL] = on_cancel,
    [SWB_MSG_LIST] = on_list,     [SWB_MSG_AGENTS] = swb_agent_list,
    [SWB_MSG_AGENT_STATE] = swb_agent_command,
    [SWB_MSG_STATS] = swb_stats_request, [SWB_MSG_SITES] = swb_sites_request,
};

void
swb_client_api_handle(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                      swb_msg_t *m)
{
    client_fn fn = swb_client_handlers[m->type];
    if (!fn) {
        C_ERR(b, rid, rid_len, 0, 0, SWB_EPROTO, "command",
              "command \"%s\" is not for the client endpoint",
              swb_msg_name(m->type));
        return;
    }
    fn(b, rid, rid_len, m);
}

void
swb_client_api_wake(swb_broker_t *b)
{
    swb_waiter_t *w = zlistx_first(b->waiters);
    while (w) {
        swb_btask_t *t = zhashx_lookup(b->tasks, &w->id);
        if (!t || swb_state_final(t->state) || b->now >= w->deadline) {
            reply_current(b, w->rid, w->rid_len, w->req, w->id);
            zlistx_delete(b->waiters, zlistx_cursor(b->waiters));
            w = zlistx_next(b->waiters);
            continue;
        }
        w = zlistx_next(b->waiters);
    }
}
