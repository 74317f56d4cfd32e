/*
 * session.c - worker sessions: profile, held tasks, capacity and the
 * foundation's eligibility rules (see session.h).
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>

void
swb_session_key(const uint8_t *rid, size_t len, char *key)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        key[2 * i] = hex[rid[i] >> 4];
        key[2 * i + 1] = hex[rid[i] & 15];
    }
    key[2 * len] = 0;
}

swb_session_t *
swb_session_new(const uint8_t *rid, size_t len, swb_m_hello_t *profile,
                const swb_site_def_t *site, uint64_t now)
{
    if (len == 0 || len > SWB_RID_MAX)
        return NULL;
    swb_session_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->held = zlistx_new();
    if (!s->held) {
        free(s);
        return NULL;
    }
    memcpy(s->rid, rid, len);
    s->rid_len = len;
    swb_session_key(rid, len, s->key);
    s->profile = *profile;
    memset(profile, 0, sizeof *profile);
    s->site = site;
    s->last_seen = now;
    for (size_t i = 0; i < s->profile.channels.n; i++) {
        int ch = swb_channel_parse(s->profile.channels.v[i]);
        if (ch < 0)
            continue;
        const swb_level_t *cap =
            swb_levels_find(&s->profile.capacity, s->profile.channels.v[i]);
        s->cap_ch[ch] = swb_channel_is_voice(ch) ? 1
                        : cap && cap->level ? (unsigned)cap->level
                                            : 1;
    }
    return s;
}

void
swb_session_destroy(swb_session_t **s)
{
    if (!s || !*s)
        return;
    zlistx_destroy(&(*s)->held);
    swb_codec_free(swb_msg_schema(SWB_MSG_HELLO), &(*s)->profile);
    free((*s)->state_reason);
    free(*s);
    *s = NULL;
}

bool
swb_session_can_take(const swb_session_t *s, int ch)
{
    if (ch < 0 || ch >= SWB_CH_COUNT || s->cap_ch[ch] == 0)
        return false;
    if (swb_channel_is_voice(ch))
        return zlistx_size(s->held) == 0;
    return s->held_voice == 0 && s->held_ch[ch] < s->cap_ch[ch];
}

bool
swb_session_has_room(const swb_session_t *s)
{
    for (int ch = 0; ch < SWB_CH_COUNT; ch++)
        if (swb_session_can_take(s, ch))
            return true;
    return false;
}

void
swb_session_hold(swb_session_t *s, swb_btask_t *t)
{
    t->holder = s;
    t->hhandle = zlistx_add_end(s->held, t);
    s->held_ch[t->channel]++;
    if (swb_channel_is_voice(t->channel))
        s->held_voice++;
}

void
swb_session_unhold(swb_btask_t *t)
{
    swb_session_t *s = t->holder;
    if (!s)
        return;
    zlistx_detach(s->held, t->hhandle);
    s->held_ch[t->channel]--;
    if (swb_channel_is_voice(t->channel))
        s->held_voice--;
    t->holder = NULL;
    t->hhandle = NULL;
}
