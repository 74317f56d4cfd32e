/*
 * held.h - tasks held back until a time: retry backoff, --not-before,
 * and outbound calls whose calling window is closed. Earliest first, in
 * an indexed heap, so taking a task out (cancel) is O(log n).
 * The held set borrows the tasks; it never frees them.
 */
#ifndef SWB_HELD_H
#define SWB_HELD_H

#include <stddef.h>
#include <stdint.h>

#include "btask.h"
#include "heap.h"

typedef struct swb_held {
    swb_heap_t heap;
} swb_held_t;

void swb_held_init(swb_held_t *h);
void swb_held_fini(swb_held_t *h);
/* Holds t until t->rec.ready_at. SWB_ENOMEM on failure. */
swb_err_t swb_held_add(swb_held_t *h, swb_btask_t *t);
/* Takes t out if it is held. */
void swb_held_remove(swb_held_t *h, swb_btask_t *t);
/* The earliest task whose time has come (ready_at <= now_wall), taken
 * out; NULL when none. */
swb_btask_t *swb_held_due(swb_held_t *h, uint64_t now_wall);
size_t swb_held_count(const swb_held_t *h);

#endif
