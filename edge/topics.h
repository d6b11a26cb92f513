/* The edge's topic table: topic name -> the connections subscribed to it.
 * Chained hash table keyed by the topic's SipHash under the region's
 * topic_key (the same hash the broker stores in each record, so fan-out
 * never rehashes; keyed, so clients cannot pick names that share a chain). Subscribe and
 * unsubscribe are O(1): each subscription remembers its index in the topic's
 * subscriber array and removal swaps the last entry into the hole.
 * Owned by the edge's loop thread; nothing here blocks. */
#ifndef RC_EDGE_TOPICS_H
#define RC_EDGE_TOPICS_H

#include <stdint.h>
#include <stddef.h>

struct rc_conn;

typedef struct rc_topic_sub {
    struct rc_conn *conn;
    uint32_t sub_idx;      /* index of this subscription in conn->subs */
    uint32_t replay;       /* 1 + its replay's id while it replays (edge/replay.h), else 0 */
} rc_topic_sub_t;
/* The replay id lives in what was padding: a subscription costs what it did. */
_Static_assert(sizeof(rc_topic_sub_t) == 16, "a subscriber entry is 16 bytes");

typedef struct rc_topic {
    struct rc_topic *next; /* hash chain */
    uint32_t hash;
    uint16_t len;
    uint32_t nsubs, cap;
    rc_topic_sub_t *subs;
    /* The position of the topic's last record the edge's reader passed: a
     * lapped reader compares it with the log's to tell whether the topic
     * lost events (edge/lost.c). */
    uint64_t last_epoch, last_offset;
    uint8_t lapped;        /* lost events in the reader's last lap */
    uint8_t reserved;      /* ringcast:session: the edge's own channel, never fed from the log */
    char name[];           /* len bytes + NUL */
} rc_topic_t;

typedef struct rc_topics {
    uint8_t key[16];       /* the region's topic_key */
    rc_topic_t **buckets;
    size_t nbuckets;       /* power of two */
    size_t count;
} rc_topics_t;

/* key: the region's topic_key (RC_TOPIC_KEY_BYTES), copied. */
void rc_topics_init(rc_topics_t *t, const uint8_t *key);
void rc_topics_free(rc_topics_t *t);

rc_topic_t *rc_topics_find(const rc_topics_t *t, const char *name, size_t len, uint32_t hash);

/* Adds conn (its subscription number sub_idx) to topic name, creating the
 * topic. Returns the topic and the subscriber index in *pos. */
rc_topic_t *rc_topics_subscribe(rc_topics_t *t, const char *name, size_t len, struct rc_conn *conn,
                                uint32_t sub_idx, uint32_t *pos);

/* Removes subscriber number pos of topic; *moved receives the subscriber
 * that took its place (conn NULL if none), whose index is now pos. Frees the
 * topic when it has no subscribers left. */
void rc_topics_unsubscribe(rc_topics_t *t, rc_topic_t *topic, uint32_t pos, rc_topic_sub_t *moved);

#endif
