/* The MQTT output's queue file (mqtt_internal.h): what waits for the broker,
 * kept on disk while the engine runs, so that a crash (kill -9, power loss)
 * loses at most what came since the last write/sync.
 *
 * Format "PLCIOMQ2" (little endian):
 *   header (24 bytes): "PLCIOMQ2", u64 sent (messages with a smaller sequence
 *                      number were taken by the broker), u32 crc32 of those 8
 *                      bytes, u32 zero
 *   record:            u32 len, u32 crc32 (of the 4 len bytes and the body),
 *                      body: u64 seq, u16 topic length, u8 qos, u8 retain,
 *                      topic, payload (len - 12 - topic length bytes)
 * Records are appended in order of their sequence numbers (strictly rising).
 * The reader takes records until the first one that is cut short or does not
 * check out (length, CRC, fields, order): that one and everything after it are
 * dropped and reported, never sent. A damaged sent mark only means messages
 * may come twice (at least once), so it is reported and read as 0.
 *
 * The old format "PLCIOMQ1" (written at a clean stop by earlier versions) is
 * still read. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt/mqtt_internal.h"

static const uint8_t magic1[8] = {'P', 'L', 'C', 'I', 'O', 'M', 'Q', '1'};
static const uint8_t magic2[8] = {'P', 'L', 'C', 'I', 'O', 'M', 'Q', '2'};
#define HEADER      24u
#define REC_HEAD    8u
#define BODY_FIXED  12u
#define PAYLOAD_MAX (256ul * 1024ul * 1024ul)
#define BODY_MAX    (BODY_FIXED + UINT16_MAX + PAYLOAD_MAX)

/* fdatasync on a helper thread: a slow disk (an SD card takes 100s of ms)
 * never stalls the engine's loop. It syncs a dup of the file descriptor, so
 * the file may be replaced meanwhile. */
typedef struct syncer {
    pthread_t thread;
    bool started, stop, busy;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int fd;     /* handed over to sync, or -1 */
    int err_no; /* a failed fdatasync, reported by the next mqtt_spool_sync */
} syncer;

struct mqtt_spool {
    syncer sy;
    char *path;
    int fd;        /* -1: no file yet */
    uint64_t size; /* bytes in the file that are known good */
    uint8_t *buf;  /* records appended, not yet written */
    size_t buf_len, buf_cap;
    uint64_t first, end; /* sequence numbers: the file holds records in [first, end) (gaps allowed) */
    uint64_t records;
    uint64_t pending, pending_first, pending_end; /* what buf holds */
    uint64_t sent_mark;                           /* the header's sent mark */
    bool dirty;                                   /* written since the last sync */
    bool broken;                                  /* a write failed half way: rewrite before appending */
};

/* ---- little helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), bitwise with a nibble table. */
static uint32_t crc32_step(uint32_t crc, const uint8_t *p, size_t n)
{
    static const uint32_t nib[16] = {0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4,
                                     0x4DB26158, 0x5005713C, 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
                                     0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C};
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ nib[crc & 15];
        crc = (crc >> 4) ^ nib[crc & 15];
    }
    return crc;
}

uint32_t mqtt_spool_crc32(const void *data, size_t len) { return ~crc32_step(~0u, data, len); }

static uint32_t record_crc(const uint8_t *len4, const uint8_t *body, size_t body_len)
{
    return ~crc32_step(crc32_step(~0u, len4, 4), body, body_len);
}

static void header_bytes(uint8_t *h, uint64_t sent)
{
    memcpy(h, magic2, 8);
    put64(h + 8, sent);
    put32(h + 16, mqtt_spool_crc32(h + 8, 8));
    put32(h + 20, 0);
}

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t at)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
        at += (uint64_t)w;
    }
    return 0;
}

/* ---- reading ---- */

static int load_v1(FILE *f, mqtt_spool_take take, void *ctx, mqtt_spool_result *res)
{
    uint8_t head[10];
    size_t got;
    while ((got = fread(head, 1, 10, f)) != 0) {
        if (got != 10) {
            snprintf(res->damage, sizeof res->damage, "cut short after %zu messages", res->loaded);
            return PLCIO_OK;
        }
        uint32_t tl = get32(head), pl = get32(head + 4);
        if (tl == 0 || tl > UINT16_MAX || pl > PAYLOAD_MAX || head[8] > 2 || head[9] > 1) {
            snprintf(res->damage, sizeof res->damage, "damaged after %zu messages", res->loaded);
            return PLCIO_OK;
        }
        char *data = malloc((size_t)tl + pl + 1);
        if (!data) return PLCIO_ENOMEM;
        if (fread(data, 1, (size_t)tl + pl, f) != (size_t)tl + pl || memchr(data, '\0', tl)) {
            free(data);
            snprintf(res->damage, sizeof res->damage, "damaged or cut short after %zu messages", res->loaded);
            return PLCIO_OK;
        }
        mqtt_msg *g = mqtt_msg_new(data, tl, data + tl, pl, head[8], head[9] != 0);
        free(data);
        if (!g) return PLCIO_ENOMEM;
        if (take(ctx, g))
            res->loaded++;
        else {
            free(g);
            res->refused++;
        }
    }
    return PLCIO_OK;
}

/* One record's body checked: its fields make sense. */
static bool body_ok(const uint8_t *b, uint32_t len, uint64_t prev_seq, bool have_prev)
{
    uint64_t seq = get64(b);
    uint16_t tl = get16(b + 8);
    if (have_prev && seq <= prev_seq) return false;
    if (tl == 0 || (uint64_t)tl + BODY_FIXED > len || b[10] > 2 || b[11] > 1) return false;
    return memchr(b + BODY_FIXED, '\0', tl) == NULL;
}

static int load_v2(FILE *f, uint64_t file_size, mqtt_spool_take take, void *ctx, mqtt_spool_result *res)
{
    uint8_t h[HEADER];
    memcpy(h, magic2, 8);
    if (fread(h + 8, 1, HEADER - 8, f) != HEADER - 8) {
        snprintf(res->damage, sizeof res->damage, "the header is cut short");
        return PLCIO_OK;
    }
    uint64_t sent = get64(h + 8);
    if (get32(h + 16) != mqtt_spool_crc32(h + 8, 8)) {
        snprintf(res->note, sizeof res->note, "the sent mark is damaged: messages already sent may come again");
        sent = 0;
    }
    uint64_t at = HEADER, prev = 0;
    bool have_prev = false;
    uint8_t *body = NULL;
    size_t body_cap = 0;
    int rc = PLCIO_OK;
    for (;;) {
        uint8_t rh[REC_HEAD];
        size_t got = fread(rh, 1, REC_HEAD, f);
        if (got == 0) break;
        const char *why = NULL;
        uint32_t len = got == REC_HEAD ? get32(rh) : 0;
        if (got != REC_HEAD || (uint64_t)len > file_size - at - REC_HEAD)
            why = "cut short";
        else if (len < BODY_FIXED + 1 || len > BODY_MAX)
            why = "a bad length";
        if (!why && len > body_cap) {
            uint8_t *grown = realloc(body, len);
            if (!grown) {
                rc = PLCIO_ENOMEM;
                break;
            }
            body = grown;
            body_cap = len;
        }
        if (!why && fread(body, 1, len, f) != len) why = "cut short";
        if (!why && record_crc(rh, body, len) != get32(rh + 4)) why = "a bad checksum";
        if (!why && !body_ok(body, len, prev, have_prev)) why = "bad fields";
        if (why) {
            snprintf(res->damage, sizeof res->damage, "a damaged record at byte %llu (%s): %llu bytes dropped",
                     (unsigned long long)at, why, (unsigned long long)(file_size - at));
            break;
        }
        prev = get64(body);
        have_prev = true;
        at += REC_HEAD + len;
        if (prev < sent) {
            res->skipped++;
            continue;
        }
        uint16_t tl = get16(body + 8);
        mqtt_msg *g = mqtt_msg_new((const char *)body + BODY_FIXED, tl, body + BODY_FIXED + tl, len - BODY_FIXED - tl,
                                   body[10], body[11] != 0);
        if (!g) {
            rc = PLCIO_ENOMEM;
            break;
        }
        if (take(ctx, g)) {
            res->loaded++;
        } else {
            free(g);
            res->refused++;
        }
    }
    free(body);
    return rc;
}

int mqtt_spool_load(const char *path, mqtt_spool_take take, void *ctx, mqtt_spool_result *res, char *err, size_t cap)
{
    memset(res, 0, sizeof *res);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return PLCIO_OK;
        snprintf(err, cap, "cannot read: %s", strerror(errno));
        return PLCIO_EIO;
    }
    struct stat sb;
    uint64_t size = fstat(fileno(f), &sb) == 0 ? (uint64_t)sb.st_size : 0;
    char magic[8];
    size_t got = fread(magic, 1, 8, f);
    int rc;
    if (got == 0) {
        rc = PLCIO_OK; /* an empty file: made, never written */
    } else if (got == 8 && !memcmp(magic, magic2, 8)) {
        rc = load_v2(f, size, take, ctx, res);
    } else if (got == 8 && !memcmp(magic, magic1, 8)) {
        rc = load_v1(f, take, ctx, res);
    } else {
        snprintf(err, cap, "not a plcio MQTT queue file (remove it to start without it)");
        rc = PLCIO_EPROTO;
    }
    (void)fclose(f); /* read only */
    if (rc == PLCIO_ENOMEM) snprintf(err, cap, "out of memory");
    return rc;
}

/* ---- writing ---- */

int mqtt_spool_open(const char *path, mqtt_spool **out)
{
    *out = NULL;
    mqtt_spool *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return PLCIO_ENOMEM;
    }
    s->fd = -1;
    *out = s;
    return PLCIO_OK;
}

void mqtt_spool_close(mqtt_spool *s)
{
    if (!s) return;
    if (s->sy.started) { /* waits for a sync under way: what was written reaches the disk */
        pthread_mutex_lock(&s->sy.lock);
        s->sy.stop = true;
        pthread_cond_signal(&s->sy.cond);
        pthread_mutex_unlock(&s->sy.lock);
        pthread_join(s->sy.thread, NULL);
        if (s->sy.fd >= 0) (void)close(s->sy.fd); /* never taken: the stop came first */
        pthread_cond_destroy(&s->sy.cond);
        pthread_mutex_destroy(&s->sy.lock);
    }
    if (s->fd >= 0) (void)close(s->fd); /* everything that matters was synced or is reported by the caller */
    free(s->buf);
    free(s->path);
    free(s);
}

uint64_t mqtt_spool_records(const mqtt_spool *s) { return s->records; }
uint64_t mqtt_spool_first(const mqtt_spool *s) { return s->first; }
uint64_t mqtt_spool_end(const mqtt_spool *s) { return s->end; }
uint64_t mqtt_spool_bytes(const mqtt_spool *s) { return s->fd >= 0 ? s->size : 0; }

static bool buf_reserve(mqtt_spool *s, size_t more)
{
    if (s->buf_len + more <= s->buf_cap) return true;
    size_t cap = s->buf_cap ? s->buf_cap : 65536;
    while (cap < s->buf_len + more)
        cap *= 2;
    uint8_t *grown = realloc(s->buf, cap);
    if (!grown) return false;
    s->buf = grown;
    s->buf_cap = cap;
    return true;
}

int mqtt_spool_add(mqtt_spool *s, uint64_t seq, const mqtt_msg *g)
{
    size_t len = BODY_FIXED + g->topic_len + g->payload_len;
    if (!buf_reserve(s, REC_HEAD + len)) return PLCIO_ENOMEM;
    uint8_t *r = s->buf + s->buf_len;
    put32(r, (uint32_t)len);
    uint8_t *b = r + REC_HEAD;
    put64(b, seq);
    put16(b + 8, (uint16_t)g->topic_len);
    b[10] = g->qos;
    b[11] = g->retain ? 1 : 0;
    memcpy(b + BODY_FIXED, mqtt_msg_topic(g), g->topic_len);
    memcpy(b + BODY_FIXED + g->topic_len, mqtt_msg_payload(g), g->payload_len);
    put32(r + 4, record_crc(r, b, len));
    s->buf_len += REC_HEAD + len;
    if (!s->pending) s->pending_first = seq;
    s->pending_end = seq + 1;
    s->pending++;
    return PLCIO_OK;
}

static int fail_io(const char *what, const char *path, char *err, size_t cap)
{
    snprintf(err, cap, "cannot %s %s: %s", what, path, strerror(errno));
    return PLCIO_EIO;
}

int mqtt_spool_write(mqtt_spool *s, char *err, size_t cap)
{
    if (!s->buf_len) return PLCIO_OK;
    if (s->broken) {
        mqtt_spool_discard(s);
        snprintf(err, cap, "%s needs to be written anew first", s->path);
        return PLCIO_EIO;
    }
    if (s->fd < 0) {
        s->fd = open(s->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (s->fd < 0) {
            s->buf_len = 0;
            s->pending = 0;
            return fail_io("create", s->path, err, cap);
        }
        uint8_t h[HEADER];
        header_bytes(h, 0);
        if (write_all(s->fd, h, HEADER, 0) != 0) {
            int rc = fail_io("write", s->path, err, cap);
            (void)close(s->fd);
            s->fd = -1;
            s->buf_len = 0;
            s->pending = 0;
            return rc;
        }
        s->size = HEADER;
        s->records = 0;
    }
    int rc = PLCIO_OK;
    if (write_all(s->fd, s->buf, s->buf_len, s->size) != 0) {
        rc = fail_io("write", s->path, err, cap);
        /* a torn tail would hide what is appended after it */
        if (ftruncate(s->fd, (off_t)s->size) != 0) s->broken = true;
    } else {
        if (!s->records) s->first = s->pending_first;
        s->size += s->buf_len;
        s->records += s->pending;
        s->end = s->pending_end;
        s->dirty = true;
    }
    s->buf_len = 0;
    s->pending = 0;
    return rc;
}

bool mqtt_spool_broken(const mqtt_spool *s) { return s->broken; }

int mqtt_spool_mark_sent(mqtt_spool *s, uint64_t sent, char *err, size_t cap)
{
    if (s->fd < 0 || sent == s->sent_mark) return PLCIO_OK;
    uint8_t h[HEADER];
    header_bytes(h, sent);
    if (write_all(s->fd, h + 8, 12, 8) != 0) return fail_io("write", s->path, err, cap);
    s->sent_mark = sent;
    s->dirty = true;
    return PLCIO_OK;
}

static void *syncer_run(void *arg)
{
    syncer *y = arg;
    pthread_mutex_lock(&y->lock);
    while (!y->stop || y->fd >= 0) {
        if (y->fd < 0) {
            pthread_cond_wait(&y->cond, &y->lock);
            continue;
        }
        int fd = y->fd;
        y->fd = -1;
        pthread_mutex_unlock(&y->lock);
        int rc = fdatasync(fd);
        int e = errno;
        (void)close(fd); /* a dup: the spool's own descriptor stays open */
        pthread_mutex_lock(&y->lock);
        if (rc != 0) y->err_no = e;
        y->busy = false;
    }
    pthread_mutex_unlock(&y->lock);
    return NULL;
}

static bool syncer_start(mqtt_spool *s)
{
    syncer *y = &s->sy;
    if (y->started) return true;
    y->fd = -1;
    pthread_mutex_init(&y->lock, NULL);
    pthread_cond_init(&y->cond, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the program's threads */
    y->started = pthread_create(&y->thread, NULL, syncer_run, y) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!y->started) {
        pthread_cond_destroy(&y->cond);
        pthread_mutex_destroy(&y->lock);
    }
    return y->started;
}

int mqtt_spool_sync(mqtt_spool *s, char *err, size_t cap)
{
    if (s->fd < 0 || !s->dirty) return PLCIO_OK;
    int fd = syncer_start(s) ? fcntl(s->fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd < 0) { /* no thread or no descriptor to spare: here, then */
        s->dirty = false;
        return fdatasync(s->fd) == 0 ? PLCIO_OK : fail_io("sync", s->path, err, cap);
    }
    syncer *y = &s->sy;
    pthread_mutex_lock(&y->lock);
    int failed = y->err_no;
    y->err_no = 0;
    bool busy = y->busy;
    if (!busy) {
        y->fd = fd;
        y->busy = true;
        s->dirty = false;
        pthread_cond_signal(&y->cond);
    }
    pthread_mutex_unlock(&y->lock);
    if (busy) (void)close(fd); /* the last sync is still under way: this one comes at the next call */
    if (failed) {
        errno = failed;
        return fail_io("sync", s->path, err, cap);
    }
    return PLCIO_OK;
}

bool mqtt_spool_dirty(const mqtt_spool *s) { return s->fd >= 0 && s->dirty; }

int mqtt_spool_clear(mqtt_spool *s, char *err, size_t cap)
{
    s->buf_len = 0;
    s->pending = 0;
    if (s->fd < 0 || !s->records) return PLCIO_OK;
    uint8_t h[HEADER];
    header_bytes(h, 0);
    /* the header first: records left by a failed truncate are then sent at most twice, never lost */
    if (ftruncate(s->fd, HEADER) != 0 || write_all(s->fd, h, HEADER, 0) != 0) {
        s->broken = true;
        return fail_io("truncate", s->path, err, cap);
    }
    s->size = HEADER;
    s->records = 0;
    s->first = s->end;
    s->sent_mark = 0;
    s->dirty = true;
    return PLCIO_OK;
}

void mqtt_spool_discard(mqtt_spool *s)
{
    s->buf_len = 0;
    s->pending = 0;
}

static int sync_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir) return -1;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, strlen(dir) + 1, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    (void)close(fd); /* read only */
    return rc;
}

int mqtt_spool_replace(mqtt_spool *s, char *err, size_t cap)
{
    if (s->fd >= 0) (void)close(s->fd); /* replaced below: its content is what we rewrite */
    s->fd = -1;
    s->size = 0;
    s->records = 0;
    s->sent_mark = 0;
    s->dirty = false;
    s->broken = false;
    if (!s->pending) {
        s->buf_len = 0;
        if (remove(s->path) != 0 && errno != ENOENT) return fail_io("remove", s->path, err, cap);
        return PLCIO_OK;
    }
    size_t n = strlen(s->path) + 5;
    char *tmp = malloc(n);
    if (!tmp) return PLCIO_ENOMEM;
    snprintf(tmp, n, "%s.tmp", s->path);
    int rc = PLCIO_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    uint8_t h[HEADER];
    header_bytes(h, 0);
    if (fd < 0)
        rc = fail_io("create", tmp, err, cap);
    else if (write_all(fd, h, HEADER, 0) != 0 || write_all(fd, s->buf, s->buf_len, HEADER) != 0)
        rc = fail_io("write", tmp, err, cap);
    else if (fdatasync(fd) != 0)
        rc = fail_io("sync", tmp, err, cap);
    else if (rename(tmp, s->path) != 0)
        rc = fail_io("rename", tmp, err, cap);
    if (rc != PLCIO_OK) {
        if (fd >= 0) (void)close(fd); /* failed already: the error above is what matters */
        (void)remove(tmp);
        s->broken = true; /* the old file stays as it was: never append to it blindly */
    } else {
        (void)sync_dir(s->path); /* best effort: the data is synced; an old name may come back after a power loss */
        s->fd = fd;
        s->size = HEADER + s->buf_len;
        s->records = s->pending;
        s->first = s->pending_first;
        s->end = s->pending_end;
    }
    free(tmp);
    s->buf_len = 0;
    s->pending = 0;
    return rc;
}
