/*
 * fuzz_decode.c - libFuzzer target for every decoder of untrusted bytes.
 *
 * Each input is decoded three ways: as a wire message (swb_msg_decode),
 * and as a stored task and a stored task spec (swb_codec_decode with
 * swb_task_schema / swb_task_spec_schema). A failed decode must say why
 * (a known error code and a message). A successful one must survive a
 * round trip: re-encode, decode again (must succeed), re-encode again and
 * get the same bytes; a deep copy must encode to the same bytes too.
 * Any broken rule aborts, which libFuzzer reports as a crash; ASan and
 * UBSan catch the rest.
 *
 * Build: cmake -DSWB_FUZZ=ON with clang (proto/CMakeLists.txt); run with
 * tests/fuzz/run.sh, which also makes the seed corpus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_codec.h"
#include "swb_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_decode: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* A failed decode names a real code and says something. */
static void
check_error(swb_err_t rc, const swb_decode_err_t *err)
{
    if (rc != SWB_EDECODE && rc != SWB_ETOOBIG && rc != SWB_EVERSION &&
        rc != SWB_EINVAL && rc != SWB_ENOMEM)
        fuzz_fail("decode returned an unexpected code", swb_err_name(rc));
    if (err->code != rc)
        fuzz_fail("err->code differs from the return code", err->message);
    if (!memchr(err->field, 0, sizeof err->field) ||
        !memchr(err->message, 0, sizeof err->message))
        fuzz_fail("error text not terminated", NULL);
    if (!err->message[0])
        fuzz_fail("error without a message", err->field);
}

static void
check_same(const void *a, size_t an, const void *b, size_t bn,
           const char *what)
{
    if (an != bn || memcmp(a, b, an) != 0)
        fuzz_fail(what, NULL);
}

static void
fuzz_msg(const uint8_t *data, size_t size)
{
    swb_msg_t m, m2;
    swb_decode_err_t err;
    void *e1 = NULL, *e2 = NULL;
    size_t n1 = 0, n2 = 0;

    memset(&err, 0, sizeof err);
    swb_err_t rc = swb_msg_decode(data, size, &m, &err);
    if (rc) {
        check_error(rc, &err);
        swb_msg_clear(&m); /* must be harmless on a failed decode */
        return;
    }
    if (swb_msg_encode(&m, &e1, &n1) != SWB_OK)
        fuzz_fail("re-encoding a decoded message failed",
                  swb_msg_name(m.type));
    rc = swb_msg_decode(e1, n1, &m2, &err);
    if (rc)
        fuzz_fail("decoding a re-encoded message failed", err.message);
    if (m2.type != m.type)
        fuzz_fail("the command changed in a round trip", swb_msg_name(m.type));
    if (swb_msg_encode(&m2, &e2, &n2) != SWB_OK)
        fuzz_fail("second re-encoding failed", swb_msg_name(m.type));
    check_same(e1, n1, e2, n2, "re-encoding is not stable");
    swb_msg_clear(&m);
    swb_msg_clear(&m2);
    free(e1);
    free(e2);
}

static void
fuzz_record(const swb_schema_t *schema, const uint8_t *data, size_t size)
{
    swb_decode_err_t err;
    void *a = calloc(3, schema->size);
    if (!a)
        return;
    void *b = (char *)a + schema->size, *c = (char *)b + schema->size;
    void *e1 = NULL, *e2 = NULL, *e3 = NULL;
    size_t n1 = 0, n2 = 0, n3 = 0;

    memset(&err, 0, sizeof err);
    swb_err_t rc = swb_codec_decode(schema, data, size, a, &err);
    if (rc) {
        check_error(rc, &err);
        swb_codec_free(schema, a);
        free(a);
        return;
    }
    if (swb_codec_encode(schema, a, &e1, &n1) != SWB_OK)
        fuzz_fail("re-encoding a decoded record failed", schema->name);
    rc = swb_codec_decode(schema, e1, n1, b, &err);
    if (rc)
        fuzz_fail("decoding a re-encoded record failed", err.message);
    if (swb_codec_encode(schema, b, &e2, &n2) != SWB_OK)
        fuzz_fail("second re-encoding failed", schema->name);
    check_same(e1, n1, e2, n2, "record re-encoding is not stable");
    if (swb_codec_copy(schema, c, a) != SWB_OK)
        fuzz_fail("deep copy failed", schema->name);
    if (swb_codec_encode(schema, c, &e3, &n3) != SWB_OK)
        fuzz_fail("encoding a copy failed", schema->name);
    check_same(e1, n1, e3, n3, "a copy encodes differently");
    swb_codec_free(schema, a);
    swb_codec_free(schema, b);
    swb_codec_free(schema, c);
    free(a);
    free(e1);
    free(e2);
    free(e3);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_msg(data, size);
    fuzz_record(&swb_task_schema, data, size);
    fuzz_record(&swb_task_spec_schema, data, size);
    /* the pre-walker alone, without an error struct */
    (void)swb_codec_check(data, size, NULL);
    return 0;
}
