/*
 * cli_spec.c - the task keys of `switchboard submit` and of batch lines,
 * one table, each key with its own local check (see cli_spec.h).
 *
 * The checks mirror the broker's limits (proto/swb_msg.c) so that bad
 * input is caught before it is sent and named the way the user typed it;
 * the broker still checks everything again.
 */
#include "cli_spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_common.h"
#include "swb_domain.h"

#define ZONEINFO "/usr/share/zoneinfo"

typedef swb_err_t (*set_fn)(cli_spec_t *s, const char *key, const char *v,
                            char *why, size_t n);

typedef struct spec_key {
    const char *opt;  /* "--not-before": the option, with its dashes */
    const char *json; /* "not_before": the batch-line key             */
    cli_key_kind_t kind;
    set_fn set;
} spec_key_t;

static const spec_key_t *find_key(const char *key);

/* ---- helpers ------------------------------------------------------------ */

static swb_err_t
set_str(char **dst, const char *v)
{
    char *copy = strdup(v);
    if (!copy)
        return SWB_ENOMEM;
    free(*dst);
    *dst = copy;
    return SWB_OK;
}

static swb_err_t
check_count(size_t count, size_t max, const char *what, char *why, size_t n)
{
    if (count <= max)
        return SWB_OK;
    snprintf(why, n, "%zu %s is over the limit %zu", count, what, max);
    return SWB_ETOOBIG;
}

/* Takes len bytes at data as the payload (copied). */
static swb_err_t
put_payload(cli_spec_t *s, const char *key, const void *data, size_t len,
            char *why, size_t n)
{
    const char *k = find_key(key)->opt;
    if (s->payload_from && strcmp(s->payload_from, k) != 0) {
        snprintf(why, n, "%s and %s together; give only one",
                 cli_spec_keyname(s, "payload"),
                 cli_spec_keyname(s, "payload-file"));
        return SWB_EINVAL;
    }
    if (len > CLI_MAX_PAYLOAD) {
        snprintf(why, n, "payload of %zu bytes is over the limit %u (1 MiB)",
                 len, CLI_MAX_PAYLOAD);
        return SWB_ETOOBIG;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return SWB_ENOMEM;
    memcpy(copy, data, len);
    free(s->spec.payload.data);
    s->spec.payload.data = copy;
    s->spec.payload.len = len;
    s->payload_from = k;
    return SWB_OK;
}

/* ---- one setter per key ------------------------------------------------- */

static swb_err_t
set_channel(cli_spec_t *s, const char *key, const char *v, char *why,
            size_t n)
{
    (void)key;
    if (swb_channel_parse(v) < 0) {
        snprintf(why, n, "unknown channel \"%s\"; valid channels: %s", v,
                 swb_channel_list());
        return SWB_EINVAL;
    }
    return set_str(&s->spec.channel, v);
}

static swb_err_t
set_sponsor(cli_spec_t *s, const char *key, const char *v, char *why,
            size_t n)
{
    (void)key;
    swb_err_t rc = cli_name(v, SWB_MAX_NAME, why, n);
    return rc ? rc : set_str(&s->spec.sponsor, v);
}

static swb_err_t
set_lang(cli_spec_t *s, const char *key, const char *v, char *why, size_t n)
{
    (void)key;
    swb_err_t rc = swb_parse_levels(v, ':', true, 6, &s->spec.lang, why, n);
    return rc ? rc : check_count(s->spec.lang.n, 4, "languages", why, n);
}

static swb_err_t
set_skill(cli_spec_t *s, const char *key, const char *v, char *why, size_t n)
{
    (void)key;
    swb_err_t rc = swb_parse_levels(v, ':', false, 100, &s->spec.skills, why,
                                    n);
    return rc ? rc : check_count(s->spec.skills.n, 32, "skills", why, n);
}

static swb_err_t
set_priority(cli_spec_t *s, const char *key, const char *v, char *why,
             size_t n)
{
    (void)key;
    return cli_u64(v, 0, SWB_MAX_PRIORITY, &s->spec.priority, why, n);
}

static swb_err_t
set_max_attempts(cli_spec_t *s, const char *key, const char *v, char *why,
                 size_t n)
{
    (void)key;
    return cli_u64(v, 1, SWB_MAX_ATTEMPTS, &s->spec.max_attempts, why, n);
}

/* DURATION from now or an ISO time, into unix ms. */
static swb_err_t
parse_when(const cli_spec_t *s, const char *v, uint64_t *ms, char *why,
           size_t n)
{
    if (swb_parse_when_ms(v, s->now_ms, ms) == SWB_OK)
        return SWB_OK;
    snprintf(why, n, "\"%s\" is neither a duration (90s, 15m, 2h, 3d) nor an "
             "ISO time (2026-11-23T09:00:00Z)", v);
    return SWB_EINVAL;
}

static swb_err_t
set_deadline(cli_spec_t *s, const char *key, const char *v, char *why,
             size_t n)
{
    (void)key;
    uint64_t ms;
    swb_err_t rc = parse_when(s, v, &ms, why, n);
    if (rc)
        return rc;
    if (ms <= s->now_ms) {
        snprintf(why, n, "%s is not in the future", v);
        return SWB_EINVAL;
    }
    s->spec.deadline = ms;
    return SWB_OK;
}

static swb_err_t
set_not_before(cli_spec_t *s, const char *key, const char *v, char *why,
               size_t n)
{
    (void)key;
    return parse_when(s, v, &s->spec.not_before, why, n);
}

static swb_err_t
set_patience(cli_spec_t *s, const char *key, const char *v, char *why,
             size_t n)
{
    (void)key;
    uint64_t ms;
    if (swb_parse_duration_ms(v, &ms)) {
        snprintf(why, n, "\"%s\" is not a number of seconds (or 90s, 2m)", v);
        return SWB_EINVAL;
    }
    uint64_t sec = (ms + 999) / 1000;
    if (sec < 1 || sec > 86400) {
        snprintf(why, n, "%s must be 1 second .. 86400 seconds (a day)", v);
        return SWB_EINVAL;
    }
    s->spec.patience = sec;
    return SWB_OK;
}

/* "HH:MM" at p (5 bytes) into minutes, or -1. */
static int
parse_hhmm(const char *p)
{
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) ||
        p[2] != ':' || !isdigit((unsigned char)p[3]) ||
        !isdigit((unsigned char)p[4]))
        return -1;
    int h = (p[0] - '0') * 10 + (p[1] - '0');
    int m = (p[3] - '0') * 10 + (p[4] - '0');
    return h <= 23 && m <= 59 ? h * 60 + m : -1;
}

static swb_err_t
set_window(cli_spec_t *s, const char *key, const char *v, char *why,
           size_t n)
{
    (void)key;
    int from = -1, to = -1;
    if (strlen(v) == 11 && v[5] == '-') {
        from = parse_hhmm(v);
        to = parse_hhmm(v + 6);
    }
    if (from < 0 || to < 0) {
        snprintf(why, n, "\"%s\" is not HH:MM-HH:MM (e.g. 09:00-20:00)", v);
        return SWB_EINVAL;
    }
    if (from == to) {
        snprintf(why, n, "\"%s\" is an empty window", v);
        return SWB_EINVAL;
    }
    return set_str(&s->spec.window, v);
}

static swb_err_t
set_tz(cli_spec_t *s, const char *key, const char *v, char *why, size_t n)
{
    (void)key;
    bool ok = *v && *v != '/' && !strstr(v, "..") &&
              strlen(v) <= SWB_MAX_NAME;
    for (const char *p = v; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr("/_+-", *p);
    char path[sizeof ZONEINFO + SWB_MAX_NAME + 2];
    struct stat st;
    if (ok) {
        snprintf(path, sizeof path, "%s/%s", ZONEINFO, v);
        ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    }
    if (!ok) {
        snprintf(why, n, "unknown time zone \"%s\" (want Area/City as in "
                 ZONEINFO ", e.g. Europe/Paris)", v);
        return SWB_EINVAL;
    }
    return set_str(&s->spec.tz, v);
}

static swb_err_t
set_site(cli_spec_t *s, const char *key, const char *v, char *why, size_t n)
{
    (void)key;
    size_t before = s->spec.sites.n;
    swb_err_t rc = swb_parse_strs(v, &s->spec.sites, why, n);
    for (size_t i = before; !rc && i < s->spec.sites.n; i++)
        rc = cli_name(s->spec.sites.v[i], SWB_MAX_NAME, why, n);
    return rc ? rc : check_count(s->spec.sites.n, 64, "sites", why, n);
}

static swb_err_t
set_country(cli_spec_t *s, const char *key, const char *v, char *why,
            size_t n)
{
    (void)key;
    size_t before = s->spec.countries.n;
    swb_err_t rc = swb_parse_strs(v, &s->spec.countries, why, n);
    for (size_t i = before; !rc && i < s->spec.countries.n; i++) {
        char *cc = s->spec.countries.v[i];
        if (strlen(cc) != 2 || !isalpha((unsigned char)cc[0]) ||
            !isalpha((unsigned char)cc[1])) {
            snprintf(why, n, "\"%s\" is not a two-letter country code "
                     "(ISO 3166, e.g. IN)", cc);
            return SWB_EINVAL;
        }
        cc[0] = (char)toupper((unsigned char)cc[0]);
        cc[1] = (char)toupper((unsigned char)cc[1]);
    }
    return rc ? rc : check_count(s->spec.countries.n, 64, "countries", why,
                                 n);
}

static swb_err_t
set_key(cli_spec_t *s, const char *key, const char *v, char *why, size_t n)
{
    (void)key;
    swb_err_t rc = cli_name(v, SWB_MAX_KEY, why, n);
    return rc ? rc : set_str(&s->spec.key, v);
}

/* Per-task choice of agent (PRODUCT.md 4); the broker knows the same
 * two names (broker/client_api.c). */
static swb_err_t
set_routing(cli_spec_t *s, const char *key, const char *v, char *why,
            size_t n)
{
    (void)key;
    if (strcmp(v, "longest-idle") != 0 && strcmp(v, "best-skilled") != 0) {
        snprintf(why, n, "unknown routing \"%s\"; valid: longest-idle, "
                 "best-skilled", v);
        return SWB_EINVAL;
    }
    return set_str(&s->spec.routing, v);
}

static swb_err_t
set_payload(cli_spec_t *s, const char *key, const char *v, char *why,
            size_t n)
{
    return put_payload(s, key, v, strlen(v), why, n);
}

static swb_err_t
set_payload_file(cli_spec_t *s, const char *key, const char *v, char *why,
                 size_t n)
{
    bool std_in = strcmp(v, "-") == 0;
    FILE *f = std_in ? stdin : fopen(v, "rb");
    if (!f) {
        snprintf(why, n, "cannot read \"%s\": %s", v, strerror(errno));
        return SWB_EINVAL;
    }
    size_t cap = CLI_MAX_PAYLOAD + 1, len = 0;
    char *buf = malloc(cap);
    swb_err_t rc = buf ? SWB_OK : SWB_ENOMEM;
    while (!rc && len < cap) {
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
    }
    if (!rc && ferror(f)) {
        snprintf(why, n, "cannot read \"%s\": %s", v, strerror(errno));
        rc = SWB_EINVAL;
    }
    if (!std_in)
        fclose(f);
    if (!rc && len > CLI_MAX_PAYLOAD) {
        snprintf(why, n, "\"%s\" is over the payload limit of %u bytes "
                 "(1 MiB)", v, CLI_MAX_PAYLOAD);
        rc = SWB_ETOOBIG;
    }
    if (!rc)
        rc = put_payload(s, key, buf, len, why, n);
    free(buf);
    return rc;
}

/* ---- the table ---------------------------------------------------------- */

static const spec_key_t spec_keys[] = {
    {"--channel", "channel", CLI_KEY_ONE, set_channel},
    {"--sponsor", "sponsor", CLI_KEY_ONE, set_sponsor},
    {"--lang", "lang", CLI_KEY_LEVELS, set_lang},
    {"--skill", "skills", CLI_KEY_LEVELS, set_skill},
    {"--priority", "priority", CLI_KEY_ONE, set_priority},
    {"--deadline", "deadline", CLI_KEY_ONE, set_deadline},
    {"--patience", "patience", CLI_KEY_ONE, set_patience},
    {"--window", "window", CLI_KEY_ONE, set_window},
    {"--tz", "tz", CLI_KEY_ONE, set_tz},
    {"--not-before", "not_before", CLI_KEY_ONE, set_not_before},
    {"--site", "sites", CLI_KEY_LIST, set_site},
    {"--country", "countries", CLI_KEY_LIST, set_country},
    {"--key", "key", CLI_KEY_ONE, set_key},
    {"--payload", "payload", CLI_KEY_TEXT, set_payload},
    {"--payload-file", "payload_file", CLI_KEY_ONE, set_payload_file},
    {"--max-attempts", "max_attempts", CLI_KEY_ONE, set_max_attempts},
    {"--routing", "routing", CLI_KEY_ONE, set_routing},
};
#define NKEYS (sizeof spec_keys / sizeof spec_keys[0])

static const spec_key_t *
find_key(const char *key)
{
    for (size_t i = 0; key && i < NKEYS; i++)
        if (strcmp(key, spec_keys[i].opt + 2) == 0 ||
            strcmp(key, spec_keys[i].opt) == 0 ||
            strcmp(key, spec_keys[i].json) == 0)
            return &spec_keys[i];
    return NULL;
}

void
cli_spec_init(cli_spec_t *s, bool options)
{
    memset(s, 0, sizeof *s);
    s->options = options;
    s->now_ms = swb_now_ms();
}

void
cli_spec_free(cli_spec_t *s)
{
    swb_codec_free(&swb_task_spec_schema, &s->spec);
    s->given = 0;
    s->payload_from = NULL;
}

swb_err_t
cli_spec_set_payload(cli_spec_t *s, const void *data, size_t len, char *why,
                     size_t why_len)
{
    s->given++;
    return put_payload(s, "payload", data, len, why, why_len);
}

cli_key_kind_t
cli_spec_kind(const char *key)
{
    const spec_key_t *k = find_key(key);
    return k ? k->kind : CLI_KEY_UNKNOWN;
}

const char *
cli_spec_keyname(const cli_spec_t *s, const char *key)
{
    const spec_key_t *k = find_key(key);
    if (!k)
        return key;
    return s->options ? k->opt : k->json;
}

swb_err_t
cli_spec_set(cli_spec_t *s, const char *key, const char *value, char *why,
             size_t why_len)
{
    const spec_key_t *k = find_key(key);
    if (!k) {
        snprintf(why, why_len, "unknown key");
        return SWB_EINVAL;
    }
    s->given++;
    return k->set(s, key, value ? value : "", why, why_len);
}

swb_err_t
cli_spec_finish(cli_spec_t *s, const char **key, char *why, size_t why_len)
{
    const swb_task_spec_t *t = &s->spec;
    if (!t->channel) {
        *key = cli_spec_keyname(s, "channel");
        snprintf(why, why_len, "is required; valid channels: %s",
                 swb_channel_list());
        return SWB_EINVAL;
    }
    if (t->window && !t->tz) {
        *key = cli_spec_keyname(s, "window");
        snprintf(why, why_len, "needs %s Area/City too (the customer's time "
                 "zone)", cli_spec_keyname(s, "tz"));
        return SWB_EINVAL;
    }
    if (t->tz && !t->window) {
        *key = cli_spec_keyname(s, "tz");
        snprintf(why, why_len, "is only used with %s HH:MM-HH:MM",
                 cli_spec_keyname(s, "window"));
        return SWB_EINVAL;
    }
    return SWB_OK;
}

size_t
cli_spec_options(struct option *out, size_t room)
{
    size_t n = 0;
    for (size_t i = 0; i < NKEYS && n < room; i++, n++) {
        out[n].name = spec_keys[i].opt + 2;
        out[n].has_arg = required_argument;
        out[n].flag = NULL;
        out[n].val = CLI_OPT_SPEC + (int)i;
    }
    return n;
}

const char *
cli_spec_option_key(int id)
{
    size_t i = (size_t)(id - CLI_OPT_SPEC);
    return id >= CLI_OPT_SPEC && i < NKEYS ? spec_keys[i].opt + 2 : NULL;
}
