/*
 * cli_batch.c - `switchboard submit --batch FILE`: one JSON task per
 * line, pipelined to the broker.
 *
 * The file is read line by line (never whole). Each line is checked by
 * the same key table as the submit options (cli_spec.c), then sent with
 * swb_client_send_submit; up to BATCH_WINDOW submits are in flight and
 * replies are matched to line numbers by their req. A line without "key"
 * gets "batch:<hash of the file's absolute path>:<line>", so running the
 * same file again resumes it: what was stored comes back as duplicates.
 *
 * On a terminal, stderr shows a progress bar (bytes read, rate, ETA).
 * The summary (stdout, or one JSON document) counts submitted,
 * duplicates and rejected lines with their reasons. Exit 0 when nothing
 * was rejected, 2 when some lines were, 3 when the broker went silent or
 * refused work (store full): the run stops there and can be repeated.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_spec.h"
#include "swb_domain.h"

#define BATCH_WINDOW 256      /* submits in flight                     */
#define BATCH_LISTED 1000     /* rejections kept for the summary       */
#define BATCH_BAR 30          /* progress bar width                    */
#define BATCH_DRAW_MS 100     /* redraw the bar at most this often     */

typedef struct inflight {
    uint64_t req;
    uint64_t line;
} inflight_t;

typedef struct rejection {
    uint64_t line;
    char *reason;
} rejection_t;

typedef struct batch {
    cli_ctx_t *ctx;
    const char *path;
    char keybase[40]; /* "batch:<hash>"; "" = no derived keys (stdin) */
    uint64_t lines, submitted, duplicates, rejected;
    inflight_t flight[BATCH_WINDOW];
    size_t nflight;
    rejection_t *rej; /* the first BATCH_LISTED rejections */
    size_t nrej;
    swb_err_t fatal; /* why the run stopped early, or SWB_OK    */
    char fatal_msg[700];
    uint64_t fatal_line;
    bool bar;               /* draw the progress bar                */
    uint64_t size, consumed; /* file bytes: total (0 = unknown), read */
    uint64_t start_ms, drawn_ms;
} batch_t;

/* ---- bookkeeping ------------------------------------------------------- */

static void
batch_reject(batch_t *b, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
batch_reject(batch_t *b, uint64_t line, const char *fmt, ...)
{
    b->rejected++;
    if (b->nrej >= BATCH_LISTED)
        return;
    char reason[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    rejection_t *r = &b->rej[b->nrej];
    r->line = line;
    r->reason = strdup(reason);
    if (r->reason)
        b->nrej++;
}

static void
batch_stop(batch_t *b, swb_err_t rc, uint64_t line, const char *msg)
{
    if (b->fatal)
        return;
    b->fatal = rc;
    b->fatal_line = line;
    snprintf(b->fatal_msg, sizeof b->fatal_msg, "%s", msg);
}

/* "batch:" + FNV-1a 64 of the absolute path. */
static void
batch_keybase(batch_t *b)
{
    char *abs = strcmp(b->path, "-") ? realpath(b->path, NULL) : NULL;
    if (!abs)
        return;
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)abs; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    snprintf(b->keybase, sizeof b->keybase, "batch:%016llx",
             (unsigned long long)h);
    free(abs);
}

/* ---- progress ----------------------------------------------------------- */

static void
clock_text(double sec, char *out, size_t n)
{
    unsigned long s = sec > 0 && sec < 360000 ? (unsigned long)sec : 0;
    if (s >= 3600)
        snprintf(out, n, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, n, "%lu:%02lu", s / 60, s % 60);
}

static void
batch_progress(batch_t *b, bool done)
{
    if (!b->bar)
        return;
    uint64_t now = swb_mono_ms();
    if (done) {
        fputs("\r\033[K", stderr);
        return;
    }
    if (now - b->drawn_ms < BATCH_DRAW_MS)
        return;
    b->drawn_ms = now;
    double secs = (double)(now - b->start_ms) / 1000.0;
    uint64_t acked = b->submitted + b->duplicates + b->rejected;
    double rate = secs > 0 ? (double)acked / secs : 0;
    if (!b->size) {
        fprintf(stderr, "\r%llu tasks  %.0f/s\033[K",
                (unsigned long long)acked, rate);
        return;
    }
    uint64_t done_bytes = b->consumed < b->size ? b->consumed : b->size;
    char bar[BATCH_BAR + 1], eta[24] = "-";
    size_t fill = (size_t)(done_bytes * BATCH_BAR / b->size);
    memset(bar, '#', fill);
    memset(bar + fill, '.', BATCH_BAR - fill);
    bar[BATCH_BAR] = 0;
    if (done_bytes && secs > 0.5)
        clock_text(secs * (double)(b->size - done_bytes) / (double)done_bytes,
                   eta, sizeof eta);
    fprintf(stderr, "\r[%s] %3u%%  %llu tasks  %.0f/s  ETA %s\033[K", bar,
            (unsigned)(done_bytes * 100 / b->size), (unsigned long long)acked,
            rate, eta);
}

/* ---- replies ------------------------------------------------------------ */

/* Takes one submit reply (waiting up to the connect timeout). Returns
 * false when none came: the broker is silent. */
static bool
batch_collect(batch_t *b)
{
    swb_client_t *c = b->ctx->client;
    uint64_t req = 0, id = 0;
    bool dup = false;
    swb_err_t rc = swb_client_recv_submitted(c, b->ctx->connect_timeout_ms,
                                             &req, &id, &dup);
    if (rc == SWB_ETIMEOUT) {
        char msg[200];
        snprintf(msg, sizeof msg, "broker %s unreachable: no reply for %d ms "
                 "with %zu submits in flight", b->ctx->broker,
                 b->ctx->connect_timeout_ms, b->nflight);
        batch_stop(b, SWB_EUNREACHABLE, b->flight[0].line, msg);
        return false;
    }
    if (rc && !req) { /* nothing the broker said about one line */
        batch_stop(b, rc, b->flight[0].line, swb_client_last_error(c));
        return false;
    }
    size_t i = 0;
    while (i < b->nflight && b->flight[i].req != req)
        i++;
    if (i == b->nflight)
        return true; /* not ours (any more) */
    uint64_t line = b->flight[i].line;
    b->flight[i] = b->flight[--b->nflight];
    if (rc == SWB_OK && dup)
        b->duplicates++;
    else if (rc == SWB_OK)
        b->submitted++;
    else if (cli_exit_code(rc) == CLI_EXIT_USAGE)
        batch_reject(b, line, "%s", swb_client_last_error(c));
    else
        batch_stop(b, rc, line, swb_client_last_error(c));
    return true;
}

/* ---- lines -------------------------------------------------------------- */

/* A JSON string or number as text (numbers into buf). */
static const char *
scalar_text(const json_t *v, char *buf, size_t n)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, n, "%.17g", json_real_value(v));
    else
        return NULL;
    return buf;
}

/* Sets one key of a batch line from its JSON value. */
static swb_err_t
json_set(cli_spec_t *s, const char *key, json_t *v, char *why, size_t n)
{
    cli_key_kind_t kind = cli_spec_kind(key);
    char num[64], item[400];
    const char *text;
    size_t i;
    json_t *e;
    swb_err_t rc = SWB_OK;
    if (kind == CLI_KEY_UNKNOWN) {
        snprintf(why, n, "unknown key (keys are the submit options: channel, "
                 "sponsor, lang, skills, priority, deadline, patience, "
                 "window, tz, not_before, sites, countries, key, payload, "
                 "max_attempts)");
        return SWB_EINVAL;
    }
    if (json_is_null(v))
        return SWB_OK;
    if (kind == CLI_KEY_TEXT) {
        if (json_is_string(v))
            return cli_spec_set_payload(s, json_string_value(v),
                                        json_string_length(v), why, n);
        char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        rc = dump ? cli_spec_set_payload(s, dump, strlen(dump), why, n)
                  : SWB_ENOMEM;
        free(dump);
        return rc;
    }
    if ((text = scalar_text(v, num, sizeof num)))
        return cli_spec_set(s, key, text, why, n);
    if (json_is_array(v) && kind != CLI_KEY_ONE) {
        json_array_foreach(v, i, e) {
            if (!(text = scalar_text(e, num, sizeof num))) {
                snprintf(why, n, "item %zu is not a string or number", i);
                return SWB_EINVAL;
            }
            if ((rc = cli_spec_set(s, key, text, why, n)))
                return rc;
        }
        return SWB_OK;
    }
    if (json_is_object(v) && kind == CLI_KEY_LEVELS) {
        const char *name;
        json_object_foreach(v, name, e) {
            if (!(text = scalar_text(e, num, sizeof num))) {
                snprintf(why, n, "the level of \"%s\" is not a string or "
                         "number", name);
                return SWB_EINVAL;
            }
            snprintf(item, sizeof item, "%s:%s", name, text);
            if ((rc = cli_spec_set(s, key, item, why, n)))
                return rc;
        }
        return SWB_OK;
    }
    snprintf(why, n, "must be %s", kind == CLI_KEY_LEVELS
                                       ? "\"a:1,b:2\" or an object"
                                   : kind == CLI_KEY_LIST
                                       ? "a string or a list"
                                       : "a string or a number");
    return SWB_EINVAL;
}

/* Checks one line into *s; false (and the line rejected) when bad. */
static bool
batch_parse(batch_t *b, uint64_t line, const char *text, size_t len,
            cli_spec_t *s)
{
    json_error_t jerr;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    char why[600];
    const char *key = NULL;
    json_t *v;
    bool ok = false;
    if (!o) {
        batch_reject(b, line, "not JSON: %s (column %d)", jerr.text,
                     jerr.column);
        return false;
    }
    if (!json_is_object(o)) {
        batch_reject(b, line, "a line must be one JSON object");
        goto out;
    }
    json_object_foreach(o, key, v) {
        if (json_set(s, key, v, why, sizeof why)) {
            batch_reject(b, line, "%s: %s", key, why);
            goto out;
        }
    }
    if (cli_spec_finish(s, &key, why, sizeof why)) {
        batch_reject(b, line, "%s: %s", key, why);
        goto out;
    }
    if (!s->spec.key && *b->keybase) {
        char derived[80];
        snprintf(derived, sizeof derived, "%s:%llu", b->keybase,
                 (unsigned long long)line);
        if (cli_spec_set(s, "key", derived, why, sizeof why)) {
            batch_reject(b, line, "key: %s", why);
            goto out;
        }
    }
    ok = true;
out:
    json_decref(o);
    return ok;
}

/* Checks and sends one line, first making room in the window. */
static void
batch_line(batch_t *b, uint64_t line, const char *text, size_t len)
{
    cli_spec_t s;
    cli_spec_init(&s, false);
    b->lines++;
    if (batch_parse(b, line, text, len, &s)) {
        while (b->nflight >= BATCH_WINDOW && !b->fatal)
            batch_collect(b);
        uint64_t req;
        swb_err_t rc = b->fatal ? SWB_OK
                                : swb_client_send_submit(b->ctx->client,
                                                         &s.spec, &req);
        if (rc)
            batch_stop(b, rc, line, swb_client_last_error(b->ctx->client));
        else if (!b->fatal)
            b->flight[b->nflight++] = (inflight_t){req, line};
    }
    cli_spec_free(&s);
}

static bool
blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

/* ---- summary ------------------------------------------------------------ */

static int
by_line(const void *a, const void *b)
{
    uint64_t x = ((const rejection_t *)a)->line;
    uint64_t y = ((const rejection_t *)b)->line;
    return x < y ? -1 : x > y;
}

static void
batch_summary(batch_t *b)
{
    /* Local rejections come at once, the broker's later: sort. */
    qsort(b->rej, b->nrej, sizeof *b->rej, by_line);
    if (b->ctx->json) {
        json_t *rej = json_array();
        for (size_t i = 0; i < b->nrej; i++)
            json_array_append_new(rej, json_pack("{s:I, s:s}", "line",
                                                 (json_int_t)b->rej[i].line,
                                                 "reason", b->rej[i].reason));
        json_t *err = b->fatal
                          ? json_pack("{s:s, s:I, s:s}", "code",
                                      swb_err_name(b->fatal), "line",
                                      (json_int_t)b->fatal_line, "message",
                                      b->fatal_msg)
                          : json_null();
        cli_print_json(json_pack(
            "{s:s, s:I, s:I, s:I, s:I, s:o, s:b, s:o}", "file", b->path,
            "lines", (json_int_t)b->lines, "submitted",
            (json_int_t)b->submitted, "duplicates", (json_int_t)b->duplicates,
            "rejected", (json_int_t)b->rejected, "rejections", rej,
            "complete", !b->fatal, "error", err));
    } else {
        printf("%s: %llu lines: %llu submitted, %llu duplicates, %llu "
               "rejected\n", b->path, (unsigned long long)b->lines,
               (unsigned long long)b->submitted,
               (unsigned long long)b->duplicates,
               (unsigned long long)b->rejected);
        for (size_t i = 0; i < b->nrej; i++)
            printf("  line %llu: %s\n", (unsigned long long)b->rej[i].line,
                   b->rej[i].reason);
        if (b->rejected > b->nrej)
            printf("  ... and %llu more rejected lines\n",
                   (unsigned long long)(b->rejected - b->nrej));
    }
    if (b->fatal)
        fprintf(stderr, "switchboard: --batch: stopped at line %llu: %s; "
                "run the same command again to resume\n",
                (unsigned long long)b->fatal_line, b->fatal_msg);
    else if (b->rejected)
        fprintf(stderr, "switchboard: --batch: %llu of %llu lines "
                "rejected\n", (unsigned long long)b->rejected,
                (unsigned long long)b->lines);
}

/* ---- the run ------------------------------------------------------------ */

static int
batch_open(batch_t *b, FILE **f)
{
    bool std_in = strcmp(b->path, "-") == 0;
    struct stat st;
    *f = std_in ? stdin : fopen(b->path, "r");
    if (!*f)
        return cli_usage("--batch: cannot open \"%s\": %s", b->path,
                         strerror(errno));
    if (fstat(fileno(*f), &st) != 0)
        memset(&st, 0, sizeof st);
    if (S_ISDIR(st.st_mode)) {
        if (!std_in)
            fclose(*f);
        *f = NULL;
        return cli_usage("--batch: \"%s\" is a folder", b->path);
    }
    if (!std_in && S_ISREG(st.st_mode))
        b->size = (uint64_t)st.st_size;
    batch_keybase(b);
    return CLI_CONTINUE;
}

int
cli_batch_run(cli_ctx_t *ctx, const char *path)
{
    batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return cli_usage("--batch: out of memory");
    b->ctx = ctx;
    b->path = path;
    b->rej = calloc(BATCH_LISTED, sizeof *b->rej);
    FILE *f = NULL;
    int rc = b->rej ? batch_open(b, &f) : cli_usage("--batch: out of memory");
    if (rc == CLI_CONTINUE)
        rc = cli_connect(ctx);
    if (rc != CLI_CONTINUE) {
        if (f && f != stdin)
            fclose(f);
        free(b->rej);
        free(b);
        return rc;
    }
    b->bar = isatty(2);
    b->start_ms = swb_mono_ms();

    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t line = 0;
    while (!b->fatal && (n = getline(&buf, &cap, f)) >= 0) {
        line++;
        b->consumed += (uint64_t)n;
        if (!blank(buf, (size_t)n))
            batch_line(b, line, buf, (size_t)n);
        batch_progress(b, false);
    }
    if (!b->fatal && ferror(f)) {
        char msg[300];
        snprintf(msg, sizeof msg, "cannot read \"%s\": %s", path,
                 strerror(errno));
        batch_stop(b, SWB_EINVAL, line, msg);
    }
    /* Collect what is in flight; after a refusal, still count the
     * replies that come, until the broker goes silent. */
    while (b->nflight && b->fatal != SWB_EUNREACHABLE && batch_collect(b))
        batch_progress(b, false);
    batch_progress(b, true);
    batch_summary(b);

    if (b->fatal)
        rc = b->fatal == SWB_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_BROKER;
    else
        rc = b->rejected ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    free(buf);
    if (f != stdin)
        fclose(f);
    for (size_t i = 0; i < b->nrej; i++)
        free(b->rej[i].reason);
    free(b->rej);
    free(b);
    return rc;
}
