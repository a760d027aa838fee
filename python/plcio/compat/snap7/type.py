"""python-snap7's snap7.type names, with its values."""

import ctypes
import enum


class Area(enum.IntEnum):
    PE = 0x81
    PA = 0x82
    MK = 0x83
    DB = 0x84
    CT = 0x1C
    TM = 0x1D


Areas = Area


class WordLen(enum.IntEnum):
    Bit = 0x01
    Byte = 0x02
    Char = 0x03
    Word = 0x04
    Int = 0x05
    DWord = 0x06
    DInt = 0x07
    Real = 0x08
    Counter = 0x1C
    Timer = 0x1D


class SrvArea(enum.IntEnum):
    PE = 0
    PA = 1
    MK = 2
    CT = 3
    TM = 4
    DB = 5


class Block(enum.IntEnum):
    OB = 0x38
    DB = 0x41
    SDB = 0x42
    FC = 0x43
    SFC = 0x44
    FB = 0x45
    SFB = 0x46


class S7CpuInfo(ctypes.Structure):
    """What Client.get_cpu_info returns (byte strings, as python-snap7's)."""
    _fields_ = [("ModuleTypeName", ctypes.c_char * 33), ("SerialNumber", ctypes.c_char * 25),
                ("ASName", ctypes.c_char * 25), ("Copyright", ctypes.c_char * 27), ("ModuleName", ctypes.c_char * 25)]


class BlocksList(ctypes.Structure):
    """What Client.list_blocks returns."""
    _fields_ = [("OBCount", ctypes.c_int32), ("FBCount", ctypes.c_int32), ("FCCount", ctypes.c_int32),
                ("SFBCount", ctypes.c_int32), ("SFCCount", ctypes.c_int32), ("DBCount", ctypes.c_int32),
                ("SDBCount", ctypes.c_int32)]

    def __str__(self):
        return "<block list count OB: %d FB: %d FC: %d SFB: %d SFC: %d DB: %d SDB: %d>" % (
            self.OBCount, self.FBCount, self.FCCount, self.SFBCount, self.SFCCount, self.DBCount, self.SDBCount)
