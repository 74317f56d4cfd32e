/*
 * config_site.c - the keys of a site (country, tz, hours: a [site ID]
 * section or the KEY=VALUE parts of --site), the site list of a config,
 * and the names sites and sponsors may have. Part of the settings module
 * (config_int.h); sponsors live in config.c.
 *
 * Time zones are checked against the tz database files in
 * /usr/share/zoneinfo, as broker/tzclock.c reads them.
 */
#include "config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tzclock.h"

bool
swb_cfg_country_ok(const char *cc)
{
    return strlen(cc) == 2 && cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' &&
           cc[1] <= 'Z';
}

swb_err_t
swb_cfg_site_attr(swb_site_def_t *s, const char *key, const char *val,
                  char *why, size_t why_len)
{
    char **slot = NULL;
    if (strcmp(key, "country") == 0) {
        if (!swb_cfg_country_ok(val)) {
            snprintf(why, why_len, "not a two-letter country code in "
                     "capitals (ISO 3166), like PH");
            return SWB_EINVAL;
        }
        slot = &s->country;
    } else if (strcmp(key, "tz") == 0) {
        if (!swb_tz_known(val)) {
            snprintf(why, why_len, "not a time zone of the tz database "
                     "(/usr/share/zoneinfo), like Asia/Manila");
            return SWB_EINVAL;
        }
        slot = &s->tz;
    } else if (strcmp(key, "hours") == 0) {
        int o, c;
        if (swb_tz_parse_window(val, &o, &c) != SWB_OK) {
            snprintf(why, why_len, "not HH:MM-HH:MM in local time (00:00 to "
                     "24:00), like 08:00-20:00");
            return SWB_EINVAL;
        }
        s->open_min = o;
        s->close_min = c;
        return SWB_OK;
    } else {
        snprintf(why, why_len, "unknown key (a site has country, tz, hours)");
        return SWB_EINVAL;
    }
    char *copy = strdup(val);
    if (!copy)
        return SWB_ENOMEM;
    free(*slot);
    *slot = copy;
    return SWB_OK;
}

swb_site_def_t *
swb_cfg_site_get(swb_config_t *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nsites; i++)
        if (strcmp(cfg->sites[i].id, id) == 0)
            return &cfg->sites[i];
    swb_site_def_t *ns = realloc(cfg->sites, (cfg->nsites + 1) * sizeof *ns);
    if (!ns)
        return NULL;
    cfg->sites = ns;
    swb_site_def_t *s = &ns[cfg->nsites];
    memset(s, 0, sizeof *s);
    s->id = strdup(id);
    s->country = strdup("");
    s->tz = strdup("");
    if (!s->id || !s->country || !s->tz) {
        free(s->id);
        free(s->country);
        free(s->tz);
        return NULL;
    }
    cfg->nsites++;
    return s;
}


bool
swb_cfg_valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(id[i] == '-' || id[i] == '_' || id[i] == '.' ||
              (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
              (id[i] >= 'A' && id[i] <= 'Z')))
            return false;
    return true;
}
