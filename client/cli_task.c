/*
 * cli_task.c - the commands that look at tasks (status, wait, cancel,
 * list) and the one task printer they and `submit --wait` share.
 *
 * A task is printed by one walk over a table of its fields; the human
 * view ("key value" lines, or one line per task for list) and the JSON
 * view (--json) are two visitors of that walk. Times are ISO-8601 UTC;
 * a result is a JSON string when it is valid UTF-8, else "result_base64".
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "swb_domain.h"

/* ---- the field walk ----------------------------------------------------- */

typedef enum tf_kind { TF_U64, TF_STR, TF_TIME } tf_kind_t;

typedef struct task_field {
    const char *name;
    tf_kind_t kind;
    bool in_spec; /* a member of t->spec, else of t */
    size_t off;
} task_field_t;

#define TF_T(name, kind, m) {name, kind, false, offsetof(swb_task_t, m)}
#define TF_S(name, kind, m) {name, kind, true, offsetof(swb_task_spec_t, m)}

static const task_field_t task_fields[] = {
    TF_T("id", TF_U64, id),
    TF_T("state", TF_STR, state),
    TF_S("channel", TF_STR, channel),
    TF_S("sponsor", TF_STR, sponsor),
    TF_T("attempt", TF_U64, attempt),
    TF_S("max_attempts", TF_U64, max_attempts),
    TF_S("priority", TF_U64, priority),
    TF_T("agent", TF_STR, agent),
    TF_T("site", TF_STR, site),
    TF_T("reason", TF_STR, reason),
    TF_T("region", TF_STR, region),   /* handed to / taken from */
    TF_T("peer_id", TF_U64, peer_id), /* its id in that region  */
    TF_T("handoff", TF_STR, hand),
    TF_S("key", TF_STR, key),
    TF_S("deadline", TF_TIME, deadline),
    TF_T("created", TF_TIME, created),
    TF_T("updated", TF_TIME, updated),
};

/* Called per field with its text (TF_STR, may be NULL) or number. */
typedef void (*tf_visit_fn)(void *arg, const task_field_t *f, const char *s,
                            uint64_t u);

static void
task_walk(const swb_task_t *t, tf_visit_fn visit, void *arg)
{
    for (size_t i = 0; i < sizeof task_fields / sizeof task_fields[0]; i++) {
        const task_field_t *f = &task_fields[i];
        const char *base = f->in_spec ? (const char *)t->spec
                                      : (const char *)t;
        if (!base)
            visit(arg, f, NULL, 0);
        else if (f->kind == TF_STR)
            visit(arg, f, *(char *const *)(base + f->off), 0);
        else
            visit(arg, f, NULL, *(const uint64_t *)(base + f->off));
    }
}

static char *
base64(const uint8_t *p, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; out && i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? tab[v & 63] : '=';
    }
    if (out)
        *o = 0;
    return out;
}

/* The result as a JSON string when it is valid UTF-8, else NULL. */
static json_t *
result_text(const swb_bytes_t *r)
{
    return json_stringn((const char *)(r->data ? r->data : (uint8_t *)""),
                        r->len);
}

/* ---- JSON view ------------------------------------------------------- */

static void
json_visit(void *arg, const task_field_t *f, const char *s, uint64_t u)
{
    json_t *v;
    char buf[40];
    if (f->kind == TF_STR) {
        v = s ? json_string(s) : NULL;
    } else if (f->kind == TF_TIME) {
        cli_iso_time(u, buf, sizeof buf);
        v = u ? json_string(buf) : NULL;
    } else {
        v = json_integer((json_int_t)u);
    }
    json_object_set_new(arg, f->name, v ? v : json_null());
}

json_t *
cli_task_json(const swb_task_t *t, const swb_bytes_t *result)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    task_walk(t, json_visit, o);
    /* A result is shown once there can be one: final, or not empty. */
    if (result &&
        (result->len || swb_state_final(swb_state_parse(t->state)))) {
        json_t *text = result_text(result);
        char *b64 = text ? NULL : base64(result->data, result->len);
        if (text)
            json_object_set_new(o, "result", text);
        else if (b64)
            json_object_set_new(o, "result_base64", json_string(b64));
        free(b64);
    }
    return o;
}

/* ---- human view ------------------------------------------------------ */

static void
human_visit(void *arg, const task_field_t *f, const char *s, uint64_t u)
{
    (void)arg;
    char when[40], ago[16];
    if (f->kind == TF_STR) {
        if (s && *s)
            printf("%-13s%s\n", f->name, s);
    } else if (f->kind == TF_TIME) {
        if (u) {
            cli_iso_time(u, when, sizeof when);
            cli_age(u, ago, sizeof ago);
            printf("%-13s%s (%s ago)\n", f->name, when, ago);
        }
    } else if (u || strcmp(f->name, "peer_id") != 0) {
        printf("%-13s%llu\n", f->name, (unsigned long long)u);
    }
}

static void
human_result(const swb_bytes_t *r)
{
    if (!r || !r->len)
        return;
    json_t *text = result_text(r);
    if (text) {
        printf("result:\n");
        fwrite(r->data, 1, r->len, stdout);
        if (r->data[r->len - 1] != '\n')
            fputc('\n', stdout);
        json_decref(text);
        return;
    }
    char *b64 = base64(r->data, r->len);
    printf("%-13s%s\n", "result_base64", b64 ? b64 : "(out of memory)");
    free(b64);
}

void
cli_task_print(const cli_ctx_t *ctx, const swb_task_t *t,
               const swb_bytes_t *result)
{
    if (ctx->json) {
        cli_print_json(cli_task_json(t, result));
        return;
    }
    task_walk(t, human_visit, NULL);
    human_result(result);
}

int
cli_task_exit(const swb_task_t *t)
{
    int st = swb_state_parse(t->state);
    return st == SWB_ST_DEAD || st == SWB_ST_CANCELED ||
                   st == SWB_ST_ABANDONED || st == SWB_ST_EXPIRED
               ? CLI_EXIT_TASK
               : CLI_EXIT_OK;
}

/* One line of `list`: id, state, channel, sponsor, attempt, agent@site,
 * age. */
static void
list_line(const swb_task_t *t)
{
    const swb_task_spec_t *sp = t->spec;
    char attempt[48], where[140], ago[16];
    if (sp && sp->max_attempts)
        snprintf(attempt, sizeof attempt, "%llu/%llu",
                 (unsigned long long)t->attempt,
                 (unsigned long long)sp->max_attempts);
    else
        snprintf(attempt, sizeof attempt, "%llu",
                 (unsigned long long)t->attempt);
    snprintf(where, sizeof where, "%s%s%s", t->agent ? t->agent : "",
             t->site ? "@" : "", t->site ? t->site : "");
    cli_age(t->created, ago, sizeof ago);
    printf("%-10llu %-10s %-15s %-14s %-8s %-24s %s\n",
           (unsigned long long)t->id, t->state,
           sp && sp->channel ? sp->channel : "-",
           sp && sp->sponsor ? sp->sponsor : "-", attempt,
           *where ? where : "-", t->created ? ago : "-");
}

/* ---- commands ----------------------------------------------------------- */

typedef struct task_cmd {
    uint64_t timeout_ms; /* wait --timeout        */
    const char *state;   /* list --state          */
    const char *site;    /* list --site           */
    uint64_t limit;      /* list --limit          */
} task_cmd_t;

enum { OPT_TIMEOUT = 256, OPT_STATE, OPT_SITE, OPT_LIMIT };

static int
task_option(void *state, int id, const char *opt, const char *arg)
{
    task_cmd_t *tc = state;
    char states[200] = "";
    switch (id) {
    case OPT_TIMEOUT:
        return cli_opt_duration(opt, arg, &tc->timeout_ms);
    case OPT_STATE:
        if (swb_state_parse(arg) >= 0) {
            tc->state = arg;
            return CLI_CONTINUE;
        }
        for (int i = 0; i < SWB_ST_COUNT; i++)
            snprintf(states + strlen(states), sizeof states - strlen(states),
                     "%s%s", i ? ", " : "", swb_state_name(i));
        return cli_usage("%s: unknown state \"%s\"; valid states: %s", opt,
                         arg, states);
    case OPT_SITE:
        tc->site = arg;
        return cli_opt_name(opt, arg, SWB_MAX_NAME);
    case OPT_LIMIT:
        return cli_opt_u64(opt, arg, 1, SWB_MAX_LIST, &tc->limit);
    default:
        return cli_usage("internal: option %s has no handler", opt);
    }
}

/* Parses options and the ID argument (when want_id) and connects. */
static int
task_cmd_start(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv,
               const struct option *opts, task_cmd_t *tc, uint64_t *id)
{
    int first, rc = cli_getopt(ctx, cmd, argc, argv, opts, task_option, tc,
                               &first);
    if (rc != CLI_CONTINUE)
        return rc;
    rc = cli_positionals(cmd, argc - first, argv + first, id ? 1 : 0,
                         id ? 1 : 0);
    if (rc == CLI_CONTINUE && id)
        rc = cli_task_id(argv[first], id);
    return rc == CLI_CONTINUE ? cli_connect(ctx) : rc;
}

static const struct option no_opts[] = {{NULL, 0, NULL, 0}};

static int
run_status(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    task_cmd_t tc = {0};
    uint64_t id;
    int rc = task_cmd_start(ctx, cmd, argc, argv, no_opts, &tc, &id);
    if (rc != CLI_CONTINUE)
        return rc;
    swb_task_t t;
    swb_bytes_t result;
    swb_err_t err = swb_client_status(ctx->client, id, &t, &result);
    if (err) {
        char what[48];
        snprintf(what, sizeof what, "status %llu", (unsigned long long)id);
        return cli_fail(ctx, err, what);
    }
    cli_task_print(ctx, &t, &result);
    rc = cli_task_exit(&t);
    swb_codec_free(&swb_task_schema, &t);
    free(result.data);
    return rc;
}

int
cli_wait_and_print(cli_ctx_t *ctx, uint64_t id, uint64_t timeout_ms)
{
    swb_task_t t;
    swb_bytes_t result;
    char what[48];
    snprintf(what, sizeof what, "wait %llu", (unsigned long long)id);
    swb_err_t err = swb_client_wait(ctx->client, id, timeout_ms, &t, &result);
    if (err)
        return cli_fail(ctx, err, what);
    cli_task_print(ctx, &t, &result);
    int rc = cli_task_exit(&t);
    if (!swb_state_final(swb_state_parse(t.state))) {
        fprintf(stderr, "switchboard: %s: timed out; the task is still %s\n",
                what, t.state);
        rc = CLI_EXIT_TASK;
    }
    swb_codec_free(&swb_task_schema, &t);
    free(result.data);
    return rc;
}

static int
run_wait(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {NULL, 0, NULL, 0},
    };
    task_cmd_t tc = {0};
    uint64_t id;
    int rc = task_cmd_start(ctx, cmd, argc, argv, opts, &tc, &id);
    return rc != CLI_CONTINUE ? rc
                              : cli_wait_and_print(ctx, id, tc.timeout_ms);
}

static int
run_cancel(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    task_cmd_t tc = {0};
    uint64_t id;
    int rc = task_cmd_start(ctx, cmd, argc, argv, no_opts, &tc, &id);
    if (rc != CLI_CONTINUE)
        return rc;
    swb_task_t t;
    swb_err_t err = swb_client_cancel(ctx->client, id, &t);
    if (err) {
        char what[48];
        snprintf(what, sizeof what, "cancel %llu", (unsigned long long)id);
        return cli_fail(ctx, err, what);
    }
    cli_task_print(ctx, &t, NULL);
    swb_codec_free(&swb_task_schema, &t);
    return CLI_EXIT_OK;
}

static int
run_list(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, OPT_STATE},
        {"site", required_argument, NULL, OPT_SITE},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {NULL, 0, NULL, 0},
    };
    task_cmd_t tc = {0};
    int rc = task_cmd_start(ctx, cmd, argc, argv, opts, &tc, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    swb_m_tasks_t out;
    swb_err_t err = swb_client_list(ctx->client, tc.state, tc.site, tc.limit,
                                    &out);
    if (err)
        return cli_fail(ctx, err, "list");
    const swb_task_t *tasks = out.tasks.v;
    if (ctx->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < out.tasks.n; i++)
            json_array_append_new(arr, cli_task_json(&tasks[i], NULL));
        cli_print_json(json_pack("{s:o, s:b}", "tasks", arr, "more",
                                 out.more));
    } else if (out.tasks.n == 0) {
        printf("no tasks\n");
    } else {
        printf("%-10s %-10s %-15s %-14s %-8s %-24s %s\n", "ID", "STATE",
               "CHANNEL", "SPONSOR", "ATTEMPT", "AGENT@SITE", "AGE");
        for (size_t i = 0; i < out.tasks.n; i++)
            list_line(&tasks[i]);
        if (out.more)
            printf("(more tasks; raise --limit to see them)\n");
    }
    swb_codec_free(swb_msg_schema(SWB_MSG_TASKS), &out);
    return CLI_EXIT_OK;
}

const cli_cmd_t cli_cmd_status = {
    "status", run_status, "ID", "Show a task: state, attempts, agent, result.",
    "Exits 1 when the task is dead, canceled, abandoned or expired.\n"};

const cli_cmd_t cli_cmd_wait = {
    "wait", run_wait, "ID [--timeout S]",
    "Wait until a task is final, then show it.",
    "Exits 1 when it did not complete or the time ran out.\n\n"
    "Options:\n"
    "  --timeout S             give up after S seconds (or 90s, 15m, 2h; "
    "default a day)\n"};

const cli_cmd_t cli_cmd_cancel = {
    "cancel", run_cancel, "ID", "Cancel a task that is not final yet.", ""};

const cli_cmd_t cli_cmd_list = {
    "list", run_list, "[--state S] [--site ID] [--limit N]",
    "List tasks, newest first, one per line.",
    "Options:\n"
    "  --state S               only tasks in state S (queued, offered, "
    "active, ...)\n"
    "  --site ID               only tasks at site ID\n"
    "  --limit N               at most N tasks (1..10000, default 100)\n"};
