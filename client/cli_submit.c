/*
 * cli_submit.c - `switchboard submit`: one task from options (checked
 * locally by cli_spec.c, then sent), optionally waited for; or, with
 * --batch FILE, a whole file handed to cli_batch.c.
 *
 * Prints the task id (with --json {"id", "duplicate"}); with --wait the
 * final task as `status` shows it, and exits 1 if it did not complete.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "cli_spec.h"

enum { OPT_WAIT = 256, OPT_TIMEOUT, OPT_BATCH };

typedef struct submit_cmd {
    cli_spec_t spec;
    bool wait;
    const char *timeout_opt; /* "--timeout" when given (static) */
    uint64_t timeout_ms;
    const char *batch;
} submit_cmd_t;

static int
submit_option(void *state, int id, const char *opt, const char *arg)
{
    submit_cmd_t *sc = state;
    switch (id) {
    case OPT_WAIT:
        sc->wait = true;
        return CLI_CONTINUE;
    case OPT_TIMEOUT:
        sc->timeout_opt = "--timeout"; /* opt lives only during the call */
        return cli_opt_duration(opt, arg, &sc->timeout_ms);
    case OPT_BATCH:
        sc->batch = arg;
        return CLI_CONTINUE;
    default:
        break;
    }
    const char *key = cli_spec_option_key(id);
    char why[512];
    if (!key)
        return cli_usage("internal: option %s has no handler", opt);
    if (cli_spec_set(&sc->spec, key, arg, why, sizeof why))
        return cli_usage("%s: %s", opt, why);
    return CLI_CONTINUE;
}

/* Checks how the options combine; CLI_CONTINUE or a usage error. */
static int
submit_check(submit_cmd_t *sc)
{
    if (sc->batch) {
        if (sc->spec.given)
            return cli_usage("--batch: task options go into the file, not "
                             "on the command line");
        if (sc->wait || sc->timeout_opt)
            return cli_usage("--batch: cannot be combined with --wait");
        return CLI_CONTINUE;
    }
    if (sc->timeout_opt && !sc->wait)
        return cli_usage("%s: only used with --wait", sc->timeout_opt);
    const char *key = NULL;
    char why[512];
    if (cli_spec_finish(&sc->spec, &key, why, sizeof why))
        return cli_usage("%s: %s", key, why);
    return CLI_CONTINUE;
}

static int
submit_one(cli_ctx_t *ctx, submit_cmd_t *sc)
{
    int rc = cli_connect(ctx);
    if (rc != CLI_CONTINUE)
        return rc;
    uint64_t id = 0;
    bool dup = false;
    swb_err_t err = swb_client_submit(ctx->client, &sc->spec.spec, &id, &dup);
    if (err)
        return cli_fail(ctx, err, "submit");
    if (dup)
        fprintf(stderr, "switchboard: submit: key \"%s\" was used before; "
                "task %llu is that earlier task\n", sc->spec.spec.key,
                (unsigned long long)id);
    if (sc->wait)
        return cli_wait_and_print(ctx, id, sc->timeout_ms);
    if (ctx->json)
        cli_print_json(json_pack("{s:I, s:b}", "id", (json_int_t)id,
                                 "duplicate", dup));
    else
        printf("%llu\n", (unsigned long long)id);
    return CLI_EXIT_OK;
}

static int
run_submit(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    struct option opts[CLI_MAX_OPTIONS];
    size_t n = cli_spec_options(opts, CLI_MAX_OPTIONS - 8);
    opts[n++] = (struct option){"wait", no_argument, NULL, OPT_WAIT};
    opts[n++] = (struct option){"timeout", required_argument, NULL,
                                OPT_TIMEOUT};
    opts[n++] = (struct option){"batch", required_argument, NULL, OPT_BATCH};
    opts[n] = (struct option){NULL, 0, NULL, 0};

    submit_cmd_t sc = {0};
    cli_spec_init(&sc.spec, true);
    int first;
    int rc = cli_getopt(ctx, cmd, argc, argv, opts, submit_option, &sc,
                        &first);
    if (rc == CLI_CONTINUE)
        rc = cli_positionals(cmd, argc - first, argv + first, 0, 0);
    if (rc == CLI_CONTINUE)
        rc = submit_check(&sc);
    if (rc == CLI_CONTINUE)
        rc = sc.batch ? cli_batch_run(ctx, sc.batch) : submit_one(ctx, &sc);
    cli_spec_free(&sc.spec);
    return rc;
}

const cli_cmd_t cli_cmd_submit = {
    "submit", run_submit,
    "--channel CH [options] [--wait [--timeout S]]\n"
    "       switchboard submit --batch FILE",
    "Submit a task; print its id, or with --wait the final task.",
    "With --batch, FILE holds one JSON task per line, with the options as "
    "keys:\nchannel, sponsor, lang, skills (\"a:1,b:2\" or an object), "
    "priority, deadline,\npatience, window, tz, not_before, sites, countries, "
    "key, payload, max_attempts,\nrouting. Lines without a key get one "
    "derived from the file's path and the line\nnumber, so running a file "
    "again resumes it. Prints a summary; exits 2 if lines\nwere rejected.\n\n"
    "Options:\n"
    "  --channel CH            voice.inbound, voice.outbound, email, chat, "
    "form, data,\n"
    "                          research, accounting, database, "
    "documentation (required)\n"
    "  --sponsor S             the sponsor company\n"
    "  --lang LANG:LEVEL       language and CEFR level A1..C2, e.g. en:B2 "
    "(repeatable)\n"
    "  --skill NAME:LEVEL      required skill, level 1..100 (repeatable)\n"
    "  --priority N            0..1000, higher first (default 0)\n"
    "  --deadline WHEN         duration from now (90s, 15m, 2h, 3d) or ISO "
    "time\n"
    "  --patience SECONDS      inbound voice: how long the caller waits\n"
    "  --window HH:MM-HH:MM    outbound calling window in the customer's "
    "time\n"
    "  --tz Area/City          the customer's time zone (with --window)\n"
    "  --not-before WHEN       do not start before (duration or ISO time)\n"
    "  --site ID               allowed site (repeatable)\n"
    "  --country CC            allowed site country (repeatable)\n"
    "  --key KEY               idempotency key: the same key gives the same "
    "task\n"
    "  --payload TEXT          the work itself (at most 1 MiB)\n"
    "  --payload-file FILE     read the payload from FILE (- = stdin)\n"
    "  --max-attempts N        attempts before the task is dead (1..100)\n"
    "  --routing R             choice of agent: longest-idle or "
    "best-skilled\n"
    "                          (default: the sponsor's setting)\n"
    "  --wait                  wait until the task is final; show it\n"
    "  --timeout S             with --wait: give up after S seconds\n"
    "  --batch FILE            submit one JSON task per line of FILE\n"};
