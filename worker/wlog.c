/*
 * wlog.c - key=value log lines on stderr (see wlog.h).
 *
 * One write(2) per line so that lines from concurrent processes sharing
 * the stderr file do not interleave mid-line.
 */
#include "wlog.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void
swbw_log(const char *level, const char *event, const char *fmt, ...)
{
    char line[4096];
    int n = snprintf(line, sizeof line, "level=%s component=worker event=%s",
                     level, event);
    if (n < 0)
        return;
    if (fmt && *fmt && (size_t)n < sizeof line - 2) {
        va_list ap;
        line[n++] = ' ';
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w; /* nowhere to report a failed log write */
}

static bool
plain_word(const char *s)
{
    if (!*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f)
            return false;
    return true;
}

const char *
swbw_log_quote(char *buf, size_t n, const char *s)
{
    if (!s)
        s = "";
    if (n < 8) {
        if (n)
            buf[0] = 0;
        return buf;
    }
    if (plain_word(s) && strlen(s) < n) {
        memcpy(buf, s, strlen(s) + 1);
        return buf;
    }
    size_t o = 0;
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        size_t k;
        if (*p == '"' || *p == '\\')
            k = (size_t)snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p == '\n')
            k = (size_t)snprintf(esc, sizeof esc, "\\n");
        else if (*p == '\t')
            k = (size_t)snprintf(esc, sizeof esc, "\\t");
        else if (*p < ' ' || *p == 0x7f)
            k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
        else {
            esc[0] = (char)*p;
            k = 1;
        }
        if (o + k + 5 > n) { /* room for ...", NUL */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(buf + o, esc, k);
        o += k;
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}
