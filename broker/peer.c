/*
 * peer.c - links to the other regions: sockets, the hello/advert cycle,
 * peers going up and down, and routing each peer message to handoff.c
 * (see peer.h for the shape of the links).
 *
 * A peer is up while it advertises: an origin says PEER_HELLO every
 * second on its link, the peer answers each with an ADVERT (and sends
 * one on its own when its agents change, at most every 200 ms). After
 * --peer-down-ms without a message from it a peer is down: nothing is
 * handed to it, and after --reclaim-ms more the tasks it took but never
 * started come back (handoff.c).
 */
#include "broker_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "swb_log.h"

#define HELLO_MS 1000     /* an origin's hello period                 */
#define ADVERT_MIN_MS 200 /* least time between two adverts            */
#define DEFAULT_AHT_MS 30000 /* handle time before any task finished   */

static void
id_free(void **item)
{
    free(*item);
    *item = NULL;
}

swb_peer_t *
swb_peer_find(swb_broker_t *b, const char *name, size_t len)
{
    for (size_t i = 0; b->fed && i < b->fed->npeers; i++) {
        swb_peer_t *p = &b->fed->peers[i];
        if (strlen(p->name) == len && memcmp(p->name, name, len) == 0)
            return p;
    }
    return NULL;
}

swb_err_t
swb_peer_init(swb_broker_t *b)
{
    const swb_config_t *cfg = b->cfg;
    if (!cfg->peers.n)
        return SWB_OK;
    swb_fed_t *f = calloc(1, sizeof *f);
    if (!f || !(f->peers = calloc(cfg->peers.n, sizeof *f->peers))) {
        free(f);
        return SWB_ENOMEM;
    }
    b->fed = f;
    if (!(f->parked = zlistx_new()))
        return SWB_ENOMEM;
    f->aht_ms = DEFAULT_AHT_MS;
    f->quiet_until = b->now + cfg->heartbeat_ms * 3;
    for (size_t i = 0; i < cfg->peers.n; i++) {
        const char *v = cfg->peers.v[i], *eq = strchr(v, '=');
        swb_peer_t *p = &f->peers[f->npeers++];
        p->name = strndup(v, (size_t)(eq - v));
        p->ep = strdup(eq + 1);
        p->out = zlistx_new();
        p->in = zlistx_new();
        p->reclaims = zlistx_new();
        p->reports = zlistx_new();
        if (!p->name || !p->ep || !p->out || !p->in || !p->reclaims ||
            !p->reports)
            return SWB_ENOMEM;
        zlistx_set_destructor(p->reclaims, id_free);
        zlistx_set_destructor(p->reports, id_free);
        p->down_since = b->now;
    }
    return SWB_OK;
}

/* Sets options every peer socket shares. */
static void
peer_socket_opts(swb_broker_t *b, zsock_t *s)
{
    uint64_t max_msg = b->cfg->max_payload + 65536;
    zsock_set_maxmsgsize(s, (int)(max_msg > INT32_MAX ? INT32_MAX : max_msg));
    zsock_set_sndhwm(s, 100000);
    zsock_set_rcvhwm(s, 100000);
    zsock_set_linger(s, 0); /* everything is resent until answered */
    /* ZMTP heartbeats: a connection silent through a partition is closed
     * and made again, instead of waiting out TCP's retransmission
     * backoff once the link is back (seconds to minutes) */
    zsock_set_heartbeat_ivl(s, 1000);
    zsock_set_heartbeat_timeout(s, (int)b->cfg->peer_down_ms);
    zsock_set_connect_timeout(s, 1000);
}

swb_err_t
swb_peer_open(swb_broker_t *b, char *why, size_t why_len)
{
    swb_fed_t *f = b->fed;
    if (!f)
        return SWB_OK;
    f->router = zsock_new(ZMQ_ROUTER);
    if (!f->router) {
        snprintf(why, why_len, "cannot create the peers socket");
        return SWB_ESYS;
    }
    peer_socket_opts(b, f->router);
    zsock_set_router_handover(f->router, 1); /* a restarted origin */
    swb_secure_socket(b, f->router);
    if (zsock_bind(f->router, "%s", b->cfg->peers_ep) < 0) {
        snprintf(why, why_len, "cannot bind %s: %s", b->cfg->peers_ep,
                 zmq_strerror(errno));
        return SWB_EINVAL;
    }
    for (size_t i = 0; i < f->npeers; i++) {
        swb_peer_t *p = &f->peers[i];
        p->link = zsock_new(ZMQ_DEALER);
        if (!p->link) {
            snprintf(why, why_len, "cannot create the link to %s", p->name);
            return SWB_ESYS;
        }
        peer_socket_opts(b, p->link);
        zsock_set_identity(p->link, b->cfg->region);
        swb_err_t rc = swb_secure_link(b, p->link, p->name, why, why_len);
        if (rc)
            return rc;
        if (zsock_connect(p->link, "%s", p->ep) < 0) {
            snprintf(why, why_len, "--peer %s=%s: cannot connect: %s",
                     p->name, p->ep, zmq_strerror(errno));
            return SWB_EINVAL;
        }
    }
    swb_log(SWB_LOG_INFO, "peer", "listening", "peers=%s regions=%zu",
            b->cfg->peers_ep, f->npeers);
    return SWB_OK;
}

void
swb_peer_close(swb_broker_t *b)
{
    swb_fed_t *f = b->fed;
    if (!f)
        return;
    for (size_t i = 0; i < f->npeers; i++) {
        swb_peer_t *p = &f->peers[i];
        zsock_destroy(&p->link);
        free(p->name);
        free(p->ep);
        swb_codec_free(swb_msg_schema(SWB_MSG_ADVERT), &p->advert);
        free(p->extra);
        zlistx_destroy(&p->out);
        zlistx_destroy(&p->in);
        zlistx_destroy(&p->reclaims);
        zlistx_destroy(&p->reports);
    }
    zsock_destroy(&f->router);
    zlistx_destroy(&f->parked);
    free(f->peers);
    free(f);
    b->fed = NULL;
}

size_t
swb_peer_poll_items(swb_broker_t *b, zmq_pollitem_t *items, size_t max)
{
    size_t n = 0;
    if (!b->fed || max == 0)
        return 0;
    items[n++] = (zmq_pollitem_t){zsock_resolve(b->fed->router), 0,
                                  ZMQ_POLLIN, 0};
    for (size_t i = 0; i < b->fed->npeers && n < max; i++)
        items[n++] = (zmq_pollitem_t){zsock_resolve(b->fed->peers[i].link), 0,
                                      ZMQ_POLLIN, 0};
    return n;
}

/* ---- sending ---- */

void
swb_peer_send(swb_broker_t *b, swb_peer_t *p, bool to_origin,
              const swb_msg_t *m)
{
    swb_broker_send(b, to_origin ? SWB_SIDE_PEER : SWB_SIDE_LINK,
                    (const uint8_t *)p->name, strlen(p->name), m, 0);
}

void
swb_peer_send_now(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
                  size_t rid_len, const void *body, size_t len)
{
    if (!b->fed)
        return;
    if (side == SWB_SIDE_PEER) {
        void *sock = zsock_resolve(b->fed->router);
        if (zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(sock, body, len, ZMQ_DONTWAIT) < 0)
            swb_log(SWB_LOG_DEBUG, "peer", "send_dropped", "to=%.*s errno=%d",
                    (int)rid_len, (const char *)rid, errno);
        return;
    }
    swb_peer_t *p = swb_peer_find(b, (const char *)rid, rid_len);
    if (p && zmq_send(zsock_resolve(p->link), body, len, ZMQ_DONTWAIT) < 0)
        swb_log(SWB_LOG_DEBUG, "peer", "send_dropped", "to=%s errno=%d",
                p->name, errno);
}

/* ---- adverts ---- */

bool
swb_peer_origin_alive(const swb_broker_t *b, const swb_peer_t *o)
{
    return o->origin_heard && b->now - o->origin_heard <= b->cfg->peer_down_ms;
}

/* Predicted wait of one more task for a class (the same formula on both
 * sides, so that regions compare like with like). */
uint64_t
swb_peer_predict(const swb_broker_t *b, uint64_t agents, uint64_t ready,
                 uint64_t waiting)
{
    if (ready > waiting)
        return 0;
    if (!agents)
        return UINT64_MAX;
    uint64_t aht = b->fed ? b->fed->aht_ms : DEFAULT_AHT_MS;
    return (waiting - ready + 1) * aht / agents;
}

typedef struct advert_ctx {
    swb_broker_t *b;
    swb_cap_t *v;
    size_t n;
} advert_ctx_t;

static void
advert_team(const swb_router_team_t *t, void *arg)
{
    advert_ctx_t *c = arg;
    if (c->n >= SWB_MAX_CAPS)
        return;
    /* the class's profile, borrowed: the message is encoded at once */
    swb_cap_t *cap = &c->v[c->n++];
    cap->site = t->prof->site;
    cap->country = t->site && *t->site->country ? t->site->country : NULL;
    cap->channels = t->prof->channels;
    cap->speaks = t->prof->speaks;
    cap->writes = t->prof->writes;
    cap->skills = t->prof->skills;
    cap->sponsors = t->prof->sponsors;
    cap->open = t->open;
    cap->agents = t->agents;
    cap->ready = t->ready;
    cap->waiting = t->waiting;
    cap->wait = swb_peer_predict(c->b, t->agents, t->ready, t->waiting);
}

/* Sends this region's advert to one origin, or to every origin heard
 * within --peer-down-ms (p NULL). */
static void
send_advert(swb_broker_t *b, swb_peer_t *p)
{
    swb_fed_t *f = b->fed;
    size_t cap = swb_router_aclasses(b->router);
    advert_ctx_t c = {b, calloc(cap + 1, sizeof(swb_cap_t)), 0};
    if (!c.v)
        return;
    swb_router_each_team(b->router, advert_team, &c);
    swb_msg_t m = {.type = SWB_MSG_ADVERT};
    m.u.advert.region = b->cfg->region;
    m.u.advert.seq = ++f->advert_seq;
    m.u.advert.classes.v = c.v;
    m.u.advert.classes.n = c.n;
    for (size_t i = 0; i < f->npeers; i++) {
        swb_peer_t *o = &f->peers[i];
        if ((p && o != p) || !swb_peer_origin_alive(b, o))
            continue;
        swb_peer_send(b, o, true, &m);
    }
    free(c.v);
    f->next_advert = b->now + HELLO_MS;
}

/* ---- receiving ---- */

/* A message from an origin (at our ROUTER). */
static void
from_origin(swb_broker_t *b, swb_peer_t *o, swb_msg_t *m)
{
    o->origin_heard = b->now;
    switch (m->type) {
    case SWB_MSG_PEER_HELLO: {
        swb_idref_t *ids = m->u.peer_hello.reclaimed.v;
        for (size_t i = 0; i < m->u.peer_hello.reclaimed.n; i++)
            swb_handoff_drop(b, o, ids[i].id, ids[i].seq);
        send_advert(b, o);
        break;
    }
    case SWB_MSG_FORWARD: swb_handoff_on_forward(b, o, &m->u.forward); break;
    case SWB_MSG_GO: swb_handoff_on_go(b, o, &m->u.hand); break;
    case SWB_MSG_RESULT_ACK: swb_handoff_on_result_ack(b, o, &m->u.hand); break;
    case SWB_MSG_PEER_CANCEL: swb_handoff_on_peer_cancel(b, o, &m->u.hand);
        break;
    default:
        swb_broker_error(b, SWB_SIDE_PEER, (const uint8_t *)o->name,
                         strlen(o->name), 0, 0, SWB_EPROTO, "command",
                         "command \"%s\" is not for the peers endpoint",
                         swb_msg_name(m->type));
    }
}

/* Replaces p's advert with the one in m (taking its contents). */
static void
take_advert(swb_broker_t *b, swb_peer_t *p, swb_msg_t *m)
{
    if (!p->up)
        swb_log(SWB_LOG_INFO, "peer", "peer_up", "peer=%s classes=%zu",
                p->name, m->u.advert.classes.n);
    p->up = true;
    b->fed->gen++;
    swb_codec_free(swb_msg_schema(SWB_MSG_ADVERT), &p->advert);
    p->advert = m->u.advert;
    memset(&m->u.advert, 0, sizeof m->u.advert);
    free(p->extra);
    p->extra = calloc(p->advert.classes.n + 1, sizeof *p->extra);
}

/* A message from a peer serving us (on our link to it). */
static void
from_peer(swb_broker_t *b, swb_peer_t *p, swb_msg_t *m)
{
    p->heard = b->now;
    switch (m->type) {
    case SWB_MSG_ADVERT: take_advert(b, p, m); break;
    case SWB_MSG_FORWARDED: swb_handoff_on_forwarded(b, p, &m->u.hand); break;
    case SWB_MSG_ERROR: swb_handoff_on_refused(b, p, &m->u.error); break;
    case SWB_MSG_START: swb_handoff_on_start(b, p, &m->u.hand); break;
    case SWB_MSG_RESULT: swb_handoff_on_result(b, p, &m->u.task); break;
    case SWB_MSG_RECLAIMED: swb_handoff_on_reclaimed(b, p, &m->u.hand); break;
    default:
        swb_log(SWB_LOG_WARN, "peer", "unexpected", "peer=%s command=%s",
                p->name, swb_msg_name(m->type));
    }
}

/* Takes one message from sock; true when there was one. */
static bool
receive_from(swb_broker_t *b, void *sock, swb_peer_t *link_peer)
{
    uint8_t rid[SWB_RID_MAX];
    size_t rid_len;
    int frames;
    zmq_msg_t body;
    zmq_msg_init(&body);
    if (!swb_broker_read(sock, !link_peer, rid, &rid_len, &body, &frames)) {
        zmq_msg_close(&body);
        return false;
    }
    swb_peer_t *p = link_peer ? link_peer
                              : swb_peer_find(b, (const char *)rid, rid_len);
    if (!p) {
        swb_log(SWB_LOG_WARN, "peer", "unknown_region", "rid_bytes=%zu "
                "why=\"not a region named by --peer\"", rid_len);
        if (rid_len)
            swb_broker_error(b, SWB_SIDE_PEER, rid, rid_len, 0, 0,
                             SWB_EREFUSED, "region", "this region takes "
                             "work only from the regions it names with "
                             "--peer");
        zmq_msg_close(&body);
        return true;
    }
    if (frames != (link_peer ? 1 : 2)) {
        swb_log(SWB_LOG_WARN, "peer", "bad_frames", "peer=%s frames=%d",
                p->name, frames);
        zmq_msg_close(&body);
        return true;
    }
    char user_id[SWB_Z85_KEY_LEN + 1] = "";
    const char *uid = b->auth && !link_peer ? zmq_msg_gets(&body, "User-Id")
                                            : NULL;
    if (uid)
        snprintf(user_id, sizeof user_id, "%s", uid);
    swb_msg_t m;
    swb_decode_err_t err = {0};
    swb_err_t rc = swb_msg_decode(zmq_msg_data(&body), zmq_msg_size(&body),
                                  &m, &err);
    zmq_msg_close(&body);
    if (rc) {
        swb_log(SWB_LOG_WARN, "peer", "bad_message", "peer=%s code=%s "
                "field=\"%s\" why=\"%s\"", p->name, swb_err_name(rc),
                err.field, err.message);
        if (!link_peer)
            swb_broker_error(b, SWB_SIDE_PEER, rid, rid_len, 0, 0, rc,
                             err.field, "%s", err.message);
        return true;
    }
    if (!link_peer && !swb_secure_check_peer(b, p->name, user_id, &m)) {
        swb_msg_clear(&m);
        return true;
    }
    if (link_peer)
        from_peer(b, p, &m);
    else
        from_origin(b, p, &m);
    swb_msg_clear(&m);
    return true;
}

bool
swb_peer_receive(swb_broker_t *b)
{
    swb_fed_t *f = b->fed;
    if (!f)
        return false;
    bool any = receive_from(b, zsock_resolve(f->router), NULL);
    for (size_t i = 0; i < f->npeers; i++)
        any |= receive_from(b, zsock_resolve(f->peers[i].link), &f->peers[i]);
    return any;
}

/* ---- timers ---- */

int
swb_peer_poll_ms(const swb_broker_t *b, int max_ms)
{
    if (!b->fed || b->fed->next_overflow <= b->now)
        return b->fed ? 0 : max_ms;
    uint64_t left = b->fed->next_overflow - b->now;
    return left < (uint64_t)max_ms ? (int)left : max_ms;
}

static void
send_hello(swb_broker_t *b, swb_peer_t *p)
{
    size_t n = zlistx_size(p->reclaims), i = 0;
    if (n > 1000)
        n = 1000;
    swb_idref_t *ids = calloc(n + 1, sizeof *ids);
    if (!ids)
        return;
    for (swb_idref_t *id = zlistx_first(p->reclaims); id && i < n;
         id = zlistx_next(p->reclaims))
        ids[i++] = *id;
    swb_msg_t m = {.type = SWB_MSG_PEER_HELLO};
    m.u.peer_hello.region = b->cfg->region;
    m.u.peer_hello.reclaimed.v = ids;
    m.u.peer_hello.reclaimed.n = i;
    swb_peer_send(b, p, false, &m);
    free(ids);
    p->next_hello = b->now + HELLO_MS;
}

void
swb_peer_timers(swb_broker_t *b)
{
    swb_fed_t *f = b->fed;
    if (!f || b->now < f->next_tick)
        return;
    f->next_tick = b->now + 50;
    for (size_t i = 0; i < f->npeers; i++) {
        swb_peer_t *p = &f->peers[i];
        if (b->now >= p->next_hello)
            send_hello(b, p);
        if (p->up && b->now - p->heard > b->cfg->peer_down_ms) {
            p->up = false;
            p->down_since = b->now;
            f->gen++;
            swb_log(SWB_LOG_WARN, "peer", "peer_down", "peer=%s silent_ms=%llu "
                    "handed=%zu", p->name,
                    (unsigned long long)(b->now - p->heard),
                    zlistx_size(p->out));
        }
    }
    if (b->now >= f->next_advert)
        send_advert(b, NULL);
    swb_handoff_timers(b);
}

/* ---- the statistics document's "peers" ---- */

json_t *
swb_peer_json(swb_broker_t *b)
{
    json_t *list = json_array();
    for (size_t i = 0; list && b->fed && i < b->fed->npeers; i++) {
        const swb_peer_t *p = &b->fed->peers[i];
        uint64_t agents = 0, ready = 0;
        const swb_cap_t *caps = p->advert.classes.v;
        for (size_t c = 0; p->up && c < p->advert.classes.n; c++) {
            agents += caps[c].agents;
            ready += caps[c].open ? caps[c].ready : 0;
        }
        json_t *o = json_pack(
            "{s:s, s:s, s:b, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
            "s:I, s:b}",
            "name", p->name, "endpoint", p->ep, "up", p->up,
            "silent_seconds",
            p->heard ? json_real((double)((b->now - p->heard) / 100) / 10.0)
                     : json_null(),
            "agents", (json_int_t)agents, "ready", (json_int_t)ready,
            "handed", (json_int_t)zlistx_size(p->out),
            "forwarded", (json_int_t)p->forwarded,
            "refused", (json_int_t)p->refused,
            "results", (json_int_t)p->results,
            "reclaims_pending", (json_int_t)zlistx_size(p->reclaims),
            "asking_go", (json_int_t)zlistx_size(p->in),
            "reports_pending", (json_int_t)zlistx_size(p->reports),
            "origin_connected", swb_peer_origin_alive(b, p));
        if (o)
            json_array_append_new(list, o);
    }
    return list;
}

void
swb_peer_agents_changed(swb_broker_t *b)
{
    /* an earlier advert when agents come, go or change state */
    if (b->fed && b->fed->next_advert > b->now + ADVERT_MIN_MS)
        b->fed->next_advert = b->now + ADVERT_MIN_MS;
}

void
swb_peer_handled(swb_broker_t *b, uint64_t ms)
{
    if (b->fed && ms < 86400000u)
        b->fed->aht_ms = (7 * b->fed->aht_ms + ms) / 8 + 1;
}
