/*
 * broker.h - the regional broker: owns the sockets, the store and the
 * in-memory state, and runs the event loop until asked to stop.
 */
#ifndef SWB_BROKER_H
#define SWB_BROKER_H

#include <signal.h>

#include "config.h"
#include "swb_error.h"

typedef struct swb_broker swb_broker_t;

/*
 * Opens the store in cfg->data_dir (recovering every unfinished task),
 * binds the client and worker endpoints and the HTTP port (unless
 * cfg->http is "off"). cfg is borrowed and must outlive the broker.
 * Errors: SWB_ESTORE / SWB_EVERSION / SWB_ESYS (reason in why),
 * SWB_EINVAL (an endpoint or the HTTP port cannot be bound).
 */
swb_err_t swb_broker_new(const swb_config_t *cfg, swb_broker_t **out,
                         char *why, size_t why_len);

/* Runs until *stop becomes non-zero (set it from a signal handler).
 * Returns SWB_OK on a clean stop. */
swb_err_t swb_broker_run(swb_broker_t *b, volatile sig_atomic_t *stop);

/* Re-reads the --keys folder whenever *flag becomes non-zero (set it
 * from a SIGHUP handler; the broker clears it). */
void swb_broker_set_reload(swb_broker_t *b, volatile sig_atomic_t *flag);

/* Commits what is pending, closes sockets and store, frees. NULL-safe. */
void swb_broker_destroy(swb_broker_t **b);

#endif
