/*
 * router_int.h - the router's classes as router.c and router_class.c
 * share them. Not for the rest of the broker: use router.h.
 *
 * Layout is chosen for the two decisions, which visit many classes and
 * should touch at most one cache line of each:
 *  - a requirement class (tclass) starts with a summary of its two heap
 *    heads (swb_tsum_t, one line), refreshed after every heap change, so
 *    pick_task compares classes without following pointers to tasks;
 *  - a capability class (aclass) starts with what pick_agent reads, one
 *    half line per channel (swb_aslot_t): the idle_since and name hash of
 *    the head of each of its two idle lists (agents holding nothing,
 *    agents holding work with room), site open, and whether inbound
 *    callers wait in linked classes.
 * The links are dense arrays on both sides (tclass -> aclasses with the
 * skill score, aclass -> tclasses), in the order the links were made.
 */
#ifndef SWB_ROUTER_INT_H
#define SWB_ROUTER_INT_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "heap.h"
#include "router.h"

#define SWB_RK_PRIO 4 /* priority key: UINT64_MAX - priority, deadline
                         (UINT64_MAX when none), created, id          */
#define SWB_RK_AGE 2  /* age key: created, id                         */
#define SWB_IDLE_FREE 0 /* idle list of agents holding nothing        */
#define SWB_IDLE_BUSY 1 /* idle list of agents holding work, with room */
#define SWB_SINCE_NONE UINT64_MAX /* an empty idle list's head time   */

struct swb_aclass;

/* The heads of a tclass as pick_task compares them. */
typedef struct swb_tsum {
    uint64_t prio[SWB_RK_PRIO]; /* key of the priority head            */
    uint64_t age[SWB_RK_AGE];   /* key of the age head                 */
    bool waiting;               /* any task waiting (else keys stale)  */
    bool inbound;               /* channel is inbound voice            */
    int8_t channel;             /* swb_channel_t                       */
} swb_tsum_t;
_Static_assert(sizeof(swb_tsum_t) <= 64, "a tclass summary is one line");

typedef struct swb_tclass {
    _Alignas(64) swb_tsum_t sum; /* hot: read by pick_task            */
    char *key;
    int channel;
    bool voice, inbound, best_skilled;
    bool foreign;         /* tasks handed over by another region: never
                             handed on (a class of their own)          */
    uint64_t memo;        /* overflow.c's word (swb_router_queue_t)    */
    swb_task_spec_t req;  /* requirements (a copy without payload/key) */
    swb_kheap_t prio;     /* priority, deadline, age                   */
    swb_kheap_t age;      /* age only: the starvation guard            */
    struct swb_aclass **la; /* eligible capability classes             */
    uint64_t *score;      /* per link, for best-skilled: the agent's
                             levels on the required skills             */
    size_t nla, capla;
} swb_tclass_t;

/* What pick_agent reads of an aclass for one channel: half a line. */
typedef struct swb_aslot {
    uint64_t since[2]; /* idle_since of the idle lists' heads (FREE,
                          BUSY), SWB_SINCE_NONE when empty        */
    uint32_t hash[2];  /* their agent_hash                         */
    bool open;         /* copy of site_open                         */
    bool callers;      /* copy of inbound_busy > 0                  */
} swb_aslot_t;
_Static_assert(64 % sizeof(swb_aslot_t) == 0, "slots never straddle lines");

typedef struct swb_aclass {
    _Alignas(64) swb_aslot_t slot[SWB_CH_COUNT]; /* hot: pick_agent   */
    bool site_open;
    size_t inbound_busy; /* linked inbound tclasses with waiting tasks */
    uint32_t chans;      /* bit ch: the profile has channel ch      */
    /* ready sessions with room, per channel: the FREE and BUSY lists,
     * linked through the sessions' idle_link[ch], in joining order */
    swb_session_t *head[SWB_CH_COUNT][2], *tail[SWB_CH_COUNT][2];
    size_t members;      /* sessions of the class                  */
    size_t ready;        /* of them in at least one idle list      */
    char *key;
    swb_m_hello_t prof; /* the profile (a copy without holding)       */
    const swb_site_def_t *site;
    struct swb_tclass **lt; /* eligible requirement classes           */
    size_t nlt, caplt;
} swb_aclass_t;

typedef struct swb_classes {
    void **v;
    size_t n, cap;
} swb_classes_t;

struct swb_router {
    const swb_config_t *cfg;
    zhashx_t *tmap, *amap; /* key -> class (borrowed; owned by tv / av) */
    zhashx_t *closed;      /* site id -> itself: sites closed now       */
    swb_classes_t tv, av;
    size_t waiting;
    size_t ready;          /* agents in at least one idle list          */
};

/* The tclass of tasks like spec: found, or made and linked to every
 * eligible aclass. NULL when out of memory (nothing changed). Owned by
 * the router. */
swb_tclass_t *swb_router_tclass_get(swb_router_t *r,
                                    const swb_task_spec_t *spec, bool foreign);
/* The aclass of agents like prof, found or made and linked. NULL when out
 * of memory (nothing changed). Owned by the router. */
swb_aclass_t *swb_router_aclass_get(swb_router_t *r,
                                    const swb_m_hello_t *prof);
/* Copies site_open and inbound_busy > 0 into every slot of a. */
void swb_router_aclass_sync(swb_aclass_t *a);
/* Frees every class of r (marking waiting tasks as outside). */
void swb_router_classes_free(swb_router_t *r);

#endif
