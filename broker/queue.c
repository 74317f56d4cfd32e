/*
 * queue.c - ready lists per channel and the held-back list (queue.h),
 * on czmq's zlistx with a comparator so that an insert lands in order
 * (searching from the tail, where new work of equal priority goes).
 */
#include "queue.h"

#include <czmq.h>
#include <stdlib.h>

#include "swb_domain.h"

#define HELD SWB_CH_COUNT /* index of the held-back list */

struct swb_queue {
    zlistx_t *lists[SWB_CH_COUNT + 1];
};

static int
cmp_ready(const void *a, const void *b)
{
    const swb_btask_t *x = a, *y = b;
    uint64_t px = x->rec.spec->priority, py = y->rec.spec->priority;
    if (px != py)
        return px > py ? -1 : 1;
    return x->rec.id < y->rec.id ? -1 : x->rec.id > y->rec.id;
}

static int
cmp_held(const void *a, const void *b)
{
    const swb_btask_t *x = a, *y = b;
    if (x->rec.ready_at != y->rec.ready_at)
        return x->rec.ready_at < y->rec.ready_at ? -1 : 1;
    return x->rec.id < y->rec.id ? -1 : x->rec.id > y->rec.id;
}

swb_queue_t *
swb_queue_new(void)
{
    swb_queue_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    for (int i = 0; i <= HELD; i++) {
        q->lists[i] = zlistx_new();
        if (!q->lists[i]) {
            swb_queue_destroy(&q);
            return NULL;
        }
        zlistx_set_comparator(q->lists[i], i == HELD ? cmp_held : cmp_ready);
    }
    return q;
}

void
swb_queue_destroy(swb_queue_t **q)
{
    if (!q || !*q)
        return;
    for (int i = 0; i <= HELD; i++)
        zlistx_destroy(&(*q)->lists[i]);
    free(*q);
    *q = NULL;
}

swb_err_t
swb_queue_add(swb_queue_t *q, swb_btask_t *t, uint64_t now_wall)
{
    int where = t->rec.ready_at > now_wall ? HELD : t->channel;
    /* new work usually sorts last: search from the tail */
    void *h = zlistx_insert(q->lists[where], t, false);
    if (!h)
        return SWB_ENOMEM;
    t->qhandle = h;
    t->qlist = where;
    return SWB_OK;
}

void
swb_queue_remove(swb_queue_t *q, swb_btask_t *t)
{
    if (t->qlist < 0)
        return;
    zlistx_detach(q->lists[t->qlist], t->qhandle);
    t->qhandle = NULL;
    t->qlist = -1;
}

size_t
swb_queue_promote(swb_queue_t *q, uint64_t now_wall)
{
    size_t moved = 0;
    swb_btask_t *t;
    while ((t = zlistx_first(q->lists[HELD])) && t->rec.ready_at <= now_wall) {
        swb_queue_remove(q, t);
        if (swb_queue_add(q, t, now_wall) != SWB_OK)
            break;
        moved++;
    }
    return moved;
}

swb_btask_t *
swb_queue_find(swb_queue_t *q, int ch, swb_queue_pred_fn pred, void *arg)
{
    if (ch < 0 || ch >= SWB_CH_COUNT)
        return NULL;
    for (swb_btask_t *t = zlistx_first(q->lists[ch]); t;
         t = zlistx_next(q->lists[ch]))
        if (!pred || pred(t, arg))
            return t;
    return NULL;
}

size_t
swb_queue_ready(const swb_queue_t *q, int ch)
{
    return ch >= 0 && ch < SWB_CH_COUNT ? zlistx_size(q->lists[ch]) : 0;
}

size_t
swb_queue_held(const swb_queue_t *q)
{
    return zlistx_size(q->lists[HELD]);
}
