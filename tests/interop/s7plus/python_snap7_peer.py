#!/usr/bin/python3
"""python-snap7's S7CommPlus emulator and client as a foreign peer for plcio's tests.

Runs python-snap7 (a separate project, found through PLCIO_PYTHON_SNAP7 or the
shared peers folder); nothing of it is copied here.

  python_snap7_peer.py server [--tls CERT KEY] [--seconds S]
      emulator on 127.0.0.1, a free port; DB1 (256 bytes, byte i = i * 7 mod 256),
      DB2 (70000 bytes, zero); prints "listening on 127.0.0.1:PORT"
  python_snap7_peer.py read PORT DB START SIZE [--tls]
      python-snap7's S7CommPlus client reads and prints the bytes as hex
  python_snap7_peer.py client PORT [--tls CA_FILE]
      python-snap7's S7CommPlus client against a server (plcio sim s7): reads
      DB1[0:16], writes 01020304 to DB2[10:14], reads DB1[4:8] + DB2[10:14] in one
      request, lists the DBs; prints one JSON object with what it saw
  python_snap7_peer.py subscribe PORT
      python-snap7's create_subscription (DB1[0:4], DB2[10:14], cycle 10 ms)
      against a server without TLS, then 1 s of watching its connection for
      anything unasked (a notification), delete_subscription, a read of
      DB1[0:4]; prints one JSON object
  python_snap7_peer.py symbolic PORT
      python-snap7's browse() of plcio sim s7's built-in optimized DBs, then
      read_symbolic of the members named in the browse (raw bytes as hex) and
      write_symbolic of 4 bytes (REAL 7.5) to "Line".Motor.Speed and of 2 bytes
      to a REAL (which must fail); prints one JSON object
"""
import json
import os
import select
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


def client(args):
    port = int(args[0])
    ca = args[2] if len(args) > 2 and args[1] == "--tls" else None
    c = S7CommPlusClient()
    if ca:
        c.connect("127.0.0.1", port=port, use_tls=True, tls_ca=ca)
    else:
        c.connect("127.0.0.1", port=port)
    out = {"tls": c.tls_active if hasattr(c, "tls_active") else None}
    out["db1"] = c.db_read(1, 0, 16).hex()
    c.db_write(2, 10, bytes([1, 2, 3, 4]))
    out["multi"] = [b.hex() if b is not None else None for b in c.db_read_multi([(1, 4, 4), (2, 10, 4)])]
    out["dbs"] = sorted(d["number"] for d in c.list_datablocks())
    c.disconnect()
    print(json.dumps(out), flush=True)


def subscribe(args):
    port = int(args[0])
    c = S7CommPlusClient()
    c.connect("127.0.0.1", port=port)
    # python-snap7 hands back the first VLQ of the answer: the return value
    out = {"returned": c.create_subscription([(1, 0, 4), (2, 10, 4)], cycle_ms=10)}
    ready, _, _ = select.select([c._connection._iso_conn.socket], [], [], 1.0)
    out["unasked"] = bool(ready)
    c.delete_subscription(out["returned"])
    out["db1"] = c.db_read(1, 0, 4).hex()
    c.disconnect()
    print(json.dumps(out), flush=True)


def symbolic(args):
    port = int(args[0])
    c = S7CommPlusClient()
    c.connect("127.0.0.1", port=port)
    out = {"vars": {}, "reads": {}, "addresses": {}}
    for v in c.browse():
        out["vars"][v["name"]] = [v["access_sequence"], v["data_type"]]
        out["addresses"][v["name"]] = [v["nonopt_address"], v["nonopt_bitoffset"]]
    for name in ("Line.Motor.Speed", "Line.Counts[2]", "Line.Name", "Line.Station[2].Temp", "Tank.Mode",
                 "Line.Grid[2,3]", "Tank.Level"):
        seq = out["vars"][name][0].split(".")
        out["reads"][name] = c.read_symbolic(int(seq[0], 16), [int(x, 16) for x in seq[1:]]).hex()
    # the built-in PLC tags (I, Q, M areas): a write by name each, checked by the test over classic S7
    for name, data in (("MArea.Count", "00012345"), ("QArea.Motor_On", "01"), ("MArea.Temp", "41ac0000")):
        seq = out["vars"][name][0].split(".")
        c.write_symbolic(int(seq[0], 16), [int(x, 16) for x in seq[1:]], bytes.fromhex(data))
        out["reads"][name] = c.read_symbolic(int(seq[0], 16), [int(x, 16) for x in seq[1:]]).hex()
    seq = out["vars"]["Line.Motor.Speed"][0].split(".")
    c.write_symbolic(int(seq[0], 16), [int(x, 16) for x in seq[1:]], bytes.fromhex("40f00000"))
    try:
        c.write_symbolic(int(seq[0], 16), [int(x, 16) for x in seq[1:]], b"\x01\x02")
        out["short_write"] = "accepted"
    except Exception as e:  # noqa: BLE001 - the refusal is what is checked
        out["short_write"] = str(e)
    c.disconnect()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    commands = {"server": server, "read": read, "client": client, "subscribe": subscribe, "symbolic": symbolic}
    commands[sys.argv[1]](sys.argv[2:])
