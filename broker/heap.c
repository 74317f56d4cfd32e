/*
 * heap.c - indexed min-heaps: the binary heap with a comparison callback
 * and the 4-ary heap with inline keys (see heap.h).
 */
#include "heap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void
swb_heap_init(swb_heap_t *h, swb_heap_cmp_fn cmp, swb_heap_pos_fn pos)
{
    h->v = NULL;
    h->n = h->cap = 0;
    h->cmp = cmp;
    h->pos = pos;
}

void
swb_heap_fini(swb_heap_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        *h->pos(h->v[i]) = SWB_HEAP_NONE;
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

static void
place(swb_heap_t *h, size_t i, void *item)
{
    h->v[i] = item;
    *h->pos(item) = i;
}

static void
sift_up(swb_heap_t *h, size_t i)
{
    void *item = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->cmp(item, h->v[parent]) >= 0)
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, item);
}

static void
sift_down(swb_heap_t *h, size_t i)
{
    void *item = h->v[i];
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        void *bv = item;
        if (l < h->n && h->cmp(h->v[l], bv) < 0) {
            best = l;
            bv = h->v[l];
        }
        if (l + 1 < h->n && h->cmp(h->v[l + 1], bv) < 0) {
            best = l + 1;
            bv = h->v[l + 1];
        }
        if (best == i)
            break;
        place(h, i, bv);
        i = best;
    }
    place(h, i, item);
}

swb_err_t
swb_heap_push(swb_heap_t *h, void *item)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        void **nv = realloc(h->v, cap * sizeof *nv);
        if (!nv)
            return SWB_ENOMEM;
        h->v = nv;
        h->cap = cap;
    }
    place(h, h->n, item);
    h->n++;
    sift_up(h, h->n - 1);
    return SWB_OK;
}

void *
swb_heap_top(const swb_heap_t *h)
{
    return h->n ? h->v[0] : NULL;
}

bool
swb_heap_has(const swb_heap_t *h, void *item)
{
    size_t i = *h->pos(item);
    return i < h->n && h->v[i] == item;
}

void
swb_heap_remove(swb_heap_t *h, void *item)
{
    if (!swb_heap_has(h, item))
        return;
    size_t i = *h->pos(item);
    *h->pos(item) = SWB_HEAP_NONE;
    h->n--;
    if (i == h->n)
        return;
    void *moved = h->v[h->n];
    place(h, i, moved);
    sift_down(h, i);
    sift_up(h, *h->pos(moved));
}

void *
swb_heap_pop(swb_heap_t *h)
{
    void *top = swb_heap_top(h);
    if (top)
        swb_heap_remove(h, top);
    return top;
}

void
swb_heap_update(swb_heap_t *h, void *item)
{
    if (!swb_heap_has(h, item))
        return;
    size_t i = *h->pos(item);
    sift_up(h, i);
    sift_down(h, *h->pos(item));
}

/* ---- keyed heap ---- */

#define KH_D 4 /* children per node: half the depth of a binary heap */

typedef struct kh_entry {
    uint64_t w[SWB_KHEAP_KEYS + 1]; /* key words, then the item */
} kh_entry_t;

static size_t
kh_stride(const swb_kheap_t *h)
{
    return h->nkeys + 1;
}

static uint64_t *
kh_at(const swb_kheap_t *h, size_t i)
{
    return h->v + i * kh_stride(h);
}

static void *
kh_item(const swb_kheap_t *h, const uint64_t *e)
{
    return (void *)(uintptr_t)e[h->nkeys];
}

static bool
kh_less(const swb_kheap_t *h, const uint64_t *a, const uint64_t *b)
{
    for (unsigned k = 0; k < h->nkeys; k++)
        if (a[k] != b[k])
            return a[k] < b[k];
    return false;
}

static void
kh_place(swb_kheap_t *h, size_t i, const uint64_t *e)
{
    memcpy(kh_at(h, i), e, kh_stride(h) * sizeof *e);
    *h->pos(kh_item(h, e)) = i;
}

/* Moves entry e (not in the array) up from hole i to its place. */
static void
kh_sift_up(swb_kheap_t *h, size_t i, const uint64_t *e)
{
    while (i > 0) {
        size_t parent = (i - 1) / KH_D;
        const uint64_t *p = kh_at(h, parent);
        if (!kh_less(h, e, p))
            break;
        kh_place(h, i, p);
        i = parent;
    }
    kh_place(h, i, e);
}

/* Moves entry e (not in the array) down from hole i to its place. */
static void
kh_sift_down(swb_kheap_t *h, size_t i, const uint64_t *e)
{
    for (;;) {
        size_t first = KH_D * i + 1;
        if (first >= h->n)
            break;
        size_t last = first + KH_D < h->n ? first + KH_D : h->n;
        size_t best = first;
        const uint64_t *bv = kh_at(h, first);
        for (size_t c = first + 1; c < last; c++) {
            const uint64_t *cv = kh_at(h, c);
            if (kh_less(h, cv, bv)) {
                best = c;
                bv = cv;
            }
        }
        if (!kh_less(h, bv, e))
            break;
        kh_place(h, i, bv);
        i = best;
    }
    kh_place(h, i, e);
}

/* Puts entry e into hole i, up or down as its key says. */
static void
kh_settle(swb_kheap_t *h, size_t i, const uint64_t *e)
{
    if (i > 0 && kh_less(h, e, kh_at(h, (i - 1) / KH_D)))
        kh_sift_up(h, i, e);
    else
        kh_sift_down(h, i, e);
}

void
swb_kheap_init(swb_kheap_t *h, unsigned nkeys, swb_heap_pos_fn pos)
{
    assert(nkeys >= 1 && nkeys <= SWB_KHEAP_KEYS);
    h->v = NULL;
    h->n = h->cap = 0;
    h->nkeys = nkeys;
    h->pos = pos;
}

void
swb_kheap_fini(swb_kheap_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        *h->pos(kh_item(h, kh_at(h, i))) = SWB_HEAP_NONE;
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

bool
swb_kheap_has(const swb_kheap_t *h, void *item)
{
    size_t i = *h->pos(item);
    return i < h->n && kh_item(h, kh_at(h, i)) == item;
}

swb_err_t
swb_kheap_push(swb_kheap_t *h, void *item, const uint64_t *key)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        uint64_t *nv = realloc(h->v, cap * kh_stride(h) * sizeof *nv);
        if (!nv)
            return SWB_ENOMEM;
        h->v = nv;
        h->cap = cap;
    }
    kh_entry_t e;
    memcpy(e.w, key, h->nkeys * sizeof *key);
    e.w[h->nkeys] = (uint64_t)(uintptr_t)item;
    h->n++;
    kh_sift_up(h, h->n - 1, e.w);
    return SWB_OK;
}

void *
swb_kheap_top(const swb_kheap_t *h)
{
    return h->n ? kh_item(h, h->v) : NULL;
}

const uint64_t *
swb_kheap_top_key(const swb_kheap_t *h)
{
    return h->n ? h->v : NULL;
}

const uint64_t *
swb_kheap_key(const swb_kheap_t *h, void *item)
{
    return swb_kheap_has(h, item) ? kh_at(h, *h->pos(item)) : NULL;
}

void
swb_kheap_remove(swb_kheap_t *h, void *item)
{
    if (!swb_kheap_has(h, item))
        return;
    size_t i = *h->pos(item);
    *h->pos(item) = SWB_HEAP_NONE;
    h->n--;
    if (i == h->n)
        return;
    kh_entry_t last;
    memcpy(last.w, kh_at(h, h->n), kh_stride(h) * sizeof *last.w);
    kh_settle(h, i, last.w);
}

void
swb_kheap_update(swb_kheap_t *h, void *item, const uint64_t *key)
{
    if (!swb_kheap_has(h, item))
        return;
    size_t i = *h->pos(item);
    kh_entry_t e;
    memcpy(e.w, key, h->nkeys * sizeof *key);
    e.w[h->nkeys] = (uint64_t)(uintptr_t)item;
    kh_settle(h, i, e.w);
}
