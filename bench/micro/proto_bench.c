/* Micro-benchmark of the proto/ hot paths (issue 3): unmasking, UTF-8
 * validation, frame parsing as an edge does it, Phoenix text decoding.
 *
 *   proto_bench [--json FILE]
 *
 * Each figure: iterations calibrated so one run lasts >= 0.5 s of
 * CLOCK_MONOTONIC time, five runs, the best (and the median) reported.
 * GB/s is 10^9 bytes per second. Every result feeds a checksum that is
 * printed, so the compiler cannot drop the work. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "proto/phx.h"
#include "proto/utf8.h"
#include "proto/ws_frame.h"
#include "proto/ws_reader.h"

#define RUNS 5
#define MIN_RUN_S 0.5
#define FRAME_PAYLOAD 64
#define FRAMES_PER_BUF 1024

typedef struct bench {
    const char *key;     /* JSON name */
    const char *label;   /* table row */
    const char *unit;    /* "GB/s" or "<things>/s" */
    double per_iter;     /* bytes (GB/s) or items per iteration */
    uint64_t (*fn)(const struct bench *b, uint64_t iters);
    uint8_t *data;
    size_t n;
    uint64_t offset;     /* unmask: position of data[0] in the payload */
    /* results */
    uint64_t iters;
    double best, median;
} bench_t;

static uint64_t g_sum; /* checksum of everything computed */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "proto_bench: %s\n", what);
    exit(1);
}

static void *xaligned(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n + 64) != 0)
        die("out of memory");
    return p;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* ---- the measured loops ---- */

static const uint8_t mask4[4] = { 0x37, 0xfa, 0x21, 0x3d };

static uint64_t run_unmask(const bench_t *b, uint64_t iters)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < iters; i++) {
        rc_ws_unmask(b->data, b->n, mask4, b->offset);
        s += b->data[i % b->n];
    }
    return s;
}

static uint64_t run_utf8(const bench_t *b, uint64_t iters)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < iters; i++) {
        uint32_t st = rc_utf8_feed(RC_UTF8_ACCEPT, b->data, b->n);
        if (st != RC_UTF8_ACCEPT)
            die("bench text is not valid UTF-8");
        s += st + 1;
    }
    return s;
}

/* What an edge does per read buffer: header, unmask in place, message rules.
 * Payloads and mask bytes are all below 0x80, so the text stays ASCII (valid
 * UTF-8) whether the pass starts from masked or already unmasked bytes. */
static uint64_t run_frames(const bench_t *b, uint64_t iters)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < iters; i++) {
        rc_ws_reader_t rd;
        size_t pos = 0;
        rc_ws_reader_init(&rd, 1 << 20);
        while (pos < b->n) {
            rc_ws_frame_t f;
            uint8_t op;
            uint16_t code;
            int r = rc_ws_frame_parse(b->data + pos, b->n - pos, 1 << 20, &f);
            if (r <= 0 || f.payload_len > b->n - pos - f.header_len)
                die("frame buffer does not parse");
            rc_ws_unmask(b->data + pos + f.header_len, (size_t)f.payload_len, f.mask, 0);
            r = rc_ws_reader_frame(&rd, &f, b->data + pos + f.header_len, &op, &code);
            if (r != RC_WS_EV_MESSAGE)
                die("frame buffer is not all messages");
            s += op + b->data[pos + f.header_len];
            pos += f.header_len + (size_t)f.payload_len;
        }
    }
    return s;
}

static uint64_t run_phx(const bench_t *b, uint64_t iters)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < iters; i++) {
        rc_phx_msg_t m;
        const char *why;
        if (rc_phx_decode_text((const char *)b->data, b->n, &m, &why) != 0)
            die("phoenix message does not decode");
        s += m.topic.n + m.event.n + (m.ref.p ? (uint8_t)m.ref.p[0] : 0);
        rc_phx_msg_release(&m);
    }
    return s;
}

/* ---- inputs ---- */

static const char json_line[] =
    "[null,\"@12345\",\"room:lobby\",\"new_msg\",{\"body\":\"The quick brown fox jumps "
    "over the lazy dog\",\"user\":\"alice\",\"ts\":1718000000,\"tags\":[\"a\",\"b\"]}]\n";

static void fill_ascii_json(uint8_t *p, size_t n)
{
    size_t L = sizeof(json_line) - 1;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)json_line[i % L];
}

static size_t put_utf8(uint8_t *p, uint32_t cp)
{
    if (cp < 0x80) {
        p[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        p[0] = (uint8_t)(0xC0 | cp >> 6);
        p[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (uint8_t)(0xE0 | cp >> 12);
        p[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        p[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    p[0] = (uint8_t)(0xF0 | cp >> 18);
    p[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    p[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    p[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* 30% of characters multi-byte (10% each of 2, 3 and 4 bytes: Latin/Greek,
 * CJK, emoji), the rest ASCII letters and spaces; padded with spaces to
 * exactly n bytes so the buffer ends on a character boundary. */
static void fill_mixed(uint8_t *p, size_t n)
{
    static const char ascii[] = "abcdefghijklmnopqrstuvwxyz     ,.\"{}:";
    size_t i = 0;
    for (;;) {
        uint8_t tmp[4];
        uint32_t r = rnd() % 100, cp;
        size_t k;
        if (r < 10)
            cp = 0xA0 + rnd() % (0x800 - 0xA0);
        else if (r < 20)
            cp = 0x4E00 + rnd() % (0x9FFF - 0x4E00);
        else if (r < 30)
            cp = 0x1F300 + rnd() % 0x300;
        else
            cp = (uint8_t)ascii[rnd() % (sizeof(ascii) - 1)];
        k = put_utf8(tmp, cp);
        if (n - i < k)
            break;
        memcpy(p + i, tmp, k);
        i += k;
    }
    memset(p + i, ' ', n - i);
}

/* FRAMES_PER_BUF masked text frames of FRAME_PAYLOAD bytes each. */
static size_t fill_frames(uint8_t *p)
{
    size_t pos = 0, L = sizeof(json_line) - 1;
    for (int k = 0; k < FRAMES_PER_BUF; k++) {
        uint8_t m[4];
        for (int j = 0; j < 4; j++)
            m[j] = (uint8_t)(rnd() & 0x7F);
        p[pos++] = 0x81;
        p[pos++] = 0x80 | FRAME_PAYLOAD;
        memcpy(p + pos, m, 4);
        pos += 4;
        for (size_t j = 0; j < FRAME_PAYLOAD; j++)
            p[pos + j] = (uint8_t)json_line[(k * 7 + j) % L] ^ m[j & 3];
        pos += FRAME_PAYLOAD;
    }
    return pos;
}

static const char phx_heartbeat[] = "[null,\"12\",\"phoenix\",\"heartbeat\",{}]";
static const char phx_join[] =
    "[\"3\",\"3\",\"room:lobby\",\"phx_join\",{\"user_id\":\"u-4821\",\"last_seq\":120394,"
    "\"token\":\"SFMyNTY.g2gDbQAAAAZ1LTQ4MjFuBgBZ8Q\"}]";

/* ---- measurement ---- */

static double run_once(bench_t *b, uint64_t iters)
{
    double t0 = now_s(), t;
    g_sum += b->fn(b, iters);
    t = now_s() - t0;
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void measure(bench_t *b)
{
    uint64_t iters = 1;
    double t, rate[RUNS];

    /* Calibrate: grow until a run is long enough to extrapolate, then aim
     * 20% above the minimum so clock jitter cannot push a run under it. */
    for (;;) {
        t = run_once(b, iters);
        if (t >= 0.05)
            break;
        iters *= t < 0.005 ? 10 : 2;
    }
    iters = (uint64_t)((double)iters * (MIN_RUN_S * 1.2) / t) + 1;
    for (int r = 0; r < RUNS; r++) {
        t = run_once(b, iters);
        if (t < MIN_RUN_S) { /* the machine got faster; redo this run longer */
            iters = (uint64_t)((double)iters * (MIN_RUN_S * 1.2) / t) + 1;
            r--;
            continue;
        }
        rate[r] = (double)iters * b->per_iter / t;
    }
    qsort(rate, RUNS, sizeof(rate[0]), cmp_double);
    b->iters = iters;
    b->best = rate[RUNS - 1];
    b->median = rate[RUNS / 2];
    if (b->unit[0] == 'G') {
        b->best /= 1e9;
        b->median /= 1e9;
    }
}

/* ---- reporting ---- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void cpu_model(char *out, size_t cap)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");

    snprintf(out, cap, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *c = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && c) {
            c++;
            while (*c == ' ' || *c == '\t')
                c++;
            c[strcspn(c, "\n")] = '\0';
            snprintf(out, cap, "%s", c);
            break;
        }
    }
    fclose(f);
}

static int write_json(const char *path, bench_t *bs, size_t nb, const char *cpu,
                      const struct utsname *u, const char *date, int argc, char **argv)
{
    FILE *f = fopen(path, "w");
    char cmd[1024] = "";
    size_t off = 0;

    if (!f)
        return -errno;
    for (int i = 0; i < argc && off < sizeof(cmd); i++)
        off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "%s%s", i ? " " : "", argv[i]);
    fprintf(f, "{\n  \"benchmark\": \"proto_bench\",\n  \"command\": ");
    json_str(f, cmd);
    fprintf(f, ",\n  \"date\": ");
    json_str(f, date);
    fprintf(f, ",\n  \"compiler\": ");
    json_str(f, __VERSION__);
    fprintf(f, ",\n  \"cpu_model\": ");
    json_str(f, cpu);
    fprintf(f, ",\n  \"cpus_online\": %ld,\n  \"kernel\": ", sysconf(_SC_NPROCESSORS_ONLN));
    json_str(f, u->release);
    fprintf(f, ",\n  \"runs\": %d,\n  \"min_run_seconds\": %.1f,\n  \"checksum\": %llu,\n"
               "  \"figures\": {\n", RUNS, MIN_RUN_S, (unsigned long long)g_sum);
    for (size_t i = 0; i < nb; i++) {
        fprintf(f, "    \"%s\": {\"label\": ", bs[i].key);
        json_str(f, bs[i].label);
        fprintf(f, ", \"unit\": \"%s\", \"best\": %.6g, \"median\": %.6g, \"iterations_per_run\": %llu}%s\n",
                bs[i].unit, bs[i].best, bs[i].median, (unsigned long long)bs[i].iters,
                i + 1 < nb ? "," : "");
    }
    fprintf(f, "  }\n}\n");
    return fclose(f) == 0 ? 0 : -errno;
}

int main(int argc, char **argv)
{
    const char *json_path = NULL;
    uint8_t *u1k = xaligned(1024 + 8), *u64k = xaligned(65536 + 8);
    uint8_t *a1k = xaligned(1024), *a64k = xaligned(65536);
    uint8_t *m1k = xaligned(1024), *m64k = xaligned(65536);
    uint8_t *fr = xaligned(FRAMES_PER_BUF * (6 + FRAME_PAYLOAD));
    size_t frn;
    char cpu[256], date[32];
    struct utsname u;
    time_t now = time(NULL);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json_path = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--json FILE]\n", argv[0]);
            return 2;
        }
    }

    for (size_t i = 0; i < 1024 + 8; i++)
        u1k[i] = (uint8_t)rnd();
    for (size_t i = 0; i < 65536 + 8; i++)
        u64k[i] = (uint8_t)rnd();
    fill_ascii_json(a1k, 1024);
    fill_ascii_json(a64k, 65536);
    fill_mixed(m1k, 1024);
    fill_mixed(m64k, 65536);
    frn = fill_frames(fr);

    bench_t bs[] = {
        { "unmask_1k_off0", "rc_ws_unmask 1 KiB, offset 0", "GB/s", 1024, run_unmask, u1k, 1024, 0, 0, 0, 0 },
        { "unmask_1k_odd", "rc_ws_unmask 1 KiB, offset 1 (data at +1)", "GB/s", 1024, run_unmask, u1k + 1, 1024, 1, 0, 0, 0 },
        { "unmask_64k_off0", "rc_ws_unmask 64 KiB, offset 0", "GB/s", 65536, run_unmask, u64k, 65536, 0, 0, 0, 0 },
        { "unmask_64k_odd", "rc_ws_unmask 64 KiB, offset 1 (data at +1)", "GB/s", 65536, run_unmask, u64k + 1, 65536, 1, 0, 0, 0 },
        { "utf8_ascii_1k", "rc_utf8_feed 1 KiB, ASCII JSON", "GB/s", 1024, run_utf8, a1k, 1024, 0, 0, 0, 0 },
        { "utf8_ascii_64k", "rc_utf8_feed 64 KiB, ASCII JSON", "GB/s", 65536, run_utf8, a64k, 65536, 0, 0, 0, 0 },
        { "utf8_mixed_1k", "rc_utf8_feed 1 KiB, 30% multi-byte chars", "GB/s", 1024, run_utf8, m1k, 1024, 0, 0, 0, 0 },
        { "utf8_mixed_64k", "rc_utf8_feed 64 KiB, 30% multi-byte chars", "GB/s", 65536, run_utf8, m64k, 65536, 0, 0, 0, 0 },
        { "frames_64b", "masked 64 B text frames: parse+unmask+reader", "frames/s", FRAMES_PER_BUF, run_frames, fr, frn, 0, 0, 0, 0 },
        { "phx_heartbeat", "rc_phx_decode_text heartbeat (36 B)", "msgs/s", 1, run_phx, (uint8_t *)phx_heartbeat, sizeof(phx_heartbeat) - 1, 0, 0, 0, 0 },
        { "phx_join", "rc_phx_decode_text join (117 B)", "msgs/s", 1, run_phx, (uint8_t *)phx_join, sizeof(phx_join) - 1, 0, 0, 0, 0 },
    };
    size_t nb = sizeof(bs) / sizeof(bs[0]);

    cpu_model(cpu, sizeof(cpu));
    uname(&u);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    printf("proto_bench  %s  %s  %ld cpus  kernel %s  cc %s\n", date, cpu,
           sysconf(_SC_NPROCESSORS_ONLN), u.release, __VERSION__);
    printf("best and median of %d runs, each >= %.1f s (GB/s = 10^9 B/s)\n\n", RUNS, MIN_RUN_S);
    printf("%-46s %12s %12s  %s\n", "figure", "best", "median", "unit");
    for (size_t i = 0; i < nb; i++) {
        measure(&bs[i]);
        if (bs[i].unit[0] == 'G')
            printf("%-46s %12.2f %12.2f  %s\n", bs[i].label, bs[i].best, bs[i].median, bs[i].unit);
        else
            printf("%-46s %12.0f %12.0f  %s\n", bs[i].label, bs[i].best, bs[i].median, bs[i].unit);
        fflush(stdout);
    }
    printf("\nchecksum %llu\n", (unsigned long long)g_sum);

    if (json_path) {
        int r = write_json(json_path, bs, nb, cpu, &u, date, argc, argv);
        if (r < 0) {
            fprintf(stderr, "proto_bench: %s: %s\n", json_path, strerror(-r));
            return 1;
        }
    }
    free(fr);
    free(m64k);
    free(m1k);
    free(a64k);
    free(a1k);
    free(u64k);
    free(u1k);
    return 0;
}
