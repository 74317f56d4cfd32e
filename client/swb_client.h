/*
 * swb_client.h - libswitchboard's client API: submit tasks to a regional
 * broker and follow them (status, wait, cancel, list); see the agents and
 * set their states (agents, agent_state); read the operations figures
 * (stats, sites).
 *
 * A client is one ZeroMQ DEALER socket to the broker's client endpoint.
 * Every request carries a request number (req) and every reply echoes it,
 * so a client may keep many submits in flight (swb_client_send_submit +
 * swb_client_recv_submitted) - that is how batch files and benchmarks go
 * fast. The simple calls send one request and wait for its reply.
 *
 * A broker that does not answer within the client's timeout gives
 * SWB_EUNREACHABLE, never a hang. The socket is then rebuilt so a late
 * reply cannot be taken for the next request's.
 *
 * Threading: a client belongs to one thread.
 */
#ifndef SWB_CLIENT_H
#define SWB_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "swb_curve.h"
#include "swb_error.h"
#include "swb_msg.h"

typedef struct swb_client swb_client_t;

/*
 * Connects to `endpoint` (e.g. "tcp://127.0.0.1:7700"). timeout_ms is how
 * long a request waits for its reply (0 = 5000). ZeroMQ connects lazily,
 * so an absent broker shows up as SWB_EUNREACHABLE on the first request.
 * Errors: SWB_EINVAL (bad endpoint), SWB_ENOMEM. *out owned by the caller.
 */
swb_err_t swb_client_new(const char *endpoint, int timeout_ms,
                         swb_client_t **out);
/*
 * Like swb_client_new, then speaks CurveZMQ with `keys` (own key pair and
 * the broker's public key; copied; NULL = plain text, as swb_client_new).
 * A broker that refuses the key never answers: requests end in
 * SWB_EUNREACHABLE. Errors as swb_client_new.
 */
swb_err_t swb_client_new_secure(const char *endpoint, int timeout_ms,
                                const swb_curve_t *keys, swb_client_t **out);
/* Closes the socket and frees; sets *c to NULL. NULL-safe. */
void swb_client_destroy(swb_client_t **c);

/*
 * The broker's last error for this client: code name, field and message,
 * e.g. "invalid: task.channel: unknown channel \"fax\"". Borrowed, valid
 * until the next call on c. "" when none.
 */
const char *swb_client_last_error(const swb_client_t *c);
/* The field named by the broker's last error ("" if none). Borrowed. */
const char *swb_client_last_field(const swb_client_t *c);

/*
 * Submits one task and waits for the durable acknowledgement.
 * *id receives the task id; *duplicate (may be NULL) is true when the
 * idempotency key had been seen and *id is the earlier task's.
 * Errors: the broker's code (SWB_EINVAL, SWB_ETOOBIG, SWB_EFULL, ...),
 * SWB_EUNREACHABLE.
 */
swb_err_t swb_client_submit(swb_client_t *c, const swb_task_spec_t *spec,
                            uint64_t *id, bool *duplicate);

/* Pipelining: sends a submit without waiting; *req identifies it. */
swb_err_t swb_client_send_submit(swb_client_t *c, const swb_task_spec_t *spec,
                                 uint64_t *req);
/*
 * Receives the next submit reply (in any order) within timeout_ms.
 * Sets *req and, on success, *id / *duplicate. Returns the broker's error
 * for that request (message in swb_client_last_error), SWB_ETIMEOUT when
 * nothing came in time.
 */
swb_err_t swb_client_recv_submitted(swb_client_t *c, int timeout_ms,
                                    uint64_t *req, uint64_t *id,
                                    bool *duplicate);

/*
 * Fetches a task. *task (zeroed by the call) and *result (may be NULL)
 * are filled and owned by the caller: swb_codec_free(&swb_task_schema,
 * task) and free(result->data).
 * Errors: SWB_ENOTFOUND, SWB_EUNREACHABLE, ...
 */
swb_err_t swb_client_status(swb_client_t *c, uint64_t id, swb_task_t *task,
                            swb_bytes_t *result);

/*
 * Waits until the task is final or timeout_ms passes (0 = a day), then
 * fills *task / *result as swb_client_status does. Returns SWB_OK with a
 * non-final task when the time ran out; SWB_EUNREACHABLE when the broker
 * stays silent (this call retries the wait across broker restarts while
 * its time lasts).
 */
swb_err_t swb_client_wait(swb_client_t *c, uint64_t id, uint64_t timeout_ms,
                          swb_task_t *task, swb_bytes_t *result);

/* Cancels a task that is not final; fills *task (may be NULL) with its
 * new state. Errors: SWB_ENOTFOUND, SWB_ESTATE (already final). */
swb_err_t swb_client_cancel(swb_client_t *c, uint64_t id, swb_task_t *task);

/*
 * Lists tasks, newest first, filtered by state and site (NULL = any),
 * at most `limit` (0 = 100). *out is an swb_m_tasks_t owned by the caller:
 * free with swb_codec_free(swb_msg_schema(SWB_MSG_TASKS), out).
 */
swb_err_t swb_client_list(swb_client_t *c, const char *state,
                          const char *site, uint64_t limit,
                          swb_m_tasks_t *out);

/*
 * Lists the broker's agents: those connected first (live state, tasks
 * held, offers missed), then those known from its store that are offline
 * now (their last recorded state). `site` (NULL = all) keeps only that
 * site's agents. *out (zeroed by the call) is an swb_m_agents_t whose
 * `agents` list holds swb_agent_info_t, owned by the caller (left empty
 * on error): free with swb_codec_free(swb_msg_schema(SWB_MSG_AGENT_LIST),
 * out).
 * Errors: SWB_EINVAL (bad site), SWB_EUNREACHABLE, ...
 */
swb_err_t swb_client_agents(swb_client_t *c, const char *site,
                            swb_m_agents_t *out);

/*
 * Sets a connected agent's state, as an operator would: `state` is
 * "ready", "not-ready" or "break" (swb_agent_state_name), `reason` a
 * reason code for not-ready / break (NULL = none; at most SWB_MAX_NAME
 * bytes). The broker tells the agent's worker. *out (may be NULL; zeroed
 * by the call) receives the changed agent as the one row of its `agents`
 * list, owned by the caller like swb_client_agents' *out.
 * Errors: SWB_ENOTFOUND (no such agent connected), SWB_EINVAL (missing
 * agent or state, or a state other than the three; swb_client_last_field
 * names it), SWB_EUNREACHABLE, ...
 */
swb_err_t swb_client_agent_state(swb_client_t *c, const char *agent,
                                 const char *state, const char *reason,
                                 swb_m_agents_t *out);

/*
 * The broker's statistics document (broker/stats.h describes every key):
 * per region, site and queue, live figures and the last_15m / today /
 * total windows. `site` (NULL = all) keeps only that site in "sites".
 * *json (NUL-terminated JSON text, malloc'd) is owned by the caller:
 * free(). Errors: SWB_ENOTFOUND (site unknown to the broker),
 * SWB_EUNREACHABLE, ...
 */
swb_err_t swb_client_stats(swb_client_t *c, const char *site, char **json);

/* The broker's sites document (broker/stats.h): each site with country,
 * time zone, hours, open now and agents by state. *json as for
 * swb_client_stats. */
swb_err_t swb_client_sites(swb_client_t *c, char **json);

#endif
