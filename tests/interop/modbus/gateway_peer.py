#!/usr/bin/python3
"""pymodbus 3.0's client through `plcio gateway modbus` to pymodbus_peer.py's
server (its known contents: holding[i] = i for i < 200 except 100..101 =
123.456 ABCD, input[i] = 1000 + i, coils[i] = i % 3 == 0, discrete[i] =
i % 2 == 0; 1000 registers, 2000 bits).

  gateway_peer.py tcp|udp HOST:PORT [--unit N] [--clients N] [--seconds N]

Runs the checks below on N clients at once (threads, one connection each,
default 3): each writes and reads back its own registers, so answers that
went to the wrong client or transaction would show. Prints "ok NAME" per
check and "ALL OK"; exit status 1 on the first failure, 3 after --seconds
(default 60).
"""
import logging
import struct
import sys
import threading

logging.basicConfig(level=logging.CRITICAL)


def arg_value(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


failed = threading.Event()
out_lock = threading.Lock()


def say(text):
    with out_lock:
        print(text, flush=True)


def check(name, cond):
    if not cond:
        say("FAIL %s" % name)
        failed.set()
        raise SystemExit(1)
    say("ok %s" % name)


def ok(rr):
    return rr is not None and not rr.isError()


def one_client(kind, host, port, unit, k):
    try:
        run_checks(kind, host, port, unit, k)
    except BaseException as e:  # a failed check, or pymodbus giving up: the run fails
        if not isinstance(e, SystemExit):
            say("FAIL c%d: %r" % (k, e))
        failed.set()


def run_checks(kind, host, port, unit, k):
    from pymodbus.client import ModbusTcpClient, ModbusUdpClient

    cls = ModbusTcpClient if kind == "tcp" else ModbusUdpClient
    c = cls(host, port=port, timeout=5)
    c.connect()
    u = unit
    rr = c.read_holding_registers(0, 10, slave=u)
    check("c%d fc03 known contents" % k, ok(rr) and rr.registers == list(range(10)))
    rr = c.read_holding_registers(100, 2, slave=u)
    f = struct.unpack(">f", struct.pack(">HH", *rr.registers))[0] if ok(rr) else 0
    check("c%d fc03 float ABCD" % k, abs(f - 123.456) < 1e-4)
    rr = c.read_input_registers(3, 5, slave=u)
    check("c%d fc04" % k, ok(rr) and rr.registers == [1003 + i for i in range(5)])
    rr = c.read_coils(0, 12, slave=u)
    check("c%d fc01" % k, ok(rr) and rr.bits[:12] == [i % 3 == 0 for i in range(12)])
    rr = c.read_discrete_inputs(0, 12, slave=u)
    check("c%d fc02" % k, ok(rr) and rr.bits[:12] == [i % 2 == 0 for i in range(12)])
    base = 300 + 20 * k
    for rnd in range(5):  # each client its own registers: a crossed answer shows
        vals = [k * 1000 + rnd * 10 + i for i in range(8)]
        rr = c.write_registers(base, vals, slave=u)
        check("c%d fc16 round %d" % (k, rnd), ok(rr))
        rr = c.read_holding_registers(base, 8, slave=u)
        check("c%d fc03 read back round %d" % (k, rnd), ok(rr) and rr.registers == vals)
    rr = c.write_coil(500 + k, True, slave=u)
    check("c%d fc05" % k, ok(rr))
    rr = c.read_coils(500 + k, 1, slave=u)
    check("c%d fc05 read back" % k, ok(rr) and rr.bits[0])
    rr = c.read_holding_registers(1990, 20, slave=u)
    check("c%d device exception 02 relayed" % k, rr.isError() and getattr(rr, "exception_code", 0) == 2)
    c.close()


def main():
    t = threading.Timer(int(arg_value("--seconds", "60")), lambda: __import__("os")._exit(3))
    t.daemon = True
    t.start()
    kind, target = sys.argv[1], sys.argv[2]
    host, port = target.rsplit(":", 1)
    unit = int(arg_value("--unit", "1"))
    n = int(arg_value("--clients", "3"))
    threads = [threading.Thread(target=one_client, args=(kind, host, int(port), unit, k)) for k in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if failed.is_set():
        sys.exit(1)
    say("ALL OK")


if __name__ == "__main__":
    main()
