"""python-snap7's S7 server as a foreign peer: DB1 (256 bytes), DB2 (65535), DB3
(1024), M (256), on 127.0.0.1 with a port the OS picks; prints "listening on
127.0.0.1:PORT" and stops by itself after SECONDS.

usage: snap7_server.py PYTHON_SNAP7_DIR SECONDS"""

import logging
import sys
import time

sys.path.insert(0, sys.argv[1])
import snap7  # noqa: E402
from snap7.type import SrvArea  # noqa: E402

logging.disable(logging.CRITICAL)
srv = snap7.Server(log=False)
areas = {1: bytearray(256), 2: bytearray(65535), 3: bytearray(1024)}
for n, mem in areas.items():
    srv.register_area(SrvArea.DB, n, mem)
srv.register_area(SrvArea.MK, 0, bytearray(256))
srv.start_to("127.0.0.1", 0)
print("listening on 127.0.0.1:%d" % srv.server_socket.getsockname()[1], flush=True)
time.sleep(float(sys.argv[2]))
srv.stop()
