#include "common/signals.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>

int rc_signals_stop_fd(int flags)
{
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &ss, flags);
    return fd < 0 ? -errno : fd;
}
