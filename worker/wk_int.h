/*
 * wk_int.h - the inside of libswitchboard's worker session, shared by
 * its three files (not installed, not API):
 *
 *   swb_worker.c  the public functions of swb_worker.h
 *   wsession.c    the connection: HELLO / WELCOME, heartbeats, silence
 *                 detection and reconnect with backoff, reading frames and
 *                 dispatching them
 *   wtasks.c      what the session holds: offered tasks (held), answers
 *                 waiting for their ACK (pending), events for the caller,
 *                 and the handlers of OFFER / REVOKE / ACK / task ERROR /
 *                 STATE
 *
 * Every function here is hidden from the shared library's exports.
 * A worker belongs to one thread; nothing here locks.
 */
#ifndef SWB_WK_INT_H
#define SWB_WK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#include "swb_worker.h"

#define SWB_WK_HIDDEN __attribute__((visibility("hidden")))

#define WK_HB_DEFAULT 1000 /* ms, until a WELCOME says otherwise */
#define WK_HB_MIN 10       /* ms, floor for a broker's heartbeat */
#define WK_MISSED 3        /* silent heartbeat periods = broker gone */
#define WK_BACKOFF_MIN 100 /* ms */
#define WK_BACKOFF_MAX 5000
#define WK_MAX_HOLDING 1000 /* the HELLO schema's limit */
#define WK_STATE_MAX 16     /* the STATE schema's limit on `state` */
#define WK_RING_GRACE 2000  /* ms past its ring time an unanswered offer
                               is dropped here if no REVOKE came */

/* A task offered to us and not yet answered. */
typedef struct wk_held {
    uint64_t id;
    uint64_t lease;
    bool ringing;        /* offered with ring > 0 and no ACCEPT sent yet */
    uint64_t ring_until; /* mono ms the ring ends (while ringing) */
} wk_held_t;

/* An answer waiting for its ACK, kept encoded for re-sending. */
typedef struct wk_pending {
    swb_msg_type_t type; /* DONE, FAIL, RELEASE, ACCEPT or REJECT */
    uint64_t id;
    uint64_t lease;
    void *frame; /* owned */
    size_t len;
    uint64_t sent_at; /* mono ms of the last send, 0 = never */
} wk_pending_t;

/* Something for the caller, handed out by swb_worker_next in order. */
typedef struct wk_event {
    struct wk_event *next;
    swb_wevent_type_t type;
    swb_task_t *offer; /* OFFER: owned here until handed out */
    uint64_t id;
    uint64_t ring;
    bool ringing;
    char state[WK_STATE_MAX + 1];
    char reason[SWB_MAX_NAME + 1]; /* "" = none */
} wk_event_t;

struct swb_worker {
    char *endpoint;
    swb_m_hello_t profile; /* deep copy; holding empty, state unused */
    zsock_t *sock;         /* NULL only if a re-open failed */
    bool welcomed;
    bool closing; /* inside swb_worker_destroy */
    uint64_t hb_ms;
    uint64_t lease_ms;
    uint64_t last_rx;    /* mono ms of the last frame from the broker */
    uint64_t last_hb;    /* mono ms of the last HEARTBEAT sent */
    uint64_t last_hello; /* mono ms of the last HELLO sent */
    uint64_t connect_at; /* mono ms to (re)connect at; 0 = connected */
    uint64_t backoff;
    wk_held_t *held; /* offered, not yet answered */
    size_t nheld;
    size_t capheld;
    wk_pending_t *pend;
    size_t npend;
    size_t cappend;
    wk_event_t *ev_head;
    wk_event_t *ev_tail;
    int state;                     /* swb_agent_state_t, ours or broker's */
    char reason[SWB_MAX_NAME + 1]; /* its reason code, "" = none */
    bool state_unsent;             /* set while not welcomed: tell it */
    char ev_state[WK_STATE_MAX + 1];     /* the last STATE event handed */
    char ev_reason[SWB_MAX_NAME + 1];    /* out (borrowed by the caller) */
    swb_err_t fatal; /* SWB_OK, or the error every poll now returns */
    char last_error[640];
    bool secure; /* CURVE with keys on every socket */
    swb_curve_t keys;
};

/* ---- wsession.c ---- */

SWB_WK_HIDDEN void swb_wk_set_error(swb_worker_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sends one frame without blocking; false when the session is down or
 * the queue is full (pending answers are re-sent anyway). */
SWB_WK_HIDDEN bool swb_wk_send_frame(swb_worker_t *w, const void *buf,
                                     size_t len);
SWB_WK_HIDDEN bool swb_wk_send_msg(swb_worker_t *w, const swb_msg_t *m);
SWB_WK_HIDDEN void swb_wk_send_empty(swb_worker_t *w, swb_msg_type_t type);
/* STATE {state, reason} with the agent state as we know it now (only
 * ready, not-ready and break can be sent; clears state_unsent). */
SWB_WK_HIDDEN void swb_wk_send_state(swb_worker_t *w);
/* HELLO with the profile, the agent state and what we still hold. */
SWB_WK_HIDDEN void swb_wk_send_hello(swb_worker_t *w, uint64_t now);
/* A fresh DEALER socket (linger 0). SWB_ESYS when zmq cannot make one. */
SWB_WK_HIDDEN swb_err_t swb_wk_open(swb_worker_t *w);
/* Connects the socket and says HELLO (on failure retries after backoff). */
SWB_WK_HIDDEN void swb_wk_connect(swb_worker_t *w, uint64_t now);
/* Reads and handles one frame if there is one; true if it did. */
SWB_WK_HIDDEN bool swb_wk_recv_one(swb_worker_t *w, uint64_t now);
/* Heartbeats, silence detection, reconnects, re-sends. */
SWB_WK_HIDDEN void swb_wk_tick(swb_worker_t *w, uint64_t now);
/* Milliseconds until swb_wk_tick has something to do. */
SWB_WK_HIDDEN uint64_t swb_wk_next_due(const swb_worker_t *w, uint64_t now);

/* ---- wtasks.c ---- */

/* Index of held task id, or -1. */
SWB_WK_HIDDEN long swb_wk_held_find(const swb_worker_t *w, uint64_t id);
SWB_WK_HIDDEN void swb_wk_held_remove(swb_worker_t *w, long i);
/* Queues the answer m about (id, lease) (fields only read) and sends it
 * now when the session is up. SWB_ENOMEM, or the encoder's error. */
SWB_WK_HIDDEN swb_err_t swb_wk_pend_add(swb_worker_t *w, const swb_msg_t *m,
                                        uint64_t id, uint64_t lease);
/* Removes pending answers for id of `type` (SWB_MSG_COUNT = any type)
 * and lease (0 = any); true when one was removed. */
SWB_WK_HIDDEN bool swb_wk_pend_drop(swb_worker_t *w, uint64_t id,
                                    uint64_t lease, swb_msg_type_t type);
SWB_WK_HIDDEN void swb_wk_pend_clear(swb_worker_t *w);
/* Re-sends pending answers: all of them, or those due (one heartbeat
 * period after their last send). */
SWB_WK_HIDDEN void swb_wk_resend(swb_worker_t *w, uint64_t now, bool all);
/* Queues a message of just id + lease (RELEASE, ACCEPT). */
SWB_WK_HIDDEN swb_err_t swb_wk_queue_lease_msg(swb_worker_t *w,
                                               swb_msg_type_t type,
                                               uint64_t id, uint64_t lease);
/* Drops ringing offers WK_RING_GRACE ms past their ring time (the
 * broker's ring started earlier and is surely over), reporting each as
 * a REVOKE event; returns the ms until the next one is due (UINT64_MAX
 * when none rings). */
SWB_WK_HIDDEN uint64_t swb_wk_ring_out(swb_worker_t *w, uint64_t now);
/* The oldest event (caller frees it), or NULL. */
SWB_WK_HIDDEN wk_event_t *swb_wk_event_pop(swb_worker_t *w);
/* Frees every queued event (offers in them stay in held). */
SWB_WK_HIDDEN void swb_wk_events_clear(swb_worker_t *w);

/* Frame handlers; m's owned parts may be taken (set NULL). */
SWB_WK_HIDDEN void swb_wk_on_offer(swb_worker_t *w, swb_msg_t *m,
                                   uint64_t now);
SWB_WK_HIDDEN void swb_wk_on_revoke(swb_worker_t *w,
                                    const swb_m_lease_t *r);
SWB_WK_HIDDEN void swb_wk_on_ack(swb_worker_t *w, const swb_m_lease_t *a);
SWB_WK_HIDDEN void swb_wk_on_task_error(swb_worker_t *w,
                                        const swb_m_error_t *e);
SWB_WK_HIDDEN void swb_wk_on_state(swb_worker_t *w, const swb_m_state_t *s);

#endif
