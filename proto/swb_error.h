/*
 * swb_error.h - the one error enum of Switchboard.
 *
 * Every public function that can fail returns an swb_err_t. SWB_OK is zero,
 * so `if (rc)` reads as "if it failed". Errors from errno, LMDB and ZeroMQ
 * are translated into these codes at the boundary where they happen; the
 * original detail goes into the log line or the error message text.
 *
 * Each code also has a stable wire name (swb_err_name) used in ERROR
 * messages (proto/PROTOCOL.md section "Error codes"). Wire names may be
 * added but never renamed or reused.
 */
#ifndef SWB_ERROR_H
#define SWB_ERROR_H

typedef enum swb_err {
    SWB_OK = 0,
    SWB_EINVAL,       /* a bad argument or field value               */
    SWB_EDECODE,      /* a frame that is not valid msgpack / shape    */
    SWB_ETOOBIG,      /* a size, length or count over its limit       */
    SWB_EVERSION,     /* unsupported protocol or data format version  */
    SWB_ENOTFOUND,    /* no such task / key / record                  */
    SWB_ESTATE,       /* the operation does not fit the current state */
    SWB_ESTALE,       /* a lease that is no longer current            */
    SWB_ESTORE,       /* the durable store failed (I/O, LMDB)         */
    SWB_EFULL,        /* the store is full; new work refused          */
    SWB_ETIMEOUT,     /* no answer / no event within the time given   */
    SWB_EUNREACHABLE, /* the broker did not answer at all             */
    SWB_ENOMEM,       /* out of memory                                */
    SWB_EPROTO,       /* a protocol rule was broken (e.g. no HELLO)   */
    SWB_EREFUSED,     /* refused by policy (e.g. shutting down)       */
    SWB_ESYS,         /* an operating system call failed              */
    SWB_ERR_COUNT_
} swb_err_t;

/* A sentence for people, e.g. "store is full". Never NULL, static. */
const char *swb_strerror(swb_err_t err);

/* The stable wire name, e.g. "store_full". Never NULL, static. */
const char *swb_err_name(swb_err_t err);

/* Maps a wire name back to its code; unknown names give SWB_EPROTO. */
swb_err_t swb_err_from_name(const char *name);

#endif
