/*
 * test_store.c - unit tests of broker/store.c against a real LMDB folder.
 *
 * Each test makes its own temp folder (swbt_tempdir) and removes it at the
 * end. Covers: round trips across reopen, key order, all-or-nothing
 * commits, map growth, the max_map limit, format checks, file modes and
 * key size limits.
 */
#include "store.h"
#include "swbtest.h"

#include <stdlib.h>
#include <sys/stat.h>

#define MIB ((size_t)1024 * 1024)

/* Fills buf with a pattern that depends on seed, so reads can be checked. */
static void
fill(unsigned char *buf, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
}

/* Opens dir/data with the given map sizes. */
static swb_err_t
open_at(const char *dir, size_t initial, size_t max, swb_store_t **s, char *why,
        size_t why_len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/data", dir);
    swb_store_opts_t o = {initial, max};
    return swb_store_open(path, &o, s, why, why_len);
}

static swb_err_t
put_id(swb_store_batch_t *b, swb_store_db_t db, uint64_t id, const void *v,
       size_t vlen)
{
    unsigned char k[8];
    swb_store_u64_key(id, k);
    return swb_store_batch_put(b, db, k, sizeof k, v, vlen);
}

/* 1 when id holds exactly the pattern fill(n, seed). */
static int
check_id(swb_store_t *s, swb_store_db_t db, uint64_t id, size_t n,
         uint64_t seed)
{
    unsigned char k[8];
    swb_store_u64_key(id, k);
    void *v = NULL;
    size_t vlen = 0;
    if (swb_store_get(s, db, k, sizeof k, &v, &vlen) != SWB_OK)
        return 0;
    unsigned char *want = malloc(n ? n : 1);
    int ok = want && vlen == n;
    if (ok) {
        fill(want, n, seed);
        ok = memcmp(v, want, n) == 0;
    }
    free(want);
    free(v);
    return ok;
}

static swb_err_t
get_id(swb_store_t *s, swb_store_db_t db, uint64_t id)
{
    unsigned char k[8];
    void *v = NULL;
    size_t vlen = 0;
    swb_store_u64_key(id, k);
    swb_err_t rc = swb_store_get(s, db, k, sizeof k, &v, &vlen);
    free(v);
    return rc;
}

static void
test_u64_keys(void)
{
    unsigned char k[8];
    swb_store_u64_key(0x0102030405060708ull, k);
    ASSERT_INT_EQ(k[0], 1);
    ASSERT_INT_EQ(k[7], 8);
    ASSERT_TRUE(swb_store_key_u64(k) == 0x0102030405060708ull);
    swb_store_u64_key(UINT64_MAX, k);
    ASSERT_TRUE(swb_store_key_u64(k) == UINT64_MAX);
}

static void
test_round_trip_across_reopen(void)
{
    char *dir = swbt_tempdir("store");
    char why[256];
    swb_store_t *s = NULL;
    swb_store_batch_t *b = swb_store_batch_new();
    ASSERT_TRUE(dir && b);

    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_OK);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, "a", 1, "one", 3),
                  SWB_OK);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, "b", 1, "two", 3),
                  SWB_OK);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_SITES, "a", 1, "site", 4),
                  SWB_OK);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_KEYS, "e", 1, NULL, 0), SWB_OK);
    ASSERT_INT_EQ(swb_store_batch_count(b), 4);
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);
    swb_store_close(&s);
    ASSERT_TRUE(s == NULL);
    swb_store_close(&s); /* NULL-safe */

    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_OK);
    void *v = NULL;
    size_t vlen = 0;
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_TASKS, "a", 1, &v, &vlen), SWB_OK);
    ASSERT_INT_EQ(vlen, 3);
    ASSERT_TRUE(memcmp(v, "one", 3) == 0);
    free(v);
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_SITES, "a", 1, &v, &vlen), SWB_OK);
    ASSERT_INT_EQ(vlen, 4);
    ASSERT_TRUE(memcmp(v, "site", 4) == 0);
    free(v);
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_KEYS, "e", 1, &v, &vlen), SWB_OK);
    ASSERT_INT_EQ(vlen, 0);
    free(v);
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_RESULTS, "a", 1, &v, &vlen),
                  SWB_ENOTFOUND);
    ASSERT_TRUE(v == NULL);

    /* Overwrite, delete, and delete of a missing key in one batch. */
    swb_store_batch_reset(b);
    ASSERT_INT_EQ(swb_store_batch_count(b), 0);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, "a", 1, "uno", 3),
                  SWB_OK);
    ASSERT_INT_EQ(swb_store_batch_del(b, SWB_DB_TASKS, "b", 1), SWB_OK);
    ASSERT_INT_EQ(swb_store_batch_del(b, SWB_DB_TASKS, "zz", 2), SWB_OK);
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);
    swb_store_close(&s);

    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_OK);
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_TASKS, "a", 1, &v, &vlen), SWB_OK);
    ASSERT_INT_EQ(vlen, 3);
    ASSERT_TRUE(memcmp(v, "uno", 3) == 0);
    free(v);
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_TASKS, "b", 1, &v, &vlen),
                  SWB_ENOTFOUND);
    /* An empty batch commits as a no-op. */
    swb_store_batch_reset(b);
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);

    swb_store_close(&s);
    swb_store_batch_destroy(&b);
    ASSERT_TRUE(b == NULL);
    swb_store_batch_destroy(&b); /* NULL-safe */
    swbt_rmdir(dir);
    free(dir);
}

typedef struct each_ctx {
    uint64_t ids[16];
    int n;
    int stop_after;
} each_ctx_t;

static int
each_collect(const void *key, size_t klen, const void *val, size_t vlen,
             void *arg)
{
    each_ctx_t *c = arg;
    (void)val;
    (void)vlen;
    if (klen == 8 && c->n < 16)
        c->ids[c->n++] = swb_store_key_u64(key);
    return c->stop_after && c->n >= c->stop_after;
}

static void
test_each_in_key_order(void)
{
    char *dir = swbt_tempdir("store");
    char why[256];
    swb_store_t *s = NULL;
    swb_store_batch_t *b = swb_store_batch_new();
    ASSERT_TRUE(dir && b);
    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_OK);

    /* Inserted out of order; 256 and 1 differ in byte order vs. LE. */
    const uint64_t ids[] = {300, 1, 256, 70000, 2, 0x0100000000000000ull};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        ASSERT_INT_EQ(put_id(b, SWB_DB_TASKS, ids[i], "x", 1), SWB_OK);
    ASSERT_INT_EQ(put_id(b, SWB_DB_RESULTS, 5, "r", 1), SWB_OK);
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);

    each_ctx_t c = {{0}, 0, 0};
    ASSERT_INT_EQ(swb_store_each(s, SWB_DB_TASKS, each_collect, &c), SWB_OK);
    ASSERT_INT_EQ(c.n, 6);
    const uint64_t want[] = {1, 2, 256, 300, 70000, 0x0100000000000000ull};
    for (int i = 0; i < 6; i++)
        ASSERT_TRUE(c.ids[i] == want[i]);

    each_ctx_t stop = {{0}, 0, 2};
    ASSERT_INT_EQ(swb_store_each(s, SWB_DB_TASKS, each_collect, &stop), SWB_OK);
    ASSERT_INT_EQ(stop.n, 2);

    each_ctx_t empty = {{0}, 0, 0};
    ASSERT_INT_EQ(swb_store_each(s, SWB_DB_SITES, each_collect, &empty),
                  SWB_OK);
    ASSERT_INT_EQ(empty.n, 0);

    swb_store_close(&s);
    swb_store_batch_destroy(&b);
    swbt_rmdir(dir);
    free(dir);
}

static void
test_invalid_keys(void)
{
    swb_store_batch_t *b = swb_store_batch_new();
    ASSERT_TRUE(b != NULL);
    unsigned char big[512];
    memset(big, 'k', sizeof big);

    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, big, 0, "v", 1),
                  SWB_EINVAL);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, big, 512, "v", 1),
                  SWB_EINVAL);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, NULL, 4, "v", 1),
                  SWB_EINVAL);
    ASSERT_INT_EQ(swb_store_batch_del(b, SWB_DB_TASKS, big, 0), SWB_EINVAL);
    ASSERT_INT_EQ(swb_store_batch_del(b, SWB_DB_TASKS, big, 512), SWB_EINVAL);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_COUNT_, big, 1, "v", 1),
                  SWB_EINVAL);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, big, 1, NULL, 1),
                  SWB_EINVAL);
    ASSERT_INT_EQ(swb_store_batch_count(b), 0);

    /* The limits themselves are fine and round-trip. */
    char *dir = swbt_tempdir("store");
    char why[256];
    swb_store_t *s = NULL;
    ASSERT_TRUE(dir != NULL);
    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_OK);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, big, 511, "v", 1),
                  SWB_OK);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, big, 1, "w", 1), SWB_OK);
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);
    void *v = NULL;
    size_t vlen = 0;
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_TASKS, big, 511, &v, &vlen), SWB_OK);
    ASSERT_INT_EQ(vlen, 1);
    free(v);
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_TASKS, big, 512, &v, &vlen),
                  SWB_EINVAL);
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_TASKS, big, 0, &v, &vlen),
                  SWB_EINVAL);

    swb_store_close(&s);
    swb_store_batch_destroy(&b);
    swbt_rmdir(dir);
    free(dir);
}

static void
test_modes_0700_0600(void)
{
    char *dir = swbt_tempdir("store");
    char why[256], path[600];
    swb_store_t *s = NULL;
    struct stat st;
    ASSERT_TRUE(dir != NULL);
    mode_t old = umask(022);
    swb_err_t rc = open_at(dir, 0, 0, &s, why, sizeof why);
    umask(old);
    ASSERT_INT_EQ(rc, SWB_OK);

    snprintf(path, sizeof path, "%s/data", dir);
    ASSERT_INT_EQ(stat(path, &st), 0);
    ASSERT_TRUE(S_ISDIR(st.st_mode));
    ASSERT_INT_EQ(st.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/data/data.mdb", dir);
    ASSERT_INT_EQ(stat(path, &st), 0);
    ASSERT_INT_EQ(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/data/lock.mdb", dir);
    ASSERT_INT_EQ(stat(path, &st), 0);
    ASSERT_INT_EQ(st.st_mode & 0777, 0600);

    swb_store_close(&s);
    swbt_rmdir(dir);
    free(dir);
}

static void
test_open_errors(void)
{
    char *dir = swbt_tempdir("store");
    char why[256], path[600];
    swb_store_t *s = NULL;
    ASSERT_TRUE(dir != NULL);

    /* Parent folder missing: only the last component is created. */
    snprintf(path, sizeof path, "%s/no/such", dir);
    ASSERT_INT_EQ(swb_store_open(path, NULL, &s, why, sizeof why), SWB_ESYS);
    ASSERT_TRUE(s == NULL);
    ASSERT_STR_CONTAINS(why, path);

    /* A regular file where the folder should be. */
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fclose(f);
    ASSERT_INT_EQ(swb_store_open(path, NULL, &s, why, sizeof why), SWB_ESTORE);
    ASSERT_TRUE(s == NULL);
    ASSERT_STR_CONTAINS(why, path);

    /* why may be NULL. */
    ASSERT_INT_EQ(swb_store_open(path, NULL, &s, NULL, 0), SWB_ESTORE);

    swbt_rmdir(dir);
    free(dir);
}

static void
test_format_mismatch(void)
{
    char *dir = swbt_tempdir("store");
    char why[256];
    swb_store_t *s = NULL;
    swb_store_batch_t *b = swb_store_batch_new();
    ASSERT_TRUE(dir && b);
    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_OK);

    void *v = NULL;
    size_t vlen = 0;
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_META, "format", 6, &v, &vlen),
                  SWB_OK);
    ASSERT_INT_EQ(vlen, 8);
    ASSERT_INT_EQ(swb_store_key_u64(v), SWB_STORE_FORMAT);
    free(v);

    unsigned char other[8];
    swb_store_u64_key(SWB_STORE_FORMAT + 41, other);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_META, "format", 6, other, 8),
                  SWB_OK);
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);
    swb_store_close(&s);

    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_EVERSION);
    ASSERT_TRUE(s == NULL);
    char num[32];
    snprintf(num, sizeof num, "format %d", SWB_STORE_FORMAT + 41);
    ASSERT_STR_CONTAINS(why, num);
    snprintf(num, sizeof num, "format %d", SWB_STORE_FORMAT);
    ASSERT_STR_CONTAINS(why, num);

    /* The refused open wrote nothing: still refused the second time. */
    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_EVERSION);

    swb_store_batch_destroy(&b);
    swbt_rmdir(dir);
    free(dir);
}

static void
test_large_value(void)
{
    char *dir = swbt_tempdir("store");
    char why[256];
    swb_store_t *s = NULL;
    swb_store_batch_t *b = swb_store_batch_new();
    size_t n = 16 * MIB;
    unsigned char *big = malloc(n);
    ASSERT_TRUE(dir && b && big);
    fill(big, n, 7);

    /* Default map (64 MiB); a 16 MiB result plus a small record. */
    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_OK);
    ASSERT_INT_EQ(put_id(b, SWB_DB_RESULTS, 1, big, n), SWB_OK);
    fill(big, 5000, 8);
    ASSERT_INT_EQ(put_id(b, SWB_DB_RESULTS, 2, big, 5000), SWB_OK);
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);
    swb_store_close(&s);

    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_OK);
    ASSERT_TRUE(check_id(s, SWB_DB_RESULTS, 1, n, 7));
    ASSERT_TRUE(check_id(s, SWB_DB_RESULTS, 2, 5000, 8));

    swb_store_close(&s);
    swb_store_batch_destroy(&b);
    free(big);
    swbt_rmdir(dir);
    free(dir);
}

static void
test_map_grows(void)
{
    char *dir = swbt_tempdir("store");
    char why[256];
    swb_store_t *s = NULL;
    swb_store_batch_t *b = swb_store_batch_new();
    size_t vsz = 64 * 1024;
    unsigned char *val = malloc(vsz);
    ASSERT_TRUE(dir && b && val);

    ASSERT_INT_EQ(open_at(dir, MIB, 0, &s, why, sizeof why), SWB_OK);
    size_t map0 = 0, used0 = 0;
    swb_store_usage(s, &map0, &used0);
    ASSERT_INT_EQ(map0, MIB);
    ASSERT_TRUE(used0 > 0 && used0 < map0);

    /* 20 MiB: 40 batches of 8 x 64 KiB. */
    uint64_t id = 0;
    for (int batch = 0; batch < 40; batch++) {
        swb_store_batch_reset(b);
        for (int i = 0; i < 8; i++, id++) {
            fill(val, vsz, id);
            ASSERT_INT_EQ(put_id(b, SWB_DB_RESULTS, id, val, vsz), SWB_OK);
        }
        swb_err_t rc = swb_store_commit(s, b, why, sizeof why);
        if (rc)
            fprintf(stderr, "  commit %d: %s\n", batch, why);
        ASSERT_INT_EQ(rc, SWB_OK);
    }
    size_t map1 = 0, used1 = 0;
    swb_store_usage(s, &map1, &used1);
    ASSERT_INT_GE(used1, 20 * MIB);
    ASSERT_INT_GE(map1, used1);
    for (uint64_t i = 0; i < id; i++)
        ASSERT_TRUE(check_id(s, SWB_DB_RESULTS, i, vsz, i));
    swb_store_close(&s);

    /* Reopening with a small initial_map keeps the bigger map. */
    ASSERT_INT_EQ(open_at(dir, MIB, 0, &s, why, sizeof why), SWB_OK);
    size_t map2 = 0, used2 = 0;
    swb_store_usage(s, &map2, &used2);
    ASSERT_INT_EQ(map2, map1);
    ASSERT_INT_EQ(used2, used1);
    ASSERT_TRUE(check_id(s, SWB_DB_RESULTS, id - 1, vsz, id - 1));
    swb_store_close(&s);

    /* A bigger initial_map on reopen grows it. */
    ASSERT_INT_EQ(open_at(dir, map1 * 2, 0, &s, why, sizeof why), SWB_OK);
    swb_store_usage(s, &map2, NULL);
    ASSERT_INT_EQ(map2, map1 * 2);
    swb_store_close(&s);

    swb_store_batch_destroy(&b);
    free(val);
    swbt_rmdir(dir);
    free(dir);
}

static void
test_max_map_full_is_all_or_nothing(void)
{
    char *dir = swbt_tempdir("store");
    char why[256];
    swb_store_t *s = NULL;
    swb_store_batch_t *b = swb_store_batch_new();
    size_t vsz = 64 * 1024;
    unsigned char *val = malloc(vsz);
    ASSERT_TRUE(dir && b && val);
    ASSERT_INT_EQ(open_at(dir, MIB, 4 * MIB, &s, why, sizeof why), SWB_OK);

    /* 1 MiB committed in 4 batches: fits, map grows to at most 4 MiB. */
    uint64_t id = 0;
    for (int batch = 0; batch < 4; batch++) {
        swb_store_batch_reset(b);
        for (int i = 0; i < 4; i++, id++) {
            fill(val, vsz, id);
            ASSERT_INT_EQ(put_id(b, SWB_DB_RESULTS, id, val, vsz), SWB_OK);
        }
        ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);
    }
    size_t map = 0, used = 0;
    swb_store_usage(s, &map, &used);
    ASSERT_TRUE(map <= 4 * MIB);

    /* 4 MiB more in one batch, with a small record first: cannot fit. */
    swb_store_batch_reset(b);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, "first", 5, "x", 1),
                  SWB_OK);
    ASSERT_INT_EQ(swb_store_batch_del(b, SWB_DB_RESULTS, "\0\0\0\0\0\0\0\0", 8),
                  SWB_OK);
    for (int i = 0; i < 64; i++) {
        fill(val, vsz, 1000 + (uint64_t)i);
        ASSERT_INT_EQ(put_id(b, SWB_DB_RESULTS, 1000 + (uint64_t)i, val, vsz),
                      SWB_OK);
    }
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_EFULL);
    ASSERT_STR_CONTAINS(why, "full");
    swb_store_usage(s, &map, NULL);
    ASSERT_INT_EQ(map, 4 * MIB);

    /* Nothing of the failed batch is there; everything before it is. */
    ASSERT_INT_EQ(get_id(s, SWB_DB_RESULTS, 1000), SWB_ENOTFOUND);
    ASSERT_INT_EQ(get_id(s, SWB_DB_RESULTS, 1000 + 63), SWB_ENOTFOUND);
    void *v = NULL;
    size_t vlen = 0;
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_TASKS, "first", 5, &v, &vlen),
                  SWB_ENOTFOUND);
    for (uint64_t i = 0; i < id; i++)
        ASSERT_TRUE(check_id(s, SWB_DB_RESULTS, i, vsz, i));

    /* A smaller commit still works, and survives a reopen. */
    swb_store_batch_reset(b);
    ASSERT_INT_EQ(swb_store_batch_put(b, SWB_DB_TASKS, "small", 5, "ok", 2),
                  SWB_OK);
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);
    swb_store_close(&s);
    ASSERT_INT_EQ(open_at(dir, MIB, 4 * MIB, &s, why, sizeof why), SWB_OK);
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_TASKS, "small", 5, &v, &vlen),
                  SWB_OK);
    ASSERT_INT_EQ(vlen, 2);
    free(v);
    ASSERT_INT_EQ(swb_store_get(s, SWB_DB_TASKS, "first", 5, &v, &vlen),
                  SWB_ENOTFOUND);
    ASSERT_TRUE(check_id(s, SWB_DB_RESULTS, 0, vsz, 0));

    swb_store_close(&s);
    swb_store_batch_destroy(&b);
    free(val);
    swbt_rmdir(dir);
    free(dir);
}

static int
each_commit(const void *key, size_t klen, const void *val, size_t vlen,
            void *arg)
{
    void **ctx = arg;
    swb_store_t *s = ctx[0];
    swb_store_batch_t *b = ctx[1];
    swb_err_t *rc = ctx[2];
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    *rc = swb_store_commit(s, b, NULL, 0);
    return 1;
}

static void
test_commit_inside_each_refused(void)
{
    char *dir = swbt_tempdir("store");
    char why[256];
    swb_store_t *s = NULL;
    swb_store_batch_t *b = swb_store_batch_new();
    ASSERT_TRUE(dir && b);
    ASSERT_INT_EQ(open_at(dir, 0, 0, &s, why, sizeof why), SWB_OK);
    ASSERT_INT_EQ(put_id(b, SWB_DB_TASKS, 1, "x", 1), SWB_OK);
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);

    swb_err_t inner = SWB_OK;
    void *ctx[3] = {s, b, &inner};
    ASSERT_INT_EQ(swb_store_each(s, SWB_DB_TASKS, each_commit, ctx), SWB_OK);
    ASSERT_INT_EQ(inner, SWB_ESTATE);
    ASSERT_INT_EQ(swb_store_commit(s, b, why, sizeof why), SWB_OK);

    swb_store_close(&s);
    swb_store_batch_destroy(&b);
    swbt_rmdir(dir);
    free(dir);
}

int
main(void)
{
    SWB_RUN(test_u64_keys);
    SWB_RUN(test_round_trip_across_reopen);
    SWB_RUN(test_each_in_key_order);
    SWB_RUN(test_invalid_keys);
    SWB_RUN(test_modes_0700_0600);
    SWB_RUN(test_open_errors);
    SWB_RUN(test_format_mismatch);
    SWB_RUN(test_large_value);
    SWB_RUN(test_map_grows);
    SWB_RUN(test_max_map_full_is_all_or_nothing);
    SWB_RUN(test_commit_inside_each_refused);
    return SWB_TEST_EXIT();
}
