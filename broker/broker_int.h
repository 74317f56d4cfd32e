/*
 * broker_int.h - the broker's context, shared by the files that make up
 * the broker (broker.c: loop, commit and recovery; client_api.c: client
 * requests; worker_api.c: worker sessions, dispatch and leases). Not
 * installed, not for other modules.
 *
 * The pass: receive a bounded number of messages, let handlers change the
 * in-memory state (marking tasks dirty and queueing replies in the
 * outbox), run timers and dispatch, then commit every dirty record in one
 * synced LMDB transaction and only then send the outbox. So no reply ever
 * tells a client or worker something that is not on disk.
 */
#ifndef SWB_BROKER_INT_H
#define SWB_BROKER_INT_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "broker.h"
#include "btask.h"
#include "heap.h"
#include "held.h"
#include "http.h"
#include "peer.h"
#include "retention.h"
#include "router.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "swb_domain.h"
#include "swb_msg.h"
#include "tzclock.h"
#include "zap.h"

/* Which socket a frame goes out on. */
typedef enum swb_side {
    SWB_SIDE_CLIENT = 0,
    SWB_SIDE_WORKER = 1,
    SWB_SIDE_PEER = 2, /* the peers ROUTER; rid = the origin's region     */
    SWB_SIDE_LINK = 3  /* our DEALER to a peer; rid = the peer's region   */
} swb_side_t;

/* A reply waiting for the commit of its pass. */
typedef struct swb_out {
    swb_side_t side;
    uint8_t rid[SWB_RID_MAX];
    size_t rid_len;
    uint64_t req;      /* client request number (for error replacement) */
    void *body;        /* encoded frame, malloc'd                       */
    size_t len;
} swb_out_t;

/* A client blocked in WAIT. */
typedef struct swb_waiter {
    uint8_t rid[SWB_RID_MAX];
    size_t rid_len;
    uint64_t req;
    uint64_t id;
    uint64_t deadline; /* monotonic ms */
} swb_waiter_t;

struct swb_broker {
    const swb_config_t *cfg;
    swb_store_t *store;
    zsock_t *clients;
    zsock_t *workers;
    swb_http_t *http;    /* the HTTP port, NULL with --http off         */
    swb_fed_t *fed;      /* links to peer regions, NULL without --peer  */

    zhashx_t *tasks;     /* id (uint64_t *) -> swb_btask_t, owned        */
    swb_router_t *router; /* tasks ready to offer, agents, matching      */
    swb_held_t held;     /* tasks held back until a time                 */
    swb_heap_t due;      /* tasks with a deadline or caller's patience   */
    zlistx_t *leased;    /* tasks offered or active (borrowed)           */
    swb_tzcache_t *tz;   /* local time of sites and customers            */
    zhashx_t *sessions;  /* key -> swb_session_t, owned                  */
    zlistx_t *waiters;   /* swb_waiter_t, owned                          */

    /* the current pass */
    zlistx_t *dirty;     /* tasks to write (borrowed)                    */
    zlistx_t *finished;  /* tasks that became final this pass (borrowed) */
    zlistx_t *outbox;    /* swb_out_t, owned                             */
    zhashx_t *new_keys;  /* "sponsor\n key" -> id (uint64_t) this pass   */
    zlistx_t *fresh;     /* tasks that became ready this pass (borrowed) */
    zlistx_t *freed;     /* sessions that got room this pass (borrowed)  */
    swb_store_batch_t *batch;
    bool meta_dirty;

    uint64_t next_id;    /* next task id (durable in meta)               */
    uint64_t next_lease; /* next lease token (durable in meta)           */
    uint64_t next_event; /* next agent event number (durable in meta)    */
    uint64_t next_sites_check; /* monotonic ms of the next hours check   */
    uint64_t now;        /* monotonic ms, set each pass                  */
    uint64_t now_wall;   /* unix ms, set each pass                       */
    uint64_t next_heartbeat;
    swb_retention_t retention; /* the sweep of finished tasks (retention.c) */
    swb_stats_t *stats;  /* operations counters (stats_broker.c)        */
    zhashx_t *stats_calls; /* agent -> queue of its last call, for wrap-up */
    uint64_t stats_tick; /* unix ms of the last agent-time count         */
    bool refusing;       /* the last commit failed: refuse new work      */
    uint64_t refuse_until; /* monotonic ms; after it, submits try again  */
    char refuse_why[320];

    /* security (secure.c): NULL auth = no keys configured */
    swb_auth_t *auth;    /* the authorized keys                          */
    swb_zap_t *zap;      /* the ZAP handler, polled by the loop          */
    swb_zap_decide_fn zap_decide; /* NULL: the key table (the only value
                               the broker uses); tests/test_failclosed.c
                               sets a broken one before swb_secure_open */
    char curve_public[SWB_Z85_KEY_LEN + 1]; /* the broker's key pair    */
    char curve_secret[SWB_Z85_KEY_LEN + 1];
    const swb_ident_t *who; /* sender of the message being handled, NULL
                               without keys (then everything is allowed) */
    swb_ident_t who_buf;
    char who_key[SWB_Z85_KEY_LEN + 1]; /* its User-Id as received      */
    volatile sig_atomic_t *reload_keys; /* set by SIGHUP, or NULL        */
};

/* ---- broker.c ---- */
/* Reads one whole message from sock without waiting: the routing id
 * into rid (router sockets; *rid_len 0 when over SWB_RID_MAX), the frame
 * after it into body, *frames = frames read in all (extra ones are
 * dropped). False when nothing was waiting. */
bool swb_broker_read(void *sock, bool router, uint8_t *rid, size_t *rid_len,
                     zmq_msg_t *body, int *frames);
/* Queues an encoded message for after the commit. */
void swb_broker_send(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
                     size_t rid_len, const swb_msg_t *m, uint64_t req);
/* Queues an ERROR naming code, field and a message. */
void swb_broker_error(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
                      size_t rid_len, uint64_t req, uint64_t id,
                      swb_err_t code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));
/* Marks a task to be written in this pass's commit. */
void swb_broker_touch(swb_broker_t *b, swb_btask_t *t);
/* Sets a task's state, marks it dirty and, when final, finished. */
void swb_broker_set_state(swb_broker_t *b, swb_btask_t *t, int state);
/* The task id a key names (idempotency keys, hand-off keys): written in
 * this pass (b->new_keys) or in the store; 0 when none. */
uint64_t swb_broker_key_id(swb_broker_t *b, swb_store_db_t db,
                           const char *key);
/* Loads a task record from the store (for tasks no longer in memory).
 * *rec is zeroed then filled; result may be NULL. */
swb_err_t swb_broker_load(swb_broker_t *b, uint64_t id, swb_task_t *rec,
                          swb_bytes_t *result);

/* ---- secure.c ---- */
/* Before any bind: keys, ZAP handler and its fail-closed self-test; or,
 * without keys, the loopback rule. Errors: SWB_EINVAL (bad endpoint,
 * cert or folder), SWB_EREFUSED (an unknown key was not refused),
 * SWB_ESYS; why says which. */
swb_err_t swb_secure_open(swb_broker_t *b, char *why, size_t why_len);
void swb_secure_close(swb_broker_t *b);
/* After the store and swb_secure_open: one WARNING per secret file that
 * group or others may read or write (data.mdb, lock.mdb, the broker's
 * secret certificate, the --keys folder; fileperm.h). Never fails. */
void swb_secure_check_modes(const swb_broker_t *b);
/* Makes a ROUTER a CURVE server when keys are configured (before bind). */
void swb_secure_socket(swb_broker_t *b, zsock_t *sock);
/* Sets b->who from the message's User-Id; false (after an ERROR reply
 * "refused") when the key is unknown now or its role may not send m
 * here. Always true without keys (b->who NULL). */
bool swb_secure_check(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
                      size_t rid_len, const char *user_id,
                      const swb_msg_t *m);
/* Queues an ERROR "refused" naming key, role, binding and action, and
 * logs it. */
void swb_broker_refuse(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
                       size_t rid_len, uint64_t req, uint64_t id,
                       const char *action, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* The peers endpoint: an origin's message must come from a peer key
 * bound to its region (always true without keys). */
bool swb_secure_check_peer(swb_broker_t *b, const char *region,
                           const char *user_id, const swb_msg_t *m);
/* Makes a link to peer region `name` a CURVE client when keys are
 * configured: our key pair, and the server key of that region's broker
 * certificate in the keys folder. Errors: SWB_EINVAL (no certificate for
 * that region; why says so). */
swb_err_t swb_secure_link(swb_broker_t *b, zsock_t *link, const char *name,
                          char *why, size_t why_len);

/* ---- peer.c (see peer.h) ---- */
/* The peer structs from --peer (no sockets yet), before recovery. */
swb_err_t swb_peer_init(swb_broker_t *b);
/* Binds the peers endpoint and connects the links (after security). */
swb_err_t swb_peer_open(swb_broker_t *b, char *why, size_t why_len);
void swb_peer_close(swb_broker_t *b);
/* Fills poll items for the peer sockets; returns how many. */
size_t swb_peer_poll_items(swb_broker_t *b, zmq_pollitem_t *items, size_t max);
/* Takes at most one message from each peer socket; true if any. */
bool swb_peer_receive(swb_broker_t *b);
/* How long the loop may sleep in poll: max_ms, or less when overflow.c
 * wants to run sooner. */
int swb_peer_poll_ms(const swb_broker_t *b, int max_ms);
/* Hellos, adverts, peers going down, then handoff timers. */
void swb_peer_timers(swb_broker_t *b);
/* True while p talks to us as an origin (within --peer-down-ms). */
bool swb_peer_origin_alive(const swb_broker_t *b, const swb_peer_t *o);
/* The peer named (name, len), or NULL. */
swb_peer_t *swb_peer_find(swb_broker_t *b, const char *name, size_t len);
/* Queues m to peer p: to_origin = at our ROUTER (p is an origin of ours),
 * else on our link to it. */
void swb_peer_send(swb_broker_t *b, swb_peer_t *p, bool to_origin,
                   const swb_msg_t *m);
/* Sends an outbox frame of side PEER or LINK (broker.c, after commit). */
void swb_peer_send_now(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
                       size_t rid_len, const void *body, size_t len);
/* Predicted wait (ms) of one more task for agents/ready/waiting. */
uint64_t swb_peer_predict(const swb_broker_t *b, uint64_t agents,
                          uint64_t ready, uint64_t waiting);
/* The "peers" array of the statistics document (stats.h); NULL when out
 * of memory. Owned by the caller. */
json_t *swb_peer_json(swb_broker_t *b);
/* Agents came, went or changed state: advertise soon. */
void swb_peer_agents_changed(swb_broker_t *b);
/* A task was handled in ms (for predictions). */
void swb_peer_handled(swb_broker_t *b, uint64_t ms);

/* ---- handoff.c ---- */
/* Origin: hands t (waiting here) to p. */
void swb_handoff_forward(swb_broker_t *b, swb_btask_t *t, swb_peer_t *p);
void swb_handoff_on_forwarded(swb_broker_t *b, swb_peer_t *p,
                              const swb_m_hand_t *h);
void swb_handoff_on_refused(swb_broker_t *b, swb_peer_t *p,
                            const swb_m_error_t *e);
void swb_handoff_on_start(swb_broker_t *b, swb_peer_t *p,
                          const swb_m_hand_t *h);
void swb_handoff_on_result(swb_broker_t *b, swb_peer_t *p, swb_m_task_t *r);
void swb_handoff_on_reclaimed(swb_broker_t *b, swb_peer_t *p,
                              const swb_m_hand_t *h);
/* A client cancels t at the origin: true when the caller cancels it here
 * now (not forwarded, or never started there: the peer will drop it);
 * false when the peer runs it and was asked to cancel (the result comes
 * back). */
bool swb_handoff_cancel(swb_broker_t *b, swb_btask_t *t);
/* Peer: messages from origin o. */
void swb_handoff_on_forward(swb_broker_t *b, swb_peer_t *o,
                            swb_m_forward_t *f);
void swb_handoff_on_go(swb_broker_t *b, swb_peer_t *o, const swb_m_hand_t *h);
void swb_handoff_on_result_ack(swb_broker_t *b, swb_peer_t *o,
                               const swb_m_hand_t *h);
void swb_handoff_on_peer_cancel(swb_broker_t *b, swb_peer_t *o,
                                const swb_m_hand_t *h);
/* The origin took oid (hand-offs up to seq) back: drop our copy (never
 * started) and confirm. */
void swb_handoff_drop(swb_broker_t *b, swb_peer_t *o, uint64_t oid,
                      uint64_t seq);
/* Peer: false when t may not be offered yet (its origin has not said GO:
 * it leaves the router and START is sent). */
bool swb_handoff_may_offer(swb_broker_t *b, swb_btask_t *t);
/* t became final (swb_broker_set_state): a peer keeps its result to
 * report to the origin. */
void swb_handoff_finished(swb_broker_t *b, swb_btask_t *t);
/* The handoff-database key under which a peer remembers the task origin
 * handed over as oid (retention.c removes it with the task); its length,
 * 0 when it does not fit. */
size_t swb_handoff_fkey(const char *origin, uint64_t oid, char *out,
                        size_t len);
/* Takes t out of any hand-off list (it leaves memory). */
void swb_handoff_unlink(swb_btask_t *t);
void swb_handoff_timers(swb_broker_t *b);
/* Recovery: true when t (forwarded from here) is in a peer's hands and
 * must not be placed; links held tasks to their origin's list. */
bool swb_handoff_recover(swb_broker_t *b, swb_btask_t *t);
/* Reads the reclaims and reports to send from the store. */
swb_err_t swb_handoff_load(swb_broker_t *b);
/* Forgets the borrowed task lists (before memory is reloaded). */
void swb_handoff_reset(swb_broker_t *b);

/* ---- overflow.c ---- */
/* Hands waiting tasks to peers by the rules of overflow.c. */
void swb_overflow_run(swb_broker_t *b);
/* New work found no free agent here: weigh the queues soon, not at the
 * next tick. */
void swb_overflow_soon(swb_broker_t *b);

/* ---- client_api.c ---- */
void swb_client_api_handle(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                           swb_msg_t *m);
/* Answers waiters whose task finished or whose time ran out (after the
 * commit). */
void swb_client_api_wake(swb_broker_t *b);

/* ---- worker_api.c ---- */
void swb_worker_api_handle(swb_broker_t *b, const uint8_t *rid,
                           size_t rid_len, swb_msg_t *m);
/* Drops sessions silent for three heartbeats; sends heartbeats. */
void swb_worker_api_timers(swb_broker_t *b);

/* ---- dispatch.c ---- */
/* Sets up the held set and the due heap (empty). */
void swb_dispatch_init_heaps(swb_broker_t *b);
/* Places a task that may be offered again (new, retried, released,
 * refused): held back until its time or calling window, else waiting in
 * the router and tried against free agents in this pass. */
void swb_dispatch_ready(swb_broker_t *b, swb_btask_t *t);
/* Notes that a session may have room for work now. */
void swb_dispatch_agent_free(swb_broker_t *b, swb_session_t *s);
/* Forgets a session that ends (it may sit in the freed list). */
void swb_dispatch_agent_gone(swb_broker_t *b, swb_session_t *s);
/* Matches fresh tasks and freed agents; sends offers. */
void swb_dispatch_run(swb_broker_t *b);
/* Held tasks whose time came, deadlines, patience, leases and ringing
 * offers, site opening hours, wrap-up ends. */
void swb_dispatch_timers(swb_broker_t *b);
/* Takes a task from router, held set and due heap (it is final or
 * being canceled). */
void swb_dispatch_forget(swb_broker_t *b, swb_btask_t *t);
/* Watches a task's deadline or caller's patience. */
void swb_dispatch_watch(swb_broker_t *b, swb_btask_t *t);
/* Cancels a task that is not final: its holder is told (REVOKE), it
 * leaves every queue and ends canceled with reason. */
void swb_dispatch_cancel(swb_broker_t *b, swb_btask_t *t, const char *reason);
/* Takes a task away from its holder (lease lost, canceled, ...). */
void swb_dispatch_unlease(swb_broker_t *b, swb_btask_t *t);
/* After a lost or failed attempt: failed with backoff, or dead after its
 * last attempt (or at once when final). */
void swb_dispatch_retry(swb_broker_t *b, swb_btask_t *t, const char *reason,
                        bool final);
/* Gives a task back without counting the attempt (release, bye). */
void swb_dispatch_hand_back(swb_broker_t *b, swb_btask_t *t);
/* An offer was rejected or rang out: next agent; the agent may be set
 * not-ready after --missed-offers in a row. */
void swb_dispatch_refused(swb_broker_t *b, swb_btask_t *t, bool missed);
/* The holder answered a ringing offer. */
void swb_dispatch_accepted(swb_broker_t *b, swb_btask_t *t);
/* A holder finished a task (done or failed): wrap-up after a call. */
void swb_dispatch_finished_by(swb_broker_t *b, swb_session_t *s, int channel);

/* ---- agent.c ---- */
/* Sets an agent's state (durably recorded with its time), tells the
 * worker, and updates the router. reason may be NULL. */
void swb_agent_set_state(swb_broker_t *b, swb_session_t *s, int state,
                         const char *reason, bool tell_worker);
/* Records a state change of an agent without a session (offline). */
void swb_agent_record(swb_broker_t *b, const char *agent, const char *site,
                      int state, const char *reason);
/* The agents AGENTS lists (connected ones from their sessions, then the
 * last recorded state of the others from the store), only those of site
 * unless it is NULL, at most SWB_MAX_LIST. On SWB_OK *v (n rows) is
 * owned by the caller: free with swb_agent_rows_free. Errors: SWB_ENOMEM,
 * SWB_ESTORE. */
swb_err_t swb_agent_rows(swb_broker_t *b, const char *site,
                         swb_agent_info_t **v, size_t *n);
/* Frees rows from swb_agent_rows; NULL-safe, clears *v. */
void swb_agent_rows_free(swb_agent_info_t **v, size_t n);
/* AGENTS and AGENT_STATE from the client endpoint. */
void swb_agent_list(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                    swb_msg_t *m);
void swb_agent_command(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                       swb_msg_t *m);

/* ---- stats_broker.c (see stats.h) ---- */
/* Makes b->stats and loads the counters from the store (after it is
 * open). Errors: SWB_ENOMEM, those of swb_store_each. */
swb_err_t swb_stats_open(swb_broker_t *b);
/* Frees the counters (saved by the caller before). NULL-safe parts. */
void swb_stats_close(swb_broker_t *b);
/* A task was submitted. */
void swb_stats_task_new(swb_broker_t *b, const swb_btask_t *t);
/* A task moves from state `from` to `to`: called before the record
 * changes (rec.updated still tells when it entered `from`). */
void swb_stats_task_moved(swb_broker_t *b, const swb_btask_t *t, int from,
                          int to);
/* An agent's state is about to change to `to` (s->state is the old one,
 * s->state_since when it began). */
void swb_stats_agent_moved(swb_broker_t *b, const swb_session_t *s, int to);
/* Each pass: agent time once a second, then the changed counters into
 * the pass's batch at most once a second. */
void swb_stats_tick(swb_broker_t *b);
/* STATS and SITES from the client endpoint. */
void swb_stats_request(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                       swb_msg_t *m);
void swb_sites_request(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                       swb_msg_t *m);

#endif
