"""pyModbusTCP.client.ModbusClient over plcio.ModbusClient (the C client)."""

import socket
from typing import List, Optional

from ... import modbus as _mb
from ...errors import Error, ModbusException
from . import constants as const

# plcio error code -> pyModbusTCP last_error()
_ERRMAP = {-24: const.MB_RESOLVE_ERR, -11: const.MB_CONNECT_ERR, -10: const.MB_TIMEOUT_ERR,
           -12: const.MB_SOCK_CLOSE_ERR, -13: const.MB_SOCK_CLOSE_ERR, -8: const.MB_FRAME_ERR, -9: const.MB_CRC_ERR,
           -20: const.MB_EXCEPT_ERR, -14: const.MB_RECV_ERR}
_EXC_TXT = {1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "slave device failure",
            5: "acknowledge", 6: "slave device busy", 7: "negative acknowledge", 8: "memory parity error",
            10: "gateway path unavailable", 11: "gateway target device failed to respond"}


class ModbusClient:
    """Modbus TCP client with pyModbusTCP's interface. Raises ValueError for bad
    constructor parameters; request functions return None on failure."""

    def __init__(self, host: Optional[str] = None, port: Optional[int] = None, unit_id: Optional[int] = None,
                 timeout: Optional[float] = None, debug: Optional[bool] = None, auto_open: Optional[bool] = None,
                 auto_close: Optional[bool] = None) -> None:
        self._host = "localhost"
        self._port = 502
        self._unit_id = 1
        self._timeout = 30.0
        self._debug = False
        self._auto_open = True if auto_open is None else bool(auto_open)
        self._auto_close = bool(auto_close)
        self._c: Optional[_mb.ModbusClient] = None
        self._last_error = const.MB_NO_ERR
        self._last_except = const.EXP_NONE
        for name, value in (("host", host), ("port", port), ("unit_id", unit_id), ("timeout", timeout),
                            ("debug", debug)):
            if value is not None and getattr(self, name)(value) is None:
                raise ValueError("%s value error" % name)

    # ---- get/set parameters ----
    def version(self) -> str:
        return const.VERSION

    def host(self, hostname: Optional[str] = None) -> Optional[str]:
        if hostname is None:
            return self._host
        if not isinstance(hostname, str) or not hostname or "\0" in hostname or len(hostname) > 253:
            return None
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in hostname else socket.AF_INET, hostname)
        except OSError:
            if not all(part and len(part) < 64 and part.replace("-", "").isalnum() for part in hostname.split(".")):
                return None
        if hostname != self._host:
            self.close()
            self._drop()
        self._host = hostname
        return self._host

    def port(self, port: Optional[int] = None) -> Optional[int]:
        if port is None:
            return self._port
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            return None
        if port != self._port:
            self.close()
            self._drop()
        self._port = port
        return self._port

    def unit_id(self, unit_id: Optional[int] = None) -> Optional[int]:
        if unit_id is None:
            return self._unit_id
        if isinstance(unit_id, bool) or not isinstance(unit_id, int) or not 0 <= unit_id <= 255:
            return None
        self._unit_id = unit_id
        return self._unit_id

    def timeout(self, timeout: Optional[float] = None) -> Optional[float]:
        if timeout is None:
            return self._timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 3600:
            return None
        self._timeout = float(timeout)
        if self._c is not None:
            self._c.set_timeout(max(1, int(self._timeout * 1000)))
        return self._timeout

    def debug(self, state: Optional[bool] = None) -> Optional[bool]:
        if state is None:
            return self._debug
        self._debug = bool(state)
        return self._debug

    def auto_open(self, state: Optional[bool] = None) -> Optional[bool]:
        if state is None:
            return self._auto_open
        self._auto_open = bool(state)
        return self._auto_open

    def auto_close(self, state: Optional[bool] = None) -> Optional[bool]:
        if state is None:
            return self._auto_close
        self._auto_close = bool(state)
        return self._auto_close

    def mode(self, mode: Optional[int] = None) -> Optional[int]:
        if mode is None:
            return const.MODBUS_TCP
        return const.MODBUS_TCP if mode == const.MODBUS_TCP else None

    # ---- link ----
    def _drop(self) -> None:
        if self._c is not None:
            self._c.free()
            self._c = None

    def _client(self) -> _mb.ModbusClient:
        if self._c is None:
            host = self._host if ":" not in self._host else "[%s]" % self._host
            self._c = _mb.ModbusClient("modbus-tcp://%s:%d?unit=%d&timeout=%d" % (
                host, self._port, self._unit_id, max(1, int(self._timeout * 1000))))
        return self._c

    def open(self) -> bool:
        try:
            c = self._client()
            if not c.is_connected():
                c.connect()
            self._last_error = const.MB_NO_ERR
            return True
        except Error as e:
            self._last_error = _ERRMAP.get(e.code, const.MB_CONNECT_ERR)
            return False

    def is_open(self) -> bool:
        return self._c is not None and self._c.is_connected()

    def close(self) -> bool:
        if self._c is not None:
            self._c.close()
        return True

    def last_error(self) -> int:
        return self._last_error

    def last_error_txt(self) -> str:
        return const.MB_ERR_TXT.get(self._last_error, "unknown error")

    def last_except(self) -> int:
        return self._last_except

    def last_except_txt(self, verbose: bool = False) -> str:
        text = _EXC_TXT.get(self._last_except, "unknown exception")
        return "%s (code %d)" % (text, self._last_except) if verbose else text

    def _do(self, fn, *args):
        self._last_except = const.EXP_NONE
        if not self.is_open():
            if not self._auto_open:
                self._last_error = const.MB_SOCK_CLOSE_ERR
                return None
            if not self.open():
                return None
        try:
            out = fn(self._c, *args)
            self._last_error = const.MB_NO_ERR
            return out
        except ModbusException as e:
            self._last_error = const.MB_EXCEPT_ERR
            self._last_except = e.exception_code
            return None
        except Error as e:
            self._last_error = _ERRMAP.get(e.code, const.MB_RECV_ERR)
            return None
        except (TypeError, ValueError):
            raise
        finally:
            if self._auto_close:
                self.close()

    @staticmethod
    def _check(name, value, lo, hi):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError("%s out of range (valid from %d to %d)" % (name, lo, hi))

    # ---- requests ----
    def read_coils(self, bit_addr: int, bit_nb: int = 1) -> Optional[List[bool]]:
        self._check("bit_addr", bit_addr, 0, 65535)
        self._check("bit_nb", bit_nb, 1, 2000)
        if bit_addr + bit_nb > 65536:
            raise ValueError("read after end of modbus address space")
        return self._do(lambda c: c.read_coils(bit_addr, bit_nb, unit=self._unit_id))

    def read_discrete_inputs(self, bit_addr: int, bit_nb: int = 1) -> Optional[List[bool]]:
        self._check("bit_addr", bit_addr, 0, 65535)
        self._check("bit_nb", bit_nb, 1, 2000)
        if bit_addr + bit_nb > 65536:
            raise ValueError("read after end of modbus address space")
        return self._do(lambda c: c.read_discrete_inputs(bit_addr, bit_nb, unit=self._unit_id))

    def read_holding_registers(self, reg_addr: int, reg_nb: int = 1) -> Optional[List[int]]:
        self._check("reg_addr", reg_addr, 0, 65535)
        self._check("reg_nb", reg_nb, 1, 125)
        if reg_addr + reg_nb > 65536:
            raise ValueError("read after end of modbus address space")
        return self._do(lambda c: c.read_holding_registers(reg_addr, reg_nb, unit=self._unit_id))

    def read_input_registers(self, reg_addr: int, reg_nb: int = 1) -> Optional[List[int]]:
        self._check("reg_addr", reg_addr, 0, 65535)
        self._check("reg_nb", reg_nb, 1, 125)
        if reg_addr + reg_nb > 65536:
            raise ValueError("read after end of modbus address space")
        return self._do(lambda c: c.read_input_registers(reg_addr, reg_nb, unit=self._unit_id))

    def write_single_coil(self, bit_addr: int, bit_value: bool) -> Optional[bool]:
        self._check("bit_addr", bit_addr, 0, 65535)
        r = self._do(lambda c: c.write_coil(bit_addr, bool(bit_value), unit=self._unit_id) or True)
        return r

    def write_single_register(self, reg_addr: int, reg_value: int) -> Optional[bool]:
        self._check("reg_addr", reg_addr, 0, 65535)
        self._check("reg_value", reg_value, 0, 65535)
        return self._do(lambda c: c.write_register(reg_addr, reg_value, unit=self._unit_id) or True)

    def write_multiple_coils(self, bits_addr: int, bits_value: List[bool]) -> Optional[bool]:
        self._check("bits_addr", bits_addr, 0, 65535)
        self._check("len(bits_value)", len(bits_value), 1, 1968)
        return self._do(lambda c: c.write_coils(bits_addr, [bool(b) for b in bits_value], unit=self._unit_id)
                        or True)

    def write_multiple_registers(self, regs_addr: int, regs_value: List[int]) -> Optional[bool]:
        self._check("regs_addr", regs_addr, 0, 65535)
        self._check("len(regs_value)", len(regs_value), 1, 123)
        for v in regs_value:
            self._check("regs_value item", v, 0, 65535)
        return self._do(lambda c: c.write_registers(regs_addr, list(regs_value), unit=self._unit_id) or True)

    # the pyModbusTCP 0.2 names of the same requests
    write_single_coils = write_single_coil
