/*
 * stats_int.h - what the files of the statistics module share (stats.c:
 * scopes, windows, records; stats_json.c: the JSON of a scope). Not for
 * other modules: they use stats.h.
 */
#ifndef SWB_STATS_INT_H
#define SWB_STATS_INT_H

#include <czmq.h>

#include "stats.h"
#include "swb_domain.h"

#define BUCKETS 15

/* Windows as numbered in the API and in records. */
enum { WIN_15M = 0, WIN_TODAY = 1, WIN_TOTAL = 2 };
enum { REC_TOTAL = 0, REC_TODAY = 1, REC_MINUTE = 2 };

typedef struct counts {
    uint64_t v[SWB_STAT_COUNT];
} counts_t;

typedef struct live {
    uint64_t task[3];     /* by swb_live_task_t          */
    uint64_t oldest_ms;   /* oldest waiting task's age    */
    uint64_t calls;       /* inbound calls waiting        */
    uint64_t longest_ms;  /* longest caller's wait        */
    uint64_t backlog[SWB_STATS_AGE_BUCKETS];
    uint64_t agents[SWB_AG_COUNT];
    uint64_t busy;        /* agents holding work          */
    uint64_t staffed;     /* ready, wrap-up or busy       */
    uint64_t occupied;    /* busy or in wrap-up           */
} live_t;

typedef struct scope {
    swb_scope_kind_t kind;
    char *key;     /* table and record key                       */
    char *site;    /* SITE: the site id                          */
    char *channel; /* QUEUE: the channel name                    */
    char *sponsor; /* QUEUE: sponsor, NULL for none              */
    int order;     /* SITE: index in config (or nsites)          */
    counts_t total, today;
    uint64_t day;  /* local day number `today` belongs to         */
    uint64_t day_min; /* unix minute + 1 that `now_day` is known for */
    uint64_t now_day; /* local day number in that minute             */
    counts_t bucket[BUCKETS];
    uint64_t bucket_min[BUCKETS]; /* unix minute of each bucket   */
    live_t live;
    bool dirty;    /* changed since the last save                */
} scope_t;

struct swb_stats {
    const swb_config_t *cfg;
    swb_tzcache_t *tz;
    zhashx_t *scopes; /* key -> scope_t, owned */
    scope_t *last[3]; /* the last scope found of each kind (a cache) */
    size_t nqueues;
    const char *region_tz;
    uint64_t last_save;
};

/* A counter's record / JSON name; ms: shown in seconds. */
typedef struct swb_stats_counter {
    const char *name;
    bool ms;
} swb_stats_counter_t;
extern const swb_stats_counter_t swb_stats_counters[SWB_STAT_COUNT];

/* Backlog buckets: label and upper bound in minutes (0 = open). */
typedef struct swb_stats_age {
    const char *label;
    uint64_t below_min;
} swb_stats_age_t;
extern const swb_stats_age_t swb_stats_ages[SWB_STATS_AGE_BUCKETS];

/* The scope of kind for w; created (not dirty) when create is set.
 * NULL when absent or out of memory. */
scope_t *swb_stats_find(swb_stats_t *st, swb_scope_kind_t kind,
                        const swb_stats_where_t *w, bool create);
/* The counters of window (WIN_*) of sc (NULL: zeros) at now_ms. */
void swb_stats_sum(const swb_stats_t *st, scope_t *sc, int window,
                   uint64_t now_ms, uint64_t *v);

#endif
