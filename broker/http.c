/*
 * http.c - the broker's HTTP port on libmicrohttpd (see http.h).
 *
 * What it does: binds the listening socket itself (so a port in use is a
 * clear start-up error), runs MHD without threads in its epoll mode, and
 * routes GET requests through one {path, handler} table to the pages:
 *   /                 the wallboard (wallboard.html, embedded at build)
 *   /metrics          Prometheus text (metrics.c, from the stats document)
 *   /api/v1           the list of endpoints
 *   /api/v1/stats     the statistics document (stats.c), ?site=ID filters
 *   /api/v1/sites     the sites document (stats.c)
 *   /api/v1/agents    agents as `switchboard agents --json` shows them
 *                     (agent.c), ?site=ID filters
 *   /healthz          "ok" while the loop turns
 * What it does not do: compute statistics (stats.c), hold state between
 * requests, accept request bodies, or run on any thread but the broker's.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker_int.h"
#include "swb_log.h"
#include "metrics.h"
#include "stats.h"

/* The page, generated from wallboard.html by broker/embed.cmake. */
extern const char swb_wallboard_html[];
extern const size_t swb_wallboard_html_len;

#define HTTP_CONN_LIMIT 128    /* open connections at once            */
#define HTTP_CONN_TIMEOUT_S 30 /* an idle connection is closed after  */

struct swb_http {
    swb_broker_t *b;
    struct MHD_Daemon *d;
    struct MHD_Response *page; /* the wallboard, built once */
    int fd;                    /* MHD's epoll set           */
    int port;
};

/* What a handler answers: a status and a body. */
typedef struct http_reply {
    unsigned status;
    const char *type;  /* Content-Type                             */
    char *body;        /* malloc'd, or NULL for an empty body      */
    size_t len;
    struct MHD_Response *shared; /* a prebuilt response instead   */
} http_reply_t;

typedef void (*http_handler_fn)(swb_http_t *h, struct MHD_Connection *c,
                                http_reply_t *r);

typedef struct http_route {
    const char *path;
    http_handler_fn fn;
    const char *what; /* for the /api/v1 index */
} http_route_t;

/* ---- replies ---- */

static void
reply_text(http_reply_t *r, unsigned status, const char *type,
           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
reply_text(http_reply_t *r, unsigned status, const char *type,
           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&r->body, fmt, ap);
    va_end(ap);
    r->status = status;
    r->type = type;
    if (n < 0) {
        r->body = NULL;
        r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        r->len = 0;
    } else {
        r->len = (size_t)n;
    }
}

/* An error as JSON: {"error": {"code": ..., "message": ...}}. */
static void
reply_error(http_reply_t *r, unsigned status, const char *code,
            const char *message)
{
    json_t *doc = json_pack("{s:{s:s,s:s}}", "error", "code", code,
                            "message", message);
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    r->status = status;
    r->type = "application/json";
    r->body = s;
    r->len = s ? strlen(s) : 0;
}

/* Takes the document (steals the reference); NULL answers 500. */
static void
reply_json(http_reply_t *r, json_t *doc)
{
    if (!doc) {
        reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                    "the document could not be built");
        return;
    }
    char *s = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(doc);
    if (!s) {
        reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                    "out of memory");
        return;
    }
    r->status = MHD_HTTP_OK;
    r->type = "application/json";
    r->body = s;
    r->len = strlen(s);
}

/* ?site=ID, or NULL. Borrowed from the connection (valid in the
 * handler). An empty value counts as absent. */
static const char *
arg_site(struct MHD_Connection *c)
{
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                "site");
    return s && *s ? s : NULL;
}

/* ---- pages ---- */

static void
page_wallboard(swb_http_t *h, struct MHD_Connection *c, http_reply_t *r)
{
    (void)c;
    r->status = MHD_HTTP_OK;
    r->shared = h->page;
}

static void
page_metrics(swb_http_t *h, struct MHD_Connection *c, http_reply_t *r)
{
    (void)c;
    json_t *stats = swb_stats_json(h->b, NULL);
    char *text = NULL;
    size_t len = 0;
    swb_err_t rc = stats ? swb_metrics_text(stats, &text, &len) : SWB_ENOMEM;
    json_decref(stats);
    if (rc) {
        reply_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
                   "metrics could not be built: %s\n", swb_strerror(rc));
        return;
    }
    r->status = MHD_HTTP_OK;
    r->type = "text/plain; version=0.0.4; charset=utf-8";
    r->body = text;
    r->len = len;
}

/* Answers 404 and returns false for ?site= naming no known site. */
static bool
site_known(swb_http_t *h, const char *site, http_reply_t *r)
{
    if (!site || swb_stats_site_known(h->b, site))
        return true;
    char msg[160];
    snprintf(msg, sizeof msg, "no site \"%.64s\" (not configured, no "
             "agents, no counters)", site);
    reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", msg);
    return false;
}

static void
page_stats(swb_http_t *h, struct MHD_Connection *c, http_reply_t *r)
{
    const char *site = arg_site(c);
    if (site_known(h, site, r))
        reply_json(r, swb_stats_json(h->b, site));
}

static void
page_sites(swb_http_t *h, struct MHD_Connection *c, http_reply_t *r)
{
    (void)c;
    reply_json(r, swb_sites_json(h->b));
}

/* ISO-8601 UTC of unix ms ("2026-11-22T19:40:01.123Z"). */
static void
iso_time(uint64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
}

/* One agent, with the keys of `switchboard agents --json`. */
static json_t *
agent_json(const swb_agent_info_t *a)
{
    char since[40];
    json_t *ch = json_array();
    for (size_t i = 0; ch && i < a->channels.n; i++)
        json_array_append_new(ch, json_string(a->channels.v[i]));
    iso_time(a->since, since, sizeof since);
    return json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:o?,s:I,s:I,s:b}", "agent",
                     a->agent, "site", a->site, "state", a->state, "reason",
                     a->reason, "since", a->since ? since : NULL, "channels",
                     ch, "held", (json_int_t)a->held, "missed",
                     (json_int_t)a->missed, "connected", (int)a->connected);
}

static void
page_agents(swb_http_t *h, struct MHD_Connection *c, http_reply_t *r)
{
    swb_agent_info_t *v = NULL;
    size_t n = 0;
    swb_err_t rc = swb_agent_rows(h->b, arg_site(c), &v, &n);
    if (rc) {
        reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, swb_err_name(rc),
                    "the agents could not be read");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, agent_json(&v[i]));
    swb_agent_rows_free(&v, n);
    reply_json(r, arr ? json_pack("{s:o}", "agents", arr) : NULL);
}

static void
page_health(swb_http_t *h, struct MHD_Connection *c, http_reply_t *r)
{
    (void)c;
    reply_text(r, MHD_HTTP_OK, "text/plain", "ok region=%s\n",
               h->b->cfg->region);
}

static void page_index(swb_http_t *h, struct MHD_Connection *c,
                       http_reply_t *r);

static const http_route_t http_routes[] = {
    {"/", page_wallboard, "the live wallboard page"},
    {"/metrics", page_metrics, "Prometheus text format"},
    {"/api/v1", page_index, "this list"},
    {"/api/v1/stats", page_stats,
     "statistics per region, site and queue (?site=ID)"},
    {"/api/v1/sites", page_sites, "sites with their local time and hours"},
    {"/api/v1/agents", page_agents, "agents and their states (?site=ID)"},
    {"/healthz", page_health, "liveness"},
};
#define HTTP_NROUTES (sizeof http_routes / sizeof http_routes[0])

static void
page_index(swb_http_t *h, struct MHD_Connection *c, http_reply_t *r)
{
    (void)h;
    (void)c;
    json_t *eps = json_object();
    for (size_t i = 0; eps && i < HTTP_NROUTES; i++)
        json_object_set_new(eps, http_routes[i].path,
                            json_string(http_routes[i].what));
    reply_json(r, eps ? json_pack("{s:o}", "endpoints", eps) : NULL);
}

/* ---- MHD glue ---- */

static enum MHD_Result
send_reply(struct MHD_Connection *c, http_reply_t *r)
{
    struct MHD_Response *resp = r->shared;
    if (!resp) {
        resp = MHD_create_response_from_buffer(r->len, r->body ? r->body : "",
                                               r->body ? MHD_RESPMEM_MUST_FREE
                                                       : MHD_RESPMEM_PERSISTENT);
        if (!resp) {
            free(r->body);
            return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store");
    }
    if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, r->status, resp);
    if (!r->shared)
        MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **req_cls)
{
    swb_http_t *h = cls;
    (void)version;
    (void)upload;
    http_reply_t r = {0};
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        /* a body, if any, is not read: answer at once and close */
        if (!*req_cls) {
            *req_cls = h;
            *upload_size = 0;
        }
        reply_error(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "method",
                    "only GET and HEAD are served");
        return send_reply(c, &r);
    }
    size_t ulen = strlen(url);
    while (ulen > 1 && url[ulen - 1] == '/')
        ulen--; /* "/api/v1/stats/" is "/api/v1/stats" */
    for (size_t i = 0; i < HTTP_NROUTES; i++) {
        if (strlen(http_routes[i].path) == ulen &&
            memcmp(http_routes[i].path, url, ulen) == 0) {
            uint64_t t0 = swb_mono_ms();
            http_routes[i].fn(h, c, &r);
            uint64_t ms = swb_mono_ms() - t0;
            swb_log(ms > 100 ? SWB_LOG_WARN : SWB_LOG_DEBUG, "http",
                    "request", "path=%s status=%u bytes=%zu ms=%llu",
                    http_routes[i].path, r.status, r.len,
                    (unsigned long long)ms);
            return send_reply(c, &r);
        }
    }
    char msg[200];
    snprintf(msg, sizeof msg, "no page at %.120s; see /api/v1", url);
    reply_error(&r, MHD_HTTP_NOT_FOUND, "not_found", msg);
    return send_reply(c, &r);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char text[300];
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = 0;
    for (char *p = text; *p; p++)
        if (*p == '"')
            *p = '\'';
    swb_log(SWB_LOG_WARN, "http", "server", "why=\"%s\"", text);
}

/* ---- binding ---- */

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port. */
static swb_err_t
split_spec(const char *spec, char *host, size_t host_len, char *port,
           size_t port_len, char *why, size_t why_len)
{
    const char *colon;
    size_t hl;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':')
            goto bad;
        colon = end + 1;
        spec++;
        hl = (size_t)(end - spec);
    } else {
        colon = strrchr(spec, ':');
        if (!colon || strchr(spec, ':') != colon)
            goto bad;
        hl = (size_t)(colon - spec);
    }
    const char *p = colon + 1;
    size_t pl = strlen(p);
    if (hl == 0 || hl >= host_len || pl == 0 || pl >= port_len ||
        strspn(p, "0123456789") != pl || atol(p) > 65535)
        goto bad;
    memcpy(host, spec, hl);
    host[hl] = 0;
    memcpy(port, p, pl + 1);
    return SWB_OK;
bad:
    snprintf(why, why_len, "--http %s: expected HOST:PORT (port 0-65535) "
             "or off", spec);
    return SWB_EINVAL;
}

/* A listening socket on spec, or -1 with why filled. */
static int
listen_on(const char *spec, int *port_out, char *why, size_t why_len)
{
    char host[256], port[8];
    if (split_spec(spec, host, sizeof host, port, sizeof port, why, why_len))
        return -1;
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(why, why_len, "--http %s: cannot resolve %s: %s", spec, host,
                 gai_strerror(gai));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                    a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 64) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        snprintf(why, why_len, "cannot bind the HTTP port %s: %s%s", spec,
                 strerror(err),
                 err == EADDRINUSE ? " (another program listens there; "
                                     "choose another with --http or use "
                                     "--http off)"
                                   : "");
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *port_out = atoi(port);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *port_out = ss.ss_family == AF_INET6
                        ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* ---- lifecycle ---- */

swb_err_t
swb_http_new(swb_broker_t *b, const char *spec, swb_http_t **out, char *why,
             size_t why_len)
{
    *out = NULL;
    swb_http_t *h = calloc(1, sizeof *h);
    if (!h)
        return SWB_ENOMEM;
    h->b = b;
    h->fd = -1;
    int lfd = listen_on(spec, &h->port, why, why_len);
    if (lfd < 0) {
        free(h);
        return SWB_EINVAL;
    }
    h->page = MHD_create_response_from_buffer(swb_wallboard_html_len,
                                              (void *)swb_wallboard_html,
                                              MHD_RESPMEM_PERSISTENT);
    if (!h->page) {
        close(lfd);
        free(h);
        return SWB_ENOMEM;
    }
    MHD_add_response_header(h->page, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/html; charset=utf-8");
    MHD_add_response_header(h->page, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "no-store");
    /* the page may load nothing from anywhere but this broker */
    MHD_add_response_header(h->page, "Content-Security-Policy",
                            "default-src 'none'; connect-src 'self'; "
                            "style-src 'unsafe-inline'; "
                            "script-src 'unsafe-inline'; img-src data:");
    h->d = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)HTTP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)HTTP_CONN_TIMEOUT_S, MHD_OPTION_END);
    if (!h->d) {
        snprintf(why, why_len, "the HTTP server could not start on %s",
                 spec);
        close(lfd);
        MHD_destroy_response(h->page);
        free(h);
        return SWB_ESYS;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    h->fd = info ? info->epoll_fd : -1;
    if (h->fd < 0) {
        snprintf(why, why_len, "the HTTP server has no epoll descriptor");
        swb_http_destroy(&h);
        return SWB_ESYS;
    }
    swb_log(SWB_LOG_INFO, "http", "listening", "addr=%s port=%d", spec,
            h->port);
    *out = h;
    return SWB_OK;
}

void
swb_http_destroy(swb_http_t **hp)
{
    if (!hp || !*hp)
        return;
    swb_http_t *h = *hp;
    if (h->d)
        MHD_stop_daemon(h->d); /* closes the listening socket too */
    if (h->page)
        MHD_destroy_response(h->page);
    free(h);
    *hp = NULL;
}

int
swb_http_fd(const swb_http_t *h)
{
    return h->fd;
}

int
swb_http_port(const swb_http_t *h)
{
    return h->port;
}

void
swb_http_run(swb_http_t *h)
{
    if (MHD_run(h->d) != MHD_YES)
        swb_log(SWB_LOG_DEBUG, "http", "run_failed", "errno=%d", errno);
}
