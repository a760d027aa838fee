#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plcio_test.h"

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int plcio_test_tshark_lines(const char *path, const char *args, const char *filter)
{
    char cmd[1024];
    int n = snprintf(cmd, sizeof cmd, "tshark -o tcp.analyze_sequence_numbers:FALSE -r '%s' %s -Y '%s' 2>/dev/null",
                     path, args ? args : "", filter);
    if (n < 0 || (size_t)n >= sizeof cmd) return -1;
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof line, f))
        if (strchr(line, '\n')) lines++;
    int st = pclose(f);
    return st == -1 ? -1 : lines;
}

int plcio_test_capture_wait_frames(const char *path, const char *args, const char *filter, int want, int limit_ms)
{
    long long end = now_ms() + limit_ms;
    int got = plcio_test_tshark_lines(path, args, filter);
    while (got < want && now_ms() < end) {
        plcio_test_sleep_ms(200);
        got = plcio_test_tshark_lines(path, args, filter);
    }
    if (got < want)
        fprintf(stderr, "capture %s: %d frame(s) match '%s' after %d ms, want %d\n", path, got, filter, limit_ms, want);
    return got;
}

/* Streams opened and streams ended, as bit sets over tcp.stream numbers. */
enum { MAX_STREAMS = 4096 };

typedef struct stream_sets {
    unsigned char opened[MAX_STREAMS / 8], ended[MAX_STREAMS / 8];
    int too_many; /* a stream number beyond MAX_STREAMS */
} stream_sets;

static int count_open(const char *path, int port)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "tshark -r '%s' -Y 'tcp.port==%d && (tcp.flags.syn==1 || tcp.flags.fin==1 || tcp.flags.reset==1)' -T "
             "fields -e tcp.stream -e tcp.flags 2>/dev/null",
             path, port);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    stream_sets *s = calloc(1, sizeof *s);
    if (!s) {
        pclose(f);
        return -1;
    }
    char line[256];
    int seen = 0;
    while (fgets(line, sizeof line, f)) {
        char *end;
        long stream = strtol(line, &end, 10);
        if (end == line || stream < 0) continue;
        if (stream >= MAX_STREAMS) {
            s->too_many = 1;
            continue;
        }
        unsigned long flags = strtoul(end, NULL, 0);
        unsigned char bit = (unsigned char)(1u << (stream % 8));
        if ((flags & 0x02u) && !(flags & 0x10u)) s->opened[stream / 8] |= bit; /* SYN, no ACK: the opening */
        if (flags & 0x05u) s->ended[stream / 8] |= bit;                        /* FIN or RST */
        seen = 1;
    }
    pclose(f);
    int open = 0, any = 0;
    for (size_t i = 0; i < sizeof s->opened; i++)
        for (int b = 0; b < 8; b++) {
            any += (s->opened[i] >> b) & 1;
            open += ((s->opened[i] & ~s->ended[i]) >> b) & 1;
        }
    int too_many = s->too_many;
    free(s);
    if (too_many) return -2;
    if (!seen || !any) return -3; /* nothing opened yet */
    return open;
}

bool plcio_test_capture_wait_closed(const char *path, int port, int limit_ms)
{
    long long end = now_ms() + limit_ms;
    int open = count_open(path, port);
    while (open != 0 && now_ms() < end) {
        plcio_test_sleep_ms(200);
        open = count_open(path, port);
    }
    if (open == 0) return true;
    if (open == -2)
        fprintf(stderr, "capture %s: more than %d connections, cannot follow them\n", path, MAX_STREAMS);
    else if (open < 0)
        fprintf(stderr, "capture %s: no connection to port %d seen after %d ms\n", path, port, limit_ms);
    else
        fprintf(stderr, "capture %s: %d connection(s) to port %d still without FIN/RST after %d ms\n", path, open, port,
                limit_ms);
    return false;
}
