"""plcio.aio: asyncio clients over the C event-loop mode, against plcio's
simulators and the foreign servers (pymodbus, python-snap7); requests really
in flight together (a server that answers only once it holds all 8), bad
input, a closed client, a server that goes away."""

import asyncio
import socket
import struct
import threading

import pytest

import conftest
import plcio
import plcio.aio as aio


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


@pytest.fixture(scope="module", params=["plcio-sim", "pymodbus-server"])
def mb_server(request):
    child, port = (conftest.start_sim_modbus() if request.param == "plcio-sim" else conftest.start_pymodbus_server())
    yield port
    child.stop()


@pytest.fixture(scope="module", params=["plcio-sim", "python-snap7-server"])
def s7_server(request):
    child, port = (conftest.start_sim_s7() if request.param == "plcio-sim" else conftest.start_snap7_server())
    yield port
    child.stop()


def test_modbus_requests(mb_server):
    async def main():
        async with aio.ModbusClient(host="127.0.0.1", port=mb_server, depth=8) as mb:
            await mb.write_registers(0, list(range(100, 120)))
            # (that these are in flight together is shown by test_modbus_eight_in_flight)
            got = await asyncio.gather(*(mb.read_holding_registers(i, 3) for i in range(8)))
            assert mb.pending == 0
            assert got == [[100 + i, 101 + i, 102 + i] for i in range(8)]
            await mb.write_coils(0, [True, False, True])
            await mb.write_coil(5, True)
            await mb.write_register(30, 7)
            assert await mb.read_coils(0, 6) == [True, False, True, False, False, True]
            assert await mb.read_holding_registers(30) == [7]
            assert len(await mb.read_input_registers(0, 4)) == 4
            assert len(await mb.read_discrete_inputs(0, 4)) == 4
            with pytest.raises(plcio.ModbusException) as e:
                await mb.read_holding_registers(65530, 6)
            assert e.value.exception_code == 2
            assert await mb.read_holding_registers(0, 1) == [100]  # still usable
            with pytest.raises(ValueError):
                await mb.read_holding_registers(0, 126)
            with pytest.raises(TypeError):
                await mb.write_register("0", 1)
    run(main())


class HoldingServer:
    """Answers Modbus TCP read-holding-register requests only after it has
    received `n` of them: a client that waits for each answer before sending
    the next request never gets one."""

    def __init__(self, n):
        self.n = n
        self.lst = socket.socket()
        self.lst.bind(("127.0.0.1", 0))
        self.lst.listen(1)
        self.lst.settimeout(20)
        self.port = self.lst.getsockname()[1]
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        conn, _ = self.lst.accept()
        conn.settimeout(20)
        buf = b""
        reqs = []
        while len(reqs) < self.n:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 12:
                reqs.append(buf[:12])
                buf = buf[12:]
        for r in reversed(reqs):  # answer in reverse order: matching is by transaction id
            tid, _pid, _len, unit, fc, addr, n = struct.unpack(">HHHBBHH", r)
            regs = [addr + k for k in range(n)]
            pdu = struct.pack(">BB", fc, 2 * n) + struct.pack(">%dH" % n, *regs)
            conn.sendall(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu)
        conn.recv(1)
        conn.close()


def test_modbus_eight_in_flight():
    srv = HoldingServer(8)

    async def main():
        async with aio.ModbusClient("modbus-tcp://127.0.0.1:%d?timeout=10000" % srv.port, depth=8) as mb:
            got = await asyncio.gather(*(mb.read_holding_registers(10 * i, 2) for i in range(8)))
            assert got == [[10 * i, 10 * i + 1] for i in range(8)]
    run(main())
    srv.t.join(5)


def test_s7_requests(s7_server):
    async def main():
        async with aio.S7Client("s7://127.0.0.1:%d" % s7_server) as plc:
            await plc.db_write(1, 0, bytes(range(16)))
            jobs = plc.jobs
            got = await asyncio.gather(*(plc.db_read(1, 2 * i, 2) for i in range(8)))
            assert got == [bytes([2 * i, 2 * i + 1]) for i in range(8)]
            assert plc.jobs == jobs + 1  # eight requests, one job (one multi-variable read)
            # one after the other: python-snap7's server answers a multi-item write with one item (SOURCE.md)
            await plc.db_write(1, 20, b"\x00\x07")
            await plc.write_area("DB", 1, 22, b"\x40\x20\x00\x00")
            assert await plc.read_many(["DB1.DBW20:INT", "DB1.DBD22:REAL"]) == [7, 2.5]
            assert await plc.read_area(plcio.Area.DB, 1, 0, 4) == bytes(range(4))
            with pytest.raises(ValueError):
                await plc.db_read(1, -1, 2)
            with pytest.raises(plcio.Error):
                await plc.read("DB1.DBQ0")
    run(main())


def test_s7_refusal_fails_only_its_request():
    child, port = conftest.start_sim_s7(seconds=60)

    async def main():
        async with aio.S7Client("s7://127.0.0.1:%d" % port) as plc:
            r = await asyncio.gather(plc.db_read(1, 0, 2), plc.db_read(99, 0, 2), plc.db_read(1, 2, 2),
                                     return_exceptions=True)
            assert r[0] == b"\0\0" and r[2] == b"\0\0"
            assert isinstance(r[1], plcio.PLCError) and r[1].item_code == 0x0A
            jobs = plc.jobs
            await asyncio.gather(plc.db_write(1, 10, b"\x01"), plc.db_write(1, 12, b"\x02"))
            assert plc.jobs == jobs + 1  # two writes, one job
            assert await plc.db_read(1, 10, 3) == b"\x01\x00\x02"
    try:
        run(main())
    finally:
        child.stop()


def test_close_and_vanishing_server():
    child, port = conftest.start_sim_s7(seconds=60)
    mchild, mport = conftest.start_sim_modbus(seconds=60)

    async def main():
        plc = await aio.S7Client("s7://127.0.0.1:%d?timeout=2000" % port).connect()
        mb = await aio.ModbusClient(host="127.0.0.1", port=mport, timeout_ms=2000).connect()
        pending = asyncio.gather(plc.db_read(1, 0, 2), return_exceptions=True)
        plc.close()
        r = await pending
        assert isinstance(r[0], plcio.Error)
        child.stop()
        mchild.stop()
        with pytest.raises(plcio.Error):
            await mb.read_holding_registers(0, 1)
        mb.free()
        plc.free()
        with pytest.raises(plcio.Error):
            await plc.db_read(1, 0, 2)
    run(main())


def test_connect_refused():
    s = socket.socket()
    # bound, never listening: refused, and no other process can take the port meanwhile
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]

    async def main():
        with pytest.raises(plcio.ConnectionFailed):
            await aio.S7Client("s7://127.0.0.1:%d" % port).connect()
        with pytest.raises(plcio.ConnectionFailed):
            await aio.ModbusClient(host="127.0.0.1", port=port).connect()
    run(main())
    s.close()
