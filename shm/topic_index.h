/* The topic head index in shm: topic -> position of its latest record, so
 * a topic's recent records are found without scanning the log (a record's
 * prev_pos chains back from there). Open addressing with linear probing
 * over rc_topic_entry_t (shm/layout.h); only the writer changes entries,
 * readers look them up.
 *
 * The index is a hint, the log is the truth: a reader trusts an entry only
 * after the record it points at was read intact and names the same topic.
 * An entry whose record was overwritten is dead and may be reused by the
 * writer; a probe window full of live topics counts as full (the record is
 * then written without an index entry, counted in the header's index_full). */
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

/* The index key of a topic whose 64-bit hash is h: never 0, which marks an
 * empty entry. */
static inline uint64_t rc_topic_index_key_of(uint64_t h) { return h ? h : 1; }
static inline uint64_t rc_topic_index_key(const rc_log_t *log, const char *topic, size_t len)
{
    return rc_topic_index_key_of(rc_topic_hash64(log->hdr->topic_key, topic, len));
}

/* Writer: the entry of key, or an empty or dead one to claim for it; NULL
 * if the probe window is full of live topics. *found says whether the entry
 * already holds key. Changes nothing: rc_topic_index_point does. */
rc_topic_entry_t *rc_topic_index_slot(const rc_log_t *log, uint64_t key, int *found);

/* Writer: points e (from rc_topic_index_slot) at the committed record at
 * pos, claiming it for key if it was not found there. */
void rc_topic_index_point(rc_topic_entry_t *e, uint64_t key, int found, uint64_t pos);

/* Reader: the latest record of topic. Returns 1 and fills v (checked intact
 * and of this topic), or 0 if the index knows no live record of it. */
int rc_log_topic_head(const rc_log_t *log, const char *topic, size_t len, rc_log_view_t *v);

#endif
