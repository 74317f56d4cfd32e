/*
 * cli_agents.c - the operator's view of agents: `agents [--site ID]` lists
 * them, `agent-state AGENT STATE [--reason CODE]` sets a connected agent
 * ready, not-ready or on a break (PRODUCT.md 4 and 6a).
 *
 * An agent is printed by one walk over a table of its fields, as
 * cli_task.c does for tasks: the JSON view (--json) and the human view (a
 * table whose column widths fit the rows) are two visitors of that walk.
 * In the table the reason code follows the state in parentheses and
 * "FOR" is how long the agent has been in that state; in JSON `since` is
 * the ISO-8601 UTC time of the change.
 *
 * This file does not decide anything about agents: the broker checks the
 * request again and answers not_found for an agent that is not connected.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "swb_domain.h"

/* ---- the field walk ----------------------------------------------------- */

typedef enum af_kind { AF_STR, AF_U64, AF_BOOL, AF_TIME, AF_STRS } af_kind_t;

typedef struct agent_field {
    const char *name; /* the JSON key                                  */
    const char *head; /* the table's column; NULL = in parentheses
                         after the previous column's text (if any)    */
    af_kind_t kind;
    size_t off;
} agent_field_t;

#define AF(name, head, kind, m)                                               \
    {name, head, kind, offsetof(swb_agent_info_t, m)}

static const agent_field_t agent_fields[] = {
    AF("agent", "AGENT", AF_STR, agent),
    AF("site", "SITE", AF_STR, site),
    AF("state", "STATE", AF_STR, state),
    AF("reason", NULL, AF_STR, reason),
    AF("since", "FOR", AF_TIME, since),
    AF("channels", "CHANNELS", AF_STRS, channels),
    AF("held", "HELD", AF_U64, held),
    AF("missed", "MISSED", AF_U64, missed),
    AF("connected", "CONNECTED", AF_BOOL, connected),
};
#define NFIELDS (sizeof agent_fields / sizeof agent_fields[0])

/* Called per field with a pointer to its member of the agent. */
typedef void (*af_visit_fn)(void *arg, const agent_field_t *f,
                            const void *member);

static void
agent_walk(const swb_agent_info_t *a, af_visit_fn visit, void *arg)
{
    for (size_t i = 0; i < NFIELDS; i++)
        visit(arg, &agent_fields[i],
              (const char *)a + agent_fields[i].off);
}

/* ---- JSON view ---------------------------------------------------------- */

static void
json_visit(void *arg, const agent_field_t *f, const void *member)
{
    json_t *v = NULL;
    char when[40];
    switch (f->kind) {
    case AF_STR: {
        const char *s = *(char *const *)member;
        v = s ? json_string(s) : NULL;
        break;
    }
    case AF_U64:
        v = json_integer((json_int_t) * (const uint64_t *)member);
        break;
    case AF_BOOL:
        v = json_boolean(*(const bool *)member);
        break;
    case AF_TIME: {
        uint64_t ms = *(const uint64_t *)member;
        cli_iso_time(ms, when, sizeof when);
        v = ms ? json_string(when) : NULL;
        break;
    }
    case AF_STRS: {
        const swb_strs_t *l = member;
        v = json_array();
        for (size_t i = 0; v && i < l->n; i++)
            json_array_append_new(v, json_string(l->v[i]));
        break;
    }
    }
    json_object_set_new(arg, f->name, v ? v : json_null());
}

/* The agent as a JSON object (new reference). */
static json_t *
agent_json(const swb_agent_info_t *a)
{
    json_t *o = json_object();
    if (o)
        agent_walk(a, json_visit, o);
    return o;
}

/* ---- human view: a table ------------------------------------------------ */

#define CELL 200 /* bytes of one cell's text */

/* One line of the table: at most one cell per field. */
typedef struct row {
    char cell[NFIELDS][CELL];
    size_t ncells;
} row_t;

/* A member as text; "" when there is nothing to show. */
static void
member_text(const agent_field_t *f, const void *member, char *out, size_t n)
{
    out[0] = 0;
    switch (f->kind) {
    case AF_STR: {
        const char *s = *(char *const *)member;
        snprintf(out, n, "%s", s ? s : "");
        break;
    }
    case AF_U64:
        snprintf(out, n, "%llu",
                 (unsigned long long)*(const uint64_t *)member);
        break;
    case AF_BOOL:
        snprintf(out, n, "%s", *(const bool *)member ? "yes" : "no");
        break;
    case AF_TIME:
        if (*(const uint64_t *)member)
            cli_age(*(const uint64_t *)member, out, n);
        break;
    case AF_STRS: {
        const swb_strs_t *l = member;
        for (size_t i = 0; i < l->n && strlen(out) + 1 < n; i++)
            snprintf(out + strlen(out), n - strlen(out), "%s%s",
                     i ? "," : "", l->v[i]);
        break;
    }
    }
}

static void
row_visit(void *arg, const agent_field_t *f, const void *member)
{
    row_t *r = arg;
    char text[CELL];
    member_text(f, member, text, sizeof text);
    if (!f->head) {
        char *prev = r->ncells ? r->cell[r->ncells - 1] : NULL;
        if (prev && *text)
            snprintf(prev + strlen(prev), CELL - strlen(prev), " (%s)",
                     text);
        return;
    }
    if (r->ncells < NFIELDS)
        snprintf(r->cell[r->ncells++], CELL, "%s", *text ? text : "-");
}

static void
row_of(const swb_agent_info_t *a, row_t *r)
{
    r->ncells = 0;
    agent_walk(a, row_visit, r);
}

/* The header row: the heads of the table's columns. */
static void
row_of_heads(row_t *r)
{
    r->ncells = 0;
    for (size_t i = 0; i < NFIELDS; i++)
        if (agent_fields[i].head)
            snprintf(r->cell[r->ncells++], CELL, "%s", agent_fields[i].head);
}

static void
row_widen(const row_t *r, int *width)
{
    for (size_t i = 0; i < r->ncells; i++)
        if ((int)strlen(r->cell[i]) > width[i])
            width[i] = (int)strlen(r->cell[i]);
}

static void
row_print(const row_t *r, const int *width)
{
    for (size_t i = 0; i < r->ncells; i++) {
        if (i + 1 < r->ncells)
            printf("%-*s  ", width[i], r->cell[i]);
        else
            printf("%s\n", r->cell[i]);
    }
}

/* The agents as a table: one pass to size the columns, one to print. */
static void
agents_table(const swb_agent_info_t *v, size_t n)
{
    int width[NFIELDS] = {0};
    row_t r;
    row_of_heads(&r);
    row_widen(&r, width);
    for (size_t i = 0; i < n; i++) {
        row_of(&v[i], &r);
        row_widen(&r, width);
    }
    row_of_heads(&r);
    row_print(&r, width);
    for (size_t i = 0; i < n; i++) {
        row_of(&v[i], &r);
        row_print(&r, width);
    }
}

/* ---- commands ----------------------------------------------------------- */

typedef struct agents_cmd {
    const char *site;   /* agents --site         */
    const char *reason; /* agent-state --reason  */
} agents_cmd_t;

enum { OPT_SITE = 256, OPT_REASON };

static int
agents_option(void *state, int id, const char *opt, const char *arg)
{
    agents_cmd_t *ac = state;
    switch (id) {
    case OPT_SITE:
        ac->site = arg;
        return cli_opt_name(opt, arg, SWB_MAX_NAME);
    case OPT_REASON:
        ac->reason = arg;
        return cli_opt_name(opt, arg, SWB_MAX_NAME);
    default:
        return cli_usage("internal: option %s has no handler", opt);
    }
}

/* Parses options and exactly npos positional arguments (at *pos). */
static int
agents_cmd_start(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc,
                 char **argv, const struct option *opts, agents_cmd_t *ac,
                 int npos, char ***pos)
{
    int first, rc = cli_getopt(ctx, cmd, argc, argv, opts, agents_option, ac,
                               &first);
    if (rc == CLI_CONTINUE)
        rc = cli_positionals(cmd, argc - first, argv + first, npos, npos);
    *pos = argv + first;
    return rc;
}

/* Prints the agents of a reply: the table, or with --json {"agents": []}
 * (or, for one changed agent, that agent's object). */
static void
agents_print(const cli_ctx_t *ctx, const swb_m_agents_t *list, bool one)
{
    const swb_agent_info_t *v = list->agents.v;
    if (ctx->json && one) {
        cli_print_json(agent_json(&v[0]));
    } else if (ctx->json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < list->agents.n; i++)
            json_array_append_new(arr, agent_json(&v[i]));
        cli_print_json(arr ? json_pack("{s:o}", "agents", arr) : NULL);
    } else if (list->agents.n == 0) {
        printf("no agents\n");
    } else {
        agents_table(v, list->agents.n);
    }
}

static int
run_agents(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"site", required_argument, NULL, OPT_SITE},
        {NULL, 0, NULL, 0},
    };
    agents_cmd_t ac = {0};
    char **pos;
    int rc = agents_cmd_start(ctx, cmd, argc, argv, opts, &ac, 0, &pos);
    if (rc == CLI_CONTINUE)
        rc = cli_connect(ctx);
    if (rc != CLI_CONTINUE)
        return rc;
    swb_m_agents_t out;
    swb_err_t err = swb_client_agents(ctx->client, ac.site, &out);
    if (err)
        return cli_fail(ctx, err, "agents");
    agents_print(ctx, &out, false);
    swb_codec_free(swb_msg_schema(SWB_MSG_AGENT_LIST), &out);
    return CLI_EXIT_OK;
}

/* The states an operator may set, for messages: "ready, not-ready, ...". */
static const int settable[] = {SWB_AG_READY, SWB_AG_NOT_READY, SWB_AG_BREAK};
#define NSETTABLE (sizeof settable / sizeof settable[0])

/* STATE and --reason: CLI_CONTINUE or a usage error naming them. */
static int
check_state(const char *state, const char *reason)
{
    char names[80] = "";
    int st = swb_agent_state_parse(state);
    bool ok = false;
    for (size_t i = 0; i < NSETTABLE; i++) {
        ok = ok || st == settable[i];
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                 i ? ", " : "", swb_agent_state_name(settable[i]));
    }
    if (st < 0)
        return cli_usage("STATE: unknown agent state \"%s\"; valid states: "
                         "%s", state, names);
    if (!ok)
        return cli_usage("STATE: \"%s\" cannot be set by an operator; "
                         "valid states: %s", state, names);
    if (reason && st == SWB_AG_READY)
        return cli_usage("--reason: only used with not-ready or break");
    return CLI_CONTINUE;
}

static int
run_agent_state(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"reason", required_argument, NULL, OPT_REASON},
        {NULL, 0, NULL, 0},
    };
    agents_cmd_t ac = {0};
    char **pos;
    int rc = agents_cmd_start(ctx, cmd, argc, argv, opts, &ac, 2, &pos);
    if (rc == CLI_CONTINUE)
        rc = cli_opt_name("AGENT", pos[0], SWB_MAX_NAME);
    if (rc == CLI_CONTINUE)
        rc = check_state(pos[1], ac.reason);
    if (rc == CLI_CONTINUE)
        rc = cli_connect(ctx);
    if (rc != CLI_CONTINUE)
        return rc;
    char what[SWB_MAX_NAME + 20];
    snprintf(what, sizeof what, "agent-state %s", pos[0]);
    swb_m_agents_t out;
    swb_err_t err = swb_client_agent_state(ctx->client, pos[0], pos[1],
                                           ac.reason, &out);
    if (!err && out.agents.n == 0) {
        fprintf(stderr, "switchboard: %s: the broker answered without the "
                "agent\n", what);
        rc = CLI_EXIT_BROKER;
    } else if (err) {
        rc = cli_fail(ctx, err, what);
    } else {
        agents_print(ctx, &out, true);
        rc = CLI_EXIT_OK;
    }
    swb_codec_free(swb_msg_schema(SWB_MSG_AGENT_LIST), &out);
    return rc;
}

const cli_cmd_t cli_cmd_agents = {
    "agents", run_agents, "[--site ID]",
    "List agents: state, for how long, channels, tasks held.",
    "Connected agents come first, then agents the broker knows that are "
    "offline\n(their last state). With --json: {\"agents\": [...]}.\n\n"
    "Options:\n"
    "  --site ID               only the agents of site ID\n"};

const cli_cmd_t cli_cmd_agent_state = {
    "agent-state", run_agent_state, "AGENT STATE [--reason CODE]",
    "Set a connected agent ready, not-ready or on a break.",
    "STATE is ready, not-ready or break. Prints the agent as `agents` does;"
    "\nexits 2 for an unknown state or an agent that is not connected.\n\n"
    "Options:\n"
    "  --reason CODE           why: a reason code for not-ready or break "
    "(e.g. lunch)\n"};
