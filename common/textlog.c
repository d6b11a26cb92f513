#include "common/textlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/clock.h"

static const char *component = "ringcast";

void rc_textlog_set_component(const char *name) { component = name; }

void rc_textlog(const char *level, const char *fmt, ...)
{
    char line[1024];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s proc=%s pid=%d ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)(tv.tv_usec / 1000), level, component, (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line so lines from several processes never interleave. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

int rc_textlog_allow(rc_textlog_limit_t *l, int interval_s)
{
    uint64_t now = rc_clock_mono_ms() + 1; /* + 1: never 0, which means "none yet" */
    if (!l->last_ms || now - l->last_ms >= (uint64_t)interval_s * 1000u) {
        l->last_ms = now;
        return 1;
    }
    l->suppressed++;
    return 0;
}
