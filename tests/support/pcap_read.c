/* See pcap_read.h. Format: https://www.tcpdump.org/manpages/pcap-savefile.5.html */
#include "pcap_read.h"

#include <stdbool.h>
#include <string.h>

static uint32_t rd32(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

int pcap_read_tcp(const uint8_t *file, size_t len, void (*fn)(const pcap_segment *s, void *ctx), void *ctx)
{
    if (len < 24) return -1;
    uint32_t magic = rd32(file, true);
    bool le;
    if (magic == 0xA1B2C3D4u || magic == 0xA1B23C4Du)
        le = true;
    else if (magic == 0xD4C3B2A1u || magic == 0x4D3CB2A1u)
        le = false;
    else
        return -1;
    uint32_t linktype = rd32(file + 20, le);
    size_t l2;
    if (linktype == 1)
        l2 = 14; /* Ethernet */
    else if (linktype == 113)
        l2 = 16; /* Linux cooked (SLL) */
    else
        return -1;
    size_t pos = 24;
    unsigned frame = 0;
    int count = 0;
    while (pos + 16 <= len) {
        uint32_t incl = rd32(file + pos + 8, le);
        pos += 16;
        if (incl > len - pos) return -1;
        const uint8_t *p = file + pos;
        pos += incl;
        frame++;
        if (incl < l2 + 20) continue;
        uint16_t ethertype = (uint16_t)(p[l2 - 2] << 8 | p[l2 - 1]);
        if (ethertype != 0x0800) continue;
        const uint8_t *ip = p + l2;
        size_t iplen = incl - l2;
        size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
        size_t total = (size_t)(ip[2] << 8 | ip[3]);
        if ((ip[0] >> 4) != 4 || ip[9] != 6 || ihl < 20 || total > iplen || total < ihl + 20) continue;
        const uint8_t *tcp = ip + ihl;
        size_t thl = (size_t)(tcp[12] >> 4) * 4;
        if (thl < 20 || ihl + thl > total) continue;
        pcap_segment s;
        s.frame = frame;
        s.src_port = (uint16_t)(tcp[0] << 8 | tcp[1]);
        s.dst_port = (uint16_t)(tcp[2] << 8 | tcp[3]);
        s.data = tcp + thl;
        s.len = total - ihl - thl;
        if (s.len == 0) continue;
        fn(&s, ctx);
        count++;
    }
    return count;
}
