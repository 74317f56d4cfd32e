/*
 * swb_error.c - text and wire names for swb_err_t (see swb_error.h).
 */
#include "swb_error.h"

#include <string.h>

static const struct {
    const char *name;
    const char *text;
} swb_error_table[SWB_ERR_COUNT_] = {
    [SWB_OK] = {"ok", "success"},
    [SWB_EINVAL] = {"invalid", "invalid argument or field"},
    [SWB_EDECODE] = {"malformed", "malformed message"},
    [SWB_ETOOBIG] = {"too_big", "over a size or count limit"},
    [SWB_EVERSION] = {"version", "unsupported version"},
    [SWB_ENOTFOUND] = {"not_found", "not found"},
    [SWB_ESTATE] = {"bad_state", "not possible in the current state"},
    [SWB_ESTALE] = {"stale_lease", "lease is no longer current"},
    [SWB_ESTORE] = {"store_failed", "durable store failed"},
    [SWB_EFULL] = {"store_full", "store is full"},
    [SWB_ETIMEOUT] = {"timeout", "timed out"},
    [SWB_EUNREACHABLE] = {"unreachable", "broker unreachable"},
    [SWB_ENOMEM] = {"no_memory", "out of memory"},
    [SWB_EPROTO] = {"protocol", "protocol violation"},
    [SWB_EREFUSED] = {"refused", "refused"},
    [SWB_ESYS] = {"system", "system call failed"},
};

const char *
swb_strerror(swb_err_t err)
{
    if ((unsigned)err >= SWB_ERR_COUNT_)
        return "unknown error";
    return swb_error_table[err].text;
}

const char *
swb_err_name(swb_err_t err)
{
    if ((unsigned)err >= SWB_ERR_COUNT_)
        return "unknown";
    return swb_error_table[err].name;
}

swb_err_t
swb_err_from_name(const char *name)
{
    for (int i = 0; i < SWB_ERR_COUNT_; i++)
        if (name && strcmp(name, swb_error_table[i].name) == 0)
            return (swb_err_t)i;
    return SWB_EPROTO;
}
