/*
 * cli_common.h - what the parts of the `switchboard` command line share:
 * the run context, the command table row, exit codes, option parsing
 * with the global options, argument checks and the mapping of library
 * errors to messages and exit codes (PRODUCT.md 6a).
 *
 * Internal to the CLI executable; not installed.
 */
#ifndef SWB_CLI_COMMON_H
#define SWB_CLI_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "swb_client.h"

/* Exit codes: part of the command-line contract. */
enum {
    CLI_EXIT_OK = 0,     /* success                                    */
    CLI_EXIT_TASK = 1,   /* task failed/canceled/abandoned/expired, or
                            a wait ran out of time                     */
    CLI_EXIT_USAGE = 2,  /* bad usage or input                         */
    CLI_EXIT_BROKER = 3  /* broker unreachable or refusing             */
};

/* cli_getopt's "go on with the command" (all exit codes are >= 0). */
#define CLI_CONTINUE (-1)

/* Option ids: commands use 256..999 for their own options. */
enum {
    CLI_OPT_HELP = 'h',
    CLI_OPT_BROKER = 1000,
    CLI_OPT_CONNECT_TIMEOUT,
    CLI_OPT_JSON,
    CLI_OPT_CERT,
    CLI_OPT_SERVER_KEY,
    CLI_OPT_SPEC = 2000 /* + index: the task options (cli_spec.h) */
};

#define CLI_DEFAULT_BROKER "tcp://127.0.0.1:7700"
#define CLI_DEFAULT_CONNECT_TIMEOUT 5000
#define CLI_MAX_OPTIONS 64 /* rows of one command's option table */

/* What one run of the tool knows: global options and the client. */
typedef struct cli_ctx {
    const char *broker;     /* endpoint; borrowed from argv/environ */
    int connect_timeout_ms; /* how long a request waits for a reply */
    bool json;              /* one JSON document on stdout          */
    const char *cert;       /* --cert / SWITCHBOARD_CERT, or NULL   */
    const char *server_key; /* --server-key / SWITCHBOARD_SERVER_KEY */
    swb_client_t *client;   /* made by cli_connect, owned           */
} cli_ctx_t;

typedef struct cli_cmd cli_cmd_t;

/* A sub-command: argv[0] is its name, options follow. Returns the exit
 * code. */
typedef int (*cli_run_fn)(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc,
                          char **argv);

/* One row of the {command, handler} table. */
struct cli_cmd {
    const char *name;
    cli_run_fn run;
    const char *synopsis; /* arguments after the name                 */
    const char *summary;  /* one line, also for the tool's --help     */
    const char *help;     /* the rest of `<cmd> --help`: options...   */
};

/* --broker, --connect-timeout, --json, --help; {0}-terminated. */
extern const struct option cli_global_options[];

extern const cli_cmd_t cli_cmd_submit;
extern const cli_cmd_t cli_cmd_status;
extern const cli_cmd_t cli_cmd_wait;
extern const cli_cmd_t cli_cmd_cancel;
extern const cli_cmd_t cli_cmd_list;
extern const cli_cmd_t cli_cmd_agents;
extern const cli_cmd_t cli_cmd_agent_state;
extern const cli_cmd_t cli_cmd_stats;
extern const cli_cmd_t cli_cmd_sites;
extern const cli_cmd_t cli_cmd_keygen;

/* Prints "switchboard: <message>" on stderr; returns CLI_EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a command's usage (synopsis, summary, help, global options). */
void cli_print_help(const cli_cmd_t *cmd, FILE *out);
/* The global-options paragraph of every --help. */
void cli_print_global_help(FILE *out);

/* Handles --broker, --connect-timeout, --json, --cert, --server-key. Returns CLI_CONTINUE or
 * CLI_EXIT_USAGE (message printed). `opt` is e.g. "--broker". */
int cli_global_option(cli_ctx_t *ctx, int id, const char *opt,
                      const char *arg);

/*
 * Called for each of a command's own options: id from its table, opt the
 * option as typed ("--priority"; valid only during the call), arg its
 * value or NULL. Returns
 * CLI_CONTINUE or an exit code (after printing why).
 */
typedef int (*cli_opt_fn)(void *state, int id, const char *opt,
                          const char *arg);

/*
 * Runs getopt_long over argv (argv[0] = the command name) with the
 * command's options `own` ({0}-terminated) plus the global ones. Unknown
 * options, missing values and --help are handled here. On CLI_CONTINUE
 * the positional arguments are argv[*first .. argc). Otherwise returns
 * the exit code (0 after --help).
 */
int cli_getopt(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv,
               const struct option *own, cli_opt_fn fn, void *state,
               int *first);

/* Checks that there are min..max positional arguments. */
int cli_positionals(const cli_cmd_t *cmd, int npos, char **pos, int min,
                    int max);

/*
 * Parses a whole decimal number in min..max. On error writes a sentence
 * naming the value and the limit into why and returns SWB_EINVAL.
 */
swb_err_t cli_u64(const char *text, uint64_t min, uint64_t max,
                  uint64_t *out, char *why, size_t why_len);
/* cli_u64 for an option: prints "switchboard: --opt: why". Returns
 * CLI_CONTINUE or CLI_EXIT_USAGE. */
int cli_opt_u64(const char *opt, const char *text, uint64_t min,
                uint64_t max, uint64_t *out);
/* A duration option ("30", "30s", "5m"): CLI_CONTINUE or usage error. */
int cli_opt_duration(const char *opt, const char *text, uint64_t *ms);
/*
 * Checks a name (site, agent, sponsor, reason code...): 1..max bytes
 * without control characters. On error writes a sentence naming the value
 * and the limit into why and returns SWB_EINVAL or SWB_ETOOBIG.
 */
swb_err_t cli_name(const char *text, size_t max, char *why, size_t why_len);
/* cli_name for an option or argument: prints "switchboard: OPT: why".
 * Returns CLI_CONTINUE or CLI_EXIT_USAGE. */
int cli_opt_name(const char *opt, const char *text, size_t max);
/* A task id argument: CLI_CONTINUE or CLI_EXIT_USAGE. */
int cli_task_id(const char *text, uint64_t *id);

/* Makes ctx->client if needed. CLI_CONTINUE or an exit code. */
int cli_connect(cli_ctx_t *ctx);

/* The exit code for a library / broker error. */
int cli_exit_code(swb_err_t rc);
/*
 * Reports a failed request: "switchboard: <what>: <broker message>" on
 * stderr (and, with --json, {"error": ...} on stdout). Returns the exit
 * code for rc.
 */
int cli_fail(cli_ctx_t *ctx, swb_err_t rc, const char *what);

/* Prints doc as one JSON document on stdout and drops the reference. */
void cli_print_json(json_t *doc);

/* Unix ms as ISO-8601 UTC with milliseconds ("2026-11-23T09:00:00.000Z"). */
void cli_iso_time(uint64_t ms, char *out, size_t n);
/* How long ago unix ms was, coarsely: "42s", "5m", "3h", "2d". */
void cli_age(uint64_t ms, char *out, size_t n);

/* ---- task output (cli_task.c) ---- */

/* The task as a JSON object (new reference; result may be NULL). */
json_t *cli_task_json(const swb_task_t *t, const swb_bytes_t *result);
/* Prints a task: "key value" lines, or its JSON document with --json. */
void cli_task_print(const cli_ctx_t *ctx, const swb_task_t *t,
                    const swb_bytes_t *result);
/* CLI_EXIT_TASK for dead, canceled, abandoned, expired; else 0. */
int cli_task_exit(const swb_task_t *t);
/*
 * Waits for task id (timeout_ms 0 = a day), prints it and returns the
 * exit code: 0 completed, 1 ended badly or still not final.
 */
int cli_wait_and_print(cli_ctx_t *ctx, uint64_t id, uint64_t timeout_ms);

/* ---- batch submit (cli_batch.c) ---- */

/* `submit --batch FILE` ("-" = stdin): returns the exit code. */
int cli_batch_run(cli_ctx_t *ctx, const char *path);

#endif
