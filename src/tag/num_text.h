/* Shortest round-trip text of binary32 and binary64 numbers (not exported).
 *
 * The text is the shortest decimal that reads back (strtof / strtod, round to
 * nearest) to the same bits, the closest to the value among those; written
 * as a JSON number: "23.5", "-0", "1e+21", "1.5e-07". NaN and infinities
 * have no JSON form: they give "nan", "inf", "-inf" and the caller decides
 * (the shm JSON writes null). Used on every changed REAL/LREAL in the JSON
 * renditions (shm, and later MQTT and HTTP), where printf("%.9g") was the
 * engine's largest cost. */
#ifndef PLCIO_SRC_TAG_NUM_TEXT_H
#define PLCIO_SRC_TAG_NUM_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Bytes num_text_* may write, terminating '\0' included. */
#define NUM_TEXT_MAX 32

/* Write the text of v at out (NUM_TEXT_MAX bytes, '\0'-terminated); return
 * its length. num_text_f32 formats v as binary32 (REAL): the shortest text
 * that reads back to the same float. */
size_t num_text_f64(double v, char *out);
size_t num_text_f32(float v, char *out);

/* Decimal digits of an unsigned integer at out (at least 21 bytes, not
 * terminated); return the count. */
size_t num_text_u64(uint64_t v, char *out);

#endif
