/* shm/region.c: creating, re-attaching, refusing and replacing regions. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>
#include <stdatomic.h>

#include "shm/log.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

RC_TEST_REGION_FIXTURE("region")

START_TEST(region_is_created_mode_0600)
{
    rc_log_t w;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    char path[128];
    snprintf(path, sizeof(path), "/dev/shm/ringcast-%s", inst);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    rc_log_close(&w);
}
END_TEST

START_TEST(restarted_writer_reattaches_and_continues_the_sequence)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    uint64_t epoch = w.hdr->epoch;
    rc_test_put(&w, "t", "a");
    rc_test_put(&w, "t", "b");
    /* A half-written record (reserved, never committed) is discarded. */
    rc_log_reserve(&w, "t", 1, 10, 0);
    rc_log_close(&w);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&r, &rd);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_REATTACHED);
    ck_assert_uint_eq(w.hdr->epoch, epoch);
    ck_assert_uint_eq(rc_test_put(&w, "t", "c"), 3);
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    ck_assert_uint_eq(v.seq, 3);
    ck_assert_mem_eq(v.frame, "c", 1);
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

/* A writer that died mid-record had moved head over old records and begun
 * overwriting them. The next writer must keep that head: moving it back to
 * tail would let a reader accept the half-overwritten bytes as intact. */
START_TEST(restarted_writer_keeps_the_head_the_dead_writer_claimed)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    char big[1001];
    memset(big, 'x', 1000);
    big[1000] = 0;
    uint64_t p0 = atomic_load(&w.hdr->tail);
    rc_test_put(&w, "t", big);
    uint32_t size0 = (uint32_t)(atomic_load(&w.hdr->tail) - p0);
    while (atomic_load(&w.hdr->tail) + 8192 < p0 + w.cap)
        rc_test_put(&w, "t", big);
    /* The dead writer's last record: reserved over the first one, partly
     * written, never committed. */
    uint8_t *frame = rc_log_reserve(&w, "t", 1, 12000, 0);
    ck_assert_ptr_nonnull(frame);
    memset(frame, 0xEE, 12000);
    uint64_t head = atomic_load(&w.hdr->head);
    ck_assert_uint_gt(head, p0 + w.cap);
    rc_log_close(&w);

    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_REATTACHED);
    ck_assert_uint_ge(atomic_load(&w.hdr->head), head);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    ck_assert_int_eq(rc_log_intact(&r, p0, size0), 0);
    /* The new writer goes on from tail, and what it writes reads back. */
    ck_assert_uint_gt(rc_test_put(&w, "t", "after"), 0);
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&r, &rd);
    ck_assert_uint_gt(rc_test_put(&w, "t", "next"), 0);
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    ck_assert_mem_eq(v.frame, "next", 4);
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

/* One writer per region: a second writer on a live instance is refused
 * before it changes a byte of the header. */
START_TEST(second_writer_is_refused_and_changes_nothing)
{
    rc_log_t w, w2;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    rc_test_put(&w, "t", "a");
    uint64_t restarts = atomic_load(&w.hdr->writer_restarts), next = atomic_load(&w.hdr->next_seq);
    uint64_t head = atomic_load(&w.hdr->head), tail = atomic_load(&w.hdr->tail);
    ck_assert_int_eq(rc_log_open_writer(&w2, inst, RC_TEST_GEO(65536), 0), -EBUSY);
    /* not even with --recreate_log, nor with another geometry */
    ck_assert_int_eq(rc_log_open_writer(&w2, inst, RC_TEST_GEO(131072), 1), -EBUSY);
    ck_assert_uint_eq(atomic_load(&w.hdr->writer_restarts), restarts);
    ck_assert_uint_eq(atomic_load(&w.hdr->next_seq), next);
    ck_assert_uint_eq(atomic_load(&w.hdr->head), head);
    ck_assert_uint_eq(atomic_load(&w.hdr->tail), tail);
    ck_assert_uint_eq(rc_test_put(&w, "t", "b"), 2); /* the live writer goes on */
    /* readers never take the lock */
    rc_log_t r;
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_log_close(&r);
    /* once the writer is gone, the next one re-attaches */
    rc_log_close(&w);
    ck_assert_int_eq(rc_log_open_writer(&w2, inst, RC_TEST_GEO(65536), 0), RC_LOG_REATTACHED);
    ck_assert_uint_eq(rc_test_put(&w2, "t", "c"), 3);
    rc_log_close(&w2);
}
END_TEST

/* A region someone else planted in /dev/shm: another mode, a symlink or
 * another owner is refused by writers and readers alike. */
START_TEST(planted_region_is_refused)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    rc_log_close(&w);
    char path[128], real[160];
    snprintf(path, sizeof(path), "/dev/shm/ringcast-%s", inst);
    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), -EPERM);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 1), -EPERM);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), -EPERM);
    ck_assert_int_eq(access(path, F_OK), 0); /* refused, not removed */
    ck_assert_int_eq(chmod(path, 0600), 0);
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), -EPERM);
        ck_assert_int_eq(rc_log_open_reader(&r, inst), -EPERM);
        ck_assert_int_eq(chown(path, 0, 0), 0);
    }
    /* a symlink to a region that is ours is refused as well */
    snprintf(real, sizeof(real), "%s-real", path);
    ck_assert_int_eq(rename(path, real), 0);
    ck_assert_int_eq(symlink(real, path), 0);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), -ELOOP);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), -ELOOP);
    unlink(path);
    ck_assert_int_eq(rename(real, path), 0);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_REATTACHED);
    rc_log_close(&w);
}
END_TEST

START_TEST(mismatched_region_is_refused_unless_recreate)
{
    rc_log_t w;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    rc_log_close(&w);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(131072), 0), -EEXIST);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(131072), 1), RC_LOG_CREATED);
    ck_assert_uint_eq(w.cap, 131072);
    rc_log_close(&w);
    /* garbage in the region: refused, never reused */
    char path[128];
    snprintf(path, sizeof(path), "/dev/shm/ringcast-%s", inst);
    FILE *f = fopen(path, "r+");
    ck_assert_ptr_nonnull(f);
    fputs("garbage!", f);
    fclose(f);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(131072), 0), -EEXIST);
    rc_log_t r;
    ck_assert_int_eq(rc_log_open_reader(&r, inst), -EPROTO);
}
END_TEST

START_TEST(reader_of_missing_region_gets_enoent)
{
    rc_log_t r;
    ck_assert_int_eq(rc_log_open_reader(&r, inst), -ENOENT);
}
END_TEST

START_TEST(bad_instance_names_are_refused)
{
    rc_log_t w;
    ck_assert_int_eq(rc_log_open_writer(&w, "a/b", RC_TEST_GEO(65536), 0), -EINVAL);
    ck_assert_int_eq(rc_log_open_writer(&w, "", RC_TEST_GEO(65536), 0), -EINVAL);
    char longest[82];
    memset(longest, 'a', 81);
    longest[81] = 0; /* 81 bytes: one more than the supervisor allows */
    ck_assert_int_eq(rc_log_open_writer(&w, longest, RC_TEST_GEO(65536), 0), -EINVAL);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65537), 0), -EINVAL);
}
END_TEST

START_TEST(writer_killed_between_commit_stores_resumes_without_gap_or_repeat)
{
    rc_log_t w;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    rc_test_put(&w, "t", "a");
    rc_test_put(&w, "t", "b");
    /* died after publishing tail but before storing next_seq */
    atomic_store(&w.hdr->next_seq, 2);
    rc_log_close(&w);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_REATTACHED);
    ck_assert_uint_eq(rc_log_next_seq(&w), 3);
    /* died after storing last_pos for seq 3 but before publishing tail */
    rc_log_reserve(&w, "t", 1, 1, 0);
    atomic_store(&w.hdr->last_pos, w.res_pos);
    rc_log_close(&w);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_REATTACHED);
    ck_assert_uint_eq(rc_log_next_seq(&w), 3);
    ck_assert_uint_eq(rc_test_put(&w, "t", "c"), 3);
    rc_log_close(&w);
}
END_TEST

/* Runs open_writer with stderr captured into msg. */
static int open_writer_quoting(rc_log_t *log, int recreate, char *msg, size_t cap)
{
    char path[] = "/tmp/rc-unit-stderr-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    int rc = rc_log_open_writer(log, inst, RC_TEST_GEO(65536), recreate);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, msg, cap - 1, 0);
    msg[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

START_TEST(another_layout_version_is_refused_by_name_and_retired_with_recreate)
{
    rc_log_t old, w;
    ck_assert_int_eq(rc_log_open_writer(&old, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    old.hdr->layout = RC_SHM_LAYOUT - 1; /* as a broker of the previous version made it */
    /* That broker is gone (its lock with it); the test keeps its mapping. */
    close(old.lock_fd);
    old.lock_fd = 0;
    uint32_t layout = 0;
    ck_assert_int_eq(rc_log_peek_layout(inst, &layout), 0);
    ck_assert_uint_eq(layout, RC_SHM_LAYOUT - 1);
    rc_log_t r;
    ck_assert_int_eq(rc_log_open_reader(&r, inst), -EPROTO); /* edges refuse it too */
    char msg[1024];
    ck_assert_int_eq(open_writer_quoting(&w, 0, msg, sizeof(msg)), -EEXIST);
    char old_v[32], new_v[32];
    snprintf(old_v, sizeof(old_v), "layout version %u", RC_SHM_LAYOUT - 1);
    snprintf(new_v, sizeof(new_v), "layout version %u", RC_SHM_LAYOUT);
    ck_assert_msg(strstr(msg, old_v) && strstr(msg, new_v), "message: %s", msg);
    ck_assert_msg(strstr(msg, "--recreate_log 1"), "message: %s", msg);
    ck_assert_int_eq(atomic_load(&old.hdr->retired), 0);
    uint32_t word = atomic_load(&old.hdr->wake_word);
    ck_assert_int_eq(open_writer_quoting(&w, 1, msg, sizeof(msg)), RC_LOG_CREATED);
    /* the old region's readers (edges of the old version) are told to move */
    ck_assert_int_eq(atomic_load(&old.hdr->retired), 1);
    ck_assert_uint_ne(atomic_load(&old.hdr->wake_word), word);
    ck_assert_int_eq(atomic_load(&w.hdr->retired), 0);
    ck_assert_int_eq(rc_log_peek_layout(inst, &layout), 0);
    ck_assert_uint_eq(layout, RC_SHM_LAYOUT);
    ck_assert_uint_eq(rc_log_next_seq(&w), 1);
    rc_log_close(&w);
    rc_log_close(&old);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("region", &tc, setup, teardown);
    tcase_add_test(tc, region_is_created_mode_0600);
    tcase_add_test(tc, restarted_writer_reattaches_and_continues_the_sequence);
    tcase_add_test(tc, restarted_writer_keeps_the_head_the_dead_writer_claimed);
    tcase_add_test(tc, second_writer_is_refused_and_changes_nothing);
    tcase_add_test(tc, planted_region_is_refused);
    tcase_add_test(tc, mismatched_region_is_refused_unless_recreate);
    tcase_add_test(tc, reader_of_missing_region_gets_enoent);
    tcase_add_test(tc, bad_instance_names_are_refused);
    tcase_add_test(tc, writer_killed_between_commit_stores_resumes_without_gap_or_repeat);
    tcase_add_test(tc, another_layout_version_is_refused_by_name_and_retired_with_recreate);
    return rc_test_run(s);
}
