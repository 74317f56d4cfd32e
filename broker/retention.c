/*
 * retention.c - removes finished tasks, their results and idempotency keys
 * after --retention, in small steps of the broker's loop (retention.h has
 * the rule and the bounds).
 *
 * One step: a bounded read of the tasks database from the cursor
 * (swb_store_scan) notes the ids (and keys) to remove; then, outside that
 * read transaction, each key is checked to still name this task, and the
 * deletes join the pass's batch. Does not: touch tasks in memory, hold a
 * transaction across passes, or write anything itself (the broker's
 * commit does).
 */
#include "broker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_log.h"

#define RETENTION_SCAN_FACTOR 4      /* records read per removal allowed */
#define RETENTION_MIN_GAP_MS 200     /* between cycles, at least         */
#define RETENTION_MAX_GAP_MS 60000   /* between cycles, at most          */
#define RETENTION_STEP_BYTES (4u << 20) /* records decoded per step      */

/* A task to remove, noted during the read. */
typedef struct ret_victim {
    uint64_t id;
    char *key; /* "sponsor\nkey" as client_api.c writes it, or NULL */
    char fkey[96]; /* its hand-off key (handoff.c), "" when none      */
} ret_victim_t;

typedef struct ret_step {
    swb_broker_t *b;
    ret_victim_t *v;     /* up to `room` victims                      */
    size_t nv, room;
    uint64_t last_id;    /* last id read                              */
    bool young;          /* met a task created less than retention ago */
    bool full;           /* stopped for room or bytes: more to read    */
    size_t bytes;        /* record bytes decoded in this step          */
    bool oom;
} ret_step_t;

static int
ret_visit(const void *key, size_t klen, const void *val, size_t vlen,
          void *arg)
{
    ret_step_t *st = arg;
    swb_broker_t *b = st->b;
    if (klen != 8)
        return 0;
    uint64_t id = swb_store_key_u64(key);
    st->last_id = id;
    uint64_t keep = b->cfg->retention_ms;
    swb_btask_t *t = zhashx_lookup(b->tasks, &id);
    if (t) { /* unfinished, or finished in this pass: never removed */
        if (t->rec.created > b->now_wall ||
            b->now_wall - t->rec.created < keep) {
            st->young = true;
            return 1;
        }
        return 0;
    }
    swb_task_t rec = {0};
    swb_decode_err_t err;
    if (swb_codec_decode(&swb_task_schema, val, vlen, &rec, &err) != SWB_OK) {
        swb_codec_free(&swb_task_schema, &rec);
        return 0; /* recovery logs bad records; keep it for a person */
    }
    int stop = 0;
    if (rec.created > b->now_wall || b->now_wall - rec.created < keep) {
        st->young = true; /* and every later id */
        stop = 1;
    } else if (swb_state_final(swb_state_parse(rec.state)) &&
               rec.updated <= b->now_wall &&
               b->now_wall - rec.updated >= keep) {
        ret_victim_t *v = &st->v[st->nv];
        v->id = id;
        v->key = swb_btask_idem_key(rec.spec);
        if (rec.spec && rec.spec->key && !v->key)
            st->oom = true;
        v->fkey[0] = '\0';
        if (rec.region && rec.peer_id)
            swb_handoff_fkey(rec.region, rec.peer_id, v->fkey,
                             sizeof v->fkey);
        st->nv++;
    }
    swb_codec_free(&swb_task_schema, &rec);
    st->bytes += vlen;
    if (!stop && (st->nv == st->room || st->bytes >= RETENTION_STEP_BYTES))
        st->full = true;
    return stop || st->full;
}

/* Deletes key from db when it still names task id (and no submit or
 * hand-off of this pass took it). */
static swb_err_t
del_if_ours(swb_broker_t *b, swb_store_db_t db, const char *key, uint64_t id)
{
    if (!key || !*key || zhashx_lookup(b->new_keys, key) ||
        swb_store_get_u64(b->store, db, key, strlen(key)) != id)
        return SWB_OK;
    return swb_store_batch_del(b->batch, db, key, strlen(key));
}

/* Queues the deletes of one task: record, result, and its idempotency
 * and hand-off keys while they still name it. */
static swb_err_t
ret_remove(swb_broker_t *b, const ret_victim_t *v)
{
    unsigned char id_key[8];
    swb_store_u64_key(v->id, id_key);
    swb_err_t rc = swb_store_batch_del(b->batch, SWB_DB_TASKS, id_key, 8);
    if (!rc)
        rc = swb_store_batch_del(b->batch, SWB_DB_RESULTS, id_key, 8);
    if (!rc)
        rc = del_if_ours(b, SWB_DB_KEYS, v->key, v->id);
    if (!rc)
        rc = del_if_ours(b, SWB_DB_HANDOFF, v->fkey, v->id);
    return rc;
}

static uint64_t
ret_gap_ms(uint64_t retention_ms)
{
    uint64_t gap = retention_ms / 10;
    if (gap < RETENTION_MIN_GAP_MS)
        gap = RETENTION_MIN_GAP_MS;
    if (gap > RETENTION_MAX_GAP_MS)
        gap = RETENTION_MAX_GAP_MS;
    return gap;
}

void
swb_retention_pass(swb_broker_t *b)
{
    swb_retention_t *r = &b->retention;
    if (!b->cfg->retention_ms || b->refusing)
        return;
    if (r->cursor == 0) {
        if (b->now < r->next_cycle)
            return;
        r->cursor = 1; /* task ids start at 1 */
        r->cycle_removed = 0;
    }
    size_t room = b->cfg->retention_batch ? b->cfg->retention_batch : 1;
    ret_step_t st = {.b = b, .room = room};
    st.v = calloc(room, sizeof *st.v);
    if (!st.v)
        return;
    unsigned char start[8];
    size_t seen = 0;
    swb_store_u64_key(r->cursor, start);
    swb_err_t rc = swb_store_scan(b->store, SWB_DB_TASKS, start, 8,
                                  room * RETENTION_SCAN_FACTOR, ret_visit, &st,
                                  &seen);
    for (size_t i = 0; i < st.nv && !rc; i++)
        rc = ret_remove(b, &st.v[i]);
    if (rc || st.oom) {
        swb_log(SWB_LOG_WARN, "retention", "sweep_failed", "code=%s",
                swb_err_name(rc ? rc : SWB_ENOMEM));
        st.young = true; /* end the cycle; the next one finds them */
    } else {
        r->removed += st.nv;
        r->cycle_removed += st.nv;
    }
    if (st.nv && !rc && !st.oom)
        swb_log(SWB_LOG_DEBUG, "retention", "removed", "tasks=%zu "
                "from=%llu to=%llu", st.nv, (unsigned long long)r->cursor,
                (unsigned long long)st.last_id);
    for (size_t i = 0; i < st.nv; i++)
        free(st.v[i].key);
    free(st.v);
    if (st.young || (seen < room * RETENTION_SCAN_FACTOR && !st.full)) {
        /* the cycle is over: young tasks or the end of the database */
        if (r->cycle_removed)
            swb_log(SWB_LOG_INFO, "retention", "swept", "removed=%llu "
                    "total=%llu", (unsigned long long)r->cycle_removed,
                    (unsigned long long)r->removed);
        r->cursor = 0;
        r->next_cycle = b->now + ret_gap_ms(b->cfg->retention_ms);
    } else {
        r->cursor = st.last_id + 1;
    }
}
