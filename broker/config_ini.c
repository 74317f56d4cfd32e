/*
 * config_ini.c - reads the broker's INI config file (config.h) with
 * Debian's libinih and collects EVERY problem, each with FILE:LINE, the
 * section, the key, the value and what is allowed.
 *
 * libinih calls a handler per key and goes on while it returns 1; it
 * knows line numbers but (as Debian builds it) does not pass them, keeps
 * section names to 50 bytes and reports only the first syntax error. So
 * the file goes to ini_parse_stream through our reader, which counts the
 * lines, reads section headers itself (full length; [site ID] and
 * [sponsor NAME] are created there, duplicates caught), and reports a line
 * that is not a comment, a header or KEY = VALUE (or is longer than the
 * parser's line buffer) and hands the parser an empty line instead. The
 * handler applies each key through the option table or the site and
 * sponsor keys (config.c) and reports bad values and keys given twice.
 *
 * Does not: stop at the first problem, or know what any key means.
 */
#include "config_int.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

typedef enum ini_kind {
    INI_NONE = 0, /* before the first section header                     */
    INI_BROKER,
    INI_SITE,
    INI_SPONSOR,
    INI_SKIP      /* an unknown or duplicate section (already reported)  */
} ini_kind_t;

/* A key or section seen, for "given twice (first on line N)". */
typedef struct ini_seen {
    char *what; /* "[site x]" or "[site x] tz" */
    int line;
} ini_seen_t;

typedef struct ini_ctx {
    swb_config_t *cfg;
    swb_cfg_origin_t *org;
    swb_cfg_report_t *r;
    const char *path;
    FILE *f;
    char *buf;         /* the whole current line (getline)              */
    size_t cap;
    int line;          /* number of the line last read                  */
    ini_kind_t kind;
    char section[160]; /* current section as written, for messages     */
    const char *name;  /* site id / sponsor name (in section)           */
    bool had_key;      /* a key line since the last header (for
                          continuation lines)                           */
    ini_seen_t *seen;
    size_t nseen, seen_cap;
} ini_ctx_t;

/* The line where `what` was first seen, or 0 after noting it now. */
static int
seen_before(ini_ctx_t *c, const char *what)
{
    for (size_t i = 0; i < c->nseen; i++)
        if (strcmp(c->seen[i].what, what) == 0)
            return c->seen[i].line;
    if (c->nseen == c->seen_cap) {
        size_t cap = c->seen_cap ? c->seen_cap * 2 : 32;
        ini_seen_t *ns = realloc(c->seen, cap * sizeof *ns);
        if (!ns)
            return 0;
        c->seen = ns;
        c->seen_cap = cap;
    }
    char *copy = strdup(what);
    if (copy) {
        c->seen[c->nseen].what = copy;
        c->seen[c->nseen++].line = c->line;
    }
    return 0;
}

/* Like libinih: the first of chars, or an inline ';' comment (one after
 * white space), or the end. */
static const char *
find_chars(const char *s, const char *chars)
{
    bool was_space = false;
    while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
        was_space = *s == ' ' || *s == '\t';
        s++;
    }
    return s;
}

static char *
trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                 s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

/* Edit distance of two short names (for "did you mean"). */
static size_t
distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64], prev;
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

/* " (did you mean \"lease-ms\"?)" for a near key of [broker], or "". */
static const char *
suggest(const char *name, char *buf, size_t len)
{
    size_t best = 3;
    const char *hit = NULL;
    for (size_t i = 0; i < swb_cfg_noptions; i++) {
        size_t d = swb_cfg_options[i].flag_only
                       ? 99
                       : distance(name, swb_cfg_options[i].name);
        if (d < best) {
            best = d;
            hit = swb_cfg_options[i].name;
        }
    }
    if (hit)
        snprintf(buf, len, " (did you mean \"%s\"?)", hit);
    else
        snprintf(buf, len, " (see switchboard-broker --help-config)");
    return buf;
}

/* A section header [name]: which kind, creating its site or sponsor. */
static void
enter_section(ini_ctx_t *c, const char *name)
{
    snprintf(c->section, sizeof c->section, "%s", name);
    c->had_key = false;
    c->name = NULL;
    const char *id = NULL;
    ini_kind_t kind;
    if (strcmp(name, "broker") == 0) {
        c->kind = INI_BROKER;
        return;
    }
    if (strncmp(name, "site ", 5) == 0) {
        kind = INI_SITE;
        id = name + 5;
    } else if (strncmp(name, "sponsor ", 8) == 0) {
        kind = INI_SPONSOR;
        id = name + 8;
    } else {
        swb_cfg_problem(c->r, "%s:%d: [%s]: unknown section (allowed: "
                        "[broker], [site ID], [sponsor NAME])", c->path,
                        c->line, name);
        c->kind = INI_SKIP;
        return;
    }
    while (*id == ' ' || *id == '\t')
        id++;
    c->kind = INI_SKIP;
    if (!swb_cfg_valid_id(id)) {
        swb_cfg_problem(c->r, "%s:%d: [%s]: \"%s\" is not a %s name "
                        "(letters, digits, - _ .; 1 to 63)", c->path, c->line,
                        name, id, kind == INI_SITE ? "site" : "sponsor");
        return;
    }
    char what[200];
    snprintf(what, sizeof what, "[%s %s]",
             kind == INI_SITE ? "site" : "sponsor", id);
    int first = seen_before(c, what);
    if (first) {
        swb_cfg_problem(c->r, "%s:%d: %s: duplicate section (first on line "
                        "%d); its keys are ignored", c->path, c->line, what,
                        first);
        return;
    }
    void *e = kind == INI_SITE ? (void *)swb_cfg_site_get(c->cfg, id)
                               : (void *)swb_cfg_sponsor_get(c->cfg, id);
    if (!e) {
        swb_cfg_problem(c->r, "%s:%d: %s: out of memory", c->path, c->line,
                        what);
        return;
    }
    c->kind = kind;
    c->name = kind == INI_SITE ? ((swb_site_def_t *)e)->id
                               : ((swb_sponsor_def_t *)e)->name;
}

/* Checks one raw line (c->buf, without its newline); true when the
 * parser may see it. */
static bool
check_line(ini_ctx_t *c, int max)
{
    char *s = c->buf;
    if (c->line == 1 && (unsigned char)s[0] == 0xEF &&
        (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
        s += 3;
    bool indented = *s == ' ' || *s == '\t';
    char *t = trim(s);
    if ((int)strlen(c->buf) >= max - 1) {
        swb_cfg_problem(c->r, "%s:%d: line is longer than %d bytes", c->path,
                        c->line, max - 2);
        return false;
    }
    if (!*t || *t == ';' || *t == '#')
        return true;
    if (*t == '[') {
        char *end = (char *)find_chars(t + 1, "]");
        if (*end != ']') {
            swb_cfg_problem(c->r, "%s:%d: \"%s\": a section header needs a "
                            "closing ]", c->path, c->line, t);
            c->kind = INI_SKIP;
            return false;
        }
        *end = 0;
        char name[160];
        snprintf(name, sizeof name, "%s", t + 1);
        *end = ']';
        enter_section(c, trim(name));
        return true;
    }
    if (indented && c->had_key)
        return true; /* a continuation line: the key again */
    const char *eq = find_chars(t, "=:");
    if (*eq != '=' && *eq != ':') {
        swb_cfg_problem(c->r, "%s:%d: \"%s\": not KEY = VALUE, a [section] "
                        "or a comment", c->path, c->line, t);
        return false;
    }
    c->had_key = true;
    return true;
}

/* ini_reader: the next line for the parser (see the file comment). */
static char *
ini_read(char *str, int num, void *stream)
{
    ini_ctx_t *c = stream;
    errno = 0;
    ssize_t n = getline(&c->buf, &c->cap, c->f);
    if (n < 0) {
        if (errno && errno != EINTR)
            swb_cfg_problem(c->r, "%s: cannot read: %s", c->path,
                            strerror(errno));
        return NULL;
    }
    c->line++;
    while (n && (c->buf[n - 1] == '\n' || c->buf[n - 1] == '\r'))
        c->buf[--n] = 0;
    if (memchr(c->buf, 0, (size_t)n)) {
        swb_cfg_problem(c->r, "%s:%d: a NUL byte in the line (not a text "
                        "file?)", c->path, c->line);
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    char *copy = strdup(c->buf);
    bool ok = copy && check_line(c, num);
    snprintf(str, (size_t)num, "%s\n", ok ? copy : "");
    free(copy);
    return str;
}

/* Applies a key of [broker] through the option table. */
static void
broker_key(ini_ctx_t *c, const char *name, const char *value)
{
    const swb_option_t *o = swb_cfg_find(name);
    char why[600] = "", hint[80];
    if (!o || o->flag_only) {
        swb_cfg_problem(c->r, "%s:%d: [broker] %s: unknown key%s", c->path,
                        c->line, name, suggest(name, hint, sizeof hint));
        return;
    }
    size_t i = (size_t)(o - swb_cfg_options);
    if (!o->repeat && c->org->line[i] > 0) {
        swb_cfg_problem(c->r, "%s:%d: [broker] %s = \"%s\": given twice "
                        "(first on line %d)", c->path, c->line, name, value,
                        c->org->line[i]);
        return;
    }
    c->org->line[i] = c->line;
    swb_err_t rc = o->apply(c->cfg, o->name, value, why, sizeof why);
    if (rc == SWB_ENOMEM)
        swb_cfg_problem(c->r, "%s:%d: out of memory", c->path, c->line);
    else if (rc)
        swb_cfg_problem(c->r, "%s:%d: [broker] %s = \"%s\": %s", c->path,
                        c->line, name, value, why);
}

/* ini_handler: one key (or continuation line) of the file. */
static int
ini_key(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx_t *c = user;
    char why[600] = "", what[300];
    swb_err_t rc;
    (void)section; /* ours is complete; libinih's is cut at 50 bytes */
    switch (c->kind) {
    case INI_SKIP:
        return 1;
    case INI_NONE:
        swb_cfg_problem(c->r, "%s:%d: %s = \"%s\": key before any section "
                        "(put it under [broker])", c->path, c->line, name,
                        value);
        return 1;
    case INI_BROKER:
        broker_key(c, name, value);
        return 1;
    case INI_SITE:
    case INI_SPONSOR:
        break;
    }
    snprintf(what, sizeof what, "[%s] %s", c->section, name);
    int first = seen_before(c, what);
    if (first) {
        swb_cfg_problem(c->r, "%s:%d: %s = \"%s\": given twice (first on "
                        "line %d)", c->path, c->line, what, value, first);
        return 1;
    }
    if (c->kind == INI_SITE)
        rc = swb_cfg_site_attr(
            (swb_site_def_t *)swb_config_site(c->cfg, c->name), name, value,
            why, sizeof why);
    else
        rc = swb_cfg_sponsor_attr(
            (swb_sponsor_def_t *)swb_config_sponsor(c->cfg, c->name), name,
            value, why, sizeof why);
    if (rc)
        swb_cfg_problem(c->r, "%s:%d: %s = \"%s\": %s", c->path, c->line,
                        what, value,
                        rc == SWB_ENOMEM ? "out of memory" : why);
    return 1;
}

void
swb_cfg_read_ini(swb_config_t *cfg, const char *path,
                 swb_cfg_origin_t *origin, swb_cfg_report_t *r)
{
    ini_ctx_t c = {.cfg = cfg, .org = origin, .r = r, .path = path};
    c.f = fopen(path, "r");
    if (!c.f) {
        swb_cfg_problem(r, "%s: cannot open: %s", path, strerror(errno));
        return;
    }
    int rc = ini_parse_stream(ini_read, &c, ini_key, &c);
    if (rc == -2)
        swb_cfg_problem(r, "%s: out of memory", path);
    else if (rc > 0)
        swb_cfg_problem(r, "%s:%d: not understood by the INI parser", path,
                        rc);
    fclose(c.f);
    free(c.buf);
    for (size_t i = 0; i < c.nseen; i++)
        free(c.seen[i].what);
    free(c.seen);
}
