#include "shm/slots.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "common/clock.h"

static int pid_alive(uint32_t pid)
{
    return pid && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int rc_slot_claim(rc_log_t *log, pid_t pid)
{
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < RC_SHM_NSLOTS; i++) {
            rc_shm_slot_t *s = &log->slots[i];
            uint32_t cur = atomic_load_explicit(&s->pid, memory_order_relaxed);
            /* First pass: slots of dead edges, so an edge restarted after a
             * crash takes its predecessor's slot and the table does not
             * fill up with dead entries (which /healthz reports); second:
             * free slots. */
            if (pass == 0 ? (cur == 0 || pid_alive(cur)) : cur != 0)
                continue;
            /* acq_rel: our claim is ordered before our writes to the slot,
             * and the previous holder's writes before our reset */
            if (!atomic_compare_exchange_strong_explicit(&s->pid, &cur, (uint32_t)pid, memory_order_acq_rel,
                                                         memory_order_relaxed))
                continue;
            atomic_fetch_add_explicit(&s->generation, 1, memory_order_relaxed);
            /* Reset everything after the generation: counters start at zero
             * for the new holder. */
            _Atomic uint64_t *f = &s->started_ns;
            _Atomic uint64_t *end = (_Atomic uint64_t *)((uint8_t *)s + offsetof(rc_shm_slot_t, pad));
            for (; f < end; f++)
                atomic_store_explicit(f, 0, memory_order_relaxed);
            atomic_store_explicit(&s->started_ns, rc_clock_wall_ns(), memory_order_relaxed);
            atomic_store_explicit(&s->alive_mono_ns, rc_clock_mono_ns(), memory_order_relaxed);
            return (int)i;
        }
    }
    return -ENOSPC;
}

void rc_slot_release(rc_log_t *log, int idx, pid_t pid)
{
    if (idx < 0 || (unsigned)idx >= RC_SHM_NSLOTS)
        return;
    uint32_t expect = (uint32_t)pid;
    /* release: our last counter updates are visible before the slot is free */
    atomic_compare_exchange_strong_explicit(&log->slots[idx].pid, &expect, 0, memory_order_release,
                                            memory_order_relaxed);
}

int rc_slot_state(const rc_shm_slot_t *s)
{
    uint32_t pid = atomic_load_explicit(&s->pid, memory_order_acquire);
    if (!pid)
        return 0;
    return pid_alive(pid) ? 1 : -1;
}
