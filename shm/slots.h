/* The edge slot table: each edge claims one slot and is its only writer;
 * the broker reads them all. A slot whose pid is gone may be taken over. */
#ifndef RC_SHM_SLOTS_H
#define RC_SHM_SLOTS_H

#include <sys/types.h>
#include "shm/log.h"

/* Claims a free slot, or one whose holder is dead, for pid. Zeroes its
 * counters, bumps its generation. Returns the slot index or -ENOSPC. */
int rc_slot_claim(rc_log_t *log, pid_t pid);

/* Frees slot idx if pid still holds it. */
void rc_slot_release(rc_log_t *log, int idx, pid_t pid);

/* 1 if the slot is held by a live process, 0 if free, -1 if held by a dead
 * one (the broker reports those). */
int rc_slot_state(const rc_shm_slot_t *s);

/* Whether a slot's holder is running now: held, and its loop ran within
 * the last 10 s (alive_mono_ns; monotonic now_ns). What a dead or stopped
 * edge held in the region (its users, its upstream calls) stops counting
 * without anyone cleaning up. */
#define RC_SLOT_STALE_NS (10 * 1000000000ull)
static inline int rc_slot_running(const rc_shm_slot_t *s, uint64_t now_ns)
{
    if (!atomic_load_explicit(&s->pid, memory_order_relaxed))
        return 0;
    return now_ns < atomic_load_explicit(&s->alive_mono_ns, memory_order_relaxed) + RC_SLOT_STALE_NS;
}

/* Records a reader is behind the log: next_seq (the seq the next record
 * will get) minus the seq the reader expects next; 0 while it expects none
 * (it just started or jumped to the tail) or is not behind. The lag of
 * /healthz, /metrics and an edge's own /healthz. */
static inline uint64_t rc_slot_lag(uint64_t next_seq, uint64_t cursor_seq)
{
    return cursor_seq && cursor_seq < next_seq ? next_seq - cursor_seq : 0;
}

/* Relaxed counter helpers for the slot's owner: independent statistics,
 * nothing is ordered by them. */
#define RC_SLOT_ADD(slot, field, n) atomic_fetch_add_explicit(&(slot)->field, (n), memory_order_relaxed)
#define RC_SLOT_SUB(slot, field, n) atomic_fetch_sub_explicit(&(slot)->field, (n), memory_order_relaxed)
#define RC_SLOT_SET(slot, field, v) atomic_store_explicit(&(slot)->field, (v), memory_order_relaxed)
#define RC_SLOT_GET(slot, field) atomic_load_explicit(&(slot)->field, memory_order_relaxed)

#endif
