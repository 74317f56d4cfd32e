/*
 * make_corpus.c - writes the seed corpus (and a dictionary) for the
 * fuzz_decode target (proto/fuzz_decode.c).
 *
 *   fuzz_make_corpus DIR [DICT]
 *
 * Into DIR: for every message type, <command>.full (every field filled)
 * and <command>.min (required fields only), plus record-task.full and
 * record-spec.full (stored records, no envelope). The values are made by
 * walking the schemas, so a field added to proto/swb_msg.c shows up in the
 * seeds without touching this file. DICT, when given, gets a libFuzzer
 * dictionary of every command and field name as a msgpack string.
 * Exit status: 0, or 1 when a file cannot be written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_codec.h"
#include "swb_msg.h"

#define FPTR(obj, f) ((char *)(obj) + (f)->offset)

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "fuzz_make_corpus: out of memory\n");
        exit(1);
    }
    return p;
}

static char *
xstrdup(const char *s)
{
    return strcpy(xcalloc(1, strlen(s) + 1), s);
}

/* A plausible string for a field, cut to its limit. */
static char *
sample_str(const swb_field_t *f)
{
    static const struct {
        const char *field, *value;
    } known[] = {
        {"channel", "email"},     {"state", "queued"},
        {"window", "09:00-17:30"}, {"tz", "Asia/Manila"},
        {"code", "stale_lease"},  {"site", "mnl-1"},
        {"agent", "agent-7"},     {"sponsor", "acme"},
        {"region", "apac"},       {"key", "order-42"},
        {"field", "task.priority"},
    };
    const char *v = "Z\xc3\xbcrich \xe2\x82\xac sample";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(f->name, known[i].field) == 0)
            v = known[i].value;
    char *s = xstrdup(v);
    if (f->max && strlen(s) > f->max) {
        size_t n = f->max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* do not cut a UTF-8 sequence */
        s[n] = 0;
    }
    return s;
}

static void fill(const swb_schema_t *sc, void *obj, int required_only);

static void
fill_field(const swb_field_t *f, void *obj, int required_only)
{
    static const uint8_t bin[] = {0x00, 'd', 'a', 't', 'a', 0x00, 0xff, 0xc1};
    char *p = FPTR(obj, f);
    switch (f->type) {
    case SWB_F_U64: {
        uint64_t v = 1795424400000u;
        *(uint64_t *)p = f->max && v > f->max ? f->max : v;
        break;
    }
    case SWB_F_BOOL:
        *(bool *)p = true;
        break;
    case SWB_F_STR:
        *(char **)p = sample_str(f);
        break;
    case SWB_F_BIN: {
        swb_bytes_t *b = (swb_bytes_t *)p;
        b->data = xcalloc(1, sizeof bin);
        memcpy(b->data, bin, sizeof bin);
        b->len = sizeof bin;
        break;
    }
    case SWB_F_STRS: {
        swb_strs_t *s = (swb_strs_t *)p;
        if (swb_strs_add(s, "email") || swb_strs_add(s, "voice.inbound"))
            exit(1);
        break;
    }
    case SWB_F_LEVELS: {
        swb_levels_t *l = (swb_levels_t *)p;
        uint64_t top = f->level_max ? f->level_max : 5;
        if (swb_levels_add(l, "en", top) || swb_levels_add(l, "es", 1))
            exit(1);
        break;
    }
    case SWB_F_STRUCT: {
        void *sub = xcalloc(1, f->sub->size);
        fill(f->sub, sub, required_only);
        *(void **)p = sub;
        break;
    }
    case SWB_F_LIST: {
        swb_list_t *l = (swb_list_t *)p;
        l->v = xcalloc(2, f->sub->size);
        l->n = 2;
        for (size_t i = 0; i < 2; i++)
            fill(f->sub, (char *)l->v + i * f->sub->size, required_only);
        break;
    }
    }
}

static void
fill(const swb_schema_t *sc, void *obj, int required_only)
{
    for (size_t i = 0; i < sc->nfields; i++)
        if (sc->fields[i].required || !required_only)
            fill_field(&sc->fields[i], obj, required_only);
}

static int
write_file(const char *dir, const char *name, const char *suffix,
           const void *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, suffix);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz_make_corpus: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* One dictionary line: the name as a msgpack fixstr, hex-escaped. */
static void
dict_entry(FILE *f, const char *name)
{
    fprintf(f, "\"\\x%02x", 0xa0 | (unsigned)strlen(name));
    for (const char *c = name; *c; c++)
        fputc(*c, f);
    fprintf(f, "\"\n");
}

static void
dict_schema(FILE *f, const swb_schema_t *sc, int depth)
{
    for (size_t i = 0; i < sc->nfields && depth < 4; i++) {
        dict_entry(f, sc->fields[i].name);
        if (sc->fields[i].sub)
            dict_schema(f, sc->fields[i].sub, depth + 1);
    }
}

static int
write_dict(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "fuzz_make_corpus: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "# libFuzzer dictionary for fuzz_decode, made by "
               "fuzz_make_corpus\n");
    fprintf(f, "\"\\x93\\x01\"\n\"\\xc4\\x00\"\n\"\\xc6\\xff\\xff\\xff\\xff\""
               "\n\"\\xdd\\xff\\xff\\xff\\xff\"\n\"\\xde\\x00\\x10\"\n");
    for (int t = 0; t < SWB_MSG_COUNT; t++) {
        dict_entry(f, swb_msg_name(t));
        dict_schema(f, swb_msg_schema(t), 0);
    }
    /* duplicates are harmless to libFuzzer */
    return fclose(f) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s DIR [DICT]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int bad = 0;
    for (int t = 0; t < SWB_MSG_COUNT; t++) {
        for (int required_only = 0; required_only <= 1; required_only++) {
            swb_msg_t m;
            void *buf = NULL;
            size_t len = 0;
            memset(&m, 0, sizeof m);
            m.type = (swb_msg_type_t)t;
            fill(swb_msg_schema(m.type), &m.u, required_only);
            if (swb_msg_encode(&m, &buf, &len) != SWB_OK)
                return 1;
            swb_msg_clear(&m);
            bad |= write_file(dir, swb_msg_name(m.type),
                              required_only ? "min" : "full", buf, len);
            free(buf);
        }
    }
    static const struct {
        const swb_schema_t *schema;
        const char *name;
    } records[] = {{&swb_task_schema, "record-task"},
                   {&swb_task_spec_schema, "record-spec"}};
    for (size_t i = 0; i < sizeof records / sizeof records[0]; i++) {
        void *obj = xcalloc(1, records[i].schema->size);
        void *buf = NULL;
        size_t len = 0;
        fill(records[i].schema, obj, 0);
        if (swb_codec_encode(records[i].schema, obj, &buf, &len) != SWB_OK)
            return 1;
        swb_codec_free(records[i].schema, obj);
        free(obj);
        bad |= write_file(dir, records[i].name, "full", buf, len);
        free(buf);
    }
    if (argc == 3)
        bad |= write_dict(argv[2]);
    return bad ? 1 : 0;
}
