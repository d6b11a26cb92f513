/* common/hpool.c against a real upstream (tests/tools/upstream.c, started
 * here on a free loopback port): the machine's cap is what the upstream
 * sees, the queue is bounded, timeouts, the breaker, answer limits,
 * Cache-Control, the secret; a thread per call, none left after. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/hpool.h"
#include "shm/hydrate_cap.h"
#include "shm/slots.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

static char up_bin[512];
static pid_t up_pid;
static int up_port;
static char inst[64];
static rc_log_t w;

/* Starts the upstream tool and reads its port from its first line. */
static void up_start(void)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    up_pid = fork();
    if (up_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(up_bin, up_bin, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[128] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    ck_assert_int_eq(sscanf(line, "upstream listening port=%d", &up_port), 1);
    fclose(f);
}

static void setup(void)
{
    rc_test_instance(inst, sizeof(inst), "hpool");
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    up_start();
}

static void teardown(void)
{
    kill(up_pid, SIGTERM);
    waitpid(up_pid, NULL, 0);
    rc_log_close(&w);
    rc_log_unlink(inst);
}

/* A request to the tool's control paths, with curl(1): the test's own
 * client, not the pool under test. Returns the answer body (static). */
static const char *control(const char *path, const char *json)
{
    static char out[65536];
    char cmd[1024];
    if (json)
        snprintf(cmd, sizeof(cmd), "curl -s -X POST -d '%s' http://127.0.0.1:%d%s", json, up_port, path);
    else
        snprintf(cmd, sizeof(cmd), "curl -s http://127.0.0.1:%d%s", up_port, path);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = 0;
    pclose(f);
    return out;
}

static json_int_t stat_of(const char *key)
{
    json_t *j = json_loads(control("/_stats", NULL), 0, NULL);
    ck_assert_ptr_nonnull(j);
    json_int_t v = json_integer_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

static rc_hpool_t *pool(uint32_t cap, uint32_t queue, uint32_t timeout_ms)
{
    char url[64], err[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", up_port);
    rc_hpool_opts_t o = {.base_url = url, .cap = cap, .queue_max = queue, .timeout_ms = timeout_ms,
                         .breaker_failures = 3, .breaker_cooldown_ms = 400, .max_response = 100000,
                         .secret = "the-hook-secret"};
    rc_hpool_t *p = NULL;
    ck_assert_msg(rc_hpool_new(&p, &w, -1, &o, err, sizeof(err)) == 0, "%s", err);
    return p;
}

static rc_hcall_t *call(rc_hpool_t *p, const char *path, const char *body)
{
    rc_hcall_t *c = rc_xcalloc(1, sizeof(*c));
    c->hook = rc_hpool_hook(p, path);
    c->body = rc_xstrndup(body, strlen(body));
    c->body_len = strlen(body);
    return c;
}

/* Reaps until want calls are done (at most ms); they go to *out in order. */
static int reap_until(rc_hpool_t *p, int want, int ms, rc_hcall_t **out)
{
    int got = 0;
    uint64_t end = rc_clock_mono_ms() + (uint64_t)ms;
    while (got < want && rc_clock_mono_ms() < end) {
        struct pollfd pf = {.fd = rc_hpool_fd(p), .events = POLLIN};
        poll(&pf, 1, 10);
        for (rc_hcall_t *c = rc_hpool_reap(p, rc_clock_mono_ms()), *next; c; c = next) {
            next = c->next;
            out[got++] = c;
        }
    }
    return got;
}

/* The workers signal before they return: give them a moment to be joined. */
static void settle(rc_hpool_t *p)
{
    for (int i = 0; i < 200 && (rc_hpool_waiting(p) || rc_hpool_stats(p)->live_workers); i++) {
        usleep(5000);
        ck_assert_ptr_null(rc_hpool_reap(p, rc_clock_mono_ms()));
    }
}

/* One call to path, submitted and reaped: it must end with want. */
static void expect_one(rc_hpool_t *p, const char *path, rc_hcall_result_t want)
{
    rc_hcall_t *done[1];
    ck_assert_int_eq(rc_hpool_submit(p, call(p, path, "{}"), rc_clock_mono_ms()), 0);
    ck_assert_int_eq(reap_until(p, 1, 3000, done), 1);
    ck_assert_int_eq(done[0]->result, want);
    if (want != RC_HCALL_OK && want != RC_HCALL_REFUSED)
        ck_assert_ptr_null(done[0]->resp); /* a failed call carries no answer */
    rc_hcall_free(done[0]);
}

START_TEST(a_call_carries_its_body_and_the_secret_and_returns_the_answer)
{
    control("/_control", "{\"echo\":true,\"cache_control\":\"public, max-age=5\"}");
    rc_hpool_t *p = pool(2, 10, 2000);
    rc_hcall_t *c = call(p, "hooks/join", "{\"user\":\"42\"}"), *done[1];
    c->headers = rc_xstrndup("X-Forwarded-For: 10.1.2.3\nCookie: s=1", 38);
    ck_assert_int_eq(rc_hpool_submit(p, c, rc_clock_mono_ms()), 0);
    ck_assert_int_eq(reap_until(p, 1, 3000, done), 1);
    ck_assert_int_eq(done[0]->result, RC_HCALL_OK);
    ck_assert_int_eq(done[0]->status, 200);
    ck_assert_ptr_nonnull(strstr(done[0]->resp, "\"user\":\"42\""));
    ck_assert_ptr_nonnull(strstr(done[0]->resp, "/hooks/join"));
    ck_assert(done[0]->cache_public);
    ck_assert_uint_eq(done[0]->max_age_s, 5);
    rc_hcall_free(done[0]);
    const char *st = control("/_stats", NULL);
    ck_assert_ptr_nonnull(strstr(st, "Bearer the-hook-secret"));
    ck_assert_ptr_nonnull(strstr(st, "10.1.2.3"));
    settle(p);
    ck_assert_uint_eq(rc_hpool_stats(p)->threads_created, 1);
    ck_assert_uint_eq(rc_hpool_stats(p)->live_workers, 0);
    rc_hpool_free(p);
}
END_TEST

START_TEST(the_upstream_never_sees_more_than_the_cap_and_the_queue_is_bounded)
{
    control("/_control", "{\"delay_ms\":150}");
    /* another holder of the machine's cap (an edge) has one call out */
    int slot = rc_slot_claim(&w, getpid());
    ck_assert_int_eq(rc_hydrate_cap_take(&w, rc_hydrate_cap_mine(&w, slot), 4), 0);
    rc_hpool_t *p = pool(4, 12, 5000);
    rc_hcall_t *done[20];
    int refused = 0;
    for (int i = 0; i < 20; i++) {
        rc_hcall_t *c = call(p, "hooks/join", "{}");
        if (rc_hpool_submit(p, c, rc_clock_mono_ms()) < 0) {
            ck_assert_int_eq(c->result, RC_HCALL_OVERLOADED);
            refused++;
            rc_hcall_free(c);
        }
    }
    /* 3 started (the machine's fourth token is the edge's), 12 queued */
    ck_assert_int_eq(refused, 5);
    ck_assert_uint_eq(rc_hpool_stats(p)->inflight, 3);
    ck_assert_int_eq(reap_until(p, 15, 5000, done), 15);
    for (int i = 0; i < 15; i++) {
        ck_assert_int_eq(done[i]->result, RC_HCALL_OK);
        rc_hcall_free(done[i]);
    }
    ck_assert_int_eq(stat_of("peak"), 3);
    ck_assert_int_eq(stat_of("requests"), 15);
    settle(p);
    const rc_hpool_stats_t *s = rc_hpool_stats(p);
    ck_assert_uint_eq(s->threads_created, 15); /* a thread per call */
    ck_assert_uint_le(s->peak_workers, 3);
    ck_assert_uint_eq(s->live_workers, 0);      /* none when idle */
    ck_assert_uint_eq(s->rejected_overloaded, 5);
    ck_assert_uint_eq(atomic_load(rc_hydrate_cap_mine(&w, -1)), 0); /* every token given back */
    rc_hpool_free(p);
}
END_TEST

START_TEST(a_hanging_upstream_times_out_and_failures_open_the_breaker_until_a_probe_succeeds)
{
    control("/_control", "{\"hang\":true}");
    rc_hpool_t *p = pool(4, 10, 300);
    rc_hcall_t *done[4];
    uint64_t t0 = rc_clock_mono_ms();
    ck_assert_int_eq(rc_hpool_submit(p, call(p, "hooks/join", "{}"), t0), 0);
    ck_assert_int_eq(reap_until(p, 1, 3000, done), 1);
    ck_assert_int_eq(done[0]->result, RC_HCALL_TIMEOUT);
    ck_assert_uint_lt(rc_clock_mono_ms() - t0, 1500);
    rc_hcall_free(done[0]);
    /* two more failures (503) make three in a row: the breaker opens */
    control("/_control", "{\"hang\":false,\"status\":503}");
    for (int i = 0; i < 2; i++)
        expect_one(p, "hooks/join", RC_HCALL_FAILED);
    json_int_t seen = stat_of("requests");
    rc_hcall_t *c = call(p, "hooks/join", "{}");
    ck_assert_int_eq(rc_hpool_submit(p, c, rc_clock_mono_ms()), -1);
    ck_assert_int_eq(c->result, RC_HCALL_BREAKER);
    rc_hcall_free(c);
    /* another hook has its own breaker */
    expect_one(p, "hooks/rpc", RC_HCALL_FAILED);
    ck_assert_int_eq(stat_of("requests"), seen + 1);
    /* after the cool-down one probe goes; the upstream is back: closed */
    control("/_control", "{\"status\":200}");
    usleep(450 * 1000);
    ck_assert_int_eq(rc_hpool_submit(p, call(p, "hooks/join", "{}"), rc_clock_mono_ms()), 0);
    c = call(p, "hooks/join", "{}");
    ck_assert_int_eq(rc_hpool_submit(p, c, rc_clock_mono_ms()), -1); /* only the probe while half-open */
    rc_hcall_free(c);
    ck_assert_int_eq(reap_until(p, 1, 3000, done), 1);
    ck_assert_int_eq(done[0]->result, RC_HCALL_OK);
    rc_hcall_free(done[0]);
    expect_one(p, "hooks/join", RC_HCALL_OK);
    ck_assert_uint_eq(rc_hpool_stats(p)->breaker_opens, 1);
    rc_hpool_free(p);
}
END_TEST

START_TEST(answers_past_the_limit_are_refused_and_401_is_a_refusal_not_a_failure)
{
    control("/_control", "{\"body_bytes\":200000}");
    rc_hpool_t *p = pool(2, 10, 2000);
    expect_one(p, "h", RC_HCALL_TOO_BIG);
    control("/_control", "{\"body_bytes\":0,\"status\":401}");
    for (int i = 0; i < 4; i++) /* more than breaker_failures: still not open */
        expect_one(p, "h", RC_HCALL_REFUSED);
    ck_assert_uint_eq(rc_hpool_stats(p)->breaker_opens, 0);
    rc_hpool_free(p);
}
END_TEST

int main(int argc, char **argv)
{
    (void)argc;
    /* the tool is built next to the tests: $(BUILD)/tests/.. /bin/upstream */
    char dir[400];
    snprintf(dir, sizeof(dir), "%s", argv[0]);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    snprintf(up_bin, sizeof(up_bin), "%s/../bin/upstream", slash ? dir : ".");
    if (access(up_bin, X_OK) != 0) {
        fprintf(stderr, "test_hpool: %s not found (make all)\n", up_bin);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    TCase *tc;
    Suite *s = rc_test_suite("hpool", &tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_call_carries_its_body_and_the_secret_and_returns_the_answer);
    tcase_add_test(tc, the_upstream_never_sees_more_than_the_cap_and_the_queue_is_bounded);
    tcase_add_test(tc, a_hanging_upstream_times_out_and_failures_open_the_breaker_until_a_probe_succeeds);
    tcase_add_test(tc, answers_past_the_limit_are_refused_and_401_is_a_refusal_not_a_failure);
    return rc_test_run(s);
}
