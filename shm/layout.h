/* The shared-memory event log: layout of the region and its invariants.
 *
 * One region per cluster instance, /dev/shm/ringcast-<instance>, mode 0600,
 * created by the broker, the only writer of the data ring, the topic index
 * and the header's positions and counters. Edges map it read-write for what
 * is theirs: their own slot, their own upstream ring's producer side, and
 * three header words of the wake protocols (the sleepers flag of the wake
 * line, shm/wake.h; up_word, up_sleeping and up_wakes of the doorbell line,
 * shm/doorbell.h). They never write the data ring or the index.
 *
 *   +-----------------+  0
 *   | header (4 KiB)  |  magic, layout, epoch, capacities; writer positions
 *   +-----------------+  RC_SHM_SLOTS_OFF
 *   | edge slots      |  RC_SHM_NSLOTS x 512 B, each written by one edge
 *   +-----------------+  upring_off
 *   | upstream rings  |  one SPSC ring per slot, edge -> broker (shm/upring.h)
 *   +-----------------+  revoke_off
 *   | revocations     |  kicked users (shm/revoke.h)
 *   +-----------------+  users_off
 *   | user counts     |  connections per (user, edge) (shm/user_conns.h)
 *   +-----------------+  index_off
 *   | topic index     |  topic hash -> position of its latest record
 *   +-----------------+  ring_off (page aligned)
 *   | data ring       |  ring_capacity bytes (power of two), records
 *   +-----------------+
 *
 * Positions are byte offsets that only grow (u64; they never wrap in
 * practice); a record at position p lives at ring + (p & (capacity - 1)).
 * A record never straddles the end of the ring: when it would, the writer
 * first writes a PAD record to the end and the real record at the start.
 *
 * States of the ring (W = writer tail, H = writer head, R = a reader):
 *
 *   empty      [.................................]  R == W == H
 *
 *   written    [##### r1 ## r2 ## r3 ###.........]  records between R and W
 *               ^R                      ^W=H         are readable
 *
 *   writing    [##### r1 ## r2 ## r3 ##~~~~......]  H moved before the bytes
 *               ^R                      ^W  ^H       at [W,H) are written
 *
 *   lapped     [#r9#~~~ r4 ## r5 ## r6 ## r7 ## r8]  H - R > capacity: the
 *                  ^W,H ^R (stale: overwritten)      bytes at R are gone
 *
 *   resumed    [#r9#....]  a lapped reader counts what it lost and jumps to
 *                  ^R=W    W; the record it reads next names the gap by its seq
 *
 * Invariants (kept in shm/log_writer.c and checked in shm/log_reader.c):
 *  - Single writer. Only the broker stores to the header positions, the
 *    topic index and the data ring.
 *  - The writer never waits for readers. Before it overwrites ring bytes it
 *    advances `head` past them (store, then a release fence), in steps of
 *    capacity/64 so the line changes rarely; a reader that used bytes at
 *    [p, p+len) loads `head` after an acquire fence and trusts what it read
 *    only if head <= p + capacity. The same check runs again after bytes
 *    were handed to the kernel for sending. A reader may therefore lag by at
 *    most capacity - capacity/64 before it counts itself lapped.
 *  - Publication order. A record is complete before `tail` moves past it
 *    (release store); readers load `tail` with acquire before reading it.
 *  - Sleep without spinning: see shm/wake.h.
 *  - Nothing in the region holds a token or depends on a live peer.
 *
 * Layout versions (docs/operations.md, "Layout versions"): RC_SHM_LAYOUT
 * changes with every change to this file's structs, their meaning, or what
 * a record carries. Two lines never move, so that any broker can recognise
 * a region of another version and retire it: the identity line (magic,
 * layout, header_size at offset 0) and the wake line (wake_word and retired
 * at offset 256; rc_shm_header_v1_t below pins them).
 *
 *   version 1  the first layout
 *   version 2  a slot's liveness is monotonic (alive_mono_ns, was alive_ns
 *              in wall-clock time)
 *   version 3  a slot says its edge's I/O backend (io_backend)
 *   version 4  topic hashes are SipHash-2-4 keyed by the header's random
 *              topic_key (were unkeyed FNV-1a); slots count the hostile
 *              client limits (refused_rate, refused_ip, handshake_timeouts,
 *              kicks_memory, kicks_rate, proxy_refused) and the edge's
 *              connection memory (memory)
 *   version 5  records carry their topic's position (topic_epoch,
 *              topic_offset) and a skip pointer (jump_pos, jump_offset);
 *              index entries hold the topic's epoch and last offset and are
 *              never full for good (dead entries are reused, else the
 *              oldest live one is evicted: index_reuses, index_evictions,
 *              replacing index_full); topic_runs names new runs' epochs;
 *              slots count resumes (resumes, resumes_unrecovered),
 *              history pages (history_pages) and handshakes refused for
 *              their token (refused_auth); a revocation table follows the
 *              upstream rings (revoke_off, shm/revoke.h)
 *   version 6  slots are 512 B and count the auth events (expiries,
 *              refreshes, refreshes_refused, kicks_revoked, refused_user,
 *              user_table_full); a table of connections per (user, edge)
 *              follows the revocations (users_off, shm/user_conns.h), written
 *              by the edges; the machine's upstream call tokens are counted
 *              per holder (slot hydrate_held, header broker_hydrate_held;
 *              shm/hydrate_cap.h)
 *
 * Clocks (common/clock.h): created_ns, a slot's started_ns, a record's
 * ts_ns and last_commit_ns are wall-clock; alive_mono_ns is monotonic.
 */
#ifndef RC_SHM_LAYOUT_H
#define RC_SHM_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RC_SHM_MAGIC 0x54534143474e4952ull /* "RINGCAST" little-endian */
#define RC_SHM_LAYOUT 6u
#define RC_SHM_HEADER_SIZE 4096u
#define RC_SHM_NSLOTS 64u
#define RC_SHM_SLOT_SIZE 512u
#define RC_SHM_SLOTS_OFF RC_SHM_HEADER_SIZE
#define RC_SHM_UPRINGS_OFF (RC_SHM_SLOTS_OFF + RC_SHM_NSLOTS * RC_SHM_SLOT_SIZE)
#define RC_CACHELINE 64
#define RC_PAGE 4096u
#define RC_TOPIC_RUN_BUCKETS 512u

/* Header. Fields above `head` are written once at creation, before magic. */
typedef struct rc_shm_header {
    /* Identity line. */
    _Atomic uint64_t magic;   /* stored last at creation, with release */
    uint32_t layout;
    uint32_t header_size;
    uint64_t epoch;           /* random, new each time the region is created */
    uint64_t region_size;
    uint64_t created_ns;      /* wall clock */
    uint32_t nslots;
    uint32_t slot_size;
    uint8_t pad0[RC_CACHELINE - 48];

    /* Geometry line: where each part of the region is. */
    uint64_t upring_off;      /* RC_SHM_NSLOTS upstream rings (shm/upring.h) */
    uint64_t upring_size;     /* bytes of each, header included; power of two */
    uint64_t index_off;       /* topic head index (shm/topic_index.h) */
    uint64_t index_entries;   /* power of two */
    uint64_t ring_off;        /* data ring */
    uint64_t ring_capacity;   /* power of two */
    /* SipHash key of topic names (shm/topic_index.h), random per region:
     * the index, the records' topic_hash and every edge's topic table use
     * it, so nobody outside can choose names that collide. */
    uint8_t topic_key[16];

    /* Writer line: where the writer may be writing. */
    _Atomic uint64_t head;    /* end of the bytes the writer may be overwriting */
    uint8_t pad2[RC_CACHELINE - 8];

    /* Publication line: what readers may read. */
    _Atomic uint64_t tail;    /* end of the last committed record */
    _Atomic uint64_t next_seq;/* sequence number the next record will get */
    _Atomic uint64_t last_commit_ns; /* wall clock: ts_ns of the last record */
    _Atomic uint64_t last_pos;/* position of the last committed record */
    uint8_t pad3[RC_CACHELINE - 32];

    /* Wake line: futex word and the "a reader sleeps" flag (shm/wake.h).
     * Readers store sleepers; everything else here is the writer's. */
    _Atomic uint32_t wake_word;
    _Atomic uint32_t sleepers;
    _Atomic uint64_t wake_syscalls;
    /* A writer replaced this region by a new one (rc_wake_retire): readers
     * must re-attach. Zero in regions made before the field existed. */
    _Atomic uint32_t retired;
    uint8_t pad4[RC_CACHELINE - 20];

    /* Writer's own counters, for /metrics. */
    _Atomic uint64_t writer_pid;
    _Atomic uint64_t records;
    _Atomic uint64_t bytes;
    _Atomic uint64_t writer_restarts;
    /* A topic losing its index entry starts a new epoch when it returns. */
    _Atomic uint64_t index_reuses;    /* dead entries (latest record overwritten) given to another topic */
    _Atomic uint64_t index_evictions; /* live entries taken: no free or dead entry in the probe window */
    uint8_t pad5[RC_CACHELINE - 48];

    /* Upstream doorbell line: edges ring it after pushing into their
     * upstream ring; the broker's drain thread sleeps on it (shm/doorbell.h).
     * Zero in a region created before this line existed, which reads as
     * "nobody sleeps": such a region needs no new layout version. */
    _Atomic uint32_t up_word;       /* futex word, +1 per wake */
    _Atomic uint32_t up_sleeping;   /* the broker's drain thread sleeps */
    _Atomic uint64_t up_wakes;      /* wake syscalls made by edges */
    uint8_t pad6[RC_CACHELINE - 16];

    /* Runs of topic positions (shm/topic_index.h): a topic whose index
     * entry is lost starts a new run, whose epoch mixes the region's epoch,
     * the topic and the count of entries lost in its bucket here. Written
     * by the writer; edges read it to name the epoch a topic with no entry
     * will start with. */
    _Atomic uint32_t topic_runs[RC_TOPIC_RUN_BUCKETS];

    /* Revocations (shm/revoke.h): users kicked with POST /api/disconnect,
     * so that every edge, one started later or lapped included, refuses
     * their older tokens. The table is written by the broker; revoke_gen
     * moves with every kick, so an edge knows when to look. */
    uint64_t revoke_off;            /* RC_SHM_REVOKE_ENTRIES entries */
    _Atomic uint64_t revoke_gen;
    _Atomic uint64_t revokes;       /* kicks written */
    /* Connections per (user, edge) for max_conns_per_user
     * (shm/user_conns.h), written by the edges. */
    uint64_t users_off;             /* RC_SHM_USER_ENTRIES entries */
    /* Upstream calls the broker has in flight: its part of the machine's
     * hydrate_concurrency (shm/hydrate_cap.h; the edges' parts are in
     * their slots). Zeroed by a broker reattaching after a crash. */
    _Atomic uint64_t broker_hydrate_held;
    uint8_t pad8[RC_CACHELINE - 40];
    uint8_t pad7[RC_SHM_HEADER_SIZE - 8 * RC_CACHELINE - 4 * RC_TOPIC_RUN_BUCKETS];
} rc_shm_header_t;

_Static_assert(sizeof(rc_shm_header_t) == RC_SHM_HEADER_SIZE, "header is one page");
_Static_assert(offsetof(rc_shm_header_t, upring_off) == 1 * RC_CACHELINE, "geometry line");
_Static_assert(offsetof(rc_shm_header_t, topic_key) + 16 == 2 * RC_CACHELINE, "topic key ends the geometry line");
_Static_assert(offsetof(rc_shm_header_t, head) == 2 * RC_CACHELINE, "writer line");
_Static_assert(offsetof(rc_shm_header_t, tail) == 3 * RC_CACHELINE, "publication line");
_Static_assert(offsetof(rc_shm_header_t, wake_word) == 4 * RC_CACHELINE, "wake line");
_Static_assert(offsetof(rc_shm_header_t, wake_word) % 4 == 0, "futex word must be 4-aligned");
_Static_assert(offsetof(rc_shm_header_t, up_word) == 6 * RC_CACHELINE, "upstream doorbell line");
_Static_assert(offsetof(rc_shm_header_t, topic_runs) == 7 * RC_CACHELINE, "topic runs");
_Static_assert(offsetof(rc_shm_header_t, revoke_off) == 7 * RC_CACHELINE + 4 * RC_TOPIC_RUN_BUCKETS, "revocation line");

/* What every layout version keeps in place: enough to recognise a region
 * of any version and to retire it (shm/region.c). Never change this. */
typedef struct rc_shm_header_v1 {
    _Atomic uint64_t magic;
    uint32_t layout;
    uint32_t header_size;
    uint8_t pad0[4 * RC_CACHELINE - 16];
    _Atomic uint32_t wake_word;
    _Atomic uint32_t sleepers;
    _Atomic uint64_t wake_syscalls;
    _Atomic uint32_t retired;
} rc_shm_header_v1_t;
_Static_assert(offsetof(rc_shm_header_t, layout) == offsetof(rc_shm_header_v1_t, layout), "identity line is fixed");
_Static_assert(offsetof(rc_shm_header_t, header_size) == offsetof(rc_shm_header_v1_t, header_size), "identity line is fixed");
_Static_assert(offsetof(rc_shm_header_t, wake_word) == offsetof(rc_shm_header_v1_t, wake_word), "wake line is fixed");
_Static_assert(offsetof(rc_shm_header_t, retired) == offsetof(rc_shm_header_v1_t, retired), "wake line is fixed");

/* Edge slot: written only by the edge that holds it (pid != 0); the broker
 * reads it for /healthz and /metrics. All fields relaxed atomics: they are
 * independent counters, nothing is ordered by them except `pid`. */
typedef struct rc_shm_slot {
    _Atomic uint32_t pid;          /* 0 = free; claimed by CAS */
    _Atomic uint32_t generation;   /* +1 on every claim */
    _Atomic uint64_t started_ns;    /* wall clock: when the holder claimed it */
    _Atomic uint64_t alive_mono_ns; /* monotonic: the holder's loop last ran (at most 1/s) */
    _Atomic uint64_t cursor_pos;   /* edge's read position in the log */
    _Atomic uint64_t cursor_seq;   /* sequence number of the next record it expects */
    _Atomic uint64_t connections;
    _Atomic uint64_t accepted;
    _Atomic uint64_t refused;      /* handshakes refused (any status) */
    _Atomic uint64_t joins;
    _Atomic uint64_t frames_out;   /* log frames handed to the kernel */
    _Atomic uint64_t bytes_out;
    _Atomic uint64_t sends;        /* send operations (a vectored send counts once) */
    _Atomic uint64_t coalesced;    /* frames that went out in a send with others */
    _Atomic uint64_t drops;        /* frames dropped for a closing connection */
    _Atomic uint64_t kicks_slow;   /* closes with 4008 */
    _Atomic uint64_t kicks_lapped; /* closes with 4009 */
    _Atomic uint64_t lapped;       /* times the edge's reader was lapped */
    _Atomic uint64_t lost;         /* records the edge's reader lost to lapping */
    _Atomic uint64_t heartbeats;
    _Atomic uint64_t wakeups;
    _Atomic uint64_t io_backend;   /* RC_SLOT_IO_*: the edge's I/O backend */
    _Atomic uint64_t refused_rate; /* 503 past accept_rate (also in refused) */
    _Atomic uint64_t refused_ip;   /* 503 past max_conns_per_ip (also in refused) */
    _Atomic uint64_t handshake_timeouts; /* closed for not finishing the handshake in time */
    _Atomic uint64_t kicks_memory; /* closed to keep the edge under edge_memory_max */
    _Atomic uint64_t kicks_rate;   /* closed with 1008 past client_msg_rate */
    _Atomic uint64_t proxy_refused;/* a trusted proxy's connection without a valid PROXY header */
    _Atomic uint64_t memory;       /* gauge: bytes connections hold in the edge's buffers */
    _Atomic uint64_t resumes;      /* joins with since */
    _Atomic uint64_t resumes_unrecovered; /* of those, answered recovered: false */
    _Atomic uint64_t history_pages;/* history pages answered */
    _Atomic uint64_t refused_auth; /* 403 at the handshake: token missing or not valid (also in refused) */
    _Atomic uint64_t expiries;     /* closed with 4001: the token expired, or was not refreshed in time */
    _Atomic uint64_t refreshes;    /* in-band refreshes accepted */
    _Atomic uint64_t refreshes_refused; /* in-band refreshes answered error */
    _Atomic uint64_t kicks_revoked;/* closed with 1001: the user was disconnected (POST /api/disconnect) */
    _Atomic uint64_t refused_user; /* 503 past max_conns_per_user (also in refused) */
    _Atomic uint64_t user_table_full; /* admitted uncounted: no free entry in the user table */
    _Atomic uint64_t hydrate_held; /* upstream calls in flight: this edge's part of hydrate_concurrency (shm/hydrate_cap.h) */
    uint8_t pad[RC_SHM_SLOT_SIZE - 8 - 38 * 8];
} rc_shm_slot_t;

_Static_assert(sizeof(rc_shm_slot_t) == RC_SHM_SLOT_SIZE, "slot size");
enum { RC_SLOT_IO_URING = 1, RC_SLOT_IO_EPOLL = 2 }; /* rc_shm_slot_t.io_backend; 0: not chosen yet */
_Static_assert(RC_SHM_SLOT_SIZE % RC_CACHELINE == 0, "slots do not share cache lines");

/* Upstream ring header (one per slot, edge -> broker, single producer and
 * single consumer); data bytes (upring_size) follow it. */
typedef struct rc_upring_hdr {
    _Atomic uint64_t head;     /* consumer (broker): bytes consumed */
    uint8_t pad0[RC_CACHELINE - 8];
    _Atomic uint64_t tail;     /* producer (edge): bytes published */
    _Atomic uint64_t dropped;  /* messages the producer could not fit */
    _Atomic uint64_t pushed;
    uint8_t pad1[RC_CACHELINE - 24];
    uint8_t pad2[2 * RC_CACHELINE];
} rc_upring_hdr_t;
#define RC_UPRING_HDR 256u
_Static_assert(sizeof(rc_upring_hdr_t) == RC_UPRING_HDR, "upring header size");
_Static_assert(offsetof(rc_upring_hdr_t, tail) == RC_CACHELINE, "producer and consumer on their own lines");

/* Topic head index entry: open addressing, linear probing, written only by
 * the writer (shm/topic_index.c says in which order; readers take a
 * consistent snapshot). hash 0 = empty, RC_INDEX_BUSY = being given to
 * another topic. The record at pos is the topic's latest, offset its
 * position in epoch: they outlive the record itself, so a topic idle for
 * a whole ring continues its offsets. */
struct rc_topic_entry {
    _Atomic uint64_t hash;
    _Atomic uint64_t pos;
    _Atomic uint64_t epoch;
    _Atomic uint64_t offset;
};
_Static_assert(sizeof(struct rc_topic_entry) == 32, "index entry size");
#define RC_INDEX_BUSY UINT64_MAX

/* A revoked user: hash of the sub (0 = empty), and the wall-clock second
 * of its latest kick: its tokens issued before it are refused. */
struct rc_revoke_entry {
    _Atomic uint64_t hash;
    _Atomic uint64_t kicked_s;
};
#define RC_SHM_REVOKE_ENTRIES 8192u

/* A user's connections on one edge (shm/user_conns.h): hash of the sub (0 =
 * never used), the owning slot and its generation (0 = given up), and the
 * count. */
struct rc_user_entry {
    _Atomic uint64_t hash;
    _Atomic uint32_t owner;
    _Atomic uint32_t count;
};
_Static_assert(sizeof(struct rc_user_entry) == 16, "user entry size");
#define RC_SHM_USER_ENTRIES 131072u
#define RC_INDEX_PROBES 32  /* linear probes: past them an entry is evicted */

#define RC_REC_PAD 0x1u  /* filler to the end of the ring; skip to the start */

/* A record in the data ring, 8-aligned, followed by the topic bytes and the
 * complete WebSocket frame clients receive. `len` covers all of it plus
 * alignment. seq is atomic because a lapped reader may read it while the
 * writer stores it; every other field is validated by the head check. */
typedef struct rc_rec {
    _Atomic uint64_t seq;
    uint32_t len;
    uint16_t flags;
    uint16_t topic_len;
    uint32_t topic_hash;
    uint32_t frame_len;
    uint64_t ts_ns;
    uint64_t prev_pos;       /* previous record of the same topic (UINT64_MAX: none known) */
    /* Position in the topic (docs/protocol.md, "Positions"): offset 1 is a
     * run's first event, each next one +1; the epoch names the run. */
    uint64_t topic_epoch;
    uint64_t topic_offset;
    /* Skip pointer to an older record of the same run (Myers' skew-binary
     * jumps, shm/topic_walk.h): any offset is reached in O(log n) steps.
     * UINT64_MAX: none. */
    uint64_t jump_pos;
    uint64_t jump_offset;
} rc_rec_t;

_Static_assert(sizeof(rc_rec_t) == 72, "record header size");
_Static_assert(sizeof(rc_rec_t) % 8 == 0, "records stay 8-aligned");

#define RC_REC_ALIGN 8u
/* How far head runs ahead of the writer (shm/log_writer.c claim_until). */
#define RC_HEAD_STEP(cap) ((cap) / 64)
static inline uint32_t rc_rec_size(uint32_t topic_len, uint32_t frame_len)
{
    uint32_t n = (uint32_t)sizeof(rc_rec_t) + topic_len + frame_len;
    return (n + RC_REC_ALIGN - 1) & ~(RC_REC_ALIGN - 1);
}

#endif
