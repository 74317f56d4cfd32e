/*
 * swb_curve.h - CurveZMQ keys for libswitchboard: make a certificate for
 * a role and its binding (`switchboard keygen`), load one's own secret
 * certificate and the broker's public key, and set them on a socket that
 * connects as a CURVE client.
 *
 * Certificates are czmq zcert files (ZPL text): PATH holds the public key
 * and the metadata, PATH_secret the secret key too. Metadata written by
 * swb_curve_keygen: "role" (worker, client, operator, peer) and one of
 * "site", "sponsor", "region" (the binding). The broker reads the public
 * files of its --keys folder (broker/auth.c).
 *
 * Does: files and key text. Does not: own sockets or talk to a broker.
 * Threading: no shared state; any thread.
 */
#ifndef SWB_CURVE_H
#define SWB_CURVE_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#include "swb_error.h"

#define SWB_Z85_KEY_LEN 40 /* a 32-byte key in Z85 text */

/* The keys a connecting side needs: its own pair and the server's
 * public key, as Z85 text (NUL-terminated). Plain data: copy freely. */
typedef struct swb_curve {
    char public_txt[SWB_Z85_KEY_LEN + 1];
    char secret_txt[SWB_Z85_KEY_LEN + 1];
    char server_txt[SWB_Z85_KEY_LEN + 1];
} swb_curve_t;

/*
 * Fills *out from cert_file (our secret certificate: PATH or PATH_secret)
 * and server_key (the broker's public certificate file, or its public key
 * as 40 characters of Z85). Errors (a sentence naming the file or key in
 * why): SWB_EINVAL (cannot read, not a certificate, no secret key, bad
 * key text).
 */
swb_err_t swb_curve_load(const char *cert_file, const char *server_key,
                         swb_curve_t *out, char *why, size_t why_len);

/* Makes sock a CURVE client with c's keys; call before connecting. */
void swb_curve_apply(const swb_curve_t *c, zsock_t *sock);

/*
 * Creates a key pair and writes the certificate: public file `path` (mode
 * 0644) and secret file `path`_secret (mode 0600, checked after the
 * write). role is "worker", "client", "operator", "peer" or "broker";
 * bind_key is "site", "sponsor", "region" or NULL (broker), bind_value its
 * value. Refuses to overwrite an existing file. On SWB_OK public_txt
 * (41 bytes, may be NULL) receives the public key.
 * Errors: SWB_EINVAL (bad role/binding, file exists), SWB_ESYS (cannot
 * write or chmod; why names the file).
 */
swb_err_t swb_curve_keygen(const char *role, const char *bind_key,
                           const char *bind_value, const char *path,
                           char *public_txt, char *why, size_t why_len);

/* The binding key a role needs ("site" for worker, "sponsor" for client,
 * "region" for peer, NULL for operator and broker); false for an unknown
 * role. */
bool swb_curve_role_binding(const char *role, const char **bind_key);

#endif
