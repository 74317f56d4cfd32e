/*
 * test_http.c - the broker's HTTP port against a real broker with
 * traffic (httpkit.h): the JSON API (/api/v1, stats, sites, agents),
 * /metrics in valid Prometheus text with the figures of the API, the
 * wallboard page, errors (404, 405), that a stalled HTTP client does not
 * hold up dispatch, and that a broker whose HTTP port is taken refuses
 * to start with a clear error. Fetches go through the curl command;
 * without it the binary skips (exit 77).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpkit.h"
#include "swb_client.h"

static hk_region_t region;
static bool region_up;

static json_t *
find_in(const json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach((json_t *)arr, i, o) {
        const char *s = json_string_value(json_object_get(o, key));
        if (s && strcmp(s, value) == 0)
            return o;
    }
    return NULL;
}

static void
test_api_stats(void)
{
    ASSERT_TRUE(region_up);
    hk_resp_t r;
    ASSERT_INT_EQ(hk_fetch(region.http_port, NULL, "/api/v1/stats", &r), 200);
    ASSERT_STR_CONTAINS(r.headers, "Content-Type: application/json");
    json_t *doc = json_loads(r.body, 0, NULL);
    hk_resp_free(&r);
    ASSERT_TRUE(doc != NULL);
    ASSERT_INT_EQ(hk_num(doc, "version"), 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(
                      json_object_get(doc, "region"), "name")),
                  "local");
    ASSERT_INT_EQ(hk_num(doc, "region.total.completed"), 6);
    ASSERT_INT_EQ(hk_num(doc, "region.live.calls_waiting"), 2);
    ASSERT_INT_EQ(hk_num(doc, "region.last_15m.service_level"), 100);
    json_t *q = json_object_get(doc, "queues"), *voice = NULL, *o;
    size_t i;
    json_array_foreach(q, i, o) {
        const char *ch = json_string_value(json_object_get(o, "channel"));
        const char *sp = json_string_value(json_object_get(o, "sponsor"));
        if (ch && sp && !strcmp(ch, "voice.inbound") && !strcmp(sp, "acme"))
            voice = o;
    }
    ASSERT_TRUE(voice != NULL);
    ASSERT_INT_EQ(hk_num(voice, "live.calls_waiting"), 2);
    ASSERT_INT_EQ(hk_num(voice, "total.answered"), 3);
    json_t *s1 = find_in(json_object_get(doc, "sites"), "site", "s1");
    ASSERT_TRUE(s1 != NULL);
    ASSERT_INT_EQ(hk_num(s1, "live.agents.total"), 1);
    json_decref(doc);

    /* one site; an unknown one is 404 */
    doc = hk_get_json(region.http_port, "/api/v1/stats?site=s1");
    ASSERT_TRUE(doc != NULL);
    ASSERT_INT_EQ(json_array_size(json_object_get(doc, "sites")), 1);
    json_decref(doc);
    ASSERT_INT_EQ(hk_fetch(region.http_port, NULL, "/api/v1/stats?site=nowhere",
                           &r), 404);
    ASSERT_STR_CONTAINS(r.body, "nowhere");
    hk_resp_free(&r);
}

static void
test_api_sites_agents_index(void)
{
    ASSERT_TRUE(region_up);
    json_t *doc = hk_get_json(region.http_port, "/api/v1/sites");
    ASSERT_TRUE(doc != NULL);
    json_t *s1 = find_in(json_object_get(doc, "sites"), "site", "s1");
    ASSERT_TRUE(s1 != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(s1, "country")), "PH");
    json_decref(doc);

    doc = hk_get_json(region.http_port, "/api/v1/agents");
    ASSERT_TRUE(doc != NULL);
    json_t *a1 = find_in(json_object_get(doc, "agents"), "agent", "a1");
    json_t *a2 = find_in(json_object_get(doc, "agents"), "agent", "a2");
    ASSERT_TRUE(a1 != NULL && a2 != NULL);
    ASSERT_TRUE(json_is_true(json_object_get(a1, "connected")));
    ASSERT_TRUE(json_is_false(json_object_get(a2, "connected")));
    ASSERT_STR_EQ(json_string_value(json_object_get(a1, "site")), "s1");
    ASSERT_STR_EQ(json_string_value(json_object_get(a1, "state")), "ready");
    json_decref(doc);
    doc = hk_get_json(region.http_port, "/api/v1/agents?site=elsewhere");
    ASSERT_INT_EQ(json_array_size(json_object_get(doc, "agents")), 0);
    json_decref(doc);

    doc = hk_get_json(region.http_port, "/api/v1/");
    ASSERT_TRUE(json_is_string(json_object_get(
        json_object_get(doc, "endpoints"), "/metrics")));
    json_decref(doc);
}

/* The value of the sample `name{labels}` in Prometheus text, NAN when
 * missing. */
static double
sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return NAN;
}

/* Every line is a comment or `switchboard_name{labels} value`; every
 * family has # TYPE before its samples; counters end in _total. */
static void
check_exposition(const char *text)
{
    char family[200] = "", type[20] = "";
    int samples = 0;
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        ASSERT_TRUE(end != NULL); /* the last line ends with \n too */
        char line[1000];
        size_t len = (size_t)(end - p) < sizeof line - 1 ? (size_t)(end - p)
                                                         : sizeof line - 1;
        memcpy(line, p, len);
        line[len] = 0;
        p = end + 1;
        if (strncmp(line, "# HELP ", 7) == 0)
            continue;
        if (strncmp(line, "# TYPE ", 7) == 0) {
            ASSERT_INT_EQ(sscanf(line + 7, "%199s %19s", family, type), 2);
            ASSERT_TRUE(strncmp(family, "switchboard_", 12) == 0);
            if (strcmp(type, "counter") == 0)
                ASSERT_STR_CONTAINS(family + strlen(family) - 6, "_total");
            else
                ASSERT_STR_EQ(type, "gauge");
            continue;
        }
        size_t fl = strlen(family);
        if (strncmp(line, family, fl) != 0 || line[fl] != '{')
            SWBT_FAIL_("sample outside its family %s: %s", family, line);
        const char *close = strstr(line, "} ");
        ASSERT_TRUE(close != NULL);
        ASSERT_STR_CONTAINS(line, "region=\"local\"");
        char *rest;
        strtod(close + 2, &rest);
        if (*rest || rest == close + 2)
            SWBT_FAIL_("bad value in: %s", line);
        for (const char *c = line; c < line + fl; c++)
            if (!islower((unsigned char)*c) && *c != '_')
                SWBT_FAIL_("bad metric name in: %s", line);
        samples++;
    }
    ASSERT_INT_GE(samples, 50);
}

static void
test_metrics(void)
{
    ASSERT_TRUE(region_up);
    hk_resp_t r;
    ASSERT_INT_EQ(hk_fetch(region.http_port, NULL, "/metrics", &r), 200);
    ASSERT_STR_CONTAINS(r.headers, "text/plain; version=0.0.4");
    check_exposition(r.body);
    const char *text = r.body;
    ASSERT_INT_EQ(sample(text, "switchboard_region_tasks_completed_total"
                               "{region=\"local\"}"), 6);
    ASSERT_INT_EQ(sample(text, "switchboard_queue_calls_answered_total"
                               "{region=\"local\",channel=\"voice.inbound\","
                               "sponsor=\"acme\"}"), 3);
    ASSERT_INT_EQ(sample(text, "switchboard_queue_calls_waiting"
                               "{region=\"local\",channel=\"voice.inbound\","
                               "sponsor=\"acme\"}"), 2);
    ASSERT_INT_EQ(sample(text, "switchboard_queue_tasks_completed_total"
                               "{region=\"local\",channel=\"email\","
                               "sponsor=\"\"}"), 3);
    ASSERT_INT_EQ(sample(text, "switchboard_site_agents{region=\"local\","
                               "site=\"s1\",state=\"total\"}"), 1);
    ASSERT_INT_EQ(sample(text, "switchboard_queue_service_level_ratio"
                               "{region=\"local\",channel=\"voice.inbound\","
                               "sponsor=\"acme\",window=\"15m\"}"), 1);
    ASSERT_TRUE(sample(text, "switchboard_queue_service_level_target_seconds"
                             "{region=\"local\",channel=\"voice.inbound\","
                             "sponsor=\"acme\"}") == 20);
    ASSERT_TRUE(sample(text, "switchboard_site_info{region=\"local\","
                             "site=\"s1\",country=\"PH\","
                             "tz=\"Asia/Manila\"}") == 1);
    /* a call waits for minutes in no window yet: the age is there */
    ASSERT_TRUE(sample(text, "switchboard_queue_longest_call_wait_seconds"
                             "{region=\"local\",channel=\"voice.inbound\","
                             "sponsor=\"acme\"}") >= 0);
    hk_resp_free(&r);
}

static void
test_wallboard_page_and_errors(void)
{
    ASSERT_TRUE(region_up);
    hk_resp_t r;
    ASSERT_INT_EQ(hk_fetch(region.http_port, NULL, "/", &r), 200);
    ASSERT_STR_CONTAINS(r.headers, "text/html");
    ASSERT_STR_CONTAINS(r.headers, "Content-Security-Policy: default-src "
                                   "'none'");
    ASSERT_STR_CONTAINS(r.body, "id=\"wb-queues\"");
    ASSERT_STR_CONTAINS(r.body, "/api/v1/stats");
    /* self-contained: nothing from elsewhere */
    ASSERT_TRUE(strstr(r.body, "src=\"http") == NULL);
    ASSERT_TRUE(strstr(r.body, "href=\"http") == NULL);
    hk_resp_free(&r);
    ASSERT_INT_EQ(hk_fetch(region.http_port, "HEAD", "/metrics", &r), 200);
    ASSERT_STR_CONTAINS(r.headers, "Content-Length: ");
    hk_resp_free(&r);
    ASSERT_INT_EQ(hk_fetch(region.http_port, NULL, "/nope", &r), 404);
    ASSERT_STR_CONTAINS(r.body, "\"not_found\"");
    hk_resp_free(&r);
    ASSERT_INT_EQ(hk_fetch(region.http_port, "POST", "/api/v1/stats", &r),
                  405);
    ASSERT_STR_CONTAINS(r.headers, "Allow: GET, HEAD");
    hk_resp_free(&r);
    ASSERT_INT_EQ(hk_fetch(region.http_port, NULL, "/healthz", &r), 200);
    hk_resp_free(&r);
}

/* A client that opens a connection and sends half a request does not
 * hold up the broker: a task still goes through at once. */
static void
test_stalled_client_does_not_block(void)
{
    ASSERT_TRUE(region_up);
    int fds[8];
    for (int i = 0; i < 8; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)region.http_port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_INT_EQ(connect(fds[i], (struct sockaddr *)&a, sizeof a), 0);
        const char half[] = "GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n";
        ASSERT_INT_EQ(write(fds[i], half, sizeof half - 1),
                      (long long)sizeof half - 1);
    }
    swb_client_t *c = NULL;
    ASSERT_INT_EQ(swb_client_new(region.b.client_ep, 2000, &c), SWB_OK);
    swb_task_spec_t s = swbt_spec("email", "x");
    uint64_t id;
    int64_t t0 = swbt_now_ms();
    swb_err_t rc = swb_client_submit(c, &s, &id, NULL);
    swb_task_t t;
    swb_bytes_t res = {0};
    if (rc == SWB_OK)
        rc = swb_client_wait(c, id, swbt_ms(5000), &t, &res);
    int64_t ms = swbt_now_ms() - t0;
    swb_client_destroy(&c);
    hk_resp_t r;
    int status = hk_fetch(region.http_port, NULL, "/healthz", &r);
    hk_resp_free(&r);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    ASSERT_INT_EQ(rc, SWB_OK);
    ASSERT_STR_EQ(t.state, "completed");
    swb_codec_free(&swb_task_schema, &t);
    free(res.data);
    ASSERT_TRUE(ms < swbt_ms(3000));
    ASSERT_INT_EQ(status, 200);
}

/* A taken HTTP port: exit 1 and a sentence that names it. */
static void
test_port_in_use_refuses_start(void)
{
    char *dir = swbt_tempdir("http-busy");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    ASSERT_INT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_INT_EQ(listen(fd, 4), 0);
    getsockname(fd, (struct sockaddr *)&a, &al);
    char http[40], data[600], clients[64], workers[64], log[600];
    snprintf(http, sizeof http, "127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(log, sizeof log, "%s/broker.log", dir);
    snprintf(clients, sizeof clients, "tcp://127.0.0.1:%d", swbt_free_port());
    snprintf(workers, sizeof workers, "tcp://127.0.0.1:%d", swbt_free_port());
    char *bin = strdup(swbt_bin("switchboard-broker"));
    char *argv[] = {bin, "--data", data, "--clients", clients, "--workers",
                    workers, "--http", http, NULL};
    pid_t pid = swbt_spawn(argv, log);
    int code = swbt_wait_exit(pid, swbt_ms(10000));
    if (code == -1)
        swbt_kill(pid, SIGKILL);
    char *text = swbt_read_file(log);
    close(fd);
    free(bin);
    ASSERT_INT_EQ(code, 1);
    ASSERT_STR_CONTAINS(text, "cannot bind the HTTP port");
    ASSERT_STR_CONTAINS(text, http);
    ASSERT_STR_CONTAINS(text, "Address already in use");
    free(text);

    /* a malformed --http is refused too */
    char *bin2 = strdup(swbt_bin("switchboard-broker"));
    char *argv2[] = {bin2, "--data", data, "--clients", clients, "--workers",
                     workers, "--http", "7780", NULL};
    pid = swbt_spawn(argv2, log);
    code = swbt_wait_exit(pid, swbt_ms(10000));
    if (code == -1)
        swbt_kill(pid, SIGKILL);
    free(bin2);
    text = swbt_read_file(log);
    ASSERT_INT_GE(code, 1);
    ASSERT_STR_CONTAINS(text, "--http 7780: expected HOST:PORT");
    free(text);
    swbt_rmdir(dir);
    free(dir);
}

int
main(void)
{
    if (!hk_have_curl()) {
        fprintf(stderr, "SKIP: the curl command is not installed "
                        "(deploy/install-deps.sh --test installs it)\n");
        return HK_SKIP;
    }
    SWB_RUN(test_port_in_use_refuses_start);
    region_up = hk_region_start(&region, "http") == 0;
    SWB_RUN(test_api_stats);
    SWB_RUN(test_api_sites_agents_index);
    SWB_RUN(test_metrics);
    SWB_RUN(test_wallboard_page_and_errors);
    SWB_RUN(test_stalled_client_does_not_block);
    hk_region_stop(&region);
    return SWB_TEST_EXIT();
}
