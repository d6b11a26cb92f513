/* send_floor: what one small send to one TCP socket costs on this machine,
 * the floor under any push server's fan-out: N loopback connections, R
 * rounds, one 64-byte send to every connection per round, with
 *   write    one write(2) per socket (what an epoll server does),
 *   uring    one io_uring send SQE per socket, submitted in batches, with
 *            SINGLE_ISSUER + DEFER_TASKRUN where the kernel has them (what
 *            the edge's io_uring backend does).
 * The receiving ends are drained between rounds by the same process, so
 * their cost is measured apart and subtracted: the figure is the sender's
 * CPU-seconds (user + system, getrusage) per million sends, loopback
 * delivery included, as the edges' CPU in the load tests includes it.
 *
 *   send_floor [--conns N] [--rounds R] [--size B] [--json FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int pairs(int n, int *tx, int *rx)
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4096) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        rx[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (rx[i] < 0 || connect(rx[i], (struct sockaddr *)&a, sizeof(a)) < 0)
            return -errno;
        tx[i] = accept(l, NULL, NULL);
        if (tx[i] < 0)
            return -errno;
        setsockopt(tx[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fcntl(rx[i], F_SETFL, O_NONBLOCK);
    }
    close(l);
    return 0;
}

static double drain(int n, const int *rx)
{
    static char buf[65536];
    double t0 = cpu_s();
    for (int i = 0; i < n; i++)
        while (read(rx[i], buf, sizeof(buf)) > 0)
            ;
    return cpu_s() - t0;
}

static double run_write(int n, int rounds, const int *tx, const int *rx, const char *msg, size_t len, double *rx_cpu)
{
    double t0 = cpu_s();
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < n; i++)
            if (write(tx[i], msg, len) != (ssize_t)len)
                return -1;
        *rx_cpu += drain(n, rx);
    }
    return cpu_s() - t0;
}

static double run_uring(int n, int rounds, const int *tx, const int *rx, const char *msg, size_t len, double *rx_cpu)
{
    struct io_uring ring;
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (io_uring_queue_init_params(4096, &ring, &p) < 0) {
        memset(&p, 0, sizeof(p));
        if (io_uring_queue_init_params(4096, &ring, &p) < 0)
            return -1;
    }
    double t0 = cpu_s();
    for (int r = 0; r < rounds; r++) {
        int done = 0;
        for (int i = 0; i < n; i++) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            if (!sqe) {
                io_uring_submit(&ring);
                sqe = io_uring_get_sqe(&ring);
            }
            io_uring_prep_send(sqe, tx[i], msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        while (done < n) {
            io_uring_submit_and_wait(&ring, 1);
            struct io_uring_cqe *cqe;
            unsigned head, k = 0;
            io_uring_for_each_cqe(&ring, head, cqe) {
                if (cqe->res != (int)len)
                    return -1;
                k++;
            }
            io_uring_cq_advance(&ring, k);
            done += (int)k;
        }
        *rx_cpu += drain(n, rx);
    }
    double t = cpu_s() - t0;
    io_uring_queue_exit(&ring);
    return t;
}

int main(int argc, char **argv)
{
    int n = 5000, rounds = 200;
    size_t size = 64;
    const char *json = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--conns"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size"))
            size = (size_t)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--json"))
            json = argv[i + 1];
    }
    int *tx = calloc((size_t)n, sizeof(int)), *rx = calloc((size_t)n, sizeof(int));
    char *msg = malloc(size);
    memset(msg, 'x', size);
    int rc = pairs(n, tx, rx);
    if (rc < 0) {
        fprintf(stderr, "send_floor: cannot open %d loopback pairs: %s\n", n, strerror(-rc));
        return 1;
    }
    double sends = (double)n * rounds, rx_w = 0, rx_u = 0;
    double w = run_write(n, rounds, tx, rx, msg, size, &rx_w);
    double u = run_uring(n, rounds, tx, rx, msg, size, &rx_u);
    if (w < 0 || u < 0) {
        fprintf(stderr, "send_floor: a send failed\n");
        return 1;
    }
    double wm = (w - rx_w) / sends * 1e6, um = (u - rx_u) / sends * 1e6;
    printf("send_floor: %d connections x %d rounds of %zu B: write() %.2f CPU-s per million sends, "
           "io_uring %.2f (ratio %.2f)\n", n, rounds, size, wm, um, wm / um);
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f)
            return 1;
        fprintf(f, "{\"conns\": %d, \"rounds\": %d, \"size\": %zu, \"write_cpu_s_per_million\": %.4f, "
                   "\"uring_cpu_s_per_million\": %.4f}\n", n, rounds, size, wm, um);
        fclose(f);
    }
    return 0;
}
