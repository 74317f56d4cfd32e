/*
 * tzclock.c - local time in named time zones, and daily time windows
 * (see tzclock.h).
 *
 * What it does: answers "what is the UTC offset / the local minute of
 * zone Z at instant T" and "when does window W next open / close in Z"
 * using the C library's own reading of the system tz database. The slow
 * path sets TZ to ":/usr/share/zoneinfo/<zone>" (an absolute path, so the
 * file the library loads is exactly the file we checked, whatever TZDIR
 * says), calls tzset() and localtime_r() and reads tm_gmtoff, then puts
 * TZ back as it was and calls tzset() again.
 *
 * The cache: one hash-table entry per zone name, holding two segments
 * [from, until) of constant offset: the one around the instant that
 * missed and the one after it. A segment is found under a single TZ
 * switch by probing the offset hour by hour (up to a day back and eight
 * days forward) and, where it changes, bisecting to the exact second of
 * the transition. The assumption is that a zone never changes its offset
 * twice within one hour; no zone in the tz database does. Keeping the
 * following segment means a next-open search across a DST change does
 * not evict the segment "now" lives in.
 *
 * What it does not do: parse zoneinfo files (it only checks the "TZif"
 * magic so that a stray file such as zone.tab is not taken for a zone,
 * because glibc silently falls back to UTC for files it cannot read);
 * calendar arithmetic beyond minutes of the day; thread safety.
 */
#include "tzclock.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TZ_ZONEINFO "/usr/share/zoneinfo"
#define TZ_NAME_MAX 200          /* longer names are refused */
#define TZ_STEP_S 3600           /* probe spacing (file comment) */
#define TZ_BACK_S (24 * 3600)    /* how far back a segment looks */
#define TZ_FWD_S (8 * 24 * 3600) /* how far forward */
#define TZ_DAY_MS (INT64_C(86400000))
#define TZ_MAX_STEPS 32          /* bound for the window searches */

typedef struct tz_seg {
    int64_t from_s;  /* first second of the segment (unix) */
    int64_t until_s; /* first second after it */
    int32_t off_s;   /* UTC offset within it */
} tz_seg_t;

typedef struct tz_zone {
    char *name; /* owned; NULL marks a free slot */
    uint32_t hash;
    int nseg;   /* 0..2 */
    tz_seg_t seg[2];
} tz_zone_t;

struct swb_tzcache {
    tz_zone_t *slots;   /* open addressing, linear probing */
    size_t cap;         /* power of two */
    size_t used;        /* zones stored */
    unsigned long slow; /* slow-path count, for tests */
};

/* ---- small helpers ---- */

static int64_t
floor_mod(int64_t a, int64_t m)
{
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

static uint32_t
tz_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* Letters, digits and "/_-+." only; no "..", no leading "/". */
static bool
tz_name_ok(const char *tz)
{
    size_t n = strlen(tz);
    if (n == 0 || n > TZ_NAME_MAX || tz[0] == '/' || strstr(tz, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)tz[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '/' || ch == '_' ||
                  ch == '-' || ch == '+' || ch == '.';
        if (!ok)
            return false;
    }
    return true;
}

/* A regular file that starts with the TZif magic. */
static bool
tz_file_ok(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    char magic[4];
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
              memcmp(magic, "TZif", 4) == 0;
    close(fd);
    return ok;
}

/* Fills path with the zone's file when tz names a real zone. */
static bool
tz_zone_path(const char *tz, char *path, size_t len)
{
    if (!tz || !tz_name_ok(tz))
        return false;
    snprintf(path, len, "%s/%s", TZ_ZONEINFO, tz);
    return tz_file_ok(path);
}

bool
swb_tz_known(const char *tz)
{
    char path[sizeof TZ_ZONEINFO + TZ_NAME_MAX + 2];
    return tz_zone_path(tz, path, sizeof path);
}

/* ---- the slow path: TZ switched to the zone ---- */

/* Offset at second s under the current TZ. */
static bool
off_at(int64_t s, int32_t *off)
{
    time_t tt = (time_t)s;
    struct tm tm;
    if (!localtime_r(&tt, &tm))
        return false;
    *off = (int32_t)tm.tm_gmtoff;
    return true;
}

/*
 * Bisects (lo, hi] for the first second whose offset differs from lo's
 * side: off0 is the offset on the low side when off0_low, else on the
 * high side. *at gets that second. False if a probe failed.
 */
static bool
change_at(int64_t lo, int64_t hi, int32_t off0, bool off0_low, int64_t *at)
{
    int32_t o;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (!off_at(mid, &o))
            return false;
        if ((o == off0) == off0_low)
            lo = mid;
        else
            hi = mid;
    }
    *at = hi;
    return true;
}

/*
 * The segment of constant offset around second t under the current TZ,
 * looking back_s back and fwd_s forward. False if the C library could
 * not convert a probed instant.
 */
static bool
seg_scan(int64_t t, int64_t back_s, int64_t fwd_s, tz_seg_t *seg)
{
    int32_t off0, o;
    if (!off_at(t, &off0))
        return false;
    seg->off_s = off0;

    seg->until_s = t + fwd_s;
    for (int64_t a = t; a < t + fwd_s;) {
        int64_t b = a + TZ_STEP_S < t + fwd_s ? a + TZ_STEP_S : t + fwd_s;
        if (!off_at(b, &o))
            return false;
        if (o != off0) { /* off(a) == off0 != off(b) */
            if (!change_at(a, b, off0, true, &seg->until_s))
                return false;
            break;
        }
        a = b;
    }

    seg->from_s = t - back_s;
    for (int64_t b = t; b > t - back_s;) {
        int64_t a = b - TZ_STEP_S > t - back_s ? b - TZ_STEP_S : t - back_s;
        if (!off_at(a, &o))
            return false;
        if (o != off0) { /* off(a) != off0 == off(b) */
            if (!change_at(a, b, off0, false, &seg->from_s))
                return false;
            break;
        }
        b = a;
    }
    return true;
}

/*
 * Switches TZ to the zone file at path, finds the segment around t and
 * the one after it, and restores TZ. Counts one slow lookup.
 */
static swb_err_t
tz_probe(swb_tzcache_t *c, const char *path, int64_t t, tz_seg_t seg[2])
{
    char val[sizeof TZ_ZONEINFO + TZ_NAME_MAX + 4];
    snprintf(val, sizeof val, ":%s", path);

    const char *old = getenv("TZ");
    char *saved = NULL;
    if (old && !(saved = strdup(old)))
        return SWB_ENOMEM;

    swb_err_t rc = SWB_OK;
    c->slow++;
    if (setenv("TZ", val, 1) != 0) {
        rc = SWB_ENOMEM;
        goto restore;
    }
    tzset();
    if (!seg_scan(t, TZ_BACK_S, TZ_FWD_S, &seg[0]) ||
        !seg_scan(seg[0].until_s, 0, TZ_FWD_S, &seg[1]))
        rc = SWB_EINVAL;

restore:
    if (saved ? setenv("TZ", saved, 1) != 0 : unsetenv("TZ") != 0)
        rc = SWB_ESYS;
    tzset();
    free(saved);
    return rc;
}

/* ---- the cache ---- */

static tz_zone_t *
zone_find(swb_tzcache_t *c, const char *tz, uint32_t h)
{
    for (size_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        tz_zone_t *z = &c->slots[i];
        if (!z->name)
            return NULL;
        if (z->hash == h && strcmp(z->name, tz) == 0)
            return z;
    }
}

static tz_zone_t *
zone_slot(tz_zone_t *slots, size_t cap, uint32_t h)
{
    size_t i = h & (cap - 1);
    while (slots[i].name)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Adds a zone (not yet present); NULL when out of memory. */
static tz_zone_t *
zone_add(swb_tzcache_t *c, const char *tz, uint32_t h)
{
    if ((c->used + 1) * 2 > c->cap) {
        size_t ncap = c->cap * 2;
        tz_zone_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return NULL;
        for (size_t i = 0; i < c->cap; i++)
            if (c->slots[i].name)
                *zone_slot(ns, ncap, c->slots[i].hash) = c->slots[i];
        free(c->slots);
        c->slots = ns;
        c->cap = ncap;
    }
    char *name = strdup(tz);
    if (!name)
        return NULL;
    tz_zone_t *z = zone_slot(c->slots, c->cap, h);
    z->name = name;
    z->hash = h;
    z->nseg = 0;
    c->used++;
    return z;
}

swb_tzcache_t *
swb_tzcache_new(void)
{
    swb_tzcache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cap = 16;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    return c;
}

void
swb_tzcache_destroy(swb_tzcache_t **c)
{
    if (!c || !*c)
        return;
    for (size_t i = 0; i < (*c)->cap; i++)
        free((*c)->slots[i].name);
    free((*c)->slots);
    free(*c);
    *c = NULL;
}

unsigned long
swb_tz_slow_lookups(const swb_tzcache_t *c)
{
    return c ? c->slow : 0;
}

/* The offset at unix_ms and the first second after its segment. */
static swb_err_t
tz_lookup(swb_tzcache_t *c, const char *tz, uint64_t unix_ms, int32_t *off,
          int64_t *until_s)
{
    if (!c || !tz || unix_ms > SWB_TZ_MAX_MS)
        return SWB_EINVAL;
    int64_t t = (int64_t)(unix_ms / 1000);
    uint32_t h = tz_hash(tz);
    tz_zone_t *z = zone_find(c, tz, h);
    if (z)
        for (int i = 0; i < z->nseg; i++)
            if (z->seg[i].from_s <= t && t < z->seg[i].until_s) {
                *off = z->seg[i].off_s;
                *until_s = z->seg[i].until_s;
                return SWB_OK;
            }

    /* Slow path. The file is checked on every refill, not only the
     * first time, so a zone removed by a tzdata upgrade is noticed. */
    char path[sizeof TZ_ZONEINFO + TZ_NAME_MAX + 2];
    if (!tz_zone_path(tz, path, sizeof path))
        return SWB_EINVAL;
    tz_seg_t seg[2];
    swb_err_t rc = tz_probe(c, path, t, seg);
    if (rc)
        return rc;
    if (!z && !(z = zone_add(c, tz, h)))
        return SWB_ENOMEM;
    z->seg[0] = seg[0];
    z->seg[1] = seg[1];
    z->nseg = 2;
    *off = seg[0].off_s;
    *until_s = seg[0].until_s;
    return SWB_OK;
}

swb_err_t
swb_tz_offset(swb_tzcache_t *c, const char *tz, uint64_t unix_ms,
              int32_t *offset_s)
{
    int32_t off;
    int64_t until;
    if (!offset_s)
        return SWB_EINVAL;
    swb_err_t rc = tz_lookup(c, tz, unix_ms, &off, &until);
    if (rc == SWB_OK)
        *offset_s = off;
    return rc;
}

static int
local_minute_of(uint64_t unix_ms, int32_t off)
{
    int64_t local_ms = (int64_t)unix_ms + (int64_t)off * 1000;
    return (int)(floor_mod(local_ms, TZ_DAY_MS) / 60000);
}

int
swb_tz_local_minute(swb_tzcache_t *c, const char *tz, uint64_t unix_ms)
{
    int32_t off;
    if (swb_tz_offset(c, tz, unix_ms, &off) != SWB_OK)
        return -1;
    return local_minute_of(unix_ms, off);
}

/* ---- windows ---- */

/* Two digits at s; -1 if not digits. */
static int
two_digits(const char *s)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "HH:MM" at s (exactly five characters) as minutes 0..1440, or -1. */
static int
parse_hhmm(const char *s)
{
    int hh = two_digits(s), mm;
    if (hh < 0 || s[2] != ':' || (mm = two_digits(s + 3)) < 0)
        return -1;
    if (hh > 24 || mm > 59 || (hh == 24 && mm != 0))
        return -1;
    return hh * 60 + mm;
}

swb_err_t
swb_tz_parse_window(const char *text, int *open_min, int *close_min)
{
    if (!text || !open_min || !close_min || strlen(text) != 11 ||
        text[5] != '-')
        return SWB_EINVAL;
    int o = parse_hhmm(text), cl = parse_hhmm(text + 6);
    if (o < 0 || cl < 0)
        return SWB_EINVAL;
    *open_min = o;
    *close_min = cl;
    return SWB_OK;
}

static bool
window_ok(int open_min, int close_min)
{
    return open_min >= 0 && open_min <= 1440 && close_min >= 0 &&
           close_min <= 1440;
}

bool
swb_tz_window_contains(int open_min, int close_min, int minute)
{
    if (!window_ok(open_min, close_min) || minute < 0 || minute >= 1440)
        return false;
    int o = open_min % 1440, cl = close_min % 1440;
    if (o == cl)
        return true;
    if (o < cl)
        return o <= minute && minute < cl;
    return minute >= o || minute < cl;
}

/*
 * The first instant >= now_ms at which the window is open (want_open)
 * or closed (!want_open). Each step either answers or moves to the end
 * of the current constant-offset segment; within a segment the wall
 * clock runs evenly, so the edge is the start of a known local minute.
 */
static swb_err_t
next_edge(swb_tzcache_t *c, const char *tz, int open_min, int close_min,
          uint64_t now_ms, bool want_open, uint64_t *at_ms)
{
    if (!c || !tz || !at_ms || !window_ok(open_min, close_min) ||
        now_ms > SWB_TZ_MAX_MS)
        return SWB_EINVAL;
    int target = (want_open ? open_min : close_min) % 1440;
    uint64_t limit = now_ms + SWB_TZ_HORIZON_MS;
    uint64_t t = now_ms;

    for (int step = 0; step < TZ_MAX_STEPS; step++) {
        int32_t off;
        int64_t until_s;
        swb_err_t rc = tz_lookup(c, tz, t, &off, &until_s);
        if (rc)
            return rc;
        if (!want_open && open_min % 1440 == close_min % 1440) {
            *at_ms = UINT64_MAX; /* never closes (zone checked above) */
            return SWB_OK;
        }
        int minute = local_minute_of(t, off);
        if (swb_tz_window_contains(open_min, close_min, minute) == want_open) {
            *at_ms = t;
            return SWB_OK;
        }
        /* minute != target here, so 1 <= d <= 1439. */
        int64_t d = (target - minute + 1440) % 1440;
        int64_t local_ms = (int64_t)t + (int64_t)off * 1000;
        uint64_t cand =
            (uint64_t)((int64_t)t - floor_mod(local_ms, 60000) + d * 60000);
        uint64_t seg_end = (uint64_t)until_s * 1000;
        if (cand < seg_end) {
            if (cand > limit)
                return SWB_ENOTFOUND;
            *at_ms = cand;
            return SWB_OK;
        }
        /* The offset changes before the wall clock gets there: look
         * again at the change itself (it may jump into the window). */
        if (seg_end > limit || seg_end > SWB_TZ_MAX_MS)
            return SWB_ENOTFOUND;
        t = seg_end;
    }
    return SWB_ENOTFOUND;
}

swb_err_t
swb_tz_window_next_open(swb_tzcache_t *c, const char *tz, int open_min,
                        int close_min, uint64_t now_ms, uint64_t *at_ms)
{
    return next_edge(c, tz, open_min, close_min, now_ms, true, at_ms);
}

swb_err_t
swb_tz_window_next_close(swb_tzcache_t *c, const char *tz, int open_min,
                         int close_min, uint64_t now_ms, uint64_t *at_ms)
{
    return next_edge(c, tz, open_min, close_min, now_ms, false, at_ms);
}
