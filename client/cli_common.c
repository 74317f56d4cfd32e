/*
 * cli_common.c - option parsing, argument checks and error reporting
 * shared by all `switchboard` sub-commands (see cli_common.h).
 *
 * Every message names the argument at fault and, for numbers, the limit:
 * "switchboard: --priority: 5000 is over the limit 1000".
 */
#include "cli_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swb_domain.h"

const struct option cli_global_options[] = {
    {"broker", required_argument, NULL, CLI_OPT_BROKER},
    {"connect-timeout", required_argument, NULL, CLI_OPT_CONNECT_TIMEOUT},
    {"json", no_argument, NULL, CLI_OPT_JSON},
    {"cert", required_argument, NULL, CLI_OPT_CERT},
    {"server-key", required_argument, NULL, CLI_OPT_SERVER_KEY},
    {"help", no_argument, NULL, CLI_OPT_HELP},
    {NULL, 0, NULL, 0},
};

int
cli_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("switchboard: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

void
cli_print_global_help(FILE *out)
{
    fprintf(out,
            "Global options (before or after the command):\n"
            "  --broker EP             broker endpoint (default "
            "$SWITCHBOARD_BROKER or %s)\n"
            "  --connect-timeout MS    how long to wait for the broker's "
            "answer (default %d)\n"
            "  --json                  print one JSON document on stdout\n"
            "  --cert FILE             our secret certificate: speak "
            "CurveZMQ\n"
            "                          (default $SWITCHBOARD_CERT)\n"
            "  --server-key K          the broker's public certificate "
            "file or Z85 key\n"
            "                          (default $SWITCHBOARD_SERVER_KEY)\n"
            "  -h, --help              show help\n"
            "\n"
            "Exit codes: 0 success; 1 the task failed, was canceled, "
            "abandoned or expired,\n"
            "or a wait timed out; 2 usage or input error; 3 broker "
            "unreachable or refusing.\n",
            CLI_DEFAULT_BROKER, CLI_DEFAULT_CONNECT_TIMEOUT);
}

void
cli_print_help(const cli_cmd_t *cmd, FILE *out)
{
    fprintf(out, "Usage: switchboard %s %s\n\n%s\n\n", cmd->name,
            cmd->synopsis, cmd->summary);
    if (cmd->help && *cmd->help)
        fprintf(out, "%s\n", cmd->help);
    cli_print_global_help(out);
}

swb_err_t
cli_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out,
        char *why, size_t why_len)
{
    const char *p = text ? text : "";
    bool digits = *p != 0;
    for (const char *q = p; *q; q++)
        digits = digits && *q >= '0' && *q <= '9';
    if (!digits) {
        snprintf(why, why_len, "\"%s\" is not a whole number", p);
        return SWB_EINVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(p, NULL, 10);
    if (errno == ERANGE || v > max) {
        snprintf(why, why_len, "%s is over the limit %llu", p,
                 (unsigned long long)max);
        return SWB_EINVAL;
    }
    if (v < min) {
        snprintf(why, why_len, "%s is under the minimum %llu", p,
                 (unsigned long long)min);
        return SWB_EINVAL;
    }
    *out = v;
    return SWB_OK;
}

int
cli_opt_u64(const char *opt, const char *text, uint64_t min, uint64_t max,
            uint64_t *out)
{
    char why[160];
    if (cli_u64(text, min, max, out, why, sizeof why))
        return cli_usage("%s: %s", opt, why);
    return CLI_CONTINUE;
}

int
cli_opt_duration(const char *opt, const char *text, uint64_t *ms)
{
    if (swb_parse_duration_ms(text, ms))
        return cli_usage("%s: \"%s\" is not a duration (seconds, or e.g. "
                         "90s, 15m, 2h, 3d)", opt, text);
    return CLI_CONTINUE;
}

swb_err_t
cli_name(const char *text, size_t max, char *why, size_t why_len)
{
    size_t len = strlen(text);
    if (len == 0) {
        snprintf(why, why_len, "is empty");
        return SWB_EINVAL;
    }
    if (len > max) {
        snprintf(why, why_len, "\"%.20s...\" is %zu bytes, over the limit "
                 "%zu", text, len, max);
        return SWB_ETOOBIG;
    }
    for (const char *p = text; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(why, why_len, "\"%s\" holds a control character",
                     text);
            return SWB_EINVAL;
        }
    }
    return SWB_OK;
}

int
cli_opt_name(const char *opt, const char *text, size_t max)
{
    char why[160];
    if (cli_name(text, max, why, sizeof why))
        return cli_usage("%s: %s", opt, why);
    return CLI_CONTINUE;
}

int
cli_task_id(const char *text, uint64_t *id)
{
    char why[160];
    if (cli_u64(text, 1, UINT64_MAX, id, why, sizeof why))
        return cli_usage("ID: \"%s\" is not a task id (a positive "
                         "integer)", text);
    return CLI_CONTINUE;
}

int
cli_global_option(cli_ctx_t *ctx, int id, const char *opt, const char *arg)
{
    uint64_t ms;
    switch (id) {
    case CLI_OPT_BROKER:
        if (!*arg)
            return cli_usage("%s: the endpoint is empty", opt);
        ctx->broker = arg;
        return CLI_CONTINUE;
    case CLI_OPT_CONNECT_TIMEOUT:
        if (cli_opt_u64(opt, arg, 1, 86400000, &ms) != CLI_CONTINUE)
            return CLI_EXIT_USAGE;
        ctx->connect_timeout_ms = (int)ms;
        return CLI_CONTINUE;
    case CLI_OPT_JSON:
        ctx->json = true;
        return CLI_CONTINUE;
    case CLI_OPT_CERT:
        ctx->cert = *arg ? arg : NULL;
        return CLI_CONTINUE;
    case CLI_OPT_SERVER_KEY:
        ctx->server_key = *arg ? arg : NULL;
        return CLI_CONTINUE;
    default:
        return cli_usage("internal: option id %d has no handler", id);
    }
}

/* own + global options into all[]; false when they do not fit. */
static bool
join_options(struct option *all, const struct option *own)
{
    size_t n = 0;
    for (const struct option *o = own; o && o->name; o++) {
        if (n + 1 >= CLI_MAX_OPTIONS)
            return false;
        all[n++] = *o;
    }
    for (const struct option *o = cli_global_options; o->name; o++) {
        if (n + 1 >= CLI_MAX_OPTIONS)
            return false;
        all[n++] = *o;
    }
    memset(&all[n], 0, sizeof all[n]);
    return true;
}

static bool
is_global(int id)
{
    return id == CLI_OPT_BROKER || id == CLI_OPT_CONNECT_TIMEOUT ||
           id == CLI_OPT_JSON || id == CLI_OPT_CERT ||
           id == CLI_OPT_SERVER_KEY;
}

int
cli_getopt(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv,
           const struct option *own, cli_opt_fn fn, void *state, int *first)
{
    struct option all[CLI_MAX_OPTIONS];
    if (!join_options(all, own))
        return cli_usage("internal: %s has too many options", cmd->name);
    optind = 0; /* glibc: start afresh (main ran getopt before) */
    opterr = 0;
    for (;;) {
        int idx = -1;
        int c = getopt_long(argc, argv, ":h", all, &idx);
        if (c == -1)
            break;
        char opt[80];
        if (idx >= 0)
            snprintf(opt, sizeof opt, "--%s", all[idx].name);
        else
            snprintf(opt, sizeof opt, "-%c", c);
        int rc;
        if (c == '?') {
            const char *bad = optopt ? NULL : argv[optind - 1];
            if (bad)
                rc = cli_usage("%s: unknown option %s (see switchboard %s "
                               "--help)", cmd->name, bad, cmd->name);
            else
                rc = cli_usage("%s: unknown option -%c (see switchboard %s "
                               "--help)", cmd->name, optopt, cmd->name);
        } else if (c == ':') {
            rc = cli_usage("%s: %s needs a value", cmd->name,
                           argv[optind - 1]);
        } else if (c == CLI_OPT_HELP) {
            cli_print_help(cmd, stdout);
            rc = CLI_EXIT_OK;
        } else if (is_global(c)) {
            rc = cli_global_option(ctx, c, opt, optarg);
        } else {
            rc = fn(state, c, opt, optarg);
        }
        if (rc != CLI_CONTINUE)
            return rc;
    }
    *first = optind;
    return CLI_CONTINUE;
}

int
cli_positionals(const cli_cmd_t *cmd, int npos, char **pos, int min, int max)
{
    if (npos > max)
        return cli_usage("%s: unexpected argument \"%s\" (see switchboard "
                         "%s --help)", cmd->name, pos[max], cmd->name);
    if (npos < min)
        return cli_usage("%s: missing argument %s (see switchboard %s "
                         "--help)", cmd->name, cmd->synopsis, cmd->name);
    return CLI_CONTINUE;
}

int
cli_connect(cli_ctx_t *ctx)
{
    if (ctx->client)
        return CLI_CONTINUE;
    swb_curve_t keys;
    if (ctx->cert || ctx->server_key) {
        char why[300];
        if (!ctx->cert || !ctx->server_key)
            return cli_usage("--cert and --server-key go together (CurveZMQ "
                             "needs our key pair and the broker's public "
                             "key)");
        if (swb_curve_load(ctx->cert, ctx->server_key, &keys, why,
                           sizeof why))
            return cli_usage("--cert/--server-key: %s", why);
    }
    swb_err_t rc = swb_client_new_secure(ctx->broker, ctx->connect_timeout_ms,
                                         ctx->cert ? &keys : NULL,
                                         &ctx->client);
    if (rc == SWB_EINVAL)
        return cli_usage("--broker: \"%s\" is not an endpoint ZeroMQ can "
                         "connect to (e.g. %s)", ctx->broker,
                         CLI_DEFAULT_BROKER);
    if (rc) {
        fprintf(stderr, "switchboard: cannot make a client: %s\n",
                swb_strerror(rc));
        return CLI_EXIT_BROKER;
    }
    return CLI_CONTINUE;
}

int
cli_exit_code(swb_err_t rc)
{
    switch (rc) {
    case SWB_OK: return CLI_EXIT_OK;
    case SWB_EINVAL:
    case SWB_EDECODE:
    case SWB_ETOOBIG:
    case SWB_ENOTFOUND: return CLI_EXIT_USAGE;
    case SWB_ESTATE: return CLI_EXIT_TASK;
    default: return CLI_EXIT_BROKER;
    }
}

int
cli_fail(cli_ctx_t *ctx, swb_err_t rc, const char *what)
{
    const char *detail = ctx->client ? swb_client_last_error(ctx->client)
                                     : "";
    if (!*detail)
        detail = swb_strerror(rc);
    if (rc == SWB_EUNREACHABLE)
        fprintf(stderr, "switchboard: %s: broker unreachable: %s\n", what,
                detail);
    else
        fprintf(stderr, "switchboard: %s: %s\n", what, detail);
    if (ctx->json) {
        const char *field = ctx->client ? swb_client_last_field(ctx->client)
                                        : "";
        json_t *err = json_pack("{s:s, s:s, s:s}", "code", swb_err_name(rc),
                                "field", field, "message", detail);
        cli_print_json(json_pack("{s:o}", "error", err));
    }
    return cli_exit_code(rc);
}

void
cli_print_json(json_t *doc)
{
    if (!doc) {
        fprintf(stderr, "switchboard: out of memory building JSON\n");
        return;
    }
    if (json_dumpf(doc, stdout, JSON_INDENT(2)) == 0)
        fputc('\n', stdout);
    json_decref(doc);
}

void
cli_iso_time(uint64_t ms, char *out, size_t n)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03uZ", (unsigned)(ms % 1000));
}

void
cli_age(uint64_t ms, char *out, size_t n)
{
    uint64_t now = swb_now_ms();
    uint64_t s = now > ms ? (now - ms) / 1000 : 0;
    if (s < 60)
        snprintf(out, n, "%llus", (unsigned long long)s);
    else if (s < 3600)
        snprintf(out, n, "%llum", (unsigned long long)(s / 60));
    else if (s < 86400)
        snprintf(out, n, "%lluh", (unsigned long long)(s / 3600));
    else
        snprintf(out, n, "%llud", (unsigned long long)(s / 86400));
}
