/*
 * stats.h - the operations figures of a region: counters per scope over
 * three windows, live figures, and the one JSON document that shows them
 * (PRODUCT.md 7). `switchboard stats --json`, the HTTP /api/v1/stats,
 * /metrics and the wallboard are all made from swb_stats_json().
 *
 * Scopes: the region; each site; each queue (channel x sponsor). An event
 * counts in the region, in its queue when it has a channel, and in its
 * site when it has one.
 *
 * Windows of every counter:
 *   last_15m  the current minute and the 14 before it (15 one-minute
 *             buckets; a bucket is unix-minute aligned, so the window
 *             slides by whole minutes);
 *   today     since local midnight: a site in its own time zone; the
 *             region and the queues in the REGION ZONE, the time zone of
 *             the first configured site (UTC when there is none);
 *   total     since the data folder was made.
 * All three survive restarts: changed scopes are written into the
 * broker's batch (database "stats", key = scope key, value = a codec
 * record) at most once a second, and read back on start. A kill -9 may
 * lose the last second of counts; a failed commit marks every scope
 * changed so that the next save writes them all again.
 *
 * Live figures (waiting now, oldest wait, agents by state, backlog by age,
 * occupancy now) are not counted but taken from the broker's state when a
 * document is built: one walk over the tasks in memory (every task not
 * yet final) and one over the sessions. COST: O(unfinished tasks +
 * connected agents) per document, about 35 ms per 100 000 unfinished
 * tasks (measured on a 2-core VM), in the broker's thread; documents are
 * asked for about once a second per viewer, so a server with many
 * viewers should build one document per second and share it.
 *
 * The clock is injected: every call takes now_ms (unix ms), so unit tests
 * drive the windows with chosen times. Threading: the broker's thread.
 *
 * ---- THE DOCUMENT (swb_stats_json) ------------------------------------
 *
 * Units: durations are numbers of SECONDS (rounded to 0.1); percents are
 * numbers 0..100 (rounded to 0.1); a figure that is undefined (a service
 * level with no calls, an average of nothing) is null. Counts are
 * integers. Keys are never left out: a figure that does not apply to a
 * scope (calls in an e-mail queue) is 0 or null.
 *
 * {
 *   "version": 1,
 *   "generated_at": "2026-11-23T09:00:00.000Z", "now_ms": 1795424400000,
 *   "region": { "name": "manila", "tz": "Asia/Manila",   <- region zone
 *               "live": LIVE, "last_15m": WIN, "today": WIN,
 *               "total": WIN },
 *   "sites": [ { "site": "mnl-1", "country": "PH"|null,
 *                "tz": "Asia/Manila"|null, "open": true,
 *                "live": LIVE, "last_15m": WIN, "today": WIN,
 *                "total": WIN }, ... ],          configured sites first
 *   "queues": [ { "channel": "voice.inbound", "sponsor": "acme"|null,
 *                 "service_level_target": {"percent": 80, "seconds": 20},
 *                 "live": LIVE, "last_15m": WIN, "today": WIN,
 *                 "total": WIN }, ... ],         by channel, then sponsor
 *   "peers": [ { "name": "krakow", "endpoint": "tcp://...", "up": true,
 *                "silent_seconds": 0.3|null, "agents": N, "ready": N
 *                (from its last advert; ready counts open sites only),
 *                "handed": tasks handed to it now, "forwarded",
 *                "refused", "results" (counts since start),
 *                "reclaims_pending", "asking_go", "reports_pending",
 *                "origin_connected": it is linked to us as an origin
 *              }, ... ]                          --peer order (peer.c)
 * }
 * With a site filter only that site is in "sites"; "region" and "queues"
 * stay region-wide.
 *
 * WIN (one window; counts are events inside the window):
 *   submitted            tasks submitted (all channels)
 *   offered              inbound calls that arrived
 *   answered             inbound calls an agent accepted
 *   answered_within_sl   ... within their sponsor's threshold
 *   abandoned            inbound calls whose caller hung up waiting
 *   service_level        100 * answered_within_sl / (answered+abandoned)
 *   abandon_rate         100 * abandoned / (answered + abandoned)
 *   asa_seconds          answer_wait_seconds / answered (average speed
 *                        of answer)
 *   answer_wait_seconds  sum of the waits of answered calls
 *   completed            tasks done (throughput), all channels
 *   handle_seconds       sum of time from active to done of completed
 *   wrapup_seconds       sum of after-call work (wrap-up) that ended
 *   aht_seconds          (handle_seconds + wrapup_seconds) / completed
 *   turnaround_seconds   sum of submit-to-done times of completed
 *   avg_turnaround_seconds  turnaround_seconds / completed
 *   failed               failed attempts (each retry and each death)
 *   dead                 tasks dead after their last attempt
 *   expired, canceled    tasks that ended so
 *   deadline_total       non-voice tasks with a deadline that completed
 *                        or expired
 *   deadline_met         ... completed by their deadline
 *   deadline_met_percent 100 * deadline_met / deadline_total
 *   staffed_seconds      agent time ready, in wrap-up or holding work
 *   busy_seconds         agent time holding work or in wrap-up
 *   occupancy            100 * busy_seconds / staffed_seconds
 *                        (sites and region; 0/null in queues)
 * Queue, site and region are counted where the event happened: a call
 * is answered at the answering agent's site; a call that abandons counts
 * at the site it last rang at, or its one allowed site, else in no site.
 * A site's `offered` counts a call when it is answered or abandoned there
 * (at arrival when the call may only go to that site).
 *
 * LIVE (now):
 *   waiting              tasks that may be offered now or are ringing
 *                        (queued, failed awaiting retry, offered)
 *   scheduled            tasks held back (not-before, calling window,
 *                        retry backoff)
 *   active               tasks being worked on
 *   oldest_wait_seconds  age of the oldest waiting task, null if none
 *   calls_waiting        inbound calls waiting
 *   longest_call_wait_seconds  the longest current wait of a caller
 *   backlog_by_age       non-voice tasks waiting or scheduled, by age
 *                        since submit: {"0-5m","5-15m","15m-1h","1h-4h",
 *                        "4h-1d","1d+"} -> count
 *   agents               connected agents of the site / region by state
 *                        {"ready","not-ready","break","wrap-up",
 *                        "busy" (holding work), "total"}; null in queues
 *   occupancy            100 * agents busy or in wrap-up / agents staffed
 *                        (ready, wrap-up or busy); null with none staffed
 *
 * ---- THE SITES DOCUMENT (swb_sites_json) -----------------------------
 * { "version": 1, "region": "manila", "now_ms": ...,
 *   "sites": [ { "site": "mnl-1", "country": "PH"|null,
 *                "tz": "Asia/Manila"|null, "hours": "08:00-20:00"|null
 *                (null = always open), "open": true,
 *                "local_time": "14:05"|null, "agents": AGENTS } ] }
 * AGENTS as in LIVE. Sites: the configured ones, then any other site of
 * a connected agent or a counter.
 */
#ifndef SWB_STATS_H
#define SWB_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "config.h"
#include "store.h"
#include "tzclock.h"

/* Document version ("version" in both documents). Bump when a key is
 * renamed or changes meaning; adding keys does not bump it. */
#define SWB_STATS_DOC_VERSION 1

/* json_dumps flags for the documents: compact, and reals with 10
 * significant digits so that 66.7 is written "66.7", not
 * "66.700000000000003". */
#define SWB_STATS_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

/*
 * The counters: enum name, JSON / record name, and whether the value is
 * milliseconds (shown in the JSON as seconds, "_ms" -> "_seconds").
 * On-disk records name each counter: add counters at will (old records
 * read them as 0); never rename or reuse a name.
 */
#define SWB_STATS_COUNTERS(X)                                                  \
    X(SUBMITTED, "submitted", false)                                           \
    X(OFFERED, "offered", false)                                               \
    X(ANSWERED, "answered", false)                                             \
    X(ANSWERED_IN_SL, "answered_within_sl", false)                             \
    X(ANSWER_WAIT, "answer_wait_ms", true)                                     \
    X(ABANDONED, "abandoned", false)                                           \
    X(COMPLETED, "completed", false)                                           \
    X(HANDLE, "handle_ms", true)                                               \
    X(WRAPUP, "wrapup_ms", true)                                               \
    X(TURNAROUND, "turnaround_ms", true)                                       \
    X(FAILED, "failed", false)                                                 \
    X(DEAD, "dead", false)                                                     \
    X(EXPIRED, "expired", false)                                               \
    X(CANCELED, "canceled", false)                                             \
    X(DEADLINE_TOTAL, "deadline_total", false)                                 \
    X(DEADLINE_MET, "deadline_met", false)                                     \
    X(STAFFED, "staffed_ms", true)                                             \
    X(BUSY, "busy_ms", true)

#define SWB_STAT_ENUM_(id, name, ms) SWB_STAT_##id,
typedef enum swb_stat { SWB_STATS_COUNTERS(SWB_STAT_ENUM_) SWB_STAT_COUNT }
    swb_stat_t;
#undef SWB_STAT_ENUM_

/* Backlog age buckets (upper bounds in minutes; the last is open). */
#define SWB_STATS_AGE_BUCKETS 6

typedef enum swb_scope_kind {
    SWB_SCOPE_REGION = 0,
    SWB_SCOPE_SITE,
    SWB_SCOPE_QUEUE
} swb_scope_kind_t;

/*
 * Where an event happened. Strings are borrowed for the call.
 * site NULL: no site scope; channel NULL: no queue scope; sponsor NULL
 * or "": a queue without sponsor (JSON null).
 */
typedef struct swb_stats_where {
    const char *site;
    const char *channel;
    const char *sponsor;
} swb_stats_where_t;

typedef struct swb_stats swb_stats_t;

/* New empty counters. cfg (sites, their zones, sponsors' service-level
 * targets) and tz are borrowed for the life of the stats. NULL on
 * ENOMEM. */
swb_stats_t *swb_stats_new(const swb_config_t *cfg, swb_tzcache_t *tz);
/* Frees; sets *st NULL. NULL-safe. */
void swb_stats_destroy(swb_stats_t **st);

/* The region zone (see above): a zone name, borrowed. */
const char *swb_stats_region_tz(const swb_stats_t *st);

/*
 * Adds amount to counter c in the region, and in the queue and site of
 * w, in all three windows at now_ms. Queues beyond SWB_STATS_MAX_QUEUES
 * (hostile sponsor names) count under sponsor "(other)".
 */
#define SWB_STATS_MAX_QUEUES 4096
void swb_stats_add(swb_stats_t *st, const swb_stats_where_t *w, swb_stat_t c,
                   uint64_t amount, uint64_t now_ms);
/* The same in the one scope of kind named by w (nothing when w has no
 * site / channel for it). */
void swb_stats_add_to(swb_stats_t *st, swb_scope_kind_t kind,
                      const swb_stats_where_t *w, swb_stat_t c,
                      uint64_t amount, uint64_t now_ms);

/* Live figures: swb_stats_live_reset clears them in every scope, then the
 * broker reports each unfinished task and each connected agent. */
typedef enum swb_live_task {
    SWB_LIVE_WAITING = 0,
    SWB_LIVE_SCHEDULED,
    SWB_LIVE_ACTIVE
} swb_live_task_t;
void swb_stats_live_reset(swb_stats_t *st);
/* A task in state `kind` that was submitted age_ms ago on channel ch. */
void swb_stats_live_task(swb_stats_t *st, const swb_stats_where_t *w,
                         swb_live_task_t kind, int ch, uint64_t age_ms);
/* A connected agent of site (may be NULL) in agent state `state`,
 * holding work or not. */
void swb_stats_live_agent(swb_stats_t *st, const char *site, int state,
                          bool busy);

/* A service-level target: percent of calls answered within seconds. */
typedef struct swb_sl_target {
    unsigned percent;
    unsigned seconds;
} swb_sl_target_t;
/* The target of a sponsor (NULL or unknown: 80/20). */
swb_sl_target_t swb_stats_sl_target(const swb_stats_t *st,
                                    const char *sponsor);

/* Calls fn for each scope of a kind: sites in config order then by
 * name, queues by channel then sponsor; the region once. Configured
 * sites are listed even without counters. */
typedef void (*swb_stats_scope_fn)(const swb_stats_where_t *id, void *arg);
void swb_stats_each(swb_stats_t *st, swb_scope_kind_t kind,
                    swb_stats_scope_fn fn, void *arg);
/* True when a scope of that site exists (counters or live figures). */
bool swb_stats_has_site(swb_stats_t *st, const char *site);

/*
 * Fills obj (a JSON object) with the scope's "live", "last_15m", "today"
 * and "total" members (see LIVE and WIN above) at now_ms. kind and id as
 * from swb_stats_each; an unknown scope shows zeros. Returns obj, or
 * NULL when out of memory.
 */
json_t *swb_stats_scope_json(swb_stats_t *st, swb_scope_kind_t kind,
                             const swb_stats_where_t *id, uint64_t now_ms,
                             json_t *obj);
/* The AGENTS object of a site (NULL = region) from the live figures. New
 * reference. */
json_t *swb_stats_agents_json(swb_stats_t *st, const char *site);

/*
 * THE statistics document (see the top of this file) of broker b at its
 * current pass time. site (NULL = all) keeps only that site in "sites"
 * (an unknown site gives an empty list). Walks the unfinished tasks and
 * the sessions (cost above). New reference owned by the caller; NULL
 * when out of memory. Call from the broker's thread between passes or
 * in a handler.
 */
json_t *swb_stats_json(swb_broker_t *b, const char *site);
/* The sites document (see above). New reference; NULL on ENOMEM. */
json_t *swb_sites_json(swb_broker_t *b);
/* True when site is configured, has counters or a connected agent. */
bool swb_stats_site_known(swb_broker_t *b, const char *site);

/* The counters of one window (0 = last_15m, 1 = today, 2 = total) of a
 * scope at now_ms into v[SWB_STAT_COUNT] (zeros for unknown scopes). For
 * tests and the metrics. */
void swb_stats_window(swb_stats_t *st, swb_scope_kind_t kind,
                      const swb_stats_where_t *id, int window,
                      uint64_t now_ms, uint64_t v[SWB_STAT_COUNT]);

/*
 * Persistence. swb_stats_save puts every changed scope into batch (one
 * record each) when force is set or a second has passed since the last
 * save; returns how many records it put. swb_stats_unsaved marks every
 * scope changed (after a failed commit). swb_stats_load reads the stats
 * database; a record that does not decode is logged and skipped.
 * Errors of load: those of swb_store_each.
 */
size_t swb_stats_save(swb_stats_t *st, swb_store_batch_t *batch,
                      uint64_t now_ms, bool force);
void swb_stats_unsaved(swb_stats_t *st);
swb_err_t swb_stats_load(swb_stats_t *st, swb_store_t *store);

#endif
