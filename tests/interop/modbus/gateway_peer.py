#!/usr/bin/python3
"""pymodbus 3.0's client through `plcio gateway modbus` to pymodbus_peer.py's
server (its known contents: holding[i] = i for i < 200 except 100..101 =
123.456 ABCD, input[i] = 1000 + i, coils[i] = i % 3 == 0, discrete[i] =
i % 2 == 0; 1000 registers, 2000 bits).

  gateway_peer.py tcp|udp HOST:PORT [--unit N] [--clients N] [--seconds N]
  gateway_peer.py read-only GATEWAY_HOST:PORT TARGET_HOST:PORT [--seconds N]

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


def read_only_checks(gateway, target):
    """A --read-only gateway: reads go through, every write is answered with
    exception 01 and the target (read directly) keeps its contents."""
    from pymodbus.client import ModbusTcpClient

    host, port = gateway.rsplit(":", 1)
    c = ModbusTcpClient(host, port=int(port), timeout=5)
    c.connect()
    rr = c.read_holding_registers(0, 4, slave=1)
    check("read-only: fc03 goes through", ok(rr) and rr.registers == [0, 1, 2, 3])
    rr = c.read_coils(0, 4, slave=1)
    check("read-only: fc01 goes through", ok(rr) and rr.bits[:4] == [True, False, False, True])

    def refused(name, rr):
        check("read-only: %s refused with exception 01" % name,
              rr is not None and rr.isError() and getattr(rr, "exception_code", 0) == 1)

    refused("fc06", c.write_register(5, 999, slave=1))
    refused("fc16", c.write_registers(10, [7, 7], slave=1))
    refused("fc05", c.write_coil(3, False, slave=1))
    refused("fc15", c.write_coils(0, [False, True], slave=1))
    refused("fc22", c.mask_write_register(address=20, and_mask=0, or_mask=0xFFFF, slave=1))
    refused("fc23", c.readwrite_registers(read_address=0, read_count=2, write_address=30, write_registers=[9],
                                          slave=1))
    rr = c.read_input_registers(3, 2, slave=1)
    check("read-only: the connection goes on", ok(rr) and rr.registers == [1003, 1004])
    c.close()
    host, port = target.rsplit(":", 1)
    d = ModbusTcpClient(host, port=int(port), timeout=5)
    d.connect()
    rr = d.read_holding_registers(0, 40, slave=1)
    check("read-only: the target's registers untouched", ok(rr) and rr.registers == list(range(40)))
    rr = d.read_coils(0, 4, slave=1)
    check("read-only: the target's coils untouched", ok(rr) and rr.bits[:4] == [True, False, False, True])
    d.close()


def main():
    if len(sys.argv) > 3 and sys.argv[1] == "read-only":
        t = threading.Timer(int(arg_value("--seconds", "60")), lambda: __import__("os")._exit(3))
        t.daemon = True
        t.start()
        try:
            read_only_checks(sys.argv[2], sys.argv[3])
        except BaseException as e:
            if not isinstance(e, SystemExit):
                say("FAIL %r" % (e,))
            sys.exit(1)
        say("ALL OK")
        return
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
