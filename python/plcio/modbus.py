"""plcio.ModbusClient: the C Modbus client (include/plcio/modbus.h) in Python's terms.

    import plcio
    with plcio.ModbusClient("modbus-tcp://192.168.0.7:502?unit=1") as mb:
        regs = mb.read_holding_registers(100, 10)       # [int, ...]
        mb.write_registers(100, [1, 2, 3])
        level = mb.read("hr200:REAL:CDAB")              # typed, by address string
        mb.write("co5", True)

Addresses are protocol addresses (0-based). The link opens on connect() /
`with` / the first request and re-opens after a failure on the next request.
Every call releases the GIL while waiting; calls on one client are serialised."""

from __future__ import annotations

from ctypes import byref, c_char_p, c_uint8, c_uint16
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import _lib
from . import values as _v
from ._common import ClientLife, check_int, check_str, error_from, tcp_url
from .enums import ModbusExceptionCode
from .errors import Error, ModbusException

EMBEXC = -20
UNIT_DEFAULT = -1

_TABLE_HR, _TABLE_IR, _TABLE_CO, _TABLE_DI = 4, 3, 0, 1


def _unit(unit: Optional[int]) -> int:
    return UNIT_DEFAULT if unit is None else check_int("unit", unit, 0, 255)


def _text_to_value(type_: int, text: str) -> Any:
    if type_ == _v.BOOL:
        return text == "true"
    if type_ in (_v.REAL, _v.LREAL):
        return float(text)
    if type_ in (_v.STRING, _v.WSTRING, _v.CHAR, _v.WCHAR):
        return text
    try:
        return int(text)
    except ValueError:
        return text


class ModbusClient(ClientLife):
    """A Modbus client made from a URL (modbus-tcp://HOST[:PORT][?unit=1&timeout=MS],
    modbus-udp://, modbus-rtu:///dev/ttyX?baud=19200..., modbus-ascii://) or from
    host/port/unit (TCP)."""

    _kind = "modbus"

    def __init__(self, url: Optional[str] = None, *, host: Optional[str] = None, port: int = 502, unit: int = 1,
                 timeout_ms: Optional[int] = None) -> None:
        self._h = None
        if url is None:
            if host is None:
                raise TypeError("ModbusClient needs a URL (modbus-tcp://HOST...) or host=")
            url = tcp_url("modbus-tcp", host, port, "unit=%d" % check_int("unit", unit, 0, 255), timeout_ms)
        self._open(url)

    def _fail(self, rc: int, what: str = "") -> Error:
        lib, h = self._lib, self._h
        if rc == EMBEXC:
            code = lib.plcio_modbus_last_exception(h)
            text = lib.plcio_mb_exception_text(code).decode()
            return ModbusException(rc, "%s%s (exception %d)" % (what + ": " if what else "", text, code),
                                   exception_code=code)
        e = lib.plcio_modbus_client_last_error(h).contents.text.decode("utf-8", "replace")
        if not e:
            e = lib.plcio_strerror(rc).decode()
        return error_from(rc, "%s%s" % (what + ": " if what else "", e))

    def _call(self, what: str, fn: Any, *args: Any) -> int:
        with self._lock:
            h = self._handle()
            rc = fn(h, *args)
            if rc < 0:
                raise self._fail(rc, what)
            return rc

    def connect(self) -> "ModbusClient":
        self._call("connect", self._lib.plcio_modbus_client_connect)
        return self

    def __repr__(self) -> str:
        return "<plcio.ModbusClient %s>" % self.url

    @property
    def unit(self) -> int:
        with self._lock:
            return int(self._lib.plcio_modbus_client_unit(self._handle()))

    @unit.setter
    def unit(self, value: int) -> None:
        with self._lock:
            self._lib.plcio_modbus_client_set_unit(self._handle(), check_int("unit", value, 0, 255))

    def set_timeout(self, timeout_ms: int) -> None:
        self._call("set_timeout", self._lib.plcio_modbus_client_set_timeout,
                   check_int("timeout_ms", timeout_ms, 1, 3600000))

    def set_retries(self, retries: int) -> None:
        self._call("set_retries", self._lib.plcio_modbus_client_set_retries, check_int("retries", retries, 0, 10))

    @property
    def last_exception(self) -> ModbusExceptionCode:
        with self._lock:
            code = self._lib.plcio_modbus_last_exception(self._handle())
        try:
            return ModbusExceptionCode(code)
        except ValueError:
            return code  # type: ignore[return-value]

    # ---- function codes ----
    def _read_bits(self, fn: Any, name: str, addr: int, n: int, unit: Optional[int]) -> List[bool]:
        addr = check_int("address", addr, 0, 65535)
        n = check_int("count", n, 1, min(2000, 65536 - addr))
        buf = (c_uint8 * n)()
        self._call("%s %d (%d)" % (name, addr, n), fn, _unit(unit), addr, n, buf)
        return [bool(b) for b in buf]

    def _read_regs(self, fn: Any, name: str, addr: int, n: int, unit: Optional[int]) -> List[int]:
        addr = check_int("address", addr, 0, 65535)
        n = check_int("count", n, 1, min(125, 65536 - addr))
        buf = (c_uint16 * n)()
        self._call("%s %d (%d)" % (name, addr, n), fn, _unit(unit), addr, n, buf)
        return list(buf)

    def read_coils(self, address: int, count: int = 1, unit: Optional[int] = None) -> List[bool]:
        """FC 1: count (1..2000) coils."""
        return self._read_bits(self._lib.plcio_modbus_read_coils, "read coils", address, count, unit)

    def read_discrete_inputs(self, address: int, count: int = 1, unit: Optional[int] = None) -> List[bool]:
        """FC 2."""
        return self._read_bits(self._lib.plcio_modbus_read_discrete_inputs, "read discrete inputs", address, count,
                               unit)

    def read_holding_registers(self, address: int, count: int = 1, unit: Optional[int] = None) -> List[int]:
        """FC 3: count (1..125) registers."""
        return self._read_regs(self._lib.plcio_modbus_read_holding_registers, "read holding registers", address,
                               count, unit)

    def read_input_registers(self, address: int, count: int = 1, unit: Optional[int] = None) -> List[int]:
        """FC 4."""
        return self._read_regs(self._lib.plcio_modbus_read_input_registers, "read input registers", address,
                               count, unit)

    def write_coil(self, address: int, value: bool, unit: Optional[int] = None) -> None:
        """FC 5."""
        address = check_int("address", address, 0, 65535)
        self._call("write coil %d" % address, self._lib.plcio_modbus_write_coil, _unit(unit), address, bool(value))

    def write_register(self, address: int, value: int, unit: Optional[int] = None) -> None:
        """FC 6: value 0..65535."""
        address = check_int("address", address, 0, 65535)
        self._call("write register %d" % address, self._lib.plcio_modbus_write_register, _unit(unit), address,
                   check_int("value", value, 0, 65535))

    def write_coils(self, address: int, values: Sequence[bool], unit: Optional[int] = None) -> None:
        """FC 15: 1..1968 coils."""
        address = check_int("address", address, 0, 65535)
        vals = list(values)
        n = check_int("len(values)", len(vals), 1, min(1968, 65536 - address))
        buf = (c_uint8 * n)(*[1 if x else 0 for x in vals])
        self._call("write coils %d (%d)" % (address, n), self._lib.plcio_modbus_write_coils, _unit(unit), address, n,
                   buf)

    def write_registers(self, address: int, values: Sequence[int], unit: Optional[int] = None) -> None:
        """FC 16: 1..123 registers, each 0..65535."""
        address = check_int("address", address, 0, 65535)
        vals = [check_int("values[%d]" % i, x, 0, 65535) for i, x in enumerate(values)]
        n = check_int("len(values)", len(vals), 1, min(123, 65536 - address))
        buf = (c_uint16 * n)(*vals)
        self._call("write registers %d (%d)" % (address, n), self._lib.plcio_modbus_write_registers, _unit(unit),
                   address, n, buf)

    def mask_write_register(self, address: int, and_mask: int, or_mask: int, unit: Optional[int] = None) -> None:
        """FC 22."""
        address = check_int("address", address, 0, 65535)
        self._call("mask write register %d" % address, self._lib.plcio_modbus_mask_write_register, _unit(unit),
                   address, check_int("and_mask", and_mask, 0, 65535), check_int("or_mask", or_mask, 0, 65535))

    def read_write_registers(self, read_address: int, read_count: int, write_address: int,
                             values: Sequence[int], unit: Optional[int] = None) -> List[int]:
        """FC 23: writes `values` at write_address, then reads read_count registers."""
        ra = check_int("read_address", read_address, 0, 65535)
        rn = check_int("read_count", read_count, 1, min(125, 65536 - ra))
        wa = check_int("write_address", write_address, 0, 65535)
        vals = [check_int("values[%d]" % i, x, 0, 65535) for i, x in enumerate(values)]
        wn = check_int("len(values)", len(vals), 1, min(121, 65536 - wa))
        rbuf = (c_uint16 * rn)()
        wbuf = (c_uint16 * wn)(*vals)
        self._call("read/write registers", self._lib.plcio_modbus_read_write_registers, _unit(unit),
                   ra, rn, rbuf, wa, wn, wbuf)
        return list(rbuf)

    # ---- typed access by address string ----
    @staticmethod
    def parse_address(address: str) -> "_lib.MbAddress":
        a = _lib.MbAddress()
        err = _lib.Error_()
        rc = _lib.lib().plcio_mb_address_parse(check_str("address", address), byref(a), byref(err))
        if rc != 0:
            raise error_from(rc, err.text.decode("utf-8", "replace"))
        return a

    def read(self, address: str, unit: Optional[int] = None) -> Any:
        """The value at "hr100", "hr100:REAL:CDAB", "400101", "co5[8]" (a list
        for an array), decoded by the C library."""
        a = self.parse_address(address)
        texts: List[str] = []

        @_lib.MB_VALUE_CB
        def collect(_ctx: Any, _index: int, text: bytes) -> None:
            texts.append(text.decode("utf-8", "replace"))

        err = _lib.Error_()
        with self._lock:
            h = self._handle()
            rc = self._lib.plcio_modbus_read_address(h, _unit(unit), address.encode(), collect, None, byref(err))
            if rc < 0:
                if rc == EMBEXC:
                    raise self._fail(rc, address)
                raise error_from(rc, err.text.decode("utf-8", "replace"))
        vals = [_text_to_value(a.type, t) for t in texts]
        return vals[0] if a.count == 1 else vals

    def read_many(self, addresses: Iterable[str], unit: Optional[int] = None) -> List[Any]:
        return [self.read(a, unit) for a in addresses]

    def write(self, address: str, value: Any, unit: Optional[int] = None) -> None:
        """Write a Python value (a sequence for an array address)."""
        a = self.parse_address(address)
        if a.count == 1:
            items = [value]
        else:
            if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
                raise TypeError("%s is an array of %d: give a sequence" % (address, a.count))
            if len(value) != a.count:
                raise ValueError("%s is an array of %d, got %d values" % (address, a.count, len(value)))
            items = list(value)
        texts = [check_str("value", _v.to_text(a.type, x)) for x in items]
        arr = (c_char_p * len(texts))(*texts)
        err = _lib.Error_()
        with self._lock:
            h = self._handle()
            rc = self._lib.plcio_modbus_write_address(h, _unit(unit), address.encode(), arr, len(texts), byref(err))
            if rc < 0:
                if rc == EMBEXC:
                    raise self._fail(rc, address)
                raise error_from(rc, err.text.decode("utf-8", "replace"))

    def write_many(self, values: Union[Dict[str, Any], Iterable[Tuple[str, Any]]], unit: Optional[int] = None
                   ) -> None:
        items = values.items() if isinstance(values, dict) else values
        for address, value in items:
            self.write(address, value, unit)
