"""In-process S7 and Modbus servers (test benches, simulators) with Python callbacks.

    import plcio
    with plcio.S7Server(port=0) as srv:              # 127.0.0.1, a free port
        db1 = srv.add_db(1, 100)                     # writable memoryview of DB1
        db1[0:2] = b"\\x04\\xd2"
        srv.before_write = lambda acc, data: acc.start < 50   # veto writes beyond byte 49
        srv.after_write = lambda acc: print("written", acc)
        srv.start(); print(srv.port)

    with plcio.ModbusServer(port=0, size=1000) as mb:
        mb.write(plcio.ModbusServer.HOLDING_REGISTERS, 0, [1, 2, 3])
        mb.before_write = lambda unit, area, addr, values: None   # None/True: accept; False or a code: refuse
        mb.start()

Callbacks run on the server's thread (the GIL is taken for them); an
exception in a callback refuses the request (S7 item code 0x01 hardware
fault, Modbus exception 04 server device failure) and is kept in
`callback_errors`. Both servers listen on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import ctypes
import threading
from ctypes import byref, c_char, c_int, c_uint16, c_void_p
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from . import _lib
from ._common import check_int, check_str, error_from
from .errors import Error

S7_AREAS = {"I": 0x81, "Q": 0x82, "M": 0x83, "DB": 0x84, "C": 0x1C, "T": 0x1D}
_S7_AREA_NAMES = {v: k for k, v in S7_AREAS.items()}
ITEM_OK, ITEM_HW_FAULT, ITEM_ACCESS_DENIED = 0xFF, 0x01, 0x03


class Access(NamedTuple):
    """One read or write of one item, as S7Server callbacks see it."""
    area: str   # "DB", "M", "I", "Q", "C", "T"
    db: int     # DB number, 0 for other areas
    start: int  # first byte
    size: int   # bytes
    bit: int    # 0..7 for a bit access, -1 otherwise
    client: int  # connection id


class S7Server:
    """An S7 server (plcio_s7_server) in a background thread of this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, pdu_size: int = 960,
                 max_connections: int = 256) -> None:
        self._lib = _lib.lib()
        self._h: Optional[int] = None
        self._areas: Dict[Tuple[int, int], Tuple[bytearray, Any]] = {}
        self.before_read: Optional[Callable[[Access], Any]] = None
        self.before_write: Optional[Callable[[Access, bytes], Any]] = None
        self.after_write: Optional[Callable[[Access], Any]] = None
        self.callback_errors: List[BaseException] = []
        opts = _lib.S7ServerOptions()
        self._lib.plcio_s7_server_options_init(byref(opts))
        self._host = check_str("host", host)
        opts.host = self._host
        opts.port = check_int("port", port, 0, 65535)
        opts.pdu_size = check_int("pdu_size", pdu_size, 240, 960)
        opts.max_connections = check_int("max_connections", max_connections, 1, 100000)
        self._cb = (_lib.S7_BEFORE_READ(self._on_before_read), _lib.S7_BEFORE_WRITE(self._on_before_write),
                    _lib.S7_AFTER_WRITE(self._on_after_write))
        opts.callbacks.before_read, opts.callbacks.before_write, opts.callbacks.after_write = self._cb
        h = c_void_p()
        err = _lib.Error_()
        rc = self._lib.plcio_s7_server_new(byref(opts), byref(h), byref(err))
        if rc != 0:
            raise error_from(rc, err.text.decode("utf-8", "replace"))
        self._h = h.value

    @staticmethod
    def _access(p: Any) -> Access:
        a = p.contents
        return Access(_S7_AREA_NAMES.get(a.area, str(a.area)), a.db_number, a.start, a.size, a.bit, a.client)

    def _guard(self, fn: Callable[[], Any], refuse: int) -> Any:
        try:
            return fn()
        except BaseException as e:  # never let an exception cross into C
            self.callback_errors.append(e)
            return refuse

    @staticmethod
    def _code(answer: Any) -> int:
        if answer is None or answer is True:
            return ITEM_OK
        if answer is False:
            return ITEM_ACCESS_DENIED
        return int(answer) & 0xFF

    def _on_before_read(self, _ctx: Any, acc: Any, _mem: Any, _size: int) -> int:
        fn = self.before_read
        if fn is None:
            return ITEM_OK
        return self._guard(lambda: self._code(fn(self._access(acc))), ITEM_HW_FAULT)

    def _on_before_write(self, _ctx: Any, acc: Any, data: Any) -> int:
        fn = self.before_write
        if fn is None:
            return ITEM_OK
        n = acc.contents.size if acc.contents.bit < 0 else 1
        return self._guard(lambda: self._code(fn(self._access(acc), ctypes.string_at(data, n))), ITEM_HW_FAULT)

    def _on_after_write(self, _ctx: Any, acc: Any, _mem: Any, _size: int) -> None:
        fn = self.after_write
        if fn is not None:
            self._guard(lambda: fn(self._access(acc)), None)

    def _handle(self) -> int:
        if self._h is None:
            raise Error(-22, "S7Server has been freed")
        return self._h

    def add_area(self, area: str, number: int, size: int) -> memoryview:
        """Register an area ("DB" with its number; "M", "I", "Q", "C", "T" once
        each) of `size` bytes; returns its memory as a writable memoryview
        (change it under `with server.locked(area, number)` while serving)."""
        if area not in S7_AREAS:
            raise ValueError("area must be one of %s" % ", ".join(S7_AREAS))
        code = S7_AREAS[area]
        number = check_int("number", number, 1 if area == "DB" else 0, 65535)
        size = check_int("size", size, 1, 65535)
        buf = bytearray(size)
        cbuf = (c_char * size).from_buffer(buf)
        rc = self._lib.plcio_s7_server_add_area(self._handle(), code, number, size, cbuf)
        if rc != 0:
            raise error_from(rc, "%s %d: %s" % (area, number, self._lib.plcio_strerror(rc).decode()))
        self._areas[(code, number)] = (buf, cbuf)
        return memoryview(buf)

    def add_db(self, number: int, size: int) -> memoryview:
        return self.add_area("DB", number, size)

    def locked(self, area: str, number: int = 0) -> "_AreaLock":
        return _AreaLock(self, S7_AREAS[area], number)

    def start(self) -> "S7Server":
        rc = self._lib.plcio_s7_server_start(self._handle())
        if rc != 0:
            raise error_from(rc, "start: %s" % self._lib.plcio_strerror(rc).decode())
        return self

    def stop(self) -> None:
        if self._h is not None:
            self._lib.plcio_s7_server_stop(self._h)

    def free(self) -> None:
        if self._h is not None:
            self._lib.plcio_s7_server_free(self._h)
            self._h = None
            self._areas.clear()

    @property
    def port(self) -> int:
        return int(self._lib.plcio_s7_server_port(self._handle()))

    @property
    def client_count(self) -> int:
        return int(self._lib.plcio_s7_server_client_count(self._handle()))

    @property
    def cpu_running(self) -> bool:
        return self._lib.plcio_s7_server_get_cpu_state(self._handle()) == 0x08

    @cpu_running.setter
    def cpu_running(self, run: bool) -> None:
        self._lib.plcio_s7_server_set_cpu_state(self._handle(), 0x08 if run else 0x04)

    def __enter__(self) -> "S7Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:
            pass


class _AreaLock:
    def __init__(self, srv: S7Server, code: int, number: int) -> None:
        self.srv, self.code, self.number = srv, code, number

    def __enter__(self) -> None:
        rc = self.srv._lib.plcio_s7_server_lock_area(self.srv._handle(), self.code, self.number)
        if rc != 0:
            raise error_from(rc, "lock area: %s" % self.srv._lib.plcio_strerror(rc).decode())

    def __exit__(self, *exc: Any) -> None:
        self.srv._lib.plcio_s7_server_unlock_area(self.srv._handle(), self.code, self.number)


class ModbusServer:
    """A Modbus TCP server (plcio_modbus_server) serving from a thread of this process.
    Every unit in `units` gets tables [0, size); before_read / before_write /
    after_write callbacks see (unit, area, address, values)."""

    COILS, DISCRETE_INPUTS, INPUT_REGISTERS, HOLDING_REGISTERS = 0, 1, 3, 4

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, size: int = 10000,
                 units: Sequence[int] = (1,)) -> None:
        self._lib = _lib.lib()
        self._h: Optional[int] = None
        self._thread: Optional[threading.Thread] = None
        self.before_read: Optional[Callable[[int, int, int, int], Any]] = None
        self.before_write: Optional[Callable[[int, int, int, List[int]], Any]] = None
        self.after_write: Optional[Callable[[int, int, int, List[int]], Any]] = None
        self.callback_errors: List[BaseException] = []
        h = c_void_p()
        err = _lib.Error_()
        rc = self._lib.plcio_modbus_server_new(None, byref(h), byref(err))
        if rc != 0:
            raise error_from(rc, err.text.decode("utf-8", "replace"))
        self._h = h.value
        bank = self._lib.plcio_modbus_bank_default(check_int("size", size, 1, 65536))
        self._cbs = _lib.MbCallbacks()
        self._keep = (_lib.MB_READ_BITS(self._read_bits), _lib.MB_READ_REGS(self._read_regs),
                      _lib.MB_WRITE_BITS(self._write_bits), _lib.MB_WRITE_REGS(self._write_regs))
        self._cbs.read_bits, self._cbs.read_registers, self._cbs.write_bits, self._cbs.write_registers = self._keep
        self.units = [check_int("unit", u, 0, 255) for u in units]
        for u in self.units:
            rc = self._lib.plcio_modbus_server_add_unit(self._h, u, byref(bank))
            if rc == 0:
                rc = self._lib.plcio_modbus_server_set_callbacks(self._h, u, byref(self._cbs), None)
            if rc != 0:
                raise error_from(rc, "unit %d: %s" % (u, self._lib.plcio_strerror(rc).decode()))
        bound = c_int()
        rc = self._lib.plcio_modbus_server_listen_tcp(self._h, check_str("host", host), check_int("port", port, 0,
                                                                                                  65535), byref(bound))
        if rc != 0:
            self.free()
            raise error_from(rc, "listen on %s:%d: %s" % (host, port, self._lib.plcio_strerror(rc).decode()))
        self.port = bound.value

    # callbacks: the bank is the storage, Python decides
    def _guard(self, fn: Callable[[], int]) -> int:
        try:
            return fn()
        except BaseException as e:
            self.callback_errors.append(e)
            return 0x04

    @staticmethod
    def _code(answer: Any) -> int:
        if answer is None or answer is True:
            return 0
        if answer is False:
            return 0x02
        return int(answer)

    def _read(self, unit: int, area: int, addr: int, n: int, out: Any, conv: Callable[[int], int]) -> int:
        def go() -> int:
            if self.before_read is not None:
                code = self._code(self.before_read(unit, area, addr, n))
                if code:
                    return code
            tmp = (c_uint16 * n)()
            rc = self._lib.plcio_modbus_server_read_bank(self._h, unit, area, addr, n, tmp)
            if rc != 0:
                return 0x02
            for i in range(n):
                out[i] = conv(tmp[i])
            return 0
        return self._guard(go)

    def _write(self, unit: int, area: int, addr: int, n: int, src: Any) -> int:
        def go() -> int:
            values = [int(src[i]) for i in range(n)]
            if area == self.COILS:
                values = [1 if v else 0 for v in values]
            if self.before_write is not None:
                code = self._code(self.before_write(unit, area, addr, values))
                if code:
                    return code
            rc = self._lib.plcio_modbus_server_write_bank(self._h, unit, area, addr, n, (c_uint16 * n)(*values))
            if rc != 0:
                return 0x02
            if self.after_write is not None:
                self.after_write(unit, area, addr, values)
            return 0
        return self._guard(go)

    def _read_bits(self, _ctx: Any, unit: int, area: int, addr: int, n: int, bits: Any) -> int:
        return self._read(unit, area, addr, n, bits, lambda v: 1 if v else 0)

    def _read_regs(self, _ctx: Any, unit: int, area: int, addr: int, n: int, regs: Any) -> int:
        return self._read(unit, area, addr, n, regs, lambda v: v)

    def _write_bits(self, _ctx: Any, unit: int, _fc: int, addr: int, n: int, bits: Any) -> int:
        return self._write(unit, self.COILS, addr, n, bits)

    def _write_regs(self, _ctx: Any, unit: int, _fc: int, addr: int, n: int, regs: Any) -> int:
        return self._write(unit, self.HOLDING_REGISTERS, addr, n, regs)

    # application access to the tables
    def read(self, area: int, address: int, count: int = 1, unit: Optional[int] = None) -> List[int]:
        u = self.units[0] if unit is None else check_int("unit", unit, 0, 255)
        n = check_int("count", count, 1, 65536)
        out = (c_uint16 * n)()
        rc = self._lib.plcio_modbus_server_read_bank(self._handle(), u, area, check_int("address", address, 0, 65535),
                                                     n, out)
        if rc != 0:
            raise error_from(rc, "read_bank: %s" % self._lib.plcio_strerror(rc).decode())
        return list(out)

    def write(self, area: int, address: int, values: Sequence[int], unit: Optional[int] = None) -> None:
        u = self.units[0] if unit is None else check_int("unit", unit, 0, 255)
        vals = [check_int("value", int(v), 0, 65535) for v in values]
        n = check_int("len(values)", len(vals), 1, 65536)
        rc = self._lib.plcio_modbus_server_write_bank(self._handle(), u, area, check_int("address", address, 0, 65535),
                                                      n, (c_uint16 * n)(*vals))
        if rc != 0:
            raise error_from(rc, "write_bank: %s" % self._lib.plcio_strerror(rc).decode())

    def _handle(self) -> int:
        if self._h is None:
            raise Error(-22, "ModbusServer has been freed")
        return self._h

    def start(self) -> "ModbusServer":
        if self._thread is None:
            h = self._handle()
            self._thread = threading.Thread(target=self._lib.plcio_modbus_server_run, args=(h,), daemon=True,
                                            name="plcio-modbus-server")
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None and self._h is not None:
            self._lib.plcio_modbus_server_stop(self._h)
            self._thread.join()
            self._thread = None

    def free(self) -> None:
        self.stop()
        if self._h is not None:
            self._lib.plcio_modbus_server_free(self._h)
            self._h = None

    def __enter__(self) -> "ModbusServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:
            pass
