/*
 * test_worker_exec.c - the real `switchboard-worker --exec` against a fake
 * broker living in this test process.
 *
 * The fake broker is a czmq ROUTER bound on an ephemeral 127.0.0.1 port
 * that speaks the worker protocol frame by frame (proto/swb_msg.h): it
 * checks the HELLO profile, sends WELCOME / OFFER / REVOKE / ACK /
 * ERROR, heartbeats while it waits (or goes silent on purpose), and
 * checks what the worker answers. The handler is a small sh script that
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
 * exit 2 on bad arguments.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>
#include <jansson.h>

#include "swb_msg.h"
#include "swbtest.h"

#define HB 250 /* ms: the heartbeat the fake broker asks for */

/* ---- the fake broker --------------------------------------------------- */

typedef struct fb {
    zsock_t *router;
    char ep[64];
    zframe_t *peer;  /* routing id of the latest HELLO */
    bool silent;     /* no heartbeats */
    int64_t last_hb;
} fb_t;

static bool
fb_start(fb_t *b)
{
    memset(b, 0, sizeof *b);
    for (int i = 0; i < 5 && !b->router; i++) {
        snprintf(b->ep, sizeof b->ep, "tcp://127.0.0.1:%d", swbt_free_port());
        b->router = zsock_new(ZMQ_ROUTER);
        if (b->router && zsock_bind(b->router, "%s", b->ep) < 0)
            zsock_destroy(&b->router);
    }
    if (b->router)
        zsock_set_linger(b->router, 0);
    return b->router != NULL;
}

static void
fb_stop(fb_t *b)
{
    zframe_destroy(&b->peer);
    zsock_destroy(&b->router);
}

static void
fb_send(fb_t *b, const swb_msg_t *m)
{
    void *buf;
    size_t len;
    if (!b->peer || swb_msg_encode(m, &buf, &len) != SWB_OK)
        return;
    zmsg_t *z = zmsg_new();
    zmsg_append(z, &(zframe_t *){zframe_dup(b->peer)});
    zmsg_addmem(z, buf, len);
    free(buf);
    zmsg_send(&z, b->router);
}

static void
fb_send_type(fb_t *b, swb_msg_type_t type)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    fb_send(b, &m);
}

static void
fb_lease(fb_t *b, swb_msg_type_t type, uint64_t id, uint64_t lease)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.u.lease.id = id;
    m.u.lease.lease = lease;
    fb_send(b, &m);
}

static void
fb_welcome(fb_t *b)
{
    swb_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = SWB_MSG_WELCOME;
    m.u.welcome.heartbeat = HB;
    m.u.welcome.lease = 10000;
    m.u.welcome.region = "test";
    fb_send(b, &m);
}

/* Receives one message within ms (heartbeating meanwhile unless silent).
 * A HELLO makes its sender the current peer. */
static bool
fb_recv(fb_t *b, swb_msg_t *m, int ms)
{
    int64_t end = swbt_now_ms() + ms;
    for (;;) {
        int64_t now = swbt_now_ms();
        if (!b->silent && b->peer && now - b->last_hb >= HB / 2) {
            fb_send_type(b, SWB_MSG_HEARTBEAT);
            b->last_hb = now;
        }
        if (now >= end)
            return false;
        zsock_set_rcvtimeo(b->router, (int)(end - now < 50 ? end - now : 50));
        zmsg_t *z = zmsg_recv(b->router);
        if (!z)
            continue;
        zframe_t *from = zmsg_pop(z);
        zframe_t *body = zmsg_pop(z);
        swb_decode_err_t de;
        bool ok = from && body &&
                  swb_msg_decode(zframe_data(body), zframe_size(body), m,
                                 &de) == SWB_OK;
        zframe_destroy(&body);
        zmsg_destroy(&z);
        if (!ok) {
            fprintf(stderr, "  fake broker: undecodable frame\n");
            zframe_destroy(&from);
            continue;
        }
        if (m->type == SWB_MSG_HELLO) {
            zframe_destroy(&b->peer);
            b->peer = from;
        } else {
            zframe_destroy(&from);
        }
        return true;
    }
}

/* Waits for a message of `type` (others are skipped) within ms. */
static bool
fb_expect(fb_t *b, swb_msg_type_t type, int ms, swb_msg_t *m)
{
    int64_t end = swbt_now_ms() + ms;
    for (;;) {
        int64_t left = end - swbt_now_ms();
        if (left <= 0 || !fb_recv(b, m, (int)left))
            return false;
        if (m->type == type)
            return true;
        swb_msg_clear(m);
    }
}

/* Keeps the session alive for ms, skipping whatever comes. */
static void
fb_idle(fb_t *b, int ms)
{
    swb_msg_t m;
    int64_t end = swbt_now_ms() + ms;
    while (swbt_now_ms() < end)
        if (fb_recv(b, &m, (int)(end - swbt_now_ms())))
            swb_msg_clear(&m);
}

static void
fb_offer(fb_t *b, uint64_t id, uint64_t lease, const void *payload,
         size_t len)
{
    swb_task_spec_t spec;
    swb_task_t t;
    swb_msg_t m;
    memset(&spec, 0, sizeof spec);
    memset(&t, 0, sizeof t);
    memset(&m, 0, sizeof m);
    spec.channel = "email";
    spec.sponsor = "acme";
    swb_levels_add(&spec.lang, "en", 4);
    swb_levels_add(&spec.skills, "banking", 3);
    spec.priority = 7;
    spec.deadline = 1900000000000ull;
    swb_strs_add(&spec.sites, "s1");
    spec.window = "09:00-17:00";
    spec.tz = "Europe/Paris";
    spec.payload.data = (uint8_t *)(uintptr_t)payload;
    spec.payload.len = len;
    t.id = id;
    t.state = "offered";
    t.attempt = 2;
    t.lease = lease;
    t.spec = &spec;
    m.type = SWB_MSG_OFFER;
    m.u.offer.task = &t;
    fb_send(b, &m);
    free(spec.lang.v[0].name);
    free(spec.lang.v);
    free(spec.skills.v[0].name);
    free(spec.skills.v);
    free(spec.sites.v[0]);
    free(spec.sites.v);
}

static void
fb_offer_str(fb_t *b, uint64_t id, uint64_t lease, const char *payload)
{
    fb_offer(b, id, lease, payload, strlen(payload));
}

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
    fb_t b;
    char *dir;
    char log[600];
    pid_t pid;
} ctx_t;

static bool
ctx_setup(ctx_t *c, const char *tag, const char *grace)
{
    memset(c, 0, sizeof *c);
    c->pid = -1;
    c->dir = swbt_tempdir(tag);
    if (!c->dir || !fb_start(&c->b))
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
    char *argv[] = {(char *)swbt_bin("switchboard-worker"),
                    "--broker", c->b.ep, "--site", "s1", "--agent", "a1",
                    "--channels", "email,form",
                    "--speaks", "en:C1,es:B2", "--writes", "en:B2",
                    "--skills", "banking:3,db-maintenance:2",
                    "--sponsors", "acme,globex", "--capacity", "email=3",
                    "--exec", cmd, "--grace", (char *)grace, NULL};
    c->pid = swbt_spawn(argv, c->log);
    return c->pid > 0;
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
    fb_stop(&c->b);
    swbt_rmdir(c->dir);
    free(c->dir);
}

/* Waits for HELLO and answers WELCOME. */
static bool
handshake(ctx_t *c)
{
    swb_msg_t m;
    if (!fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(5000), &m))
        return false;
    swb_msg_clear(&m);
    fb_welcome(&c->b);
    return true;
}

/* SIGTERM, then BYE and exit 0. */
static void
stop_worker(ctx_t *c)
{
    swb_msg_t m;
    kill(c->pid, SIGTERM);
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_BYE, swbt_ms(5000), &m));
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
        fb_idle(&c->b, 50);
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
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(5000), &m));
    check_hello(&m.u.hello);
    swb_msg_clear(&m);
    fb_welcome(&c->b);

    /* DONE with stdout; re-sent until ACKed, then no more. */
    fb_offer_str(&c->b, 1, 11, "ok please");
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(5000), &m));
    ASSERT_INT_EQ(m.u.done.id, 1);
    ASSERT_INT_EQ(m.u.done.lease, 11);
    ASSERT_INT_EQ(m.u.done.result.len, 11);
    ASSERT_TRUE(memcmp(m.u.done.result.data, "result of 1", 11) == 0);
    swb_msg_clear(&m);
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(3 * HB), &m));
    ASSERT_INT_EQ(m.u.done.id, 1);
    swb_msg_clear(&m);
    fb_lease(&c->b, SWB_MSG_ACK, 1, 11);
    fb_idle(&c->b, 100); /* a re-send may have crossed the ACK */
    ASSERT_TRUE(!fb_expect(&c->b, SWB_MSG_DONE, 3 * HB, &m));
    check_stdin_json(c);
    if (swbt_failed)
        return;

    /* A binary payload reaches the handler as payload_base64. */
    static const uint8_t bin[] = {0xff, 0xfe, 0x00, 'b', 'i', 'n'};
    fb_offer(&c->b, 2, 12, bin, sizeof bin);
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(5000), &m));
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
    fb_lease(&c->b, SWB_MSG_ACK, 2, 12);

    /* A 3 MB stdin is written without blocking the worker. */
    size_t big = 3u << 20;
    char *payload = malloc(big);
    ASSERT_TRUE(payload != NULL);
    memset(payload, 'x', big);
    memcpy(payload, "size ", 5);
    fb_offer(&c->b, 3, 13, payload, big);
    free(payload);
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(10000), &m));
    char num[32] = {0};
    memcpy(num, m.u.done.result.data,
           m.u.done.result.len < 31 ? m.u.done.result.len : 31);
    swb_msg_clear(&m);
    ASSERT_INT_GE(atol(num), (long)big);
    fb_lease(&c->b, SWB_MSG_ACK, 3, 13);

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
    fb_offer_str(&c->b, 10, 1, "fail3");
    fb_offer_str(&c->b, 11, 1, "retry");
    fb_offer_str(&c->b, 12, 1, "big");
    char *reason[3] = {NULL, NULL, NULL};
    int got = 0;
    int64_t end = swbt_now_ms() + swbt_ms(10000);
    while (got < 3 && swbt_now_ms() < end) {
        if (!fb_expect(&c->b, SWB_MSG_FAIL, (int)(end - swbt_now_ms()), &m))
            break;
        uint64_t id = m.u.fail.id;
        if (id >= 10 && id <= 12 && !reason[id - 10]) {
            reason[id - 10] = strdup(m.u.fail.reason ? m.u.fail.reason : "");
            got++;
            ASSERT_TRUE(!m.u.fail.final);
            fb_lease(&c->b, SWB_MSG_ACK, id, 1);
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
    fb_offer_str(&c->b, 20, 5, "sleep");
    ASSERT_TRUE(wait_pids(c, 20, &sh, &sl));
    ASSERT_TRUE(!proc_gone(sh) && !proc_gone(sl));
    fb_lease(&c->b, SWB_MSG_REVOKE, 20, 5);
    int64_t end = swbt_now_ms() + swbt_ms(3000);
    while (swbt_now_ms() < end && !(proc_gone(sh) && proc_gone(sl)))
        fb_idle(&c->b, 50);
    ASSERT_TRUE(proc_gone(sh));
    ASSERT_TRUE(proc_gone(sl));
    /* No answer for a revoked task; the worker still works. */
    fb_offer_str(&c->b, 21, 6, "ok");
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(5000), &m));
    ASSERT_INT_EQ(m.u.done.id, 21);
    swb_msg_clear(&m);
    fb_lease(&c->b, SWB_MSG_ACK, 21, 6);
    ASSERT_TRUE(!fb_expect(&c->b, SWB_MSG_FAIL, 2 * HB, &m));
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
    fb_offer_str(&c->b, 30, 9, "sleep");
    ASSERT_TRUE(wait_pids(c, 30, &sh, &sl));
    int64_t t0 = swbt_now_ms();
    kill(c->pid, SIGTERM);
    fb_idle(&c->b, 300);
    fb_offer_str(&c->b, 31, 4, "ok"); /* too late: handed back at once */
    int64_t t31 = 0, t30 = 0;
    int64_t end = t0 + swbt_ms(6000);
    while ((!t30 || !t31) && swbt_now_ms() < end) {
        if (!fb_expect(&c->b, SWB_MSG_RELEASE, (int)(end - swbt_now_ms()),
                       &m))
            break;
        if (m.u.lease.id == 30 && m.u.lease.lease == 9 && !t30)
            t30 = swbt_now_ms();
        if (m.u.lease.id == 31 && m.u.lease.lease == 4 && !t31)
            t31 = swbt_now_ms();
        fb_lease(&c->b, SWB_MSG_ACK, m.u.lease.id, m.u.lease.lease);
        swb_msg_clear(&m);
    }
    ASSERT_TRUE(t31 && t30);
    ASSERT_TRUE(t31 < t30);            /* the new offer went back first */
    ASSERT_INT_GE(t30 - t0, 900);      /* the handler had its --grace 1 */
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_BYE, swbt_ms(5000), &m));
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
    fb_offer_str(&c->b, 40, 7, "sleep");
    fb_offer_str(&c->b, 41, 8, "ok");
    bool done = fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(5000), &m);
    swb_msg_clear(&m);
    bool pids = wait_pids(c, 40, &sh, &sl);

    /* The broker goes silent (DONE 41 never ACKed): a new session. */
    c->b.silent = true;
    bool hello = fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(6000), &m);
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
    fb_welcome(&c->b);
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_DONE, swbt_ms(2000), &m));
    ASSERT_INT_EQ(m.u.done.id, 41);
    swb_msg_clear(&m);
    ASSERT_TRUE(swbt_now_ms() - t0 < swbt_ms(HB));
    fb_lease(&c->b, SWB_MSG_ACK, 41, 8);
    fb_idle(&c->b, 100);

    /* "Unknown session, say hello first": HELLO again at once. */
    swb_msg_t e;
    memset(&e, 0, sizeof e);
    e.type = SWB_MSG_ERROR;
    e.u.error.code = "protocol";
    e.u.error.message = "unknown session, say hello first";
    fb_send(&c->b, &e);
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(1000), &m));
    ASSERT_INT_EQ(m.u.hello.holding.n, 1);
    ASSERT_TRUE(holds(&m.u.hello, 40, 7));
    swb_msg_clear(&m);
    fb_welcome(&c->b);
    fb_lease(&c->b, SWB_MSG_REVOKE, 40, 7);
    int64_t end = swbt_now_ms() + swbt_ms(3000);
    while (swbt_now_ms() < end && !(proc_gone(sh) && proc_gone(sl)))
        fb_idle(&c->b, 50);
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
    ASSERT_TRUE(fb_expect(&c->b, SWB_MSG_HELLO, swbt_ms(5000), &m));
    swb_msg_clear(&m);
    memset(&e, 0, sizeof e);
    e.type = SWB_MSG_ERROR;
    e.u.error.code = "invalid";
    e.u.error.field = "site";
    e.u.error.message = "site s1 is not served by this broker";
    fb_send(&c->b, &e);
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
    zsys_shutdown();
    return SWB_TEST_EXIT();
}
