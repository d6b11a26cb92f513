/* Cost of walking a topic in the shm log (feeds: positions, resume,
 * history), in one process on a real region:
 *  - a topic of N events interleaved with 4 others (5N records);
 *  - a join's position (rc_topic_state: index snapshot, oldest held);
 *  - a seek to depth d (skip pointers) and, for comparison, the same depth
 *    walked record by record through prev_pos (what a page would cost
 *    without skip pointers);
 *  - a history page of 100 events (rc_history_page) before depth d.
 * Each figure is the mean over many repetitions, in ns.
 *
 *   feed_bench [--events N] [--reps R] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "proto/phx.h"
#include "proto/ws_frame.h"
#include "shm/history_page.h"
#include "shm/log.h"
#include "shm/topic_walk.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One broadcast record, as the broker writes it. */
static void put(rc_log_t *log, const char *topic, uint64_t n)
{
    char data[64], text[256];
    int dn = snprintf(data, sizeof(data), "{\"n\":%llu,\"body\":\"an event of a feed\"}", (unsigned long long)n);
    rc_topic_pos_t at = rc_log_next_position(log, topic, (uint16_t)strlen(topic));
    int tn = rc_phx_encode_broadcast(text, sizeof(text), at.offset, rc_slice_cstr(topic), rc_slice_cstr("item"),
                                     rc_slice(data, (size_t)dn));
    size_t h = rc_ws_header_size((uint64_t)tn);
    uint8_t *f = rc_log_reserve(log, topic, (uint16_t)strlen(topic), (uint32_t)(h + (size_t)tn), 0);
    rc_ws_header_encode(f, RC_WS_OP_TEXT, (uint64_t)tn);
    memcpy(f + h, text, (size_t)tn);
    rc_log_commit_quiet(log);
}

int main(int argc, char **argv)
{
    uint64_t events = 100000, reps = 20000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--events") && i + 1 < argc)
            events = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--events N] [--reps R]\n", argv[0]);
            return 2;
        }
    }
    char inst[64];
    snprintf(inst, sizeof(inst), "feedbench-%d", (int)getpid());
    rc_log_t log;
    rc_log_geometry_t geo = rc_log_geometry(256u << 20);
    if (rc_log_open_writer(&log, inst, &geo, 0) != RC_LOG_CREATED)
        return 1;
    const char *others[] = {"room:1", "room:2", "room:3", "room:4"};
    uint64_t t0 = now_ns();
    for (uint64_t n = 1; n <= events; n++) {
        put(&log, "feed:main", n);
        for (int k = 0; k < 4; k++)
            put(&log, others[k], n);
    }
    double write_ns = (double)(now_ns() - t0) / (double)(5 * events);
    struct utsname u;
    uname(&u);
    printf("feed_bench: %llu events on feed:main among %llu records; writer %.0f ns per record (encode + position + "
           "skip pointer + commit); kernel %s\n",
           (unsigned long long)events, (unsigned long long)(5 * events), write_ns, u.release);
    rc_topic_state_t st;
    volatile uint64_t sink = 0;
    t0 = now_ns();
    for (uint64_t r = 0; r < reps; r++) {
        rc_topic_state(&log, "feed:main", 9, UINT64_MAX, &st);
        sink += st.offset;
    }
    printf("join position (rc_topic_state, oldest included): %.0f ns\n", (double)(now_ns() - t0) / (double)reps);
    printf("%10s %14s %14s %14s\n", "depth", "seek ns", "prev walk ns", "page(100) ns");
    const uint64_t depths[] = {0, 100, 1000, 10000, events - 101};
    char *buf = NULL;
    size_t cap = 0;
    for (size_t di = 0; di < sizeof(depths) / sizeof(depths[0]); di++) {
        uint64_t d = depths[di], target = st.offset - d;
        rc_log_view_t v;
        t0 = now_ns();
        for (uint64_t r = 0; r < reps; r++) {
            if (!rc_topic_seek(&log, "feed:main", 9, &st.head, target, &v))
                return 1;
            sink += v.pos;
        }
        double seek = (double)(now_ns() - t0) / (double)reps;
        uint64_t wreps = d > 1000 ? reps / 100 + 1 : reps;
        t0 = now_ns();
        for (uint64_t r = 0; r < wreps; r++) {
            rc_log_view_t x = st.head, y;
            while (x.offset > target && rc_topic_prev(&log, "feed:main", 9, &x, &y))
                x = y;
            sink += x.pos;
        }
        double walk = (double)(now_ns() - t0) / (double)wreps;
        rc_history_req_t req = {.dir = RC_HISTORY_BEFORE, .at = target + 1, .limit = 100};
        t0 = now_ns();
        for (uint64_t r = 0; r < reps / 10 + 1; r++) {
            long n = rc_history_page(&log, "feed:main", 9, UINT64_MAX, &req, 1u << 20, &buf, &cap);
            if (n < 0)
                return 1;
            sink += (uint64_t)n;
        }
        double page = (double)(now_ns() - t0) / (double)(reps / 10 + 1);
        printf("%10llu %14.0f %14.0f %14.0f\n", (unsigned long long)d, seek, walk, page);
    }
    free(buf);
    rc_log_close(&log);
    rc_log_unlink(inst);
    return sink == 42; /* keeps the loops */
}
