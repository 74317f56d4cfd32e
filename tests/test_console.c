/*
 * test_console.c - the real `switchboard-worker --console` driven through
 * a pipe on its stdin, against the fake broker of fakebroker.c.
 *
 * The test writes command lines into the console's stdin, reads what it
 * shows from its stdout (a file in the test's temp folder) and checks what
 * it says to the broker.
 *
 * Covered: HELLO; not-ready REASON and ready sending STATE; a ringing
 * offer shown with channel, sponsor, payload and ring time; accept
 * sending ACCEPT; done ID NOTES sending DONE with the notes as result;
 * reject sending REJECT with the reason; the ring reminder and an offer
 * that rings out (REVOKE, or none at all); STATE from the broker shown;
 * an unknown command printing one error and the console going on; list;
 * quit releasing a held task and saying BYE; --state and --accept in
 * HELLO; done without ID on the only offer; end of input as quit;
 * --console with --exec refused.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <czmq.h>

#include "fakebroker.h"
#include "swb_msg.h"
#include "swbtest.h"

typedef struct ctx {
    swbt_fb_t b;
    char *dir;
    char out[600]; /* the console's stdout and stderr */
    pid_t pid;
    int in;        /* write end of its stdin, -1 when closed */
} ctx_t;

/* Starts the console with its stdin on a pipe; extra arguments
 * NULL-terminated (may be NULL). */
static bool
ctx_setup(ctx_t *c, const char *tag, const char *const *extra)
{
    memset(c, 0, sizeof *c);
    c->pid = -1;
    c->in = -1;
    c->dir = swbt_tempdir(tag);
    if (!c->dir || !swbt_fb_start(&c->b))
        return false;
    snprintf(c->out, sizeof c->out, "%s/console.log", c->dir);
    char *argv[32] = {(char *)swbt_bin("switchboard-worker"),
                      "--broker", c->b.ep, "--site", "s1", "--agent", "a1",
                      "--channels", "voice.inbound,email", "--console",
                      NULL};
    size_t n = 0;
    while (argv[n])
        n++;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    int p[2];
    if (pipe(p) != 0)
        return false;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(c->out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(p[0], 0);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return false;
    }
    c->pid = pid;
    c->in = p[1];
    return true;
}

static void
ctx_teardown(ctx_t *c)
{
    if (c->in >= 0)
        close(c->in);
    if (c->pid > 0 && swbt_wait_exit(c->pid, 0) == -1)
        swbt_kill(c->pid, SIGKILL);
    if (swbt_failed && c->dir) {
        char *log = swbt_read_file(c->out);
        fprintf(stderr, "  --- console output ---\n%s  ---\n",
                log ? log : "");
        free(log);
    }
    swbt_fb_stop(&c->b);
    swbt_rmdir(c->dir);
    free(c->dir);
}

/* Types one line into the console. */
static bool
type_line(ctx_t *c, const char *line)
{
    size_t n = strlen(line);
    return write(c->in, line, n) == (ssize_t)n && write(c->in, "\n", 1) == 1;
}

/* Waits (heartbeating) until the console has shown needle. */
static bool
wait_out(ctx_t *c, const char *needle, int ms)
{
    int64_t end = swbt_now_ms() + ms;
    for (;;) {
        char *out = swbt_read_file(c->out);
        bool found = out && strstr(out, needle);
        free(out);
        if (found)
            return true;
        if (swbt_now_ms() >= end) {
            fprintf(stderr, "  console never showed \"%s\"\n", needle);
            return false;
        }
        swbt_fb_idle(&c->b, 30);
    }
}

/* Waits for STATE and writes "state/reason" into buf. */
static bool
expect_state(ctx_t *c, char *buf, size_t n)
{
    swb_msg_t m;
    if (!swbt_fb_expect(&c->b, SWB_MSG_STATE, swbt_ms(3000), &m))
        return false;
    snprintf(buf, n, "%s/%s", m.u.state.state,
             m.u.state.reason ? m.u.state.reason : "-");
    swb_msg_clear(&m);
    return true;
}

/* HELLO (checked) and WELCOME. */
static void
handshake(ctx_t *c)
{
    swb_msg_t m;
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(5000), &m));
    bool ok = m.u.hello.site && strcmp(m.u.hello.site, "s1") == 0 &&
              m.u.hello.agent && strcmp(m.u.hello.agent, "a1") == 0 &&
              swb_strs_has(&m.u.hello.channels, "voice.inbound") &&
              !m.u.hello.accept && !m.u.hello.state;
    swb_msg_clear(&m);
    ASSERT_TRUE(ok);
    swbt_fb_welcome(&c->b);
    ASSERT_TRUE(wait_out(c, "connected to", swbt_ms(3000)));
}

static void
body_session(ctx_t *c)
{
    swb_msg_t m;
    char st[128];
    handshake(c);
    if (swbt_failed)
        return;

    /* Agent states. */
    ASSERT_TRUE(type_line(c, "not-ready lunch"));
    ASSERT_TRUE(expect_state(c, st, sizeof st));
    ASSERT_STR_EQ(st, "not-ready/lunch");
    ASSERT_TRUE(wait_out(c, "state: not-ready (lunch)", swbt_ms(2000)));
    ASSERT_TRUE(type_line(c, "ready"));
    ASSERT_TRUE(expect_state(c, st, sizeof st));
    ASSERT_STR_EQ(st, "ready/-");

    /* A ringing offer shows up; accept; done with notes. */
    swbt_fb_offer_ex(&c->b, 7, 3, "voice.inbound", "Caller asks about "
                     "invoice 1234", 30, 15000);
    ASSERT_TRUE(wait_out(c, "OFFER 7 RINGING (15 s): voice.inbound, "
                         "sponsor acme, attempt 2", swbt_ms(3000)));
    ASSERT_TRUE(wait_out(c, "payload: Caller asks about invoice 1234",
                         swbt_ms(1000)));
    ASSERT_TRUE(type_line(c, "accept"));
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_ACCEPT, swbt_ms(3000), &m));
    ASSERT_INT_EQ(m.u.lease.id, 7);
    ASSERT_INT_EQ(m.u.lease.lease, 3);
    swb_msg_clear(&m);
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 7, 3);
    ASSERT_TRUE(wait_out(c, "accepted task 7", swbt_ms(2000)));
    ASSERT_TRUE(type_line(c, "done 7 great call"));
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(3000), &m));
    char res[64];
    snprintf(res, sizeof res, "%.*s", (int)m.u.done.result.len,
             (const char *)m.u.done.result.data);
    bool same = m.u.done.id == 7 && m.u.done.lease == 3;
    swb_msg_clear(&m);
    ASSERT_TRUE(same);
    ASSERT_STR_EQ(res, "great call");
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 7, 3);
    ASSERT_TRUE(wait_out(c, "task 7 done: great call", swbt_ms(2000)));

    /* reject ID REASON. */
    swbt_fb_offer_ex(&c->b, 8, 4, "voice.inbound", "second caller", 13,
                     15000);
    ASSERT_TRUE(wait_out(c, "OFFER 8 RINGING", swbt_ms(3000)));
    ASSERT_TRUE(type_line(c, "reject 8 wrong language"));
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_REJECT, swbt_ms(3000), &m));
    snprintf(res, sizeof res, "%llu/%llu/%s",
             (unsigned long long)m.u.fail.id,
             (unsigned long long)m.u.fail.lease,
             m.u.fail.reason ? m.u.fail.reason : "-");
    swb_msg_clear(&m);
    ASSERT_STR_EQ(res, "8/4/wrong language");
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 8, 4);
    ASSERT_TRUE(wait_out(c, "rejected offer 8", swbt_ms(2000)));

    /* Unknown commands: one error line, the console goes on. */
    ASSERT_TRUE(type_line(c, "dance now"));
    ASSERT_TRUE(wait_out(c, "error: unknown command \"dance\" (type help)",
                         swbt_ms(2000)));
    ASSERT_TRUE(type_line(c, "accept"));
    ASSERT_TRUE(wait_out(c, "error: no ringing offer to accept",
                         swbt_ms(2000)));
    ASSERT_TRUE(type_line(c, "list"));
    ASSERT_TRUE(wait_out(c, "no tasks held", swbt_ms(2000)));

    /* The ring reminder, then the offer rings out (the broker revokes). */
    swbt_fb_offer_ex(&c->b, 9, 5, "voice.inbound", "third", 5, 7000);
    ASSERT_TRUE(wait_out(c, "OFFER 9 RINGING (7 s)", swbt_ms(3000)));
    ASSERT_TRUE(wait_out(c, "offer 9 still ringing: 2 s left",
                         swbt_ms(7000)));
    swbt_fb_lease(&c->b, SWB_MSG_REVOKE, 9, 5);
    ASSERT_TRUE(wait_out(c, "offer 9 is gone: it rang out", swbt_ms(2000)));

    /* The broker changes the state. */
    swbt_fb_state(&c->b, "not-ready", "missed-offers");
    ASSERT_TRUE(wait_out(c, "state: not-ready (missed-offers) (set by the "
                         "broker)", swbt_ms(2000)));
    swbt_fb_state(&c->b, "ready", NULL);

    /* An assigned e-mail; quit hands it back and says BYE. */
    swbt_fb_offer_str(&c->b, 10, 6, "Dear support, ...");
    ASSERT_TRUE(wait_out(c, "TASK 10 assigned: email, sponsor acme",
                         swbt_ms(3000)));
    ASSERT_TRUE(type_line(c, "list"));
    ASSERT_TRUE(wait_out(c, "  10  email, sponsor acme, attempt 2  [yours]"
                         "  Dear support, ...", swbt_ms(2000)));
    ASSERT_TRUE(type_line(c, "quit"));
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_RELEASE, swbt_ms(3000), &m));
    ASSERT_INT_EQ(m.u.lease.id, 10);
    ASSERT_INT_EQ(m.u.lease.lease, 6);
    swb_msg_clear(&m);
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 10, 6);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_BYE, swbt_ms(3000), &m));
    swb_msg_clear(&m);
    int code = swbt_wait_exit(c->pid, swbt_ms(5000));
    c->pid = -1;
    ASSERT_INT_EQ(code, 0);
}

static void
test_console_session(void)
{
    ctx_t c;
    if (ctx_setup(&c, "console", NULL))
        body_session(&c);
    else
        swbt_failed++;
    ctx_teardown(&c);
}

/* --state and --accept reach HELLO; end of input is quit. */
static void
body_eof(ctx_t *c)
{
    swb_msg_t m;
    char st[128];
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(5000), &m));
    snprintf(st, sizeof st, "%s/%d",
             m.u.hello.state ? m.u.hello.state : "-", (int)m.u.hello.accept);
    swb_msg_clear(&m);
    ASSERT_STR_EQ(st, "break/1");
    swbt_fb_welcome(&c->b);
    ASSERT_TRUE(wait_out(c, "state: break.", swbt_ms(3000)));
    /* A ringing e-mail (explicit accept): the ID defaults to it. */
    swbt_fb_offer_ex(&c->b, 20, 1, "email", "mail", 4, 30000);
    ASSERT_TRUE(wait_out(c, "OFFER 20 RINGING (30 s): email", swbt_ms(3000)));
    ASSERT_TRUE(type_line(c, "done"));
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(3000), &m));
    size_t len = m.u.done.result.len;
    swb_msg_clear(&m);
    ASSERT_INT_EQ(len, 0);
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 20, 1);
    /* No REVOKE after the ring time: the offer goes by itself. */
    swbt_fb_offer_ex(&c->b, 21, 2, "email", "mail", 4, 500);
    ASSERT_TRUE(wait_out(c, "OFFER 21 RINGING (1 s)", swbt_ms(3000)));
    ASSERT_TRUE(wait_out(c, "offer 21 is gone: it rang out", swbt_ms(5000)));
    ASSERT_TRUE(type_line(c, "accept 21"));
    ASSERT_TRUE(wait_out(c, "error: no task 21 here", swbt_ms(2000)));
    close(c->in);
    c->in = -1;
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_BYE, swbt_ms(3000), &m));
    swb_msg_clear(&m);
    ASSERT_INT_EQ(swbt_wait_exit(c->pid, swbt_ms(5000)), 0);
    c->pid = -1;
}

static void
test_console_state_accept_and_eof(void)
{
    static const char *const extra[] = {"--state", "break", "--accept",
                                        NULL};
    ctx_t c;
    if (ctx_setup(&c, "coneof", extra))
        body_eof(&c);
    else
        swbt_failed++;
    ctx_teardown(&c);
}

static void
test_console_with_exec_is_refused(void)
{
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' --site s --channels email --console "
             "--exec cat 2>&1 </dev/null", swbt_bin("switchboard-worker"));
    ASSERT_INT_EQ(swbt_run(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "--console and --exec cannot be used together");
    free(out);
}

int
main(void)
{
    zsys_init();
    zsys_handler_set(NULL);
    signal(SIGPIPE, SIG_IGN);
    SWB_RUN(test_console_session);
    SWB_RUN(test_console_state_accept_and_eof);
    SWB_RUN(test_console_with_exec_is_refused);
    zsys_shutdown();
    return SWB_TEST_EXIT();
}
