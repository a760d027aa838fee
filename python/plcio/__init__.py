"""plcio: read and write the shared memory a plcio sync engine publishes.

    import plcio
    with plcio.open("tank") as seg:          # /dev/shm/tank, as `plcio sync --shm tank` names it
        print(seg.read())                     # {"Level": 52.5, "Pump": True, ...}
        seg.wait_update(timeout=1.0)          # futex wait for the next publish
        r = seg.write("Auto", False)          # through the engine to the PLC
        if not r.ok: print(r.error_name, r.message)

Standard library only (mmap, struct, fcntl, ctypes). The byte format is
src/shm/shm_format.h / docs/shm.md; this package reads it the way the C reader
(include/plcio/shm.h) does."""

from .errors import (CorruptSegment, Error, SegmentClosed, SegmentInitialising, SegmentNotFound, UnknownTag,
                     UnsupportedVersion, err_name, strerror)
from .segment import Segment, Status, Tag, Value, WriteResult, open, shm_name
from .values import TYPE_NAMES

__all__ = ["open", "Segment", "Tag", "Value", "Status", "WriteResult", "Error", "SegmentNotFound",
           "SegmentInitialising", "CorruptSegment", "UnsupportedVersion", "SegmentClosed", "UnknownTag",
           "err_name", "strerror", "shm_name", "TYPE_NAMES"]
__version__ = "1.0.0"
