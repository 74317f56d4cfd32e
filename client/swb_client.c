/*
 * swb_client.c - libswitchboard's client side (see swb_client.h).
 *
 * One czmq DEALER socket talks to the broker's ROUTER. A request is one
 * frame, swb_msg_encode() of SUBMIT / STATUS / WAIT / CANCEL / LIST /
 * AGENTS / AGENT_STATE with a fresh request number (req); the reply is
 * one frame that echoes req.
 * Replies with another req are late answers to requests this client gave
 * up on and are dropped.
 *
 * No reply within the client's timeout means SWB_EUNREACHABLE, and the
 * socket is closed and connected anew, so that nothing queued for the
 * dead request - neither the request nor its late reply - can leak into
 * the next one. swb_client_wait polls with server-side WAITs of at most a
 * second and keeps retrying on a new socket while the broker has been
 * silent for less than the timeout, which carries a wait across a broker
 * restart.
 *
 * Linger: sockets are closed with linger 0 (czmq's default), which is
 * right for the simple calls (their request has been answered, or given
 * up on). Only pipelined submits that were sent but never answered are
 * worth flushing, so destroy gives those up to the timeout to leave
 * (PRODUCT.md section 9: czmq's linger 0 drops the last message) -
 * unless the broker had just been silent for a whole timeout.
 *
 * This file does not parse command lines or print anything.
 */
#include "swb_client.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_domain.h"

#define SWB_CLIENT_DEFAULT_TIMEOUT 5000
#define SWB_CLIENT_WAIT_CHUNK 1000 /* ms of one server-side WAIT      */
#define SWB_CLIENT_DAY 86400000u   /* swb_client_wait's "0 = a day"   */

struct swb_client {
    char *endpoint;
    int timeout_ms;
    zsock_t *sock;
    uint64_t next_req;     /* last req handed out                     */
    uint64_t min_live_req; /* replies below this belong to old sockets */
    uint64_t inflight;     /* pipelined submits sent, not answered    */
    bool silent;           /* the last recv_submitted timed out       */
    char last_error[800];
    char last_field[100];
    bool secure;           /* CURVE with `keys`                       */
    swb_curve_t keys;
};

/* ---- socket ------------------------------------------------------------ */

static swb_err_t
client_open(swb_client_t *c)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    if (!s) {
        snprintf(c->last_error, sizeof c->last_error,
                 "cannot create a ZeroMQ socket: %s",
                 zmq_strerror(zmq_errno()));
        return SWB_ESYS;
    }
    zsock_set_linger(s, 0);
    zsock_set_sndtimeo(s, c->timeout_ms);
    if (c->secure)
        swb_curve_apply(&c->keys, s);
    if (zsock_connect(s, "%s", c->endpoint) != 0) {
        snprintf(c->last_error, sizeof c->last_error,
                 "cannot connect to \"%s\": %s", c->endpoint,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&s);
        return SWB_EINVAL;
    }
    c->sock = s;
    c->min_live_req = c->next_req + 1;
    c->inflight = 0;
    c->silent = false;
    return SWB_OK;
}

/* Drops the socket with whatever it still holds and connects anew. */
static swb_err_t
client_reset(swb_client_t *c)
{
    zsock_destroy(&c->sock);
    return client_open(c);
}

/* A socket to use: after a failed reset there may be none yet. */
static swb_err_t
client_ready(swb_client_t *c)
{
    return c->sock ? SWB_OK : client_open(c);
}

swb_err_t
swb_client_new(const char *endpoint, int timeout_ms, swb_client_t **out)
{
    return swb_client_new_secure(endpoint, timeout_ms, NULL, out);
}

swb_err_t
swb_client_new_secure(const char *endpoint, int timeout_ms,
                      const swb_curve_t *keys, swb_client_t **out)
{
    *out = NULL;
    if (!endpoint || !*endpoint || timeout_ms < 0)
        return SWB_EINVAL;
    swb_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return SWB_ENOMEM;
    c->endpoint = strdup(endpoint);
    c->timeout_ms = timeout_ms ? timeout_ms : SWB_CLIENT_DEFAULT_TIMEOUT;
    if (keys) {
        c->secure = true;
        c->keys = *keys;
    }
    if (!c->endpoint) {
        free(c);
        return SWB_ENOMEM;
    }
    swb_err_t rc = client_open(c);
    if (rc) {
        free(c->endpoint);
        free(c);
        return rc;
    }
    *out = c;
    return SWB_OK;
}

void
swb_client_destroy(swb_client_t **cp)
{
    if (!cp || !*cp)
        return;
    swb_client_t *c = *cp;
    if (c->sock && c->inflight && !c->silent)
        zsock_set_linger(c->sock, c->timeout_ms);
    zsock_destroy(&c->sock);
    free(c->endpoint);
    free(c);
    *cp = NULL;
}

const char *
swb_client_last_error(const swb_client_t *c)
{
    return c->last_error;
}

const char *
swb_client_last_field(const swb_client_t *c)
{
    return c->last_field;
}

/* ---- frames ------------------------------------------------------------ */

static void
clear_error(swb_client_t *c)
{
    c->last_error[0] = 0;
    c->last_field[0] = 0;
}

/* The req a request carries (for stamping it). */
static uint64_t *
request_req(swb_msg_t *m)
{
    switch (m->type) {
    case SWB_MSG_SUBMIT: return &m->u.submit.req;
    case SWB_MSG_STATUS:
    case SWB_MSG_WAIT:
    case SWB_MSG_CANCEL: return &m->u.ref.req;
    case SWB_MSG_LIST: return &m->u.list.req;
    case SWB_MSG_AGENTS: return &m->u.agents.req;
    case SWB_MSG_AGENT_STATE: return &m->u.state.req;
    case SWB_MSG_STATS:
    case SWB_MSG_SITES: return &m->u.stats.req;
    default: return NULL;
    }
}

/* The req a reply echoes; false when m is no reply to a client. */
static bool
reply_req(const swb_msg_t *m, uint64_t *req)
{
    switch (m->type) {
    case SWB_MSG_SUBMITTED: *req = m->u.submitted.req; return true;
    case SWB_MSG_TASK: *req = m->u.task.req; return true;
    case SWB_MSG_TASKS: *req = m->u.tasks.req; return true;
    case SWB_MSG_AGENT_LIST: *req = m->u.agents.req; return true;
    case SWB_MSG_STATS_REPLY:
    case SWB_MSG_SITES_REPLY: *req = m->u.stats.req; return true;
    case SWB_MSG_ERROR: *req = m->u.error.req; return true;
    default: return false;
    }
}

/* Takes the broker's ERROR into last_error; returns its code. */
static swb_err_t
take_error(swb_client_t *c, const swb_m_error_t *e)
{
    swb_err_t code = swb_err_from_name(e->code);
    if (code == SWB_OK)
        code = SWB_EPROTO;
    const char *field = e->field ? e->field : "";
    snprintf(c->last_field, sizeof c->last_field, "%s", field);
    snprintf(c->last_error, sizeof c->last_error, "%s: %s%s%s", e->code,
             field, *field ? ": " : "", e->message ? e->message : "");
    return code;
}

/* Stamps m with a new req and sends it. SWB_EUNREACHABLE when even the
 * send times out (the socket is then rebuilt). */
static swb_err_t
client_send(swb_client_t *c, swb_msg_t *m, uint64_t *req)
{
    uint64_t *slot = request_req(m);
    if (!slot)
        return SWB_EINVAL;
    swb_err_t rc = client_ready(c);
    if (rc)
        return rc;
    *slot = ++c->next_req;
    void *buf = NULL;
    size_t len = 0;
    rc = swb_msg_encode(m, &buf, &len);
    if (rc)
        return rc;
    int r;
    do
        r = zmq_send(zsock_resolve(c->sock), buf, len, 0);
    while (r < 0 && zmq_errno() == EINTR && !zsys_interrupted);
    int err = zmq_errno();
    free(buf);
    if (r < 0) {
        snprintf(c->last_error, sizeof c->last_error,
                 "cannot send to %s: %s", c->endpoint, zmq_strerror(err));
        client_reset(c);
        return SWB_EUNREACHABLE;
    }
    if (req)
        *req = *slot;
    return SWB_OK;
}

/*
 * Receives and decodes one frame before `deadline` (monotonic ms). Extra
 * leading frames are skipped; the body is the last frame. Returns
 * SWB_ETIMEOUT when nothing came, a decode error (message in last_error)
 * for a frame that does not parse.
 */
static swb_err_t
client_recv(swb_client_t *c, uint64_t deadline, swb_msg_t *m)
{
    swb_err_t rc = client_ready(c);
    if (rc)
        return rc;
    void *s = zsock_resolve(c->sock);
    for (;;) {
        uint64_t now = swb_mono_ms();
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        int r = zmq_poll(&item, 1, deadline > now ? (long)(deadline - now) : 0);
        if (r < 0) {
            if (zmq_errno() == EINTR && !zsys_interrupted)
                continue;
            snprintf(c->last_error, sizeof c->last_error, "interrupted");
            return SWB_ESYS;
        }
        if (r == 0) {
            if (swb_mono_ms() >= deadline)
                return SWB_ETIMEOUT;
            continue;
        }
        zmq_msg_t part;
        zmq_msg_init(&part);
        bool got = false;
        while (zmq_msg_recv(&part, s, ZMQ_DONTWAIT) >= 0) {
            got = true;
            if (!zmq_msg_more(&part))
                break;
        }
        if (!got) {
            zmq_msg_close(&part);
            continue;
        }
        swb_decode_err_t err = {0};
        rc = swb_msg_decode(zmq_msg_data(&part), zmq_msg_size(&part),
                                      m, &err);
        zmq_msg_close(&part);
        if (rc) {
            snprintf(c->last_field, sizeof c->last_field, "%s", err.field);
            snprintf(c->last_error, sizeof c->last_error,
                     "malformed reply from the broker: %s%s%s", err.field,
                     *err.field ? ": " : "", err.message);
        }
        return rc;
    }
}

/*
 * Sends `m` and waits up to wait_ms for the reply of type `expect`, which
 * is left in *reply (caller clears it). Late replies are dropped; an
 * ERROR becomes its code; silence becomes SWB_EUNREACHABLE.
 */
static swb_err_t
client_call(swb_client_t *c, swb_msg_t *m, swb_msg_type_t expect,
            uint64_t wait_ms, swb_msg_t *reply)
{
    uint64_t req;
    clear_error(c);
    memset(reply, 0, sizeof *reply);
    swb_err_t rc = client_send(c, m, &req);
    if (rc)
        return rc;
    uint64_t deadline = swb_mono_ms() + wait_ms;
    for (;;) {
        rc = client_recv(c, deadline, reply);
        if (rc == SWB_ETIMEOUT) {
            snprintf(c->last_error, sizeof c->last_error,
                     "no reply from %s within %llu ms", c->endpoint,
                     (unsigned long long)wait_ms);
            client_reset(c);
            return SWB_EUNREACHABLE;
        }
        if (rc)
            return rc;
        uint64_t got = 0;
        bool is_reply = reply_req(reply, &got);
        if (is_reply && reply->type == SWB_MSG_ERROR && (got == req || !got)) {
            rc = take_error(c, &reply->u.error);
            swb_msg_clear(reply);
            return rc;
        }
        if (!is_reply || got != req) {
            swb_msg_clear(reply);
            continue;
        }
        if (reply->type != expect) {
            snprintf(c->last_error, sizeof c->last_error,
                     "the broker answered %s with %s", swb_msg_name(m->type),
                     swb_msg_name(reply->type));
            swb_msg_clear(reply);
            return SWB_EPROTO;
        }
        return SWB_OK;
    }
}

/* ---- submit ------------------------------------------------------------ */

static swb_msg_t
submit_msg(const swb_task_spec_t *spec)
{
    swb_msg_t m = {.type = SWB_MSG_SUBMIT};
    /* The codec only reads through the pointer. */
    m.u.submit.task = (swb_task_spec_t *)spec;
    return m;
}

swb_err_t
swb_client_submit(swb_client_t *c, const swb_task_spec_t *spec, uint64_t *id,
                  bool *duplicate)
{
    swb_msg_t m = submit_msg(spec), reply;
    swb_err_t rc = client_call(c, &m, SWB_MSG_SUBMITTED,
                               (uint64_t)c->timeout_ms, &reply);
    if (rc)
        return rc;
    *id = reply.u.submitted.id;
    if (duplicate)
        *duplicate = reply.u.submitted.duplicate;
    swb_msg_clear(&reply);
    return SWB_OK;
}

swb_err_t
swb_client_send_submit(swb_client_t *c, const swb_task_spec_t *spec,
                       uint64_t *req)
{
    swb_msg_t m = submit_msg(spec);
    clear_error(c);
    swb_err_t rc = client_send(c, &m, req);
    if (!rc)
        c->inflight++;
    return rc;
}

swb_err_t
swb_client_recv_submitted(swb_client_t *c, int timeout_ms, uint64_t *req,
                          uint64_t *id, bool *duplicate)
{
    uint64_t deadline = swb_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms
                                                                  : 0);
    clear_error(c);
    for (;;) {
        swb_msg_t reply;
        swb_err_t rc = client_recv(c, deadline, &reply);
        c->silent = rc == SWB_ETIMEOUT;
        if (rc)
            return rc;
        uint64_t got = 0;
        bool live = reply_req(&reply, &got) && got >= c->min_live_req &&
                    got <= c->next_req;
        if (live && reply.type == SWB_MSG_SUBMITTED) {
            *req = got;
            *id = reply.u.submitted.id;
            if (duplicate)
                *duplicate = reply.u.submitted.duplicate;
            rc = SWB_OK;
        } else if (live && reply.type == SWB_MSG_ERROR) {
            *req = got;
            rc = take_error(c, &reply.u.error);
        } else {
            swb_msg_clear(&reply);
            continue;
        }
        if (c->inflight)
            c->inflight--;
        swb_msg_clear(&reply);
        return rc;
    }
}

/* ---- status, wait, cancel, list ----------------------------------------- */

/* Moves the task and result out of a TASK reply, then clears it. */
static void
take_task(swb_msg_t *reply, swb_task_t *task, swb_bytes_t *result)
{
    if (task) {
        *task = *reply->u.task.task;
        free(reply->u.task.task);
        reply->u.task.task = NULL;
    }
    if (result) {
        *result = reply->u.task.result;
        memset(&reply->u.task.result, 0, sizeof reply->u.task.result);
    }
    swb_msg_clear(reply);
}

/* STATUS / WAIT / CANCEL of one id; the TASK reply in *reply. `server_ms`
 * is WAIT's timeout, `reply_ms` how long to wait for the answer. */
static swb_err_t
ref_call(swb_client_t *c, swb_msg_type_t type, uint64_t id,
         uint64_t server_ms, uint64_t reply_ms, swb_msg_t *reply)
{
    swb_msg_t m = {.type = type};
    m.u.ref.id = id;
    m.u.ref.timeout = server_ms;
    return client_call(c, &m, SWB_MSG_TASK, reply_ms, reply);
}

static void
zero_out(swb_task_t *task, swb_bytes_t *result)
{
    if (task)
        memset(task, 0, sizeof *task);
    if (result)
        memset(result, 0, sizeof *result);
}

swb_err_t
swb_client_status(swb_client_t *c, uint64_t id, swb_task_t *task,
                  swb_bytes_t *result)
{
    swb_msg_t reply;
    zero_out(task, result);
    swb_err_t rc = ref_call(c, SWB_MSG_STATUS, id, 0, (uint64_t)c->timeout_ms,
                            &reply);
    if (!rc)
        take_task(&reply, task, result);
    return rc;
}

swb_err_t
swb_client_cancel(swb_client_t *c, uint64_t id, swb_task_t *task)
{
    swb_msg_t reply;
    zero_out(task, NULL);
    swb_err_t rc = ref_call(c, SWB_MSG_CANCEL, id, 0, (uint64_t)c->timeout_ms,
                            &reply);
    if (!rc)
        take_task(&reply, task, NULL);
    return rc;
}

static bool
task_is_final(const swb_msg_t *reply)
{
    return swb_state_final(swb_state_parse(reply->u.task.task->state));
}

swb_err_t
swb_client_wait(swb_client_t *c, uint64_t id, uint64_t timeout_ms,
                swb_task_t *task, swb_bytes_t *result)
{
    uint64_t deadline = swb_mono_ms() + (timeout_ms ? timeout_ms
                                                    : SWB_CLIENT_DAY);
    /* How long past its chunk one WAIT may stay unanswered before it is
     * sent again on a new socket: half the timeout, so that a silent
     * broker gets a retry before the wait gives up. */
    uint64_t grace = (uint64_t)c->timeout_ms / 2 + 1;
    /* Time the broker owed us a reply and gave none, since its last
     * reply; its silence while a WAIT is legitimately pending does not
     * count. Past the timeout, the broker is unreachable. */
    uint64_t silent = 0;
    zero_out(task, result);
    for (;;) {
        uint64_t now = swb_mono_ms();
        uint64_t chunk = deadline > now ? deadline - now : 0;
        if (chunk > SWB_CLIENT_WAIT_CHUNK)
            chunk = SWB_CLIENT_WAIT_CHUNK;
        swb_msg_t reply;
        swb_err_t rc = ref_call(c, SWB_MSG_WAIT, id, chunk, chunk + grace,
                                &reply);
        uint64_t after = swb_mono_ms();
        if (rc == SWB_EUNREACHABLE) {
            silent += after - now > chunk ? after - now - chunk : 0;
            if (silent < (uint64_t)c->timeout_ms)
                continue;
            snprintf(c->last_error, sizeof c->last_error,
                     "no reply from %s (silent for %llu ms)", c->endpoint,
                     (unsigned long long)silent);
            return rc;
        }
        if (rc)
            return rc;
        silent = 0;
        if (task_is_final(&reply) || after >= deadline) {
            take_task(&reply, task, result);
            return SWB_OK;
        }
        swb_msg_clear(&reply);
        /* A broker that answers a WAIT early without a final state must
         * not turn this loop into a busy poll. */
        if (after - now < 50 && chunk >= 50)
            zclock_sleep(50);
    }
}

swb_err_t
swb_client_list(swb_client_t *c, const char *state, const char *site,
                uint64_t limit, swb_m_tasks_t *out)
{
    swb_msg_t m = {.type = SWB_MSG_LIST}, reply;
    memset(out, 0, sizeof *out);
    /* The codec only reads through these pointers. */
    m.u.list.state = (char *)state;
    m.u.list.site = (char *)site;
    m.u.list.limit = limit ? limit : 100;
    swb_err_t rc = client_call(c, &m, SWB_MSG_TASKS, (uint64_t)c->timeout_ms,
                               &reply);
    if (rc)
        return rc;
    *out = reply.u.tasks;
    memset(&reply.u.tasks, 0, sizeof reply.u.tasks);
    return SWB_OK;
}

/* ---- agents ------------------------------------------------------------- */

swb_err_t
swb_client_agents(swb_client_t *c, const char *site, swb_m_agents_t *out)
{
    swb_msg_t m = {.type = SWB_MSG_AGENTS}, reply;
    memset(out, 0, sizeof *out);
    /* The codec only reads through the pointer. */
    m.u.agents.site = (char *)site;
    swb_err_t rc = client_call(c, &m, SWB_MSG_AGENT_LIST,
                               (uint64_t)c->timeout_ms, &reply);
    if (rc)
        return rc;
    *out = reply.u.agents;
    memset(&reply.u.agents, 0, sizeof reply.u.agents);
    return SWB_OK;
}

swb_err_t
swb_client_agent_state(swb_client_t *c, const char *agent, const char *state,
                       const char *reason, swb_m_agents_t *out)
{
    swb_msg_t m = {.type = SWB_MSG_AGENT_STATE}, reply;
    if (out)
        memset(out, 0, sizeof *out);
    clear_error(c);
    if (!agent || !*agent || !state || !*state) {
        snprintf(c->last_field, sizeof c->last_field, "%s",
                 agent && *agent ? "state" : "agent");
        snprintf(c->last_error, sizeof c->last_error, "invalid: %s: "
                 "missing", c->last_field);
        return SWB_EINVAL;
    }
    /* The codec only reads through these pointers. */
    m.u.state.agent = (char *)agent;
    m.u.state.state = (char *)state;
    m.u.state.reason = (char *)reason;
    swb_err_t rc = client_call(c, &m, SWB_MSG_AGENT_LIST,
                               (uint64_t)c->timeout_ms, &reply);
    if (rc)
        return rc;
    if (out) {
        *out = reply.u.agents;
        memset(&reply.u.agents, 0, sizeof reply.u.agents);
    }
    swb_msg_clear(&reply);
    return SWB_OK;
}

/* ---- statistics --------------------------------------------------------- */

/* Sends a STATS or SITES request; *json takes the reply's document. */
static swb_err_t
client_document(swb_client_t *c, swb_msg_type_t type, const char *site,
                char **json)
{
    swb_msg_t m = {.type = type}, reply;
    *json = NULL;
    /* The codec only reads through the pointer. */
    m.u.stats.site = (char *)site;
    swb_err_t rc = client_call(c, &m, type == SWB_MSG_STATS
                                          ? SWB_MSG_STATS_REPLY
                                          : SWB_MSG_SITES_REPLY,
                               (uint64_t)c->timeout_ms, &reply);
    if (rc)
        return rc;
    *json = reply.u.stats.json;
    reply.u.stats.json = NULL;
    swb_msg_clear(&reply);
    return SWB_OK;
}

swb_err_t
swb_client_stats(swb_client_t *c, const char *site, char **json)
{
    return client_document(c, SWB_MSG_STATS, site, json);
}

swb_err_t
swb_client_sites(swb_client_t *c, char **json)
{
    return client_document(c, SWB_MSG_SITES, NULL, json);
}
