/*
 * heap.c - indexed binary min-heap (see heap.h).
 */
#include "heap.h"

#include <stdlib.h>

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
