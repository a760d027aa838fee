"""Linux primitives the segment protocol needs, from the standard library:
open-file-description locks (fcntl F_OFD_*), futex waits and 32-bit atomic
read-modify-write and compare-and-swap (ctypes: the futex system call and
libatomic, the same lock-free instructions the C library inlines).

Without ctypes or libatomic, `atomics` is None: waiting falls back to polling
in short sleeps, and writes are refused (the write ring needs compare-and-swap:
a plain store may pass through other values)."""

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
_FUTEX_WAIT, _FUTEX_WAKE, _FUTEX_WAKE_OP = 0, 1, 5
# FUTEX_OP(FUTEX_OP_ADD, oparg, FUTEX_OP_CMP_EQ, 0): op 1 << 28, oparg (12 bits, sign-extended) << 12
_FUTEX_OP_ADD = 1 << 28
_SEQ_CST = 5  # __ATOMIC_SEQ_CST
_PROT_READ, _PROT_WRITE, _MAP_SHARED = 1, 2, 1


class Atomics:
    """Atomic operations and futex wait/wake on words of a shared object,
    addressed by offset: its own mapping of `length` bytes of `fd` (libc mmap
    through ctypes, read-only or read-write), so a read-only attach can sleep
    on a futex too. The same lock-free libatomic calls the C library inlines:
    __atomic_load_4/_8, __atomic_fetch_add_4, __atomic_compare_exchange_8.
    release() unmaps; use none of it afterwards."""

    def __init__(self, fd, length, writable):
        import ctypes
        import ctypes.util
        machine = platform.machine().lower()
        if machine not in _SYS_FUTEX:
            raise OSError("no futex system call number known for %s" % machine)
        self._ctypes = ctypes
        c = ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        self._syscall = libc.syscall
        self._syscall.restype = c.c_long
        mmap_ = libc.mmap
        mmap_.restype = c.c_void_p
        mmap_.argtypes = (c.c_void_p, c.c_size_t, c.c_int, c.c_int, c.c_int, c.c_long)
        self._munmap = libc.munmap
        self._munmap.restype = c.c_int
        self._munmap.argtypes = (c.c_void_p, c.c_size_t)
        name = ctypes.util.find_library("atomic") or "libatomic.so.1"
        lib = ctypes.CDLL(name)
        self._fetch_add = getattr(lib, "__atomic_fetch_add_4")  # getattr: no name mangling
        self._fetch_add.argtypes = (c.c_void_p, c.c_uint32, c.c_int)
        self._fetch_add.restype = c.c_uint32
        self._load = getattr(lib, "__atomic_load_4")
        self._load.argtypes = (c.c_void_p, c.c_int)
        self._load.restype = c.c_uint32
        self._load8 = getattr(lib, "__atomic_load_8")
        self._load8.argtypes = (c.c_void_p, c.c_int)
        self._load8.restype = c.c_uint64
        self._cas8 = getattr(lib, "__atomic_compare_exchange_8")
        self._cas8.argtypes = (c.c_void_p, c.c_void_p, c.c_uint64, c.c_int, c.c_int)
        self._cas8.restype = c.c_bool
        self._expected = c.c_uint64(0)
        self._expected_ref = c.byref(self._expected)
        self._fence = getattr(lib, "atomic_thread_fence", None)
        if self._fence is not None:
            self._fence.argtypes = (c.c_int,)
            self._fence.restype = None
        self._sys_futex = _SYS_FUTEX[machine]

        class Timespec(ctypes.Structure):
            _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))
        self._timespec = Timespec
        prot = _PROT_READ | (_PROT_WRITE if writable else 0)
        base = mmap_(None, length, prot, _MAP_SHARED, fd, 0)
        if base is None or base == c.c_void_p(-1).value:
            raise OSError(ctypes.get_errno(), "mmap for atomics failed")
        self._base, self._length = base, length

    def release(self):
        if self._base:
            self._munmap(self._base, self._length)
            self._base = 0

    def fetch_add(self, off, delta):
        return self._fetch_add(self._base + off, delta & 0xFFFFFFFF, _SEQ_CST)

    def load(self, off):
        return self._load(self._base + off, _SEQ_CST)

    def kernel_add(self, off, delta):
        """Atomic add of delta (-2048..2047) to the u32 at off, done by the
        kernel (FUTEX_WAKE_OP waking nobody; a full barrier): on a page
        someone truncated away it fails (False) where a store from user space
        kills the process with SIGBUS."""
        c = self._ctypes
        op = _FUTEX_OP_ADD | (delta & 0xFFF) << 12
        addr = c.c_void_p(self._base + off)
        return self._syscall(c.c_long(self._sys_futex), addr, c.c_int(_FUTEX_WAKE_OP), c.c_int(0), c.c_void_p(0),
                             addr, c.c_int(op)) >= 0

    def load8(self, off):
        return self._load8(self._base + off, _SEQ_CST)

    def cas8(self, off, expected, desired):
        """One compare-and-swap of the u64 at off: True if it held `expected`
        and now holds `desired`; never stores anything else."""
        self._expected.value = expected
        return self._cas8(self._base + off, self._expected_ref, desired, _SEQ_CST, _SEQ_CST)

    def fence(self):
        if self._fence is not None:
            self._fence(_SEQ_CST)

    def futex_wait(self, off, expected, timeout_s):
        c = self._ctypes
        secs = max(0.0, timeout_s)
        ts = self._timespec(int(secs), int((secs - int(secs)) * 1e9))
        self._syscall(c.c_long(self._sys_futex), c.c_void_p(self._base + off), c.c_int(_FUTEX_WAIT),
                      c.c_uint32(expected), c.byref(ts), c.c_void_p(0), c.c_int(0))

    def futex_wake(self, off):
        c = self._ctypes
        self._syscall(c.c_long(self._sys_futex), c.c_void_p(self._base + off), c.c_int(_FUTEX_WAKE),
                      c.c_int(0x7FFFFFFF), c.c_void_p(0), c.c_void_p(0), c.c_int(0))


def make_atomics(fd, length, writable=False):
    try:
        return Atomics(fd, length, writable)
    except (ImportError, OSError, AttributeError, TypeError, ValueError):
        return None


def needs_fences():
    """x86-64 keeps loads in order with loads and stores with stores (TSO),
    which is all the seqlock and the ring need from plain loads and stores."""
    return platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686")
