/*
 * tzclock.h - local time in named time zones, and daily time windows.
 *
 * The broker asks two questions of the clock: is a site open now in its
 * own time zone (opening hours such as 08:00-20:00), and may an outbound
 * call be placed now in the customer's time zone (a calling window such
 * as 09:00-21:00); and if not, when does the window next open.
 *
 * Zones are IANA names ("Area/City", e.g. "Europe/Warsaw") looked up in
 * the system time zone database (/usr/share/zoneinfo) through the C
 * library: the module never parses zoneinfo files itself. A lookup
 * switches the process's TZ to the zone, asks localtime_r, and restores
 * TZ (or unsets it if it was unset) before it returns. Because that is
 * slow (tzset() re-reads the zone file each time), a swb_tzcache_t keeps
 * per zone the UTC offset together with the span of time it is known to
 * hold for (up to the exact second of the next or previous transition);
 * later calls inside that span cost a hash look-up.
 *
 * Windows are minutes of the local day, open_min..close_min, half open:
 * a window 08:00-20:00 is open from 08:00:00 and closed from 20:00:00.
 * open_min == close_min means always open; open_min > close_min wraps
 * past midnight (22:00-06:00). 24:00 (1440) is accepted and means
 * midnight. Local days that are 23 or 25 hours long (DST changes) are
 * handled: the answers follow the wall clock of the zone.
 *
 * Threading: single-threaded use only. A cache is not shared between
 * threads, and while any swb_tz_ call runs no other thread may read or
 * change the environment or call localtime/mktime/tzset (setenv("TZ")
 * is process-wide).
 *
 * Instants are unix time in milliseconds (UTC), from 1970 up to
 * SWB_TZ_MAX_MS (the end of year 9999).
 */
#ifndef SWB_TZCLOCK_H
#define SWB_TZCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "swb_error.h"

/* The largest instant accepted: 9999-12-31 23:59:59.999 UTC. */
#define SWB_TZ_MAX_MS UINT64_C(253402300799999)

/* How far ahead swb_tz_window_next_open/_close look (48 hours). */
#define SWB_TZ_HORIZON_MS (UINT64_C(48) * 3600 * 1000)

typedef struct swb_tzcache swb_tzcache_t;

/*
 * Creates an empty cache. Returns NULL when out of memory. The cache
 * grows by one entry per distinct valid zone name it is asked about
 * (unknown names are never stored, so hostile input cannot grow it).
 */
swb_tzcache_t *swb_tzcache_new(void);

/* Frees the cache and sets *c to NULL. NULL-safe (c or *c). */
void swb_tzcache_destroy(swb_tzcache_t **c);

/*
 * The UTC offset of zone tz at instant unix_ms, in seconds east of UTC
 * (Asia/Manila gives 28800, America/Bogota -18000).
 *
 *   c        the cache (required).
 *   tz       a zone name such as "Europe/Warsaw"; borrowed, copied into
 *            the cache when first seen.
 *   unix_ms  the instant; at most SWB_TZ_MAX_MS.
 *   offset_s receives the offset; untouched on error.
 *
 * Returns SWB_OK; SWB_EINVAL when c, tz or offset_s is NULL, unix_ms is
 * out of range, or tz is not a zone (empty, contains "..", starts with
 * "/", has characters other than letters, digits and "/_-+.", or is not
 * a TZif file under /usr/share/zoneinfo); SWB_ENOMEM when out of memory;
 * SWB_ESYS when TZ could not be set or restored.
 */
swb_err_t swb_tz_offset(swb_tzcache_t *c, const char *tz, uint64_t unix_ms,
                        int32_t *offset_s);

/*
 * Minutes since local midnight (0..1439) in zone tz at unix_ms, or -1
 * when swb_tz_offset fails (unknown zone, bad arguments, no memory).
 */
int swb_tz_local_minute(swb_tzcache_t *c, const char *tz, uint64_t unix_ms);

/*
 * Parses a window "HH:MM-HH:MM" exactly: two digits each, hours 00..24,
 * minutes 00..59, 24 only as 24:00, nothing before or after (no spaces).
 * On success *open_min and *close_min are 0..1440. Returns SWB_OK, or
 * SWB_EINVAL (outputs untouched) for anything else, including NULLs.
 */
/* True when tz names a zone of the tz database (a TZif file under
 * /usr/share/zoneinfo; "..", a leading "/" and odd characters are
 * refused). Reads the file's first bytes; no cache needed. */
bool swb_tz_known(const char *tz);

swb_err_t swb_tz_parse_window(const char *text, int *open_min, int *close_min);

/*
 * True when local minute `minute` (0..1439) lies in the window
 * [open_min, close_min) (each 0..1440, 1440 meaning midnight). Equal
 * ends mean always open; open_min > close_min wraps past midnight.
 * False when any argument is out of range.
 */
bool swb_tz_window_contains(int open_min, int close_min, int minute);

/*
 * When the window next opens in zone tz, seen from now_ms.
 *
 * *at_ms receives now_ms when the window is open at now_ms, otherwise
 * the first instant after now_ms at which it is open: the start of its
 * first local minute, or the instant of a clock change that jumps into
 * the window (a window 02:30-03:30 on a day whose clock goes from 02:00
 * to 03:00 opens at the change). A window that falls wholly into a
 * skipped hour opens on the next day. Looks at most SWB_TZ_HORIZON_MS
 * ahead in a bounded number of steps.
 *
 * Returns SWB_OK; SWB_EINVAL for an unknown zone, NULL arguments,
 * out-of-range minutes or instants; SWB_ENOTFOUND when the window does
 * not open within the horizon (not possible for real zones); SWB_ENOMEM;
 * SWB_ESYS. *at_ms is untouched on error.
 */
swb_err_t swb_tz_window_next_open(swb_tzcache_t *c, const char *tz,
                                  int open_min, int close_min, uint64_t now_ms,
                                  uint64_t *at_ms);

/*
 * When the window next closes in zone tz, seen from now_ms; the mirror
 * of swb_tz_window_next_open. *at_ms receives now_ms when the window is
 * closed at now_ms, UINT64_MAX when it never closes (open_min equals
 * close_min), otherwise the first instant after now_ms at which it is
 * closed. Same errors as swb_tz_window_next_open.
 */
swb_err_t swb_tz_window_next_close(swb_tzcache_t *c, const char *tz,
                                   int open_min, int close_min, uint64_t now_ms,
                                   uint64_t *at_ms);

/*
 * For tests: how many times this cache took the slow path (switched TZ
 * and asked the C library). 0 for NULL.
 */
unsigned long swb_tz_slow_lookups(const swb_tzcache_t *c);

#endif
