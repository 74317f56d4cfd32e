/*
 * config_doc.c - the settings' documentation, generated from the option
 * table (config.c) and the key lists of sites and sponsors below, so that
 * --help, --help-config and README.md say the same as the code:
 *
 *   --help          every flag, what its value looks like, its default;
 *   --help-config   Markdown tables of every key of [broker], [site ID] and
 *                   [sponsor NAME] with value, default and meaning; README.md
 *                   holds this output verbatim (tests/test_config.c checks);
 *   --check-config  the summary of a valid config (swb_config_summary).
 *
 * Defaults of plain strings, numbers and durations are read from the
 * defaults themselves (swb_cfg_defaults), never written twice.
 */
#include "config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swb_log.h"

const swb_cfg_key_t swb_cfg_site_keys[] = {
    {"country", "CC", "(none)",
     "ISO 3166 two-letter code in capitals; sponsors allow countries",
     "PH"},
    {"tz", "Area/City", "(none)",
     "time zone of the site (tz database), for its hours", "Asia/Manila"},
    {"hours", "HH:MM-HH:MM", "always open",
     "opening hours in the site's local time (needs tz); "
     "equal times mean always open; may pass midnight",
     "08:00-20:00"},
    {NULL, NULL, NULL, NULL, NULL},
};

const swb_cfg_key_t swb_cfg_sponsor_keys[] = {
    {"countries", "CC, CC...", "(any)",
     "only sites in these countries see its work", "PH, PL"},
    {"regions", "NAME, NAME...", "(any)",
     "only these regions see its work", "manila, europe"},
    {"certification", "required|none", "none",
     "only agents certified for the sponsor take its work", "required"},
    {"deadline", "expire|escalate", "expire",
     "a passed deadline expires the task, or raises its priority",
     "escalate"},
    {"routing", "longest-idle|best-skilled", "longest-idle",
     "which eligible agent gets its work", "best-skilled"},
    {"service-level", "PERCENT/SECONDS", "80/20",
     "target: this percent of its calls answered within SECONDS",
     "90/15"},
    {NULL, NULL, NULL, NULL, NULL},
};

/* "64 MiB" / "64 GiB" for whole units, else the number of bytes. */
static void
bytes_text(uint64_t v, char *buf, size_t len)
{
    if (v && v % (1ull << 30) == 0)
        snprintf(buf, len, "%llu GiB", (unsigned long long)(v >> 30));
    else if (v && v % (1ull << 20) == 0)
        snprintf(buf, len, "%llu MiB", (unsigned long long)(v >> 20));
    else
        snprintf(buf, len, "%llu", (unsigned long long)v);
}

const char *
swb_cfg_default_text(const swb_option_t *o, char *buf, size_t len)
{
    swb_config_t d;
    if (o->def) {
        snprintf(buf, len, "%s", o->def);
        return buf;
    }
    snprintf(buf, len, "%s", "");
    if (o->kind == SWB_OPT_OTHER)
        return buf;
    swb_cfg_defaults(&d);
    const char *field = (const char *)&d + o->offset;
    uint64_t v = 0;
    if (o->kind != SWB_OPT_STR)
        memcpy(&v, field, sizeof v);
    if (o->kind == SWB_OPT_STR) {
        const char *str;
        memcpy(&str, field, sizeof str);
        snprintf(buf, len, "%s", str ? str : "(required)");
    } else if (o->kind == SWB_OPT_DURATION) {
        swb_cfg_duration_text(v, buf, len);
    } else if (strcmp(o->arg, "BYTES") == 0) {
        bytes_text(v, buf, len);
    } else {
        snprintf(buf, len, "%llu", (unsigned long long)v);
    }
    swb_config_free(&d);
    return buf;
}

/* What a value may be: "MS, 100..600000", "DURATION, 1s..3650d or off". */
static const char *
value_text(const swb_option_t *o, char *buf, size_t len)
{
    char lo[32], hi[32];
    if (o->kind != SWB_OPT_NUM && o->kind != SWB_OPT_DURATION)
        snprintf(buf, len, "%s", o->arg);
    else if (o->kind == SWB_OPT_DURATION)
        snprintf(buf, len, "%s, %s..%s or off", o->arg,
                 swb_cfg_duration_text(o->min, lo, sizeof lo),
                 swb_cfg_duration_text(o->max, hi, sizeof hi));
    else if (o->max == UINT64_MAX)
        snprintf(buf, len, "%s, >= %llu", o->arg, (unsigned long long)o->min);
    else
        snprintf(buf, len, "%s, %llu..%llu", o->arg,
                 (unsigned long long)o->min, (unsigned long long)o->max);
    return buf;
}

void
swb_cfg_print_usage(FILE *out)
{
    fprintf(out,
            "usage: switchboard-broker --data DIR [options]\n"
            "       switchboard-broker --check-config FILE [options]\n"
            "       switchboard-broker --help-config\n\n"
            "The regional broker of Switchboard. Every option except "
            "config, check-config,\nhelp-config and help is also a key of "
            "the [broker] section of the INI file\ngiven with --config; "
            "flags win over the file.\n\n");
    for (size_t i = 0; i < swb_cfg_noptions; i++) {
        const swb_option_t *o = &swb_cfg_options[i];
        char def[128], val[200];
        swb_cfg_default_text(o, def, sizeof def);
        fprintf(out, "  --%s%s%s\n      %s", o->name, o->has_arg ? " " : "",
                o->has_arg ? value_text(o, val, sizeof val) : "", o->help);
        if (*def == '(')
            fprintf(out, " %s", def);
        else if (*def)
            fprintf(out, " (default %s)", def);
        fprintf(out, "\n");
    }
}

/* A Markdown table cell: | escaped. */
static void
cell(FILE *out, const char *text)
{
    fputs(" ", out);
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            fputc('\\', out);
        fputc(*p, out);
    }
    fputs(" |", out);
}

static void
key_table(FILE *out, const swb_cfg_key_t *keys)
{
    fprintf(out, "| key | value | default | meaning |\n|---|---|---|---|\n");
    for (const swb_cfg_key_t *k = keys; k->name; k++) {
        fprintf(out, "| `%s` |", k->name);
        cell(out, k->value);
        cell(out, k->def);
        cell(out, k->help);
        fputc('\n', out);
    }
}

void
swb_cfg_print_keys(FILE *out)
{
    fprintf(out, "<!-- generated by switchboard-broker --help-config -->\n"
            "#### [broker]\n\n"
            "Every key is also a flag (`--KEY VALUE`); flags win over the "
            "file.\n\n"
            "| key | value | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < swb_cfg_noptions; i++) {
        const swb_option_t *o = &swb_cfg_options[i];
        char def[128], val[200];
        if (o->flag_only)
            continue;
        fprintf(out, "| `%s` |", o->name);
        cell(out, value_text(o, val, sizeof val));
        swb_cfg_default_text(o, def, sizeof def);
        cell(out, *def ? def : "(none)");
        cell(out, o->help);
        fputc('\n', out);
    }
    fprintf(out, "\n#### [site ID]\n\nOne section per site (or "
            "`site = ID,country=CC,...` in [broker]).\n\n");
    key_table(out, swb_cfg_site_keys);
    fprintf(out, "\n#### [sponsor NAME]\n\nOne section per sponsor company "
            "(or `sponsor = NAME,...`;\nlists then use `/`).\n\n");
    key_table(out, swb_cfg_sponsor_keys);
    fprintf(out, "<!-- end of switchboard-broker --help-config -->\n");
}

static void
print_list(FILE *out, const swb_strs_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        fprintf(out, "%s%s", i ? "/" : "", l->v[i]);
}

void
swb_config_summary(const swb_config_t *cfg, const char *file, FILE *out)
{
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    char ret[32];
    fprintf(out, "%s: ok\n", file ? file : "settings");
    fprintf(out, "region %s, data %s\n", cfg->region,
            cfg->data_dir ? cfg->data_dir : "(none)");
    fprintf(out, "clients %s, workers %s, http %s\n", cfg->clients_ep,
            cfg->workers_ep, cfg->http);
    if (cfg->peers.n) {
        fprintf(out, "peers endpoint %s; a peer is down after %llu ms, its "
                "unstarted tasks come back %llu ms later\n", cfg->peers_ep,
                (unsigned long long)cfg->peer_down_ms,
                (unsigned long long)cfg->reclaim_ms);
        for (size_t i = 0; i < cfg->peers.n; i++) {
            const char *eq = strchr(cfg->peers.v[i], '=');
            fprintf(out, "  peer %.*s at %s\n", (int)(eq - cfg->peers.v[i]),
                    cfg->peers.v[i], eq + 1);
        }
    } else {
        fprintf(out, "no peer regions\n");
    }
    fprintf(out, "%zu site%s\n", cfg->nsites, cfg->nsites == 1 ? "" : "s");
    for (size_t i = 0; i < cfg->nsites; i++) {
        const swb_site_def_t *s = &cfg->sites[i];
        fprintf(out, "  %s: country %s, tz %s, ", s->id,
                *s->country ? s->country : "-", *s->tz ? s->tz : "-");
        if (s->open_min == s->close_min)
            fprintf(out, "always open\n");
        else
            fprintf(out, "open %02d:%02d-%02d:%02d\n", s->open_min / 60,
                    s->open_min % 60, s->close_min / 60, s->close_min % 60);
    }
    fprintf(out, "%zu sponsor%s\n", cfg->nsponsors,
            cfg->nsponsors == 1 ? "" : "s");
    for (size_t i = 0; i < cfg->nsponsors; i++) {
        const swb_sponsor_def_t *sp = &cfg->sponsors[i];
        fprintf(out, "  %s: countries ", sp->name);
        if (sp->countries.n)
            print_list(out, &sp->countries);
        else
            fprintf(out, "any");
        fprintf(out, ", regions ");
        if (sp->regions.n)
            print_list(out, &sp->regions);
        else
            fprintf(out, "any");
        fprintf(out, ", certification %s, deadline %s, routing %s\n",
                sp->certification ? "required" : "none",
                sp->escalate ? "escalate" : "expire",
                sp->best_skilled ? "best-skilled" : "longest-idle");
    }
    fprintf(out, "retention %s, max-payload %llu bytes, log-level %s\n",
            swb_cfg_duration_text(cfg->retention_ms, ret, sizeof ret),
            (unsigned long long)cfg->max_payload,
            cfg->log_level >= 0 && cfg->log_level <= 3
                ? levels[cfg->log_level]
                : "?");
}
