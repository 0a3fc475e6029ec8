/*
 * util/hash.h - a 64-bit content hash (FNV-1a) used to skip reloads whose
 * source did not change, and to index names (the library's natives, a
 * script's globals).  Pure; any thread.
 */
#ifndef FSRS_UTIL_HASH_H
#define FSRS_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash64(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static inline uint64_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

#endif
