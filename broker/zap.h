/*
 * zap.h - the broker's ZAP handler (ZeroMQ RFC 27) and the start-up
 * proof that it fails closed.
 *
 * A REP socket bound to inproc://zeromq.zap.01 in the process's ZeroMQ
 * context (czmq's) answers the CURVE handshakes of the broker's
 * endpoints from the key table (auth.h): a known key gets "200" with its
 * Z85 public key as User-Id; anything else "400". It lives in the broker's
 * loop: the loop polls swb_zap_socket and calls swb_zap_handle.
 *
 * libzmq 4.3 lets every CURVE client in when no ZAP handler answers, so
 * swb_zap_selftest proves, before the broker serves anyone, that a
 * client with a throwaway key is refused through this very handler.
 *
 * Threading: the broker's loop thread only.
 */
#ifndef SWB_ZAP_H
#define SWB_ZAP_H

#include <czmq.h>

#include "auth.h"
#include "swb_error.h"

/* The ZAP domain the broker's CURVE sockets use. */
#define SWB_ZAP_DOMAIN "switchboard"

typedef struct swb_zap swb_zap_t;

/*
 * The decision on one CURVE handshake: NULL lets the key (Z85, 40
 * characters) in, else a short reason it is refused ("unknown key").
 * auth is the handler's key table. Every handler starts with
 * swb_zap_decide_keys; only tests put another one in (swb_zap_set_decide)
 * to prove that the self-test catches a handler that lets strangers in.
 */
typedef const char *(*swb_zap_decide_fn)(const swb_auth_t *auth,
                                         const char *key);

/* The real decision: in when the key is in the table (swb_auth_lookup),
 * else "unknown key". */
const char *swb_zap_decide_keys(const swb_auth_t *auth, const char *key);

/* Binds the handler; auth is borrowed and must outlive it. Errors:
 * SWB_ESYS (another handler is bound already, or no socket; why says). */
swb_err_t swb_zap_new(swb_auth_t *auth, swb_zap_t **out, char *why,
                      size_t why_len);
/* Unbinds and frees; NULL-safe, clears *z. */
void swb_zap_destroy(swb_zap_t **z);

/* Replaces the decision (NULL restores swb_zap_decide_keys). For tests
 * only: nothing in the broker calls it, no flag or setting reaches it. */
void swb_zap_set_decide(swb_zap_t *z, swb_zap_decide_fn decide);

/* The socket to poll (readable: requests wait). */
void *swb_zap_socket(swb_zap_t *z);
/* Answers every waiting request without blocking. */
void swb_zap_handle(swb_zap_t *z);

/* Makes sock a CURVE server with the broker's key pair (Z85), in the
 * ZAP domain. Call before bind. */
void swb_zap_curve_server(zsock_t *sock, const char *public_txt,
                          const char *secret_txt);

/*
 * Connects a client with a fresh, unknown key to a CURVE server set up
 * like the broker's endpoints (on a loopback port of its own) and checks
 * that the handler refused it and nothing got through. Returns SWB_OK
 * when it did; SWB_EREFUSED (why says what happened: "accepted an unknown
 * key" when this handler's decision let it in) otherwise: then the
 * broker must not start. Takes up to about 3 s.
 */
swb_err_t swb_zap_selftest(swb_zap_t *z, const char *public_txt,
                           const char *secret_txt, char *why,
                           size_t why_len);

#endif
