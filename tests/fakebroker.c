/*
 * fakebroker.c - a fake broker speaking the worker protocol inside a test
 * process (see fakebroker.h).
 */
#include "fakebroker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swbtest.h"

bool
swbt_fb_start(swbt_fb_t *b)
{
    memset(b, 0, sizeof *b);
    for (int i = 0; i < 5 && !b->router; i++) {
        snprintf(b->ep, sizeof b->ep, "tcp://127.0.0.1:%d", swbt_free_port());
        b->router = zsock_new(ZMQ_ROUTER);
        if (b->router && zsock_bind(b->router, "%s", b->ep) < 0)
            zsock_destroy(&b->router);
    }
    if (b->router)
        zsock_set_linger(b->router, 0);
    return b->router != NULL;
}

void
swbt_fb_stop(swbt_fb_t *b)
{
    zframe_destroy(&b->peer);
    zsock_destroy(&b->router);
}

void
swbt_fb_send(swbt_fb_t *b, const swb_msg_t *m)
{
    void *buf;
    size_t len;
    if (!b->peer || swb_msg_encode(m, &buf, &len) != SWB_OK)
        return;
    zmsg_t *z = zmsg_new();
    zmsg_append(z, &(zframe_t *){zframe_dup(b->peer)});
    zmsg_addmem(z, buf, len);
    free(buf);
    zmsg_send(&z, b->router);
}

void
swbt_fb_send_type(swbt_fb_t *b, swb_msg_type_t type)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    swbt_fb_send(b, &m);
}

void
swbt_fb_lease(swbt_fb_t *b, swb_msg_type_t type, uint64_t id, uint64_t lease)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.u.lease.id = id;
    m.u.lease.lease = lease;
    swbt_fb_send(b, &m);
}

void
swbt_fb_welcome(swbt_fb_t *b)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = SWB_MSG_WELCOME;
    m.u.welcome.heartbeat = SWBT_FB_HB;
    m.u.welcome.lease = 10000;
    m.u.welcome.region = "test";
    swbt_fb_send(b, &m);
}

void
swbt_fb_state(swbt_fb_t *b, const char *state, const char *reason)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = SWB_MSG_STATE;
    m.u.state.state = (char *)state;
    m.u.state.reason = (char *)reason;
    swbt_fb_send(b, &m);
}

void
swbt_fb_error(swbt_fb_t *b, uint64_t id, const char *code, const char *field,
              const char *message)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = SWB_MSG_ERROR;
    m.u.error.id = id;
    m.u.error.code = (char *)code;
    m.u.error.field = (char *)field;
    m.u.error.message = (char *)message;
    swbt_fb_send(b, &m);
}

bool
swbt_fb_recv(swbt_fb_t *b, swb_msg_t *m, int ms)
{
    int64_t end = swbt_now_ms() + ms;
    for (;;) {
        int64_t now = swbt_now_ms();
        if (!b->silent && b->peer && now - b->last_hb >= SWBT_FB_HB / 2) {
            swbt_fb_send_type(b, SWB_MSG_HEARTBEAT);
            b->last_hb = now;
        }
        if (now >= end)
            return false;
        zsock_set_rcvtimeo(b->router, (int)(end - now < 50 ? end - now : 50));
        zmsg_t *z = zmsg_recv(b->router);
        if (!z)
            continue;
        zframe_t *from = zmsg_pop(z);
        zframe_t *body = zmsg_pop(z);
        swb_decode_err_t de;
        bool ok = from && body &&
                  swb_msg_decode(zframe_data(body), zframe_size(body), m,
                                 &de) == SWB_OK;
        zframe_destroy(&body);
        zmsg_destroy(&z);
        if (!ok) {
            fprintf(stderr, "  fake broker: undecodable frame\n");
            zframe_destroy(&from);
            continue;
        }
        if (m->type == SWB_MSG_HELLO) {
            zframe_destroy(&b->peer);
            b->peer = from;
        } else {
            zframe_destroy(&from);
        }
        return true;
    }
}

bool
swbt_fb_expect(swbt_fb_t *b, swb_msg_type_t type, int ms, swb_msg_t *m)
{
    int64_t end = swbt_now_ms() + ms;
    for (;;) {
        int64_t left = end - swbt_now_ms();
        if (left <= 0 || !swbt_fb_recv(b, m, (int)left))
            return false;
        if (m->type == type)
            return true;
        swb_msg_clear(m);
    }
}

void
swbt_fb_idle(swbt_fb_t *b, int ms)
{
    swb_msg_t m;
    int64_t end = swbt_now_ms() + ms;
    while (swbt_now_ms() < end)
        if (swbt_fb_recv(b, &m, (int)(end - swbt_now_ms())))
            swb_msg_clear(&m);
}

void
swbt_fb_offer_ex(swbt_fb_t *b, uint64_t id, uint64_t lease,
                 const char *channel, const void *payload, size_t len,
                 uint64_t ring)
{
    swb_task_spec_t spec;
    swb_task_t t;
    swb_msg_t m;
    memset(&spec, 0, sizeof spec);
    memset(&t, 0, sizeof t);
    memset(&m, 0, sizeof m);
    spec.channel = (char *)channel;
    spec.sponsor = "acme";
    swb_levels_add(&spec.lang, "en", 4);
    swb_levels_add(&spec.skills, "banking", 3);
    spec.priority = 7;
    spec.deadline = 1900000000000ull;
    swb_strs_add(&spec.sites, "s1");
    spec.window = "09:00-17:00";
    spec.tz = "Europe/Paris";
    spec.payload.data = (uint8_t *)(uintptr_t)payload;
    spec.payload.len = len;
    t.id = id;
    t.state = ring ? "offered" : "active";
    t.attempt = 2;
    t.lease = lease;
    t.spec = &spec;
    m.type = SWB_MSG_OFFER;
    m.u.offer.task = &t;
    m.u.offer.ring = ring;
    swbt_fb_send(b, &m);
    free(spec.lang.v[0].name);
    free(spec.lang.v);
    free(spec.skills.v[0].name);
    free(spec.skills.v);
    free(spec.sites.v[0]);
    free(spec.sites.v);
}

void
swbt_fb_offer(swbt_fb_t *b, uint64_t id, uint64_t lease, const void *payload,
              size_t len)
{
    swbt_fb_offer_ex(b, id, lease, "email", payload, len, 0);
}

void
swbt_fb_offer_str(swbt_fb_t *b, uint64_t id, uint64_t lease,
                  const char *payload)
{
    swbt_fb_offer(b, id, lease, payload, strlen(payload));
}
