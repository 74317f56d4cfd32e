/*
 * swb_msg.h - the Switchboard wire protocol messages, declared once.
 *
 * Every message travels as ONE ZeroMQ frame (after the ROUTER routing id):
 * a msgpack array [version, command, body] where version is
 * SWB_PROTO_VERSION, command a string naming the message and body a map
 * described by the message's schema (swb_codec.h). proto/PROTOCOL.md is
 * the readable spec of the same tables; keep them in step.
 *
 * Structs here are plain data: strings, lists and nested structs are
 * malloc'd and owned by the struct; swb_msg_clear / swb_codec_free release
 * them.
 */
#ifndef SWB_MSG_H
#define SWB_MSG_H

#include "swb_codec.h"

/*
 * Protocol version. A peer sending another version gets an ERROR with
 * code "version" and is otherwise ignored. To change the protocol in a way
 * old peers cannot read, bump this, keep decoding the old version for one
 * release, and say so in PROTOCOL.md. Adding an optional field still needs
 * a bump, because decoders refuse unknown fields.
 */
#define SWB_PROTO_VERSION 1

/* Field limits (also in PROTOCOL.md). */
#define SWB_MAX_NAME 64        /* site, agent, sponsor, skill names   */
#define SWB_MAX_KEY 128        /* idempotency key                     */
#define SWB_MAX_REASON 1024    /* failure reason text                 */
#define SWB_MAX_PAYLOAD (16u << 20) /* hard cap; broker's limit is lower */
#define SWB_MAX_PRIORITY 1000
#define SWB_MAX_ATTEMPTS 100
#define SWB_MAX_LIST 10000

/* What a client asks for: the task and its requirements. */
typedef struct swb_task_spec {
    char *channel;          /* required; one of swb_channel_name()       */
    char *sponsor;          /* sponsor company                            */
    swb_levels_t lang;      /* language -> CEFR 1..6 (spoken for voice)   */
    swb_levels_t skills;    /* skill -> minimum level                     */
    uint64_t priority;      /* 0..1000, higher first                      */
    uint64_t deadline;      /* unix ms, 0 = none                          */
    uint64_t patience;      /* inbound voice: seconds before abandoning   */
    char *window;           /* outbound calling window "HH:MM-HH:MM"      */
    char *tz;               /* customer's time zone for the window        */
    uint64_t not_before;    /* unix ms, 0 = now                           */
    swb_strs_t sites;       /* allowed site ids (empty = any)             */
    swb_strs_t countries;   /* allowed site countries (empty = any)       */
    char *key;              /* idempotency key                            */
    swb_bytes_t payload;    /* the work itself                            */
    uint64_t max_attempts;  /* 0 = broker default                         */
    char *routing;          /* "longest-idle" or "best-skilled" (NULL =
                               the sponsor's setting)                     */
} swb_task_spec_t;

/* A task as the broker stores and reports it. */
typedef struct swb_task {
    uint64_t id;
    char *state;       /* swb_state_name()                                */
    uint64_t attempt;  /* attempts started so far                         */
    uint64_t lease;    /* current lease token, 0 when not leased          */
    uint64_t created;  /* unix ms                                         */
    uint64_t updated;  /* unix ms                                         */
    uint64_t ready_at; /* unix ms: not offered before (retry backoff)     */
    char *agent;       /* agent holding it, or who last did               */
    char *site;        /* that agent's site                               */
    char *reason;      /* why the last attempt failed / why it ended      */
    swb_task_spec_t *spec;
    /* regions (broker/handoff.c): at the origin, the region the task was
     * handed to; at the peer that took it, the origin's region */
    char *region;
    uint64_t peer_id;  /* the task's id in that other region, 0 = none   */
    char *hand;        /* hand-off phase, swb_hand_name(); NULL = none    */
    uint64_t hand_seq; /* which hand-off of the task (the origin counts
                          them; a copy at a peer keeps its own)          */
} swb_task_t;

/* A task a worker still holds when it says hello again. */
typedef struct swb_hold {
    uint64_t id;
    uint64_t lease;
} swb_hold_t;

/* ---- client <-> broker ---- */
typedef struct swb_m_submit {
    uint64_t req;
    swb_task_spec_t *task;
} swb_m_submit_t;
typedef struct swb_m_submitted {
    uint64_t req;
    uint64_t id;
    bool duplicate;
    char *state;
} swb_m_submitted_t;
typedef struct swb_m_ref {
    uint64_t req;
    uint64_t id;
    uint64_t timeout; /* WAIT only: ms, 0 = answer at once */
} swb_m_ref_t;
typedef struct swb_m_task {
    uint64_t req;
    swb_task_t *task;
    swb_bytes_t result;
} swb_m_task_t;
typedef struct swb_m_list {
    uint64_t req;
    char *state;
    char *site;
    uint64_t limit;
} swb_m_list_t;
typedef struct swb_m_tasks {
    uint64_t req;
    swb_list_t tasks; /* of swb_task_t */
    bool more;
} swb_m_tasks_t;
typedef struct swb_m_error {
    uint64_t req;
    uint64_t id;
    char *code;    /* swb_err_name() */
    char *field;   /* the field or limit at fault, may be NULL */
    char *message;
} swb_m_error_t;

/* ---- worker <-> broker ---- */
typedef struct swb_m_hello {
    char *site;
    char *agent;
    swb_strs_t channels;
    swb_levels_t speaks;   /* spoken language -> CEFR 1..6   */
    swb_levels_t writes;   /* written language -> CEFR 1..6  */
    swb_levels_t skills;   /* skill -> level                 */
    swb_strs_t sponsors;   /* certified for these sponsors   */
    swb_levels_t capacity; /* channel -> tasks at once       */
    swb_list_t holding;    /* of swb_hold_t                  */
    bool accept;           /* non-voice offers wait for ACCEPT too */
    char *state;           /* initial agent state, NULL = ready    */
} swb_m_hello_t;
typedef struct swb_m_welcome {
    uint64_t heartbeat; /* ms between heartbeats, both ways          */
    uint64_t lease;     /* ms a lease lasts without a heartbeat      */
    char *region;
} swb_m_welcome_t;
typedef struct swb_m_empty {
    uint64_t unused_; /* HEARTBEAT, BYE: no fields (never encoded) */
} swb_m_empty_t;
typedef struct swb_m_offer {
    swb_task_t *task;
    uint64_t ring; /* ms the offer rings awaiting ACCEPT; 0 = assigned */
} swb_m_offer_t;
typedef struct swb_m_done {
    uint64_t id;
    uint64_t lease;
    swb_bytes_t result;
} swb_m_done_t;
typedef struct swb_m_fail {
    uint64_t id;
    uint64_t lease;
    char *reason;
    bool final; /* no retry: the task is dead at once */
} swb_m_fail_t;
typedef struct swb_m_lease {
    uint64_t id;
    uint64_t lease;
} swb_m_lease_t; /* ACK, RELEASE, REVOKE, ACCEPT */

/* An agent's state: STATE both ways, and in AGENT_STATE requests. */
typedef struct swb_m_state {
    uint64_t req;
    char *agent;  /* AGENT_STATE only */
    char *state;  /* swb_agent_state_name() */
    char *reason; /* reason code for not-ready, break */
} swb_m_state_t;

/* One agent as AGENTS reports it. */
typedef struct swb_agent_info {
    char *agent;
    char *site;
    char *state;
    char *reason;
    uint64_t since;     /* unix ms of the last state change */
    swb_strs_t channels;
    uint64_t held;      /* tasks it holds now */
    uint64_t missed;    /* offers missed in a row */
    bool connected;
} swb_agent_info_t;

typedef struct swb_m_agents {
    uint64_t req;
    char *site;          /* AGENTS: filter       */
    swb_list_t agents;   /* AGENT_LIST: of swb_agent_info_t */
} swb_m_agents_t;

/* ---- broker <-> broker (regions, PROTOCOL.md "Peer conversation") ---- */

/* A task id in a list. */
typedef struct swb_idref {
    uint64_t id;
    uint64_t seq; /* the hand-off it names (swb_task_t.hand_seq) */
} swb_idref_t;

/* An origin's hello, sent over its link to a peer every second. */
typedef struct swb_m_peer_hello {
    char *region;        /* the origin's region                      */
    swb_list_t reclaimed; /* of swb_idref_t: origin ids it took back
                             while the link was down; drop them      */
} swb_m_peer_hello_t;

/* One capability class (agents with equal profiles) as a peer
 * advertises it. */
typedef struct swb_cap {
    char *site;
    char *country;
    swb_strs_t channels;
    swb_levels_t speaks;
    swb_levels_t writes;
    swb_levels_t skills;
    swb_strs_t sponsors; /* certified for these sponsors          */
    bool open;           /* the site is open now                  */
    uint64_t agents;     /* connected agents of the class         */
    uint64_t ready;      /* of them ready with room now           */
    uint64_t waiting;    /* tasks waiting that they could take    */
    uint64_t wait;       /* predicted wait of a new task, ms      */
} swb_cap_t;

#define SWB_MAX_CAPS 1000 /* classes in one advert */
typedef struct swb_m_advert {
    char *region;
    uint64_t seq;        /* grows with every advert of a broker run  */
    swb_list_t classes;  /* of swb_cap_t                            */
} swb_m_advert_t;

/* A task handed to a peer: the origin's id and the client's spec. */
typedef struct swb_m_forward {
    uint64_t id;         /* the task's id at the origin */
    uint64_t seq;        /* which hand-off of that task */
    uint64_t created;    /* unix ms it was submitted    */
    swb_task_spec_t *task;
} swb_m_forward_t;

/* FORWARDED, START, GO, RESULT_ACK, RECLAIMED, PEER_CANCEL: one task of
 * the hand-off, named by its id at the origin. */
typedef struct swb_m_hand {
    uint64_t id;      /* the task's id at the origin              */
    uint64_t peer_id; /* FORWARDED, START, GO: the copy's id at the
                         peer                                     */
    uint64_t seq;     /* which hand-off (swb_task_t.hand_seq)     */
    bool ok;          /* GO: true = start it, false = drop it     */
} swb_m_hand_t;

/* STATS, STATS_REPLY, SITES, SITES_REPLY: the operations documents of
 * broker/stats.h, carried as JSON text so that the broker's one builder
 * stays the only source of their shape. */
#define SWB_MAX_STATS_JSON (8u << 20) /* bytes of one document */
typedef struct swb_m_stats {
    uint64_t req;
    char *site; /* STATS: only this site (NULL = every site)  */
    char *json; /* the replies: the document as JSON text      */
} swb_m_stats_t;

typedef enum swb_msg_type {
    SWB_MSG_SUBMIT = 0,
    SWB_MSG_SUBMITTED,
    SWB_MSG_STATUS,
    SWB_MSG_WAIT,
    SWB_MSG_CANCEL,
    SWB_MSG_TASK,
    SWB_MSG_LIST,
    SWB_MSG_TASKS,
    SWB_MSG_ERROR,
    SWB_MSG_HELLO,
    SWB_MSG_WELCOME,
    SWB_MSG_HEARTBEAT,
    SWB_MSG_OFFER,
    SWB_MSG_DONE,
    SWB_MSG_FAIL,
    SWB_MSG_ACK,
    SWB_MSG_RELEASE,
    SWB_MSG_REVOKE,
    SWB_MSG_BYE,
    SWB_MSG_ACCEPT,
    SWB_MSG_REJECT,
    SWB_MSG_STATE,
    SWB_MSG_AGENTS,
    SWB_MSG_AGENT_LIST,
    SWB_MSG_AGENT_STATE,
    SWB_MSG_STATS,
    SWB_MSG_STATS_REPLY,
    SWB_MSG_SITES,
    SWB_MSG_SITES_REPLY,
    SWB_MSG_PEER_HELLO,
    SWB_MSG_ADVERT,
    SWB_MSG_FORWARD,
    SWB_MSG_FORWARDED,
    SWB_MSG_START,
    SWB_MSG_GO,
    SWB_MSG_RESULT,
    SWB_MSG_RESULT_ACK,
    SWB_MSG_RECLAIMED,
    SWB_MSG_PEER_CANCEL,
    SWB_MSG_COUNT
} swb_msg_type_t;

typedef struct swb_msg {
    swb_msg_type_t type;
    union {
        swb_m_submit_t submit;
        swb_m_submitted_t submitted;
        swb_m_ref_t ref; /* STATUS, WAIT, CANCEL */
        swb_m_task_t task;
        swb_m_list_t list;
        swb_m_tasks_t tasks;
        swb_m_error_t error;
        swb_m_hello_t hello;
        swb_m_welcome_t welcome;
        swb_m_empty_t empty; /* HEARTBEAT, BYE */
        swb_m_offer_t offer;
        swb_m_done_t done;
        swb_m_fail_t fail;
        swb_m_lease_t lease; /* ACK, RELEASE, REVOKE, ACCEPT */
        swb_m_state_t state; /* STATE, AGENT_STATE */
        swb_m_agents_t agents; /* AGENTS, AGENT_LIST */
        swb_m_stats_t stats;   /* STATS, SITES and their replies */
        swb_m_peer_hello_t peer_hello;
        swb_m_advert_t advert;
        swb_m_forward_t forward;
        swb_m_hand_t hand; /* FORWARDED, START, GO, RESULT_ACK, RECLAIMED,
                              PEER_CANCEL */
    } u;
} swb_msg_t;

extern const swb_schema_t swb_task_spec_schema;
extern const swb_schema_t swb_task_schema;
extern const swb_schema_t swb_agent_info_schema;
extern const swb_schema_t swb_cap_schema;

/* The command name on the wire ("submit"), "?" when out of range. */
const char *swb_msg_name(swb_msg_type_t type);
/* The body schema of a message type. */
const swb_schema_t *swb_msg_schema(swb_msg_type_t type);

/* Encodes m as one frame: *buf is malloc'd (caller frees). */
swb_err_t swb_msg_encode(const swb_msg_t *m, void **buf, size_t *len);

/*
 * Decodes one untrusted frame into *m (which this zeroes first). On error
 * *err names what was wrong; *m is left empty. On success the caller owns
 * *m and releases it with swb_msg_clear.
 * Errors: SWB_EDECODE, SWB_ETOOBIG, SWB_EVERSION, SWB_EINVAL, SWB_ENOMEM.
 */
swb_err_t swb_msg_decode(const void *buf, size_t len, swb_msg_t *m,
                         swb_decode_err_t *err);

/* Frees what m owns; m becomes empty. NULL-safe. */
void swb_msg_clear(swb_msg_t *m);

#endif
