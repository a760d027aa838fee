"""plcio.Layout: data-block layouts from TIA Portal / STEP 7 sources (the C
layout parser, include/plcio/layout.h): members with offsets and types, and
the start image a CPU holds after download.

    lay = plcio.Layout(["tank.db", "udts.udt"])        # or Layout.from_text(text, "tank.db")
    db = lay["Tank"]                                    # by name (or lay.blocks[0])
    db.size, db.number                                  # 42, 10
    m = db.member("Motor.Speed")                        # Member(name, type, byte, bit, size, ...)
    for m in db.members: print(m.name, m.address(10))   # DB10.DBD4:REAL
    image = db.start_image()                            # bytes
    db.values(image)                                    # {"Motor.Speed": 1.5, ...}"""

from __future__ import annotations

import os
from ctypes import byref, c_char, c_void_p, create_string_buffer
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Union

from . import _lib
from . import values as _v
from ._common import check_str, error_from

KINDS = ("ELEMENTARY", "STRUCT", "ARRAY")


class Member(NamedTuple):
    name: str
    kind: str        # ELEMENTARY, STRUCT, ARRAY
    type: str        # "REAL", "STRING", ... ("" for a struct)
    length: int      # STRING[n] / WSTRING[n]
    byte: int
    bit: int         # 0..7 for BOOL, else -1
    size: int
    count: int
    start: Optional[str]  # start value as written in the source, None for the default

    def address(self, db: int) -> str:
        """The S7 address of a leaf in DB `db` ("DB10.DBX4.1", "DB10.DBD8:REAL", "DB10.DBB20:STRING[30]")."""
        if self.type == "BOOL":
            return "DB%d.DBX%d.%d" % (db, self.byte, max(self.bit, 0))
        letter = {1: "B", 2: "W", 4: "D"}.get(self.size, "B")
        suffix = self.type + ("[%d]" % self.length if self.type in ("STRING", "WSTRING") else "")
        return "DB%d.DB%s%d:%s" % (db, letter, self.byte, suffix)


def _member(m: "_lib.LayoutMember", name: Optional[str] = None) -> Member:
    t = m.type
    tname = _v.TYPE_NAMES[t] if 0 <= t < len(_v.TYPE_NAMES) else ""
    return Member(name if name is not None else (m.name or b"").decode("utf-8", "replace"), KINDS[m.kind], tname,
                  m.length, m.byte, m.bit, m.size, m.count, m.start.decode("utf-8", "replace") if m.start else None)


class Block:
    """One data block (or UDT) of a Layout; valid while the Layout lives."""

    def __init__(self, owner: "Layout", ptr: int) -> None:
        self._owner, self._p, self._lib = owner, ptr, owner._lib
        self.name: str = self._lib.plcio_layout_name(ptr).decode("utf-8", "replace")
        n = self._lib.plcio_layout_db_number(ptr)
        self.number: Optional[int] = n if n >= 0 else None
        self.size: int = int(self._lib.plcio_layout_size(ptr))

    def _ptr(self) -> int:
        if self._p is None:
            raise ValueError("the Layout this block belongs to is closed")
        return self._p

    def __repr__(self) -> str:
        return "<plcio.layout.Block %s DB%s %d bytes>" % (self.name, self.number, self.size)

    @property
    def members(self) -> List[Member]:
        """Every leaf (arrays expanded) in address order, with full names."""
        out = []
        m = _lib.LayoutMember()
        for i in range(self._lib.plcio_layout_leaf_count(self._ptr())):
            rc = self._lib.plcio_layout_leaf(self._ptr(), i, byref(m))
            if rc != 0:
                raise error_from(rc, "leaf %d of %s" % (i, self.name))
            out.append(_member(m))
        return out

    def member(self, name: str) -> Member:
        m = _lib.LayoutMember()
        rc = self._lib.plcio_layout_lookup(self._ptr(), check_str("name", name), byref(m))
        if rc != 0:
            raise error_from(rc, "%s: member %r: %s" % (self.name, name, self._lib.plcio_strerror(rc).decode()))
        return _member(m, name if m.name is None else None)

    def start_image(self) -> bytes:
        buf = create_string_buffer(max(self.size, 1))
        rc = self._lib.plcio_layout_start_image(self._ptr(), buf, len(buf))
        if rc != 0:
            raise error_from(rc, "start image of %s" % self.name)
        return buf.raw[:self.size]

    def values(self, image: Optional[bytes] = None) -> Dict[str, Any]:
        """{leaf name: Python value} decoded from `image` (default: the start image)."""
        raw = self.start_image() if image is None else bytes(image)
        if len(raw) < self.size:
            raise ValueError("image of %d bytes is shorter than %s (%d bytes)" % (len(raw), self.name, self.size))
        out = {}
        for m in self.members:
            t = _v.TYPE_NAMES.index(m.type)
            out[m.name] = _v.decode(t, m.length, max(m.bit, 0), raw[m.byte:m.byte + m.size])[0]
        return out


class Layout:
    """A set of TIA / STEP 7 sources, resolved: its data blocks by name or index."""

    def __init__(self, files: Union[str, os.PathLike, Iterable[Union[str, os.PathLike]]] = (), *,
                 texts: Optional[Dict[str, str]] = None, assume_standard: bool = False) -> None:
        self._lib = _lib.lib()
        self._h: Optional[int] = None
        opts = _lib.LayoutOptions(bool(assume_standard))
        h = c_void_p()
        err = _lib.Error_()
        rc = self._lib.plcio_layout_set_new(byref(opts), byref(h), byref(err))
        if rc != 0:
            raise error_from(rc, err.text.decode("utf-8", "replace"))
        self._h = h.value
        if isinstance(files, (str, os.PathLike)):
            files = [files]
        for f in files:
            self._check(self._lib.plcio_layout_set_add_file(self._h, check_str("file", os.fspath(f))))
        for name, text in (texts or {}).items():
            raw = check_str("text", text)
            self._check(self._lib.plcio_layout_set_add_text(self._h, check_str("name", name), raw, len(raw)))
        self._check(self._lib.plcio_layout_set_resolve(self._h))
        self.blocks: List[Block] = [Block(self, self._lib.plcio_layout_set_get(self._h, i))
                                    for i in range(self._lib.plcio_layout_set_count(self._h))]
        self.warnings: List[str] = [self._lib.plcio_layout_set_warning(self._h, i).decode("utf-8", "replace")
                                    for i in range(self._lib.plcio_layout_set_warning_count(self._h))]

    @classmethod
    def from_text(cls, text: str, name: str = "source.db", assume_standard: bool = False) -> "Layout":
        return cls(texts={name: text}, assume_standard=assume_standard)

    def _check(self, rc: int) -> None:
        if rc != 0:
            e = self._lib.plcio_layout_set_last_error(self._h).contents
            text = e.text.decode("utf-8", "replace")
            self.close()
            raise error_from(rc, text)

    def __getitem__(self, key: Union[int, str]) -> Block:
        if isinstance(key, int):
            return self.blocks[key]
        for b in self.blocks:
            if b.name.lower() == key.strip('"').lower():
                return b
        p = self._lib.plcio_layout_set_find(self._handle(), check_str("name", key))
        if not p:
            raise KeyError(key)
        return Block(self, p)

    def __iter__(self) -> Iterator[Block]:
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)

    def _handle(self) -> int:
        if self._h is None:
            raise ValueError("layout set is closed")
        return self._h

    def close(self) -> None:
        if self._h is not None:
            self._lib.plcio_layout_set_free(self._h)
            self._h = None
            for b in getattr(self, "blocks", []):
                b._p = None

    def __enter__(self) -> "Layout":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
