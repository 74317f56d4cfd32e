/*
 * test_federation.c - two regions (real brokers "manila" and "krakow"
 * peered on loopback, real workers, LMDB in temp folders): overflow by
 * language, by service level and by opening hours (follow-the-sun), the
 * sponsor's allowed regions, kill -9 of the peer holding forwarded work
 * (its unstarted tasks are taken back, its started ones report later),
 * kill -9 of the origin while handing over, and hostile input at the
 * peers endpoint.
 *
 * Every scenario counts its tasks: submitted, completed at the origin,
 * lost (not completed; must be 0) and duplicated (runs beyond one, from
 * the handlers' own record of what they ran; reported, and 0 where no
 * lease rule allows one).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <czmq.h>
#include <jansson.h>
#include <sys/stat.h>

#include "swb_client.h"
#include "swb_curve.h"
#include "swb_domain.h"
#include "swb_msg.h"
#include "swbtest.h"

typedef struct region {
    swbt_broker_t b;
    char *dir;
    int peers_port;
    pid_t workers[8];
    int nworkers;
} region_t;

typedef struct fed {
    region_t m, k; /* manila (the origin), krakow (the peer) */
} fed_t;

/* What a test started, stopped by main after the test even when an
 * assert returned early (RUN below). */
static fed_t *live_fed;
static pid_t live_pids[4];

/* Starts one region peered with the other (ports chosen beforehand). */
static int
region_start(region_t *r, const char *name, const region_t *other,
             const char *other_name, const char *const *more)
{
    char peers[64], peer[96];
    snprintf(peers, sizeof peers, "tcp://127.0.0.1:%d", r->peers_port);
    snprintf(peer, sizeof peer, "%s=tcp://127.0.0.1:%d", other_name,
             other->peers_port);
    const char *extra[32] = {"--region", name, "--peers", peers, "--peer",
                             peer, "--http", "off", "--peer-down-ms", "1000",
                             "--reclaim-ms", "2000", "--heartbeat-ms", "200"};
    int n = 14;
    for (int i = 0; more && more[i] && n < 31; i++)
        extra[n++] = more[i];
    extra[n] = NULL;
    return swbt_broker_start(&r->b, r->dir, extra);
}

static void
fed_start(fed_t *f, const char *tag, const char *const *m_more,
          const char *const *k_more)
{
    char t[64];
    memset(f, 0, sizeof *f);
    snprintf(t, sizeof t, "%s-m", tag);
    f->m.dir = swbt_tempdir(t);
    snprintf(t, sizeof t, "%s-k", tag);
    f->k.dir = swbt_tempdir(t);
    f->m.peers_port = swbt_free_port();
    f->k.peers_port = swbt_free_port();
    live_fed = f;
    ASSERT_INT_EQ(region_start(&f->m, "manila", &f->k, "krakow", m_more), 0);
    ASSERT_INT_EQ(region_start(&f->k, "krakow", &f->m, "manila", k_more), 0);
}

static void
fed_stop(fed_t *f)
{
    live_fed = NULL;
    region_t *rs[2] = {&f->m, &f->k};
    for (int i = 0; i < 2; i++) {
        for (int w = 0; w < rs[i]->nworkers; w++)
            if (rs[i]->workers[w] > 0)
                swbt_kill(rs[i]->workers[w], SIGTERM);
        swbt_broker_stop(&rs[i]->b, SIGTERM);
        swbt_broker_free(&rs[i]->b);
    }
    swbt_rmdir(f->m.dir);
    swbt_rmdir(f->k.dir);
    free(f->m.dir);
    free(f->k.dir);
}

/* A worker of region r whose handler records each task it ran in
 * r->dir/ran.txt (one JSON line per run), after sleeping `sleep_s`. */
static void
add_worker(region_t *r, const char *site, const char *agent,
           const char *channels, const char *sleep_s, const char *const *more)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "t=$(cat); sleep %s; printf '%%s\\n' \"$t\" "
             ">> %s/ran.txt; echo ran-by-%s", sleep_s, r->dir, agent);
    r->workers[r->nworkers++] =
        swbt_worker_start(&r->b, r->dir, site, agent, channels, cmd, more);
}

static swb_client_t *
client_of(const region_t *r)
{
    swb_client_t *c = NULL;
    if (swb_client_new(r->b.client_ep, swbt_ms(5000), &c) != SWB_OK)
        fprintf(stderr, "  cannot make a client of %s\n", r->b.client_ep);
    return c;
}

/* Submits n tasks with payload "tok-TAG-i" pipelined; returns acked. */
static int
submit_n(swb_client_t *c, swb_task_spec_t *base, const char *tag, int n,
         uint64_t *ids)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "tok-%s-", tag);
    return swbt_submit_many(c, base, prefix, n, ids);
}

/* Runs of task `i` of tag recorded in a region's ran.txt. */
static int
runs_in(const region_t *r, const char *tag, int i)
{
    char path[600], needle[80];
    snprintf(path, sizeof path, "%s/ran.txt", r->dir);
    snprintf(needle, sizeof needle, "\"payload\":\"tok-%s-%d\"", tag, i);
    char *text = swbt_read_file(path);
    int n = 0;
    for (char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(text);
    return n;
}

typedef struct tally {
    int submitted, completed, lost, duplicated;
    int at_k, at_m; /* completed by an agent of each region */
} tally_t;

/* Waits for every task at the origin and counts. */
static tally_t
tally(fed_t *f, swb_client_t *c, const char *tag, const uint64_t *ids,
      int n, int wait_ms)
{
    tally_t t = {n, 0, 0, 0, 0, 0};
    int64_t until = swbt_now_ms() + swbt_ms(wait_ms);
    for (int i = 0; i < n; i++) {
        swb_task_t rec;
        int64_t left = until - swbt_now_ms();
        if (!ids[i] ||
            swb_client_wait(c, ids[i], (uint64_t)(left > 100 ? left : 100),
                            &rec, NULL) != SWB_OK) {
            t.lost++;
            continue;
        }
        if (strcmp(rec.state, "completed") == 0) {
            t.completed++;
            if (rec.site && strncmp(rec.site, "krk", 3) == 0)
                t.at_k++;
            else
                t.at_m++;
        } else {
            t.lost++;
            fprintf(stderr, "  task %llu (tok-%s-%d) is %s (%s)\n",
                    (unsigned long long)ids[i], tag, i, rec.state,
                    rec.reason ? rec.reason : "-");
        }
        swb_codec_free(&swb_task_schema, &rec);
    }
    swbt_sleep_ms(200); /* the last handler lines are written */
    for (int i = 0; i < n; i++) {
        int runs = runs_in(&f->m, tag, i) + runs_in(&f->k, tag, i);
        if (runs > 1) {
            t.duplicated += runs - 1;
            fprintf(stderr, "  tok-%s-%d ran %d times (manila %d, krakow "
                    "%d)\n", tag, i, runs, runs_in(&f->m, tag, i),
                    runs_in(&f->k, tag, i));
        }
    }
    fprintf(stderr, "  %s: submitted %d, completed %d (krakow %d, manila "
            "%d), lost %d, duplicated %d\n", tag, t.submitted, t.completed,
            t.at_k, t.at_m, t.lost, t.duplicated);
    return t;
}

/* ---- scenarios ---- */

static void
test_overflow_by_language(void)
{
    static fed_t f; /* static: RUN stops it after a failed assert */
    fed_start(&f, "lang", NULL, NULL);
    add_worker(&f.m, "mnl-1", "maria", "email", "0", (const char *[]){
        "--writes", "en:C1", NULL});
    add_worker(&f.k, "krk-1", "ola", "email", "0", (const char *[]){
        "--writes", "pl:C1", "--capacity", "email=4", NULL});
    add_worker(&f.k, "krk-1", "jan", "email", "0", (const char *[]){
        "--writes", "pl:C2", "--capacity", "email=4", NULL});
    swb_client_t *c = client_of(&f.m);
    enum { N = 40 };
    uint64_t ids[N] = {0};
    swb_task_spec_t s = swbt_spec("email", NULL);
    swb_level_t pl = {"pl", 4};
    s.lang.v = &pl;
    s.lang.n = 1;
    ASSERT_INT_EQ(submit_n(c, &s, "pl", N, ids), N);
    tally_t t = tally(&f, c, "pl", ids, N, 30000);
    ASSERT_INT_EQ(t.lost, 0);
    ASSERT_INT_EQ(t.completed, N);
    ASSERT_INT_EQ(t.at_k, N);
    ASSERT_INT_EQ(t.duplicated, 0);
    /* the origin keeps the id; its record says where the task went */
    swb_task_t rec;
    ASSERT_INT_EQ(swb_client_status(c, ids[0], &rec, NULL), SWB_OK);
    ASSERT_STR_EQ(rec.region, "krakow");
    ASSERT_STR_EQ(rec.hand, "started");
    ASSERT_TRUE(rec.peer_id > 0);
    swb_codec_free(&swb_task_schema, &rec);
    /* the statistics show the peer: up, and what went and came back */
    char *doc = NULL;
    ASSERT_INT_EQ(swb_client_stats(c, NULL, &doc), SWB_OK);
    json_t *j = json_loads(doc, 0, NULL);
    json_t *p0 = json_array_get(json_object_get(j, "peers"), 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(p0, "name")), "krakow");
    ASSERT_TRUE(json_is_true(json_object_get(p0, "up")));
    ASSERT_INT_EQ(json_integer_value(json_object_get(p0, "forwarded")), N);
    ASSERT_INT_EQ(json_integer_value(json_object_get(p0, "results")), N);
    ASSERT_INT_EQ(json_integer_value(json_object_get(p0, "handed")), 0);
    ASSERT_INT_GE(json_integer_value(json_object_get(p0, "agents")), 2);
    json_decref(j);
    free(doc);
    /* English work stays home */
    uint64_t en[1] = {0};
    swb_level_t enl = {"en", 4};
    s.lang.v = &enl;
    ASSERT_INT_EQ(submit_n(c, &s, "en", 1, en), 1);
    t = tally(&f, c, "en", en, 1, 10000);
    ASSERT_INT_EQ(t.at_m, 1);
    swb_client_destroy(&c);
    fed_stop(&f);
}

static void
test_overflow_by_service_level(void)
{
    /* acme answers 80 % within 1 s: work waiting longer goes where an
     * agent is free */
    const char *const sl[] = {"--sponsor", "acme,service-level=80/1", NULL};
    static fed_t f; /* static: RUN stops it after a failed assert */
    fed_start(&f, "sl", sl, sl);
    add_worker(&f.m, "mnl-1", "maria", "email", "1", (const char *[]){
        "--writes", "en:C1", NULL});
    add_worker(&f.k, "krk-1", "ola", "email", "0", (const char *[]){
        "--writes", "en:C1", "--capacity", "email=3", NULL});
    swbt_sleep_ms(swbt_ms(1500)); /* adverts and sessions settle */
    swb_client_t *c = client_of(&f.m);
    enum { N = 12 };
    uint64_t ids[N] = {0};
    swb_task_spec_t s = swbt_spec("email", NULL);
    s.sponsor = "acme";
    swb_level_t en = {"en", 4};
    s.lang.v = &en;
    s.lang.n = 1;
    ASSERT_INT_EQ(submit_n(c, &s, "sl", N, ids), N);
    tally_t t = tally(&f, c, "sl", ids, N, 40000);
    ASSERT_INT_EQ(t.lost, 0);
    ASSERT_INT_EQ(t.completed, N);
    ASSERT_INT_GE(t.at_m, 1); /* the local agent worked too */
    ASSERT_INT_GE(t.at_k, 1); /* and the rest overflowed */
    ASSERT_INT_EQ(t.duplicated, 0);
    swb_client_destroy(&c);
    fed_stop(&f);
}

/* "HH:MM-HH:MM" of a two-hour window that starts in `from_h` hours (UTC). */
static void
hours_from_now(int from_h, char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(out, len, "%02d:00-%02d:00", (tm.tm_hour + from_h) % 24,
             (tm.tm_hour + from_h + 2) % 24);
}

static void
test_follow_the_sun_and_allowed_regions(void)
{
    char closed[64], site[128];
    hours_from_now(3, closed, sizeof closed);
    snprintf(site, sizeof site, "mnl-1,country=PH,tz=UTC,hours=%s", closed);
    const char *const m_more[] = {"--site", site, "--sponsor",
                                  "homebank,regions=manila", NULL};
    static fed_t f; /* static: RUN stops it after a failed assert */
    fed_start(&f, "sun", m_more, NULL);
    /* Manila's agent is eligible but its site is closed now */
    add_worker(&f.m, "mnl-1", "maria", "email", "0", (const char *[]){
        "--writes", "en:C1", NULL});
    add_worker(&f.k, "krk-1", "ola", "email", "0", (const char *[]){
        "--writes", "en:C1", "--capacity", "email=4", NULL});
    swb_client_t *c = client_of(&f.m);
    enum { N = 10 };
    uint64_t ids[N] = {0};
    swb_task_spec_t s = swbt_spec("email", NULL);
    ASSERT_INT_EQ(submit_n(c, &s, "sun", N, ids), N);
    tally_t t = tally(&f, c, "sun", ids, N, 30000);
    ASSERT_INT_EQ(t.lost, 0);
    ASSERT_INT_EQ(t.at_k, N);
    ASSERT_INT_EQ(t.duplicated, 0);
    /* a sponsor that allows only manila: its work waits for the sun */
    uint64_t home[1] = {0};
    s.sponsor = "homebank";
    ASSERT_INT_EQ(submit_n(c, &s, "home", 1, home), 1);
    swbt_sleep_ms(swbt_ms(2000));
    swb_task_t rec;
    ASSERT_INT_EQ(swb_client_status(c, home[0], &rec, NULL), SWB_OK);
    ASSERT_STR_EQ(rec.state, "queued");
    ASSERT_TRUE(rec.region == NULL);
    swb_codec_free(&swb_task_schema, &rec);
    swb_client_destroy(&c);
    fed_stop(&f);
}

static int
count_state(const region_t *r, const char *state, const char *reason_has)
{
    swb_client_t *c = client_of(r);
    swb_m_tasks_t out;
    int n = -1;
    if (c && swb_client_list(c, state, NULL, 1000, &out) == SWB_OK) {
        n = 0;
        swb_task_t *v = out.tasks.v;
        for (size_t i = 0; i < out.tasks.n; i++)
            if (!reason_has || (v[i].reason && strstr(v[i].reason, reason_has)))
                n++;
        swb_codec_free(swb_msg_schema(SWB_MSG_TASKS), &out);
    }
    swb_client_destroy(&c);
    return n;
}

static void
test_kill_peer_holding_forwarded_work(void)
{
    static fed_t f; /* static: RUN stops it after a failed assert */
    fed_start(&f, "killk", NULL, NULL);
    /* only Krakow has a Polish agent, one task at a time, 2 s each */
    add_worker(&f.k, "krk-1", "ola", "email", "2", (const char *[]){
        "--writes", "pl:C1", NULL});
    swb_client_t *c = client_of(&f.m);
    enum { N = 10 };
    uint64_t ids[N] = {0};
    swb_task_spec_t s = swbt_spec("email", NULL);
    swb_level_t pl = {"pl", 4};
    s.lang.v = &pl;
    s.lang.n = 1;
    ASSERT_INT_EQ(submit_n(c, &s, "kk", N, ids), N);
    /* wait until Krakow runs one; the rest are held there, unstarted */
    for (int tries = 0; tries < 100 && runs_in(&f.k, "kk", 0) +
                                          count_state(&f.m, "forwarded", NULL) <
                                      N; tries++)
        swbt_sleep_ms(100);
    swbt_sleep_ms(500);
    swbt_broker_stop(&f.k.b, SIGKILL);
    /* down after 1 s, taken back 2 s later: queued at Manila again */
    int queued = 0;
    for (int tries = 0; tries < 100 && queued == 0; tries++) {
        swbt_sleep_ms(100);
        queued = count_state(&f.m, "queued", "taken back from region krakow");
    }
    fprintf(stderr, "  taken back from the dead peer: %d\n", queued);
    ASSERT_INT_GE(queued, 1);
    /* a Polish agent comes to Manila; Krakow comes back */
    add_worker(&f.m, "mnl-1", "piotr", "email", "0", (const char *[]){
        "--writes", "pl:C1", "--capacity", "email=4", NULL});
    ASSERT_INT_EQ(swbt_broker_restart(&f.k.b), 0);
    tally_t t = tally(&f, c, "kk", ids, N, 40000);
    ASSERT_INT_EQ(t.lost, 0);
    ASSERT_INT_EQ(t.completed, N);
    /* the taken-back ones ran in Manila, the started ones in Krakow */
    ASSERT_INT_EQ(t.at_m, queued);
    ASSERT_INT_EQ(t.at_k, N - queued);
    /* a task running at Krakow when it died may run again only under the
     * lease rules (the worker finished it while the broker was gone) */
    ASSERT_TRUE(t.duplicated <= 1);
    /* Krakow dropped exactly the copies Manila took back */
    int dropped = -1;
    for (int tries = 0; tries < 50; tries++) {
        dropped = count_state(&f.k, "canceled", "taken back by region manila");
        if (dropped == queued)
            break;
        swbt_sleep_ms(100);
    }
    ASSERT_INT_EQ(dropped, queued);
    swb_client_destroy(&c);
    fed_stop(&f);
}

/* A peer frozen (SIGSTOP) past --reclaim-ms and then thawed behaves like
 * a partition that heals: its old messages arrive late, the origin has
 * taken back its unstarted tasks and hands them over again (a newer
 * hand-off); no old message may touch a newer copy, nothing is lost, and
 * its agent keeps working. */
static void
test_frozen_peer_comes_back(void)
{
    static fed_t f; /* static: RUN stops it after a failed assert */
    fed_start(&f, "frozen", NULL, NULL);
    add_worker(&f.k, "krk-1", "ola", "email", "1", (const char *[]){
        "--writes", "pl:C1", NULL});
    swb_client_t *c = client_of(&f.m);
    enum { N = 8 };
    uint64_t ids[N] = {0};
    swb_task_spec_t s = swbt_spec("email", NULL);
    swb_level_t pl = {"pl", 4};
    s.lang.v = &pl;
    s.lang.n = 1;
    ASSERT_INT_EQ(submit_n(c, &s, "fz", N, ids), N);
    for (int tries = 0; tries < 100 && count_state(&f.m, "forwarded", NULL) <
                                           N; tries++)
        swbt_sleep_ms(100);
    swbt_sleep_ms(300);
    kill(f.k.b.pid, SIGSTOP); /* frozen: sockets open, nothing read */
    int queued = 0;
    for (int tries = 0; tries < 100 && queued == 0; tries++) {
        swbt_sleep_ms(100);
        queued = count_state(&f.m, "queued", "taken back from region krakow");
    }
    fprintf(stderr, "  taken back from the frozen peer: %d\n", queued);
    ASSERT_INT_GE(queued, 1);
    swbt_sleep_ms(500); /* more resends and hellos pile up */
    kill(f.k.b.pid, SIGCONT);
    tally_t t = tally(&f, c, "fz", ids, N, 60000);
    ASSERT_INT_EQ(t.lost, 0);
    ASSERT_INT_EQ(t.completed, N);
    ASSERT_INT_EQ(t.at_k, N); /* handed over again, all done in Krakow */
    ASSERT_TRUE(t.duplicated <= 1);
    swb_client_destroy(&c);
    fed_stop(&f);
}

static void
test_cancel_from_the_origin(void)
{
    static fed_t f; /* static: RUN stops it after a failed assert */
    fed_start(&f, "cancel", NULL, NULL);
    add_worker(&f.k, "krk-1", "ola", "email", "6", (const char *[]){
        "--writes", "pl:C1", NULL});
    swb_client_t *c = client_of(&f.m);
    uint64_t ids[3] = {0};
    swb_task_spec_t s = swbt_spec("email", NULL);
    swb_level_t pl = {"pl", 4};
    s.lang.v = &pl;
    s.lang.n = 1;
    ASSERT_INT_EQ(submit_n(c, &s, "cx", 1, ids), 1);
    swb_task_t rec;
    for (int tries = 0; tries < 100; tries++) { /* it runs in Krakow */
        ASSERT_INT_EQ(swb_client_status(c, ids[0], &rec, NULL), SWB_OK);
        bool started = rec.hand && strcmp(rec.hand, "started") == 0;
        swb_codec_free(&swb_task_schema, &rec);
        if (started)
            break;
        swbt_sleep_ms(100);
    }
    ASSERT_INT_EQ(submit_n(c, &s, "cy", 2, ids + 1), 2);
    swbt_sleep_ms(500); /* the others wait there, not started */
    /* not started there: canceled here at once, Krakow drops its copy */
    ASSERT_INT_EQ(swb_client_cancel(c, ids[2], &rec), SWB_OK);
    ASSERT_STR_EQ(rec.state, "canceled");
    swb_codec_free(&swb_task_schema, &rec);
    /* running there: asked to cancel; the final state comes back */
    ASSERT_INT_EQ(swb_client_cancel(c, ids[0], &rec), SWB_OK);
    ASSERT_STR_EQ(rec.state, "forwarded");
    swb_codec_free(&swb_task_schema, &rec);
    ASSERT_INT_EQ(swb_client_wait(c, ids[0], swbt_ms(10000), &rec, NULL),
                  SWB_OK);
    ASSERT_STR_EQ(rec.state, "canceled");
    ASSERT_STR_CONTAINS(rec.reason, "canceled by the client in region manila");
    swb_codec_free(&swb_task_schema, &rec);
    /* the one in between is done in Krakow as usual */
    ASSERT_INT_EQ(swb_client_wait(c, ids[1], swbt_ms(40000), &rec, NULL),
                  SWB_OK);
    ASSERT_STR_EQ(rec.state, "completed");
    swb_codec_free(&swb_task_schema, &rec);
    int dropped = -1;
    for (int tries = 0; tries < 50 && dropped != 1; tries++) {
        swbt_sleep_ms(100);
        dropped = count_state(&f.k, "canceled", "taken back by region manila");
    }
    ASSERT_INT_EQ(dropped, 1);
    swb_client_destroy(&c);
    fed_stop(&f);
}

static void
test_kill_origin_while_handing_over(void)
{
    static fed_t f; /* static: RUN stops it after a failed assert */
    fed_start(&f, "killm", NULL, NULL);
    add_worker(&f.k, "krk-1", "ola", "email", "0", (const char *[]){
        "--writes", "pl:C1", "--capacity", "email=8", NULL});
    add_worker(&f.k, "krk-2", "jan", "email", "0", (const char *[]){
        "--writes", "pl:C1", "--capacity", "email=8", NULL});
    swbt_sleep_ms(swbt_ms(1000));
    swb_client_t *c = client_of(&f.m);
    enum { N = 300 };
    uint64_t *ids = calloc(N, sizeof *ids);
    swb_task_spec_t s = swbt_spec("email", NULL);
    swb_level_t pl = {"pl", 4};
    s.lang.v = &pl;
    s.lang.n = 1;
    ASSERT_INT_EQ(submit_n(c, &s, "km", N, ids), N);
    swbt_broker_stop(&f.m.b, SIGKILL); /* mid hand-off */
    swbt_sleep_ms(500);
    ASSERT_INT_EQ(swbt_broker_restart(&f.m.b), 0);
    tally_t t = tally(&f, c, "km", ids, N, 60000);
    ASSERT_INT_EQ(t.lost, 0);
    ASSERT_INT_EQ(t.completed, N);
    ASSERT_INT_EQ(t.duplicated, 0);
    free(ids);
    swb_client_destroy(&c);
    fed_stop(&f);
}

/* One frame to the peers endpoint as region `as`; the reply or NULL. */
static zframe_t *
peer_exchange(const region_t *r, const char *as, const void *body,
              size_t len)
{
    zsock_t *d = zsock_new(ZMQ_DEALER);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", r->peers_port);
    zsock_set_identity(d, as);
    zsock_set_rcvtimeo(d, swbt_ms(3000));
    zsock_connect(d, "%s", ep);
    zframe_t *f = zframe_new(body, len);
    zframe_send(&f, d, 0);
    zframe_t *reply = NULL;
    for (int i = 0; i < 5; i++) { /* skip adverts */
        zframe_destroy(&reply);
        reply = zframe_recv(d);
        if (!reply || !swbt_frame_has(reply, "advert"))
            break;
    }
    zsock_destroy(&d);
    return reply;
}

static void
test_peers_endpoint_refuses_strangers_and_garbage(void)
{
    static fed_t f; /* static: RUN stops it after a failed assert */
    fed_start(&f, "hostile", NULL, NULL);
    /* a region Krakow does not name */
    swb_msg_t m = {.type = SWB_MSG_PEER_HELLO};
    m.u.peer_hello.region = "bogota";
    void *buf;
    size_t len;
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    zframe_t *r = peer_exchange(&f.k, "bogota", buf, len);
    ASSERT_TRUE(r && swbt_frame_has(r, "refused"));
    zframe_destroy(&r);
    free(buf);
    /* garbage as a named region: an error naming the problem */
    r = peer_exchange(&f.k, "manila", "\xc1\xc1garbage", 9);
    ASSERT_TRUE(r && swbt_frame_has(r, "error"));
    zframe_destroy(&r);
    /* a task nobody in Krakow can take is refused, naming the task */
    swb_task_spec_t spec = swbt_spec("email", "x");
    swb_level_t ja = {"ja", 6};
    spec.lang.v = &ja;
    spec.lang.n = 1;
    m = (swb_msg_t){.type = SWB_MSG_FORWARD};
    m.u.forward.id = 4242;
    m.u.forward.task = &spec;
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    r = peer_exchange(&f.k, "manila", buf, len);
    ASSERT_TRUE(r && swbt_frame_has(r, "no eligible agent"));
    zframe_destroy(&r);
    free(buf);
    /* a channel that does not exist is named as such */
    spec.channel = "fax";
    spec.lang.n = 0;
    m.u.forward.id = 4243;
    ASSERT_INT_EQ(swb_msg_encode(&m, &buf, &len), SWB_OK);
    r = peer_exchange(&f.k, "manila", buf, len);
    ASSERT_TRUE(r && swbt_frame_has(r, "unknown channel"));
    zframe_destroy(&r);
    free(buf);
    /* the region still serves its own clients */
    swb_client_t *c = client_of(&f.k);
    uint64_t id;
    swb_task_spec_t s = swbt_spec("email", "still-here");
    ASSERT_INT_EQ(swb_client_submit(c, &s, &id, NULL), SWB_OK);
    swb_client_destroy(&c);
    fed_stop(&f);
}

/* ---- CurveZMQ between regions ---- */

/* Runs a shell command in dir (the CLI by its absolute path). */
static int __attribute__((format(printf, 2, 3)))
sh(const char *dir, const char *fmt, ...)
{
    char cmd[1500], full[4200], cli[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (!realpath(swbt_bin("switchboard"), cli))
        return -1;
    snprintf(full, sizeof full, "cd '%s' && SWB=%s && %s >/dev/null "
             "2>>cli.log", dir, cli, cmd);
    return swbt_run(full, NULL);
}

/* A broker of region name with --keys DIR/name-keys and --cert
 * own/name (its peer certificate), peered with other. */
static pid_t
secure_broker(const char *dir, const char *name, int *ports,
              const char *other, int other_port)
{
    char data[600], keys[600], cert[600], log[600], cl[64], wk[64], pe[64],
        peer[96];
    snprintf(data, sizeof data, "%s/%s-data", dir, name);
    snprintf(keys, sizeof keys, "%s/%s-keys", dir, name);
    snprintf(cert, sizeof cert, "%s/own/%s", dir, name);
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    snprintf(cl, sizeof cl, "tcp://127.0.0.1:%d", ports[0]);
    snprintf(wk, sizeof wk, "tcp://127.0.0.1:%d", ports[1]);
    snprintf(pe, sizeof pe, "tcp://127.0.0.1:%d", ports[2]);
    snprintf(peer, sizeof peer, "%s=tcp://127.0.0.1:%d", other, other_port);
    char *bin = strdup(swbt_bin("switchboard-broker"));
    char *argv[] = {bin, "--region", (char *)name, "--data", data,
                    "--clients", cl, "--workers", wk, "--peers", pe,
                    "--peer", peer, "--http", "off", "--keys", keys,
                    "--cert", cert, "--heartbeat-ms", "200", NULL};
    pid_t pid = swbt_spawn(argv, log);
    free(bin);
    return pid;
}

static void
test_regions_over_curve(void)
{
    char *dir = swbt_tempdir("fedcurve");
    char path[700];
    const char *const made[][3] = {
        {"manila", "peer", "--region manila"},
        {"krakow", "peer", "--region krakow"},
        {"acme", "client", "--sponsor acme"},
        {"ola", "worker", "--site krk-1"},
        {"bogo", "peer", "--region bogota"},
    };
    snprintf(path, sizeof path, "%s/own", dir);
    mkdir(path, 0700);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s-keys", dir, i ? "krakow" : "manila");
        mkdir(path, 0700);
    }
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
        ASSERT_INT_EQ(sh(dir, "$SWB keygen --role %s %s --out own/%s",
                         made[i][1], made[i][2], made[i][0]), 0);
    /* each region lets in the other's broker; Manila its client, Krakow
     * its worker and a peer key of another region */
    ASSERT_INT_EQ(sh(dir, "cp own/krakow own/acme manila-keys/ && "
                     "cp own/manila own/ola own/bogo krakow-keys/"), 0);
    int mp[3], kp[3];
    for (int i = 0; i < 3; i++) {
        mp[i] = swbt_free_port();
        kp[i] = swbt_free_port();
    }
    /* a peer whose certificate is not in the keys folder: no start */
    int bp[3] = {swbt_free_port(), swbt_free_port(), swbt_free_port()};
    pid_t bad = secure_broker(dir, "manila", bp, "lima", kp[2]);
    ASSERT_TRUE(swbt_wait_exit(bad, swbt_ms(10000)) > 0);
    char *blog = swbt_read_file(strcat(strcpy(path, dir), "/manila.log"));
    ASSERT_STR_CONTAINS(blog, "holds no certificate of role peer for region "
                        "lima");
    free(blog);
    pid_t m = secure_broker(dir, "manila", mp, "krakow", kp[2]);
    pid_t k = secure_broker(dir, "krakow", kp, "manila", mp[2]);
    live_pids[0] = m;
    live_pids[1] = k;
    char ep[64], cert[700], server[700], why[300];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", kp[1]);
    snprintf(cert, sizeof cert, "%s/own/ola_secret", dir);
    snprintf(server, sizeof server, "%s/own/krakow", dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "t=$(cat); printf '%%s\\n' \"$t\" >> %s/ran.txt",
             dir);
    char *wbin = strdup(swbt_bin("switchboard-worker"));
    char wlog[700];
    snprintf(wlog, sizeof wlog, "%s/worker.log", dir);
    char *wargv[] = {wbin, "--broker", ep, "--site", "krk-1", "--agent",
                     "ola", "--channels", "email", "--writes", "pl:C1",
                     "--cert", cert, "--server-key", server, "--exec", cmd,
                     NULL};
    pid_t w = swbt_spawn(wargv, wlog);
    live_pids[2] = w;
    free(wbin);
    swb_curve_t keys;
    snprintf(cert, sizeof cert, "%s/own/acme", dir);
    snprintf(server, sizeof server, "%s/own/manila", dir);
    ASSERT_INT_EQ(swb_curve_load(cert, server, &keys, why, sizeof why),
                  SWB_OK);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", mp[0]);
    swb_client_t *c = NULL;
    ASSERT_INT_EQ(swb_client_new_secure(ep, swbt_ms(5000), &keys, &c), SWB_OK);
    ASSERT_INT_EQ(swbt_wait_answering(c, m), 0);
    /* a Polish task goes to Krakow over CURVE and comes back */
    swb_task_spec_t s = swbt_spec("email", "over-curve");
    swb_level_t pl = {"pl", 4};
    s.lang.v = &pl;
    s.lang.n = 1;
    s.sponsor = "acme";
    uint64_t id = 0;
    ASSERT_INT_EQ(swb_client_submit(c, &s, &id, NULL), SWB_OK);
    swb_task_t rec;
    ASSERT_INT_EQ(swb_client_wait(c, id, swbt_ms(20000), &rec, NULL), SWB_OK);
    ASSERT_STR_EQ(rec.state, "completed");
    ASSERT_STR_EQ(rec.region, "krakow");
    swb_codec_free(&swb_task_schema, &rec);
    /* a peer key of another region, speaking as manila: refused, named */
    zsock_t *d = zsock_new(ZMQ_DEALER);
    zcert_t *bogo = zcert_load(strcat(strcpy(path, dir), "/own/bogo_secret"));
    zcert_t *kpub = zcert_load(strcat(strcpy(path, dir), "/own/krakow"));
    ASSERT_TRUE(d && bogo && kpub);
    zcert_apply(bogo, d);
    zsock_set_curve_serverkey(d, zcert_public_txt(kpub));
    zsock_set_identity(d, "manila");
    zsock_set_rcvtimeo(d, swbt_ms(3000));
    zsock_connect(d, "tcp://127.0.0.1:%d", kp[2]);
    swb_msg_t hm = {.type = SWB_MSG_PEER_HELLO};
    hm.u.peer_hello.region = "manila";
    void *buf;
    size_t len;
    ASSERT_INT_EQ(swb_msg_encode(&hm, &buf, &len), SWB_OK);
    zframe_t *fr = zframe_new(buf, len);
    zframe_send(&fr, d, 0);
    free(buf);
    zframe_t *reply = zframe_recv(d);
    ASSERT_TRUE(reply && swbt_frame_has(reply, "bound to another region"));
    zframe_destroy(&reply);
    zsock_destroy(&d);
    zcert_destroy(&bogo);
    zcert_destroy(&kpub);
    /* a plain-text stranger gets nothing at all */
    d = zsock_new(ZMQ_DEALER);
    zsock_set_identity(d, "manila");
    zsock_set_rcvtimeo(d, swbt_ms(1000));
    zsock_connect(d, "tcp://127.0.0.1:%d", kp[2]);
    ASSERT_INT_EQ(swb_msg_encode(&hm, &buf, &len), SWB_OK);
    fr = zframe_new(buf, len);
    zframe_send(&fr, d, 0);
    free(buf);
    reply = zframe_recv(d);
    ASSERT_TRUE(reply == NULL);
    zsock_destroy(&d);
    swb_client_destroy(&c);
    for (int i = 0; i < 3; i++) {
        swbt_kill(live_pids[i], SIGTERM);
        live_pids[i] = 0;
    }
    swbt_rmdir(dir);
    free(dir);
}

/* Runs a test, then stops whatever it left running (a failed assert
 * returns from the test before its own clean-up). */
#define RUN(fn)                                                                \
    do {                                                                       \
        SWB_RUN(fn);                                                           \
        if (live_fed) {                                                        \
            kill(live_fed->k.b.pid, SIGCONT);                                  \
            fed_stop(live_fed);                                                \
        }                                                                      \
        for (int i_ = 0; i_ < 4; i_++)                                         \
            if (live_pids[i_] > 0)                                             \
                swbt_kill(live_pids[i_], SIGKILL);                             \
        memset(live_pids, 0, sizeof live_pids);                                \
    } while (0)

int
main(void)
{
    RUN(test_overflow_by_language);
    RUN(test_overflow_by_service_level);
    RUN(test_follow_the_sun_and_allowed_regions);
    RUN(test_kill_peer_holding_forwarded_work);
    RUN(test_frozen_peer_comes_back);
    RUN(test_cancel_from_the_origin);
    RUN(test_kill_origin_while_handing_over);
    RUN(test_peers_endpoint_refuses_strangers_and_garbage);
    RUN(test_regions_over_curve);
    return SWB_TEST_EXIT();
}
