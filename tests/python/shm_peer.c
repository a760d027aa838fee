/* A C engine and C reader for the Python reader's tests: creates a segment
 * with the plcio writer and publishes known values for a bounded time.
 *
 *   plcio_shm_peer types NAME SECONDS
 *       every plcio_type (good values from the C value codec, undecodable
 *       bytes given as hex), qualities stale/error/none; prints the C reader's
 *       view of it as one JSON line "view {...}", then "ready"; answers write
 *       requests (tag "Locked" refuses them) and publishes every 5 ms.
 *   plcio_shm_peer torn NAME SECONDS
 *       publishes as fast as it can values that carry an invariant (counter,
 *       its complement, the number as text, a fill pattern, a checksum), then
 *       prints "published N".
 * Every mode exits by itself after SECONDS. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plcio/plcio.h"

typedef struct peer_case {
    const char *name;
    plcio_type type;
    unsigned length, bit;
    const char *value; /* "=TEXT": encoded by the C value codec; otherwise hex bytes */
} peer_case;

static const peer_case cases[] = {
    {"Bool.Run", PLCIO_TYPE_BOOL, 0, 3, "08"},
    {"Bool.Stop", PLCIO_TYPE_BOOL, 0, 2, "08"},
    {"Byte", PLCIO_TYPE_BYTE, 0, 0, "=165"},
    {"Word", PLCIO_TYPE_WORD, 0, 0, "=4660"},
    {"DWord", PLCIO_TYPE_DWORD, 0, 0, "DEADBEEF"},
    {"LWord", PLCIO_TYPE_LWORD, 0, 0, "FFFFFFFFFFFFFFFF"},
    {"SInt", PLCIO_TYPE_SINT, 0, 0, "=-128"},
    {"USInt", PLCIO_TYPE_USINT, 0, 0, "=255"},
    {"Int", PLCIO_TYPE_INT, 0, 0, "=-2"},
    {"UInt", PLCIO_TYPE_UINT, 0, 0, "=65535"},
    {"DInt", PLCIO_TYPE_DINT, 0, 0, "=-2147483648"},
    {"UDInt", PLCIO_TYPE_UDINT, 0, 0, "=65536"},
    {"LInt", PLCIO_TYPE_LINT, 0, 0, "=-9223372036854775808"},
    {"ULInt", PLCIO_TYPE_ULINT, 0, 0, "=18446744073709551615"},
    {"Real", PLCIO_TYPE_REAL, 0, 0, "=12.5"},
    {"Real.Tenth", PLCIO_TYPE_REAL, 0, 0, "=0.1"},
    {"Real.Big", PLCIO_TYPE_REAL, 0, 0, "=-3.4e38"},
    {"Real.Tiny", PLCIO_TYPE_REAL, 0, 0, "=1.5e-42"},
    {"Real.Inf", PLCIO_TYPE_REAL, 0, 0, "7F800000"},
    {"Real.NaN", PLCIO_TYPE_REAL, 0, 0, "7FC00000"},
    {"Real.NegNaN", PLCIO_TYPE_REAL, 0, 0, "FFC00000"},
    {"LReal", PLCIO_TYPE_LREAL, 0, 0, "400921FB54442D18"},
    {"LReal.Tenth", PLCIO_TYPE_LREAL, 0, 0, "=0.1"},
    {"LReal.Huge", PLCIO_TYPE_LREAL, 0, 0, "=-1.7976931348623157e308"},
    {"Char", PLCIO_TYPE_CHAR, 0, 0, "=A"},
    {"Char.Umlaut", PLCIO_TYPE_CHAR, 0, 0, "E4"},
    {"WChar", PLCIO_TYPE_WCHAR, 0, 0, "=\xe2\x82\xac"},
    {"String", PLCIO_TYPE_STRING, 10, 0, "=abc"},
    {"String.Latin1", PLCIO_TYPE_STRING, 30, 0,
     "=Gr\xc3\xbc\xc3\x9f"
     "e \"quoted\" \\ tab\t"},
    {"String.Fresh", PLCIO_TYPE_STRING, 8, 0, "00000000000000000000"},
    {"WString", PLCIO_TYPE_WSTRING, 4, 0, "=h\xc3\xa9"},
    {"WString.Emoji", PLCIO_TYPE_WSTRING, 6, 0, "=x\xf0\x9f\x98\x80\xe6\xbc\xa2"},
    {"Time", PLCIO_TYPE_TIME, 0, 0, "=T#1s1ms"},
    {"Time.Neg", PLCIO_TYPE_TIME, 0, 0, "=T#-1d2h3m4s5ms"},
    {"Time.Zero", PLCIO_TYPE_TIME, 0, 0, "00000000"},
    {"Time.Max", PLCIO_TYPE_TIME, 0, 0, "7FFFFFFF"},
    {"LTime", PLCIO_TYPE_LTIME, 0, 0, "=LT#1d2h3m4s5ms6us7ns"},
    {"LTime.Neg", PLCIO_TYPE_LTIME, 0, 0, "=LT#-5ns"},
    {"LTime.Zero", PLCIO_TYPE_LTIME, 0, 0, "0000000000000000"},
    {"S5Time", PLCIO_TYPE_S5TIME, 0, 0, "2127"},
    {"S5Time.Max", PLCIO_TYPE_S5TIME, 0, 0, "=S5T#2h46m30s"},
    {"S5Time.Zero", PLCIO_TYPE_S5TIME, 0, 0, "0000"},
    {"Date", PLCIO_TYPE_DATE, 0, 0, "=2024-02-29"},
    {"Date.Max", PLCIO_TYPE_DATE, 0, 0, "FFFF"},
    {"Tod", PLCIO_TYPE_TIME_OF_DAY, 0, 0, "=07:08:09.123"},
    {"Tod.Last", PLCIO_TYPE_TIME_OF_DAY, 0, 0, "=23:59:59.999"},
    {"LTod", PLCIO_TYPE_LTOD, 0, 0, "=07:08:09.123456789"},
    {"Dt", PLCIO_TYPE_DATE_AND_TIME, 0, 0, "2405060708091232"},
    {"Dt.1990", PLCIO_TYPE_DATE_AND_TIME, 0, 0, "=1990-01-01T00:00:00.000"},
    {"Ldt", PLCIO_TYPE_LDT, 0, 0, "=2024-05-06T07:08:09.123456789"},
    {"Ldt.Max", PLCIO_TYPE_LDT, 0, 0, "7FFFFFFFFFFFFFFF"},
    {"Dtl", PLCIO_TYPE_DTL, 0, 0, "07E805060207080900000001"},
    {"Dtl.Late", PLCIO_TYPE_DTL, 0, 0, "=2554-12-31T23:59:59.999999999"},
    /* bytes the C decoder refuses: both readers must refuse them */
    {"Bad.S5Time", PLCIO_TYPE_S5TIME, 0, 0, "00AF"},
    {"Bad.Dt", PLCIO_TYPE_DATE_AND_TIME, 0, 0, "2413060708091232"},
    {"Bad.DtWeekday", PLCIO_TYPE_DATE_AND_TIME, 0, 0, "2405060708091230"},
    {"Bad.Tod", PLCIO_TYPE_TIME_OF_DAY, 0, 0, "05265C00"},
    {"Bad.LTod", PLCIO_TYPE_LTOD, 0, 0, "00004E94914F0000"},
    {"Bad.WChar", PLCIO_TYPE_WCHAR, 0, 0, "D800"},
    {"Bad.String", PLCIO_TYPE_STRING, 4, 0, "040561626364"},
    {"Bad.StringMax", PLCIO_TYPE_STRING, 4, 0, "050161626364"},
    {"Bad.WString", PLCIO_TYPE_WSTRING, 2, 0, "00020001DC000000"},
    {"Bad.WStringHigh", PLCIO_TYPE_WSTRING, 2, 0, "00020002D8000041"},
    {"Bad.Dtl", PLCIO_TYPE_DTL, 0, 0, "07E805060007080900000001"},
    {"Bad.DtlNanos", PLCIO_TYPE_DTL, 0, 0, "07E80506020708093B9ACA00"},
    {"Bad.Ldt", PLCIO_TYPE_LDT, 0, 0, "8000000000000000"},
    /* qualities: set then stale, set then error, never set */
    {"Stale", PLCIO_TYPE_INT, 0, 0, "=42"},
    {"Failed", PLCIO_TYPE_REAL, 0, 0, "=1.5"},
    {"Never", PLCIO_TYPE_DINT, 0, 0, "=7"},
    /* writes to this tag are refused by the peer */
    {"Locked", PLCIO_TYPE_INT, 0, 0, "=1"},
};
#define NCASES (sizeof cases / sizeof cases[0])

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static size_t hex_bytes(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        unsigned b;
        if (sscanf(hex, "%2x", &b) != 1) break;
        out[n++] = (uint8_t)b;
    }
    return n;
}

/* The raw PLC bytes of a case. */
static int case_bytes(const peer_case *c, uint8_t *raw, size_t cap, size_t *len)
{
    size_t size = plcio_type_size(c->type, c->length);
    if (c->value[0] != '=') {
        *len = hex_bytes(c->value, raw, cap);
        return *len == size ? PLCIO_OK : PLCIO_EINVAL;
    }
    plcio_value v;
    plcio_error err = {0};
    plcio_value_init(&v, c->type);
    const char *text = c->value + 1;
    int rc = plcio_value_from_text(&v, c->type, c->length, text, strlen(text), &err);
    memset(raw, 0, size);
    if (rc == PLCIO_OK) rc = plcio_value_encode(&v, raw, size, c->bit, NULL, &err);
    if (rc != PLCIO_OK) fprintf(stderr, "peer: %s: %s\n", c->name, err.text);
    *len = size;
    return rc;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* The C reader's view of every tag, one JSON line. */
static int print_view(const char *name)
{
    plcio_shm_reader *r = NULL;
    plcio_error msg = {0};
    int rc = plcio_shm_reader_new(name, &r, &msg);
    if (rc == PLCIO_OK) rc = plcio_shm_reader_refresh(r);
    if (rc != PLCIO_OK) {
        fprintf(stderr, "peer: C reader: %s %s\n", plcio_err_name(rc), msg.text);
        plcio_shm_reader_free(r);
        return rc;
    }
    printf("view {\"generation\":%" PRIu64 ",\"tags\":{", plcio_shm_reader_generation(r));
    for (size_t i = 0; i < plcio_shm_reader_tag_count(r); i++) {
        plcio_shm_value v;
        plcio_shm_tag_info info;
        plcio_shm_reader_tag_info(r, i, &info);
        plcio_shm_reader_get(r, i, &v);
        printf("%s", i ? "," : "");
        json_string(info.name);
        printf(":{\"type\":\"%s\",\"length\":%u,\"bit\":%u,\"offset\":%u,\"size\":%u,\"text\":",
               plcio_type_name(info.type), info.length, info.bit, (unsigned)info.offset, (unsigned)info.size);
        json_string(v.text);
        printf(",\"quality\":\"%s\",\"error\":\"%s\",\"decode_error\":\"%s\",\"as_int\":%" PRId64
               ",\"as_double\":\"%.17g\",\"changed\":%" PRIu64 ",\"read\":%" PRIu64 ",\"quality_changed\":%" PRIu64
               ",\"raw\":\"",
               plcio_shm_quality_name((int)v.quality), v.error ? plcio_err_name(v.error) : "",
               v.decode_error ? plcio_err_name(v.decode_error) : "", v.as_int, v.as_double, v.changed_real_ns,
               v.read_real_ns, v.quality_changed_real_ns);
        for (size_t k = 0; k < v.raw_len; k++)
            printf("%02X", v.raw[k]);
        printf("\"}");
    }
    printf("}}\n");
    fflush(stdout);
    plcio_shm_reader_free(r);
    return PLCIO_OK;
}

/* Apply one write request the way a PLC would: only the tag's bytes (BOOL:
 * only its bit) change. The new value is published before the answer, so a
 * reader that got "done" reads it back at once. */
static void serve_writes(plcio_shm_writer *w)
{
    plcio_shm_write_request req;
    while (plcio_shm_writer_next_write(w, &req) == PLCIO_OK) {
        if (!strcmp(req.name, "Locked")) {
            plcio_shm_writer_complete(w, req.slot, PLCIO_EACCESS, "tag Locked is read-only in this peer");
            continue;
        }
        uint8_t raw[2 * 16382 + 4];
        size_t len = 0;
        const uint8_t *cur = plcio_shm_writer_raw(w, req.tag, &len);
        memcpy(raw, cur, len);
        if (req.type == PLCIO_TYPE_BOOL) {
            uint8_t mask = (uint8_t)(1u << req.bit);
            raw[0] = (uint8_t)((raw[0] & ~mask) | (req.data[0] & mask));
        } else {
            memcpy(raw, req.data, req.size);
        }
        int rc = plcio_shm_writer_set(w, req.tag, raw, len, 0, NULL);
        if (rc == PLCIO_OK) rc = plcio_shm_writer_publish(w, NULL); /* readers see it before the answer */
        plcio_shm_writer_complete(w, req.slot, rc, rc == PLCIO_OK ? NULL : "set failed");
    }
}

static int run_types(const char *name, double seconds)
{
    plcio_shm_tag_def defs[NCASES];
    for (size_t i = 0; i < NCASES; i++)
        defs[i] = (plcio_shm_tag_def){cases[i].name, cases[i].type, cases[i].length, cases[i].bit, true};
    plcio_shm_writer *w = NULL;
    plcio_error msg = {0};
    int rc = plcio_shm_writer_new(name, defs, NCASES, NULL, &w, &msg);
    if (rc != PLCIO_OK) {
        fprintf(stderr, "peer: create %s: %s\n", name, msg.text);
        return 1;
    }
    for (size_t i = 0; i < NCASES && rc == PLCIO_OK; i++) {
        uint8_t raw[256];
        size_t len = 0;
        if (!strcmp(cases[i].name, "Never")) continue;
        rc = case_bytes(&cases[i], raw, sizeof raw, &len);
        if (rc == PLCIO_OK) rc = plcio_shm_writer_set(w, i, raw, len, 0, NULL);
        if (rc != PLCIO_OK) fprintf(stderr, "peer: case %s: %s\n", cases[i].name, plcio_err_name(rc));
    }
    size_t idx;
    if (plcio_shm_writer_find(w, "Stale", &idx) == PLCIO_OK)
        plcio_shm_writer_set_quality(w, idx, PLCIO_SHM_QUALITY_STALE, PLCIO_ETIMEDOUT);
    if (plcio_shm_writer_find(w, "Failed", &idx) == PLCIO_OK)
        plcio_shm_writer_set_quality(w, idx, PLCIO_SHM_QUALITY_ERROR, PLCIO_EPLC);
    if (rc == PLCIO_OK) rc = plcio_shm_writer_publish(w, NULL);
    if (rc == PLCIO_OK) rc = print_view(name);
    if (rc != PLCIO_OK) {
        plcio_shm_writer_free(w);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
    while (now_ns() < end) {
        serve_writes(w);
        plcio_shm_writer_publish(w, NULL);
        sleep_ms(5);
    }
    plcio_shm_writer_free(w);
    return 0;
}

/* ---- torn reads ---- */

static const plcio_shm_tag_def torn_defs[] = {
    {"Counter", PLCIO_TYPE_UDINT, 0, 0, false}, {"Complement", PLCIO_TYPE_UDINT, 0, 0, false},
    {"Text", PLCIO_TYPE_STRING, 20, 0, false},  {"Wide", PLCIO_TYPE_WSTRING, 8, 0, false},
    {"Value", PLCIO_TYPE_LREAL, 0, 0, false},   {"Bit", PLCIO_TYPE_BOOL, 0, 5, false},
    {"Fill", PLCIO_TYPE_STRING, 254, 0, false}, {"Checksum", PLCIO_TYPE_UDINT, 0, 0, false},
};
#define NTORN (sizeof torn_defs / sizeof torn_defs[0])

/* FNV-1a 32 over counter (big-endian), text bytes and fill bytes. */
static uint32_t torn_checksum(uint32_t n, const uint8_t *text, size_t tlen, const uint8_t *fill, size_t flen)
{
    uint32_t h = 2166136261u;
    const uint8_t be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    for (size_t i = 0; i < 4; i++)
        h = (h ^ be[i]) * 16777619u;
    for (size_t i = 0; i < tlen; i++)
        h = (h ^ text[i]) * 16777619u;
    for (size_t i = 0; i < flen; i++)
        h = (h ^ fill[i]) * 16777619u;
    return h;
}

static void torn_stage(plcio_shm_writer *w, uint32_t n)
{
    uint8_t b[300];
    plcio_put_u32be(b, n);
    plcio_shm_writer_set(w, 0, b, 4, 0, NULL);
    plcio_put_u32be(b, ~n);
    plcio_shm_writer_set(w, 1, b, 4, 0, NULL);
    uint8_t text[22] = {20};
    text[1] = (uint8_t)snprintf((char *)text + 2, 20, "%u", n);
    plcio_shm_writer_set(w, 2, text, 22, 0, NULL);
    memset(b, 0, 20);
    plcio_put_u16be(b, 8);
    plcio_put_u16be(b + 2, 2);
    plcio_put_u16be(b + 4, (uint16_t)(0x41 + n % 26));
    plcio_put_u16be(b + 6, (uint16_t)(0x61 + n % 26));
    plcio_shm_writer_set(w, 3, b, 20, 0, NULL);
    plcio_put_f64be(b, (double)n);
    plcio_shm_writer_set(w, 4, b, 8, 0, NULL);
    b[0] = (uint8_t)((n & 1u) << 5);
    plcio_shm_writer_set(w, 5, b, 1, 0, NULL);
    uint8_t fill[256];
    fill[0] = 254;
    fill[1] = 254;
    memset(fill + 2, 0x41 + (int)(n % 26), 254);
    plcio_shm_writer_set(w, 6, fill, 256, 0, NULL);
    plcio_put_u32be(b, torn_checksum(n, text + 2, text[1], fill + 2, 254));
    plcio_shm_writer_set(w, 7, b, 4, 0, NULL);
}

static int run_torn(const char *name, double seconds)
{
    plcio_shm_writer *w = NULL;
    plcio_error msg = {0};
    if (plcio_shm_writer_new(name, torn_defs, NTORN, NULL, &w, &msg) != PLCIO_OK) {
        fprintf(stderr, "peer: create %s: %s\n", name, msg.text);
        return 1;
    }
    uint32_t n = 0;
    torn_stage(w, ++n);
    plcio_shm_writer_publish(w, NULL);
    printf("ready\n");
    fflush(stdout);
    uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
    while (now_ns() < end) {
        for (int k = 0; k < 64; k++) {
            torn_stage(w, ++n);
            plcio_shm_writer_publish(w, NULL);
        }
    }
    printf("published %u\n", n);
    fflush(stdout);
    plcio_shm_writer_free(w);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: plcio_shm_peer types|torn NAME SECONDS\n");
        return 2;
    }
    double seconds = atof(argv[3]);
    if (!(seconds > 0) || seconds > 600) seconds = 10;
    if (!strcmp(argv[1], "types")) return run_types(argv[2], seconds);
    if (!strcmp(argv[1], "torn")) return run_torn(argv[2], seconds);
    fprintf(stderr, "plcio_shm_peer: unknown mode '%s'\n", argv[1]);
    return 2;
}
