/*
 * httpkit.h - what the HTTP tests (test_http.c, test_wallboard.c) share:
 * GET through Debian's curl command line (no HTTP code of our own in the
 * tests either), and a small live region with traffic to look at.
 *
 * The region: a broker with --http on a free loopback port, site s1
 * (PH, Asia/Manila) and sponsor acme; agent a1 does e-mail (`echo ok`),
 * agent a2 answers voice.inbound calls. Three e-mails and three acme
 * calls go through; then a2 signs off and two more acme calls wait. So
 * the figures settle at: answered 3 (all within 20 s: service level
 * 100), completed 6, calls waiting 2, one agent connected.
 */
#ifndef HTTPKIT_H
#define HTTPKIT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "swbtest.h"

/* Exit code ctest reads as "skipped" (SKIP_RETURN_CODE in CMake). */
#define HK_SKIP 77

typedef struct hk_resp {
    int status;    /* HTTP status, 0 when curl failed  */
    char *body;    /* malloc'd, NUL-terminated         */
    char *headers; /* malloc'd raw response headers    */
} hk_resp_t;

/* True when the curl command runs. */
bool hk_have_curl(void);
/* `curl -X method http://127.0.0.1:port<path>`; fills *r (free with
 * hk_resp_free). Returns r->status. method NULL = GET; "HEAD" uses -I. */
int hk_fetch(int port, const char *method, const char *path, hk_resp_t *r);
void hk_resp_free(hk_resp_t *r);
/* GET path as JSON (new reference) when the status is 200, else NULL. */
json_t *hk_get_json(int port, const char *path);
/* The number at a dotted path ("region.live.calls_waiting") of a
 * document; arrays are not walked. NAN when absent or not a number. */
double hk_num(const json_t *doc, const char *path);

typedef struct hk_region {
    char *dir;
    swbt_broker_t b;
    int http_port;
    pid_t a1, a2;
} hk_region_t;

/* Starts the region above and drives its traffic until the figures
 * settle (or a timeout). Returns 0, or -1 with a line on stderr. */
int hk_region_start(hk_region_t *e, const char *tag);
/* Kills what runs and removes the temp folder. Safe after a failed
 * start. */
void hk_region_stop(hk_region_t *e);

#endif
