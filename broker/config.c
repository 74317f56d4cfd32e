/*
 * config.c - broker settings from flags and an INI file (see config.h).
 *
 * One table, swb_options, lists every setting: its long name, whether it
 * takes a value, and the function that applies it. getopt_long and the
 * INI reader both go through apply_option(), so the two cannot drift.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "swb_log.h"

typedef swb_err_t (*opt_fn)(swb_config_t *cfg, const char *name,
                            const char *val, char *why, size_t why_len);

typedef struct swb_option {
    const char *name;
    bool has_arg;
    opt_fn apply;
    size_t offset; /* for the generic string/number setters */
    uint64_t min, max;
    const char *help;
} swb_option_t;

static swb_err_t
set_str(swb_config_t *cfg, const char *name, const char *val, char *why,
        size_t why_len);
static swb_err_t
set_u64(swb_config_t *cfg, const char *name, const char *val, char *why,
        size_t why_len);
static swb_err_t
set_site(swb_config_t *cfg, const char *name, const char *val, char *why,
         size_t why_len);
static swb_err_t
set_peer(swb_config_t *cfg, const char *name, const char *val, char *why,
         size_t why_len);
static swb_err_t
set_sponsor(swb_config_t *cfg, const char *name, const char *val, char *why,
            size_t why_len);
static swb_err_t
set_level(swb_config_t *cfg, const char *name, const char *val, char *why,
          size_t why_len);
static swb_err_t
set_flag(swb_config_t *cfg, const char *name, const char *val, char *why,
         size_t why_len);

#define OS(n, m, h) {n, true, set_str, offsetof(swb_config_t, m), 0, 0, h}
#define ON(n, m, lo, hi, h)                                                    \
    {n, true, set_u64, offsetof(swb_config_t, m), lo, hi, h}

static const swb_option_t swb_options[] = {
    {"config", true, NULL, 0, 0, 0, "FILE  INI config file"},
    OS("data", data_dir, "DIR  LMDB data folder (required)"),
    OS("region", region, "NAME  region name (local)"),
    OS("clients", clients_ep, "EP  client endpoint (tcp://127.0.0.1:7700)"),
    OS("workers", workers_ep, "EP  worker endpoint (tcp://127.0.0.1:7701)"),
    OS("peers", peers_ep, "EP  peer endpoint (tcp://127.0.0.1:7702)"),
    {"peer", true, set_peer, 0, 0, 0, "NAME=EP  a peer region (repeatable)"},
    OS("http", http, "HOST:PORT|off  metrics and wallboard (127.0.0.1:7780)"),
    {"site", true, set_site, 0, 0, 0,
     "ID[,country=CC,tz=Area/City,hours=HH:MM-HH:MM]  a site (repeatable)"},
    {"sponsor", true, set_sponsor, 0, 0, 0,
     "NAME[,countries=PH/PL,regions=R1/R2,certification=required,"
     "deadline=escalate,routing=best-skilled]  a sponsor (repeatable)"},
    ON("ring-ms", ring_ms, 100, 600000, "MS  an offer rings before it moves on (15000)"),
    ON("missed-offers", missed_max, 1, 100,
       "N  missed offers in a row set an agent not-ready (2)"),
    ON("wrapup-ms", wrapup_ms, 0, 3600000, "MS  after-call work (0)"),
    ON("starve-ms", starve_ms, 1000, 86400000,
       "MS  a task waiting this long goes before newer work (120000)"),
    ON("heartbeat-ms", heartbeat_ms, 10, 60000, "MS  heartbeat period (1000)"),
    ON("lease-ms", lease_ms, 50, 3600000, "MS  lease without renewal (10000)"),
    ON("max-payload", max_payload, 1, 16u << 20, "BYTES  payload limit (1 MiB)"),
    ON("max-attempts", max_attempts, 1, 100, "N  default attempts (3)"),
    ON("retry-base-ms", retry_base_ms, 0, 3600000, "MS  first retry delay (1000)"),
    ON("retry-max-ms", retry_max_ms, 0, 86400000, "MS  longest retry delay (60000)"),
    ON("batch-max", batch_max, 1, 100000, "N  messages per group commit (1000)"),
    ON("map-initial", map_initial, 1u << 20, UINT64_MAX,
       "BYTES  initial LMDB map (64 MiB)"),
    ON("map-max", map_max, 1u << 20, UINT64_MAX, "BYTES  largest LMDB map (64 GiB)"),
    {"log-level", true, set_level, 0, 0, 0, "debug|info|warn|error (info)"},
    {"insecure", false, set_flag, 0, 0, 0, "allow plain text off loopback"},
    {"help", false, NULL, 0, 0, 0, "this help"},
};
#define SWB_NOPTIONS (sizeof swb_options / sizeof swb_options[0])

static const swb_option_t *
find_option(const char *name)
{
    for (size_t i = 0; i < SWB_NOPTIONS; i++)
        if (strcmp(swb_options[i].name, name) == 0)
            return &swb_options[i];
    return NULL;
}

static swb_err_t
set_str(swb_config_t *cfg, const char *name, const char *val, char *why,
        size_t why_len)
{
    const swb_option_t *o = find_option(name);
    char **slot = (char **)((char *)cfg + o->offset);
    if (!*val) {
        snprintf(why, why_len, "--%s: empty value", name);
        return SWB_EINVAL;
    }
    char *copy = strdup(val);
    if (!copy)
        return SWB_ENOMEM;
    free(*slot);
    *slot = copy;
    return SWB_OK;
}

static swb_err_t
set_u64(swb_config_t *cfg, const char *name, const char *val, char *why,
        size_t why_len)
{
    const swb_option_t *o = find_option(name);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || end == val || *end || *val == '-' || v < o->min ||
        v > o->max) {
        snprintf(why, why_len, "--%s: \"%s\" is not a number in %llu..%llu",
                 name, val, (unsigned long long)o->min,
                 (unsigned long long)o->max);
        return SWB_EINVAL;
    }
    *(uint64_t *)((char *)cfg + o->offset) = v;
    return SWB_OK;
}

static swb_err_t
set_level(swb_config_t *cfg, const char *name, const char *val, char *why,
          size_t why_len)
{
    int l = swb_log_parse_level(val);
    if (l < 0) {
        snprintf(why, why_len, "--%s: \"%s\" is not debug, info, warn or "
                 "error", name, val);
        return SWB_EINVAL;
    }
    cfg->log_level = l;
    return SWB_OK;
}

static swb_err_t
set_flag(swb_config_t *cfg, const char *name, const char *val, char *why,
         size_t why_len)
{
    (void)name;
    (void)why;
    (void)why_len;
    cfg->insecure = !val || strcmp(val, "false") != 0;
    return SWB_OK;
}

static swb_err_t
set_peer(swb_config_t *cfg, const char *name, const char *val, char *why,
         size_t why_len)
{
    const char *eq = strchr(val, '=');
    if (!eq || eq == val || !eq[1]) {
        snprintf(why, why_len, "--%s: \"%s\" is not NAME=ENDPOINT", name, val);
        return SWB_EINVAL;
    }
    return swb_strs_add(&cfg->peers, val);
}

/* "HH:MM" -> minutes, or -1. */
static int
parse_hhmm(const char *s, size_t n)
{
    if (n != 5 || s[2] != ':')
        return -1;
    for (size_t i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m))
        return -1;
    return h * 60 + m;
}

static bool
tz_exists(const char *tz)
{
    char path[300];
    struct stat st;
    if (!*tz || strstr(tz, "..") || *tz == '/')
        return false;
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Applies one site attribute (country / tz / hours) to *s. */
static swb_err_t
site_attr(swb_site_def_t *s, const char *key, const char *val, char *why,
          size_t why_len)
{
    if (strcmp(key, "country") == 0) {
        if (strlen(val) != 2 || val[0] < 'A' || val[0] > 'Z' || val[1] < 'A' ||
            val[1] > 'Z') {
            snprintf(why, why_len, "site %s: country \"%s\" is not a two-"
                     "letter code like PH", s->id, val);
            return SWB_EINVAL;
        }
        free(s->country);
        s->country = strdup(val);
    } else if (strcmp(key, "tz") == 0) {
        if (!tz_exists(val)) {
            snprintf(why, why_len, "site %s: tz \"%s\" is not in the time "
                     "zone database (/usr/share/zoneinfo)", s->id, val);
            return SWB_EINVAL;
        }
        free(s->tz);
        s->tz = strdup(val);
    } else if (strcmp(key, "hours") == 0) {
        const char *dash = strchr(val, '-');
        int o = dash ? parse_hhmm(val, (size_t)(dash - val)) : -1;
        int c = dash ? parse_hhmm(dash + 1, strlen(dash + 1)) : -1;
        if (o < 0 || c < 0) {
            snprintf(why, why_len, "site %s: hours \"%s\" is not HH:MM-HH:MM",
                     s->id, val);
            return SWB_EINVAL;
        }
        s->open_min = o;
        s->close_min = c;
    } else {
        snprintf(why, why_len, "site %s: unknown attribute \"%s\" (country, "
                 "tz, hours)", s->id, key);
        return SWB_EINVAL;
    }
    return SWB_OK;
}

/* Finds or adds the site `id`; NULL when out of memory. */
static swb_site_def_t *
site_get(swb_config_t *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nsites; i++)
        if (strcmp(cfg->sites[i].id, id) == 0)
            return &cfg->sites[i];
    swb_site_def_t *ns = realloc(cfg->sites, (cfg->nsites + 1) * sizeof *ns);
    if (!ns)
        return NULL;
    cfg->sites = ns;
    swb_site_def_t *s = &ns[cfg->nsites++];
    memset(s, 0, sizeof *s);
    s->id = strdup(id);
    s->country = strdup("");
    s->tz = strdup("");
    return s;
}

static bool
valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(id[i] == '-' || id[i] == '_' || id[i] == '.' ||
              (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
              (id[i] >= 'A' && id[i] <= 'Z')))
            return false;
    return true;
}

/* Finds or adds the sponsor `name`; NULL when out of memory. */
static swb_sponsor_def_t *
sponsor_get(swb_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nsponsors; i++)
        if (strcmp(cfg->sponsors[i].name, name) == 0)
            return &cfg->sponsors[i];
    swb_sponsor_def_t *ns =
        realloc(cfg->sponsors, (cfg->nsponsors + 1) * sizeof *ns);
    if (!ns)
        return NULL;
    cfg->sponsors = ns;
    swb_sponsor_def_t *sp = &ns[cfg->nsponsors++];
    memset(sp, 0, sizeof *sp);
    sp->name = strdup(name);
    return sp;
}

/* A list value: items separated by ',' (file) or '/' (flag). */
static swb_err_t
sponsor_list(swb_strs_t *out, const char *sponsor, const char *key,
             const char *val, char *why, size_t why_len)
{
    char *copy = strdup(val), *save = NULL;
    if (!copy)
        return SWB_ENOMEM;
    swb_codec_free_strs(out);
    swb_err_t rc = SWB_OK;
    for (char *it = strtok_r(copy, ",/ ", &save); it && !rc;
         it = strtok_r(NULL, ",/ ", &save))
        rc = swb_strs_add(out, it);
    free(copy);
    if (!rc && out->n == 0) {
        snprintf(why, why_len, "sponsor %s: %s is empty", sponsor, key);
        rc = SWB_EINVAL;
    }
    return rc;
}

static swb_err_t
sponsor_choice(bool *out, const char *sponsor, const char *key,
               const char *val, const char *no, const char *yes, char *why,
               size_t why_len)
{
    if (strcmp(val, yes) == 0 || strcmp(val, no) == 0) {
        *out = strcmp(val, yes) == 0;
        return SWB_OK;
    }
    snprintf(why, why_len, "sponsor %s: %s \"%s\" is not %s or %s", sponsor,
             key, val, no, yes);
    return SWB_EINVAL;
}

/* Applies one sponsor attribute to *sp. */
static swb_err_t
sponsor_attr(swb_sponsor_def_t *sp, const char *key, const char *val,
             char *why, size_t why_len)
{
    if (strcmp(key, "countries") == 0)
        return sponsor_list(&sp->countries, sp->name, key, val, why, why_len);
    if (strcmp(key, "regions") == 0)
        return sponsor_list(&sp->regions, sp->name, key, val, why, why_len);
    if (strcmp(key, "certification") == 0)
        return sponsor_choice(&sp->certification, sp->name, key, val, "none",
                              "required", why, why_len);
    if (strcmp(key, "deadline") == 0)
        return sponsor_choice(&sp->escalate, sp->name, key, val, "expire",
                              "escalate", why, why_len);
    if (strcmp(key, "routing") == 0)
        return sponsor_choice(&sp->best_skilled, sp->name, key, val,
                              "longest-idle", "best-skilled", why, why_len);
    snprintf(why, why_len, "sponsor %s: unknown attribute \"%s\" (countries, "
             "regions, certification, deadline, routing)", sp->name, key);
    return SWB_EINVAL;
}

typedef void *(*entity_get_fn)(swb_config_t *cfg, const char *id);
typedef swb_err_t (*entity_attr_fn)(void *entity, const char *key,
                                    const char *val, char *why,
                                    size_t why_len);

static bool valid_id(const char *id);

/* "ID,key=value,key=value" for --site and --sponsor. */
static swb_err_t
set_entity(swb_config_t *cfg, const char *name, const char *val,
           entity_get_fn get, entity_attr_fn attr, char *why, size_t why_len)
{
    char *copy = strdup(val), *save = NULL;
    if (!copy)
        return SWB_ENOMEM;
    swb_err_t rc = SWB_OK;
    char *id = strtok_r(copy, ",", &save);
    if (!id || !valid_id(id)) {
        snprintf(why, why_len, "--%s: \"%s\" does not start with a name "
                 "(letters, digits, - _ .; at most 63)", name, val);
        rc = SWB_EINVAL;
        goto out;
    }
    void *e = get(cfg, id);
    if (!e) {
        rc = SWB_ENOMEM;
        goto out;
    }
    for (char *kv = strtok_r(NULL, ",", &save); kv && !rc;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            snprintf(why, why_len, "--%s: \"%s\" is not KEY=VALUE", name, kv);
            rc = SWB_EINVAL;
            break;
        }
        *eq = 0;
        rc = attr(e, kv, eq + 1, why, why_len);
    }
out:
    free(copy);
    return rc;
}

static void *
site_entity(swb_config_t *cfg, const char *id)
{
    return site_get(cfg, id);
}

static swb_err_t
site_entity_attr(void *e, const char *key, const char *val, char *why,
                 size_t why_len)
{
    return site_attr(e, key, val, why, why_len);
}

static void *
sponsor_entity(swb_config_t *cfg, const char *id)
{
    return sponsor_get(cfg, id);
}

static swb_err_t
sponsor_entity_attr(void *e, const char *key, const char *val, char *why,
                    size_t why_len)
{
    return sponsor_attr(e, key, val, why, why_len);
}

static swb_err_t
set_sponsor(swb_config_t *cfg, const char *name, const char *val, char *why,
            size_t why_len)
{
    return set_entity(cfg, name, val, sponsor_entity, sponsor_entity_attr, why,
                      why_len);
}

static swb_err_t
set_site(swb_config_t *cfg, const char *name, const char *val, char *why,
         size_t why_len)
{
    return set_entity(cfg, name, val, site_entity, site_entity_attr, why,
                      why_len);
}

static swb_err_t
apply_option(swb_config_t *cfg, const char *name, const char *val, char *why,
             size_t why_len)
{
    const swb_option_t *o = find_option(name);
    if (!o || !o->apply) {
        snprintf(why, why_len, "unknown setting \"%s\"", name);
        return SWB_EINVAL;
    }
    return o->apply(cfg, name, val, why, why_len);
}

typedef struct ini_ctx {
    swb_config_t *cfg;
    char *why;
    size_t why_len;
    swb_err_t rc;
} ini_ctx_t;

static int
config_ini_line(void *user, const char *section, const char *name,
            const char *value)
{
    ini_ctx_t *c = user;
    char why[256] = "";
    swb_err_t rc;
    if (c->rc)
        return 0;
    if (strcmp(section, "broker") == 0) {
        const swb_option_t *o = find_option(name);
        if (o && (strcmp(name, "config") == 0 || strcmp(name, "help") == 0))
            o = NULL;
        rc = o ? apply_option(c->cfg, name, value, why, sizeof why)
               : SWB_EINVAL;
        if (!o)
            snprintf(why, sizeof why, "unknown key \"%s\"", name);
    } else if (strncmp(section, "sponsor ", 8) == 0 &&
               valid_id(section + 8)) {
        swb_sponsor_def_t *sp = sponsor_get(c->cfg, section + 8);
        rc = sp ? sponsor_attr(sp, name, value, why, sizeof why) : SWB_ENOMEM;
    } else if (strncmp(section, "site ", 5) == 0 && valid_id(section + 5)) {
        swb_site_def_t *s = site_get(c->cfg, section + 5);
        rc = s ? site_attr(s, name, value, why, sizeof why) : SWB_ENOMEM;
    } else {
        snprintf(why, sizeof why, "unknown section [%s] (use [broker] or "
                 "[site ID] or [sponsor NAME])", section);
        rc = SWB_EINVAL;
    }
    if (rc) {
        c->rc = rc;
        snprintf(c->why, c->why_len, "[%s] %s", section, why);
        return 0;
    }
    return 1;
}

static swb_err_t
load_file(swb_config_t *cfg, const char *path, char *why, size_t why_len)
{
    ini_ctx_t c = {cfg, why, why_len, SWB_OK};
    int line = ini_parse(path, config_ini_line, &c);
    if (line == -1) {
        snprintf(why, why_len, "--config: cannot open \"%s\"", path);
        return SWB_EINVAL;
    }
    if (line != 0) {
        char inner[300];
        snprintf(inner, sizeof inner, "%s", c.rc ? why : "syntax error");
        snprintf(why, why_len, "%s:%d: %s", path, line, inner);
        return SWB_EINVAL;
    }
    return SWB_OK;
}

static void
usage(void)
{
    printf("usage: switchboard-broker --data DIR [options]\n\n"
           "The regional broker of Switchboard. Every option can also be a "
           "key in the\n[broker] section of the --config INI file.\n\n");
    for (size_t i = 0; i < SWB_NOPTIONS; i++)
        printf("  --%-14s %s\n", swb_options[i].name, swb_options[i].help);
}

static void
set_defaults(swb_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->region = strdup("local");
    cfg->clients_ep = strdup("tcp://127.0.0.1:7700");
    cfg->workers_ep = strdup("tcp://127.0.0.1:7701");
    cfg->peers_ep = strdup("tcp://127.0.0.1:7702");
    cfg->http = strdup("127.0.0.1:7780");
    cfg->heartbeat_ms = 1000;
    cfg->lease_ms = 10000;
    cfg->max_payload = 1u << 20;
    cfg->max_attempts = 3;
    cfg->retry_base_ms = 1000;
    cfg->retry_max_ms = 60000;
    cfg->batch_max = 1000;
    cfg->map_initial = 64u << 20;
    cfg->map_max = 64ull << 30;
    cfg->log_level = SWB_LOG_INFO;
    cfg->ring_ms = 15000;
    cfg->missed_max = 2;
    cfg->wrapup_ms = 0;
    cfg->starve_ms = 120000;
}

swb_err_t
swb_config_parse(int argc, char **argv, swb_config_t *cfg, bool *exit_now,
                 char *why, size_t why_len)
{
    struct option longopts[SWB_NOPTIONS + 1];
    *exit_now = false;
    set_defaults(cfg);
    for (size_t i = 0; i < SWB_NOPTIONS; i++) {
        longopts[i].name = swb_options[i].name;
        longopts[i].has_arg = swb_options[i].has_arg ? required_argument
                                                     : no_argument;
        longopts[i].flag = NULL;
        longopts[i].val = 1000 + (int)i;
    }
    memset(&longopts[SWB_NOPTIONS], 0, sizeof longopts[0]);

    /* First pass: find --config and --help; the file is applied first so
     * that flags win over it. */
    const char *file = NULL;
    opterr = 0;
    optind = 1;
    int c, idx;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        if (c == '?') {
            snprintf(why, why_len, "unknown or incomplete option \"%s\"",
                     argv[optind - 1]);
            return SWB_EINVAL;
        }
        const swb_option_t *o = &swb_options[c - 1000];
        if (strcmp(o->name, "help") == 0) {
            usage();
            *exit_now = true;
            return SWB_OK;
        }
        if (strcmp(o->name, "config") == 0)
            file = optarg;
    }
    if (optind < argc) {
        snprintf(why, why_len, "unexpected argument \"%s\"", argv[optind]);
        return SWB_EINVAL;
    }
    swb_err_t rc;
    if (file && (rc = load_file(cfg, file, why, why_len)))
        return rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        const swb_option_t *o = &swb_options[c - 1000];
        if (!o->apply)
            continue;
        if ((rc = o->apply(cfg, o->name, optarg, why, why_len)))
            return rc;
    }
    if (!cfg->data_dir) {
        snprintf(why, why_len, "--data: a data folder is required");
        return SWB_EINVAL;
    }
    if (cfg->retry_max_ms < cfg->retry_base_ms) {
        snprintf(why, why_len, "--retry-max-ms: %llu is below --retry-base-ms"
                 " %llu", (unsigned long long)cfg->retry_max_ms,
                 (unsigned long long)cfg->retry_base_ms);
        return SWB_EINVAL;
    }
    if (cfg->map_max < cfg->map_initial)
        cfg->map_initial = cfg->map_max;
    return SWB_OK;
}

void
swb_config_free(swb_config_t *cfg)
{
    free(cfg->data_dir);
    free(cfg->region);
    free(cfg->clients_ep);
    free(cfg->workers_ep);
    free(cfg->peers_ep);
    free(cfg->http);
    swb_codec_free_strs(&cfg->peers);
    for (size_t i = 0; i < cfg->nsites; i++) {
        free(cfg->sites[i].id);
        free(cfg->sites[i].country);
        free(cfg->sites[i].tz);
    }
    free(cfg->sites);
    for (size_t i = 0; i < cfg->nsponsors; i++) {
        swb_sponsor_def_t *sp = &cfg->sponsors[i];
        free(sp->name);
        swb_codec_free_strs(&sp->countries);
        swb_codec_free_strs(&sp->regions);
    }
    free(cfg->sponsors);
    memset(cfg, 0, sizeof *cfg);
}

const swb_sponsor_def_t *
swb_config_sponsor(const swb_config_t *cfg, const char *name)
{
    for (size_t i = 0; name && i < cfg->nsponsors; i++)
        if (strcmp(cfg->sponsors[i].name, name) == 0)
            return &cfg->sponsors[i];
    return NULL;
}

const swb_site_def_t *
swb_config_site(const swb_config_t *cfg, const char *id)
{
    for (size_t i = 0; id && i < cfg->nsites; i++)
        if (strcmp(cfg->sites[i].id, id) == 0)
            return &cfg->sites[i];
    return NULL;
}
