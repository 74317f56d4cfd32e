/*
 * console.h - `switchboard-worker --console`: the interactive agent
 * console for a person (PRODUCT.md 6a).
 *
 * Line-oriented, no curses: it prints what happens (agent state, offers
 * with channel, sponsor, a payload preview and, for ringing offers, the
 * ring time left, tasks taken back, connection changes) and reads one
 * command per line:
 *
 *   ready | not-ready [REASON] | break [REASON]     set the agent state
 *   accept [ID] | reject [ID] [REASON]              answer a ringing offer
 *   done [ID] [NOTES...] | fail [ID] [REASON]       finish a task
 *   release [ID]                                    hand a task back
 *   list | state | help | quit
 *
 * ID defaults to the oldest ringing offer for accept / reject and to the
 * oldest held task (accepted or assigned first) otherwise; a first
 * argument of digits is always an ID. Unknown commands print one error
 * line and the console goes on. It works the same when stdin is a pipe
 * (no prompt then); end of input counts as quit. quit, SIGINT and
 * SIGTERM hand every held task back (RELEASE), say BYE and exit.
 *
 * Not here: option parsing (main.c), the protocol (swb_worker.c).
 */
#ifndef SWBW_CONSOLE_H
#define SWBW_CONSOLE_H

#include <stdio.h>

#include "swb_worker.h"

typedef struct swbw_console_opts {
    const char *broker; /* endpoint, for messages (borrowed) */
    const char *site;   /* for the banner (borrowed) */
    const char *agent;  /* for the banner (borrowed) */
    int linger_ms;      /* how long the goodbye waits for ACKs */
} swbw_console_opts_t;

/*
 * Runs the console on in_fd (commands) and out (everything it shows)
 * until quit, end of input, SIGINT / SIGTERM or a fatal session error.
 * Takes ownership of *w (destroyed, set NULL). Returns the process exit
 * code: 0 after quit, 3 when the broker refused the worker or speaks
 * another protocol version, 1 on a local failure.
 */
int swbw_console(swb_worker_t **w, const swbw_console_opts_t *o, int in_fd,
                 FILE *out);

#endif
