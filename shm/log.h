/* The event log in shared memory: open/create the region, append records
 * (the broker, the only writer), read them (the edges). See shm/layout.h for
 * the layout, the states and the invariants.
 *
 * Nothing here blocks: the writer never waits for readers, readers never
 * wait for the writer (sleeping is shm/wake.h's job). */
#ifndef RC_SHM_LOG_H
#define RC_SHM_LOG_H

#include <stdint.h>
#include <stddef.h>
#include "shm/layout.h"

/* Sizes of the parts of a region, chosen by the broker at creation. */
typedef struct rc_log_geometry {
    uint64_t ring_capacity;  /* data ring bytes, power of two >= 64K */
    uint64_t index_entries;  /* topic index entries, power of two >= 1024 */
    uint64_t upring_size;    /* data bytes of each upstream ring, power of two >= 4K */
} rc_log_geometry_t;

typedef struct rc_topic_entry rc_topic_entry_t;

typedef struct rc_log {
    rc_shm_header_t *hdr;
    rc_shm_slot_t *slots;
    uint8_t *ring;
    rc_topic_entry_t *index;
    struct rc_revoke_entry *revoke; /* RC_SHM_REVOKE_ENTRIES (shm/revoke.h) */
    struct rc_user_entry *users;    /* RC_SHM_USER_ENTRIES (shm/user_conns.h) */
    uint64_t index_mask;
    uint64_t cap;    /* ring capacity (power of two) */
    uint64_t mask;
    size_t map_size;
    uint64_t res_pos; /* writer: the reserved record, between reserve and commit */
    uint64_t res_end;
    uint64_t res_hash;
    rc_topic_entry_t *res_entry; /* its topic's index entry */
    int res_kind;                /* RC_INDEX_*: how the entry was found */
    uint64_t res_epoch, res_offset; /* the reserved record's position */
    uint64_t prep_key;           /* rc_log_next_position's topic (0: none), valid until reserve */
    uint64_t prep_th;            /* its SipHash */
    const char *prep_topic;      /* its name as the caller passed it, to know it again without hashing */
    uint16_t prep_topic_len;
    rc_topic_entry_t *prep_entry;
    int prep_kind;
    uint64_t prep_epoch, prep_offset, prep_prev, prep_jump, prep_jump_offset;
    char name[96];   /* shm_open name, "/ringcast-<instance>" */
    int lock_fd;     /* writer: the region's descriptor, holding its flock (0: none) */
    uint64_t dev, ino; /* the file mapped, to tell when the name points elsewhere */
} rc_log_t;

/* Writer side ------------------------------------------------------------ */

enum { RC_LOG_CREATED = 1, RC_LOG_REATTACHED = 2 };

/* Opens the region for instance as its writer: re-attaches an existing one
 * whose magic, layout and geometry match (the sequence continues after the
 * last committed record; a record a dead writer left half-written is
 * discarded), creates a new one (mode 0600) when none exists. A region that
 * exists but does not match (another geometry or layout version) is refused
 * with -EEXIST and a message on stderr naming --recreate_log, unless
 * recreate is set: then the old region is retired (its readers are woken
 * and see rc_wake_prepare's -EPIPE) and a new one is created. Returns RC_LOG_CREATED, RC_LOG_REATTACHED or a
 * negative errno. */
int rc_log_open_writer(rc_log_t *log, const char *instance, const rc_log_geometry_t *g, int recreate);

/* Default geometry around a data ring of ring_capacity bytes. */
rc_log_geometry_t rc_log_geometry(uint64_t ring_capacity);

/* The largest frame a record can carry: a quarter of the ring, so a reader
 * can always hold a few records' worth of lag. */
uint64_t rc_log_max_frame(const rc_log_t *log);

/* Sequence number the next committed record will carry. */
uint64_t rc_log_next_seq(const rc_log_t *log);

/* A record's position in its topic (docs/protocol.md, "Positions"). */
typedef struct rc_topic_pos {
    uint64_t epoch;
    uint64_t offset; /* 1 for a run's first record */
} rc_topic_pos_t;

/* The position the next record of topic will get, for a frame that names
 * it (a broadcast's ref). Call rc_log_reserve for the same topic next. */
rc_topic_pos_t rc_log_next_position(rc_log_t *log, const char *topic, uint16_t topic_len);

/* Reserves a record for topic and a frame of frame_len bytes, writes the
 * topic and record header, and returns where the caller writes the frame
 * (exactly frame_len bytes) before rc_log_commit. ts_ns is the publish time
 * (CLOCK_REALTIME ns; 0: now). Writes a PAD record first if the record would
 * straddle the end. Returns NULL if frame_len is over rc_log_max_frame. One
 * reservation at a time. */
uint8_t *rc_log_reserve(rc_log_t *log, const char *topic, uint16_t topic_len, uint32_t frame_len, uint64_t ts_ns);

/* The same with the position given by the caller instead of the index (a
 * cluster engine assigns positions in a cluster of brokers). Offsets of a
 * topic must grow; a gap or another epoch starts a new chain. at NULL: as
 * rc_log_reserve. */
uint8_t *rc_log_reserve_at(rc_log_t *log, const char *topic, uint16_t topic_len, uint32_t frame_len, uint64_t ts_ns,
                           const rc_topic_pos_t *at);

/* The reserved record's position (valid between reserve and commit, and
 * after commit until the next reserve). */
static inline rc_topic_pos_t rc_log_reserved_position(const rc_log_t *log)
{
    rc_topic_pos_t p = {log->res_epoch, log->res_offset};
    return p;
}

/* Publishes the reserved record (release) and wakes sleeping readers if any
 * said they sleep. Returns its sequence number. */
uint64_t rc_log_commit(rc_log_t *log);

/* Publishes without waking anyone: for a burst of records, followed by one
 * rc_wake_readers (shm/wake.h) when the burst is done. A writer that forgets
 * the wake leaves sleeping readers asleep. */
uint64_t rc_log_commit_quiet(rc_log_t *log);

/* Reader side ------------------------------------------------------------ */

/* Maps an existing region for reading (and for writing its own slot).
 * Returns 0, -ENOENT if the broker has not created it yet, -EPROTO if the
 * magic or layout do not match. */
int rc_log_open_reader(rc_log_t *log, const char *instance);

void rc_log_close(rc_log_t *log);

/* Whether the region's name still names the file this log mapped: 0 yes,
 * 1 it names another region now (unlinked out of band and created again:
 * nothing more comes through this mapping), -ENOENT it names nothing (it
 * was unlinked; its writer may still be writing). One stat(2). */
int rc_log_replaced(const rc_log_t *log);

/* The layout version of instance's region, for a message when opening it
 * failed with -EPROTO. Returns 0 and *layout, or -ENOENT if there is no
 * ringcast region of any version. */
int rc_log_peek_layout(const char *instance, uint32_t *layout);

/* Removes the region's name (the mapping stays valid for who has it). */
int rc_log_unlink(const char *instance);

typedef struct rc_log_reader {
    uint64_t pos;     /* next record position */
    uint64_t seq;     /* seq expected there; 0 = not known yet (just started or resumed) */
    uint64_t lost;    /* records lost to lapping, in total */
    uint64_t lapped;  /* times lapped */
    uint64_t lap_from;/* seq expected when last lapped (0: not lapped) */
    uint64_t tail;    /* last tail loaded: records before it need no new load */
} rc_log_reader_t;

/* A record as seen by a reader; pointers into shm, valid until lapped. */
typedef struct rc_log_view {
    uint64_t pos;
    uint64_t seq;
    uint32_t len;       /* record bytes (position of the next one is pos + len) */
    const char *topic;
    uint16_t topic_len;
    uint32_t topic_hash;
    const uint8_t *frame;
    uint32_t frame_len;
    uint64_t ts_ns;
    uint64_t prev_pos;  /* previous record of the same topic, UINT64_MAX if none known */
    uint64_t epoch, offset;          /* its position in the topic */
    uint64_t jump_pos, jump_offset;  /* skip pointer (shm/topic_walk.h) */
} rc_log_view_t;

/* Starts a reader at the current tail: it sees only records committed later. */
void rc_log_reader_at_tail(const rc_log_t *log, rc_log_reader_t *r);

/* Reads the next committed record into v and advances. Returns 1 for a
 * record, 0 when the reader is at the tail, or -ESTALE when it was lapped:
 * it has then jumped to the tail, r->lapped is incremented, and the records
 * it lost are added to r->lost once the next record names the gap.
 * A returned view is already checked intact once; check again with
 * rc_log_intact after using its bytes. */
int rc_log_reader_next(const rc_log_t *log, rc_log_reader_t *r, rc_log_view_t *v);

/* 1 if the bytes of the record at [pos, pos + len) have not been overwritten
 * (checked after an acquire fence, so every read of them before this call is
 * covered). */
int rc_log_intact(const rc_log_t *log, uint64_t pos, uint32_t len);

/* Reads the record at pos (for example a view's prev_pos) into v, checked
 * intact and well-formed. Returns 1, or 0 if it is gone or not a record. */
int rc_log_read_at(const rc_log_t *log, uint64_t pos, rc_log_view_t *v);

/* The same for a record the index points at, which may be past the tail
 * for an instant (the writer indexes a record before it publishes it): its
 * header is complete, its frame only once pos < tail. */
int rc_log_read_indexed(const rc_log_t *log, uint64_t pos, rc_log_view_t *v);

#endif
