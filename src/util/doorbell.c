/*
 * util/doorbell.c - eventfd doorbells (see doorbell.h).  Linux only.
 */
#define _GNU_SOURCE
#include "util/doorbell.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

bool doorbell_init(Doorbell *d)
{
    d->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return d->fd >= 0;
}

void doorbell_destroy(Doorbell *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

void doorbell_ring(Doorbell *d)
{
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(d->fd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    /* EAGAIN means the counter is saturated: it is rung already */
}

bool doorbell_drain(Doorbell *d)
{
    uint64_t v;
    return read(d->fd, &v, sizeof v) == (ssize_t)sizeof v;
}

void doorbell_wait(Doorbell *d, int64_t timeout_us)
{
    struct pollfd p = {.fd = d->fd, .events = POLLIN};
    if (timeout_us < 0) {
        ppoll(&p, 1, NULL, NULL);
        return;
    }
    /* ppoll, not poll: a debounce deadline is kept to the microsecond
     * rather than rounded up to the next millisecond */
    struct timespec ts = {(time_t)(timeout_us / 1000000), (long)(timeout_us % 1000000) * 1000};
    ppoll(&p, 1, &ts, NULL);
}
