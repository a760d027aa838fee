/* Small-buffer helpers for the hot paths (a tag's value is 1, 2, 4 or 8
 * bytes far more often than not). */
#ifndef PLCIO_CORE_MEM_H
#define PLCIO_CORE_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* a and b differ in their first n bytes. The common sizes compare as one
 * word, inline, instead of a call to memcmp per tag. */
static inline bool mem_differ(const void *a, const void *b, size_t n)
{
    switch (n) {
    case 1: return *(const uint8_t *)a != *(const uint8_t *)b;
    case 2: {
        uint16_t x, y;
        memcpy(&x, a, 2);
        memcpy(&y, b, 2);
        return x != y;
    }
    case 4: {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return x != y;
    }
    case 8: {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return x != y;
    }
    default: return memcmp(a, b, n) != 0;
    }
}

#endif
