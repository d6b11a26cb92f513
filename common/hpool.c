#include "common/hpool.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/alloc.h"
#include "shm/hydrate_cap.h"

#define RC_HPOOL_HOOKS 16
#if defined(__SANITIZE_THREAD__)
#define RC_HPOOL_STACK (2048u * 1024)  /* TSan keeps its thread state in the stack area */
#else
#define RC_HPOOL_STACK (256u * 1024)   /* libcurl and OpenSSL fit; a guard page below */
#endif
#define RC_HPOOL_GUARD 4096u             /* PROT_NONE below each stack */
#define RC_HPOOL_MMAP_THRESHOLD (64 * 1024)

typedef struct breaker {
    char *path;
    uint32_t fails;          /* consecutive */
    uint64_t open_until_ms;  /* 0: closed */
    int probing;             /* half-open: one call is out */
} breaker_t;

typedef struct exiting {
    pthread_t thread;
    void *stack;
} exiting_t;

struct rc_hpool {
    rc_log_t *log;
    _Atomic uint64_t *mine;   /* our part of the machine's cap */
    rc_hpool_opts_t o;
    char *base_url, *auth;    /* auth: the Authorization header line, or NULL */
    int efd;
    CURLSH *share;
    pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
    breaker_t hooks[RC_HPOOL_HOOKS];
    unsigned nhooks;
    rc_hcall_t *q_head, *q_tail;      /* waiting for a token */
    _Atomic(rc_hcall_t *) done;       /* pushed by workers (a Treiber stack) */
    exiting_t *exiting;               /* threads whose calls were reaped, to join */
    size_t nexiting, exiting_cap;
    _Atomic uint64_t live_workers;
    int trim_due;
    rc_hpool_stats_t st;
};

/* ---- the share handle's locks (libcurl calls them from any thread) ---- */

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u)
{
    rc_hpool_t *p = u;
    pthread_mutex_lock(&p->share_lock[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *u)
{
    rc_hpool_t *p = u;
    pthread_mutex_unlock(&p->share_lock[d]);
}

/* ---- one call, on its worker ---- */

struct body_acc {
    rc_hcall_t *c;
    size_t cap, max;
    int too_big;
};

static size_t on_body(char *ptr, size_t size, size_t n, void *u)
{
    struct body_acc *b = u;
    rc_hcall_t *c = b->c;
    size_t len = size * n;
    if (c->resp_len + len > b->max) {
        b->too_big = 1;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    if (c->resp_len + len + 1 > b->cap) {
        size_t want = b->cap ? b->cap : 4096;
        while (want < c->resp_len + len + 1)
            want *= 2;
        c->resp = rc_xrealloc(c->resp, want);
        b->cap = want;
    }
    memcpy(c->resp + c->resp_len, ptr, len);
    c->resp_len += len;
    c->resp[c->resp_len] = 0;
    return len;
}

/* Cache-Control: max-age=N, public, no-store (other directives ignored). */
static size_t on_header(char *ptr, size_t size, size_t n, void *u)
{
    rc_hcall_t *c = u;
    size_t len = size * n;
    static const char name[] = "cache-control:";
    if (len <= sizeof(name) - 1 || strncasecmp(ptr, name, sizeof(name) - 1) != 0)
        return len;
    char v[256];
    size_t vn = len - (sizeof(name) - 1);
    if (vn >= sizeof(v))
        vn = sizeof(v) - 1;
    memcpy(v, ptr + sizeof(name) - 1, vn);
    v[vn] = 0;
    char *save = NULL;
    for (char *t = strtok_r(v, ", \t\r\n", &save); t; t = strtok_r(NULL, ", \t\r\n", &save)) {
        if (!strcasecmp(t, "public"))
            c->cache_public = 1;
        else if (!strcasecmp(t, "no-store") || !strcasecmp(t, "no-cache"))
            c->no_store = 1;
        else if (!strncasecmp(t, "max-age=", 8)) {
            char *end;
            unsigned long a = strtoul(t + 8, &end, 10);
            if (!*end && end != t + 8)
                c->max_age_s = a > 86400 ? 86400 : (uint32_t)a;
        }
    }
    return len;
}

static void run_call(rc_hpool_t *p, rc_hcall_t *c)
{
    CURL *h = curl_easy_init();
    if (!h) {
        c->result = RC_HCALL_FAILED;
        c->error = "no curl handle";
        return;
    }
    char url[2048];
    const char *path = p->hooks[c->hook].path;
    snprintf(url, sizeof(url), "%s%s%s", p->base_url, *path && *path != '/' ? "/" : "", path);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (p->auth)
        hdrs = curl_slist_append(hdrs, p->auth);
    if (c->headers) {
        char *save = NULL;
        for (char *l = strtok_r(c->headers, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            if (*l)
                hdrs = curl_slist_append(hdrs, l);
    }
    struct body_acc acc = {.c = c, .max = p->o.max_response};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SHARE, p->share);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body ? c->body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(c->body ? c->body_len : 0));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)p->o.timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &acc);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    if (acc.too_big) {
        c->result = RC_HCALL_TOO_BIG;
        c->error = "answer larger than hook_max_response";
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        c->result = RC_HCALL_TIMEOUT;
        c->error = "upstream timed out";
    } else if (rc != CURLE_OK) {
        c->result = RC_HCALL_FAILED;
        c->error = "upstream unavailable";
    } else if (c->status >= 200 && c->status < 300) {
        c->result = RC_HCALL_OK;
    } else if (c->status == 401 || c->status == 403) {
        c->result = RC_HCALL_REFUSED;
    } else {
        c->result = RC_HCALL_FAILED;
        c->error = "upstream answered an error";
    }
    if (c->result != RC_HCALL_OK && c->result != RC_HCALL_REFUSED) {
        free(c->resp);
        c->resp = NULL;
        c->resp_len = 0;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
}

static void done_push(rc_hpool_t *p, rc_hcall_t *c)
{
    rc_hcall_t *old = atomic_load_explicit(&p->done, memory_order_relaxed);
    do
        c->next = old;
    while (!atomic_compare_exchange_weak_explicit(&p->done, &old, c, memory_order_release, memory_order_relaxed));
    uint64_t one = 1;
    if (write(p->efd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is already non-zero, the owner will look */
    }
}

static void *worker(void *arg)
{
    rc_hcall_t *c = arg;
    rc_hpool_t *p = c->pool;
    run_call(p, c);
    atomic_fetch_sub_explicit(&p->live_workers, 1, memory_order_relaxed);
    done_push(p, c); /* last: after this the owner may free c */
    return NULL;
}

/* ---- the owner's side ---- */

static int start(rc_hpool_t *p, rc_hcall_t *c, uint64_t now_ms)
{
    void *stack = mmap(NULL, RC_HPOOL_STACK + RC_HPOOL_GUARD, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return -ENOMEM;
    mprotect(stack, RC_HPOOL_GUARD, PROT_NONE);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstack(&a, (uint8_t *)stack + RC_HPOOL_GUARD, RC_HPOOL_STACK);
    c->pool = p;
    c->stack = stack;
    c->started_ms = now_ms;
    atomic_fetch_add_explicit(&p->live_workers, 1, memory_order_relaxed);
    pthread_t t;
    int r = pthread_create(&t, &a, worker, c);
    pthread_attr_destroy(&a);
    if (r != 0) {
        atomic_fetch_sub_explicit(&p->live_workers, 1, memory_order_relaxed);
        munmap(stack, RC_HPOOL_STACK + RC_HPOOL_GUARD);
        c->stack = NULL;
        return -r;
    }
    c->thread = (uint64_t)t;
    p->st.threads_created++;
    p->st.inflight++;
    if (p->st.inflight > p->st.peak_inflight)
        p->st.peak_inflight = p->st.inflight;
    uint64_t live = atomic_load_explicit(&p->live_workers, memory_order_relaxed);
    if (live > p->st.peak_workers)
        p->st.peak_workers = live;
    return 0;
}

void rc_hpool_pump(rc_hpool_t *p, uint64_t now_ms)
{
    while (p->q_head) {
        if (rc_hydrate_cap_take(p->log, p->mine, p->o.cap) < 0)
            return; /* the machine is at its cap: rc_hpool_waiting */
        rc_hcall_t *c = p->q_head;
        p->q_head = c->next;
        if (!p->q_head)
            p->q_tail = NULL;
        p->st.queued--;
        c->next = NULL;
        if (start(p, c, now_ms) < 0) {
            rc_hydrate_cap_give(p->mine);
            c->result = RC_HCALL_FAILED;
            c->error = "no worker thread";
            c->pool = p;
            p->st.inflight++; /* reap counts it out */
            done_push(p, c);
        }
    }
}

/* A call's breaker: its hook's (hook 0 for an index never registered). */
static breaker_t *breaker_of(rc_hpool_t *p, const rc_hcall_t *c)
{
    return &p->hooks[c->hook < p->nhooks ? c->hook : 0];
}

int rc_hpool_waiting(const rc_hpool_t *p) { return p->q_head != NULL || p->nexiting; }

int rc_hpool_submit(rc_hpool_t *p, rc_hcall_t *c, uint64_t now_ms)
{
    p->st.calls++;
    breaker_t *b = breaker_of(p, c);
    c->queued_ms = now_ms;
    if (b->open_until_ms) {
        if (now_ms < b->open_until_ms || b->probing) {
            c->result = RC_HCALL_BREAKER;
            c->error = "upstream unavailable (circuit open)";
            p->st.rejected_breaker++;
            return -1;
        }
        b->probing = 1; /* half-open: this one call finds out */
    } else if (p->st.queued >= p->o.queue_max) {
        c->result = RC_HCALL_OVERLOADED;
        c->error = "overloaded";
        p->st.rejected_overloaded++;
        return -1;
    }
    c->next = NULL;
    if (p->q_tail)
        p->q_tail->next = c;
    else
        p->q_head = c;
    p->q_tail = c;
    p->st.queued++;
    rc_hpool_pump(p, now_ms);
    return 0;
}

static void breaker_note(rc_hpool_t *p, breaker_t *b, int failed, uint64_t now_ms)
{
    if (!failed) {
        b->fails = 0;
        b->open_until_ms = 0;
        b->probing = 0;
        return;
    }
    b->fails++;
    if (b->probing || (!b->open_until_ms && b->fails >= p->o.breaker_failures)) {
        b->open_until_ms = now_ms + p->o.breaker_cooldown_ms;
        b->probing = 0;
        p->st.breaker_opens++;
    }
}

/* Joins the threads that have returned; the others are tried again later. */
static void join_exited(rc_hpool_t *p)
{
    size_t keep = 0;
    for (size_t i = 0; i < p->nexiting; i++) {
        exiting_t *x = &p->exiting[i];
        if (pthread_tryjoin_np(x->thread, NULL) == 0)
            munmap(x->stack, RC_HPOOL_STACK + RC_HPOOL_GUARD);
        else
            p->exiting[keep++] = *x;
    }
    p->nexiting = keep;
}

rc_hcall_t *rc_hpool_reap(rc_hpool_t *p, uint64_t now_ms)
{
    uint64_t n;
    if (read(p->efd, &n, sizeof(n)) < 0) {
        /* EAGAIN: nothing was signalled; the list may still hold calls */
    }
    rc_hcall_t *list = atomic_exchange_explicit(&p->done, NULL, memory_order_acquire), *fifo = NULL;
    while (list) { /* the stack is newest first */
        rc_hcall_t *c = list;
        list = c->next;
        c->next = fifo;
        fifo = c;
    }
    for (rc_hcall_t *c = fifo; c; c = c->next) {
        c->done_ms = now_ms;
        p->st.inflight--;
        if (c->stack) {
            rc_hydrate_cap_give(p->mine);
            if (p->nexiting == p->exiting_cap) {
                p->exiting_cap = p->exiting_cap ? p->exiting_cap * 2 : 16;
                p->exiting = rc_xrealloc(p->exiting, p->exiting_cap * sizeof(*p->exiting));
            }
            p->exiting[p->nexiting++] = (exiting_t){(pthread_t)c->thread, c->stack};
            c->stack = NULL;
            p->trim_due = 1;
        }
        switch (c->result) {
        case RC_HCALL_OK: p->st.ok++; break;
        case RC_HCALL_REFUSED: p->st.refused++; break;
        case RC_HCALL_TIMEOUT: p->st.timeouts++; break;
        case RC_HCALL_TOO_BIG: p->st.too_big++; break;
        default: p->st.failures++; break;
        }
        breaker_note(p, breaker_of(p, c), c->result != RC_HCALL_OK && c->result != RC_HCALL_REFUSED, now_ms);
    }
    join_exited(p);
    p->st.live_workers = atomic_load_explicit(&p->live_workers, memory_order_relaxed);
    if (p->trim_due && !p->st.live_workers && !p->nexiting) {
        malloc_trim(0); /* the workers' garbage back to the kernel, once they are all gone */
        p->trim_due = 0;
    }
    rc_hpool_pump(p, now_ms);
    return fifo;
}

int rc_hpool_fd(const rc_hpool_t *p) { return p->efd; }
const rc_hpool_stats_t *rc_hpool_stats(const rc_hpool_t *p) { return &p->st; }

unsigned rc_hpool_hook(rc_hpool_t *p, const char *path)
{
    for (unsigned i = 0; i < p->nhooks; i++)
        if (!strcmp(p->hooks[i].path, path))
            return i;
    if (p->nhooks == RC_HPOOL_HOOKS)
        return 0;
    p->hooks[p->nhooks].path = rc_xstrndup(path, strlen(path));
    return p->nhooks++;
}

void rc_hcall_free(rc_hcall_t *c)
{
    if (!c)
        return;
    free(c->body);
    free(c->headers);
    free(c->resp);
    free(c);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init(void)
{
    /* one heap for every thread, and big answers mmapped (hpool.h) */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, RC_HPOOL_MMAP_THRESHOLD);
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

int rc_hpool_new(rc_hpool_t **out, rc_log_t *log, int slot, const rc_hpool_opts_t *o, char *err, size_t cap)
{
    pthread_once(&global_once, global_init);
    if (global_rc < 0) {
        snprintf(err, cap, "libcurl did not initialise");
        return global_rc;
    }
    if (!o->base_url || strncmp(o->base_url, "http", 4) || !o->cap || !o->timeout_ms || !o->max_response) {
        snprintf(err, cap, "hydrate_url must be an http(s) URL; hydrate_concurrency, hydrate_timeout_ms and "
                           "hook_max_response must be positive");
        return -EINVAL;
    }
    rc_hpool_t *p = rc_xcalloc(1, sizeof(*p));
    p->log = log;
    p->mine = rc_hydrate_cap_mine(log, slot);
    p->o = *o;
    size_t bl = strlen(o->base_url);
    p->base_url = rc_xstrndup(o->base_url, bl && o->base_url[bl - 1] == '/' ? bl - 1 : bl);
    if (o->secret && *o->secret) {
        size_t n = strlen(o->secret) + 32;
        p->auth = rc_xmalloc(n);
        snprintf(p->auth, n, "Authorization: Bearer %s", o->secret);
    }
    p->o.base_url = p->base_url;
    p->o.secret = NULL; /* kept only in the header line */
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->share = curl_share_init();
    if (p->efd < 0 || !p->share) {
        snprintf(err, cap, "hydration pool: %s", p->efd < 0 ? strerror(errno) : "no curl share handle");
        rc_hpool_free(p);
        return -EIO;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&p->share_lock[i], NULL);
    curl_share_setopt(p->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(p->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(p->share, CURLSHOPT_USERDATA, p);
    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    rc_hpool_hook(p, ""); /* hook 0: the base URL itself */
    *out = p;
    return 0;
}

void rc_hpool_free(rc_hpool_t *p)
{
    if (!p)
        return;
    /* queued calls never started: failed, freed */
    while (p->q_head) {
        rc_hcall_t *c = p->q_head;
        p->q_head = c->next;
        rc_hcall_free(c);
    }
    while (atomic_load_explicit(&p->live_workers, memory_order_relaxed) || atomic_load(&p->done) || p->nexiting) {
        rc_hcall_t *c = rc_hpool_reap(p, 0);
        while (c) {
            rc_hcall_t *next = c->next;
            rc_hcall_free(c);
            c = next;
        }
        usleep(1000); /* shutdown only */
    }
    free(p->exiting);
    if (p->share) {
        curl_share_cleanup(p->share);
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&p->share_lock[i]);
    }
    if (p->efd >= 0)
        close(p->efd);
    for (unsigned i = 0; i < p->nhooks; i++)
        free(p->hooks[i].path);
    if (p->auth) {
        memset(p->auth, 0, strlen(p->auth));
        free(p->auth);
    }
    free(p->base_url);
    free(p);
}
