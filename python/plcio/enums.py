"""Enumerations of the C library (include/plcio/*.h), with the same numbers."""

from __future__ import annotations

import enum

from .errors import _ERRNO_MAP


ErrorCode = enum.IntEnum("ErrorCode", [(name, code) for code, name, _ in _ERRNO_MAP])
ErrorCode.__doc__ = "plcio_err of include/plcio/core.h: OK = 0, errors negative."


class Area(enum.IntEnum):
    """S7 memory areas (plcio_s7_area; the S7ANY area byte)."""
    P = 0x80   # peripheral I/O
    PE = 0x81  # inputs I (E)
    PA = 0x82  # outputs Q (A)
    MK = 0x83  # flags M
    DB = 0x84  # data blocks
    DI = 0x85  # instance data blocks
    CT = 0x1C  # counters
    TM = 0x1D  # timers
    # the snap7 spellings
    I = 0x81  # noqa: E741
    Q = 0x82
    M = 0x83


class CpuState(enum.IntEnum):
    """SZL 0x0424 CPU state."""
    UNKNOWN = 0
    STOP = 0x04
    RUN = 0x08


class ModbusExceptionCode(enum.IntEnum):
    """Modbus exception codes (AP 7)."""
    NONE = 0x00
    ILLEGAL_FUNCTION = 0x01
    ILLEGAL_DATA_ADDRESS = 0x02
    ILLEGAL_DATA_VALUE = 0x03
    SERVER_DEVICE_FAILURE = 0x04
    ACKNOWLEDGE = 0x05
    SERVER_DEVICE_BUSY = 0x06
    NEGATIVE_ACKNOWLEDGE = 0x07
    MEMORY_PARITY_ERROR = 0x08
    GATEWAY_PATH_UNAVAILABLE = 0x0A
    GATEWAY_TARGET_FAILED = 0x0B


class Quality(str, enum.Enum):
    """Quality of a value in the shared memory (Value.quality)."""
    NONE = "none"
    GOOD = "good"
    STALE = "stale"
    ERROR = "error"


class ItemCode(enum.IntEnum):
    """S7 data item return codes (plcio_s7_return_code_text; server item codes)."""
    RESERVED = 0x00
    HW_FAULT = 0x01
    ACCESS_DENIED = 0x03
    OUT_OF_RANGE = 0x05
    TYPE_NOT_SUPPORTED = 0x06
    TYPE_INCONSISTENT = 0x07
    NOT_FOUND = 0x0A
    OK = 0xFF


class MbOrder(enum.IntEnum):
    """Word/byte order of multi-register values (plcio_mb_order)."""
    ABCD = 0
    CDAB = 1
    BADC = 2
    DCBA = 3
