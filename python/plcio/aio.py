"""asyncio clients: the C clients' event-loop mode driven by the running loop.

    import asyncio, plcio.aio
    async def main():
        async with plcio.aio.ModbusClient("modbus-tcp://10.0.0.7", depth=8) as mb:
            a, b = await asyncio.gather(mb.read_holding_registers(0, 10), mb.read_holding_registers(100, 10))
        async with plcio.aio.S7Client("s7://10.0.0.1") as plc:
            raw, speed = await asyncio.gather(plc.db_read(1, 0, 4), plc.read("DB1.DBD8:REAL"))

The client's socket is registered with the loop (add_reader / add_writer) and
its deadlines with call_at; nothing blocks and no thread is used. Modbus:
up to `depth` requests in flight on one connection (matched by transaction
id). S7: the C client runs one job at a time, so requests made while a job
runs are gathered into the next job: one multi-variable read whose items
are merged, packed into PDUs and the PDUs pipelined (a refusal of one item
fails only that request). All calls must come from the loop's thread."""

from __future__ import annotations

import asyncio
import ctypes
import itertools
from ctypes import byref, c_char, c_uint8, c_uint16, c_uint64, c_void_p
from typing import Any, Dict, List, Optional, Sequence, Tuple, TypeVar

from . import _lib
from ._common import as_bytes, check_int, error_from, new_client, tcp_url
from .enums import Area
from .errors import EINVAL, Error, ModbusException, PLCError
from .s7 import MAX_OFFSET, ParsedAddress, _area, _elem_area

EPLC = -19
EMBEXC = -20
ENOTCONN = -13
WANT_READ, WANT_WRITE = 1, 2


_D = TypeVar("_D", bound="_Driven")


class _Driven:
    """Watches the C client's fd for what it wants and calls process(); the
    life cycle (connect, close, free, `async with`) through plcio_<_kind>_client_*."""

    _kind = ""

    def _init_driver(self, url: str) -> None:
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._reading = self._writing = -1
        self._timer: Optional[asyncio.TimerHandle] = None
        self._connect_fut: Optional[asyncio.Future] = None
        self._h: Optional[int] = None
        self._drive_scheduled = False
        self.url = url
        self._lib, self._h = new_client(self._kind, url)
        self._fd_fn = self._c("fd")
        self._wants_fn = self._c("wants")
        self._process_fn = self._c("process")

    def _c(self, verb: str) -> Any:
        return getattr(self._lib, "plcio_%s_client_%s" % (self._kind, verb))

    async def connect(self: _D) -> _D:
        await self._connect_async(self._c("connect_async"))
        return self

    def close(self) -> None:
        """Close the link; requests still pending fail with ENOTCONN."""
        self._unwatch()
        if self._h is not None:
            self._c("close")(self._h)
        self._abort_pending(error_from(ENOTCONN, "client closed"))

    def free(self) -> None:
        self.close()
        if self._h is not None:
            self._c("free")(self._h)
            self._h = None

    async def __aenter__(self: _D) -> _D:
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        self.free()

    def __del__(self) -> None:
        try:
            if self._h is not None:
                self._c("free")(self._h)
                self._h = None
        except Exception:
            pass

    def _connected(self) -> bool:
        return self._h is not None and bool(self._c("is_connected")(self._h))

    def _link_error(self, rc: int) -> Error:
        text = self._c("last_error")(self._h).contents.text.decode("utf-8", "replace") if self._h is not None else ""
        return error_from(rc, text)

    def _drive_soon(self) -> None:
        """One process() for everything submitted in this loop iteration."""
        if not self._drive_scheduled and self._loop is not None:
            self._drive_scheduled = True
            self._loop.call_soon(self._drive_now)

    def _drive_now(self) -> None:
        self._drive_scheduled = False
        self._drive()

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise Error(EINVAL, "this client is bound to another event loop")
        return loop

    def _unwatch(self) -> None:
        loop = self._loop
        if loop is None:
            return
        if self._reading >= 0:
            loop.remove_reader(self._reading)
            self._reading = -1
        if self._writing >= 0:
            loop.remove_writer(self._writing)
            self._writing = -1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _watch(self) -> None:
        loop = self._loop
        if loop is None or self._h is None:
            return
        deadline = c_uint64()
        wants = self._wants_fn(self._h, byref(deadline))
        fd = self._fd_fn(self._h)
        want_r = fd if (fd >= 0 and wants & WANT_READ) else -1
        want_w = fd if (fd >= 0 and wants & WANT_WRITE) else -1
        if self._reading != want_r:
            if self._reading >= 0:
                loop.remove_reader(self._reading)
            if want_r >= 0:
                loop.add_reader(want_r, self._drive)
            self._reading = want_r
        if self._writing != want_w:
            if self._writing >= 0:
                loop.remove_writer(self._writing)
            if want_w >= 0:
                loop.add_writer(want_w, self._drive)
            self._writing = want_w
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline.value:
            # plcio deadlines are CLOCK_MONOTONIC ns; the loop's clock is time.monotonic()
            self._timer = loop.call_at(deadline.value / 1e9, self._drive)

    def _drive(self) -> None:
        if self._h is None:
            return
        rc = self._process_fn(self._h)
        if rc < 0:
            self._link_failed(rc)
        self._after_process()
        if self._connect_fut is not None and not self._connect_fut.done():
            if rc < 0:
                self._connect_fut.set_exception(self._link_error(rc))
            elif self._connected():
                self._connect_fut.set_result(None)
        self._watch()

    # overridden
    def _abort_pending(self, exc: Error) -> None:
        pass

    def _link_failed(self, rc: int) -> None:
        pass

    def _after_process(self) -> None:
        pass

    async def _connect_async(self, start: Any) -> None:
        self._get_loop()
        if self._h is None:
            raise Error(-22, "client has been freed")
        if self._connected():
            return
        rc = start(self._h)
        if rc < 0:
            raise self._link_error(rc)
        self._connect_fut = self._loop.create_future()  # type: ignore[union-attr]
        self._drive()
        try:
            await self._connect_fut
        finally:
            self._connect_fut = None


# ---------------------------------------------------------------------------
class ModbusClient(_Driven):
    """asyncio Modbus client (TCP/UDP: up to `depth` requests in flight)."""

    _kind = "modbus"

    def __init__(self, url: Optional[str] = None, *, host: Optional[str] = None, port: int = 502, unit: int = 1,
                 timeout_ms: Optional[int] = None, depth: int = 8) -> None:
        if url is None:
            if host is None:
                raise TypeError("ModbusClient needs a URL (modbus-tcp://HOST...) or host=")
            url = tcp_url("modbus-tcp", host, port, "unit=%d" % check_int("unit", unit, 0, 255), timeout_ms)
        self._init_driver(url)
        lib = self._lib
        rc = lib.plcio_modbus_client_set_depth(self._h, check_int("depth", depth, 1, 64))
        if rc != 0:
            raise error_from(rc, "")
        self._pending: Dict[int, Tuple[Any, asyncio.Future, Any, Any]] = {}
        self._ids = itertools.count(1)
        self._done_cb = _lib.MB_DONE(self._on_done)

    def _abort_pending(self, exc: Error) -> None:
        self._fail_all(exc.code, exc.text)

    def _fail_all(self, code: int, text: str) -> None:
        pending, self._pending = self._pending, {}
        for _req, fut, _buf, _conv in pending.values():
            if not fut.done():
                fut.set_exception(error_from(code, text))

    def _on_done(self, ctx: Any, _client: Any, req_p: Any) -> None:
        entry = self._pending.pop(ctx or 0, None)
        if entry is None:
            return
        req, fut, buf, conv = entry
        if fut.done():
            return
        if req.result == 0:
            fut.set_result(conv(buf))
        elif req.result == EMBEXC:
            code = req.exception
            text = self._lib.plcio_mb_exception_text(code).decode()
            fut.set_exception(ModbusException(EMBEXC, "%s (exception %d)" % (text, code), exception_code=code))
        else:
            fut.set_exception(self._link_error(req.result) if req.result != 0 else Error(req.result, ""))

    def _submit(self, function: int, addr: int, n: int, regs: Any = None, bits: Any = None,
                conv: Any = None, unit: Optional[int] = None) -> "asyncio.Future[Any]":
        loop = self._get_loop()
        if self._h is None:
            raise Error(-22, "client has been freed")
        req = _lib.MbRequest()
        req.unit = -1 if unit is None else check_int("unit", unit, 0, 255)
        req.function, req.addr, req.n = function, addr, n
        if regs is not None:
            req.regs = ctypes.cast(regs, ctypes.POINTER(c_uint16))
        if bits is not None:
            req.bits = ctypes.cast(bits, ctypes.POINTER(c_uint8))
        key = next(self._ids)
        fut = loop.create_future()
        self._pending[key] = (req, fut, regs if regs is not None else bits, conv or (lambda b: None))
        rc = self._lib.plcio_modbus_submit(self._h, byref(req), self._done_cb, c_void_p(key))
        if rc != 0:
            self._pending.pop(key, None)
            raise error_from(rc, "submit %s: %s" % (function, self._lib.plcio_strerror(rc).decode()))
        self._drive_soon()
        return fut

    def _link_failed(self, rc: int) -> None:
        # every request has been completed with the error by the C client
        self._fail_all(rc, self._link_error(rc).text)

    async def read_holding_registers(self, address: int, count: int = 1, unit: Optional[int] = None) -> List[int]:
        address = check_int("address", address, 0, 65535)
        count = check_int("count", count, 1, min(125, 65536 - address))
        buf = (c_uint16 * count)()
        return await self._submit(3, address, count, regs=buf, conv=list, unit=unit)

    async def read_input_registers(self, address: int, count: int = 1, unit: Optional[int] = None) -> List[int]:
        address = check_int("address", address, 0, 65535)
        count = check_int("count", count, 1, min(125, 65536 - address))
        buf = (c_uint16 * count)()
        return await self._submit(4, address, count, regs=buf, conv=list, unit=unit)

    async def read_coils(self, address: int, count: int = 1, unit: Optional[int] = None) -> List[bool]:
        address = check_int("address", address, 0, 65535)
        count = check_int("count", count, 1, min(2000, 65536 - address))
        buf = (c_uint8 * count)()
        return await self._submit(1, address, count, bits=buf, conv=lambda b: [bool(x) for x in b], unit=unit)

    async def read_discrete_inputs(self, address: int, count: int = 1, unit: Optional[int] = None) -> List[bool]:
        address = check_int("address", address, 0, 65535)
        count = check_int("count", count, 1, min(2000, 65536 - address))
        buf = (c_uint8 * count)()
        return await self._submit(2, address, count, bits=buf, conv=lambda b: [bool(x) for x in b], unit=unit)

    async def write_register(self, address: int, value: int, unit: Optional[int] = None) -> None:
        buf = (c_uint16 * 1)(check_int("value", value, 0, 65535))
        await self._submit(6, check_int("address", address, 0, 65535), 1, regs=buf, unit=unit)

    async def write_registers(self, address: int, values: Sequence[int], unit: Optional[int] = None) -> None:
        address = check_int("address", address, 0, 65535)
        vals = [check_int("values[%d]" % i, v, 0, 65535) for i, v in enumerate(values)]
        n = check_int("len(values)", len(vals), 1, min(123, 65536 - address))
        await self._submit(16, address, n, regs=(c_uint16 * n)(*vals), unit=unit)

    async def write_coil(self, address: int, value: bool, unit: Optional[int] = None) -> None:
        await self._submit(5, check_int("address", address, 0, 65535), 1, bits=(c_uint8 * 1)(1 if value else 0),
                           unit=unit)

    async def write_coils(self, address: int, values: Sequence[bool], unit: Optional[int] = None) -> None:
        address = check_int("address", address, 0, 65535)
        vals = [1 if v else 0 for v in values]
        n = check_int("len(values)", len(vals), 1, min(1968, 65536 - address))
        await self._submit(15, address, n, bits=(c_uint8 * n)(*vals), unit=unit)

    @property
    def pending(self) -> int:
        return 0 if self._h is None else int(self._lib.plcio_modbus_client_pending(self._h))


# ---------------------------------------------------------------------------
class _S7Job:
    __slots__ = ("kind", "geo", "data", "fut", "decode")

    def __init__(self, kind: str, geo: Tuple[int, int, int, int, int], data: Optional[bytes], fut: asyncio.Future,
                 decode: Any) -> None:
        self.kind, self.geo, self.data, self.fut, self.decode = kind, geo, data, fut, decode


class S7Client(_Driven):
    """asyncio S7 client; requests made while a job runs go out together in the next job."""

    _kind = "s7"
    MAX_BATCH = 200  # variables per job

    def __init__(self, url: Optional[str] = None, *, host: Optional[str] = None, rack: int = 0, slot: int = 1,
                 port: int = 102, timeout_ms: Optional[int] = None) -> None:
        if url is None:
            if host is None:
                raise TypeError("S7Client needs a URL (s7://HOST...) or host=")
            url = tcp_url("s7", host, port, "rack=%d&slot=%d" % (check_int("rack", rack, 0, 7),
                                                                 check_int("slot", slot, 0, 31)), timeout_ms)
        self._init_driver(url)
        self._queue: List[_S7Job] = []
        self._running: Optional[Tuple[List[_S7Job], Any, List[Any]]] = None
        self._finished: Optional[int] = None
        self._done_cb = _lib.S7_DONE(self._on_done)
        self.jobs = 0  # C jobs started (for tests and curiosity)

    def _abort_pending(self, exc: Error) -> None:
        self._fail(self._queue + (self._running[0] if self._running else []), exc)
        self._queue, self._running = [], None

    @staticmethod
    def _fail(jobs: List[_S7Job], exc: Error) -> None:
        for j in jobs:
            if not j.fut.done():
                j.fut.set_exception(exc)

    def _on_done(self, _ctx: Any, _client: Any, result: int) -> None:
        self._finished = result

    def _after_process(self) -> None:
        if self._finished is None or self._running is None:
            self._start_next()
            return
        result, (jobs, vars_, bufs) = self._finished, self._running
        self._finished, self._running = None, None
        if result < 0 and result != EPLC:
            self._fail(jobs, self._link_error(result))
        else:
            for i, j in enumerate(jobs):
                if j.fut.done():
                    continue
                v = vars_[i]
                if v.result == 0:
                    j.fut.set_result(j.decode(bytes(bufs[i][0])) if j.kind == "r" else None)
                else:
                    reason = self._lib.plcio_s7_return_code_text(v.item_code).decode()
                    a, db, start, size, _ = j.geo
                    what = "%s%s byte %d (%d)" % (self._lib.plcio_s7_area_name(a).decode(),
                                                  db if a in (Area.DB, Area.DI) else "", start, size)
                    j.fut.set_exception(PLCError(v.result, "%s: %s" % (what, reason), item_code=v.item_code,
                                                 reason=reason) if v.result == EPLC else error_from(v.result, what))
        self._start_next()

    def _start_next(self) -> None:
        if self._running is not None or not self._queue or self._h is None:
            return
        kind = self._queue[0].kind
        n = 0
        while n < len(self._queue) and n < self.MAX_BATCH and self._queue[n].kind == kind:
            n += 1
        jobs, self._queue = self._queue[:n], self._queue[n:]
        vars_ = (_lib.S7Var * n)()
        bufs = []
        for i, j in enumerate(jobs):
            a, db, start, size, nbytes = j.geo
            buf = bytearray(j.data) if j.kind == "w" else bytearray(nbytes)
            cbuf = (c_char * nbytes).from_buffer(buf)
            bufs.append((buf, cbuf))
            v = vars_[i]
            v.area, v.db, v.start, v.size, v.bit = a, db, start, size, -1
            v.data = ctypes.addressof(cbuf)
        fn = self._lib.plcio_s7_client_read_vars_async if kind == "r" else self._lib.plcio_s7_client_write_vars_async
        rc = fn(self._h, vars_, n, self._done_cb, None)
        if rc != 0:
            self._fail(jobs, self._link_error(rc))
            return
        self.jobs += 1
        self._running = (jobs, vars_, bufs)

    def _enqueue(self, kind: str, geo: Tuple[int, int, int, int, int], data: Optional[bytes], decode: Any
                 ) -> "asyncio.Future[Any]":
        loop = self._get_loop()
        if self._h is None:
            raise Error(-22, "client has been freed")
        fut = loop.create_future()
        self._queue.append(_S7Job(kind, geo, data, fut, decode))
        # start on the next loop iteration, so requests made together go out together
        loop.call_soon(self._kick)
        return fut

    def _kick(self) -> None:
        if self._h is None:
            return
        self._start_next()
        self._drive()

    async def read_area(self, area: Any, db: int, start: int, size: int) -> bytearray:
        a = _area(area)
        start = check_int("start", start, 0, MAX_OFFSET)
        size = check_int("size", size, 1, MAX_OFFSET + 1 - start)
        nbytes = size * 2 if _elem_area(a) else size
        return await self._enqueue("r", (a, check_int("db", db, 0, 65535), start, size, nbytes), None, bytearray)

    async def db_read(self, db: int, start: int, size: int) -> bytearray:
        return await self.read_area(Area.DB, check_int("db", db, 1, 65535), start, size)

    async def write_area(self, area: Any, db: int, start: int, data: Any) -> None:
        a = _area(area)
        start = check_int("start", start, 0, MAX_OFFSET)
        raw = as_bytes("data", data)
        n = len(raw) // 2 if _elem_area(a) else len(raw)
        check_int("len(data)", len(raw), 1, MAX_OFFSET + 1 - start)
        await self._enqueue("w", (a, check_int("db", db, 0, 65535), start, n, len(raw)), raw, None)

    async def db_write(self, db: int, start: int, data: Any) -> None:
        await self.write_area(Area.DB, check_int("db", db, 1, 65535), start, data)

    async def read(self, address: str) -> Any:
        p = ParsedAddress(address)
        start, size = p.var_geometry()
        return await self._enqueue("r", (p.area, p.db, start, size, p.size), None, p.decode)

    async def read_many(self, addresses: Sequence[str]) -> List[Any]:
        return list(await asyncio.gather(*(self.read(a) for a in addresses)))
