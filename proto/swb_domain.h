/*
 * swb_domain.h - the vocabulary of the domain: channels, CEFR levels,
 * task states, and the small text formats of the command line
 * ("en:C1,es:B2", "email=3", "90s", ISO times).
 *
 * Names here are part of the command-line contract (PRODUCT.md 6a) and of
 * the wire protocol: add, never rename.
 */
#ifndef SWB_DOMAIN_H
#define SWB_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swb_codec.h"
#include "swb_error.h"

typedef enum swb_channel {
    SWB_CH_VOICE_INBOUND = 0,
    SWB_CH_VOICE_OUTBOUND,
    SWB_CH_EMAIL,
    SWB_CH_CHAT,
    SWB_CH_FORM,
    SWB_CH_DATA,
    SWB_CH_RESEARCH,
    SWB_CH_ACCOUNTING,
    SWB_CH_DATABASE,
    SWB_CH_DOCUMENTATION,
    SWB_CH_COUNT
} swb_channel_t;

/* Channel by name, or -1 when unknown. */
int swb_channel_parse(const char *name);
/* Name of a channel ("voice.inbound"), "?" when out of range. Static. */
const char *swb_channel_name(int ch);
bool swb_channel_is_voice(int ch);
/* All channel names, comma separated (for error messages). Static. */
const char *swb_channel_list(void);

/* CEFR level A1..C2 as 1..6; 0 when the text is not a level. */
int swb_cefr_parse(const char *text);
/* "A1".."C2", "?" otherwise. Static. */
const char *swb_cefr_name(uint64_t level);

typedef enum swb_state {
    SWB_ST_QUEUED = 0,
    SWB_ST_OFFERED,
    SWB_ST_ACTIVE,
    SWB_ST_COMPLETED,
    SWB_ST_FAILED,    /* an attempt failed; waiting for its retry */
    SWB_ST_DEAD,      /* failed on its last attempt (final)       */
    SWB_ST_CANCELED,
    SWB_ST_ABANDONED,
    SWB_ST_EXPIRED,
    SWB_ST_FORWARDED,
    SWB_ST_COUNT
} swb_state_t;

/* State by name, or -1. */
int swb_state_parse(const char *name);
const char *swb_state_name(int st);
/* True for completed, dead, canceled, abandoned, expired. */
bool swb_state_final(int st);

/* Hand-off phases of a task between regions (swb_task_t.hand,
 * broker/handoff.c). Origin side: sending (FORWARD out, no answer yet),
 * placed (the peer committed it), started (the peer was told GO: it may
 * run it, the origin no longer reclaims it). Peer side: held (taken, not
 * to be started before the origin's GO), go (the origin said GO). */
typedef enum swb_hand {
    SWB_HAND_NONE = 0,
    SWB_HAND_SENDING,
    SWB_HAND_PLACED,
    SWB_HAND_STARTED,
    SWB_HAND_HELD,
    SWB_HAND_GO,
    SWB_HAND_COUNT
} swb_hand_t;

/* Phase by name (NULL or "" = none), or -1. */
int swb_hand_parse(const char *name);
/* The name, NULL for SWB_HAND_NONE or out of range. Static. */
const char *swb_hand_name(int hand);

/* Agent states (PRODUCT.md 4): only ready agents get offers. */
typedef enum swb_agent_state {
    SWB_AG_READY = 0,
    SWB_AG_NOT_READY, /* with a reason code                    */
    SWB_AG_BREAK,
    SWB_AG_WRAPUP,    /* after-call work, back to ready by time */
    SWB_AG_OFFLINE,
    SWB_AG_COUNT
} swb_agent_state_t;

/* Agent state by name ("ready", "not-ready", "break", "wrap-up",
 * "offline"), or -1. */
int swb_agent_state_parse(const char *name);
const char *swb_agent_state_name(int st);

/*
 * Parses "name:LEVEL,name:LEVEL" into *out (appending). `sep` is ':' or
 * '='. With cefr, levels are A1..C2 (stored 1..6); otherwise integers in
 * 1..max_level. Errors: SWB_EINVAL with a sentence in why naming the item.
 */
swb_err_t swb_parse_levels(const char *text, char sep, bool cefr,
                           uint64_t max_level, swb_levels_t *out, char *why,
                           size_t why_len);

/* Parses "a,b,c" into *out (appending); empty items are an error. */
swb_err_t swb_parse_strs(const char *text, swb_strs_t *out, char *why,
                         size_t why_len);

/* Parses a duration: "90" (seconds), "90s", "15m", "2h", "3d", "250ms".
 * Errors: SWB_EINVAL. */
swb_err_t swb_parse_duration_ms(const char *text, uint64_t *ms);

/* Parses DURATION (from now) or an ISO-8601 time
 * ("2026-11-23T09:00:00Z", "...+01:00", or without zone = UTC) into
 * unix milliseconds. Errors: SWB_EINVAL. */
swb_err_t swb_parse_when_ms(const char *text, uint64_t now_ms, uint64_t *ms);

/* Wall clock in unix milliseconds. */
uint64_t swb_now_ms(void);
/* Monotonic clock in milliseconds. */
uint64_t swb_mono_ms(void);

#endif
