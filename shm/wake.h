/* Sleeping readers and the writer that wakes them, without spinning and
 * without a wake syscall per event.
 *
 * Choice: readers wait on a 32-bit futex word in the header (wake_word).
 * The edge waits with an IORING_OP_FUTEX_WAIT SQE filled by hand (liburing
 * 2.3 has no helper; the kernel has the opcode since 6.7), so its one
 * io_uring loop sleeps on sockets and the log at once: no watcher thread, no
 * eventfd hop, one wake-up path. Threads (tests, tools) block in
 * futex(FUTEX_WAIT) on the same word.
 *
 * Protocol (both sides use seq_cst fences, so of "reader sets sleepers then
 * re-reads tail" and "writer publishes tail then reads sleepers" at least
 * one sees the other):
 *   reader: expect = wake_word; sleepers = 1; fence; if tail moved: don't sleep;
 *           else wait while wake_word == expect.
 *   writer: tail = new (release); fence; if exchange(sleepers, 0):
 *           wake_word++, FUTEX_WAKE(all).
 * A busy reader is not asleep, so a busy system makes no wake syscall per
 * event: only the first commit after some reader caught up pays one. */
#ifndef RC_SHM_WAKE_H
#define RC_SHM_WAKE_H

#include <stdint.h>
#include "shm/log.h"

/* Reader: announces it is about to sleep at r->pos. Returns 0 and the value
 * to wait on in *expect, -EAGAIN if records arrived meanwhile (read them,
 * don't sleep), or -EPIPE if the region was retired (rc_wake_retire): no
 * record will ever come; re-attach to the new region. */
int rc_wake_prepare(rc_log_t *log, const rc_log_reader_t *r, uint32_t *expect);

/* Reader (threads): blocks until woken, the word changed, or timeout_ms
 * passed (-1: no timeout). Returns 0 or -ETIMEDOUT. */
int rc_wake_wait(rc_log_t *log, uint32_t expect, int timeout_ms);

/* Writer: after publishing, wakes sleepers if any said they sleep.
 * Returns 1 if it made a wake syscall, else 0. */
int rc_wake_readers(rc_log_t *log);

/* A new writer replacing this region (other geometry, --recreate_log):
 * marks it retired and wakes every reader, asleep or about to sleep. A
 * reader checks rc_log_retired after reading the value it will wait on:
 * the retired store precedes the word's increment, so a reader that waits
 * on the new value has seen the flag. */
void rc_wake_retire(rc_log_t *log);

/* The same for a region of any layout version, through the lines every
 * version keeps in place (shm/layout.h). */
void rc_wake_retire_any(rc_shm_header_v1_t *h);

#endif
