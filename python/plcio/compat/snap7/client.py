"""python-snap7's Client (classic S7) over plcio.S7Client: same method names,
arguments and return values (bytearray for reads, 0 for writes, the same
structures for CPU info and block lists, a state string for get_cpu_state)."""

import datetime as _dt
import functools
import struct
from typing import Any, Dict, List, Optional, Tuple

from ... import s7 as _s7
from ...errors import Error
from . import error as _error
from .type import Area, Block, BlocksList, S7CpuInfo, WordLen

_BLOCK_NAMES = {Block.OB: "OB", Block.DB: "DB", Block.SDB: "SDB", Block.FC: "FC", Block.SFC: "SFC", Block.FB: "FB",
                Block.SFB: "SFB"}


def _translated(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kw):
        try:
            return fn(*args, **kw)
        except _error.S7Error:
            raise
        except Error as e:
            raise _error.translate(e) from None
    return wrapper


class Client:
    """snap7.client.Client: connect(address, rack, slot, tcp_port=102) then the
    classic calls. `timeout` (seconds) is the per-request timeout."""

    MAX_VARS = 20

    def __init__(self, lib_location: Optional[str] = None, timeout: float = 5.0, **kwargs: Any) -> None:
        self._c: Optional[_s7.S7Client] = None
        self._timeout_ms = max(1, int(timeout * 1000))

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.disconnect()

    def __del__(self) -> None:
        try:
            self.destroy()
        except Exception:
            pass

    def create(self) -> None:
        """No-op (python-snap7 compatibility)."""

    def destroy(self) -> None:
        if self._c is not None:
            self._c.free()
            self._c = None

    @_translated
    def connect(self, address: str, rack: int, slot: int, tcp_port: int = 102) -> "Client":
        self.destroy()
        self._c = _s7.S7Client(host=address, rack=rack, slot=slot, port=tcp_port, timeout_ms=self._timeout_ms)
        self._c.connect()
        return self

    def disconnect(self) -> int:
        if self._c is not None:
            self._c.close()
        return 0

    def get_connected(self) -> bool:
        return self._c is not None and self._c.is_connected()

    def _client(self) -> _s7.S7Client:
        if self._c is None:
            raise _error.S7ConnectionError(-13, "Not connected to PLC")
        return self._c

    def get_pdu_length(self) -> int:
        return self._client().pdu_size

    # ---- data ----
    @_translated
    def read_area(self, area: Area, db_number: int, start: int, size: int, word_len: Optional[WordLen] = None
                  ) -> bytearray:
        return self._client().read_area(int(area), db_number if int(area) == Area.DB else 0, start, size)

    @_translated
    def write_area(self, area: Area, db_number: int, start: int, data: bytearray,
                   word_len: Optional[WordLen] = None) -> int:
        self._client().write_area(int(area), db_number if int(area) == Area.DB else 0, start, data)
        return 0

    @_translated
    def db_read(self, db_number: int, start: int, size: int) -> bytearray:
        return self._client().db_read(db_number, start, size)

    @_translated
    def db_write(self, db_number: int, start: int, data: bytearray) -> int:
        self._client().db_write(db_number, start, data)
        return 0

    @_translated
    def db_get(self, db_number: int, size: int = 0) -> bytearray:
        if size <= 0:
            raise _error.S7Error(-17, "db_get needs the DB size (plcio does not read block info for it)")
        return self._client().db_read(db_number, 0, size)

    @_translated
    def db_fill(self, db_number: int, filler: int, size: int = 0) -> int:
        if size <= 0:
            raise _error.S7Error(-17, "db_fill needs the DB size (plcio does not read block info for it)")
        self._client().db_write(db_number, 0, bytes([filler & 0xFF]) * size)
        return 0

    def _area_rw(area):  # noqa: N805 - builds methods
        def read(self, start: int, size: int) -> bytearray:
            return self.read_area(area, 0, start, size)

        def write(self, start: int, size: int, data: bytearray) -> int:
            if size != len(data) // (2 if area in (Area.CT, Area.TM) else 1):
                raise ValueError("size %d does not match len(data) %d" % (size, len(data)))
            return self.write_area(area, 0, start, data)
        return read, write

    mb_read, mb_write = _area_rw(Area.MK)
    eb_read, eb_write = _area_rw(Area.PE)
    ab_read, ab_write = _area_rw(Area.PA)
    tm_read, tm_write = _area_rw(Area.TM)
    ct_read, ct_write = _area_rw(Area.CT)
    del _area_rw

    @_translated
    def read_multi_vars(self, items: List[Dict[str, Any]]) -> Tuple[int, List[bytearray]]:
        """Dict items {"area", "db_number", "start", "size"}: (0, [bytearray, ...])."""
        if len(items) > self.MAX_VARS:
            raise ValueError("Too many items: %d exceeds MAX_VARS (%d)" % (len(items), self.MAX_VARS))
        if items and not isinstance(items[0], dict):
            raise TypeError("plcio.compat.snap7: read_multi_vars takes a list of dicts (area, db_number, start, "
                            "size); ctypes S7DataItem arrays are not supported")
        spec = [(int(i["area"]), i.get("db_number", 0), i["start"], i["size"]) for i in items]
        return 0, self._client().read_vars(spec)  # type: ignore[return-value]

    @_translated
    def write_multi_vars(self, items: List[Dict[str, Any]]) -> int:
        if len(items) > self.MAX_VARS:
            raise ValueError("Too many items: %d exceeds MAX_VARS (%d)" % (len(items), self.MAX_VARS))
        for i in items:
            self._client().write_area(int(i["area"]), i.get("db_number", 0), i["start"], i["data"])
        return 0

    @_translated
    def read_tag(self, tag: str, encoding: str = "latin-1") -> Any:
        return self._client().read(tag)

    @_translated
    def read_tags(self, tags: List[str], encoding: str = "latin-1") -> List[Any]:
        return self._client().read_many(tags)

    @_translated
    def write_tag(self, tag: str, value: Any, encoding: str = "latin-1") -> int:
        self._client().write(tag, value)
        return 0

    # typed DB helpers: db_read_int(db, offset) / db_write_int(db, offset, value) ...
    def _typed(fmt):  # noqa: N805
        size = struct.calcsize(fmt)

        def read(self, db_number: int, offset: int) -> Any:
            return struct.unpack(fmt, self.db_read(db_number, offset, size))[0]

        def write(self, db_number: int, offset: int, value: Any) -> None:
            try:
                data = struct.pack(fmt, value)
            except struct.error as e:
                raise ValueError("%r does not fit %s: %s" % (value, fmt, e)) from None
            self.db_write(db_number, offset, data)
        return read, write

    db_read_byte, db_write_byte = _typed(">B")
    db_read_int, db_write_int = _typed(">h")
    db_read_uint, db_write_uint = _typed(">H")
    db_read_word, db_write_word = _typed(">H")
    db_read_dint, db_write_dint = _typed(">i")
    db_read_udint, db_write_udint = _typed(">I")
    db_read_dword, db_write_dword = _typed(">I")
    db_read_real, db_write_real = _typed(">f")
    db_read_lreal, db_write_lreal = _typed(">d")
    del _typed

    def db_read_bool(self, db_number: int, byte_offset: int, bit_offset: int) -> bool:
        return bool(self.db_read(db_number, byte_offset, 1)[0] >> bit_offset & 1)

    def db_write_bool(self, db_number: int, byte_offset: int, bit_offset: int, value: bool) -> None:
        """Read-modify-write of the byte, as python-snap7 does."""
        b = self.db_read(db_number, byte_offset, 1)
        b[0] = (b[0] | 1 << bit_offset) if value else (b[0] & ~(1 << bit_offset) & 0xFF)
        self.db_write(db_number, byte_offset, b)

    def db_read_string(self, db_number: int, offset: int) -> str:
        head = self.db_read(db_number, offset, 2)
        data = self.db_read(db_number, offset + 2, head[0]) if head[0] else bytearray()
        return bytes(data[:min(head[1], head[0])]).decode("latin-1")

    def db_write_string(self, db_number: int, offset: int, value: str, max_length: int = 254) -> None:
        raw = value.encode("latin-1")
        if len(raw) > max_length or max_length > 254:
            raise ValueError("string of %d characters does not fit STRING[%d]" % (len(raw), max_length))
        self.db_write(db_number, offset, bytes([max_length, len(raw)]) + raw)

    def db_read_wstring(self, db_number: int, offset: int) -> str:
        head = self.db_read(db_number, offset, 4)
        mx, cur = struct.unpack(">HH", head)
        data = self.db_read(db_number, offset + 4, 2 * mx) if mx else bytearray()
        return bytes(data[:2 * min(cur, mx)]).decode("utf-16-be")

    def db_write_wstring(self, db_number: int, offset: int, value: str, max_length: int = 254) -> None:
        raw = value.encode("utf-16-be")
        if len(raw) // 2 > max_length:
            raise ValueError("string of %d UTF-16 units does not fit WSTRING[%d]" % (len(raw) // 2, max_length))
        self.db_write(db_number, offset, struct.pack(">HH", max_length, len(raw) // 2) + raw)

    def db_read_array(self, db_number: int, start: int, count: int, fmt: str = ">f") -> List[Any]:
        size = struct.calcsize(fmt)
        data = self.db_read(db_number, start, size * count)
        return [struct.unpack_from(fmt, data, i * size)[0] for i in range(count)]

    def db_write_array(self, db_number: int, start: int, values: List[Any], fmt: str = ">f") -> int:
        return self.db_write(db_number, start, b"".join(struct.pack(fmt, v) for v in values))

    # ---- PLC information and control ----
    @_translated
    def get_cpu_info(self) -> S7CpuInfo:
        i = self._client().cpu_info()
        return S7CpuInfo(i["module_type"].encode("latin-1"), i["serial"].encode("latin-1"),
                         i["as_name"].encode("latin-1"), i["copyright"].encode("latin-1"),
                         i["module_name"].encode("latin-1"))

    @_translated
    def get_cpu_state(self) -> str:
        st = self._client().cpu_state()
        return {0x08: "S7CpuStatusRun", 0x04: "S7CpuStatusStop"}.get(int(st), "S7CpuStatusUnknown")

    @_translated
    def list_blocks(self) -> BlocksList:
        b = self._client().list_blocks()
        return BlocksList(b["OB"], b["FB"], b["FC"], b["SFB"], b["SFC"], b["DB"], b["SDB"])

    @_translated
    def list_blocks_of_type(self, block_type: Block, max_count: int) -> List[int]:
        name = _BLOCK_NAMES.get(block_type) if not isinstance(block_type, str) else block_type.upper()
        if name is None:
            raise ValueError("unknown block type %r" % (block_type,))
        return self._client().list_blocks_of_type(name)[:max_count]

    @_translated
    def get_plc_datetime(self) -> _dt.datetime:
        return self._client().get_clock()

    @_translated
    def set_plc_datetime(self, dt: _dt.datetime) -> int:
        self._client().set_clock(dt)
        return 0

    def set_plc_system_datetime(self) -> int:
        return self.set_plc_datetime(_dt.datetime.now())

    @_translated
    def plc_stop(self) -> int:
        self._client().plc_stop()
        return 0

    @_translated
    def plc_hot_start(self) -> int:
        self._client().plc_hot_start()
        return 0

    @_translated
    def plc_cold_start(self) -> int:
        self._client().plc_cold_start()
        return 0
