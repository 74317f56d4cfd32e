/*
 * main.c - `switchboard`, the client and operator command line
 * (PRODUCT.md 6a): submit, status, wait, cancel, list, agents,
 * agent-state, stats, sites, keygen.
 *
 * This file reads the global options that come before the command
 * (--broker, --connect-timeout, --json, --cert, --server-key; the
 * environment variables SWITCHBOARD_BROKER, SWITCHBOARD_CERT and
 * SWITCHBOARD_SERVER_KEY), looks the command up in the {command, handler}
 * table and runs it; each command parses its own options (global ones
 * are accepted there too) in its cli_*.c file. Output and exit codes are
 * the commands' business; see cli_common.h for the codes.
 *
 * czmq's SIGINT/SIGTERM handler is switched off, so Ctrl-C ends a long
 * wait at once, as for any command-line tool.
 */
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"

static int run_help(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc,
                    char **argv);

static const cli_cmd_t cli_cmd_help = {
    "help", run_help, "[COMMAND]", "Show the help of the tool or a command.",
    ""};

static const cli_cmd_t *const commands[] = {
    &cli_cmd_submit, &cli_cmd_status, &cli_cmd_wait,   &cli_cmd_cancel,
    &cli_cmd_list,   &cli_cmd_agents, &cli_cmd_agent_state, &cli_cmd_stats,
    &cli_cmd_sites,  &cli_cmd_keygen, &cli_cmd_help,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const cli_cmd_t *
find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static void
tool_help(FILE *out)
{
    fprintf(out, "Usage: switchboard [global options] COMMAND [options]\n\n"
                 "Submit tasks to a Switchboard broker and follow them;\n"
                 "see the agents and set their states; watch the\n"
                 "region's statistics.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n`switchboard COMMAND --help` shows a command's options."
                 "\n\n");
    cli_print_global_help(out);
}

static int
run_help(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    int first;
    int rc = cli_getopt(ctx, cmd, argc, argv, NULL, NULL, NULL, &first);
    if (rc == CLI_CONTINUE)
        rc = cli_positionals(cmd, argc - first, argv + first, 0, 1);
    if (rc != CLI_CONTINUE)
        return rc;
    if (first == argc) {
        tool_help(stdout);
        return CLI_EXIT_OK;
    }
    const cli_cmd_t *about = find_command(argv[first]);
    if (!about)
        return cli_usage("help: unknown command \"%s\"", argv[first]);
    cli_print_help(about, stdout);
    return CLI_EXIT_OK;
}

/* The command names, comma separated, for error messages. */
static void
command_list(char *out, size_t n)
{
    out[0] = 0;
    for (size_t i = 0; i < NCOMMANDS; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? ", " : "",
                 commands[i]->name);
}

/* Global options before the command; then the command. */
static int
run(cli_ctx_t *ctx, int argc, char **argv)
{
    opterr = 0;
    for (;;) {
        int idx = -1;
        int c = getopt_long(argc, argv, "+:h", cli_global_options, &idx);
        if (c == -1)
            break;
        if (c == '?' && optopt)
            return cli_usage("unknown option -%c (see switchboard --help)",
                             optopt);
        if (c == '?')
            return cli_usage("unknown option %s (see switchboard --help)",
                             argv[optind - 1]);
        if (c == ':')
            return cli_usage("%s needs a value", argv[optind - 1]);
        if (c == CLI_OPT_HELP) {
            tool_help(stdout);
            return CLI_EXIT_OK;
        }
        char opt[64];
        snprintf(opt, sizeof opt, "--%s", cli_global_options[idx].name);
        int rc = cli_global_option(ctx, c, opt, optarg);
        if (rc != CLI_CONTINUE)
            return rc;
    }
    char names[120];
    command_list(names, sizeof names);
    if (optind >= argc) {
        cli_usage("no command given; commands: %s (see switchboard --help)",
                  names);
        return CLI_EXIT_USAGE;
    }
    const cli_cmd_t *cmd = find_command(argv[optind]);
    if (!cmd)
        return cli_usage("unknown command \"%s\"; commands: %s",
                         argv[optind], names);
    return cmd->run(ctx, cmd, argc - optind, argv + optind);
}

int
main(int argc, char **argv)
{
    zsys_handler_set(NULL);
    const char *env = getenv("SWITCHBOARD_BROKER");
    const char *cert = getenv("SWITCHBOARD_CERT");
    const char *server_key = getenv("SWITCHBOARD_SERVER_KEY");
    cli_ctx_t ctx = {
        .broker = env && *env ? env : CLI_DEFAULT_BROKER,
        .cert = cert && *cert ? cert : NULL,
        .server_key = server_key && *server_key ? server_key : NULL,
        .connect_timeout_ms = CLI_DEFAULT_CONNECT_TIMEOUT,
    };
    int rc = run(&ctx, argc, argv);
    swb_client_destroy(&ctx.client);
    fflush(stdout);
    return rc;
}
