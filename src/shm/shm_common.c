/* Shared helpers of the shm writer and reader: names, locks, futex, the tag
 * directory entry codec, name lookup and value text/JSON. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "plcio/bytes.h"
#include "plcio/core.h"
#include "plcio/value.h"
#include "shm/shm_internal.h"
#include "tag/num_text.h"
#include "tag/tag_internal.h"

const char *plcio_shm_quality_name(int quality)
{
    static const char *const names[] = {"none", "good", "stale", "error"};
    return quality >= 0 && quality <= 3 ? names[quality] : "?";
}

bool shm_name_valid(const char *name)
{
    if (!name || name[0] != '/') return false;
    size_t n = strlen(name);
    return n >= 2 && n <= 200 && !strchr(name + 1, '/');
}

void shm_msg(char *msg, size_t cap, const char *fmt, ...)
{
    if (!msg || !cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

uint64_t shm_fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static int ofd_lock_cmd(int fd, int cmd, short type, uint64_t start, uint64_t len, struct flock *fl)
{
    memset(fl, 0, sizeof *fl);
    fl->l_type = type;
    fl->l_whence = SEEK_SET;
    fl->l_start = (off_t)start;
    fl->l_len = (off_t)len;
    return fcntl(fd, cmd, fl);
}

int shm_lock(int fd, uint64_t start, uint64_t len)
{
    struct flock fl;
    if (ofd_lock_cmd(fd, F_OFD_SETLK, F_WRLCK, start, len, &fl) == 0) return PLCIO_OK;
    return errno == EAGAIN || errno == EACCES ? PLCIO_EBUSY : PLCIO_EIO;
}

void shm_unlock(int fd, uint64_t start, uint64_t len)
{
    struct flock fl;
    (void)ofd_lock_cmd(fd, F_OFD_SETLK, F_UNLCK, start, len, &fl);
}

bool shm_locked_elsewhere(int fd, uint64_t start, uint64_t len)
{
    struct flock fl;
    if (ofd_lock_cmd(fd, F_OFD_GETLK, F_WRLCK, start, len, &fl) != 0) return false;
    return fl.l_type != F_UNLCK;
}

void shm_futex_wait(_Atomic uint32_t *word, uint32_t expected, int timeout_ms)
{
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    (void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, timeout_ms < 0 ? NULL : &ts, NULL, 0);
}

void shm_futex_wake_all(_Atomic uint32_t *word)
{
    (void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

bool shm_futex_add(_Atomic uint32_t *word, int delta)
{
    /* FUTEX_WAKE_OP waking nobody (nr_wake 0, nr_wake2 0 in the timeout
     * slot): its only effect is the atomic *word += delta, done by the
     * kernel with a full barrier. oparg is 12 bits, sign-extended. */
    int op = (int)FUTEX_OP(FUTEX_OP_ADD, (unsigned)delta & 0xFFFu, FUTEX_OP_CMP_EQ, 0);
    return syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_OP, 0, (void *)0, (uint32_t *)word, op) >= 0;
}

bool shm_pid_alive(uint32_t pid)
{
    if (pid == 0 || pid > INT_MAX) return false;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int shm_errno_to_plcio(int e)
{
    switch (e) {
    case ENOENT: return PLCIO_ENOTFOUND;
    case EACCES:
    case EPERM: return PLCIO_EACCESS;
    case ENOMEM: return PLCIO_ENOMEM;
    case EEXIST: return PLCIO_EEXIST;
    case EINVAL:
    case ENAMETOOLONG: return PLCIO_EINVAL;
    default: return PLCIO_EIO;
    }
}

int shm_reserve(int fd, const char *name, uint64_t size, char *msg, size_t cap)
{
    /* posix_fallocate returns the error number (it does not set errno); on
     * tmpfs it allocates the pages now, so later stores cannot fault. */
    int e = posix_fallocate(fd, 0, (off_t)size);
    if (e == 0) return PLCIO_OK;
    if (e == ENOSPC || e == EFBIG) {
        struct statvfs vfs;
        unsigned long long room = 0;
        if (fstatvfs(fd, &vfs) == 0) room = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
        shm_msg(msg, cap,
                "no room in /dev/shm for segment %s: it needs %llu bytes, %llu are free "
                "(enlarge /dev/shm or use fewer tags)",
                name, (unsigned long long)size, room);
        return PLCIO_ENOSPC;
    }
    shm_msg(msg, cap, "cannot allocate %llu bytes for segment %s in /dev/shm: %s", (unsigned long long)size, name,
            strerror(e));
    return e == ENOMEM ? PLCIO_ENOMEM : PLCIO_EIO;
}

int shm_read_at(int fd, uint64_t off, void *dst, size_t len)
{
    uint8_t *p = dst;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return PLCIO_EIO;
        if (n == 0) return PLCIO_ECLOSED; /* end of a truncated object */
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return PLCIO_OK;
}

bool shm_object_shrunk(int fd, uint64_t size)
{
    struct stat st;
    return fstat(fd, &st) != 0 || (uint64_t)st.st_size < size;
}

void shm_tag_store(uint8_t *entry, const shm_tag *t)
{
    memset(entry, 0, SHM_DIR_ENTRY_SIZE);
    memcpy(entry + SHM_D_NAME, t->name, strlen(t->name));
    uint16_t type = (uint16_t)t->type, length = (uint16_t)t->length;
    memcpy(entry + SHM_D_TYPE, &type, 2);
    memcpy(entry + SHM_D_LENGTH, &length, 2);
    entry[SHM_D_BIT] = (uint8_t)t->bit;
    entry[SHM_D_FLAGS] = t->writable ? SHM_TAG_WRITABLE : 0;
    memcpy(entry + SHM_D_OFFSET, &t->offset, 4);
    memcpy(entry + SHM_D_SIZE, &t->size, 4);
}

int shm_tag_load(const uint8_t *entry, uint32_t image_size, shm_tag *t, char *msg, size_t cap)
{
    const char *name = (const char *)entry + SHM_D_NAME;
    size_t n = strnlen(name, PLCIO_SHM_NAME_MAX + 1);
    if (n == 0 || n > PLCIO_SHM_NAME_MAX) {
        shm_msg(msg, cap, "tag name empty or not terminated within %d bytes", PLCIO_SHM_NAME_MAX + 1);
        return PLCIO_EPROTO;
    }
    memcpy(t->name, name, n);
    t->name[n] = '\0';
    uint16_t type, length;
    memcpy(&type, entry + SHM_D_TYPE, 2);
    memcpy(&length, entry + SHM_D_LENGTH, 2);
    memcpy(&t->offset, entry + SHM_D_OFFSET, 4);
    memcpy(&t->size, entry + SHM_D_SIZE, 4);
    t->bit = entry[SHM_D_BIT];
    t->writable = (entry[SHM_D_FLAGS] & SHM_TAG_WRITABLE) != 0;
    if (type >= PLCIO_TYPE_COUNT_) {
        shm_msg(msg, cap, "tag '%s': type %u unknown", t->name, (unsigned)type);
        return PLCIO_EPROTO;
    }
    t->type = (plcio_type)type;
    t->length = (t->type == PLCIO_TYPE_STRING || t->type == PLCIO_TYPE_WSTRING) ? length : 0;
    size_t want = plcio_type_size(t->type, t->length);
    if (want == 0 || want != t->size || (t->bit > 7) || (t->bit && t->type != PLCIO_TYPE_BOOL)) {
        shm_msg(msg, cap, "tag '%s': size %u / bit %u inconsistent with %s[%u]", t->name, (unsigned)t->size, t->bit,
                plcio_type_name(t->type), t->length);
        return PLCIO_EPROTO;
    }
    if ((uint64_t)t->offset + t->size > image_size) {
        shm_msg(msg, cap, "tag '%s': offset %u + size %u beyond the value image (%u bytes)", t->name,
                (unsigned)t->offset, (unsigned)t->size, (unsigned)image_size);
        return PLCIO_EPROTO;
    }
    return PLCIO_OK;
}

/* qsort has no context argument; the tag array is passed through this. */
static _Thread_local const shm_tag *sort_tags;

static int cmp_by_name(const void *a, const void *b)
{
    return strcmp(sort_tags[*(const size_t *)a].name, sort_tags[*(const size_t *)b].name);
}

size_t *shm_name_index_new(const shm_tag *tags, size_t count)
{
    size_t *order = malloc((count ? count : 1) * sizeof *order);
    if (!order) return NULL;
    for (size_t i = 0; i < count; i++)
        order[i] = i;
    sort_tags = tags;
    qsort(order, count, sizeof *order, cmp_by_name);
    sort_tags = NULL;
    return order;
}

int shm_name_index_find(const shm_tag *tags, const size_t *order, size_t count, const char *name, size_t *index)
{
    if (!name) return PLCIO_EINVAL;
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(tags[order[mid]].name, name);
        if (c == 0) {
            if (index) *index = order[mid];
            return PLCIO_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return PLCIO_ENOTFOUND;
}

static bool is_text_type(plcio_type t) { return t == PLCIO_TYPE_STRING || t == PLCIO_TYPE_WSTRING; }

size_t shm_value_text_bound(const shm_tag *t)
{
    /* UTF-8 of Latin-1 is 2 bytes per char; of UTF-16 at most 3 per unit. */
    if (t->type == PLCIO_TYPE_STRING) return 2u * t->length + 1;
    if (t->type == PLCIO_TYPE_WSTRING) return 3u * t->length + 1;
    return PLCIO_VALUE_TEXT_MAX;
}

int shm_value_text(const shm_tag *t, const uint8_t *raw, char *buf, size_t cap, size_t *len)
{
    plcio_value v;
    plcio_value_init(&v, t->type);
    if (is_text_type(t->type)) plcio_value_use_buffer(&v, buf, cap);
    int rc = value_decode_buf(&v, t->type, t->length, raw, t->size, t->bit, NULL, NULL, 0);
    if (rc != PLCIO_OK) {
        if (cap) buf[0] = '\0';
        if (len) *len = 0;
        return rc;
    }
    if (is_text_type(t->type)) {
        size_t n = 0;
        const char *s = plcio_value_text(&v, &n);
        if (s != buf) { /* inline text: copy out */
            if (n + 1 > cap) return PLCIO_ENOSPC;
            memmove(buf, s, n + 1);
        }
        if (len) *len = n;
        return PLCIO_OK;
    }
    return plcio_value_to_text(&v, buf, cap, len);
}

int shm_json_string(const char *s, size_t n, char *buf, size_t cap, size_t *pos)
{
    size_t p = *pos;
    if (p >= cap) return PLCIO_ENOSPC;
    buf[p++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (cap - p < 8) return PLCIO_ENOSPC;
        if (c == '"' || c == '\\') {
            buf[p++] = '\\';
            buf[p++] = (char)c;
        } else if (c < 0x20) {
            p += (size_t)snprintf(buf + p, cap - p, "\\u%04x", c);
        } else {
            buf[p++] = (char)c;
        }
    }
    if (cap - p < 2) return PLCIO_ENOSPC;
    buf[p++] = '"';
    *pos = p;
    return PLCIO_OK;
}

static bool is_json_number_type(plcio_type t)
{
    switch (t) {
    case PLCIO_TYPE_BYTE:
    case PLCIO_TYPE_WORD:
    case PLCIO_TYPE_DWORD:
    case PLCIO_TYPE_LWORD:
    case PLCIO_TYPE_SINT:
    case PLCIO_TYPE_USINT:
    case PLCIO_TYPE_INT:
    case PLCIO_TYPE_UINT:
    case PLCIO_TYPE_DINT:
    case PLCIO_TYPE_UDINT:
    case PLCIO_TYPE_LINT:
    case PLCIO_TYPE_ULINT:
    case PLCIO_TYPE_REAL:
    case PLCIO_TYPE_LREAL: return true;
    default: return false;
    }
}

/* REAL and LREAL through the shortest round-trip formatter (num_text.h):
 * the engine renders one per changed value. true if t is one of them. */
static bool float_json(const shm_tag *t, const uint8_t *raw, char *buf, size_t cap, size_t *pos, int *rc)
{
    char text[NUM_TEXT_MAX];
    size_t n;
    if (t->type == PLCIO_TYPE_REAL) {
        float f = plcio_get_f32be(raw);
        n = isfinite(f) ? num_text_f32(f, text) : (size_t)snprintf(text, sizeof text, "null");
    } else if (t->type == PLCIO_TYPE_LREAL) {
        double d = plcio_get_f64be(raw);
        n = isfinite(d) ? num_text_f64(d, text) : (size_t)snprintf(text, sizeof text, "null");
    } else {
        return false;
    }
    if (cap - *pos < n + 1) {
        *rc = PLCIO_ENOSPC;
    } else {
        memcpy(buf + *pos, text, n);
        *pos += n;
        *rc = PLCIO_OK;
    }
    return true;
}

int shm_value_json(const shm_tag *t, const uint8_t *raw, char *buf, size_t cap, size_t *pos, char *scratch,
                   size_t scratch_cap)
{
    if (!scratch || !scratch_cap) return PLCIO_EINVAL;
    int frc;
    if (float_json(t, raw, buf, cap, pos, &frc)) return frc;
    size_t n = 0;
    int rc = shm_value_text(t, raw, scratch, scratch_cap, &n);
    const char *lit = NULL;
    if (rc != PLCIO_OK)
        lit = "null";
    else if (t->type == PLCIO_TYPE_BOOL)
        lit = scratch;
    else if (is_json_number_type(t->type)) {
        /* nan, inf and -inf have no JSON form */
        if (t->type == PLCIO_TYPE_REAL || t->type == PLCIO_TYPE_LREAL) {
            double d = t->type == PLCIO_TYPE_REAL ? (double)plcio_get_f32be(raw) : plcio_get_f64be(raw);
            lit = isfinite(d) ? scratch : "null";
        } else {
            lit = scratch;
        }
    }
    if (!lit) return shm_json_string(scratch, n, buf, cap, pos);
    size_t l = strlen(lit);
    if (cap - *pos < l + 1) return PLCIO_ENOSPC;
    memcpy(buf + *pos, lit, l); // NOLINT(bugprone-not-null-terminated-result): JSON built on, ended by the caller
    *pos += l;
    return PLCIO_OK;
}

size_t shm_json_tag_bound(const shm_tag *t)
{
    /* escaped name; the value: numbers and booleans are short, text may be
     * escaped six bytes per byte; the fixed words, quality, error name, ts */
    size_t value =
        is_json_number_type(t->type) || t->type == PLCIO_TYPE_BOOL ? NUM_TEXT_MAX : 6 * shm_value_text_bound(t) + 2;
    /* the name as shm_json_string escapes it (it never changes), and the
     * 8 bytes that function wants free at every character: a bound of 6
     * bytes per character was most of an engine's fragment arena */
    size_t name = 2 + 8;
    for (const unsigned char *c = (const unsigned char *)t->name; *c; c++)
        name += *c == '"' || *c == '\\' ? 2 : *c < 0x20 ? 6 : 1;
    return name + value + 100;
}

// NOLINTBEGIN(bugprone-not-null-terminated-result): JSON text built on, ended by the caller
int shm_json_tag_name(const shm_tag *t, char *buf, size_t cap, size_t *pos)
{
    int rc = shm_json_string(t->name, strlen(t->name), buf, cap, pos);
    if (rc != PLCIO_OK || cap - *pos < 16) return PLCIO_ENOSPC;
    memcpy(buf + *pos, ":{\"value\":", 10);
    *pos += 10;
    return PLCIO_OK;
}

int shm_json_tag_head(const shm_tag *t, const uint8_t *raw, uint8_t quality, int32_t error, uint64_t changed_ns,
                      char *buf, size_t cap, size_t *pos, char *scratch, size_t scratch_cap)
{
    int rc = shm_json_tag_name(t, buf, cap, pos);
    return rc == PLCIO_OK ? shm_json_tag_body(t, raw, quality, error, changed_ns, buf, cap, pos, scratch, scratch_cap)
                          : rc;
}

int shm_json_tag_body(const shm_tag *t, const uint8_t *raw, uint8_t quality, int32_t error, uint64_t changed_ns,
                      char *buf, size_t cap, size_t *pos, char *scratch, size_t scratch_cap)
{
    if (quality == PLCIO_SHM_QUALITY_NONE) {
        if (cap - *pos < 5) return PLCIO_ENOSPC;
        memcpy(buf + *pos, "null", 4);
        *pos += 4;
    } else {
        int rc = shm_value_json(t, raw, buf, cap, pos, scratch, scratch_cap);
        if (rc != PLCIO_OK) return rc;
    }
    /* ,"quality":"Q"[,"error":"E"],"ts": without printf: this runs for every changed tag */
    const char *q = plcio_shm_quality_name(quality), *e = error ? plcio_err_name(error) : NULL;
    size_t ql = strlen(q), el = e ? strlen(e) : 0;
    if (cap - *pos < 12 + ql + (e ? 11 + el : 0) + 7 + 24) return PLCIO_ENOSPC;
    char *p = buf + *pos;
    memcpy(p, ",\"quality\":\"", 12);
    memcpy(p + 12, q, ql);
    p += 12 + ql;
    if (e) {
        memcpy(p, "\",\"error\":\"", 11);
        memcpy(p + 11, e, el);
        p += 11 + el;
    }
    memcpy(p, "\",\"ts\":", 7);
    p += 7;
    *pos = (size_t)(p - buf);
    *pos += num_text_u64(changed_ns / PLCIO_NS_PER_MS, buf + *pos);
    return PLCIO_OK;
}
// NOLINTEND(bugprone-not-null-terminated-result)
