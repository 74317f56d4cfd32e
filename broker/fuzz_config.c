/*
 * fuzz_config.c - libFuzzer target for the broker's config file reader.
 *
 * Each input is written to one temporary file (created on the first call,
 * rewritten in place after) and read exactly as
 * `switchboard-broker --check-config FILE` reads it: swb_config_load over
 * that argv, then, when the config is valid, swb_config_summary (to
 * /dev/null). The rules checked besides ASan and UBSan: the return code
 * is SWB_OK, SWB_EINVAL or SWB_ENOMEM; SWB_EINVAL comes with at least one
 * problem and SWB_OK with none; the mode stays SWB_CONFIG_CHECK; every
 * problem is a non-empty line. A broken rule aborts, which libFuzzer
 * reports as a crash.
 *
 * Does not: start a broker, open the data folder or bind anything.
 *
 * Build: cmake -DSWB_FUZZ=ON with clang (broker/CMakeLists.txt); run with
 * tests/fuzz/run.sh, which fuzzes this target and fuzz_decode.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];
static int fuzz_fd = -1;
static FILE *fuzz_null;

static void
fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_config: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static void
fuzz_setup(void)
{
    const char *dir = getenv("TMPDIR");
    snprintf(fuzz_path, sizeof fuzz_path, "%s/swb-fuzz-cfg-XXXXXX",
             dir && strlen(dir) < 32 ? dir : "/tmp");
    fuzz_fd = mkstemp(fuzz_path);
    if (fuzz_fd < 0)
        fuzz_fail("cannot create the input file", fuzz_path);
    /* The file stays for the whole run (the reader opens it by path on
     * every input) and is removed at exit. */
    fuzz_null = fopen("/dev/null", "w");
    if (!fuzz_null)
        fuzz_fail("cannot open /dev/null", NULL);
}

static void
fuzz_cleanup(void)
{
    if (fuzz_path[0])
        unlink(fuzz_path);
}

static void
fuzz_write(const uint8_t *data, size_t size)
{
    if (ftruncate(fuzz_fd, 0) != 0)
        fuzz_fail("ftruncate", fuzz_path);
    size_t off = 0;
    while (off < size) {
        ssize_t n = pwrite(fuzz_fd, data + off, size - off, (off_t)off);
        if (n <= 0)
            fuzz_fail("pwrite", fuzz_path);
        off += (size_t)n;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_fd < 0) {
        fuzz_setup();
        atexit(fuzz_cleanup);
    }
    fuzz_write(data, size);

    char arg0[] = "switchboard-broker";
    char arg1[] = "--check-config";
    char *argv[] = {arg0, arg1, fuzz_path, NULL};
    swb_config_t cfg;
    swb_config_mode_t mode = SWB_CONFIG_RUN;
    swb_strs_t problems = {0};
    swb_err_t rc = swb_config_load(3, argv, &cfg, &mode, &problems);

    if (rc != SWB_OK && rc != SWB_EINVAL && rc != SWB_ENOMEM)
        fuzz_fail("unexpected return code", swb_err_name(rc));
    if (rc == SWB_EINVAL && problems.n == 0)
        fuzz_fail("SWB_EINVAL without a problem", NULL);
    if (rc == SWB_OK && problems.n != 0)
        fuzz_fail("SWB_OK with problems", problems.v[0]);
    if (mode != SWB_CONFIG_CHECK)
        fuzz_fail("--check-config did not give SWB_CONFIG_CHECK", NULL);
    for (size_t i = 0; i < problems.n; i++) {
        if (!problems.v[i] || !problems.v[i][0])
            fuzz_fail("empty problem text", NULL);
        if (strchr(problems.v[i], '\n'))
            fuzz_fail("problem text spans lines", problems.v[i]);
    }
    if (rc == SWB_OK)
        swb_config_summary(&cfg, cfg.config_file, fuzz_null);
    swb_codec_free_strs(&problems);
    swb_config_free(&cfg);
    return 0;
}
