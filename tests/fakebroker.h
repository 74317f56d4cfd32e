/*
 * fakebroker.h - a fake broker inside a test process, for testing the real
 * `switchboard-worker` (test_worker_exec.c, test_console.c).
 *
 * A czmq ROUTER bound on an ephemeral 127.0.0.1 port that speaks the
 * worker protocol frame by frame (proto/swb_msg.h): the test sends
 * WELCOME / OFFER / REVOKE / ACK / STATE / ERROR and checks what the
 * worker says. While a test waits in swbt_fb_recv (and the helpers built
 * on it) the fake broker heartbeats every SWBT_FB_HB / 2 ms unless told
 * to go silent. The latest HELLO's sender is the peer everything goes to.
 */
#ifndef SWBT_FAKEBROKER_H
#define SWBT_FAKEBROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#include "swb_msg.h"

#define SWBT_FB_HB 250 /* ms: the heartbeat WELCOME asks for */

typedef struct swbt_fb {
    zsock_t *router;
    char ep[64];     /* tcp://127.0.0.1:PORT */
    zframe_t *peer;  /* routing id of the latest HELLO */
    bool silent;     /* no heartbeats */
    int64_t last_hb;
} swbt_fb_t;

/* Binds on a free port; false when it could not. */
bool swbt_fb_start(swbt_fb_t *b);
void swbt_fb_stop(swbt_fb_t *b);

/* Sends m to the peer (nothing before the first HELLO). */
void swbt_fb_send(swbt_fb_t *b, const swb_msg_t *m);
/* A message without fields (HEARTBEAT, BYE). */
void swbt_fb_send_type(swbt_fb_t *b, swb_msg_type_t type);
/* ACK, REVOKE, ... of {id, lease}. */
void swbt_fb_lease(swbt_fb_t *b, swb_msg_type_t type, uint64_t id,
                   uint64_t lease);
/* WELCOME with heartbeat SWBT_FB_HB and a 10 s lease. */
void swbt_fb_welcome(swbt_fb_t *b);
/* STATE {state, reason (may be NULL)}. */
void swbt_fb_state(swbt_fb_t *b, const char *state, const char *reason);
/* ERROR {id, code, field (may be NULL), message}. */
void swbt_fb_error(swbt_fb_t *b, uint64_t id, const char *code,
                   const char *field, const char *message);

/* OFFER of task id / lease on `channel` for sponsor acme (attempt 2,
 * requirements filled in) with the payload, ringing `ring` ms (0 =
 * assigned). */
void swbt_fb_offer_ex(swbt_fb_t *b, uint64_t id, uint64_t lease,
                      const char *channel, const void *payload, size_t len,
                      uint64_t ring);
/* An assigned email offer. */
void swbt_fb_offer(swbt_fb_t *b, uint64_t id, uint64_t lease,
                   const void *payload, size_t len);
void swbt_fb_offer_str(swbt_fb_t *b, uint64_t id, uint64_t lease,
                       const char *payload);

/* Receives one message within ms into *m (caller clears it), heartbeating
 * meanwhile unless silent. A HELLO makes its sender the peer. */
bool swbt_fb_recv(swbt_fb_t *b, swb_msg_t *m, int ms);
/* Waits for a message of `type` (others are skipped) within ms. */
bool swbt_fb_expect(swbt_fb_t *b, swb_msg_type_t type, int ms, swb_msg_t *m);
/* Keeps the session alive for ms, skipping whatever comes. */
void swbt_fb_idle(swbt_fb_t *b, int ms);

#endif
