"""The 28 S7 elementary types: PLC bytes (big-endian, as the PLC holds them)
to Python values and to the value text of the C library, and Python values to
the text the C value parser (plcio_value_from_text) accepts.

The text of a value is byte for byte what plcio_value_to_text() prints
(docs/values.md), so a Python reader and a C reader of one segment agree.
Decoding refuses exactly what the C decoder refuses (bad BCD, impossible
dates, string headers that contradict themselves, unpaired UTF-16
surrogates): such a value decodes to None with decode_error set."""

import datetime as _dt
import math
import numbers
import struct

from . import errors as _e

# plcio_type, in the order of PLCIO_TYPE_MAP (include/plcio/types.h):
# (name, fixed size in bytes; 0: BOOL (one byte holding the bit) or by length)
TYPES = (
    ("BOOL", 1), ("BYTE", 1), ("WORD", 2), ("DWORD", 4), ("LWORD", 8),
    ("SINT", 1), ("USINT", 1), ("INT", 2), ("UINT", 2), ("DINT", 4),
    ("UDINT", 4), ("LINT", 8), ("ULINT", 8), ("REAL", 4), ("LREAL", 8),
    ("CHAR", 1), ("WCHAR", 2), ("STRING", 0), ("WSTRING", 0), ("TIME", 4),
    ("LTIME", 8), ("S5TIME", 2), ("DATE", 2), ("TIME_OF_DAY", 4), ("LTOD", 8),
    ("DATE_AND_TIME", 8), ("LDT", 8), ("DTL", 12),
)
TYPE_NAMES = tuple(n for n, _ in TYPES)
TYPE_COUNT = len(TYPES)
(BOOL, BYTE, WORD, DWORD, LWORD, SINT, USINT, INT, UINT, DINT, UDINT, LINT, ULINT, REAL, LREAL, CHAR, WCHAR,
 STRING, WSTRING, TIME, LTIME, S5TIME, DATE, TIME_OF_DAY, LTOD, DATE_AND_TIME, LDT, DTL) = range(TYPE_COUNT)

STRING_MAX = 254
WSTRING_MAX = 16382
VALUE_TEXT_MAX = 64  # PLCIO_VALUE_TEXT_MAX: any non-string value's text + NUL


def type_size(type_, length):
    """plcio_type_size(): bytes in PLC memory, 0 for a bad type or string length."""
    if type_ == STRING:
        return length + 2 if 0 <= length <= STRING_MAX else 0
    if type_ == WSTRING:
        return 2 * length + 4 if 0 <= length <= WSTRING_MAX else 0
    if 0 <= type_ < TYPE_COUNT:
        return TYPES[type_][1]
    return 0


def text_bound(type_, length):
    """shm_value_text_bound(): upper bound of a value's text bytes."""
    if type_ == STRING:
        return 2 * length + 1
    if type_ == WSTRING:
        return 3 * length + 1
    return VALUE_TEXT_MAX


class DecodeError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _bad(message):
    return DecodeError(_e.EPROTO, message)


# ---- numbers ----

_INT_FORMATS = {BYTE: ">B", WORD: ">H", DWORD: ">I", LWORD: ">Q", SINT: ">b", USINT: ">B", INT: ">h", UINT: ">H",
                DINT: ">i", UDINT: ">I", LINT: ">q", ULINT: ">Q"}


def _c_float_text(x, digits):
    """printf("%.<digits>g") as glibc prints it (negative NaN is "-nan")."""
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return "%.*g" % (digits, x)


# ---- durations ----

_UNITS = (("d", 86400000000000), ("h", 3600000000000), ("m", 60000000000), ("s", 1000000000), ("ms", 1000000),
          ("us", 1000), ("ns", 1))


def _duration_text(prefix, ns):
    out = [prefix, "-" if ns < 0 else ""]
    ns = abs(ns)
    if ns == 0:
        out.append("0ns" if prefix == "LT#" else "0ms")
    for name, per in _UNITS:
        if not ns:
            break
        q, ns = divmod(ns, per)
        if q:
            out.append("%d%s" % (q, name))
    return "".join(out)


def _td_from_ns(ns):
    """timedelta of a nanosecond count, cut toward zero to whole microseconds."""
    us = ns // 1000 if ns >= 0 else -((-ns) // 1000)
    return _dt.timedelta(microseconds=us)


# ---- calendar ----

_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_DATE_EPOCH = _dt.date(1990, 1, 1).toordinal()
_NS_PER_DAY = 86400 * 1000000000
_YEAR_RANGE = {DATE: (1990, 2169), DATE_AND_TIME: (1990, 2089), LDT: (1970, 2262), DTL: (1970, 2554)}


def _days_in_month(year, month):
    if month < 1 or month > 12:
        return 0
    days = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    return days + (1 if month == 2 and leap else 0)


def _check_datetime(type_, year, month, day, hour, minute, second, ns, weekday):
    """plcio_tag_check_datetime() for the types with a date and a time."""
    name = TYPE_NAMES[type_]
    if not (1 <= year <= 9999 and 1 <= day <= _days_in_month(year, month)):
        raise _bad("%04d-%02d-%02d is not a valid date for %s" % (year, month, day, name))
    lo, hi = _YEAR_RANGE[type_]
    if not lo <= year <= hi:
        raise _bad("year %d is out of range for %s (%d..%d)" % (year, name, lo, hi))
    if hour > 23 or minute > 59 or second > 59:
        raise _bad("%02d:%02d:%02d is not a valid time of day for %s" % (hour, minute, second, name))
    if ns > 999999999:
        raise _bad("nanosecond %d is out of range for %s (0..999999999)" % (ns, name))
    if weekday < 1 or weekday > 7:
        raise _bad("weekday %d is out of range for %s (1 = Sunday .. 7)" % (weekday, name))


def _time_text(h, mi, s, ns, nanos):
    if nanos:
        return "%02d:%02d:%02d.%09d" % (h, mi, s, ns)
    return "%02d:%02d:%02d.%03d" % (h, mi, s, ns // 1000000)


def _datetime_value(year, month, day, h, mi, s, ns):
    return _dt.datetime(year, month, day, h, mi, s, ns // 1000)


def _split_day_ns(ns):
    secs, frac = divmod(ns, 1000000000)
    return secs // 3600, secs // 60 % 60, secs % 60, frac


# ---- decoders: raw bytes (exactly the tag's size) -> (value, text) ----

def _dec_int(fmt):
    s = struct.Struct(fmt)

    def dec(raw, length, bit):
        v = s.unpack(raw)[0]
        return v, str(v)
    return dec


def _dec_bool(raw, length, bit):
    v = bool(raw[0] >> bit & 1)
    return v, "true" if v else "false"


def _dec_real(raw, length, bit):
    v = struct.unpack(">f", raw)[0]
    return v, _c_float_text(v, 9)


def _dec_lreal(raw, length, bit):
    v = struct.unpack(">d", raw)[0]
    return v, _c_float_text(v, 17)


def _dec_char(raw, length, bit):
    c = chr(raw[0])  # Latin-1: the byte is the code point
    return c, c


def _dec_wchar(raw, length, bit):
    u = raw[0] << 8 | raw[1]
    if 0xD800 <= u <= 0xDFFF:
        raise _bad("WCHAR 16#%04X is a lone UTF-16 surrogate" % u)
    c = chr(u)
    return c, c


def _dec_string(raw, length, bit):
    mx, cur = raw[0], raw[1]
    if mx > STRING_MAX:
        raise _bad("STRING header declares %d characters, more than %d" % (mx, STRING_MAX))
    if length and mx > length:
        raise _bad("STRING header declares %d characters in a STRING[%d]" % (mx, length))
    if len(raw) < 2 + (length or mx):
        raise DecodeError(_e.EAGAIN, "STRING[%d] needs %d bytes, %d given" % (length or mx, 2 + (length or mx),
                                                                             len(raw)))
    if cur > mx:
        raise _bad("STRING current length %d exceeds its maximum %d" % (cur, mx))
    s = bytes(raw[2:2 + cur]).decode("latin-1")
    return s, s


def _dec_wstring(raw, length, bit):
    mx, cur = raw[0] << 8 | raw[1], raw[2] << 8 | raw[3]
    if mx > WSTRING_MAX:
        raise _bad("WSTRING header declares %d characters, more than %d" % (mx, WSTRING_MAX))
    if length and mx > length:
        raise _bad("WSTRING header declares %d characters in a WSTRING[%d]" % (mx, length))
    if len(raw) < 4 + 2 * (length or mx):
        raise DecodeError(_e.EAGAIN, "WSTRING[%d] needs %d bytes, %d given" % (length or mx, 4 + 2 * (length or mx),
                                                                               len(raw)))
    if cur > mx:
        raise _bad("WSTRING current length %d exceeds its maximum %d" % (cur, mx))
    units = struct.unpack_from(">%dH" % cur, raw, 4)
    chars = []
    i = 0
    while i < cur:
        u = units[i]
        if 0xDC00 <= u <= 0xDFFF:
            raise _bad("WSTRING unit %d (16#%04X) is an unpaired low surrogate" % (i, u))
        if 0xD800 <= u <= 0xDBFF:
            lo = units[i + 1] if i + 1 < cur else 0
            if not 0xDC00 <= lo <= 0xDFFF:
                raise _bad("WSTRING unit %d (16#%04X) is a high surrogate without a low one" % (i, u))
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
            i += 1
        chars.append(chr(u))
        i += 1
    s = "".join(chars)
    return s, s


def _dec_time(raw, length, bit):
    ms = struct.unpack(">i", raw)[0]
    return _dt.timedelta(milliseconds=ms), _duration_text("T#", ms * 1000000)


def _dec_ltime(raw, length, bit):
    ns = struct.unpack(">q", raw)[0]
    return _td_from_ns(ns), _duration_text("LT#", ns)


_S5_BASE_MS = (10, 100, 1000, 10000)


def _dec_s5time(raw, length, bit):
    w = raw[0] << 8 | raw[1]
    d2, d1, d0 = w >> 8 & 0xF, w >> 4 & 0xF, w & 0xF
    if d2 > 9 or d1 > 9 or d0 > 9:
        raise _bad("S5TIME 16#%04X has a digit that is not BCD" % w)
    ms = (d2 * 100 + d1 * 10 + d0) * _S5_BASE_MS[w >> 12 & 3]
    return _dt.timedelta(milliseconds=ms), _duration_text("S5T#", ms * 1000000)


def _dec_date(raw, length, bit):
    d = _dt.date.fromordinal(_DATE_EPOCH + (raw[0] << 8 | raw[1]))
    return d, "%04d-%02d-%02d" % (d.year, d.month, d.day)


def _dec_tod(raw, length, bit):
    ms = struct.unpack(">I", raw)[0]
    if ms >= 86400000:
        raise _bad("TIME_OF_DAY %d ms is beyond 23:59:59.999" % ms)
    h, mi, s, ns = _split_day_ns(ms * 1000000)
    return _dt.time(h, mi, s, ns // 1000), _time_text(h, mi, s, ns, False)


def _dec_ltod(raw, length, bit):
    ns = struct.unpack(">Q", raw)[0]
    if ns >= _NS_PER_DAY:
        raise _bad("LTOD %d ns is beyond 23:59:59.999999999" % ns)
    h, mi, s, frac = _split_day_ns(ns)
    return _dt.time(h, mi, s, frac // 1000), _time_text(h, mi, s, frac, True)


def _bcd(b, i):
    if b >> 4 > 9 or b & 0xF > 9:
        raise _bad("DATE_AND_TIME byte %d (16#%02X) is not BCD" % (i, b))
    return (b >> 4) * 10 + (b & 0xF)


def _dec_dt(raw, length, bit):
    f = [_bcd(raw[i], i) for i in range(7)]
    ms_low, weekday = raw[7] >> 4, raw[7] & 0xF
    if ms_low > 9:
        raise _bad("DATE_AND_TIME byte 7 (16#%02X) is not BCD" % raw[7])
    year = 1900 + f[0] if f[0] >= 90 else 2000 + f[0]
    ns = (f[6] * 10 + ms_low) * 1000000
    _check_datetime(DATE_AND_TIME, year, f[1], f[2], f[3], f[4], f[5], ns, weekday)
    text = "%04d-%02d-%02dT%s" % (year, f[1], f[2], _time_text(f[3], f[4], f[5], ns, False))
    return _datetime_value(year, f[1], f[2], f[3], f[4], f[5], ns), text


def _dec_ldt(raw, length, bit):
    ns = struct.unpack(">Q", raw)[0]
    if ns > 0x7FFFFFFFFFFFFFFF:
        raise _bad("LDT 16#%016X is beyond 2262-04-11T23:47:16.854775807" % ns)
    days, rest = divmod(ns, _NS_PER_DAY)
    d = _dt.date.fromordinal(_EPOCH_ORDINAL + days)
    h, mi, s, frac = _split_day_ns(rest)
    text = "%04d-%02d-%02dT%s" % (d.year, d.month, d.day, _time_text(h, mi, s, frac, True))
    return _datetime_value(d.year, d.month, d.day, h, mi, s, frac), text


def _dec_dtl(raw, length, bit):
    year = raw[0] << 8 | raw[1]
    month, day, weekday, h, mi, s = raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]
    ns = struct.unpack_from(">I", raw, 8)[0]
    _check_datetime(DTL, year, month, day, h, mi, s, ns, weekday)
    text = "%04d-%02d-%02dT%s" % (year, month, day, _time_text(h, mi, s, ns, True))
    return _datetime_value(year, month, day, h, mi, s, ns), text


DECODERS = [None] * TYPE_COUNT
for _t, _f in _INT_FORMATS.items():
    DECODERS[_t] = _dec_int(_f)
DECODERS[BOOL] = _dec_bool
DECODERS[REAL] = _dec_real
DECODERS[LREAL] = _dec_lreal
DECODERS[CHAR] = _dec_char
DECODERS[WCHAR] = _dec_wchar
DECODERS[STRING] = _dec_string
DECODERS[WSTRING] = _dec_wstring
DECODERS[TIME] = _dec_time
DECODERS[LTIME] = _dec_ltime
DECODERS[S5TIME] = _dec_s5time
DECODERS[DATE] = _dec_date
DECODERS[TIME_OF_DAY] = _dec_tod
DECODERS[LTOD] = _dec_ltod
DECODERS[DATE_AND_TIME] = _dec_dt
DECODERS[LDT] = _dec_ldt
DECODERS[DTL] = _dec_dtl
DECODERS = tuple(DECODERS)


def decode(type_, length, bit, raw):
    """(value, text) of a tag's raw bytes; DecodeError if the C decoder refuses them."""
    return DECODERS[type_](raw, length, bit)


# ---- Python value -> value text for writes ----

_DURATION_PREFIX = {TIME: "T#", LTIME: "LT#", S5TIME: "S5T#"}


def _duration_to_text(type_, td):
    us = (td.days * 86400 + td.seconds) * 1000000 + td.microseconds
    sign = "-" if us < 0 else ""
    return "%s%s%dus" % (_DURATION_PREFIX[type_], sign, abs(us))


def to_text(type_, value):
    """Text that plcio_value_from_text() reads as `value` for a tag of `type_`.
    Range checks are the engine's (it answers ERANGE with the reason).
    TypeError for Python values that have no text form for the type."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        if type_ == BOOL:
            return "true" if value else "false"
        return "1" if value else "0"
    if isinstance(value, numbers.Integral):  # int, and numpy's integers
        return str(int(value))
    if isinstance(value, numbers.Real):  # float, numpy floats, Fraction
        return repr(float(value))
    if isinstance(value, _dt.timedelta) and type_ in _DURATION_PREFIX:
        return _duration_to_text(type_, value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        if type_ in (DATE_AND_TIME, LDT, DTL):
            return "%04d-%02d-%02dT%02d:%02d:%02d.%06d" % (value.year, value.month, value.day, value.hour,
                                                          value.minute, value.second, value.microsecond)
        if type_ == DATE:
            return "%04d-%02d-%02d" % (value.year, value.month, value.day)
    elif isinstance(value, _dt.date) and type_ == DATE:
        return "%04d-%02d-%02d" % (value.year, value.month, value.day)
    if isinstance(value, _dt.time) and type_ in (TIME_OF_DAY, LTOD):
        return "%02d:%02d:%02d.%06d" % (value.hour, value.minute, value.second, value.microsecond)
    raise TypeError("%s is not a value for %s" % (type(value).__name__, TYPE_NAMES[type_]))
