"""pyModbusTCP.utils: bits, words, two's complement, IEEE floats, CRC16
(the bit, two's complement and CRC helpers are the C library's)."""

import struct
from typing import List

from ... import _lib


def get_bits_from_int(val_int: int, val_size: int = 16) -> List[bool]:
    """The val_size bits of val_int, least significant first."""
    return [bool(val_int >> i & 1) for i in range(val_size)]


def _check_offset(offset):
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError("offset must be an int >= 0")


def set_bit(value: int, offset: int) -> int:
    _check_offset(offset)
    return value | 1 << offset


def reset_bit(value: int, offset: int) -> int:
    _check_offset(offset)
    return value & ~(1 << offset)


def toggle_bit(value: int, offset: int) -> int:
    _check_offset(offset)
    return value ^ 1 << offset


def test_bit(value: int, offset: int) -> bool:
    _check_offset(offset)
    return bool(value >> offset & 1)


test_bit.__test__ = False  # not a pytest test


def word_list_to_long(val_list: List[int], big_endian: bool = True, long_long: bool = False) -> List[int]:
    """Consecutive 16-bit words to 32-bit (or 64-bit) values; big_endian False
    takes the first word as the least significant."""
    n = 4 if long_long else 2
    out = []
    for i in range(0, len(val_list) - n + 1, n):
        words = val_list[i:i + n] if big_endian else list(reversed(val_list[i:i + n]))
        v = 0
        for w in words:
            v = v << 16 | (w & 0xFFFF)
        out.append(v)
    return out


def long_list_to_word(val_list: List[int], big_endian: bool = True, long_long: bool = False) -> List[int]:
    n = 4 if long_long else 2
    out: List[int] = []
    for v in val_list:
        words = [(v >> (16 * (n - 1 - k))) & 0xFFFF for k in range(n)]
        out.extend(words if big_endian else reversed(words))
    return out


def get_2comp(val_int: int, val_size: int = 16) -> int:
    """val_int (an unsigned val_size-bit number) read as two's complement."""
    if not 0 <= val_int < 1 << val_size:
        raise ValueError("val_int %d does not fit %d bits" % (val_int, val_size))
    return int(_lib.lib().plcio_mb_from_twos(val_int, val_size)) if 1 <= val_size <= 64 else (
        val_int - (1 << val_size) if val_int >> (val_size - 1) else val_int)


def get_list_2comp(val_list: List[int], val_size: int = 16) -> List[int]:
    return [get_2comp(v, val_size) for v in val_list]


def decode_ieee(val_int: int, double: bool = False) -> float:
    return struct.unpack(">d" if double else ">f", struct.pack(">Q" if double else ">I", val_int))[0]


def encode_ieee(val_float: float, double: bool = False) -> int:
    return struct.unpack(">Q" if double else ">I", struct.pack(">d" if double else ">f", val_float))[0]


def crc16(frame: bytes) -> int:
    data = bytes(frame)
    return int(_lib.lib().plcio_mb_crc16(data, len(data)))
