/*
 * test_tzclock.c - tests of broker/tzclock.c: UTC offsets and local
 * minutes in named zones (fixed-offset zones and the 2026 DST changes of
 * Europe/Warsaw and America/New_York), window parsing and membership,
 * next open / next close across DST changes (checked against a
 * minute-by-minute brute force), unknown zones, the cache agreeing with
 * a direct C-library reference, TZ restored after every call, and the
 * cache serving repeated look-ups without the slow path.
 */
#include <stdlib.h>
#include <time.h>

#include "swbtest.h"
#include "tzclock.h"

#define MIN_MS INT64_C(60000)
#define HOUR_MS (60 * MIN_MS)

/* Unix ms of a UTC calendar time. */
static uint64_t
utc_ms(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (uint64_t)timegm(&tm) * 1000;
}

/* The offset of tz at unix second t straight from the C library, the
 * independent reference the cache is compared with. */
static int32_t
ref_offset(const char *tz, int64_t t)
{
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    char val[256];
    snprintf(val, sizeof val, ":%s", tz);
    setenv("TZ", val, 1);
    tzset();
    time_t tt = (time_t)t;
    struct tm tm;
    int32_t off = localtime_r(&tt, &tm) ? (int32_t)tm.tm_gmtoff : INT32_MIN;
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
    return off;
}

static int32_t
offset_of(swb_tzcache_t *c, const char *tz, uint64_t ms)
{
    int32_t off = INT32_MIN;
    if (swb_tz_offset(c, tz, ms, &off) != SWB_OK)
        return INT32_MIN;
    return off;
}

static void
test_offset_fixed_zones(void)
{
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    uint64_t jan = utc_ms(2026, 1, 15, 12, 0), jul = utc_ms(2026, 7, 15, 12, 0);
    ASSERT_INT_EQ(offset_of(c, "Asia/Manila", jan), 8 * 3600);
    ASSERT_INT_EQ(offset_of(c, "Asia/Manila", jul), 8 * 3600);
    ASSERT_INT_EQ(offset_of(c, "America/Bogota", jan), -5 * 3600);
    ASSERT_INT_EQ(offset_of(c, "America/Bogota", jul), -5 * 3600);
    ASSERT_INT_EQ(offset_of(c, "America/New_York", jan), -5 * 3600);
    ASSERT_INT_EQ(offset_of(c, "America/New_York", jul), -4 * 3600);
    ASSERT_INT_EQ(offset_of(c, "UTC", jul), 0);
    ASSERT_INT_EQ(offset_of(c, "Asia/Kolkata", jul), 5 * 3600 + 1800);
    ASSERT_INT_EQ(offset_of(c, "Asia/Manila", 0), 8 * 3600);
    swb_tzcache_destroy(&c);
    ASSERT_TRUE(c == NULL);
    swb_tzcache_destroy(&c); /* NULL-safe */
    swb_tzcache_destroy(NULL);
}

static void
test_offset_warsaw_dst(void)
{
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    const char *w = "Europe/Warsaw";
    uint64_t spring = utc_ms(2026, 3, 29, 1, 0),
             autumn = utc_ms(2026, 10, 25, 1, 0);
    /* Ask after first, then before: both segments must be right. */
    ASSERT_INT_EQ(offset_of(c, w, spring), 7200);
    ASSERT_INT_EQ(offset_of(c, w, spring - 1), 3600);
    ASSERT_INT_EQ(offset_of(c, w, spring - 1000), 3600);
    ASSERT_INT_EQ(offset_of(c, w, spring + 999), 7200);
    ASSERT_INT_EQ(offset_of(c, w, autumn - 1), 7200);
    ASSERT_INT_EQ(offset_of(c, w, autumn), 3600);
    ASSERT_INT_EQ(offset_of(c, w, autumn - HOUR_MS), 7200);
    ASSERT_INT_EQ(offset_of(c, w, autumn + HOUR_MS), 3600);
    /* New York: 2026-03-08 07:00 UTC and 2026-11-01 06:00 UTC. */
    const char *ny = "America/New_York";
    ASSERT_INT_EQ(offset_of(c, ny, utc_ms(2026, 3, 8, 7, 0) - 1), -18000);
    ASSERT_INT_EQ(offset_of(c, ny, utc_ms(2026, 3, 8, 7, 0)), -14400);
    ASSERT_INT_EQ(offset_of(c, ny, utc_ms(2026, 11, 1, 6, 0) - 1), -14400);
    ASSERT_INT_EQ(offset_of(c, ny, utc_ms(2026, 11, 1, 6, 0)), -18000);
    swb_tzcache_destroy(&c);
}

static void
test_local_minute(void)
{
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    uint64_t t = utc_ms(2026, 1, 15, 0, 0);
    ASSERT_INT_EQ(swb_tz_local_minute(c, "Asia/Manila", t), 8 * 60);
    ASSERT_INT_EQ(swb_tz_local_minute(c, "America/Bogota", t), 19 * 60);
    ASSERT_INT_EQ(swb_tz_local_minute(c, "America/Bogota", t + 59999), 19 * 60);
    ASSERT_INT_EQ(swb_tz_local_minute(c, "America/Bogota", t + 60000),
                  19 * 60 + 1);
    /* Near the epoch with a negative offset: the previous local day. */
    ASSERT_INT_EQ(swb_tz_local_minute(c, "America/Bogota", 0), 19 * 60);
    uint64_t spring = utc_ms(2026, 3, 29, 1, 0);
    ASSERT_INT_EQ(swb_tz_local_minute(c, "Europe/Warsaw", spring - MIN_MS),
                  1 * 60 + 59);
    ASSERT_INT_EQ(swb_tz_local_minute(c, "Europe/Warsaw", spring), 3 * 60);
    uint64_t autumn = utc_ms(2026, 10, 25, 1, 0);
    ASSERT_INT_EQ(swb_tz_local_minute(c, "Europe/Warsaw", autumn - MIN_MS),
                  2 * 60 + 59);
    ASSERT_INT_EQ(swb_tz_local_minute(c, "Europe/Warsaw", autumn), 2 * 60);
    ASSERT_INT_EQ(swb_tz_local_minute(c, "Mars/Olympus_Mons", t), -1);
    ASSERT_INT_EQ(swb_tz_local_minute(NULL, "Asia/Manila", t), -1);
    ASSERT_INT_EQ(swb_tz_local_minute(c, "Asia/Manila", SWB_TZ_MAX_MS + 1), -1);
    swb_tzcache_destroy(&c);
}

static void
test_parse_window(void)
{
    int o = -7, cl = -7;
    ASSERT_INT_EQ(swb_tz_parse_window("08:00-20:00", &o, &cl), SWB_OK);
    ASSERT_INT_EQ(o, 480);
    ASSERT_INT_EQ(cl, 1200);
    ASSERT_INT_EQ(swb_tz_parse_window("22:00-06:30", &o, &cl), SWB_OK);
    ASSERT_INT_EQ(o, 1320);
    ASSERT_INT_EQ(cl, 390);
    ASSERT_INT_EQ(swb_tz_parse_window("00:00-24:00", &o, &cl), SWB_OK);
    ASSERT_INT_EQ(o, 0);
    ASSERT_INT_EQ(cl, 1440);
    ASSERT_INT_EQ(swb_tz_parse_window("23:59-00:01", &o, &cl), SWB_OK);
    ASSERT_INT_EQ(o, 1439);
    ASSERT_INT_EQ(cl, 1);

    static const char *const bad[] = {
        "",
        "8:00-20:00",
        "08:00-20:0",
        "08:00-2000",
        "08:00 20:00",
        "08:00 - 20:00",
        " 08:00-20:00",
        "08:00-20:00 ",
        "08:00-20:00x",
        "24:01-06:00",
        "25:00-06:00",
        "08:60-20:00",
        "08:00-24:30",
        "0a:00-20:00",
        "+8:00-20:00",
        "-8:00-20:00",
        "08.00-20.00",
        "08:00_20:00",
        "99:99-99:99",
        "08:00-20:00-21:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = cl = -7;
        if (swb_tz_parse_window(bad[i], &o, &cl) != SWB_EINVAL)
            SWBT_FAIL_("\"%s\" should be refused", bad[i]);
        ASSERT_INT_EQ(o, -7); /* untouched */
    }
    ASSERT_INT_EQ(swb_tz_parse_window(NULL, &o, &cl), SWB_EINVAL);
    ASSERT_INT_EQ(swb_tz_parse_window("08:00-20:00", NULL, &cl), SWB_EINVAL);
    ASSERT_INT_EQ(swb_tz_parse_window("08:00-20:00", &o, NULL), SWB_EINVAL);
}

static void
test_window_contains(void)
{
    /* 08:00-20:00, half open. */
    ASSERT_TRUE(!swb_tz_window_contains(480, 1200, 479));
    ASSERT_TRUE(swb_tz_window_contains(480, 1200, 480));
    ASSERT_TRUE(swb_tz_window_contains(480, 1200, 1199));
    ASSERT_TRUE(!swb_tz_window_contains(480, 1200, 1200));
    ASSERT_TRUE(!swb_tz_window_contains(480, 1200, 0));
    /* 22:00-06:00 wraps past midnight. */
    ASSERT_TRUE(swb_tz_window_contains(1320, 360, 1320));
    ASSERT_TRUE(swb_tz_window_contains(1320, 360, 1439));
    ASSERT_TRUE(swb_tz_window_contains(1320, 360, 0));
    ASSERT_TRUE(swb_tz_window_contains(1320, 360, 359));
    ASSERT_TRUE(!swb_tz_window_contains(1320, 360, 360));
    ASSERT_TRUE(!swb_tz_window_contains(1320, 360, 1319));
    ASSERT_TRUE(!swb_tz_window_contains(1320, 360, 720));
    /* open == close: always open; 00:00-24:00 likewise. */
    for (int m = 0; m < 1440; m += 7) {
        ASSERT_TRUE(swb_tz_window_contains(600, 600, m));
        ASSERT_TRUE(swb_tz_window_contains(0, 1440, m));
        ASSERT_TRUE(swb_tz_window_contains(1440, 0, m));
    }
    /* 08:00-24:00 runs to midnight. */
    ASSERT_TRUE(swb_tz_window_contains(480, 1440, 1439));
    ASSERT_TRUE(!swb_tz_window_contains(480, 1440, 0));
    ASSERT_TRUE(!swb_tz_window_contains(480, 1440, 479));
    /* Out of range. */
    ASSERT_TRUE(!swb_tz_window_contains(480, 1200, -1));
    ASSERT_TRUE(!swb_tz_window_contains(480, 1200, 1440));
    ASSERT_TRUE(!swb_tz_window_contains(-1, 1200, 600));
    ASSERT_TRUE(!swb_tz_window_contains(480, 1441, 600));
}

static void
test_next_open_simple(void)
{
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    uint64_t at = 0;
    /* Manila 09:00-21:00. 22:00 local (14:00 UTC) -> 09:00 next day. */
    uint64_t now = utc_ms(2026, 6, 1, 14, 0);
    ASSERT_INT_EQ(
        swb_tz_window_next_open(c, "Asia/Manila", 540, 1260, now, &at), SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 6, 2, 1, 0));
    /* Open now (10:00 local) -> now, to the millisecond. */
    now = utc_ms(2026, 6, 1, 2, 0) + 1234;
    ASSERT_INT_EQ(
        swb_tz_window_next_open(c, "Asia/Manila", 540, 1260, now, &at), SWB_OK);
    ASSERT_INT_EQ(at, now);
    /* 08:59:30 local -> 09:00:00 local, not a minute later. */
    now = utc_ms(2026, 6, 1, 0, 59) + 30000;
    ASSERT_INT_EQ(
        swb_tz_window_next_open(c, "Asia/Manila", 540, 1260, now, &at), SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 6, 1, 1, 0));
    /* Bogota wrap window 22:00-06:00 at 12:00 local -> 22:00 local. */
    now = utc_ms(2026, 6, 1, 17, 0);
    ASSERT_INT_EQ(
        swb_tz_window_next_open(c, "America/Bogota", 1320, 360, now, &at),
        SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 6, 2, 3, 0));
    /* Always open. */
    ASSERT_INT_EQ(swb_tz_window_next_open(c, "America/Bogota", 0, 0, now, &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, now);
    swb_tzcache_destroy(&c);
}

static void
test_next_open_dst_day(void)
{
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    const char *w = "Europe/Warsaw";
    uint64_t at = 0;
    /* Saturday 22:00 CET -> Sunday 09:00 CEST = 07:00 UTC (a computation
     * with Saturday's offset would say 08:00 UTC). */
    ASSERT_INT_EQ(swb_tz_window_next_open(c, w, 540, 1260,
                                          utc_ms(2026, 3, 28, 21, 0), &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 3, 29, 7, 0));
    /* Autumn: Saturday 22:00 CEST -> Sunday 09:00 CET = 08:00 UTC. */
    ASSERT_INT_EQ(swb_tz_window_next_open(c, w, 540, 1260,
                                          utc_ms(2026, 10, 24, 20, 0), &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 10, 25, 8, 0));
    /* A window 02:30-03:30 on the spring day: 02:00 jumps to 03:00, which
     * is inside, so it opens at the change (01:00 UTC). */
    ASSERT_INT_EQ(swb_tz_window_next_open(c, w, 150, 210,
                                          utc_ms(2026, 3, 29, 0, 30), &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 3, 29, 1, 0));
    /* 02:30-02:45 does not exist that day: Monday 02:30 CEST. */
    ASSERT_INT_EQ(swb_tz_window_next_open(c, w, 150, 165,
                                          utc_ms(2026, 3, 29, 0, 30), &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 3, 30, 0, 30));
    /* Autumn, 02:50 CEST (00:50 UTC), window 02:30-02:45: the hour
     * repeats, so it opens again at 02:30 CET = 01:30 UTC. */
    ASSERT_INT_EQ(swb_tz_window_next_open(c, w, 150, 165,
                                          utc_ms(2026, 10, 25, 0, 50), &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 10, 25, 1, 30));
    /* New York, Saturday 22:00 EST -> Sunday 09:00 EDT = 13:00 UTC. */
    ASSERT_INT_EQ(swb_tz_window_next_open(c, "America/New_York", 540, 1260,
                                          utc_ms(2026, 3, 8, 3, 0), &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 3, 8, 13, 0));
    swb_tzcache_destroy(&c);
}

static void
test_next_close(void)
{
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    const char *w = "Europe/Warsaw";
    uint64_t at = 0;
    /* Night window 22:00-06:00 from Saturday 23:00 CEST across the
     * autumn change: closes 06:00 CET = 05:00 UTC. */
    ASSERT_INT_EQ(swb_tz_window_next_close(c, w, 1320, 360,
                                           utc_ms(2026, 10, 24, 21, 0), &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 10, 25, 5, 0));
    /* Spring: closes 06:00 CEST = 04:00 UTC. */
    ASSERT_INT_EQ(swb_tz_window_next_close(c, w, 1320, 360,
                                           utc_ms(2026, 3, 28, 22, 0), &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 3, 29, 4, 0));
    /* 01:00-02:30 on the spring day is cut short by the change. */
    ASSERT_INT_EQ(swb_tz_window_next_close(c, w, 60, 150,
                                           utc_ms(2026, 3, 29, 0, 10), &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 3, 29, 1, 0));
    /* Closed now -> now. */
    uint64_t now = utc_ms(2026, 6, 1, 12, 0);
    ASSERT_INT_EQ(swb_tz_window_next_close(c, w, 1320, 360, now, &at), SWB_OK);
    ASSERT_INT_EQ(at, now);
    /* Never closes. */
    ASSERT_INT_EQ(swb_tz_window_next_close(c, w, 0, 1440, now, &at), SWB_OK);
    ASSERT_TRUE(at == UINT64_MAX);
    /* Manila 09:00-21:00 at 10:00 local -> 21:00 local. */
    ASSERT_INT_EQ(swb_tz_window_next_close(c, "Asia/Manila", 540, 1260,
                                           utc_ms(2026, 6, 1, 2, 0), &at),
                  SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 6, 1, 13, 0));
    swb_tzcache_destroy(&c);
}

/* Is the window open at ms, by the reference offsets? */
static bool
ref_open(const char *tz, int o, int cl, uint64_t ms)
{
    int64_t local =
        (int64_t)ms + (int64_t)ref_offset(tz, (int64_t)(ms / 1000)) * 1000;
    int m = (int)((local % 86400000 + 86400000) % 86400000 / 60000);
    return swb_tz_window_contains(o, cl, m);
}

/*
 * Around each 2026 change of Warsaw and New York, for many starting
 * instants and windows, next_open/next_close must give an instant at
 * which the window is open (closed), with every whole UTC minute before
 * it closed (open). Reference offsets come straight from the C library
 * at a few sampled points and from the cache in between (the cache is
 * compared with the library in test_cache_matches_reference).
 */
static void
test_next_edges_brute_force(void)
{
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    static const struct {
        const char *tz;
        int y, mo, d, h;
    } days[] = {
        {"Europe/Warsaw", 2026, 3, 29, 1},
        {"Europe/Warsaw", 2026, 10, 25, 1},
        {"America/New_York", 2026, 3, 8, 7},
        {"America/New_York", 2026, 11, 1, 6},
    };
    static const int win[][2] = {
        {540, 1260}, {1320, 360}, {150, 210}, {150, 165},
        {120, 180},  {0, 60},     {1439, 1},  {480, 1440},
    };
    int checked = 0;
    for (size_t di = 0; di < sizeof days / sizeof days[0]; di++) {
        uint64_t change =
            utc_ms(days[di].y, days[di].mo, days[di].d, days[di].h, 0);
        for (uint64_t now = change - 30 * HOUR_MS; now < change + 30 * HOUR_MS;
             now += 37 * MIN_MS + 1111) {
            for (size_t wi = 0; wi < sizeof win / sizeof win[0]; wi++) {
                int o = win[wi][0], cl = win[wi][1];
                for (int want_open = 0; want_open <= 1; want_open++) {
                    uint64_t at = 0;
                    swb_err_t rc =
                        want_open ? swb_tz_window_next_open(c, days[di].tz, o,
                                                            cl, now, &at)
                                  : swb_tz_window_next_close(c, days[di].tz, o,
                                                             cl, now, &at);
                    ASSERT_INT_EQ(rc, SWB_OK);
                    ASSERT_INT_GE(at, now);
                    ASSERT_TRUE(at - now <= SWB_TZ_HORIZON_MS);
                    int m = swb_tz_local_minute(c, days[di].tz, at);
                    if (swb_tz_window_contains(o, cl, m) != (bool)want_open)
                        SWBT_FAIL_("%s %d-%d from %" PRIu64 ": %" PRIu64
                                   " is not %s",
                                   days[di].tz, o, cl, now, at,
                                   want_open ? "open" : "closed");
                    if (ref_open(days[di].tz, o, cl, at) != (bool)want_open)
                        SWBT_FAIL_("reference disagrees at %" PRIu64, at);
                    /* Nothing earlier: now, then every UTC minute. */
                    uint64_t t = now;
                    while (t < at) {
                        m = swb_tz_local_minute(c, days[di].tz, t);
                        if (swb_tz_window_contains(o, cl, m) == (bool)want_open)
                            SWBT_FAIL_("%s %d-%d from %" PRIu64
                                       ": already %s at %" PRIu64
                                       ", answer %" PRIu64,
                                       days[di].tz, o, cl, now,
                                       want_open ? "open" : "closed", t, at);
                        t = (t / MIN_MS + 1) * MIN_MS;
                    }
                    checked++;
                }
            }
        }
    }
    ASSERT_INT_GE(checked, 1000);
    swb_tzcache_destroy(&c);
}

static void
test_unknown_zones(void)
{
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    uint64_t now = utc_ms(2026, 6, 1, 12, 0), at = 42;
    int32_t off = 42;
    static const char *const bad[] = {
        "Mars/Olympus_Mons",
        "../../etc/passwd",
        "Europe/../Europe/Warsaw",
        "/etc/localtime",
        "/usr/share/zoneinfo/UTC",
        "",
        "Europe",
        "Europe/",
        "zone.tab",
        "iso3166.tab",
        "Europe/Warsaw ",
        "Europe/Warsaw\n",
        ":Europe/Warsaw",
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "UTC+8",
        "Europe\\Warsaw",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (swb_tz_offset(c, bad[i], now, &off) != SWB_EINVAL)
            SWBT_FAIL_("zone \"%s\" should be refused", bad[i]);
        ASSERT_INT_EQ(off, 42);
        ASSERT_INT_EQ(swb_tz_local_minute(c, bad[i], now), -1);
        ASSERT_INT_EQ(swb_tz_window_next_open(c, bad[i], 540, 1260, now, &at),
                      SWB_EINVAL);
        ASSERT_INT_EQ(swb_tz_window_next_close(c, bad[i], 0, 0, now, &at),
                      SWB_EINVAL);
        ASSERT_INT_EQ(at, 42);
    }
    /* Refused before the slow path: nothing was looked up or stored. */
    ASSERT_INT_EQ(swb_tz_slow_lookups(c), 0);
    char longname[400];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ASSERT_INT_EQ(swb_tz_offset(c, longname, now, &off), SWB_EINVAL);
    ASSERT_INT_EQ(swb_tz_offset(c, NULL, now, &off), SWB_EINVAL);
    ASSERT_INT_EQ(swb_tz_offset(NULL, "UTC", now, &off), SWB_EINVAL);
    ASSERT_INT_EQ(swb_tz_offset(c, "UTC", now, NULL), SWB_EINVAL);
    ASSERT_INT_EQ(swb_tz_offset(c, "UTC", SWB_TZ_MAX_MS + 1, &off), SWB_EINVAL);
    ASSERT_INT_EQ(swb_tz_offset(c, "UTC", SWB_TZ_MAX_MS, &off), SWB_OK);
    ASSERT_INT_EQ(swb_tz_window_next_open(c, "UTC", 540, 1441, now, &at),
                  SWB_EINVAL);
    ASSERT_INT_EQ(swb_tz_window_next_open(c, "UTC", -1, 60, now, &at),
                  SWB_EINVAL);
    ASSERT_INT_EQ(swb_tz_window_next_open(c, "UTC", 540, 1260, now, NULL),
                  SWB_EINVAL);
    ASSERT_INT_EQ(swb_tz_slow_lookups(NULL), 0);
    swb_tzcache_destroy(&c);
}

/*
 * The cache against the C library, read directly, for several zones over
 * all of 2026 and a little beyond, asked in a scrambled order (forwards,
 * backwards, jumps) so that hits, misses and both segments are used.
 */
static void
test_cache_matches_reference(void)
{
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    static const char *const zones[] = {
        "Europe/Warsaw",     "America/New_York",    "Asia/Manila",
        "America/Bogota",    "Australia/Lord_Howe", "Asia/Kathmandu",
        "Pacific/Chatham",   "America/Santiago",    "Europe/London",
        "Africa/Casablanca",
    };
    uint64_t start = utc_ms(2025, 12, 1, 0, 0), end = utc_ms(2027, 2, 1, 0, 0);
    uint64_t span = end - start;
    uint64_t x = 88172645463325252ULL; /* xorshift for the scramble */
    for (int i = 0; i < 6000; i++) {
        uint64_t ms;
        if (i < 2000) {
            ms = start + (uint64_t)i * (span / 2000) + (uint64_t)i * 7919;
        } else if (i < 4000) {
            ms = end - (uint64_t)(i - 2000) * (span / 2000) - 1;
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ms = start + x % span;
        }
        const char *tz = zones[(size_t)i % (sizeof zones / sizeof zones[0])];
        int32_t got = offset_of(c, tz, ms);
        int32_t want = ref_offset(tz, (int64_t)(ms / 1000));
        if (got != want)
            SWBT_FAIL_("%s at %" PRIu64 ": cache %d, library %d", tz, ms,
                       (int)got, (int)want);
        /* A fresh cache ("uncached") gives the same answer. */
        if (i % 50 == 0) {
            swb_tzcache_t *fresh = swb_tzcache_new();
            ASSERT_TRUE(fresh);
            int32_t once = offset_of(fresh, tz, ms);
            swb_tzcache_destroy(&fresh);
            ASSERT_INT_EQ(once, want);
        }
    }
    /* Every second around a change, both sides. */
    uint64_t spring = utc_ms(2026, 3, 29, 1, 0);
    for (uint64_t ms = spring - 5000; ms < spring + 5000; ms += 250)
        ASSERT_INT_EQ(offset_of(c, "Europe/Warsaw", ms),
                      ref_offset("Europe/Warsaw", (int64_t)(ms / 1000)));
    swb_tzcache_destroy(&c);
}

/* TZ of the process, copied (NULL when unset). */
static char *
tz_now(void)
{
    const char *v = getenv("TZ");
    return v ? strdup(v) : NULL;
}

static bool
same_tz(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Runs every kind of call and checks TZ after each. */
static void
tz_restored_under(const char *initial)
{
    if (initial)
        setenv("TZ", initial, 1);
    else
        unsetenv("TZ");
    tzset();
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    char *before = tz_now();
    uint64_t now = utc_ms(2026, 3, 28, 21, 0), at;
    int32_t off;
    for (int round = 0; round < 3; round++) { /* miss, then hits */
        swb_tz_offset(c, "Asia/Manila", now, &off);
        char *after = tz_now();
        bool same = same_tz(before, after);
        free(after);
        if (!same)
            SWBT_FAIL_("TZ changed by swb_tz_offset (initial %s)",
                       initial ? initial : "unset");
        swb_tz_local_minute(c, "Europe/Warsaw", now);
        after = tz_now();
        same = same_tz(before, after);
        free(after);
        if (!same)
            SWBT_FAIL_("TZ changed by swb_tz_local_minute");
        swb_tz_window_next_open(c, "Europe/Warsaw", 540, 1260, now, &at);
        swb_tz_window_next_close(c, "America/New_York", 540, 1260, now, &at);
        swb_tz_offset(c, "No/Such_Zone", now, &off);
        after = tz_now();
        same = same_tz(before, after);
        free(after);
        if (!same)
            SWBT_FAIL_("TZ changed by the window calls");
        now += 50 * 24 * HOUR_MS;
    }
    /* The process's own local time is back too (tzset was redone). */
    time_t t = (time_t)(utc_ms(2026, 7, 1, 12, 0) / 1000);
    struct tm tm;
    ASSERT_TRUE(localtime_r(&t, &tm));
    if (initial && strcmp(initial, ":America/Bogota") == 0)
        ASSERT_INT_EQ(tm.tm_gmtoff, -18000);
    else if (initial && strcmp(initial, "UTC0") == 0)
        ASSERT_INT_EQ(tm.tm_gmtoff, 0);
    free(before);
    swb_tzcache_destroy(&c);
}

static void
test_tz_restored(void)
{
    char *orig = tz_now();
    tz_restored_under(NULL);
    tz_restored_under(":America/Bogota");
    tz_restored_under("UTC0");
    tz_restored_under("");
    if (orig)
        setenv("TZ", orig, 1);
    else
        unsetenv("TZ");
    tzset();
    free(orig);
}

static void
test_cache_serves_repeats(void)
{
    swb_tzcache_t *c = swb_tzcache_new();
    ASSERT_TRUE(c);
    ASSERT_INT_EQ(swb_tz_slow_lookups(c), 0);
    uint64_t hour = utc_ms(2026, 3, 29, 0, 0); /* the hour before a change */
    int32_t off = 0;
    ASSERT_INT_EQ(swb_tz_offset(c, "Europe/Warsaw", hour, &off), SWB_OK);
    ASSERT_INT_EQ(swb_tz_slow_lookups(c), 1);
    long long sum = 0;
    for (uint64_t i = 0; i < 100000; i++) {
        uint64_t ms = hour + (i * 36007) % (uint64_t)HOUR_MS;
        if (swb_tz_offset(c, "Europe/Warsaw", ms, &off) != SWB_OK)
            SWBT_FAIL_("lookup %" PRIu64 " failed", i);
        sum += off;
    }
    ASSERT_INT_EQ(sum, 100000LL * 3600);
    ASSERT_INT_EQ(swb_tz_slow_lookups(c), 1);
    /* Across the change and a day beyond it: still the same lookup
     * (the segment after the change is kept too). */
    for (uint64_t i = 0; i < 1000; i++)
        swb_tz_offset(c, "Europe/Warsaw", hour + i * 97 * 1000, &off);
    ASSERT_INT_EQ(swb_tz_slow_lookups(c), 1);
    /* A new zone costs one more; many zones stay cached. */
    ASSERT_INT_EQ(swb_tz_offset(c, "Asia/Manila", hour, &off), SWB_OK);
    ASSERT_INT_EQ(swb_tz_slow_lookups(c), 2);
    static const char *const more[] = {
        "America/Bogota",      "America/New_York", "Europe/London",
        "Asia/Tokyo",          "Africa/Lagos",     "America/Sao_Paulo",
        "Europe/Berlin",       "Asia/Dubai",       "Australia/Sydney",
        "America/Chicago",     "Asia/Singapore",   "Europe/Madrid",
        "America/Mexico_City", "Asia/Kolkata",     "Africa/Cairo",
        "Europe/Paris",        "America/Lima",
    };
    size_t n = sizeof more / sizeof more[0];
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < n; i++)
            ASSERT_INT_EQ(swb_tz_offset(c, more[i], hour, &off), SWB_OK);
    ASSERT_INT_EQ(swb_tz_slow_lookups(c), 2 + n);
    /* Window searches from now reuse the cache as well. */
    unsigned long before = swb_tz_slow_lookups(c);
    uint64_t at;
    for (int i = 0; i < 1000; i++)
        ASSERT_INT_EQ(swb_tz_window_next_open(c, "Europe/Warsaw", 540, 1260,
                                              hour + (uint64_t)i * 1000, &at),
                      SWB_OK);
    ASSERT_INT_EQ(at, utc_ms(2026, 3, 29, 7, 0));
    ASSERT_INT_EQ(swb_tz_slow_lookups(c), before);
    swb_tzcache_destroy(&c);
}

int
main(void)
{
    SWB_RUN(test_offset_fixed_zones);
    SWB_RUN(test_offset_warsaw_dst);
    SWB_RUN(test_local_minute);
    SWB_RUN(test_parse_window);
    SWB_RUN(test_window_contains);
    SWB_RUN(test_next_open_simple);
    SWB_RUN(test_next_open_dst_day);
    SWB_RUN(test_next_close);
    SWB_RUN(test_next_edges_brute_force);
    SWB_RUN(test_unknown_zones);
    SWB_RUN(test_cache_matches_reference);
    SWB_RUN(test_tz_restored);
    SWB_RUN(test_cache_serves_repeats);
    return SWB_TEST_EXIT();
}
