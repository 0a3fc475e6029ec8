/*
 * util/doorbell.h - wake a sleeping pipeline stage (eventfd).
 *
 * A stage sleeps in poll() on its doorbell's fd (and whatever else it
 * waits for); producers ring after they enqueue.  Ringing is one write(2)
 * and never blocks: eventfd counts, so rings are never lost and many rings
 * coalesce into one wake-up.
 * Threads: any thread may ring; the owning stage drains.
 */
#ifndef FSRS_UTIL_DOORBELL_H
#define FSRS_UTIL_DOORBELL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct Doorbell {
    int fd;
} Doorbell;

bool doorbell_init(Doorbell *d);
void doorbell_destroy(Doorbell *d);
void doorbell_ring(Doorbell *d);
/* Reset after waking; returns whether it had been rung. */
bool doorbell_drain(Doorbell *d);
/* Sleep until rung or timeout_us microseconds pass (negative: no
 * timeout). */
void doorbell_wait(Doorbell *d, int64_t timeout_us);

#endif
