/* The processes' text log: one line per event, key=value, to stderr (the
 * supervisor sends it to the run directory's log file). Never log a token,
 * a key or a payload. Not to be confused with the event log in shm (rc_log_*,
 * shm/log.h). */
#ifndef RC_COMMON_TEXTLOG_H
#define RC_COMMON_TEXTLOG_H

#include <stdint.h>

void rc_textlog_set_component(const char *name);

/* level: "info", "warn", "error", "fatal"; fmt continues the line with
 * key=value pairs, e.g. rc_textlog("info", "msg=listening port=%d", port).
 * One write(2) per line, so lines of several processes never interleave. */
void rc_textlog(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rate limiting for events that could flood: returns 1 at most once per
 * interval_s for this limiter (the first call always), and adds to
 * ->suppressed otherwise. Monotonic: a clock step never silences it.
 * Zero-initialise a limiter (static storage does). */
typedef struct rc_textlog_limit {
    uint64_t last_ms;   /* monotonic ms of the last line allowed; 0: none yet */
    unsigned long suppressed;
} rc_textlog_limit_t;
int rc_textlog_allow(rc_textlog_limit_t *l, int interval_s);

#endif
