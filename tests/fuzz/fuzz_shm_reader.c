/* Shared-memory reader on a corrupted segment: a real segment (written once
 * by plcio's writer with a few tags, one published snapshot and its JSON) is
 * the template; the input patches it (records: offset u16 BE, length u8,
 * bytes) or, when its first byte is 0xFF, replaces it outright. The result is
 * put into a POSIX shm object and a reader opens it, reads the status and
 * directory, refreshes and gets every tag and the JSON. Every failure must
 * be an error code (PLCIO_EPROTO for a corrupt segment), never a crash, a
 * read outside the mapping or a hang. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plcio/core.h"
#include "plcio/shm.h"
#include "shm/shm_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *tpl;
static size_t tpl_len;
static char seg_name[64];

static void make_template(void)
{
    static const plcio_shm_tag_def tags[] = {
        {"Speed", PLCIO_TYPE_REAL, 0, 0, true}, {"Count", PLCIO_TYPE_DINT, 0, 0, true},
        {"Run", PLCIO_TYPE_BOOL, 0, 3, true},   {"Name", PLCIO_TYPE_STRING, 10, 0, true},
        {"When", PLCIO_TYPE_DTL, 0, 0, true},   {"Wide", PLCIO_TYPE_WSTRING, 4, 0, true},
        {"Span", PLCIO_TYPE_TIME, 0, 0, true},  {"Bcd", PLCIO_TYPE_S5TIME, 0, 0, true},
    };
    char tname[64];
    snprintf(tname, sizeof tname, "/plcio-fuzz-tpl-%ld", (long)getpid());
    snprintf(seg_name, sizeof seg_name, "/plcio-fuzz-%ld", (long)getpid());
    plcio_shm_options opts = {.write_slots = 2};
    plcio_shm_writer *w;
    if (plcio_shm_writer_new(tname, tags, sizeof tags / sizeof tags[0], &opts, &w, NULL)) abort();
    static const uint8_t speed[4] = {0x42, 0x48, 0, 0}, count[4] = {0, 0, 1, 0}, run[1] = {8},
                         name[12] = {10, 3, 'a', 'b', 'c'}, span[4] = {0, 0, 3, 0xe8}, bcd[2] = {0x12, 0x34};
    plcio_shm_writer_set(w, 0, speed, 4, 0, NULL);
    plcio_shm_writer_set(w, 1, count, 4, 0, NULL);
    plcio_shm_writer_set(w, 2, run, 1, 0, NULL);
    plcio_shm_writer_set(w, 3, name, 12, 0, NULL);
    plcio_shm_writer_set(w, 6, span, 4, 0, NULL);
    plcio_shm_writer_set(w, 7, bcd, 2, 0, NULL);
    plcio_shm_writer_set_quality(w, 4, PLCIO_SHM_QUALITY_ERROR, PLCIO_ETIMEDOUT);
    plcio_shm_writer_publish(w, NULL);
    int fd = shm_open(tname, O_RDONLY, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) abort();
    tpl_len = (size_t)st.st_size;
    tpl = malloc(tpl_len);
    if (!tpl || pread(fd, tpl, tpl_len, 0) != (ssize_t)tpl_len) abort();
    close(fd);
    plcio_shm_writer_free(w);
}

static uint32_t get32(const uint8_t *seg, size_t len, size_t off)
{
    uint32_t v = 0;
    if (off + 4 <= len) memcpy(&v, seg + off, 4);
    return v;
}

/* An odd sequence number means "the writer is filling this buffer": the
 * reader retries 10000 times with sched_yield, which on a loaded machine
 * makes such inputs thousands of times slower than the rest. Make the
 * sequence numbers even unless the input asks (first byte 0xFE) to keep
 * them, so the fuzzer spends its time on the parsing. */
static void even_sequences(uint8_t *seg, size_t len)
{
    static const size_t offs[2][3] = {{SHM_H_SNAP_OFFSET, SHM_H_SNAP_STRIDE, SHM_H_SNAP_COUNT},
                                      {SHM_H_JSON_OFFSET, SHM_H_JSON_STRIDE, SHM_H_JSON_COUNT}};
    for (int k = 0; k < 2; k++)
        for (uint32_t i = 0; i < 2 && i < get32(seg, len, offs[k][2]); i++) {
            uint64_t at = (uint64_t)get32(seg, len, offs[k][0]) + (uint64_t)i * get32(seg, len, offs[k][1]);
            if (at + 8 <= len) seg[at] &= 0xFE; /* low byte of the little-endian u64 */
        }
}

static void read_all(void)
{
    plcio_shm_reader *r;
    plcio_error msg = {0};
    if (plcio_shm_reader_new(seg_name, &r, &msg) != PLCIO_OK) return;
    plcio_shm_status st;
    plcio_shm_reader_status(r, &st);
    size_t n = plcio_shm_reader_tag_count(r);
    for (size_t i = 0; i < n; i++) {
        plcio_shm_tag_info info;
        size_t idx;
        if (plcio_shm_reader_tag_info(r, i, &info) == PLCIO_OK && plcio_shm_reader_find(r, info.name, &idx) != PLCIO_OK)
            abort();
    }
    for (int round = 0; round < 2; round++) {
        if (plcio_shm_reader_refresh(r) != PLCIO_OK) continue;
        for (size_t i = 0; i < n; i++) {
            plcio_shm_value v;
            if (plcio_shm_reader_get(r, i, &v) == PLCIO_OK && (!v.text || (v.raw_len && !v.raw))) abort();
        }
        const char *json;
        size_t len;
        if (plcio_shm_reader_json(r, &json, &len) == PLCIO_OK && (strlen(json) > len || json[len] != 0)) abort();
    }
    plcio_shm_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tpl) make_template();
    const uint8_t *seg;
    size_t seg_len = tpl_len;
    uint8_t *work = NULL;
    if (size && data[0] == 0xFF) {
        seg = data + 1;
        seg_len = size - 1;
    } else {
        work = malloc(tpl_len);
        if (!work) return 0;
        memcpy(work, tpl, tpl_len);
        for (size_t off = 0; off + 3 <= size;) {
            size_t at = ((size_t)data[off] << 8 | data[off + 1]) % tpl_len, len = data[off + 2];
            off += 3;
            if (len > size - off) len = size - off;
            if (len > tpl_len - at) len = tpl_len - at;
            memcpy(work + at, data + off, len);
            off += len;
        }
        if (!(size && data[0] == 0xFE)) even_sequences(work, tpl_len);
        seg = work;
    }
    int fd = shm_open(seg_name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        if (ftruncate(fd, (off_t)seg_len) == 0 && (seg_len == 0 || pwrite(fd, seg, seg_len, 0) == (ssize_t)seg_len)) {
            close(fd);
            fd = -1;
            read_all();
        }
        if (fd >= 0) close(fd);
        shm_unlink(seg_name);
    }
    free(work);
    return 0;
}
