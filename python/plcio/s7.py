"""plcio.S7Client: the C S7 client (include/plcio/s7.h) in Python's terms.

    import plcio
    with plcio.S7Client("s7://192.168.0.1?rack=0&slot=1") as plc:   # connects
        raw = plc.db_read(1, 0, 4)                 # bytearray
        plc.db_write(1, 0, b"\\x00\\x01")
        speed = plc.read("DB1.DBD8:REAL")          # 3.5
        plc.write("DB1.DBX0.0", True)
        speed, running = plc.read_many(["DB1.DBD8:REAL", "M10.5"])

Every call releases the GIL while it waits for the PLC. A client may be shared
between threads: calls on one client are serialised by a lock (the C handle
is used by one thread at a time)."""

from __future__ import annotations

import ctypes
import datetime as _dt
from ctypes import byref, c_bool, c_char, c_int, c_size_t
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import _lib
from . import values as _v
from ._common import ClientLife, as_bytes, check_int, check_str, error_from, tcp_url
from .enums import Area, CpuState
from .errors import EACCESS, EINVAL, ERANGE, Error, PLCError

EPLC = -19
MAX_OFFSET = 0x1FFFFF

BytesLike = Union[bytes, bytearray, memoryview]


_AREA_CODES = frozenset(int(a) for a in Area)


def _area(value: Any) -> int:
    if type(value) is int and value in _AREA_CODES:
        return value
    if isinstance(value, Area):
        return int(value)
    if isinstance(value, str):
        try:
            return int(Area[value.upper()])
        except KeyError:
            raise ValueError("unknown S7 area %r (DB, M, I, Q, PE, PA, MK, CT, TM, P, DI)" % value) from None
    a = check_int("area", value, 0, 255)
    try:
        return int(Area(a))
    except ValueError:
        raise ValueError("area 0x%02X is not an S7 area (use plcio.Area)" % a) from None


def _elem_area(area: int) -> bool:
    return area in (Area.CT, Area.TM)


class ParsedAddress:
    """An S7 address string parsed by the C parser (plcio_s7_address_parse), or
    with a client handle as that client parses it (plcio_s7_client_parse_address:
    a logo:// client takes the LOGO! names I1, Q1, AI1... of its model=)."""

    __slots__ = ("text", "area", "db", "offset", "bit", "type", "length", "count", "size", "elem_size",
                 "read_only")

    def __init__(self, text: str, client: Optional[int] = None) -> None:
        lib = _lib.lib()
        a = _lib.S7Address()
        err = _lib.Error_()
        ro = c_bool(False)
        if client is None:
            rc = lib.plcio_s7_address_parse(check_str("address", text), byref(a), byref(err))
        else:
            rc = lib.plcio_s7_client_parse_address(client, check_str("address", text), byref(a), byref(ro),
                                                   byref(err))
        if rc != 0:
            raise error_from(rc, err.text.decode("utf-8", "replace"))
        self.read_only = bool(ro.value)
        self.text = text
        self.area, self.db, self.offset, self.bit = a.area, a.db, a.offset, a.bit
        self.type, self.length, self.count, self.size = a.type, a.length, a.count, a.size
        self.elem_size = int(lib.plcio_type_size(a.type, a.length)) if a.type != _v.BOOL else 0
        if _elem_area(self.area):
            self.elem_size = 2

    def var_geometry(self) -> Tuple[int, int]:
        """(start, size) as plcio_s7_var counts them (elements for C/T)."""
        if _elem_area(self.area):
            return self.offset, self.size // 2
        return self.offset, self.size

    def decode(self, raw: bytes) -> Any:
        out = []
        for i in range(self.count):
            if self.type == _v.BOOL:
                b = self.bit + i
                value, _ = _v.decode(_v.BOOL, 0, b % 8, raw[b // 8:b // 8 + 1])
            else:
                chunk = raw[i * self.elem_size:(i + 1) * self.elem_size]
                try:
                    value, _ = _v.decode(self.type, self.length, 0, chunk)
                except _v.DecodeError as e:
                    raise Error(-8, "%s: %s" % (self.text, e)) from None
            out.append(value)
        return out[0] if self.count == 1 else out


class S7Client(ClientLife):
    """A client of one S7 PLC (or snap7 / plcio simulator), made from a URL
    s7://HOST[:PORT][?rack=0&slot=1&pdu=960&timeout=MS&type=pg|op|basic] or
    from host/rack/slot/port. Does not connect until connect() or `with`."""

    _kind = "s7"

    def __init__(self, url: Optional[str] = None, *, host: Optional[str] = None, rack: int = 0, slot: int = 1,
                 port: int = 102, timeout_ms: Optional[int] = None) -> None:
        self._h = None
        if url is None:
            if host is None:
                raise TypeError("S7Client needs a URL (s7://HOST...) or host=")
            url = tcp_url("s7", host, port, "rack=%d&slot=%d" % (check_int("rack", rack, 0, 7),
                                                                 check_int("slot", slot, 0, 31)), timeout_ms)
        self._open(url)

    def _fail(self, rc: int) -> Error:
        lib, h = self._lib, self._h
        e = lib.plcio_s7_client_last_error(h).contents
        text = e.text.decode("utf-8", "replace")
        if rc == EPLC:
            return PLCError(rc, text or "the PLC rejected the request", s7_error=lib.plcio_s7_client_last_s7_error(h),
                            item_code=lib.plcio_s7_client_last_item_code(h),
                            reason=(lib.plcio_s7_client_last_reason(h) or b"").decode("utf-8", "replace"))
        return error_from(rc, text)

    def _call(self, fn: Any, *args: Any) -> int:
        with self._lock:
            h = self._handle()
            rc = fn(h, *args)
            if rc < 0:
                raise self._fail(rc)
            return rc

    def connect(self) -> "S7Client":
        """Connect (COTP + S7 setup); raises ConnectionFailed / Error."""
        self._call(self._lib.plcio_s7_client_connect)
        return self

    def __repr__(self) -> str:
        return "<plcio.S7Client %s %s>" % (self.url, "connected" if self._h and self.is_connected() else "closed")

    @property
    def connected(self) -> bool:
        return self.is_connected()

    @property
    def pdu_size(self) -> int:
        with self._lock:
            return int(self._lib.plcio_s7_client_pdu_size(self._handle()))

    def fileno(self) -> int:
        """The socket (-1 when disconnected), for select()."""
        with self._lock:
            return int(self._lib.plcio_s7_client_fd(self._handle()))

    # ---- raw memory ----
    def read_area(self, area: Union[Area, int, str], db: int, start: int, size: int) -> bytearray:
        """`size` bytes at byte `start` of `area` (DB number `db`; timers and
        counters count elements of 2 bytes). Split into PDU-sized requests sent
        in parallel."""
        a = _area(area)
        db = check_int("db", db, 0, 65535)
        start = check_int("start", start, 0, MAX_OFFSET)
        size = check_int("size", size, 0, MAX_OFFSET + 1 - start)
        nbytes = size * 2 if _elem_area(a) else size
        buf = bytearray(nbytes)
        if size == 0:
            return buf
        cbuf = (c_char * nbytes).from_buffer(buf)
        self._call(self._lib.plcio_s7_client_read_area, a, db, start, size, cbuf)
        return buf

    def write_area(self, area: Union[Area, int, str], db: int, start: int, data: BytesLike) -> None:
        """Write the bytes of `data` at byte `start` of `area`."""
        a = _area(area)
        db = check_int("db", db, 0, 65535)
        start = check_int("start", start, 0, MAX_OFFSET)
        raw = as_bytes("data", data)
        n = len(raw)
        if _elem_area(a):
            if n % 2:
                raise ValueError("timer/counter data must be 2 bytes per element, got %d bytes" % n)
            n //= 2
        if n == 0:
            return
        check_int("start + size", start + n, 0, MAX_OFFSET + 1)
        self._call(self._lib.plcio_s7_client_write_area, a, db, start, n, raw)

    def db_read(self, db: int, start: int, size: int) -> bytearray:
        """`size` bytes of DB `db` from byte `start`."""
        return self.read_area(Area.DB, check_int("db", db, 1, 65535), start, size)

    def db_write(self, db: int, start: int, data: BytesLike) -> None:
        self.write_area(Area.DB, check_int("db", db, 1, 65535), start, data)

    def read_bit(self, area: Union[Area, int, str], db: int, byte: int, bit: int) -> bool:
        out = c_bool()
        self._call(self._lib.plcio_s7_client_read_bit, _area(area), check_int("db", db, 0, 65535),
                   check_int("byte", byte, 0, MAX_OFFSET), check_int("bit", bit, 0, 7), byref(out))
        return bool(out.value)

    def write_bit(self, area: Union[Area, int, str], db: int, byte: int, bit: int, value: bool) -> None:
        self._call(self._lib.plcio_s7_client_write_bit, _area(area), check_int("db", db, 0, 65535),
                   check_int("byte", byte, 0, MAX_OFFSET), check_int("bit", bit, 0, 7), bool(value))

    def read_vars(self, items: Sequence[Tuple[Any, int, int, int]], raise_on_error: bool = True
                  ) -> List[Union[bytearray, Error]]:
        """Raw multi-variable read: items are (area, db, start, size); neighbours
        are merged and the PDUs pipelined. Returns one bytearray per item (an
        Error instead for an item the PLC refused, if raise_on_error is False)."""
        geo = []
        for i, it in enumerate(items):
            if not isinstance(it, (tuple, list)) or len(it) != 4:
                raise TypeError("item %d must be (area, db, start, size)" % i)
            a = _area(it[0])
            start = check_int("start", it[2], 0, MAX_OFFSET)
            size = check_int("size", it[3], 1, MAX_OFFSET + 1 - start)
            geo.append((a, check_int("db", it[1], 0, 65535), start, size, size * 2 if _elem_area(a) else size))
        return self._read_vars(geo, raise_on_error)

    def _read_vars(self, geo: List[Tuple[int, int, int, int, int]], raise_on_error: bool
                   ) -> List[Union[bytearray, Error]]:
        n = len(geo)
        if n == 0:
            return []
        vars_ = (_lib.S7Var * n)()
        bufs = []
        for i, (a, db, start, size, nbytes) in enumerate(geo):
            buf = bytearray(nbytes)
            cbuf = (c_char * nbytes).from_buffer(buf)
            bufs.append((buf, cbuf))
            v = vars_[i]
            v.area, v.db, v.start, v.size, v.bit = a, db, start, size, -1
            v.data = ctypes.addressof(cbuf)
        with self._lock:
            h = self._handle()
            rc = self._lib.plcio_s7_client_read_vars(h, vars_, n)
            if rc < 0 and rc != EPLC:
                raise self._fail(rc)
            out: List[Union[bytearray, Error]] = []
            for i in range(n):
                r = vars_[i].result
                if r == 0:
                    out.append(bufs[i][0])
                    continue
                code = vars_[i].item_code
                a, db, start, size, _ = geo[i]
                what = "%s%s byte %d (%d)" % (self._lib.plcio_s7_area_name(a).decode(),
                                              db if a in (Area.DB, Area.DI) else "", start, size)
                reason = self._lib.plcio_s7_return_code_text(code).decode()
                e = PLCError(r, "%s: %s" % (what, reason), item_code=code, reason=reason) if r == EPLC else \
                    error_from(r, what)
                if raise_on_error:
                    raise e
                out.append(e)
            return out

    # ---- typed access by address string ----
    def read(self, address: str) -> Any:
        """The value at an address ("DB1.DBD8:REAL", "M10.5", "DB1:20:STRING[30]",
        "DB1.DBW0:INT[4]" gives a list)."""
        return self.read_many([address])[0]

    def read_many(self, addresses: Iterable[str], raise_on_error: bool = True) -> List[Any]:
        """Values of several addresses in the fewest requests (merged, packed,
        pipelined). With raise_on_error False an item the PLC refused gives its
        Error in the list."""
        parsed = [a if isinstance(a, ParsedAddress) else ParsedAddress(a, self._handle()) for a in addresses]
        geo = []
        for p in parsed:
            start, size = p.var_geometry()
            geo.append((p.area, p.db, start, size, p.size))
        raws = self._read_vars(geo, raise_on_error)
        return [r if isinstance(r, Error) else p.decode(bytes(r)) for p, r in zip(parsed, raws)]

    def write(self, address: str, value: Any) -> None:
        """Write a Python value (bool, int, float, str, datetime/date/time,
        timedelta; a sequence for an array address) to an address. Range
        checks are the C library's: 70000 to an INT raises Error (ERANGE)."""
        p = address if isinstance(address, ParsedAddress) else ParsedAddress(address, self._handle())
        if p.read_only:
            raise error_from(EACCESS,
                             "%s: an input of the LOGO!, read-only (the LOGO! writes it every cycle)" % p.text)
        if p.count == 1:
            text = _v.to_text(p.type, value)
            self._call(self._lib.plcio_s7_client_write_text, p.text.encode(), check_str("value", text))
            return
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise TypeError("%s is an array of %d: give a sequence of %d values" % (p.text, p.count, p.count))
        if len(value) != p.count:
            raise ValueError("%s is an array of %d, got %d values" % (p.text, p.count, len(value)))
        if p.type == _v.BOOL:
            vars_ = (_lib.S7Var * p.count)()
            cells = (ctypes.c_uint8 * p.count)()
            for i, x in enumerate(value):
                if not isinstance(x, (bool, int)):
                    raise TypeError("element %d: %s is not a value for BOOL" % (i, type(x).__name__))
                b = p.bit + i
                cells[i] = 1 if x else 0
                v = vars_[i]
                v.area, v.db, v.start, v.size, v.bit = p.area, p.db, p.offset + b // 8, 1, b % 8
                v.data = ctypes.addressof(cells) + i
            self._write_vars(vars_, p.count)
            return
        buf = (ctypes.c_uint8 * p.size)()
        val = _lib.Value()
        err = _lib.Error_()
        used = c_size_t()
        for i, x in enumerate(value):
            t = check_str("value", _v.to_text(p.type, x))
            rc = self._lib.plcio_value_from_text(byref(val), p.type, p.length, t, len(t), byref(err))
            if rc == 0:
                rc = self._lib.plcio_value_encode(byref(val), ctypes.cast(ctypes.addressof(buf) + i * p.elem_size,
                                                                         ctypes.POINTER(ctypes.c_uint8)),
                                                  p.elem_size, 0, byref(used), byref(err))
            if rc != 0:
                raise error_from(rc, "%s element %d: %s" % (p.text, i, err.text.decode("utf-8", "replace")))
        start, _ = p.var_geometry()
        self.write_area(p.area, p.db, start, bytes(buf))

    def _write_vars(self, vars_: Any, n: int) -> None:
        with self._lock:
            h = self._handle()
            rc = self._lib.plcio_s7_client_write_vars(h, vars_, n)
            if rc < 0 and rc != EPLC:
                raise self._fail(rc)
            for i in range(n):
                if vars_[i].result != 0:
                    code = vars_[i].item_code
                    reason = self._lib.plcio_s7_return_code_text(code).decode()
                    raise PLCError(vars_[i].result, "write item %d: %s" % (i, reason), item_code=code, reason=reason)

    def write_many(self, values: Union[Dict[str, Any], Iterable[Tuple[str, Any]]]) -> None:
        """Write several addresses (one request per address, in order)."""
        items = values.items() if isinstance(values, dict) else values
        for address, value in items:
            self.write(address, value)

    # ---- PLC information and control ----
    def cpu_info(self) -> Dict[str, Any]:
        info = _lib.S7CpuInfo()
        self._call(self._lib.plcio_s7_client_cpu_info, byref(info))
        out: Dict[str, Any] = {}
        for name, _t in _lib.S7CpuInfo._fields_:
            v = getattr(info, name)
            out[name] = v.decode("latin-1") if isinstance(v, bytes) else v
        return out

    def cpu_state(self) -> CpuState:
        st = c_int()
        self._call(self._lib.plcio_s7_client_get_cpu_state, byref(st))
        try:
            return CpuState(st.value)
        except ValueError:
            return CpuState.UNKNOWN

    def read_szl(self, szl_id: int, index: int = 0, cap: int = 65536) -> bytes:
        """The whole SZL list: 8-byte header then the records."""
        buf = (c_char * cap)()
        n = c_size_t()
        self._call(self._lib.plcio_s7_client_read_szl, check_int("szl_id", szl_id, 0, 0xFFFF),
                   check_int("index", index, 0, 0xFFFF), buf, cap, byref(n))
        return buf.raw[:n.value]

    def list_blocks(self) -> Dict[str, int]:
        bc = _lib.S7BlockCount()
        self._call(self._lib.plcio_s7_client_list_blocks, byref(bc))
        return {n.upper(): getattr(bc, n) for n, _t in _lib.S7BlockCount._fields_}

    def list_blocks_of_type(self, block_type: str, cap: int = 8192) -> List[int]:
        nums = (ctypes.c_uint16 * cap)()
        n = c_size_t()
        self._call(self._lib.plcio_s7_client_list_blocks_of_type, check_str("block_type", block_type), nums, cap,
                   byref(n))
        return list(nums[:n.value])

    def get_clock(self) -> _dt.datetime:
        c = _lib.S7Clock()
        self._call(self._lib.plcio_s7_client_get_clock, byref(c))
        return _dt.datetime(c.year, c.month, c.day, c.hour, c.minute, c.second, c.millisecond * 1000)

    def set_clock(self, when: Optional[_dt.datetime] = None) -> None:
        if when is None:
            when = _dt.datetime.now()
        if not isinstance(when, _dt.datetime):
            raise TypeError("set_clock needs a datetime.datetime")
        c = _lib.S7Clock(when.year, when.month, when.day, when.hour, when.minute, when.second,
                         when.microsecond // 1000, (when.isoweekday() % 7) + 1)
        self._call(self._lib.plcio_s7_client_set_clock, byref(c))

    def plc_stop(self) -> None:
        self._call(self._lib.plcio_s7_client_plc_stop)

    def plc_hot_start(self) -> None:
        self._call(self._lib.plcio_s7_client_plc_hot_start)

    def plc_cold_start(self) -> None:
        self._call(self._lib.plcio_s7_client_plc_cold_start)
