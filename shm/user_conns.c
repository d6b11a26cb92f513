#include "shm/user_conns.h"

#include <errno.h>

#include "common/clock.h"
#include "shm/slots.h"
#include "shm/topic_index.h"

/* An entry being claimed (never a real owner: slot 63 of generation
 * 2^26-1 is skipped by owner_of). If its claimer dies in the few stores
 * between, the entry stays out of use; RC_USER_PROBES leaves room. */
#define RC_USER_BUSY UINT32_MAX

static uint64_t key_of(const rc_log_t *log, const char *sub, size_t len)
{
    return rc_domain_key(log, "usr:", sub, len);
}

static uint32_t owner_of(const rc_log_t *log, int slot)
{
    uint32_t gen = atomic_load_explicit(&log->slots[slot].generation, memory_order_relaxed);
    uint32_t o = gen << 6 | (uint32_t)slot;
    return o == RC_USER_BUSY ? o - 64 : o;
}

/* Whether an entry's owner is a slot's current holder, still running. */
static int owner_live(const rc_log_t *log, uint32_t owner, uint64_t now_ns)
{
    if (!owner)
        return 0;
    return owner_of(log, (int)(owner & 63)) == owner && rc_slot_running(&log->slots[owner & 63], now_ns);
}

static struct rc_user_entry *entry_at(const rc_log_t *log, uint64_t key, unsigned i)
{
    return &log->users[(key + i) & (RC_SHM_USER_ENTRIES - 1)];
}

/* Whether an entry with this owner may be claimed: nobody running holds
 * it, and nobody is claiming it now. */
static int claimable(const rc_log_t *log, uint32_t owner, uint64_t now_ns)
{
    return owner != RC_USER_BUSY && !owner_live(log, owner, now_ns);
}

/* This edge's entry for key, claimed if it has none. NULL: none in reach. */
static struct rc_user_entry *own_entry(rc_log_t *log, uint32_t me, uint64_t key, uint64_t now_ns)
{
    for (unsigned tries = 0; tries < RC_USER_PROBES; tries++) {
        struct rc_user_entry *free_e = NULL;
        uint32_t free_owner = 0;
        for (unsigned i = 0; i < RC_USER_PROBES; i++) {
            struct rc_user_entry *e = entry_at(log, key, i);
            uint64_t h = atomic_load_explicit(&e->hash, memory_order_acquire);
            uint32_t o = atomic_load_explicit(&e->owner, memory_order_acquire);
            if (h == key && o == me)
                return e;
            if (!free_e && claimable(log, o, now_ns))
                free_e = e, free_owner = o;
            if (h == 0)
                break; /* the chain ends here: nothing of ours past it */
        }
        if (!free_e)
            return NULL;
        /* Claimed through BUSY: another edge claiming the same entry fails
         * its CAS and looks again, and no reader counts the entry until
         * its count is zero and its hash ours. */
        if (atomic_compare_exchange_strong_explicit(&free_e->owner, &free_owner, RC_USER_BUSY, memory_order_acq_rel,
                                                    memory_order_relaxed)) {
            atomic_store_explicit(&free_e->count, 0, memory_order_relaxed);
            atomic_store_explicit(&free_e->hash, key, memory_order_relaxed);
            atomic_store_explicit(&free_e->owner, me, memory_order_release);
            return free_e;
        }
        /* lost the race to another edge: look again */
    }
    return NULL;
}

uint32_t rc_user_conns_total(const rc_log_t *log, const char *sub, size_t len)
{
    uint64_t key = key_of(log, sub, len), now = rc_clock_mono_ns();
    uint32_t total = 0;
    for (unsigned i = 0; i < RC_USER_PROBES; i++) {
        const struct rc_user_entry *e = entry_at(log, key, i);
        uint64_t h = atomic_load_explicit(&e->hash, memory_order_seq_cst);
        if (h == 0)
            break;
        uint32_t o = atomic_load_explicit(&e->owner, memory_order_seq_cst);
        if (h == key && owner_live(log, o, now))
            total += atomic_load_explicit(&e->count, memory_order_seq_cst);
    }
    return total;
}

int rc_user_conns_enter(rc_log_t *log, int slot, const char *sub, size_t len, uint32_t max)
{
    uint64_t key = key_of(log, sub, len);
    struct rc_user_entry *e = own_entry(log, owner_of(log, slot), key, rc_clock_mono_ns());
    if (!e)
        return -ENOSPC;
    /* seq_cst, with the loads of the total: of two edges adding the same
     * user's connection at once, each sees the other's (Dekker) */
    atomic_fetch_add_explicit(&e->count, 1, memory_order_seq_cst);
    if (rc_user_conns_total(log, sub, len) <= max)
        return 0;
    atomic_fetch_sub_explicit(&e->count, 1, memory_order_seq_cst);
    return -EDQUOT;
}

void rc_user_conns_leave(rc_log_t *log, int slot, const char *sub, size_t len)
{
    uint64_t key = key_of(log, sub, len);
    uint32_t me = owner_of(log, slot);
    for (unsigned i = 0; i < RC_USER_PROBES; i++) {
        struct rc_user_entry *e = entry_at(log, key, i);
        if (atomic_load_explicit(&e->hash, memory_order_relaxed) == key &&
            atomic_load_explicit(&e->owner, memory_order_relaxed) == me) {
            /* the last one gives the entry up, so it can serve another user */
            if (atomic_fetch_sub_explicit(&e->count, 1, memory_order_seq_cst) == 1)
                atomic_store_explicit(&e->owner, 0, memory_order_release);
            return;
        }
    }
}
