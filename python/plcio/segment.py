"""A reader and writer of one plcio shared-memory segment, with the reach of
the C reader (include/plcio/shm.h): attach with full validation, consistent
snapshots (seqlock), waiting for updates (futex), status, the JSON rendition
and writes by name through the write-request ring.

The byte format is src/shm/shm_format.h (docs/shm.md). Nothing read from the
segment is trusted: the header and the directory are validated once at open
and copied; afterwards only those copies decide offsets and lengths, and every
index or length read later from shared memory is range-checked before use.
"""

import datetime as _dt
import json as _json
import mmap
import os
import struct
import threading
import time

from . import _sys
from . import errors as _e
from . import values as _v

# ---- format constants (src/shm/shm_format.h) ----
MAGIC = b"PLCIOSHM"
VERSION = 3
ENDIAN = 0x01020304
HEADER_SIZE = 256

H_MAGIC, H_VERSION, H_HEADER_SIZE, H_TOTAL_SIZE, H_LAYOUT_HASH = 0, 8, 12, 16, 24
H_ENGINE_PID, H_STATE, H_CREATED_NS, H_HEARTBEAT_MONO, H_HEARTBEAT_REAL = 32, 36, 40, 48, 56
H_UPDATE_SEQ, H_WAITERS, H_GENERATION, H_TAG_COUNT, H_DIR_OFFSET = 64, 68, 72, 80, 84
H_DIR_ENTRY_SIZE, H_IMAGE_SIZE, H_TAGSTATE_SIZE, H_SNAP_COUNT, H_SNAP_OFFSET = 88, 92, 96, 100, 104
H_SNAP_STRIDE, H_SNAP_LATEST, H_JSON_COUNT, H_JSON_OFFSET, H_JSON_STRIDE = 108, 112, 116, 120, 124
H_JSON_LATEST, H_RING_KEY, H_RING_SLOTS, H_ENDIAN = 128, 136, 144, 152

DIR_ENTRY_SIZE = 144
D_NAME, D_TYPE, D_LENGTH, D_BIT, D_FLAGS, D_OFFSET, D_SIZE = 0, 128, 130, 132, 133, 136, 140
TAG_WRITABLE = 1
NAME_MAX = 127

S_SEQ, S_GENERATION, S_PUBLISHED_REAL, S_PUBLISHED_MONO, S_HEAD = 0, 8, 16, 24, 64
TAGSTATE_SIZE = 32
T_QUALITY, T_ERROR, T_CHANGED, T_READ, T_QUALITY_CHANGED = 0, 4, 8, 16, 24
J_SEQ, J_GENERATION, J_LENGTH, J_HEAD = 0, 8, 16, 32

# the write ring: its own object, NAME + ".ring" (docs/shm.md "Write ring")
RING_SUFFIX, RING_MAGIC, R_HEADER_SIZE = ".ring", b"PLCIORNG", 128
R_VERSION, R_HEADER_BYTES, R_TOTAL_SIZE, R_KEY, R_ENGINE_PID, R_STATE = 8, 12, 16, 24, 32, 36
R_SLOTS, R_SLOT_SIZE, R_VALUE_CAP, R_SHARE, R_RESERVE, R_ENDIAN = 40, 44, 48, 52, 56, 60
R_DONE_SEQ, R_DONE_WAITERS, R_FREE_SEQ, R_FREE_WAITERS, R_SUBMIT_SEQ, R_ENGINE_WAITING = 64, 68, 72, 76, 80, 84
W_CTL, W_FORMAT, W_VALUE_LEN, W_RESULT, W_NAME_LEN, W_SUBMITTED, W_COMPLETED = 0, 8, 12, 16, 20, 24, 32
W_NAME, W_MESSAGE, W_HEAD = 64, 192, 320
MESSAGE_MAX = 127
SLOT_FREE, SLOT_CLAIMED, SLOT_SUBMITTED, SLOT_BUSY, SLOT_DONE, SLOT_FAILED = range(6)
FORMAT_TEXT, FORMAT_RAW = 0, 1
STATE_INIT, STATE_READY, STATE_CLOSED = 0, 1, 2
SNAP_BUFFERS = JSON_BUFFERS = 2
MAX_SEGMENT = 0xFFFFFFFF - 4096

QUALITY_NAMES = ("none", "good", "stale", "error")
READ_RETRIES = 10000
LIVENESS_SLICE = 0.1  # seconds between liveness checks while waiting

_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")
_U64 = struct.Struct("=Q")
_TAGSTATE = struct.Struct("=B3xiQQQ")

_stamp_lock = threading.Lock()
_stamp_last = 0


def _submit_stamp():
    """CLOCK_MONOTONIC ns, strictly increasing within this process: the engine
    takes a process's write requests in the order of these stamps, so two
    submits within one clock tick must not tie."""
    global _stamp_last
    with _stamp_lock:
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        _stamp_last = now if now > _stamp_last else _stamp_last + 1
        return _stamp_last


def _align8(v):
    return (v + 7) & ~7


def _fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def shm_name(name):
    """The shm_open name for `name`: "tank" -> "/tank" (as the sync engine
    names segments), "/plcio-tank" stays. Error(EINVAL) for a bad name."""
    if not isinstance(name, str) or not name:
        raise _e.Error(_e.EINVAL, "bad shared memory name %r (want NAME or /NAME)" % (name,))
    full = name if name.startswith("/") else "/" + name
    if len(full) < 2 or len(full.encode()) > 200 or "/" in full[1:] or "\0" in full:
        raise _e.Error(_e.EINVAL, "bad shared memory name %r (want /NAME, no other '/')" % (name,))
    return full


class Tag:
    """One directory entry."""
    __slots__ = ("index", "name", "type", "type_name", "length", "bit", "offset", "size", "writable")

    def __init__(self, index, name, type_, length, bit, offset, size, writable=False):
        self.index, self.name, self.type, self.length = index, name, type_, length
        self.type_name = _v.TYPE_NAMES[type_]
        self.bit, self.offset, self.size = bit, offset, size
        self.writable = writable  # as the directory says; the engine decides

    def __repr__(self):
        t = self.type_name + ("[%d]" % self.length if self.type in (_v.STRING, _v.WSTRING) else "")
        return "Tag(%r, %s, offset=%d, size=%d%s)" % (self.name, t, self.offset, self.size,
                                                     ", bit=%d" % self.bit if self.type == _v.BOOL else "")


def _utc(ns):
    if not ns:
        return None
    return _dt.datetime.fromtimestamp(ns / 1e9, _dt.timezone.utc)


class Value:
    """A tag's value in one snapshot, with its quality and timestamps.
    value: the Python value (None while quality is "none" or when the bytes do
    not decode); text: the C library's value text ("" then); error: the
    plcio_err of the last failed read (0 if none); decode_error: why the bytes
    did not decode (0 if they did); changed_ns / read_ns: CLOCK_REALTIME ns of
    the last change of the value (the first value counts; a quality change
    does not move it) / of the last read; quality_changed_ns: of the last
    change of quality or error (0: never)."""
    __slots__ = ("name", "type_name", "value", "text", "quality", "error", "decode_error", "changed_ns",
                 "read_ns", "raw", "quality_changed_ns")

    def __init__(self, name, type_name, value, text, quality, error, decode_error, changed_ns, read_ns, raw,
                 quality_changed_ns=0):
        self.name, self.type_name, self.value, self.text = name, type_name, value, text
        self.quality, self.error, self.decode_error = quality, error, decode_error
        self.changed_ns, self.read_ns, self.raw = changed_ns, read_ns, raw
        self.quality_changed_ns = quality_changed_ns

    @property
    def error_name(self):
        return _e.err_name(self.error) if self.error else ""

    @property
    def good(self):
        return self.quality == "good"

    @property
    def changed(self):
        return _utc(self.changed_ns)

    @property
    def read_at(self):
        return _utc(self.read_ns)

    def as_dict(self):
        """JSON-ready: value (numbers, booleans and strings as they are, every
        other type as its text), text, quality, error, changed, read and
        quality_changed (ns)."""
        v = self.value
        if not isinstance(v, (bool, int, float, str, type(None))):
            v = self.text
        elif isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            v = None
        d = {"value": v, "text": self.text, "type": self.type_name, "quality": self.quality,
             "changed": self.changed_ns, "read": self.read_ns, "quality_changed": self.quality_changed_ns}
        if self.error:
            d["error"] = self.error_name
        if self.decode_error:
            d["decode_error"] = _e.err_name(self.decode_error)
        return d

    def __repr__(self):
        extra = ", error=%s" % self.error_name if self.error else ""
        return "Value(%r, %r, quality=%r%s)" % (self.name, self.value, self.quality, extra)


class Status:
    """plcio_shm_status: the engine behind the segment."""
    __slots__ = ("version", "layout_hash", "engine_pid", "engine_alive", "closed", "heartbeat_age",
                 "generation", "created_ns", "tag_count", "image_size", "write_slots", "segment_size")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    def __repr__(self):
        return "Status(engine_pid=%d, engine_alive=%s, closed=%s, heartbeat_age=%.3f, generation=%d)" % (
            self.engine_pid, self.engine_alive, self.closed, self.heartbeat_age, self.generation)


class WriteResult:
    """The answer to a write request. ok: the engine wrote the value (the PLC
    acknowledged it). state: "done", "failed" or "pending" (no answer within
    the timeout: the request stays queued; wait_write(id) again). error /
    error_name: why it failed (0 / "" when done); message: the engine's reason."""
    __slots__ = ("id", "state", "error", "message")

    def __init__(self, id_, state, error, message):
        self.id, self.state, self.error, self.message = id_, state, error, message

    @property
    def ok(self):
        return self.state == "done"

    @property
    def error_name(self):
        return _e.err_name(self.error) if self.error else ""

    def __bool__(self):
        return self.ok

    def __repr__(self):
        if self.ok:
            return "WriteResult(ok, id=%#x)" % self.id
        return "WriteResult(%s, %s, %r, id=%#x)" % (self.state, self.error_name, self.message, self.id)


_BULK_CODES = {_v.BOOL: "B", _v.BYTE: "B", _v.WORD: "H", _v.DWORD: "I", _v.LWORD: "Q", _v.SINT: "b", _v.USINT: "B",
               _v.INT: "h", _v.UINT: "H", _v.DINT: "i", _v.UDINT: "I", _v.LINT: "q", _v.ULINT: "Q", _v.REAL: "f",
               _v.LREAL: "d"}


class _ReadPlan:
    def __init__(self, tags):
        self.names = tuple(t.name for t in tags)
        fixed = sorted((t for t in tags if t.type in _BULK_CODES), key=lambda t: t.offset)
        self.others = tuple(t for t in tags if t.type not in _BULK_CODES)
        fmt, pos, ok = [">"], 0, True
        for t in fixed:
            if t.offset < pos:  # overlapping entries (only a hand-made directory): decode one by one
                ok = False
                break
            if t.offset > pos:
                fmt.append("%dx" % (t.offset - pos))
            fmt.append(_BULK_CODES[t.type])
            pos = t.offset + t.size
        if not ok:
            fixed, self.others = [], tuple(tags)
        self.bulk = struct.Struct("".join(fmt)) if fixed else None
        self.bulk_names = tuple(t.name for t in fixed)
        self.bools = tuple((t.name, t.bit) for t in fixed if t.type == _v.BOOL)
        self.ordered = not self.others and self.bulk_names == self.names


class _Mapping:
    """One attached, validated segment object (fd + mapping + directory)."""

    def __init__(self, name):
        self.name = name
        self.fd = -1
        self.mm = None
        self.atomics = None
        try:
            self._map()
            self._check_identity()
            self._check_geometry()
            self._load_directory()
        except BaseException:
            self.close()
            raise

    # -- attach --
    def _map(self):
        path = "/dev/shm/" + self.name[1:]
        try:  # read-only, always: reading never changes the image (writes go through NAME.ring)
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise _e.SegmentNotFound(_e.ENOTFOUND, "shared memory %s: No such file or directory (no engine "
                                                   "publishes under this name: is it running?)" % self.name)
        except OSError as exc:
            code = _e.EACCESS if isinstance(exc, PermissionError) else _e.EIO
            raise _e.Error(code, "shared memory %s: %s" % (self.name, exc.strerror))
        st = os.fstat(self.fd)
        self.ino = (st.st_dev, st.st_ino)
        if st.st_size < HEADER_SIZE:
            if st.st_size == 0:
                raise _e.SegmentInitialising(_e.EAGAIN, "shared memory %s: being initialised" % self.name)
            raise _e.CorruptSegment(_e.EPROTO, "shared memory %s: too small for a header" % self.name)
        self.size = self.total_size = st.st_size
        self.mm = mmap.mmap(self.fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ)
        self.atomics = _sys.make_atomics(self.fd, HEADER_SIZE, False)  # futex words of the header
        # Validated from a private copy: nobody can change it between the
        # checks, and a truncation cannot fault a read.
        self.head = self.pread(0, HEADER_SIZE)

    # Reads of the segment go through os.pread on its fd: on an object
    # someone truncated it returns short (SegmentClosed here), where a load
    # from the mapping would kill the process with SIGBUS. The (read-only)
    # mapping serves only the futex waits (the kernel answers EFAULT, never a
    # signal). The write ring (_Ring) checks its object's size first.
    def pread(self, off, n):
        data = os.pread(self.fd, n, off)
        if len(data) != n:
            raise self.truncated()
        return data

    def truncated(self):
        return _e.SegmentClosed(_e.ECLOSED, "segment %s was truncated (someone shrank the object): the engine "
                                            "moves to a new one; reopen()" % self.name)

    def shrunk(self):
        """True if the object is now shorter than the segment (truncated)."""
        try:
            return os.fstat(self.fd).st_size < self.total_size
        except OSError:
            return True

    def h32(self, off):
        return _U32.unpack_from(self.head, off)[0]

    def h64(self, off):
        return _U64.unpack_from(self.head, off)[0]

    def r32(self, off):
        """A fresh u32 of the segment, through pread."""
        return _U32.unpack(self.pread(off, 4))[0]

    def r64(self, off):
        return _U64.unpack(self.pread(off, 8))[0]

    def _check_identity(self):
        magic = self.head[0:8]
        if magic == b"\0" * 8:
            raise _e.SegmentInitialising(_e.EAGAIN, "segment is being initialised")
        if magic != MAGIC:
            raise _e.CorruptSegment(_e.EPROTO, "not a plcio segment (bad magic)")
        state = self.h32(H_STATE)
        if state == STATE_INIT:
            raise _e.SegmentInitialising(_e.EAGAIN, "segment is being initialised")
        if state == STATE_CLOSED:
            raise _e.SegmentClosed(_e.ECLOSED, "segment was closed by its engine")
        if state != STATE_READY:
            raise _e.CorruptSegment(_e.EPROTO, "bad segment state %d" % state)
        version = self.h32(H_VERSION)
        if version != VERSION:
            raise _e.UnsupportedVersion(_e.EUNSUPPORTED, "segment format version %d, this library reads %d "
                                        "(engine and reader come from different plcio releases: use the same one)"
                                        % (version, VERSION))
        if self.h32(H_ENDIAN) != ENDIAN:
            raise _e.UnsupportedVersion(_e.EPROTO, "segment written in another byte order (endian word %#010x)"
                                        % self.h32(H_ENDIAN))
        if (self.h32(H_HEADER_SIZE) != HEADER_SIZE or self.h32(H_DIR_ENTRY_SIZE) != DIR_ENTRY_SIZE or
                self.h32(H_TAGSTATE_SIZE) != TAGSTATE_SIZE or self.h32(H_SNAP_COUNT) != SNAP_BUFFERS):
            raise _e.CorruptSegment(_e.EPROTO, "header constants (byte order, entry sizes, buffer count) are wrong")

    def _check_geometry(self):
        u32 = self.h32
        self.tag_count, self.image_size = u32(H_TAG_COUNT), u32(H_IMAGE_SIZE)
        self.dir_offset, self.snap_offset, self.snap_stride = u32(H_DIR_OFFSET), u32(H_SNAP_OFFSET), u32(H_SNAP_STRIDE)
        self.json_count, self.json_offset, self.json_stride = u32(H_JSON_COUNT), u32(H_JSON_OFFSET), u32(H_JSON_STRIDE)
        self.ring_slots, self.ring_key = u32(H_RING_SLOTS), self.h64(H_RING_KEY)
        self.total_size = self.h64(H_TOTAL_SIZE)
        dir_end = self.dir_offset + self.tag_count * DIR_ENTRY_SIZE
        state_end = S_HEAD + _align8(self.image_size) + self.tag_count * TAGSTATE_SIZE
        snap_end = self.snap_offset + SNAP_BUFFERS * self.snap_stride
        json_end = self.json_offset + self.json_count * self.json_stride
        a8 = lambda v: v & 7 == 0  # noqa: E731
        what = None
        if self.total_size > self.size or self.total_size < HEADER_SIZE:
            what = "total size disagrees with the object size"
        elif self.image_size > MAX_SEGMENT:
            what = "value image size out of range"
        elif self.dir_offset < HEADER_SIZE or not a8(self.dir_offset) or dir_end > self.snap_offset:
            what = "tag directory overlaps the header or the snapshots"
        elif not a8(self.snap_offset) or not a8(self.snap_stride) or self.snap_stride < state_end:
            what = "snapshot buffer too small for the image and tag states"
        elif self.json_count not in (0, JSON_BUFFERS):
            what = "bad JSON buffer count"
        elif self.json_count and (self.json_offset < snap_end or not a8(self.json_offset) or
                                  not a8(self.json_stride) or self.json_stride <= J_HEAD):
            what = "JSON buffers misplaced"
        elif self.ring_slots > 65536:
            what = "write ring slot count out of range"
        elif snap_end > self.total_size or json_end > self.total_size:
            what = "a section ends beyond the segment"
        if what:
            raise _e.CorruptSegment(_e.EPROTO, "corrupt segment: " + what)
        self.tagstate_offset = S_HEAD + _align8(self.image_size)

    def _load_directory(self):
        start = self.dir_offset
        raw = self.pread(start, self.tag_count * DIR_ENTRY_SIZE)
        self.layout_hash = self.h64(H_LAYOUT_HASH)
        if _fnv1a64(raw) != self.layout_hash:
            raise _e.CorruptSegment(_e.EPROTO, "corrupt segment: tag directory does not match the layout hash")
        tags = []
        for i in range(self.tag_count):
            tags.append(self._load_tag(i, raw[i * DIR_ENTRY_SIZE:(i + 1) * DIR_ENTRY_SIZE]))
        self.tags = tuple(tags)
        self.index = {}
        for t in tags:
            self.index.setdefault(t.name, t.index)

    def _load_tag(self, i, entry):
        def bad(why):
            return _e.CorruptSegment(_e.EPROTO, "corrupt segment: directory entry %d: %s" % (i, why))
        n = entry.find(b"\0", 0, NAME_MAX + 1)
        if n <= 0:
            raise bad("tag name empty or not terminated within %d bytes" % (NAME_MAX + 1))
        name = entry[:n].decode("utf-8", "surrogateescape")
        type_, length = struct.unpack_from("=HH", entry, D_TYPE)
        bit = entry[D_BIT]
        offset, size = struct.unpack_from("=II", entry, D_OFFSET)
        if type_ >= _v.TYPE_COUNT:
            raise bad("tag '%s': type %d unknown" % (name, type_))
        if type_ not in (_v.STRING, _v.WSTRING):
            length = 0
        want = _v.type_size(type_, length)
        if want == 0 or want != size or bit > 7 or (bit and type_ != _v.BOOL):
            raise bad("tag '%s': size %d / bit %d inconsistent with %s[%d]" % (name, size, bit,
                                                                                _v.TYPE_NAMES[type_], length))
        if offset + size > self.image_size:
            raise bad("tag '%s': offset %d + size %d beyond the value image (%d bytes)" % (
                name, offset, size, self.image_size))
        return Tag(i, name, type_, length, bit, offset, size, bool(entry[D_FLAGS] & TAG_WRITABLE))

    def read_plan(self):
        """How read() decodes this directory: one big-endian struct for every
        fixed-size number and BOOL byte (in offset order, gaps skipped), the
        other tags one by one. Built on first use."""
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = self._plan = _ReadPlan(self.tags)
        return plan

    # -- state --
    def closed(self):
        """Closed by the engine, the name unlinked (engine replaced) or the
        object truncated (the engine moves to a new one)."""
        try:
            st = os.fstat(self.fd)
            if st.st_nlink == 0 or st.st_size < self.total_size:
                return True
            return self.r32(H_STATE) != STATE_READY
        except (OSError, _e.SegmentClosed):
            return True

    def engine_alive(self):
        return _sys.ofd_locked_elsewhere(self.fd, 0, 1)

    def engine_pid(self):
        """The engine's pid now (0 if the object was truncated)."""
        try:
            return self.r32(H_ENGINE_PID)
        except _e.SegmentClosed:
            return 0

    def replaced(self):
        """True if the name now names another object than ours."""
        try:
            st = os.stat("/dev/shm/" + self.name[1:])
        except OSError:
            return False
        return (st.st_dev, st.st_ino) != self.ino

    def close(self):
        ring = self.__dict__.pop("ring", None)
        if ring is not None:
            ring.close()
        if self.atomics is not None:
            self.atomics.release()
            self.atomics = None
        if self.mm is not None:
            try:
                self.mm.close()
            except BufferError:
                pass  # a caller still holds a view; the mapping goes with the last reference
            self.mm = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _Ring:
    """The write ring NAME.ring of one mapping: every change of a slot's
    control word is one compare-and-swap (docs/shm.md "Write ring"), never a
    plain store, which could pass through another value (struct.pack_into
    clears the field first)."""

    _CTL = struct.Struct("=Q")

    def __init__(self, m):
        self.name = m.name + RING_SUFFIX
        self.fd, self.mm, self.atomics = -1, None, None
        try:
            self._open(m)
        except BaseException:
            self.close()
            raise

    def _open(self, m):
        if not m.ring_key or not m.ring_slots:
            raise _e.Error(_e.EACCESS, "segment %s accepts no writes (it has no write ring)" % m.name)
        path = "/dev/shm/" + self.name[1:]
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except PermissionError as exc:
            raise _e.Error(_e.EACCESS, "no write access to %s (%s): reading does not allow writing; the engine's "
                                       "shm-write-mode and shm-write-group decide who may write" % (
                                           self.name, exc.strerror))
        except FileNotFoundError:
            raise _e.SegmentClosed(_e.ECLOSED, "%s has no write ring %s (engine gone?)" % (m.name, self.name))
        except OSError as exc:
            raise _e.Error(_e.EIO, "write ring %s: %s" % (self.name, exc.strerror))
        size = self.size = os.fstat(self.fd).st_size
        # The header is checked from a private copy (pread): a truncation
        # cannot fault the read, nobody can change it between the checks.
        head = os.pread(self.fd, R_HEADER_SIZE, 0)
        if size < R_HEADER_SIZE or len(head) != R_HEADER_SIZE:
            raise _e.CorruptSegment(_e.EPROTO, "write ring %s is being created or was truncated" % self.name)
        u32 = lambda off: _U32.unpack_from(head, off)[0]  # noqa: E731
        u64 = lambda off: _U64.unpack_from(head, off)[0]  # noqa: E731
        self.slots, self.slot_size, self.value_cap = u32(R_SLOTS), u32(R_SLOT_SIZE), u32(R_VALUE_CAP)
        self.share, self.reserve = u32(R_SHARE), u32(R_RESERVE)
        total = u64(R_TOTAL_SIZE)
        if head[0:8] != RING_MAGIC:
            raise _e.CorruptSegment(_e.EPROTO, "%s: not a plcio write ring (bad magic)" % self.name)
        if u32(R_VERSION) != VERSION:
            raise _e.UnsupportedVersion(_e.EUNSUPPORTED, "%s: write ring of format version %d, this library "
                                        "writes %d" % (self.name, u32(R_VERSION), VERSION))
        if u64(R_KEY) != m.ring_key or u32(R_STATE) != STATE_READY:
            raise _e.SegmentClosed(_e.ECLOSED, "%s belongs to another (closed or replaced) segment: reopen"
                                   % self.name)
        if (u32(R_ENDIAN) != ENDIAN or u32(R_HEADER_BYTES) != R_HEADER_SIZE or not 0 < self.slots <= 65536 or
                self.slot_size < W_HEAD + self.value_cap or self.slot_size & 7 or total > size or
                R_HEADER_SIZE + self.slots * self.slot_size > total or not 0 < self.share <= self.slots or
                self.reserve >= self.slots):
            raise _e.CorruptSegment(_e.EPROTO, "%s: write ring geometry is corrupt" % self.name)
        self.mm = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.atomics = _sys.make_atomics(self.fd, size, True)
        if self.atomics is None:
            raise _e.Error(_e.EUNSUPPORTED, "writes need ctypes and libatomic (compare-and-swap on the ring); "
                                            "reading works without them")
        self.next = (os.getpid() * 2654435761) % self.slots

    def close(self):
        if self.atomics is not None:
            self.atomics.release()
            self.atomics = None
        if self.mm is not None:
            try:
                self.mm.close()
            except BufferError:
                pass
            self.mm = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _off(self, i):
        return R_HEADER_SIZE + i * self.slot_size

    # A truncated ring must not be touched: a load or store on a page the
    # truncation took away kills the process with SIGBUS. Every use of the
    # mapping below comes right after truncated() or alive(); the moment
    # between the check and the access is a window a truncation can still
    # hit (docs/shm.md, "Robustness"). The sleeps, where the time is, change
    # the waiter count in the kernel (EFAULT, never a signal).
    def truncated(self):
        try:
            return os.fstat(self.fd).st_size < self.size
        except OSError:
            return True

    def alive(self):
        """Whole (size first), still behind its name, open, engine alive."""
        try:
            st = os.fstat(self.fd)
        except OSError:
            return False
        if st.st_nlink == 0 or st.st_size < self.size:
            return False
        if self.atomics.load(R_STATE) != STATE_READY:
            return False
        return _sys.ofd_locked_elsewhere(self.fd, 0, 1)

    def _bump(self, seq_off, waiters_off):
        a = self.atomics
        a.fetch_add(seq_off, 1)
        if a.load(waiters_off):
            a.futex_wake(seq_off)

    def _sleep(self, seq_off, waiters_off, seen, seconds):
        # The ring may be truncated while we sleep: the waiter count changes
        # in the kernel (a full barrier, as the seq_cst increment it replaces),
        # the futex compares the word itself.
        a = self.atomics
        if not a.kernel_add(waiters_off, 1):
            return
        try:
            a.futex_wait(seq_off, seen, seconds)
        finally:
            a.kernel_add(waiters_off, -1)

    def _try_claim(self, pid):
        """(slot, ctl) claimed; ("share", mine) when this process holds its
        share, or holds slots while only the reserve is free (waiting would
        not help: only its own collected answers free them); None: wait."""
        ctls = [self._CTL.unpack_from(self.mm, self._off(i))[0] for i in range(self.slots)]  # a hint only
        mine = sum(1 for c in ctls if c & 0xFF != SLOT_FREE and c >> 32 == pid)
        free = sum(1 for c in ctls if c & 0xFF == SLOT_FREE)
        if mine >= self.share or (mine and free <= self.reserve):
            return "share", mine
        n = self.slots
        for k in range(n):
            i = (self.next + k) % n
            ctl = ctls[i]
            if ctl & 0xFF != SLOT_FREE:
                continue
            ticket = ((ctl >> 8) + 1) & 0xFFFFFF or 1
            want = SLOT_CLAIMED | ticket << 8 | pid << 32
            if self.atomics.cas8(self._off(i), ctl, want):  # fails if the hint was stale: next slot
                self.next = (i + 1) % n
                return i, want
        return None

    def submit(self, name, fmt, data, deadline):
        raw_name = name.encode("utf-8", "surrogateescape")
        if len(data) > self.value_cap:
            raise _e.Error(_e.ENOSPC, "value for %s is %d bytes, a write slot holds %d" % (
                name, len(data), self.value_cap))
        if not 0 < len(raw_name) <= NAME_MAX:
            raise _e.Error(_e.EINVAL, "tag name %r is empty or longer than %d bytes" % (name, NAME_MAX))
        pid = os.getpid()
        while True:
            if not self.alive():
                if self.truncated():
                    raise _e.SegmentClosed(_e.ECLOSED, "write ring %s was truncated: the write was not submitted "
                                                       "(the engine moves to a new segment and ring: reopen)"
                                           % self.name)
                raise _e.SegmentClosed(_e.ECLOSED, "the engine behind %s is gone or closed: the write was not "
                                                   "submitted" % self.name)
            seen = self.atomics.load(R_FREE_SEQ)
            got = self._try_claim(pid)
            if got is not None and got[0] == "share":
                if got[1] >= self.share:
                    raise _e.Error(_e.ELIMIT, "this process already holds %d of the %d write slots (its share): "
                                              "collect answers (wait_write) before submitting more" % (
                                                  got[1], self.slots))
                raise _e.Error(_e.ELIMIT, "the write ring is nearly full and this process holds %d slots: collect "
                                          "answers (wait_write) first; the last %d free slots are kept for "
                                          "processes holding none" % (got[1], self.reserve))
            if got is not None:
                break
            left = 0 if deadline is None else deadline - time.monotonic()
            if deadline is not None and left <= 0:
                raise _e.Error(_e.ELIMIT, "all %d write slots of %s are in use%s" % (
                    self.slots, self.name, " and none came free in time" if deadline is not None else ""))
            self._sleep(R_FREE_SEQ, R_FREE_WAITERS, seen, min(LIVENESS_SLICE, left) if deadline else LIVENESS_SLICE)
        i, ctl = got
        off, mm = self._off(i), self.mm
        _U32.pack_into(mm, off + W_FORMAT, fmt)  # plain stores: the slot is ours until we publish it
        _U32.pack_into(mm, off + W_VALUE_LEN, len(data))
        _I32.pack_into(mm, off + W_RESULT, 0)
        _U32.pack_into(mm, off + W_NAME_LEN, len(raw_name))
        _U64.pack_into(mm, off + W_SUBMITTED, _submit_stamp())
        mm[off + W_NAME:off + W_NAME + NAME_MAX + 1] = raw_name.ljust(NAME_MAX + 1, b"\0")
        mm[off + W_MESSAGE:off + W_MESSAGE + MESSAGE_MAX + 1] = bytes(MESSAGE_MAX + 1)
        mm[off + W_HEAD:off + W_HEAD + len(data)] = data
        # CLAIMED -> SUBMITTED in one compare-and-swap (a full barrier: the fields above are visible first)
        if not self.atomics.cas8(off, ctl, (ctl & ~0xFF) | SLOT_SUBMITTED):
            raise _e.Error(_e.EPROTO, "write slot %d of %s was taken from us while we filled it" % (i, self.name))
        self._bump(R_SUBMIT_SEQ, R_ENGINE_WAITING)
        return i << 32 | (ctl >> 8) & 0xFFFFFF

    def wait(self, request_id, deadline, timeout, seg_name):
        i, ticket = request_id >> 32, request_id & 0xFFFFFFFF
        if i >= self.slots or not 0 < ticket <= 0xFFFFFF:
            raise _e.Error(_e.ENOTFOUND, "write request %#x is not in this segment" % request_id)
        off, pid, a = self._off(i), os.getpid(), self.atomics
        while True:
            if self.truncated():  # before the loads below
                return WriteResult(request_id, "failed", _e.ECLOSED, "write ring %s was truncated while the write "
                                   "was pending: its outcome is unknown (the engine moves to a new segment and "
                                   "ring: reopen)" % self.name)
            seen = a.load(R_DONE_SEQ)
            ctl = a.load8(off)
            st = ctl & 0xFF
            if (ctl >> 8) & 0xFFFFFF != ticket or ctl >> 32 != pid or st in (SLOT_FREE, SLOT_CLAIMED):
                raise _e.Error(_e.ENOTFOUND, "write request %#x is not in this segment (answered already, or "
                                             "freed after 60 s unread)" % request_id)
            if st in (SLOT_DONE, SLOT_FAILED):
                return self._collect(off, ctl, request_id)
            if not self.alive():
                return WriteResult(request_id, "failed", _e.ECLOSED,
                                   "the engine of %s is gone, or closed or replaced its write ring, before "
                                   "answering: the write's outcome is unknown" % seg_name)
            slice_ = LIVENESS_SLICE
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return WriteResult(request_id, "pending", _e.ETIMEDOUT,
                                       "no answer within %g s; the request stays queued" % timeout)
                slice_ = min(slice_, left)
            self._sleep(R_DONE_SEQ, R_DONE_WAITERS, seen, slice_)

    def _collect(self, off, ctl, request_id):
        err = _I32.unpack_from(self.mm, off + W_RESULT)[0]
        raw = self.mm[off + W_MESSAGE:off + W_MESSAGE + MESSAGE_MAX]
        message = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        if not self.atomics.cas8(off, ctl, ctl & 0xFFFFFF00 | SLOT_FREE):  # DONE/FAILED -> FREE, pid 0
            raise _e.Error(_e.ENOTFOUND, "write request %#x was freed meanwhile" % request_id)
        self._bump(R_FREE_SEQ, R_FREE_WAITERS)
        if ctl & 0xFF == SLOT_DONE:
            return WriteResult(request_id, "done", 0, message)
        return WriteResult(request_id, "failed", err if err < 0 else _e.EPROTO, message)


class Segment:
    """An attached segment. Use plcio.open(name). One Segment is used by one
    thread at a time (open one per thread), like the C reader handle."""

    def __init__(self, name, auto_reopen=False, timeout=0.0):
        self._name = shm_name(name)
        self.auto_reopen = auto_reopen
        self._fences = _sys.needs_fences()
        self._m = None
        self._generation = 0
        self._waited = 0
        self._published_ns = 0
        deadline = time.monotonic() + (timeout or 0.0)
        while True:
            try:
                self._attach()
                return
            except (_e.SegmentNotFound, _e.SegmentInitialising, _e.SegmentClosed):
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    # ---- lifecycle ----
    def _attach(self):
        m = _Mapping(self._name)
        old, self._m = self._m, m
        self._waited = 0
        try:
            self._snapshot()
        except BaseException:
            self._m = old
            m.close()
            raise
        if old is not None:
            old.close()

    def reopen(self):
        """Attach to the segment now behind the name (after an engine restart).
        Raises SegmentNotFound (no engine yet) and keeps the old mapping then."""
        self._attach()

    def close(self):
        if self._m is not None:
            self._m.close()
            self._m = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _mapping(self):
        m = self._m
        if m is None:
            raise _e.Error(_e.EINVAL, "segment %s: handle is closed" % self._name)
        return m

    def _check_open(self):
        """The mapping, reopened first if the engine closed or replaced it and
        auto_reopen is on; SegmentClosed otherwise."""
        m = self._mapping()
        if not m.closed():
            return m
        if self.auto_reopen:
            try:
                self._attach()
                return self._m
            except _e.Error as exc:
                raise _e.SegmentClosed(_e.ECLOSED, "segment %s was closed by its engine and no new one is "
                                                   "ready (%s)" % (self._name, exc.message))
        raise _e.SegmentClosed(_e.ECLOSED, "segment %s was closed or replaced by its engine: reopen()" % self._name)

    # ---- directory ----
    @property
    def name(self):
        return self._name

    @property
    def tags(self):
        """The tag directory (tuple of Tag, in directory order)."""
        return self._mapping().tags

    def tag(self, name):
        m = self._mapping()
        i = m.index.get(name)
        if i is None:
            raise _e.UnknownTag(_e.ENOTFOUND, "no tag '%s' in segment %s" % (name, self._name))
        return m.tags[i]

    def __contains__(self, name):
        return name in self._mapping().index

    @property
    def generation(self):
        """Generation of the last snapshot this handle copied."""
        return self._generation

    @property
    def published_ns(self):
        """CLOCK_REALTIME ns at which the last copied snapshot was published."""
        return self._published_ns

    @property
    def writable(self):
        """True if this process may ask for writes (it can open the write
        ring NAME.ring); which tags the engine accepts is tag(name).writable."""
        try:
            self._ring_of(self._mapping())
            return True
        except _e.Error:
            return False

    # ---- snapshots ----
    def _snapshot(self):
        """Copy the newest consistent snapshot buffer (seqlock, as the C
        reader: pread of the sequence word, of the buffer holding it again,
        of the word once more; one publication when the three agree and are
        even). SegmentClosed if the object was truncated."""
        m = self._m
        fd, stride, base = m.fd, m.snap_stride, m.snap_offset
        pread, unpack64 = os.pread, _U64.unpack_from
        atomics = m.atomics if self._fences else None
        for attempt in range(READ_RETRIES):
            idx = _U32.unpack(m.pread(H_SNAP_LATEST, 4))[0]
            if idx >= SNAP_BUFFERS:
                raise _e.CorruptSegment(_e.EPROTO, "corrupt segment: latest snapshot index %d" % idx)
            off = base + idx * stride
            first = pread(fd, 8, off)
            if len(first) != 8:
                raise m.truncated()
            if not unpack64(first)[0] & 1:
                if atomics:
                    atomics.fence()
                data = pread(fd, stride, off)
                if atomics:
                    atomics.fence()
                last = pread(fd, 8, off)
                if len(data) != stride or len(last) != 8:
                    raise m.truncated()
                if last == first and data[:8] == first:
                    self._generation = unpack64(data, S_GENERATION)[0]
                    self._published_ns = unpack64(data, S_PUBLISHED_REAL)[0]
                    return data
            if attempt > 16:
                os.sched_yield()
        raise _e.Error(_e.EAGAIN, "the engine kept rewriting the snapshot during %d copies" % READ_RETRIES)

    @staticmethod
    def _value(data, t):
        """(value, text, decode_error, raw) of tag t in a snapshot copy."""
        raw = data[S_HEAD + t.offset:S_HEAD + t.offset + t.size]
        try:
            v, text = _v.decode(t.type, t.length, t.bit, raw)
            return v, text, 0, raw
        except _v.DecodeError as exc:
            return None, "", exc.code, raw

    def _state(self, m, data, i):
        q, err, changed, read, qchanged = _TAGSTATE.unpack_from(data, m.tagstate_offset + i * TAGSTATE_SIZE)
        if q > 3:
            return "error", _e.EPROTO, changed, read, qchanged
        return QUALITY_NAMES[q], err, changed, read, qchanged

    def read(self, details=False):
        """One consistent snapshot: {name: value} (None for tags never read),
        or with details=True {name: Value} (value, text, quality, error,
        timestamps). Raises SegmentClosed if the engine closed or replaced the
        segment (unless auto_reopen)."""
        if details:
            return self.read_full()
        m = self._check_open()
        data = self._snapshot()
        plan = m.read_plan()
        if plan.bulk is not None:
            values = plan.bulk.unpack_from(data, S_HEAD)
            if plan.ordered:
                out = dict(zip(plan.bulk_names, values))
            else:
                out = dict.fromkeys(plan.names)
                out.update(zip(plan.bulk_names, values))
            for name, bit in plan.bools:
                out[name] = bool(out[name] >> bit & 1)
        else:
            out = dict.fromkeys(plan.names)
        for t in plan.others:
            try:
                out[t.name] = _v.DECODERS[t.type](data[S_HEAD + t.offset:S_HEAD + t.offset + t.size], t.length,
                                                  t.bit)[0]
            except _v.DecodeError:
                out[t.name] = None
        qbase = m.tagstate_offset
        qualities = data[qbase:qbase + m.tag_count * TAGSTATE_SIZE:TAGSTATE_SIZE]
        i = qualities.find(0)
        while i >= 0:  # quality NONE: never read, no value
            out[m.tags[i].name] = None
            i = qualities.find(0, i + 1)
        return out

    def read_full(self):
        """One consistent snapshot as {name: Value}."""
        m = self._check_open()
        data = self._snapshot()
        return {t.name: self._make_value(m, data, t) for t in m.tags}

    def _make_value(self, m, data, t):
        quality, err, changed, read, qchanged = self._state(m, data, t.index)
        v, text, derr, raw = self._value(data, t)
        if quality == "none":
            v, text, derr = None, "", 0
        return Value(t.name, t.type_name, v, text, quality, err, derr, changed, read, raw, qchanged)

    def get(self, name, details=False):
        """One tag from a fresh snapshot: its value, or its Value with details=True."""
        t = self.tag(name)
        m = self._check_open()
        data = self._snapshot()
        val = self._make_value(m, data, t)
        return val if details else val.value

    def __getitem__(self, name):
        return self.get(name)

    def json(self, text=False):
        """The engine's JSON rendition of all values (consistent copy), parsed,
        or as text with text=True. Error(ENOTFOUND) if the segment has none."""
        m = self._check_open()
        if not m.json_count:
            raise _e.Error(_e.ENOTFOUND, "segment %s has no JSON rendition" % self._name)
        cap = m.json_stride - J_HEAD
        atomics = m.atomics if self._fences else None
        for attempt in range(READ_RETRIES):
            idx = m.r32(H_JSON_LATEST)
            if idx >= JSON_BUFFERS:
                raise _e.CorruptSegment(_e.EPROTO, "corrupt segment: latest JSON index %d" % idx)
            off = m.json_offset + idx * m.json_stride
            first = m.pread(off + J_SEQ, 8)
            if _U64.unpack(first)[0] & 1:
                continue
            if atomics:
                atomics.fence()
            head = m.pread(off, J_HEAD)
            n = _U32.unpack_from(head, J_LENGTH)[0]
            body = m.pread(off + J_HEAD, n) if n < cap else b""
            if atomics:
                atomics.fence()
            if m.pread(off + J_SEQ, 8) != first or head[:8] != first:
                if attempt > 16:
                    os.sched_yield()
                continue
            if n >= cap:
                raise _e.CorruptSegment(_e.EPROTO, "corrupt segment: JSON length %d beyond its buffer" % n)
            try:
                s = body.decode("utf-8")
                return s if text else _json.loads(s)
            except ValueError as exc:
                raise _e.CorruptSegment(_e.EPROTO, "corrupt segment: JSON rendition does not parse: %s" % exc)
        raise _e.Error(_e.EAGAIN, "the engine kept rewriting the JSON during %d copies" % READ_RETRIES)

    # ---- status and waiting ----
    def status(self):
        m = self._mapping()
        try:
            head = m.pread(0, HEADER_SIZE)
        except _e.SegmentClosed:
            head = bytes(HEADER_SIZE)  # truncated: reported closed
        h32 = lambda off: _U32.unpack_from(head, off)[0]  # noqa: E731
        h64 = lambda off: _U64.unpack_from(head, off)[0]  # noqa: E731
        hb = h64(H_HEARTBEAT_MONO)
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        return Status(version=VERSION, layout_hash=m.layout_hash, engine_pid=h32(H_ENGINE_PID),
                      engine_alive=m.engine_alive(), closed=m.closed(),
                      heartbeat_age=(now - hb) / 1e9 if now > hb else 0.0, generation=h64(H_GENERATION),
                      created_ns=h64(H_CREATED_NS), tag_count=m.tag_count, image_size=m.image_size,
                      write_slots=m.ring_slots, segment_size=m.total_size)

    def wait_update(self, timeout=None, after=None):
        """Wait until a generation newer than `after` (default: the newest one
        this handle read or saw returning from wait_update) is published. True when there is one, False on
        timeout (None: no limit). Sleeps on the segment's futex, as the C
        reader (polls in 2 ms steps where ctypes or libatomic are missing).
        SegmentClosed when the engine closed or replaced the segment or died;
        with auto_reopen the wait goes on across an engine restart and
        returns True once the new segment is attached."""
        m = self._mapping()
        if after is None:
            after = max(self._generation, self._waited)
        start = time.monotonic()
        while True:
            atomics = m.atomics
            try:
                # update_seq before the generation (two reads, in this order):
                # a publish after the check changes update_seq and the futex returns.
                seq = m.r32(H_UPDATE_SEQ)
                gen = m.r64(H_GENERATION)
            except _e.SegmentClosed:
                seq, gen = None, 0  # truncated: closed, below
            if gen > after:
                self._waited = gen
                return True
            if m.closed() or not m.engine_alive():
                if not self.auto_reopen:
                    why = "closed it" if m.closed() else "is gone"
                    if m.shrunk():
                        why = "lost it: someone truncated the object"
                    raise _e.SegmentClosed(_e.ECLOSED, "segment %s: the engine (pid %d) %s" % (
                        self._name, m.h32(H_ENGINE_PID), why))
                if m.replaced() or m.closed():
                    try:
                        self._attach()
                        return True
                    except _e.Error:
                        pass
            slice_ = LIVENESS_SLICE
            if timeout is not None:
                left = timeout - (time.monotonic() - start)
                if left <= 0:
                    return False
                slice_ = min(slice_, left)
            if seq is None or m.closed() or not m.engine_alive() or atomics is None or m.shrunk():
                time.sleep(min(slice_, 0.002 if atomics is None else slice_))
                m = self._m
                continue
            # The engine wakes on every publish (read-only sleepers cannot
            # announce themselves); the futex compares the word itself and
            # answers EFAULT, never a signal, on a truncated object.
            atomics.futex_wait(H_UPDATE_SEQ, seq, slice_)

    # ---- writes ----
    def _ring_of(self, m):
        """The write ring of mapping m, opened on first use."""
        r = getattr(m, "ring", None)
        if r is None:
            r = m.ring = _Ring(m)
        return r

    def _check_engine(self):
        """The mapping, if an engine serves it: a closed or replaced segment
        is reattached with auto_reopen; a dead engine is an error at once
        (nothing would ever execute the write)."""
        m = self._check_open()
        if m.engine_alive():
            return m
        if self.auto_reopen and m.replaced():
            try:
                self._attach()
                if self._m.engine_alive():
                    return self._m
            except _e.Error:
                pass
        raise _e.SegmentClosed(_e.ECLOSED, "the engine of %s (pid %d) is gone: the write was not submitted%s" % (
            self._name, m.engine_pid(),
            " (auto_reopen attaches to its successor once one runs)" if self.auto_reopen else ""))

    def submit(self, name, value, timeout=5.0):
        """Queue a write of `value` to tag `name` and return its request id
        (for wait_write). `value` is a Python value (bool, int, float, str,
        timedelta, date, time, datetime) sent as value text, or bytes: the
        tag's raw PLC bytes. When every slot is in use, waits up to `timeout`
        seconds for one (0: not at all). Raises UnknownTag, Error(EINVAL) for
        a value of the wrong kind, Error(EACCESS) when this process may read
        but not write (no access to NAME.ring), Error(ENOSPC) for text longer
        than a slot, Error(ELIMIT) when this process holds its share of the
        slots (collect answers with wait_write first) or no slot came free in
        time, Error(EUNSUPPORTED) without ctypes/libatomic, SegmentClosed when
        the engine closed the segment or is gone. Whether the tag may be
        written is the engine's answer (failed, PLCIO_EACCESS)."""
        m = self._check_engine()
        t = self.tag(name)
        if isinstance(value, (bytes, bytearray, memoryview)):
            fmt, data = FORMAT_RAW, bytes(value)
            if len(data) != t.size:
                raise _e.Error(_e.EINVAL, "raw value for %s must be %d bytes, got %d" % (name, t.size, len(data)))
        else:
            try:
                fmt, data = FORMAT_TEXT, _v.to_text(t.type, value).encode("utf-8", "surrogatepass")
            except (TypeError, UnicodeError) as exc:
                raise _e.Error(_e.EINVAL, "tag '%s' (%s): %s" % (name, t.type_name, exc))
        r = self._ring_of(m)
        return r.submit(name, fmt, data, None if timeout is None else time.monotonic() + timeout)

    def wait_write(self, request_id, timeout=5.0):
        """The answer to a submitted write: a WriteResult (state "done",
        "failed", or "pending" when nothing came within `timeout` seconds, None:
        no limit). The slot is freed once the answer is read. A request whose
        engine died is reported failed with PLCIO_ECLOSED: treat it as not done.
        Error(ENOTFOUND) for an id this segment does not hold."""
        m = self._mapping()
        r = getattr(m, "ring", None)
        if r is None:
            raise _e.Error(_e.ENOTFOUND, "write request %#x is not in this segment" % request_id)
        return r.wait(request_id, None if timeout is None else time.monotonic() + timeout, timeout, self._name)

    def write(self, name, value, timeout=5.0):
        """Write `value` to tag `name` through the engine and wait for its
        answer: submit() + wait_write(), one deadline of `timeout` seconds for
        both (waiting for a free slot included). Returns a WriteResult; raises
        what submit() raises."""
        start = time.monotonic()
        rid = self.submit(name, value, timeout)
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - start))
        return self.wait_write(rid, left)

    def __repr__(self):
        if self._m is None:
            return "Segment(%r, closed)" % self._name
        return "Segment(%r, %d tags, generation %d)" % (self._name, self._m.tag_count, self._generation)


def open(name, auto_reopen=False, timeout=0.0):  # noqa: A001 - the package's documented entry point
    """Attach to the segment `name` ("tank" is "/tank", as the sync engine
    names it; "/plcio-tank" as given). timeout: seconds to keep trying while
    the segment does not exist yet or is being created (0: fail at once).
    auto_reopen: reads, waits and writes reattach by themselves when the
    engine closed or replaced the segment (restart) instead of raising
    SegmentClosed."""
    return Segment(name, auto_reopen=auto_reopen, timeout=timeout)
