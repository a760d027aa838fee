"""pymodbus's Modbus TCP server as a foreign peer: unit 1, 2000 coils, discrete
inputs, holding and input registers (zero_mode: protocol address = index),
input register i holds i, discrete input i is i % 2; 127.0.0.1 on a port this
script picks and prints as "listening on 127.0.0.1:PORT"; stops after SECONDS.

usage: pymodbus_server.py SECONDS"""

import asyncio
import logging
import socket
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartAsyncTcpServer

logging.disable(logging.CRITICAL)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def main(seconds):
    store = ModbusSlaveContext(co=ModbusSequentialDataBlock(0, [0] * 2000),
                               di=ModbusSequentialDataBlock(0, [i % 2 for i in range(2000)]),
                               hr=ModbusSequentialDataBlock(0, [0] * 2000),
                               ir=ModbusSequentialDataBlock(0, list(range(2000))), zero_mode=True)
    ctx = ModbusServerContext(slaves={1: store}, single=False)
    port = free_port()
    task = asyncio.create_task(StartAsyncTcpServer(context=ctx, address=("127.0.0.1", port)))
    for _ in range(100):
        await asyncio.sleep(0.05)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            continue
    print("listening on 127.0.0.1:%d" % port, flush=True)
    await asyncio.sleep(seconds)
    task.cancel()


asyncio.run(main(float(sys.argv[1])))
