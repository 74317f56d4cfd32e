/*
 * cli_stats.c - the operator's view of a region: `stats [--watch] [--site
 * ID]` shows the statistics document (broker/stats.h) as tables, `sites`
 * the sites document; with --json each prints the broker's document as
 * it came.
 *
 * The tables are described by column tables ({heading, JSON path, kind})
 * applied to rows of the document, so a figure is formatted the same way
 * wherever it appears: durations as "42s", "5m07s", "1h05m", percents as
 * "66.7%", null as "-". On a terminal a queue's service level is green
 * when it meets the queue's target and red when it does not (NO_COLOR
 * turns colours off). --watch redraws in place every second (ANSI
 * clear and home) until Ctrl-C; when stdout is not a terminal it prints
 * a fresh report (or one JSON line with --json) every second instead.
 *
 * This file computes nothing: every number comes from the broker.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "cli_common.h"

/* ---- a small table ------------------------------------------------------ */

#define TCOLS 20
#define TCELL 40

typedef enum col_kind {
    COL_STR,  /* string, "-" for null                       */
    COL_INT,  /* integer                                    */
    COL_SECS, /* seconds as a duration                      */
    COL_PCT,  /* percent                                    */
    COL_SL,   /* percent coloured against the row's target  */
    COL_BOOL, /* yes / no                                   */
    COL_SUM   /* sum of the integers of an object           */
} col_kind_t;

typedef struct column {
    const char *head;
    const char *path; /* members separated by '.' from the row object */
    col_kind_t kind;
} column_t;

typedef struct cell {
    char text[TCELL];
    const char *color; /* ANSI colour or NULL */
} cell_t;

typedef struct table {
    const column_t *cols;
    size_t ncols;
    cell_t *cells; /* row-major; row 0 is the heading */
    size_t nrows;
    bool color;
} table_t;

static const char *const GREEN = "\033[32m", *const RED = "\033[31m";

/* The member at a dotted path of o, or NULL. */
static json_t *
jpath(json_t *o, const char *path)
{
    char buf[96];
    char *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok_r(buf, ".", &save); o && k;
         k = strtok_r(NULL, ".", &save))
        o = json_object_get(o, k);
    return o;
}

static void
fmt_secs(double s, char *out, size_t n)
{
    long v = (long)(s + 0.5);
    if (v < 60)
        snprintf(out, n, "%lds", v);
    else if (v < 3600)
        snprintf(out, n, "%ldm%02lds", v / 60, v % 60);
    else if (v < 86400)
        snprintf(out, n, "%ldh%02ldm", v / 3600, v % 3600 / 60);
    else
        snprintf(out, n, "%ldd%02ldh", v / 86400, v % 86400 / 3600);
}

static void
cell_of(const table_t *t, const column_t *c, json_t *row, cell_t *out)
{
    json_t *v = jpath(row, c->path);
    out->color = NULL;
    if (c->kind != COL_SUM && (!v || json_is_null(v))) {
        snprintf(out->text, TCELL, "-");
        return;
    }
    switch (c->kind) {
    case COL_STR:
        snprintf(out->text, TCELL, "%s",
                 json_is_string(v) ? json_string_value(v) : "?");
        break;
    case COL_INT:
        snprintf(out->text, TCELL, "%lld", (long long)json_integer_value(v));
        break;
    case COL_SECS:
        fmt_secs(json_number_value(v), out->text, TCELL);
        break;
    case COL_PCT:
    case COL_SL: {
        double pct = json_number_value(v);
        json_t *target = jpath(row, "service_level_target.percent");
        snprintf(out->text, TCELL, "%.1f%%", pct);
        if (c->kind == COL_SL && t->color && json_is_integer(target))
            out->color =
                pct >= (double)json_integer_value(target) ? GREEN : RED;
        break;
    }
    case COL_BOOL:
        snprintf(out->text, TCELL, "%s", json_is_true(v) ? "yes" : "no");
        break;
    case COL_SUM: {
        const char *k;
        json_t *x;
        long long sum = 0;
        json_object_foreach(v, k, x) sum += json_integer_value(x);
        snprintf(out->text, TCELL, "%lld", sum);
        break;
    }
    }
}

/* Fills t: the heading, then one row per item of `rows` (an array, or
 * one object). */
static void
table_fill(table_t *t, json_t *rows)
{
    size_t n = json_is_array(rows) ? json_array_size(rows) : 1;
    t->cells = calloc((n + 1) * t->ncols, sizeof *t->cells);
    t->nrows = t->cells ? n + 1 : 0;
    for (size_t c = 0; t->cells && c < t->ncols; c++)
        snprintf(t->cells[c].text, TCELL, "%s", t->cols[c].head);
    for (size_t r = 0; t->cells && r < n; r++) {
        json_t *row = json_is_array(rows) ? json_array_get(rows, r) : rows;
        for (size_t c = 0; c < t->ncols; c++)
            cell_of(t, &t->cols[c], row, &t->cells[(r + 1) * t->ncols + c]);
    }
}

static void
table_print(table_t *t, FILE *out)
{
    int width[TCOLS] = {0};
    for (size_t i = 0; i < t->nrows * t->ncols; i++) {
        int w = (int)strlen(t->cells[i].text);
        if (w > width[i % t->ncols])
            width[i % t->ncols] = w;
    }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const cell_t *x = &t->cells[r * t->ncols + c];
            bool left = t->cols[c].kind == COL_STR || r == 0;
            const char *sep = c + 1 < t->ncols ? "  " : "\n";
            if (x->color)
                fprintf(out, "%s", x->color);
            if (left && c + 1 == t->ncols)
                fprintf(out, "%s", x->text);
            else
                fprintf(out, left ? "%-*s" : "%*s", width[c], x->text);
            fprintf(out, "%s%s", x->color ? "\033[0m" : "", sep);
        }
    }
    free(t->cells);
    t->cells = NULL;
}

static void
print_rows(FILE *out, const column_t *cols, size_t ncols, json_t *rows,
           bool color)
{
    table_t t = {cols, ncols < TCOLS ? ncols : TCOLS, NULL, 0, color};
    table_fill(&t, rows);
    table_print(&t, out);
}
#define PRINT_ROWS(out, cols, rows, color)                                     \
    print_rows(out, cols, sizeof cols / sizeof cols[0], rows, color)

/* ---- the statistics report ---------------------------------------------- */

/* One window of the region, as a row of the region table. */
static const column_t window_cols[] = {
    {"WINDOW", "window", COL_STR},
    {"OFFERED", "offered", COL_INT},
    {"ANSWERED", "answered", COL_INT},
    {"ABANDONED", "abandoned", COL_INT},
    {"SL", "service_level", COL_PCT},
    {"ABANDON%", "abandon_rate", COL_PCT},
    {"ASA", "asa_seconds", COL_SECS},
    {"AHT", "aht_seconds", COL_SECS},
    {"COMPLETED", "completed", COL_INT},
    {"FAILED", "failed", COL_INT},
    {"DEAD", "dead", COL_INT},
    {"DEADLINE MET", "deadline_met_percent", COL_PCT},
    {"OCC", "occupancy", COL_PCT},
};

static const column_t site_cols[] = {
    {"SITE", "site", COL_STR},
    {"OPEN", "open", COL_BOOL},
    {"READY", "live.agents.ready", COL_INT},
    {"NOT-READY", "live.agents.not-ready", COL_INT},
    {"BREAK", "live.agents.break", COL_INT},
    {"WRAP-UP", "live.agents.wrap-up", COL_INT},
    {"BUSY", "live.agents.busy", COL_INT},
    {"OCC", "live.occupancy", COL_PCT},
    {"WAITING", "live.waiting", COL_INT},
    {"OLDEST", "live.oldest_wait_seconds", COL_SECS},
    {"ANSWERED", "today.answered", COL_INT},
    {"ABANDONED", "today.abandoned", COL_INT},
    {"SL", "today.service_level", COL_PCT},
    {"AHT", "today.aht_seconds", COL_SECS},
    {"COMPLETED", "today.completed", COL_INT},
    {"OCC TODAY", "today.occupancy", COL_PCT},
};

static const column_t queue_cols[] = {
    {"CHANNEL", "channel", COL_STR},
    {"SPONSOR", "sponsor", COL_STR},
    {"WAITING", "live.waiting", COL_INT},
    {"OLDEST", "live.oldest_wait_seconds", COL_SECS},
    {"ACTIVE", "live.active", COL_INT},
    {"OFFERED", "today.offered", COL_INT},
    {"ABANDONED", "today.abandoned", COL_INT},
    {"SL 15M", "last_15m.service_level", COL_SL},
    {"SL TODAY", "today.service_level", COL_SL},
    {"TARGET", "service_level_target.percent", COL_INT},
    {"ASA", "today.asa_seconds", COL_SECS},
    {"AHT", "today.aht_seconds", COL_SECS},
    {"DONE TODAY", "today.completed", COL_INT},
    {"FAILED", "today.failed", COL_INT},
    {"DEAD", "today.dead", COL_INT},
    {"ON TIME", "today.deadline_met_percent", COL_PCT},
    {"BACKLOG", "live.backlog_by_age", COL_SUM},
};

static const column_t backlog_cols[] = {
    {"CHANNEL", "channel", COL_STR},
    {"SPONSOR", "sponsor", COL_STR},
    {"0-5m", "live.backlog_by_age.0-5m", COL_INT},
    {"5-15m", "live.backlog_by_age.5-15m", COL_INT},
    {"15m-1h", "live.backlog_by_age.15m-1h", COL_INT},
    {"1h-4h", "live.backlog_by_age.1h-4h", COL_INT},
    {"4h-1d", "live.backlog_by_age.4h-1d", COL_INT},
    {"1d+", "live.backlog_by_age.1d+", COL_INT},
};

static const column_t peer_cols[] = {
    {"PEER", "name", COL_STR},
    {"UP", "up", COL_BOOL},
    {"SILENT", "silent_seconds", COL_SECS},
    {"AGENTS", "agents", COL_INT},
    {"READY", "ready", COL_INT},
    {"HANDED NOW", "handed", COL_INT},
    {"FORWARDED", "forwarded", COL_INT},
    {"REFUSED", "refused", COL_INT},
    {"RESULTS", "results", COL_INT},
    {"RECLAIMS", "reclaims_pending", COL_INT},
};

/* The region's windows as rows {"window": name, ...figures}. */
static json_t *
region_windows(json_t *region)
{
    static const char *const names[] = {"last_15m", "today", "total"};
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < 3; i++) {
        json_t *w = json_deep_copy(json_object_get(region, names[i]));
        if (!w)
            continue;
        json_object_set_new(w, "window", json_string(names[i]));
        json_array_append_new(rows, w);
    }
    return rows;
}

/* Queues with a non-voice backlog (new reference). */
static json_t *
backlogged(json_t *queues)
{
    json_t *rows = json_array(), *q;
    size_t i;
    json_array_foreach(queues, i, q) {
        const char *k;
        json_t *x;
        long long sum = 0;
        json_object_foreach(jpath(q, "live.backlog_by_age"), k, x)
            sum += json_integer_value(x);
        if (sum)
            json_array_append(rows, q);
    }
    return rows;
}

static void
region_line(FILE *out, json_t *doc)
{
    json_t *r = json_object_get(doc, "region");
    char oldest[TCELL] = "-", longest[TCELL] = "-";
    json_t *o = jpath(r, "live.oldest_wait_seconds");
    json_t *l = jpath(r, "live.longest_call_wait_seconds");
    if (json_is_number(o))
        fmt_secs(json_number_value(o), oldest, sizeof oldest);
    if (json_is_number(l))
        fmt_secs(json_number_value(l), longest, sizeof longest);
    fprintf(out, "Region %s  (today in %s)  %s\n",
            json_string_value(json_object_get(r, "name")),
            json_string_value(json_object_get(r, "tz")),
            json_string_value(json_object_get(doc, "generated_at")));
    fprintf(out, "Now: %lld waiting (oldest %s), %lld calls waiting "
            "(longest %s), %lld active, %lld scheduled; agents %lld ready, "
            "%lld busy of %lld\n\n",
            (long long)json_integer_value(jpath(r, "live.waiting")), oldest,
            (long long)json_integer_value(jpath(r, "live.calls_waiting")),
            longest, (long long)json_integer_value(jpath(r, "live.active")),
            (long long)json_integer_value(jpath(r, "live.scheduled")),
            (long long)json_integer_value(jpath(r, "live.agents.ready")),
            (long long)json_integer_value(jpath(r, "live.agents.busy")),
            (long long)json_integer_value(jpath(r, "live.agents.total")));
}

static void
stats_report(FILE *out, json_t *doc, bool color)
{
    json_t *queues = json_object_get(doc, "queues");
    region_line(out, doc);
    json_t *rows = region_windows(json_object_get(doc, "region"));
    PRINT_ROWS(out, window_cols, rows, color);
    json_decref(rows);
    fprintf(out, "\nSites (live; figures of today)\n");
    PRINT_ROWS(out, site_cols, json_object_get(doc, "sites"), color);
    fprintf(out, "\nQueues (live; figures of today unless named)\n");
    if (json_array_size(queues))
        PRINT_ROWS(out, queue_cols, queues, color);
    else
        fprintf(out, "no queues yet\n");
    rows = backlogged(queues);
    if (json_array_size(rows)) {
        fprintf(out, "\nBacklog by age (non-voice, waiting or scheduled)\n");
        PRINT_ROWS(out, backlog_cols, rows, color);
    }
    json_decref(rows);
    json_t *peers = json_object_get(doc, "peers");
    if (json_array_size(peers)) {
        fprintf(out, "\nPeer regions (counts since the broker started)\n");
        PRINT_ROWS(out, peer_cols, peers, color);
    }
}

/* ---- the sites report --------------------------------------------------- */

static const column_t sites_cols[] = {
    {"SITE", "site", COL_STR},
    {"COUNTRY", "country", COL_STR},
    {"TZ", "tz", COL_STR},
    {"HOURS", "hours", COL_STR},
    {"OPEN", "open", COL_BOOL},
    {"LOCAL", "local_time", COL_STR},
    {"READY", "agents.ready", COL_INT},
    {"NOT-READY", "agents.not-ready", COL_INT},
    {"BREAK", "agents.break", COL_INT},
    {"WRAP-UP", "agents.wrap-up", COL_INT},
    {"BUSY", "agents.busy", COL_INT},
    {"AGENTS", "agents.total", COL_INT},
};

static void
sites_report(FILE *out, json_t *doc, bool color)
{
    json_t *sites = json_object_get(doc, "sites");
    if (!json_array_size(sites)) {
        fprintf(out, "no sites\n");
        return;
    }
    PRINT_ROWS(out, sites_cols, sites, color);
}

/* ---- commands ----------------------------------------------------------- */

typedef swb_err_t (*fetch_fn)(swb_client_t *c, const char *site,
                              char **json);
typedef void (*report_fn)(FILE *out, json_t *doc, bool color);

static swb_err_t
fetch_stats(swb_client_t *c, const char *site, char **json)
{
    return swb_client_stats(c, site, json);
}

static swb_err_t
fetch_sites(swb_client_t *c, const char *site, char **json)
{
    (void)site;
    return swb_client_sites(c, json);
}

typedef struct stats_cmd {
    const char *site;
    bool watch;
    const char *what; /* "stats" / "sites" for messages */
    fetch_fn fetch;
    report_fn report;
} stats_cmd_t;

enum { OPT_SITE = 256, OPT_WATCH };

static int
stats_option(void *state, int id, const char *opt, const char *arg)
{
    stats_cmd_t *sc = state;
    switch (id) {
    case OPT_SITE:
        sc->site = arg;
        return cli_opt_name(opt, arg, SWB_MAX_NAME);
    case OPT_WATCH:
        sc->watch = true;
        return CLI_CONTINUE;
    default:
        return cli_usage("internal: option %s has no handler", opt);
    }
}

static volatile sig_atomic_t stop_watch;

static void
on_interrupt(int sig)
{
    (void)sig;
    stop_watch = 1;
    zsys_interrupted = 1; /* the client's poll gives up at once */
}

/* Fetches and renders one report into *text (malloc'd). Returns the
 * library's error (the report then says why). */
static swb_err_t
render_once(cli_ctx_t *ctx, const stats_cmd_t *sc, bool tty, char **text)
{
    size_t len;
    char *json = NULL;
    FILE *out = open_memstream(text, &len);
    if (!out)
        return SWB_ENOMEM;
    swb_err_t rc = sc->fetch(ctx->client, sc->site, &json);
    json_t *doc = rc ? NULL : json_loads(json, 0, NULL);
    if (rc)
        fprintf(out, "switchboard: %s: %s\n", sc->what,
                *swb_client_last_error(ctx->client)
                    ? swb_client_last_error(ctx->client)
                    : swb_strerror(rc));
    else if (!doc)
        fprintf(out, "switchboard: %s: the broker sent a document that is "
                "not JSON\n", sc->what);
    else if (ctx->json)
        fprintf(out, "%s\n", json);
    else
        sc->report(out, doc, tty && !getenv("NO_COLOR"));
    if (!rc && !doc)
        rc = SWB_EPROTO;
    json_decref(doc);
    free(json);
    fclose(out);
    return rc;
}

static int
stats_run(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv,
          stats_cmd_t *sc, const struct option *opts)
{
    int first, rc = cli_getopt(ctx, cmd, argc, argv, opts, stats_option, sc,
                               &first);
    if (rc == CLI_CONTINUE)
        rc = cli_positionals(cmd, argc - first, argv + first, 0, 0);
    if (rc == CLI_CONTINUE)
        rc = cli_connect(ctx);
    if (rc != CLI_CONTINUE)
        return rc;
    bool tty = isatty(STDOUT_FILENO);
    if (sc->watch)
        signal(SIGINT, on_interrupt);
    do {
        char *text = NULL;
        swb_err_t err = render_once(ctx, sc, tty, &text);
        if (!sc->watch) {
            if (err) {
                free(text);
                return cli_fail(ctx, err, sc->what);
            }
            fputs(text, stdout);
            free(text);
            return CLI_EXIT_OK;
        }
        if (stop_watch) {
            free(text);
            break;
        }
        if (tty)
            fputs("\033[H\033[2J", stdout); /* home, clear */
        fputs(text ? text : "", stdout);
        if (!ctx->json && !tty)
            fputs("\n", stdout);
        fflush(stdout);
        free(text);
        for (int i = 0; i < 10 && !stop_watch; i++)
            zclock_sleep(100);
    } while (!stop_watch);
    return CLI_EXIT_OK;
}

static int
run_stats(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"site", required_argument, NULL, OPT_SITE},
        {"watch", no_argument, NULL, OPT_WATCH},
        {NULL, 0, NULL, 0},
    };
    stats_cmd_t sc = {NULL, false, "stats", fetch_stats, stats_report};
    return stats_run(ctx, cmd, argc, argv, &sc, opts);
}

static int
run_sites(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"watch", no_argument, NULL, OPT_WATCH},
        {NULL, 0, NULL, 0},
    };
    stats_cmd_t sc = {NULL, false, "sites", fetch_sites, sites_report};
    return stats_run(ctx, cmd, argc, argv, &sc, opts);
}

const cli_cmd_t cli_cmd_stats = {
    "stats", run_stats, "[--watch] [--site ID]",
    "Show service level, queues, agents and throughput of the region.",
    "Tables: the region's windows (last 15 minutes, today, total), each\n"
    "site (agents by state, occupancy, waiting work, today's figures) and\n"
    "each queue (channel x sponsor: waiting, oldest wait, service level\n"
    "against its target, ASA, AHT, throughput, failures, backlog by age).\n"
    "With --json: the broker's statistics document (keys and units in\n"
    "broker/stats.h), the same as its HTTP /api/v1/stats.\n\n"
    "Options:\n"
    "  --site ID               only site ID in the sites table / \"sites\"\n"
    "  --watch                 redraw every second until Ctrl-C (with "
    "--json:\n"
    "                          one document per line)\n"};

const cli_cmd_t cli_cmd_sites = {
    "sites", run_sites, "[--watch]",
    "List the region's sites: country, time zone, hours, open, agents.",
    "With --json: the broker's sites document (broker/stats.h), the same\n"
    "as its HTTP /api/v1/sites.\n\n"
    "Options:\n"
    "  --watch                 redraw every second until Ctrl-C\n"};
