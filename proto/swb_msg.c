/*
 * swb_msg.c - the message catalog: one schema per message body, and the
 * envelope [version, command, body] around them (see swb_msg.h).
 *
 * To add a message: add its struct and type in swb_msg.h, its field table
 * and a row in swb_msg_table below, and its section in PROTOCOL.md.
 */
#include "swb_msg.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_domain.h"

/* One field row: struct type, member, wire name, type, required, limit. */
#define FLD(T, member, wname, ftype, req, lim)                                 \
    {wname, ftype, offsetof(T, member), req, lim, 0, NULL}
#define LVL(T, member, wname, lim, lvmax)                                      \
    {wname, SWB_F_LEVELS, offsetof(T, member), false, lim, lvmax, NULL}
#define SUB(T, member, wname, ftype, req, lim, schema)                         \
    {wname, ftype, offsetof(T, member), req, lim, 0, schema}
#define SCHEMA(varname, T, label, table)                                       \
    const swb_schema_t varname = {label, sizeof(T), table,                     \
                                  sizeof table / sizeof table[0]}

#define MS 86400000u /* a day in ms, limit of waits and timeouts */

static const swb_field_t spec_fields[] = {
    FLD(swb_task_spec_t, channel, "channel", SWB_F_STR, true, 32),
    FLD(swb_task_spec_t, sponsor, "sponsor", SWB_F_STR, false, SWB_MAX_NAME),
    LVL(swb_task_spec_t, lang, "lang", 4, 6),
    LVL(swb_task_spec_t, skills, "skills", 32, 100),
    FLD(swb_task_spec_t, priority, "priority", SWB_F_U64, false,
        SWB_MAX_PRIORITY),
    FLD(swb_task_spec_t, deadline, "deadline", SWB_F_U64, false, 0),
    FLD(swb_task_spec_t, patience, "patience", SWB_F_U64, false, 86400),
    FLD(swb_task_spec_t, window, "window", SWB_F_STR, false, 11),
    FLD(swb_task_spec_t, tz, "tz", SWB_F_STR, false, SWB_MAX_NAME),
    FLD(swb_task_spec_t, not_before, "not_before", SWB_F_U64, false, 0),
    FLD(swb_task_spec_t, sites, "sites", SWB_F_STRS, false, 64),
    FLD(swb_task_spec_t, countries, "countries", SWB_F_STRS, false, 64),
    FLD(swb_task_spec_t, key, "key", SWB_F_STR, false, SWB_MAX_KEY),
    FLD(swb_task_spec_t, payload, "payload", SWB_F_BIN, false,
        SWB_MAX_PAYLOAD),
    FLD(swb_task_spec_t, max_attempts, "max_attempts", SWB_F_U64, false,
        SWB_MAX_ATTEMPTS),
    FLD(swb_task_spec_t, routing, "routing", SWB_F_STR, false, 16),
};
SCHEMA(swb_task_spec_schema, swb_task_spec_t, "task", spec_fields);

static const swb_field_t task_fields[] = {
    FLD(swb_task_t, id, "id", SWB_F_U64, true, 0),
    FLD(swb_task_t, state, "state", SWB_F_STR, true, 16),
    FLD(swb_task_t, attempt, "attempt", SWB_F_U64, false, 0),
    FLD(swb_task_t, lease, "lease", SWB_F_U64, false, 0),
    FLD(swb_task_t, created, "created", SWB_F_U64, false, 0),
    FLD(swb_task_t, updated, "updated", SWB_F_U64, false, 0),
    FLD(swb_task_t, ready_at, "ready_at", SWB_F_U64, false, 0),
    FLD(swb_task_t, agent, "agent", SWB_F_STR, false, SWB_MAX_NAME),
    FLD(swb_task_t, site, "site", SWB_F_STR, false, SWB_MAX_NAME),
    FLD(swb_task_t, reason, "reason", SWB_F_STR, false, SWB_MAX_REASON),
    SUB(swb_task_t, spec, "spec", SWB_F_STRUCT, true, 0,
        &swb_task_spec_schema),
    FLD(swb_task_t, region, "region", SWB_F_STR, false, SWB_MAX_NAME),
    FLD(swb_task_t, peer_id, "peer_id", SWB_F_U64, false, 0),
    FLD(swb_task_t, hand, "hand", SWB_F_STR, false, 16),
    FLD(swb_task_t, hand_seq, "hand_seq", SWB_F_U64, false, 0),
};
SCHEMA(swb_task_schema, swb_task_t, "task", task_fields);

static const swb_field_t hold_fields[] = {
    FLD(swb_hold_t, id, "id", SWB_F_U64, true, 0),
    FLD(swb_hold_t, lease, "lease", SWB_F_U64, true, 0),
};
static SCHEMA(hold_schema, swb_hold_t, "holding", hold_fields);

static const swb_field_t submit_fields[] = {
    FLD(swb_m_submit_t, req, "req", SWB_F_U64, false, 0),
    SUB(swb_m_submit_t, task, "task", SWB_F_STRUCT, true, 0,
        &swb_task_spec_schema),
};
static SCHEMA(submit_schema, swb_m_submit_t, "submit", submit_fields);

static const swb_field_t submitted_fields[] = {
    FLD(swb_m_submitted_t, req, "req", SWB_F_U64, false, 0),
    FLD(swb_m_submitted_t, id, "id", SWB_F_U64, true, 0),
    FLD(swb_m_submitted_t, duplicate, "duplicate", SWB_F_BOOL, false, 0),
    FLD(swb_m_submitted_t, state, "state", SWB_F_STR, false, 16),
};
static SCHEMA(submitted_schema, swb_m_submitted_t, "submitted",
              submitted_fields);

static const swb_field_t ref_fields[] = {
    FLD(swb_m_ref_t, req, "req", SWB_F_U64, false, 0),
    FLD(swb_m_ref_t, id, "id", SWB_F_U64, true, 0),
};
static SCHEMA(ref_schema, swb_m_ref_t, "ref", ref_fields);

static const swb_field_t wait_fields[] = {
    FLD(swb_m_ref_t, req, "req", SWB_F_U64, false, 0),
    FLD(swb_m_ref_t, id, "id", SWB_F_U64, true, 0),
    FLD(swb_m_ref_t, timeout, "timeout", SWB_F_U64, false, MS),
};
static SCHEMA(wait_schema, swb_m_ref_t, "wait", wait_fields);

static const swb_field_t taskmsg_fields[] = {
    FLD(swb_m_task_t, req, "req", SWB_F_U64, false, 0),
    SUB(swb_m_task_t, task, "task", SWB_F_STRUCT, true, 0, &swb_task_schema),
    FLD(swb_m_task_t, result, "result", SWB_F_BIN, false, SWB_MAX_PAYLOAD),
};
static SCHEMA(taskmsg_schema, swb_m_task_t, "task reply", taskmsg_fields);

static const swb_field_t list_fields[] = {
    FLD(swb_m_list_t, req, "req", SWB_F_U64, false, 0),
    FLD(swb_m_list_t, state, "state", SWB_F_STR, false, 16),
    FLD(swb_m_list_t, site, "site", SWB_F_STR, false, SWB_MAX_NAME),
    FLD(swb_m_list_t, limit, "limit", SWB_F_U64, false, SWB_MAX_LIST),
};
static SCHEMA(list_schema, swb_m_list_t, "list", list_fields);

static const swb_field_t tasks_fields[] = {
    FLD(swb_m_tasks_t, req, "req", SWB_F_U64, false, 0),
    SUB(swb_m_tasks_t, tasks, "tasks", SWB_F_LIST, false, SWB_MAX_LIST,
        &swb_task_schema),
    FLD(swb_m_tasks_t, more, "more", SWB_F_BOOL, false, 0),
};
static SCHEMA(tasks_schema, swb_m_tasks_t, "tasks", tasks_fields);

static const swb_field_t error_fields[] = {
    FLD(swb_m_error_t, req, "req", SWB_F_U64, false, 0),
    FLD(swb_m_error_t, id, "id", SWB_F_U64, false, 0),
    FLD(swb_m_error_t, code, "code", SWB_F_STR, true, 32),
    FLD(swb_m_error_t, field, "field", SWB_F_STR, false, 96),
    FLD(swb_m_error_t, message, "message", SWB_F_STR, true, 512),
};
static SCHEMA(error_schema, swb_m_error_t, "error", error_fields);

static const swb_field_t hello_fields[] = {
    FLD(swb_m_hello_t, site, "site", SWB_F_STR, true, SWB_MAX_NAME),
    FLD(swb_m_hello_t, agent, "agent", SWB_F_STR, true, SWB_MAX_NAME),
    FLD(swb_m_hello_t, channels, "channels", SWB_F_STRS, true, SWB_CH_COUNT),
    LVL(swb_m_hello_t, speaks, "speaks", 32, 6),
    LVL(swb_m_hello_t, writes, "writes", 32, 6),
    LVL(swb_m_hello_t, skills, "skills", 64, 100),
    FLD(swb_m_hello_t, sponsors, "sponsors", SWB_F_STRS, false, 64),
    LVL(swb_m_hello_t, capacity, "capacity", SWB_CH_COUNT, 100),
    SUB(swb_m_hello_t, holding, "holding", SWB_F_LIST, false, 1000,
        &hold_schema),
    FLD(swb_m_hello_t, accept, "accept", SWB_F_BOOL, false, 0),
    FLD(swb_m_hello_t, state, "state", SWB_F_STR, false, 16),
};
static SCHEMA(hello_schema, swb_m_hello_t, "hello", hello_fields);

static const swb_field_t welcome_fields[] = {
    FLD(swb_m_welcome_t, heartbeat, "heartbeat", SWB_F_U64, true, MS),
    FLD(swb_m_welcome_t, lease, "lease", SWB_F_U64, true, MS),
    FLD(swb_m_welcome_t, region, "region", SWB_F_STR, false, SWB_MAX_NAME),
};
static SCHEMA(welcome_schema, swb_m_welcome_t, "welcome", welcome_fields);

static const swb_schema_t empty_schema = {"empty", sizeof(swb_m_empty_t),
                                          NULL, 0};

static const swb_field_t offer_fields[] = {
    SUB(swb_m_offer_t, task, "task", SWB_F_STRUCT, true, 0, &swb_task_schema),
    FLD(swb_m_offer_t, ring, "ring", SWB_F_U64, false, MS),
};
static SCHEMA(offer_schema, swb_m_offer_t, "offer", offer_fields);

static const swb_field_t done_fields[] = {
    FLD(swb_m_done_t, id, "id", SWB_F_U64, true, 0),
    FLD(swb_m_done_t, lease, "lease", SWB_F_U64, true, 0),
    FLD(swb_m_done_t, result, "result", SWB_F_BIN, false, SWB_MAX_PAYLOAD),
};
static SCHEMA(done_schema, swb_m_done_t, "done", done_fields);

static const swb_field_t fail_fields[] = {
    FLD(swb_m_fail_t, id, "id", SWB_F_U64, true, 0),
    FLD(swb_m_fail_t, lease, "lease", SWB_F_U64, true, 0),
    FLD(swb_m_fail_t, reason, "reason", SWB_F_STR, false, SWB_MAX_REASON),
    FLD(swb_m_fail_t, final, "final", SWB_F_BOOL, false, 0),
};
static SCHEMA(fail_schema, swb_m_fail_t, "fail", fail_fields);

static const swb_field_t lease_fields[] = {
    FLD(swb_m_lease_t, id, "id", SWB_F_U64, true, 0),
    FLD(swb_m_lease_t, lease, "lease", SWB_F_U64, false, 0),
};
static SCHEMA(lease_schema, swb_m_lease_t, "lease", lease_fields);

static const swb_field_t state_fields[] = {
    FLD(swb_m_state_t, req, "req", SWB_F_U64, false, 0),
    FLD(swb_m_state_t, agent, "agent", SWB_F_STR, false, SWB_MAX_NAME),
    FLD(swb_m_state_t, state, "state", SWB_F_STR, true, 16),
    FLD(swb_m_state_t, reason, "reason", SWB_F_STR, false, SWB_MAX_NAME),
};
static SCHEMA(state_schema, swb_m_state_t, "state", state_fields);

static const swb_field_t agent_info_fields[] = {
    FLD(swb_agent_info_t, agent, "agent", SWB_F_STR, true, SWB_MAX_NAME),
    FLD(swb_agent_info_t, site, "site", SWB_F_STR, false, SWB_MAX_NAME),
    FLD(swb_agent_info_t, state, "state", SWB_F_STR, true, 16),
    FLD(swb_agent_info_t, reason, "reason", SWB_F_STR, false, SWB_MAX_NAME),
    FLD(swb_agent_info_t, since, "since", SWB_F_U64, false, 0),
    FLD(swb_agent_info_t, channels, "channels", SWB_F_STRS, false,
        SWB_CH_COUNT),
    FLD(swb_agent_info_t, held, "held", SWB_F_U64, false, 0),
    FLD(swb_agent_info_t, missed, "missed", SWB_F_U64, false, 0),
    FLD(swb_agent_info_t, connected, "connected", SWB_F_BOOL, false, 0),
};
SCHEMA(swb_agent_info_schema, swb_agent_info_t, "agent", agent_info_fields);

static const swb_field_t agents_fields[] = {
    FLD(swb_m_agents_t, req, "req", SWB_F_U64, false, 0),
    FLD(swb_m_agents_t, site, "site", SWB_F_STR, false, SWB_MAX_NAME),
    SUB(swb_m_agents_t, agents, "agents", SWB_F_LIST, false, SWB_MAX_LIST,
        &swb_agent_info_schema),
};
static SCHEMA(agents_schema, swb_m_agents_t, "agents", agents_fields);

static const swb_field_t stats_fields[] = {
    FLD(swb_m_stats_t, req, "req", SWB_F_U64, false, 0),
    FLD(swb_m_stats_t, site, "site", SWB_F_STR, false, SWB_MAX_NAME),
};
static SCHEMA(stats_schema, swb_m_stats_t, "stats", stats_fields);

static const swb_field_t sites_fields[] = {
    FLD(swb_m_stats_t, req, "req", SWB_F_U64, false, 0),
};
static SCHEMA(sites_schema, swb_m_stats_t, "sites", sites_fields);

static const swb_field_t doc_fields[] = {
    FLD(swb_m_stats_t, req, "req", SWB_F_U64, false, 0),
    FLD(swb_m_stats_t, json, "json", SWB_F_STR, true, SWB_MAX_STATS_JSON),
};
static SCHEMA(doc_schema, swb_m_stats_t, "document", doc_fields);

static const swb_field_t idref_fields[] = {
    FLD(swb_idref_t, id, "id", SWB_F_U64, true, 0),
    FLD(swb_idref_t, seq, "seq", SWB_F_U64, false, 0),
};
static SCHEMA(idref_schema, swb_idref_t, "idref", idref_fields);

static const swb_field_t peer_hello_fields[] = {
    FLD(swb_m_peer_hello_t, region, "region", SWB_F_STR, true, SWB_MAX_NAME),
    SUB(swb_m_peer_hello_t, reclaimed, "reclaimed", SWB_F_LIST, false, 1000,
        &idref_schema),
};
static SCHEMA(peer_hello_schema, swb_m_peer_hello_t, "peer_hello",
              peer_hello_fields);

static const swb_field_t cap_fields[] = {
    FLD(swb_cap_t, site, "site", SWB_F_STR, true, SWB_MAX_NAME),
    FLD(swb_cap_t, country, "country", SWB_F_STR, false, 8),
    FLD(swb_cap_t, channels, "channels", SWB_F_STRS, true, SWB_CH_COUNT),
    LVL(swb_cap_t, speaks, "speaks", 32, 6),
    LVL(swb_cap_t, writes, "writes", 32, 6),
    LVL(swb_cap_t, skills, "skills", 64, 100),
    FLD(swb_cap_t, sponsors, "sponsors", SWB_F_STRS, false, 64),
    FLD(swb_cap_t, open, "open", SWB_F_BOOL, false, 0),
    FLD(swb_cap_t, agents, "agents", SWB_F_U64, false, 0),
    FLD(swb_cap_t, ready, "ready", SWB_F_U64, false, 0),
    FLD(swb_cap_t, waiting, "waiting", SWB_F_U64, false, 0),
    FLD(swb_cap_t, wait, "wait", SWB_F_U64, false, 0),
};
SCHEMA(swb_cap_schema, swb_cap_t, "class", cap_fields);

static const swb_field_t advert_fields[] = {
    FLD(swb_m_advert_t, region, "region", SWB_F_STR, true, SWB_MAX_NAME),
    FLD(swb_m_advert_t, seq, "seq", SWB_F_U64, false, 0),
    SUB(swb_m_advert_t, classes, "classes", SWB_F_LIST, false, SWB_MAX_CAPS,
        &swb_cap_schema),
};
static SCHEMA(advert_schema, swb_m_advert_t, "advert", advert_fields);

static const swb_field_t forward_fields[] = {
    FLD(swb_m_forward_t, id, "id", SWB_F_U64, true, 0),
    FLD(swb_m_forward_t, seq, "seq", SWB_F_U64, false, 0),
    FLD(swb_m_forward_t, created, "created", SWB_F_U64, false, 0),
    SUB(swb_m_forward_t, task, "task", SWB_F_STRUCT, true, 0,
        &swb_task_spec_schema),
};
static SCHEMA(forward_schema, swb_m_forward_t, "forward", forward_fields);

static const swb_field_t hand_fields[] = {
    FLD(swb_m_hand_t, id, "id", SWB_F_U64, true, 0),
    FLD(swb_m_hand_t, peer_id, "peer_id", SWB_F_U64, false, 0),
    FLD(swb_m_hand_t, seq, "seq", SWB_F_U64, false, 0),
    FLD(swb_m_hand_t, ok, "ok", SWB_F_BOOL, false, 0),
};
static SCHEMA(hand_schema, swb_m_hand_t, "hand-off", hand_fields);

static const struct {
    const char *name;
    const swb_schema_t *schema;
} swb_msg_table[SWB_MSG_COUNT] = {
    [SWB_MSG_SUBMIT] = {"submit", &submit_schema},
    [SWB_MSG_SUBMITTED] = {"submitted", &submitted_schema},
    [SWB_MSG_STATUS] = {"status", &ref_schema},
    [SWB_MSG_WAIT] = {"wait", &wait_schema},
    [SWB_MSG_CANCEL] = {"cancel", &ref_schema},
    [SWB_MSG_TASK] = {"task", &taskmsg_schema},
    [SWB_MSG_LIST] = {"list", &list_schema},
    [SWB_MSG_TASKS] = {"tasks", &tasks_schema},
    [SWB_MSG_ERROR] = {"error", &error_schema},
    [SWB_MSG_HELLO] = {"hello", &hello_schema},
    [SWB_MSG_WELCOME] = {"welcome", &welcome_schema},
    [SWB_MSG_HEARTBEAT] = {"heartbeat", &empty_schema},
    [SWB_MSG_OFFER] = {"offer", &offer_schema},
    [SWB_MSG_DONE] = {"done", &done_schema},
    [SWB_MSG_FAIL] = {"fail", &fail_schema},
    [SWB_MSG_ACK] = {"ack", &lease_schema},
    [SWB_MSG_RELEASE] = {"release", &lease_schema},
    [SWB_MSG_REVOKE] = {"revoke", &lease_schema},
    [SWB_MSG_BYE] = {"bye", &empty_schema},
    [SWB_MSG_ACCEPT] = {"accept", &lease_schema},
    [SWB_MSG_REJECT] = {"reject", &fail_schema},
    [SWB_MSG_STATE] = {"state", &state_schema},
    [SWB_MSG_AGENTS] = {"agents", &agents_schema},
    [SWB_MSG_AGENT_LIST] = {"agent_list", &agents_schema},
    [SWB_MSG_AGENT_STATE] = {"agent_state", &state_schema},
    [SWB_MSG_STATS] = {"stats", &stats_schema},
    [SWB_MSG_STATS_REPLY] = {"stats_reply", &doc_schema},
    [SWB_MSG_SITES] = {"sites", &sites_schema},
    [SWB_MSG_SITES_REPLY] = {"sites_reply", &doc_schema},
    [SWB_MSG_PEER_HELLO] = {"peer_hello", &peer_hello_schema},
    [SWB_MSG_ADVERT] = {"advert", &advert_schema},
    [SWB_MSG_FORWARD] = {"forward", &forward_schema},
    [SWB_MSG_FORWARDED] = {"forwarded", &hand_schema},
    [SWB_MSG_START] = {"start", &hand_schema},
    [SWB_MSG_GO] = {"go", &hand_schema},
    [SWB_MSG_RESULT] = {"result", &taskmsg_schema},
    [SWB_MSG_RESULT_ACK] = {"result_ack", &hand_schema},
    [SWB_MSG_RECLAIMED] = {"reclaimed", &hand_schema},
    [SWB_MSG_PEER_CANCEL] = {"peer_cancel", &hand_schema},
};

const char *
swb_msg_name(swb_msg_type_t type)
{
    return (unsigned)type < SWB_MSG_COUNT ? swb_msg_table[type].name : "?";
}

const swb_schema_t *
swb_msg_schema(swb_msg_type_t type)
{
    return (unsigned)type < SWB_MSG_COUNT ? swb_msg_table[type].schema : NULL;
}

swb_err_t
swb_msg_encode(const swb_msg_t *m, void **buf, size_t *len)
{
    if ((unsigned)m->type >= SWB_MSG_COUNT)
        return SWB_EINVAL;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const char *name = swb_msg_table[m->type].name;
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint64(&pk, SWB_PROTO_VERSION);
    msgpack_pack_str(&pk, strlen(name));
    msgpack_pack_str_body(&pk, name, strlen(name));
    swb_codec_pack(&pk, swb_msg_table[m->type].schema, &m->u);
    if (!sb.data)
        return SWB_ENOMEM;
    *buf = sb.data;
    *len = sb.size;
    return SWB_OK;
}

static swb_err_t
msg_fail(swb_decode_err_t *err, swb_err_t code, const char *field,
         const char *message)
{
    if (err) {
        err->code = code;
        snprintf(err->field, sizeof err->field, "%s", field);
        snprintf(err->message, sizeof err->message, "%s", message);
    }
    return code;
}

swb_err_t
swb_msg_decode(const void *buf, size_t len, swb_msg_t *m,
               swb_decode_err_t *err)
{
    memset(m, 0, sizeof *m);
    msgpack_unpacked up;
    swb_err_t rc = swb_codec_unpack_frame(buf, len, &up, err);
    if (rc)
        goto out;
    const msgpack_object *o = &up.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3) {
        rc = msg_fail(err, SWB_EDECODE, "", "a message must be an array "
                      "[version, command, body]");
        goto out;
    }
    const msgpack_object *ver = &o->via.array.ptr[0];
    const msgpack_object *cmd = &o->via.array.ptr[1];
    if (ver->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        rc = msg_fail(err, SWB_EDECODE, "version", "version must be an "
                      "unsigned integer");
        goto out;
    }
    if (ver->via.u64 != SWB_PROTO_VERSION) {
        char why[120];
        snprintf(why, sizeof why, "protocol version %llu is not supported; "
                 "this side speaks %d", (unsigned long long)ver->via.u64,
                 SWB_PROTO_VERSION);
        rc = msg_fail(err, SWB_EVERSION, "version", why);
        goto out;
    }
    if (cmd->type != MSGPACK_OBJECT_STR) {
        rc = msg_fail(err, SWB_EDECODE, "command", "command must be a string");
        goto out;
    }
    int type = -1;
    for (int i = 0; i < SWB_MSG_COUNT; i++) {
        const char *n = swb_msg_table[i].name;
        if (strlen(n) == cmd->via.str.size &&
            memcmp(n, cmd->via.str.ptr, cmd->via.str.size) == 0) {
            type = i;
            break;
        }
    }
    if (type < 0) {
        char why[120];
        int n = cmd->via.str.size > 32 ? 32 : (int)cmd->via.str.size;
        snprintf(why, sizeof why, "unknown command \"%.*s\"", n,
                 n ? cmd->via.str.ptr : ""); /* ptr is NULL for "" */
        rc = msg_fail(err, SWB_EINVAL, "command", why);
        goto out;
    }
    m->type = (swb_msg_type_t)type;
    rc = swb_codec_unpack(&o->via.array.ptr[2], swb_msg_table[type].schema,
                          &m->u, "", err);
    if (rc)
        swb_msg_clear(m);
    else
        m->type = (swb_msg_type_t)type;
out:
    msgpack_unpacked_destroy(&up);
    return rc;
}

void
swb_msg_clear(swb_msg_t *m)
{
    if (!m || (unsigned)m->type >= SWB_MSG_COUNT)
        return;
    swb_codec_free(swb_msg_table[m->type].schema, &m->u);
}
