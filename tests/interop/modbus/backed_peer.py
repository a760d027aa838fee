#!/usr/bin/python3
"""pymodbus 3.0 on both sides of a plcio Modbus server whose ranges are
backed by a remote device (plcio sim modbus --backed, docs/gateway.md).

  backed_peer.py remote [--port N] [--seconds N]
      The remote device: a pymodbus TCP server (zero_mode) with known
      contents: holding[i] = i, input[i] = 1000 + i, coils[i] = i % 3 == 0
      (1000 of each). Its own statistics: input registers 900 and 901 hold
      how many FC 3 and FC 1 reads it has served (reading them is FC 4: not
      counted). Reads of holding 40..49 take a second (a slow device).
      Prints "listening on 127.0.0.1:PORT"; exits after N seconds (default 60).

  backed_peer.py checks PLCIO_PORT REMOTE_PORT [UDP_PORT]
      pymodbus's client reads and writes the backed ranges of plcio (see
      test_modbus_backed.c for the command line) while the remote changes;
      counts the remote's requests through its statistics.
  backed_peer.py down PLCIO_PORT      (the remote is gone)
  backed_peer.py up PLCIO_PORT        (the remote is back with fresh contents)

Prints "ok NAME" per check and "ALL OK"; exit status 1 on the first failure.
"""
import asyncio
import logging
import socket
import struct
import sys
import threading
import time

logging.basicConfig(level=logging.CRITICAL)


def watchdog(seconds):
    t = threading.Timer(seconds, lambda: __import__("os")._exit(3))
    t.daemon = True
    t.start()


def arg_value(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def check(name, cond, detail=""):
    if not cond:
        print("FAIL %s %s" % (name, detail), flush=True)
        sys.exit(1)
    print("ok %s" % name, flush=True)


# ---------------------------------------------------------------- remote


def remote():
    from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
    from pymodbus.server.async_io import ModbusTcpServer

    class Counting(ModbusSlaveContext):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.counts = {1: 0, 3: 0}

        def getValues(self, fc_as_hex, address, count=1):
            if fc_as_hex == 4 and address >= 900:
                vals = [self.counts[3] & 0xFFFF, self.counts[1] & 0xFFFF]
                return (vals + [0] * 100)[address - 900 : address - 900 + count]
            if fc_as_hex in self.counts:
                self.counts[fc_as_hex] += 1
            if fc_as_hex == 3 and 40 <= address < 50:
                time.sleep(1.0)  # the slow device: several reads arrive meanwhile
            return super().getValues(fc_as_hex, address, count)

    slave = Counting(
        di=ModbusSequentialDataBlock(0, [i % 2 == 0 for i in range(1000)]),
        co=ModbusSequentialDataBlock(0, [i % 3 == 0 for i in range(1000)]),
        hr=ModbusSequentialDataBlock(0, list(range(1000))),
        ir=ModbusSequentialDataBlock(0, [1000 + i for i in range(1000)]),
        zero_mode=True,
    )
    ctx = ModbusServerContext(slaves=slave, single=True)
    # --port 0 (the default): the system picks the port as the server binds it (no port
    # picked first and bound later, that another process could take in between)
    port = int(arg_value("--port", "0"))
    watchdog(int(arg_value("--seconds", "60")))

    async def serve():
        server = ModbusTcpServer(ctx, address=("127.0.0.1", port), allow_reuse_address=True)
        task = asyncio.create_task(server.serve_forever())
        await server.serving  # it takes connections now
        print("listening on 127.0.0.1:%d" % server.server.sockets[0].getsockname()[1], flush=True)
        await task

    asyncio.run(serve())


# ---------------------------------------------------------------- clients


def tcp(port):
    from pymodbus.client import ModbusTcpClient

    c = ModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
    c.connect()
    return c


def ok(rr):
    return rr is not None and not rr.isError()


def exception_code(rr):
    return getattr(rr, "exception_code", None)


def remote_counts(rc):
    rr = rc.read_input_registers(900, 2, slave=1)
    assert ok(rr), rr
    return rr.registers


def raw_reads(port, start, count, n, connections):
    """n FC 3 requests for the same registers, sent at once: all on one
    connection in one write, or one on each of n connections. Answers as
    {tid: registers}."""
    frames = [struct.pack(">HHHBBHH", 0x100 + k, 0, 6, 1, 3, start, count) for k in range(n)]
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n if connections else 1)]
    if connections:
        for s, f in zip(socks, frames):
            s.sendall(f)
    else:
        socks[0].sendall(b"".join(frames))
    answers = {}
    want = 9 + 2 * count
    for k in range(n):
        s = socks[k if connections else 0]
        buf = b""
        while len(buf) < want:
            got = s.recv(want - len(buf))
            if not got:
                break
            buf += got
        if len(buf) == want and buf[7] == 3:
            tid = struct.unpack(">H", buf[:2])[0]
            answers[tid] = list(struct.unpack(">%dH" % count, buf[9:]))
    for s in socks:
        s.close()
    return answers


def checks(pport, rport, uport):
    c = tcp(pport)
    rc = tcp(rport)
    # read-through with a long cache age (holding 0..29, max-age 600 s)
    n0 = remote_counts(rc)[0]
    rr = c.read_holding_registers(0, 10, slave=1)
    check("first read fetched from the remote", ok(rr) and rr.registers == list(range(10)), rr)
    n1 = remote_counts(rc)[0]
    check("one remote request for it", n1 - n0 == 1, (n0, n1))
    rr = rc.write_register(0, 777, slave=1)
    check("the remote changes (direct write)", ok(rr))
    rr = c.read_holding_registers(0, 10, slave=1)
    check("younger than max-age: from the cache", ok(rr) and rr.registers == list(range(10)), rr)
    rr = c.read_holding_registers(20, 5, slave=1)
    check("another part of the range: cached by the first fetch", ok(rr) and rr.registers == [20, 21, 22, 23, 24])
    n2 = remote_counts(rc)[0]
    check("no remote request for cached reads", n2 == n1, (n1, n2))
    # write-through
    rr = c.write_register(5, 555, slave=1)
    check("write-through answered", ok(rr) and rr.value == 555, rr)
    rr = c.write_registers(7, [7007, 8008], slave=1)
    check("write-through FC 16 answered", ok(rr), rr)
    n3 = remote_counts(rc)[0]
    rr = rc.read_holding_registers(0, 10, slave=1)
    check("the writes landed on the remote", ok(rr) and rr.registers[5] == 555 and rr.registers[7:9] == [7007, 8008])
    n3 += 1  # that direct read
    rr = c.read_holding_registers(0, 10, slave=1)
    want = [777, 1, 2, 3, 4, 555, 6, 7007, 8008, 9]
    check("written values left the cache: read again", ok(rr) and rr.registers == want, rr)
    n4 = remote_counts(rc)[0]
    check("one remote request for the read after the write", n4 - n3 == 1, (n3, n4))
    # max-age 0: every read asks (holding 100..109, read-only)
    n5 = remote_counts(rc)[0]
    r1 = c.read_holding_registers(100, 4, slave=1)
    rc.write_register(101, 4242, slave=1)
    r2 = c.read_holding_registers(100, 4, slave=1)
    n6 = remote_counts(rc)[0]
    check("max-age 0: every read asks the remote", n6 - n5 == 2, (n5, n6))
    check("max-age 0: the remote's change seen", ok(r1) and ok(r2) and r1.registers == [100, 101, 102, 103] and
          r2.registers == [100, 4242, 102, 103], (r1, r2))
    rr = c.write_register(100, 1, slave=1)
    check("writes to a range without write-through: exception 01", exception_code(rr) == 1, rr)
    rr = rc.read_holding_registers(100, 1, slave=1)
    check("... and the remote kept its value", ok(rr) and rr.registers == [100])
    # coalescing: 6 reads pipelined on one connection, one remote request
    n7 = remote_counts(rc)[0]
    answers = raw_reads(pport, 102, 2, 6, False)
    n8 = remote_counts(rc)[0]
    check("6 pipelined reads all answered", sorted(answers) == [0x100 + k for k in range(6)] and
          all(v == [102, 103] for v in answers.values()), answers)
    check("6 pipelined reads: one remote request", n8 - n7 == 1, (n7, n8))
    # coalescing across connections: the slow part of the remote (holding 40..49)
    answers = raw_reads(pport, 40, 3, 4, True)
    n9 = remote_counts(rc)[0]
    check("4 clients' reads of a slow range all answered", len(answers) == 4 and
          all(v == [40, 41, 42] for v in answers.values()), answers)
    check("4 clients' reads: one remote request", n9 - n8 == 1, (n8, n9))
    # coils (max-age 0, write-through)
    b0 = remote_counts(rc)[1]
    rr = c.read_coils(0, 12, slave=1)
    check("coils through", ok(rr) and rr.bits[:12] == [i % 3 == 0 for i in range(12)], rr)
    rr = c.write_coil(1, True, slave=1)
    check("coil write-through answered", ok(rr), rr)
    rr = rc.read_coils(1, 1, slave=1)
    check("coil landed on the remote", ok(rr) and rr.bits[0] is True)
    rr = c.read_coils(0, 3, slave=1)
    check("coil read back through plcio", ok(rr) and rr.bits[:3] == [True, True, False], rr)
    b1 = remote_counts(rc)[1]
    check("coil reads counted at the remote", b1 - b0 == 3, (b0, b1))
    # remote-start: input 0..9 of plcio are the remote's 10..19
    rr = c.read_input_registers(0, 3, slave=1)
    check("remote-start shifts addresses", ok(rr) and rr.registers == [1010, 1011, 1012], rr)
    # the remote's own exception passes through (holding 200.. is its 2000.., beyond its 1000)
    rr = c.read_holding_registers(200, 2, slave=1)
    check("the remote's exception 02 passed on", exception_code(rr) == 2, rr)
    # a read partly inside a backed range; one outside every range (the bank)
    rr = c.read_holding_registers(25, 10, slave=1)
    check("partly backed: exception 02", exception_code(rr) == 2, rr)
    n10 = remote_counts(rc)[0]
    rr = c.read_holding_registers(500, 3, slave=1)
    check("outside the backed ranges: plcio's own bank", ok(rr) and rr.registers == [0, 0, 0], rr)
    check("... without asking the remote", remote_counts(rc)[0] == n10)
    # a device slower than the URL's timeout (holding 50.. is the remote's slow 40.., timeout 300 ms)
    rr = c.read_holding_registers(50, 2, slave=1)
    check("no answer in time: exception 0x0B (target failed to respond)", exception_code(rr) == 0x0B, rr)
    if uport:
        from pymodbus.client import ModbusUdpClient

        u = ModbusUdpClient("127.0.0.1", port=uport, timeout=5, retries=0)
        u.connect()
        rr = u.read_holding_registers(100, 2, slave=1)
        check("UDP read of a backed range", ok(rr) and rr.registers == [100, 4242], rr)
        u.close()
    c.close()
    rc.close()
    print("ALL OK", flush=True)


def down(pport):
    c = tcp(pport)
    rr = c.read_holding_registers(100, 2, slave=1)
    check("remote gone: read gets 0x0A (path unavailable)", exception_code(rr) == 0x0A, rr)
    rr = c.read_holding_registers(0, 3, slave=1)
    check("remote gone: a fresh cache still answers", ok(rr) and rr.registers == [777, 1, 2], rr)
    rr = c.write_register(1, 5, slave=1)
    check("remote gone: write-through gets 0x0A", exception_code(rr) == 0x0A, rr)
    rr = c.read_holding_registers(1, 1, slave=1)
    check("remote gone: the value written meanwhile is not in the cache", exception_code(rr) == 0x0A, rr)
    c.close()
    print("ALL OK", flush=True)


def up(pport):
    c = tcp(pport)
    rr = None
    for _ in range(100):  # the link is opened again at most every 500 ms
        rr = c.read_holding_registers(100, 3, slave=1)
        if ok(rr):
            break
        time.sleep(0.1)
    check("remote back: reads recover with its contents", ok(rr) and rr.registers == [100, 101, 102], rr)
    rr = c.write_register(3, 33, slave=1)
    check("remote back: write-through again", ok(rr), rr)
    rr = c.read_holding_registers(0, 4, slave=1)
    check("remote back: the new remote's values", ok(rr) and rr.registers == [0, 1, 2, 33], rr)
    c.close()
    print("ALL OK", flush=True)


if __name__ == "__main__":
    watchdog(90)
    mode = sys.argv[1]
    if mode == "remote":
        remote()
    elif mode == "checks":
        checks(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    elif mode == "down":
        down(int(sys.argv[2]))
    else:
        up(int(sys.argv[2]))
