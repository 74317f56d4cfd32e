/*
 * test_wallboard.c - the wallboard page in a real browser: Debian's
 * chromium, headless, started by this test against a live broker with
 * traffic (httpkit.h). The page's JavaScript fetches /api/v1/stats and
 * draws it; the DOM chromium dumps must show the same figures as the
 * API (by the page's stable ids and data-value attributes, see
 * broker/wallboard.html), the service level in the over-target colour,
 * and the status "ok". A screenshot and the DOM are kept under
 * <build>/tests/artifacts/ for people to look at.
 *
 * Without chromium or curl, or when chromium cannot run here (no
 * namespaces, no /dev/shm, ...), the test says why and exits 77, which
 * ctest shows as skipped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "httpkit.h"

static const char *chromium;
static char artifacts[600];

/* Runs chromium headless on url with extra arguments (one string);
 * stdout to *out, stderr to errlog. Returns its exit code. */
static int
run_chromium(const char *profile, const char *args, const char *url,
             const char *errlog, char **out)
{
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "timeout %d %s --headless --no-sandbox --disable-gpu "
             "--disable-quic --no-first-run --disable-background-networking "
             "--disable-component-update --disable-sync "
             "--disable-dev-shm-usage --user-data-dir='%s' %s '%s' "
             "2>>'%s' </dev/null",
             swbt_ms(60000) / 1000, chromium, profile, args, url, errlog);
    return swbt_run(cmd, out);
}

/* data-value of the element with id in the dumped DOM: a number, or
 * NAN for "null" or a missing element (*found tells which). */
static double
page_value(const char *dom, const char *id, bool *found)
{
    char key[200];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *p = strstr(dom, key);
    *found = false;
    if (!p)
        return NAN;
    const char *gt = strchr(p, '>');
    const char *v = strstr(p, "data-value=\"");
    if (!v || (gt && v > gt))
        return NAN;
    *found = true;
    v += strlen("data-value=\"");
    if (strncmp(v, "null\"", 5) == 0)
        return NAN;
    return strtod(v, NULL);
}

/* An attribute of the element with id, in buf ("" when missing). */
static const char *
page_attr(const char *dom, const char *id, const char *attr, char *buf,
          size_t len)
{
    char key[200];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *p = strstr(dom, key), *gt = p ? strchr(p, '>') : NULL;
    buf[0] = 0;
    snprintf(key, sizeof key, " %s=\"", attr);
    const char *a = p ? strstr(p, key) : NULL;
    if (a && (!gt || a < gt)) {
        a += strlen(key);
        const char *q = strchr(a, '"');
        snprintf(buf, len, "%.*s", q ? (int)(q - a) : 0, a);
    }
    return buf;
}

typedef struct pair {
    const char *id;   /* on the page                    */
    const char *path; /* in the document (see hk_num)   */
} pair_t;

/* The queue of voice.inbound/acme, the email queue and site s1 as
 * objects of the document, found by their keys. */
static const json_t *
queue_of(const json_t *doc, const char *channel, const char *sponsor)
{
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(doc, "queues"), i, q) {
        const char *ch = json_string_value(json_object_get(q, "channel"));
        const char *sp = json_string_value(json_object_get(q, "sponsor"));
        if (ch && strcmp(ch, channel) == 0 &&
            ((!sponsor && !sp) || (sponsor && sp && !strcmp(sp, sponsor))))
            return q;
    }
    return NULL;
}

static bool
same(double page, double api)
{
    return (isnan(page) && isnan(api)) || fabs(page - api) < 1e-9;
}

static void
check_pairs(const char *dom, const json_t *scope, const pair_t *pairs)
{
    for (int i = 0; pairs[i].id; i++) {
        bool found;
        double pv = page_value(dom, pairs[i].id, &found);
        double av = hk_num(scope, pairs[i].path);
        if (!found)
            SWBT_FAIL_("no element #%s on the page", pairs[i].id);
        if (!same(pv, av))
            SWBT_FAIL_("#%s shows %g, the API says %s = %g", pairs[i].id, pv,
                       pairs[i].path, av);
    }
}

static void
test_wallboard_matches_api(hk_region_t *e, int *skip)
{
    char url[100], profile[700], errlog[700], path[700];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", e->http_port);
    snprintf(profile, sizeof profile, "%s/chromium-profile", e->dir);
    snprintf(errlog, sizeof errlog, "%s/chromium.log", e->dir);

    /* the page fetches every 2 s; 5 s of virtual time are enough for
     * the first fetches to land */
    char *dom = NULL;
    int rc = run_chromium(profile, "--virtual-time-budget=5000 --dump-dom",
                          url, errlog, &dom);
    if (rc != 0 || !dom || !strstr(dom, "wb-status")) {
        char *err = swbt_read_file(errlog);
        size_t n = err ? strlen(err) : 0;
        fprintf(stderr, "SKIP: chromium did not run here (exit %d); its "
                        "stderr ends:\n%s\n", rc,
                err ? err + (n > 2000 ? n - 2000 : 0) : "(none)");
        free(err);
        free(dom);
        *skip = 1;
        return;
    }
    snprintf(path, sizeof path, "%s/wallboard-dom.html", artifacts);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(dom, f);
        fclose(f);
    }
    /* the API right after: the traffic has settled, so the counts agree */
    json_t *doc = hk_get_json(e->http_port, "/api/v1/stats");
    char buf[40];
    if (!doc)
        free(dom);
    ASSERT_TRUE(doc != NULL);
    const json_t *region = json_object_get(doc, "region");
    const json_t *voice = queue_of(doc, "voice.inbound", "acme");
    const json_t *email = queue_of(doc, "email", NULL);
    const json_t *s1 = NULL, *s;
    size_t i;
    json_array_foreach(json_object_get(doc, "sites"), i, s) {
        const char *id = json_string_value(json_object_get(s, "site"));
        if (id && strcmp(id, "s1") == 0)
            s1 = s;
    }
    if (!voice || !email || !s1) {
        free(dom);
        json_decref(doc);
    }
    ASSERT_TRUE(voice && email && s1);

    ASSERT_STR_EQ(page_attr(dom, "wb-status", "data-state", buf, sizeof buf),
                  "ok");
    static const pair_t region_pairs[] = {
        {"region-sl15", "last_15m.service_level"},
        {"region-calls_waiting", "live.calls_waiting"},
        {"region-abandon15", "last_15m.abandon_rate"},
        {"region-agents-ready", "live.agents.ready"},
        {NULL, NULL}};
    static const pair_t voice_pairs[] = {
        {"q-voice.inbound-acme-sl15", "last_15m.service_level"},
        {"q-voice.inbound-acme-sl_today", "today.service_level"},
        {"q-voice.inbound-acme-waiting", "live.waiting"},
        {"q-voice.inbound-acme-calls_waiting", "live.calls_waiting"},
        {"q-voice.inbound-acme-answered_today", "today.answered"},
        {"q-voice.inbound-acme-abandoned_today", "today.abandoned"},
        {NULL, NULL}};
    static const pair_t email_pairs[] = {
        {"q-email-_-completed_today", "today.completed"},
        {"q-email-_-waiting", "live.waiting"},
        {NULL, NULL}};
    static const pair_t site_pairs[] = {
        {"s-s1-agents-ready", "live.agents.ready"},
        {"s-s1-agents-busy", "live.agents.busy"},
        {"s-s1-agents-not-ready", "live.agents.not-ready"},
        {"s-s1-agents-total", "live.agents.total"},
        {"s-s1-waiting", "live.waiting"},
        {NULL, NULL}};
    int before = swbt_failed;
    check_pairs(dom, region, region_pairs);
    if (swbt_failed == before)
        check_pairs(dom, voice, voice_pairs);
    if (swbt_failed == before)
        check_pairs(dom, email, email_pairs);
    if (swbt_failed == before)
        check_pairs(dom, s1, site_pairs);
    /* the figures themselves, so that two blank pages cannot agree */
    bool found;
    double waiting = page_value(dom, "q-voice.inbound-acme-calls_waiting",
                                &found);
    double sl = page_value(dom, "q-voice.inbound-acme-sl15", &found);
    const char *colour = page_attr(dom, "q-voice.inbound-acme-sl15",
                                   "data-sl", buf, sizeof buf);
    char colour_copy[40];
    snprintf(colour_copy, sizeof colour_copy, "%s", colour);
    free(dom);
    json_decref(doc);
    if (swbt_failed != before)
        return;
    ASSERT_TRUE(waiting == 2);
    ASSERT_TRUE(sl == 100);
    ASSERT_STR_EQ(colour_copy, "over"); /* 100 % against 80/20 */

    /* the screenshot, for people */
    char args[900];
    snprintf(path, sizeof path, "%s/wallboard.png", artifacts);
    remove(path);
    snprintf(args, sizeof args, "--virtual-time-budget=5000 "
             "--window-size=1920,1080 --hide-scrollbars --screenshot='%s'",
             path);
    rc = run_chromium(profile, args, url, errlog, NULL);
    struct stat st;
    ASSERT_INT_EQ(rc, 0);
    ASSERT_INT_EQ(stat(path, &st), 0);
    ASSERT_INT_GE(st.st_size, 10000);
    fprintf(stderr, "  screenshot: %s\n", path);
}

int
main(void)
{
    const char *cands[] = {"chromium", "chromium-browser", NULL};
    for (int i = 0; cands[i] && !chromium; i++) {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", cands[i]);
        if (swbt_run(cmd, NULL) == 0)
            chromium = cands[i];
    }
    if (!chromium) {
        fprintf(stderr, "SKIP: chromium is not installed "
                        "(deploy/install-deps.sh --test installs it)\n");
        return HK_SKIP;
    }
    if (!hk_have_curl()) {
        fprintf(stderr, "SKIP: the curl command is not installed\n");
        return HK_SKIP;
    }
    const char *bin = getenv("SWB_BIN_DIR");
    snprintf(artifacts, sizeof artifacts, "%s/tests/artifacts",
             bin ? bin : ".");
    mkdir(artifacts, 0755);

    hk_region_t e;
    int skip = 0;
    int up = hk_region_start(&e, "wallboard");
    swbt_failed = 0;
    fprintf(stderr, "RUN  test_wallboard_matches_api\n");
    if (up == 0)
        test_wallboard_matches_api(&e, &skip);
    else
        swbt_failed++;
    fprintf(stderr, "%s test_wallboard_matches_api\n",
            skip ? "SKIP" : swbt_failed ? "FAIL" : "OK  ");
    hk_region_stop(&e);
    if (skip)
        return HK_SKIP;
    return swbt_failed ? 1 : 0;
}
