/*
 * swb_worker.h - libswitchboard's worker API: the agent side of the
 * broker's worker endpoint.
 *
 * A worker says HELLO with its profile (site, agent, channels, languages,
 * skills, sponsors, capacity), then receives OFFERs; it answers each with
 * done / fail / release. The library keeps the session alive by itself:
 * it heartbeats the broker, notices a silent broker (3 missed heartbeats),
 * reconnects with backoff (100 ms doubling to 5 s) and says HELLO again
 * with the tasks it still holds, and it re-sends DONE / FAIL until the
 * broker acknowledges them, so a result reaches the broker even across a
 * broker restart (as long as the lease is still current there).
 *
 * Everything happens inside swb_worker_poll: call it often (it never
 * blocks longer than asked). For an event loop, swb_worker_zsock() gives
 * the socket to put in a zmq_poll set; call swb_worker_poll(w, 0, ..) when
 * it is readable and at least every 100 ms.
 *
 * Threading: a worker belongs to one thread.
 */
#ifndef SWB_WORKER_H
#define SWB_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "swb_error.h"
#include "swb_msg.h"

typedef struct swb_worker swb_worker_t;

/*
 * Creates a worker for `endpoint` with the given profile (copied; its
 * `holding` is ignored) and sends HELLO. Errors: SWB_EINVAL (missing
 * site/agent/channels, bad endpoint), SWB_ENOMEM. *out owned by caller.
 */
swb_err_t swb_worker_new(const char *endpoint, const swb_m_hello_t *profile,
                         swb_worker_t **out);

/* Sends BYE (after handing back, with RELEASE, every task still held),
 * waits up to linger_ms for acks, closes and frees. NULL-safe. */
void swb_worker_destroy(swb_worker_t **w, int linger_ms);

/*
 * Runs the session for up to timeout_ms. Returns SWB_OK with *offer set
 * (owned by the caller until passed to done/fail/release, which take it)
 * when a task was offered; SWB_ETIMEOUT when nothing came; with *revoked
 * (may be NULL) set to a task id the broker took back (canceled), also
 * returning SWB_OK and *offer NULL. Fatal errors: SWB_EVERSION (the
 * broker speaks another protocol), SWB_EREFUSED (the broker refused the
 * HELLO; swb_worker_last_error says why).
 */
swb_err_t swb_worker_poll(swb_worker_t *w, int timeout_ms,
                          swb_task_t **offer, uint64_t *revoked);

/* Reports a task done with its result (copied). Takes ownership of
 * *task and sets it NULL. Queued for re-send until acknowledged. */
swb_err_t swb_worker_done(swb_worker_t *w, swb_task_t **task,
                          const void *result, size_t len);
/* Reports a failed attempt; final = no retry. Takes *task. */
swb_err_t swb_worker_fail(swb_worker_t *w, swb_task_t **task,
                          const char *reason, bool final);
/* Hands a task back untouched (e.g. on shutdown). Takes *task. */
swb_err_t swb_worker_release(swb_worker_t *w, swb_task_t **task);

/* Frees an offered task without telling the broker. NULL-safe. */
void swb_worker_task_free(swb_task_t **task);

/* The raw libzmq socket (void *) for zmq_poll. Borrowed. */
void *swb_worker_zsock(swb_worker_t *w);
/* Tasks held (offered and not yet done/failed/released). */
size_t swb_worker_held(const swb_worker_t *w);
/* Results sent but not yet acknowledged by the broker. */
size_t swb_worker_unacked(const swb_worker_t *w);
/* True while the broker is answering heartbeats. */
bool swb_worker_connected(const swb_worker_t *w);
/* Last refusal or error text from the broker. Borrowed. */
const char *swb_worker_last_error(const swb_worker_t *w);

#endif
