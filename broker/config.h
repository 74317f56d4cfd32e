/*
 * config.h - the broker's settings: defaults, command-line flags and the
 * config file, all through one option table so that every setting exists
 * as a flag (PRODUCT.md 6a) and as a key of the same name in the file.
 *
 * The config file is INI (parsed by Debian's libinih): keys of the
 * [broker] section are the long flag names without dashes
 * (`region = manila`, `lease-ms = 10000`); each [site ID] section
 * describes a site with keys country, tz, hours; each [sponsor NAME]
 * section a sponsor with keys countries, regions (comma lists),
 * certification (required|none), deadline (expire|escalate), routing
 * (longest-idle|best-skilled) and service-level (PERCENT/SECONDS, 80/20).
 * Flags given on the command line win over the file.
 * `switchboard-broker --help-config` prints every key with its default
 * (README.md holds the same tables).
 *
 * Reading never stops at the first problem: every problem of the flags
 * and the file (with FILE:LINE, section, key, value and what is allowed)
 * is collected, so that --check-config can list them all and a broker
 * with a bad config refuses to start naming each one.
 */
#ifndef SWB_CONFIG_H
#define SWB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "swb_codec.h"
#include "swb_error.h"

typedef struct swb_site_def {
    char *id;
    char *country;    /* ISO 3166 alpha-2, "" when unknown */
    char *tz;         /* Area/City, "" when unknown        */
    int open_min;     /* minutes after local midnight      */
    int close_min;    /* (open == close: always open)      */
} swb_site_def_t;

/* What a sponsor company asks of the agents who see its work. */
typedef struct swb_sponsor_def {
    char *name;
    swb_strs_t countries; /* allowed site countries (empty = any)     */
    swb_strs_t regions;   /* allowed regions (empty = any)            */
    bool certification;   /* agents must be certified for it          */
    bool escalate;        /* a passed deadline raises priority instead
                             of expiring the task                      */
    bool best_skilled;    /* choose the best-skilled agent            */
    unsigned sl_percent;  /* service-level target: percent of calls   */
    unsigned sl_seconds;  /* answered within seconds; 0 = 80 / 20     */
} swb_sponsor_def_t;

typedef struct swb_config {
    char *config_file;  /* --config / --check-config FILE, or NULL  */
    char *data_dir;     /* --data (required)                        */
    char *region;       /* --region, "local"                        */
    char *clients_ep;   /* --clients, tcp://127.0.0.1:7700          */
    char *workers_ep;   /* --workers, tcp://127.0.0.1:7701          */
    char *peers_ep;     /* --peers, tcp://127.0.0.1:7702            */
    char *http;         /* --http, 127.0.0.1:7780 or "off"          */
    swb_strs_t peers;   /* --peer NAME=EP                           */
    swb_site_def_t *sites;
    size_t nsites;
    swb_sponsor_def_t *sponsors;
    size_t nsponsors;
    uint64_t ring_ms;       /* --ring-ms 15000: a voice offer rings     */
    uint64_t missed_max;    /* --missed-offers 2: then not-ready        */
    uint64_t wrapup_ms;     /* --wrapup-ms 0: after-call work           */
    uint64_t starve_ms;     /* --starve-ms 120000: waited this long,
                               a task goes before newer work           */
    uint64_t peer_down_ms;  /* --peer-down-ms 3000: a silent peer is down */
    uint64_t reclaim_ms;    /* --reclaim-ms 10000: a down peer's unstarted
                               tasks come back after this              */
    uint64_t heartbeat_ms;  /* --heartbeat-ms 1000                  */
    uint64_t lease_ms;      /* --lease-ms 10000                     */
    uint64_t max_payload;   /* --max-payload 1048576 bytes          */
    uint64_t max_attempts;  /* --max-attempts 3 (task default)      */
    uint64_t retry_base_ms; /* --retry-base-ms 1000                 */
    uint64_t retry_max_ms;  /* --retry-max-ms 60000                 */
    uint64_t batch_max;     /* --batch-max 1000 messages per commit */
    uint64_t map_initial;   /* --map-initial 64 MiB                 */
    uint64_t map_max;       /* --map-max 64 GiB                     */
    uint64_t retention_ms;  /* --retention 7d: finished tasks, their
                               results and keys are removed this long
                               after they finished; 0 (off) keeps them  */
    uint64_t retention_batch; /* --retention-batch 200: most records
                                 removed per sweep step                 */
    int log_level;          /* --log-level info                     */
    bool insecure;          /* --insecure: plain text off loopback   */
    char *keys_dir;         /* --keys DIR: authorized certificates,
                               NULL = no CURVE                       */
    char *cert_file;        /* --cert FILE: the broker's secret cert  */
} swb_config_t;

/* What the caller should do once the settings are read. */
typedef enum swb_config_mode {
    SWB_CONFIG_RUN = 0, /* start the broker                                */
    SWB_CONFIG_EXIT,    /* --help / --help-config: printed, exit 0         */
    SWB_CONFIG_CHECK    /* --check-config FILE: report, do not start       */
} swb_config_mode_t;

/*
 * Fills *cfg from the defaults, then the config file (--config FILE or
 * --check-config FILE), then the other flags of argv (flags win), then
 * checks the rules between settings (retry-max-ms >= retry-base-ms,
 * map-max >= map-initial, data given).
 * Every problem is appended to *problems (a list the caller owns and
 * frees with swb_codec_free_strs) as one sentence that says where
 * ("FILE:LINE: [SECTION] KEY = \"VALUE\": ..." or "--KEY \"VALUE\": ..."),
 * what is wrong and what is allowed.
 * Returns SWB_OK when there is none, else SWB_EINVAL (SWB_ENOMEM when out
 * of memory). *cfg owns its strings: free with swb_config_free even after
 * an error. *mode says what to do next (--help and --help-config have
 * already printed to stdout).
 */
swb_err_t swb_config_load(int argc, char **argv, swb_config_t *cfg,
                          swb_config_mode_t *mode, swb_strs_t *problems);

/* Writes the --check-config summary of a valid config to out: region,
 * data, endpoints, sites (country, time zone, hours), sponsors, retention. */
void swb_config_summary(const swb_config_t *cfg, const char *file, FILE *out);

void swb_config_free(swb_config_t *cfg);

/* Finds a sponsor by name; borrowed pointer or NULL. */
const swb_sponsor_def_t *swb_config_sponsor(const swb_config_t *cfg,
                                            const char *name);

/* Finds a site by id; borrowed pointer or NULL. */
const swb_site_def_t *swb_config_site(const swb_config_t *cfg, const char *id);

#endif
