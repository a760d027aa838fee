"""pymodbus's Modbus TCP server as a foreign peer: unit 1, 2000 coils, discrete
inputs, holding and input registers (zero_mode: protocol address = index),
input register i holds i, discrete input i is i % 2; 127.0.0.1 on port 0 (the
system's pick: no other process can take it between a pick and the bind),
printed as "listening on 127.0.0.1:PORT" once it listens; stops after SECONDS.

usage: pymodbus_server.py SECONDS"""

import asyncio
import logging
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server.async_io import ModbusTcpServer

logging.disable(logging.CRITICAL)


async def main(seconds):
    store = ModbusSlaveContext(co=ModbusSequentialDataBlock(0, [0] * 2000),
                               di=ModbusSequentialDataBlock(0, [i % 2 for i in range(2000)]),
                               hr=ModbusSequentialDataBlock(0, [0] * 2000),
                               ir=ModbusSequentialDataBlock(0, list(range(2000))), zero_mode=True)
    ctx = ModbusServerContext(slaves={1: store}, single=False)
    server = ModbusTcpServer(ctx, address=("127.0.0.1", 0))
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    print("listening on 127.0.0.1:%d" % server.server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(seconds)
    task.cancel()


asyncio.run(main(float(sys.argv[1])))
