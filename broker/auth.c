/*
 * auth.c - the table of authorized keys and the role checks (see auth.h).
 *
 * Does: read the --keys folder into a hash (Z85 key -> swb_ident_t),
 * notice changes, answer lookups and the role x endpoint x command table.
 * Does not: speak ZAP (zap.c) or decide about a task's sponsor or site
 * (client_api.c, worker_api.c use the identity for that).
 */
#include "auth.h"

#include <czmq.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "swb_log.h"

#define AUTH_CHECK_MS 1000    /* how often the folder's mtime is looked at */
#define AUTH_FULL_MS 30000    /* and a re-read whatever it says            */

struct swb_auth {
    char *dir;
    zhashx_t *keys;           /* Z85 -> swb_ident_t, owned */
    struct timespec mtime;    /* of the folder at the last read */
    uint64_t next_check;
    uint64_t next_full;
    bool force;
};

static const char *const swb_role_names[SWB_ROLE_COUNT] = {
    [SWB_ROLE_WORKER] = "worker", [SWB_ROLE_CLIENT] = "client",
    [SWB_ROLE_OPERATOR] = "operator", [SWB_ROLE_PEER] = "peer",
};

const char *
swb_role_name(swb_role_t role)
{
    return role < SWB_ROLE_COUNT ? swb_role_names[role] : "?";
}

static void
ident_free(void **item)
{
    free(*item);
    *item = NULL;
}

/* One public certificate into the table; false when it is skipped. */
static bool
load_cert(zhashx_t *keys, const char *path, const char *name)
{
    zcert_t *cert = zcert_load(path);
    if (!cert) {
        swb_log(SWB_LOG_WARN, "auth", "cert_skipped", "file=\"%s\" "
                "why=\"not a certificate\"", name);
        return false;
    }
    const char *role = zcert_meta(cert, "role");
    const char *need = NULL;
    swb_ident_t id = {0};
    int r = -1;
    for (int i = 0; role && i < SWB_ROLE_COUNT; i++)
        if (strcmp(role, swb_role_names[i]) == 0)
            r = i;
    const char *binding = NULL;
    if (r >= 0 && swb_curve_role_binding(role, &need) && need)
        binding = zcert_meta(cert, need);
    if (r < 0 || (need && (!binding || !*binding ||
                           strlen(binding) > SWB_MAX_NAME))) {
        swb_log(SWB_LOG_WARN, "auth", "cert_skipped", "file=\"%s\" "
                "why=\"no role worker/client/operator/peer with its "
                "binding\"", name);
        zcert_destroy(&cert);
        return false;
    }
    snprintf(id.key, sizeof id.key, "%s", zcert_public_txt(cert));
    id.role = (swb_role_t)r;
    snprintf(id.binding, sizeof id.binding, "%s", binding ? binding : "");
    zcert_destroy(&cert);
    swb_ident_t *copy = malloc(sizeof *copy);
    if (!copy)
        return false;
    *copy = id;
    zhashx_update(keys, copy->key, copy);
    return true;
}

/* Reads the folder into a new table; NULL when it cannot be opened. */
static zhashx_t *
read_dir(const char *dir, struct timespec *mtime)
{
    struct stat st;
    DIR *d = opendir(dir);
    if (!d || fstat(dirfd(d), &st) != 0) {
        if (d)
            closedir(d);
        return NULL;
    }
    *mtime = st.st_mtim;
    zhashx_t *keys = zhashx_new();
    if (!keys) {
        closedir(d);
        return NULL;
    }
    zhashx_set_destructor(keys, ident_free);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' ||
            (n >= 7 && strcmp(e->d_name + n - 7, "_secret") == 0))
            continue;
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >=
                (int)sizeof path ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        load_cert(keys, path, e->d_name);
    }
    closedir(d);
    return keys;
}

swb_err_t
swb_auth_new(const char *dir, swb_auth_t **out, char *why, size_t why_len)
{
    *out = NULL;
    swb_auth_t *a = calloc(1, sizeof *a);
    if (!a || !(a->dir = strdup(dir))) {
        free(a);
        return SWB_ENOMEM;
    }
    a->keys = read_dir(dir, &a->mtime);
    if (!a->keys) {
        snprintf(why, why_len, "--keys: cannot read the folder \"%s\"", dir);
        swb_auth_destroy(&a);
        return SWB_EINVAL;
    }
    swb_log(SWB_LOG_INFO, "auth", "keys_loaded", "dir=\"%s\" keys=%zu", dir,
            zhashx_size(a->keys));
    *out = a;
    return SWB_OK;
}

void
swb_auth_destroy(swb_auth_t **ap)
{
    if (!ap || !*ap)
        return;
    zhashx_destroy(&(*ap)->keys);
    free((*ap)->dir);
    free(*ap);
    *ap = NULL;
}

void
swb_auth_reload_now(swb_auth_t *a)
{
    a->force = true;
}

void
swb_auth_refresh(swb_auth_t *a, uint64_t now)
{
    if (!a->force && now < a->next_check)
        return;
    a->next_check = now + AUTH_CHECK_MS;
    struct stat st;
    bool changed = stat(a->dir, &st) != 0 ||
                   st.st_mtim.tv_sec != a->mtime.tv_sec ||
                   st.st_mtim.tv_nsec != a->mtime.tv_nsec;
    if (!a->force && !changed && now < a->next_full)
        return;
    a->force = false;
    a->next_full = now + AUTH_FULL_MS;
    struct timespec mt;
    zhashx_t *keys = read_dir(a->dir, &mt);
    if (!keys) {
        swb_log(SWB_LOG_ERROR, "auth", "keys_unreadable", "dir=\"%s\" "
                "keeping=%zu", a->dir, zhashx_size(a->keys));
        return;
    }
    if (changed || zhashx_size(keys) != zhashx_size(a->keys))
        swb_log(SWB_LOG_INFO, "auth", "keys_reloaded", "dir=\"%s\" keys=%zu "
                "before=%zu", a->dir, zhashx_size(keys),
                zhashx_size(a->keys));
    zhashx_destroy(&a->keys);
    a->keys = keys;
    a->mtime = mt;
}

const swb_ident_t *
swb_auth_lookup(const swb_auth_t *a, const char *z85)
{
    if (!a || !z85 || strlen(z85) != SWB_Z85_KEY_LEN)
        return NULL;
    return zhashx_lookup(a->keys, z85);
}

const swb_ident_t *
swb_auth_find(const swb_auth_t *a, swb_role_t role, const char *binding)
{
    if (!a)
        return NULL;
    for (const swb_ident_t *id = zhashx_first(a->keys); id;
         id = zhashx_next(a->keys))
        if (id->role == role && strcmp(id->binding, binding) == 0)
            return id;
    return NULL;
}

size_t
swb_auth_count(const swb_auth_t *a)
{
    return a ? zhashx_size(a->keys) : 0;
}

/* Bit per role: who may send each command, at which endpoint. */
#define R(x) (1u << SWB_ROLE_##x)
static const unsigned swb_client_side[SWB_MSG_COUNT] = {
    [SWB_MSG_SUBMIT] = R(CLIENT),
    [SWB_MSG_CANCEL] = R(CLIENT),
    [SWB_MSG_STATUS] = R(CLIENT) | R(OPERATOR),
    [SWB_MSG_WAIT] = R(CLIENT) | R(OPERATOR),
    [SWB_MSG_LIST] = R(CLIENT) | R(OPERATOR),
    [SWB_MSG_AGENTS] = R(OPERATOR),
    [SWB_MSG_AGENT_STATE] = R(OPERATOR),
    [SWB_MSG_STATS] = R(OPERATOR),
    [SWB_MSG_SITES] = R(OPERATOR),
};
#undef R

bool
swb_auth_may(const swb_ident_t *who, bool worker_side, swb_msg_type_t type)
{
    if (!who || (unsigned)type >= SWB_MSG_COUNT)
        return false;
    if (worker_side)
        return who->role == SWB_ROLE_WORKER;
    return (swb_client_side[type] >> who->role) & 1u;
}

uint64_t
swb_auth_msg_req(const swb_msg_t *m)
{
    switch (m->type) {
    case SWB_MSG_SUBMIT: return m->u.submit.req;
    case SWB_MSG_STATUS:
    case SWB_MSG_WAIT:
    case SWB_MSG_CANCEL: return m->u.ref.req;
    case SWB_MSG_LIST: return m->u.list.req;
    case SWB_MSG_AGENTS: return m->u.agents.req;
    case SWB_MSG_AGENT_STATE: return m->u.state.req;
    case SWB_MSG_STATS:
    case SWB_MSG_SITES: return m->u.stats.req;
    default: return 0;
    }
}
