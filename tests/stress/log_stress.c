/* Stress test of the shm event log (issue 4): one writer, several readers,
 * random record sizes with checksums, a deliberately slow reader that gets
 * lapped, and optionally a writer killed with SIGKILL mid-stream and
 * replaced by a new one on the same region.
 *
 *   log_stress --mode fork|threads --records N [--readers 4] [--crash]
 *
 * fork: readers and writers are real processes on real shared memory.
 * threads: the same in one process, for ThreadSanitizer (it cannot see
 * races across processes).
 * A reader accepts a record only if the log says it is intact after the
 * reader checked it; an accepted record whose checksum or seq is wrong is a
 * failure (torn data got through). Every 512 records a reader also walks
 * the topic back from its head (shm/topic_walk.h) while the writer writes:
 * a record the walk accepts must be intact and at the offset it claims
 * (one topic: its offsets are the seqs). Prints one summary line per
 * reader. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shm/log.h"
#include "shm/topic_walk.h"
#include "shm/tsan.h"
#include "shm/wake.h"

#define MAX_READERS 8

/* Shared between all participants (anonymous shared mapping). */
typedef struct shared {
    _Atomic int done;               /* the writer wrote everything */
    _Atomic uint64_t last_seq;      /* the final seq, valid once done */
    _Atomic uint64_t cursor[MAX_READERS]; /* each reader's next seq, for crash-mode pacing */
    _Atomic int failures;
} shared_t;

typedef struct result {
    uint64_t accepted, lost, lapped, torn_rejected, max_seq, sleeps, walked;
    int bad;
} result_t;

static const char *instance;
static uint64_t nrecords;
static int nreaders = 4, crash_mode;
static shared_t *sh;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* Frame length for seq: mostly 16 B..4 KiB, 1% up to 64 KiB. */
static uint32_t frame_len_of(uint64_t seq)
{
    uint64_t r = mix(seq);
    if (r % 100 == 0)
        return 16 + (uint32_t)((r >> 8) % (65536 - 16));
    return 16 + (uint32_t)((r >> 8) % (4096 - 16));
}

/* Frame content: [seq u64][checksum u64][bytes derived from seq]. */
static void fill(uint8_t *f, uint32_t n, uint64_t seq)
{
    uint64_t sum = 0, x = mix(seq ^ 0x9e3779b97f4a7c15ull);
    RC_TSAN_IGNORE_WRITES_BEGIN();
    for (uint32_t i = 16; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        f[i] = (uint8_t)(x >> 56);
        sum = sum * 31 + f[i];
    }
    memcpy(f, &seq, 8);
    memcpy(f + 8, &sum, 8);
    RC_TSAN_IGNORE_WRITES_END();
}

static int verify(const uint8_t *f, uint32_t n, uint64_t seq)
{
    uint64_t s, sum = 0, want;
    RC_TSAN_IGNORE_READS_BEGIN();
    memcpy(&s, f, 8);
    memcpy(&want, f + 8, 8);
    for (uint32_t i = 16; i < n; i++)
        sum = sum * 31 + f[i];
    RC_TSAN_IGNORE_READS_END();
    return n == frame_len_of(seq) && s == seq && sum == want;
}

static uint64_t slowest_cursor(void)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; i < nreaders; i++) {
        uint64_t c = atomic_load(&sh->cursor[i]);
        if (c < m)
            m = c;
    }
    return m;
}

/* Writes records until seq reaches upto (or is killed). */
static void write_records(rc_log_t *log, uint64_t upto)
{
    for (;;) {
        uint64_t seq = rc_log_next_seq(log);
        if (seq > upto)
            break;
        /* In crash mode readers must never be lapped (the test is about a
         * gap-free sequence across writer death), so the writer waits for
         * them; otherwise it never waits, as the broker never does. */
        while (crash_mode && seq > slowest_cursor() + 256)
            usleep(50); /* 256 records of at most 64 KiB fit the 4 MiB ring with room */
        uint32_t n = frame_len_of(seq);
        uint8_t *f = rc_log_reserve(log, "stress", 6, n, 0);
        if (!f) {
            fprintf(stderr, "reserve failed for %u bytes\n", n);
            abort();
        }
        fill(f, n, seq);
        if (rc_log_commit(log) != seq)
            abort();
    }
}

/* Seeks 1..256 records back from the topic's head as this reader sees it
 * and checks what it finds. Returns 0 if the walk accepted a bad record. */
static int walk_check(const rc_log_t *log, uint64_t limit, uint64_t seq, result_t *res)
{
    rc_topic_state_t st;
    rc_topic_state(log, "stress", 6, limit, &st);
    if (!st.have_head)
        return 1;
    uint64_t back = 1 + mix(seq) % 256;
    if (st.head.offset <= back)
        return 1;
    rc_log_view_t v;
    if (!rc_topic_seek(log, "stress", 6, &st.head, st.head.offset - back, &v))
        return 1; /* overwritten meanwhile: not held, fine */
    int ok = verify(v.frame, v.frame_len, v.seq);
    if (!rc_log_intact(log, v.pos, v.len))
        return 1;
    res->walked++;
    return ok && v.offset == v.seq && v.offset == st.head.offset - back;
}

static void reader_run(int id, result_t *res)
{
    rc_log_t log;
    if (rc_log_open_reader(&log, instance) < 0) {
        res->bad = 1;
        return;
    }
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&log, &rd);
    /* The writer starts after every reader is at the tail (seq 1 is the first). */
    uint64_t expect = 1;
    int slow = (id == nreaders - 1) && !crash_mode;
    for (;;) {
        rc_log_view_t v;
        int r = rc_log_reader_next(&log, &rd, &v);
        if (r == 0) {
            /* done was set after the last commit: at the tail now = finished */
            if (atomic_load(&sh->done) && rc_log_reader_next(&log, &rd, &v) == 0)
                break;
            uint32_t w;
            if (rc_wake_prepare(&log, &rd, &w) == 0) {
                res->sleeps++;
                rc_wake_wait(&log, w, 100);
            }
            continue;
        }
        if (r < 0)
            continue; /* lapped: counted in rd.lapped / rd.lost */
        int ok = verify(v.frame, v.frame_len, v.seq);
        if (!rc_log_intact(&log, v.pos, v.len)) {
            res->torn_rejected++; /* overwritten while we read it: not accepted */
            continue;
        }
        if (!ok || v.seq < expect) {
            fprintf(stderr, "reader %d: ACCEPTED A BAD RECORD seq=%llu expect>=%llu len=%u\n", id,
                    (unsigned long long)v.seq, (unsigned long long)expect, v.frame_len);
            res->bad = 1;
            atomic_fetch_add(&sh->failures, 1);
            break;
        }
        if (crash_mode && v.seq != expect) {
            fprintf(stderr, "reader %d: gap: seq %llu after %llu\n", id, (unsigned long long)v.seq,
                    (unsigned long long)expect - 1);
            res->bad = 1;
            break;
        }
        if (v.seq % 512 == 0 && !walk_check(&log, rd.pos, v.seq, res)) {
            fprintf(stderr, "reader %d: A TOPIC WALK ACCEPTED A BAD RECORD near seq %llu\n", id,
                    (unsigned long long)v.seq);
            res->bad = 1;
            atomic_fetch_add(&sh->failures, 1);
            break;
        }
        expect = v.seq + 1;
        res->accepted++;
        res->max_seq = v.seq;
        atomic_store(&sh->cursor[id], v.seq);
        if (slow && v.seq % 64 == 0)
            usleep(2000); /* the slow consumer: it must get lapped */
    }
    atomic_store(&sh->cursor[id], UINT64_MAX); /* never hold the writer back again */
    if (rd.lap_from) /* lapped at the very end: nothing after it names the gap */
        rd.lost += atomic_load(&sh->last_seq) + 1 - rd.lap_from;
    res->lost = rd.lost;
    res->lapped = rd.lapped;
    rc_log_close(&log);
}

static result_t *results;

static void *reader_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    reader_run(id, &results[id]);
    return NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int report(const result_t *res, int n)
{
    int fail = atomic_load(&sh->failures) > 0;
    for (int i = 0; i < n; i++) {
        printf("reader %d%s: accepted=%llu lost=%llu lapped=%llu torn_rejected=%llu last_seq=%llu sleeps=%llu "
               "walked=%llu%s\n", i,
               (i == n - 1 && !crash_mode) ? " (slow)" : "", (unsigned long long)res[i].accepted,
               (unsigned long long)res[i].lost, (unsigned long long)res[i].lapped,
               (unsigned long long)res[i].torn_rejected, (unsigned long long)res[i].max_seq,
               (unsigned long long)res[i].sleeps, (unsigned long long)res[i].walked, res[i].bad ? " BAD" : "");
        fail |= res[i].bad;
        /* Every seq is accounted for exactly once: accepted, rejected as
         * overwritten while read, or lost to a lap. */
        if (!res[i].bad && res[i].accepted + res[i].torn_rejected + res[i].lost != nrecords) {
            printf("reader %d: accepted + rejected + lost = %llu, not %llu\n", i,
                   (unsigned long long)(res[i].accepted + res[i].torn_rejected + res[i].lost),
                   (unsigned long long)nrecords);
            fail = 1;
        }
        if (!res[i].lapped && res[i].max_seq != nrecords) {
            printf("reader %d was never lapped but did not reach the last record\n", i);
            fail = 1;
        }
    }
    if (res[0].walked == 0) {
        printf("reader 0 never walked the topic: the test did not test walks\n");
        fail = 1;
    }
    if (!crash_mode && n > 1 && res[n - 1].lapped == 0) {
        printf("the slow reader was never lapped: the test did not test lapping\n");
        fail = 1;
    }
    if (crash_mode)
        for (int i = 0; i < n; i++)
            if (res[i].lost || res[i].accepted != nrecords) {
                printf("reader %d: crash mode must be gap-free\n", i);
                fail = 1;
            }
    for (int i = 0; i < n - (crash_mode ? 0 : 1); i++)
        if (res[i].lost && !crash_mode)
            printf("note: fast reader %d was lapped too (2 cores, many processes)\n", i);
    return fail;
}

int main(int argc, char **argv)
{
    const char *mode = "fork";
    nrecords = 200000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode = argv[++i];
        else if (!strcmp(argv[i], "--records") && i + 1 < argc)
            nrecords = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--readers") && i + 1 < argc)
            nreaders = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--crash"))
            crash_mode = 1;
        else {
            fprintf(stderr, "usage: %s --mode fork|threads --records N [--readers K] [--crash]\n", argv[0]);
            return 2;
        }
    }
    if (nreaders < 1 || nreaders > MAX_READERS)
        return 2;
    static char inst[64];
    snprintf(inst, sizeof(inst), "stress-%d", (int)getpid());
    instance = inst;
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    rc_log_t w;
    rc_log_geometry_t geo = {4u << 20, 1024, 4096};
    if (rc_log_open_writer(&w, instance, &geo, 0) != RC_LOG_CREATED)
        return 1;
    result_t *res = mmap(NULL, sizeof(result_t) * MAX_READERS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    results = res;
    uint64_t t0 = now_ms();
    int fail = 0;
    if (!strcmp(mode, "threads")) {
        pthread_t th[MAX_READERS];
        for (int i = 0; i < nreaders; i++)
            pthread_create(&th[i], NULL, reader_thread, (void *)(intptr_t)i);
        usleep(100000);
        write_records(&w, nrecords);
        atomic_store(&sh->last_seq, nrecords);
        atomic_store(&sh->done, 1);
        for (int i = 0; i < nreaders; i++)
            pthread_join(th[i], NULL);
    } else {
        pid_t kids[MAX_READERS];
        for (int i = 0; i < nreaders; i++) {
            kids[i] = fork();
            if (kids[i] == 0) {
                /* A reader is another process, not a holder of the writer's
                 * lock: the descriptor fork copied is not its to keep. */
                if (w.lock_fd > 0)
                    close(w.lock_fd);
                reader_run(i, &res[i]);
                _exit(0);
            }
        }
        usleep(100000);
        if (crash_mode) {
            /* Writer 1 is killed with SIGKILL at a random point; writer 2
             * re-attaches the region and finishes. */
            pid_t wp = fork();
            if (wp == 0) {
                write_records(&w, nrecords);
                _exit(0);
            }
            usleep(20000 + (useconds_t)(mix((uint64_t)getpid()) % 200000));
            kill(wp, SIGKILL);
            waitpid(wp, NULL, 0);
            uint64_t at = rc_log_next_seq(&w);
            rc_log_close(&w);
            rc_log_t w2;
            if (rc_log_open_writer(&w2, instance, &geo, 0) != RC_LOG_REATTACHED) {
                printf("new writer could not re-attach\n");
                fail = 1;
            }
            printf("writer killed (SIGKILL) around seq %llu; new writer continues at seq %llu\n",
                   (unsigned long long)at, (unsigned long long)rc_log_next_seq(&w2));
            write_records(&w2, nrecords);
            w = w2;
        } else {
            write_records(&w, nrecords);
        }
        atomic_store(&sh->last_seq, nrecords);
        atomic_store(&sh->done, 1);
        rc_wake_readers(&w);
        for (int i = 0; i < nreaders; i++) {
            int st;
            waitpid(kids[i], &st, 0);
            if (!WIFEXITED(st) || WEXITSTATUS(st)) {
                printf("reader %d died (status %d)\n", i, st);
                fail = 1;
            }
        }
    }
    uint64_t ms = now_ms() - t0;
    fail |= report(res, nreaders);
    printf("%s: %llu records, %d readers, %llu ms, %.0f records/s, wake syscalls %llu%s\n", mode,
           (unsigned long long)nrecords, nreaders, (unsigned long long)ms, nrecords * 1000.0 / (double)(ms ? ms : 1),
           (unsigned long long)atomic_load(&w.hdr->wake_syscalls), crash_mode ? " (crash)" : "");
    rc_log_close(&w);
    rc_log_unlink(instance);
    printf("%s\n", fail ? "FAILED" : "OK");
    return fail;
}
