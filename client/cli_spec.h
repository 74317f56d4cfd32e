/*
 * cli_spec.h - building a task (swb_task_spec_t) from named text values,
 * checked locally before anything is sent.
 *
 * One table of task keys serves both `submit --channel email ...` (the
 * long option names) and `submit --batch FILE` (the JSON keys, e.g.
 * "not_before", "skills", "sites"); either spelling is accepted
 * everywhere. Messages name the key the way the user wrote it:
 * "--priority" on the command line, "priority" in a batch line.
 */
#ifndef SWB_CLI_SPEC_H
#define SWB_CLI_SPEC_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swb_msg.h"

#define CLI_MAX_PAYLOAD (1u << 20) /* 1 MiB, the CLI's payload limit */

/* How a key takes values (what a JSON value may be). */
typedef enum cli_key_kind {
    CLI_KEY_UNKNOWN = -1,
    CLI_KEY_ONE,    /* one value; given again, the last one wins      */
    CLI_KEY_LIST,   /* repeatable, appends; a JSON array is fine      */
    CLI_KEY_LEVELS, /* repeatable NAME:LEVEL; a JSON object is fine   */
    CLI_KEY_TEXT    /* the payload: non-string JSON is used as text   */
} cli_key_kind_t;

typedef struct cli_spec {
    swb_task_spec_t spec; /* owned; released by cli_spec_free        */
    bool options;         /* name keys as "--opt" in messages        */
    unsigned given;       /* how many keys were set                  */
    const char *payload_from; /* key that set the payload, or NULL   */
    uint64_t now_ms;      /* "now" for relative times                */
} cli_spec_t;

/* Starts an empty spec; options = true for command-line naming. */
void cli_spec_init(cli_spec_t *s, bool options);
/* Releases what s owns and leaves it empty. */
void cli_spec_free(cli_spec_t *s);

/* The kind of a key (option or JSON spelling). */
cli_key_kind_t cli_spec_kind(const char *key);

/*
 * Sets key to value (text, as typed). On error writes a sentence into
 * why (without the key's name) and returns SWB_EINVAL / SWB_ETOOBIG /
 * SWB_ESYS (payload file), SWB_ENOMEM.
 */
swb_err_t cli_spec_set(cli_spec_t *s, const char *key, const char *value,
                       char *why, size_t why_len);

/* Sets the payload to len bytes at data (for batch lines, whose JSON
 * strings may hold NUL bytes). Errors as cli_spec_set. */
swb_err_t cli_spec_set_payload(cli_spec_t *s, const void *data, size_t len,
                               char *why, size_t why_len);

/*
 * Checks what only the whole task shows (channel given, --window and
 * --tz together). On error *key is the key at fault (its name as the
 * user spells it) and why says what is wrong.
 */
swb_err_t cli_spec_finish(cli_spec_t *s, const char **key, char *why,
                          size_t why_len);

/* The key's name as the spec's user writes it ("--not-before" or
 * "not_before"). Static. */
const char *cli_spec_keyname(const cli_spec_t *s, const char *key);

/*
 * Writes the long options of all task keys (ids CLI_OPT_SPEC + row) into
 * out[0..room); returns how many.
 */
size_t cli_spec_options(struct option *out, size_t room);
/* The option name of id CLI_OPT_SPEC + row, or NULL. */
const char *cli_spec_option_key(int id);

#endif
