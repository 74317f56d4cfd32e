/*
 * swb_curve.c - CurveZMQ certificates and client-side keys (see
 * swb_curve.h). Built on czmq's zcert: it writes the two ZPL files and
 * parses them; this file adds the Switchboard metadata, the file modes
 * and key-text checks.
 */
#include "swb_curve.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *role;
    const char *bind_key;
} swb_roles[] = {
    {"worker", "site"},  {"client", "sponsor"}, {"operator", NULL},
    {"peer", "region"},  {"broker", NULL},
};

bool
swb_curve_role_binding(const char *role, const char **bind_key)
{
    for (size_t i = 0; role && i < sizeof swb_roles / sizeof swb_roles[0];
         i++)
        if (strcmp(swb_roles[i].role, role) == 0) {
            *bind_key = swb_roles[i].bind_key;
            return true;
        }
    return false;
}

/* A 40-character Z85 text that decodes to 32 bytes. */
static bool
z85_key(const char *txt)
{
    uint8_t raw[32];
    return txt && strlen(txt) == SWB_Z85_KEY_LEN &&
           zmq_z85_decode(raw, txt) != NULL;
}

static bool
all_zero_key(const char *txt)
{
    uint8_t raw[32] = {0};
    char zero[SWB_Z85_KEY_LEN + 1];
    zmq_z85_encode(zero, raw, sizeof raw);
    return strcmp(txt, zero) == 0;
}

swb_err_t
swb_curve_load(const char *cert_file, const char *server_key,
               swb_curve_t *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    if (!cert_file || !*cert_file || !server_key || !*server_key) {
        snprintf(why, why_len, "CURVE needs both a certificate and the "
                 "broker's public key");
        return SWB_EINVAL;
    }
    zcert_t *cert = zcert_load(cert_file);
    if (!cert) {
        snprintf(why, why_len, "cannot read the certificate \"%s\"",
                 cert_file);
        return SWB_EINVAL;
    }
    snprintf(out->public_txt, sizeof out->public_txt, "%s",
             zcert_public_txt(cert));
    snprintf(out->secret_txt, sizeof out->secret_txt, "%s",
             zcert_secret_txt(cert));
    zcert_destroy(&cert);
    if (!z85_key(out->secret_txt) || all_zero_key(out->secret_txt)) {
        snprintf(why, why_len, "\"%s\" holds no secret key (give the "
                 "secret certificate, PATH or PATH_secret)", cert_file);
        return SWB_EINVAL;
    }
    if (z85_key(server_key)) {
        snprintf(out->server_txt, sizeof out->server_txt, "%s", server_key);
        return SWB_OK;
    }
    zcert_t *server = zcert_load(server_key);
    if (!server) {
        snprintf(why, why_len, "server key \"%s\" is neither 40 characters "
                 "of Z85 nor a readable certificate file", server_key);
        return SWB_EINVAL;
    }
    snprintf(out->server_txt, sizeof out->server_txt, "%s",
             zcert_public_txt(server));
    zcert_destroy(&server);
    return SWB_OK;
}

void
swb_curve_apply(const swb_curve_t *c, zsock_t *sock)
{
    zsock_set_curve_publickey(sock, c->public_txt);
    zsock_set_curve_secretkey(sock, c->secret_txt);
    zsock_set_curve_serverkey(sock, c->server_txt);
}

swb_err_t
swb_curve_keygen(const char *role, const char *bind_key,
                 const char *bind_value, const char *path, char *public_txt,
                 char *why, size_t why_len)
{
    const char *need = NULL;
    if (!swb_curve_role_binding(role, &need)) {
        snprintf(why, why_len, "role \"%s\" is not worker, client, "
                 "operator, peer or broker", role ? role : "");
        return SWB_EINVAL;
    }
    if ((need || bind_key) &&
        (!need || !bind_key || strcmp(need, bind_key) != 0 || !bind_value ||
         !*bind_value)) {
        if (need)
            snprintf(why, why_len, "a %s key needs --%s (and no other "
                     "binding)", role, need);
        else
            snprintf(why, why_len, "a %s key takes no --%s", role, bind_key);
        return SWB_EINVAL;
    }
    char secret[4096];
    if (snprintf(secret, sizeof secret, "%s_secret", path) >=
        (int)sizeof secret) {
        snprintf(why, why_len, "path too long");
        return SWB_EINVAL;
    }
    if (access(path, F_OK) == 0 || access(secret, F_OK) == 0) {
        snprintf(why, why_len, "\"%s\" or its _secret file exists already; "
                 "not overwritten", path);
        return SWB_EINVAL;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        snprintf(why, why_len, "cannot make a key pair");
        return SWB_ESYS;
    }
    zcert_set_meta(cert, "role", "%s", role);
    if (need)
        zcert_set_meta(cert, need, "%s", bind_value);
    zcert_set_meta(cert, "created-by", "%s", "switchboard keygen");
    mode_t old = umask(077); /* the secret file is never readable by
                                others, not even for a moment */
    int rc = zcert_save(cert, path);
    umask(old);
    if (public_txt)
        snprintf(public_txt, SWB_Z85_KEY_LEN + 1, "%s",
                 zcert_public_txt(cert));
    zcert_destroy(&cert);
    struct stat st;
    if (rc != 0 || chmod(secret, 0600) != 0 || chmod(path, 0644) != 0 ||
        stat(secret, &st) != 0 || (st.st_mode & 0777) != 0600) {
        snprintf(why, why_len, "cannot write \"%s\" and \"%s\" with modes "
                 "0644 and 0600: %s", path, secret, strerror(errno));
        return SWB_ESYS;
    }
    return SWB_OK;
}
