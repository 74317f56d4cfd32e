/*
 * swb_log.h - one line per event on stderr, key=value, with level and
 * component: `ts=2026-11-22T19:40:01.123Z level=info component=store
 * event=commit tasks=12 ms=0.4`, written with one write(2) so that lines
 * of processes sharing a stderr file never interleave. Used by the
 * broker and the worker. The level threshold is process-wide, set once
 * at start (--log-level). Values that are not plain words (a handler's
 * stderr, a reason) go through swb_log_quote so a line stays one line.
 */
#ifndef SWB_LOG_H
#define SWB_LOG_H

#include <stddef.h>

typedef enum swb_log_level {
    SWB_LOG_DEBUG = 0,
    SWB_LOG_INFO,
    SWB_LOG_WARN,
    SWB_LOG_ERROR
} swb_log_level_t;

/* Level by name ("debug", "info", "warn", "error"), -1 when unknown. */
int swb_log_parse_level(const char *name);
void swb_log_set_level(swb_log_level_t level);
/* Writes `ts=.. level=.. component=.. event=..` then fmt (more key=value
 * pairs, may be NULL) and a newline, in one write. */
void swb_log(swb_log_level_t level, const char *component, const char *event,
             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Writes s as a log value into buf (n bytes; cut with "..." when longer)
 * and returns buf: bare when it is a plain word, else double-quoted with
 * quotes, backslashes and control bytes escaped. */
const char *swb_log_quote(char *buf, size_t n, const char *s);

#endif
