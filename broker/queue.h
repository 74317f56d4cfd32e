/*
 * queue.h - the waiting work of one broker: per channel, the tasks ready
 * to be offered in order (priority high first, then oldest id first), and
 * one list of tasks held back until a time (retry backoff, not-before),
 * earliest first.
 *
 * This is the foundation's matcher: swb_queue_find walks one channel's
 * ready list in order and returns the first task a predicate accepts.
 * The router issue replaces the walk with capability-class indexes.
 * The queue borrows the tasks; it never frees them.
 */
#ifndef SWB_QUEUE_H
#define SWB_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "btask.h"

typedef struct swb_queue swb_queue_t;

/* NULL when out of memory. */
swb_queue_t *swb_queue_new(void);
/* Frees the queue (not the tasks); sets *q NULL. NULL-safe. */
void swb_queue_destroy(swb_queue_t **q);

/* Places t: ready when t->rec.ready_at <= now_wall, else held back.
 * t must not be in the queue. SWB_ENOMEM on failure. */
swb_err_t swb_queue_add(swb_queue_t *q, swb_btask_t *t, uint64_t now_wall);
/* Takes t out of the queue if it is in it. */
void swb_queue_remove(swb_queue_t *q, swb_btask_t *t);
/* Moves held-back tasks whose time has come to the ready lists; returns
 * how many moved. */
size_t swb_queue_promote(swb_queue_t *q, uint64_t now_wall);

typedef bool (*swb_queue_pred_fn)(const swb_btask_t *t, void *arg);
/* First ready task of channel ch that pred accepts, or NULL. */
swb_btask_t *swb_queue_find(swb_queue_t *q, int ch, swb_queue_pred_fn pred,
                            void *arg);
/* Ready tasks of channel ch; held-back tasks of all channels. */
size_t swb_queue_ready(const swb_queue_t *q, int ch);
size_t swb_queue_held(const swb_queue_t *q);

#endif
