/*
 * test_cli_args.c - the `switchboard` CLI refuses bad arguments with exit
 * code 2 and a message that names the argument (PRODUCT.md 6a), and
 * reports an absent broker with exit code 3 without hanging.
 *
 * Runs the real executable (swbt_bin("switchboard")) through the shell
 * with stderr folded into stdout. No broker is needed: every case is
 * refused before anything is sent, except the unreachable one, which
 * points the CLI at a free port nobody listens on.
 */
#include "swbtest.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

/* Runs `switchboard <args> 2>&1`; *out gets the text (caller frees). */
static int
cli(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
cli(char **out, const char *fmt, ...)
{
    char args[1024], cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1 </dev/null",
             swbt_bin("switchboard"), args);
    *out = NULL;
    return swbt_run(cmd, out);
}

/* The CLI must exit 2 and its message must contain both needles. */
static void
expect_usage(const char *args, const char *needle, const char *needle2)
{
    char *out = NULL;
    int rc = cli(&out, "--broker tcp://127.0.0.1:1 %s", args);
    if (rc != 2 || !out || !strstr(out, needle) ||
        (needle2 && !strstr(out, needle2)))
        fprintf(stderr, "  for: switchboard %s\n  got: %s", args,
                out ? out : "(nothing)\n");
    ASSERT_INT_EQ(rc, 2);
    ASSERT_STR_CONTAINS(out, "switchboard: ");
    ASSERT_STR_CONTAINS(out, needle);
    if (needle2)
        ASSERT_STR_CONTAINS(out, needle2);
    free(out);
}

static void
test_unknown_channel_lists_valid_ones(void)
{
    expect_usage("submit --channel fax", "--channel", "\"fax\"");
    expect_usage("submit --channel fax", "voice.inbound", "documentation");
}

static void
test_bad_cefr_level(void)
{
    expect_usage("submit --channel email --lang en:Z9", "--lang", "Z9");
    expect_usage("submit --channel email --lang english", "--lang",
                 "english");
}

static void
test_bad_skill_level(void)
{
    expect_usage("submit --channel email --skill banking:0", "--skill",
                 "1..100");
    expect_usage("submit --channel email --skill banking:101", "--skill",
                 "banking");
    expect_usage("submit --channel email --skill banking", "--skill",
                 "NAME:LEVEL");
}

static void
test_priority_limits(void)
{
    expect_usage("submit --channel email --priority 5000", "--priority",
                 "5000 is over the limit 1000");
    expect_usage("submit --channel email --priority high", "--priority",
                 "high");
    expect_usage("submit --channel email --priority -1", "--priority", "-1");
}

static void
test_window_needs_tz(void)
{
    expect_usage("submit --channel voice.outbound --window 09:00-20:00",
                 "--window", "--tz");
    expect_usage("submit --channel voice.outbound --tz Europe/Paris", "--tz",
                 "--window");
    expect_usage("submit --channel voice.outbound --window 9-20 "
                 "--tz Europe/Paris", "--window", "HH:MM-HH:MM");
    expect_usage("submit --channel voice.outbound --window 09:00-24:00 "
                 "--tz Europe/Paris", "--window", "09:00-24:00");
}

static void
test_unknown_time_zone(void)
{
    expect_usage("submit --channel voice.outbound --window 09:00-20:00 "
                 "--tz Mars/Olympus_Mons", "--tz", "Mars/Olympus_Mons");
    expect_usage("submit --channel voice.outbound --window 09:00-20:00 "
                 "--tz ../../etc/passwd", "--tz", "passwd");
    expect_usage("submit --channel voice.outbound --window 09:00-20:00 "
                 "--tz Europe", "--tz", "Europe");
}

static void
test_unknown_option(void)
{
    expect_usage("submit --channel email --frobnicate", "--frobnicate",
                 NULL);
    expect_usage("--frobnicate status 1", "--frobnicate", NULL);
    expect_usage("list --frobnicate=3", "--frobnicate", NULL);
}

static void
test_option_without_value(void)
{
    expect_usage("submit --channel email --priority", "--priority",
                 "needs a value");
}

static void
test_missing_channel(void)
{
    expect_usage("submit --sponsor acme --payload hi", "--channel",
                 "required");
}

static void
test_extra_arguments(void)
{
    expect_usage("submit --channel email stray", "\"stray\"", NULL);
    expect_usage("status 1 2", "\"2\"", NULL);
    expect_usage("status", "ID", NULL);
}

static void
test_payload_checks(void)
{
    expect_usage("submit --channel email --payload-file /nonexistent/x",
                 "--payload-file", "/nonexistent/x");
    expect_usage("submit --channel email --payload hi --payload-file "
                 "/etc/hostname", "--payload", "--payload-file");

    char *dir = swbt_tempdir("cli-args");
    ASSERT_TRUE(dir != NULL);
    char path[600], args[800];
    snprintf(path, sizeof path, "%s/big", dir);
    FILE *f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    for (int i = 0; i < 1100; i++) {
        char kib[1024];
        memset(kib, 'x', sizeof kib);
        fwrite(kib, 1, sizeof kib, f);
    }
    fclose(f);
    snprintf(args, sizeof args, "submit --channel email --payload-file '%s'",
             path);
    expect_usage(args, "--payload-file", "1 MiB");
    swbt_rmdir(dir);
    free(dir);
}

static void
test_status_needs_numeric_id(void)
{
    expect_usage("status abc", "ID", "\"abc\"");
    expect_usage("wait 12x", "ID", "\"12x\"");
    expect_usage("cancel 0", "ID", "\"0\"");
}

static void
test_unknown_subcommand(void)
{
    expect_usage("frobnicate", "\"frobnicate\"", "submit");
    expect_usage("", "no command", NULL);
}

static void
test_bad_list_filters(void)
{
    expect_usage("list --state sleeping", "--state", "queued");
    expect_usage("list --limit 0", "--limit", "0");
    expect_usage("wait 1 --timeout soon", "--timeout", "soon");
    expect_usage("submit --channel email --timeout 5", "--timeout", "--wait");
}

static void
test_global_option_values(void)
{
    expect_usage("--connect-timeout 0 status 1", "--connect-timeout", "0");
    expect_usage("status 1 --connect-timeout x", "--connect-timeout", "x");
    expect_usage("--broker nonsense status 1", "--broker", "nonsense");
}

/* A batch whose every line is bad locally: nothing is sent, exit 2, and
 * the summary names each line. */
static void
test_batch_rejects_lines(void)
{
    char *dir = swbt_tempdir("cli-batch");
    ASSERT_TRUE(dir != NULL);
    char path[600], args[800];
    snprintf(path, sizeof path, "%s/tasks.jsonl", dir);
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs("{\"channel\":\"fax\"}\n"
          "\n"
          "not json\n"
          "{\"channel\":\"email\",\"priority\":5000}\n"
          "{\"channel\":\"email\",\"colour\":\"red\"}\n",
          f);
    fclose(f);
    snprintf(args, sizeof args, "submit --batch '%s'", path);
    expect_usage(args, "line 1: channel", "line 4: priority");
    expect_usage(args, "line 3: not JSON", "line 5: colour");
    expect_usage(args, "4 rejected", NULL);
    expect_usage("submit --batch /nonexistent/tasks.jsonl", "--batch",
                 "/nonexistent/tasks.jsonl");
    expect_usage("submit --batch x --channel email", "--batch", NULL);
    swbt_rmdir(dir);
    free(dir);
}

static void
test_bad_routing(void)
{
    expect_usage("submit --channel email --routing fastest", "--routing",
                 "\"fastest\"");
    expect_usage("submit --channel email --routing fastest", "longest-idle",
                 "best-skilled");
    expect_usage("submit --channel email --routing", "--routing",
                 "needs a value");

    char *dir = swbt_tempdir("cli-routing");
    ASSERT_TRUE(dir != NULL);
    char path[600], args[800];
    snprintf(path, sizeof path, "%s/tasks.jsonl", dir);
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs("{\"channel\":\"email\",\"routing\":\"random\"}\n", f);
    fclose(f);
    snprintf(args, sizeof args, "submit --batch '%s'", path);
    expect_usage(args, "line 1: routing", "\"random\"");
    swbt_rmdir(dir);
    free(dir);
}

static void
test_agent_state_checks_state(void)
{
    expect_usage("agent-state a1 sleepy", "STATE", "\"sleepy\"");
    expect_usage("agent-state a1 sleepy", "ready", "not-ready");
    expect_usage("agent-state a1 wrap-up", "STATE", "\"wrap-up\"");
    expect_usage("agent-state a1 offline", "STATE", "break");
    expect_usage("agent-state a1 ready --reason lunch", "--reason",
                 "not-ready");
    expect_usage("agent-state a1 break --reason ''", "--reason", "empty");
    expect_usage("agent-state a1", "missing argument", "AGENT STATE");
    expect_usage("agent-state a1 ready extra", "\"extra\"", NULL);
    expect_usage("agent-state '' ready", "AGENT", "empty");
}

static void
test_agents_extra_arguments(void)
{
    expect_usage("agents stray", "agents", "\"stray\"");
    expect_usage("agents --site", "--site", "needs a value");
    expect_usage("agents --site ''", "--site", "empty");
    expect_usage("agents --state ready", "--state", NULL);
}

static void
test_help_exits_zero(void)
{
    const char *cmds[] = {"--help", "submit --help", "status --help",
                          "wait --help", "cancel --help", "list --help",
                          "agents --help", "agent-state --help",
                          "help submit", "help agent-state"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *out = NULL;
        int rc = cli(&out, "%s", cmds[i]);
        ASSERT_INT_EQ(rc, 0);
        ASSERT_STR_CONTAINS(out, "Usage: switchboard");
        free(out);
    }
}

/* No broker on the port: exit 3 within a few seconds, with a message;
 * global options work after the sub-command too. */
static void
test_unreachable_broker_exits_3(void)
{
    static const struct {
        const char *before, *after; /* around the endpoint */
    } cmds[] = {
        {"--connect-timeout 500 --broker", "status 1"},
        {"status 1 --connect-timeout 500 --broker", "--json"},
        {"--connect-timeout 500 --broker", "submit --channel email"},
        {"--connect-timeout 500 --broker", "agents"},
        {"--connect-timeout 500 --broker", "agent-state a1 break"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        int port = swbt_free_port();
        ASSERT_TRUE(port > 0);
        char args[300];
        snprintf(args, sizeof args, "%s tcp://127.0.0.1:%d %s",
                 cmds[i].before, port, cmds[i].after);
        char *out = NULL;
        int64_t t0 = swbt_now_ms();
        int rc = cli(&out, "%s", args);
        int64_t took = swbt_now_ms() - t0;
        ASSERT_INT_EQ(rc, 3);
        ASSERT_STR_CONTAINS(out, "unreachable");
        ASSERT_TRUE(took < swbt_ms(4000));
        free(out);
    }
}

int
main(void)
{
    if (access(swbt_bin("switchboard"), X_OK) != 0) {
        fprintf(stderr, "no executable %s (set SWB_BIN_DIR)\n",
                swbt_bin("switchboard"));
        return 1;
    }
    SWB_RUN(test_unknown_channel_lists_valid_ones);
    SWB_RUN(test_bad_cefr_level);
    SWB_RUN(test_bad_skill_level);
    SWB_RUN(test_priority_limits);
    SWB_RUN(test_window_needs_tz);
    SWB_RUN(test_unknown_time_zone);
    SWB_RUN(test_unknown_option);
    SWB_RUN(test_option_without_value);
    SWB_RUN(test_missing_channel);
    SWB_RUN(test_extra_arguments);
    SWB_RUN(test_payload_checks);
    SWB_RUN(test_status_needs_numeric_id);
    SWB_RUN(test_unknown_subcommand);
    SWB_RUN(test_bad_list_filters);
    SWB_RUN(test_global_option_values);
    SWB_RUN(test_batch_rejects_lines);
    SWB_RUN(test_bad_routing);
    SWB_RUN(test_agent_state_checks_state);
    SWB_RUN(test_agents_extra_arguments);
    SWB_RUN(test_help_exits_zero);
    SWB_RUN(test_unreachable_broker_exits_3);
    return SWB_TEST_EXIT();
}
