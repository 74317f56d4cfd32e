/*
 * test_codec.c - unit tests of the wire codec (proto/swb_codec.c), the
 * message catalog (proto/swb_msg.c) and the domain parsers
 * (proto/swb_domain.c). No sockets, no files.
 *
 * Covers: a round trip of every message type with every field filled
 * (checked field by field and by re-encoding to the same bytes); the exact
 * bytes of minimal messages; truncation at every byte offset; trailing
 * bytes; hostile lengths, depth, object counts, 0xc1, ext types and frame
 * size; schema errors naming the field (unknown, duplicate, wrong type,
 * missing, over limit, bad UTF-8, negative numbers, bad levels); the
 * envelope (version, command, shape); the text parsers of swb_domain.
 *
 * Under AddressSanitizer the largest single allocation is watched, so the
 * hostile-length tests also prove that no claimed length is allocated.
 * The test must stay clean under ASan/LeakSanitizer: every path frees.
 */
#include "swb_codec.h"
#include "swb_domain.h"
#include "swb_error.h"
#include "swb_msg.h"
#include "swbtest.h"

#include <stdlib.h>

/* ---- allocation watch (AddressSanitizer builds only) ------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define SWBT_ALLOC_WATCH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWBT_ALLOC_WATCH 1
#endif
#endif

#ifdef SWBT_ALLOC_WATCH
/* From sanitizer/allocator_interface.h, which gcc does not ship. */
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));

/* The largest allocation since alloc_watch_reset(). A global only because
 * the sanitizer hook takes no context; tests are single-threaded. */
static size_t alloc_largest;

static void
alloc_hook(const volatile void *p, size_t n)
{
    (void)p;
    if (n > alloc_largest)
        alloc_largest = n;
}

static void
free_hook(const volatile void *p)
{
    (void)p;
}
#endif

static void
alloc_watch_start(void)
{
#ifdef SWBT_ALLOC_WATCH
    __sanitizer_install_malloc_and_free_hooks(alloc_hook, free_hook);
#endif
}

static void
alloc_watch_reset(void)
{
#ifdef SWBT_ALLOC_WATCH
    alloc_largest = 0;
#endif
}

static bool
alloc_watch_on(void)
{
#ifdef SWBT_ALLOC_WATCH
    return true;
#else
    return false;
#endif
}

/* The largest allocation since the reset, or 0 when not watched. */
static size_t
alloc_watch_largest(void)
{
#ifdef SWBT_ALLOC_WATCH
    return alloc_largest;
#else
    return 0;
#endif
}

/* ---- fixtures: every field of every message filled ---------------------- */

static const uint8_t payload_bytes[] = {0x00, 'p', 'a', 'y', 0x00, 0x00,
                                        0xff, 0xc1, 0x7f, 0x00};
static const uint8_t result_bytes[] = {'o', 'k', 0x00, 0x01, 0xc0, 0x00};

static char *
xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort(); /* out of memory in a test: nothing sensible to do */
    return d;
}

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        abort();
    return p;
}

static void
set_bytes(swb_bytes_t *b, const uint8_t *data, size_t n)
{
    b->data = malloc(n);
    if (!b->data)
        abort();
    memcpy(b->data, data, n);
    b->len = n;
}

static void
add_str(swb_strs_t *s, const char *v)
{
    if (swb_strs_add(s, v) != SWB_OK)
        abort();
}

static void
add_level(swb_levels_t *l, const char *name, uint64_t level)
{
    if (swb_levels_add(l, name, level) != SWB_OK)
        abort();
}

static void
fill_spec(swb_task_spec_t *s, uint64_t v)
{
    s->channel = xstrdup(v % 2 ? "voice.inbound" : "email");
    s->sponsor = xstrdup("acme");
    add_level(&s->lang, "en", 5);
    add_level(&s->lang, "es", 4);
    add_level(&s->skills, "banking", 3);
    add_level(&s->skills, "db-maintenance", 2);
    s->priority = 900 + v % 100;
    s->deadline = 1795424400000u + v;
    s->patience = 120;
    s->window = xstrdup("09:00-17:30");
    s->tz = xstrdup("Europe/Madrid");
    s->not_before = 1795420000000u;
    add_str(&s->sites, "mnl-1");
    add_str(&s->sites, "blr-2");
    add_str(&s->countries, "PH");
    add_str(&s->countries, "IN");
    s->key = xstrdup("order-42");
    set_bytes(&s->payload, payload_bytes, sizeof payload_bytes);
    s->max_attempts = 5;
    s->routing = xstrdup("best-skilled");
}

static swb_task_spec_t *
new_spec(uint64_t v)
{
    swb_task_spec_t *s = xcalloc(1, sizeof *s);
    fill_spec(s, v);
    return s;
}

static void
fill_task(swb_task_t *t, uint64_t id)
{
    t->id = id;
    t->state = xstrdup("active");
    t->attempt = 2;
    t->lease = 7700 + id;
    t->created = 1795424000000u;
    t->updated = 1795424100000u;
    t->ready_at = 1795424050000u;
    t->agent = xstrdup("agent-7");
    t->site = xstrdup("mnl-1");
    t->reason = xstrdup("handler exited with 3: \"disk full\"");
    t->spec = new_spec(id);
    t->region = xstrdup("krakow");
    t->peer_id = 90000 + id;
    t->hand = xstrdup("placed");
    t->hand_seq = 2;
}

static swb_task_t *
new_task(uint64_t id)
{
    swb_task_t *t = xcalloc(1, sizeof *t);
    fill_task(t, id);
    return t;
}

/* Fills every field the schema of `type` has. */
static void
fill_msg(swb_msg_t *m, swb_msg_type_t type)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    switch (type) {
    case SWB_MSG_SUBMIT:
        m->u.submit.req = 11;
        m->u.submit.task = new_spec(1);
        break;
    case SWB_MSG_SUBMITTED:
        m->u.submitted.req = 12;
        m->u.submitted.id = 1001;
        m->u.submitted.duplicate = true;
        m->u.submitted.state = xstrdup("queued");
        break;
    case SWB_MSG_STATUS:
    case SWB_MSG_CANCEL:
        m->u.ref.req = 13;
        m->u.ref.id = 1002;
        break;
    case SWB_MSG_WAIT:
        m->u.ref.req = 14;
        m->u.ref.id = 1003;
        m->u.ref.timeout = 30000;
        break;
    case SWB_MSG_TASK:
        m->u.task.req = 15;
        m->u.task.task = new_task(1004);
        set_bytes(&m->u.task.result, result_bytes, sizeof result_bytes);
        break;
    case SWB_MSG_LIST:
        m->u.list.req = 16;
        m->u.list.state = xstrdup("failed");
        m->u.list.site = xstrdup("mnl-1");
        m->u.list.limit = 50;
        break;
    case SWB_MSG_TASKS: {
        swb_task_t *v = xcalloc(3, sizeof *v);
        for (uint64_t i = 0; i < 3; i++)
            fill_task(&v[i], 2000 + i);
        m->u.tasks.req = 17;
        m->u.tasks.tasks.v = v;
        m->u.tasks.tasks.n = 3;
        m->u.tasks.more = true;
        break;
    }
    case SWB_MSG_ERROR:
        m->u.error.req = 18;
        m->u.error.id = 1005;
        m->u.error.code = xstrdup("stale_lease");
        m->u.error.field = xstrdup("lease");
        m->u.error.message = xstrdup("lease 7 of task 1005 is not current");
        break;
    case SWB_MSG_HELLO: {
        swb_m_hello_t *h = &m->u.hello;
        swb_hold_t *hold = xcalloc(2, sizeof *hold);
        h->site = xstrdup("mnl-1");
        h->agent = xstrdup("agent-7");
        add_str(&h->channels, "email");
        add_str(&h->channels, "voice.inbound");
        add_level(&h->speaks, "en", 5);
        add_level(&h->writes, "en", 4);
        add_level(&h->writes, "es", 3);
        add_level(&h->skills, "banking", 3);
        add_str(&h->sponsors, "acme");
        add_str(&h->sponsors, "globex");
        add_level(&h->capacity, "email", 3);
        hold[0] = (swb_hold_t){3001, 41};
        hold[1] = (swb_hold_t){3002, 42};
        h->holding.v = hold;
        h->holding.n = 2;
        h->accept = true;
        h->state = xstrdup("not-ready");
        break;
    }
    case SWB_MSG_WELCOME:
        m->u.welcome.heartbeat = 1000;
        m->u.welcome.lease = 5000;
        m->u.welcome.region = xstrdup("emea");
        break;
    case SWB_MSG_HEARTBEAT:
    case SWB_MSG_BYE:
        break;
    case SWB_MSG_OFFER:
        m->u.offer.task = new_task(1006);
        m->u.offer.ring = 15000;
        break;
    case SWB_MSG_DONE:
        m->u.done.id = 1007;
        m->u.done.lease = 43;
        set_bytes(&m->u.done.result, result_bytes, sizeof result_bytes);
        break;
    case SWB_MSG_FAIL:
        m->u.fail.id = 1008;
        m->u.fail.lease = 44;
        m->u.fail.reason = xstrdup("exit 3: customer record locked");
        m->u.fail.final = true;
        break;
    case SWB_MSG_ACK:
    case SWB_MSG_RELEASE:
    case SWB_MSG_REVOKE:
    case SWB_MSG_ACCEPT:
        m->u.lease.id = 1009;
        m->u.lease.lease = 45;
        break;
    case SWB_MSG_REJECT:
        m->u.fail.id = 1010;
        m->u.fail.lease = 46;
        m->u.fail.reason = xstrdup("wrong language");
        m->u.fail.final = true;
        break;
    case SWB_MSG_STATE:
    case SWB_MSG_AGENT_STATE:
        m->u.state.req = 19;
        m->u.state.agent = xstrdup("agent-7");
        m->u.state.state = xstrdup("not-ready");
        m->u.state.reason = xstrdup("lunch");
        break;
    case SWB_MSG_AGENTS:
    case SWB_MSG_AGENT_LIST: {
        swb_agent_info_t *v = xcalloc(2, sizeof *v);
        for (int i = 0; i < 2; i++) {
            v[i].agent = xstrdup(i ? "agent-8" : "agent-7");
            v[i].site = xstrdup("mnl-1");
            v[i].state = xstrdup("break");
            v[i].reason = xstrdup("coffee");
            v[i].since = 1795424000000u;
            add_str(&v[i].channels, "email");
            v[i].held = 2;
            v[i].missed = 1;
            v[i].connected = true;
        }
        m->u.agents.req = 20;
        m->u.agents.site = xstrdup("mnl-1");
        m->u.agents.agents.v = v;
        m->u.agents.agents.n = 2;
        break;
    }
    case SWB_MSG_STATS:
        m->u.stats.req = 21;
        m->u.stats.site = xstrdup("mnl-1");
        break;
    case SWB_MSG_SITES:
        m->u.stats.req = 22;
        break;
    case SWB_MSG_STATS_REPLY:
    case SWB_MSG_SITES_REPLY:
        m->u.stats.req = 23;
        m->u.stats.json = xstrdup("{\"version\":1,\"region\":{\"name\":"
                                  "\"manila\",\"tz\":\"Asia/Manila\"}}");
        break;
    case SWB_MSG_PEER_HELLO: {
        swb_idref_t *v = xcalloc(2, sizeof *v);
        v[0].id = 77;
        v[0].seq = 1;
        v[1].id = 78;
        v[1].seq = 3;
        m->u.peer_hello.region = xstrdup("manila");
        m->u.peer_hello.reclaimed.v = v;
        m->u.peer_hello.reclaimed.n = 2;
        break;
    }
    case SWB_MSG_ADVERT: {
        swb_cap_t *v = xcalloc(2, sizeof *v);
        for (int i = 0; i < 2; i++) {
            v[i].site = xstrdup(i ? "krk-2" : "krk-1");
            v[i].country = xstrdup("PL");
            add_str(&v[i].channels, "email");
            add_level(&v[i].speaks, "pl", 6);
            add_level(&v[i].writes, "pl", 5);
            add_level(&v[i].skills, "banking", 2);
            add_str(&v[i].sponsors, "acme");
            v[i].open = true;
            v[i].agents = 12;
            v[i].ready = 3;
            v[i].waiting = 7;
            v[i].wait = 45000;
        }
        m->u.advert.region = xstrdup("krakow");
        m->u.advert.seq = 99;
        m->u.advert.classes.v = v;
        m->u.advert.classes.n = 2;
        break;
    }
    case SWB_MSG_FORWARD:
        m->u.forward.id = 1011;
        m->u.forward.seq = 2;
        m->u.forward.created = 1795424000000u;
        m->u.forward.task = new_spec(2);
        break;
    case SWB_MSG_FORWARDED:
    case SWB_MSG_START:
    case SWB_MSG_GO:
    case SWB_MSG_RESULT_ACK:
    case SWB_MSG_RECLAIMED:
    case SWB_MSG_PEER_CANCEL:
        m->u.hand.id = 1012;
        m->u.hand.peer_id = 31;
        m->u.hand.seq = 4;
        m->u.hand.ok = true;
        break;
    case SWB_MSG_RESULT:
        m->u.task.req = 24;
        m->u.task.task = new_task(1013);
        set_bytes(&m->u.task.result, result_bytes, sizeof result_bytes);
        break;
    case SWB_MSG_COUNT:
        break;
    }
}

/* ---- schema-driven checks (independent of the codec's own walks) ------- */

#define FIELD_AT(obj, f) ((const char *)(obj) + (f)->offset)

static bool
field_zero(const swb_field_t *f, const void *obj)
{
    const char *p = FIELD_AT(obj, f);
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

/* Asserts that every field of the schema (recursively) is non-zero, so
 * that the fixtures above really cover every field. */
static void
assert_all_filled(const swb_schema_t *sc, const void *obj, const char *path)
{
    for (size_t i = 0; i < sc->nfields; i++) {
        const swb_field_t *f = &sc->fields[i];
        char sub[128];
        snprintf(sub, sizeof sub, "%s.%s", path, f->name);
        if (field_zero(f, obj))
            SWBT_FAIL_("fixture leaves %s empty", sub);
        if (f->type == SWB_F_STRUCT)
            assert_all_filled(f->sub, *(void *const *)FIELD_AT(obj, f), sub);
        if (f->type == SWB_F_LIST) {
            const swb_list_t *l = (const swb_list_t *)FIELD_AT(obj, f);
            for (size_t k = 0; k < l->n; k++)
                assert_all_filled(f->sub,
                                  (const char *)l->v + k * f->sub->size, sub);
        }
    }
}

/* Compares a and b field by field per schema; on a difference writes its
 * path into `where` and returns false. */
static bool
same(const swb_schema_t *sc, const void *a, const void *b, const char *path,
     char *where, size_t wn)
{
    for (size_t i = 0; i < sc->nfields; i++) {
        const swb_field_t *f = &sc->fields[i];
        const char *pa = FIELD_AT(a, f), *pb = FIELD_AT(b, f);
        char sub[128];
        bool ok = true;
        snprintf(sub, sizeof sub, "%s.%s", path, f->name);
        switch (f->type) {
        case SWB_F_U64:
            ok = *(const uint64_t *)pa == *(const uint64_t *)pb;
            break;
        case SWB_F_BOOL:
            ok = *(const bool *)pa == *(const bool *)pb;
            break;
        case SWB_F_STR: {
            const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
            ok = (!sa && !sb) || (sa && sb && strcmp(sa, sb) == 0);
            break;
        }
        case SWB_F_BIN: {
            const swb_bytes_t *ba = (const void *)pa, *bb = (const void *)pb;
            ok = ba->len == bb->len &&
                 (ba->len == 0 || memcmp(ba->data, bb->data, ba->len) == 0);
            break;
        }
        case SWB_F_STRS: {
            const swb_strs_t *sa = (const void *)pa, *sb = (const void *)pb;
            ok = sa->n == sb->n;
            for (size_t k = 0; ok && k < sa->n; k++)
                ok = strcmp(sa->v[k], sb->v[k]) == 0;
            break;
        }
        case SWB_F_LEVELS: {
            const swb_levels_t *la = (const void *)pa, *lb = (const void *)pb;
            ok = la->n == lb->n;
            for (size_t k = 0; ok && k < la->n; k++)
                ok = strcmp(la->v[k].name, lb->v[k].name) == 0 &&
                     la->v[k].level == lb->v[k].level;
            break;
        }
        case SWB_F_STRUCT: {
            const void *sa = *(void *const *)pa, *sb = *(void *const *)pb;
            if (!sa || !sb)
                ok = !sa && !sb;
            else if (!same(f->sub, sa, sb, sub, where, wn))
                return false;
            break;
        }
        case SWB_F_LIST: {
            const swb_list_t *la = (const void *)pa, *lb = (const void *)pb;
            ok = la->n == lb->n;
            for (size_t k = 0; ok && k < la->n; k++) {
                char item[160];
                snprintf(item, sizeof item, "%s[%zu]", sub, k);
                if (!same(f->sub, (const char *)la->v + k * f->sub->size,
                          (const char *)lb->v + k * f->sub->size, item, where,
                          wn))
                    return false;
            }
            break;
        }
        }
        if (!ok) {
            snprintf(where, wn, "%s", sub);
            return false;
        }
    }
    return true;
}

static bool
bytes_eq(const void *a, size_t an, const void *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

/* ---- round trips --------------------------------------------------------- */

static void
round_trip_one(swb_msg_type_t type)
{
    swb_msg_t m, d;
    swb_decode_err_t err = {0};
    void *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    char where[160] = "";
    const swb_schema_t *sc = swb_msg_schema(type);

    ASSERT_TRUE(sc != NULL);
    fill_msg(&m, type);
    assert_all_filled(sc, &m.u, swb_msg_name(type));
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    swb_err_t rc = swb_msg_decode(buf, len, &d, &err);
    if (rc)
        fprintf(stderr, "  decode: %s: %s\n", err.field, err.message);
    ASSERT_INT_EQ(rc, SWB_OK);
    ASSERT_INT_EQ(d.type, type);
    bool eq = same(sc, &m.u, &d.u, swb_msg_name(type), where, sizeof where);
    if (!eq)
        fprintf(stderr, "  differs at %s\n", where);
    ASSERT_TRUE(eq);
    ASSERT_INT_EQ(swb_msg_encode(&d, &buf2, &len2), SWB_OK);
    ASSERT_TRUE(bytes_eq(buf, len, buf2, len2));
    swb_msg_clear(&m);
    swb_msg_clear(&d);
    free(buf);
    free(buf2);
}

static void
test_round_trip_every_message(void)
{
    for (int t = 0; t < SWB_MSG_COUNT; t++) {
        int before = swbt_failed;
        round_trip_one((swb_msg_type_t)t);
        if (swbt_failed > before) {
            fprintf(stderr, "  (message %s)\n", swb_msg_name(t));
            return;
        }
    }
}

/* The payload's NUL bytes and the nested values survive, checked by hand
 * rather than through the schema tables. */
static void
test_round_trip_spot_checks(void)
{
    swb_msg_t m, d;
    swb_decode_err_t err = {0};
    void *buf = NULL;
    size_t len = 0;

    fill_msg(&m, SWB_MSG_TASKS);
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    ASSERT_INT_EQ(swb_msg_decode(buf, len, &d, &err), SWB_OK);
    ASSERT_INT_EQ(d.u.tasks.tasks.n, 3);
    const swb_task_t *t = (const swb_task_t *)d.u.tasks.tasks.v + 2;
    ASSERT_INT_EQ(t->id, 2002);
    ASSERT_INT_EQ(t->lease, 7700 + 2002);
    ASSERT_STR_EQ(t->reason, "handler exited with 3: \"disk full\"");
    ASSERT_TRUE(t->spec != NULL);
    ASSERT_STR_EQ(t->spec->channel, "email");
    ASSERT_INT_EQ(t->spec->payload.len, sizeof payload_bytes);
    ASSERT_TRUE(memcmp(t->spec->payload.data, payload_bytes,
                       sizeof payload_bytes) == 0);
    ASSERT_INT_EQ(t->spec->lang.n, 2);
    ASSERT_STR_EQ(t->spec->lang.v[1].name, "es");
    ASSERT_INT_EQ(t->spec->lang.v[1].level, 4);
    ASSERT_TRUE(swb_levels_find(&t->spec->skills, "db-maintenance") != NULL);
    ASSERT_INT_EQ(swb_levels_find(&t->spec->skills, "db-maintenance")->level,
                  2);
    ASSERT_TRUE(swb_levels_find(&t->spec->skills, "cooking") == NULL);
    ASSERT_TRUE(swb_strs_has(&t->spec->countries, "IN"));
    ASSERT_TRUE(!swb_strs_has(&t->spec->countries, "US"));
    ASSERT_TRUE(d.u.tasks.more);
    swb_msg_clear(&m);
    swb_msg_clear(&d);
    free(buf);

    fill_msg(&m, SWB_MSG_HELLO);
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    ASSERT_INT_EQ(swb_msg_decode(buf, len, &d, &err), SWB_OK);
    ASSERT_INT_EQ(d.u.hello.holding.n, 2);
    const swb_hold_t *h = d.u.hello.holding.v;
    ASSERT_INT_EQ(h[1].id, 3002);
    ASSERT_INT_EQ(h[1].lease, 42);
    ASSERT_STR_EQ(d.u.hello.channels.v[1], "voice.inbound");
    swb_msg_clear(&m);
    swb_msg_clear(&d);
    free(buf);
}

/* Stored records: swb_codec_encode/decode/copy of a task and a spec. */
static void
test_round_trip_records(void)
{
    swb_task_t t = {0}, d = {0}, c = {0};
    swb_decode_err_t err = {0};
    void *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    char where[160] = "";

    fill_task(&t, 5);
    ASSERT_INT_EQ(swb_codec_encode(&swb_task_schema, &t, &buf, &len), SWB_OK);
    ASSERT_INT_EQ(swb_codec_decode(&swb_task_schema, buf, len, &d, &err),
                  SWB_OK);
    ASSERT_TRUE(same(&swb_task_schema, &t, &d, "task", where, sizeof where));
    ASSERT_INT_EQ(swb_codec_copy(&swb_task_schema, &c, &d), SWB_OK);
    ASSERT_TRUE(same(&swb_task_schema, &t, &c, "task", where, sizeof where));
    ASSERT_INT_EQ(swb_codec_encode(&swb_task_schema, &c, &buf2, &len2),
                  SWB_OK);
    ASSERT_TRUE(bytes_eq(buf, len, buf2, len2));
    free(buf2);
    buf2 = NULL;

    /* an empty key first in a record: msgpack-c gives it a NULL ptr */
    static const uint8_t empty_key[] = {0x81, 0xa0, 0x01};
    swb_task_spec_t e = {0};
    ASSERT_INT_EQ(swb_codec_decode(&swb_task_spec_schema, empty_key,
                                   sizeof empty_key, &e, &err), SWB_EINVAL);
    ASSERT_STR_CONTAINS(err.message, "unknown field");
    swb_codec_free(&swb_task_spec_schema, &e);
    static const uint8_t empty_str[] = {0x93, 0x01, 0xa0, 0x80};
    swb_msg_t dm;
    ASSERT_INT_EQ(swb_msg_decode(empty_str, sizeof empty_str, &dm, &err),
                  SWB_EINVAL);
    ASSERT_STR_EQ(err.field, "command");

    /* the spec alone, as swb_task_spec_schema */
    swb_task_spec_t s = {0};
    ASSERT_INT_EQ(swb_codec_encode(&swb_task_spec_schema, t.spec, &buf2,
                                   &len2), SWB_OK);
    ASSERT_INT_EQ(swb_codec_decode(&swb_task_spec_schema, buf2, len2, &s,
                                   &err), SWB_OK);
    ASSERT_TRUE(same(&swb_task_spec_schema, t.spec, &s, "task", where,
                     sizeof where));
    swb_codec_free(&swb_task_spec_schema, &s);
    swb_codec_free(&swb_task_schema, &t);
    swb_codec_free(&swb_task_schema, &d);
    swb_codec_free(&swb_task_schema, &c);
    /* free zeroes, so freeing twice is harmless */
    swb_codec_free(&swb_task_schema, &c);
    ASSERT_TRUE(t.spec == NULL && t.state == NULL);
    free(buf);
    free(buf2);
}

/* Exact bytes: the envelope, and optional zero fields left out. */
static void
test_minimal_encoding(void)
{
    static const uint8_t heartbeat[] = {0x93, 0x01, 0xa9, 'h', 'e', 'a', 'r',
                                        't', 'b', 'e', 'a', 't', 0x80};
    static const uint8_t submit[] = {
        0x93, 0x01, 0xa6, 's', 'u', 'b', 'm', 'i', 't', 0x81, 0xa4, 't',
        'a',  's',  'k',  0x81, 0xa7, 'c', 'h', 'a', 'n', 'n', 'e', 'l',
        0xa5, 'e',  'm',  'a',  'i',  'l'};
    swb_msg_t m = {0};
    void *buf = NULL;
    size_t len = 0;

    m.type = SWB_MSG_HEARTBEAT;
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    ASSERT_TRUE(bytes_eq(buf, len, heartbeat, sizeof heartbeat));
    free(buf);

    swb_task_spec_t spec = {0};
    spec.channel = "email"; /* borrowed: not freed below */
    m.type = SWB_MSG_SUBMIT;
    m.u.submit.task = &spec;
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    ASSERT_TRUE(bytes_eq(buf, len, submit, sizeof submit));
    free(buf);

    /* explicit zero values decode like absent ones */
    swb_msg_t d;
    swb_decode_err_t err = {0};
    static const uint8_t zeros[] = {
        0x93, 0x01, 0xa4, 'd', 'o', 'n', 'e', 0x84, 0xa2, 'i', 'd', 0x00,
        0xa5, 'l', 'e', 'a', 's', 'e', 0x00, 0xa6, 'r', 'e', 's', 'u', 'l',
        't', 0xc4, 0x00, 0xa3, 'r', 'e', 'q', 0xc0};
    /* "req" is no field of DONE */
    ASSERT_INT_EQ(swb_msg_decode(zeros, sizeof zeros, &d, &err), SWB_EINVAL);
    ASSERT_STR_EQ(err.field, "req");
    ASSERT_INT_EQ(swb_msg_decode(zeros, sizeof zeros - 5, &d, &err),
                  SWB_EDECODE); /* a map of 4 with 3 entries */
    uint8_t three[sizeof zeros];
    memcpy(three, zeros, sizeof zeros);
    three[7] = 0x83;
    ASSERT_INT_EQ(swb_msg_decode(three, sizeof zeros - 5, &d, &err), SWB_OK);
    ASSERT_INT_EQ(d.type, SWB_MSG_DONE);
    ASSERT_INT_EQ(d.u.done.id, 0);
    ASSERT_INT_EQ(d.u.done.result.len, 0);
    swb_msg_clear(&d);

    /* names and schemas of out-of-range types */
    ASSERT_STR_EQ(swb_msg_name(SWB_MSG_COUNT), "?");
    ASSERT_TRUE(swb_msg_schema(SWB_MSG_COUNT) == NULL);
    m.type = SWB_MSG_COUNT;
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_EINVAL);
    swb_msg_clear(&m); /* out of range: does nothing */
    swb_msg_clear(NULL);
    for (int a = 0; a < SWB_MSG_COUNT; a++)
        for (int b = a + 1; b < SWB_MSG_COUNT; b++)
            ASSERT_TRUE(strcmp(swb_msg_name(a), swb_msg_name(b)) != 0);
}

/* ---- truncated, trailing and hostile input ------------------------------ */

/* Every proper prefix of buf must fail with SWB_EDECODE, as a message and
 * (when schema is set) as a record. Each prefix is in its own exact-size
 * allocation so that ASan sees any read past it. */
static void
assert_every_prefix_fails(const void *buf, size_t len,
                          const swb_schema_t *schema)
{
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *p = malloc(cut ? cut : 1);
        ASSERT_TRUE(p != NULL);
        memcpy(p, buf, cut);
        swb_msg_t d;
        swb_decode_err_t err = {0};
        swb_err_t rc = swb_msg_decode(p, cut, &d, &err);
        swb_msg_clear(&d);
        swb_err_t rc2 = SWB_EDECODE;
        swb_decode_err_t err2 = {0};
        if (schema) {
            void *obj = xcalloc(1, schema->size);
            rc2 = swb_codec_decode(schema, p, cut, obj, &err2);
            swb_codec_free(schema, obj);
            free(obj);
        } else {
            err2.code = SWB_EDECODE;
        }
        free(p);
        if (rc != SWB_EDECODE || err.code != SWB_EDECODE ||
            rc2 != SWB_EDECODE || err2.code != SWB_EDECODE)
            fprintf(stderr, "  cut at %zu of %zu: %s / %s\n", cut, len,
                    err.message, err2.message);
        ASSERT_INT_EQ(rc, SWB_EDECODE);
        ASSERT_INT_EQ(err.code, SWB_EDECODE);
        ASSERT_INT_EQ(rc2, SWB_EDECODE);
        ASSERT_INT_EQ(err2.code, SWB_EDECODE);
    }
}

static void
test_truncated_at_every_byte(void)
{
    static const swb_msg_type_t types[] = {
        SWB_MSG_SUBMIT, SWB_MSG_TASK,  SWB_MSG_TASKS, SWB_MSG_HELLO,
        SWB_MSG_ERROR,  SWB_MSG_DONE,  SWB_MSG_FAIL,  SWB_MSG_HEARTBEAT};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        swb_msg_t m;
        void *buf = NULL;
        size_t len = 0;
        fill_msg(&m, types[i]);
        swb_err_t rc = swb_msg_encode(&m, &buf, &len);
        swb_msg_clear(&m);
        ASSERT_INT_EQ(rc, SWB_OK);
        int before = swbt_failed;
        assert_every_prefix_fails(buf, len, NULL);
        free(buf);
        if (swbt_failed > before) {
            fprintf(stderr, "  (message %s)\n", swb_msg_name(types[i]));
            return;
        }
    }
    /* a stored task record, also through swb_codec_decode */
    swb_task_t t = {0};
    void *buf = NULL;
    size_t len = 0;
    fill_task(&t, 9);
    swb_err_t rc = swb_codec_encode(&swb_task_schema, &t, &buf, &len);
    swb_codec_free(&swb_task_schema, &t);
    ASSERT_INT_EQ(rc, SWB_OK);
    assert_every_prefix_fails(buf, len, &swb_task_schema);
    free(buf);
}

static void
test_trailing_bytes(void)
{
    swb_msg_t m, d;
    swb_decode_err_t err = {0};
    void *buf = NULL;
    size_t len = 0;

    fill_msg(&m, SWB_MSG_DONE);
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    swb_msg_clear(&m);
    uint8_t *two = malloc(2 * len);
    ASSERT_TRUE(two != NULL);
    memcpy(two, buf, len);
    memcpy(two + len, buf, len);
    /* one extra nil byte, then a whole second message */
    two[len] = 0xc0;
    ASSERT_INT_EQ(swb_msg_decode(two, len + 1, &d, &err), SWB_EDECODE);
    ASSERT_STR_CONTAINS(err.message, "trailing");
    memcpy(two + len, buf, len);
    ASSERT_INT_EQ(swb_msg_decode(two, 2 * len, &d, &err), SWB_EDECODE);
    ASSERT_STR_CONTAINS(err.message, "trailing");
    ASSERT_INT_EQ(swb_codec_check(two, 2 * len, &err), SWB_EDECODE);
    /* the message itself is fine */
    ASSERT_INT_EQ(swb_msg_decode(two, len, &d, &err), SWB_OK);
    swb_msg_clear(&d);
    free(two);
    free(buf);
}

/* Decodes buf[0..n) as a message and as a task record; both must fail with
 * `code` and allocate nothing near the claimed size. */
static void
assert_hostile(const uint8_t *src, size_t n, swb_err_t code)
{
    uint8_t *buf = malloc(n);
    ASSERT_TRUE(buf != NULL);
    memcpy(buf, src, n);
    swb_msg_t d;
    swb_task_t t = {0};
    swb_decode_err_t err = {0}, err2 = {0};
    alloc_watch_reset();
    swb_err_t rc = swb_msg_decode(buf, n, &d, &err);
    swb_msg_clear(&d);
    swb_err_t rc2 = swb_codec_decode(&swb_task_schema, buf, n, &t, &err2);
    swb_codec_free(&swb_task_schema, &t);
    swb_err_t rc3 = swb_codec_check(buf, n, NULL); /* err may be NULL */
    size_t largest = alloc_watch_largest();
    free(buf);
    ASSERT_INT_EQ(rc, code);
    ASSERT_INT_EQ(err.code, code);
    ASSERT_INT_EQ(rc2, code);
    ASSERT_INT_EQ(rc3, code);
    ASSERT_TRUE(err.message[0] != 0);
    ASSERT_TRUE(largest < 4096);
}

static void
test_hostile_lengths(void)
{
    /* 2^32-1 items or bytes claimed, a few bytes given */
    static const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
    static const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
    static const uint8_t str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b'};
    static const uint8_t bin32[] = {0xc6, 0xff, 0xff, 0xff, 0xff, 0, 1};
    static const uint8_t map32h[] = {0xdf, 0x80, 0x00, 0x00, 0x00, 0xc0};
    static const uint8_t arr16[] = {0xdc, 0xff, 0xff, 0xc0, 0xc0};
    static const uint8_t str8[] = {0xd9, 0xff, 'a', 'b'};
    static const uint8_t str8h[] = {0xd9}; /* length byte missing */
    static const uint8_t u64h[] = {0xcf, 0, 0, 0, 0}; /* 4 of 8 bytes */
    /* [1, "submit", {"task": {"payload": bin32 of 2^32-1}}] */
    static const uint8_t in_body[] = {
        0x93, 0x01, 0xa6, 's', 'u', 'b', 'm', 'i', 't', 0x81, 0xa4, 't',
        'a', 's', 'k', 0x81, 0xa7, 'p', 'a', 'y', 'l', 'o', 'a', 'd',
        0xc6, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00};
    /* [1, "tasks", {"tasks": array32 of 2^32-1}] */
    static const uint8_t in_list[] = {
        0x93, 0x01, 0xa5, 't', 'a', 's', 'k', 's', 0x81, 0xa5, 't', 'a',
        's', 'k', 's', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x80};
    /* [1, "hello", {"site": str32 of 2^32-1}] */
    static const uint8_t in_str[] = {
        0x93, 0x01, 0xa5, 'h', 'e', 'l', 'l', 'o', 0x81, 0xa4, 's', 'i',
        't', 'e', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'};
    /* an array header of 2^32-1 as the whole envelope */
    static const uint8_t env32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
#define HOSTILE(a) assert_hostile(a, sizeof a, SWB_EDECODE)
    HOSTILE(arr32);
    HOSTILE(map32);
    HOSTILE(str32);
    HOSTILE(bin32);
    HOSTILE(map32h);
    HOSTILE(arr16);
    HOSTILE(str8);
    HOSTILE(str8h);
    HOSTILE(u64h);
    HOSTILE(in_body);
    HOSTILE(in_list);
    HOSTILE(in_str);
    HOSTILE(env32);
#undef HOSTILE

    swb_decode_err_t err = {0};
    ASSERT_INT_EQ(swb_codec_check(in_body, sizeof in_body, &err), SWB_EDECODE);
    ASSERT_STR_CONTAINS(err.message, "runs past the end");
    ASSERT_INT_EQ(swb_codec_check(in_list, sizeof in_list, &err), SWB_EDECODE);
    ASSERT_STR_CONTAINS(err.message, "exceeds");
    /* empty frame */
    swb_msg_t d;
    ASSERT_INT_EQ(swb_msg_decode("", 0, &d, &err), SWB_EDECODE);
    ASSERT_INT_EQ(swb_codec_check(NULL, 0, &err), SWB_EDECODE);
}

/* n nested arrays, the innermost holding `inner` (or empty when 0). */
static uint8_t *
nested(int n, uint8_t inner, size_t *len)
{
    uint8_t *p = malloc((size_t)n + 1);
    if (!p)
        abort();
    for (int i = 0; i < n; i++)
        p[i] = i == n - 1 && !inner ? 0x90 : 0x91;
    *len = (size_t)n;
    if (inner)
        p[(*len)++] = inner;
    return p;
}

static void
test_depth_limit(void)
{
    swb_decode_err_t err = {0};
    size_t len;
    uint8_t *p;

    p = nested(SWB_CODEC_MAX_DEPTH, 0x01, &len);
    ASSERT_INT_EQ(swb_codec_check(p, len, &err), SWB_OK);
    free(p);
    p = nested(SWB_CODEC_MAX_DEPTH, 0, &len);
    ASSERT_INT_EQ(swb_codec_check(p, len, &err), SWB_OK);
    free(p);
    p = nested(SWB_CODEC_MAX_DEPTH + 1, 0x01, &len);
    ASSERT_INT_EQ(swb_codec_check(p, len, &err), SWB_EDECODE);
    ASSERT_STR_CONTAINS(err.message, "deeper");
    free(p);
    /* an empty array is a level too */
    p = nested(SWB_CODEC_MAX_DEPTH + 1, 0, &len);
    ASSERT_INT_EQ(swb_codec_check(p, len, &err), SWB_EDECODE);
    free(p);
    p = nested(200, 0x01, &len);
    ASSERT_INT_EQ(swb_codec_check(p, len, &err), SWB_EDECODE);
    free(p);

    /* too deep inside a message: [1, "list", {"state": [[[[[[[1]]]]]]]}]
     * puts the innermost array at depth 9 */
    uint8_t msg[64] = {0x93, 0x01, 0xa4, 'l', 'i', 's', 't', 0x81, 0xa5, 's',
                       't', 'a', 't', 'e'};
    size_t n = 14;
    for (int i = 0; i < SWB_CODEC_MAX_DEPTH - 1; i++)
        msg[n++] = 0x91;
    msg[n++] = 0x01;
    swb_msg_t d;
    ASSERT_INT_EQ(swb_msg_decode(msg, n, &d, &err), SWB_EDECODE);
    ASSERT_STR_CONTAINS(err.message, "deeper");
    /* one level less: well formed, but state must be a string */
    memmove(msg + 14, msg + 15, n - 15);
    ASSERT_INT_EQ(swb_msg_decode(msg, n - 1, &d, &err), SWB_EINVAL);
    ASSERT_STR_EQ(err.field, "state");
    swb_msg_clear(&d);
}

static void
test_object_limit(void)
{
    swb_decode_err_t err = {0};
    /* array32 of k nils: 1 + k objects */
    size_t k = SWB_CODEC_MAX_OBJECTS;
    uint8_t *p = malloc(5 + k);
    ASSERT_TRUE(p != NULL);
    p[0] = 0xdd;
    p[1] = (uint8_t)(k >> 24);
    p[2] = (uint8_t)(k >> 16);
    p[3] = (uint8_t)(k >> 8);
    p[4] = (uint8_t)k;
    memset(p + 5, 0xc0, k);
    swb_err_t rc = swb_codec_check(p, 5 + k, &err);
    swb_msg_t d;
    swb_err_t rc2 = swb_msg_decode(p, 5 + k, &d, NULL);
    /* exactly the limit: 1 + (k - 1) objects */
    k--;
    p[4] = (uint8_t)k;
    p[3] = (uint8_t)(k >> 8);
    p[2] = (uint8_t)(k >> 16);
    swb_err_t rc3 = swb_codec_check(p, 5 + k, NULL);
    free(p);
    ASSERT_INT_EQ(rc, SWB_ETOOBIG);
    ASSERT_STR_CONTAINS(err.message, "objects");
    ASSERT_INT_EQ(rc2, SWB_ETOOBIG);
    ASSERT_INT_EQ(rc3, SWB_OK);
}

static void
test_frame_limit(void)
{
    swb_decode_err_t err = {0};
    size_t n = SWB_CODEC_MAX_FRAME;
    uint8_t *p = malloc(n + 1);
    ASSERT_TRUE(p != NULL);
    /* one bin32 filling exactly the limit is fine */
    size_t body = n - 5;
    p[0] = 0xc6;
    p[1] = (uint8_t)(body >> 24);
    p[2] = (uint8_t)(body >> 16);
    p[3] = (uint8_t)(body >> 8);
    p[4] = (uint8_t)body;
    memset(p + 5, 'x', body + 1);
    swb_err_t rc = swb_codec_check(p, n, &err);
    swb_err_t rc2 = swb_codec_check(p, n + 1, &err);
    free(p);
    ASSERT_INT_EQ(rc, SWB_OK);
    ASSERT_INT_EQ(rc2, SWB_ETOOBIG);
    ASSERT_STR_CONTAINS(err.message, "over the limit");

    /* a DONE with a result of exactly SWB_MAX_PAYLOAD bytes, then one more */
    swb_msg_t m = {0}, d;
    void *buf = NULL;
    size_t len = 0;
    m.type = SWB_MSG_DONE;
    m.u.done.id = 1;
    m.u.done.lease = 2;
    m.u.done.result.len = SWB_MAX_PAYLOAD;
    m.u.done.result.data = calloc(1, SWB_MAX_PAYLOAD + 1);
    ASSERT_TRUE(m.u.done.result.data != NULL);
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    alloc_watch_reset();
    rc = swb_msg_decode(buf, len, &d, &err);
    ASSERT_INT_EQ(rc, SWB_OK);
    ASSERT_INT_EQ(d.u.done.result.len, SWB_MAX_PAYLOAD);
    /* the watch works: it saw the result's copy */
    if (alloc_watch_on())
        ASSERT_INT_GE(alloc_watch_largest(), SWB_MAX_PAYLOAD);
    swb_msg_clear(&d);
    free(buf);
    m.u.done.result.len++;
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    swb_msg_clear(&m);
    rc = swb_msg_decode(buf, len, &d, &err);
    free(buf);
    ASSERT_INT_EQ(rc, SWB_ETOOBIG);
    ASSERT_STR_EQ(err.field, "result");
}

static void
test_bad_type_bytes(void)
{
    static const uint8_t c1[] = {0xc1};
    static const uint8_t c1_in_arr[] = {0x93, 0x01, 0xc1, 0x80};
    static const uint8_t fixext1[] = {0xd4, 0x01, 0x00};
    static const uint8_t fixext2[] = {0xd5, 0x01, 0x00, 0x00};
    static const uint8_t fixext4[] = {0xd6, 0x01, 0, 0, 0, 0};
    static const uint8_t fixext8[] = {0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t fixext16[] = {0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0,    0,    0, 0, 0, 0, 0, 0};
    static const uint8_t ext8[] = {0xc7, 0x01, 0x01, 0x00};
    static const uint8_t ext16[] = {0xc8, 0x00, 0x01, 0x01, 0x00};
    static const uint8_t ext32[] = {0xc9, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00};
    /* timestamp ext (-1) as a payload inside a real message */
    static const uint8_t ext_in_body[] = {
        0x93, 0x01, 0xa4, 'd', 'o', 'n', 'e', 0x83, 0xa2, 'i', 'd', 0x01,
        0xa5, 'l', 'e', 'a', 's', 'e', 0x01, 0xa6, 'r', 'e', 's', 'u', 'l',
        't', 0xd6, 0xff, 0, 0, 0, 0};
#define BAD(a) assert_hostile(a, sizeof a, SWB_EDECODE)
    BAD(c1);
    BAD(c1_in_arr);
    BAD(fixext1);
    BAD(fixext2);
    BAD(fixext4);
    BAD(fixext8);
    BAD(fixext16);
    BAD(ext8);
    BAD(ext16);
    BAD(ext32);
    BAD(ext_in_body);
#undef BAD
    swb_decode_err_t err = {0};
    ASSERT_INT_EQ(swb_codec_check(c1_in_arr, sizeof c1_in_arr, &err),
                  SWB_EDECODE);
    ASSERT_STR_CONTAINS(err.message, "0xc1");
}

/* ---- schema errors -------------------------------------------------------- */

/* A message written by hand, for shapes the encoder would never make. */
typedef struct mb {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} mb_t;

/* [version, command, {body of nbody entries...] */
static void
mb_begin_v(mb_t *b, uint64_t version, const char *cmd, uint32_t nbody)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
    msgpack_pack_array(&b->pk, 3);
    msgpack_pack_uint64(&b->pk, version);
    msgpack_pack_str(&b->pk, strlen(cmd));
    msgpack_pack_str_body(&b->pk, cmd, strlen(cmd));
    msgpack_pack_map(&b->pk, nbody);
}

static void
mb_begin(mb_t *b, const char *cmd, uint32_t nbody)
{
    mb_begin_v(b, SWB_PROTO_VERSION, cmd, nbody);
}

static void
mb_strn(mb_t *b, const char *s, size_t n)
{
    msgpack_pack_str(&b->pk, n);
    msgpack_pack_str_body(&b->pk, s, n);
}

static void
mb_str(mb_t *b, const char *s)
{
    mb_strn(b, s, strlen(s));
}

static void
mb_u(mb_t *b, uint64_t v)
{
    msgpack_pack_uint64(&b->pk, v);
}

static void
mb_i(mb_t *b, int64_t v)
{
    msgpack_pack_int64(&b->pk, v);
}

static void
mb_map(mb_t *b, uint32_t n)
{
    msgpack_pack_map(&b->pk, n);
}

static void
mb_arr(mb_t *b, uint32_t n)
{
    msgpack_pack_array(&b->pk, n);
}

/* "key": "value" */
static void
mb_kv(mb_t *b, const char *k, const char *v)
{
    mb_str(b, k);
    mb_str(b, v);
}

/* "key": uint */
static void
mb_ku(mb_t *b, const char *k, uint64_t v)
{
    mb_str(b, k);
    mb_u(b, v);
}

/* Decodes what b holds and checks the error code, the field path and a
 * piece of the message (NULL: any); then frees everything. */
static void
mb_expect(mb_t *b, swb_err_t code, const char *field, const char *text)
{
    swb_msg_t d;
    swb_decode_err_t err = {0};
    uint8_t *buf = malloc(b->sb.size);
    if (!buf)
        abort();
    memcpy(buf, b->sb.data, b->sb.size);
    size_t len = b->sb.size;
    msgpack_sbuffer_destroy(&b->sb);
    swb_err_t rc = swb_msg_decode(buf, len, &d, &err);
    free(buf);
    if (rc != code || (field && strcmp(err.field, field) != 0))
        fprintf(stderr, "  got %s field \"%s\": %s\n", swb_err_name(rc),
                err.field, err.message);
    if (rc == SWB_OK) {
        swb_msg_clear(&d);
    } else {
        /* a failed decode leaves the body empty */
        static const swb_msg_t zero;
        ASSERT_TRUE(memcmp(&d.u, &zero.u, sizeof zero.u) == 0);
    }
    ASSERT_INT_EQ(rc, code);
    ASSERT_INT_EQ(err.code, code);
    if (field)
        ASSERT_STR_EQ(err.field, field);
    if (text)
        ASSERT_STR_CONTAINS(err.message, text);
}

/* submit {"task": {"channel": "email", <one more entry written by fn>}} */
typedef void (*mb_fill_fn)(mb_t *b);

static void
submit_with(mb_t *b, mb_fill_fn extra)
{
    mb_begin(b, "submit", 1);
    mb_str(b, "task");
    mb_map(b, 2);
    mb_kv(b, "channel", "email");
    extra(b);
}

static void x_colour(mb_t *b) { mb_kv(b, "colour", "red"); }
static void x_dup_channel(mb_t *b) { mb_kv(b, "channel", "chat"); }
static void x_prio_5000(mb_t *b) { mb_ku(b, "priority", 5000); }
static void x_prio_1000(mb_t *b) { mb_ku(b, "priority", 1000); }
static void x_prio_neg(mb_t *b) { mb_str(b, "priority"); mb_i(b, -1); }
static void x_prio_float(mb_t *b)
{
    mb_str(b, "priority");
    msgpack_pack_double(&b->pk, 1.5);
}
static void x_prio_str(mb_t *b) { mb_kv(b, "priority", "high"); }
static void x_sponsor_long(mb_t *b)
{
    char s[SWB_MAX_NAME + 2];
    memset(s, 'a', sizeof s - 1);
    s[sizeof s - 1] = 0;
    mb_kv(b, "sponsor", s);
}
static void x_sponsor_max(mb_t *b)
{
    char s[SWB_MAX_NAME + 1];
    memset(s, 'a', sizeof s - 1);
    s[sizeof s - 1] = 0;
    mb_kv(b, "sponsor", s);
}
static void x_sponsor_nul(mb_t *b) { mb_str(b, "sponsor"); mb_strn(b, "a\0b", 3); }
static void x_sponsor_ff(mb_t *b) { mb_kv(b, "sponsor", "ac\xffme"); }
static void x_sponsor_overlong(mb_t *b) { mb_kv(b, "sponsor", "\xc0\xaf"); }
static void x_sponsor_surrogate(mb_t *b) { mb_kv(b, "sponsor", "\xed\xa0\x80"); }
static void x_sponsor_cut(mb_t *b) { mb_kv(b, "sponsor", "euro\xe2\x82"); }
static void x_sponsor_big(mb_t *b) { mb_kv(b, "sponsor", "\xf4\x90\x80\x80"); }
static void x_sponsor_cont(mb_t *b) { mb_kv(b, "sponsor", "a\x80"); }
static void x_sponsor_utf8(mb_t *b)
{
    mb_kv(b, "sponsor", "Z\xc3\xbcrich \xe2\x82\xac \xf0\x9d\x84\x9e");
}
static void x_sponsor_bin(mb_t *b)
{
    mb_str(b, "sponsor");
    msgpack_pack_bin(&b->pk, 4);
    msgpack_pack_bin_body(&b->pk, "acme", 4);
}
static void x_lang_str_level(mb_t *b)
{
    mb_str(b, "lang");
    mb_map(b, 1);
    mb_kv(b, "en", "C1");
}
static void x_lang_7(mb_t *b)
{
    mb_str(b, "lang");
    mb_map(b, 1);
    mb_ku(b, "en", 7);
}
static void x_lang_neg(mb_t *b)
{
    mb_str(b, "lang");
    mb_map(b, 1);
    mb_str(b, "en");
    mb_i(b, -2);
}
static void x_lang_dup(mb_t *b)
{
    mb_str(b, "lang");
    mb_map(b, 2);
    mb_ku(b, "en", 5);
    mb_ku(b, "en", 4);
}
static void x_lang_intkey(mb_t *b)
{
    mb_str(b, "lang");
    mb_map(b, 1);
    mb_u(b, 1);
    mb_u(b, 5);
}
static void x_lang_many(mb_t *b)
{
    mb_str(b, "lang");
    mb_map(b, 5);
    mb_ku(b, "en", 1);
    mb_ku(b, "es", 2);
    mb_ku(b, "fr", 3);
    mb_ku(b, "de", 4);
    mb_ku(b, "it", 5);
}
static void x_lang_array(mb_t *b)
{
    mb_str(b, "lang");
    mb_arr(b, 1);
    mb_str(b, "en");
}
static void x_skills_101(mb_t *b)
{
    mb_str(b, "skills");
    mb_map(b, 1);
    mb_ku(b, "banking", 101);
}
static void x_sites_int(mb_t *b)
{
    mb_str(b, "sites");
    mb_arr(b, 2);
    mb_str(b, "mnl-1");
    mb_u(b, 7);
}
static void x_sites_many(mb_t *b)
{
    mb_str(b, "sites");
    mb_arr(b, 65);
    for (int i = 0; i < 65; i++)
        mb_str(b, "s");
}
static void x_sites_str(mb_t *b) { mb_kv(b, "sites", "mnl-1"); }
static void x_payload_int(mb_t *b) { mb_ku(b, "payload", 3); }
static void x_payload_str(mb_t *b) { mb_kv(b, "payload", "{\"a\":1}"); }
static void x_attempts(mb_t *b) { mb_ku(b, "max_attempts", SWB_MAX_ATTEMPTS + 1); }
static void x_window_long(mb_t *b) { mb_kv(b, "window", "09:00-17:00x"); }
static void x_empty_key(mb_t *b) { mb_kv(b, "", "v"); }
static void x_sponsor_empty(mb_t *b) { mb_kv(b, "sponsor", ""); }
static void x_payload_empty(mb_t *b) { mb_kv(b, "payload", ""); }
static void x_nil_key(mb_t *b)
{
    msgpack_pack_nil(&b->pk);
    mb_u(b, 1);
}

static void
test_schema_errors_in_task(void)
{
    static const struct {
        mb_fill_fn fn;
        swb_err_t code;
        const char *field;
        const char *text;
    } cases[] = {
        {x_colour, SWB_EINVAL, "task.colour", "unknown field"},
        {x_dup_channel, SWB_EINVAL, "task.channel", "twice"},
        {x_prio_5000, SWB_ETOOBIG, "task.priority", "5000"},
        {x_prio_1000, SWB_OK, NULL, NULL},
        {x_prio_neg, SWB_EINVAL, "task.priority", "negative"},
        {x_prio_float, SWB_EINVAL, "task.priority", "float"},
        {x_prio_str, SWB_EINVAL, "task.priority", "unsigned integer"},
        {x_sponsor_long, SWB_ETOOBIG, "task.sponsor", "64"},
        {x_sponsor_max, SWB_OK, NULL, NULL},
        {x_sponsor_nul, SWB_EINVAL, "task.sponsor", "NUL"},
        {x_sponsor_ff, SWB_EINVAL, "task.sponsor", "UTF-8"},
        {x_sponsor_overlong, SWB_EINVAL, "task.sponsor", "UTF-8"},
        {x_sponsor_surrogate, SWB_EINVAL, "task.sponsor", "UTF-8"},
        {x_sponsor_cut, SWB_EINVAL, "task.sponsor", "UTF-8"},
        {x_sponsor_big, SWB_EINVAL, "task.sponsor", "UTF-8"},
        {x_sponsor_cont, SWB_EINVAL, "task.sponsor", "UTF-8"},
        {x_sponsor_utf8, SWB_OK, NULL, NULL},
        {x_sponsor_bin, SWB_EINVAL, "task.sponsor", "string"},
        {x_lang_str_level, SWB_EINVAL, "task.lang", "task.lang.en"},
        {x_lang_7, SWB_ETOOBIG, "task.lang", "limit of 6"},
        {x_lang_neg, SWB_EINVAL, "task.lang", "negative"},
        {x_lang_dup, SWB_EINVAL, "task.lang", "twice"},
        {x_lang_intkey, SWB_EINVAL, "task.lang", "string"},
        {x_lang_many, SWB_ETOOBIG, "task.lang", "5 items"},
        {x_lang_array, SWB_EINVAL, "task.lang", "map"},
        {x_skills_101, SWB_ETOOBIG, "task.skills", "101"},
        {x_sites_int, SWB_EINVAL, "task.sites", "string"},
        {x_sites_many, SWB_ETOOBIG, "task.sites", "65 items"},
        {x_sites_str, SWB_EINVAL, "task.sites", "array"},
        {x_payload_int, SWB_EINVAL, "task.payload", "bin or str"},
        {x_payload_str, SWB_OK, NULL, NULL},
        {x_attempts, SWB_ETOOBIG, "task.max_attempts", "101"},
        {x_window_long, SWB_ETOOBIG, "task.window", "11"},
        {x_nil_key, SWB_EINVAL, "task", "keys must be strings"},
        {x_empty_key, SWB_EINVAL, "task.", "unknown field"},
        {x_sponsor_empty, SWB_OK, NULL, NULL},
        {x_payload_empty, SWB_OK, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mb_t b;
        int before = swbt_failed;
        submit_with(&b, cases[i].fn);
        mb_expect(&b, cases[i].code, cases[i].field, cases[i].text);
        if (swbt_failed > before) {
            fprintf(stderr, "  (case %zu)\n", i);
            return;
        }
    }
}

static void
test_schema_errors_in_messages(void)
{
    mb_t b;

    /* channel as an integer */
    mb_begin(&b, "submit", 1);
    mb_str(&b, "task");
    mb_map(&b, 1);
    mb_ku(&b, "channel", 2);
    mb_expect(&b, SWB_EINVAL, "task.channel", "string");

    /* missing required field */
    mb_begin(&b, "submit", 1);
    mb_str(&b, "task");
    mb_map(&b, 1);
    mb_ku(&b, "priority", 2);
    mb_expect(&b, SWB_EINVAL, "task.channel", "missing");

    mb_begin(&b, "submit", 1);
    mb_ku(&b, "req", 1);
    mb_expect(&b, SWB_EINVAL, "task", "missing");

    /* a required struct cannot be nil */
    mb_begin(&b, "submit", 1);
    mb_str(&b, "task");
    msgpack_pack_nil(&b.pk);
    mb_expect(&b, SWB_EINVAL, "task", "map");

    mb_begin(&b, "submit", 1);
    mb_kv(&b, "task", "email");
    mb_expect(&b, SWB_EINVAL, "task", "map");

    /* duplicate top-level key */
    mb_begin(&b, "status", 3);
    mb_ku(&b, "id", 1);
    mb_ku(&b, "req", 1);
    mb_ku(&b, "id", 2);
    mb_expect(&b, SWB_EINVAL, "id", "twice");

    /* negative id */
    mb_begin(&b, "cancel", 1);
    mb_str(&b, "id");
    mb_i(&b, -5);
    mb_expect(&b, SWB_EINVAL, "id", "negative");

    /* timeout is a WAIT field, not a STATUS one */
    mb_begin(&b, "status", 2);
    mb_ku(&b, "id", 1);
    mb_ku(&b, "timeout", 5);
    mb_expect(&b, SWB_EINVAL, "timeout", "unknown field");

    mb_begin(&b, "wait", 2);
    mb_ku(&b, "id", 1);
    mb_ku(&b, "timeout", 86400001);
    mb_expect(&b, SWB_ETOOBIG, "timeout", "86400000");

    mb_begin(&b, "list", 1);
    mb_ku(&b, "limit", SWB_MAX_LIST + 1);
    mb_expect(&b, SWB_ETOOBIG, "limit", NULL);

    /* bool as an integer */
    mb_begin(&b, "submitted", 2);
    mb_ku(&b, "id", 1);
    mb_ku(&b, "duplicate", 1);
    mb_expect(&b, SWB_EINVAL, "duplicate", "bool");

    /* a path through a list: tasks[1].spec.colour */
    mb_begin(&b, "tasks", 1);
    mb_str(&b, "tasks");
    mb_arr(&b, 2);
    for (int i = 0; i < 2; i++) {
        mb_map(&b, 3);
        mb_ku(&b, "id", (uint64_t)i + 1);
        mb_kv(&b, "state", "queued");
        mb_str(&b, "spec");
        mb_map(&b, 1 + i);
        mb_kv(&b, "channel", "email");
        if (i)
            mb_kv(&b, "colour", "red");
    }
    mb_expect(&b, SWB_EINVAL, "tasks[1].spec.colour", "unknown field");

    mb_begin(&b, "tasks", 1);
    mb_str(&b, "tasks");
    mb_arr(&b, 1);
    msgpack_pack_nil(&b.pk);
    mb_expect(&b, SWB_EINVAL, "tasks[0]", "map");

    /* hello: missing lease in holding, too many channels */
    mb_begin(&b, "hello", 4);
    mb_kv(&b, "site", "mnl-1");
    mb_kv(&b, "agent", "a1");
    mb_str(&b, "channels");
    mb_arr(&b, 1);
    mb_str(&b, "email");
    mb_str(&b, "holding");
    mb_arr(&b, 1);
    mb_map(&b, 1);
    mb_ku(&b, "id", 4);
    mb_expect(&b, SWB_EINVAL, "holding[0].lease", "missing");

    mb_begin(&b, "hello", 3);
    mb_kv(&b, "site", "mnl-1");
    mb_kv(&b, "agent", "a1");
    mb_str(&b, "channels");
    mb_arr(&b, SWB_CH_COUNT + 1);
    for (int i = 0; i <= SWB_CH_COUNT; i++)
        mb_str(&b, "email");
    mb_expect(&b, SWB_ETOOBIG, "channels", NULL);

    mb_begin(&b, "hello", 2);
    mb_kv(&b, "site", "mnl-1");
    mb_kv(&b, "agent", "a1");
    mb_expect(&b, SWB_EINVAL, "channels", "missing");

    mb_begin(&b, "hello", 4);
    mb_kv(&b, "site", "mnl-1");
    mb_kv(&b, "agent", "a1");
    mb_str(&b, "channels");
    mb_arr(&b, 0);
    mb_str(&b, "speaks");
    mb_map(&b, 1);
    mb_ku(&b, "en", 9);
    mb_expect(&b, SWB_ETOOBIG, "speaks", "speaks.en");

    /* welcome over its limit; heartbeat with a field */
    mb_begin(&b, "welcome", 2);
    mb_ku(&b, "heartbeat", 86400001);
    mb_ku(&b, "lease", 1);
    mb_expect(&b, SWB_ETOOBIG, "heartbeat", NULL);

    mb_begin(&b, "heartbeat", 1);
    mb_ku(&b, "seq", 1);
    mb_expect(&b, SWB_EINVAL, "seq", "unknown field");

    mb_begin(&b, "bye", 0);
    mb_expect(&b, SWB_OK, NULL, NULL);

    /* a long unknown key is cut in the field path, not overflowed */
    char longkey[300];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    mb_begin(&b, "bye", 1);
    mb_kv(&b, longkey, "v");
    mb_expect(&b, SWB_EINVAL, NULL, "unknown field");

    mb_begin(&b, "fail", 3);
    mb_ku(&b, "id", 1);
    mb_ku(&b, "lease", 1);
    mb_kv(&b, "reason", "bad \xff byte");
    mb_expect(&b, SWB_EINVAL, "reason", "UTF-8");

    mb_begin(&b, "error", 1);
    mb_kv(&b, "code", "protocol");
    mb_expect(&b, SWB_EINVAL, "message", "missing");
}

static void
test_envelope_errors(void)
{
    mb_t b;

    /* another version: SWB_EVERSION naming both */
    mb_begin_v(&b, SWB_PROTO_VERSION + 1, "bye", 0);
    mb_expect(&b, SWB_EVERSION, "version", "2");
    mb_begin_v(&b, SWB_PROTO_VERSION + 1, "bye", 0);
    mb_expect(&b, SWB_EVERSION, "version", "speaks 1");
    mb_begin_v(&b, 0, "bye", 0);
    mb_expect(&b, SWB_EVERSION, "version", NULL);
    /* a future version with an unknown command is still a version error */
    mb_begin_v(&b, 7, "teleport", 0);
    mb_expect(&b, SWB_EVERSION, "version", "7");

    mb_begin(&b, "frobnicate", 0);
    mb_expect(&b, SWB_EINVAL, "command", "frobnicate");
    mb_begin(&b, "SUBMIT", 0);
    mb_expect(&b, SWB_EINVAL, "command", NULL);
    mb_begin(&b, "", 0);
    mb_expect(&b, SWB_EINVAL, "command", NULL);

    /* shapes that are no envelope */
    static const uint8_t as_map[] = {0x81, 0xa1, 'v', 0x01};
    static const uint8_t arr2[] = {0x92, 0x01, 0xa3, 'b', 'y', 'e'};
    static const uint8_t arr4[] = {0x94, 0x01, 0xa3, 'b', 'y', 'e', 0x80, 0xc0};
    static const uint8_t scalar[] = {0x01};
    static const uint8_t ver_str[] = {0x93, 0xa1, '1', 0xa3, 'b', 'y', 'e', 0x80};
    static const uint8_t ver_neg[] = {0x93, 0xff, 0xa3, 'b', 'y', 'e', 0x80};
    static const uint8_t cmd_int[] = {0x93, 0x01, 0x05, 0x80};
    static const uint8_t cmd_bin[] = {0x93, 0x01, 0xc4, 0x03, 'b', 'y', 'e',
                                      0x80};
    static const uint8_t body_arr[] = {0x93, 0x01, 0xa3, 'b', 'y', 'e', 0x90};
    static const uint8_t body_nil[] = {0x93, 0x01, 0xa3, 'b', 'y', 'e', 0xc0};
    static const struct {
        const uint8_t *p;
        size_t n;
        swb_err_t code;
        const char *field;
    } cases[] = {
        {as_map, sizeof as_map, SWB_EDECODE, ""},
        {arr2, sizeof arr2, SWB_EDECODE, ""},
        {arr4, sizeof arr4, SWB_EDECODE, ""},
        {scalar, sizeof scalar, SWB_EDECODE, ""},
        {ver_str, sizeof ver_str, SWB_EDECODE, "version"},
        {ver_neg, sizeof ver_neg, SWB_EDECODE, "version"},
        {cmd_int, sizeof cmd_int, SWB_EDECODE, "command"},
        {cmd_bin, sizeof cmd_bin, SWB_EDECODE, "command"},
        {body_arr, sizeof body_arr, SWB_EINVAL, ""},
        {body_nil, sizeof body_nil, SWB_EINVAL, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        swb_msg_t d;
        swb_decode_err_t err = {0};
        swb_err_t rc = swb_msg_decode(cases[i].p, cases[i].n, &d, &err);
        swb_msg_clear(&d);
        if (rc != cases[i].code)
            fprintf(stderr, "  case %zu: %s\n", i, err.message);
        ASSERT_INT_EQ(rc, cases[i].code);
        ASSERT_STR_EQ(err.field, cases[i].field);
        ASSERT_TRUE(err.message[0] != 0);
    }
}

/* ---- swb_domain: names and text parsers ----------------------------------- */

static void
free_levels(swb_levels_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void
free_strs(swb_strs_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static void
test_parse_levels(void)
{
    swb_levels_t l = {0};
    char why[200] = "";

    ASSERT_INT_EQ(swb_parse_levels("en:C1,es:B2", ':', true, 0, &l, why,
                                   sizeof why), SWB_OK);
    ASSERT_INT_EQ(l.n, 2);
    ASSERT_STR_EQ(l.v[0].name, "en");
    ASSERT_INT_EQ(l.v[0].level, 5);
    ASSERT_STR_EQ(l.v[1].name, "es");
    ASSERT_INT_EQ(l.v[1].level, 4);
    /* appends */
    ASSERT_INT_EQ(swb_parse_levels("fr:a1,de:C2", ':', true, 0, &l, why,
                                   sizeof why), SWB_OK);
    ASSERT_INT_EQ(l.n, 4);
    ASSERT_INT_EQ(swb_levels_find(&l, "fr")->level, 1);
    ASSERT_INT_EQ(swb_levels_find(&l, "de")->level, 6);
    free_levels(&l);

    ASSERT_INT_EQ(swb_parse_levels("banking:3,db-maintenance:2", ':', false,
                                   100, &l, why, sizeof why), SWB_OK);
    ASSERT_INT_EQ(l.n, 2);
    ASSERT_STR_EQ(l.v[1].name, "db-maintenance");
    ASSERT_INT_EQ(l.v[1].level, 2);
    free_levels(&l);

    ASSERT_INT_EQ(swb_parse_levels("email=3,form=2", '=', false, 100, &l, why,
                                   sizeof why), SWB_OK);
    ASSERT_INT_EQ(swb_levels_find(&l, "form")->level, 2);
    free_levels(&l);

    static const struct {
        const char *text;
        char sep;
        bool cefr;
        const char *why;
    } bad[] = {
        {"", ':', true, "empty"},
        {"en", ':', true, "NAME:LEVEL"},
        {"en:", ':', true, "NAME:LEVEL"},
        {":C1", ':', true, "NAME:LEVEL"},
        {"en:D1", ':', true, "CEFR"},
        {"en:C3", ':', true, "CEFR"},
        {"en:5", ':', true, "CEFR"},
        {"en:C1,en:B2", ':', true, "twice"},
        {"en:C1,,es:B2", ':', true, "empty item"},
        {",en:C1", ':', true, "empty item"},
        {"en:C1,", ':', true, "empty item"},
        {",", ':', true, "empty item"},
        {"banking:0", ':', false, "1..100"},
        {"banking:101", ':', false, "1..100"},
        {"banking:-1", ':', false, "integer"},
        {"banking:3x", ':', false, "integer"},
        {"banking:99999999999999999999999", ':', false, "integer"},
        {"banking=3", ':', false, "NAME:LEVEL"},
        {"email:3", '=', false, "NAME=LEVEL"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1",
         ':', false, "over 63"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = 0;
        swb_err_t rc = swb_parse_levels(bad[i].text, bad[i].sep, bad[i].cefr,
                                        100, &l, why, sizeof why);
        free_levels(&l); /* items before the bad one were appended */
        if (rc != SWB_EINVAL || !strstr(why, bad[i].why))
            fprintf(stderr, "  \"%s\": %s\n", bad[i].text, why);
        ASSERT_INT_EQ(rc, SWB_EINVAL);
        ASSERT_STR_CONTAINS(why, bad[i].why);
    }
    ASSERT_INT_EQ(swb_parse_levels(NULL, ':', true, 0, &l, why, sizeof why),
                  SWB_EINVAL);
}

static void
test_parse_strs(void)
{
    swb_strs_t s = {0};
    char why[200] = "";
    char long_item[300];

    ASSERT_INT_EQ(swb_parse_strs("acme,globex,initech", &s, why, sizeof why),
                  SWB_OK);
    ASSERT_INT_EQ(s.n, 3);
    ASSERT_STR_EQ(s.v[2], "initech");
    ASSERT_TRUE(s.v[3] == NULL);
    ASSERT_TRUE(swb_strs_has(&s, "globex"));
    free_strs(&s);
    ASSERT_INT_EQ(swb_parse_strs("a,,b", &s, why, sizeof why), SWB_EINVAL);
    ASSERT_STR_CONTAINS(why, "empty item");
    free_strs(&s);
    ASSERT_INT_EQ(swb_parse_strs("", &s, why, sizeof why), SWB_EINVAL);
    ASSERT_INT_EQ(swb_parse_strs("a,", &s, why, sizeof why), SWB_EINVAL);
    free_strs(&s);
    memset(long_item, 'x', 256);
    long_item[256] = 0;
    ASSERT_INT_EQ(swb_parse_strs(long_item, &s, why, sizeof why), SWB_EINVAL);
    ASSERT_STR_CONTAINS(why, "255");
    free_strs(&s);
    long_item[255] = 0;
    ASSERT_INT_EQ(swb_parse_strs(long_item, &s, why, sizeof why), SWB_OK);
    free_strs(&s);
}

static void
test_parse_durations(void)
{
    static const struct {
        const char *text;
        uint64_t ms;
    } good[] = {
        {"90", 90000},     {"90s", 90000},      {"15m", 900000},
        {"2h", 7200000},   {"1d", 86400000},    {"250ms", 250},
        {"0", 0},          {"1.5s", 1500},      {"0.5m", 30000},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t ms = 12345;
        ASSERT_INT_EQ(swb_parse_duration_ms(good[i].text, &ms), SWB_OK);
        ASSERT_INT_EQ(ms, good[i].ms);
    }
    static const char *const bad[] = {
        "", "s", "ms", "abc", "-5", "+5", "5x", "5 s", "5 ", "5sec", "5M",
        "inf", "1e20d", "15mm", "nan", "0x10", "1e3", " 5", "1.", ".5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms = 12345;
        swb_err_t rc = swb_parse_duration_ms(bad[i], &ms);
        if (rc != SWB_EINVAL)
            fprintf(stderr, "  \"%s\" accepted as %llu ms\n", bad[i],
                    (unsigned long long)ms);
        ASSERT_INT_EQ(rc, SWB_EINVAL);
    }
    uint64_t ms = 0;
    ASSERT_INT_EQ(swb_parse_duration_ms(NULL, &ms), SWB_EINVAL);
}

static void
test_parse_times(void)
{
    const uint64_t at = 1795424400000u; /* 2026-11-23T09:00:00Z */
    static const char *const same_instant[] = {
        "2026-11-23T09:00:00Z", "2026-11-23T10:00:00+01:00",
        "2026-11-23T04:00:00-05:00", "2026-11-23T14:30:00+05:30",
        "2026-11-23T09:00:00", /* no zone: UTC */
        "2026-11-23 09:00:00Z"};
    for (size_t i = 0; i < sizeof same_instant / sizeof same_instant[0];
         i++) {
        uint64_t ms = 0;
        ASSERT_INT_EQ(swb_parse_when_ms(same_instant[i], 5, &ms), SWB_OK);
        ASSERT_INT_EQ(ms, at);
    }
    uint64_t ms = 0;
    ASSERT_INT_EQ(swb_parse_when_ms("1970-01-01T00:00:01Z", 0, &ms), SWB_OK);
    ASSERT_INT_EQ(ms, 1000);
    /* durations count from now */
    ASSERT_INT_EQ(swb_parse_when_ms("90s", 1000, &ms), SWB_OK);
    ASSERT_INT_EQ(ms, 91000);
    ASSERT_INT_EQ(swb_parse_when_ms("2h", at, &ms), SWB_OK);
    ASSERT_INT_EQ(ms, at + 7200000);

    static const char *const bad[] = {
        "2026-11-23",                /* no time */
        "2026-11-23T09:00",          /* no seconds */
        "2026-11-23T09:00:00+0100",  /* offset without colon */
        "2026-11-23T09:00:00+01",    /* offset without minutes */
        "2026-11-23T09:00:00X",      /* bad zone */
        "2026-02-30T09:00:00Z",      /* no such day */
        "2026-11-23T09:00:00Zjunk",  /* trailing */
        "2026-11-23T25:00:00Z",      /* hour 25 */
        "2026-11-23T09:00:00+24:00", /* offset out of range */
        "2026-13-01T09:00:00Z",      /* month 13 */
        "1969-12-31T23:59:59Z",      /* before the epoch */
        "tomorrow",
        ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms = 777;
        swb_err_t rc = swb_parse_when_ms(bad[i], 5, &ms);
        if (rc != SWB_EINVAL)
            fprintf(stderr, "  \"%s\" accepted as %llu\n", bad[i],
                    (unsigned long long)ms);
        ASSERT_INT_EQ(rc, SWB_EINVAL);
    }
    ASSERT_INT_EQ(swb_parse_when_ms(NULL, 5, &ms), SWB_EINVAL);
}

static void
test_names(void)
{
    static const char *const channels[] = {
        "voice.inbound", "voice.outbound", "email",    "chat",
        "form",          "data",           "research", "accounting",
        "database",      "documentation"};
    ASSERT_INT_EQ(sizeof channels / sizeof channels[0], SWB_CH_COUNT);
    for (int i = 0; i < SWB_CH_COUNT; i++) {
        ASSERT_INT_EQ(swb_channel_parse(channels[i]), i);
        ASSERT_STR_EQ(swb_channel_name(i), channels[i]);
        ASSERT_STR_CONTAINS(swb_channel_list(), channels[i]);
        ASSERT_TRUE(swb_channel_is_voice(i) ==
                    (strncmp(channels[i], "voice.", 6) == 0));
    }
    ASSERT_INT_EQ(swb_channel_parse("voice"), -1);
    ASSERT_INT_EQ(swb_channel_parse("Email"), -1);
    ASSERT_INT_EQ(swb_channel_parse(""), -1);
    ASSERT_INT_EQ(swb_channel_parse(NULL), -1);
    ASSERT_STR_EQ(swb_channel_name(-1), "?");
    ASSERT_STR_EQ(swb_channel_name(SWB_CH_COUNT), "?");

    static const char *const states[] = {
        "queued", "offered",  "active",    "completed", "failed",
        "dead",   "canceled", "abandoned", "expired",   "forwarded"};
    static const bool final[] = {false, false, false, true, false,
                                 true,  true,  true,  true, false};
    ASSERT_INT_EQ(sizeof states / sizeof states[0], SWB_ST_COUNT);
    for (int i = 0; i < SWB_ST_COUNT; i++) {
        ASSERT_INT_EQ(swb_state_parse(states[i]), i);
        ASSERT_STR_EQ(swb_state_name(i), states[i]);
        ASSERT_INT_EQ(swb_state_final(i), final[i]);
    }
    ASSERT_INT_EQ(swb_state_parse("cancelled"), -1);
    ASSERT_INT_EQ(swb_state_parse(NULL), -1);
    ASSERT_STR_EQ(swb_state_name(SWB_ST_COUNT), "?");

    static const char *const cefr[] = {"A1", "A2", "B1", "B2", "C1", "C2"};
    for (int i = 0; i < 6; i++) {
        ASSERT_INT_EQ(swb_cefr_parse(cefr[i]), i + 1);
        ASSERT_STR_EQ(swb_cefr_name((uint64_t)i + 1), cefr[i]);
    }
    ASSERT_INT_EQ(swb_cefr_parse("c1"), 5);
    ASSERT_INT_EQ(swb_cefr_parse("C3"), 0);
    ASSERT_INT_EQ(swb_cefr_parse(NULL), 0);
    ASSERT_STR_EQ(swb_cefr_name(0), "?");
    ASSERT_STR_EQ(swb_cefr_name(7), "?");

    /* error wire names round trip and are unique */
    for (int i = 0; i < SWB_ERR_COUNT_; i++) {
        ASSERT_INT_EQ(swb_err_from_name(swb_err_name(i)), i);
        ASSERT_TRUE(swb_strerror(i)[0] != 0);
    }
    ASSERT_INT_EQ(swb_err_from_name("no-such-code"), SWB_EPROTO);
    ASSERT_INT_EQ(swb_err_from_name(NULL), SWB_EPROTO);
    ASSERT_STR_EQ(swb_err_name(SWB_ERR_COUNT_), "unknown");
    ASSERT_STR_EQ(swb_err_name(SWB_ESTALE), "stale_lease");
    ASSERT_STR_EQ(swb_err_name(SWB_EVERSION), "version");
}

/* ---- PROTOCOL.md is in step with the schemas ------------------------------ */

/* The name PROTOCOL.md uses for a nested struct schema. */
static const char *
struct_name(const swb_schema_t *sc)
{
    if (sc == &swb_task_spec_schema)
        return "TaskSpec";
    if (sc == &swb_task_schema)
        return "Task";
    if (strcmp(sc->name, "holding") == 0)
        return "Hold";
    return sc->name;
}

/* "16 MiB" for whole MiB, else the number. */
static void
fmt_bytes(char *out, size_t n, uint64_t v)
{
    if (v >= (1u << 20) && v % (1u << 20) == 0)
        snprintf(out, n, "%llu MiB", (unsigned long long)(v >> 20));
    else
        snprintf(out, n, "%llu bytes", (unsigned long long)v);
}

/*
 * Writes the table PROTOCOL.md must hold for a schema, after the marker
 * line "<!-- schema: NAME -->". The defaults are those of swb_codec.c for
 * a limit of 0. Returns what was written (out is NUL-terminated).
 */
static const char *
schema_table(const swb_schema_t *sc, const char *name, char *out, size_t n)
{
    size_t pos = 0;
#define EMIT(...)                                                              \
    do {                                                                       \
        int r_ = snprintf(out + pos, n - pos, __VA_ARGS__);                    \
        if (r_ > 0)                                                            \
            pos = pos + (size_t)r_ < n ? pos + (size_t)r_ : n - 1;             \
    } while (0)
    EMIT("<!-- schema: %s -->\n", name);
    if (sc->nfields == 0) {
        EMIT("The body is an empty map: no fields.\n");
        return out;
    }
    EMIT("| Field | Type | Presence | Limit |\n|---|---|---|---|\n");
    for (size_t i = 0; i < sc->nfields; i++) {
        const swb_field_t *f = &sc->fields[i];
        char type[64], limit[128], b1[32];
        switch (f->type) {
        case SWB_F_U64:
            snprintf(type, sizeof type, "uint");
            if (f->max)
                snprintf(limit, sizeof limit, "<= %llu",
                         (unsigned long long)f->max);
            else
                snprintf(limit, sizeof limit, "any uint64");
            break;
        case SWB_F_BOOL:
            snprintf(type, sizeof type, "bool");
            snprintf(limit, sizeof limit, "-");
            break;
        case SWB_F_STR:
            snprintf(type, sizeof type, "str");
            snprintf(limit, sizeof limit, "<= %llu bytes",
                     (unsigned long long)(f->max ? f->max : 256));
            break;
        case SWB_F_BIN:
            snprintf(type, sizeof type, "bin (or str)");
            fmt_bytes(b1, sizeof b1, f->max ? f->max : SWB_CODEC_MAX_FRAME);
            snprintf(limit, sizeof limit, "<= %s", b1);
            break;
        case SWB_F_STRS:
            snprintf(type, sizeof type, "array of str");
            snprintf(limit, sizeof limit, "<= %llu items of <= 256 bytes",
                     (unsigned long long)(f->max ? f->max : 64));
            break;
        case SWB_F_LEVELS:
            snprintf(type, sizeof type, "map str -> uint");
            if (f->level_max)
                snprintf(b1, sizeof b1, "%llu",
                         (unsigned long long)f->level_max);
            else
                snprintf(b1, sizeof b1, "any");
            snprintf(limit, sizeof limit, "<= %llu entries; names <= 64 "
                     "bytes; levels <= %s",
                     (unsigned long long)(f->max ? f->max : 64), b1);
            break;
        case SWB_F_STRUCT:
            snprintf(type, sizeof type, "map: %s", struct_name(f->sub));
            snprintf(limit, sizeof limit, "-");
            break;
        case SWB_F_LIST:
            snprintf(type, sizeof type, "array of %s", struct_name(f->sub));
            snprintf(limit, sizeof limit, "<= %llu items",
                     (unsigned long long)(f->max ? f->max : 1000));
            break;
        }
        EMIT("| `%s` | %s | %s | %s |\n", f->name, type,
             f->required ? "required" : "optional", limit);
    }
#undef EMIT
    return out;
}

/* Every struct schema reachable from the messages, once each. */
static size_t
collect_structs(const swb_schema_t *sc, const swb_schema_t **found,
                size_t n, size_t cap)
{
    for (size_t i = 0; i < sc->nfields; i++) {
        const swb_schema_t *sub = sc->fields[i].sub;
        bool seen = false;
        if (!sub)
            continue;
        for (size_t k = 0; k < n; k++)
            seen = seen || found[k] == sub;
        if (!seen && n < cap) {
            found[n++] = sub;
            n = collect_structs(sub, found, n, cap);
        }
    }
    return n;
}

/* Calls fn with the expected block of every command and struct. */
static void
each_table(void (*fn)(const char *block, const char *name, void *arg),
           void *arg)
{
    char buf[4096];
    const swb_schema_t *structs[16];
    size_t ns = 0;
    for (int t = 0; t < SWB_MSG_COUNT; t++) {
        const swb_schema_t *sc = swb_msg_schema((swb_msg_type_t)t);
        fn(schema_table(sc, swb_msg_name(t), buf, sizeof buf),
           swb_msg_name(t), arg);
        ns = collect_structs(sc, structs, ns, 16);
    }
    for (size_t i = 0; i < ns; i++)
        fn(schema_table(structs[i], struct_name(structs[i]), buf, sizeof buf),
           struct_name(structs[i]), arg);
}

static void
print_table(const char *block, const char *name, void *arg)
{
    (void)arg;
    (void)name;
    printf("%s\n", block);
}

typedef struct doc_check {
    const char *doc;
    int missing;
    int tables;
} doc_check_t;

static void
find_table(const char *block, const char *name, void *arg)
{
    doc_check_t *c = arg;
    c->tables++;
    if (!strstr(c->doc, block)) {
        c->missing++;
        fprintf(stderr, "  PROTOCOL.md lacks or differs in the table of %s; "
                "expected:\n%s", name, block);
    }
}

/* proto/PROTOCOL.md holds, for every command and struct, exactly the
 * table the schemas make (regenerate with SWB_PRINT_TABLES=1). */
static void
test_protocol_md_matches_schemas(void)
{
    if (getenv("SWB_PRINT_TABLES")) {
        each_table(print_table, NULL);
        return;
    }
    const char *src = getenv("SWB_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/proto/PROTOCOL.md", src ? src : ".");
    char *doc = swbt_read_file(path);
    if (!doc) {
        fprintf(stderr, "  skipped: cannot read %s (set SWB_SOURCE_DIR)\n",
                path);
        return;
    }
    doc_check_t c = {doc, 0, 0};
    each_table(find_table, &c);
    /* no stale tables for commands or structs that are gone */
    int markers = 0;
    for (const char *p = doc; (p = strstr(p, "<!-- schema: ")); p++)
        markers++;
    free(doc);
    ASSERT_INT_EQ(c.missing, 0);
    ASSERT_INT_EQ(markers, c.tables);
}

int
main(void)
{
    alloc_watch_start();
    SWB_RUN(test_round_trip_every_message);
    SWB_RUN(test_round_trip_spot_checks);
    SWB_RUN(test_round_trip_records);
    SWB_RUN(test_minimal_encoding);
    SWB_RUN(test_truncated_at_every_byte);
    SWB_RUN(test_trailing_bytes);
    SWB_RUN(test_hostile_lengths);
    SWB_RUN(test_depth_limit);
    SWB_RUN(test_object_limit);
    SWB_RUN(test_frame_limit);
    SWB_RUN(test_bad_type_bytes);
    SWB_RUN(test_schema_errors_in_task);
    SWB_RUN(test_schema_errors_in_messages);
    SWB_RUN(test_envelope_errors);
    SWB_RUN(test_parse_levels);
    SWB_RUN(test_parse_strs);
    SWB_RUN(test_parse_durations);
    SWB_RUN(test_parse_times);
    SWB_RUN(test_names);
    SWB_RUN(test_protocol_md_matches_schemas);
    return SWB_TEST_EXIT();
}
