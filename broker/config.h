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
 * certification (required|none), deadline (expire|escalate) and routing
 * (longest-idle|best-skilled). Flags given on the command line win over
 * the file.
 */
#ifndef SWB_CONFIG_H
#define SWB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
} swb_sponsor_def_t;

typedef struct swb_config {
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
    uint64_t heartbeat_ms;  /* --heartbeat-ms 1000                  */
    uint64_t lease_ms;      /* --lease-ms 10000                     */
    uint64_t max_payload;   /* --max-payload 1048576 bytes          */
    uint64_t max_attempts;  /* --max-attempts 3 (task default)      */
    uint64_t retry_base_ms; /* --retry-base-ms 1000                 */
    uint64_t retry_max_ms;  /* --retry-max-ms 60000                 */
    uint64_t batch_max;     /* --batch-max 1000 messages per commit */
    uint64_t map_initial;   /* --map-initial 64 MiB                 */
    uint64_t map_max;       /* --map-max 64 GiB                     */
    int log_level;          /* --log-level info                     */
    bool insecure;          /* --insecure (reserved for CURVE)      */
} swb_config_t;

/*
 * Fills *cfg from argv (and the file named by --config). On a usage or
 * config error returns SWB_EINVAL with a sentence in why naming the flag
 * or key (and line) and the value. *cfg owns its strings: free with
 * swb_config_free even after an error.
 * *exit_now is set for --help / --version (already printed).
 */
swb_err_t swb_config_parse(int argc, char **argv, swb_config_t *cfg,
                           bool *exit_now, char *why, size_t why_len);
void swb_config_free(swb_config_t *cfg);

/* Finds a sponsor by name; borrowed pointer or NULL. */
const swb_sponsor_def_t *swb_config_sponsor(const swb_config_t *cfg,
                                            const char *name);

/* Finds a site by id; borrowed pointer or NULL. */
const swb_site_def_t *swb_config_site(const swb_config_t *cfg, const char *id);

#endif
