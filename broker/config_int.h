/*
 * config_int.h - what the three files of the settings module share
 * (config.c: the option table, setters, flags and checks; config_ini.c:
 * the INI file reader that collects every problem with its line;
 * config_doc.c: --help, --help-config and the --check-config summary).
 * Not for other modules: they use config.h.
 */
#ifndef SWB_CONFIG_INT_H
#define SWB_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* Applies one value of a setting. On a bad value writes what is wrong and
 * what is allowed into why (without the setting's name: the caller says
 * where it came from) and returns SWB_EINVAL; SWB_ENOMEM when out of
 * memory. */
typedef swb_err_t (*swb_opt_fn)(swb_config_t *cfg, const char *name,
                                const char *val, char *why, size_t why_len);

/* How a setting's value is kept (for its default and its docs). */
typedef enum swb_opt_kind {
    SWB_OPT_OTHER = 0, /* its own setter                                 */
    SWB_OPT_STR,       /* a char * field (set_str)                       */
    SWB_OPT_NUM,       /* a uint64_t field in min..max (set_u64)         */
    SWB_OPT_DURATION   /* a uint64_t of ms in min..max or 0 = off        */
} swb_opt_kind_t;

/* One setting: a long flag and a key of the [broker] section. */
typedef struct swb_option {
    const char *name;
    swb_opt_kind_t kind;
    bool has_arg;
    bool repeat;       /* may be given more than once (site, peer...)     */
    bool flag_only;    /* --config, --help...: not a key of the file      */
    swb_opt_fn apply;  /* NULL for the flags main handles                 */
    size_t offset;     /* field of swb_config_t for set_str / set_u64     */
    uint64_t min, max; /* range of set_u64 / set_duration                 */
    const char *arg;   /* what the value looks like: "MS", "DIR"...       */
    const char *def;   /* default as text; NULL = read it from the
                          defaults (kinds STR, NUM, DURATION)             */
    const char *help;  /* meaning, one line                               */
} swb_option_t;

/* The option table (config.c), in the order --help shows it. */
extern const swb_option_t swb_cfg_options[];
extern const size_t swb_cfg_noptions;

/* A key of a [site ID] or [sponsor NAME] section, for the docs. */
typedef struct swb_cfg_key {
    const char *name;
    const char *value;   /* what the value looks like            */
    const char *def;     /* default as text                      */
    const char *help;    /* meaning, one line                    */
    const char *example; /* a valid value (tests apply it)       */
} swb_cfg_key_t;
/* config_doc.c; each list ends with an entry whose name is NULL. A key
 * added to swb_cfg_site_attr or sponsor_attr needs its line here (then
 * README.md: regenerate with --help-config). */
extern const swb_cfg_key_t swb_cfg_site_keys[];
extern const swb_cfg_key_t swb_cfg_sponsor_keys[];

/* The option named name, or NULL. Borrowed from the table. */
const swb_option_t *swb_cfg_find(const char *name);

/* Fills cfg with the defaults (owns its strings). */
void swb_cfg_defaults(swb_config_t *cfg);

/* The default of o as text into buf ("" when it has none). */
const char *swb_cfg_default_text(const swb_option_t *o, char *buf,
                                 size_t len);

/* A duration in ms as the shortest exact text: "7d", "90s", "250ms", "off"
 * for 0. */
const char *swb_cfg_duration_text(uint64_t ms, char *buf, size_t len);

/* true when id is a valid site or sponsor name (letters, digits, - _ .,
 * 1..63 bytes). */
bool swb_cfg_valid_id(const char *id);

/* true for a two-letter country code in capitals (ISO 3166 alpha-2). */
bool swb_cfg_country_ok(const char *cc);

/* Finds or adds a site / sponsor by name; NULL when out of memory. */
swb_site_def_t *swb_cfg_site_get(swb_config_t *cfg, const char *id);
swb_sponsor_def_t *swb_cfg_sponsor_get(swb_config_t *cfg, const char *name);

/* Applies one key of a [site ID] / [sponsor NAME] section (what the
 * key=value parts of --site and --sponsor do too). */
swb_err_t swb_cfg_site_attr(swb_site_def_t *s, const char *key,
                            const char *val, char *why, size_t why_len);
swb_err_t swb_cfg_sponsor_attr(swb_sponsor_def_t *sp, const char *key,
                               const char *val, char *why, size_t why_len);

/* Where each setting was last set while loading: 0 = not set, -1 = on the
 * command line, N > 0 = line N of the file. Indexed like the table. */
typedef struct swb_cfg_origin {
    int *line;
    const char *file;
} swb_cfg_origin_t;

/* The problems found so far. failed is also set when a problem could not
 * be stored (out of memory), so a load never passes by losing one. */
typedef struct swb_cfg_report {
    swb_strs_t *list; /* one sentence per problem (borrowed)           */
    bool failed;
} swb_cfg_report_t;

/* Adds a problem (printf-style) to the report. */
void swb_cfg_problem(swb_cfg_report_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Reads the INI file at path into cfg (config_ini.c). Every problem (I/O,
 * syntax, unknown section or key, bad value, duplicate key or section) is
 * added to problems as "FILE:LINE: [SECTION] KEY = "VALUE": what is wrong"
 * and reading goes on. Records in origin the line of each [broker] key.
 */
void swb_cfg_read_ini(swb_config_t *cfg, const char *path,
                      swb_cfg_origin_t *origin, swb_cfg_report_t *r);

/* config_doc.c: --help; --help-config (markdown tables of every key with
 * its default, the text README.md holds); the --check-config summary. */
void swb_cfg_print_usage(FILE *out);
void swb_cfg_print_keys(FILE *out);

#endif
