"""python-snap7's snap7.util get_/set_ helpers on bytearrays: big-endian S7
values at a byte index. Getters return Python values, setters change the
buffer in place and return it. Written for plcio (values.py decodes the date
and time types exactly as the C library does)."""

import datetime as _dt
import struct
from typing import Union

from ... import values as _v

Buffer = Union[bytearray, memoryview]


def _get(fmt):
    size = struct.calcsize(fmt)

    def get(bytearray_: Buffer, byte_index: int) -> int:
        return struct.unpack_from(fmt, bytearray_, byte_index)[0] if len(bytearray_) >= byte_index + size else \
            struct.unpack(fmt, bytes(bytearray_[byte_index:byte_index + size]))[0]
    return get


def _set(fmt, conv=int):
    def set_(bytearray_: Buffer, byte_index: int, value) -> Buffer:
        try:
            struct.pack_into(fmt, bytearray_, byte_index, conv(value))
        except struct.error as e:
            raise ValueError("%r does not fit %s at byte %d: %s" % (value, fmt, byte_index, e)) from None
        return bytearray_
    return set_


get_byte, set_byte = _get(">B"), _set(">B")
get_usint, set_usint = _get(">B"), _set(">B")
get_sint, set_sint = _get(">b"), _set(">b")
get_word, set_word = _get(">H"), _set(">H")
get_uint, set_uint = _get(">H"), _set(">H")
get_int, set_int = _get(">h"), _set(">h")
get_dword, set_dword = _get(">I"), _set(">I")
get_udint, set_udint = _get(">I"), _set(">I")
get_dint, set_dint = _get(">i"), _set(">i")
get_lword, set_lword = _get(">Q"), _set(">Q")
get_ulint, set_ulint = _get(">Q"), _set(">Q")
get_lint, set_lint = _get(">q"), _set(">q")
get_real, set_real = _get(">f"), _set(">f", float)
get_lreal, set_lreal = _get(">d"), _set(">d", float)


def get_bool(bytearray_: Buffer, byte_index: int, bool_index: int) -> bool:
    if not 0 <= bool_index <= 7:
        raise ValueError("bool_index %d is not 0..7" % bool_index)
    return bool(bytearray_[byte_index] >> bool_index & 1)


def set_bool(bytearray_: Buffer, byte_index: int, bool_index: int, value: bool) -> Buffer:
    if not 0 <= bool_index <= 7:
        raise ValueError("bool_index %d is not 0..7" % bool_index)
    if value:
        bytearray_[byte_index] |= 1 << bool_index
    else:
        bytearray_[byte_index] &= ~(1 << bool_index) & 0xFF
    return bytearray_


# ---- characters and strings (STRING: max, cur, Latin-1 chars; WSTRING: max, cur, UTF-16BE) ----
def get_char(bytearray_: Buffer, byte_index: int) -> str:
    return chr(bytearray_[byte_index])


def set_char(bytearray_: Buffer, byte_index: int, chr_: str) -> Buffer:
    bytearray_[byte_index] = ord(chr_.encode("latin-1"))
    return bytearray_


def get_wchar(bytearray_: Buffer, byte_index: int) -> str:
    return bytes(bytearray_[byte_index:byte_index + 2]).decode("utf-16-be")


def set_wchar(bytearray_: Buffer, byte_index: int, chr_: str) -> Buffer:
    raw = chr_.encode("utf-16-be")
    if len(raw) != 2:
        raise ValueError("%r is not one UTF-16 unit" % chr_)
    bytearray_[byte_index:byte_index + 2] = raw
    return bytearray_


def get_string(bytearray_: Buffer, byte_index: int, encoding: str = "latin-1") -> str:
    max_len, cur = bytearray_[byte_index], bytearray_[byte_index + 1]
    n = min(max_len, cur)
    return bytes(bytearray_[byte_index + 2:byte_index + 2 + n]).decode(encoding)


def set_string(bytearray_: Buffer, byte_index: int, value: str, max_size: int = 254,
               encoding: str = "latin-1") -> Buffer:
    if not isinstance(value, str):
        raise TypeError("value must be a str, not %s" % type(value).__name__)
    if not 0 < max_size <= 254:
        raise ValueError("max_size %d is not 1..254" % max_size)
    raw = value.encode(encoding)
    if len(raw) > max_size:
        raise ValueError("string of %d bytes does not fit STRING[%d]" % (len(raw), max_size))
    bytearray_[byte_index] = max_size
    bytearray_[byte_index + 1] = len(raw)
    bytearray_[byte_index + 2:byte_index + 2 + max_size] = raw + b" " * (max_size - len(raw))
    return bytearray_


def get_fstring(bytearray_: Buffer, byte_index: int, max_length: int, remove_padding: bool = True) -> str:
    """A fixed-length character field (no S7 header)."""
    text = bytes(bytearray_[byte_index:byte_index + max_length]).decode("latin-1")
    return text.rstrip(" ") if remove_padding else text


def set_fstring(bytearray_: Buffer, byte_index: int, value: str, max_length: int, encoding: str = "latin-1") -> Buffer:
    raw = value.encode(encoding)
    if len(raw) > max_length:
        raise ValueError("string of %d bytes does not fit %d" % (len(raw), max_length))
    bytearray_[byte_index:byte_index + max_length] = raw + b" " * (max_length - len(raw))
    return bytearray_


def get_wstring(bytearray_: Buffer, byte_index: int) -> str:
    max_len, cur = struct.unpack_from(">HH", bytearray_, byte_index)
    n = min(max_len, cur)
    return bytes(bytearray_[byte_index + 4:byte_index + 4 + 2 * n]).decode("utf-16-be")


def set_wstring(bytearray_: Buffer, byte_index: int, value: str, max_size: int = 16382) -> None:
    raw = value.encode("utf-16-be")
    if len(raw) // 2 > max_size:
        raise ValueError("string of %d UTF-16 units does not fit WSTRING[%d]" % (len(raw) // 2, max_size))
    struct.pack_into(">HH", bytearray_, byte_index, max_size, len(raw) // 2)
    bytearray_[byte_index + 4:byte_index + 4 + len(raw)] = raw


# ---- dates and times (decoded by plcio's value codecs) ----
def _dec(type_, bytearray_, byte_index, size):
    return _v.decode(type_, 0, 0, bytes(bytearray_[byte_index:byte_index + size]))[0]


def get_time(bytearray_: Buffer, byte_index: int) -> str:
    """TIME as "D:H:M:S.mmm" (a leading "-" when negative), as python-snap7 prints it."""
    ms = struct.unpack_from(">i", bytearray_, byte_index)[0]
    sign = "-" if ms < 0 else ""
    d, rest = divmod(abs(ms), 86400000)
    h, rest = divmod(rest, 3600000)
    m, rest = divmod(rest, 60000)
    s, ms3 = divmod(rest, 1000)
    return "%s%d:%d:%d:%d.%03d" % (sign, d, h, m, s, ms3)


def set_time(bytearray_: Buffer, byte_index: int, time_string: str) -> Buffer:
    """From "D:H:M:S.mmm" (optional leading "-"); range of TIME (+-24d20h31m23s647ms)."""
    text = time_string.strip()
    sign = -1 if text.startswith("-") else 1
    parts = text.lstrip("-").split(":")
    if len(parts) != 4:
        raise ValueError("time %r is not D:H:M:S.mmm" % time_string)
    d, h, m = (int(p) for p in parts[:3])
    ms = round(float(parts[3]) * 1000)
    total = sign * (((d * 24 + h) * 60 + m) * 60000 + ms)
    if not -2 ** 31 <= total < 2 ** 31:
        raise ValueError("time %r is out of the range of TIME" % time_string)
    struct.pack_into(">i", bytearray_, byte_index, total)
    return bytearray_


def get_s5time(bytearray_: Buffer, byte_index: int) -> str:
    return str(_dec(_v.S5TIME, bytearray_, byte_index, 2))


def get_date(bytearray_: Buffer, byte_index: int = 0) -> _dt.date:
    return _dt.date(1990, 1, 1) + _dt.timedelta(days=struct.unpack_from(">H", bytearray_, byte_index)[0])


def set_date(bytearray_: Buffer, byte_index: int, date_: _dt.date) -> Buffer:
    days = (date_ - _dt.date(1990, 1, 1)).days
    if not 0 <= days <= 0xFFFF:
        raise ValueError("date %s is out of the range of DATE (1990-01-01..2169-06-06)" % date_)
    struct.pack_into(">H", bytearray_, byte_index, days)
    return bytearray_


def get_tod(bytearray_: Buffer, byte_index: int) -> _dt.timedelta:
    ms = struct.unpack_from(">I", bytearray_, byte_index)[0]
    if ms >= 86400000:
        raise ValueError("TIME_OF_DAY %d ms is beyond 23:59:59.999" % ms)
    return _dt.timedelta(milliseconds=ms)


def set_tod(bytearray_: Buffer, byte_index: int, tod: _dt.timedelta) -> Buffer:
    ms = tod // _dt.timedelta(milliseconds=1)
    if not 0 <= ms < 86400000:
        raise ValueError("%s is not a time of day" % tod)
    struct.pack_into(">I", bytearray_, byte_index, ms)
    return bytearray_


def get_ltime(bytearray_: Buffer, byte_index: int) -> _dt.timedelta:
    return _dt.timedelta(microseconds=struct.unpack_from(">q", bytearray_, byte_index)[0] // 1000)


def set_ltime(bytearray_: Buffer, byte_index: int, value: _dt.timedelta) -> Buffer:
    struct.pack_into(">q", bytearray_, byte_index, value // _dt.timedelta(microseconds=1) * 1000)
    return bytearray_


def get_ltod(bytearray_: Buffer, byte_index: int) -> _dt.timedelta:
    return _dt.timedelta(microseconds=struct.unpack_from(">Q", bytearray_, byte_index)[0] // 1000)


def set_ltod(bytearray_: Buffer, byte_index: int, value: _dt.timedelta) -> Buffer:
    struct.pack_into(">Q", bytearray_, byte_index, value // _dt.timedelta(microseconds=1) * 1000)
    return bytearray_


def get_date_time_object(bytearray_: Buffer, byte_index: int) -> _dt.datetime:
    return _dec(_v.DATE_AND_TIME, bytearray_, byte_index, 8)


def get_dt(bytearray_: Buffer, byte_index: int) -> str:
    return get_date_time_object(bytearray_, byte_index).isoformat(timespec="microseconds")


def _bcd(n):
    return (n // 10) << 4 | n % 10


def set_dt(bytearray_: Buffer, byte_index: int, dt_: _dt.datetime) -> Buffer:
    if not 1990 <= dt_.year <= 2089:
        raise ValueError("%s is out of the range of DATE_AND_TIME (1990..2089)" % dt_)
    ms = dt_.microsecond // 1000
    weekday = dt_.isoweekday() % 7 + 1
    raw = bytes([_bcd(dt_.year % 100), _bcd(dt_.month), _bcd(dt_.day), _bcd(dt_.hour), _bcd(dt_.minute),
                 _bcd(dt_.second), _bcd(ms // 10), (ms % 10) << 4 | weekday])
    bytearray_[byte_index:byte_index + 8] = raw
    return bytearray_


def get_ldt(bytearray_: Buffer, byte_index: int) -> _dt.datetime:
    ns = struct.unpack_from(">Q", bytearray_, byte_index)[0]
    return _dt.datetime(1970, 1, 1) + _dt.timedelta(microseconds=ns // 1000)


def set_ldt(bytearray_: Buffer, byte_index: int, value: _dt.datetime) -> Buffer:
    us = (value - _dt.datetime(1970, 1, 1)) // _dt.timedelta(microseconds=1)
    struct.pack_into(">Q", bytearray_, byte_index, us * 1000)
    return bytearray_


def get_dtl(bytearray_: Buffer, byte_index: int) -> _dt.datetime:
    y, mo, d, _wd, h, mi, s, ns = struct.unpack_from(">HBBBBBBI", bytearray_, byte_index)
    return _dt.datetime(y, mo, d, h, mi, s, ns // 1000)


def set_dtl(bytearray_: Buffer, byte_index: int, dt_: _dt.datetime) -> Buffer:
    struct.pack_into(">HBBBBBBI", bytearray_, byte_index, dt_.year, dt_.month, dt_.day, dt_.isoweekday() % 7 + 1,
                     dt_.hour, dt_.minute, dt_.second, dt_.microsecond * 1000)
    return bytearray_
