/*
 * test_worker_exec.c - the real `switchboard-worker --exec` against a fake
 * broker living in this test process.
 *
 * The fake broker is a czmq ROUTER bound on an ephemeral 127.0.0.1 port
 * that speaks the worker protocol frame by frame (proto/swb_msg.h): it
 * checks the HELLO profile, sends WELCOME / OFFER / REVOKE / ACK /
 * STATE / ERROR, heartbeats while it waits (or goes silent on purpose),
 * and checks what the worker answers. The handler is a small sh script that
 * acts on the first word of the payload (ok, fail3, retry, sleep, big,
 * size; anything else echoes its stdin JSON back), and leaves its stdin
 * and environment in the test's temp folder for inspection.
 *
 * Covered: the profile in HELLO, DONE with stdout, the JSON on stdin and
 * the SWB_* environment, binary payloads as base64, a large stdin, DONE
 * re-sent until ACKed, FAIL with the stderr tail (exit 3), retry (exit
 * 75), the 1 MiB stdout cap, REVOKE killing the handler's process group,
 * SIGTERM releasing a task whose handler outlives --grace (and new offers
 * at once), re-HELLO with `holding` after the broker goes silent, HELLO
 * again after ERROR "protocol", exit 3 when the HELLO is refused, and
 * exit 2 on bad arguments. Ringing offers: ACCEPT before the handler
 * runs, a stale ACCEPT stopping the handler; --accept and --state in
 * HELLO (the reason code in a STATE after WELCOME); STATE from the
 * broker logged and said again in the next HELLO.
 *
 * The fake broker lives in fakebroker.c (shared with test_console.c).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>
#include <jansson.h>

#include "fakebroker.h"
#include "swb_msg.h"
#include "swbtest.h"

#define HB SWBT_FB_HB /* ms: the heartbeat the fake broker asks for */

/* ---- the worker under test ---------------------------------------------- */

static const char handler_sh[] =
    "#!/bin/sh\n"
    "d=\"$SWBT_DIR\"\n"
    "id=$SWB_TASK_ID\n"
    "cat > \"$d/in-$id.json\"\n"
    "printf '%s %s %s\\n' \"$SWB_TASK_ID\" \"$SWB_CHANNEL\" \"$SWB_ATTEMPT\""
    " > \"$d/env-$id\"\n"
    "mode=$(grep -o '\"payload\":\"[a-z0-9]*' \"$d/in-$id.json\" | head -n 1"
    " | cut -d'\"' -f4)\n"
    "case \"$mode\" in\n"
    "ok*) printf 'result of %s' \"$id\" ;;\n"
    "fail3*) echo 'line one' >&2; echo 'disk on fire' >&2; exit 3 ;;\n"
    "retry*) echo 'busy, later' >&2; exit 75 ;;\n"
    "sleep*) sleep 30 & echo \"$$ $!\" > \"$d/pids.tmp-$id\";"
    " mv \"$d/pids.tmp-$id\" \"$d/pids-$id\"; wait ;;\n"
    "big*) head -c 2000000 /dev/zero ;;\n"
    "size*) wc -c < \"$d/in-$id.json\" ;;\n"
    "*) cat \"$d/in-$id.json\" ;;\n"
    "esac\n";

typedef struct ctx {
    swbt_fb_t b;
    char *dir;
    char log[600];
    pid_t pid;
} ctx_t;

/* Starts the worker with the test profile, --exec handler.sh, --grace
 * and the NULL-terminated extra arguments (may be NULL). */
static bool
ctx_setup_ex(ctx_t *c, const char *tag, const char *grace,
             const char *const *extra)
{
    memset(c, 0, sizeof *c);
    c->pid = -1;
    c->dir = swbt_tempdir(tag);
    if (!c->dir || !swbt_fb_start(&c->b))
        return false;
    char script[600], cmd[700];
    snprintf(script, sizeof script, "%s/handler.sh", c->dir);
    snprintf(c->log, sizeof c->log, "%s/worker.log", c->dir);
    FILE *f = fopen(script, "w");
    if (!f)
        return false;
    fputs(handler_sh, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "sh %s", script);
    setenv("SWBT_DIR", c->dir, 1);
    char *argv[40] = {(char *)swbt_bin("switchboard-worker"),
                      "--broker", c->b.ep, "--site", "s1", "--agent", "a1",
                      "--channels", "email,form",
                      "--speaks", "en:C1,es:B2", "--writes", "en:B2",
                      "--skills", "banking:3,db-maintenance:2",
                      "--sponsors", "acme,globex", "--capacity", "email=3",
                      "--exec", cmd, "--grace", (char *)grace, NULL};
    size_t n = 0;
    while (argv[n])
        n++;
    for (size_t i = 0; extra && extra[i] && n < 39; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    c->pid = swbt_spawn(argv, c->log);
    return c->pid > 0;
}

static bool
ctx_setup(ctx_t *c, const char *tag, const char *grace)
{
    return ctx_setup_ex(c, tag, grace, NULL);
}

static void
ctx_teardown(ctx_t *c)
{
    if (c->pid > 0 && swbt_wait_exit(c->pid, 0) == -1)
        swbt_kill(c->pid, SIGKILL);
    if (swbt_failed && c->dir) {
        char *log = swbt_read_file(c->log);
        fprintf(stderr, "  --- worker log ---\n%s  ---\n", log ? log : "");
        free(log);
    }
    swbt_fb_stop(&c->b);
    swbt_rmdir(c->dir);
    free(c->dir);
}

/* Waits for HELLO and answers WELCOME. */
static bool
handshake(ctx_t *c)
{
    swb_msg_t m;
    if (!swbt_fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(5000), &m))
        return false;
    swb_msg_clear(&m);
    swbt_fb_welcome(&c->b);
    return true;
}

/* SIGTERM, then BYE and exit 0. */
static void
stop_worker(ctx_t *c)
{
    swb_msg_t m;
    kill(c->pid, SIGTERM);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_BYE, swbt_ms(5000), &m));
    swb_msg_clear(&m);
    int code = swbt_wait_exit(c->pid, swbt_ms(5000));
    c->pid = -1;
    ASSERT_INT_EQ(code, 0);
}

/* Dead or a zombie (nobody may reap re-parented children here). */
static bool
proc_gone(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return !p || p[1] == 0 || p[2] == 'Z' || p[2] == 'X';
}

/* Waits (heartbeating) for the sleep handler of task id to write its
 * pids; fills sh and sleep pids. */
static bool
wait_pids(ctx_t *c, uint64_t id, pid_t *sh, pid_t *sl)
{
    char path[700];
    snprintf(path, sizeof path, "%s/pids-%llu", c->dir,
             (unsigned long long)id);
    int64_t end = swbt_now_ms() + swbt_ms(5000);
    while (swbt_now_ms() < end) {
        char *s = swbt_read_file(path);
        int a = 0, b = 0;
        if (s && sscanf(s, "%d %d", &a, &b) == 2) {
            free(s);
            *sh = a;
            *sl = b;
            return true;
        }
        free(s);
        swbt_fb_idle(&c->b, 50);
    }
    return false;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_bad_arguments(void)
{
    char cmd[1400], *out = NULL;
    const char *bin = swbt_bin("switchboard-worker");
    snprintf(cmd, sizeof cmd, "'%s' --site s --channels email --exec cat "
             "--speaks en:Z9 2>&1", bin);
    ASSERT_INT_EQ(swbt_run(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "switchboard-worker: --speaks: level \"Z9\" of "
                        "en is not a CEFR level A1..C2");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --site s --channels email,fax --exec cat"
             " 2>&1", bin);
    ASSERT_INT_EQ(swbt_run(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "--channels: unknown channel \"fax\"");
    ASSERT_STR_CONTAINS(out, "voice.inbound");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --channels email --exec cat 2>&1", bin);
    ASSERT_INT_EQ(swbt_run(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "--site");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --site s --channels email --exec cat "
             "--capacity email=0 2>&1", bin);
    ASSERT_INT_EQ(swbt_run(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "--capacity: level \"0\" of email");
    free(out);
}

static void
check_hello(const swb_m_hello_t *h)
{
    ASSERT_STR_EQ(h->site, "s1");
    ASSERT_STR_EQ(h->agent, "a1");
    ASSERT_INT_EQ(h->channels.n, 2);
    ASSERT_STR_EQ(h->channels.v[0], "email");
    ASSERT_STR_EQ(h->channels.v[1], "form");
    ASSERT_TRUE(swb_levels_find(&h->speaks, "en"));
    ASSERT_INT_EQ(swb_levels_find(&h->speaks, "en")->level, 5);
    ASSERT_INT_EQ(swb_levels_find(&h->speaks, "es")->level, 4);
    ASSERT_INT_EQ(swb_levels_find(&h->writes, "en")->level, 4);
    ASSERT_INT_EQ(swb_levels_find(&h->skills, "banking")->level, 3);
    ASSERT_INT_EQ(swb_levels_find(&h->skills, "db-maintenance")->level, 2);
    ASSERT_TRUE(swb_strs_has(&h->sponsors, "acme"));
    ASSERT_TRUE(swb_strs_has(&h->sponsors, "globex"));
    ASSERT_INT_EQ(swb_levels_find(&h->capacity, "email")->level, 3);
    ASSERT_INT_EQ(swb_levels_find(&h->capacity, "form")->level, 1);
    ASSERT_INT_EQ(h->holding.n, 0);
}

static void
check_stdin_json(ctx_t *c)
{
    char path[700];
    snprintf(path, sizeof path, "%s/in-1.json", c->dir);
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    ASSERT_TRUE(o != NULL);
    json_t *req = json_object_get(o, "requirements");
    int ok = json_integer_value(json_object_get(o, "id")) == 1 &&
             json_integer_value(json_object_get(o, "attempt")) == 2 &&
             req && json_integer_value(json_object_get(req, "priority")) == 7;
    const char *ch = json_string_value(json_object_get(o, "channel"));
    const char *sp = json_string_value(json_object_get(o, "sponsor"));
    const char *pl = json_string_value(json_object_get(o, "payload"));
    const char *lang = json_string_value(
        json_object_get(json_object_get(req, "lang"), "en"));
    json_int_t bank = json_integer_value(
        json_object_get(json_object_get(req, "skills"), "banking"));
    const char *tz = json_string_value(json_object_get(req, "tz"));
    const char *site =
        json_string_value(json_array_get(json_object_get(req, "sites"), 0));
    char buf[400];
    snprintf(buf, sizeof buf, "%s|%s|%s|%s|%lld|%s|%s", ch ? ch : "-",
             sp ? sp : "-", pl ? pl : "-", lang ? lang : "-",
             (long long)bank, tz ? tz : "-", site ? site : "-");
    json_decref(o);
    ASSERT_TRUE(ok);
    ASSERT_STR_EQ(buf, "email|acme|ok please|B2|3|Europe/Paris|s1");
    snprintf(path, sizeof path, "%s/env-1", c->dir);
    char *env = swbt_read_file(path);
    ASSERT_STR_EQ(env, "1 email 2\n");
    free(env);
}

static void
body_done(ctx_t *c)
{
    swb_msg_t m;
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(5000), &m));
    check_hello(&m.u.hello);
    swb_msg_clear(&m);
    swbt_fb_welcome(&c->b);

    /* DONE with stdout; re-sent until ACKed, then no more. */
    swbt_fb_offer_str(&c->b, 1, 11, "ok please");
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(5000), &m));
    ASSERT_INT_EQ(m.u.done.id, 1);
    ASSERT_INT_EQ(m.u.done.lease, 11);
    ASSERT_INT_EQ(m.u.done.result.len, 11);
    ASSERT_TRUE(memcmp(m.u.done.result.data, "result of 1", 11) == 0);
    swb_msg_clear(&m);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(3 * HB), &m));
    ASSERT_INT_EQ(m.u.done.id, 1);
    swb_msg_clear(&m);
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 1, 11);
    swbt_fb_idle(&c->b, 100); /* a re-send may have crossed the ACK */
    ASSERT_TRUE(!swbt_fb_expect(&c->b, SWB_MSG_DONE, 3 * HB, &m));
    check_stdin_json(c);
    if (swbt_failed)
        return;

    /* A binary payload reaches the handler as payload_base64. */
    static const uint8_t bin[] = {0xff, 0xfe, 0x00, 'b', 'i', 'n'};
    swbt_fb_offer(&c->b, 2, 12, bin, sizeof bin);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(5000), &m));
    json_t *o = json_loadb((const char *)m.u.done.result.data,
                           m.u.done.result.len, 0, NULL);
    swb_msg_clear(&m);
    ASSERT_TRUE(o != NULL);
    const char *b64 =
        json_string_value(json_object_get(o, "payload_base64"));
    bool has_payload = json_object_get(o, "payload") != NULL;
    char got[64];
    snprintf(got, sizeof got, "%s", b64 ? b64 : "(none)");
    json_decref(o);
    ASSERT_STR_EQ(got, "//4AYmlu");
    ASSERT_TRUE(!has_payload);
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 2, 12);

    /* A 3 MB stdin is written without blocking the worker. */
    size_t big = 3u << 20;
    char *payload = malloc(big);
    ASSERT_TRUE(payload != NULL);
    memset(payload, 'x', big);
    memcpy(payload, "size ", 5);
    swbt_fb_offer(&c->b, 3, 13, payload, big);
    free(payload);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(10000), &m));
    char num[32] = {0};
    memcpy(num, m.u.done.result.data,
           m.u.done.result.len < 31 ? m.u.done.result.len : 31);
    swb_msg_clear(&m);
    ASSERT_INT_GE(atol(num), (long)big);
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 3, 13);

    stop_worker(c);
}

static void
test_done_json_env_resend(void)
{
    ctx_t c;
    if (ctx_setup(&c, "wdone", "5"))
        body_done(&c);
    else
        swbt_failed++;
    ctx_teardown(&c);
}

static void
body_fail(ctx_t *c)
{
    swb_msg_t m;
    ASSERT_TRUE(handshake(c));
    /* Three handlers at once. */
    swbt_fb_offer_str(&c->b, 10, 1, "fail3");
    swbt_fb_offer_str(&c->b, 11, 1, "retry");
    swbt_fb_offer_str(&c->b, 12, 1, "big");
    char *reason[3] = {NULL, NULL, NULL};
    int got = 0;
    int64_t end = swbt_now_ms() + swbt_ms(10000);
    while (got < 3 && swbt_now_ms() < end) {
        if (!swbt_fb_expect(&c->b, SWB_MSG_FAIL, (int)(end - swbt_now_ms()),
                            &m))
            break;
        uint64_t id = m.u.fail.id;
        if (id >= 10 && id <= 12 && !reason[id - 10]) {
            reason[id - 10] = strdup(m.u.fail.reason ? m.u.fail.reason : "");
            got++;
            ASSERT_TRUE(!m.u.fail.final);
            swbt_fb_lease(&c->b, SWB_MSG_ACK, id, 1);
        }
        swb_msg_clear(&m);
    }
    char r0[1100], r1[1100], r2[1100];
    snprintf(r0, sizeof r0, "%s", reason[0] ? reason[0] : "(none)");
    snprintf(r1, sizeof r1, "%s", reason[1] ? reason[1] : "(none)");
    snprintf(r2, sizeof r2, "%s", reason[2] ? reason[2] : "(none)");
    for (int i = 0; i < 3; i++)
        free(reason[i]);
    ASSERT_INT_EQ(got, 3);
    ASSERT_STR_EQ(r0, "handler exited with code 3: line one\ndisk on fire");
    ASSERT_STR_EQ(r1, "handler asked for a retry (exit 75): busy, later");
    ASSERT_STR_CONTAINS(r2, "1 MiB");
    stop_worker(c);
}

static void
test_fail_retry_and_output_cap(void)
{
    ctx_t c;
    if (ctx_setup(&c, "wfail", "5"))
        body_fail(&c);
    else
        swbt_failed++;
    ctx_teardown(&c);
}

static void
body_revoke(ctx_t *c)
{
    swb_msg_t m;
    pid_t sh = 0, sl = 0;
    ASSERT_TRUE(handshake(c));
    swbt_fb_offer_str(&c->b, 20, 5, "sleep");
    ASSERT_TRUE(wait_pids(c, 20, &sh, &sl));
    ASSERT_TRUE(!proc_gone(sh) && !proc_gone(sl));
    swbt_fb_lease(&c->b, SWB_MSG_REVOKE, 20, 5);
    int64_t end = swbt_now_ms() + swbt_ms(3000);
    while (swbt_now_ms() < end && !(proc_gone(sh) && proc_gone(sl)))
        swbt_fb_idle(&c->b, 50);
    ASSERT_TRUE(proc_gone(sh));
    ASSERT_TRUE(proc_gone(sl));
    /* No answer for a revoked task; the worker still works. */
    swbt_fb_offer_str(&c->b, 21, 6, "ok");
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(5000), &m));
    ASSERT_INT_EQ(m.u.done.id, 21);
    swb_msg_clear(&m);
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 21, 6);
    ASSERT_TRUE(!swbt_fb_expect(&c->b, SWB_MSG_FAIL, 2 * HB, &m));
    stop_worker(c);
}

static void
test_revoke_kills_handler(void)
{
    ctx_t c;
    if (ctx_setup(&c, "wrevoke", "5"))
        body_revoke(&c);
    else
        swbt_failed++;
    ctx_teardown(&c);
}

static void
body_sigterm(ctx_t *c)
{
    swb_msg_t m;
    pid_t sh = 0, sl = 0;
    ASSERT_TRUE(handshake(c));
    swbt_fb_offer_str(&c->b, 30, 9, "sleep");
    ASSERT_TRUE(wait_pids(c, 30, &sh, &sl));
    int64_t t0 = swbt_now_ms();
    kill(c->pid, SIGTERM);
    swbt_fb_idle(&c->b, 300);
    swbt_fb_offer_str(&c->b, 31, 4, "ok"); /* too late: handed back at once */
    int64_t t31 = 0, t30 = 0;
    int64_t end = t0 + swbt_ms(6000);
    while ((!t30 || !t31) && swbt_now_ms() < end) {
        if (!swbt_fb_expect(&c->b, SWB_MSG_RELEASE, (int)(end - swbt_now_ms()),
                       &m))
            break;
        if (m.u.lease.id == 30 && m.u.lease.lease == 9 && !t30)
            t30 = swbt_now_ms();
        if (m.u.lease.id == 31 && m.u.lease.lease == 4 && !t31)
            t31 = swbt_now_ms();
        swbt_fb_lease(&c->b, SWB_MSG_ACK, m.u.lease.id, m.u.lease.lease);
        swb_msg_clear(&m);
    }
    ASSERT_TRUE(t31 && t30);
    ASSERT_TRUE(t31 < t30);            /* the new offer went back first */
    ASSERT_INT_GE(t30 - t0, 900);      /* the handler had its --grace 1 */
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_BYE, swbt_ms(5000), &m));
    swb_msg_clear(&m);
    ASSERT_INT_EQ(swbt_wait_exit(c->pid, swbt_ms(5000)), 0);
    c->pid = -1;
    ASSERT_TRUE(proc_gone(sh));
    end = swbt_now_ms() + swbt_ms(3000);
    while (swbt_now_ms() < end && !proc_gone(sl))
        swbt_sleep_ms(20);
    ASSERT_TRUE(proc_gone(sl));
}

static void
test_sigterm_releases_after_grace(void)
{
    ctx_t c;
    if (ctx_setup(&c, "wterm", "1"))
        body_sigterm(&c);
    else
        swbt_failed++;
    ctx_teardown(&c);
}

static bool
holds(const swb_m_hello_t *h, uint64_t id, uint64_t lease)
{
    const swb_hold_t *v = h->holding.v;
    for (size_t i = 0; i < h->holding.n; i++)
        if (v[i].id == id && v[i].lease == lease)
            return true;
    return false;
}

static void
body_rehello(ctx_t *c)
{
    swb_msg_t m;
    pid_t sh = 0, sl = 0;
    ASSERT_TRUE(handshake(c));
    zframe_t *first = zframe_dup(c->b.peer);
    swbt_fb_offer_str(&c->b, 40, 7, "sleep");
    swbt_fb_offer_str(&c->b, 41, 8, "ok");
    bool done = swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(5000), &m);
    swb_msg_clear(&m);
    bool pids = wait_pids(c, 40, &sh, &sl);

    /* The broker goes silent (DONE 41 never ACKed): a new session. */
    c->b.silent = true;
    bool hello = swbt_fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(6000), &m);
    bool new_peer = hello && !zframe_eq(first, c->b.peer);
    zframe_destroy(&first);
    ASSERT_TRUE(done && pids && hello);
    ASSERT_TRUE(new_peer);
    ASSERT_INT_EQ(m.u.hello.holding.n, 2);
    ASSERT_TRUE(holds(&m.u.hello, 40, 7));
    ASSERT_TRUE(holds(&m.u.hello, 41, 8));
    swb_msg_clear(&m);

    /* After WELCOME the unacked DONE comes again at once. */
    c->b.silent = false;
    int64_t t0 = swbt_now_ms();
    swbt_fb_welcome(&c->b);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(2000), &m));
    ASSERT_INT_EQ(m.u.done.id, 41);
    swb_msg_clear(&m);
    ASSERT_TRUE(swbt_now_ms() - t0 < swbt_ms(HB));
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 41, 8);
    swbt_fb_idle(&c->b, 100);

    /* "Unknown session, say hello first": HELLO again at once. */
    swb_msg_t e;
    memset(&e, 0, sizeof e);
    e.type = SWB_MSG_ERROR;
    e.u.error.code = "protocol";
    e.u.error.message = "unknown session, say hello first";
    swbt_fb_send(&c->b, &e);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(1000), &m));
    ASSERT_INT_EQ(m.u.hello.holding.n, 1);
    ASSERT_TRUE(holds(&m.u.hello, 40, 7));
    swb_msg_clear(&m);
    swbt_fb_welcome(&c->b);
    swbt_fb_lease(&c->b, SWB_MSG_REVOKE, 40, 7);
    int64_t end = swbt_now_ms() + swbt_ms(3000);
    while (swbt_now_ms() < end && !(proc_gone(sh) && proc_gone(sl)))
        swbt_fb_idle(&c->b, 50);
    ASSERT_TRUE(proc_gone(sh) && proc_gone(sl));
    stop_worker(c);
}

static void
test_rehello_with_holding(void)
{
    ctx_t c;
    if (ctx_setup(&c, "whello", "5"))
        body_rehello(&c);
    else
        swbt_failed++;
    ctx_teardown(&c);
}

static void
body_refused(ctx_t *c)
{
    swb_msg_t m, e;
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(5000), &m));
    swb_msg_clear(&m);
    memset(&e, 0, sizeof e);
    e.type = SWB_MSG_ERROR;
    e.u.error.code = "invalid";
    e.u.error.field = "site";
    e.u.error.message = "site s1 is not served by this broker";
    swbt_fb_send(&c->b, &e);
    int code = swbt_wait_exit(c->pid, swbt_ms(5000));
    c->pid = -1;
    ASSERT_INT_EQ(code, 3);
    char *log = swbt_read_file(c->log);
    ASSERT_STR_CONTAINS(log, "event=refused");
    ASSERT_STR_CONTAINS(log, "site s1 is not served by this broker");
    free(log);
}

static void
test_refused_hello_exits_3(void)
{
    ctx_t c;
    if (ctx_setup(&c, "wrefused", "5"))
        body_refused(&c);
    else
        swbt_failed++;
    ctx_teardown(&c);
}

/* Waits (heartbeating) until the worker log contains needle. */
static bool
wait_log(ctx_t *c, const char *needle, int ms)
{
    int64_t end = swbt_now_ms() + ms;
    for (;;) {
        char *log = swbt_read_file(c->log);
        bool found = log && strstr(log, needle);
        free(log);
        if (found)
            return true;
        if (swbt_now_ms() >= end)
            return false;
        swbt_fb_idle(&c->b, 50);
    }
}

/* Offset of needle in the worker log, or -1. */
static long
log_at(ctx_t *c, const char *needle)
{
    char *log = swbt_read_file(c->log);
    const char *p = log ? strstr(log, needle) : NULL;
    long at = p ? (long)(p - log) : -1;
    free(log);
    return at;
}

static void
body_ring(ctx_t *c)
{
    swb_msg_t m;
    /* --state not-ready:training: the state in HELLO, the reason in a
     * STATE right after WELCOME; --accept in HELLO. */
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(5000), &m));
    char st[32];
    snprintf(st, sizeof st, "%s", m.u.hello.state ? m.u.hello.state : "-");
    bool accept = m.u.hello.accept;
    bool voice = swb_strs_has(&m.u.hello.channels, "voice.inbound");
    swb_msg_clear(&m);
    ASSERT_STR_EQ(st, "not-ready");
    ASSERT_TRUE(accept);
    ASSERT_TRUE(voice);
    swbt_fb_welcome(&c->b);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_STATE, swbt_ms(2000), &m));
    snprintf(st, sizeof st, "%s/%s", m.u.state.state,
             m.u.state.reason ? m.u.state.reason : "-");
    swb_msg_clear(&m);
    ASSERT_STR_EQ(st, "not-ready/training");

    /* A ringing voice offer is accepted before its handler runs. */
    swbt_fb_offer_ex(&c->b, 5, 21, "voice.inbound", "ok call", 7, 15000);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_ACCEPT, swbt_ms(3000), &m));
    ASSERT_INT_EQ(m.u.lease.id, 5);
    ASSERT_INT_EQ(m.u.lease.lease, 21);
    swb_msg_clear(&m);
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 5, 21);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(5000), &m));
    ASSERT_INT_EQ(m.u.done.id, 5);
    ASSERT_INT_EQ(m.u.done.lease, 21);
    swb_msg_clear(&m);
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 5, 21);
    long acc = log_at(c, "event=accept task=5");
    long start = log_at(c, "event=start task=5");
    ASSERT_TRUE(acc >= 0 && start >= 0);
    ASSERT_TRUE(acc < start);
    /* ACCEPT is not re-sent once ACKed. */
    ASSERT_TRUE(!swbt_fb_expect(&c->b, SWB_MSG_ACCEPT, 3 * HB, &m));

    /* An offer that rang out before the ACCEPT arrived: the broker says
     * the lease is stale and the handler is stopped, with no answer. */
    pid_t sh = 0, sl = 0;
    swbt_fb_offer_ex(&c->b, 6, 22, "voice.inbound", "sleep", 5, 15000);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_ACCEPT, swbt_ms(3000), &m));
    swb_msg_clear(&m);
    ASSERT_TRUE(wait_pids(c, 6, &sh, &sl));
    swbt_fb_error(&c->b, 6, "stale_lease", "lease", "offer rang out");
    int64_t end = swbt_now_ms() + swbt_ms(3000);
    while (swbt_now_ms() < end && !(proc_gone(sh) && proc_gone(sl)))
        swbt_fb_idle(&c->b, 50);
    ASSERT_TRUE(proc_gone(sh) && proc_gone(sl));
    ASSERT_TRUE(!swbt_fb_expect(&c->b, SWB_MSG_ACCEPT, 2 * HB, &m));

    /* A STATE from the broker is logged and remembered: the next HELLO
     * says it, and its reason follows the WELCOME. */
    swbt_fb_state(&c->b, "not-ready", "missed-offers");
    ASSERT_TRUE(wait_log(c, "event=state state=not-ready "
                         "reason=missed-offers by=broker", swbt_ms(3000)));
    swbt_fb_state(&c->b, "break", NULL);
    ASSERT_TRUE(wait_log(c, "event=state state=break reason=- by=broker",
                         swbt_ms(3000)));
    swbt_fb_state(&c->b, "not-ready", "missed-offers");
    swbt_fb_idle(&c->b, 200);
    swbt_fb_error(&c->b, 0, "protocol", NULL,
                  "unknown session, say hello first");
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(2000), &m));
    snprintf(st, sizeof st, "%s", m.u.hello.state ? m.u.hello.state : "-");
    swb_msg_clear(&m);
    ASSERT_STR_EQ(st, "not-ready");
    swbt_fb_welcome(&c->b);
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_STATE, swbt_ms(2000), &m));
    snprintf(st, sizeof st, "%s/%s", m.u.state.state,
             m.u.state.reason ? m.u.state.reason : "-");
    swb_msg_clear(&m);
    ASSERT_STR_EQ(st, "not-ready/missed-offers");

    /* An offer that does not ring is not accepted, just run. */
    swbt_fb_offer_str(&c->b, 7, 23, "ok");
    ASSERT_TRUE(swbt_fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(5000), &m));
    ASSERT_INT_EQ(m.u.done.id, 7);
    swb_msg_clear(&m);
    swbt_fb_lease(&c->b, SWB_MSG_ACK, 7, 23);
    ASSERT_TRUE(log_at(c, "event=accept task=7") < 0);
    stop_worker(c);
}

static void
test_ringing_offer_accepted_and_state(void)
{
    static const char *const extra[] = {
        "--channels", "voice.inbound,email", "--state", "not-ready:training",
        "--accept", NULL};
    ctx_t c;
    if (ctx_setup_ex(&c, "wring", "5", extra))
        body_ring(&c);
    else
        swbt_failed++;
    ctx_teardown(&c);
}

static void
test_state_and_mode_arguments(void)
{
    char cmd[1400], *out = NULL;
    const char *bin = swbt_bin("switchboard-worker");
    snprintf(cmd, sizeof cmd, "'%s' --site s --channels email --exec cat "
             "--console 2>&1", bin);
    ASSERT_INT_EQ(swbt_run(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "--console and --exec");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --site s --channels email 2>&1", bin);
    ASSERT_INT_EQ(swbt_run(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "--exec CMD or --console is required");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --site s --channels email --exec cat "
             "--state lunch 2>&1", bin);
    ASSERT_INT_EQ(swbt_run(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "--state: \"lunch\" is not a state");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --site s --channels email --exec cat "
             "--state ready:now 2>&1", bin);
    ASSERT_INT_EQ(swbt_run(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "--state: ready takes no reason");
    free(out);
}

int
main(void)
{
    zsys_init();
    zsys_handler_set(NULL);
    signal(SIGPIPE, SIG_IGN);
    SWB_RUN(test_bad_arguments);
    SWB_RUN(test_done_json_env_resend);
    SWB_RUN(test_fail_retry_and_output_cap);
    SWB_RUN(test_revoke_kills_handler);
    SWB_RUN(test_sigterm_releases_after_grace);
    SWB_RUN(test_rehello_with_holding);
    SWB_RUN(test_refused_hello_exits_3);
    SWB_RUN(test_ringing_offer_accepted_and_state);
    SWB_RUN(test_state_and_mode_arguments);
    zsys_shutdown();
    return SWB_TEST_EXIT();
}
