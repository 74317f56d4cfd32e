/*
 * httpkit.c - HTTP fetches through curl and the small live region of
 * the HTTP tests (see httpkit.h).
 */
#include "httpkit.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swb_client.h"

bool
hk_have_curl(void)
{
    return swbt_run("curl --version >/dev/null 2>&1", NULL) == 0;
}

int
hk_fetch(int port, const char *method, const char *path, hk_resp_t *r)
{
    char hdr[] = "/tmp/swb-hk-hdr-XXXXXX", body[] = "/tmp/swb-hk-body-XXXXXX";
    int fh = mkstemp(hdr), fb = mkstemp(body);
    memset(r, 0, sizeof *r);
    if (fh >= 0)
        close(fh);
    if (fb >= 0)
        close(fb);
    char cmd[1600], *out = NULL;
    const char *how = !method ? "" : strcmp(method, "HEAD") == 0 ? "-I"
                                                                 : "-X";
    snprintf(cmd, sizeof cmd, "curl -sS -m 10 %s %s -D '%s' -o '%s' "
             "-w '%%{http_code}' 'http://127.0.0.1:%d%s' 2>/dev/null", how,
             method && strcmp(method, "HEAD") != 0 ? method : "", hdr, body,
             port, path);
    swbt_run(cmd, &out);
    r->status = out ? atoi(out) : 0;
    free(out);
    r->headers = swbt_read_file(hdr);
    r->body = swbt_read_file(body);
    if (!r->body)
        r->body = strdup("");
    if (!r->headers)
        r->headers = strdup("");
    unlink(hdr);
    unlink(body);
    return r->status;
}

void
hk_resp_free(hk_resp_t *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

json_t *
hk_get_json(int port, const char *path)
{
    hk_resp_t r;
    json_t *doc = NULL;
    if (hk_fetch(port, NULL, path, &r) == 200)
        doc = json_loads(r.body, 0, NULL);
    hk_resp_free(&r);
    return doc;
}

double
hk_num(const json_t *doc, const char *path)
{
    char buf[200];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *v = doc;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v;
         k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Polls /api/v1/stats until every path has its value, up to ms. */
static bool
settle(int port, const char *const *paths, const double *want, int ms)
{
    int64_t end = swbt_now_ms() + swbt_ms(ms);
    for (;;) {
        json_t *doc = hk_get_json(port, "/api/v1/stats");
        bool all = doc != NULL;
        for (int i = 0; all && paths[i]; i++)
            all = hk_num(doc, paths[i]) == want[i];
        if (!all && swbt_now_ms() >= end) {
            char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
            fprintf(stderr, "  figures did not settle: %.2000s\n",
                    s ? s : "(no document)");
            free(s);
        }
        json_decref(doc);
        if (all)
            return true;
        if (swbt_now_ms() >= end)
            return false;
        swbt_sleep_ms(100);
    }
}

static int
submit(swb_client_t *c, const char *channel, const char *sponsor, int n)
{
    for (int i = 0; i < n; i++) {
        swb_task_spec_t s = swbt_spec(channel, "hello");
        s.sponsor = (char *)sponsor;
        uint64_t id;
        swb_err_t rc = swb_client_submit(c, &s, &id, NULL);
        if (rc) {
            fprintf(stderr, "  submit %s: %s\n", channel, swb_strerror(rc));
            return -1;
        }
    }
    return 0;
}

int
hk_region_start(hk_region_t *e, const char *tag)
{
    memset(e, 0, sizeof *e);
    e->dir = swbt_tempdir(tag);
    e->http_port = swbt_free_port();
    char http[40];
    snprintf(http, sizeof http, "127.0.0.1:%d", e->http_port);
    const char *extra[] = {"--http", http, "--site",
                           "s1,country=PH,tz=Asia/Manila", "--sponsor",
                           "acme", NULL};
    if (!e->dir || swbt_broker_start(&e->b, e->dir, extra) != 0) {
        fprintf(stderr, "  the broker did not start\n");
        return -1;
    }
    e->a1 = swbt_worker_start(&e->b, e->dir, "s1", "a1", "email", "echo ok",
                              NULL);
    e->a2 = swbt_worker_start(&e->b, e->dir, "s1", "a2", "voice.inbound",
                              "echo ok", NULL);
    swb_client_t *c = NULL;
    if (e->a1 <= 0 || e->a2 <= 0 ||
        swb_client_new(e->b.client_ep, 2000, &c) != SWB_OK)
        return -1;
    const char *ready[] = {"region.live.agents.ready", NULL};
    const double two[] = {2};
    const char *done[] = {"region.total.completed", "region.total.answered",
                          NULL};
    const double done_v[] = {6, 3};
    const char *wait[] = {"region.live.calls_waiting",
                          "region.live.agents.total", NULL};
    const double wait_v[] = {2, 1};
    int rc = -1;
    if (!settle(e->http_port, ready, two, 10000) ||
        submit(c, "email", NULL, 3) || submit(c, "voice.inbound", "acme", 3) ||
        !settle(e->http_port, done, done_v, 20000))
        goto out;
    swbt_kill(e->a2, SIGTERM);
    e->a2 = 0;
    if (submit(c, "voice.inbound", "acme", 2) ||
        !settle(e->http_port, wait, wait_v, 10000))
        goto out;
    rc = 0;
out:
    swb_client_destroy(&c);
    return rc;
}

void
hk_region_stop(hk_region_t *e)
{
    if (e->a1 > 0)
        swbt_kill(e->a1, SIGTERM);
    if (e->a2 > 0)
        swbt_kill(e->a2, SIGTERM);
    e->a1 = e->a2 = 0;
    if (e->b.pid > 0)
        swbt_broker_stop(&e->b, SIGTERM);
    swbt_broker_free(&e->b);
    if (e->dir) {
        swbt_rmdir(e->dir);
        free(e->dir);
    }
    e->dir = NULL;
}
