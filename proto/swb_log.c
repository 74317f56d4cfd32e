/*
 * swb_log.c - key=value event lines on stderr (see swb_log.h).
 */
#include "swb_log.h"

#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static swb_log_level_t swb_log_threshold = SWB_LOG_INFO;
static const char *const swb_log_names[] = {"debug", "info", "warn", "error"};

int
swb_log_parse_level(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, swb_log_names[i]) == 0)
            return i;
    return -1;
}

void
swb_log_set_level(swb_log_level_t level)
{
    swb_log_threshold = level;
}

void
swb_log(swb_log_level_t level, const char *component, const char *event,
        const char *fmt, ...)
{
    if (level < swb_log_threshold)
        return;
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"
                     " level=%s component=%s event=%s", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)(tv.tv_usec / 1000),
                     swb_log_names[level], component, event);
    if (n < 0)
        return;
    if (fmt && (size_t)n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(2, line, (size_t)n);
    (void)w;
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
swb_log_quote(char *buf, size_t n, const char *s)
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
