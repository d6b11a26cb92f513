/* The topic head index in shm: topic -> position of its latest record, so
 * a topic's recent records are found without scanning the log (a record's
 * prev_pos chains back from there). Open addressing with linear probing
 * over rc_topic_entry_t (shm/layout.h); only the writer changes entries,
 * readers look them up.
 *
 * The index is a hint, the log is the truth: a reader trusts an entry only
 * after the record it points at was read intact and names the same topic.
 * An entry also holds its topic's epoch and last offset, which outlive the
 * record: a topic idle for a whole ring continues its offsets. The index is
 * never full for good: a new topic takes an empty entry, or one whose
 * record was overwritten (dead: counted in index_reuses), or, when the
 * probe window holds only live topics, the one whose latest record is
 * oldest (counted in index_evictions). A topic that lost its entry starts a
 * new run when it returns: offset 1 in a new epoch (rc_topic_run_epoch),
 * so an old (epoch, offset) is never mistaken for a new one. */
#ifndef RC_SHM_TOPIC_INDEX_H
#define RC_SHM_TOPIC_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "shm/log.h"

#define RC_TOPIC_KEY_BYTES 16

/* SipHash-2-4 (libsodium's crypto_shorthash) of a topic name under key, the
 * region's random topic_key (shm/layout.h). Topic names come from producers
 * and clients; keyed, they cannot be chosen to collide. The low 32 bits
 * (rc_topic_hash) are stored in records and key the edges' topic tables. */
uint64_t rc_topic_hash64(const uint8_t key[RC_TOPIC_KEY_BYTES], const char *topic, size_t len);
static inline uint32_t rc_topic_hash(const uint8_t key[RC_TOPIC_KEY_BYTES], const char *topic, size_t len)
{
    return (uint32_t)rc_topic_hash64(key, topic, len);
}

/* The index key of a topic whose 64-bit hash is h: never 0 (an empty
 * entry) nor RC_INDEX_BUSY. */
static inline uint64_t rc_topic_index_key_of(uint64_t h)
{
    return h == 0 ? 1 : h == RC_INDEX_BUSY ? RC_INDEX_BUSY - 1 : h;
}
static inline uint64_t rc_topic_index_key(const rc_log_t *log, const char *topic, size_t len)
{
    return rc_topic_index_key_of(rc_topic_hash64(log->hdr->topic_key, topic, len));
}

/* A never-zero keyed hash of a name in a domain of its own (dom: four
 * bytes, such as "sub:"), so that a user and a topic of the same name do
 * not share a value. Names past 255 bytes are hashed on their first 255. */
uint64_t rc_domain_key(const rc_log_t *log, const char dom[4], const char *name, size_t len);

enum { RC_INDEX_FOUND = 1, RC_INDEX_EMPTY, RC_INDEX_REUSED, RC_INDEX_EVICTED };

/* Writer: the entry of key (*kind FOUND), or the one to claim for it: an
 * empty, a dead or, failing both, the oldest live entry of the probe
 * window. Changes nothing: rc_topic_index_point does. */
rc_topic_entry_t *rc_topic_index_slot(const rc_log_t *log, uint64_t key, int *kind);

/* Writer: points e (from rc_topic_index_slot) at the record at pos, the
 * topic's offset in epoch, claiming it for key unless it was found there
 * (then the topic that held it loses it: counted, its runs bucket moves). */
void rc_topic_index_point(rc_log_t *log, rc_topic_entry_t *e, uint64_t key, int kind, uint64_t pos,
                          uint64_t epoch, uint64_t offset);

/* The epoch a new run of key's topic gets: a mix of the region's epoch,
 * the key and how many entries its topic_runs bucket lost. An edge names it
 * in the join reply of a topic with no entry, before its first record. */
uint64_t rc_topic_run_epoch(const rc_log_t *log, uint64_t key);

/* Reader: a consistent snapshot of key's entry. */
typedef struct rc_topic_snapshot {
    uint64_t pos;    /* its latest record (may be overwritten, or being published) */
    uint64_t epoch;
    uint64_t offset; /* that record's offset */
} rc_topic_snapshot_t;
/* Returns 1 and *s, or 0 if the index holds no entry for key. */
int rc_topic_index_lookup(const rc_log_t *log, uint64_t key, rc_topic_snapshot_t *s);

/* Reader: the latest record of topic. Returns 1 and fills v (checked intact
 * and of this topic), or 0 if the index knows no live record of it. */
int rc_log_topic_head(const rc_log_t *log, const char *topic, size_t len, rc_log_view_t *v);

#endif
