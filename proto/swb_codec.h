/*
 * swb_codec.h - the one table-driven msgpack codec of Switchboard.
 *
 * Every message (and every stored record) is a C struct described once by
 * an swb_schema_t: a table of fields with their msgpack key, type, offset
 * in the struct, whether they are required and their limit. One encoder,
 * one decoder and one free function walk these tables; no message has
 * hand-written encode/decode code.
 *
 * On the wire a struct is a msgpack map from field name (str) to value.
 * Optional fields at their zero value are left out when encoding.
 *
 * Decoding trusts nothing: before msgpack-c builds any object, a bounded
 * walker checks the whole buffer - nesting depth, that every array/map
 * count and str/bin length fits in the bytes that remain, the total number
 * of objects - and that exactly the whole buffer is one object (no
 * trailing bytes). Only then is it unpacked, and the map is matched to the
 * schema: unknown keys, duplicate keys, wrong types, values over their
 * limit and missing required fields are errors naming the field.
 *
 * This module has no sockets and knows no message names (swb_msg.h does).
 */
#ifndef SWB_CODEC_H
#define SWB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "swb_error.h"

/* Hard limits of the decoder, whatever the schema says. */
#define SWB_CODEC_MAX_DEPTH 8        /* nesting of arrays/maps           */
#define SWB_CODEC_MAX_OBJECTS 1000000 /* objects in one buffer           */
#define SWB_CODEC_MAX_FRAME (17u << 20) /* bytes in one buffer (17 MiB) */

/* A byte string. Owned by the struct that holds it (freed by swb_free). */
typedef struct swb_bytes {
    uint8_t *data;
    size_t len;
} swb_bytes_t;

/* A list of NUL-terminated strings, each and the array malloc'd. */
typedef struct swb_strs {
    char **v;
    size_t n;
} swb_strs_t;

/* A named level: a skill ("banking", 3), a language ("en", 5 = C1), or a
 * per-channel capacity ("email", 3). On the wire: a map name -> uint. */
typedef struct swb_level {
    char *name;
    uint64_t level;
} swb_level_t;

typedef struct swb_levels {
    swb_level_t *v;
    size_t n;
} swb_levels_t;

/* A list of structs of one schema: `v` points to n structs of
 * sub->size bytes each. */
typedef struct swb_list {
    void *v;
    size_t n;
} swb_list_t;

typedef enum swb_ftype {
    SWB_F_U64,    /* uint64_t; max = largest value (0 = any)            */
    SWB_F_BOOL,   /* bool                                                */
    SWB_F_STR,    /* char * (NUL-free UTF-8 bytes); max = bytes          */
    SWB_F_BIN,    /* swb_bytes_t; max = bytes (accepts str or bin)       */
    SWB_F_STRS,   /* swb_strs_t; max = items, each item <= 256 bytes     */
    SWB_F_LEVELS, /* swb_levels_t; max = items, names <= 64 bytes        */
    SWB_F_STRUCT, /* a pointer to a struct of schema `sub` (may be NULL) */
    SWB_F_LIST    /* swb_list_t of structs of schema `sub`; max = items  */
} swb_ftype_t;

typedef struct swb_schema swb_schema_t;

typedef struct swb_field {
    const char *name; /* the msgpack key                         */
    swb_ftype_t type;
    size_t offset;  /* offsetof(struct, member)                */
    bool required;  /* decode fails if absent                   */
    uint64_t max;   /* limit, see swb_ftype_t; 0 = type default */
    uint64_t level_max; /* SWB_F_LEVELS: largest level (0 = any) */
    const swb_schema_t *sub; /* SWB_F_STRUCT / SWB_F_LIST         */
} swb_field_t;

struct swb_schema {
    const char *name; /* for error messages */
    size_t size;      /* sizeof the struct   */
    const swb_field_t *fields;
    size_t nfields;
};

/* What went wrong in a decode: the code, the field path (e.g.
 * "task.skills") and a sentence naming the value and the limit. */
typedef struct swb_decode_err {
    swb_err_t code;
    char field[96];
    char message[200];
} swb_decode_err_t;

/*
 * Checks that buf[0..len) holds exactly one msgpack object within the
 * hard limits, without allocating. Errors: SWB_EDECODE (truncated,
 * trailing bytes, bad type byte, too deep), SWB_ETOOBIG (len over
 * SWB_CODEC_MAX_FRAME, too many objects).
 */
swb_err_t swb_codec_check(const void *buf, size_t len, swb_decode_err_t *err);

/*
 * swb_codec_check, then msgpack-c's unpack of the one object in buf into
 * *up, which this initialises: the caller always calls
 * msgpack_unpacked_destroy(up), also after an error. Objects in *up point
 * into buf. Errors: those of swb_codec_check, SWB_EDECODE.
 */
swb_err_t swb_codec_unpack_frame(const void *buf, size_t len,
                                 msgpack_unpacked *up, swb_decode_err_t *err);

/* Packs the struct at `obj` as a map per `schema`. */
void swb_codec_pack(msgpack_packer *pk, const swb_schema_t *schema,
                    const void *obj);

/*
 * Fills the zeroed struct at `obj` from the msgpack map `o`. `path` is the
 * field path prefix for errors ("" at top). On error the struct may be
 * half filled: the caller frees it with swb_codec_free.
 */
swb_err_t swb_codec_unpack(const msgpack_object *o, const swb_schema_t *schema,
                           void *obj, const char *path, swb_decode_err_t *err);

/* Frees everything the struct owns per schema (not the struct itself) and
 * zeroes it. */
void swb_codec_free(const swb_schema_t *schema, void *obj);

/* Deep copy of `src` into the zeroed struct `dst`; SWB_ENOMEM on failure
 * (dst then holds a partial copy to free with swb_codec_free). */
swb_err_t swb_codec_copy(const swb_schema_t *schema, void *dst,
                         const void *src);

/* Convenience: encode one struct as a standalone msgpack buffer (a record
 * for the store). *out is malloc'd, owned by the caller. */
swb_err_t swb_codec_encode(const swb_schema_t *schema, const void *obj,
                           void **out, size_t *len);
/* Convenience: check + unpack a standalone buffer into the zeroed `obj`. */
swb_err_t swb_codec_decode(const swb_schema_t *schema, const void *buf,
                           size_t len, void *obj, swb_decode_err_t *err);

/* Helpers for the list types: append a copy of a string / a level. */
swb_err_t swb_strs_add(swb_strs_t *s, const char *str);
swb_err_t swb_levels_add(swb_levels_t *l, const char *name, uint64_t level);
/* Finds a level by name; returns NULL if absent. Borrowed pointer. */
const swb_level_t *swb_levels_find(const swb_levels_t *l, const char *name);
bool swb_strs_has(const swb_strs_t *s, const char *str);
/* Frees the items and array of a list and zeroes it. */
void swb_codec_free_strs(swb_strs_t *s);
void swb_codec_free_levels(swb_levels_t *l);

#endif
