/*
 * swb_domain.c - names and small text formats of the domain
 * (see swb_domain.h). Time parsing uses the C library (strptime, timegm).
 */
#include "swb_domain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const swb_channel_names[SWB_CH_COUNT] = {
    "voice.inbound", "voice.outbound", "email",    "chat",     "form",
    "data",          "research",       "accounting", "database",
    "documentation"};

static const char *const swb_state_names[SWB_ST_COUNT] = {
    "queued", "offered", "active",    "completed", "failed",
    "dead",   "canceled", "abandoned", "expired",  "forwarded"};

static const char *const swb_hand_names[SWB_HAND_COUNT] = {
    NULL, "sending", "placed", "started", "held", "go"};

static const char *const swb_agent_state_names[SWB_AG_COUNT] = {
    "ready", "not-ready", "break", "wrap-up", "offline"};

static const char *const swb_cefr_names[] = {"?",  "A1", "A2", "B1",
                                             "B2", "C1", "C2"};

int
swb_channel_parse(const char *name)
{
    for (int i = 0; name && i < SWB_CH_COUNT; i++)
        if (strcmp(name, swb_channel_names[i]) == 0)
            return i;
    return -1;
}

const char *
swb_channel_name(int ch)
{
    return ch >= 0 && ch < SWB_CH_COUNT ? swb_channel_names[ch] : "?";
}

bool
swb_channel_is_voice(int ch)
{
    return ch == SWB_CH_VOICE_INBOUND || ch == SWB_CH_VOICE_OUTBOUND;
}

const char *
swb_channel_list(void)
{
    return "voice.inbound, voice.outbound, email, chat, form, data, "
           "research, accounting, database, documentation";
}

int
swb_cefr_parse(const char *text)
{
    for (int i = 1; text && i <= 6; i++)
        if (strcasecmp(text, swb_cefr_names[i]) == 0)
            return i;
    return 0;
}

const char *
swb_cefr_name(uint64_t level)
{
    return level >= 1 && level <= 6 ? swb_cefr_names[level] : "?";
}

int
swb_state_parse(const char *name)
{
    for (int i = 0; name && i < SWB_ST_COUNT; i++)
        if (strcmp(name, swb_state_names[i]) == 0)
            return i;
    return -1;
}

const char *
swb_state_name(int st)
{
    return st >= 0 && st < SWB_ST_COUNT ? swb_state_names[st] : "?";
}

bool
swb_state_final(int st)
{
    return st == SWB_ST_COMPLETED || st == SWB_ST_DEAD ||
           st == SWB_ST_CANCELED || st == SWB_ST_ABANDONED ||
           st == SWB_ST_EXPIRED;
}

int
swb_hand_parse(const char *name)
{
    if (!name || !*name)
        return SWB_HAND_NONE;
    for (int i = 1; i < SWB_HAND_COUNT; i++)
        if (strcmp(name, swb_hand_names[i]) == 0)
            return i;
    return -1;
}

const char *
swb_hand_name(int hand)
{
    return hand > 0 && hand < SWB_HAND_COUNT ? swb_hand_names[hand] : NULL;
}

int
swb_agent_state_parse(const char *name)
{
    for (int i = 0; name && i < SWB_AG_COUNT; i++)
        if (strcmp(name, swb_agent_state_names[i]) == 0)
            return i;
    return -1;
}

const char *
swb_agent_state_name(int st)
{
    return st >= 0 && st < SWB_AG_COUNT ? swb_agent_state_names[st] : "?";
}

/* Calls fn on each comma-separated item of text (a copy is split). */
typedef swb_err_t (*item_fn)(const char *item, void *arg, char *why,
                             size_t why_len);

static swb_err_t
each_item(const char *text, item_fn fn, void *arg, char *why, size_t why_len)
{
    if (!text || !*text) {
        snprintf(why, why_len, "empty list");
        return SWB_EINVAL;
    }
    char *copy = strdup(text);
    if (!copy)
        return SWB_ENOMEM;
    swb_err_t rc = SWB_OK;
    char *save = NULL;
    size_t commas = 0, items = 0;
    for (const char *c = text; *c; c++)
        commas += *c == ',';
    for (char *it = strtok_r(copy, ",", &save); it && !rc;
         it = strtok_r(NULL, ",", &save)) {
        items++;
        rc = fn(it, arg, why, why_len);
    }
    if (!rc && items != commas + 1) {
        snprintf(why, why_len, "empty item in \"%s\"", text);
        rc = SWB_EINVAL;
    }
    free(copy);
    return rc;
}

typedef struct level_ctx {
    char sep;
    bool cefr;
    uint64_t max_level;
    swb_levels_t *out;
} level_ctx_t;

static swb_err_t
level_item(const char *item, void *arg, char *why, size_t why_len)
{
    level_ctx_t *c = arg;
    const char *s = strchr(item, c->sep);
    if (!s || s == item || !s[1]) {
        snprintf(why, why_len, "\"%s\" is not NAME%cLEVEL", item, c->sep);
        return SWB_EINVAL;
    }
    char name[128];
    size_t n = (size_t)(s - item);
    if (n >= 64) {
        snprintf(why, why_len, "name in \"%s\" is over 63 bytes", item);
        return SWB_EINVAL;
    }
    memcpy(name, item, n);
    name[n] = 0;
    uint64_t level;
    if (c->cefr) {
        level = (uint64_t)swb_cefr_parse(s + 1);
        if (!level) {
            snprintf(why, why_len, "level \"%s\" of %s is not a CEFR level "
                     "A1..C2", s + 1, name);
            return SWB_EINVAL;
        }
    } else {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s + 1, &end, 10);
        if (errno || *end || s[1] == '-' || v < 1 ||
            (c->max_level && v > c->max_level)) {
            snprintf(why, why_len, "level \"%s\" of %s must be an integer "
                     "1..%llu", s + 1, name,
                     (unsigned long long)(c->max_level ? c->max_level : 0));
            return SWB_EINVAL;
        }
        level = v;
    }
    if (swb_levels_find(c->out, name)) {
        snprintf(why, why_len, "%s is named twice", name);
        return SWB_EINVAL;
    }
    return swb_levels_add(c->out, name, level);
}

swb_err_t
swb_parse_levels(const char *text, char sep, bool cefr, uint64_t max_level,
                 swb_levels_t *out, char *why, size_t why_len)
{
    level_ctx_t c = {sep, cefr, max_level, out};
    return each_item(text, level_item, &c, why, why_len);
}

static swb_err_t
str_item(const char *item, void *arg, char *why, size_t why_len)
{
    if (strlen(item) > 255) {
        snprintf(why, why_len, "item \"%.32s...\" is over 255 bytes", item);
        return SWB_EINVAL;
    }
    return swb_strs_add(arg, item);
}

swb_err_t
swb_parse_strs(const char *text, swb_strs_t *out, char *why, size_t why_len)
{
    return each_item(text, str_item, out, why, why_len);
}

swb_err_t
swb_parse_duration_ms(const char *text, uint64_t *ms)
{
    /* strictly DIGITS[.DIGITS][unit]: no signs, spaces, hex, exponents,
     * nan or inf, which strtod would take */
    const char *p = text;
    if (!p || *p < '0' || *p > '9')
        return SWB_EINVAL;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return SWB_EINVAL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end != p || v < 0)
        return SWB_EINVAL;
    double mult;
    if (!*end || strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "m") == 0)
        mult = 60e3;
    else if (strcmp(end, "h") == 0)
        mult = 3600e3;
    else if (strcmp(end, "d") == 0)
        mult = 86400e3;
    else
        return SWB_EINVAL;
    double r = v * mult;
    if (r > 1e15)
        return SWB_EINVAL;
    *ms = (uint64_t)(r + 0.5);
    return SWB_OK;
}

swb_err_t
swb_parse_when_ms(const char *text, uint64_t now_ms, uint64_t *ms)
{
    uint64_t d;
    if (swb_parse_duration_ms(text, &d) == SWB_OK) {
        *ms = now_ms + d;
        return SWB_OK;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(text ? text : "", "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        rest = strptime(text ? text : "", "%Y-%m-%d %H:%M:%S", &tm);
    if (!rest)
        return SWB_EINVAL;
    long off = 0;
    if (*rest == 'Z' && !rest[1]) {
        off = 0;
    } else if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 &&
               rest[3] == ':') {
        int hh, mm;
        if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
            return SWB_EINVAL;
        off = (hh * 3600L + mm * 60L) * (*rest == '-' ? -1 : 1);
    } else if (*rest) {
        return SWB_EINVAL;
    }
    struct tm want = tm;
    time_t t = timegm(&tm);
    /* timegm rolls impossible dates over (Feb 30 -> Mar 2): refuse them */
    if (t == (time_t)-1 || t - off < 0 || tm.tm_mday != want.tm_mday ||
        tm.tm_mon != want.tm_mon || tm.tm_hour != want.tm_hour)
        return SWB_EINVAL;
    *ms = (uint64_t)(t - off) * 1000u;
    return SWB_OK;
}

uint64_t
swb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t
swb_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
