#!/usr/bin/python3
"""python-snap7's S7CommPlus emulator and client as a foreign peer for plcio's tests.

Runs python-snap7 (a separate project, found through PLCIO_PYTHON_SNAP7 or the
shared peers folder); nothing of it is copied here.

  python_snap7_peer.py server [--tls CERT KEY] [--seconds S]
      emulator on 127.0.0.1, a free port; DB1 (256 bytes, byte i = i * 7 mod 256),
      DB2 (70000 bytes, zero); prints "listening on 127.0.0.1:PORT"
  python_snap7_peer.py read PORT DB START SIZE [--tls]
      python-snap7's S7CommPlus client reads and prints the bytes as hex
"""
import os
import sys
import time


def peer_path():
    env = os.environ.get("PLCIO_PYTHON_SNAP7")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "..", "shared", "peers", "python-snap7"))


sys.path.insert(0, peer_path())
from s7commplus.server import S7CommPlusServer  # noqa: E402
from s7commplus.client import S7CommPlusClient  # noqa: E402


def server(args):
    seconds = 60.0
    tls = None
    i = 0
    while i < len(args):
        if args[i] == "--tls":
            tls = (args[i + 1], args[i + 2])
            i += 3
        elif args[i] == "--seconds":
            seconds = float(args[i + 1])
            i += 2
        else:
            raise SystemExit("bad argument " + args[i])
    srv = S7CommPlusServer()
    srv.register_raw_db(1, bytearray((k * 7) & 0xFF for k in range(256)))
    srv.register_raw_db(2, bytearray(70000))
    if tls:
        srv.start(host="127.0.0.1", port=0, use_tls=True, tls_cert=tls[0], tls_key=tls[1])
    else:
        srv.start(host="127.0.0.1", port=0)
    port = srv._server_socket.getsockname()[1]
    print("listening on 127.0.0.1:%d" % port, flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.2)
    srv.stop()


def read(args):
    port, db, start, size = (int(a) for a in args[:4])
    tls = "--tls" in args[4:]
    c = S7CommPlusClient()
    c.connect("127.0.0.1", port=port, use_tls=tls)
    data = c.db_read(db, start, size)
    print(data.hex(), flush=True)
    c.disconnect()


if __name__ == "__main__":
    {"server": server, "read": read}[sys.argv[1]](sys.argv[2:])
