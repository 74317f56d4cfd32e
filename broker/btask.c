/*
 * btask.c - in-memory tasks of the broker (see btask.h).
 */
#include "btask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "swb_domain.h"

char *
swb_btask_idem_key(const swb_task_spec_t *sp)
{
    if (!sp || !sp->key)
        return NULL;
    const char *sponsor = sp->sponsor ? sp->sponsor : "";
    size_t n = strlen(sponsor) + strlen(sp->key) + 2;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s\n%s", sponsor, sp->key);
    return k;
}

void
swb_btask_init_links(swb_btask_t *t)
{
    t->prio_pos = t->age_pos = t->held_pos = t->due_pos = SWB_HEAP_NONE;
}

swb_btask_t *
swb_btask_new(uint64_t id, swb_task_spec_t **spec, uint64_t now_wall)
{
    swb_btask_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    swb_btask_init_links(t);
    t->rec.id = id;
    t->rec.spec = *spec;
    *spec = NULL;
    t->channel = swb_channel_parse(t->rec.spec->channel);
    t->rec.created = now_wall;
    t->rec.ready_at = t->rec.spec->not_before;
    swb_btask_set_state(t, SWB_ST_QUEUED, now_wall);
    if (!t->rec.state) {
        swb_btask_destroy(&t);
        return NULL;
    }
    return t;
}

swb_btask_t *
swb_btask_from_record(swb_task_t *rec)
{
    int st = swb_state_parse(rec->state);
    int ch = rec->spec ? swb_channel_parse(rec->spec->channel) : -1;
    int hand = swb_hand_parse(rec->hand);
    if (st < 0 || ch < 0 || hand < 0)
        return NULL;
    swb_btask_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->rec = *rec;
    memset(rec, 0, sizeof *rec);
    t->state = st;
    t->channel = ch;
    t->hand = hand;
    t->foreign = hand == SWB_HAND_HELD || hand == SWB_HAND_GO;
    swb_btask_init_links(t);
    return t;
}

void
swb_btask_set_hand(swb_btask_t *t, int hand)
{
    t->hand = hand;
    swb_btask_set_str(&t->rec.hand, swb_hand_name(hand));
}

void
swb_btask_destroy(swb_btask_t **t)
{
    if (!t || !*t)
        return;
    swb_codec_free(&swb_task_schema, &(*t)->rec);
    swb_codec_free_strs(&(*t)->refused);
    free((*t)->result.data);
    free(*t);
    *t = NULL;
}

swb_err_t
swb_btask_set_str(char **field, const char *val)
{
    char *copy = NULL;
    if (val && !(copy = strdup(val)))
        return SWB_ENOMEM;
    free(*field);
    *field = copy;
    return SWB_OK;
}

void
swb_btask_set_state(swb_btask_t *t, int state, uint64_t now_wall)
{
    t->state = state;
    t->rec.updated = now_wall;
    /* state names are static; the record owns a copy for the codec */
    swb_btask_set_str(&t->rec.state, swb_state_name(state));
}
