/*
 * store.c - the broker's durable state in one LMDB environment (store.h).
 *
 * Does: opens one environment with five named sub-databases, checks the
 * on-disk format, applies a batch of puts and deletes in one synced write
 * transaction (all or nothing), grows the memory map before a commit that
 * might not fit (never past max_map), and copies every value out of LMDB
 * before its read transaction ends. LMDB and errno codes are translated to
 * swb_err_t here, with the detail in the caller's `why` buffer. A full
 * disk (ENOSPC, EDQUOT, or the EIO that LMDB 0.9.24 gives for a short
 * write when statvfs shows less room than the batch needs) is SWB_EFULL.
 *
 * Does not: know what the records mean, cache anything, keep transactions
 * open between calls, or run on more than one thread. A batch is plain
 * memory (ops plus one growable byte buffer holding copies of keys and
 * values) and reaches LMDB only in swb_store_commit.
 *
 * Map growth: mdb_env_set_mapsize is only safe with no transaction open,
 * which holds between our calls because each function opens and closes its
 * own. That is why swb_store_commit refuses to run inside swb_store_each.
 */
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#define STORE_MIB ((size_t)1024 * 1024)
#define STORE_DEFAULT_INITIAL (64 * STORE_MIB)
#define STORE_DEFAULT_MAX_GIB 64
#define STORE_MAX_KEY 511                   /* LMDB's default MDB_MAXKEYSIZE */
#define STORE_MAX_VAL ((size_t)0xffffffffu) /* LMDB's MAXDATASIZE */
#define STORE_SLACK_PAGES 64 /* roots, branches, freelist of one commit */

enum store_kind { STORE_PUT = 1, STORE_DEL = 2 };

/* One operation; key and value live in the batch buffer at these offsets
 * (offsets, not pointers, because the buffer moves when it grows). */
typedef struct store_op {
    size_t koff, klen;
    size_t voff, vlen;
    unsigned char db;
    unsigned char kind;
} store_op_t;

struct swb_store_batch {
    store_op_t *ops;
    size_t nops, ops_cap;
    unsigned char *buf;
    size_t buf_used, buf_cap;
    size_t payload; /* sum of all key and value lengths */
};

struct swb_store {
    MDB_env *env;
    char *dir; /* the data folder, for statvfs and messages */
    MDB_dbi dbi[SWB_DB_COUNT_];
    size_t psize;   /* LMDB page size */
    size_t max_map; /* growth limit */
    int in_each;    /* > 0 while swb_store_each runs callbacks */
    int broken;     /* a remap failed; the environment is unusable */
};

static const char *const store_db_names[SWB_DB_COUNT_] = {
    [SWB_DB_META] = "meta",       [SWB_DB_TASKS] = "tasks",
    [SWB_DB_RESULTS] = "results", [SWB_DB_KEYS] = "keys",
    [SWB_DB_SITES] = "sites",
    [SWB_DB_AGENTS] = "agents",
    [SWB_DB_EVENTS] = "events",
    [SWB_DB_STATS] = "stats",
    [SWB_DB_HANDOFF] = "handoff",
};

static const char store_format_key[] = "format";

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

static void __attribute__((format(printf, 3, 4)))
store_why(char *why, size_t why_len, const char *fmt, ...)
{
    if (!why || why_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

static size_t
store_add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t
store_mul_sat(size_t a, size_t b)
{
    return (b != 0 && a > SIZE_MAX / b) ? SIZE_MAX : a * b;
}

static size_t
store_default_max(void)
{
    uint64_t m = (uint64_t)STORE_DEFAULT_MAX_GIB << 30;
    return m > SIZE_MAX ? SIZE_MAX : (size_t)m;
}

static int
store_is_full_errno(int rc)
{
    return rc == ENOSPC || rc == EDQUOT;
}

/* Translates an LMDB / errno code from a step of the store. */
static swb_err_t
store_fail(const swb_store_t *s, int rc, const char *what, char *why,
           size_t why_len)
{
    if (rc == MDB_MAP_FULL) {
        store_why(why, why_len, "%s: store map is full (max_map %zu bytes)",
                  what, s ? s->max_map : (size_t)0);
        return SWB_EFULL;
    }
    if (store_is_full_errno(rc)) {
        store_why(why, why_len, "%s: disk full: %s", what, mdb_strerror(rc));
        return SWB_EFULL;
    }
    store_why(why, why_len, "%s: %s", what, mdb_strerror(rc));
    return SWB_ESTORE;
}

static int
store_key_ok(const void *key, size_t klen)
{
    return key != NULL && klen >= 1 && klen <= STORE_MAX_KEY;
}

static int
store_db_ok(swb_store_db_t db)
{
    return (unsigned)db < (unsigned)SWB_DB_COUNT_;
}

void
swb_store_u64_key(uint64_t id, unsigned char out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(id & 0xff);
        id >>= 8;
    }
}

uint64_t
swb_store_key_u64(const void *key)
{
    const unsigned char *p = key;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ------------------------------------------------------------------ */
/* batch                                                                */

swb_store_batch_t *
swb_store_batch_new(void)
{
    return calloc(1, sizeof(swb_store_batch_t));
}

void
swb_store_batch_destroy(swb_store_batch_t **b)
{
    if (!b || !*b)
        return;
    free((*b)->ops);
    free((*b)->buf);
    free(*b);
    *b = NULL;
}

void
swb_store_batch_reset(swb_store_batch_t *b)
{
    if (!b)
        return;
    b->nops = 0;
    b->buf_used = 0;
    b->payload = 0;
}

size_t
swb_store_batch_count(const swb_store_batch_t *b)
{
    return b ? b->nops : 0;
}

/* Makes room for `need` elements of `elem` bytes in *arr (doubling). */
static swb_err_t
store_reserve_array(void **arr, size_t *cap, size_t need, size_t elem,
                    size_t first)
{
    if (need <= *cap)
        return SWB_OK;
    size_t ncap = *cap ? *cap : first;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return SWB_ENOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return SWB_ENOMEM;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return SWB_ENOMEM;
    *arr = p;
    *cap = ncap;
    return SWB_OK;
}

static swb_err_t
store_batch_add(swb_store_batch_t *b, swb_store_db_t db, int kind,
                const void *key, size_t klen, const void *val, size_t vlen)
{
    if (!b || !store_db_ok(db) || !store_key_ok(key, klen))
        return SWB_EINVAL;
    if ((vlen > 0 && !val) || vlen > STORE_MAX_VAL)
        return SWB_EINVAL;
    if (vlen > SIZE_MAX - klen || klen + vlen > SIZE_MAX - b->buf_used)
        return SWB_ENOMEM;
    void *ops = b->ops;
    void *buf = b->buf;
    swb_err_t rc = store_reserve_array(&ops, &b->ops_cap, b->nops + 1,
                                       sizeof(store_op_t), 16);
    b->ops = ops;
    if (rc)
        return rc;
    rc = store_reserve_array(&buf, &b->buf_cap, b->buf_used + klen + vlen, 1,
                             4096);
    b->buf = buf;
    if (rc)
        return rc;

    store_op_t *op = &b->ops[b->nops];
    op->db = (unsigned char)db;
    op->kind = (unsigned char)kind;
    op->koff = b->buf_used;
    op->klen = klen;
    memcpy(b->buf + b->buf_used, key, klen);
    b->buf_used += klen;
    op->voff = b->buf_used;
    op->vlen = vlen;
    if (vlen > 0)
        memcpy(b->buf + b->buf_used, val, vlen);
    b->buf_used += vlen;
    b->payload += klen + vlen;
    b->nops++;
    return SWB_OK;
}

swb_err_t
swb_store_batch_put(swb_store_batch_t *b, swb_store_db_t db, const void *key,
                    size_t klen, const void *val, size_t vlen)
{
    return store_batch_add(b, db, STORE_PUT, key, klen, val, vlen);
}

/* Deleting a key that is not there is not an error (the commit goes on). */
swb_err_t
swb_store_batch_del(swb_store_batch_t *b, swb_store_db_t db, const void *key,
                    size_t klen)
{
    return store_batch_add(b, db, STORE_DEL, key, klen, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* map size                                                             */

static void
store_sizes(swb_store_t *s, size_t *map, size_t *used)
{
    MDB_envinfo info;
    memset(&info, 0, sizeof info);
    if (mdb_env_info(s->env, &info) != 0) {
        *map = 0;
        *used = 0;
        return;
    }
    *map = info.me_mapsize;
    *used = store_mul_sat(store_add_sat(info.me_last_pgno, 1), s->psize);
}

/* Sets the map to at least `want` bytes: doubling the current size until it
 * fits, capped at max_map. Never shrinks. Needs no open transaction. */
static swb_err_t
store_grow(swb_store_t *s, size_t want, char *why, size_t why_len)
{
    size_t cur, used;
    store_sizes(s, &cur, &used);
    if (cur == 0 || cur >= want || cur >= s->max_map)
        return SWB_OK;
    size_t next = cur;
    while (next < want && next < s->max_map)
        next = store_mul_sat(next, 2);
    if (next > s->max_map)
        next = s->max_map;
    int rc = mdb_env_set_mapsize(s->env, next);
    if (rc) {
        /* A failed remap leaves LMDB without a mapping; try the old size
         * and, if that fails too, refuse all further calls. */
        if (mdb_env_set_mapsize(s->env, cur) != 0)
            s->broken = 1;
        store_why(why, why_len, "growing the store map from %zu to %zu: %s",
                  cur, next, mdb_strerror(rc));
        return SWB_ESTORE;
    }
    return SWB_OK;
}

/* A generous guess of the bytes a commit of `b` adds to the file: twice
 * the payload (page fill, node headers, overflow page rounding, the
 * copy-on-write of replaced values), one page per op for the leaf and
 * branch pages it dirties, and a fixed slack for roots and the freelist. */
static size_t
store_estimate(const swb_store_t *s, const swb_store_batch_t *b)
{
    size_t est = store_mul_sat(b->payload, 2);
    est = store_add_sat(est, store_mul_sat(b->nops, s->psize));
    return store_add_sat(est, store_mul_sat(STORE_SLACK_PAGES, s->psize));
}

/* Grows the map when used + estimate would pass 3/4 of it. */
static swb_err_t
store_make_room(swb_store_t *s, size_t est, char *why, size_t why_len)
{
    size_t map, used;
    store_sizes(s, &map, &used);
    size_t need = store_add_sat(used, est);
    if (need <= map / 4 * 3)
        return SWB_OK;
    size_t want = store_add_sat(need, need / 3); /* need fits in 3/4 */
    return store_grow(s, want, why, why_len);
}

/* ------------------------------------------------------------------ */
/* open / close                                                         */

static swb_err_t
store_init_dbs(swb_store_t *s, const char *dir, char *why, size_t why_len)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return store_fail(s, rc, "opening the store", why, why_len);
    for (int i = 0; i < SWB_DB_COUNT_; i++) {
        rc = mdb_dbi_open(txn, store_db_names[i], MDB_CREATE, &s->dbi[i]);
        if (rc) {
            mdb_txn_abort(txn);
            store_why(why, why_len, "opening database \"%s\" in %s: %s",
                      store_db_names[i], dir, mdb_strerror(rc));
            return SWB_ESTORE;
        }
    }

    unsigned char fmt[8];
    MDB_val k = {sizeof store_format_key - 1, (void *)store_format_key};
    MDB_val v;
    rc = mdb_get(txn, s->dbi[SWB_DB_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        swb_store_u64_key(SWB_STORE_FORMAT, fmt);
        v.mv_size = sizeof fmt;
        v.mv_data = fmt;
        rc = mdb_put(txn, s->dbi[SWB_DB_META], &k, &v, 0);
    } else if (rc == 0 && v.mv_size != 8) {
        size_t got = v.mv_size;
        mdb_txn_abort(txn);
        store_why(why, why_len,
                  "data folder %s: meta \"format\" record has "
                  "%zu bytes, expected 8",
                  dir, got);
        return SWB_ESTORE;
    } else if (rc == 0) {
        uint64_t found = swb_store_key_u64(v.mv_data);
        if (found != SWB_STORE_FORMAT) {
            mdb_txn_abort(txn);
            store_why(why, why_len,
                      "data folder %s has store format %llu "
                      "but this build reads format %llu",
                      dir, (unsigned long long)found,
                      (unsigned long long)SWB_STORE_FORMAT);
            return SWB_EVERSION;
        }
    }
    if (rc) {
        mdb_txn_abort(txn);
        return store_fail(s, rc, "checking the store format", why, why_len);
    }
    rc = mdb_txn_commit(txn); /* frees txn, also on failure */
    if (rc)
        return store_fail(s, rc, "writing the store format", why, why_len);
    return SWB_OK;
}

swb_err_t
swb_store_open(const char *dir, const swb_store_opts_t *opts, swb_store_t **out,
               char *why, size_t why_len)
{
    store_why(why, why_len, "%s", "");
    if (!out)
        return SWB_EINVAL;
    *out = NULL;
    if (!dir || !*dir) {
        store_why(why, why_len, "no data folder given");
        return SWB_EINVAL;
    }
    size_t initial =
        opts && opts->initial_map ? opts->initial_map : STORE_DEFAULT_INITIAL;
    size_t max = opts && opts->max_map ? opts->max_map : store_default_max();
    if (initial > max)
        initial = max;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        store_why(why, why_len, "cannot create data folder %s: %s", dir,
                  strerror(errno));
        return SWB_ESYS;
    }

    swb_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return SWB_ENOMEM;
    s->max_map = max;
    s->dir = strdup(dir);
    if (!s->dir) {
        free(s);
        return SWB_ENOMEM;
    }
    swb_err_t err = SWB_ESTORE;
    int rc = mdb_env_create(&s->env);
    if (rc) {
        s->env = NULL;
        store_why(why, why_len, "mdb_env_create: %s", mdb_strerror(rc));
        goto fail;
    }
    rc = mdb_env_set_maxdbs(s->env, SWB_DB_COUNT_);
    if (rc) {
        store_why(why, why_len, "mdb_env_set_maxdbs: %s", mdb_strerror(rc));
        goto fail;
    }
    /* No mapsize before open: LMDB then keeps the size recorded in an
     * existing folder, and we only ever grow it below. */
    rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
    if (rc) {
        store_why(why, why_len, "cannot open store in %s: %s", dir,
                  mdb_strerror(rc));
        goto fail;
    }
    int dead = 0;
    rc = mdb_reader_check(s->env, &dead);
    if (rc) {
        store_why(why, why_len, "mdb_reader_check in %s: %s", dir,
                  mdb_strerror(rc));
        goto fail;
    }
    MDB_stat st;
    rc = mdb_env_stat(s->env, &st);
    if (rc) {
        store_why(why, why_len, "mdb_env_stat in %s: %s", dir,
                  mdb_strerror(rc));
        goto fail;
    }
    s->psize = st.ms_psize;

    err = store_grow(s, initial, why, why_len);
    if (err)
        goto fail;
    err = store_init_dbs(s, dir, why, why_len);
    if (err)
        goto fail;
    *out = s;
    return SWB_OK;

fail:
    swb_store_close(&s);
    return err;
}

void
swb_store_close(swb_store_t **s)
{
    if (!s || !*s)
        return;
    if ((*s)->env)
        mdb_env_close((*s)->env); /* also closes the dbi handles */
    free((*s)->dir);
    free(*s);
    *s = NULL;
}

/* ------------------------------------------------------------------ */
/* commit                                                               */

/* LMDB 0.9.24 reports a short write (what a full disk usually gives) as
 * EIO, not ENOSPC. Returns 1 when the folder's file system has less room
 * left than the batch estimate, i.e. that EIO most likely meant "full". */
static int
store_disk_short(const swb_store_t *s, size_t est)
{
    struct statvfs vfs;
    if (statvfs(s->dir, &vfs) != 0)
        return 0;
    unsigned long long avail =
        (unsigned long long)vfs.f_bavail * (unsigned long long)vfs.f_frsize;
    return avail < (unsigned long long)est;
}

/* One write transaction for the whole batch. Returns 0 or the LMDB /
 * errno code; *what names the failed step. The transaction is gone when
 * this returns (committed or aborted). */
static int
store_apply(swb_store_t *s, const swb_store_batch_t *b, const char **what)
{
    MDB_txn *txn = NULL;
    *what = "beginning the write transaction";
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < b->nops; i++) {
        const store_op_t *op = &b->ops[i];
        MDB_val k = {op->klen, b->buf + op->koff};
        if (op->kind == STORE_PUT) {
            MDB_val v = {op->vlen, b->buf + op->voff};
            *what = "writing a record";
            rc = mdb_put(txn, s->dbi[op->db], &k, &v, 0);
        } else {
            *what = "deleting a record";
            rc = mdb_del(txn, s->dbi[op->db], &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
        if (rc) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    *what = "committing";
    return mdb_txn_commit(txn); /* syncs; frees txn, also on failure */
}

swb_err_t
swb_store_commit(swb_store_t *s, const swb_store_batch_t *b, char *why,
                 size_t why_len)
{
    store_why(why, why_len, "%s", "");
    if (!s || !b)
        return SWB_EINVAL;
    if (s->broken) {
        store_why(why, why_len, "store unusable after a failed remap");
        return SWB_ESTORE;
    }
    if (s->in_each) {
        store_why(why, why_len, "swb_store_commit inside swb_store_each");
        return SWB_ESTATE;
    }
    if (b->nops == 0)
        return SWB_OK;

    size_t est = store_estimate(s, b);
    swb_err_t err = store_make_room(s, est, why, why_len);
    if (err)
        return err;
    const char *what = "";
    int rc = store_apply(s, b, &what);
    if (rc == MDB_MAP_FULL) {
        size_t map, used;
        store_sizes(s, &map, &used);
        if (map < s->max_map) {
            size_t want = store_add_sat(used, store_mul_sat(est, 2));
            err = store_grow(s, store_add_sat(want, map), why, why_len);
            if (err)
                return err;
            rc = store_apply(s, b, &what);
        }
    }
    if (rc == EIO && store_disk_short(s, est)) {
        store_why(why, why_len, "%s: disk full (short write in %s)", what,
                  s->dir);
        return SWB_EFULL;
    }
    if (rc)
        return store_fail(s, rc, what, why, why_len);
    return SWB_OK;
}

/* ------------------------------------------------------------------ */
/* reads                                                                */

swb_err_t
swb_store_get(swb_store_t *s, swb_store_db_t db, const void *key, size_t klen,
              void **val, size_t *vlen)
{
    if (val)
        *val = NULL;
    if (vlen)
        *vlen = 0;
    if (!s || !val || !vlen || !store_db_ok(db) || !store_key_ok(key, klen))
        return SWB_EINVAL;
    if (s->broken)
        return SWB_ESTORE;

    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return SWB_ESTORE;
    MDB_val k = {klen, (void *)key};
    MDB_val v;
    rc = mdb_get(txn, s->dbi[db], &k, &v);
    if (rc) {
        mdb_txn_abort(txn);
        return rc == MDB_NOTFOUND ? SWB_ENOTFOUND : SWB_ESTORE;
    }
    void *copy = malloc(v.mv_size ? v.mv_size : 1);
    if (!copy) {
        mdb_txn_abort(txn);
        return SWB_ENOMEM;
    }
    if (v.mv_size)
        memcpy(copy, v.mv_data, v.mv_size);
    mdb_txn_abort(txn);
    *val = copy;
    *vlen = v.mv_size;
    return SWB_OK;
}

swb_err_t
swb_store_each(swb_store_t *s, swb_store_db_t db, swb_store_each_fn fn,
               void *arg)
{
    return swb_store_scan(s, db, NULL, 0, SIZE_MAX, fn, arg, NULL);
}

swb_err_t
swb_store_scan(swb_store_t *s, swb_store_db_t db, const void *start,
               size_t slen, size_t max, swb_store_each_fn fn, void *arg,
               size_t *visited)
{
    size_t n = 0;
    if (visited)
        *visited = 0;
    if (!s || !fn || !store_db_ok(db) || max == 0 || slen > STORE_MAX_KEY)
        return SWB_EINVAL;
    if (s->broken)
        return SWB_ESTORE;

    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return SWB_ESTORE;
    rc = mdb_cursor_open(txn, s->dbi[db], &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return SWB_ESTORE;
    }
    MDB_val k = {slen, (void *)start}, v;
    s->in_each++;
    for (rc = mdb_cursor_get(cur, &k, &v,
                             start && slen ? MDB_SET_RANGE : MDB_FIRST);
         rc == 0 && n < max; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        n++;
        if (fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg) != 0)
            break;
    }
    s->in_each--;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (visited)
        *visited = n;
    return (rc == 0 || rc == MDB_NOTFOUND) ? SWB_OK : SWB_ESTORE;
}

void
swb_store_usage(swb_store_t *s, size_t *map_bytes, size_t *used_bytes)
{
    size_t map = 0, used = 0;
    if (s && !s->broken)
        store_sizes(s, &map, &used);
    if (map_bytes)
        *map_bytes = map;
    if (used_bytes)
        *used_bytes = used;
}

uint64_t
swb_store_get_u64(swb_store_t *s, swb_store_db_t db, const void *key,
                  size_t klen)
{
    void *val;
    size_t vlen;
    uint64_t v = 0;
    if (swb_store_get(s, db, key, klen, &val, &vlen) == SWB_OK) {
        if (vlen == 8)
            v = swb_store_key_u64(val);
        free(val);
    }
    return v;
}
