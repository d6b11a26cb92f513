/* Stop signals as a descriptor: event loops read SIGTERM and SIGINT from a
 * signalfd instead of handling them asynchronously. */
#ifndef RC_COMMON_SIGNALS_H
#define RC_COMMON_SIGNALS_H

/* Blocks SIGTERM and SIGINT for the calling thread (call it before any
 * other thread starts, which then inherits the mask), ignores SIGPIPE (a
 * peer that went away is an error return, not a death), and returns a
 * signalfd for the two stop signals, opened with flags (SFD_CLOEXEC,
 * SFD_NONBLOCK), or a negative errno. */
int rc_signals_stop_fd(int flags);

#endif
