/*
 * heap.h - indexed min-heaps of pointers, in two flavours.
 *
 * "Indexed" means every item knows its position (through a pointer to a
 * size_t slot inside the item, given by the `pos` callback), so any item
 * can be removed or re-sorted in O(log n), not only the top. The heaps
 * borrow their items; they never free them.
 *
 *  - swb_heap_t: a binary heap ordered by a comparison callback on the
 *    items (timers, held-back tasks). Simple; every comparison reads the
 *    items themselves.
 *  - swb_kheap_t: a 4-ary heap whose entries carry their sort key inline,
 *    a tuple of up to SWB_KHEAP_KEYS unsigned 64-bit words compared in
 *    order. Sifting reads only the heap's own array (and writes the moved
 *    items' position slots), so it stays cheap when the items are cold in
 *    memory; the router keeps its waiting tasks in these. To sort a word
 *    high first, store UINT64_MAX - x.
 */
#ifndef SWB_HEAP_H
#define SWB_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- keyed heap ---- */

#define SWB_KHEAP_KEYS 4 /* most key words per entry */

typedef struct swb_kheap {
    uint64_t *v;     /* n entries of nkeys + 1 words: the key, the item */
    size_t n, cap;
    unsigned nkeys;  /* 1 .. SWB_KHEAP_KEYS                              */
    swb_heap_pos_fn pos;
} swb_kheap_t;

/* Initialises an empty heap of nkeys-word keys (asserts 1..SWB_KHEAP_KEYS;
 * no allocation until the first push). */
void swb_kheap_init(swb_kheap_t *h, unsigned nkeys, swb_heap_pos_fn pos);
/* Frees the array (not the items) and marks every item as outside. */
void swb_kheap_fini(swb_kheap_t *h);

/* Adds an item whose position is SWB_HEAP_NONE under key (nkeys words,
 * copied). SWB_ENOMEM on failure (nothing changed). */
swb_err_t swb_kheap_push(swb_kheap_t *h, void *item, const uint64_t *key);
/* The first item, or NULL when empty. Borrowed. */
void *swb_kheap_top(const swb_kheap_t *h);
/* The first item's key (nkeys words), or NULL when empty. Valid until
 * the heap next changes. */
const uint64_t *swb_kheap_top_key(const swb_kheap_t *h);
/* The key of an item in this heap, or NULL when it is not in it. Valid
 * until the heap next changes. */
const uint64_t *swb_kheap_key(const swb_kheap_t *h, void *item);
/* Removes the item if it is in this heap. */
void swb_kheap_remove(swb_kheap_t *h, void *item);
/* Gives an item in this heap a new key and restores order. */
void swb_kheap_update(swb_kheap_t *h, void *item, const uint64_t *key);
/* True when the item sits in this heap. */
bool swb_kheap_has(const swb_kheap_t *h, void *item);

#endif
