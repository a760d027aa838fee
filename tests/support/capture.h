/* Waiting for a running tshark capture to hold what a test exchanged.
 *
 * dumpcap (tshark's capturing child) gets loopback packets from the kernel in
 * blocks, the last one only when its timeout expires, and writes them to the
 * file some time later: a fixed pause before stopping it loses the last
 * packets on a slow (or a very fast) machine. These poll the file itself,
 * reading it with tshark, until it holds the event the test is after. */
#ifndef PLCIO_TEST_CAPTURE_H
#define PLCIO_TEST_CAPTURE_H

#include <stdbool.h>

/* Lines `tshark -r path <args> -Y '<filter>'` prints (args: decode-as and
 * preferences, may be ""; tshark's complaints about a file still being written
 * go to /dev/null). -1 when tshark could not be run. */
int plcio_test_tshark_lines(const char *path, const char *args, const char *filter);

/* Poll until `filter` matches at least `want` frames of the capture, for up to
 * limit_ms. Returns the last count (below want when the limit passed; the
 * caller's assertion then says what is missing). */
int plcio_test_capture_wait_frames(const char *path, const char *args, const char *filter, int want, int limit_ms);

/* Poll until every TCP connection with `port` that the capture saw being
 * opened (a SYN) also has its end (a FIN or RST, either side) in the file, and
 * at least one connection was seen, for up to limit_ms. Packets reach the file
 * in the order they were sent: once the ends are in, everything exchanged
 * before them is too. Returns true when that happened; false (with a message
 * on stderr saying how many connections were open) when the limit passed. */
bool plcio_test_capture_wait_closed(const char *path, int port, int limit_ms);

#endif
