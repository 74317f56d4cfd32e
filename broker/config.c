/*
 * config.c - broker settings from flags and an INI file (see config.h).
 *
 * One table, swb_cfg_options, lists every setting: its long name, whether
 * it takes a value, the function that applies it, its range, what its
 * value looks like and what it means. getopt_long, the INI reader
 * (config_ini.c) and the docs (config_doc.c: --help, --help-config and so
 * README.md) all go through it, so they cannot drift.
 *
 * Does: defaults, flags, the keys of sites and sponsors, the rules between
 * settings, and collecting every problem (never stopping at the first).
 * Does not: read the file (config_ini.c) or print docs (config_doc.c).
 */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_domain.h"
#include "swb_log.h"

static swb_err_t
set_str(swb_config_t *cfg, const char *name, const char *val, char *why,
        size_t why_len);
static swb_err_t
set_u64(swb_config_t *cfg, const char *name, const char *val, char *why,
        size_t why_len);
static swb_err_t
set_duration(swb_config_t *cfg, const char *name, const char *val, char *why,
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

#define CFG_OFF(m) offsetof(swb_config_t, m)
/* a string / a number in lo..hi / a duration in lo..hi ms (0 = off) */
#define OS(n, m, a, h)                                                         \
    {.name = n, .kind = SWB_OPT_STR, .has_arg = true, .apply = set_str,       \
     .offset = CFG_OFF(m), .arg = a, .help = h}
#define ON(n, m, lo, hi, a, h)                                                 \
    {.name = n, .kind = SWB_OPT_NUM, .has_arg = true, .apply = set_u64,       \
     .offset = CFG_OFF(m), .min = lo, .max = hi, .arg = a, .help = h}
#define OD(n, m, lo, hi, h)                                                    \
    {.name = n, .kind = SWB_OPT_DURATION, .has_arg = true,                    \
     .apply = set_duration, .offset = CFG_OFF(m), .min = lo, .max = hi,       \
     .arg = "DURATION", .help = h}
/* a flag main handles, not a key of the file */
#define OF(n, has, a, h)                                                       \
    {.name = n, .has_arg = has, .flag_only = true, .arg = a, .help = h}
/* a repeatable setting with its own setter */
#define OR(n, fn, a, h)                                                        \
    {.name = n, .has_arg = true, .repeat = true, .apply = fn, .arg = a,        \
     .def = "", .help = h}

#define SWB_DAY_MS 86400000ull

const swb_option_t swb_cfg_options[] = {
    OF("config", true, "FILE", "read this INI file (flags win over it)"),
    OF("check-config", true, "FILE",
       "check FILE (and the other flags), list every problem, do not start"),
    OF("help-config", false, "", "print every key with its default"),
    OS("data", data_dir, "DIR", "LMDB data folder, created 0700"),
    OS("region", region, "NAME", "region name"),
    OS("clients", clients_ep, "EP", "endpoint for clients (ZeroMQ)"),
    OS("workers", workers_ep, "EP", "endpoint for workers (ZeroMQ)"),
    OS("peers", peers_ep, "EP", "endpoint for peer regions (ZeroMQ)"),
    OR("peer", set_peer, "NAME=EP",
       "a peer region and its peers endpoint (repeatable); the peers "
       "endpoint is bound only when there is one"),
    ON("peer-down-ms", peer_down_ms, 500, 600000, "MS",
       "a peer region silent this long is down"),
    ON("reclaim-ms", reclaim_ms, 0, 86400000, "MS",
       "tasks a down peer took but never started come back after this"),
    OS("http", http, "HOST:PORT|off", "metrics, API and wallboard port"),
    OR("site", set_site, "ID[,country=CC,tz=Area/City,hours=HH:MM-HH:MM]",
       "a site (repeatable; or a [site ID] section)"),
    OR("sponsor", set_sponsor,
       "NAME[,countries=PH/PL,regions=R1/R2,certification=required,"
       "deadline=escalate,routing=best-skilled]",
       "a sponsor (repeatable; or a [sponsor NAME] section)"),
    ON("ring-ms", ring_ms, 100, 600000, "MS",
       "how long an offer rings before it moves on"),
    ON("missed-offers", missed_max, 1, 100, "N",
       "ring-outs in a row that set an agent not-ready"),
    ON("wrapup-ms", wrapup_ms, 0, 3600000, "MS",
       "after-call work before the agent is ready again"),
    ON("starve-ms", starve_ms, 1000, 86400000, "MS",
       "a task waiting this long goes before newer work"),
    ON("heartbeat-ms", heartbeat_ms, 10, 60000, "MS",
       "heartbeat period, both directions"),
    ON("lease-ms", lease_ms, 50, 3600000, "MS",
       "how long a task's lease lasts without a heartbeat"),
    ON("max-payload", max_payload, 1, 16u << 20, "BYTES",
       "largest payload and result"),
    ON("max-attempts", max_attempts, 1, 100, "N",
       "attempts of a task that does not set its own"),
    ON("retry-base-ms", retry_base_ms, 0, 3600000, "MS",
       "first retry delay (doubling after each failure)"),
    ON("retry-max-ms", retry_max_ms, 0, 86400000, "MS",
       "longest retry delay (>= retry-base-ms)"),
    ON("batch-max", batch_max, 1, 100000, "N",
       "most messages taken into one group commit"),
    ON("map-initial", map_initial, 1u << 20, UINT64_MAX, "BYTES",
       "initial LMDB map size (it grows before it is full)"),
    ON("map-max", map_max, 1u << 20, UINT64_MAX, "BYTES",
       "largest LMDB map size (>= map-initial)"),
    OD("retention", retention_ms, 1000, 3650 * SWB_DAY_MS,
       "finished tasks (completed, dead, canceled, abandoned, expired), "
       "their results and idempotency keys are removed this long after "
       "they finished (90s, 15m, 2h, 7d; off keeps them)"),
    ON("retention-batch", retention_batch, 1, 10000, "N",
       "most finished tasks the retention sweep removes per pass"),
    {.name = "log-level", .has_arg = true, .apply = set_level,
     .arg = "debug|info|warn|error", .def = "info",
     .help = "least severe log line written (stderr)"},
    {.name = "keys", .kind = SWB_OPT_STR, .has_arg = true, .apply = set_str,
     .offset = CFG_OFF(keys_dir), .arg = "DIR", .def = "(none)",
     .help = "folder of the public certificates allowed in (switchboard "
             "keygen); turns on CurveZMQ on every endpoint (needs cert)"},
    {.name = "cert", .kind = SWB_OPT_STR, .has_arg = true, .apply = set_str,
     .offset = CFG_OFF(cert_file), .arg = "FILE", .def = "(none)",
     .help = "the broker's own secret certificate (switchboard keygen "
             "--role broker)"},
    {.name = "insecure", .has_arg = false, .apply = set_flag,
     .arg = "true|false",
     .def = "off", .help = "allow plain-text endpoints off loopback (without "
                           "keys only 127.0.0.0/8, ::1, ipc and inproc)"},
    OF("help", false, "", "this help"),
};
const size_t swb_cfg_noptions = sizeof swb_cfg_options / sizeof
                                swb_cfg_options[0];

const swb_option_t *
swb_cfg_find(const char *name)
{
    for (size_t i = 0; i < swb_cfg_noptions; i++)
        if (strcmp(swb_cfg_options[i].name, name) == 0)
            return &swb_cfg_options[i];
    return NULL;
}

void
swb_cfg_problem(swb_cfg_report_t *r, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    r->failed = true;
    if (swb_strs_add(r->list, text) != SWB_OK)
        fprintf(stderr, "switchboard-broker: %s\n", text);
}

static swb_err_t
set_str(swb_config_t *cfg, const char *name, const char *val, char *why,
        size_t why_len)
{
    const swb_option_t *o = swb_cfg_find(name);
    char **slot = (char **)((char *)cfg + o->offset);
    if (!val || !*val) {
        snprintf(why, why_len, "must not be empty (%s)", o->arg);
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
    const swb_option_t *o = swb_cfg_find(name);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || end == val || *end || *val < '0' || *val > '9' ||
        v < o->min || v > o->max) {
        if (o->max == UINT64_MAX)
            snprintf(why, why_len, "not a whole number >= %llu",
                     (unsigned long long)o->min);
        else
            snprintf(why, why_len, "not a whole number in %llu..%llu",
                     (unsigned long long)o->min, (unsigned long long)o->max);
        return SWB_EINVAL;
    }
    *(uint64_t *)((char *)cfg + o->offset) = v;
    return SWB_OK;
}

const char *
swb_cfg_duration_text(uint64_t ms, char *buf, size_t len)
{
    static const struct {
        uint64_t ms;
        const char *unit;
    } units[] = {{SWB_DAY_MS, "d"}, {3600000, "h"}, {60000, "m"},
                 {1000, "s"}, {1, "ms"}};
    if (ms == 0) {
        snprintf(buf, len, "off");
        return buf;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms % units[i].ms == 0) {
            snprintf(buf, len, "%llu%s",
                     (unsigned long long)(ms / units[i].ms), units[i].unit);
            break;
        }
    return buf;
}

/* A duration (swb_parse_duration_ms: 90s, 15m, 2h, 7d; a bare number is
 * seconds) in o->min..o->max, or "off" / "0" for 0. */
static swb_err_t
set_duration(swb_config_t *cfg, const char *name, const char *val, char *why,
             size_t why_len)
{
    const swb_option_t *o = swb_cfg_find(name);
    uint64_t ms = 0;
    if (strcmp(val, "off") != 0 && strcmp(val, "0") != 0 &&
        (swb_parse_duration_ms(val, &ms) != SWB_OK || ms < o->min ||
         ms > o->max)) {
        char lo[32], hi[32];
        snprintf(why, why_len, "not a duration in %s..%s (like 90s, 15m, 2h, "
                 "7d) or off", swb_cfg_duration_text(o->min, lo, sizeof lo),
                 swb_cfg_duration_text(o->max, hi, sizeof hi));
        return SWB_EINVAL;
    }
    *(uint64_t *)((char *)cfg + o->offset) = ms;
    return SWB_OK;
}

static swb_err_t
set_level(swb_config_t *cfg, const char *name, const char *val, char *why,
          size_t why_len)
{
    (void)name;
    int l = swb_log_parse_level(val);
    if (l < 0) {
        snprintf(why, why_len, "not debug, info, warn or error");
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
    if (val && strcmp(val, "true") != 0 && strcmp(val, "false") != 0 &&
        strcmp(val, "on") != 0 && strcmp(val, "off") != 0) {
        snprintf(why, why_len, "not true, false, on or off");
        return SWB_EINVAL;
    }
    cfg->insecure = !val || strcmp(val, "true") == 0 || strcmp(val, "on") == 0;
    return SWB_OK;
}

static swb_err_t
set_peer(swb_config_t *cfg, const char *name, const char *val, char *why,
         size_t why_len)
{
    (void)name;
    const char *eq = strchr(val, '=');
    if (!eq || eq == val || !eq[1]) {
        snprintf(why, why_len, "not NAME=ENDPOINT");
        return SWB_EINVAL;
    }
    size_t n = (size_t)(eq - val);
    if (n > 64) {
        snprintf(why, why_len, "peer name is longer than 64 characters");
        return SWB_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)val[i]) && !strchr("-_.", val[i])) {
            snprintf(why, why_len, "peer name may hold letters, digits and "
                     "- _ . only");
            return SWB_EINVAL;
        }
    for (size_t i = 0; i < cfg->peers.n; i++)
        if (strncmp(cfg->peers.v[i], val, n + 1) == 0) {
            snprintf(why, why_len, "peer \"%.*s\" is named twice", (int)n,
                     val);
            return SWB_EINVAL;
        }
    return swb_strs_add(&cfg->peers, val);
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

swb_sponsor_def_t *
swb_cfg_sponsor_get(swb_config_t *cfg, const char *name)
{
    return sponsor_get(cfg, name);
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

/* "PERCENT/SECONDS": percent 1..100 of calls answered within 1..86400
 * seconds. */
static swb_err_t
sponsor_service_level(swb_sponsor_def_t *sp, const char *val, char *why,
                      size_t why_len)
{
    unsigned pct, secs;
    char tail;
    if (sscanf(val, "%3u/%5u%c", &pct, &secs, &tail) != 2 || pct < 1 ||
        pct > 100 || secs < 1 || secs > 86400 || val[0] < '0' ||
        val[0] > '9') {
        snprintf(why, why_len, "sponsor %s: service-level \"%s\" is not "
                 "PERCENT/SECONDS (1..100 / 1..86400, e.g. 80/20)", sp->name,
                 val);
        return SWB_EINVAL;
    }
    sp->sl_percent = pct;
    sp->sl_seconds = secs;
    return SWB_OK;
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
    if (strcmp(key, "service-level") == 0)
        return sponsor_service_level(sp, val, why, why_len);
    snprintf(why, why_len, "sponsor %s: unknown attribute \"%s\" (countries, "
             "regions, certification, deadline, routing, service-level)",
             sp->name, key);
    return SWB_EINVAL;
}

/* Checks the items of a sponsor's countries (two capitals each) and
 * regions (names) before sponsor_attr takes them. */
static swb_err_t
sponsor_items_ok(const char *key, const char *val, char *why, size_t why_len)
{
    bool countries = strcmp(key, "countries") == 0;
    if (!countries && strcmp(key, "regions") != 0)
        return SWB_OK;
    char *copy = strdup(val), *save = NULL;
    if (!copy)
        return SWB_ENOMEM;
    swb_err_t rc = SWB_OK;
    for (char *it = strtok_r(copy, ",/ ", &save); it && !rc;
         it = strtok_r(NULL, ",/ ", &save)) {
        if (countries && !swb_cfg_country_ok(it)) {
            snprintf(why, why_len, "\"%s\" is not a two-letter country code "
                     "in capitals (ISO 3166), like PH", it);
            rc = SWB_EINVAL;
        } else if (!countries && !swb_cfg_valid_id(it)) {
            snprintf(why, why_len, "\"%s\" is not a region name (letters, "
                     "digits, - _ .)", it);
            rc = SWB_EINVAL;
        }
    }
    free(copy);
    return rc;
}

swb_err_t
swb_cfg_sponsor_attr(swb_sponsor_def_t *sp, const char *key, const char *val,
                     char *why, size_t why_len)
{
    swb_err_t rc = sponsor_items_ok(key, val, why, why_len);
    return rc ? rc : sponsor_attr(sp, key, val, why, why_len);
}

typedef void *(*entity_get_fn)(swb_config_t *cfg, const char *id);
typedef swb_err_t (*entity_attr_fn)(void *entity, const char *key,
                                    const char *val, char *why,
                                    size_t why_len);

/* "ID,key=value,key=value" for --site and --sponsor. */
static swb_err_t
set_entity(swb_config_t *cfg, const char *val, entity_get_fn get,
           entity_attr_fn attr, char *why, size_t why_len)
{
    char *copy = strdup(val), *save = NULL;
    if (!copy)
        return SWB_ENOMEM;
    swb_err_t rc = SWB_OK;
    char *id = strtok_r(copy, ",", &save);
    if (!id || !swb_cfg_valid_id(id)) {
        snprintf(why, why_len, "does not start with a name (letters, "
                 "digits, - _ .; at most 63)");
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
            snprintf(why, why_len, "\"%s\" is not KEY=VALUE", kv);
            rc = SWB_EINVAL;
            break;
        }
        *eq = 0;
        char inner[400];
        rc = attr(e, kv, eq + 1, inner, sizeof inner);
        if (rc == SWB_EINVAL)
            snprintf(why, why_len, "%s \"%s\": %s", kv, eq + 1, inner);
    }
out:
    free(copy);
    return rc;
}

static void *
site_entity(swb_config_t *cfg, const char *id)
{
    return swb_cfg_site_get(cfg, id);
}

static swb_err_t
site_entity_attr(void *e, const char *key, const char *val, char *why,
                 size_t why_len)
{
    return swb_cfg_site_attr(e, key, val, why, why_len);
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
    return swb_cfg_sponsor_attr(e, key, val, why, why_len);
}

static swb_err_t
set_sponsor(swb_config_t *cfg, const char *name, const char *val, char *why,
            size_t why_len)
{
    (void)name;
    return set_entity(cfg, val, sponsor_entity, sponsor_entity_attr, why,
                      why_len);
}

static swb_err_t
set_site(swb_config_t *cfg, const char *name, const char *val, char *why,
         size_t why_len)
{
    (void)name;
    return set_entity(cfg, val, site_entity, site_entity_attr, why, why_len);
}

void
swb_cfg_defaults(swb_config_t *cfg)
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
    cfg->retention_ms = 7 * SWB_DAY_MS;
    cfg->retention_batch = 200;
    cfg->log_level = SWB_LOG_INFO;
    cfg->ring_ms = 15000;
    cfg->missed_max = 2;
    cfg->wrapup_ms = 0;
    cfg->starve_ms = 120000;
    cfg->peer_down_ms = 3000;
    cfg->reclaim_ms = 10000;
}

/* Where the setting `name` (value v) came from: as the place of a
 * problem ("FILE:LINE: [broker] KEY = V", "--KEY V", "KEY = V (default)")
 * or, when `other`, as a note ("V, line N" / "V, --KEY" / "V, default"). */
static const char *
origin_text(const swb_cfg_origin_t *org, const char *name, uint64_t v,
            bool other, char *buf, size_t len)
{
    size_t i = (size_t)(swb_cfg_find(name) - swb_cfg_options);
    int line = org->line[i];
    unsigned long long u = (unsigned long long)v;
    if (other && line > 0)
        snprintf(buf, len, "%llu, line %d", u, line);
    else if (other && line < 0)
        snprintf(buf, len, "%llu, --%s", u, name);
    else if (other)
        snprintf(buf, len, "%llu, the default", u);
    else if (line > 0)
        snprintf(buf, len, "%s:%d: [broker] %s = %llu", org->file, line, name,
                 u);
    else if (line < 0)
        snprintf(buf, len, "--%s %llu", name, u);
    else
        snprintf(buf, len, "%s = %llu (the default)", name, u);
    return buf;
}

/* The rules between settings, once everything is applied. */
static void
check_rules(swb_config_t *cfg, const swb_cfg_origin_t *org,
            swb_cfg_report_t *r)
{
    char a[600], b[600];
    if (!cfg->data_dir)
        swb_cfg_problem(r, "%s%s[broker] data: a data folder is required "
                        "(`data = DIR` in [broker], or --data DIR)",
                        org->file ? org->file : "", org->file ? ": " : "");
    if (!cfg->keys_dir != !cfg->cert_file)
        swb_cfg_problem(r, "%s%s[broker] %s: CurveZMQ needs both keys = DIR "
                        "(the allowed certificates) and cert = FILE (the "
                        "broker's secret certificate)",
                        org->file ? org->file : "", org->file ? ": " : "",
                        cfg->keys_dir ? "cert" : "keys");
    for (size_t i = 0; i < cfg->nsites; i++) {
        const swb_site_def_t *s = &cfg->sites[i];
        char bad_tz[120]; /* a bad tz was reported already */
        snprintf(bad_tz, sizeof bad_tz, "[site %s] tz = ", s->id);
        bool reported = false;
        for (size_t j = 0; j < r->list->n && !reported; j++)
            reported = strstr(r->list->v[j], bad_tz) != NULL;
        if (s->open_min != s->close_min && !*s->tz && !reported)
            swb_cfg_problem(r, "%s%s[site %s] hours: opening hours need the "
                            "site's time zone (tz = Area/City)",
                            org->file ? org->file : "",
                            org->file ? ": " : "", s->id);
    }
    size_t rlen = strlen(cfg->region);
    for (size_t i = 0; i < cfg->peers.n; i++)
        if (strncmp(cfg->peers.v[i], cfg->region, rlen) == 0 &&
            cfg->peers.v[i][rlen] == '=')
            swb_cfg_problem(r, "peer \"%s\": a region cannot peer with "
                            "itself (region = %s)", cfg->peers.v[i],
                            cfg->region);
    if (cfg->retry_max_ms < cfg->retry_base_ms)
        swb_cfg_problem(r, "%s: must be >= retry-base-ms (%s)",
                        origin_text(org, "retry-max-ms", cfg->retry_max_ms,
                                    false, a, sizeof a),
                        origin_text(org, "retry-base-ms", cfg->retry_base_ms,
                                    true, b, sizeof b));
    if (cfg->map_max < cfg->map_initial) {
        size_t i = (size_t)(swb_cfg_find("map-initial") - swb_cfg_options);
        if (org->line[i] == 0) /* only the default: follow map-max */
            cfg->map_initial = cfg->map_max;
        else
            swb_cfg_problem(r, "%s: must be >= map-initial (%s)",
                            origin_text(org, "map-max", cfg->map_max, false,
                                        a, sizeof a),
                            origin_text(org, "map-initial", cfg->map_initial,
                                        true, b, sizeof b));
    }
}

/* Applies the flags of argv (second pass), noting each in org. */
static void
apply_flags(int argc, char **argv, const struct option *longopts,
            swb_config_t *cfg, swb_cfg_origin_t *org, swb_cfg_report_t *r)
{
    int c, idx;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, &idx)) != -1) {
        if (c < 1000)
            continue; /* reported in the first pass */
        size_t i = (size_t)(c - 1000);
        const swb_option_t *o = &swb_cfg_options[i];
        if (!o->apply)
            continue;
        char why[600] = "";
        swb_err_t rc = o->apply(cfg, o->name, optarg, why, sizeof why);
        org->line[i] = -1;
        if (rc == SWB_ENOMEM)
            swb_cfg_problem(r, "--%s: out of memory", o->name);
        else if (rc && o->has_arg)
            swb_cfg_problem(r, "--%s \"%s\": %s", o->name, optarg, why);
        else if (rc)
            swb_cfg_problem(r, "--%s: %s", o->name, why);
    }
}

swb_err_t
swb_config_load(int argc, char **argv, swb_config_t *cfg,
                swb_config_mode_t *mode, swb_strs_t *problems)
{
    struct option *longopts = calloc(swb_cfg_noptions + 1, sizeof *longopts);
    int *lines = calloc(swb_cfg_noptions, sizeof *lines);
    swb_cfg_report_t r = {problems, false};
    swb_cfg_origin_t org = {lines, NULL};
    *mode = SWB_CONFIG_RUN;
    swb_cfg_defaults(cfg);
    if (!longopts || !lines || !cfg->region || !cfg->clients_ep ||
        !cfg->workers_ep || !cfg->peers_ep || !cfg->http) {
        free(longopts);
        free(lines);
        return SWB_ENOMEM;
    }
    for (size_t i = 0; i < swb_cfg_noptions; i++) {
        longopts[i].name = swb_cfg_options[i].name;
        longopts[i].has_arg = swb_cfg_options[i].has_arg ? required_argument
                                                         : no_argument;
        longopts[i].val = 1000 + (int)i;
    }

    /* First pass: the file, --help and mistakes in the flags; the file is
     * applied first so that flags win over it. */
    const char *file = NULL;
    bool check = false;
    int c, idx;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, &idx)) != -1) {
        if (c == '?' || c == ':') {
            swb_cfg_problem(&r, "%s option \"%s\" (see --help)",
                            c == ':' ? "no value for the" : "unknown",
                            argv[optind - 1]);
            continue;
        }
        const char *n = swb_cfg_options[c - 1000].name;
        if (strcmp(n, "help") == 0 || strcmp(n, "help-config") == 0) {
            if (strcmp(n, "help") == 0)
                swb_cfg_print_usage(stdout);
            else
                swb_cfg_print_keys(stdout);
            *mode = SWB_CONFIG_EXIT;
            free(longopts);
            free(lines);
            return SWB_OK;
        }
        bool is_check = strcmp(n, "check-config") == 0;
        if (is_check || strcmp(n, "config") == 0) {
            if (file)
                swb_cfg_problem(&r, "--%s \"%s\": only one --config or "
                                "--check-config FILE may be given", n, optarg);
            file = optarg;
            check = check || is_check;
        }
    }
    if (check)
        *mode = SWB_CONFIG_CHECK;
    for (int i = optind; i < argc; i++)
        swb_cfg_problem(&r, "unexpected argument \"%s\" (options start with "
                        "--)", argv[i]);
    if (file) {
        cfg->config_file = strdup(file);
        org.file = file;
        swb_cfg_read_ini(cfg, file, &org, &r);
    }
    apply_flags(argc, argv, longopts, cfg, &org, &r);
    check_rules(cfg, &org, &r);
    free(longopts);
    free(lines);
    return r.failed ? SWB_EINVAL : SWB_OK;
}

void
swb_config_free(swb_config_t *cfg)
{
    free(cfg->config_file);
    free(cfg->data_dir);
    free(cfg->region);
    free(cfg->clients_ep);
    free(cfg->workers_ep);
    free(cfg->peers_ep);
    free(cfg->http);
    free(cfg->keys_dir);
    free(cfg->cert_file);
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
