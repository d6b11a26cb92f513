/* Benchmark of the shm event log (issue 4):
 *  - throughput: one writer, 0 (alone), 1 or 4 reader processes, 64 B / 1 KiB / 16 KiB
 *    frames: records/s and GB/s written and read, records lost to lapping,
 *    wake syscalls per 1,000 records;
 *  - wake latency: a sleeping reader (futex wait) is woken by a commit:
 *    commit -> reader running, p50/p99/max.
 *
 *   log_bench [--records N] [--wakes N] [--json FILE]
 *
 * Readers are separate processes on the real shared mapping, as edges are. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shm/log.h"
#include "shm/wake.h"

typedef struct shared {
    _Atomic int ready;
    _Atomic int done;
    _Atomic uint64_t t_commit; /* wake test: when the writer committed */
    _Atomic uint64_t t_woken;  /* wake test: when the reader ran */
    struct {
        uint64_t read, lost, ns, sum;
    } r[8];
} shared_t;

static shared_t *sh;
static char inst[64];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void reader(int id, uint64_t total)
{
    rc_log_t log;
    if (rc_log_open_reader(&log, inst) < 0)
        _exit(1);
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&log, &rd);
    atomic_fetch_add(&sh->ready, 1);
    uint64_t n = 0, sum = 0, t0 = 0;
    for (;;) {
        rc_log_view_t v;
        int r = rc_log_reader_next(&log, &rd, &v);
        if (r == 1) {
            if (!t0)
                t0 = now_ns();
            sum += v.frame[0] + v.frame[v.frame_len - 1]; /* touch the frame */
            n++;
            if (v.seq == total)
                break;
            continue;
        }
        if (r < 0)
            continue;
        if (atomic_load(&sh->done) && rc_log_reader_next(&log, &rd, &v) == 0)
            break;
        uint32_t w;
        if (rc_wake_prepare(&log, &rd, &w) == 0)
            rc_wake_wait(&log, w, 50);
    }
    sh->r[id].ns = now_ns() - t0;
    sh->r[id].read = n;
    sh->r[id].lost = rd.lost + (rd.lap_from ? total + 1 - rd.lap_from : 0);
    sh->r[id].sum = sum;
    _exit(0);
}

typedef struct tp_result {
    uint32_t size;
    int readers;
    int batch;
    uint64_t records;
    double w_rps, w_gbps, r_rps_min, r_gbps_min;
    uint64_t lost_max, wake_syscalls;
} tp_result_t;

/* batch: records per burst; each burst takes one timestamp, commits quietly
 * and wakes readers once (the broker's batch path). batch 1 = one commit
 * with its own clock read and wake check per record (single pushes). */
static tp_result_t throughput(uint32_t frame, int nreaders, uint64_t records, int batch)
{
    static int run;
    snprintf(inst, sizeof(inst), "bench-%d-%d", (int)getpid(), run++);
    rc_log_geometry_t g = rc_log_geometry(256u << 20);
    rc_log_t w;
    if (rc_log_open_writer(&w, inst, &g, 0) != RC_LOG_CREATED)
        exit(1);
    memset(sh, 0, sizeof(*sh));
    pid_t kids[8];
    for (int i = 0; i < nreaders; i++)
        if ((kids[i] = fork()) == 0)
            reader(i, records);
    while (atomic_load(&sh->ready) < nreaders)
        usleep(1000);
    uint8_t *payload = malloc(frame);
    memset(payload, 'x', frame);
    uint64_t t0 = now_ns();
    struct timespec ts;
    for (uint64_t i = 0; i < records;) {
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t stamp = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        for (int b = 0; b < batch && i < records; b++, i++) {
            uint8_t *f = rc_log_reserve(&w, "bench:topic", 11, frame, stamp);
            memcpy(f, payload, frame);
            f[0] = (uint8_t)i;
            if (batch == 1)
                rc_log_commit(&w);
            else
                rc_log_commit_quiet(&w);
        }
        if (batch > 1)
            rc_wake_readers(&w);
    }
    uint64_t wns = now_ns() - t0;
    atomic_store(&sh->done, 1);
    rc_wake_readers(&w);
    for (int i = 0; i < nreaders; i++)
        waitpid(kids[i], NULL, 0);
    tp_result_t r = {frame, nreaders, batch, records, 0, 0, 1e18, 1e18, 0, 0};
    r.w_rps = records * 1e9 / (double)wns;
    r.w_gbps = r.w_rps * frame / 1e9;
    for (int i = 0; i < nreaders; i++) {
        double rps = sh->r[i].read * 1e9 / (double)(sh->r[i].ns ? sh->r[i].ns : 1);
        if (rps < r.r_rps_min)
            r.r_rps_min = rps;
        if (sh->r[i].lost > r.lost_max)
            r.lost_max = sh->r[i].lost;
    }
    if (nreaders == 0)
        r.r_rps_min = 0;
    r.r_gbps_min = r.r_rps_min * frame / 1e9;
    r.wake_syscalls = atomic_load(&w.hdr->wake_syscalls);
    free(payload);
    rc_log_close(&w);
    rc_log_unlink(inst);
    return r;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The reader sleeps in futex wait; the writer commits once it sees the
 * reader said it sleeps; the reader stamps when it runs again. */
static void wake_latency(int n, uint64_t *p50, uint64_t *p99, uint64_t *pmax)
{
    snprintf(inst, sizeof(inst), "bench-wake-%d", (int)getpid());
    rc_log_geometry_t g = rc_log_geometry(1u << 20);
    rc_log_t w;
    if (rc_log_open_writer(&w, inst, &g, 0) != RC_LOG_CREATED)
        exit(1);
    memset(sh, 0, sizeof(*sh));
    pid_t kid = fork();
    if (kid == 0) {
        rc_log_t log;
        rc_log_open_reader(&log, inst);
        rc_log_reader_t rd;
        rc_log_reader_at_tail(&log, &rd);
        atomic_store(&sh->ready, 1);
        for (int i = 0; i < n;) {
            rc_log_view_t v;
            if (rc_log_reader_next(&log, &rd, &v) == 1) {
                atomic_store(&sh->t_woken, now_ns());
                i++;
                continue;
            }
            uint32_t word;
            if (rc_wake_prepare(&log, &rd, &word) == 0)
                rc_wake_wait(&log, word, 1000);
        }
        _exit(0);
    }
    while (!atomic_load(&sh->ready))
        usleep(1000);
    uint64_t *lat = calloc((size_t)n, sizeof(*lat));
    for (int i = 0; i < n; i++) {
        atomic_store(&sh->t_woken, 0);
        /* wait until the reader is asleep: sleepers set and a moment passed */
        while (!atomic_load(&w.hdr->sleepers))
            ;
        usleep(200);
        uint8_t *f = rc_log_reserve(&w, "t", 1, 8, 0);
        memset(f, 0, 8);
        uint64_t t = now_ns();
        rc_log_commit(&w);
        uint64_t woken;
        while (!(woken = atomic_load(&sh->t_woken)))
            ;
        lat[i] = woken > t ? woken - t : 0;
    }
    waitpid(kid, NULL, 0);
    qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
    *p50 = lat[n / 2];
    *p99 = lat[(size_t)n * 99 / 100];
    *pmax = lat[n - 1];
    free(lat);
    rc_log_close(&w);
    rc_log_unlink(inst);
}

int main(int argc, char **argv)
{
    uint64_t records = 5000000;
    int wakes = 5000;
    const char *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--records") && i + 1 < argc)
            records = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--wakes") && i + 1 < argc)
            wakes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--records N] [--wakes N] [--json FILE]\n", argv[0]);
            return 2;
        }
    }
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    const uint32_t sizes[] = {64, 1024, 16384};
    const int readers[] = {0, 1, 4}; /* 0: the writer alone, its ceiling */
    tp_result_t res[18];
    int k = 0;
    printf("%-6s %-7s %-5s %14s %10s %14s %10s %10s %14s\n", "frame", "readers", "batch", "write rec/s",
           "write GB/s", "read rec/s*", "read GB/s*", "lost*", "wakes/1000 rec");
    const int batches[] = {1, 100};
    for (int bi = 0; bi < 2; bi++)
        for (int si = 0; si < 3; si++)
            for (int ri = 0; ri < 3; ri++) {
                /* fewer records for big frames: the same bytes per run */
                uint64_t n = sizes[si] == 64 ? records : sizes[si] == 1024 ? records / 4 : records / 32;
                tp_result_t r = throughput(sizes[si], readers[ri], n, batches[bi]);
                res[k++] = r;
                printf("%-6u %-7d %-5d %14.0f %10.2f %14.0f %10.2f %10llu %14.3f\n", r.size, r.readers, r.batch,
                       r.w_rps, r.w_gbps, r.r_rps_min, r.r_gbps_min, (unsigned long long)r.lost_max,
                       r.wake_syscalls * 1000.0 / (double)n);
            }
    printf("* slowest reader\n");
    uint64_t p50, p99, pmax;
    wake_latency(wakes, &p50, &p99, &pmax);
    printf("wake latency (commit -> sleeping reader runs), %d wakes: p50 %.1f us, p99 %.1f us, max %.1f us\n", wakes,
           p50 / 1e3, p99 / 1e3, pmax / 1e3);
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f)
            return 1;
        struct utsname u;
        uname(&u);
        time_t t = time(NULL);
        char date[32];
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        fprintf(f, "{\"date\":\"%s\",\"kernel\":\"%s\",\"cores\":%ld,\"records_64\":%llu,\"throughput\":[", date,
                u.release, sysconf(_SC_NPROCESSORS_ONLN), (unsigned long long)records);
        for (int i = 0; i < k; i++)
            fprintf(f, "%s{\"frame\":%u,\"readers\":%d,\"batch\":%d,\"records\":%llu,\"write_rps\":%.0f,\"write_gbps\":%.3f,"
                       "\"read_rps_slowest\":%.0f,\"read_gbps_slowest\":%.3f,\"lost_max\":%llu,\"wake_syscalls\":%llu}",
                    i ? "," : "", res[i].size, res[i].readers, res[i].batch, (unsigned long long)res[i].records, res[i].w_rps,
                    res[i].w_gbps, res[i].r_rps_min, res[i].r_gbps_min, (unsigned long long)res[i].lost_max,
                    (unsigned long long)res[i].wake_syscalls);
        fprintf(f, "],\"wake\":{\"n\":%d,\"p50_ns\":%llu,\"p99_ns\":%llu,\"max_ns\":%llu}}\n", wakes,
                (unsigned long long)p50, (unsigned long long)p99, (unsigned long long)pmax);
        fclose(f);
    }
    return 0;
}
