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

from ._lib import LibraryNotFound
from ._version import __version__
from .enums import Area, CpuState, ErrorCode, ItemCode, MbOrder, ModbusExceptionCode, Quality
from .errors import (ConnectionFailed, CorruptSegment, Error, ModbusException, PLCError, SegmentClosed,
                     SegmentInitialising, SegmentNotFound, UnknownTag, UnsupportedVersion, err_name, strerror)
from .modbus import ModbusClient
from .s7 import S7Client
from .servers import Access, ModbusServer, S7Server
from .layout import Layout
from .engine import Engine
from . import aio  # noqa: E402  (plcio.aio.S7Client / ModbusClient)
from .segment import Segment, Status, Tag, Value, WriteResult, open, shm_name
from .values import TYPE_NAMES

__all__ = ["S7Client", "ModbusClient", "S7Server", "ModbusServer", "Access", "aio", "Layout", "Engine", "Area", "CpuState", "ErrorCode", "ItemCode", "MbOrder",
           "ModbusExceptionCode", "Quality", "PLCError", "ModbusException", "ConnectionFailed", "LibraryNotFound",
           "library_path", "open", "Segment", "Tag", "Value", "Status", "WriteResult", "Error", "SegmentNotFound",
           "SegmentInitialising", "CorruptSegment", "UnsupportedVersion", "SegmentClosed", "UnknownTag",
           "err_name", "strerror", "shm_name", "TYPE_NAMES"]


def library_path() -> str:
    """The libplcio.so.1 this package uses (loads it)."""
    from . import _lib
    return _lib.path()
