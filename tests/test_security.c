/*
 * test_security.c - CurveZMQ keys, authentication and authorization with
 * real processes (PRODUCT.md 7; README "Securing a region").
 *
 * Each test makes a temp folder with certificates from `switchboard
 * keygen` (own/NAME and own/NAME_secret; the public ones the broker
 * allows are copied into keys/), starts switchboard-broker with --keys and
 * --cert on free loopback ports, and talks to it with the real CLI,
 * worker and the library. Covered: keygen file modes; a worker with a
 * valid key works end to end; an unknown key and the NULL mechanism get
 * no service (exit 3); a worker key of site A saying HELLO as site B is
 * refused; a client of sponsor X cannot read, list or submit for sponsor
 * Y; a removed certificate is refused on its key's next request without
 * a reconnect; plain text off loopback without --insecure does not start;
 * a data file, the secret certificate or the keys folder that group or
 * others may touch is warned about at start (path, mode, chmod), and
 * nothing is said at 0600/0700.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swb_client.h"
#include "swb_curve.h"
#include "swbtest.h"

typedef struct sec_region {
    char *tmp;
    char keys[600];
    char own[600];
    char log[700];
    char client_ep[64];
    char worker_ep[64];
    pid_t broker;
} sec_region_t;

/* `switchboard keygen` into own/NAME; public copy into keys/ if allow. */
static int
keygen(sec_region_t *r, const char *name, const char *role,
       const char *binding, bool allow)
{
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "'%s' keygen --role %s %s --out '%s/%s' "
             ">/dev/null 2>>'%s/cli.log'", swbt_bin("switchboard"), role,
             binding, r->own, name, r->tmp);
    int rc = swbt_run(cmd, NULL);
    if (rc == 0 && allow) {
        snprintf(cmd, sizeof cmd, "cp '%s/%s' '%s/%s'", r->own, name, r->keys,
                 name);
        rc = swbt_run(cmd, NULL);
    }
    return rc;
}

/* " --cert own/NAME_secret --server-key own/broker" for the CLI. */
static const char *
creds(const sec_region_t *r, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "--cert '%s/%s_secret' --server-key '%s/broker'", r->own,
             name, r->own);
    return buf;
}

/* swbt_cli with its output dropped: the exit code. */
static int __attribute__((format(printf, 2, 3)))
cli_rc(const sec_region_t *r, const char *fmt, ...)
{
    char args[1500], *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc = swbt_cli(r->client_ep, r->tmp, &out, "%s", args);
    free(out);
    return rc;
}

/* A library client with own/NAME's keys. */
static swb_client_t *
lib_client(const sec_region_t *r, const char *name, int timeout_ms)
{
    char cert[700], server[700], why[300];
    swb_curve_t keys;
    swb_client_t *c = NULL;
    snprintf(cert, sizeof cert, "%s/%s", r->own, name);
    snprintf(server, sizeof server, "%s/broker", r->own);
    if (swb_curve_load(cert, server, &keys, why, sizeof why) != SWB_OK) {
        fprintf(stderr, "  keys of %s: %s\n", name, why);
        return NULL;
    }
    if (swb_client_new_secure(r->client_ep, timeout_ms, &keys, &c))
        return NULL;
    return c;
}

static int region_spawn(sec_region_t *r);

/* Temp folder, keys for broker, operator, two sponsors, one site, and a
 * stranger (not allowed); a broker with --keys/--cert answering the
 * operator. Returns 0 when it is up. */
static int
region_start(sec_region_t *r)
{
    memset(r, 0, sizeof *r);
    r->tmp = swbt_tempdir("sec");
    if (!r->tmp)
        return -1;
    snprintf(r->keys, sizeof r->keys, "%s/keys", r->tmp);
    snprintf(r->own, sizeof r->own, "%s/own", r->tmp);
    snprintf(r->log, sizeof r->log, "%s/broker.log", r->tmp);
    mkdir(r->keys, 0700);
    mkdir(r->own, 0700);
    if (keygen(r, "broker", "broker", "", false) ||
        keygen(r, "op", "operator", "", true) ||
        keygen(r, "acme", "client", "--sponsor acme", true) ||
        keygen(r, "globex", "client", "--sponsor globex", true) ||
        keygen(r, "w1", "worker", "--site mnl-1", true) ||
        keygen(r, "stranger", "client", "--sponsor acme", false))
        return -1;
    snprintf(r->client_ep, sizeof r->client_ep, "tcp://127.0.0.1:%d",
             swbt_free_port());
    snprintf(r->worker_ep, sizeof r->worker_ep, "tcp://127.0.0.1:%d",
             swbt_free_port());
    return region_spawn(r);
}

/* (Re)starts r's broker on its ports, data and keys; 0 when it answers
 * the operator. */
static int
region_spawn(sec_region_t *r)
{
    char data[700], cert[700];
    snprintf(data, sizeof data, "%s/data", r->tmp);
    snprintf(cert, sizeof cert, "%s/broker", r->own);
    char *argv[] = {(char *)swbt_bin("switchboard-broker"), "--data", data,
                    "--clients", r->client_ep, "--workers", r->worker_ep,
                    "--http", "off", "--keys", r->keys, "--cert", cert,
                    "--site", "mnl-1", "--site", "mnl-2", NULL};
    char *bin = strdup(argv[0]);
    argv[0] = bin;
    r->broker = swbt_spawn(argv, r->log);
    free(bin);
    if (r->broker < 0)
        return -1;
    swb_client_t *c = lib_client(r, "op", 300);
    int rc = swbt_wait_answering(c, r->broker);
    swb_client_destroy(&c);
    return rc;
}

static void
region_stop(sec_region_t *r)
{
    if (r->broker > 0)
        swbt_kill(r->broker, SIGTERM);
    r->broker = 0;
    if (r->tmp)
        swbt_rmdir(r->tmp);
    free(r->tmp);
    r->tmp = NULL;
}

/* The broker's log so far (malloc'd, may be NULL). */
static char *
broker_log(const sec_region_t *r)
{
    return swbt_read_file(r->log);
}

static void
test_keygen_modes(void)
{
    char *tmp = swbt_tempdir("keygen");
    char cmd[1500], path[700];
    struct stat st;
    ASSERT_TRUE(tmp);
    snprintf(cmd, sizeof cmd, "'%s' keygen --role worker --site mnl-1 "
             "--out '%s/w' >/dev/null", swbt_bin("switchboard"), tmp);
    ASSERT_INT_EQ(swbt_run(cmd, NULL), 0);
    snprintf(path, sizeof path, "%s/w_secret", tmp);
    ASSERT_INT_EQ(stat(path, &st), 0);
    ASSERT_INT_EQ(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/w", tmp);
    ASSERT_INT_EQ(stat(path, &st), 0);
    ASSERT_INT_EQ(st.st_mode & 077, 044); /* public: others may read */
    char *pub = swbt_read_file(path);
    ASSERT_STR_CONTAINS(pub, "role = \"worker\"");
    ASSERT_STR_CONTAINS(pub, "site = \"mnl-1\"");
    ASSERT_TRUE(pub && !strstr(pub, "secret-key"));
    free(pub);
    /* never overwrites; a role needs its binding and no other */
    ASSERT_INT_EQ(swbt_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' keygen --role worker --out '%s/x' "
             "2>/dev/null", swbt_bin("switchboard"), tmp);
    ASSERT_INT_EQ(swbt_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' keygen --role client --site a --out "
             "'%s/x' 2>/dev/null", swbt_bin("switchboard"), tmp);
    ASSERT_INT_EQ(swbt_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' keygen --role admin --out '%s/x' "
             "2>/dev/null", swbt_bin("switchboard"), tmp);
    ASSERT_INT_EQ(swbt_run(cmd, NULL), 2);
    swbt_rmdir(tmp);
    free(tmp);
}

static void
test_valid_worker_end_to_end(void)
{
    sec_region_t r;
    char cr[1500], cert[700], server[700];
    char *out = NULL;
    if (region_start(&r) != 0) {
        region_stop(&r);
        SWBT_FAIL_("secure broker did not start");
    }
    char *log = broker_log(&r);
    ASSERT_STR_CONTAINS(log, "event=fail_closed_ok");
    ASSERT_STR_CONTAINS(log, "security=curve");
    free(log);
    snprintf(cert, sizeof cert, "%s/w1_secret", r.own);
    snprintf(server, sizeof server, "%s/broker", r.own);
    swbt_broker_t wb = {0};
    snprintf(wb.worker_ep, sizeof wb.worker_ep, "%s", r.worker_ep);
    const char *extra[] = {"--cert", cert, "--server-key", server, NULL};
    pid_t w = swbt_worker_start(&wb, r.tmp, "mnl-1", "ana", "email",
                                "tr a-z A-Z", extra);
    int rc = swbt_cli(r.client_ep, r.tmp, &out, "%s submit --channel email "
                      "--payload hello --wait --timeout 20",
                      creds(&r, "acme", cr, sizeof cr));
    swbt_kill(w, SIGTERM);
    region_stop(&r);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_STR_CONTAINS(out, "HELLO");
    free(out);
}

static void
test_unknown_key_and_null_mechanism_get_nothing(void)
{
    sec_region_t r;
    char cr[1500];
    if (region_start(&r) != 0) {
        region_stop(&r);
        SWBT_FAIL_("secure broker did not start");
    }
    /* a key the broker does not know: the handshake is refused */
    int unknown = cli_rc(&r, "%s --connect-timeout "
                           "1500 submit --channel email --payload x",
                           creds(&r, "stranger", cr, sizeof cr));
    /* no key at all: NULL mechanism against a CURVE endpoint */
    int plain = cli_rc(&r, "--connect-timeout 1500 "
                         "status 1");
    swb_client_t *c = NULL;
    swb_err_t lib = swb_client_new(r.client_ep, 1000, &c);
    swb_task_t t;
    if (lib == SWB_OK)
        lib = swb_client_status(c, 1, &t, NULL);
    if (lib == SWB_OK)
        swb_codec_free(&swb_task_schema, &t);
    swb_client_destroy(&c);
    /* a stranger worker never gets a session */
    char cert[700], server[700];
    snprintf(cert, sizeof cert, "%s/stranger_secret", r.own);
    snprintf(server, sizeof server, "%s/broker", r.own);
    swbt_broker_t wb = {0};
    snprintf(wb.worker_ep, sizeof wb.worker_ep, "%s", r.worker_ep);
    const char *extra[] = {"--cert", cert, "--server-key", server, NULL};
    pid_t w = swbt_worker_start(&wb, r.tmp, "mnl-1", "eve", "email", "cat",
                                extra);
    swbt_sleep_ms(swbt_ms(1000));
    swbt_kill(w, SIGKILL);
    char *log = broker_log(&r);
    region_stop(&r);
    ASSERT_INT_EQ(unknown, 3);
    ASSERT_INT_EQ(plain, 3);
    ASSERT_INT_EQ(lib, SWB_EUNREACHABLE);
    ASSERT_STR_CONTAINS(log, "event=handshake_refused");
    ASSERT_TRUE(log && !strstr(log, "agent=eve"));
    free(log);
}

static void
test_worker_key_bound_to_its_site(void)
{
    sec_region_t r;
    char cert[700], server[700], wlog[700];
    if (region_start(&r) != 0) {
        region_stop(&r);
        SWBT_FAIL_("secure broker did not start");
    }
    snprintf(cert, sizeof cert, "%s/w1_secret", r.own);
    snprintf(server, sizeof server, "%s/broker", r.own);
    swbt_broker_t wb = {0};
    snprintf(wb.worker_ep, sizeof wb.worker_ep, "%s", r.worker_ep);
    const char *extra[] = {"--cert", cert, "--server-key", server, NULL};
    pid_t w = swbt_worker_start(&wb, r.tmp, "mnl-2", "mallory", "email",
                                "cat", extra);
    int code = swbt_wait_exit(w, swbt_ms(5000));
    if (code < 0)
        swbt_kill(w, SIGKILL);
    snprintf(wlog, sizeof wlog, "%s/worker-mallory.log", r.tmp);
    char *wl = swbt_read_file(wlog);
    char *log = broker_log(&r);
    region_stop(&r);
    ASSERT_TRUE(code > 0);
    ASSERT_STR_CONTAINS(wl, "refused");
    ASSERT_STR_CONTAINS(log, "event=refused key=");
    ASSERT_STR_CONTAINS(log, "role=worker binding=mnl-1 action=hello");
    ASSERT_TRUE(log && !strstr(log, "agent=mallory site=mnl-2"));
    free(wl);
    free(log);
}

static void
test_client_key_bound_to_its_sponsor(void)
{
    sec_region_t r;
    char cr[1500], *out = NULL;
    if (region_start(&r) != 0) {
        region_stop(&r);
        SWBT_FAIL_("secure broker did not start");
    }
    /* acme's task (sponsor filled in from the key) */
    int sub = swbt_cli(r.client_ep, r.tmp, &out, "%s submit --channel email "
                       "--payload secret-of-acme",
                       creds(&r, "acme", cr, sizeof cr));
    uint64_t id = out ? strtoull(out, NULL, 10) : 0;
    free(out);
    out = NULL;
    int own = swbt_cli(r.client_ep, r.tmp, &out, "%s --json status %llu",
                       creds(&r, "acme", cr, sizeof cr),
                       (unsigned long long)id);
    int sponsor_ok = out && strstr(out, "\"acme\"") != NULL;
    free(out);
    out = NULL;
    /* globex may not read, wait on, cancel it, nor submit for acme */
    int status = swbt_cli(r.client_ep, r.tmp, &out, "%s status %llu",
                          creds(&r, "globex", cr, sizeof cr),
                          (unsigned long long)id);
    int leaked = out && strstr(out, "secret-of-acme") != NULL;
    free(out);
    out = NULL;
    int cancel = cli_rc(&r, "%s cancel %llu",
                          creds(&r, "globex", cr, sizeof cr),
                          (unsigned long long)id);
    int wait = cli_rc(&r, "%s wait %llu --timeout 1",
                        creds(&r, "globex", cr, sizeof cr),
                        (unsigned long long)id);
    int forge = cli_rc(&r, "%s submit --channel email "
                         "--sponsor acme --payload x",
                         creds(&r, "globex", cr, sizeof cr));
    int list = swbt_cli(r.client_ep, r.tmp, &out, "%s --json list",
                        creds(&r, "globex", cr, sizeof cr));
    int listed = out && strstr(out, "acme") != NULL;
    free(out);
    out = NULL;
    /* the operator reads everything, but submits nothing */
    int op = cli_rc(&r, "%s status %llu",
                      creds(&r, "op", cr, sizeof cr), (unsigned long long)id);
    int op_submit = cli_rc(&r, "%s submit --channel "
                             "email --sponsor acme --payload x",
                             creds(&r, "op", cr, sizeof cr));
    /* a client key sees no agents or statistics */
    int agents = cli_rc(&r, "%s agents",
                          creds(&r, "acme", cr, sizeof cr));
    char cli_log[700];
    snprintf(cli_log, sizeof cli_log, "%s/cli.log", r.tmp);
    char *errs = swbt_read_file(cli_log);
    char *log = broker_log(&r);
    region_stop(&r);
    ASSERT_INT_EQ(sub, 0);
    ASSERT_TRUE(id > 0);
    ASSERT_INT_EQ(own, 0);
    ASSERT_TRUE(sponsor_ok);
    ASSERT_INT_EQ(status, 3);
    ASSERT_TRUE(!leaked);
    ASSERT_INT_EQ(cancel, 3);
    ASSERT_INT_EQ(wait, 3);
    ASSERT_INT_EQ(forge, 3);
    ASSERT_INT_EQ(list, 0);
    ASSERT_TRUE(!listed);
    ASSERT_INT_EQ(op, 0);
    ASSERT_INT_EQ(op_submit, 3);
    ASSERT_INT_EQ(agents, 3);
    ASSERT_STR_CONTAINS(errs, "refused");
    ASSERT_STR_CONTAINS(log, "role=client binding=globex action=status");
    ASSERT_STR_CONTAINS(log, "role=client binding=globex action=submit");
    free(errs);
    free(log);
}

static void
test_removed_cert_refused_on_next_message(void)
{
    sec_region_t r;
    if (region_start(&r) != 0) {
        region_stop(&r);
        SWBT_FAIL_("secure broker did not start");
    }
    swb_client_t *c = lib_client(&r, "globex", 3000);
    swb_task_spec_t sp = swbt_spec("email", "p");
    sp.sponsor = "globex";
    uint64_t id = 0;
    swb_err_t first = c ? swb_client_submit(c, &sp, &id, NULL) : SWB_EINVAL;
    char path[700];
    snprintf(path, sizeof path, "%s/globex", r.keys);
    unlink(path);
    swbt_sleep_ms(1500); /* the broker looks at the folder every second */
    swb_task_t t;
    swb_err_t next = c ? swb_client_status(c, id, &t, NULL) : SWB_EINVAL;
    if (next == SWB_OK)
        swb_codec_free(&swb_task_schema, &t);
    char err[900];
    snprintf(err, sizeof err, "%s", c ? swb_client_last_error(c) : "");
    swb_client_destroy(&c);
    char *log = broker_log(&r);
    region_stop(&r);
    ASSERT_INT_EQ(first, SWB_OK);
    ASSERT_INT_EQ(next, SWB_EREFUSED); /* an answer, not a timeout */
    ASSERT_STR_CONTAINS(err, "no longer");
    ASSERT_STR_CONTAINS(log, "event=keys_reloaded");
    free(log);
}

/* Runs the broker with args; returns its exit code within 10 s and its
 * stderr in *err. */
static int
broker_exit(const char *tmp, const char *args, char **err)
{
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "timeout 10 '%s' --data '%s/data2' --http off "
             "%s 2>&1", swbt_bin("switchboard-broker"), tmp, args);
    return swbt_run(cmd, err);
}

/* The broker's log after offset (malloc'd, "" when nothing new, NULL
 * when unreadable); *offset moves to its end. */
static char *
log_since(const char *path, size_t *offset)
{
    char *all = swbt_read_file(path);
    if (!all)
        return NULL;
    size_t n = strlen(all), from = *offset < n ? *offset : n;
    char *tail = strdup(all + from);
    *offset = n;
    free(all);
    return tail;
}

/* The start-up warning line about path at mode, with its fix. */
static void
expect_mode_warning(const char *log, const char *path, const char *mode,
                    const char *fix)
{
    char want[1500];
    snprintf(want, sizeof want, "event=loose_mode file=%s mode=%s", path,
             mode);
    ASSERT_STR_CONTAINS(log, want);
    snprintf(want, sizeof want, "fix=\"%s %s\"", fix, path);
    ASSERT_STR_CONTAINS(log, want);
}

static void
test_loose_data_files_warned(void)
{
    char *tmp = swbt_tempdir("modes");
    swbt_broker_t b = {0};
    size_t at = 0;
    char mdb[700], lock[700];
    ASSERT_TRUE(tmp);
    snprintf(mdb, sizeof mdb, "%s/data/data.mdb", tmp);
    snprintf(lock, sizeof lock, "%s/data/lock.mdb", tmp);
    /* a new store is 0600: no warning */
    int up = swbt_broker_start(&b, tmp, NULL);
    swbt_broker_stop(&b, SIGTERM);
    char *fresh = log_since(b.log, &at);
    /* someone made the task data readable to all: warned, still starts */
    chmod(mdb, 0644);
    int up_loose = swbt_broker_restart(&b);
    swbt_broker_stop(&b, SIGTERM);
    char *loose = log_since(b.log, &at);
    /* fixed as told: quiet again */
    chmod(mdb, 0600);
    int up_fixed = swbt_broker_restart(&b);
    swbt_broker_stop(&b, SIGTERM);
    char *fixed = log_since(b.log, &at);
    swbt_broker_free(&b);
    swbt_rmdir(tmp);
    free(tmp);
    ASSERT_INT_EQ(up, 0);
    ASSERT_INT_EQ(up_loose, 0);
    ASSERT_INT_EQ(up_fixed, 0);
    ASSERT_TRUE(fresh && !strstr(fresh, "event=loose_mode"));
    expect_mode_warning(loose, mdb, "0644", "chmod 600");
    ASSERT_STR_CONTAINS(loose, "level=warn component=security");
    ASSERT_TRUE(loose && !strstr(loose, lock)); /* one line per file */
    ASSERT_STR_CONTAINS(loose, "event=started");
    ASSERT_TRUE(fixed && !strstr(fixed, "event=loose_mode"));
    free(fresh);
    free(loose);
    free(fixed);
}

static void
test_loose_secret_cert_and_keys_warned(void)
{
    sec_region_t r;
    size_t at = 0;
    char secret[700];
    if (region_start(&r) != 0) {
        region_stop(&r);
        SWBT_FAIL_("secure broker did not start");
    }
    snprintf(secret, sizeof secret, "%s/broker_secret", r.own);
    /* keygen's modes (own/broker 0644 is the public half): no warning */
    char *fresh = log_since(r.log, &at);
    swbt_kill(r.broker, SIGTERM);
    r.broker = 0;
    chmod(secret, 0644);
    chmod(r.keys, 0770); /* the group could add a key */
    int up_loose = region_spawn(&r);
    swbt_kill(r.broker, SIGTERM);
    r.broker = 0;
    char *loose = log_since(r.log, &at);
    chmod(secret, 0600);
    chmod(r.keys, 0700);
    int up_fixed = region_spawn(&r);
    char *fixed = log_since(r.log, &at);
    char keys[700];
    snprintf(keys, sizeof keys, "%s", r.keys);
    region_stop(&r);
    ASSERT_TRUE(fresh && !strstr(fresh, "event=loose_mode"));
    ASSERT_INT_EQ(up_loose, 0);
    expect_mode_warning(loose, secret, "0644", "chmod 600");
    expect_mode_warning(loose, keys, "0770", "chmod 700");
    ASSERT_STR_CONTAINS(loose, "event=fail_closed_ok");
    ASSERT_INT_EQ(up_fixed, 0);
    ASSERT_TRUE(fixed && !strstr(fixed, "event=loose_mode"));
    free(fresh);
    free(loose);
    free(fixed);
}

static void
test_plain_text_only_on_loopback(void)
{
    char *tmp = swbt_tempdir("plain");
    char args[600], *err = NULL, *err2 = NULL;
    ASSERT_TRUE(tmp);
    int port = swbt_free_port();
    snprintf(args, sizeof args, "--clients tcp://0.0.0.0:%d --workers "
             "tcp://127.0.0.1:%d", port, swbt_free_port());
    int rc = broker_exit(tmp, args, &err);
    snprintf(args, sizeof args, "--keys '%s' --workers tcp://127.0.0.1:%d",
             tmp, swbt_free_port());
    int half = broker_exit(tmp, args, &err2);
    char want[100];
    snprintf(want, sizeof want, "tcp://0.0.0.0:%d", port);
    swbt_rmdir(tmp);
    free(tmp);
    ASSERT_INT_EQ(rc, 1);
    ASSERT_STR_CONTAINS(err, want);
    ASSERT_STR_CONTAINS(err, "--insecure");
    ASSERT_INT_EQ(half, 2); /* --keys without --cert is a config error */
    ASSERT_STR_CONTAINS(err2, "cert");
    free(err);
    free(err2);
}

int
main(void)
{
    SWB_RUN(test_keygen_modes);
    SWB_RUN(test_valid_worker_end_to_end);
    SWB_RUN(test_unknown_key_and_null_mechanism_get_nothing);
    SWB_RUN(test_worker_key_bound_to_its_site);
    SWB_RUN(test_client_key_bound_to_its_sponsor);
    SWB_RUN(test_removed_cert_refused_on_next_message);
    SWB_RUN(test_plain_text_only_on_loopback);
    SWB_RUN(test_loose_data_files_warned);
    SWB_RUN(test_loose_secret_cert_and_keys_warned);
    return SWB_TEST_EXIT();
}
