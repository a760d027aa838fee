"""Helpers shared by the client and server wrappers: argument checks that turn
bad Python input into TypeError / ValueError before anything reaches C, and
the mapping of C error codes to exceptions."""

from __future__ import annotations

import numbers
import threading
from ctypes import byref, c_void_p
from typing import Any, Optional, Tuple, TypeVar

from . import _lib
from .errors import CONNECTION_CODES, ConnectionFailed, Error, err_name


def check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if type(value) is int and lo <= value <= hi:  # the common case, without the ABC check
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError("%s must be an int, not %s" % (name, type(value).__name__))
    v = int(value)
    if v < lo or v > hi:
        raise ValueError("%s=%d is out of range %d..%d" % (name, v, lo, hi))
    return v


def check_str(name: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (name, type(value).__name__))
    b = value.encode("utf-8")
    if b"\0" in b:
        raise ValueError("%s contains a NUL character" % name)
    return b


def as_bytes(name: str, data: Any) -> bytes:
    """bytes of a bytes-like object (bytes, bytearray, memoryview, array)."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        raise TypeError("%s must be bytes-like, not str (encode it first)" % name)
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise TypeError("%s must be bytes-like (bytes, bytearray, memoryview), not %s" % (
            name, type(data).__name__)) from None


def error_from(code: int, text: str, cls: type = Error, **kw: Any) -> Error:
    if cls is Error and code in CONNECTION_CODES:
        cls = ConnectionFailed
    if not text:
        text = _lib.lib().plcio_strerror(code).decode()
    return cls(code, text, **kw)


def c_error_text(err: "_lib.Error_") -> str:
    return err.text.decode("utf-8", "replace")


def strerror(code: int) -> str:
    return _lib.lib().plcio_strerror(code).decode()


def c_err_name(code: int) -> str:
    return _lib.lib().plcio_err_name(code).decode() or err_name(code)


def tcp_url(scheme: str, host: str, port: int, query: str, timeout_ms: Optional[int]) -> str:
    """SCHEME://HOST:PORT?QUERY[&timeout=MS] from keyword arguments (IPv6 hosts bracketed)."""
    check_str("host", host)
    url = "%s://%s:%d?%s" % (scheme, host if ":" not in host else "[%s]" % host, check_int("port", port, 1, 65535),
                             query)
    if timeout_ms is not None:
        url += "&timeout=%d" % check_int("timeout_ms", timeout_ms, 1, 3600000)
    return url


def new_client(kind: str, url: str) -> Tuple[Any, int]:
    """(library, handle) of a new C client: plcio_<kind>_client_new(url) with default options."""
    lib = _lib.lib()
    h = c_void_p()
    err = _lib.Error_()
    rc = getattr(lib, "plcio_%s_client_new" % kind)(check_str("url", url), None, byref(h), byref(err))
    if rc != 0:
        raise error_from(rc, c_error_text(err))
    return lib, h.value


_C = TypeVar("_C", bound="ClientLife")


class ClientLife:
    """What the blocking client wrappers share: one C handle used under a lock, and its life cycle
    (close, free, `with`, is_connected) through plcio_<_kind>_client_*."""

    _kind = ""
    url = ""
    _lib: Any

    def _open(self, url: str) -> None:
        self._h: Optional[int] = None
        self._lock = threading.RLock()
        self.url = url
        self._lib, self._h = new_client(self._kind, url)

    def _c(self, verb: str) -> Any:
        return getattr(self._lib, "plcio_%s_client_%s" % (self._kind, verb))

    def _handle(self) -> int:
        if self._h is None:
            raise Error(-22, "%s %s has been freed" % (type(self).__name__, self.url))
        return self._h

    def close(self) -> None:
        """Close the connection (the client can connect again)."""
        with self._lock:
            if self._h is not None:
                self._c("close")(self._h)

    def free(self) -> None:
        """Close and release the C client; every later call raises Error."""
        with self._lock:
            if self._h is not None:
                self._c("free")(self._h)
                self._h = None

    def connect(self: _C) -> _C:
        raise NotImplementedError

    def __enter__(self: _C) -> _C:
        if not self.is_connected():
            self.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:
            pass

    def is_connected(self) -> bool:
        with self._lock:
            return self._h is not None and bool(self._c("is_connected")(self._h))
