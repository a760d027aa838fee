"""Drive the fleet test's simulated PLCs: raw Modbus TCP (FC 6, write single
register), written here with the standard library only. For every simulator
port and unit 1..UNITS: hr2 = engine * 100 + unit once (a mark the consumer
must see), then hr1 = 1, 2, ... STEPS, one step every PERIOD seconds. Prints
"step N" after each step (the test waits for these lines), "done" at the end.

    python3 fleet_writer.py PERIOD STEPS UNITS PORT...
"""
import socket
import struct
import sys
import time


def write_register(sock, tid, unit, address, value):
    pdu = struct.pack(">BHH", 6, address, value & 0xFFFF)
    sock.sendall(struct.pack(">HHHB", tid & 0xFFFF, 0, len(pdu) + 1, unit) + pdu)
    answer = b""
    while len(answer) < 12:
        chunk = sock.recv(12 - len(answer))
        if not chunk:
            raise SystemExit("fleet_writer: the simulator closed the connection")
        answer += chunk
    if answer[7] != 6:
        raise SystemExit(f"fleet_writer: unit {unit} refused the write: {answer.hex()}")


def main():
    period, steps, units = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    ports = [int(p) for p in sys.argv[4:]]
    socks = [socket.create_connection(("127.0.0.1", p), timeout=5) for p in ports]
    tid = 0
    for e, s in enumerate(socks, start=1):
        for u in range(1, units + 1):
            tid += 1
            write_register(s, tid, u, 2, e * 100 + u)
    for step in range(1, steps + 1):
        for s in socks:
            for u in range(1, units + 1):
                tid += 1
                write_register(s, tid, u, 1, step)
        print(f"step {step}", flush=True)
        time.sleep(period)
    print("done", flush=True)


main()
