/* The loadgen's output: a progress line per second and a one-line summary
 * on stderr, the run's JSON summary in a file, and reading a publisher's
 * JSON back for --expect-from. Nothing here touches sockets. */
#ifndef RC_LG_REPORT_H
#define RC_LG_REPORT_H

#include <stdint.h>

#include "bench/loadgen/conn.h"
#include "bench/loadgen/publish.h"

/* One progress line on stderr; prev holds the figures of the previous
 * line (to print per-second rates) and is updated. */
typedef struct rc_lg_progress {
    uint64_t events, attempted;
} rc_lg_progress_t;
void rc_lg_report_progress(const rc_lg_stats_t *st, double t_s, rc_lg_progress_t *prev);
void rc_lg_report_pub_progress(const rc_lg_pub_stats_t *st, double t_s);

/* The summary of a client run: JSON into path (NULL: none) and one line on
 * stderr. Returns 0 or a negative errno if the file could not be written. */
int rc_lg_report_clients(const char *path, const rc_lg_opts_t *o, const rc_lg_stats_t *st, double elapsed_s);

/* The same for a publisher run. */
int rc_lg_report_publish(const char *path, const rc_lg_pub_opts_t *o, const rc_lg_pub_stats_t *st);

/* Reads "per_topic" of a publisher's JSON (path) into a new array of
 * topics counts: the last n published on <prefix><i>, 0 when absent.
 * Returns 0 or a negative errno (-EINVAL: not a publisher report). */
int rc_lg_report_load_expect(const char *path, const char *prefix, uint32_t topics, uint64_t **out);

#endif
