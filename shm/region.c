/* Creating, re-attaching and mapping the shm region. */
#include "shm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int region_name(char *out, size_t cap, const char *instance)
{
    for (const char *p = instance; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x21) {
            fprintf(stderr, "shm: instance name '%s' must not contain '/' or spaces\n", instance);
            return -EINVAL;
        }
    if (!instance[0] || snprintf(out, cap, "/ringcast-%s", instance) >= (int)cap) {
        fprintf(stderr, "shm: instance name must be 1..80 characters\n");
        return -EINVAL;
    }
    return 0;
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

static void bind_views(rc_log_t *log)
{
    uint8_t *base = (uint8_t *)log->hdr;
    log->slots = (rc_shm_slot_t *)(base + RC_SHM_SLOTS_OFF);
    log->ring = base + log->hdr->ring_off;
    log->cap = log->hdr->ring_capacity;
    log->mask = log->cap - 1;
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
    if (h->nslots != RC_SHM_NSLOTS || h->slot_size != RC_SHM_SLOT_SIZE || h->ring_off != RC_SHM_RING_OFF)
        return 0;
    uint64_t cap = h->ring_capacity;
    if (cap < 4096 || (cap & (cap - 1)) || h->region_size != size || h->ring_off + cap != size)
        return 0;
    uint64_t tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
    return head >= tail && head - tail <= cap && tail % RC_REC_ALIGN == 0;
}

static int create_region(rc_log_t *log, uint64_t capacity)
{
    int fd = shm_open(log->name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -errno;
    size_t size = RC_SHM_RING_OFF + capacity;
    int rc = 0;
    if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)size) < 0)
        rc = -errno;
    if (rc == 0)
        rc = map_fd(log, fd, size);
    close(fd);
    if (rc < 0) {
        shm_unlink(log->name);
        return rc;
    }
    rc_shm_header_t *h = log->hdr;
    h->layout = RC_SHM_LAYOUT;
    h->header_size = RC_SHM_HEADER_SIZE;
    if (getrandom(&h->epoch, sizeof(h->epoch), 0) != sizeof(h->epoch))
        h->epoch = now_ns();
    h->region_size = size;
    h->ring_off = RC_SHM_RING_OFF;
    h->ring_capacity = capacity;
    h->nslots = RC_SHM_NSLOTS;
    h->slot_size = RC_SHM_SLOT_SIZE;
    h->created_ns = now_ns();
    atomic_store_explicit(&h->next_seq, 1, memory_order_relaxed);
    /* release: every field above is visible to whoever sees the magic */
    atomic_store_explicit(&h->magic, RC_SHM_MAGIC, memory_order_release);
    bind_views(log);
    return RC_LOG_CREATED;
}

static int attach_existing(rc_log_t *log, int writable)
{
    int fd = shm_open(log->name, O_RDWR, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = -errno;
    else if ((size_t)st.st_size < RC_SHM_RING_OFF + 4096)
        rc = -EPROTO;
    if (rc == 0)
        rc = map_fd(log, fd, (size_t)st.st_size);
    close(fd);
    if (rc < 0)
        return rc;
    if (!header_valid(log->hdr, log->map_size)) {
        munmap(log->hdr, log->map_size);
        log->hdr = NULL;
        return -EPROTO;
    }
    (void)writable;
    bind_views(log);
    return 0;
}

int rc_log_open_writer(rc_log_t *log, const char *instance, uint64_t capacity, int recreate)
{
    memset(log, 0, sizeof(*log));
    if (capacity < 65536 || (capacity & (capacity - 1))) {
        fprintf(stderr, "shm: log_size %llu must be a power of two >= 64K\n", (unsigned long long)capacity);
        return -EINVAL;
    }
    int rc = region_name(log->name, sizeof(log->name), instance);
    if (rc < 0)
        return rc;
    rc = create_region(log, capacity);
    if (rc != -EEXIST)
        return rc;
    rc = attach_existing(log, 1);
    if (rc == 0 && log->cap == capacity) {
        rc_shm_header_t *h = log->hdr;
        /* A writer that died mid-record left head past tail: those bytes
         * were never published, so the new writer simply starts at tail. */
        uint64_t tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
        atomic_store_explicit(&h->head, tail, memory_order_relaxed);
        atomic_fetch_add_explicit(&h->writer_restarts, 1, memory_order_relaxed);
        return RC_LOG_REATTACHED;
    }
    if (rc == 0) {
        fprintf(stderr, "shm: region %s has a ring of %llu bytes, not %llu\n", log->name,
                (unsigned long long)log->cap, (unsigned long long)capacity);
        rc_log_close(log);
    } else {
        fprintf(stderr, "shm: region %s exists but is not a ringcast layout %u region\n", log->name,
                RC_SHM_LAYOUT);
    }
    if (!recreate) {
        fprintf(stderr, "shm: refusing to reuse it; remove /dev/shm%s or start with --recreate_log 1\n",
                log->name);
        return -EEXIST;
    }
    shm_unlink(log->name);
    return create_region(log, capacity);
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
}

int rc_log_unlink(const char *instance)
{
    char name[96];
    int rc = region_name(name, sizeof(name), instance);
    if (rc < 0)
        return rc;
    return shm_unlink(name) < 0 ? -errno : 0;
}

uint32_t rc_topic_hash(const char *topic, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)topic[i];
        h *= 16777619u;
    }
    return h;
}
