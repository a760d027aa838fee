/* A tiny pcap reader for tests: walks the TCP payloads of a classic pcap file
 * (little- or big-endian, microsecond or nanosecond; link types Ethernet and
 * Linux cooked SLL; IPv4). No reassembly: one callback per TCP segment with
 * payload, which is what the fixtures here need (each PDU in one segment). */
#ifndef PLCIO_TEST_PCAP_READ_H
#define PLCIO_TEST_PCAP_READ_H

#include <stddef.h>
#include <stdint.h>

typedef struct pcap_segment {
    unsigned frame; /* 1-based frame number, as tshark counts */
    uint16_t src_port, dst_port;
    const uint8_t *data;
    size_t len;
} pcap_segment;

/* Calls fn for every TCP segment with payload. Returns the number of
 * segments, or -1 when the file is not a pcap this reader understands. */
int pcap_read_tcp(const uint8_t *file, size_t len, void (*fn)(const pcap_segment *s, void *ctx), void *ctx);

#endif
