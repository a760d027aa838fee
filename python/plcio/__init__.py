"""plcio: read and write the shared memory a plcio sync engine publishes.

    import plcio
    with plcio.open("tank") as seg:          # /dev/shm/tank, as `plcio sync --shm tank` names it
        print(seg.read())                     # {"Level": 52.5, "Pump": True, ...}
        seg.wait_update(timeout=1.0)          # futex wait for the next publish
        r = seg.write("Auto", False)          # through the engine to the PLC
        if not r.ok: print(r.error_name, r.message)

Clients of S7 PLCs and Modbus devices over the C library (ctypes; see docs/python.md):

    with plcio.S7Client("s7://192.168.0.1") as plc:
        plc.db_read(1, 0, 4); plc.read("DB1.DBD8:REAL")

Standard library only (mmap, struct, fcntl, ctypes). The byte format is
src/shm/shm_format.h / docs/shm.md; this package reads it the way the C reader
(include/plcio/shm.h) does."""

from ._version import __version__
from .errors import (ConnectionFailed, CorruptSegment, Error, ModbusException, PLCError, SegmentClosed,
                     SegmentInitialising, SegmentNotFound, UnknownTag, UnsupportedVersion, err_name, strerror)
from .segment import Segment, Status, Tag, Value, WriteResult, open, shm_name
from .values import TYPE_NAMES

# The parts over the C library load when first used, so `import plcio` stays as quick as the
# shared-memory reader alone needs (no ctypes declarations, no asyncio).
_LAZY = {
    "S7Client": ".s7", "ModbusClient": ".modbus", "S7Server": ".servers", "ModbusServer": ".servers",
    "Access": ".servers", "Layout": ".layout", "Engine": ".engine", "LibraryNotFound": "._lib",
    "Area": ".enums", "CpuState": ".enums", "ErrorCode": ".enums", "ItemCode": ".enums", "MbOrder": ".enums",
    "ModbusExceptionCode": ".enums", "Quality": ".enums",
}
_SUBMODULES = ("aio", "compat", "layout", "engine", "servers", "s7", "modbus", "enums")

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows this form)
if TYPE_CHECKING:  # pragma: no cover
    from . import aio, compat  # noqa: F401
    from ._lib import LibraryNotFound  # noqa: F401
    from .engine import Engine  # noqa: F401
    from .enums import Area, CpuState, ErrorCode, ItemCode, MbOrder, ModbusExceptionCode, Quality  # noqa: F401
    from .layout import Layout  # noqa: F401
    from .modbus import ModbusClient  # noqa: F401
    from .s7 import S7Client  # noqa: F401
    from .servers import Access, ModbusServer, S7Server  # noqa: F401


def __getattr__(name: str) -> "object":
    import importlib
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module("." + name, __name__)
    else:
        raise AttributeError("module 'plcio' has no attribute %r" % name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


__all__ = ["S7Client", "ModbusClient", "S7Server", "ModbusServer", "Access", "aio", "Layout", "Engine", "Area",
           "CpuState", "ErrorCode", "ItemCode", "MbOrder", "ModbusExceptionCode", "Quality", "PLCError",
           "ModbusException", "ConnectionFailed", "LibraryNotFound", "library_path", "open", "Segment", "Tag",
           "Value", "Status", "WriteResult", "Error", "SegmentNotFound", "SegmentInitialising", "CorruptSegment",
           "UnsupportedVersion", "SegmentClosed", "UnknownTag", "err_name", "strerror", "shm_name", "TYPE_NAMES",
           "__version__"]


def library_path() -> str:
    """The libplcio.so.2 this package uses (loads it)."""
    from . import _lib
    return _lib.path()
