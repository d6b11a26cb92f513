/* loadgen: opens many WebSocket connections to ringcast (Phoenix V2) or a
 * peer (raw frames) from one epoll loop, or publishes timestamped events.
 * Options, the descriptor budget and the client loop live here; the
 * connection state machine is conn.c, the publisher publish.c. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "bench/loadgen/attack.h"
#include "bench/loadgen/conn.h"
#include "bench/loadgen/publish.h"
#include "bench/loadgen/report.h"
#include "common/alloc.h"
#include "common/rand.h"
#include "common/signals.h"

#define NS_PER_S 1000000000ull
#define TICK_NS 10000000ull      /* timers (heartbeats, timeouts, backoff) every 10 ms */
#define FD_RESERVE 64            /* epoll, signalfd, stdio, the JSON file, slack */
#define CONNECTS_PER_TURN 2000   /* so a burst cannot starve reads */
#define SIG_TOKEN UINT64_MAX

static const char usage[] =
    "usage: loadgen --mode phoenix|raw [client options] | --mode publish [publisher options]\n"
    "       loadgen --mode slowloris|joinflood [client options] [attack options]\n"
    "client options:\n"
    "  --host H (127.0.0.1) --port P (4000) --path /socket/websocket (\"%d\" = topic index)\n"
    "  --connections N (100) --rate CONNECTS_PER_S (1000; 0 = no pacing)\n"
    "  --topics T (1) --topic-prefix bench: --heartbeat-ms 30000 (0 = off) --duration S (10)\n"
    "  --src-ips K (0: bind to 127.0.0.2 .. 127.0.0.(1+K) before connect)\n"
    "  --first-index I (0: numbering of this process's first connection, for several processes)\n"
    "  --expect-events E (per topic) | --expect-from PUBLISHER.json: every connection must\n"
    "      receive n = 1..E of its topic (start the publisher after all have joined)\n"
    "  --reconnect (reconnect on the Phoenix client's backoff) --max-frame BYTES (1048576)\n"
    "  --join-params FILE: line t is the join payload of topic t (a resume: {\"since\": ...});\n"
    "  --paths FILE: line i is connection i's request path (mod lines; each with its own token);\n"
    "    with --expect-events E, caught_up_ms is join sent -> event E (stderr: all-caught-up)\n"
    "publisher options:\n"
    "  --url http://127.0.0.1:4001/api/push --format ringcast|nchan --nchan-url http://H:P/pub/%s\n"
    "  --topics T --topic-prefix bench: --event b --rate EVENTS_PER_S (100) --duration S\n"
    "  --pub-conns C (4) --pad BYTES (0)\n"
    "attack options (bench/loadgen/attack.h; --host --port --path --connections --rate --duration\n"
    "      --src-ips --first-index --topic-prefix as above):\n"
    "  --trickle-ms MS (3000: slowloris, one header byte every MS) --joins J (500: joinflood, joins\n"
    "      per connection) --pause-ms MS (1000: before a connection that ended starts again)\n"
    "  --src-ip-base B (100: bind to 127.0.0.B .. 127.0.0.(B+K-1) with --src-ips K)\n"
    "all: --json OUT.json\n";

enum {
    OPT_MODE = 256, OPT_HOST, OPT_PORT, OPT_PATH, OPT_CONNS, OPT_RATE, OPT_TOPICS, OPT_PREFIX, OPT_HB,
    OPT_DURATION, OPT_SRC_IPS, OPT_FIRST, OPT_EXPECT, OPT_EXPECT_FROM, OPT_RECONNECT, OPT_MAX_FRAME, OPT_JOIN_PARAMS,
    OPT_JSON, OPT_URL, OPT_FORMAT, OPT_NCHAN_URL, OPT_PUB_CONNS, OPT_PAD, OPT_EVENT, OPT_HELP,
    OPT_TRICKLE, OPT_JOINS, OPT_PAUSE, OPT_SRC_BASE, OPT_PATHS,
};

static const struct option long_opts[] = {
    {"mode", required_argument, NULL, OPT_MODE},
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"path", required_argument, NULL, OPT_PATH},
    {"connections", required_argument, NULL, OPT_CONNS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"topics", required_argument, NULL, OPT_TOPICS},
    {"topic-prefix", required_argument, NULL, OPT_PREFIX},
    {"heartbeat-ms", required_argument, NULL, OPT_HB},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"src-ips", required_argument, NULL, OPT_SRC_IPS},
    {"first-index", required_argument, NULL, OPT_FIRST},
    {"expect-events", required_argument, NULL, OPT_EXPECT},
    {"expect-from", required_argument, NULL, OPT_EXPECT_FROM},
    {"reconnect", no_argument, NULL, OPT_RECONNECT},
    {"max-frame", required_argument, NULL, OPT_MAX_FRAME},
    {"join-params", required_argument, NULL, OPT_JOIN_PARAMS},
    {"paths", required_argument, NULL, OPT_PATHS},
    {"json", required_argument, NULL, OPT_JSON},
    {"url", required_argument, NULL, OPT_URL},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"nchan-url", required_argument, NULL, OPT_NCHAN_URL},
    {"pub-conns", required_argument, NULL, OPT_PUB_CONNS},
    {"pad", required_argument, NULL, OPT_PAD},
    {"event", required_argument, NULL, OPT_EVENT},
    {"help", no_argument, NULL, OPT_HELP},
    {"trickle-ms", required_argument, NULL, OPT_TRICKLE},
    {"joins", required_argument, NULL, OPT_JOINS},
    {"pause-ms", required_argument, NULL, OPT_PAUSE},
    {"src-ip-base", required_argument, NULL, OPT_SRC_BASE},
    {NULL, 0, NULL, 0},
};

static int die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "loadgen: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return 2;
}

/* Whole numbers in [lo, hi]; -1 if arg is not one. */
static int parse_u64(const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *arg, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Raises the soft descriptor limit to the hard one and checks that want
 * descriptors fit. */
static int check_fd_budget(uint64_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && want + FD_RESERVE > rl.rlim_cur) {
        fprintf(stderr,
                "loadgen: %llu connections need %llu file descriptors but this process may open %llu "
                "(RLIMIT_NOFILE); run several loadgen processes of at most %llu connections each "
                "(--first-index spreads topics and source addresses across them)\n",
                (unsigned long long)want, (unsigned long long)(want + FD_RESERVE),
                (unsigned long long)rl.rlim_cur,
                (unsigned long long)(rl.rlim_cur > FD_RESERVE ? rl.rlim_cur - FD_RESERVE : 0));
        return -EMFILE;
    }
    return 0;
}

static int resolve(rc_lg_opts_t *o)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(o->host, NULL, &hints, &res) != 0)
        return -EHOSTUNREACH;
    memcpy(&o->dst, res->ai_addr, sizeof(o->dst));
    o->dst.sin_port = htons((uint16_t)o->port);
    freeaddrinfo(res);
    return 0;
}

static uint64_t ms_until(uint64_t now, uint64_t t)
{
    return t > now ? (t - now + 999999) / 1000000 : 0;
}

/* The publisher writes its JSON when it is done, possibly while we drain:
 * give it a few seconds. */
static int load_expect(const rc_lg_opts_t *o, uint64_t **out)
{
    int rc = 0;
    for (int i = 0; i < 50; i++) {
        rc = rc_lg_report_load_expect(o->expect_from, o->topic_prefix, o->topics, out);
        if (rc == 0)
            return 0;
        usleep(100000);
    }
    fprintf(stderr, "loadgen: --expect-from %s: %s (losses not checked against it)\n", o->expect_from,
            strerror(-rc));
    return rc;
}

/* --join-params: one JSON payload per line, line t for topic t; a topic
 * without a line joins with {}. */
static int load_join_params(const rc_lg_opts_t *o, char ***out)
{
    FILE *f = fopen(o->join_params, "r");
    if (!f) {
        fprintf(stderr, "loadgen: --join-params %s: %s\n", o->join_params, strerror(errno));
        return -errno;
    }
    char **p = rc_xcalloc(o->topics, sizeof(*p));
    char line[400];
    for (uint32_t t = 0; t < o->topics; t++) {
        if (!fgets(line, sizeof(line), f)) {
            p[t] = rc_xstrndup("{}", 2);
            continue;
        }
        line[strcspn(line, "\n")] = 0;
        p[t] = rc_xstrndup(line, strlen(line));
    }
    fclose(f);
    *out = p;
    return 0;
}

/* --paths: one request path per line (each with its own token, say);
 * connection i takes line i modulo their number. */
static int load_paths(const rc_lg_opts_t *o, rc_lg_ctx_t *ctx)
{
    FILE *f = fopen(o->paths, "r");
    if (!f) {
        fprintf(stderr, "loadgen: --paths %s: %s\n", o->paths, strerror(errno));
        return -errno;
    }
    char line[6144];
    uint32_t cap = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] != '/')
            continue;
        if (ctx->npaths == cap) {
            cap = cap ? cap * 2 : 1024;
            ctx->paths = rc_xrealloc(ctx->paths, cap * sizeof(*ctx->paths));
        }
        ctx->paths[ctx->npaths++] = rc_xstrndup(line, strlen(line));
    }
    fclose(f);
    if (!ctx->npaths) {
        fprintf(stderr, "loadgen: --paths %s: no line starts with '/'\n", o->paths);
        return -EINVAL;
    }
    return 0;
}

static int run_clients(const rc_lg_opts_t *o, rc_lg_stats_t *st, int sigfd, double *elapsed)
{
    rc_lg_ctx_t ctx = {.o = o, .st = st};
    uint32_t n = o->connections;
    int rc = 0;
    if (o->join_params && (rc = load_join_params(o, &ctx.join_payload)) < 0)
        return rc;
    if (o->paths && (rc = load_paths(o, &ctx)) < 0)
        return rc;
    ctx.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ctx.epfd < 0)
        return -errno;
    struct epoll_event sev = {.events = EPOLLIN, .data.u64 = SIG_TOKEN};
    if (sigfd >= 0)
        epoll_ctl(ctx.epfd, EPOLL_CTL_ADD, sigfd, &sev);
    ctx.rbuf_size = (size_t)o->max_frame + 65536;
    ctx.rbuf = rc_xmalloc(ctx.rbuf_size);
    rc_lg_conn_t *conns = rc_xcalloc(n, sizeof(*conns));
    for (uint32_t i = 0; i < n; i++) {
        conns[i].fd = -1;
        conns[i].idx = o->first_index + i;
    }
    st->timeline_len = (uint32_t)ceil(o->duration_s) + 2;
    st->timeline_up = rc_xcalloc(st->timeline_len, sizeof(uint64_t));
    st->timeline_down = rc_xcalloc(st->timeline_len, sizeof(uint64_t));
    struct epoll_event evs[1024];
    rc_lg_progress_t prog = {0};
    uint64_t t0 = rc_lg_now_mono(), t_end = t0 + (uint64_t)(o->duration_s * 1e9);
    uint64_t tick_at = t0, progress_at = t0 + NS_PER_S, t0_real = rc_lg_now_real();
    uint32_t next = 0;
    int stop = 0, all_ready = 0, all_caught = 0;
    ctx.t0 = t0;
    while (!stop) {
        uint64_t now = rc_lg_now_mono();
        if (now >= t_end)
            break;
        uint64_t due = n, next_at = UINT64_MAX;
        if (o->rate > 0) {
            double d = floor((double)(now - t0) / 1e9 * o->rate) + 1;
            due = d < n ? (uint64_t)d : n;
        }
        for (int burst = 0; next < due && burst < CONNECTS_PER_TURN; burst++)
            rc_lg_conn_start(&ctx, &conns[next++], now);
        if (next < n)
            next_at = o->rate > 0 ? t0 + (uint64_t)((double)next / o->rate * 1e9) : now;
        if (now >= tick_at) {
            for (uint32_t i = 0; i < next; i++)
                rc_lg_conn_tick(&ctx, &conns[i], now);
            tick_at = now + TICK_NS;
        }
        if (now >= progress_at) {
            rc_lg_report_progress(st, (double)(now - t0) / 1e9, &prog);
            progress_at += NS_PER_S;
        }
        uint64_t wake = t_end;
        wake = tick_at < wake ? tick_at : wake;
        wake = progress_at < wake ? progress_at : wake;
        wake = next_at < wake ? next_at : wake;
        int k = epoll_wait(ctx.epfd, evs, 1024, (int)ms_until(rc_lg_now_mono(), wake));
        if (k < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        for (int j = 0; j < k; j++) {
            uint64_t tok = evs[j].data.u64;
            if (tok == SIG_TOKEN) {
                stop = 1;
                continue;
            }
            uint32_t i = (uint32_t)tok - o->first_index;
            if (i >= n || conns[i].gen != (uint32_t)(tok >> 32) || conns[i].fd < 0)
                continue; /* an event for a socket closed earlier in this turn */
            rc_lg_conn_event(&ctx, &conns[i], evs[j].events);
        }
        /* The moment every connection was ready for the first time (a
         * connect spike: bench/scenarios/spike.sh), wall clock so that
         * several processes can be put on one time line. */
        if (!all_ready && (o->mode == RC_LG_PHOENIX ? st->joined_now : st->open_now) >= n) {
            all_ready = 1;
            fprintf(stderr, "loadgen all-ready connections=%u after_s=%.3f start_wall_s=%.6f ready_wall_s=%.6f\n", n,
                    (double)(rc_lg_now_mono() - t0) / 1e9, (double)t0_real / 1e9, (double)rc_lg_now_real() / 1e9);
        }
        /* Every connection has its --expect-events'th event (a resume's
         * replay done): the same kind of line, for replay benches. */
        if (!all_caught && o->expect_events && st->caught_up_n >= n) {
            all_caught = 1;
            fprintf(stderr, "loadgen all-caught-up connections=%u after_s=%.3f events=%llu\n", n,
                    (double)(rc_lg_now_mono() - t0) / 1e9, (unsigned long long)st->events);
        }
    }
    *elapsed = (double)(rc_lg_now_mono() - t0) / 1e9;
    ctx.ending = 1;
    st->open_at_end = st->open_now;
    st->joined_at_end = st->joined_now;
    if (o->expect_from && rc == 0)
        rc = load_expect(o, &ctx.expect_topic);
    for (uint32_t i = 0; i < n; i++)
        rc_lg_conn_finish(&ctx, &conns[i]);
    free(conns);
    free(ctx.expect_topic);
    if (ctx.join_payload)
        for (uint32_t t = 0; t < o->topics; t++)
            free(ctx.join_payload[t]);
    free(ctx.join_payload);
    for (uint32_t i = 0; i < ctx.npaths; i++)
        free(ctx.paths[i]);
    free(ctx.paths);
    free(ctx.rbuf);
    close(ctx.epfd);
    return rc;
}

int main(int argc, char **argv)
{
    rc_lg_opts_t o = {
        .host = "127.0.0.1", .port = 4000, .path = "/socket/websocket", .connections = 100,
        .rate = 1000, .topics = 1, .topic_prefix = "bench:", .heartbeat_ms = 30000,
        .duration_s = 10, .max_frame = 1 << 20,
    };
    rc_lg_pub_opts_t po = {
        .url = "http://127.0.0.1:4001/api/push", .event = "b", .rate = 100, .conns = 4,
    };
    rc_lg_attack_opts_t ao = {.trickle_ms = 3000, .joins = 500, .pause_ms = 1000, .src_base = 100};
    const char *json = NULL, *mode = NULL;
    int pub_rate_set = 0;
    uint64_t v;
    double d;
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_MODE: mode = optarg; break;
        case OPT_HOST: o.host = optarg; break;
        case OPT_PORT:
            if (parse_u64(optarg, 1, 65535, &v) < 0)
                return die_usage("bad --port '%s'", optarg);
            o.port = (int)v;
            break;
        case OPT_PATH: o.path = optarg; break;
        case OPT_CONNS:
            if (parse_u64(optarg, 1, 10000000, &v) < 0)
                return die_usage("bad --connections '%s'", optarg);
            o.connections = (uint32_t)v;
            break;
        case OPT_RATE:
            if (parse_double(optarg, 0, 1e9, &d) < 0)
                return die_usage("bad --rate '%s'", optarg);
            o.rate = po.rate = d;
            pub_rate_set = 1;
            break;
        case OPT_TOPICS:
            if (parse_u64(optarg, 1, 10000000, &v) < 0)
                return die_usage("bad --topics '%s'", optarg);
            o.topics = po.topics = (uint32_t)v;
            break;
        case OPT_PREFIX: o.topic_prefix = optarg; break;
        case OPT_HB:
            if (parse_u64(optarg, 0, 3600000, &v) < 0)
                return die_usage("bad --heartbeat-ms '%s'", optarg);
            o.heartbeat_ms = (uint32_t)v;
            break;
        case OPT_DURATION:
            if (parse_double(optarg, 0.1, 86400, &d) < 0)
                return die_usage("bad --duration '%s'", optarg);
            o.duration_s = d;
            break;
        case OPT_SRC_IPS:
            if (parse_u64(optarg, 0, 253, &v) < 0)
                return die_usage("bad --src-ips '%s' (0..253)", optarg);
            o.src_ips = (uint32_t)v;
            break;
        case OPT_FIRST:
            if (parse_u64(optarg, 0, 100000000, &v) < 0)
                return die_usage("bad --first-index '%s'", optarg);
            o.first_index = (uint32_t)v;
            break;
        case OPT_EXPECT:
            if (parse_u64(optarg, 1, UINT64_MAX / 2, &v) < 0)
                return die_usage("bad --expect-events '%s'", optarg);
            o.expect_events = v;
            break;
        case OPT_EXPECT_FROM: o.expect_from = optarg; break;
        case OPT_RECONNECT: o.reconnect = 1; break;
        case OPT_MAX_FRAME:
            if (parse_u64(optarg, 125, 64u << 20, &v) < 0)
                return die_usage("bad --max-frame '%s'", optarg);
            o.max_frame = (uint32_t)v;
            break;
        case OPT_JOIN_PARAMS: o.join_params = optarg; break;
        case OPT_PATHS: o.paths = optarg; break;
        case OPT_JSON: json = optarg; break;
        case OPT_URL: po.url = optarg; break;
        case OPT_FORMAT:
            if (strcmp(optarg, "ringcast") && strcmp(optarg, "nchan"))
                return die_usage("bad --format '%s' (ringcast or nchan)", optarg);
            po.nchan = optarg[0] == 'n';
            break;
        case OPT_NCHAN_URL: po.nchan_url = optarg; break;
        case OPT_PUB_CONNS:
            if (parse_u64(optarg, 1, 256, &v) < 0)
                return die_usage("bad --pub-conns '%s'", optarg);
            po.conns = (uint32_t)v;
            break;
        case OPT_PAD:
            if (parse_u64(optarg, 0, 1u << 20, &v) < 0)
                return die_usage("bad --pad '%s'", optarg);
            po.pad = (uint32_t)v;
            break;
        case OPT_EVENT: po.event = optarg; break;
        case OPT_TRICKLE:
            if (parse_u64(optarg, 1, 3600000, &v) < 0)
                return die_usage("bad --trickle-ms '%s'", optarg);
            ao.trickle_ms = (uint32_t)v;
            break;
        case OPT_JOINS:
            if (parse_u64(optarg, 1, 10000000, &v) < 0)
                return die_usage("bad --joins '%s'", optarg);
            ao.joins = (uint32_t)v;
            break;
        case OPT_PAUSE:
            if (parse_u64(optarg, 0, 3600000, &v) < 0)
                return die_usage("bad --pause-ms '%s'", optarg);
            ao.pause_ms = (uint32_t)v;
            break;
        case OPT_SRC_BASE:
            if (parse_u64(optarg, 1, 254, &v) < 0)
                return die_usage("bad --src-ip-base '%s' (1..254)", optarg);
            ao.src_base = (uint32_t)v;
            break;
        case OPT_HELP: fputs(usage, stdout); return 0;
        default: return die_usage("%s", "unknown option");
        }
    }
    if (optind < argc)
        return die_usage("unexpected argument '%s'", argv[optind]);
    if (!mode)
        return die_usage("%s", "--mode is required");
    if (!strcmp(mode, "phoenix"))
        o.mode = RC_LG_PHOENIX;
    else if (!strcmp(mode, "raw"))
        o.mode = RC_LG_RAW;
    else if (!strcmp(mode, "publish"))
        o.mode = RC_LG_PUBLISH;
    else if (!strcmp(mode, "slowloris"))
        ao.kind = RC_LG_SLOWLORIS;
    else if (!strcmp(mode, "joinflood"))
        ao.kind = RC_LG_JOINFLOOD;
    else
        return die_usage("bad --mode '%s' (phoenix, raw, publish, slowloris or joinflood)", mode);
    if (ao.kind && o.src_ips && ao.src_base + o.src_ips - 1 > 254)
        return die_usage("%s", "--src-ip-base + --src-ips - 1 must be at most 254");
    if (o.path[0] != '/')
        return die_usage("--path must start with '/': '%s'", o.path);
    if (po.nchan && !po.nchan_url)
        return die_usage("%s", "--format nchan needs --nchan-url http://H:P/pub/%s");
    rc_rand_init();
    int sigfd = rc_signals_stop_fd(SFD_NONBLOCK | SFD_CLOEXEC);
    int rc;

    if (o.mode == RC_LG_PUBLISH) {
        static rc_lg_pub_stats_t ps;
        po.topics = o.topics;
        po.topic_prefix = o.topic_prefix;
        po.duration_s = o.duration_s;
        if (!pub_rate_set)
            po.rate = 100;
        if (check_fd_budget(po.conns) < 0)
            return 1;
        rc = rc_lg_publish_run(&po, &ps, sigfd);
        if (rc < 0) {
            fprintf(stderr, "loadgen: publisher could not start: %s (%s)\n", strerror(-rc), ps.first_error);
            return 1;
        }
        rc = rc_lg_report_publish(json, &po, &ps);
        free(ps.topic_n);
        return rc < 0 || ps.ok == 0 ? 1 : 0; /* nothing published: the run is void */
    }

    static rc_lg_stats_t st; /* three histograms: too big for the stack */
    double elapsed = 0;
    if (check_fd_budget(o.connections) < 0)
        return 2;
    if (resolve(&o) < 0) {
        fprintf(stderr, "loadgen: cannot resolve --host %s to an IPv4 address\n", o.host);
        return 2;
    }
    if (ao.kind)
        return rc_lg_attack_run(&o, &ao, sigfd, json);
    rc = run_clients(&o, &st, sigfd, &elapsed);
    if (rc < 0)
        fprintf(stderr, "loadgen: event loop failed: %s\n", strerror(-rc));
    if (rc_lg_report_clients(json, &o, &st, elapsed) < 0)
        rc = -EIO;
    free(st.timeline_up);
    free(st.timeline_down);
    return rc < 0 || st.established == 0 ? 1 : 0; /* no connection at all: the run is void */
}
