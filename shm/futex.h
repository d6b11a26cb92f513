/* futex(2) on a 32-bit word in the shared region: the one place the log's
 * sleepers (shm/wake.h) and the upstream doorbell (shm/doorbell.h) make the
 * syscall. The words are shared between processes, so the calls are never
 * FUTEX_PRIVATE. */
#ifndef RC_SHM_FUTEX_H
#define RC_SHM_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

/* Blocks while *word == expect, until woken or timeout_ms passed (-1: no
 * timeout). Returns 0 (woken, the word had changed already, or a signal
 * interrupted the wait: callers look again either way) or -ETIMEDOUT. */
int rc_futex_wait(_Atomic uint32_t *word, uint32_t expect, int timeout_ms);

/* Wakes every thread and process waiting on word. */
void rc_futex_wake_all(_Atomic uint32_t *word);

#endif
