/*
 * heap.h - an indexed binary min-heap of pointers.
 *
 * The router keeps waiting tasks and timers in these heaps. "Indexed"
 * means every item knows its position (through a pointer to a size_t
 * slot inside the item, given by the `pos` callback), so any item can be
 * removed or re-sorted in O(log n), not only the top. The heap borrows
 * its items; it never frees them.
 */
#ifndef SWB_HEAP_H
#define SWB_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#include "swb_error.h"

/* Position of an item outside any heap. */
#define SWB_HEAP_NONE ((size_t)-1)

/* Negative when a must come out before b. */
typedef int (*swb_heap_cmp_fn)(const void *a, const void *b);
/* The item's position slot (a size_t the heap keeps current). */
typedef size_t *(*swb_heap_pos_fn)(void *item);

typedef struct swb_heap {
    void **v;
    size_t n, cap;
    swb_heap_cmp_fn cmp;
    swb_heap_pos_fn pos;
} swb_heap_t;

/* Initialises an empty heap (no allocation until the first push). */
void swb_heap_init(swb_heap_t *h, swb_heap_cmp_fn cmp, swb_heap_pos_fn pos);
/* Frees the array (not the items). */
void swb_heap_fini(swb_heap_t *h);

/* Adds an item whose position is SWB_HEAP_NONE. SWB_ENOMEM on failure. */
swb_err_t swb_heap_push(swb_heap_t *h, void *item);
/* The first item, or NULL when empty. Borrowed. */
void *swb_heap_top(const swb_heap_t *h);
/* Removes and returns the first item, or NULL. */
void *swb_heap_pop(swb_heap_t *h);
/* Removes the item if it is in this heap (its position says so). */
void swb_heap_remove(swb_heap_t *h, void *item);
/* Restores order after the item's key changed. */
void swb_heap_update(swb_heap_t *h, void *item);
/* True when the item sits in this heap. */
bool swb_heap_has(const swb_heap_t *h, void *item);

#endif
