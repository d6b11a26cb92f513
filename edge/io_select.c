/* Which I/O backend an edge runs on (io_backend = auto|uring|epoll). */
#include "edge/edge.h"

#include <errno.h>
#include <string.h>

#include "common/textlog.h"
#include "shm/slots.h"

static int use(rc_edge_t *e, const rc_io_ops_t *io, char *why, size_t cap)
{
    int rc = io->init(e, why, cap);
    if (rc == 0) {
        e->io = io;
        RC_SLOT_SET(e->slot, io_backend, io == &rc_io_uring_ops ? RC_SLOT_IO_URING : RC_SLOT_IO_EPOLL);
    }
    return rc;
}

int rc_io_select(rc_edge_t *e, const char *io_backend)
{
    char why[320] = "";
    int rc;
    if (strcmp(io_backend, "uring") == 0) {
        rc = use(e, &rc_io_uring_ops, why, sizeof(why));
        if (rc < 0)
            rc_textlog("fatal", "msg=\"io_backend=uring but io_uring cannot be used (io_backend=auto would run on "
                                "epoll)\" why=\"%s\"", why);
        return rc;
    }
    if (strcmp(io_backend, "epoll") == 0) {
        rc = use(e, &rc_io_epoll_ops, why, sizeof(why));
        if (rc < 0)
            rc_textlog("fatal", "msg=\"io_backend=epoll cannot start\" why=\"%s\"", why);
        return rc;
    }
    if (strcmp(io_backend, "auto") != 0) {
        rc_textlog("fatal", "msg=\"io_backend must be auto, uring or epoll\" io_backend=\"%s\"", io_backend);
        return -EINVAL;
    }
    if (use(e, &rc_io_uring_ops, why, sizeof(why)) == 0)
        return 0;
    rc_textlog("warn", "msg=\"io_uring cannot be used: running on epoll\" io_backend=auto why=\"%s\"", why);
    rc = use(e, &rc_io_epoll_ops, why, sizeof(why));
    if (rc < 0)
        rc_textlog("fatal", "msg=\"epoll cannot start either\" why=\"%s\"", why);
    return rc;
}
