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

#include "broker.h"
#include "btask.h"
#include "queue.h"
#include "session.h"
#include "store.h"
#include "swb_domain.h"
#include "swb_msg.h"

/* Which socket a frame goes out on. */
typedef enum swb_side { SWB_SIDE_CLIENT = 0, SWB_SIDE_WORKER = 1 } swb_side_t;

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

    zhashx_t *tasks;     /* id (uint64_t *) -> swb_btask_t, owned        */
    swb_queue_t *queue;  /* waiting tasks (borrowed from tasks)          */
    zlistx_t *leased;    /* tasks with a lease (borrowed)                */
    zhashx_t *sessions;  /* key -> swb_session_t, owned                  */
    zlistx_t *order;     /* sessions, longest since last task first      */
    zlistx_t *waiters;   /* swb_waiter_t, owned                          */

    /* the current pass */
    zlistx_t *dirty;     /* tasks to write (borrowed)                    */
    zlistx_t *finished;  /* tasks that became final this pass (borrowed) */
    zlistx_t *outbox;    /* swb_out_t, owned                             */
    zhashx_t *new_keys;  /* "sponsor\n key" -> id (uint64_t) this pass   */
    swb_store_batch_t *batch;
    bool meta_dirty;
    bool want_dispatch;

    uint64_t next_id;    /* next task id (durable in meta)               */
    uint64_t next_lease; /* next lease token (durable in meta)           */
    uint64_t now;        /* monotonic ms, set each pass                  */
    uint64_t now_wall;   /* unix ms, set each pass                       */
    uint64_t next_heartbeat;
    bool refusing;       /* the last commit failed: refuse new work      */
    uint64_t refuse_until; /* monotonic ms; after it, submits try again  */
    char refuse_why[320];
};

/* ---- broker.c ---- */
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
/* Loads a task record from the store (for tasks no longer in memory).
 * *rec is zeroed then filled; result may be NULL. */
swb_err_t swb_broker_load(swb_broker_t *b, uint64_t id, swb_task_t *rec,
                          swb_bytes_t *result);

/* ---- client_api.c ---- */
void swb_client_api_handle(swb_broker_t *b, const uint8_t *rid, size_t rid_len,
                           swb_msg_t *m);
/* Answers waiters whose task finished or whose time ran out (after the
 * commit). */
void swb_client_api_wake(swb_broker_t *b);

/* ---- worker_api.c ---- */
void swb_worker_api_handle(swb_broker_t *b, const uint8_t *rid,
                           size_t rid_len, swb_msg_t *m);
/* Lease and session timeouts, heartbeats, held-back tasks. */
void swb_worker_api_timers(swb_broker_t *b);
/* Offers waiting tasks to sessions with room. */
void swb_worker_api_dispatch(swb_broker_t *b);
/* Takes a task away from its holder (lease lost, canceled, ...). */
void swb_worker_api_unlease(swb_broker_t *b, swb_btask_t *t);
/* Queues a task again after a lost or failed attempt: failed with
 * backoff, or dead after its last attempt. */
void swb_worker_api_retry(swb_broker_t *b, swb_btask_t *t, const char *reason,
                          bool final);

#endif
