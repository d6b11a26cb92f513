/* seccomp_exec: runs a program under a seccomp filter that refuses the
 * io_uring system calls with EPERM, as Docker's and containerd's default
 * profiles do since 2023, for the tests of io_backend.
 *
 *   seccomp_exec PROGRAM [ARGS...]
 *
 * Everything else is allowed. Exit 127 if the filter or the exec fails. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: seccomp_exec PROGRAM [ARGS...]\n");
        return 127;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        fprintf(stderr, "seccomp_exec: seccomp_init failed\n");
        return 127;
    }
    const char *calls[] = {"io_uring_setup", "io_uring_enter", "io_uring_register"};
    for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        int nr = seccomp_syscall_resolve_name(calls[i]);
        int rc = nr == __NR_SCMP_ERROR ? -EINVAL : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        if (rc < 0) {
            fprintf(stderr, "seccomp_exec: cannot refuse %s: %s\n", calls[i], strerror(-rc));
            return 127;
        }
    }
    int rc = seccomp_load(ctx); /* sets no_new_privs first, so no privilege is needed */
    seccomp_release(ctx);
    if (rc < 0) {
        fprintf(stderr, "seccomp_exec: seccomp_load failed: %s\n", strerror(-rc));
        return 127;
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "seccomp_exec: cannot run %s: %s\n", argv[1], strerror(errno));
    return 127;
}
