/*
 * test_config.c - the broker's settings: the option table through
 * swb_config_load (unit level), and the real `switchboard-broker`
 * with --check-config, --help-config and a bad --config (CLI level).
 *
 * Checks that a good file passes with a summary (exit 0); that a bad file
 * gets EVERY problem reported, each with FILE:LINE, section, key and
 * value (exit 2); that a broker never starts on a bad config; that the
 * example deploy/region-manila.ini is valid; and that README.md holds
 * exactly what --help-config prints (so every key and default of the
 * option table is documented there). Files are written into a temp
 * folder; the broker's stderr is captured with 2>&1.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "swbtest.h"

/* Writes text to dir/name; returns the path (static buffer). */
static const char *
write_file(const char *dir, const char *name, const char *text)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* Runs switchboard-broker with args (stderr into the output, at most
 * 20 s so a broker that wrongly starts cannot hang the test). */
static int
broker(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
broker(char **out, const char *fmt, ...)
{
    char args[2048], cmd[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "timeout 20 '%s' %s 2>&1 </dev/null",
             swbt_bin("switchboard-broker"), args);
    *out = NULL;
    return swbt_run(cmd, out);
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* swb_config_load on a NULL-terminated argv; fills cfg and problems. */
static swb_err_t
load(swb_config_t *cfg, swb_strs_t *problems, const char *const *args)
{
    char *argv[40];
    int argc = 0;
    argv[argc++] = "switchboard-broker";
    for (int i = 0; args[i] && argc < 39; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    swb_config_mode_t mode;
    memset(problems, 0, sizeof *problems);
    return swb_config_load(argc, argv, cfg, &mode, problems);
}

static void
test_defaults_and_durations(void)
{
    swb_config_t cfg;
    swb_strs_t p;
    const char *a1[] = {"--data", "/tmp/x", NULL};
    ASSERT_INT_EQ(load(&cfg, &p, a1), SWB_OK);
    ASSERT_INT_EQ(cfg.retention_ms, 7ull * 86400000);
    ASSERT_INT_EQ(cfg.retention_batch, 200);
    ASSERT_INT_EQ(cfg.lease_ms, 10000);
    ASSERT_STR_EQ(cfg.region, "local");
    swb_config_free(&cfg);
    swb_codec_free_strs(&p);

    const char *a2[] = {"--data", "/tmp/x", "--retention", "90s", NULL};
    ASSERT_INT_EQ(load(&cfg, &p, a2), SWB_OK);
    ASSERT_INT_EQ(cfg.retention_ms, 90000);
    swb_config_free(&cfg);
    swb_codec_free_strs(&p);

    const char *a3[] = {"--data", "/tmp/x", "--retention", "off", NULL};
    ASSERT_INT_EQ(load(&cfg, &p, a3), SWB_OK);
    ASSERT_INT_EQ(cfg.retention_ms, 0);
    swb_config_free(&cfg);
    swb_codec_free_strs(&p);

    char buf[32];
    ASSERT_STR_EQ(swb_cfg_duration_text(7ull * 86400000, buf, sizeof buf),
                  "7d");
    ASSERT_STR_EQ(swb_cfg_duration_text(90000, buf, sizeof buf), "90s");
    ASSERT_STR_EQ(swb_cfg_duration_text(250, buf, sizeof buf), "250ms");
}

/* Every bad flag is reported, not only the first. */
static void
test_every_bad_flag_reported(void)
{
    swb_config_t cfg;
    swb_strs_t p;
    const char *args[] = {"--lease-ms", "abc", "--retention", "7 days",
                          "--site", "s1,tz=Mars/Base", "--log-level", "loud",
                          "--bogus", "--retry-base-ms", "5000",
                          "--retry-max-ms", "10", NULL};
    ASSERT_INT_EQ(load(&cfg, &p, args), SWB_EINVAL);
    char all[8192] = "";
    for (size_t i = 0; i < p.n; i++) {
        strncat(all, p.v[i], sizeof all - strlen(all) - 2);
        strcat(all, "\n");
    }
    swb_config_free(&cfg);
    swb_codec_free_strs(&p);
    ASSERT_STR_CONTAINS(all, "--lease-ms \"abc\": not a whole number in "
                        "50..3600000");
    ASSERT_STR_CONTAINS(all, "--retention \"7 days\": not a duration");
    ASSERT_STR_CONTAINS(all, "--site \"s1,tz=Mars/Base\": tz \"Mars/Base\"");
    ASSERT_STR_CONTAINS(all, "--log-level \"loud\"");
    ASSERT_STR_CONTAINS(all, "unknown option \"--bogus\"");
    ASSERT_STR_CONTAINS(all, "--retry-max-ms 10: must be >= retry-base-ms "
                        "(5000, --retry-base-ms)");
    ASSERT_STR_CONTAINS(all, "data: a data folder is required");
    ASSERT_INT_EQ(count_lines(all), 7);
}

/* Every bad --peer is named, with what is wrong. */
static void
test_bad_peers_reported(void)
{
    swb_config_t cfg;
    swb_strs_t p;
    const char *args[] = {"--data", "/tmp/x", "--region", "manila",
                          "--peer", "krakow", "--peer", "kr/kow=tcp://h:1",
                          "--peer", "bogota=tcp://h:1", "--peer",
                          "bogota=tcp://h:2", "--peer", "manila=tcp://h:3",
                          "--peer-down-ms", "100", NULL};
    ASSERT_INT_EQ(load(&cfg, &p, args), SWB_EINVAL);
    char all[8192] = "";
    for (size_t i = 0; i < p.n; i++) {
        strncat(all, p.v[i], sizeof all - strlen(all) - 2);
        strcat(all, "\n");
    }
    swb_config_free(&cfg);
    swb_codec_free_strs(&p);
    ASSERT_STR_CONTAINS(all, "--peer \"krakow\": not NAME=ENDPOINT");
    ASSERT_STR_CONTAINS(all, "--peer \"kr/kow=tcp://h:1\": peer name may "
                        "hold letters, digits and - _ . only");
    ASSERT_STR_CONTAINS(all, "--peer \"bogota=tcp://h:2\": peer \"bogota\" "
                        "is named twice");
    ASSERT_STR_CONTAINS(all, "peer \"manila=tcp://h:3\": a region cannot "
                        "peer with itself (region = manila)");
    ASSERT_STR_CONTAINS(all, "--peer-down-ms \"100\": not a whole number in "
                        "500..600000");
    ASSERT_INT_EQ(count_lines(all), 5);
}

/* The documented example value of every site and sponsor key is taken. */
static void
test_documented_keys_accepted(void)
{
    swb_config_t cfg;
    char why[600];
    swb_cfg_defaults(&cfg);
    swb_site_def_t *s = swb_cfg_site_get(&cfg, "s1");
    swb_sponsor_def_t *sp = swb_cfg_sponsor_get(&cfg, "acme");
    ASSERT_TRUE(s && sp);
    int n = 0;
    for (const swb_cfg_key_t *k = swb_cfg_site_keys; k->name; k++, n++) {
        swb_err_t rc = swb_cfg_site_attr(s, k->name, k->example, why,
                                         sizeof why);
        if (rc)
            fprintf(stderr, "  site key %s = %s: %s\n", k->name, k->example,
                    why);
        ASSERT_INT_EQ(rc, SWB_OK);
    }
    for (const swb_cfg_key_t *k = swb_cfg_sponsor_keys; k->name; k++, n++) {
        swb_err_t rc = swb_cfg_sponsor_attr(sp, k->name, k->example, why,
                                            sizeof why);
        if (rc)
            fprintf(stderr, "  sponsor key %s = %s: %s\n", k->name,
                    k->example, why);
        ASSERT_INT_EQ(rc, SWB_OK);
    }
    ASSERT_INT_GE(n, 8);
    ASSERT_INT_EQ(swb_cfg_site_attr(s, "colour", "blue", why, sizeof why),
                  SWB_EINVAL);
    swb_config_free(&cfg);
}

static const char good_ini[] =
    "; a region with three sites\n"
    "[broker]\n"
    "region = manila\n"
    "data = /var/lib/switchboard\n"
    "retention = 2h\n"
    "lease-ms = 15000\n"
    "\n"
    "[site mnl-1]\n"
    "country = PH\n"
    "tz = Asia/Manila\n"
    "hours = 06:00-23:00\n"
    "[site blr-1]\n"
    "country = IN\n"
    "tz = Asia/Kolkata\n"
    "hours = 09:00-18:00\n"
    "[site krk-1]\n"
    "country = PL\n"
    "tz = Europe/Warsaw\n"
    "[sponsor bank]\n"
    "countries = PH, PL\n"
    "certification = required ; inline comment\n"
    "routing = best-skilled\n";

static void
test_check_config_good_file(void)
{
    char *dir = swbt_tempdir("cfg-good"), *out = NULL;
    const char *path = write_file(dir, "good.ini", good_ini);
    int rc = broker(&out, "--check-config '%s'", path);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_STR_CONTAINS(out, "good.ini: ok");
    ASSERT_STR_CONTAINS(out, "region manila");
    ASSERT_STR_CONTAINS(out, "3 sites");
    ASSERT_STR_CONTAINS(out, "blr-1: country IN, tz Asia/Kolkata, open "
                        "09:00-18:00");
    ASSERT_STR_CONTAINS(out, "krk-1: country PL, tz Europe/Warsaw, always "
                        "open");
    ASSERT_STR_CONTAINS(out, "1 sponsor");
    ASSERT_STR_CONTAINS(out, "bank: countries PH/PL");
    ASSERT_STR_CONTAINS(out, "certification required");
    ASSERT_STR_CONTAINS(out, "retention 2h");
    free(out);
    /* flags win over the file */
    rc = broker(&out, "--check-config '%s' --region cebu --retention 30m",
                path);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_STR_CONTAINS(out, "region cebu");
    ASSERT_STR_CONTAINS(out, "retention 30m");
    free(out);
    swbt_rmdir(dir);
    free(dir);
}

/* Each bad line of this file and the problem it must give. */
static const char bad_ini[] =
    "stray = 1\n"                        /* 1 key before any section  */
    "[broker]\n"                         /* 2                         */
    "region = manila\n"                  /* 3                         */
    "lease-ms = abc\n"                   /* 4 not a number            */
    "ring-ms = 5\n"                      /* 5 out of range            */
    "retry-base-ms = 5000\n"             /* 6                         */
    "retry-max-ms = 1000\n"              /* 7 below retry-base-ms     */
    "retention = 7 days\n"               /* 8 not a duration          */
    "leese-ms = 100\n"                   /* 9 unknown key             */
    "region = again\n"                   /* 10 given twice            */
    "this line is wrong\n"               /* 11 syntax                 */
    "[site mnl-1]\n"                     /* 12                        */
    "country = Philippines\n"            /* 13 bad country            */
    "tz = Mars/Olympus\n"                /* 14 bad time zone          */
    "hours = 8-20\n"                     /* 15 bad hours              */
    "[site mnl-1]\n"                     /* 16 duplicate site         */
    "country = PH\n"                     /* 17 (ignored)              */
    "[sponsor bank]\n"                   /* 18                        */
    "countries = PH, pl\n"               /* 19 bad country code       */
    "certification = maybe\n"            /* 20 bad choice             */
    "[weird]\n"                          /* 21 unknown section        */
    "x = 1\n";                           /* 22 (ignored)              */

static void
test_check_config_reports_every_problem(void)
{
    char *dir = swbt_tempdir("cfg-bad"), *out = NULL;
    const char *path = write_file(dir, "bad.ini", bad_ini);
    int rc = broker(&out, "--check-config '%s'", path);
    ASSERT_INT_EQ(rc, 2);
    static const char *const want[] = {
        "bad.ini:1: stray = \"1\": key before any section",
        "bad.ini:4: [broker] lease-ms = \"abc\": not a whole number in "
        "50..3600000",
        "bad.ini:5: [broker] ring-ms = \"5\": not a whole number in "
        "100..600000",
        "bad.ini:8: [broker] retention = \"7 days\": not a duration",
        "bad.ini:9: [broker] leese-ms: unknown key (did you mean "
        "\"lease-ms\"?)",
        "bad.ini:10: [broker] region = \"again\": given twice (first on "
        "line 3)",
        "bad.ini:11: \"this line is wrong\": not KEY = VALUE",
        "bad.ini:13: [site mnl-1] country = \"Philippines\": not a two-letter "
        "country code",
        "bad.ini:14: [site mnl-1] tz = \"Mars/Olympus\": not a time zone",
        "bad.ini:15: [site mnl-1] hours = \"8-20\": not HH:MM-HH:MM",
        "bad.ini:16: [site mnl-1]: duplicate section (first on line 12)",
        "bad.ini:19: [sponsor bank] countries = \"PH, pl\": \"pl\" is not a "
        "two-letter country code",
        "bad.ini:20: [sponsor bank] certification = \"maybe\"",
        "bad.ini:21: [weird]: unknown section",
        "bad.ini: [broker] data: a data folder is required",
        "bad.ini:7: [broker] retry-max-ms = 1000: must be >= retry-base-ms "
        "(5000, line 6)",
        "16 problems",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ASSERT_STR_CONTAINS(out, want[i]);
    /* one line per problem plus the count, nothing about ignored lines */
    ASSERT_INT_EQ(count_lines(out), 17);
    ASSERT_TRUE(strstr(out, ":17:") == NULL && strstr(out, ":22:") == NULL);
    free(out);
    swbt_rmdir(dir);
    free(dir);
}

/* Lines the parser cannot take: an unclosed header, an over-long line;
 * reading goes on after them. */
static void
test_syntax_problems_do_not_stop_reading(void)
{
    char *dir = swbt_tempdir("cfg-syntax"), *out = NULL;
    char text[1200], longv[400];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = 0;
    snprintf(text, sizeof text, "[broker\nregion = a\n[broker]\n"
             "region = %s\ndata = /tmp/d\nmax-attempts = 0\n", longv);
    const char *path = write_file(dir, "syntax.ini", text);
    int rc = broker(&out, "--check-config '%s'", path);
    ASSERT_INT_EQ(rc, 2);
    ASSERT_STR_CONTAINS(out, "syntax.ini:1: \"[broker\": a section header "
                        "needs a closing ]");
    ASSERT_STR_CONTAINS(out, "syntax.ini:4: line is longer than");
    ASSERT_STR_CONTAINS(out, "syntax.ini:6: [broker] max-attempts = \"0\": "
                        "not a whole number in 1..100");
    ASSERT_STR_CONTAINS(out, "3 problems");
    free(out);
    rc = broker(&out, "--check-config '%s/missing.ini'", dir);
    ASSERT_INT_EQ(rc, 2);
    ASSERT_STR_CONTAINS(out, "missing.ini: cannot open");
    free(out);
    swbt_rmdir(dir);
    free(dir);
}

/* A broker given a bad config lists every problem and never starts. */
static void
test_broker_never_starts_on_bad_config(void)
{
    char *dir = swbt_tempdir("cfg-refuse"), *out = NULL;
    const char *path = write_file(dir, "bad.ini", bad_ini);
    int rc = broker(&out, "--config '%s' --data '%s/data' --clients "
                    "tcp://127.0.0.1:%d --workers tcp://127.0.0.1:%d "
                    "--http off", path, dir, swbt_free_port(),
                    swbt_free_port());
    ASSERT_INT_EQ(rc, 2);
    ASSERT_STR_CONTAINS(out, "bad.ini:4: [broker] lease-ms = \"abc\"");
    ASSERT_STR_CONTAINS(out, "bad.ini:21: [weird]: unknown section");
    ASSERT_STR_CONTAINS(out, "not started (15 problems)");
    ASSERT_TRUE(strstr(out, "event=started") == NULL);
    free(out);
    swbt_rmdir(dir);
    free(dir);
}

/* deploy/region-manila.ini: three sites in three countries, valid. */
static void
test_deploy_example_is_valid(void)
{
    const char *src = getenv("SWB_SOURCE_DIR");
    char *out = NULL;
    int rc = broker(&out, "--check-config '%s/deploy/region-manila.ini'",
                    src ? src : ".");
    ASSERT_INT_EQ(rc, 0);
    ASSERT_STR_CONTAINS(out, "region-manila.ini: ok");
    ASSERT_STR_CONTAINS(out, "3 sites");
    ASSERT_STR_CONTAINS(out, "country PH, tz Asia/Manila");
    ASSERT_STR_CONTAINS(out, "country IN, tz Asia/Kolkata");
    ASSERT_STR_CONTAINS(out, "country MY, tz Asia/Kuala_Lumpur");
    ASSERT_STR_CONTAINS(out, "4 sponsors");
    free(out);
}

/* README.md holds exactly what --help-config prints (regenerate with
 * `switchboard-broker --help-config`), so every option of the table, its
 * default and meaning are documented. */
static void
test_readme_lists_every_key(void)
{
    const char *src = getenv("SWB_SOURCE_DIR");
    char path[4096], *keys = NULL;
    snprintf(path, sizeof path, "%s/README.md", src ? src : ".");
    char *readme = swbt_read_file(path);
    if (!readme) {
        fprintf(stderr, "  skipped: cannot read %s (set SWB_SOURCE_DIR)\n",
                path);
        return;
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' --help-config",
             swbt_bin("switchboard-broker"));
    int rc = swbt_run(cmd, &keys);
    int missing = 0;
    for (size_t i = 0; rc == 0 && i < swb_cfg_noptions; i++) {
        char row[128];
        if (swb_cfg_options[i].flag_only)
            continue;
        snprintf(row, sizeof row, "| `%s` |", swb_cfg_options[i].name);
        if (!strstr(readme, row) || !strstr(keys, row)) {
            fprintf(stderr, "  README.md or --help-config lacks the key %s\n",
                    swb_cfg_options[i].name);
            missing++;
        }
    }
    bool same = keys && strstr(readme, keys) != NULL;
    if (!same)
        fprintf(stderr, "  README.md differs from --help-config; paste this "
                "into README.md's config section:\n%s", keys ? keys : "");
    free(readme);
    free(keys);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_INT_EQ(missing, 0);
    ASSERT_TRUE(same);
}

int
main(void)
{
    SWB_RUN(test_defaults_and_durations);
    SWB_RUN(test_every_bad_flag_reported);
    SWB_RUN(test_bad_peers_reported);
    SWB_RUN(test_documented_keys_accepted);
    SWB_RUN(test_check_config_good_file);
    SWB_RUN(test_check_config_reports_every_problem);
    SWB_RUN(test_syntax_problems_do_not_stop_reading);
    SWB_RUN(test_broker_never_starts_on_bad_config);
    SWB_RUN(test_deploy_example_is_valid);
    SWB_RUN(test_readme_lists_every_key);
    return SWB_TEST_EXIT();
}
