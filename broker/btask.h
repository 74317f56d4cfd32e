/*
 * btask.h - a task as the broker holds it in memory while it is not
 * final: the durable record (swb_task_t, what the store keeps) plus the
 * links that place it in the queue, the leased list and its holder.
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

typedef struct swb_btask {
    swb_task_t rec;       /* durable record (owned), rec.spec != NULL   */
    int state;            /* swb_state_t, same as rec.state             */
    int channel;          /* swb_channel_t of rec.spec->channel         */
    uint64_t lease_until; /* monotonic ms the lease runs out; 0 = none  */
    struct swb_session *holder; /* session running it (borrowed)        */
    void *qhandle;        /* handle in the queue (queue.c)              */
    int qlist;            /* which queue list holds it; -1 = none       */
    void *lhandle;        /* handle in the broker's leased list         */
    void *hhandle;        /* handle in the holder's list                */
    bool dirty;           /* changed since the last commit              */
    swb_bytes_t result;   /* result, kept until the task leaves memory  */
} swb_btask_t;

/* A new queued task with id, taking ownership of *spec (set to NULL).
 * NULL when out of memory. */
swb_btask_t *swb_btask_new(uint64_t id, swb_task_spec_t **spec,
                           uint64_t now_wall);

/* A task rebuilt from a stored record (decoded; not copied). Takes
 * ownership of *rec's contents and zeroes it. NULL on a record that does
 * not make sense (unknown state or channel). */
swb_btask_t *swb_btask_from_record(swb_task_t *rec);

/* Frees the task and what it owns; sets *t NULL. NULL-safe. The caller
 * has already unlinked it from queue, lists and holder. */
void swb_btask_destroy(swb_btask_t **t);

/* Sets state (record and field) and the updated time. */
void swb_btask_set_state(swb_btask_t *t, int state, uint64_t now_wall);

/* Replaces a string field of the record (reason, agent, site) with a copy
 * of val (NULL clears). SWB_ENOMEM on failure. */
swb_err_t swb_btask_set_str(char **field, const char *val);

#endif
