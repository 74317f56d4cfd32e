/*
 * test_agents_cli.c - the operator's agent commands of the real
 * `switchboard` CLI against a real broker and a real worker: `agents`
 * lists a connected worker as ready, `agent-state` sets it not-ready with
 * a reason and back to ready, an unknown agent exits 2, a stopped worker
 * shows as offline; and `submit --routing` is accepted end to end.
 *
 * Every case starts its own broker (ephemeral ports, temp folder) and
 * worker (`--exec "echo ok"`, channel email) and kills them at the end.
 * The CLI runs through the shell; its stdout is parsed (JSON with
 * jansson), its stderr goes to cli.log in the temp folder.
 */
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swbtest.h"

typedef struct env {
    char *dir;
    swbt_broker_t b;
    pid_t worker;
} env_t;

/* Broker plus one worker, agent a1 at site s1 on email. */
static int
env_start(env_t *e, const char *tag)
{
    memset(e, 0, sizeof *e);
    e->dir = swbt_tempdir(tag);
    if (!e->dir || swbt_broker_start(&e->b, e->dir, NULL) != 0)
        return -1;
    e->worker = swbt_worker_start(&e->b, e->dir, "s1", "a1", "email",
                                  "echo ok", NULL);
    return e->worker > 0 ? 0 : -1;
}

static void
env_stop(env_t *e)
{
    if (e->worker > 0)
        swbt_kill(e->worker, SIGTERM);
    e->worker = 0;
    swbt_broker_stop(&e->b, SIGTERM);
    swbt_broker_free(&e->b);
    if (e->dir) {
        swbt_rmdir(e->dir);
        free(e->dir);
    }
    e->dir = NULL;
}

/* Runs body on a fresh env and always stops it, also when an assert in
 * body failed (asserts return from body). */
static void
with_env(const char *tag, void (*body)(env_t *e))
{
    env_t e;
    int rc = env_start(&e, tag);
    if (rc == 0)
        body(&e);
    env_stop(&e);
    ASSERT_INT_EQ(rc, 0);
}

/* The last line the CLI wrote on stderr (static buffer). */
static const char *
cli_err(const env_t *e)
{
    static char last[1024];
    char path[600];
    snprintf(path, sizeof path, "%s/cli.log", e->dir);
    char *all = swbt_read_file(path);
    last[0] = 0;
    if (all) {
        size_t n = strlen(all);
        while (n && all[n - 1] == '\n')
            all[--n] = 0;
        char *nl = strrchr(all, '\n');
        snprintf(last, sizeof last, "%s", nl ? nl + 1 : all);
        free(all);
    }
    return last;
}

/* Agent `agent` from `agents --json` (new reference), or NULL. */
static json_t *
agent_now(const env_t *e, const char *agent)
{
    char *out = NULL;
    if (swbt_cli(e->b.client_ep, e->dir, &out, "agents --json") != 0) {
        free(out);
        return NULL;
    }
    json_t *doc = json_loads(out ? out : "", 0, NULL), *found = NULL, *a;
    size_t i;
    free(out);
    json_array_foreach(json_object_get(doc, "agents"), i, a) {
        const char *name = json_string_value(json_object_get(a, "agent"));
        if (name && strcmp(name, agent) == 0) {
            found = json_incref(a);
            break;
        }
    }
    json_decref(doc);
    return found;
}

/* Polls `agents --json` until the agent is in `state` with `connected`;
 * returns it (new reference) or NULL after ms. */
static json_t *
await_agent(const env_t *e, const char *agent, const char *state,
            bool connected, int ms)
{
    int64_t end = swbt_now_ms() + swbt_ms(ms);
    for (;;) {
        json_t *a = agent_now(e, agent);
        const char *st = json_string_value(json_object_get(a, "state"));
        if (st && strcmp(st, state) == 0 &&
            json_is_true(json_object_get(a, "connected")) == connected)
            return a;
        json_decref(a);
        if (swbt_now_ms() >= end)
            return NULL;
        swbt_sleep_ms(100);
    }
}

static const char *
str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

static void
agents_lists_connected_worker_ready(env_t *e)
{
    json_t *a = await_agent(e, "a1", "ready", true, 10000);
    ASSERT_TRUE(a != NULL);
    ASSERT_STR_EQ(str_of(a, "site"), "s1");
    ASSERT_STR_EQ(json_string_value(
                      json_array_get(json_object_get(a, "channels"), 0)),
                  "email");
    ASSERT_TRUE(json_is_integer(json_object_get(a, "held")));
    ASSERT_TRUE(json_is_string(json_object_get(a, "since")));
    json_decref(a);

    char *out = NULL;
    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "agents"), 0);
    ASSERT_STR_CONTAINS(out, "AGENT");
    ASSERT_STR_CONTAINS(out, "CONNECTED");
    const char *row = out ? strstr(out, "\na1 ") : NULL;
    ASSERT_TRUE(row != NULL);
    ASSERT_STR_CONTAINS(row, " s1 ");
    ASSERT_STR_CONTAINS(row, " ready ");
    ASSERT_STR_CONTAINS(row, " email ");
    ASSERT_STR_CONTAINS(row, " yes");
    free(out);

    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "agents --site s1"), 0);
    ASSERT_STR_CONTAINS(out, "\na1 ");
    free(out);
    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "agents --site elsewhere"), 0);
    ASSERT_STR_CONTAINS(out, "no agents");
    free(out);
}

static void
agent_state_not_ready_and_back(env_t *e)
{
    json_t *a = await_agent(e, "a1", "ready", true, 10000);
    ASSERT_TRUE(a != NULL);
    json_decref(a);

    char *out = NULL;
    int rc = swbt_cli(e->b.client_ep, e->dir, &out, "agent-state a1 not-ready --reason lunch");
    if (rc)
        fprintf(stderr, "  stderr: %s\n", cli_err(e));
    ASSERT_INT_EQ(rc, 0);
    ASSERT_STR_CONTAINS(out, "not-ready (lunch)");
    free(out);

    a = agent_now(e, "a1");
    ASSERT_TRUE(a != NULL);
    ASSERT_STR_EQ(str_of(a, "state"), "not-ready");
    ASSERT_STR_EQ(str_of(a, "reason"), "lunch");
    ASSERT_TRUE(json_is_true(json_object_get(a, "connected")));
    json_decref(a);

    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "agent-state a1 ready --json"), 0);
    json_t *doc = json_loads(out ? out : "", 0, NULL);
    free(out);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str_of(doc, "agent"), "a1");
    ASSERT_STR_EQ(str_of(doc, "state"), "ready");
    ASSERT_TRUE(json_is_null(json_object_get(doc, "reason")));
    json_decref(doc);

    a = agent_now(e, "a1");
    ASSERT_TRUE(a != NULL);
    ASSERT_STR_EQ(str_of(a, "state"), "ready");
    json_decref(a);

    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "agent-state a1 break --reason training"),
                  0);
    ASSERT_STR_CONTAINS(out, "break (training)");
    free(out);
}

static void
agent_state_unknown_agent_exits_2(env_t *e)
{
    char *out = NULL;
    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "agent-state nobody ready"), 2);
    free(out);
    ASSERT_STR_CONTAINS(cli_err(e), "nobody");
    ASSERT_STR_CONTAINS(cli_err(e), "not_found");

    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "agent-state nobody break --json"), 2);
    json_t *doc = json_loads(out ? out : "", 0, NULL);
    free(out);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str_of(json_object_get(doc, "error"), "code"),
                  "not_found");
    json_decref(doc);
}

static void
agents_shows_stopped_worker_offline(env_t *e)
{
    json_t *a = await_agent(e, "a1", "ready", true, 10000);
    ASSERT_TRUE(a != NULL);
    json_decref(a);

    swbt_kill(e->worker, SIGTERM);
    e->worker = 0;
    a = await_agent(e, "a1", "offline", false, 5000);
    ASSERT_TRUE(a != NULL);
    ASSERT_STR_EQ(str_of(a, "site"), "s1");
    json_decref(a);

    char *out = NULL;
    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "agents"), 0);
    const char *row = out ? strstr(out, "\na1 ") : NULL;
    ASSERT_TRUE(row != NULL);
    ASSERT_STR_CONTAINS(row, " offline");
    ASSERT_STR_CONTAINS(row, " no");
    free(out);

    ASSERT_INT_EQ(swbt_cli(e->b.client_ep, e->dir, &out, "agent-state a1 ready"), 2);
    free(out);
    ASSERT_STR_CONTAINS(cli_err(e), "not connected");
}

/* --routing and the batch key "routing" reach the broker, which accepts
 * them, and the worker does the task. */
static void
submit_with_routing(env_t *e)
{
    json_t *a = await_agent(e, "a1", "ready", true, 10000);
    ASSERT_TRUE(a != NULL);
    json_decref(a);

    char *out = NULL;
    int rc = swbt_cli(e->b.client_ep, e->dir, &out, "submit --channel email --routing best-skilled "
                           "--payload hi --wait --timeout 30");
    if (rc)
        fprintf(stderr, "  stderr: %s\n", cli_err(e));
    ASSERT_INT_EQ(rc, 0);
    ASSERT_STR_CONTAINS(out, "completed");
    ASSERT_STR_CONTAINS(out, "ok");
    free(out);

    char path[600];
    snprintf(path, sizeof path, "%s/tasks.jsonl", e->dir);
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs("{\"channel\":\"email\",\"routing\":\"longest-idle\"}\n"
          "{\"channel\":\"email\",\"routing\":\"best-skilled\"}\n",
          f);
    fclose(f);
    rc = swbt_cli(e->b.client_ep, e->dir, &out, "submit --json --batch '%s'", path);
    json_t *doc = json_loads(out ? out : "", 0, NULL);
    if (rc)
        fprintf(stderr, "  stdout: %s\n  stderr: %s\n", out ? out : "",
                cli_err(e));
    free(out);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_INT_EQ(json_integer_value(json_object_get(doc, "submitted")), 2);
    json_decref(doc);
}

static void
test_agents_lists_connected_worker_ready(void)
{
    with_env("agents-list", agents_lists_connected_worker_ready);
}

static void
test_agent_state_not_ready_and_back(void)
{
    with_env("agents-state", agent_state_not_ready_and_back);
}

static void
test_agent_state_unknown_agent_exits_2(void)
{
    with_env("agents-nobody", agent_state_unknown_agent_exits_2);
}

static void
test_agents_shows_stopped_worker_offline(void)
{
    with_env("agents-offline", agents_shows_stopped_worker_offline);
}

static void
test_submit_with_routing(void)
{
    with_env("agents-routing", submit_with_routing);
}

int
main(void)
{
    const char *need[] = {"switchboard", "switchboard-broker",
                          "switchboard-worker"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (access(swbt_bin(need[i]), X_OK) != 0) {
            fprintf(stderr, "no executable %s (set SWB_BIN_DIR)\n",
                    swbt_bin(need[i]));
            return 1;
        }
    }
    SWB_RUN(test_agents_lists_connected_worker_ready);
    SWB_RUN(test_agent_state_not_ready_and_back);
    SWB_RUN(test_agent_state_unknown_agent_exits_2);
    SWB_RUN(test_agents_shows_stopped_worker_offline);
    SWB_RUN(test_submit_with_routing);
    return SWB_TEST_EXIT();
}
