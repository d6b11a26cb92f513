#include "shm/hydrate_cap.h"

#include <errno.h>

#include "common/clock.h"
#include "shm/slots.h"

_Atomic uint64_t *rc_hydrate_cap_mine(rc_log_t *log, int slot)
{
    return slot < 0 ? &log->hdr->broker_hydrate_held : &log->slots[slot].hydrate_held;
}

uint64_t rc_hydrate_cap_in_use(const rc_log_t *log)
{
    uint64_t now = rc_clock_mono_ns();
    uint64_t n = atomic_load_explicit(&log->hdr->broker_hydrate_held, memory_order_seq_cst);
    for (unsigned i = 0; i < RC_SHM_NSLOTS; i++) {
        const rc_shm_slot_t *s = &log->slots[i];
        if (rc_slot_running(s, now))
            n += atomic_load_explicit(&s->hydrate_held, memory_order_seq_cst);
    }
    return n;
}

int rc_hydrate_cap_take(rc_log_t *log, _Atomic uint64_t *mine, uint32_t cap)
{
    atomic_fetch_add_explicit(mine, 1, memory_order_seq_cst);
    if (rc_hydrate_cap_in_use(log) <= cap)
        return 0;
    atomic_fetch_sub_explicit(mine, 1, memory_order_seq_cst);
    return -EAGAIN;
}

void rc_hydrate_cap_give(_Atomic uint64_t *mine)
{
    atomic_fetch_sub_explicit(mine, 1, memory_order_seq_cst);
}
