/* One line per event, key=value, to stderr (the supervisor sends it to the
 * run directory's log file). Never log a token or a payload. */
#ifndef RC_COMMON_LOG_H
#define RC_COMMON_LOG_H

#include <time.h>

void rc_log_set_component(const char *name);

/* level: "info", "warn", "error", "fatal"; fmt continues the line with
 * key=value pairs, e.g. rc_logf("info", "msg=listening port=%d", port). */
void rc_logf(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rate limiting for events that could flood: returns 1 at most once per
 * interval_s for this limiter, and adds to *suppressed otherwise. */
typedef struct rc_log_limit {
    time_t last;
    unsigned long suppressed;
} rc_log_limit_t;
int rc_log_allow(rc_log_limit_t *l, int interval_s);

#endif
