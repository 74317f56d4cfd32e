/*
 * handoff.c - moving a task from one region to another and its result
 * back, so that exactly one broker owns it at a time and nothing is lost
 * (PRODUCT.md 5; the messages are in proto/PROTOCOL.md, "Peer
 * conversation").
 *
 * At the origin (the region the client submitted to):
 *   1. swb_handoff_forward: the task becomes "forwarded", phase "sending",
 *      durably, before FORWARD leaves (the outbox goes after the commit);
 *      FORWARD is resent every second until answered.
 *   2. FORWARDED from the peer (it committed the task first): "placed".
 *      An ERROR instead (no eligible agent there, store full): the task
 *      is queued here again.
 *   3. The peer may not start the task before asking: START -> the
 *      origin records "started" durably, then answers GO. A task not
 *      forwarded to that peer (any more) gets GO ok=false: drop it.
 *   4. RESULT: the final state, agent, site, reason and result of the
 *      peer's run; committed, then RESULT_ACK.
 * A peer down for --reclaim-ms gives back every task it holds that is
 * not "started": it is queued here again and its id is kept durably (the
 * handoff database) and sent in each PEER_HELLO until the peer answers
 * RECLAIMED, so the peer drops its copy, which it could not have started
 * without a GO. Started tasks stay there; their result comes when the
 * link is back.
 *
 * At the peer: FORWARD is deduplicated on (origin, origin id), checked
 * for an eligible agent here, committed as a local task ("held", in a
 * requirement class of its own so it is never handed on), then
 * acknowledged. The router places it like any task; when an agent could
 * take it and the origin has not said GO yet, the peer asks (START)
 * instead of offering it, with at most ASK_PER_AGENT questions out per
 * free agent (the rest wait in a parked list until answers make room),
 * so a backlog held here mostly stays unstarted and reclaimable. When it
 * ends, its result is kept on the list of reports (durably) and sent at
 * once and then every second until RESULT_ACK.
 */
#include "broker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_log.h"

#define RESEND_MS 1000      /* FORWARD, START and RESULT resent after  */
#define REFUSED_PAUSE_MS 5000 /* a refused task is not offered out again */
#define ASK_PER_AGENT 4     /* START questions out per free agent        */

/* ---- the handoff database: text keys "T:region:id" ---- */

static size_t
hkey(char tag, const char *region, uint64_t id, char *out, size_t len)
{
    int n = snprintf(out, len, "%c:%s:%llu", tag, region,
                     (unsigned long long)id);
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

static void
hput(swb_broker_t *b, char tag, const char *region, uint64_t id,
     uint64_t val)
{
    char k[128];
    unsigned char v[8];
    size_t n = hkey(tag, region, id, k, sizeof k);
    swb_store_u64_key(val, v);
    if (n)
        swb_store_batch_put(b->batch, SWB_DB_HANDOFF, k, n, v, 8);
}

static void
hdel(swb_broker_t *b, char tag, const char *region, uint64_t id)
{
    char k[128];
    size_t n = hkey(tag, region, id, k, sizeof k);
    if (n)
        swb_store_batch_del(b->batch, SWB_DB_HANDOFF, k, n);
}

size_t
swb_handoff_fkey(const char *origin, uint64_t oid, char *out, size_t len)
{
    return hkey('F', origin, oid, out, len);
}

/* The local id of the task origin o handed over as oid; 0 = never seen. */
static uint64_t
local_id(swb_broker_t *b, const swb_peer_t *o, uint64_t oid)
{
    char k[128];
    return hkey('F', o->name, oid, k, sizeof k)
               ? swb_broker_key_id(b, SWB_DB_HANDOFF, k)
               : 0;
}

/* ---- lists ---- */

static void
unlink_task(swb_btask_t *t)
{
    if (t->flist) {
        zlistx_detach(t->flist, t->fhandle);
        t->flist = t->fhandle = NULL;
    }
}

static void
link_task(zlistx_t *list, swb_btask_t *t)
{
    unlink_task(t);
    t->flist = list;
    t->fhandle = zlistx_add_end(list, t);
}

void
swb_handoff_unlink(swb_btask_t *t)
{
    unlink_task(t);
}

/* Notes that p must drop its copies of task id up to hand-off seq
 * (durably, until it answers RECLAIMED). */
static void
add_reclaim(swb_broker_t *b, swb_peer_t *p, uint64_t id, uint64_t seq)
{
    swb_idref_t *v;
    for (v = zlistx_first(p->reclaims); v; v = zlistx_next(p->reclaims))
        if (v->id == id)
            break;
    if (!v && (v = calloc(1, sizeof *v))) {
        v->id = id;
        zlistx_add_end(p->reclaims, v);
    }
    if (!v)
        return;
    if (seq > v->seq)
        v->seq = seq;
    hput(b, 'R', p->name, id, v->seq);
}

static void
send_hand(swb_broker_t *b, swb_peer_t *p, bool to_origin, swb_msg_type_t type,
          uint64_t id, uint64_t peer_id, uint64_t seq, bool ok)
{
    swb_msg_t m = {.type = type};
    m.u.hand.id = id;
    m.u.hand.peer_id = peer_id;
    m.u.hand.seq = seq;
    m.u.hand.ok = ok;
    swb_peer_send(b, p, to_origin, &m);
}

/* ---- origin side ---- */

static void
send_forward(swb_broker_t *b, swb_peer_t *p, swb_btask_t *t)
{
    swb_msg_t m = {.type = SWB_MSG_FORWARD};
    m.u.forward.id = t->rec.id;
    m.u.forward.seq = t->rec.hand_seq;
    m.u.forward.created = t->rec.created;
    m.u.forward.task = t->rec.spec;
    swb_peer_send(b, p, false, &m);
    t->hand_sent = b->now;
}

void
swb_handoff_forward(swb_broker_t *b, swb_btask_t *t, swb_peer_t *p)
{
    swb_dispatch_forget(b, t);
    swb_btask_set_str(&t->rec.region, p->name);
    t->rec.peer_id = 0;
    t->rec.hand_seq++; /* a new hand-off: old messages cannot touch it */
    swb_btask_set_hand(t, SWB_HAND_SENDING);
    swb_broker_set_state(b, t, SWB_ST_FORWARDED);
    link_task(p->out, t);
    p->forwarded++;
    send_forward(b, p, t);
    swb_log(SWB_LOG_INFO, "peer", "forwarding", "task=%llu peer=%s",
            (unsigned long long)t->rec.id, p->name);
}

/* The origin's task id if it is handed to p now, or NULL. */
static swb_btask_t *
handed_to(swb_broker_t *b, const swb_peer_t *p, uint64_t id)
{
    swb_btask_t *t = zhashx_lookup(b->tasks, &id);
    if (!t || t->state != SWB_ST_FORWARDED || !t->rec.region ||
        strcmp(t->rec.region, p->name) != 0)
        return NULL;
    return t;
}

/* The same, only in hand-off seq. */
static swb_btask_t *
out_task(swb_broker_t *b, const swb_peer_t *p, uint64_t id, uint64_t seq)
{
    swb_btask_t *t = handed_to(b, p, id);
    return t && t->rec.hand_seq == seq ? t : NULL;
}

/* Takes a task back from its peer: queued here again. */
static void
take_back(swb_broker_t *b, swb_btask_t *t, const char *why)
{
    unlink_task(t);
    swb_btask_set_hand(t, SWB_HAND_NONE);
    swb_btask_set_str(&t->rec.region, NULL);
    t->rec.peer_id = 0;
    swb_btask_set_str(&t->rec.reason, why);
    swb_broker_set_state(b, t, SWB_ST_QUEUED);
    swb_dispatch_ready(b, t);
}

void
swb_handoff_on_forwarded(swb_broker_t *b, swb_peer_t *p,
                         const swb_m_hand_t *h)
{
    swb_btask_t *t = out_task(b, p, h->id, h->seq);
    if (!t) { /* taken back meanwhile: the peer must drop that copy */
        add_reclaim(b, p, h->id, h->seq);
        return;
    }
    if (t->hand == SWB_HAND_SENDING) {
        swb_btask_set_hand(t, SWB_HAND_PLACED);
        t->rec.peer_id = h->peer_id;
        swb_broker_touch(b, t);
        swb_log(SWB_LOG_INFO, "peer", "forwarded", "task=%llu peer=%s "
                "peer_id=%llu", (unsigned long long)t->rec.id, p->name,
                (unsigned long long)h->peer_id);
    }
}

void
swb_handoff_on_refused(swb_broker_t *b, swb_peer_t *p, const swb_m_error_t *e)
{
    swb_btask_t *t = handed_to(b, p, e->id);
    swb_log(SWB_LOG_WARN, "peer", "peer_error", "peer=%s task=%llu code=%s "
            "field=\"%s\" why=\"%s\"", p->name, (unsigned long long)e->id,
            e->code, e->field ? e->field : "", e->message);
    if (!t || t->hand != SWB_HAND_SENDING)
        return;
    p->refused++;
    char why[200];
    snprintf(why, sizeof why, "region %s refused it: %.150s", p->name,
             e->message);
    take_back(b, t, why);
    t->no_forward_until = b->now + REFUSED_PAUSE_MS;
}

void
swb_handoff_on_start(swb_broker_t *b, swb_peer_t *p, const swb_m_hand_t *h)
{
    swb_btask_t *t = out_task(b, p, h->id, h->seq);
    if (t && t->hand != SWB_HAND_STARTED) {
        swb_btask_set_hand(t, SWB_HAND_STARTED);
        if (h->peer_id)
            t->rec.peer_id = h->peer_id;
        swb_broker_touch(b, t); /* durable before the GO leaves */
    }
    /* the answer names the copy that asked (peer_id), so it can never
     * reach another copy of the task */
    send_hand(b, p, false, SWB_MSG_GO, h->id, h->peer_id, h->seq, t != NULL);
}

void
swb_handoff_on_result(swb_broker_t *b, swb_peer_t *p, swb_m_task_t *r)
{
    swb_task_t *rec = r->task;
    uint64_t id = rec ? rec->peer_id : 0;
    int st = rec ? swb_state_parse(rec->state) : -1;
    swb_btask_t *t = id ? out_task(b, p, id, rec->hand_seq) : NULL;
    if (!rec || st < 0 || !swb_state_final(st)) {
        swb_log(SWB_LOG_WARN, "peer", "bad_result", "peer=%s task=%llu",
                p->name, (unsigned long long)id);
        return;
    }
    if (t) {
        unlink_task(t);
        t->rec.attempt += rec->attempt;
        swb_btask_set_str(&t->rec.agent, rec->agent);
        swb_btask_set_str(&t->rec.site, rec->site);
        swb_btask_set_str(&t->rec.reason, rec->reason);
        t->rec.peer_id = rec->id;
        if (r->result.len) {
            unsigned char key[8];
            swb_store_u64_key(t->rec.id, key);
            free(t->result.data);
            t->result = r->result; /* take the bytes */
            memset(&r->result, 0, sizeof r->result);
            swb_store_batch_put(b->batch, SWB_DB_RESULTS, key, 8,
                                t->result.data, t->result.len);
        }
        swb_broker_set_state(b, t, st);
        p->results++;
        swb_log(SWB_LOG_INFO, "peer", "result", "task=%llu peer=%s "
                "state=%s agent=%s", (unsigned long long)id, p->name,
                rec->state, rec->agent ? rec->agent : "-");
    }
    /* acknowledged after the commit, known or not, so it stops */
    send_hand(b, p, false, SWB_MSG_RESULT_ACK, id, rec->id, rec->hand_seq,
              true);
}

void
swb_handoff_on_reclaimed(swb_broker_t *b, swb_peer_t *p,
                         const swb_m_hand_t *h)
{
    for (swb_idref_t *v = zlistx_first(p->reclaims); v;
         v = zlistx_next(p->reclaims))
        if (v->id == h->id) {
            if (h->seq < v->seq)
                return; /* a later hand-off is still to be dropped */
            zlistx_delete(p->reclaims, zlistx_cursor(p->reclaims));
            hdel(b, 'R', p->name, h->id);
            return;
        }
}

bool
swb_handoff_cancel(swb_broker_t *b, swb_btask_t *t)
{
    swb_peer_t *p = t->rec.region
                        ? swb_peer_find(b, t->rec.region,
                                        strlen(t->rec.region))
                        : NULL;
    if (t->state != SWB_ST_FORWARDED || !p)
        return true;
    if (t->hand == SWB_HAND_STARTED) { /* it runs there: ask, wait */
        send_hand(b, p, false, SWB_MSG_PEER_CANCEL, t->rec.id, t->rec.peer_id,
                  t->rec.hand_seq, true);
        return false;
    }
    unlink_task(t); /* never started there: the peer drops its copy */
    add_reclaim(b, p, t->rec.id, t->rec.hand_seq);
    swb_btask_set_hand(t, SWB_HAND_NONE);
    return true;
}

/* ---- peer side ---- */

/* What the peer knows of its copy with local id: its hand-off seq, and
 * whether it was dropped (canceled here on the origin's word, phase
 * none). False when there is no such record. */
static bool
copy_info(swb_broker_t *b, uint64_t id, uint64_t *seq, bool *dropped)
{
    swb_btask_t *t = zhashx_lookup(b->tasks, &id);
    if (t) {
        *seq = t->rec.hand_seq;
        *dropped = t->hand == SWB_HAND_NONE;
        return true;
    }
    swb_task_t rec;
    if (swb_broker_load(b, id, &rec, NULL) != SWB_OK)
        return false;
    *seq = rec.hand_seq;
    *dropped = !rec.hand;
    swb_codec_free(&swb_task_schema, &rec);
    return true;
}

static void drop_task(swb_broker_t *b, swb_peer_t *o, swb_btask_t *t);

void
swb_handoff_on_forward(swb_broker_t *b, swb_peer_t *o, swb_m_forward_t *f)
{
    const uint8_t *rid = (const uint8_t *)o->name;
    size_t rid_len = strlen(o->name);
    uint64_t seen = local_id(b, o, f->id), seq = 0;
    bool dropped = false;
    if (seen && copy_info(b, seen, &seq, &dropped)) {
        if (seq > f->seq || (seq == f->seq && dropped))
            return; /* a resend of a hand-off the origin took back */
        if (seq == f->seq) { /* a resend: the same copy */
            send_hand(b, o, true, SWB_MSG_FORWARDED, f->id, seen, seq, true);
            return;
        }
        /* a newer hand-off: the origin took the older one back */
        swb_btask_t *old = zhashx_lookup(b->tasks, &seen);
        if (old && old->foreign && old->hand == SWB_HAND_HELD &&
            !swb_state_final(old->state))
            drop_task(b, o, old);
    }
    swb_task_spec_t *sp = f->task;
    const char *why = NULL;
    swb_err_t code = SWB_EREFUSED;
    if (b->refusing && b->now < b->refuse_until) {
        code = SWB_EFULL;
        why = "the store refuses new work";
    } else if (swb_channel_parse(sp->channel) < 0) {
        code = SWB_EINVAL;
        why = "unknown channel";
    } else if (sp->payload.len > b->cfg->max_payload) {
        code = SWB_ETOOBIG;
        why = "payload over this broker's --max-payload";
    } else if (!swb_router_can_serve(b->router, sp, true)) {
        why = "no eligible agent at an open site";
    }
    if (why) {
        swb_broker_error(b, SWB_SIDE_PEER, rid, rid_len, 0, f->id, code,
                         "task", "region %s takes no task %llu from %s: %s",
                         b->cfg->region, (unsigned long long)f->id, o->name,
                         why);
        return;
    }
    if (!sp->max_attempts)
        sp->max_attempts = b->cfg->max_attempts;
    uint64_t id = b->next_id;
    swb_btask_t *t = swb_btask_new(id, &f->task, b->now_wall);
    if (!t) {
        swb_broker_error(b, SWB_SIDE_PEER, rid, rid_len, 0, f->id, SWB_ENOMEM,
                         NULL, "out of memory");
        return;
    }
    b->next_id++;
    b->meta_dirty = true;
    if (f->created)
        t->rec.created = f->created;
    swb_btask_set_str(&t->rec.region, o->name);
    t->rec.peer_id = f->id;
    t->rec.hand_seq = f->seq;
    t->foreign = true;
    swb_btask_set_hand(t, SWB_HAND_HELD);
    zhashx_insert(b->tasks, &t->rec.id, t);
    swb_broker_touch(b, t);
    swb_stats_task_new(b, t);
    swb_dispatch_ready(b, t);
    char k[128];
    size_t n = hkey('F', o->name, f->id, k, sizeof k);
    uint64_t *idp = malloc(sizeof *idp);
    if (n && idp) {
        *idp = id;
        zhashx_update(b->new_keys, k, idp); /* may replace an older copy */
    } else {
        free(idp);
    }
    hput(b, 'F', o->name, f->id, id);
    send_hand(b, o, true, SWB_MSG_FORWARDED, f->id, id, f->seq, true);
    swb_log(SWB_LOG_INFO, "peer", "taken", "task=%llu origin=%s origin_id=%llu",
            (unsigned long long)id, o->name, (unsigned long long)f->id);
}

/* The peer's local task for (o, oid) in memory, or NULL. */
static swb_btask_t *
in_task(swb_broker_t *b, const swb_peer_t *o, uint64_t oid)
{
    uint64_t id = local_id(b, o, oid);
    swb_btask_t *t = id ? zhashx_lookup(b->tasks, &id) : NULL;
    return t && t->foreign ? t : NULL;
}

/* Tasks waiting for a GO from any origin. */
static size_t
asking(const swb_broker_t *b)
{
    size_t n = 0;
    for (size_t i = 0; b->fed && i < b->fed->npeers; i++)
        n += zlistx_size(b->fed->peers[i].in);
    return n;
}

/* How many questions may be out at once: a few per free agent, so that
 * work flows without a wait for each answer while most of a backlog
 * stays unstarted (and so reclaimable by its origin). */
static size_t
asking_limit(const swb_broker_t *b)
{
    size_t ready = swb_router_ready(b->router);
    return ASK_PER_AGENT * (ready ? ready : 1);
}

bool
swb_handoff_may_offer(swb_broker_t *b, swb_btask_t *t)
{
    if (!t->foreign || t->hand == SWB_HAND_GO)
        return true;
    swb_router_remove_task(b->router, t);
    if (t->flist)
        return false; /* asked already, or parked */
    swb_peer_t *o = swb_peer_find(b, t->rec.region, strlen(t->rec.region));
    if (!o || asking(b) >= asking_limit(b)) {
        /* parked until an answer makes room (unpark) */
        link_task(b->fed->parked, t);
        return false;
    }
    link_task(o->in, t);
    send_hand(b, o, true, SWB_MSG_START, t->rec.peer_id, t->rec.id,
              t->rec.hand_seq, true);
    t->hand_sent = b->now;
    return false;
}

/* Parked tasks back into the router while questions may go out. */
static void
unpark(swb_broker_t *b)
{
    size_t room = asking_limit(b), out = asking(b);
    swb_btask_t *t;
    while (out < room && (t = zlistx_first(b->fed->parked))) {
        unlink_task(t);
        swb_dispatch_ready(b, t);
        out++;
    }
}

/* The origin dropped a task (GO ok=false, or in its reclaimed list). */
static void
drop_task(swb_broker_t *b, swb_peer_t *o, swb_btask_t *t)
{
    unlink_task(t);
    swb_dispatch_forget(b, t);
    swb_btask_set_hand(t, SWB_HAND_NONE); /* no result goes back */
    char why[120];
    snprintf(why, sizeof why, "taken back by region %s", o->name);
    swb_btask_set_str(&t->rec.reason, why);
    swb_broker_set_state(b, t, SWB_ST_CANCELED);
    swb_log(SWB_LOG_INFO, "peer", "dropped", "task=%llu origin=%s "
            "origin_id=%llu", (unsigned long long)t->rec.id, o->name,
            (unsigned long long)t->rec.peer_id);
}

/* The copy a message names by its own id (peer_id), if it is still the
 * live copy of that origin's task and hand-off: never another copy. */
static swb_btask_t *
named_copy(swb_broker_t *b, const swb_peer_t *o, const swb_m_hand_t *h)
{
    swb_btask_t *t = zhashx_lookup(b->tasks, &h->peer_id);
    if (!t || !t->foreign || t->rec.peer_id != h->id ||
        t->rec.hand_seq != h->seq || strcmp(t->rec.region, o->name) != 0 ||
        swb_state_final(t->state))
        return NULL;
    return t;
}

void
swb_handoff_on_go(swb_broker_t *b, swb_peer_t *o, const swb_m_hand_t *h)
{
    swb_btask_t *t = named_copy(b, o, h);
    if (!t || t->hand != SWB_HAND_HELD)
        return;
    if (!h->ok) {
        drop_task(b, o, t);
        unpark(b);
        return;
    }
    unlink_task(t);
    swb_btask_set_hand(t, SWB_HAND_GO);
    swb_broker_touch(b, t);
    if (t->state == SWB_ST_QUEUED || t->state == SWB_ST_FAILED)
        swb_dispatch_ready(b, t);
    unpark(b);
}

void
swb_handoff_drop(swb_broker_t *b, swb_peer_t *o, uint64_t oid, uint64_t seq)
{
    /* the newest copy, if it is of that hand-off or an older one (older
     * copies were dropped when a newer one came) */
    swb_btask_t *t = in_task(b, o, oid);
    if (t && t->rec.hand_seq <= seq && t->hand == SWB_HAND_HELD &&
        !swb_state_final(t->state))
        drop_task(b, o, t);
    /* started ones cannot be in the list: the origin said GO for them */
    send_hand(b, o, true, SWB_MSG_RECLAIMED, oid, 0, seq, true);
}

void
swb_handoff_on_peer_cancel(swb_broker_t *b, swb_peer_t *o,
                           const swb_m_hand_t *h)
{
    swb_btask_t *t = named_copy(b, o, h);
    if (t) {
        char why[120];
        snprintf(why, sizeof why, "canceled by the client in region %s",
                 o->name);
        swb_dispatch_cancel(b, t, why);
    }
}

static swb_report_t *
add_report(swb_peer_t *o, uint64_t oid, uint64_t local)
{
    for (swb_report_t *r = zlistx_first(o->reports); r;
         r = zlistx_next(o->reports))
        if (r->local_id == local)
            return r;
    swb_report_t *r = calloc(1, sizeof *r);
    if (r) {
        r->origin_id = oid;
        r->local_id = local;
        zlistx_add_end(o->reports, r);
    }
    return r;
}

static void
send_result(swb_broker_t *b, swb_peer_t *o, swb_report_t *r)
{
    swb_btask_t *t = zhashx_lookup(b->tasks, &r->local_id);
    swb_task_t rec, *p;
    swb_bytes_t result = {0};
    bool loaded = false;
    if (t) {
        p = &t->rec;
        result = t->result;
    } else if (swb_broker_load(b, r->local_id, &rec, &result) == SWB_OK) {
        p = &rec;
        loaded = true;
    } else {
        return;
    }
    swb_task_spec_t *spec = p->spec; /* the origin has the spec */
    p->spec = NULL;
    swb_task_spec_t empty = {.channel = spec ? spec->channel : NULL};
    p->spec = &empty;
    swb_msg_t m = {.type = SWB_MSG_RESULT};
    m.u.task.task = p;
    m.u.task.result = result;
    swb_peer_send(b, o, true, &m);
    p->spec = spec;
    r->sent = b->now;
    if (loaded) {
        swb_codec_free(&swb_task_schema, &rec);
        free(result.data);
    }
}

void
swb_handoff_finished(swb_broker_t *b, swb_btask_t *t)
{
    if (!t->foreign || t->hand == SWB_HAND_NONE || !t->rec.region)
        return;
    swb_peer_t *o = swb_peer_find(b, t->rec.region, strlen(t->rec.region));
    unlink_task(t);
    if (!o)
        return;
    hput(b, 'P', o->name, t->rec.id, t->rec.peer_id);
    swb_report_t *r = add_report(o, t->rec.peer_id, t->rec.id);
    if (r) /* queued now: it leaves after the commit of this pass */
        send_result(b, o, r);
}

void
swb_handoff_on_result_ack(swb_broker_t *b, swb_peer_t *o,
                          const swb_m_hand_t *h)
{
    for (swb_report_t *r = zlistx_first(o->reports); r;
         r = zlistx_next(o->reports))
        if (r->local_id == h->peer_id && r->origin_id == h->id) {
            zlistx_delete(o->reports, zlistx_cursor(o->reports));
            hdel(b, 'P', o->name, h->peer_id);
            return;
        }
}

/* ---- timers ---- */

static void
peer_timers(swb_broker_t *b, swb_peer_t *p)
{
    /* origin side: resend, or take back from a peer down long enough */
    bool reclaim = !p->up && b->now - p->down_since >= b->cfg->reclaim_ms;
    swb_btask_t *t = zlistx_first(p->out);
    while (t) {
        swb_btask_t *next = zlistx_next(p->out);
        if (reclaim && t->hand != SWB_HAND_STARTED) {
            char why[120];
            snprintf(why, sizeof why, "taken back from region %s (down)",
                     p->name);
            add_reclaim(b, p, t->rec.id, t->rec.hand_seq);
            take_back(b, t, why);
            swb_log(SWB_LOG_WARN, "peer", "reclaimed", "task=%llu peer=%s",
                    (unsigned long long)t->rec.id, p->name);
        } else if (p->up && t->hand == SWB_HAND_SENDING &&
                   b->now - t->hand_sent >= RESEND_MS) {
            send_forward(b, p, t);
        }
        t = next;
    }
    if (!swb_peer_origin_alive(b, p))
        return;
    /* peer side: ask again for GO, send results again */
    for (t = zlistx_first(p->in); t; t = zlistx_next(p->in))
        if (b->now - t->hand_sent >= RESEND_MS) {
            send_hand(b, p, true, SWB_MSG_START, t->rec.peer_id, t->rec.id,
                      t->rec.hand_seq, true);
            t->hand_sent = b->now;
        }
    for (swb_report_t *r = zlistx_first(p->reports); r;
         r = zlistx_next(p->reports))
        if (!r->sent || b->now - r->sent >= RESEND_MS)
            send_result(b, p, r);
}

void
swb_handoff_timers(swb_broker_t *b)
{
    if (!b->fed)
        return;
    for (size_t i = 0; i < b->fed->npeers; i++)
        peer_timers(b, &b->fed->peers[i]);
    unpark(b); /* agents may have become free */
}

/* ---- start and reload ---- */

bool
swb_handoff_recover(swb_broker_t *b, swb_btask_t *t)
{
    if (t->hand == SWB_HAND_NONE || !t->rec.region)
        return false;
    swb_peer_t *p = swb_peer_find(b, t->rec.region, strlen(t->rec.region));
    if (!p) {
        swb_log(SWB_LOG_WARN, "peer", "unknown_peer", "task=%llu region=%s "
                "why=\"the region is no longer a --peer\"",
                (unsigned long long)t->rec.id, t->rec.region);
        return false;
    }
    if (t->state == SWB_ST_FORWARDED) {
        link_task(p->out, t);
        return true;
    }
    return false; /* placed here as any task (asks for GO again) */
}

static int
load_one(const void *key, size_t klen, const void *val, size_t vlen,
         void *arg)
{
    swb_broker_t *b = arg;
    char k[128], region[80];
    unsigned long long id;
    char tag;
    if (klen >= sizeof k || vlen != 8)
        return 0;
    memcpy(k, key, klen);
    k[klen] = '\0';
    if (sscanf(k, "%c:%79[^:]:%llu", &tag, region, &id) != 3)
        return 0;
    swb_peer_t *p = swb_peer_find(b, region, strlen(region));
    if (!p)
        return 0;
    if (tag == 'R') { /* value: the hand-off seq */
        swb_idref_t *v = calloc(1, sizeof *v);
        if (v) {
            v->id = id;
            v->seq = swb_store_key_u64(val);
            zlistx_add_end(p->reclaims, v);
        }
    } else if (tag == 'P') { /* key: the local id; value: the origin's */
        add_report(p, swb_store_key_u64(val), id);
    }
    return 0;
}

swb_err_t
swb_handoff_load(swb_broker_t *b)
{
    if (!b->fed)
        return SWB_OK;
    for (size_t i = 0; i < b->fed->npeers; i++) {
        swb_peer_t *p = &b->fed->peers[i];
        zlistx_purge(p->reclaims);
        zlistx_purge(p->reports);
    }
    return swb_store_each(b->store, SWB_DB_HANDOFF, load_one, b);
}

void
swb_handoff_reset(swb_broker_t *b)
{
    for (size_t i = 0; b->fed && i < b->fed->npeers; i++) {
        swb_peer_t *p = &b->fed->peers[i];
        for (swb_btask_t *t = zlistx_first(p->out); t; t = zlistx_next(p->out))
            t->flist = t->fhandle = NULL;
        for (swb_btask_t *t = zlistx_first(p->in); t; t = zlistx_next(p->in))
            t->flist = t->fhandle = NULL;
        zlistx_purge(p->out);
        zlistx_purge(p->in);
    }
    if (b->fed) {
        for (swb_btask_t *t = zlistx_first(b->fed->parked); t;
             t = zlistx_next(b->fed->parked))
            t->flist = t->fhandle = NULL;
        zlistx_purge(b->fed->parked);
    }
}
