/*
 * router_bench.c - switchboard-router-bench: what the router's two
 * decisions cost (PRODUCT.md section 4: "the router must not scan all
 * agents or all tasks per decision") from 1k agents and 10k waiting tasks
 * up to 100k agents and 1M waiting tasks. In process: the real router,
 * sessions and tasks (broker/router.h); no broker, sockets or store. Run
 * by hand; not a test.
 *
 * The world, built once from --seed and the same for every cell:
 *  - 5 sites in 4 countries and 12 sponsors (some need certified agents,
 *    some allow only some countries or regions, some route best-skilled);
 *  - --classes requirement classes: channel x language with a minimum
 *    CEFR level x optional sponsor skill with a minimum level x sponsor,
 *    each with a popularity (channel, language and sponsor weights times
 *    a random factor and a Zipf factor: the busiest 10% of classes get
 *    about 70% of the arrivals); a class no profile can serve is redrawn
 *    97% of the time (a centre is staffed for its work);
 *  - --profiles agent profiles: site, a role (voice, blended, digital,
 *    back office) giving 2-4 channels, 1-3 of the site's languages with
 *    spoken and written levels, 0-3 skills, 1-3 sponsor certifications,
 *    capacity email=3 and chat=2; drawn with Zipf-like weights (big teams
 *    share a profile).
 *
 * One cell (A agents, T tasks): A agents with profiles drawn by weight;
 * --free % of them are ready and hold nothing, 10 % are not ready, the
 * rest are ready and full (a voice agent holds a call, the others their
 * capacity on every channel). T waiting tasks (one of every class first,
 * then by popularity) with ages, priorities and deadlines typical of
 * their channel. Then, after a warm-up, --samples rounds of:
 *
 *  (a) place: a fresh task of a class drawn by popularity:
 *      swb_router_add_task + swb_router_pick_agent; when an agent is found
 *      the task is handed over (swb_router_remove_task, swb_session_hold,
 *      swb_router_agent_changed), as the broker's offer() does.
 *  (b) free: a random agent holding work finishes its oldest task
 *      (swb_session_unhold; the task is dropped), then
 *      swb_router_agent_changed + swb_router_pick_task, and the picked
 *      task is handed over as in (a).
 *
 * Only router calls are timed (CLOCK_MONOTONIC around each, summed per
 * operation); session calls, task creation and bookkeeping are not.
 * Between operations untimed corrections keep the world stationary: the
 * backlog goes back to T (a random waiting task leaves, as if abandoned,
 * or a new one arrives) and the ready agents holding nothing back to
 * --free % (a random one gets full work, or a random busy one drops all
 * its work). The simulated wall clock moves RB_TICK_MS per round.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config.h"
#include "router.h"
#include "session.h"
#include "swb_domain.h"

#define RB_STARVE_MS 120000u
#define RB_TICK_MS 5u            /* simulated time per round          */
#define RB_WARMUP 2000u          /* untimed rounds before sampling    */
#define RB_NOT_READY_PCT 10u     /* agents not ready (break, ...)     */
#define RB_T0_MS 1760000000000u  /* simulated wall clock at start     */
#define RB_MAX_LIST 8            /* sizes in --agents / --tasks       */
#define RB_MAX_SKILLS 32
#define RB_NLANGS 8
#define RB_NSITES 5
#define RB_NSPONSORS 12
#define RB_NROLES 4
#define RB_HOUR_MS 3600000u
#define RB_UNSTAFFED_PCT 3       /* of drawn classes nobody can serve */
#define RB_CLASS_ZIPF 0.8        /* skew of arrivals over classes     */
#define RB_PROFILE_ZIPF 0.7      /* skew of team sizes over profiles  */

/* ---- the catalogue ------------------------------------------------------ */

static const char *const rb_langs[RB_NLANGS] = {"en", "es", "de", "fr",
                                                "pt", "pl", "tl", "it"};
/* how often a task asks for each language */
static const unsigned rb_lang_w[RB_NLANGS] = {45, 15, 10, 8, 7, 5, 5, 5};

/* how often a task comes on each channel (swb_channel_t order) */
static const unsigned rb_ch_w[SWB_CH_COUNT] = {25, 10, 20, 15, 6,
                                               6,  4,  5,  4,  5};
/* oldest waiting task of each channel at the start, ms */
static const uint64_t rb_age_max[SWB_CH_COUNT] = {
    300000,          7200000,         24 * RB_HOUR_MS, 180000,
    8 * RB_HOUR_MS,  8 * RB_HOUR_MS,  8 * RB_HOUR_MS,  8 * RB_HOUR_MS,
    8 * RB_HOUR_MS,  8 * RB_HOUR_MS};

typedef struct rb_site {
    const char *id, *country, *tz;
    unsigned weight;
    int native;                 /* language spoken natively there */
    unsigned lang_w[RB_NLANGS]; /* how often an agent there has it */
} rb_site_t;

static const rb_site_t rb_sites[RB_NSITES] = {
    {"mnl-1", "PH", "Asia/Manila", 30, 6, {90, 10, 1, 1, 1, 0, 60, 0}},
    {"ceb-1", "PH", "Asia/Manila", 20, 6, {90, 8, 1, 1, 0, 0, 60, 0}},
    {"krk-1", "PL", "Europe/Warsaw", 20, 5, {70, 10, 35, 15, 3, 60, 0, 8}},
    {"lis-1", "PT", "Europe/Lisbon", 15, 4, {60, 35, 15, 25, 60, 0, 0, 12}},
    {"bog-1", "CO", "America/Bogota", 15, 1, {55, 90, 2, 5, 15, 0, 0, 3}},
};

typedef struct rb_sponsor {
    const char *name;
    unsigned weight;
    bool cert, best;
    const char *countries; /* comma list, NULL = any */
    const char *regions;   /* comma list, NULL = any */
    const char *skills[3]; /* its domain skills, NULL-padded */
} rb_sponsor_t;

static const rb_sponsor_t rb_sponsors[RB_NSPONSORS] = {
    {"northbank", 14, true, false, NULL, NULL, {"banking", "cards", "fraud"}},
    {"eurobank", 8, true, false, "PL,PT", NULL, {"banking", "mortgages", NULL}},
    {"safeins", 9, true, false, NULL, NULL, {"insurance", "claims", NULL}},
    {"telcom", 14, false, false, NULL, NULL, {"billing", "tech-support", NULL}},
    {"fibernet", 8, false, false, NULL, NULL,
     {"tech-support", "networking", NULL}},
    {"shopmart", 12, false, false, NULL, NULL, {"retail", "returns", NULL}},
    {"skyair", 8, false, true, NULL, NULL, {"travel", "loyalty", NULL}},
    {"stayinn", 5, false, false, NULL, NULL, {"travel", NULL, NULL}},
    {"medcare", 7, true, false, "PH", NULL, {"healthcare", "claims", NULL}},
    {"cityhall", 4, true, false, NULL, "manila,bogota",
     {"public-sector", NULL, NULL}},
    {"powerco", 6, false, false, NULL, NULL, {"billing", "energy", NULL}},
    {"cloudsoft", 5, false, true, NULL, NULL, {"tech-support", "saas", NULL}},
};

typedef struct rb_role {
    unsigned weight;
    int must[2], nmust;
    int pool[7], npool;
} rb_role_t;

static const rb_role_t rb_roles[RB_NROLES] = {
    /* voice */
    {35, {SWB_CH_VOICE_INBOUND}, 1,
     {SWB_CH_VOICE_OUTBOUND, SWB_CH_CHAT, SWB_CH_EMAIL}, 3},
    /* blended */
    {20, {SWB_CH_VOICE_INBOUND, SWB_CH_EMAIL}, 2,
     {SWB_CH_CHAT, SWB_CH_VOICE_OUTBOUND, SWB_CH_FORM}, 3},
    /* digital */
    {25, {SWB_CH_EMAIL, SWB_CH_CHAT}, 2,
     {SWB_CH_FORM, SWB_CH_DATA, SWB_CH_RESEARCH, SWB_CH_DOCUMENTATION}, 4},
    /* back office */
    {20, {0}, 0,
     {SWB_CH_FORM, SWB_CH_DATA, SWB_CH_RESEARCH, SWB_CH_ACCOUNTING,
      SWB_CH_DATABASE, SWB_CH_DOCUMENTATION, SWB_CH_EMAIL}, 7},
};

static const unsigned rb_need_lv_w[3] = {3, 4, 2};    /* B1, B2, C1     */
static const unsigned rb_need_sk_w[3] = {4, 3, 1};    /* skill 1, 2, 3  */
static const unsigned rb_have_lv_w[4] = {2, 4, 4, 1}; /* B1 .. C2       */
static const unsigned rb_have_sk_w[5] = {2, 3, 3, 2, 1};
static const unsigned rb_nlang_w[3] = {25, 50, 25};   /* 1, 2, 3 langs  */
static const unsigned rb_nskill_w[4] = {20, 35, 30, 15};
static const unsigned rb_ncert_w[3] = {40, 40, 20};
static const unsigned rb_prio_w[4] = {70, 20, 8, 2};
static const uint64_t rb_prio[4] = {0, 100, 500, 900};

/* ---- small helpers ------------------------------------------------------ */

static void
rb_need(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "switchboard-router-bench: out of memory (%s)\n",
                what);
        exit(1);
    }
}

static void *
rb_calloc(size_t n, size_t size, const char *what)
{
    void *p = calloc(n ? n : 1, size);
    rb_need(p != NULL, what);
    return p;
}

static size_t
popcount(uint32_t x)
{
    size_t n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct rng {
    uint64_t s;
} rng_t;

/* splitmix64 */
static uint64_t
rng_next(rng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t
rng_below(rng_t *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

static double
rng_unit(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* An index drawn with the given weights (n > 0, some weight > 0). */
static size_t
rng_pick(rng_t *r, const unsigned *w, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    uint64_t x = rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* An index drawn from cumulative weights cum[0..n) (binary search). */
static size_t
rng_pick_cum(rng_t *r, const double *cum, size_t n)
{
    double x = rng_unit(r) * cum[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- options ------------------------------------------------------------ */

typedef struct rb_opts {
    uint64_t agents[RB_MAX_LIST];
    size_t nagents;
    uint64_t tasks[RB_MAX_LIST];
    size_t ntasks;
    uint64_t samples, seed, free_pct, classes, profiles;
    uint64_t detail; /* --detail: per router call table too */
} rb_opts_t;

typedef enum rb_opt_kind { RB_NUM, RB_LIST, RB_FLAG, RB_HELP } rb_opt_kind_t;

typedef struct rb_opt_def {
    const char *name;
    rb_opt_kind_t kind;
    size_t off;       /* the uint64_t (RB_NUM) or first array item */
    size_t count_off; /* RB_LIST: the size_t count                 */
    uint64_t min, max;
    const char *help;
} rb_opt_def_t;

static const rb_opt_def_t rb_opt_defs[] = {
    {"agents", RB_LIST, offsetof(rb_opts_t, agents),
     offsetof(rb_opts_t, nagents), 1, 10000000,
     "LIST  agent counts (1000,10000,100000)"},
    {"tasks", RB_LIST, offsetof(rb_opts_t, tasks),
     offsetof(rb_opts_t, ntasks), 1, 100000000,
     "LIST  waiting task counts (10000,100000,1000000)"},
    {"samples", RB_NUM, offsetof(rb_opts_t, samples), 0, 100, 10000000,
     "N  timed operations of each kind per cell (20000)"},
    {"seed", RB_NUM, offsetof(rb_opts_t, seed), 0, 0, UINT64_MAX,
     "S  random seed (20251123)"},
    {"free", RB_NUM, offsetof(rb_opts_t, free_pct), 0, 0, 90,
     "PCT  ready agents holding nothing, % of agents (5)"},
    {"classes", RB_NUM, offsetof(rb_opts_t, classes), 0, 10, 20000,
     "N  requirement classes (1000)"},
    {"profiles", RB_NUM, offsetof(rb_opts_t, profiles), 0, 10, 20000,
     "N  distinct agent profiles (300)"},
    {"detail", RB_FLAG, offsetof(rb_opts_t, detail), 0, 0, 1,
     "also print p50/p99 of every router call"},
    {"help", RB_HELP, 0, 0, 0, 0, "this help"},
};
#define RB_NOPTS (sizeof rb_opt_defs / sizeof rb_opt_defs[0])

static void
rb_usage(FILE *f)
{
    fprintf(f, "usage: switchboard-router-bench [options]\n"
               "Times the router's two decisions (place a new task, find "
               "work for an agent\nwho turns free) in process, for every "
               "(agents, tasks) pair.\n\n");
    for (size_t i = 0; i < RB_NOPTS; i++) {
        const char *h = rb_opt_defs[i].help, *sp = strchr(h, ' ');
        bool arg = rb_opt_defs[i].kind == RB_NUM ||
                   rb_opt_defs[i].kind == RB_LIST;
        int n = arg && sp ? (int)(sp - h) : 0;
        char left[40];
        snprintf(left, sizeof left, "--%s%s%.*s", rb_opt_defs[i].name,
                 n ? " " : "", n, h);
        fprintf(f, "  %-20s %s\n", left, n ? sp + 2 : h);
    }
}

static int
rb_parse_num(const rb_opt_def_t *d, const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v =
        text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
    if (!end || end == text || *end || errno || v < d->min || v > d->max) {
        fprintf(stderr, "switchboard-router-bench: --%s: \"%s\" is not a "
                "whole number from %" PRIu64 " to %" PRIu64 "\n", d->name,
                text, d->min, d->max);
        return -1;
    }
    *out = v;
    return 0;
}

static int
rb_parse_list(const rb_opt_def_t *d, const char *text, uint64_t *v, size_t *n)
{
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf) {
        fprintf(stderr, "switchboard-router-bench: --%s: list too long\n",
                d->name);
        return -1;
    }
    *n = 0;
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        if (*n == RB_MAX_LIST) {
            fprintf(stderr, "switchboard-router-bench: --%s: at most %d "
                    "sizes\n", d->name, RB_MAX_LIST);
            return -1;
        }
        if (rb_parse_num(d, item, &v[*n]))
            return -1;
        (*n)++;
    }
    if (!*n) {
        fprintf(stderr, "switchboard-router-bench: --%s: empty list\n",
                d->name);
        return -1;
    }
    return 0;
}

/* Returns 0 to run, 1 to exit 0 (help), 2 on a usage error. */
static int
rb_parse_opts(int argc, char **argv, rb_opts_t *o)
{
    static const uint64_t def_agents[] = {1000, 10000, 100000};
    static const uint64_t def_tasks[] = {10000, 100000, 1000000};
    memset(o, 0, sizeof *o);
    memcpy(o->agents, def_agents, sizeof def_agents);
    o->nagents = 3;
    memcpy(o->tasks, def_tasks, sizeof def_tasks);
    o->ntasks = 3;
    o->samples = 20000;
    o->seed = 20251123;
    o->free_pct = 5;
    o->classes = 1000;
    o->profiles = 300;

    struct option longopts[RB_NOPTS + 1];
    memset(longopts, 0, sizeof longopts);
    for (size_t i = 0; i < RB_NOPTS; i++) {
        longopts[i].name = rb_opt_defs[i].name;
        longopts[i].has_arg = rb_opt_defs[i].kind == RB_NUM ||
                              rb_opt_defs[i].kind == RB_LIST;
        longopts[i].val = (int)i;
    }
    int c, idx;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        if (c < 0 || (size_t)c >= RB_NOPTS) {
            fprintf(stderr, "switchboard-router-bench: unknown option or "
                    "missing value: \"%s\"\n", argv[optind - 1]);
            return 2;
        }
        const rb_opt_def_t *d = &rb_opt_defs[c];
        char *base = (char *)o;
        switch (d->kind) {
        case RB_NUM:
            if (rb_parse_num(d, optarg, (uint64_t *)(void *)(base + d->off)))
                return 2;
            break;
        case RB_LIST:
            if (rb_parse_list(d, optarg, (uint64_t *)(void *)(base + d->off),
                              (size_t *)(void *)(base + d->count_off)))
                return 2;
            break;
        case RB_FLAG: *(uint64_t *)(void *)(base + d->off) = 1; break;
        case RB_HELP: rb_usage(stdout); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "switchboard-router-bench: unexpected argument "
                "\"%s\"\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* ---- the world: config, classes, profiles ------------------------------- */

typedef struct rb_class {
    swb_task_spec_t spec; /* template: channel, lang, skill, sponsor */
    int ch;
    uint32_t code;        /* the tuple, to find duplicates          */
} rb_class_t;

typedef struct rb_profile {
    swb_m_hello_t hello; /* template; the agent name is set per agent */
    const swb_site_def_t *site;
} rb_profile_t;

typedef struct rb_world {
    swb_config_t cfg;
    swb_site_def_t sites[RB_NSITES];
    swb_sponsor_def_t sponsors[RB_NSPONSORS];
    unsigned sp_w[RB_NSPONSORS];
    const char *skills[RB_MAX_SKILLS];
    size_t nskills;
    int sp_skill[RB_NSPONSORS][3]; /* index in skills, -1 = none */
    rb_class_t *cls;
    double *cls_cum;               /* cumulative popularity      */
    size_t ncls;
    rb_profile_t *prof;
    double *prof_cum;
    size_t nprof;
    uint8_t *elig;                 /* [profile * ncls + class]   */
} rb_world_t;

static void
world_config(rb_world_t *w)
{
    w->cfg.region = (char *)"manila";
    w->cfg.starve_ms = RB_STARVE_MS;
    for (size_t i = 0; i < RB_NSITES; i++)
        w->sites[i] = (swb_site_def_t){(char *)rb_sites[i].id,
                                       (char *)rb_sites[i].country,
                                       (char *)rb_sites[i].tz, 0, 0};
    char why[200];
    for (size_t i = 0; i < RB_NSPONSORS; i++) {
        const rb_sponsor_t *s = &rb_sponsors[i];
        swb_sponsor_def_t *d = &w->sponsors[i];
        d->name = (char *)s->name;
        d->certification = s->cert;
        d->best_skilled = s->best;
        if (s->countries)
            rb_need(swb_parse_strs(s->countries, &d->countries, why,
                                   sizeof why) == SWB_OK, "config");
        if (s->regions)
            rb_need(swb_parse_strs(s->regions, &d->regions, why,
                                   sizeof why) == SWB_OK, "config");
        w->sp_w[i] = s->weight;
        for (size_t k = 0; k < 3; k++) {
            w->sp_skill[i][k] = -1;
            if (!s->skills[k])
                continue;
            size_t j = 0;
            while (j < w->nskills && strcmp(w->skills[j], s->skills[k]))
                j++;
            if (j == w->nskills && w->nskills < RB_MAX_SKILLS)
                w->skills[w->nskills++] = s->skills[k];
            w->sp_skill[i][k] = j < w->nskills ? (int)j : -1;
        }
    }
    w->cfg.sites = w->sites;
    w->cfg.nsites = RB_NSITES;
    w->cfg.sponsors = w->sponsors;
    w->cfg.nsponsors = RB_NSPONSORS;
}

static size_t
sponsor_nskills(const rb_world_t *w, size_t sp)
{
    size_t n = 0;
    while (n < 3 && w->sp_skill[sp][n] >= 0)
        n++;
    return n;
}

/* Requirement classes: distinct (channel, language >= level, optional
 * skill >= level, sponsor), popularity = product of the parts' weights
 * times a random factor; mostly ones some profile can serve. */
static void
world_classes(rb_world_t *w, rng_t *rng, size_t want)
{
    w->cls = rb_calloc(want, sizeof *w->cls, "classes");
    w->cls_cum = rb_calloc(want, sizeof *w->cls_cum, "classes");
    double total = 0;
    for (size_t tries = 0; w->ncls < want && tries < 1000 * want; tries++) {
        size_t ch = rng_pick(rng, rb_ch_w, SWB_CH_COUNT);
        size_t lang = rng_pick(rng, rb_lang_w, RB_NLANGS);
        size_t lv = 3 + rng_pick(rng, rb_need_lv_w, 3);
        size_t sp = rng_pick(rng, w->sp_w, RB_NSPONSORS);
        size_t sk = 3, sklv = 0; /* 3 = no skill */
        if (rng_below(rng, 100) < 50) {
            sk = rng_below(rng, sponsor_nskills(w, sp));
            sklv = 1 + rng_pick(rng, rb_need_sk_w, 3);
        }
        uint32_t code = (uint32_t)(ch | lang << 4 | lv << 8 | sp << 12 |
                                   sk << 16 | sklv << 20);
        size_t j = 0;
        while (j < w->ncls && w->cls[j].code != code)
            j++;
        if (j < w->ncls)
            continue;
        rb_class_t *c = &w->cls[w->ncls];
        c->code = code;
        c->ch = (int)ch;
        swb_task_spec_t *s = &c->spec;
        rb_need((s->channel = strdup(swb_channel_name((int)ch))) &&
                    (s->sponsor = strdup(rb_sponsors[sp].name)) &&
                    swb_levels_add(&s->lang, rb_langs[lang], lv) == SWB_OK &&
                    (sk == 3 ||
                     swb_levels_add(&s->skills,
                                    w->skills[w->sp_skill[sp][sk]],
                                    sklv) == SWB_OK),
                "classes");
        /* a centre is staffed for the work it takes: a class no profile
         * can serve is kept only now and then (new, or being staffed) */
        size_t p = 0;
        while (p < w->nprof && !swb_router_eligible(&w->cfg, &w->prof[p].hello,
                                                    w->prof[p].site, s))
            p++;
        if (p == w->nprof && rng_below(rng, 100) >= RB_UNSTAFFED_PCT) {
            swb_codec_free(&swb_task_spec_schema, s);
            continue;
        }
        /* volume is skewed (a few big queues): Zipf on the order drawn,
         * which already favours the common combinations */
        total += (double)rb_ch_w[ch] * rb_lang_w[lang] * w->sp_w[sp] *
                 (sk == 3 ? 1.0 : 0.6) * (0.2 + 1.6 * rng_unit(rng)) /
                 pow((double)(w->ncls + 1), RB_CLASS_ZIPF);
        w->cls_cum[w->ncls++] = total;
    }
}

static void
profile_hello(const rb_world_t *w, swb_m_hello_t *h, size_t site,
              uint32_t chmask, const uint64_t *speak, const uint64_t *write,
              const uint64_t *skill, uint32_t certs)
{
    bool ok = (h->site = strdup(rb_sites[site].id)) &&
              (h->agent = strdup("template"));
    for (int ch = 0; ok && ch < SWB_CH_COUNT; ch++)
        if (chmask >> ch & 1)
            ok = swb_strs_add(&h->channels, swb_channel_name(ch)) == SWB_OK;
    for (size_t l = 0; ok && l < RB_NLANGS; l++)
        if (speak[l])
            ok = swb_levels_add(&h->speaks, rb_langs[l], speak[l]) ==
                     SWB_OK &&
                 swb_levels_add(&h->writes, rb_langs[l], write[l]) == SWB_OK;
    for (size_t k = 0; ok && k < w->nskills; k++)
        if (skill[k])
            ok = swb_levels_add(&h->skills, w->skills[k], skill[k]) == SWB_OK;
    for (size_t s = 0; ok && s < RB_NSPONSORS; s++)
        if (certs >> s & 1)
            ok = swb_strs_add(&h->sponsors, rb_sponsors[s].name) == SWB_OK;
    if (ok && chmask >> SWB_CH_EMAIL & 1)
        ok = swb_levels_add(&h->capacity, "email", 3) == SWB_OK;
    if (ok && chmask >> SWB_CH_CHAT & 1)
        ok = swb_levels_add(&h->capacity, "chat", 2) == SWB_OK;
    rb_need(ok, "profiles");
}

/* Agent profiles: distinct (site, channels, languages, skills, certs). */
static void
world_profiles(rb_world_t *w, rng_t *rng, size_t want)
{
    static const unsigned site_w[RB_NSITES] = {30, 20, 20, 15, 15};
    static const unsigned role_w[RB_NROLES] = {35, 20, 25, 20};
    w->prof = rb_calloc(want, sizeof *w->prof, "profiles");
    w->prof_cum = rb_calloc(want, sizeof *w->prof_cum, "profiles");
    char **keys = rb_calloc(want, sizeof *keys, "profiles");
    double total = 0;
    for (size_t tries = 0; w->nprof < want && tries < 1000 * want; tries++) {
        size_t site = rng_pick(rng, site_w, RB_NSITES);
        const rb_role_t *role = &rb_roles[rng_pick(rng, role_w, RB_NROLES)];
        uint32_t chmask = 0;
        for (int i = 0; i < role->nmust; i++)
            chmask |= 1u << role->must[i];
        size_t nch = 2 + rng_below(rng, 3);
        int pool[7], npool = role->npool;
        memcpy(pool, role->pool, sizeof pool);
        while (popcount(chmask) < nch && npool > 0) {
            size_t k = rng_below(rng, (uint64_t)npool);
            chmask |= 1u << pool[k];
            pool[k] = pool[--npool];
        }
        /* languages of the site, native ones at C2 */
        uint64_t speak[RB_NLANGS] = {0}, write[RB_NLANGS] = {0};
        unsigned lw[RB_NLANGS];
        memcpy(lw, rb_sites[site].lang_w, sizeof lw);
        size_t nl = 1 + rng_pick(rng, rb_nlang_w, 3);
        for (size_t i = 0; i < nl; i++) {
            size_t l = rng_pick(rng, lw, RB_NLANGS);
            if (!lw[l])
                break; /* no language left */
            lw[l] = 0;
            if ((int)l == rb_sites[site].native) {
                speak[l] = write[l] = 6;
                continue;
            }
            speak[l] = 3 + rng_pick(rng, rb_have_lv_w, 4);
            int wl = (int)speak[l] + (int)rng_below(rng, 3) - 1;
            write[l] = (uint64_t)(wl < 3 ? 3 : wl > 6 ? 6 : wl);
        }
        /* certifications, then skills mostly of those sponsors */
        uint32_t certs = 0;
        size_t ncert = 1 + rng_pick(rng, rb_ncert_w, 3);
        for (size_t i = 0; i < ncert; i++)
            certs |= 1u << rng_pick(rng, w->sp_w, RB_NSPONSORS);
        uint64_t skill[RB_MAX_SKILLS] = {0};
        size_t nsk = rng_pick(rng, rb_nskill_w, 4);
        for (size_t i = 0; i < nsk; i++) {
            size_t sp = rng_pick(rng, w->sp_w, RB_NSPONSORS);
            if (rng_below(rng, 100) < 70) /* a certified sponsor's skill */
                for (size_t j = rng_below(rng, RB_NSPONSORS), n = 0;
                     n < RB_NSPONSORS; n++, j = (j + 1) % RB_NSPONSORS)
                    if (certs >> j & 1) {
                        sp = j;
                        break;
                    }
            size_t k = (size_t)w->sp_skill[sp][rng_below(
                rng, sponsor_nskills(w, sp))];
            skill[k] = 1 + rng_pick(rng, rb_have_sk_w, 5);
        }
        char key[512];
        int len = snprintf(key, sizeof key, "%zu|%x|%x|", site,
                           (unsigned)chmask, (unsigned)certs);
        for (size_t l = 0; l < RB_NLANGS; l++)
            len += snprintf(key + len, sizeof key - (size_t)len,
                            "%" PRIu64 "%" PRIu64, speak[l], write[l]);
        for (size_t k = 0; k < w->nskills; k++)
            len += snprintf(key + len, sizeof key - (size_t)len,
                            "%" PRIu64, skill[k]);
        size_t j = 0;
        while (j < w->nprof && strcmp(keys[j], key))
            j++;
        if (j < w->nprof)
            continue;
        rb_need((keys[w->nprof] = strdup(key)) != NULL, "profiles");
        rb_profile_t *p = &w->prof[w->nprof];
        profile_hello(w, &p->hello, site, chmask, speak, write, skill, certs);
        p->site = &w->sites[site];
        /* Zipf-like team sizes (the order of profiles is random) */
        total += 1.0 / pow((double)(w->nprof + 1), RB_PROFILE_ZIPF);
        w->prof_cum[w->nprof++] = total;
    }
    for (size_t i = 0; i < w->nprof; i++)
        free(keys[i]);
    free(keys);
}

static void
world_build(rb_world_t *w, const rb_opts_t *o)
{
    rng_t rng = {o->seed};
    memset(w, 0, sizeof *w);
    world_config(w);
    world_profiles(w, &rng, o->profiles);
    world_classes(w, &rng, o->classes);
    w->elig = rb_calloc(w->nprof * w->ncls, 1, "eligibility");
    for (size_t p = 0; p < w->nprof; p++)
        for (size_t c = 0; c < w->ncls; c++)
            w->elig[p * w->ncls + c] = swb_router_eligible(
                &w->cfg, &w->prof[p].hello, w->prof[p].site,
                &w->cls[c].spec);
}

static void
world_free(rb_world_t *w)
{
    for (size_t c = 0; c < w->ncls; c++)
        swb_codec_free(&swb_task_spec_schema, &w->cls[c].spec);
    for (size_t p = 0; p < w->nprof; p++)
        swb_codec_free(swb_msg_schema(SWB_MSG_HELLO), &w->prof[p].hello);
    for (size_t i = 0; i < RB_NSPONSORS; i++) {
        swb_codec_free_strs(&w->sponsors[i].countries);
        swb_codec_free_strs(&w->sponsors[i].regions);
    }
    free(w->cls);
    free(w->cls_cum);
    free(w->prof);
    free(w->prof_cum);
    free(w->elig);
}

/* ---- one cell: agents, tasks and the bookkeeping around the router ----- */

enum { RB_OFF, RB_BUSY, RB_FREE }; /* agent sets: not ready, holds, free */

/* The router calls timed one by one (--detail). */
enum {
    RB_C_ADD,     /* swb_router_add_task      */
    RB_C_PICK_AG, /* swb_router_pick_agent    */
    RB_C_REMOVE,  /* swb_router_remove_task   */
    RB_C_CHANGED, /* swb_router_agent_changed */
    RB_C_PICK_TK, /* swb_router_pick_task     */
    RB_C_COUNT
};
static const char *const rb_call_names[RB_C_COUNT] = {
    "add_task", "pick_agent", "remove_task", "agent_changed", "pick_task"};

/* How big each decision was (--detail). */
enum {
    RB_Z_AG_LINKS,  /* pick_agent: agent classes linked to the task's  */
    RB_Z_TK_LINKS,  /* pick_task: requirement classes linked to agent's */
    RB_Z_TK_NSLINK, /* pick_task: ns per linked class                  */
    RB_Z_COUNT
};

typedef struct rb_samples {
    uint64_t *v; /* ns, or a count */
    size_t n, cap;
} rb_samples_t;

typedef struct rb_set {
    uint32_t *v;
    size_t n;
} rb_set_t;

typedef struct rb_cell {
    const rb_world_t *w;
    rng_t rng;
    swb_router_t *r;
    uint64_t now;           /* simulated unix ms                      */
    swb_session_t **ag;     /* agents by index (the rid says which)   */
    uint32_t *ag_prof;
    uint8_t *ag_set;
    uint32_t *ag_pos;       /* position in its set                    */
    size_t nag;
    rb_set_t busy, idle;    /* hold work / ready and hold nothing     */
    size_t idle_target;
    swb_btask_t **task;     /* every live task by id                  */
    size_t *wpos;           /* by id: position in waiting[]           */
    size_t tcap;
    uint64_t next_id;
    swb_btask_t **waiting;  /* tasks waiting in the router            */
    size_t nwaiting, wait_target;
    uint8_t *cls_seen;      /* class known to the router              */
    uint8_t *prof_used;     /* profile has an agent in this cell      */
    size_t *cls_links;      /* links of each class (agent classes)    */
    size_t *prof_links;     /* links of each profile (classes)        */
    bool sampling;          /* past the warm-up                       */
    rb_samples_t call[RB_C_COUNT];
    rb_samples_t size[RB_Z_COUNT];
} rb_cell_t;

static void
size_note(rb_cell_t *c, int kind, uint64_t v)
{
    rb_samples_t *s = &c->size[kind];
    if (c->sampling && s->n < s->cap)
        s->v[s->n++] = v;
}

/* Notes the time of one router call (while sampling); returns it. */
static uint64_t
call_note(rb_cell_t *c, int kind, uint64_t t0)
{
    uint64_t ns = now_ns() - t0;
    rb_samples_t *s = &c->call[kind];
    if (c->sampling && s->n < s->cap)
        s->v[s->n++] = ns;
    return ns;
}

static size_t
agent_index(const swb_session_t *s)
{
    return (size_t)s->rid[0] << 24 | (size_t)s->rid[1] << 16 |
           (size_t)s->rid[2] << 8 | s->rid[3];
}

static void
set_del(rb_cell_t *c, rb_set_t *set, size_t i)
{
    uint32_t pos = c->ag_pos[i];
    uint32_t last = set->v[--set->n];
    set->v[pos] = last;
    c->ag_pos[last] = pos;
}

/* Puts agent i in the set its state and holdings say. */
static void
agent_file(rb_cell_t *c, size_t i)
{
    const swb_session_t *s = c->ag[i];
    uint8_t want = zlistx_size(s->held)       ? RB_BUSY
                   : s->state == SWB_AG_READY ? RB_FREE
                                              : RB_OFF;
    if (c->ag_set[i] == want)
        return;
    if (c->ag_set[i] == RB_BUSY)
        set_del(c, &c->busy, i);
    else if (c->ag_set[i] == RB_FREE)
        set_del(c, &c->idle, i);
    rb_set_t *to = want == RB_BUSY ? &c->busy
                   : want == RB_FREE ? &c->idle
                                     : NULL;
    if (to) {
        c->ag_pos[i] = (uint32_t)to->n;
        to->v[to->n++] = (uint32_t)i;
    }
    c->ag_set[i] = want;
}

/* Registers a new task under the next id; takes *spec. */
static swb_btask_t *
task_new(rb_cell_t *c, swb_task_spec_t **spec, uint64_t created)
{
    uint64_t id = ++c->next_id;
    if (id >= c->tcap) {
        size_t ncap = c->tcap ? 2 * c->tcap : 1024;
        swb_btask_t **nt = realloc(c->task, ncap * sizeof *nt);
        rb_need(nt != NULL, "tasks");
        c->task = nt;
        size_t *np = realloc(c->wpos, ncap * sizeof *np);
        rb_need(np != NULL, "tasks");
        c->wpos = np;
        memset(c->task + c->tcap, 0, (ncap - c->tcap) * sizeof *nt);
        c->tcap = ncap;
    }
    swb_btask_t *t = swb_btask_new(id, spec, created);
    rb_need(t != NULL, "tasks");
    c->task[id] = t;
    c->wpos[id] = SIZE_MAX;
    return t;
}

static void
task_drop(rb_cell_t *c, swb_btask_t *t)
{
    c->task[t->rec.id] = NULL;
    swb_btask_destroy(&t);
}

/* Counts the links the router makes for class k when it first sees it
 * (the profiles in use that may take it). */
static void
cell_link_class(rb_cell_t *c, size_t k)
{
    const rb_world_t *w = c->w;
    for (size_t p = 0; p < w->nprof; p++)
        if (c->prof_used[p] && w->elig[p * w->ncls + k]) {
            c->cls_links[k]++;
            c->prof_links[p]++;
        }
}

/* A task of class k created at `created`, with a priority and deadline
 * typical of its channel. */
static swb_btask_t *
class_task(rb_cell_t *c, size_t k, uint64_t created)
{
    const rb_class_t *cl = &c->w->cls[k];
    swb_task_spec_t *sp = rb_calloc(1, sizeof *sp, "tasks");
    rb_need(swb_codec_copy(&swb_task_spec_schema, sp, &cl->spec) == SWB_OK,
            "tasks");
    sp->priority = rb_prio[rng_pick(&c->rng, rb_prio_w, 4)];
    if (cl->ch == SWB_CH_EMAIL)
        sp->deadline = created + 24 * RB_HOUR_MS;
    else if (cl->ch >= SWB_CH_FORM && rng_below(&c->rng, 2))
        sp->deadline = created + 48 * RB_HOUR_MS;
    if (!c->cls_seen[k]) {
        c->cls_seen[k] = 1;
        cell_link_class(c, k);
    }
    return task_new(c, &sp, created);
}

/* Work an agent holds: only its channel matters (the router never sees
 * it). */
static swb_btask_t *
held_task(rb_cell_t *c, int ch)
{
    swb_task_spec_t *sp = rb_calloc(1, sizeof *sp, "tasks");
    rb_need((sp->channel = strdup(swb_channel_name(ch))) != NULL, "tasks");
    return task_new(c, &sp, c->now);
}

/* Notes a task the router now holds as waiting. */
static void
waiting_note(rb_cell_t *c, swb_btask_t *t)
{
    c->wpos[t->rec.id] = c->nwaiting;
    c->waiting[c->nwaiting++] = t;
}

static void
waiting_add(rb_cell_t *c, swb_btask_t *t)
{
    rb_need(swb_router_add_task(c->r, t) == SWB_OK, "router");
    waiting_note(c, t);
}

/* Forgets a task that left the router (the caller removed it). */
static void
waiting_forget(rb_cell_t *c, swb_btask_t *t)
{
    size_t pos = c->wpos[t->rec.id];
    swb_btask_t *last = c->waiting[--c->nwaiting];
    c->waiting[pos] = last;
    c->wpos[last->rec.id] = pos;
    c->wpos[t->rec.id] = SIZE_MAX;
}

/* Ready agent i takes full work: a call, or its capacity everywhere. */
static void
agent_fill(rb_cell_t *c, size_t i)
{
    swb_session_t *s = c->ag[i];
    if (s->cap_ch[SWB_CH_VOICE_INBOUND] || s->cap_ch[SWB_CH_VOICE_OUTBOUND]) {
        int ch = s->cap_ch[SWB_CH_VOICE_INBOUND] ? SWB_CH_VOICE_INBOUND
                                                 : SWB_CH_VOICE_OUTBOUND;
        swb_session_hold(s, held_task(c, ch));
    } else {
        for (int ch = 0; ch < SWB_CH_COUNT; ch++)
            while (swb_session_can_take(s, ch))
                swb_session_hold(s, held_task(c, ch));
    }
    swb_router_agent_changed(c->r, s, c->now);
    agent_file(c, i);
}

/* Agent i finishes everything it holds. */
static void
agent_release(rb_cell_t *c, size_t i)
{
    swb_session_t *s = c->ag[i];
    swb_btask_t *t;
    while ((t = zlistx_first(s->held))) {
        swb_session_unhold(t);
        task_drop(c, t);
    }
    s->idle_since = c->now;
    swb_router_agent_changed(c->r, s, c->now);
    agent_file(c, i);
}

static void
cell_build(rb_cell_t *c, const rb_world_t *w, const rb_opts_t *o,
           uint64_t nagents, uint64_t ntasks)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->rng.s = o->seed ^ (nagents * 0x9e3779b97f4a7c15u) ^
               (ntasks * 0xc2b2ae3d27d4eb4fu);
    c->now = RB_T0_MS;
    c->r = swb_router_new(&w->cfg);
    rb_need(c->r != NULL, "router");
    c->nag = nagents;
    c->ag = rb_calloc(nagents, sizeof *c->ag, "agents");
    c->ag_prof = rb_calloc(nagents, sizeof *c->ag_prof, "agents");
    c->ag_set = rb_calloc(nagents, sizeof *c->ag_set, "agents");
    c->ag_pos = rb_calloc(nagents, sizeof *c->ag_pos, "agents");
    c->busy.v = rb_calloc(nagents, sizeof *c->busy.v, "agents");
    c->idle.v = rb_calloc(nagents, sizeof *c->idle.v, "agents");
    c->cls_seen = rb_calloc(w->ncls, 1, "classes");
    c->prof_used = rb_calloc(w->nprof, 1, "profiles");
    c->cls_links = rb_calloc(w->ncls, sizeof *c->cls_links, "links");
    c->prof_links = rb_calloc(w->nprof, sizeof *c->prof_links, "links");
    c->idle_target = nagents * o->free_pct / 100;
    c->wait_target = ntasks;
    c->waiting = rb_calloc(ntasks + 2, sizeof *c->waiting, "waiting");

    for (size_t i = 0; i < nagents; i++) {
        size_t p = rng_pick_cum(&c->rng, w->prof_cum, w->nprof);
        swb_m_hello_t h;
        memset(&h, 0, sizeof h);
        rb_need(swb_codec_copy(swb_msg_schema(SWB_MSG_HELLO), &h,
                               &w->prof[p].hello) == SWB_OK, "agents");
        char name[32];
        snprintf(name, sizeof name, "ag%07zu", i);
        free(h.agent);
        rb_need((h.agent = strdup(name)) != NULL, "agents");
        uint8_t rid[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16),
                          (uint8_t)(i >> 8), (uint8_t)i};
        swb_session_t *s = swb_session_new(rid, 4, &h, w->prof[p].site, 0);
        rb_need(s != NULL, "agents");
        rb_need(swb_router_add_agent(c->r, s) == SWB_OK, "router");
        c->ag[i] = s;
        c->ag_prof[i] = (uint32_t)p;
        c->ag_set[i] = RB_OFF;
        c->prof_used[p] = 1;
        uint64_t roll = rng_below(&c->rng, 100);
        s->idle_since = c->now - rng_below(&c->rng, 600000);
        if (roll < o->free_pct) {
            s->state = SWB_AG_READY;
            swb_router_agent_changed(c->r, s, c->now);
            agent_file(c, i);
        } else if (roll < o->free_pct + RB_NOT_READY_PCT) {
            s->state = SWB_AG_NOT_READY + (int)rng_below(&c->rng, 3);
            swb_router_agent_changed(c->r, s, c->now);
        } else {
            s->state = SWB_AG_READY;
            agent_fill(c, i);
        }
    }
    /* one task of every class (so the router knows them all), then by
     * popularity, with ages typical of the channel */
    for (size_t i = 0; i < ntasks; i++) {
        size_t k = i < w->ncls ? i
                               : rng_pick_cum(&c->rng, w->cls_cum, w->ncls);
        uint64_t age = rng_below(&c->rng, rb_age_max[w->cls[k].ch]);
        waiting_add(c, class_task(c, k, c->now - age));
    }
}

/* Brings the backlog and the free agents back to their targets. */
static void
cell_correct(rb_cell_t *c)
{
    while (c->nwaiting > c->wait_target) {
        swb_btask_t *t = c->waiting[rng_below(&c->rng, c->nwaiting)];
        swb_router_remove_task(c->r, t);
        waiting_forget(c, t);
        task_drop(c, t);
    }
    while (c->nwaiting < c->wait_target) {
        size_t k = rng_pick_cum(&c->rng, c->w->cls_cum, c->w->ncls);
        waiting_add(c, class_task(c, k, c->now));
    }
    while (c->idle.n > c->idle_target)
        agent_fill(c, c->idle.v[rng_below(&c->rng, c->idle.n)]);
    while (c->idle.n < c->idle_target && c->busy.n)
        agent_release(c, c->busy.v[rng_below(&c->rng, c->busy.n)]);
}

/* (a) A fresh task arrives. Returns the router time in ns. */
static uint64_t
op_place(rb_cell_t *c, bool *hit)
{
    size_t k = rng_pick_cum(&c->rng, c->w->cls_cum, c->w->ncls);
    swb_btask_t *t = class_task(c, k, c->now);
    uint64_t t0 = now_ns();
    rb_need(swb_router_add_task(c->r, t) == SWB_OK, "router");
    uint64_t dt = call_note(c, RB_C_ADD, t0);
    t0 = now_ns();
    swb_session_t *s = swb_router_pick_agent(c->r, t, c->now);
    dt += call_note(c, RB_C_PICK_AG, t0);
    size_note(c, RB_Z_AG_LINKS, c->cls_links[k]);
    *hit = s != NULL;
    if (!s) {
        waiting_note(c, t);
        return dt;
    }
    t0 = now_ns();
    swb_router_remove_task(c->r, t);
    dt += call_note(c, RB_C_REMOVE, t0);
    swb_session_hold(s, t);
    t0 = now_ns();
    swb_router_agent_changed(c->r, s, c->now);
    dt += call_note(c, RB_C_CHANGED, t0);
    agent_file(c, agent_index(s));
    return dt;
}

/* (b) A random busy agent finishes its oldest task. Returns the router
 * time in ns; false when nobody is busy. */
static bool
op_free(rb_cell_t *c, uint64_t *ns, bool *hit)
{
    if (!c->busy.n)
        return false;
    size_t i = c->busy.v[rng_below(&c->rng, c->busy.n)];
    swb_session_t *s = c->ag[i];
    swb_btask_t *done = zlistx_first(s->held);
    swb_session_unhold(done);
    task_drop(c, done);
    s->idle_since = c->now;
    uint64_t t0 = now_ns();
    swb_router_agent_changed(c->r, s, c->now);
    uint64_t dt = call_note(c, RB_C_CHANGED, t0);
    t0 = now_ns();
    swb_btask_t *t = swb_router_pick_task(c->r, s, c->now);
    uint64_t pick = call_note(c, RB_C_PICK_TK, t0);
    dt += pick;
    size_t links = c->prof_links[c->ag_prof[i]];
    size_note(c, RB_Z_TK_LINKS, links);
    if (links)
        size_note(c, RB_Z_TK_NSLINK, pick / links);
    *hit = t != NULL;
    if (t) {
        t0 = now_ns();
        swb_router_remove_task(c->r, t);
        dt += call_note(c, RB_C_REMOVE, t0);
        waiting_forget(c, t);
        swb_session_hold(s, t);
        t0 = now_ns();
        swb_router_agent_changed(c->r, s, c->now);
        dt += call_note(c, RB_C_CHANGED, t0);
    }
    agent_file(c, i);
    *ns = dt;
    return true;
}

static void
cell_free(rb_cell_t *c)
{
    /* the router borrows sessions and tasks: it goes first */
    swb_router_destroy(&c->r);
    for (size_t i = 0; i < c->nag; i++)
        swb_session_destroy(&c->ag[i]);
    for (size_t id = 0; id < c->tcap; id++)
        if (c->task[id])
            swb_btask_destroy(&c->task[id]);
    free(c->ag);
    free(c->ag_prof);
    free(c->ag_set);
    free(c->ag_pos);
    free(c->busy.v);
    free(c->idle.v);
    free(c->task);
    free(c->wpos);
    free(c->waiting);
    free(c->cls_seen);
    free(c->prof_used);
    for (int k = 0; k < RB_C_COUNT; k++)
        free(c->call[k].v);
    for (int k = 0; k < RB_Z_COUNT; k++)
        free(c->size[k].v);
    free(c->cls_links);
    free(c->prof_links);
}

/* ---- statistics and the report ----------------------------------------- */

typedef struct rb_dist {
    double p50, p99, p999; /* microseconds */
} rb_dist_t;

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static rb_dist_t
dist_of(uint64_t *v, size_t n)
{
    rb_dist_t d = {0, 0, 0};
    if (!n)
        return d;
    qsort(v, n, sizeof *v, cmp_u64);
    d.p50 = (double)v[(n - 1) * 50 / 100] / 1000.0;
    d.p99 = (double)v[(n - 1) * 99 / 100] / 1000.0;
    d.p999 = (double)v[(n - 1) * 999 / 1000] / 1000.0;
    return d;
}

/* Median cost of one now_ns() pair, ns. */
static uint64_t
clock_overhead(void)
{
    uint64_t v[1001];
    for (size_t i = 0; i < 1001; i++) {
        uint64_t t0 = now_ns();
        v[i] = now_ns() - t0;
    }
    qsort(v, 1001, sizeof *v, cmp_u64);
    return v[500];
}

typedef struct rb_row {
    size_t tcls, acls, links, dead; /* dead: classes nobody may take */
    rb_dist_t place, freed;
    double place_hit, free_hit;     /* % of operations that matched  */
    double room;                    /* % of agents ready with room   */
    double setup_s, run_s;
    long preempted;                 /* involuntary context switches  */
    rb_dist_t call[RB_C_COUNT];     /* per router call               */
    size_t ncall[RB_C_COUNT];
    uint64_t size[RB_Z_COUNT][3];   /* p50, p99, max                 */
} rb_row_t;

static void
cell_world_stats(rb_cell_t *c, rb_row_t *row)
{
    const rb_world_t *w = c->w;
    row->tcls = swb_router_tclasses(c->r);
    row->acls = swb_router_aclasses(c->r);
    for (size_t k = 0; k < w->ncls; k++) {
        if (!c->cls_seen[k])
            continue;
        row->links += c->cls_links[k];
        row->dead += c->cls_links[k] == 0;
    }
    size_t room = 0;
    for (size_t i = 0; i < c->nag; i++)
        room += c->ag[i]->state == SWB_AG_READY &&
                swb_session_has_room(c->ag[i]);
    row->room = 100.0 * (double)room / (double)c->nag;
}

static void
run_cell(const rb_world_t *w, const rb_opts_t *o, uint64_t nagents,
         uint64_t ntasks, rb_row_t *row)
{
    memset(row, 0, sizeof *row);
    uint64_t t0 = now_ns();
    rb_cell_t c;
    cell_build(&c, w, o, nagents, ntasks);
    cell_correct(&c);
    uint64_t t1 = now_ns();
    row->setup_s = (double)(t1 - t0) / 1e9;

    for (int k = 0; k < RB_C_COUNT; k++) {
        c.call[k].cap = 2 * o->samples;
        c.call[k].v = rb_calloc(c.call[k].cap, sizeof *c.call[k].v, "samples");
    }
    for (int k = 0; k < RB_Z_COUNT; k++) {
        c.size[k].cap = o->samples;
        c.size[k].v = rb_calloc(c.size[k].cap, sizeof *c.size[k].v, "samples");
    }
    uint64_t *place = rb_calloc(o->samples, sizeof *place, "samples");
    uint64_t *freed = rb_calloc(o->samples, sizeof *freed, "samples");
    size_t nplace = 0, nfreed = 0, place_hits = 0, free_hits = 0;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    for (size_t k = 0; k < RB_WARMUP + o->samples; k++) {
        bool sample = k >= RB_WARMUP, hit;
        c.sampling = sample;
        uint64_t ns;
        c.now += RB_TICK_MS;
        ns = op_place(&c, &hit);
        if (sample) {
            place[nplace++] = ns;
            place_hits += hit;
        }
        cell_correct(&c);
        if (op_free(&c, &ns, &hit) && sample) {
            freed[nfreed++] = ns;
            free_hits += hit;
        }
        cell_correct(&c);
    }
    row->run_s = (double)(now_ns() - t1) / 1e9;
    getrusage(RUSAGE_SELF, &ru1);
    row->preempted = ru1.ru_nivcsw - ru0.ru_nivcsw;
    row->place = dist_of(place, nplace);
    row->freed = dist_of(freed, nfreed);
    row->place_hit = nplace ? 100.0 * (double)place_hits / (double)nplace : 0;
    row->free_hit = nfreed ? 100.0 * (double)free_hits / (double)nfreed : 0;
    for (int k = 0; k < RB_C_COUNT; k++) {
        row->ncall[k] = c.call[k].n;
        row->call[k] = dist_of(c.call[k].v, c.call[k].n);
    }
    for (int k = 0; k < RB_Z_COUNT; k++) {
        rb_samples_t *z = &c.size[k];
        if (!z->n)
            continue;
        qsort(z->v, z->n, sizeof *z->v, cmp_u64);
        row->size[k][0] = z->v[(z->n - 1) / 2];
        row->size[k][1] = z->v[(z->n - 1) * 99 / 100];
        row->size[k][2] = z->v[z->n - 1];
    }
    cell_world_stats(&c, row);
    free(place);
    free(freed);
    cell_free(&c);
}

/* p50 / p99 of every router call, per cell. */
static void
print_detail(const rb_opts_t *o, const rb_row_t *rows)
{
    printf("\nper router call, us (p50 / p99):\n%8s %8s", "agents", "tasks");
    for (int k = 0; k < RB_C_COUNT; k++)
        printf(" | %15s", rb_call_names[k]);
    printf("\n");
    for (size_t i = 0; i < o->nagents; i++)
        for (size_t j = 0; j < o->ntasks; j++) {
            const rb_row_t *row = &rows[i * o->ntasks + j];
            printf("%8" PRIu64 " %8" PRIu64, o->agents[i], o->tasks[j]);
            for (int k = 0; k < RB_C_COUNT; k++)
                printf(" | %6.2f / %6.2f", row->call[k].p50, row->call[k].p99);
            printf("\n");
        }
    printf("\nsize of each decision (p50 / p99 / max):\n%8s %8s | %20s | "
           "%20s | %20s\n", "agents", "tasks", "pick_agent links",
           "pick_task links", "pick_task ns/link");
    for (size_t i = 0; i < o->nagents; i++)
        for (size_t j = 0; j < o->ntasks; j++) {
            const rb_row_t *row = &rows[i * o->ntasks + j];
            printf("%8" PRIu64 " %8" PRIu64, o->agents[i], o->tasks[j]);
            for (int k = 0; k < RB_Z_COUNT; k++)
                printf(" | %6" PRIu64 " %6" PRIu64 " %6" PRIu64,
                       row->size[k][0], row->size[k][1], row->size[k][2]);
            printf("\n");
        }
}

static int
cmp_double_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x > y ? -1 : x < y;
}

/* How the arrivals spread over the requirement classes. */
static void
print_skew(const rb_world_t *w)
{
    if (!w->ncls)
        return;
    double *share = rb_calloc(w->ncls, sizeof *share, "skew");
    for (size_t k = 0; k < w->ncls; k++)
        share[k] = w->cls_cum[k] - (k ? w->cls_cum[k - 1] : 0);
    qsort(share, w->ncls, sizeof *share, cmp_double_desc);
    double total = w->cls_cum[w->ncls - 1], top10 = 0;
    for (size_t k = 0; k < (w->ncls + 9) / 10; k++)
        top10 += share[k];
    printf("arrivals: busiest class %.1f%%, busiest 10%% of classes %.0f%%\n",
           100.0 * share[0] / total, 100.0 * top10 / total);
    free(share);
}

int
main(int argc, char **argv)
{
    rb_opts_t o;
    int rc = rb_parse_opts(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (o.free_pct + RB_NOT_READY_PCT > 100) {
        fprintf(stderr, "switchboard-router-bench: --free: at most %u\n",
                100 - RB_NOT_READY_PCT);
        return 2;
    }
    rb_world_t w;
    world_build(&w, &o);
    printf("switchboard-router-bench: seed %" PRIu64 ", %zu requirement "
           "classes, %zu agent profiles, %zu sites, %zu sponsors\n",
           o.seed, w.ncls, w.nprof, (size_t)RB_NSITES, (size_t)RB_NSPONSORS);
    print_skew(&w);
    printf("agents: %" PRIu64 "%% ready and free, %u%% not ready, the rest "
           "full; starve %u ms; %" PRIu64 " samples per operation and cell "
           "(after %u warm-up rounds)\n", o.free_pct, RB_NOT_READY_PCT,
           RB_STARVE_MS, o.samples, RB_WARMUP);
    printf("times in us, router calls only (clock pair costs %" PRIu64
           " ns); place = add_task + pick_agent [+ remove_task + "
           "agent_changed]; free = agent_changed + pick_task [+ remove_task + "
           "agent_changed]\n\n", clock_overhead());
    printf("%8s %8s | %5s %5s %6s %6s %4s | %7s %7s %7s %5s | %7s %7s %7s "
           "%5s | %5s %6s %5s\n", "agents", "tasks", "tcls", "acls", "lk/tc",
           "lk/ac", "dead", "plc p50", "p99", "p99.9", "hit%", "fre p50",
           "p99", "p99.9", "hit%", "room%", "setup", "csw");
    fflush(stdout);
    rb_row_t *rows = rb_calloc(o.nagents * o.ntasks, sizeof *rows, "rows");
    for (size_t i = 0; i < o.nagents; i++)
        for (size_t j = 0; j < o.ntasks; j++) {
            rb_row_t *rp = &rows[i * o.ntasks + j], row;
            run_cell(&w, &o, o.agents[i], o.tasks[j], rp);
            row = *rp;
            printf("%8" PRIu64 " %8" PRIu64 " | %5zu %5zu %6.1f %6.1f %4zu | "
                   "%7.2f %7.2f %7.2f %5.1f | %7.2f %7.2f %7.2f %5.1f | "
                   "%5.1f %5.1fs %5ld\n", o.agents[i], o.tasks[j], row.tcls,
                   row.acls,
                   row.tcls ? (double)row.links / (double)row.tcls : 0.0,
                   row.acls ? (double)row.links / (double)row.acls : 0.0,
                   row.dead, row.place.p50, row.place.p99, row.place.p999,
                   row.place_hit, row.freed.p50, row.freed.p99,
                   row.freed.p999, row.free_hit, row.room, row.setup_s,
                   row.preempted);
            fflush(stdout);
        }
    printf("\ntcls/acls: requirement/agent classes in the router; lk/tc, "
           "lk/ac: links per requirement/agent class; dead: classes no agent "
           "here may take;\nhit%%: operations that matched; room%%: agents "
           "ready with room at the end; csw: involuntary context switches "
           "while sampling\n");
    if (o.detail)
        print_detail(&o, rows);
    free(rows);
    world_free(&w);
    return 0;
}
