/*
 * swb_worker.h - libswitchboard's worker API: the agent side of the
 * broker's worker endpoint.
 *
 * A worker says HELLO with its profile (site, agent, channels, languages,
 * skills, sponsors, capacity, explicit accept, initial agent state), then
 * receives OFFERs; it answers each with done / fail / release. The
 * library keeps the session alive by itself: it heartbeats the broker,
 * notices a silent broker (3 missed heartbeats), reconnects with backoff
 * (100 ms doubling to 5 s) and says HELLO again with the tasks it still
 * holds and the agent state it is in, and it re-sends DONE / FAIL /
 * RELEASE / ACCEPT / REJECT until the broker acknowledges them, so an
 * answer reaches the broker even across a broker restart (as long as the
 * lease is still current there).
 *
 * Ringing offers. An offer either is already the worker's (ring 0: the
 * task is active) or RINGS for `ring` ms: the worker must answer with
 * swb_worker_accept (the task becomes active; keep it and answer it later
 * with done / fail / release) or swb_worker_reject (the broker offers it
 * to the next agent). An offer nobody answers rings out: the broker takes
 * it back with REVOKE (an SWB_WEV_REVOKE event with `ringing` set) and
 * counts a missed offer; after a few in a row it sets the agent
 * not-ready. Should no REVOKE come, the library drops the offer itself
 * 2 s after its ring time, with the same event. Voice offers always ring;
 * non-voice offers ring only when the profile's `accept` is true.
 *
 * Agent state. An agent is ready (gets offers), not-ready (with a reason
 * code), on break, in wrap-up (after a call, set by the broker) or
 * offline. The worker sets its own with swb_worker_set_state; the broker
 * may change it (missed offers, wrap-up, an operator) and says so with
 * STATE, reported as an SWB_WEV_STATE event. The library remembers the
 * latest state either way and says it again in HELLO after a reconnect.
 *
 * Everything happens inside swb_worker_next (or the older
 * swb_worker_poll): call it often (it never blocks longer than asked).
 * For an event loop, swb_worker_zsock() gives the socket to put in a
 * zmq_poll set; call swb_worker_next(w, 0, ..) when it is readable and
 * at least every 100 ms.
 *
 * Threading: a worker belongs to one thread.
 */
#ifndef SWB_WORKER_H
#define SWB_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "swb_curve.h"
#include "swb_error.h"
#include "swb_msg.h"

typedef struct swb_worker swb_worker_t;

/* What swb_worker_next reports. */
typedef enum swb_wevent_type {
    SWB_WEV_NONE = 0,
    SWB_WEV_OFFER,  /* a task offered to this agent: task, id, ring      */
    SWB_WEV_REVOKE, /* the broker took task `id` back: id, ringing       */
    SWB_WEV_STATE   /* the broker changed the agent state: state, reason */
} swb_wevent_type_t;

typedef struct swb_wevent {
    swb_wevent_type_t type;
    /* OFFER: the task, owned by the caller until done / fail / release /
     * reject take it (or swb_worker_task_free drops it silently). */
    swb_task_t *task;
    /* OFFER, REVOKE: the task id. */
    uint64_t id;
    /* OFFER: ms the offer rings waiting for accept / reject; 0 = the task
     * is already assigned (active). */
    uint64_t ring;
    /* REVOKE: the offer was still ringing (not accepted): it rang out or
     * the broker withdrew it. False: a task being worked on was taken
     * back (canceled, lease lost). */
    bool ringing;
    /* STATE: the new state ("ready", "not-ready", "break", "wrap-up",
     * "offline") and its reason code (NULL = none). Borrowed: valid until
     * the next swb_worker_next / swb_worker_poll on this worker. */
    const char *state;
    const char *reason;
} swb_wevent_t;

/*
 * Creates a worker for `endpoint` with the given profile (copied; its
 * `holding` is ignored) and sends HELLO. profile->state may be NULL
 * (ready), "ready", "not-ready" or "break"; set a reason code for it with
 * swb_worker_set_state right after (HELLO carries no reason).
 * profile->accept asks for explicit accept of non-voice offers too.
 * Errors: SWB_EINVAL (missing site/agent/channels, bad state, bad
 * endpoint), SWB_ENOMEM. *out owned by caller.
 */
swb_err_t swb_worker_new(const char *endpoint, const swb_m_hello_t *profile,
                         swb_worker_t **out);

/* Like swb_worker_new, speaking CurveZMQ with `keys` (own key pair and
 * the broker's public key; copied; NULL = plain text) on every
 * (re)connection. A broker that refuses the key never answers: the
 * worker keeps trying to reconnect. */
swb_err_t swb_worker_new_secure(const char *endpoint,
                                const swb_m_hello_t *profile,
                                const swb_curve_t *keys, swb_worker_t **out);

/* Sends BYE (after handing back, with RELEASE, every task still held,
 * ringing offers too), waits up to linger_ms for acks, closes and frees.
 * NULL-safe. */
void swb_worker_destroy(swb_worker_t **w, int linger_ms);

/*
 * Runs the session for up to timeout_ms and reports the next event in
 * *ev (zeroed first). Returns SWB_OK with an event, SWB_ETIMEOUT when
 * nothing came (ev->type SWB_WEV_NONE). Fatal errors (every later call
 * returns them too): SWB_EVERSION (the broker speaks another protocol),
 * SWB_EREFUSED (the broker refused the HELLO; swb_worker_last_error says
 * why). SWB_EINVAL when w or ev is NULL.
 */
swb_err_t swb_worker_next(swb_worker_t *w, int timeout_ms, swb_wevent_t *ev);

/*
 * The older form of swb_worker_next: returns SWB_OK with *offer set
 * (owned as ev->task above) when a task was offered, or with *revoked
 * (may be NULL) set to a task id the broker took back and *offer NULL;
 * SWB_ETIMEOUT when nothing came. STATE events are absorbed (see
 * swb_worker_state). A ringing offer must still be accepted: check
 * swb_worker_ringing. Same fatal errors.
 */
swb_err_t swb_worker_poll(swb_worker_t *w, int timeout_ms,
                          swb_task_t **offer, uint64_t *revoked);

/*
 * Accepts a ringing offer: sends ACCEPT (re-sent until ACKed). The task
 * stays with the caller, now active, to be answered later with done /
 * fail / release. A no-op (SWB_OK) for an offer that does not ring or
 * was accepted already. Errors: SWB_EINVAL (NULL arguments), SWB_ESTALE
 * (not held any more: revoked or rang out; the task stays with the
 * caller, who should free it), SWB_ENOMEM. If the broker answers that
 * the offer is gone (it rang out meanwhile), an SWB_WEV_REVOKE event
 * follows.
 */
swb_err_t swb_worker_accept(swb_worker_t *w, const swb_task_t *task);

/*
 * Rejects a ringing offer: sends REJECT with the reason (may be NULL;
 * cut to SWB_MAX_REASON bytes of UTF-8) and takes *task (set NULL); the
 * broker offers the task to the next agent. Errors: SWB_EINVAL (NULL
 * arguments), SWB_ESTATE (the offer does not ring or was accepted: use
 * release or fail; *task stays with the caller), SWB_ESTALE (not held any
 * more; *task is freed), SWB_ENOMEM (*task stays).
 */
swb_err_t swb_worker_reject(swb_worker_t *w, swb_task_t **task,
                            const char *reason);

/* Reports a task done with its result (copied). Takes ownership of
 * *task and sets it NULL. Queued for re-send until acknowledged.
 * Errors: SWB_EINVAL, SWB_ETOOBIG (result over SWB_MAX_PAYLOAD; *task
 * stays), SWB_ESTALE (not held any more; *task is freed), SWB_ENOMEM
 * (*task stays). A ringing offer may be answered directly: the broker
 * takes the answer as an accept. */
swb_err_t swb_worker_done(swb_worker_t *w, swb_task_t **task,
                          const void *result, size_t len);
/* Reports a failed attempt; final = no retry. Takes *task. Errors as
 * for done. */
swb_err_t swb_worker_fail(swb_worker_t *w, swb_task_t **task,
                          const char *reason, bool final);
/* Hands a task back untouched (e.g. on shutdown). Takes *task. Errors
 * as for done. */
swb_err_t swb_worker_release(swb_worker_t *w, swb_task_t **task);

/*
 * Sets the agent state: "ready", "not-ready" or "break", with an optional
 * reason code (NULL or "" = none; at most SWB_MAX_NAME bytes of UTF-8
 * without control characters, e.g. "lunch", "training"). Sends STATE now
 * when the session is up; either way it is remembered and said again in
 * HELLO (and a STATE for the reason) after a reconnect. STATE is not
 * acknowledged. Errors: SWB_EINVAL (another state, a bad reason, NULL).
 */
swb_err_t swb_worker_set_state(swb_worker_t *w, const char *state,
                               const char *reason);

/* The agent state as last set here or reported by the broker ("ready"
 * until then), and in *reason (may be NULL) its reason code or NULL.
 * Both borrowed until the next call on w. */
const char *swb_worker_state(const swb_worker_t *w, const char **reason);

/*
 * True while held task `id` is a ringing offer waiting for accept /
 * reject (until the broker revokes it, even past its ring time); then
 * *ms_left (may be NULL) is what is left of its ring time, 0 once run
 * out. False for unknown, assigned or accepted tasks.
 */
bool swb_worker_ringing(const swb_worker_t *w, uint64_t id,
                        uint64_t *ms_left);

/* Frees an offered task without telling the broker. NULL-safe. */
void swb_worker_task_free(swb_task_t **task);

/* The raw libzmq socket (void *) for zmq_poll. Borrowed. */
void *swb_worker_zsock(swb_worker_t *w);
/* Tasks held (offered and not yet done/failed/released/rejected). */
size_t swb_worker_held(const swb_worker_t *w);
/* Answers sent but not yet acknowledged by the broker. */
size_t swb_worker_unacked(const swb_worker_t *w);
/* True while the broker is answering heartbeats. */
bool swb_worker_connected(const swb_worker_t *w);
/* Last refusal or error text from the broker. Borrowed. */
const char *swb_worker_last_error(const swb_worker_t *w);

#endif
