/*
 * util/utf8.h - UTF-8 encoding and decoding, and UTF-16 positions in
 * UTF-8 text, shared by the lexer (escapes), the formatter (%c) and the
 * string functions.  Strings are UTF-8 inside fsrs; .NET's lengths and
 * indexes count UTF-16 code units, so scripts see those.  Pure functions:
 * any thread.
 */
#ifndef FSRS_UTIL_UTF8_H
#define FSRS_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Writes code point cp as UTF-8 to out; returns the byte count (1-4). */
static inline int utf8_encode(char out[4], uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The code point at str[*i] (of n bytes), moving *i past it.  A byte that
 * does not start valid UTF-8 stands for itself. */
static inline uint32_t utf8_decode(const char *str, size_t n, size_t *i)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t c = s[*i];
    int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (more == 0 || *i + (size_t)more >= n) {
        (*i)++;
        return c;
    }
    uint32_t cp = c & (0x3Fu >> more);
    for (int k = 1; k <= more; k++) {
        if ((s[*i + (size_t)k] & 0xC0) != 0x80) {
            (*i)++;
            return c;
        }
        cp = (cp << 6) | (s[*i + (size_t)k] & 0x3F);
    }
    *i += (size_t)more + 1;
    return cp;
}

/* UTF-16 code units in s[0..n) (.NET's string length). */
static inline int64_t utf16_length(const char *s, size_t n)
{
    int64_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80)
            units += c >= 0xF0 ? 2 : 1;
    }
    return units;
}

/* The byte offset in s[0..n) of UTF-16 index idx (0 <= idx <= length). */
static inline size_t utf16_offset(const char *s, size_t n, int64_t idx)
{
    size_t i = 0;
    int64_t units = 0;
    while (i < n && units < idx) {
        uint32_t cp = utf8_decode(s, n, &i);
        units += cp >= 0x10000 ? 2 : 1;
    }
    return i;
}

#endif
