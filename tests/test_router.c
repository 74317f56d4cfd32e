/*
 * test_router.c - unit tests of the router: every eligibility rule, the
 * order of work, the choice of agent, capacity and blending. In process:
 * real router, sessions and tasks, no sockets.
 */
#include <stdio.h>
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
    swb_session_t *s[24];
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

static void
test_blended_finds_free_agent_behind_busy_ones(void)
{
    setup_config();
    world_t w = {swb_router_new(&cfg), {0}, 0, {0}, 0};
    /* 17 agents of one profile; the first 16 each take one e-mail and
     * keep room for more, the last holds nothing */
    for (int i = 0; i < 17; i++) {
        char name[8];
        snprintf(name, sizeof name, "a%02d", i);
        add_agent(&w, profile("mnl-1", name, "voice.inbound,email", "en:C1",
                              "en:C1", "", ""),
                  "email=3", (uint64_t)i);
    }
    for (int i = 0; i < 16; i++) {
        add_task(&w, spec("email", "", "", ""), 0, 100 + (uint64_t)i, 0);
        ASSERT_INT_EQ(serve(&w, w.s[i], 1000), i + 1);
    }
    swb_btask_t *e = add_task(&w, spec("email", "", "", ""), 0, 200, 0);
    /* longest idle, holding work or not */
    ASSERT_TRUE(swb_router_pick_agent(w.r, e, 1000) == w.s[0]);
    /* a caller waits: busy agents keep their room for it, but the free
     * one behind them is still found */
    swb_btask_t *call = add_task(&w, spec("voice.inbound", "", "", ""), 0,
                                 300, 0);
    ASSERT_TRUE(swb_router_pick_agent(w.r, e, 1000) == w.s[16]);
    ASSERT_TRUE(swb_router_pick_agent(w.r, call, 1000) == w.s[16]);
    ASSERT_INT_EQ(serve(&w, w.s[16], 1000), call->rec.id);
    /* nobody waits on the line any more: busy agents take e-mail again */
    ASSERT_TRUE(swb_router_pick_agent(w.r, e, 1000) == w.s[0]);
    world_free(&w);
}

static void
test_refusal_passes_to_next_agent(void)
{
    setup_config();
    world_t w = {swb_router_new(&cfg), {0}, 0, {0}, 0};
    swb_session_t *a = add_agent(
        &w, profile("mnl-1", "a", "email", "", "", "", ""), "", 10);
    swb_session_t *b = add_agent(
        &w, profile("mnl-1", "b", "email", "", "", "", ""), "", 30);
    swb_session_t *c = add_agent(
        &w, profile("krk-1", "c", "email", "", "", "", ""), "", 20);
    swb_btask_t *t = add_task(&w, spec("email", "", "", ""), 0, 1, 0);
    ASSERT_TRUE(swb_router_pick_agent(w.r, t, 100) == a);
    swb_strs_add(&t->refused, "b"); /* not at a head: no change */
    ASSERT_TRUE(swb_router_pick_agent(w.r, t, 100) == a);
    swb_strs_add(&t->refused, "a"); /* a's class offers b (30): c (20) */
    ASSERT_TRUE(swb_router_pick_agent(w.r, t, 100) == c);
    swb_codec_free_strs(&t->refused);
    swb_strs_add(&t->refused, "a");
    swb_strs_add(&t->refused, "c");
    ASSERT_TRUE(swb_router_pick_agent(w.r, t, 100) == b);
    swb_strs_add(&t->refused, "b"); /* all refused: one of them */
    swb_session_t *got = swb_router_pick_agent(w.r, t, 100);
    ASSERT_TRUE(got == a || got == b || got == c);
    world_free(&w);
}

static void
test_refused_head_gives_next_task(void)
{
    setup_config();
    world_t w = {swb_router_new(&cfg), {0}, 0, {0}, 0};
    swb_session_t *x = add_agent(
        &w, profile("mnl-1", "x", "email,chat,data", "", "", "", ""), "", 0);
    uint64_t now = 10000000;
    swb_btask_t *x1 = add_task(&w, spec("email", "", "", ""), 9, now - 100,
                               0);                                   /* 1 */
    add_task(&w, spec("email", "", "", ""), 0, now - 500, 0);        /* 2 */
    add_task(&w, spec("chat", "", "", ""), 5, now - 50, 0);          /* 3 */
    swb_strs_add(&x1->refused, "x"); /* while it waits at both heads */
    /* e-mail offers its oldest (priority 0) instead: chat goes first */
    ASSERT_INT_EQ(serve(&w, x, now), 3);
    finish(&w, x, 3);
    ASSERT_INT_EQ(serve(&w, x, now), 2);
    finish(&w, x, 2);
    ASSERT_INT_EQ(serve(&w, x, now), 0);
    /* a starving head refused: the class offers its priority head, not
     * as starving */
    add_task(&w, spec("data", "", "", ""), 0, now - cfg.starve_ms - 10,
             0);                                                     /* 4 */
    add_task(&w, spec("data", "", "", ""), 1, now - 10, 0);          /* 5 */
    add_task(&w, spec("chat", "", "", ""), 3, now - 20, 0);          /* 6 */
    ASSERT_INT_EQ(serve(&w, x, now), 4);
    finish(&w, x, 4);
    swb_btask_t *d3 = add_task(&w, spec("data", "", "", ""), 0,
                               now - cfg.starve_ms - 5, 0);          /* 7 */
    swb_strs_add(&d3->refused, "x");
    ASSERT_INT_EQ(serve(&w, x, now), 6); /* chat 3 before data 1 */
    finish(&w, x, 6);
    ASSERT_INT_EQ(serve(&w, x, now), 5);
    finish(&w, x, 5);
    ASSERT_INT_EQ(serve(&w, x, now), 0);
    world_free(&w);
}

static void
test_priority_update_resorts(void)
{
    setup_config();
    world_t w = {swb_router_new(&cfg), {0}, 0, {0}, 0};
    swb_session_t *a = add_agent(
        &w, profile("mnl-1", "a", "email", "", "", "", ""), "", 0);
    add_task(&w, spec("email", "", "", ""), 0, 100, 0);
    swb_btask_t *t2 = add_task(&w, spec("email", "", "", ""), 0, 200, 0);
    add_task(&w, spec("email", "", "", ""), 4, 300, 0);
    t2->rec.spec->priority = 7;
    swb_router_update_task(w.r, t2);
    ASSERT_INT_EQ(serve(&w, a, 1000), 2);
    finish(&w, a, 2);
    ASSERT_INT_EQ(serve(&w, a, 1000), 3);
    finish(&w, a, 3);
    ASSERT_INT_EQ(serve(&w, a, 1000), 1);
    world_free(&w);
}

/* ---- pick_task against a brute-force reading of the rules ---- */

#define REF_MAX 600

static uint64_t
ref_rand(uint64_t *st)
{
    *st = *st * 6364136223846793005u + 1442695040888963407u;
    return *st >> 33;
}

/* The offer order of router.h on whole tasks: negative when x first. */
static int
ref_cmp(const swb_btask_t *x, bool xs, const swb_btask_t *y, bool ys)
{
    bool xi = x->channel == SWB_CH_VOICE_INBOUND;
    bool yi = y->channel == SWB_CH_VOICE_INBOUND;
    if (xi != yi)
        return xi ? -1 : 1;
    if (xs != ys)
        return xs ? -1 : 1;
    uint64_t kx[4] = {x->rec.created, x->rec.id, 0, 0};
    uint64_t ky[4] = {y->rec.created, y->rec.id, 0, 0};
    if (!xs) {
        const swb_task_spec_t *a = x->rec.spec, *b = y->rec.spec;
        uint64_t t[4] = {UINT64_MAX - a->priority,
                         a->deadline ? a->deadline : UINT64_MAX,
                         x->rec.created, x->rec.id};
        uint64_t u[4] = {UINT64_MAX - b->priority,
                         b->deadline ? b->deadline : UINT64_MAX,
                         y->rec.created, y->rec.id};
        memcpy(kx, t, sizeof kx);
        memcpy(ky, u, sizeof ky);
    }
    for (int i = 0; i < 4; i++)
        if (kx[i] != ky[i])
            return kx[i] < ky[i] ? -1 : 1;
    return 0;
}

/* Per class: the head by age and by priority; starving takes the age
 * head; a refused head gives way to the other (not starving). */
static swb_btask_t *
ref_pick(swb_btask_t **v, int n, const char *agent, uint64_t now)
{
    swb_btask_t *best = NULL;
    bool best_s = false;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = v[j]->tclass == v[i]->tclass;
        if (seen)
            continue;
        swb_btask_t *age = NULL, *prio = NULL;
        for (int j = 0; j < n; j++) {
            if (v[j]->tclass != v[i]->tclass)
                continue;
            if (!age || ref_cmp(v[j], true, age, true) < 0)
                age = v[j];
            if (!prio || ref_cmp(v[j], false, prio, false) < 0)
                prio = v[j];
        }
        bool st = now >= age->rec.created + cfg.starve_ms;
        swb_btask_t *t = st ? age : prio;
        if (swb_strs_has(&t->refused, agent)) {
            t = st ? prio : age;
            st = false;
            if (swb_strs_has(&t->refused, agent))
                continue;
        }
        if (!best || ref_cmp(t, st, best, best_s) < 0) {
            best = t;
            best_s = st;
        }
    }
    return best;
}

static void
test_pick_task_matches_reference(void)
{
    setup_config();
    world_t w = {swb_router_new(&cfg), {0}, 0, {0}, 0};
    swb_session_t *x = add_agent(
        &w, profile("mnl-1", "x", "voice.inbound,email,chat,data", "", "",
                    "", ""),
        "", 0);
    static const char *const chans[] = {"voice.inbound", "email", "chat",
                                        "data"};
    static const char *const payers[] = {"", "acme", "zeta"};
    swb_btask_t *all[REF_MAX], *v[REF_MAX];
    int nall = 0, n = 0, checked = 0;
    uint64_t st = 42, now = 10000000;
    for (int step = 0; step < 4000; step++) {
        uint64_t op = ref_rand(&st) % 10;
        now += ref_rand(&st) % 3000;
        if ((op < 4 || n == 0) && nall < REF_MAX) {
            swb_task_spec_t sp = spec(chans[ref_rand(&st) % 4], "", "",
                                      payers[ref_rand(&st) % 3]);
            sp.priority = ref_rand(&st) % 4 * 3;
            if (ref_rand(&st) % 3 == 0)
                sp.deadline = now + ref_rand(&st) % 100000;
            swb_task_spec_t *p = malloc(sizeof *p);
            *p = sp;
            swb_btask_t *t = swb_btask_new((uint64_t)nall + 1, &p, 0);
            t->rec.created = now - ref_rand(&st) % (3 * cfg.starve_ms);
            if (ref_rand(&st) % 5 == 0)
                swb_strs_add(&t->refused, "x");
            ASSERT_INT_EQ(swb_router_add_task(w.r, t), SWB_OK);
            all[nall++] = v[n++] = t;
        } else if (op < 5 && n) { /* abandoned */
            int i = (int)(ref_rand(&st) % (uint64_t)n);
            swb_router_remove_task(w.r, v[i]);
            v[i] = v[--n];
        } else if (op < 6 && n) { /* escalated or refused while waiting */
            swb_btask_t *t = v[ref_rand(&st) % (uint64_t)n];
            if (ref_rand(&st) % 2) {
                t->rec.spec->priority = ref_rand(&st) % 12;
                swb_router_update_task(w.r, t);
            } else if (!swb_strs_has(&t->refused, "x")) {
                swb_strs_add(&t->refused, "x");
            }
        } else {
            swb_btask_t *want = ref_pick(v, n, "x", now);
            swb_btask_t *got = swb_router_pick_task(w.r, x, now);
            ASSERT_INT_EQ(got ? got->rec.id : 0, want ? want->rec.id : 0);
            checked++;
            if (got) {
                swb_router_remove_task(w.r, got);
                for (int i = 0; i < n; i++)
                    if (v[i] == got)
                        v[i] = v[--n];
            }
        }
        ASSERT_INT_EQ(swb_router_waiting(w.r), n);
    }
    ASSERT_INT_GE(checked, 1000);
    for (int i = 0; i < nall; i++) {
        swb_router_remove_task(w.r, all[i]);
        swb_btask_destroy(&all[i]);
    }
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
    SWB_RUN(test_blended_finds_free_agent_behind_busy_ones);
    SWB_RUN(test_refusal_passes_to_next_agent);
    SWB_RUN(test_refused_head_gives_next_task);
    SWB_RUN(test_priority_update_resorts);
    SWB_RUN(test_pick_task_matches_reference);
    return SWB_TEST_EXIT();
}
