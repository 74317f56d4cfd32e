/*
 * wlog.h - one-line key=value logging to stderr for switchboard-worker.
 *
 * Every event is one line: `level=info component=worker event=done task=42
 * ms=13`. Values that are not plain words go through swbw_log_quote, which
 * double-quotes them and escapes quotes, backslashes and control bytes, so
 * a line is always one line whatever a handler wrote on its stderr.
 */
#ifndef SWBW_WLOG_H
#define SWBW_WLOG_H

#include <stddef.h>

/* Logs `level=L component=worker event=E` followed by the formatted
 * key=value pairs of fmt (may be NULL). */
void swbw_log(const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes s as a log value into buf (n bytes; cut with "..." when longer)
 * and returns buf: bare when it is a plain word, quoted otherwise. */
const char *swbw_log_quote(char *buf, size_t n, const char *s);

#endif
