#include "bench/loadgen/report.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"

static const char *mode_name(int mode)
{
    return mode == RC_LG_PHOENIX ? "phoenix" : mode == RC_LG_RAW ? "raw" : "publish";
}

static double us(uint64_t ns) { return (double)ns / 1e3; }

static json_t *jint(uint64_t v) { return json_integer((json_int_t)v); }

/* Percentiles of a histogram of ns, in unit (1e3: µs, 1e6: ms). */
static json_t *percentiles(const rc_hist_t *h, double unit)
{
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)h->count,
                     "min", (double)h->min / unit, "p50", (double)rc_hist_quantile(h, 0.50) / unit,
                     "p90", (double)rc_hist_quantile(h, 0.90) / unit, "p99", (double)rc_hist_quantile(h, 0.99) / unit,
                     "p999", (double)rc_hist_quantile(h, 0.999) / unit, "max", (double)h->max / unit,
                     "mean", h->count ? h->sum / (double)h->count / unit : 0.0);
}

/* The raw histogram, [[lowest ns of bucket, count], ...] for non-empty
 * buckets, so runs of several processes can be merged and drawn as a CDF. */
static json_t *buckets(const rc_hist_t *h)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < RC_HIST_BUCKETS; i++)
        if (h->counts[i])
            json_array_append_new(a, json_pack("[I,I]", (json_int_t)rc_hist_bucket_low(i),
                                               (json_int_t)h->counts[i]));
    return a;
}

static json_t *series(const uint64_t *v, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(a, jint(v[i]));
    return a;
}

static int write_json(const char *path, json_t *root)
{
    int rc = 0;
    if (path && json_dump_file(root, path, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) < 0) {
        rc = -EIO;
        fprintf(stderr, "loadgen: cannot write %s\n", path);
    }
    json_decref(root);
    return rc;
}

void rc_lg_report_progress(const rc_lg_stats_t *st, double t_s, rc_lg_progress_t *prev)
{
    fprintf(stderr,
            "loadgen t=%.0fs attempted=%llu (+%llu/s) open=%llu joined=%llu failed=%llu events=%llu (+%llu/s) "
            "p50=%.0fus p99=%.0fus missing=%lld dup=%llu ooo=%llu\n",
            t_s, (unsigned long long)st->attempted, (unsigned long long)(st->attempted - prev->attempted),
            (unsigned long long)st->open_now, (unsigned long long)st->joined_now,
            (unsigned long long)(st->failed_connect + st->failed_handshake + st->failed_timeout),
            (unsigned long long)st->events, (unsigned long long)(st->events - prev->events),
            us(rc_hist_quantile(&st->latency, 0.5)), us(rc_hist_quantile(&st->latency, 0.99)),
            (long long)st->missing, (unsigned long long)st->duplicated, (unsigned long long)st->out_of_order);
    prev->attempted = st->attempted;
    prev->events = st->events;
}

void rc_lg_report_pub_progress(const rc_lg_pub_stats_t *st, double t_s)
{
    fprintf(stderr, "loadgen publish t=%.0fs sent=%llu ok=%llu failed=%llu rtt_p99=%.0fus\n", t_s,
            (unsigned long long)st->sent, (unsigned long long)st->ok, (unsigned long long)st->failed,
            us(rc_hist_quantile(&st->rtt, 0.99)));
}

int rc_lg_report_clients(const char *path, const rc_lg_opts_t *o, const rc_lg_stats_t *st, double elapsed_s)
{
    uint64_t failed = st->failed_connect + st->failed_handshake + st->failed_timeout;
    /* Connections opened per second from the first attempt to the last
     * first open: the connect rate the server sustained (reconnects apart). */
    double span = (double)(st->t_last_first_open - st->t_first_attempt) / 1e9;
    double rate = st->first_opens > 1 && span > 0 ? (double)st->first_opens / span : 0;
    json_t *closes = json_object();
    char key[16];
    for (int i = 0; i < RC_LG_CLOSE_SLOTS && st->closes[i].code; i++) {
        snprintf(key, sizeof(key), "%u", st->closes[i].code);
        json_object_set_new(closes, key, jint(st->closes[i].count));
    }
    if (st->closes_other)
        json_object_set_new(closes, "other", jint(st->closes_other));

    json_t *params = json_pack("{s:s,s:i,s:s,s:I,s:f,s:I,s:s,s:I,s:f,s:I,s:I,s:I,s:s?,s:b,s:I}",
                               "host", o->host, "port", o->port, "path", o->path,
                               "connections", (json_int_t)o->connections, "rate", o->rate,
                               "topics", (json_int_t)o->topics, "topic_prefix", o->topic_prefix,
                               "heartbeat_ms", (json_int_t)o->heartbeat_ms, "duration_s", o->duration_s,
                               "src_ips", (json_int_t)o->src_ips, "first_index", (json_int_t)o->first_index,
                               "expect_events", (json_int_t)o->expect_events, "expect_from", o->expect_from,
                               "reconnect", o->reconnect,
                               "max_frame", (json_int_t)o->max_frame);
    json_t *conns = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:f,s:o}",
                              "attempted", jint(st->attempted), "established", jint(st->established),
                              "failed", jint(failed), "failed_connect", jint(st->failed_connect),
                              "failed_handshake", jint(st->failed_handshake),
                              "failed_timeout", jint(st->failed_timeout), "open_at_end", jint(st->open_at_end),
                              "reconnects", jint(st->reconnects), "connect_rate_per_s", rate,
                              "ready_ms", percentiles(&st->ready, 1e6));
    json_t *root = json_pack("{s:s,s:s,s:o,s:I,s:f}", "tool", "ringcast-loadgen", "mode", mode_name(o->mode),
                             "params", params, "started_at", (json_int_t)(time(NULL) - (time_t)elapsed_s),
                             "duration_s", elapsed_s);
    json_object_set_new(root, "connections", conns);
    json_object_set_new(root, "joins", json_pack("{s:o,s:o,s:o,s:o}", "ok", jint(st->joins_ok), "failed",
                                                 jint(st->joins_failed), "timeouts", jint(st->join_timeouts),
                                                 "joined_at_end", jint(st->joined_at_end)));
    json_object_set_new(root, "frames_received", jint(st->frames));
    json_object_set_new(root, "events_received", jint(st->events));
    json_object_set_new(root, "bytes_received", jint(st->bytes));
    json_object_set_new(root, "other_messages", jint(st->other_messages));
    json_object_set_new(root, "pings", jint(st->pings));
    json_object_set_new(root, "latency_us", percentiles(&st->latency, 1e3));
    json_object_set_new(root, "latency_hist_ns", buckets(&st->latency));
    json_object_set_new(root, "missing", json_integer((json_int_t)st->missing));
    json_object_set_new(root, "duplicated", jint(st->duplicated));
    json_object_set_new(root, "out_of_order", jint(st->out_of_order));
    json_object_set_new(root, "late_beyond_window", jint(st->late_beyond_window));
    json_object_set_new(root, "connections_with_loss", jint(st->conns_with_loss));
    json_object_set_new(root, "heartbeats", json_pack("{s:o,s:o,s:o}", "sent", jint(st->heartbeats_sent),
                                                      "replies", jint(st->heartbeat_replies), "unanswered",
                                                      jint(st->heartbeats_unanswered)));
    json_object_set_new(root, "channel_errors", jint(st->channel_errors));
    json_object_set_new(root, "channel_closes", jint(st->channel_closes));
    json_object_set_new(root, "protocol_errors", jint(st->protocol_errors));
    json_object_set_new(root, "closes_by_code", closes);
    json_object_set_new(root, "closes_by_us", jint(st->closes_by_us));
    json_object_set_new(root, "rejoin_ms", percentiles(&st->rejoin, 1e6));
    json_object_set_new(root, "caught_up", json_integer((json_int_t)st->caught_up_n));
    json_object_set_new(root, "caught_up_ms", percentiles(&st->caught_up, 1e6));
    json_object_set_new(root, "timeline_per_s", json_pack("{s:o,s:o}", "ready", series(st->timeline_up, st->timeline_len),
                                                          "lost", series(st->timeline_down, st->timeline_len)));
    json_object_set_new(root, "first_error", json_string(st->first_error));

    fprintf(stderr,
            "loadgen done mode=%s duration=%.1fs attempted=%llu established=%llu failed=%llu joins_ok=%llu "
            "joins_failed=%llu connect_rate=%.0f/s events=%llu latency_us p50=%.0f p99=%.0f p999=%.0f max=%.0f "
            "missing=%lld duplicated=%llu out_of_order=%llu%s%s\n",
            mode_name(o->mode), elapsed_s, (unsigned long long)st->attempted, (unsigned long long)st->established,
            (unsigned long long)failed, (unsigned long long)st->joins_ok, (unsigned long long)st->joins_failed,
            rate, (unsigned long long)st->events, us(rc_hist_quantile(&st->latency, 0.5)),
            us(rc_hist_quantile(&st->latency, 0.99)), us(rc_hist_quantile(&st->latency, 0.999)),
            us(st->latency.max), (long long)st->missing, (unsigned long long)st->duplicated,
            (unsigned long long)st->out_of_order, st->first_error[0] ? " first_error=" : "", st->first_error);
    return write_json(path, root);
}

int rc_lg_report_publish(const char *path, const rc_lg_pub_opts_t *o, const rc_lg_pub_stats_t *st)
{
    json_t *per_topic = json_object();
    char name[256];
    for (uint32_t i = 0; i < o->topics; i++) {
        snprintf(name, sizeof(name), "%s%u", o->topic_prefix, i);
        json_object_set_new(per_topic, name, jint(st->topic_n[i]));
    }
    double rate = st->elapsed_s > 0 ? (double)st->ok / st->elapsed_s : 0;
    json_t *root = json_pack("{s:s,s:s,s:s,s:s,s:I,s:f,s:f,s:I,s:I}", "tool", "ringcast-loadgen", "mode", "publish",
                             "format", o->nchan ? "nchan" : "ringcast", "url", o->nchan ? o->nchan_url : o->url,
                             "topics", (json_int_t)o->topics, "rate_target", o->rate, "duration_s", st->elapsed_s,
                             "pub_conns", (json_int_t)o->conns, "pad", (json_int_t)o->pad);
    json_object_set_new(root, "sent", jint(st->sent));
    json_object_set_new(root, "ok", jint(st->ok));
    json_object_set_new(root, "failed", jint(st->failed));
    json_object_set_new(root, "reconnects", jint(st->reconnects));
    json_object_set_new(root, "late_max", jint(st->late_max));
    json_object_set_new(root, "rate_achieved", json_real(rate));
    json_object_set_new(root, "per_topic", per_topic);
    json_object_set_new(root, "response_us", percentiles(&st->rtt, 1e3));
    json_object_set_new(root, "first_error", json_string(st->first_error));
    fprintf(stderr,
            "loadgen done mode=publish duration=%.1fs sent=%llu ok=%llu failed=%llu rate=%.1f/s response_us "
            "p50=%.0f p99=%.0f max=%.0f%s%s\n",
            st->elapsed_s, (unsigned long long)st->sent, (unsigned long long)st->ok, (unsigned long long)st->failed,
            rate, us(rc_hist_quantile(&st->rtt, 0.5)), us(rc_hist_quantile(&st->rtt, 0.99)), us(st->rtt.max),
            st->first_error[0] ? " first_error=" : "", st->first_error);
    return write_json(path, root);
}

int rc_lg_report_load_expect(const char *path, const char *prefix, uint32_t topics, uint64_t **out)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        return -ENOENT;
    json_t *pt = json_object_get(root, "per_topic");
    if (!json_is_object(pt)) {
        json_decref(root);
        return -EINVAL;
    }
    uint64_t *v = rc_xcalloc(topics, sizeof(uint64_t));
    char name[256];
    for (uint32_t i = 0; i < topics; i++) {
        snprintf(name, sizeof(name), "%s%u", prefix, i);
        json_t *n = json_object_get(pt, name);
        v[i] = json_is_integer(n) && json_integer_value(n) > 0 ? (uint64_t)json_integer_value(n) : 0;
    }
    json_decref(root);
    *out = v;
    return 0;
}
