/*
 * swb_codec.c - table-driven msgpack encoder/decoder (see swb_codec.h).
 *
 * Three walks over the same field tables: pack (struct -> msgpack map),
 * unpack (msgpack object -> struct, strict), free (release what a struct
 * owns). Before msgpack-c sees untrusted bytes, swb_codec_check walks them
 * with explicit bounds so that no claimed length can make msgpack-c
 * allocate more than the buffer could really hold.
 */
#include "swb_codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWB_DEF_STR_MAX 256
#define SWB_DEF_ITEMS_MAX 64
#define SWB_DEF_LIST_MAX 1000
#define SWB_ITEM_STR_MAX 256
#define SWB_LEVEL_NAME_MAX 64

static swb_err_t codec_fail(swb_decode_err_t *err, swb_err_t code,
                            const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static swb_err_t
codec_fail(swb_decode_err_t *err, swb_err_t code, const char *path,
           const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        snprintf(err->field, sizeof err->field, "%s", path ? path : "");
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Field path for errors: "path.name", or "path[index]" when name is NULL.
 * Truncated to fit (paths are only for messages). */
static void
path_join(char *out, size_t n, const char *path, const char *name,
          uint32_t index)
{
    int r;
    if (name)
        r = snprintf(out, n, "%s%s%s", path, *path ? "." : "", name);
    else
        r = snprintf(out, n, "%s[%u]", path, index);
    if (r < 0)
        out[0] = 0;
}

/* ---- the bounded walker ------------------------------------------------ */

static uint64_t
be_read(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/*
 * Reads the header of the object at p (avail bytes). Sets *hdr to the
 * header size, *payload to the bytes that follow inline (str/bin/number
 * bodies), *children to the number of nested objects (arrays: n, maps:
 * 2n). Returns 0, or -1 for a byte that starts no object we accept.
 */
static int
walk_header(const uint8_t *p, size_t avail, size_t *hdr, uint64_t *payload,
            uint64_t *children)
{
    uint8_t b = p[0];
    *hdr = 1;
    *payload = 0;
    *children = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if (b >= 0x80 && b <= 0x8f) {
        *children = 2u * (b & 0x0f);
        return 0;
    }
    if (b >= 0x90 && b <= 0x9f) {
        *children = b & 0x0f;
        return 0;
    }
    if (b >= 0xa0 && b <= 0xbf) {
        *payload = b & 0x1f;
        return 0;
    }
    int lenbytes = 0;
    switch (b) {
    case 0xcc: case 0xd0: *payload = 1; return 0;
    case 0xcd: case 0xd1: *payload = 2; return 0;
    case 0xce: case 0xd2: case 0xca: *payload = 4; return 0;
    case 0xcf: case 0xd3: case 0xcb: *payload = 8; return 0;
    case 0xc4: case 0xd9: lenbytes = 1; break;
    case 0xc5: case 0xda: case 0xdc: case 0xde: lenbytes = 2; break;
    case 0xc6: case 0xdb: case 0xdd: case 0xdf: lenbytes = 4; break;
    default: return -1; /* 0xc1, ext and fixext types */
    }
    if (avail < 1u + (size_t)lenbytes)
        return -2;
    uint64_t n = be_read(p + 1, lenbytes);
    *hdr = 1u + (size_t)lenbytes;
    if (b == 0xdc || b == 0xdd)
        *children = n;
    else if (b == 0xde || b == 0xdf)
        *children = 2 * n;
    else
        *payload = n;
    return 0;
}

/* True for the first byte of an array or a map (fix, 16 or 32). */
static bool
is_container(uint8_t b)
{
    return (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);
}

swb_err_t
swb_codec_check(const void *buf, size_t len, swb_decode_err_t *err)
{
    const uint8_t *p = buf;
    size_t pos = 0;
    uint64_t pending[SWB_CODEC_MAX_DEPTH + 1]; /* children left per level */
    int depth = 0;
    uint64_t objects = 0;

    if (len > SWB_CODEC_MAX_FRAME)
        return codec_fail(err, SWB_ETOOBIG, "", "frame of %zu bytes is over "
                          "the limit of %u bytes", len, SWB_CODEC_MAX_FRAME);
    if (len == 0)
        return codec_fail(err, SWB_EDECODE, "", "empty frame");
    pending[0] = 1;
    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        if (pos >= len)
            return codec_fail(err, SWB_EDECODE, "", "truncated at byte %zu",
                              pos);
        pending[depth]--;
        if (++objects > SWB_CODEC_MAX_OBJECTS)
            return codec_fail(err, SWB_ETOOBIG, "", "more than %d objects",
                              SWB_CODEC_MAX_OBJECTS);
        size_t hdr;
        uint64_t payload, children;
        uint8_t first = p[pos];
        int r = walk_header(p + pos, len - pos, &hdr, &payload, &children);
        if (r == -1)
            return codec_fail(err, SWB_EDECODE, "", "byte 0x%02x at offset "
                              "%zu starts no accepted msgpack type", p[pos],
                              pos);
        if (r == -2)
            return codec_fail(err, SWB_EDECODE, "", "truncated at byte %zu",
                              pos);
        pos += hdr;
        if (payload > len - pos)
            return codec_fail(err, SWB_EDECODE, "", "length %llu at offset "
                              "%zu runs past the end (%zu bytes left)",
                              (unsigned long long)payload, pos - hdr,
                              len - pos);
        pos += (size_t)payload;
        /* an empty array/map still counts as a level of nesting */
        if (is_container(first) && depth + 1 > SWB_CODEC_MAX_DEPTH)
            return codec_fail(err, SWB_EDECODE, "", "nesting deeper than %d",
                              SWB_CODEC_MAX_DEPTH);
        if (children > 0) {
            /* every child needs at least one byte */
            if (children > len - pos)
                return codec_fail(err, SWB_EDECODE, "", "count %llu at offset"
                                  " %zu exceeds the %zu bytes left",
                                  (unsigned long long)children, pos - hdr,
                                  len - pos);
            pending[++depth] = children;
        }
    }
    if (pos != len)
        return codec_fail(err, SWB_EDECODE, "", "%zu trailing bytes after the"
                          " message", len - pos);
    return SWB_OK;
}

/* ---- pack --------------------------------------------------------------- */

#define FIELD_PTR(obj, f) ((char *)(obj) + (f)->offset)
#define FIELD_CPTR(obj, f) ((const char *)(obj) + (f)->offset)

static void
pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s ? s : "", n);
}

static bool
field_is_zero(const swb_field_t *f, const void *obj)
{
    const char *p = FIELD_CPTR(obj, f);
    switch (f->type) {
    case SWB_F_U64: return *(const uint64_t *)p == 0;
    case SWB_F_BOOL: return !*(const bool *)p;
    case SWB_F_STR: return *(char *const *)p == NULL;
    case SWB_F_BIN: return ((const swb_bytes_t *)p)->len == 0;
    case SWB_F_STRS: return ((const swb_strs_t *)p)->n == 0;
    case SWB_F_LEVELS: return ((const swb_levels_t *)p)->n == 0;
    case SWB_F_STRUCT: return *(void *const *)p == NULL;
    case SWB_F_LIST: return ((const swb_list_t *)p)->n == 0;
    }
    return true;
}

static void
pack_field(msgpack_packer *pk, const swb_field_t *f, const void *obj)
{
    const char *p = FIELD_CPTR(obj, f);
    switch (f->type) {
    case SWB_F_U64:
        msgpack_pack_uint64(pk, *(const uint64_t *)p);
        break;
    case SWB_F_BOOL:
        if (*(const bool *)p)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case SWB_F_STR:
        pack_str(pk, *(char *const *)p);
        break;
    case SWB_F_BIN: {
        const swb_bytes_t *b = (const swb_bytes_t *)p;
        msgpack_pack_bin(pk, b->len);
        msgpack_pack_bin_body(pk, b->data, b->len);
        break;
    }
    case SWB_F_STRS: {
        const swb_strs_t *s = (const swb_strs_t *)p;
        msgpack_pack_array(pk, s->n);
        for (size_t i = 0; i < s->n; i++)
            pack_str(pk, s->v[i]);
        break;
    }
    case SWB_F_LEVELS: {
        const swb_levels_t *l = (const swb_levels_t *)p;
        msgpack_pack_map(pk, l->n);
        for (size_t i = 0; i < l->n; i++) {
            pack_str(pk, l->v[i].name);
            msgpack_pack_uint64(pk, l->v[i].level);
        }
        break;
    }
    case SWB_F_STRUCT: {
        const void *sub = *(void *const *)p;
        if (sub)
            swb_codec_pack(pk, f->sub, sub);
        else
            msgpack_pack_map(pk, 0);
        break;
    }
    case SWB_F_LIST: {
        const swb_list_t *l = (const swb_list_t *)p;
        msgpack_pack_array(pk, l->n);
        for (size_t i = 0; i < l->n; i++)
            swb_codec_pack(pk, f->sub, (const char *)l->v + i * f->sub->size);
        break;
    }
    }
}

void
swb_codec_pack(msgpack_packer *pk, const swb_schema_t *schema, const void *obj)
{
    size_t n = 0;
    for (size_t i = 0; i < schema->nfields; i++)
        if (schema->fields[i].required || !field_is_zero(&schema->fields[i], obj))
            n++;
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < schema->nfields; i++) {
        const swb_field_t *f = &schema->fields[i];
        if (!f->required && field_is_zero(f, obj))
            continue;
        pack_str(pk, f->name);
        pack_field(pk, f, obj);
    }
}

/* ---- unpack ------------------------------------------------------------- */

/* True when s[0..n) is valid UTF-8 without NUL bytes. */
static bool
utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t extra;
        if (c == 0)
            return false;
        if (c < 0x80)
            extra = 0;
        else if (c >= 0xc2 && c <= 0xdf)
            extra = 1;
        else if (c >= 0xe0 && c <= 0xef)
            extra = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            extra = 3;
        else
            return false;
        if (i + extra >= n && extra)
            return false;
        if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
            (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f))
            return false; /* overlong, surrogate or past U+10FFFF */
        for (size_t k = 1; k <= extra; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        i += extra + 1;
    }
    return true;
}

static const char *
type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "uint";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "negative int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "float";
    case MSGPACK_OBJECT_STR: return "str";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    case MSGPACK_OBJECT_BIN: return "bin";
    default: return "ext";
    }
}

static swb_err_t
dup_str(const msgpack_object *o, size_t max, char **out, const char *path,
        swb_decode_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return codec_fail(err, SWB_EINVAL, path, "%s must be a string, got "
                          "%s", path, type_name(o->type));
    if (o->via.str.size > max)
        return codec_fail(err, SWB_ETOOBIG, path, "%s is %u bytes, over the "
                          "limit of %zu", path, o->via.str.size, max);
    if (!utf8_ok(o->via.str.ptr, o->via.str.size))
        return codec_fail(err, SWB_EINVAL, path, "%s is not valid UTF-8 "
                          "without NUL bytes", path);
    char *s = malloc(o->via.str.size + 1);
    if (!s)
        return codec_fail(err, SWB_ENOMEM, path, "out of memory");
    if (o->via.str.size) /* msgpack-c gives ptr NULL for "" */
        memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = 0;
    *out = s;
    return SWB_OK;
}

static swb_err_t
unpack_field(const msgpack_object *v, const swb_field_t *f, void *obj,
             const char *path, swb_decode_err_t *err)
{
    char *p = FIELD_PTR(obj, f);
    swb_err_t rc;
    switch (f->type) {
    case SWB_F_U64:
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return codec_fail(err, SWB_EINVAL, path, "%s must be an unsigned "
                              "integer, got %s", path, type_name(v->type));
        if (f->max && v->via.u64 > f->max)
            return codec_fail(err, SWB_ETOOBIG, path, "%s is %llu, over the "
                              "limit of %llu", path,
                              (unsigned long long)v->via.u64,
                              (unsigned long long)f->max);
        *(uint64_t *)p = v->via.u64;
        return SWB_OK;
    case SWB_F_BOOL:
        if (v->type != MSGPACK_OBJECT_BOOLEAN)
            return codec_fail(err, SWB_EINVAL, path, "%s must be a bool, got "
                              "%s", path, type_name(v->type));
        *(bool *)p = v->via.boolean;
        return SWB_OK;
    case SWB_F_STR:
        return dup_str(v, f->max ? f->max : SWB_DEF_STR_MAX, (char **)p, path,
                       err);
    case SWB_F_BIN: {
        swb_bytes_t *b = (swb_bytes_t *)p;
        const char *src;
        size_t n;
        if (v->type == MSGPACK_OBJECT_BIN) {
            src = v->via.bin.ptr;
            n = v->via.bin.size;
        } else if (v->type == MSGPACK_OBJECT_STR) {
            src = v->via.str.ptr;
            n = v->via.str.size;
        } else
            return codec_fail(err, SWB_EINVAL, path, "%s must be bin or str, "
                              "got %s", path, type_name(v->type));
        size_t max = f->max ? f->max : SWB_CODEC_MAX_FRAME;
        if (n > max)
            return codec_fail(err, SWB_ETOOBIG, path, "%s is %zu bytes, over "
                              "the limit of %zu", path, n, max);
        b->data = malloc(n ? n : 1);
        if (!b->data)
            return codec_fail(err, SWB_ENOMEM, path, "out of memory");
        if (n) /* src is NULL for an empty str/bin */
            memcpy(b->data, src, n);
        b->len = n;
        return SWB_OK;
    }
    case SWB_F_STRS: {
        swb_strs_t *s = (swb_strs_t *)p;
        size_t max = f->max ? f->max : SWB_DEF_ITEMS_MAX;
        if (v->type != MSGPACK_OBJECT_ARRAY)
            return codec_fail(err, SWB_EINVAL, path, "%s must be an array of "
                              "strings, got %s", path, type_name(v->type));
        if (v->via.array.size > max)
            return codec_fail(err, SWB_ETOOBIG, path, "%s has %u items, over "
                              "the limit of %zu", path, v->via.array.size, max);
        s->v = calloc(v->via.array.size + 1, sizeof *s->v);
        if (!s->v)
            return codec_fail(err, SWB_ENOMEM, path, "out of memory");
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            rc = dup_str(&v->via.array.ptr[i], SWB_ITEM_STR_MAX, &s->v[i],
                         path, err);
            if (rc)
                return rc;
            s->n++;
        }
        return SWB_OK;
    }
    case SWB_F_LEVELS: {
        swb_levels_t *l = (swb_levels_t *)p;
        size_t max = f->max ? f->max : SWB_DEF_ITEMS_MAX;
        if (v->type != MSGPACK_OBJECT_MAP)
            return codec_fail(err, SWB_EINVAL, path, "%s must be a map of "
                              "name to level, got %s", path,
                              type_name(v->type));
        if (v->via.map.size > max)
            return codec_fail(err, SWB_ETOOBIG, path, "%s has %u items, over "
                              "the limit of %zu", path, v->via.map.size, max);
        l->v = calloc(v->via.map.size + 1, sizeof *l->v);
        if (!l->v)
            return codec_fail(err, SWB_ENOMEM, path, "out of memory");
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            const msgpack_object_kv *kv = &v->via.map.ptr[i];
            rc = dup_str(&kv->key, SWB_LEVEL_NAME_MAX, &l->v[i].name, path,
                         err);
            if (rc)
                return rc;
            l->n++;
            if (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return codec_fail(err, SWB_EINVAL, path, "%s.%s must be an "
                                  "unsigned integer level, got %s", path,
                                  l->v[i].name, type_name(kv->val.type));
            if (f->level_max && kv->val.via.u64 > f->level_max)
                return codec_fail(err, SWB_ETOOBIG, path, "%s.%s is %llu, over"
                                  " the limit of %llu", path, l->v[i].name,
                                  (unsigned long long)kv->val.via.u64,
                                  (unsigned long long)f->level_max);
            for (size_t k = 0; k < i; k++)
                if (strcmp(l->v[k].name, l->v[i].name) == 0)
                    return codec_fail(err, SWB_EINVAL, path, "%s names \"%s\" "
                                      "twice", path, l->v[i].name);
            l->v[i].level = kv->val.via.u64;
        }
        return SWB_OK;
    }
    case SWB_F_STRUCT: {
        void **sp = (void **)p;
        /* nil stands for "absent", which a required struct cannot be */
        if (v->type == MSGPACK_OBJECT_NIL && !f->required)
            return SWB_OK;
        *sp = calloc(1, f->sub->size);
        if (!*sp)
            return codec_fail(err, SWB_ENOMEM, path, "out of memory");
        return swb_codec_unpack(v, f->sub, *sp, path, err);
    }
    case SWB_F_LIST: {
        swb_list_t *l = (swb_list_t *)p;
        size_t max = f->max ? f->max : SWB_DEF_LIST_MAX;
        if (v->type != MSGPACK_OBJECT_ARRAY)
            return codec_fail(err, SWB_EINVAL, path, "%s must be an array, "
                              "got %s", path, type_name(v->type));
        if (v->via.array.size > max)
            return codec_fail(err, SWB_ETOOBIG, path, "%s has %u items, over "
                              "the limit of %zu", path, v->via.array.size, max);
        l->v = calloc(v->via.array.size + 1, f->sub->size);
        if (!l->v)
            return codec_fail(err, SWB_ENOMEM, path, "out of memory");
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            char ipath[96];
            path_join(ipath, sizeof ipath, path, NULL, i);
            l->n++;
            rc = swb_codec_unpack(&v->via.array.ptr[i], f->sub,
                                  (char *)l->v + i * f->sub->size, ipath, err);
            if (rc)
                return rc;
        }
        return SWB_OK;
    }
    }
    return codec_fail(err, SWB_EINVAL, path, "unknown field type");
}

swb_err_t
swb_codec_unpack(const msgpack_object *o, const swb_schema_t *schema,
                 void *obj, const char *path, swb_decode_err_t *err)
{
    uint64_t seen = 0;
    if (o->type != MSGPACK_OBJECT_MAP)
        return codec_fail(err, SWB_EINVAL, path, "%s must be a map, got %s",
                          *path ? path : schema->name, type_name(o->type));
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return codec_fail(err, SWB_EINVAL, path, "%s has a key of type %s;"
                              " keys must be strings",
                              *path ? path : schema->name,
                              type_name(kv->key.type));
        const swb_field_t *f = NULL;
        size_t fi = 0;
        for (; fi < schema->nfields; fi++) {
            const char *name = schema->fields[fi].name;
            if (strlen(name) == kv->key.via.str.size &&
                memcmp(name, kv->key.via.str.ptr, kv->key.via.str.size) == 0) {
                f = &schema->fields[fi];
                break;
            }
        }
        char fpath[96];
        if (!f) {
            char key[41];
            size_t kn = kv->key.via.str.size > 40 ? 40 : kv->key.via.str.size;
            if (kn) /* ptr is NULL for an empty key */
                memcpy(key, kv->key.via.str.ptr, kn);
            key[kn] = 0;
            path_join(fpath, sizeof fpath, path, key, 0);
            return codec_fail(err, SWB_EINVAL, fpath, "unknown field \"%s\" in"
                              " %s", fpath, schema->name);
        }
        path_join(fpath, sizeof fpath, path, f->name, 0);
        if (seen & (1ull << fi))
            return codec_fail(err, SWB_EINVAL, fpath, "field %s appears twice",
                              fpath);
        seen |= 1ull << fi;
        swb_err_t rc = unpack_field(&kv->val, f, obj, fpath, err);
        if (rc)
            return rc;
    }
    for (size_t fi = 0; fi < schema->nfields; fi++) {
        if (schema->fields[fi].required && !(seen & (1ull << fi))) {
            char fpath[96];
            path_join(fpath, sizeof fpath, path, schema->fields[fi].name, 0);
            return codec_fail(err, SWB_EINVAL, fpath, "missing required field "
                              "%s", fpath);
        }
    }
    return SWB_OK;
}

/* ---- free and copy ------------------------------------------------------ */

void
swb_codec_free(const swb_schema_t *schema, void *obj)
{
    if (!obj)
        return;
    for (size_t i = 0; i < schema->nfields; i++) {
        const swb_field_t *f = &schema->fields[i];
        char *p = FIELD_PTR(obj, f);
        switch (f->type) {
        case SWB_F_U64:
        case SWB_F_BOOL:
            break;
        case SWB_F_STR:
            free(*(char **)p);
            break;
        case SWB_F_BIN:
            free(((swb_bytes_t *)p)->data);
            break;
        case SWB_F_STRS:
            swb_codec_free_strs((swb_strs_t *)p);
            break;
        case SWB_F_LEVELS:
            swb_codec_free_levels((swb_levels_t *)p);
            break;
        case SWB_F_STRUCT: {
            void *sub = *(void **)p;
            swb_codec_free(f->sub, sub);
            free(sub);
            break;
        }
        case SWB_F_LIST: {
            swb_list_t *l = (swb_list_t *)p;
            for (size_t k = 0; k < l->n; k++)
                swb_codec_free(f->sub, (char *)l->v + k * f->sub->size);
            free(l->v);
            break;
        }
        }
    }
    memset(obj, 0, schema->size);
}

swb_err_t
swb_codec_encode(const swb_schema_t *schema, const void *obj, void **out,
                 size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    swb_codec_pack(&pk, schema, obj);
    if (!sb.data) {
        *out = NULL;
        *len = 0;
        return SWB_ENOMEM;
    }
    *out = sb.data; /* sbuffer memory is malloc'd: hand it over */
    *len = sb.size;
    return SWB_OK;
}

swb_err_t
swb_codec_unpack_frame(const void *buf, size_t len, msgpack_unpacked *up,
                       swb_decode_err_t *err)
{
    size_t off = 0;
    msgpack_unpacked_init(up);
    swb_err_t rc = swb_codec_check(buf, len, err);
    if (rc)
        return rc;
    if (msgpack_unpack_next(up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != len)
        return codec_fail(err, SWB_EDECODE, "", "msgpack-c could not unpack"
                          " the frame");
    return SWB_OK;
}

swb_err_t
swb_codec_decode(const swb_schema_t *schema, const void *buf, size_t len,
                 void *obj, swb_decode_err_t *err)
{
    msgpack_unpacked up;
    swb_err_t rc = swb_codec_unpack_frame(buf, len, &up, err);
    if (!rc)
        rc = swb_codec_unpack(&up.data, schema, obj, "", err);
    msgpack_unpacked_destroy(&up);
    return rc;
}

swb_err_t
swb_codec_copy(const swb_schema_t *schema, void *dst, const void *src)
{
    void *buf;
    size_t len;
    swb_err_t rc = swb_codec_encode(schema, src, &buf, &len);
    if (rc)
        return rc;
    rc = swb_codec_decode(schema, buf, len, dst, NULL);
    free(buf);
    return rc;
}

/* ---- list helpers ------------------------------------------------------- */

swb_err_t
swb_strs_add(swb_strs_t *s, const char *str)
{
    char **nv = realloc(s->v, (s->n + 2) * sizeof *nv);
    if (!nv)
        return SWB_ENOMEM;
    s->v = nv;
    if (!(nv[s->n] = strdup(str)))
        return SWB_ENOMEM;
    s->n++;
    nv[s->n] = NULL;
    return SWB_OK;
}

swb_err_t
swb_levels_add(swb_levels_t *l, const char *name, uint64_t level)
{
    swb_level_t *nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv)
        return SWB_ENOMEM;
    l->v = nv;
    if (!(nv[l->n].name = strdup(name)))
        return SWB_ENOMEM;
    nv[l->n].level = level;
    l->n++;
    return SWB_OK;
}

const swb_level_t *
swb_levels_find(const swb_levels_t *l, const char *name)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

bool
swb_strs_has(const swb_strs_t *s, const char *str)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return true;
    return false;
}

void
swb_codec_free_strs(swb_strs_t *s)
{
    for (size_t k = 0; k < s->n; k++)
        free(s->v[k]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

void
swb_codec_free_levels(swb_levels_t *l)
{
    for (size_t k = 0; k < l->n; k++)
        free(l->v[k].name);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}
