/*
 * store.h - the broker's durable state in one LMDB environment.
 *
 * Only this module touches LMDB. The broker keeps its working state in
 * memory and mirrors every change here through a batch: during one pass of
 * its event loop it collects puts and deletes into an swb_store_batch_t and
 * then commits them in ONE write transaction (group commit). The commit is
 * synced to disk before swb_store_commit returns, and the broker sends no
 * acknowledgement for anything in the batch before that.
 *
 * Records are opaque bytes to the store (the broker encodes them with the
 * proto codec). Keys of the id-keyed databases are 8-byte big-endian task
 * ids, so cursor order is id order.
 *
 * Databases (named LMDB sub-databases):
 *   meta     name -> value   ("format" = SWB_STORE_FORMAT as u64 BE,
 *                             "next_id" = next task id as u64 BE, ...)
 *   tasks    id   -> task record
 *   results  id   -> result bytes of a completed task
 *   keys     sponsor "\0" idempotency-key -> id (u64 BE)
 *   sites    site id -> site record
 *   agents   agent id -> agent record (state, reason, since, site)
 *   events   sequence (u64 BE) -> agent state change (time, agent, state)
 *   stats    scope key -> counters of a scope (stats.c)
 *   handoff  hand-off bookkeeping between regions (handoff.c), text keys
 *            "T:REGION:ID" with a u64 BE value: at the origin "R" (a task
 *            taken back from peer REGION that must still be told; value:
 *            the hand-off seq), at the peer "F" (origin REGION's task ID
 *            was taken as local task value) and "P" (local task ID's
 *            result is not yet acknowledged by origin REGION; value: the
 *            origin's id)
 *
 * Threading: one thread only (the broker loop). Not thread-safe.
 */
#ifndef SWB_STORE_H
#define SWB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "swb_error.h"

/*
 * On-disk format version, stored under meta "format".
 * To change the format: bump this number, teach swb_store_open to upgrade
 * format N-1 in one write transaction (or refuse with SWB_EVERSION and a
 * message telling the operator what to do), and add a test that opens a
 * data folder written by the previous version.
 */
#define SWB_STORE_FORMAT 1

typedef enum swb_store_db {
    SWB_DB_META = 0,
    SWB_DB_TASKS,
    SWB_DB_RESULTS,
    SWB_DB_KEYS,
    SWB_DB_SITES,
    SWB_DB_AGENTS,
    SWB_DB_EVENTS,
    SWB_DB_STATS,
    SWB_DB_HANDOFF,
    SWB_DB_COUNT_
} swb_store_db_t;

typedef struct swb_store swb_store_t;
typedef struct swb_store_batch swb_store_batch_t;

typedef struct swb_store_opts {
    size_t initial_map; /* initial map size in bytes; 0 = 64 MiB          */
    size_t max_map;     /* the map never grows past this; 0 = 64 GiB       */
} swb_store_opts_t;

/*
 * Opens (creating if needed) the environment in directory `dir`, which is
 * created with mode 0700; data files are created 0600. Clears stale reader
 * slots left by dead processes. Checks the format version.
 * Errors: SWB_EVERSION (other format), SWB_ESTORE / SWB_ESYS (with the
 * reason in `why`, a buffer of `why_len` bytes that may be NULL).
 * On success *out owns the store; free with swb_store_close.
 */
swb_err_t swb_store_open(const char *dir, const swb_store_opts_t *opts,
                         swb_store_t **out, char *why, size_t why_len);

/* Closes the store and sets *s to NULL. NULL-safe. */
void swb_store_close(swb_store_t **s);

/* A new empty batch (owned by the caller) or NULL when out of memory. */
swb_store_batch_t *swb_store_batch_new(void);
void swb_store_batch_destroy(swb_store_batch_t **b);
/* Empties the batch for reuse, keeping its memory. */
void swb_store_batch_reset(swb_store_batch_t *b);
/* Number of operations in the batch. */
size_t swb_store_batch_count(const swb_store_batch_t *b);

/* Adds a put / delete to the batch. Key and value are copied.
 * Errors: SWB_ENOMEM, SWB_EINVAL (empty key or key over 511 bytes). */
swb_err_t swb_store_batch_put(swb_store_batch_t *b, swb_store_db_t db,
                              const void *key, size_t klen, const void *val,
                              size_t vlen);
swb_err_t swb_store_batch_del(swb_store_batch_t *b, swb_store_db_t db,
                              const void *key, size_t klen);

/*
 * Applies every operation of the batch in one write transaction and syncs.
 * All or nothing: on any error the transaction is aborted and nothing of
 * the batch is on disk. Grows the map beforehand when it is more than 3/4
 * used (never past opts.max_map). The batch is not reset.
 * Errors: SWB_EFULL (map at its maximum or disk full: ENOSPC),
 *         SWB_ESTORE (any other LMDB / I/O failure; reason in `why`).
 */
swb_err_t swb_store_commit(swb_store_t *s, const swb_store_batch_t *b,
                           char *why, size_t why_len);

/*
 * Reads one value. On success *val is a malloc'd copy owned by the caller
 * (free()), *vlen its length. Errors: SWB_ENOTFOUND, SWB_ESTORE, SWB_ENOMEM.
 */
swb_err_t swb_store_get(swb_store_t *s, swb_store_db_t db, const void *key,
                        size_t klen, void **val, size_t *vlen);

/*
 * Calls fn for every record of db in key order inside one read
 * transaction. key/val are only valid during the call. fn returns 0 to go
 * on, non-zero to stop (then swb_store_each returns SWB_OK).
 */
typedef int (*swb_store_each_fn)(const void *key, size_t klen, const void *val,
                                 size_t vlen, void *arg);
swb_err_t swb_store_each(swb_store_t *s, swb_store_db_t db, swb_store_each_fn fn,
                         void *arg);

/*
 * Like swb_store_each, but bounded: calls fn for at most `max` records of
 * db in key order, starting at the first key >= start (start NULL or slen
 * 0: the first record), in one read transaction that sees only committed
 * data. key/val are only valid during the call; fn returns 0 to go on,
 * non-zero to stop. *visited (may be NULL) is set to the number of records
 * given to fn. For sweeps that must not hold up the loop (retention.c).
 * Errors: SWB_EINVAL (no store or fn, bad db, max 0), SWB_ESTORE.
 */
swb_err_t swb_store_scan(swb_store_t *s, swb_store_db_t db, const void *start,
                         size_t slen, size_t max, swb_store_each_fn fn,
                         void *arg, size_t *visited);

/* Current map size and bytes in use (for metrics and tests). */
void swb_store_usage(swb_store_t *s, size_t *map_bytes, size_t *used_bytes);

/* A value that is one 8-byte big-endian number (an id, a counter), or 0
 * when the key is missing, the value is not 8 bytes or reading failed. */
uint64_t swb_store_get_u64(swb_store_t *s, swb_store_db_t db, const void *key,
                           size_t klen);

/* Helpers for 8-byte big-endian ids. */
void swb_store_u64_key(uint64_t id, unsigned char out[8]);
uint64_t swb_store_key_u64(const void *key);

#endif
