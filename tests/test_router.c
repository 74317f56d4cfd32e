/*
 * test_router.c - unit tests of the router: every eligibility rule, the
 * order of work, the choice of agent, capacity and blending. In process:
 * real router, sessions and tasks, no sockets.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "router.h"
#include "session.h"
#include "swb_domain.h"
#include "swbtest.h"

static swb_config_t cfg;
static swb_site_def_t sites[2];
static swb_sponsor_def_t sponsors[3];

static void
setup_config(void)
{
    memset(&cfg, 0, sizeof cfg);
    cfg.region = "manila";
    cfg.starve_ms = 60000;
    sites[0] = (swb_site_def_t){"mnl-1", "PH", "Asia/Manila", 0, 0};
    sites[1] = (swb_site_def_t){"krk-1", "PL", "Europe/Warsaw", 0, 0};
    cfg.sites = sites;
    cfg.nsites = 2;
    memset(sponsors, 0, sizeof sponsors);
    sponsors[0].name = "bank"; /* needs certified agents */
    sponsors[0].certification = true;
    sponsors[1].name = "onshore"; /* only Polish sites, best-skilled */
    swb_strs_add(&sponsors[1].countries, "PL");
    sponsors[1].best_skilled = true;
    sponsors[2].name = "elsewhere"; /* only region "bogota" */
    swb_strs_add(&sponsors[2].regions, "bogota");
    cfg.sponsors = sponsors;
    cfg.nsponsors = 3;
}

static void
teardown_config(void)
{
    for (int i = 0; i < 3; i++) {
        swb_codec_free_strs(&sponsors[i].countries);
        swb_codec_free_strs(&sponsors[i].regions);
    }
}

/* A profile: channels "a,b", speaks/writes/skills "x:1,..." (CEFR names
 * for languages), sponsors "a,b". Empty string = none. */
static swb_m_hello_t
profile(const char *site, const char *agent, const char *channels,
        const char *speaks, const char *writes, const char *skills,
        const char *certified)
{
    swb_m_hello_t h;
    char why[200];
    memset(&h, 0, sizeof h);
    h.site = strdup(site);
    h.agent = strdup(agent);
    swb_parse_strs(channels, &h.channels, why, sizeof why);
    if (*speaks)
        swb_parse_levels(speaks, ':', true, 6, &h.speaks, why, sizeof why);
    if (*writes)
        swb_parse_levels(writes, ':', true, 6, &h.writes, why, sizeof why);
    if (*skills)
        swb_parse_levels(skills, ':', false, 100, &h.skills, why, sizeof why);
    if (*certified)
        swb_parse_strs(certified, &h.sponsors, why, sizeof why);
    return h;
}

static swb_task_spec_t
spec(const char *channel, const char *lang, const char *skills,
     const char *sponsor)
{
    swb_task_spec_t s;
    char why[200];
    memset(&s, 0, sizeof s);
    s.channel = strdup(channel);
    if (*lang)
        swb_parse_levels(lang, ':', true, 6, &s.lang, why, sizeof why);
    if (*skills)
        swb_parse_levels(skills, ':', false, 100, &s.skills, why, sizeof why);
    if (*sponsor)
        s.sponsor = strdup(sponsor);
    return s;
}

static bool
eligible(swb_m_hello_t *h, swb_task_spec_t *s)
{
    bool ok = swb_router_eligible(&cfg, h, swb_config_site(&cfg, h->site), s);
    swb_codec_free(swb_msg_schema(SWB_MSG_HELLO), h);
    swb_codec_free(&swb_task_spec_schema, s);
    return ok;
}

static void
test_eligibility_rules(void)
{
    setup_config();
    swb_m_hello_t h;
    swb_task_spec_t s;
#define CASE(want, H, S)                                                       \
    h = H;                                                                     \
    s = S;                                                                     \
    ASSERT_INT_EQ(eligible(&h, &s), want)
    /* channel */
    CASE(true, profile("mnl-1", "a", "email", "", "", "", ""),
         spec("email", "", "", ""));
    CASE(false, profile("mnl-1", "a", "email", "", "", "", ""),
         spec("chat", "", "", ""));
    /* spoken level for voice, written level for non-voice */
    CASE(true, profile("mnl-1", "a", "voice.inbound", "en:C1", "en:A2", "",
                       ""),
         spec("voice.inbound", "en:B2", "", ""));
    CASE(false, profile("mnl-1", "a", "email", "en:C1", "en:A2", "", ""),
         spec("email", "en:B2", "", ""));
    CASE(true, profile("mnl-1", "a", "email", "", "en:B2", "", ""),
         spec("email", "en:B2", "", ""));
    CASE(false, profile("mnl-1", "a", "voice.outbound", "en:B1", "en:C2", "",
                        ""),
         spec("voice.outbound", "en:B2", "", ""));
    CASE(false, profile("mnl-1", "a", "email", "", "es:C2", "", ""),
         spec("email", "en:A1", "", ""));
    /* skills with minimum levels */
    CASE(true, profile("mnl-1", "a", "database", "", "", "db:3,banking:1", ""),
         spec("database", "", "db:2", ""));
    CASE(false, profile("mnl-1", "a", "database", "", "", "db:1", ""),
         spec("database", "", "db:2", ""));
    CASE(false, profile("mnl-1", "a", "database", "", "", "db:3", ""),
         spec("database", "", "db:2,banking:1", ""));
    /* certification for a sponsor that requires it */
    CASE(false, profile("mnl-1", "a", "email", "", "", "", ""),
         spec("email", "", "", "bank"));
    CASE(true, profile("mnl-1", "a", "email", "", "", "", "bank"),
         spec("email", "", "", "bank"));
    CASE(true, profile("mnl-1", "a", "email", "", "", "", ""),
         spec("email", "", "", "acme")); /* no rule for acme */
    /* sponsor's countries and regions */
    CASE(false, profile("mnl-1", "a", "email", "", "", "", ""),
         spec("email", "", "", "onshore"));
    CASE(true, profile("krk-1", "a", "email", "", "", "", ""),
         spec("email", "", "", "onshore"));
    CASE(false, profile("krk-1", "a", "email", "", "", "", ""),
         spec("email", "", "", "elsewhere"));
    /* the task's own sites and countries */
    s = spec("email", "", "", "");
    swb_strs_add(&s.sites, "krk-1");
    h = profile("mnl-1", "a", "email", "", "", "", "");
    ASSERT_INT_EQ(eligible(&h, &s), false);
    s = spec("email", "", "", "");
    swb_strs_add(&s.countries, "PH");
    h = profile("mnl-1", "a", "email", "", "", "", "");
    ASSERT_INT_EQ(eligible(&h, &s), true);
    s = spec("email", "", "", "");
    swb_strs_add(&s.countries, "PH");
    h = profile("unknown-site", "a", "email", "", "", "", "");
    ASSERT_INT_EQ(eligible(&h, &s), false);
#undef CASE
    teardown_config();
}

/* ---- a small world of sessions and tasks ---- */

typedef struct world {
    swb_router_t *r;
    swb_session_t *s[8];
    int ns;
    swb_btask_t *t[64];
    int nt;
} world_t;

static swb_session_t *
add_agent(world_t *w, swb_m_hello_t h, const char *capacity, uint64_t idle)
{
    char why[100];
    if (*capacity)
        swb_parse_levels(capacity, '=', false, 100, &h.capacity, why,
                         sizeof why);
    uint8_t rid[4] = {0, 0, 0, (uint8_t)w->ns};
    swb_session_t *s = swb_session_new(rid, 4, &h,
                                       swb_config_site(&cfg, h.site), 0);
    swb_router_add_agent(w->r, s);
    s->state = SWB_AG_READY;
    s->idle_since = idle;
    swb_router_agent_changed(w->r, s, 0);
    w->s[w->ns++] = s;
    return s;
}

static swb_btask_t *
add_task(world_t *w, swb_task_spec_t s, uint64_t priority, uint64_t created,
         uint64_t deadline)
{
    swb_task_spec_t *sp = malloc(sizeof *sp);
    *sp = s;
    sp->priority = priority;
    sp->deadline = deadline;
    swb_btask_t *t = swb_btask_new((uint64_t)w->nt + 1, &sp, created);
    t->rec.created = created;
    swb_router_add_task(w->r, t);
    w->t[w->nt++] = t;
    return t;
}

static void
world_free(world_t *w)
{
    for (int i = 0; i < w->nt; i++) {
        swb_router_remove_task(w->r, w->t[i]);
        if (w->t[i]->holder)
            swb_session_unhold(w->t[i]);
        swb_btask_destroy(&w->t[i]);
    }
    for (int i = 0; i < w->ns; i++) {
        swb_router_remove_agent(w->r, w->s[i]);
        swb_session_destroy(&w->s[i]);
    }
    swb_router_destroy(&w->r);
    teardown_config();
}

/* Gives s the task the router picks for it; returns the task id, 0 if
 * none. */
static uint64_t
serve(world_t *w, swb_session_t *s, uint64_t now)
{
    swb_btask_t *t = swb_router_pick_task(w->r, s, now);
    if (!t)
        return 0;
    swb_router_remove_task(w->r, t);
    swb_session_hold(s, t);
    swb_router_agent_changed(w->r, s, now);
    return t->rec.id;
}

static void
finish(world_t *w, swb_session_t *s, uint64_t id)
{
    for (int i = 0; i < w->nt; i++)
        if (w->t[i]->rec.id == id && w->t[i]->holder == s)
            swb_session_unhold(w->t[i]);
    swb_router_agent_changed(w->r, s, 0);
}

static void
test_order_of_work(void)
{
    setup_config();
    world_t w = {swb_router_new(&cfg), {0}, 0, {0}, 0};
    swb_session_t *a = add_agent(
        &w, profile("mnl-1", "a", "voice.inbound,email,chat", "en:C1",
                    "en:C1", "", ""),
        "", 0);
    uint64_t now = 1000000;
    add_task(&w, spec("email", "", "", ""), 0, now - 5000, 0);     /* 1 */
    add_task(&w, spec("email", "", "", ""), 5, now - 1000, 0);     /* 2 */
    add_task(&w, spec("chat", "", "", ""), 5, now - 2000, now + 9000); /* 3 */
    add_task(&w, spec("email", "", "", ""), 5, now - 3000, now + 5000); /* 4 */
    add_task(&w, spec("voice.inbound", "en:B1", "", ""), 0, now, 0); /* 5 */
    /* inbound voice first, then priority 5 by deadline (4, 3), then 2,
     * then the low one */
    uint64_t want[] = {5, 4, 3, 2, 1};
    for (int i = 0; i < 5; i++) {
        uint64_t got = serve(&w, a, now);
        ASSERT_INT_EQ(got, want[i]);
        finish(&w, a, got);
    }
    ASSERT_INT_EQ(serve(&w, a, now), 0);
    world_free(&w);
}

static void
test_starving_task_goes_first(void)
{
    setup_config();
    world_t w = {swb_router_new(&cfg), {0}, 0, {0}, 0};
    swb_session_t *a = add_agent(
        &w, profile("mnl-1", "a", "email,data", "", "", "", ""), "", 0);
    uint64_t now = 10000000;
    add_task(&w, spec("data", "", "", ""), 0, now - cfg.starve_ms - 1, 0);
    add_task(&w, spec("email", "", "", ""), 9, now - 10, 0);
    add_task(&w, spec("email", "", "", ""), 9, now - 5, 0);
    /* waited past --starve-ms: before any newer high-priority work */
    ASSERT_INT_EQ(serve(&w, a, now), 1);
    finish(&w, a, 1);
    ASSERT_INT_EQ(serve(&w, a, now), 2);
    world_free(&w);
}

static void
test_longest_idle_and_best_skilled(void)
{
    setup_config();
    world_t w = {swb_router_new(&cfg), {0}, 0, {0}, 0};
    swb_session_t *junior = add_agent(
        &w, profile("krk-1", "junior", "email", "", "", "excel:1", ""), "",
        100);
    swb_session_t *senior = add_agent(
        &w, profile("krk-1", "senior", "email", "", "", "excel:5", ""), "",
        200);
    /* longest idle: junior (idle since 100) */
    swb_btask_t *t = add_task(&w, spec("email", "", "excel:1", ""), 0, 1, 0);
    ASSERT_TRUE(swb_router_pick_agent(w.r, t, 1000) == junior);
    /* the sponsor "onshore" routes best-skilled: senior */
    swb_btask_t *u = add_task(&w, spec("email", "", "excel:1", "onshore"), 0,
                              1, 0);
    ASSERT_TRUE(swb_router_pick_agent(w.r, u, 1000) == senior);
    /* or the task asks for it */
    swb_task_spec_t s = spec("email", "", "excel:1", "");
    s.routing = strdup("best-skilled");
    swb_btask_t *v = add_task(&w, s, 0, 1, 0);
    ASSERT_TRUE(swb_router_pick_agent(w.r, v, 1000) == senior);
    world_free(&w);
}

static void
test_capacity_voice_and_blending(void)
{
    setup_config();
    world_t w = {swb_router_new(&cfg), {0}, 0, {0}, 0};
    swb_session_t *a = add_agent(
        &w, profile("mnl-1", "a", "voice.inbound,email", "en:C1", "en:C1",
                    "", ""),
        "email=2", 0);
    for (int i = 0; i < 3; i++)
        add_task(&w, spec("email", "", "", ""), 0, 100 + (uint64_t)i, 0);
    ASSERT_INT_EQ(serve(&w, a, 1000), 1);
    ASSERT_INT_EQ(serve(&w, a, 1000), 2);
    ASSERT_INT_EQ(serve(&w, a, 1000), 0); /* email capacity 2 */
    /* a caller waits: the busy blended agent gets no more e-mail, and no
     * call either while it holds e-mail */
    swb_btask_t *call = add_task(&w, spec("voice.inbound", "", "", ""), 0,
                                 900, 0);
    finish(&w, a, 2);
    ASSERT_INT_EQ(serve(&w, a, 1000), 0);
    ASSERT_TRUE(swb_router_pick_agent(w.r, w.t[2], 1000) == NULL);
    finish(&w, a, 1);
    /* free: the call first, and nothing beside a call */
    ASSERT_TRUE(swb_router_pick_agent(w.r, call, 1000) == a);
    ASSERT_INT_EQ(serve(&w, a, 1000), call->rec.id);
    ASSERT_INT_EQ(serve(&w, a, 1000), 0);
    finish(&w, a, call->rec.id);
    ASSERT_INT_EQ(serve(&w, a, 1000), 3); /* e-mail resumes */
    world_free(&w);
}

static void
test_closed_site_not_ready_and_refusals(void)
{
    setup_config();
    world_t w = {swb_router_new(&cfg), {0}, 0, {0}, 0};
    swb_session_t *a = add_agent(
        &w, profile("mnl-1", "a", "email", "", "", "", ""), "", 10);
    swb_session_t *b = add_agent(
        &w, profile("krk-1", "b", "email", "", "", "", ""), "", 20);
    swb_btask_t *t = add_task(&w, spec("email", "", "", ""), 0, 1, 0);
    ASSERT_TRUE(swb_router_pick_agent(w.r, t, 100) == a);
    ASSERT_TRUE(swb_router_set_site_open(w.r, "mnl-1", false));
    ASSERT_TRUE(swb_router_pick_agent(w.r, t, 100) == b);
    ASSERT_INT_EQ(serve(&w, a, 100), 0);
    ASSERT_TRUE(swb_router_set_site_open(w.r, "mnl-1", true));
    b->state = SWB_AG_NOT_READY;
    swb_router_agent_changed(w.r, b, 100);
    ASSERT_TRUE(swb_router_pick_agent(w.r, t, 100) == a);
    /* a refused it: b gets it when ready; a only when nobody else can */
    swb_strs_add(&t->refused, "a");
    ASSERT_TRUE(swb_router_pick_agent(w.r, t, 100) == a);
    b->state = SWB_AG_READY;
    swb_router_agent_changed(w.r, b, 100);
    ASSERT_TRUE(swb_router_pick_agent(w.r, t, 100) == b);
    ASSERT_INT_EQ(serve(&w, a, 100), 0);
    world_free(&w);
}

int
main(void)
{
    SWB_RUN(test_eligibility_rules);
    SWB_RUN(test_order_of_work);
    SWB_RUN(test_starving_task_goes_first);
    SWB_RUN(test_longest_idle_and_best_skilled);
    SWB_RUN(test_capacity_voice_and_blending);
    SWB_RUN(test_closed_site_not_ready_and_refusals);
    return SWB_TEST_EXIT();
}
