/*
 * http.h - the broker's HTTP port (--http HOST:PORT, PRODUCT.md 6a):
 * Prometheus text on /metrics, JSON on /api/v1/..., and the live
 * wallboard page on /.
 *
 * The server is Debian's libmicrohttpd in its external event-loop mode:
 * it owns no thread. The broker adds the one file descriptor from
 * swb_http_fd() to its zmq_poll items and calls swb_http_run() once per
 * pass, after the commit; every request is answered inside that call, on
 * the broker's thread, from the broker's in-memory state. So a request
 * never sees a half-done pass and needs no locks, and a slow client
 * costs the loop nothing (MHD writes without blocking).
 *
 * Only GET and HEAD are served. Responses are whole documents built in
 * memory; nothing is streamed.
 */
#ifndef SWB_HTTP_H
#define SWB_HTTP_H

#include <stddef.h>

#include "swb_error.h"

struct swb_broker;
typedef struct swb_http swb_http_t;

/*
 * Parses spec ("HOST:PORT", "[V6ADDR]:PORT"; HOST may be a name that
 * resolves) and binds a listening TCP socket there, then starts the
 * server on it. b is borrowed and must outlive the server; requests read
 * it only inside swb_http_run().
 * Errors: SWB_EINVAL (spec malformed, or the address cannot be bound:
 * in use, not local, no permission - why names address and reason),
 * SWB_ESYS (the server could not start), SWB_ENOMEM.
 * *out is NULL on error.
 */
swb_err_t swb_http_new(struct swb_broker *b, const char *spec,
                       swb_http_t **out, char *why, size_t why_len);

/* Stops the server, closes every connection and the socket; frees.
 * NULL-safe; clears *h. */
void swb_http_destroy(swb_http_t **h);

/* The one descriptor to poll for input (an epoll set holding the
 * listening socket and every connection). Valid until destroy. */
int swb_http_fd(const swb_http_t *h);

/* Accepts, reads and answers whatever is ready; never blocks. Call it
 * once per loop pass, between passes (not inside a handler). */
void swb_http_run(swb_http_t *h);

/* The port actually bound (useful with port 0). */
int swb_http_port(const swb_http_t *h);

#endif
