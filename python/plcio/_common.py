"""Helpers shared by the client and server wrappers: argument checks that turn
bad Python input into TypeError / ValueError before anything reaches C, and
the mapping of C error codes to exceptions."""

from __future__ import annotations

import numbers
from typing import Any

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
