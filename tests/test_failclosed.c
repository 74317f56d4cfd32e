/*
 * test_failclosed.c - the broker's fail-closed start-up check really
 * stops a broker whose ZAP handler lets an unknown key in.
 *
 * In process, with real ZeroMQ sockets and the real swb_secure_open
 * (secure.c) of the broker library: keys made with swb_curve_keygen in a
 * temp folder, a broker context with only what swb_secure_open reads
 * (cfg, and zap_decide: the fault injected through broker_int.h, which is
 * why this test includes that internal header). With a decision that
 * accepts every key the open must fail with SWB_EREFUSED and say that an
 * unknown key was accepted; with the real decision (the default, NULL) it
 * must succeed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker_int.h"
#include "swb_curve.h"
#include "swbtest.h"

typedef struct keyed {
    char *tmp;
    char keys[600];
    char cert[600];
    swb_config_t cfg;
} keyed_t;

/* The fault: a handler that lets every key in. */
static const char *
accept_every_key(const swb_auth_t *auth, const char *key)
{
    (void)auth;
    (void)key;
    return NULL;
}

/* A temp folder with the broker's certificate and a keys/ folder that
 * allows one client key; cfg as --keys/--cert would set it. 0 when set. */
static int
keyed_setup(keyed_t *k)
{
    char why[300], path[700];
    memset(k, 0, sizeof *k);
    k->tmp = swbt_tempdir("failclosed");
    if (!k->tmp)
        return -1;
    snprintf(k->keys, sizeof k->keys, "%s/keys", k->tmp);
    snprintf(k->cert, sizeof k->cert, "%s/broker", k->tmp);
    snprintf(path, sizeof path, "%s/acme", k->keys);
    if (mkdir(k->keys, 0700) != 0 ||
        swb_curve_keygen("broker", NULL, NULL, k->cert, NULL, why,
                         sizeof why) != SWB_OK ||
        swb_curve_keygen("client", "sponsor", "acme", path, NULL, why,
                         sizeof why) != SWB_OK)
        return -1;
    k->cfg.keys_dir = k->keys;
    k->cfg.cert_file = k->cert;
    k->cfg.clients_ep = "tcp://127.0.0.1:1";
    k->cfg.workers_ep = "tcp://127.0.0.1:2";
    return 0;
}

static void
keyed_teardown(keyed_t *k)
{
    swbt_rmdir(k->tmp);
    free(k->tmp);
    k->tmp = NULL;
}

/* swb_secure_open on a fresh context with this decision (NULL = the
 * broker's own), then swb_secure_close. Returns its code, why in why.
 * libzmq frees a closed socket's inproc endpoint in its reaper thread, so
 * the ZAP endpoint of the previous open may still be taken for a moment:
 * that one error is tried again (a broker opens it once per process). */
static swb_err_t
open_with(keyed_t *k, swb_zap_decide_fn decide, char *why, size_t why_len)
{
    int64_t end = swbt_now_ms() + swbt_ms(3000);
    for (;;) {
        swb_broker_t b;
        memset(&b, 0, sizeof b);
        b.cfg = &k->cfg;
        b.zap_decide = decide;
        why[0] = 0;
        swb_err_t rc = swb_secure_open(&b, why, why_len);
        swb_secure_close(&b);
        if (rc != SWB_ESYS || !strstr(why, "zeromq.zap.01") ||
            swbt_now_ms() >= end)
            return rc;
        swbt_sleep_ms(20);
    }
}

static void
test_accepting_handler_stops_the_start(void)
{
    keyed_t k;
    char why[400];
    if (keyed_setup(&k) != 0) {
        keyed_teardown(&k);
        SWBT_FAIL_("could not make the keys");
    }
    swb_err_t rc = open_with(&k, accept_every_key, why, sizeof why);
    keyed_teardown(&k);
    ASSERT_INT_EQ(rc, SWB_EREFUSED);
    ASSERT_STR_CONTAINS(why, "fail-closed self-test");
    ASSERT_STR_CONTAINS(why, "accepted an unknown key");
}

static void
test_real_handler_passes(void)
{
    keyed_t k;
    char why[400];
    if (keyed_setup(&k) != 0) {
        keyed_teardown(&k);
        SWBT_FAIL_("could not make the keys");
    }
    /* after the broken one (the handler's inproc endpoint is free again),
     * and the default decision is the key table */
    swb_err_t bad = open_with(&k, accept_every_key, why, sizeof why);
    swb_err_t rc = open_with(&k, NULL, why, sizeof why);
    char keep[400];
    snprintf(keep, sizeof keep, "%s", why);
    swb_err_t real = open_with(&k, swb_zap_decide_keys, why, sizeof why);
    keyed_teardown(&k);
    ASSERT_INT_EQ(bad, SWB_EREFUSED);
    if (rc != SWB_OK)
        SWBT_FAIL_("default decision: %s (%s)", swb_strerror(rc), keep);
    if (real != SWB_OK)
        SWBT_FAIL_("swb_zap_decide_keys: %s (%s)", swb_strerror(real), why);
}

int
main(void)
{
    SWB_RUN(test_accepting_handler_stops_the_start);
    SWB_RUN(test_real_handler_passes);
    return SWB_TEST_EXIT();
}
