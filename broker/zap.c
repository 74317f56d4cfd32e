/*
 * zap.c - ZAP handler from the key table, and its fail-closed self-test
 * (see zap.h).
 *
 * A request is: version "1.0", request id, domain, address, routing id,
 * mechanism, then credentials (CURVE: the client's 32-byte public key).
 * The reply: version, request id, status code, status text, user id,
 * metadata (empty). Anything malformed is answered "500" when it can be
 * answered at all, never accepted.
 */
#include "zap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "swb_log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_MAX_FRAMES 16

struct swb_zap {
    swb_auth_t *auth;
    swb_zap_decide_fn decide; /* swb_zap_decide_keys but in tests */
    zsock_t *sock;
    uint64_t denied;   /* requests refused since start */
    uint64_t accepted;
    char last_denied[SWB_Z85_KEY_LEN + 1];
};

swb_err_t
swb_zap_new(swb_auth_t *auth, swb_zap_t **out, char *why, size_t why_len)
{
    *out = NULL;
    swb_zap_t *z = calloc(1, sizeof *z);
    if (!z)
        return SWB_ENOMEM;
    z->auth = auth;
    z->decide = swb_zap_decide_keys;
    z->sock = zsock_new(ZMQ_REP);
    if (!z->sock || zsock_bind(z->sock, ZAP_ENDPOINT) != 0) {
        snprintf(why, why_len, "cannot start the ZAP handler on %s: %s",
                 ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        swb_zap_destroy(&z);
        return SWB_ESYS;
    }
    zsock_set_linger(z->sock, 0);
    *out = z;
    return SWB_OK;
}

void
swb_zap_destroy(swb_zap_t **zp)
{
    if (!zp || !*zp)
        return;
    zsock_destroy(&(*zp)->sock);
    free(*zp);
    *zp = NULL;
}

const char *
swb_zap_decide_keys(const swb_auth_t *auth, const char *key)
{
    return swb_auth_lookup(auth, key) ? NULL : "unknown key";
}

void
swb_zap_set_decide(swb_zap_t *z, swb_zap_decide_fn decide)
{
    z->decide = decide ? decide : swb_zap_decide_keys;
}

void *
swb_zap_socket(swb_zap_t *z)
{
    return zsock_resolve(z->sock);
}

static void
reply(swb_zap_t *z, zmq_msg_t *reqid, const char *code, const char *text,
      const char *user)
{
    void *s = zsock_resolve(z->sock);
    zmq_send(s, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(s, reqid ? zmq_msg_data(reqid) : "",
             reqid ? zmq_msg_size(reqid) : 0, ZMQ_SNDMORE);
    zmq_send(s, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(s, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(s, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(s, "", 0, 0);
}

/* Reads and answers one request; false when none was waiting. */
static bool
handle_one(swb_zap_t *z)
{
    void *s = zsock_resolve(z->sock);
    zmq_msg_t f[ZAP_MAX_FRAMES];
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, s, n ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            if (n == 0)
                return false;
            break;
        }
        more = zmq_msg_more(&part);
        if (n < ZAP_MAX_FRAMES)
            f[n++] = part;
        else
            zmq_msg_close(&part);
    }
    char key[SWB_Z85_KEY_LEN + 1] = "";
    const char *why = NULL;
    if (n < 6 || zmq_msg_size(&f[0]) != 3 ||
        memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0)
        why = "malformed request";
    else if (zmq_msg_size(&f[5]) != 5 ||
             memcmp(zmq_msg_data(&f[5]), "CURVE", 5) != 0)
        why = "mechanism is not CURVE";
    else if (n < 7 || zmq_msg_size(&f[6]) != 32)
        why = "no CURVE key";
    if (!why) {
        zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
        why = z->decide(z->auth, key);
    }
    if (why) {
        z->denied++;
        snprintf(z->last_denied, sizeof z->last_denied, "%s", key);
        swb_log(SWB_LOG_WARN, "auth", "handshake_refused", "key=%.8s "
                "why=\"%s\"", *key ? key : "-", why);
        reply(z, n >= 2 ? &f[1] : NULL, n < 6 ? "500" : "400", why, "");
    } else {
        z->accepted++;
        swb_log(SWB_LOG_DEBUG, "auth", "handshake_ok", "key=%.8s", key);
        reply(z, &f[1], "200", "OK", key);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return true;
}

void
swb_zap_handle(swb_zap_t *z)
{
    for (int i = 0; i < 1000 && handle_one(z); i++)
        ;
}

void
swb_zap_curve_server(zsock_t *sock, const char *public_txt,
                     const char *secret_txt)
{
    zsock_set_zap_domain(sock, SWB_ZAP_DOMAIN);
    zsock_set_curve_server(sock, 1);
    zsock_set_curve_publickey(sock, public_txt);
    zsock_set_curve_secretkey(sock, secret_txt);
}

swb_err_t
swb_zap_selftest(swb_zap_t *z, const char *public_txt, const char *secret_txt,
                 char *why, size_t why_len)
{
    swb_err_t rc = SWB_EREFUSED;
    zsock_t *server = zsock_new(ZMQ_ROUTER);
    zsock_t *client = zsock_new(ZMQ_DEALER);
    zcert_t *stranger = zcert_new();
    snprintf(why, why_len, "fail-closed self-test could not run");
    if (!server || !client || !stranger)
        goto done;
    zsock_set_linger(server, 0);
    zsock_set_linger(client, 0);
    swb_zap_curve_server(server, public_txt, secret_txt);
    if (zsock_bind(server, "tcp://127.0.0.1:*") < 0) {
        snprintf(why, why_len, "fail-closed self-test: cannot bind a "
                 "loopback port: %s", zmq_strerror(zmq_errno()));
        goto done;
    }
    zcert_apply(stranger, zsock_resolve(client));
    zsock_set_curve_serverkey(client, public_txt);
    const char *ep = zsock_endpoint(server);
    if (!ep || zsock_connect(client, "%s", ep) != 0)
        goto done;
    zmq_send(zsock_resolve(client), "probe", 5, ZMQ_DONTWAIT);
    uint64_t denied0 = z->denied, accepted0 = z->accepted;
    int64_t end = zclock_mono() + 3000, quiet_until = 0;
    zmq_pollitem_t items[2] = {
        {swb_zap_socket(z), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(server), 0, ZMQ_POLLIN, 0},
    };
    for (;;) {
        int64_t now = zclock_mono();
        if (quiet_until && now >= quiet_until) {
            rc = SWB_OK;
            break;
        }
        if (now >= end) {
            if (z->accepted > accepted0)
                snprintf(why, why_len, "fail-closed self-test: the ZAP "
                         "handler accepted an unknown key");
            else
                snprintf(why, why_len, "fail-closed self-test: the ZAP "
                         "handler was never asked about an unknown key");
            break;
        }
        if (zmq_poll(items, 2, 50) < 0 && errno != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN)
            swb_zap_handle(z);
        if (items[1].revents & ZMQ_POLLIN) {
            if (z->accepted > accepted0)
                snprintf(why, why_len, "fail-closed self-test: the ZAP "
                         "handler accepted an unknown key and its client "
                         "got through");
            else
                snprintf(why, why_len, "fail-closed self-test: a client "
                         "with an unknown key got through (is another ZAP "
                         "handler answering?)");
            break;
        }
        if (!quiet_until && z->denied > denied0 &&
            strcmp(z->last_denied, zcert_public_txt(stranger)) == 0)
            quiet_until = zclock_mono() + 300; /* and nothing arrives */
    }
done:
    zcert_destroy(&stranger);
    zsock_destroy(&client);
    zsock_destroy(&server);
    if (rc == SWB_OK)
        swb_log(SWB_LOG_INFO, "auth", "fail_closed_ok", "unknown key refused");
    return rc;
}
