/*
 * held.c - the held-back tasks, earliest ready_at first (see held.h).
 */
#include "held.h"

static int
held_cmp(const void *a, const void *b)
{
    const swb_btask_t *x = a, *y = b;
    if (x->rec.ready_at != y->rec.ready_at)
        return x->rec.ready_at < y->rec.ready_at ? -1 : 1;
    return x->rec.id < y->rec.id ? -1 : x->rec.id > y->rec.id;
}

static size_t *
held_pos(void *item)
{
    return &((swb_btask_t *)item)->held_pos;
}

void
swb_held_init(swb_held_t *h)
{
    swb_heap_init(&h->heap, held_cmp, held_pos);
}

void
swb_held_fini(swb_held_t *h)
{
    swb_heap_fini(&h->heap);
}

swb_err_t
swb_held_add(swb_held_t *h, swb_btask_t *t)
{
    return swb_heap_push(&h->heap, t);
}

void
swb_held_remove(swb_held_t *h, swb_btask_t *t)
{
    swb_heap_remove(&h->heap, t);
}

swb_btask_t *
swb_held_due(swb_held_t *h, uint64_t now_wall)
{
    swb_btask_t *t = swb_heap_top(&h->heap);
    if (!t || t->rec.ready_at > now_wall)
        return NULL;
    return swb_heap_pop(&h->heap);
}

size_t
swb_held_count(const swb_held_t *h)
{
    return h->heap.n;
}
