/*
 * broker.c - the broker's event loop, group commit and recovery.
 *
 * One thread. Each pass of the loop (see broker_int.h):
 *   1. poll both ROUTER sockets, then take up to --batch-max messages;
 *      each is decoded (untrusted: the codec checks everything) and
 *      handed to client_api.c or worker_api.c, which change memory, mark
 *      tasks dirty and queue replies in the outbox;
 *   2. timers and dispatch (worker_api.c);
 *   3. one LMDB write transaction with every dirty record, synced;
 *   4. only then the outbox goes out, waiters are woken and finished
 *      tasks leave memory;
 *   5. HTTP requests are answered (http.c), reading the state as the
 *      commit left it.
 * If the commit fails (disk full, I/O error) nothing of the pass is
 * acknowledged: client replies become errors, worker frames are dropped,
 * memory is reloaded from the store, and new work is refused until a
 * commit succeeds again.
 */
#include "broker_int.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "swb_log.h"

/* ---- task table keyed by uint64_t ---- */

static size_t
id_hash(const void *key)
{
    uint64_t x = *(const uint64_t *)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static int
id_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void
task_free(void **item)
{
    swb_btask_destroy((swb_btask_t **)item);
}

static void
session_free(void **item)
{
    swb_session_destroy((swb_session_t **)item);
}

static void
out_free(void **item)
{
    swb_out_t *o = *item;
    if (o) {
        free(o->body);
        free(o);
        *item = NULL;
    }
}

static void
plain_free(void **item)
{
    free(*item);
    *item = NULL;
}

/* ---- outbox ---- */

static void
queue_frame(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
            size_t rid_len, uint64_t req, void *body, size_t len)
{
    swb_out_t *o = calloc(1, sizeof *o);
    if (!o || rid_len > SWB_RID_MAX) {
        free(o);
        free(body);
        return;
    }
    o->side = side;
    memcpy(o->rid, rid, rid_len);
    o->rid_len = rid_len;
    o->req = req;
    o->body = body;
    o->len = len;
    zlistx_add_end(b->outbox, o);
}

void
swb_broker_send(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
                size_t rid_len, const swb_msg_t *m, uint64_t req)
{
    void *body;
    size_t len;
    if (swb_msg_encode(m, &body, &len) != SWB_OK) {
        swb_log(SWB_LOG_ERROR, "broker", "encode_failed", "command=%s",
                swb_msg_name(m->type));
        return;
    }
    queue_frame(b, side, rid, rid_len, req, body, len);
}

void
swb_broker_error(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
                 size_t rid_len, uint64_t req, uint64_t id, swb_err_t code,
                 const char *field, const char *fmt, ...)
{
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    swb_msg_t m = {.type = SWB_MSG_ERROR};
    m.u.error.req = req;
    m.u.error.id = id;
    m.u.error.code = (char *)swb_err_name(code);
    m.u.error.field = field && *field ? (char *)field : NULL;
    m.u.error.message = text;
    swb_broker_send(b, side, rid, rid_len, &m, req);
}

static void
send_now(swb_broker_t *b, swb_out_t *o)
{
    if (o->side == SWB_SIDE_PEER || o->side == SWB_SIDE_LINK) {
        swb_peer_send_now(b, o->side, o->rid, o->rid_len, o->body, o->len);
        return;
    }
    void *sock = zsock_resolve(o->side == SWB_SIDE_CLIENT ? b->clients
                                                          : b->workers);
    if (zmq_send(sock, o->rid, o->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, o->body, o->len, ZMQ_DONTWAIT) < 0)
        swb_log(SWB_LOG_DEBUG, "broker", "send_dropped", "side=%s errno=%d",
                o->side == SWB_SIDE_CLIENT ? "client" : "worker", errno);
}

static void
flush_outbox(swb_broker_t *b)
{
    swb_out_t *o;
    while ((o = zlistx_first(b->outbox))) {
        send_now(b, o);
        zlistx_delete(b->outbox, zlistx_cursor(b->outbox));
    }
}

/* ---- state helpers ---- */

void
swb_broker_touch(swb_broker_t *b, swb_btask_t *t)
{
    t->rec.updated = b->now_wall;
    if (!t->dirty) {
        t->dirty = true;
        zlistx_add_end(b->dirty, t);
    }
}

void
swb_broker_set_state(swb_broker_t *b, swb_btask_t *t, int state)
{
    bool was_final = swb_state_final(t->state);
    swb_stats_task_moved(b, t, t->state, state);
    swb_btask_set_state(t, state, b->now_wall);
    swb_broker_touch(b, t);
    if (swb_state_final(state) && !was_final) {
        zlistx_add_end(b->finished, t);
        swb_handoff_finished(b, t);
    }
}

swb_err_t
swb_broker_load(swb_broker_t *b, uint64_t id, swb_task_t *rec,
                swb_bytes_t *result)
{
    unsigned char key[8];
    void *val;
    size_t vlen;
    memset(rec, 0, sizeof *rec);
    swb_store_u64_key(id, key);
    swb_err_t rc = swb_store_get(b->store, SWB_DB_TASKS, key, 8, &val, &vlen);
    if (rc)
        return rc;
    swb_decode_err_t err;
    rc = swb_codec_decode(&swb_task_schema, val, vlen, rec, &err);
    free(val);
    if (rc) {
        swb_codec_free(&swb_task_schema, rec);
        swb_log(SWB_LOG_ERROR, "store", "bad_record", "task=%llu why=\"%s\"",
                (unsigned long long)id, err.message);
        return SWB_ESTORE;
    }
    if (result) {
        memset(result, 0, sizeof *result);
        if (swb_store_get(b->store, SWB_DB_RESULTS, key, 8, &val, &vlen) ==
            SWB_OK) {
            result->data = val;
            result->len = vlen;
        }
    }
    return SWB_OK;
}

/* ---- recovery ---- */

static int
recover_one(const void *key, size_t klen, const void *val, size_t vlen,
            void *arg)
{
    swb_broker_t *b = arg;
    swb_task_t rec = {0};
    swb_decode_err_t err;
    uint64_t id = klen == 8 ? swb_store_key_u64(key) : 0;
    if (swb_codec_decode(&swb_task_schema, val, vlen, &rec, &err) != SWB_OK) {
        swb_log(SWB_LOG_ERROR, "store", "bad_record", "task=%llu why=\"%s\"",
                (unsigned long long)id, err.message);
        swb_codec_free(&swb_task_schema, &rec);
        return 0;
    }
    if (id >= b->next_id)
        b->next_id = id + 1;
    if (rec.lease >= b->next_lease)
        b->next_lease = rec.lease + 1;
    int st = swb_state_parse(rec.state);
    if (st < 0 || swb_state_final(st)) {
        swb_codec_free(&swb_task_schema, &rec);
        return 0;
    }
    swb_btask_t *t = swb_btask_from_record(&rec);
    if (!t) {
        swb_log(SWB_LOG_ERROR, "store", "bad_record", "task=%llu",
                (unsigned long long)id);
        swb_codec_free(&swb_task_schema, &rec);
        return 0;
    }
    zhashx_insert(b->tasks, &t->rec.id, t);
    if (swb_handoff_recover(b, t))
        return 0; /* in a peer region's hands */
    if (st == SWB_ST_OFFERED || st == SWB_ST_ACTIVE) {
        /* keeps its lease for one lease period: the worker may still be
         * running it and can claim it back with HELLO holding */
        t->lease_until = b->now + b->cfg->lease_ms;
        t->lhandle = zlistx_add_end(b->leased, t);
        swb_dispatch_watch(b, t);
    } else {
        swb_dispatch_ready(b, t);
    }
    return 0;
}

static uint64_t
meta_u64(swb_broker_t *b, const char *name)
{
    return swb_store_get_u64(b->store, SWB_DB_META, name, strlen(name));
}

uint64_t
swb_broker_key_id(swb_broker_t *b, swb_store_db_t db, const char *key)
{
    uint64_t *pending = zhashx_lookup(b->new_keys, key);
    return pending ? *pending
                   : swb_store_get_u64(b->store, db, key, strlen(key));
}

static swb_err_t
recover(swb_broker_t *b)
{
    b->next_id = meta_u64(b, "next_id");
    b->next_lease = meta_u64(b, "next_lease");
    b->next_event = meta_u64(b, "next_event");
    if (b->next_id == 0)
        b->next_id = 1;
    if (b->next_lease == 0)
        b->next_lease = 1;
    swb_err_t rc = swb_store_each(b->store, SWB_DB_TASKS, recover_one, b);
    if (!rc)
        rc = swb_handoff_load(b);
    swb_log(SWB_LOG_INFO, "broker", "recovered", "tasks=%zu leased=%zu "
            "next_id=%llu", zhashx_size(b->tasks), zlistx_size(b->leased),
            (unsigned long long)b->next_id);
    return rc;
}

/* Drops every in-memory task and reads them again from the store: the
 * way back to a consistent state after a failed commit. */
static void
reload(swb_broker_t *b)
{
    zlistx_purge(b->leased);
    zlistx_purge(b->dirty);
    zlistx_purge(b->finished);
    zlistx_purge(b->fresh);
    zlistx_purge(b->freed);
    swb_held_fini(&b->held);
    swb_heap_fini(&b->due);
    swb_dispatch_init_heaps(b);
    /* a new router: the sessions join it again, holding nothing */
    for (swb_session_t *s = zhashx_first(b->sessions); s;
         s = zhashx_next(b->sessions)) {
        zlistx_purge(s->held);
        memset(s->held_ch, 0, sizeof s->held_ch);
        s->held_voice = 0;
        memset(s->idle_h, 0, sizeof s->idle_h);
        s->freed_h = NULL;
        s->aclass = NULL;
    }
    swb_router_destroy(&b->router);
    swb_handoff_reset(b);
    zhashx_purge(b->tasks);
    b->router = swb_router_new(b->cfg);
    for (swb_session_t *s = b->router ? zhashx_first(b->sessions) : NULL; s;
         s = zhashx_next(b->sessions)) {
        swb_router_add_agent(b->router, s);
        swb_router_agent_changed(b->router, s, b->now_wall);
        swb_dispatch_agent_free(b, s);
    }
    if (!b->router || recover(b) != SWB_OK)
        swb_log(SWB_LOG_ERROR, "broker", "reload_failed", NULL);
}

/* ---- commit ---- */

static void
put_meta(swb_broker_t *b, const char *name, uint64_t v)
{
    unsigned char val[8];
    swb_store_u64_key(v, val);
    swb_store_batch_put(b->batch, SWB_DB_META, name, strlen(name), val, 8);
}

static swb_err_t
write_dirty(swb_broker_t *b)
{
    for (swb_btask_t *t = zlistx_first(b->dirty); t;
         t = zlistx_next(b->dirty)) {
        unsigned char key[8];
        void *rec;
        size_t len;
        t->dirty = false;
        swb_store_u64_key(t->rec.id, key);
        if (swb_codec_encode(&swb_task_schema, &t->rec, &rec, &len) != SWB_OK)
            return SWB_ENOMEM;
        swb_err_t rc = swb_store_batch_put(b->batch, SWB_DB_TASKS, key, 8, rec,
                                           len);
        free(rec);
        if (rc)
            return rc;
    }
    if (b->meta_dirty) {
        put_meta(b, "next_id", b->next_id);
        put_meta(b, "next_lease", b->next_lease);
        put_meta(b, "next_event", b->next_event);
    }
    return SWB_OK;
}

/* Turns the client replies of a failed pass into errors; drops the
 * worker frames (workers resend). */
static void
fail_outbox(swb_broker_t *b, swb_err_t code, const char *why)
{
    zlistx_t *old = b->outbox;
    b->outbox = zlistx_new();
    zlistx_set_destructor(b->outbox, out_free);
    for (swb_out_t *o = zlistx_first(old); o; o = zlistx_next(old))
        if (o->side == SWB_SIDE_CLIENT)
            swb_broker_error(b, SWB_SIDE_CLIENT, o->rid, o->rid_len, o->req, 0,
                             code, NULL, "not done: %s", why);
    zlistx_destroy(&old);
}

static void
evict_finished(swb_broker_t *b)
{
    swb_btask_t *t;
    while ((t = zlistx_first(b->finished))) {
        zlistx_delete(b->finished, zlistx_cursor(b->finished));
        swb_dispatch_forget(b, t);
        swb_handoff_unlink(t);
        uint64_t id = t->rec.id;
        zhashx_delete(b->tasks, &id); /* frees t */
    }
}

static void
commit_pass(swb_broker_t *b)
{
    bool work = zlistx_size(b->dirty) || swb_store_batch_count(b->batch) ||
                b->meta_dirty;
    if (work) {
        char why[256] = "";
        uint64_t t0 = swb_mono_ms();
        swb_err_t rc = write_dirty(b);
        if (!rc)
            rc = swb_store_commit(b->store, b->batch, why, sizeof why);
        if (rc) {
            if (!*why)
                snprintf(why, sizeof why, "%s", swb_strerror(rc));
            swb_log(SWB_LOG_ERROR, "store", "commit_failed", "code=%s "
                    "why=\"%s\"", swb_err_name(rc), why);
            b->refusing = true;
            b->refuse_until = b->now + 1000;
            snprintf(b->refuse_why, sizeof b->refuse_why, "%s: %s",
                     swb_strerror(rc), why);
            fail_outbox(b, rc == SWB_EFULL ? SWB_EFULL : SWB_ESTORE,
                        b->refuse_why);
            zhashx_purge(b->new_keys);
            swb_store_batch_reset(b->batch);
            b->meta_dirty = false;
            swb_stats_unsaved(b->stats);
            reload(b);
            flush_outbox(b);
            return;
        }
        if (b->refusing)
            swb_log(SWB_LOG_INFO, "store", "commit_recovered", NULL);
        b->refusing = false;
        uint64_t ms = swb_mono_ms() - t0;
        if (ms > 100)
            swb_log(SWB_LOG_WARN, "store", "slow_commit", "ms=%llu ops=%zu",
                    (unsigned long long)ms, swb_store_batch_count(b->batch));
    }
    zlistx_purge(b->dirty);
    zhashx_purge(b->new_keys);
    swb_store_batch_reset(b->batch);
    b->meta_dirty = false;
    flush_outbox(b);
    swb_client_api_wake(b);
    evict_finished(b);
    flush_outbox(b);
}

/* ---- receiving ---- */

bool
swb_broker_read(void *sock, bool router, uint8_t *rid, size_t *rid_len,
                zmq_msg_t *body, int *frames)
{
    zmq_msg_t part;
    *frames = 0;
    *rid_len = 0;
    for (;;) {
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, *frames ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            return *frames > 0;
        }
        bool more = zmq_msg_more(&part);
        if (router && *frames == 0) {
            size_t n = zmq_msg_size(&part);
            *rid_len = n <= SWB_RID_MAX ? n : 0;
            memcpy(rid, zmq_msg_data(&part), *rid_len);
        } else if (*frames == (router ? 1 : 0)) {
            zmq_msg_move(body, &part);
        }
        zmq_msg_close(&part);
        (*frames)++;
        if (!more)
            return true;
    }
}

/* Reads one whole message from sock; handles it. Returns false when
 * nothing was waiting. */
static bool
receive_one(swb_broker_t *b, swb_side_t side)
{
    void *sock = zsock_resolve(side == SWB_SIDE_CLIENT ? b->clients
                                                       : b->workers);
    uint8_t rid[SWB_RID_MAX];
    size_t rid_len;
    int frames;
    zmq_msg_t body;
    zmq_msg_init(&body);
    if (!swb_broker_read(sock, true, rid, &rid_len, &body, &frames)) {
        zmq_msg_close(&body);
        return false;
    }
    if (rid_len == 0) {
        zmq_msg_close(&body);
        return true;
    }
    const char *label = side == SWB_SIDE_CLIENT ? "client" : "worker";
    if (frames != 2) {
        swb_log(SWB_LOG_WARN, "broker", "bad_frames", "side=%s frames=%d",
                label, frames - 1);
        swb_broker_error(b, side, rid, rid_len, 0, 0, SWB_EDECODE, "frames",
                         "expected exactly 1 frame after the routing id, got "
                         "%d", frames - 1);
        zmq_msg_close(&body);
        return true;
    }
    swb_msg_t m;
    swb_decode_err_t err = {0};
    swb_err_t rc = swb_msg_decode(zmq_msg_data(&body), zmq_msg_size(&body),
                                  &m, &err);
    size_t size = zmq_msg_size(&body);
    /* the authenticated key: set by our ZAP handler, nothing else */
    char user_id[SWB_Z85_KEY_LEN + 1] = "";
    const char *uid = b->auth ? zmq_msg_gets(&body, "User-Id") : NULL;
    if (uid)
        snprintf(user_id, sizeof user_id, "%s", uid);
    zmq_msg_close(&body);
    if (rc) {
        swb_log(SWB_LOG_WARN, "broker", "bad_message", "side=%s bytes=%zu "
                "code=%s field=\"%s\" why=\"%s\"", label, size,
                swb_err_name(rc), err.field, err.message);
        swb_broker_error(b, side, rid, rid_len, 0, 0, rc, err.field, "%s",
                         err.message);
        return true;
    }
    if (!swb_secure_check(b, side, rid, rid_len, user_id, &m)) {
        swb_msg_clear(&m);
        return true;
    }
    if (side == SWB_SIDE_CLIENT)
        swb_client_api_handle(b, rid, rid_len, &m);
    else
        swb_worker_api_handle(b, rid, rid_len, &m);
    b->who = NULL;
    swb_msg_clear(&m);
    return true;
}

/* ---- lifecycle ---- */

static zsock_t *
bind_router(swb_broker_t *b, const char *ep, uint64_t max_msg, char *why,
            size_t why_len)
{
    zsock_t *s = zsock_new(ZMQ_ROUTER);
    if (!s) {
        snprintf(why, why_len, "cannot create a socket");
        return NULL;
    }
    zsock_set_maxmsgsize(s, (int)(max_msg > INT32_MAX ? INT32_MAX : max_msg));
    zsock_set_sndhwm(s, 100000);
    zsock_set_rcvhwm(s, 100000);
    zsock_set_linger(s, 1000);
    swb_secure_socket(b, s);
    if (zsock_bind(s, "%s", ep) < 0) {
        snprintf(why, why_len, "cannot bind %s: %s", ep, zmq_strerror(errno));
        zsock_destroy(&s);
    }
    return s;
}

swb_err_t
swb_broker_new(const swb_config_t *cfg, swb_broker_t **out, char *why,
               size_t why_len)
{
    swb_err_t rc = SWB_ENOMEM;
    swb_broker_t *b = calloc(1, sizeof *b);
    *out = NULL;
    if (!b)
        return SWB_ENOMEM;
    b->cfg = cfg;
    b->now = swb_mono_ms();
    b->now_wall = swb_now_ms();
    b->tasks = zhashx_new();
    b->sessions = zhashx_new();
    b->new_keys = zhashx_new();
    b->router = swb_router_new(cfg);
    b->tz = swb_tzcache_new();
    swb_dispatch_init_heaps(b);
    b->leased = zlistx_new();
    b->fresh = zlistx_new();
    b->freed = zlistx_new();
    b->waiters = zlistx_new();
    b->dirty = zlistx_new();
    b->finished = zlistx_new();
    b->outbox = zlistx_new();
    b->batch = swb_store_batch_new();
    if (!b->tasks || !b->sessions || !b->new_keys || !b->router || !b->tz ||
        !b->leased || !b->fresh || !b->freed || !b->waiters || !b->dirty || !b->finished || !b->outbox ||
        !b->batch)
        goto fail;
    zhashx_set_key_hasher(b->tasks, id_hash);
    zhashx_set_key_comparator(b->tasks, id_cmp);
    zhashx_set_key_duplicator(b->tasks, NULL);
    zhashx_set_key_destructor(b->tasks, NULL);
    zhashx_set_destructor(b->tasks, task_free);
    zhashx_set_destructor(b->sessions, session_free);
    zhashx_set_destructor(b->new_keys, plain_free);
    zlistx_set_destructor(b->outbox, out_free);
    zlistx_set_destructor(b->waiters, plain_free);

    swb_store_opts_t so = {cfg->map_initial, cfg->map_max};
    rc = swb_store_open(cfg->data_dir, &so, &b->store, why, why_len);
    if (rc)
        goto fail;
    rc = swb_peer_init(b);
    if (rc) {
        snprintf(why, why_len, "peers: %s", swb_strerror(rc));
        goto fail;
    }
    rc = recover(b);
    if (rc) {
        snprintf(why, why_len, "recovery failed: %s", swb_strerror(rc));
        goto fail;
    }
    rc = swb_stats_open(b);
    if (rc) {
        snprintf(why, why_len, "statistics: %s", swb_strerror(rc));
        goto fail;
    }
    /* keys, ZAP handler and its proof, or the loopback rule: before any
     * bind */
    rc = swb_secure_open(b, why, why_len);
    if (rc)
        goto fail;
    swb_secure_check_modes(b);
    uint64_t max_msg = cfg->max_payload + 65536;
    rc = SWB_EINVAL;
    b->clients = bind_router(b, cfg->clients_ep, max_msg, why, why_len);
    if (!b->clients)
        goto fail;
    b->workers = bind_router(b, cfg->workers_ep, max_msg, why, why_len);
    if (!b->workers)
        goto fail;
    rc = swb_peer_open(b, why, why_len);
    if (rc)
        goto fail;
    rc = SWB_EINVAL;
    if (strcmp(cfg->http, "off") != 0) {
        rc = swb_http_new(b, cfg->http, &b->http, why, why_len);
        if (rc)
            goto fail;
    }
    *out = b;
    return SWB_OK;
fail:
    swb_broker_destroy(&b);
    return rc;
}

swb_err_t
swb_broker_run(swb_broker_t *b, volatile sig_atomic_t *stop)
{
    /* the sockets, the HTTP server's epoll set (a plain fd), the ZAP
     * handler's socket, the peer sockets */
    size_t max_items = 4 + (b->fed ? b->fed->npeers + 1 : 0);
    zmq_pollitem_t *items = calloc(max_items, sizeof *items);
    if (!items)
        return SWB_ENOMEM;
    int nitems = 0;
    items[nitems++] = (zmq_pollitem_t){zsock_resolve(b->clients), 0,
                                       ZMQ_POLLIN, 0};
    items[nitems++] = (zmq_pollitem_t){zsock_resolve(b->workers), 0,
                                       ZMQ_POLLIN, 0};
    if (b->http)
        items[nitems++] = (zmq_pollitem_t){NULL, swb_http_fd(b->http),
                                           ZMQ_POLLIN, 0};
    if (b->zap)
        items[nitems++] = (zmq_pollitem_t){swb_zap_socket(b->zap), -1,
                                           ZMQ_POLLIN, 0};
    nitems += (int)swb_peer_poll_items(b, items + nitems,
                                       max_items - (size_t)nitems);
    uint64_t last_timers = 0, next_trim = 0;
    swb_log(SWB_LOG_INFO, "broker", "started", "region=%s clients=%s "
            "workers=%s http=%s data=%s security=%s", b->cfg->region,
            b->cfg->clients_ep, b->cfg->workers_ep, b->cfg->http,
            b->cfg->data_dir, b->auth ? "curve" : "plain");
    while (!*stop) {
        int rc = zmq_poll(items, nitems, swb_peer_poll_ms(b, 50));
        if (rc < 0 && errno != EINTR) {
            swb_log(SWB_LOG_ERROR, "broker", "poll_failed", "errno=%d", errno);
            free(items);
            return SWB_ESYS;
        }
        b->now = swb_mono_ms();
        b->now_wall = swb_now_ms();
        if (b->auth) { /* handshakes first, then a fresh key table */
            if (b->reload_keys && *b->reload_keys) {
                *b->reload_keys = 0;
                swb_auth_reload_now(b->auth);
            }
            swb_auth_refresh(b->auth, b->now);
            swb_zap_handle(b->zap);
        }
        /* take what is waiting, both sides in turn, up to batch_max */
        uint64_t taken = 0;
        bool more = true;
        while (more && taken < b->cfg->batch_max) {
            more = false;
            if (receive_one(b, SWB_SIDE_WORKER)) {
                more = true;
                taken++;
            }
            if (receive_one(b, SWB_SIDE_CLIENT)) {
                more = true;
                taken++;
            }
            if (swb_peer_receive(b)) {
                more = true;
                taken++;
            }
        }
        if (b->now - last_timers >= 10 || b->now < last_timers) {
            swb_worker_api_timers(b);
            swb_dispatch_timers(b);
            swb_peer_timers(b);
            last_timers = b->now;
        }
        if (b->now >= next_trim) {
            /* give memory freed after a burst (a hostile peer's endless
             * multipart message, a big backlog drained) back to the
             * system, so RSS follows what is really in use */
            malloc_trim(0);
            next_trim = b->now + 5000;
        }
        swb_overflow_run(b); /* gated by its own tick (overflow.c) */
        swb_dispatch_run(b);
        swb_retention_pass(b); /* bounded: removes old finished tasks */
        swb_stats_tick(b);
        commit_pass(b);
        /* HTTP requests read the state between passes, after the commit */
        if (b->http)
            swb_http_run(b->http);
    }
    swb_log(SWB_LOG_INFO, "broker", "stopping", "tasks_in_memory=%zu",
            zhashx_size(b->tasks));
    free(items);
    return SWB_OK;
}

void
swb_broker_set_reload(swb_broker_t *b, volatile sig_atomic_t *flag)
{
    b->reload_keys = flag;
}

void
swb_broker_destroy(swb_broker_t **bp)
{
    if (!bp || !*bp)
        return;
    swb_broker_t *b = *bp;
    swb_http_destroy(&b->http);
    if (b->stats && b->batch)
        swb_stats_save(b->stats, b->batch, b->now_wall, true);
    if (b->store && b->batch &&
        (zlistx_size(b->dirty) || b->meta_dirty ||
         swb_store_batch_count(b->batch)))
        commit_pass(b);
    zsock_destroy(&b->clients);
    zsock_destroy(&b->workers);
    swb_peer_close(b);
    swb_secure_close(b);
    zlistx_destroy(&b->outbox);
    zlistx_destroy(&b->waiters);
    zlistx_destroy(&b->dirty);
    zlistx_destroy(&b->finished);
    zlistx_destroy(&b->leased);
    zlistx_destroy(&b->fresh);
    zlistx_destroy(&b->freed);
    swb_held_fini(&b->held);
    swb_heap_fini(&b->due);
    zhashx_destroy(&b->sessions);
    swb_router_destroy(&b->router);
    zhashx_destroy(&b->tasks);
    swb_stats_close(b);
    swb_tzcache_destroy(&b->tz);
    zhashx_destroy(&b->new_keys);
    swb_store_batch_destroy(&b->batch);
    swb_store_close(&b->store);
    free(b);
    *bp = NULL;
}
