/* One exchange with a server over a real loopback TCP connection, for the
 * server-stream fuzz harnesses: send the bytes, half-close, let the server
 * run (single-threaded, through `serve`) until it closes or 400 rounds pass,
 * collect what it answered. */
#ifndef PLCIO_TEST_STREAM_EXCHANGE_H
#define PLCIO_TEST_STREAM_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

/* One round of the server's event loop, waiting at most `wait_ms`. */
typedef void (*stream_serve_fn)(void *server, int wait_ms);

/* Connect to 127.0.0.1:port (aborts if that fails: the server must always
 * accept), send data[0..size), half-close, alternate serve(1 ms) and reads.
 * Keeps up to `cap` answer bytes in `ans`; returns how many. The connection
 * is reset at the end (no TIME_WAIT pile-up over millions of runs) and the
 * server is given three more rounds to notice. */
size_t stream_exchange(int port, stream_serve_fn serve, void *server, const uint8_t *data, size_t size, uint8_t *ans,
                       size_t cap);

#endif
