/*
 * session.h - one connected worker (an agent machine) as the broker sees
 * it: its routing id on the worker socket, the profile from its HELLO,
 * the tasks it holds and the capacity it has left.
 *
 * Capacity rules of the foundation: a voice task occupies the agent
 * wholly (it is taken only when the agent holds nothing); non-voice work
 * runs up to the per-channel capacity from the profile (default 1) and
 * never beside a call. Who may take what is the router's business
 * (router.h); a session only counts what it holds.
 */
#ifndef SWB_SESSION_H
#define SWB_SESSION_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "btask.h"
#include "config.h"
#include "swb_domain.h"

#define SWB_RID_MAX 255

struct swb_aclass;

typedef struct swb_session {
    uint8_t rid[SWB_RID_MAX]; /* ZeroMQ routing id of the worker      */
    size_t rid_len;
    char key[2 * SWB_RID_MAX + 1]; /* rid in hex: the table key         */
    swb_m_hello_t profile;    /* owned                                */
    const swb_site_def_t *site; /* borrowed from config, may be NULL  */
    uint64_t last_seen;       /* monotonic ms of its last message     */
    zlistx_t *held;           /* swb_btask_t it holds (borrowed)      */
    unsigned held_ch[SWB_CH_COUNT];
    unsigned cap_ch[SWB_CH_COUNT];
    unsigned held_voice;
    struct swb_aclass *aclass; /* capability class (router.c)         */
    void *idle_h[SWB_CH_COUNT]; /* non-NULL while in the class's idle
                                   list for that channel (router.c)   */
    uint64_t idle_since;      /* unix ms it last became free           */
    uint32_t idle_busy;       /* bit ch: that idle list is the one of
                                 agents holding work (router.c)       */
    uint32_t agent_hash;      /* hash of profile.agent (router.c)      */
    struct swb_idle_link {    /* neighbours in those lists (router.c) */
        struct swb_session *prev, *next;
    } idle_link[SWB_CH_COUNT];
    int state;                /* swb_agent_state_t                     */
    char *state_reason;       /* reason code of not-ready, or NULL     */
    uint64_t state_since;     /* unix ms                               */
    uint64_t wrapup_until;    /* monotonic ms wrap-up ends, 0 = none   */
    unsigned missed;          /* offers missed or rejected in a row    */
    bool explicit_accept;     /* non-voice offers wait for ACCEPT too  */
    void *freed_h;            /* handle in the broker's freed list     */
} swb_session_t;

/* Writes the hex table key of a routing id into key (2*len+1 bytes). */
void swb_session_key(const uint8_t *rid, size_t len, char *key);

/* A session for rid with the profile (takes ownership of *profile's
 * contents and zeroes it). NULL when out of memory or rid too long. */
swb_session_t *swb_session_new(const uint8_t *rid, size_t len,
                               swb_m_hello_t *profile,
                               const swb_site_def_t *site, uint64_t now);
/* Frees the session; the caller has released its tasks. NULL-safe. */
void swb_session_destroy(swb_session_t **s);

/* True when the session serves channel ch and has room for one more. */
bool swb_session_can_take(const swb_session_t *s, int ch);
/* True when the session has room for anything at all. */
bool swb_session_has_room(const swb_session_t *s);

/* Links t to the session (t->holder, counts). */
void swb_session_hold(swb_session_t *s, swb_btask_t *t);
/* Unlinks t from its holder, if any. */
void swb_session_unhold(swb_btask_t *t);

#endif
