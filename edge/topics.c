#include "edge/topics.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "shm/topic_index.h"

void rc_topics_init(rc_topics_t *t, const uint8_t *key)
{
    memcpy(t->key, key, sizeof(t->key));
    t->nbuckets = 1024;
    t->buckets = rc_xcalloc(t->nbuckets, sizeof(*t->buckets));
    t->count = 0;
}

void rc_topics_free(rc_topics_t *t)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        rc_topic_t *p = t->buckets[i];
        while (p) {
            rc_topic_t *n = p->next;
            free(p->subs);
            free(p);
            p = n;
        }
    }
    free(t->buckets);
    memset(t, 0, sizeof(*t));
}

rc_topic_t *rc_topics_find(const rc_topics_t *t, const char *name, size_t len, uint32_t hash)
{
    for (rc_topic_t *p = t->buckets[hash & (t->nbuckets - 1)]; p; p = p->next)
        if (p->hash == hash && p->len == len && memcmp(p->name, name, len) == 0)
            return p;
    return NULL;
}

static void grow(rc_topics_t *t)
{
    size_t nb = t->nbuckets * 2;
    rc_topic_t **b = rc_xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < t->nbuckets; i++) {
        rc_topic_t *p = t->buckets[i];
        while (p) {
            rc_topic_t *n = p->next;
            p->next = b[p->hash & (nb - 1)];
            b[p->hash & (nb - 1)] = p;
            p = n;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

rc_topic_t *rc_topics_subscribe(rc_topics_t *t, const char *name, size_t len, struct rc_conn *conn,
                                uint32_t sub_idx, uint32_t *pos)
{
    uint32_t hash = rc_topic_hash(t->key, name, len);
    rc_topic_t *p = rc_topics_find(t, name, len, hash);
    if (!p) {
        if (t->count >= t->nbuckets)
            grow(t);
        p = rc_xcalloc(1, sizeof(*p) + len + 1);
        p->hash = hash;
        p->len = (uint16_t)len;
        memcpy(p->name, name, len);
        size_t b = hash & (t->nbuckets - 1);
        p->next = t->buckets[b];
        t->buckets[b] = p;
        t->count++;
    }
    if (p->nsubs == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 4;
        p->subs = rc_xrealloc(p->subs, p->cap * sizeof(*p->subs));
    }
    p->subs[p->nsubs] = (rc_topic_sub_t){conn, sub_idx, 0};
    *pos = p->nsubs++;
    return p;
}

static void remove_topic(rc_topics_t *t, rc_topic_t *topic)
{
    rc_topic_t **pp = &t->buckets[topic->hash & (t->nbuckets - 1)];
    while (*pp != topic)
        pp = &(*pp)->next;
    *pp = topic->next;
    t->count--;
    free(topic->subs);
    free(topic);
}

void rc_topics_unsubscribe(rc_topics_t *t, rc_topic_t *topic, uint32_t pos, rc_topic_sub_t *moved)
{
    uint32_t last = --topic->nsubs;
    moved->conn = NULL;
    if (pos != last) {
        topic->subs[pos] = topic->subs[last];
        *moved = topic->subs[pos];
    }
    if (topic->nsubs == 0)
        remove_topic(t, topic);
    else if (topic->cap > 64 && topic->nsubs < topic->cap / 4) {
        topic->cap /= 2;
        topic->subs = rc_xrealloc(topic->subs, topic->cap * sizeof(*topic->subs));
    }
}
