/*
 * router.h - who may take which task, and who goes first.
 *
 * Tasks with the same requirements (channel, languages and levels,
 * skills and levels, sponsor, allowed sites and countries, routing mode)
 * form a requirement class (tclass); agents with the same profile (site,
 * channels, spoken and written languages, skills, certifications) form a
 * capability class (aclass). When a class is first seen, the router
 * works out once against every class on the other side whether they
 * match (a link), so a decision never scans agents or tasks:
 *
 *  - placing a task walks the links of its tclass and looks at the heads
 *    of each linked aclass's two idle lists for the task's channel (ready
 *    agents holding nothing, and ready agents holding work with room;
 *    each in the order agents joined it), through a copy of the heads'
 *    idle_since that the aclass keeps;
 *  - an agent turning free walks the links of its aclass and looks at a
 *    copy each linked tclass keeps of the keys of its two heap heads
 *    (priority order and age).
 *
 * Cost therefore grows with the number of linked classes, not with fleet
 * or backlog size; adding, removing or re-sorting a task is O(log n) in
 * its class.
 *
 * Order of work: inbound voice first; then any task that has waited
 * longer than --starve-ms (oldest first: the starvation bound); then
 * priority (high first), deadline (earliest first), age (oldest first).
 * Choice of agent: longest idle (earliest idle_since among those heads),
 * or with best-skilled routing (sponsor or task) the highest sum of
 * levels on the required skills, then longest idle. A blended agent busy
 * with non-voice work gets no more of it while inbound callers it could
 * answer are waiting, so it frees up for them.
 *
 * Dynamic rules the router checks itself: agent state (only ready agents
 * sit in idle lists), free capacity, site open (set by the broker with
 * swb_router_set_site_open), agents who refused the task's offer
 * (t->refused, read at each decision: a refuser gets the task only when
 * nobody else can).
 * The router borrows tasks and sessions; it owns its classes.
 */
#ifndef SWB_ROUTER_H
#define SWB_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "btask.h"
#include "config.h"
#include "session.h"

typedef struct swb_router swb_router_t;

/* cfg is borrowed (sponsors, sites, region, starve-ms). NULL on ENOMEM. */
swb_router_t *swb_router_new(const swb_config_t *cfg);
void swb_router_destroy(swb_router_t **r);

/* Adds a waiting task (ready to be offered now). */
swb_err_t swb_router_add_task(swb_router_t *r, swb_btask_t *t);
/* Takes a task out of the waiting set, if it is in it. */
void swb_router_remove_task(swb_router_t *r, swb_btask_t *t);
/* Re-sorts a waiting task after its priority or deadline changed. */
void swb_router_update_task(swb_router_t *r, swb_btask_t *t);
/* True when the task waits in the router. */
bool swb_router_has_task(const swb_btask_t *t);

/* Adds a connected agent (after HELLO). */
swb_err_t swb_router_add_agent(swb_router_t *r, swb_session_t *s);
/* Removes an agent (session ends). */
void swb_router_remove_agent(swb_router_t *r, swb_session_t *s);
/* Call after an agent's state, held work or idle_since changed: updates
 * the idle lists it is in. */
void swb_router_agent_changed(swb_router_t *r, swb_session_t *s,
                              uint64_t now_wall);

/* The best free agent for t, or NULL. Does not change anything. */
swb_session_t *swb_router_pick_agent(swb_router_t *r, const swb_btask_t *t,
                                     uint64_t now_wall);
/* The best waiting task for agent s, or NULL. Does not change anything. */
swb_btask_t *swb_router_pick_task(swb_router_t *r, const swb_session_t *s,
                                  uint64_t now_wall);

/* Sets whether a site is open now; returns true when that changed. */
bool swb_router_set_site_open(swb_router_t *r, const char *site, bool open);

/* True when agent profile a may take tasks like t (static rules only:
 * channel, languages, skills, certification, sites, countries, sponsor
 * countries and regions). Exposed for tests. */
bool swb_router_eligible(const swb_config_t *cfg, const swb_m_hello_t *a,
                         const swb_site_def_t *site,
                         const swb_task_spec_t *t);

/* The same with the region named (a peer's agents, seen from here: a
 * sponsor's regions list must hold that region). */
bool swb_router_eligible_in(const swb_config_t *cfg, const char *region,
                            const swb_m_hello_t *a, const swb_site_def_t *site,
                            const swb_task_spec_t *t);

/* ---- views for the regions (overflow.c, peer.c) ---- */

/* A requirement class with waiting work, as overflow.c weighs it. */
typedef struct swb_router_queue {
    const swb_task_spec_t *req; /* the class's requirements           */
    size_t waiting;             /* tasks waiting in it                */
    swb_btask_t *top;           /* the first in order of work          */
    swb_btask_t *oldest;        /* the longest waiting                 */
    size_t agents;              /* eligible agents at open sites here  */
    size_t ready;               /* of them ready with room now         */
    uint64_t *memo;             /* a word the caller may keep per class
                                   (0 when the class is made)          */
} swb_router_queue_t;
/* Returns true after taking q->top or q->oldest out of the router (to
 * be offered the class again), false to go to the next class. */
typedef bool (*swb_router_queue_fn)(const swb_router_queue_t *q, void *arg);
/* Offers fn each class of this region's own work (never tasks another
 * region handed over) with waiting tasks, at most max_per_class times in
 * a row. Walks classes, not tasks. */
void swb_router_each_queue(swb_router_t *r, swb_router_queue_fn fn, void *arg,
                           size_t max_per_class);

/* A capability class with connected agents, as peer.c advertises it. */
typedef struct swb_router_team {
    const swb_m_hello_t *prof;  /* the profile (agent name meaningless) */
    const swb_site_def_t *site; /* may be NULL                         */
    bool open;
    size_t agents, ready;
    size_t waiting;             /* tasks waiting in linked classes      */
} swb_router_team_t;
typedef void (*swb_router_team_fn)(const swb_router_team_t *t, void *arg);
void swb_router_each_team(swb_router_t *r, swb_router_team_fn fn, void *arg);

/* True when an agent here could take tasks like spec (eligible, at an
 * open site, connected), whatever its state now. */
bool swb_router_can_serve(swb_router_t *r, const swb_task_spec_t *spec,
                          bool foreign);

/* Counts for metrics and the bench. */
size_t swb_router_tclasses(const swb_router_t *r);
size_t swb_router_aclasses(const swb_router_t *r);
size_t swb_router_waiting(const swb_router_t *r);
/* Agents ready with room for something now. */
size_t swb_router_ready(const swb_router_t *r);

#endif
