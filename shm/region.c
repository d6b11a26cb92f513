/* Creating, re-attaching and mapping the shm region. */
#include "shm/log.h"


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/clock.h"
#include "shm/topic_index.h"
#include "shm/wake.h"

static int region_name(char *out, size_t cap, const char *instance)
{
    for (const char *p = instance; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x21) {
            fprintf(stderr, "shm: instance name '%s' must not contain '/' or spaces\n", instance);
            return -EINVAL;
        }
    if (!instance[0] || strlen(instance) > 80 || snprintf(out, cap, "/ringcast-%s", instance) >= (int)cap) {
        fprintf(stderr, "shm: instance name must be 1..80 characters\n");
        return -EINVAL;
    }
    return 0;
}

/* Opens an existing region only if it is ours: /dev/shm is writable by
 * every local user, and whoever plants a region with a valid header there
 * sends bytes to every client. A symlink (shm_open adds O_NOFOLLOW), another
 * owner or a mode other than 0600 is refused with the path and the fix.
 * Returns the descriptor (st filled in) or -errno. */
static int open_ours(const char *name, struct stat *st)
{
    int fd = shm_open(name, O_RDWR | O_NOFOLLOW, 0);
    if (fd < 0) {
        int err = errno;
        if (err == ELOOP)
            fprintf(stderr, "shm: /dev/shm%s is a symlink; ringcast never follows one: remove it "
                            "(rm /dev/shm%s) and start again\n", name, name);
        return -err;
    }
    if (fstat(fd, st) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    if (!S_ISREG(st->st_mode) || st->st_uid != geteuid() || (st->st_mode & 07777) != 0600) {
        fprintf(stderr, "shm: /dev/shm%s is not ours alone: owner uid %u (we are %u), mode %04o (want 0600)%s; "
                        "someone else may have planted it: check who, remove it (rm /dev/shm%s) and start again\n",
                name, (unsigned)st->st_uid, (unsigned)geteuid(), (unsigned)(st->st_mode & 07777),
                S_ISREG(st->st_mode) ? "" : ", not a regular file", name);
        close(fd);
        return -EPERM;
    }
    return fd;
}

/* The writer's lock, held for its lifetime: a second broker on the same
 * instance finds it taken and leaves the region alone. It is a flock on a
 * descriptor of its own (a mapping keeps the descriptor it was made from
 * open, so that one could never give the lock back), opened by name and
 * checked to be the same file. Waits only for a region we just
 * created (the one other holder can be a broker that opened it a moment
 * ago and will refuse it). st is the region descriptor's fstat. A child forked by the writer shares the lock
 * until it closes the descriptor: the broker never forks. Returns the
 * lock's descriptor or -errno. */
static int lock_writer(const char *name, const struct stat *st, int wait)
{
    struct stat b;
    int lfd = shm_open(name, O_RDWR | O_NOFOLLOW, 0);
    if (lfd < 0)
        return -errno;
    if (fstat(lfd, &b) < 0 || st->st_dev != b.st_dev || st->st_ino != b.st_ino) {
        fprintf(stderr, "shm: region /dev/shm%s was replaced while it was being opened; start again\n", name);
        close(lfd);
        return -EAGAIN;
    }
    if (flock(lfd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0)
        return lfd;
    int err = errno;
    close(lfd);
    if (err == EWOULDBLOCK) {
        fprintf(stderr, "shm: region /dev/shm%s is being written by another broker (the instance is running): "
                        "stop it first, or give this one another --instance\n", name);
        return -EBUSY;
    }
    fprintf(stderr, "shm: cannot lock region /dev/shm%s: %s\n", name, strerror(err));
    return -err;
}

static int map_fd(rc_log_t *log, int fd, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    log->hdr = p;
    log->map_size = size;
    return 0;
}

static uint64_t page_up(uint64_t n) { return (n + RC_PAGE - 1) & ~(uint64_t)(RC_PAGE - 1); }
static int pow2(uint64_t n) { return n && !(n & (n - 1)); }

rc_log_geometry_t rc_log_geometry(uint64_t ring_capacity)
{
    return (rc_log_geometry_t){ring_capacity, 65536, 65536};
}

/* Where the revocation table starts: after the upstream rings. */
static uint64_t revoke_off_of(const rc_log_geometry_t *g)
{
    return page_up(RC_SHM_UPRINGS_OFF + RC_SHM_NSLOTS * (RC_UPRING_HDR + g->upring_size));
}

static uint64_t users_off_of(const rc_log_geometry_t *g)
{
    return page_up(revoke_off_of(g) + RC_SHM_REVOKE_ENTRIES * sizeof(struct rc_revoke_entry));
}

/* Offsets of every part for a geometry; returns the region size. */
static uint64_t place(const rc_log_geometry_t *g, uint64_t *upring_off, uint64_t *index_off, uint64_t *ring_off)
{
    *upring_off = RC_SHM_UPRINGS_OFF;
    *index_off = page_up(users_off_of(g) + RC_SHM_USER_ENTRIES * sizeof(struct rc_user_entry));
    *ring_off = page_up(*index_off + g->index_entries * sizeof(rc_topic_entry_t));
    return *ring_off + g->ring_capacity;
}

static void bind_views(rc_log_t *log)
{
    uint8_t *base = (uint8_t *)log->hdr;
    log->slots = (rc_shm_slot_t *)(base + RC_SHM_SLOTS_OFF);
    log->ring = base + log->hdr->ring_off;
    log->cap = log->hdr->ring_capacity;
    log->mask = log->cap - 1;
    log->index = (rc_topic_entry_t *)(base + log->hdr->index_off);
    log->index_mask = log->hdr->index_entries - 1;
    log->revoke = (struct rc_revoke_entry *)(base + log->hdr->revoke_off);
    log->users = (struct rc_user_entry *)(base + log->hdr->users_off);
}

/* A region is ours to continue only if everything it says about itself is
 * consistent with its size and our layout. */
static int header_valid(const rc_shm_header_t *h, size_t size)
{
    /* acquire: the creator stored magic last, after every other field */
    if (atomic_load_explicit(&h->magic, memory_order_acquire) != RC_SHM_MAGIC)
        return 0;
    if (h->layout != RC_SHM_LAYOUT || h->header_size != RC_SHM_HEADER_SIZE)
        return 0;
    if (h->nslots != RC_SHM_NSLOTS || h->slot_size != RC_SHM_SLOT_SIZE)
        return 0;
    rc_log_geometry_t g = {h->ring_capacity, h->index_entries, h->upring_size};
    uint64_t up, ix, ro;
    if (!pow2(g.ring_capacity) || !pow2(g.index_entries) || !pow2(g.upring_size) || g.ring_capacity < 65536)
        return 0;
    if (place(&g, &up, &ix, &ro) != size || h->region_size != size || h->upring_off != up || h->index_off != ix ||
        h->ring_off != ro || h->revoke_off != revoke_off_of(&g) ||
        h->users_off != users_off_of(&g))
        return 0;
    uint64_t tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
    return head >= tail && head - tail <= g.ring_capacity && tail % RC_REC_ALIGN == 0;
}

/* Backs every page of the region now. ftruncate alone leaves a sparse
 * file: on a /dev/shm smaller than the region (64 MiB by default in a
 * container) the writer would die of SIGBUS once its writes pass the real
 * size, long after it started. */
static int allocate(int fd, const char *name, size_t size, uint64_t ring)
{
    int err = posix_fallocate(fd, 0, (off_t)size);
    if (err == 0)
        return 0;
    struct statvfs vfs;
    unsigned long long free_mib = fstatvfs(fd, &vfs) == 0 ? (unsigned long long)vfs.f_bavail * vfs.f_frsize >> 20 : 0;
    if (err == ENOSPC || err == EFBIG)
        fprintf(stderr,
                "shm: region %s needs %llu MiB but /dev/shm has %llu MiB free: start with a smaller --log_size "
                "(the region is log_size plus about %llu MiB), or give /dev/shm more room (docker run --shm-size, "
                "a Kubernetes emptyDir with medium: Memory at /dev/shm; docs/operations.md, \"Containers\")\n",
                name, (unsigned long long)((size + (1u << 20) - 1) >> 20), free_mib,
                (unsigned long long)((size - ring + (1u << 20) - 1) >> 20));
    else
        fprintf(stderr, "shm: cannot allocate region %s (%llu MiB): %s\n", name, (unsigned long long)(size >> 20),
                strerror(err));
    return -err;
}

static int create_region(rc_log_t *log, const rc_log_geometry_t *g)
{
    int fd = shm_open(log->name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -errno;
    uint64_t up, ix, ro;
    size_t size = place(g, &up, &ix, &ro);
    struct stat st;
    int lfd = fstat(fd, &st) < 0 ? -errno : lock_writer(log->name, &st, 1);
    int rc = lfd < 0 ? lfd : 0;
    if (rc == 0 && (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)size) < 0))
        rc = -errno;
    if (rc == 0)
        rc = allocate(fd, log->name, size, g->ring_capacity);
    if (rc == 0)
        rc = map_fd(log, fd, size);
    close(fd);
    if (rc < 0) {
        if (lfd >= 0)
            close(lfd);
        shm_unlink(log->name);
        return rc;
    }
    log->lock_fd = lfd;
    log->dev = st.st_dev;
    log->ino = st.st_ino;
    rc_shm_header_t *h = log->hdr;
    h->layout = RC_SHM_LAYOUT;
    h->header_size = RC_SHM_HEADER_SIZE;
    if (getrandom(&h->epoch, sizeof(h->epoch), 0) != sizeof(h->epoch))
        h->epoch = rc_clock_wall_ns() ^ rc_clock_mono_ns();
    /* The topic key must be unpredictable: no fallback to the clock. */
    if (getrandom(h->topic_key, sizeof(h->topic_key), 0) != sizeof(h->topic_key)) {
        rc = -errno;
        shm_unlink(log->name);
        rc_log_close(log);
        return rc;
    }
    h->region_size = size;
    h->upring_off = up;
    h->upring_size = g->upring_size;
    h->index_off = ix;
    h->revoke_off = revoke_off_of(g);
    h->users_off = users_off_of(g);
    h->index_entries = g->index_entries;
    h->ring_off = ro;
    h->ring_capacity = g->ring_capacity;
    h->nslots = RC_SHM_NSLOTS;
    h->slot_size = RC_SHM_SLOT_SIZE;
    h->created_ns = rc_clock_wall_ns();
    atomic_store_explicit(&h->next_seq, 1, memory_order_relaxed);
    /* release: every field above is visible to whoever sees the magic */
    atomic_store_explicit(&h->magic, RC_SHM_MAGIC, memory_order_release);
    bind_views(log);
    return RC_LOG_CREATED;
}

static int attach_existing(rc_log_t *log, int writable)
{
    struct stat st;
    int fd = open_ours(log->name, &st);
    if (fd < 0)
        return fd;
    /* The writer locks before it reads a byte: a live region's header is
     * never touched by a second broker. */
    int lfd = writable ? lock_writer(log->name, &st, 0) : 0;
    int rc = lfd < 0 ? lfd : 0;
    if (rc == 0 && (size_t)st.st_size < sizeof(rc_shm_header_t))
        rc = -EPROTO;
    if (rc == 0)
        rc = map_fd(log, fd, (size_t)st.st_size);
    log->dev = st.st_dev;
    log->ino = st.st_ino;
    close(fd);
    if (writable && lfd > 0) {
        if (rc < 0)
            close(lfd);
        else
            log->lock_fd = lfd;
    }
    if (rc < 0)
        return rc;
    if (!header_valid(log->hdr, log->map_size)) {
        munmap(log->hdr, log->map_size);
        log->hdr = NULL;
        return -EPROTO;
    }
    bind_views(log);
    return 0;
}

/* The sequence number after the last committed record. Commit stores
 * last_pos, then tail (release), then next_seq, so a writer that died between
 * any two of those stores is recovered exactly: if the record at last_pos
 * ends at tail it was committed, otherwise it was not and its seq is reused. */
static uint64_t recover_next_seq(rc_log_t *log)
{
    rc_shm_header_t *h = log->hdr;
    uint64_t tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
    uint64_t last = atomic_load_explicit(&h->last_pos, memory_order_relaxed);
    uint64_t next = atomic_load_explicit(&h->next_seq, memory_order_relaxed);
    if (tail == 0 && last == 0 && next <= 1)
        return 1; /* nothing was ever committed */
    const rc_rec_t *rec = (const rc_rec_t *)(log->ring + (last & log->mask));
    uint64_t seq = atomic_load_explicit(&rec->seq, memory_order_relaxed);
    if (last + rec->len == tail)
        return seq + 1;
    return seq;
}

/* The writer indexes a record just before it publishes it (commit), so a
 * writer that died between the two left its topic's entry naming a record
 * that was never published: its seq, here at or just after tail, is the
 * one the next writer reuses. Point the entry back at the record before
 * it; offsets then continue without a hole. */
static void recover_index(rc_log_t *log, uint64_t next_seq)
{
    uint64_t tail = atomic_load_explicit(&log->hdr->tail, memory_order_relaxed);
    uint64_t wrap = tail + (log->cap - (tail & log->mask));
    uint64_t cands[2] = {tail, wrap};
    for (int i = 0; i < 2; i++) {
        uint64_t pos = cands[i];
        uint64_t off = pos & log->mask;
        if (log->cap - off < sizeof(rc_rec_t))
            continue;
        const rc_rec_t *rec = (const rc_rec_t *)(log->ring + off);
        if (atomic_load_explicit(&rec->seq, memory_order_relaxed) != next_seq || (rec->flags & RC_REC_PAD) ||
            sizeof(rc_rec_t) + rec->topic_len > log->cap - off || rec->topic_offset == 0)
            continue;
        uint64_t key = rc_topic_index_key(log, (const char *)(rec + 1), rec->topic_len);
        rc_topic_entry_t *e = NULL;
        for (unsigned k = 0; k < RC_INDEX_PROBES && !e; k++) {
            rc_topic_entry_t *c = &log->index[(key + k) & log->index_mask];
            if (atomic_load_explicit(&c->hash, memory_order_relaxed) == key)
                e = c;
        }
        if (!e || atomic_load_explicit(&e->pos, memory_order_relaxed) != pos)
            continue;
        /* offset 0 with no record: "nothing yet in this epoch" */
        uint64_t prev = rec->topic_offset > 1 ? rec->prev_pos : UINT64_MAX;
        rc_topic_index_point(log, e, key, RC_INDEX_FOUND, prev, rec->topic_epoch, rec->topic_offset - 1);
        return;
    }
}

static int geometry_valid(const rc_log_geometry_t *g)
{
    if (!pow2(g->ring_capacity) || g->ring_capacity < 65536 || !pow2(g->index_entries) ||
        g->index_entries < 1024 || !pow2(g->upring_size) || g->upring_size < 4096) {
        fprintf(stderr, "shm: log_size must be a power of two >= 64K, topic_index_entries a power of two "
                        ">= 1024, upring_size a power of two >= 4K\n");
        return 0;
    }
    return 1;
}

/* Maps the lines every layout version keeps in place (shm/layout.h) of the
 * region called name. Returns the mapping (munmap RC_SHM_HEADER_SIZE) or
 * NULL if there is no region, or it is too small or not ringcast's. */
static rc_shm_header_v1_t *map_identity(const char *name)
{
    struct stat st;
    int fd = open_ours(name, &st);
    if (fd < 0)
        return NULL;
    void *p = MAP_FAILED;
    if (st.st_size >= (off_t)RC_SHM_HEADER_SIZE)
        p = mmap(NULL, RC_SHM_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    rc_shm_header_v1_t *h = p;
    /* acquire: the creator stored magic last */
    if (atomic_load_explicit(&h->magic, memory_order_acquire) != RC_SHM_MAGIC || h->header_size != RC_SHM_HEADER_SIZE) {
        munmap(p, RC_SHM_HEADER_SIZE);
        return NULL;
    }
    return h;
}

/* A region that is not ours to continue: says what it is and, when it is
 * replaced (recreate), retires it so that its edges, of whatever version,
 * drain and are restarted on the new region. */
static void other_layout(const char *name, int recreate)
{
    rc_shm_header_v1_t *h = map_identity(name);
    if (!h) {
        fprintf(stderr, "shm: region %s exists but is not a ringcast region\n", name);
        return;
    }
    if (h->layout != RC_SHM_LAYOUT)
        fprintf(stderr, "shm: region %s has layout version %u; this build uses layout version %u "
                        "(docs/operations.md, \"Layout versions\")\n", name, h->layout, RC_SHM_LAYOUT);
    else
        fprintf(stderr, "shm: region %s has layout version %u but an inconsistent header\n", name, h->layout);
    if (recreate)
        rc_wake_retire_any(h);
    munmap(h, RC_SHM_HEADER_SIZE);
}

int rc_log_peek_layout(const char *instance, uint32_t *layout)
{
    char name[96];
    int rc = region_name(name, sizeof(name), instance);
    if (rc < 0)
        return rc;
    rc_shm_header_v1_t *h = map_identity(name);
    if (!h)
        return -ENOENT;
    *layout = h->layout;
    munmap(h, RC_SHM_HEADER_SIZE);
    return 0;
}

int rc_log_open_writer(rc_log_t *log, const char *instance, const rc_log_geometry_t *g, int recreate)
{
    memset(log, 0, sizeof(*log));
    if (!geometry_valid(g))
        return -EINVAL;
    int rc = region_name(log->name, sizeof(log->name), instance);
    if (rc < 0)
        return rc;
    rc = create_region(log, g);
    if (rc != -EEXIST)
        return rc;
    rc = attach_existing(log, 1);
    if (rc == -EBUSY || rc == -EPERM || rc == -ELOOP)
        return rc; /* another writer's, or not ours: said why, touched nothing */
    const rc_shm_header_t *h = log->hdr;
    if (rc == 0 && h->ring_capacity == g->ring_capacity && h->index_entries == g->index_entries &&
        h->upring_size == g->upring_size) {
        rc_shm_header_t *wh = log->hdr;
        /* A writer that died mid-record left head past tail: the bytes
         * between were never published, so the new writer starts at tail.
         * Head stays where it was: the dead writer may already have
         * overwritten old records up to it, and moving head back would let
         * a reader accept those bytes as intact. (Head ahead of tail is the
         * normal state: the writer claims in steps.) */
        uint64_t next = recover_next_seq(log);
        atomic_store_explicit(&wh->next_seq, next, memory_order_relaxed);
        recover_index(log, next);
        /* the dead broker's upstream calls ended with it */
        atomic_store_explicit(&wh->broker_hydrate_held, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&wh->writer_restarts, 1, memory_order_relaxed);
        return RC_LOG_REATTACHED;
    }
    if (rc == 0) {
        fprintf(stderr, "shm: region %s has geometry ring=%llu index=%llu upring=%llu, not ring=%llu index=%llu "
                        "upring=%llu\n", log->name, (unsigned long long)h->ring_capacity,
                (unsigned long long)h->index_entries, (unsigned long long)h->upring_size,
                (unsigned long long)g->ring_capacity, (unsigned long long)g->index_entries,
                (unsigned long long)g->upring_size);
        if (recreate)
            rc_wake_retire(log); /* it is replaced: its readers must move to the new one */
        rc_log_close(log);
    } else {
        other_layout(log->name, recreate);
        rc_log_close(log); /* the lock, if it was taken */
    }
    if (!recreate) {
        fprintf(stderr, "shm: refusing to reuse it; remove /dev/shm%s or start with --recreate_log 1\n",
                log->name);
        return -EEXIST;
    }
    shm_unlink(log->name);
    return create_region(log, g);
}

int rc_log_open_reader(rc_log_t *log, const char *instance)
{
    memset(log, 0, sizeof(*log));
    int rc = region_name(log->name, sizeof(log->name), instance);
    if (rc < 0)
        return rc;
    return attach_existing(log, 0);
}

void rc_log_close(rc_log_t *log)
{
    if (log->hdr)
        munmap(log->hdr, log->map_size);
    log->hdr = NULL;
    if (log->lock_fd > 0)
        close(log->lock_fd); /* the writer's lock goes with it */
    log->lock_fd = 0;
}

int rc_log_replaced(const rc_log_t *log)
{
    char path[128];
    snprintf(path, sizeof(path), "/dev/shm%s", log->name);
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? -ENOENT : 0;
    return st.st_dev != log->dev || st.st_ino != log->ino;
}

int rc_log_unlink(const char *instance)
{
    char name[96];
    int rc = region_name(name, sizeof(name), instance);
    if (rc < 0)
        return rc;
    return shm_unlink(name) < 0 ? -errno : 0;
}
