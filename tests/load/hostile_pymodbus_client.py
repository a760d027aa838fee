"""A foreign Modbus TCP client (pymodbus 3.0) that must get in after the
server was crowded with hostile connections (test_hostile_clients.c).

Usage: /usr/bin/python3 hostile_pymodbus_client.py PORT
Prints "ok V0 V1" (holding registers 0 and 1 of unit 1) and exits 0, or
"FAIL why" and exits 1. Exits by itself after 30 s whatever happens.
"""
import os
import sys
import threading

threading.Timer(30, lambda: (print("FAIL timeout", flush=True), os._exit(3))).start()

from pymodbus.client import ModbusTcpClient  # noqa: E402

client = ModbusTcpClient("127.0.0.1", port=int(sys.argv[1]), timeout=10, retries=0)
if not client.connect():
    print("FAIL connect", flush=True)
    os._exit(1)
r = client.read_holding_registers(0, 2, slave=1)
if r.isError():
    print("FAIL read: %s" % r, flush=True)
    os._exit(1)
print("ok %d %d" % (r.registers[0], r.registers[1]), flush=True)
client.close()
os._exit(0)
