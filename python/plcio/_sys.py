"""Linux primitives the segment protocol needs, from the standard library:
open-file-description locks (fcntl F_OFD_*), futex waits and 32-bit atomic
read-modify-write (ctypes: the futex system call and libatomic's
__atomic_fetch_add_4, the same lock-free instruction the C library inlines).

Without ctypes, libatomic or a writable mapping, `atomics` is None and waiting
falls back to polling in short sleeps."""

import fcntl
import os
import platform
import struct

F_OFD_GETLK = getattr(fcntl, "F_OFD_GETLK", 36)
F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)

# struct flock (x86-64, aarch64 and the other LP64 Linux ABIs):
# short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid
_FLOCK = struct.Struct("hhqqi4x")


def _flock(fd, cmd, type_, start, length):
    arg = _FLOCK.pack(type_, os.SEEK_SET, start, length, 0)
    return _FLOCK.unpack(fcntl.fcntl(fd, cmd, arg))


def ofd_lock(fd, start, length):
    """Write lock on [start, start+length) for this open file description.
    True if taken, False if held elsewhere."""
    try:
        _flock(fd, F_OFD_SETLK, fcntl.F_WRLCK, start, length)
        return True
    except OSError:
        return False


def ofd_unlock(fd, start, length):
    try:
        _flock(fd, F_OFD_SETLK, fcntl.F_UNLCK, start, length)
    except OSError:
        pass


def ofd_locked_elsewhere(fd, start, length):
    """True if another open file description holds a lock on the range."""
    try:
        return _flock(fd, F_OFD_GETLK, fcntl.F_WRLCK, start, length)[0] != fcntl.F_UNLCK
    except OSError:
        return False


_SYS_FUTEX = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98, "riscv64": 98, "i386": 240, "i686": 240,
              "armv7l": 240, "ppc64le": 221, "s390x": 238}
_FUTEX_WAIT = 0
_SEQ_CST = 5  # __ATOMIC_SEQ_CST


class Atomics:
    """futex wait/wake and atomic add/load on 32-bit words of a mapping,
    addressed by offset. Use only while the mapping is open; release()
    before closing it (ctypes holds a pointer into the buffer)."""

    def __init__(self, mm):
        import ctypes
        import ctypes.util
        machine = platform.machine().lower()
        if machine not in _SYS_FUTEX:
            raise OSError("no futex system call number known for %s" % machine)
        self._ctypes = ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        self._syscall = libc.syscall
        self._syscall.restype = ctypes.c_long
        name = ctypes.util.find_library("atomic") or "libatomic.so.1"
        lib = ctypes.CDLL(name)
        self._fetch_add = getattr(lib, "__atomic_fetch_add_4")  # getattr: no name mangling
        self._fetch_add.argtypes = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int)
        self._fetch_add.restype = ctypes.c_uint32
        self._load = getattr(lib, "__atomic_load_4")
        self._load.argtypes = (ctypes.c_void_p, ctypes.c_int)
        self._load.restype = ctypes.c_uint32
        self._fence = getattr(lib, "atomic_thread_fence", None)
        if self._fence is not None:
            self._fence.argtypes = (ctypes.c_int,)
            self._fence.restype = None
        self._sys_futex = _SYS_FUTEX[machine]

        class Timespec(ctypes.Structure):
            _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))
        self._timespec = Timespec
        self._anchor = ctypes.c_char.from_buffer(mm)  # needs a writable mapping
        self._base = ctypes.addressof(self._anchor)

    def release(self):
        self._anchor = None

    def fetch_add(self, off, delta):
        return self._fetch_add(self._base + off, delta & 0xFFFFFFFF, _SEQ_CST)

    def load(self, off):
        return self._load(self._base + off, _SEQ_CST)

    def fence(self):
        if self._fence is not None:
            self._fence(_SEQ_CST)

    def futex_wait(self, off, expected, timeout_s):
        c = self._ctypes
        secs = max(0.0, timeout_s)
        ts = self._timespec(int(secs), int((secs - int(secs)) * 1e9))
        self._syscall(c.c_long(self._sys_futex), c.c_void_p(self._base + off), c.c_int(_FUTEX_WAIT),
                      c.c_uint32(expected), c.byref(ts), c.c_void_p(0), c.c_int(0))


def make_atomics(mm):
    try:
        return Atomics(mm)
    except (ImportError, OSError, AttributeError, TypeError, ValueError):
        return None


def needs_fences():
    """x86-64 keeps loads in order with loads and stores with stores (TSO),
    which is all the seqlock and the ring need from plain loads and stores."""
    return platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686")
