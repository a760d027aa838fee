"""plcio.Engine: the sync engine (include/plcio/sync.h) run from Python, in a
background thread of this process.

    cfg = {"shm": "tank", "layouts": ["tank.db"],
           "devices": [{"name": "plc", "url": "s7://10.0.0.5",
                        "groups": [{"interval": "100ms", "db": 10}]}]}
    with plcio.Engine(cfg) as eng:                  # or Engine("sync.yaml")
        seg = eng.segment()                         # plcio.open(eng.shm_name)
        print(seg.read())
        results = eng.write_many({"Setpoint": 42.5, "Pump": True})
        for tag, r in results.items(): print(tag, r.ok, r.message)

The engine's loop runs in a daemon thread (run_once rounds of at most 20 ms);
writes are handed to that thread, which is the only one allowed to call
plcio_sync_write. stop() (and leaving `with`, and interpreter exit) stops
the loop and frees the engine, which removes its segment."""

from __future__ import annotations

import atexit
import concurrent.futures
import datetime as _dt
import itertools
import json
import os
import queue
import threading
import weakref
from ctypes import byref, c_void_p
from typing import Any, Dict, List, NamedTuple, Optional, Union

from . import _lib
from ._common import check_int, check_str, error_from
from .errors import Error

ESTATE = -22
ETIMEDOUT = -10
ROUND_MS = 20

_running: "weakref.WeakSet[Engine]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for eng in list(_running):
        try:
            eng.stop()
        except Exception:
            pass


class WriteResult(NamedTuple):
    tag: str
    ok: bool
    code: int         # plcio error code, 0 when the device acknowledged the write
    message: str


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return "T#%dms" % (value // _dt.timedelta(milliseconds=1))
    raise TypeError("%s is not a value the engine can write (bool, int, float, str, date, datetime, timedelta)"
                    % type(value).__name__)


class Engine:
    """A sync engine from a configuration dict (the YAML keys of docs/sync.md)
    or the path of a YAML file. shm overrides the segment name."""

    def __init__(self, config: Union[Dict[str, Any], str, os.PathLike], *, shm: Optional[str] = None,
                 no_shm: bool = False) -> None:
        self._lib = _lib.lib()
        self._h: Optional[int] = None
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._writes: "queue.Queue[Any]" = queue.Queue()
        self._pending: Dict[int, Any] = {}
        self._ids = itertools.count(1)
        self._write_cb = _lib.SYNC_WRITE_CB(self._on_write_done)
        self.error: Optional[Error] = None
        cfg = c_void_p()
        err = _lib.Error_()
        if isinstance(config, dict):
            text = json.dumps(config).encode()
            rc = self._lib.plcio_sync_config_parse(text, len(text), b"<dict>", os.getcwd().encode(), byref(cfg),
                                                   byref(err))
        elif isinstance(config, (str, os.PathLike)):
            rc = self._lib.plcio_sync_config_load(check_str("config", os.fspath(config)), byref(cfg), byref(err))
        else:
            raise TypeError("config must be a dict or the path of a YAML file, not %s" % type(config).__name__)
        if rc != 0:
            raise error_from(rc, err.text.decode("utf-8", "replace"))
        try:
            opts = _lib.SyncOptions()
            self._shm_override = check_str("shm", shm) if shm is not None else None
            opts.shm_name = self._shm_override
            opts.no_shm = bool(no_shm)
            h = c_void_p()
            rc = self._lib.plcio_sync_new(cfg, byref(opts), byref(h), byref(err))
            if rc != 0:
                raise error_from(rc, err.text.decode("utf-8", "replace"))
            self._h = h.value
        finally:
            self._lib.plcio_sync_config_free(cfg)

    @property
    def shm_name(self) -> Optional[str]:
        if self._h is None:
            return None
        n = self._lib.plcio_sync_shm_name(self._h)
        return n.decode() if n else None

    @property
    def tag_count(self) -> int:
        return int(self._lib.plcio_sync_tag_count(self._handle()))

    def _handle(self) -> int:
        if self._h is None:
            raise Error(ESTATE, "engine has been closed")
        return self._h

    def segment(self, timeout: float = 5.0) -> Any:
        """The engine's shared-memory segment, opened for reading (plcio.open)."""
        from .segment import open as shm_open
        name = self.shm_name
        if not name:
            raise Error(ESTATE, "this engine has no shared-memory segment (no_shm)")
        return shm_open(name, timeout=timeout)

    # ---- the loop thread ----
    def start(self) -> "Engine":
        h = self._handle()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, args=(h,), daemon=True, name="plcio-engine")
            self._thread.start()
            _running.add(self)
        return self

    def _loop(self, h: int) -> None:
        while not self._stop.is_set():
            rc = self._lib.plcio_sync_run_once(h, ROUND_MS)
            if rc < 0:
                self.error = error_from(rc, "engine loop: %s" % self._lib.plcio_strerror(rc).decode())
                break
            self._submit_writes(h)
        # fail what was never sent
        while True:
            try:
                tag, text, queue_ms, fut = self._writes.get_nowait()
            except queue.Empty:
                break
            fut.set_result(WriteResult(tag, False, ESTATE, "engine stopped"))

    def _submit_writes(self, h: int) -> None:
        while True:
            try:
                tag, text, queue_ms, fut = self._writes.get_nowait()
            except queue.Empty:
                return
            key = next(self._ids)
            self._pending[key] = (tag, fut)
            err = _lib.Error_()
            rc = self._lib.plcio_sync_write(h, tag.encode(), text.encode(), queue_ms, self._write_cb, c_void_p(key),
                                            byref(err))
            if rc != 0:
                self._pending.pop(key, None)
                fut.set_result(WriteResult(tag, False, rc, err.text.decode("utf-8", "replace")))

    def _on_write_done(self, ctx: Any, code: int, message: Optional[bytes]) -> None:
        entry = self._pending.pop(ctx or 0, None)
        if entry is None:
            return
        tag, fut = entry
        text = (message or b"").decode("utf-8", "replace")
        if not text and code:
            text = self._lib.plcio_strerror(code).decode()
        fut.set_result(WriteResult(tag, code == 0, code, text))

    def stop(self) -> None:
        """Stop the loop (pending writes fail) and free the engine (its segment is removed)."""
        if self._thread is not None:
            self._stop.set()
            self._lib.plcio_sync_stop(self._h)
            self._thread.join()
            self._thread = None
        _running.discard(self)
        if self._h is not None:
            self._lib.plcio_sync_free(self._h)  # fails writes still queued in C (their callbacks run here)
            self._h = None
        for tag, fut in list(self._pending.values()):
            if not fut.done():
                fut.set_result(WriteResult(tag, False, ESTATE, "engine stopped"))
        self._pending.clear()

    close = stop

    def __enter__(self) -> "Engine":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __del__(self) -> None:
        try:
            self.stop()
        except Exception:
            pass

    # ---- writes ----
    def write_async(self, tag: str, value: Any, queue_ms: int = 0) -> "concurrent.futures.Future[WriteResult]":
        if self._thread is None or self._h is None:
            raise Error(ESTATE, "engine is not running: start() it (or use `with`)")
        fut: "concurrent.futures.Future[WriteResult]" = concurrent.futures.Future()
        self._writes.put((check_str("tag", tag).decode(), check_str("value", _text(value)).decode(),
                          check_int("queue_ms", queue_ms, 0, 3600000), fut))
        return fut

    def write(self, tag: str, value: Any, timeout: float = 10.0, queue_ms: int = 0) -> WriteResult:
        return self.write_many({tag: value}, timeout=timeout, queue_ms=queue_ms)[tag]

    def write_many(self, values: Dict[str, Any], timeout: float = 10.0, queue_ms: int = 0) -> Dict[str, WriteResult]:
        """Write several tags at once (all handed to the engine in one round);
        returns each tag's result (ok, code, message) once all are done or
        `timeout` seconds passed (then ETIMEDOUT for the ones not done)."""
        futs = {tag: self.write_async(tag, v, queue_ms) for tag, v in values.items()}
        done, _ = concurrent.futures.wait(list(futs.values()), timeout=timeout)
        out = {}
        for tag, fut in futs.items():
            out[tag] = fut.result() if fut in done else WriteResult(tag, False, ETIMEDOUT,
                                                                    "no answer within %.1f s" % timeout)
        return out
