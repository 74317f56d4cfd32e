/*
 * auth.h - who may do what: the table of authorized CurveZMQ keys (public
 * key in Z85 -> role and binding) read from the broker's --keys folder,
 * and the checks made on every message (PRODUCT.md 7).
 *
 * The folder holds public certificates made by `switchboard keygen`
 * (czmq zcert files with metadata "role" and "site" / "sponsor" /
 * "region"). Files whose names end in "_secret" or start with "." are
 * skipped, as are certificates without a known role or binding (logged).
 * swb_auth_refresh re-reads the folder when its modification time
 * changed (checked at most once a second) and every 30 s in any case, or
 * at once after swb_auth_reload_now: a certificate removed from the
 * folder is refused on its key's next message, not only at reconnect.
 *
 * Authorization looks only at the authenticated key (the message's
 * User-Id property, which the ZAP handler in zap.c sets to the Z85
 * public key): never at what a message says about itself.
 *
 * Threading: the broker's loop thread only.
 */
#ifndef SWB_AUTH_H
#define SWB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swb_curve.h"
#include "swb_error.h"
#include "swb_msg.h"

typedef enum swb_role {
    SWB_ROLE_WORKER = 0, /* bound to a site     */
    SWB_ROLE_CLIENT,     /* bound to a sponsor  */
    SWB_ROLE_OPERATOR,   /* sees everything, administers agents */
    SWB_ROLE_PEER,       /* bound to a region (federation) */
    SWB_ROLE_COUNT
} swb_role_t;

/* One authorized key. Plain data. */
typedef struct swb_ident {
    char key[SWB_Z85_KEY_LEN + 1];  /* public key, Z85            */
    swb_role_t role;
    char binding[SWB_MAX_NAME + 1]; /* site, sponsor or region; "" */
} swb_ident_t;

typedef struct swb_auth swb_auth_t;

/*
 * Reads the folder `dir` once. Errors: SWB_EINVAL (cannot open the
 * folder; why says so), SWB_ENOMEM. An empty folder is allowed (no one
 * gets in). *out owned by the caller.
 */
swb_err_t swb_auth_new(const char *dir, swb_auth_t **out, char *why,
                       size_t why_len);
/* Frees; NULL-safe, clears *a. */
void swb_auth_destroy(swb_auth_t **a);

/* Re-reads the folder if it may have changed (see above); now_ms is a
 * monotonic clock. A folder that cannot be read keeps the old table
 * (logged). */
void swb_auth_refresh(swb_auth_t *a, uint64_t now_ms);
/* Makes the next swb_auth_refresh re-read the folder (SIGHUP). */
void swb_auth_reload_now(swb_auth_t *a);

/* The identity of an authorized key, or NULL. Borrowed until the next
 * swb_auth_refresh. */
const swb_ident_t *swb_auth_lookup(const swb_auth_t *a, const char *z85);
/* The first key of role bound to binding (a peer region's broker key),
 * or NULL. Borrowed until the next swb_auth_refresh. Walks the table. */
const swb_ident_t *swb_auth_find(const swb_auth_t *a, swb_role_t role,
                                 const char *binding);
/* Number of keys in the table. */
size_t swb_auth_count(const swb_auth_t *a);

/* "worker", "client", "operator", "peer". */
const char *swb_role_name(swb_role_t role);

/*
 * May `who` send a message of this type at the client endpoint
 * (worker_side false) or the worker endpoint (true)? Roles by endpoint:
 * workers only at the worker endpoint; clients SUBMIT, STATUS, WAIT,
 * CANCEL, LIST at the client endpoint; operators everything of the
 * client endpoint except SUBMIT and CANCEL (they read and administer
 * agents); peer keys nothing there (they talk at the peers endpoint,
 * secure.c swb_secure_check_peer).
 */
bool swb_auth_may(const swb_ident_t *who, bool worker_side,
                  swb_msg_type_t type);

/* The request number of a client message (0 for others). */
uint64_t swb_auth_msg_req(const swb_msg_t *m);

#endif
