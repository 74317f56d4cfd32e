/*
 * btask.h - a task as the broker holds it in memory while it is not
 * final: the durable record (swb_task_t, what the store keeps) plus the
 * links that place it in the router, the held set, the leased list and
 * its holder.
 *
 * The record is the truth that goes to disk; the other fields are
 * rebuilt from it on start. A btask is owned by the broker's task table
 * (broker_int.h) and freed with swb_btask_destroy.
 */
#ifndef SWB_BTASK_H
#define SWB_BTASK_H

#include <stdbool.h>
#include <stdint.h>

#include "swb_msg.h"

struct swb_session;
struct swb_tclass;

typedef struct swb_btask {
    swb_task_t rec;       /* durable record (owned), rec.spec != NULL   */
    int state;            /* swb_state_t, same as rec.state             */
    int channel;          /* swb_channel_t of rec.spec->channel         */
    uint64_t lease_until; /* monotonic ms the lease runs out; 0 = none  */
    struct swb_session *holder; /* session running it (borrowed)        */
    void *lhandle;        /* handle in the broker's leased list         */
    void *hhandle;        /* handle in the holder's list                */
    bool dirty;           /* changed since the last commit              */
    struct swb_tclass *tclass; /* requirement class (router.c)          */
    size_t prio_pos;      /* position in the class's priority heap      */
    size_t age_pos;       /* position in the class's age heap           */
    size_t held_pos;      /* position in the held-back heap (held.c)    */
    size_t due_pos;       /* position in the broker's due heap          */
    uint64_t due_at;      /* unix ms of its next deadline / abandon     */
    swb_strs_t refused;   /* agents who rejected or missed its offer    */
    swb_bytes_t result;   /* result, kept until the task leaves memory  */
    /* regions (handoff.c) */
    bool foreign;         /* handed over by another region (rec.region) */
    int hand;             /* swb_hand_t of rec.hand                     */
    void *flist;          /* the hand-off list it is in (a zlistx_t)    */
    void *fhandle;        /* its handle there                            */
    uint64_t hand_sent;   /* monotonic ms its last hand-off message went */
    uint64_t no_forward_until; /* monotonic ms: a peer refused it        */
} swb_btask_t;

/* A new queued task with id, taking ownership of *spec (set to NULL).
 * NULL when out of memory. */
swb_btask_t *swb_btask_new(uint64_t id, swb_task_spec_t **spec,
                           uint64_t now_wall);

/* A task rebuilt from a stored record (decoded; not copied). Takes
 * ownership of *rec's contents and zeroes it. NULL on a record that does
 * not make sense (unknown state or channel). */
swb_btask_t *swb_btask_from_record(swb_task_t *rec);

/* The idempotency key of a spec as the keys database stores it,
 * "sponsor\nkey" (malloc'd, caller frees), or NULL without a key or
 * memory. */
char *swb_btask_idem_key(const swb_task_spec_t *sp);

/* Marks the task as in no heap (positions SWB_HEAP_NONE). */
void swb_btask_init_links(swb_btask_t *t);

/* Frees the task and what it owns; sets *t NULL. NULL-safe. The caller
 * has already unlinked it from queue, lists and holder. */
void swb_btask_destroy(swb_btask_t **t);

/* Sets state (record and field) and the updated time. */
void swb_btask_set_state(swb_btask_t *t, int state, uint64_t now_wall);

/* Sets the hand-off phase (field and record). */
void swb_btask_set_hand(swb_btask_t *t, int hand);

/* Replaces a string field of the record (reason, agent, site) with a copy
 * of val (NULL clears). SWB_ENOMEM on failure. */
swb_err_t swb_btask_set_str(char **field, const char *val);

#endif
