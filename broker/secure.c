/*
 * secure.c - the broker's side of PRODUCT.md 7 (Security), between the
 * sockets and the handlers:
 *
 *   - at start, before any bind: with --keys/--cert, the key table
 *     (auth.c), the ZAP handler (zap.c) and the proof that an unknown key
 *     is refused (else the broker does not start); without keys, plain
 *     text only on loopback endpoints unless --insecure;
 *   - after that, a warning for each secret file (LMDB files, own secret
 *     certificate, --keys folder) that group or others may touch;
 *   - on every received message: the sender's authenticated key (the
 *     User-Id property) must still be in the table and its role may send
 *     this command at this endpoint; else an ERROR "refused" reply and a
 *     log line naming key, role and action.
 *
 * What a key may touch (its site's or sponsor's tasks) is checked by the
 * handlers with b->who (client_api.c, worker_api.c) through
 * swb_broker_refuse.
 */
#include "broker_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "fileperm.h"
#include "swb_log.h"

/* Is a plain-text endpoint on this machine only? */
static bool
loopback_endpoint(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0)
        return true;
    if (strncmp(ep, "tcp://", 6) != 0)
        return false;
    const char *host = ep + 6;
    if (strchr(host, ';'))
        return false; /* a source address: keep it simple, say no */
    if (strncmp(host, "127.", 4) == 0) {
        unsigned a, b, c, d;
        char colon;
        return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &colon) == 5 &&
               a == 127 && b < 256 && c < 256 && d < 256 && colon == ':';
    }
    return strncmp(host, "[::1]:", 6) == 0 ||
           strncmp(host, "localhost:", 10) == 0;
}

/* The file that holds the broker's secret key: PATH_secret when it
 * exists (zcert_load reads the secret key from there), else PATH. */
static void
own_secret_file(const swb_config_t *cfg, char *buf, size_t n)
{
    struct stat st;
    snprintf(buf, n, "%s_secret", cfg->cert_file);
    if (stat(buf, &st) != 0)
        snprintf(buf, n, "%s", cfg->cert_file);
}

/* The broker's key pair from --cert. */
static swb_err_t
load_own_cert(swb_broker_t *b, char *why, size_t why_len)
{
    zcert_t *cert = zcert_load(b->cfg->cert_file);
    if (!cert) {
        snprintf(why, why_len, "--cert: cannot read the certificate \"%s\"",
                 b->cfg->cert_file);
        return SWB_EINVAL;
    }
    snprintf(b->curve_public, sizeof b->curve_public, "%s",
             zcert_public_txt(cert));
    snprintf(b->curve_secret, sizeof b->curve_secret, "%s",
             zcert_secret_txt(cert));
    zcert_destroy(&cert);
    uint8_t raw[32] = {0};
    char zero[SWB_Z85_KEY_LEN + 1];
    zmq_z85_encode(zero, raw, sizeof raw);
    if (strcmp(b->curve_secret, zero) == 0) {
        snprintf(why, why_len, "--cert: \"%s\" holds no secret key (give "
                 "the secret certificate, PATH or PATH_secret)",
                 b->cfg->cert_file);
        return SWB_EINVAL;
    }
    return SWB_OK;
}

swb_err_t
swb_secure_open(swb_broker_t *b, char *why, size_t why_len)
{
    const swb_config_t *cfg = b->cfg;
    if (!cfg->keys_dir) {
        /* the peers endpoint and the links count only with peers */
        for (size_t i = 0; i < 3 + cfg->peers.n; i++) {
            const char *ep = i == 0   ? cfg->clients_ep
                             : i == 1 ? cfg->workers_ep
                             : i == 2 ? (cfg->peers.n ? cfg->peers_ep : NULL)
                                      : strchr(cfg->peers.v[i - 3], '=') + 1;
            if (ep && !loopback_endpoint(ep) && !cfg->insecure) {
                snprintf(why, why_len, "%s is not a loopback endpoint and no "
                         "keys are configured: plain text there would let "
                         "anyone in; give --keys DIR and --cert FILE "
                         "(CurveZMQ), or --insecure to allow it", ep);
                return SWB_EINVAL;
            }
        }
        if (cfg->insecure)
            swb_log(SWB_LOG_WARN, "auth", "insecure", "clients=%s workers=%s "
                    "why=\"plain text allowed off loopback\"",
                    cfg->clients_ep, cfg->workers_ep);
        return SWB_OK;
    }
    swb_err_t rc = load_own_cert(b, why, why_len);
    if (!rc)
        rc = swb_auth_new(cfg->keys_dir, &b->auth, why, why_len);
    if (!rc)
        rc = swb_zap_new(b->auth, &b->zap, why, why_len);
    if (!rc && b->zap_decide)
        swb_zap_set_decide(b->zap, b->zap_decide);
    if (!rc)
        rc = swb_zap_selftest(b->zap, b->curve_public, b->curve_secret, why,
                              why_len);
    return rc;
}

void
swb_secure_check_modes(const swb_broker_t *b)
{
    const swb_config_t *cfg = b->cfg;
    char path[4200];
    /* LMDB's own names in the folder store.c opens (not MDB_NOSUBDIR) */
    const char *lmdb[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", cfg->data_dir, lmdb[i]);
        swb_fileperm_warn(path);
    }
    if (!b->auth)
        return;
    own_secret_file(cfg, path, sizeof path);
    swb_fileperm_warn(path);
    swb_fileperm_warn(cfg->keys_dir);
}

void
swb_secure_close(swb_broker_t *b)
{
    swb_zap_destroy(&b->zap);
    swb_auth_destroy(&b->auth);
}

void
swb_secure_socket(swb_broker_t *b, zsock_t *sock)
{
    if (b->auth)
        swb_zap_curve_server(sock, b->curve_public, b->curve_secret);
}

swb_err_t
swb_secure_link(swb_broker_t *b, zsock_t *link, const char *name, char *why,
                size_t why_len)
{
    if (!b->auth)
        return SWB_OK;
    const swb_ident_t *id = swb_auth_find(b->auth, SWB_ROLE_PEER, name);
    if (!id) {
        snprintf(why, why_len, "--peer %s: the keys folder %s holds no "
                 "certificate of role peer for region %s (that region's "
                 "broker certificate, made with switchboard keygen --role "
                 "peer --region %s)", name, b->cfg->keys_dir, name, name);
        return SWB_EINVAL;
    }
    zsock_set_curve_serverkey(link, id->key);
    zsock_set_curve_publickey(link, b->curve_public);
    zsock_set_curve_secretkey(link, b->curve_secret);
    return SWB_OK;
}

bool
swb_secure_check_peer(swb_broker_t *b, const char *region,
                      const char *user_id, const swb_msg_t *m)
{
    if (!b->auth)
        return true;
    const swb_ident_t *id = swb_auth_lookup(b->auth, user_id);
    b->who = NULL;
    snprintf(b->who_key, sizeof b->who_key, "%s", user_id ? user_id : "");
    if (id) {
        b->who_buf = *id;
        b->who = &b->who_buf;
    }
    const char *why = !id                         ? "the key is not (or no "
                                                    "longer) authorized"
                      : id->role != SWB_ROLE_PEER ? "only peer keys talk at "
                                                    "the peers endpoint"
                      : strcmp(id->binding, region) != 0
                          ? "the key is bound to another region"
                          : NULL;
    if (why)
        swb_broker_refuse(b, SWB_SIDE_PEER, (const uint8_t *)region,
                          strlen(region), 0, 0, swb_msg_name(m->type),
                          "as region %s: %s", region, why);
    b->who = NULL;
    return why == NULL;
}

void
swb_broker_refuse(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
                  size_t rid_len, uint64_t req, uint64_t id,
                  const char *action, const char *fmt, ...)
{
    char text[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    const swb_ident_t *w = b->who;
    char key[9];
    snprintf(key, sizeof key, "%.8s", w ? w->key : b->who_key);
    const char *role = w ? swb_role_name(w->role) : "none";
    const char *binding = w ? w->binding : "";
    swb_log(SWB_LOG_WARN, "auth", "refused", "key=%s role=%s binding=%s "
            "action=%s task=%llu why=\"%s\"", *key ? key : "-", role,
            *binding ? binding : "-", action, (unsigned long long)id, text);
    swb_broker_error(b, side, rid, rid_len, req, id, SWB_EREFUSED, NULL,
                     "key %s... (%s%s%s) may not %s: %s",
                     *key ? key : "-", role, *binding ? " of " : "", binding,
                     action, text);
}

bool
swb_secure_check(swb_broker_t *b, swb_side_t side, const uint8_t *rid,
                 size_t rid_len, const char *user_id, const swb_msg_t *m)
{
    b->who = NULL;
    b->who_key[0] = 0;
    if (!b->auth)
        return true;
    snprintf(b->who_key, sizeof b->who_key, "%s", user_id ? user_id : "");
    const swb_ident_t *id = swb_auth_lookup(b->auth, user_id);
    const char *action = swb_msg_name(m->type);
    uint64_t req = swb_auth_msg_req(m);
    if (!id) {
        swb_broker_refuse(b, side, rid, rid_len, req, 0, action,
                          "the key is not (or no longer) authorized");
        return false;
    }
    b->who_buf = *id;
    b->who = &b->who_buf;
    if (!swb_auth_may(b->who, side == SWB_SIDE_WORKER, m->type)) {
        swb_broker_refuse(b, side, rid, rid_len, req, 0, action,
                          "a %s key may not send %s to the %s endpoint",
                          swb_role_name(id->role), action,
                          side == SWB_SIDE_WORKER ? "worker" : "client");
        b->who = NULL;
        return false;
    }
    return true;
}
