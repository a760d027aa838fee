#!/usr/bin/python3
"""python-snap7's classic S7 client as the SCADA of plcio's backed-range test.

Runs python-snap7 (a separate project, path given as the first argument);
nothing of it is copied here. One connection per call; prints one line.

  snap7_backed.py SNAP7 read PORT AREA DB START SIZE    -> hex, or "ERR why"
  snap7_backed.py SNAP7 write PORT AREA DB START HEX    -> "OK", or "ERR why"
  snap7_backed.py SNAP7 multi PORT AREA:DB:START:SIZE... -> hex per item (space separated) from one
                                                           read_multi_vars, or "ERR why"
  snap7_backed.py SNAP7 raw PORT DB       -> bad requests for DB DB sent by hand (not python-snap7:
                                           it never sends them): "big=XXXX many=XXXX short=XXXX"
                                           with the S7 header error of each (0000: none), or
                                           "closed" for a request the server closed on
AREA is DB, M, I or Q.
"""
import socket
import struct
import sys

sys.path.insert(0, sys.argv[1])
import snap7  # noqa: E402
from snap7.type import Area  # noqa: E402

AREAS = {"DB": Area.DB, "M": Area.MK, "I": Area.PE, "Q": Area.PA}


def raw(port, db):
    """A read job answered past the PDU (500 bytes in a 240-byte PDU), one
    of 21 items, and one whose parameters end early; each on the same
    connection after a 240-byte setup."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)

    def send(payload):
        s.sendall(struct.pack(">BBH", 3, 0, len(payload) + 4) + payload)

    def recv():
        head = b""
        while len(head) < 4:
            part = s.recv(4 - len(head))
            if not part:
                return None
            head += part
        n = struct.unpack(">H", head[2:4])[0] - 4
        body = b""
        while len(body) < n:
            part = s.recv(n - len(body))
            if not part:
                return None
            body += part
        return body

    def job(ref, param):
        return bytes([2, 0xF0, 0x80, 0x32, 1, 0, 0]) + struct.pack(">HHH", ref, len(param), 0) + param

    def item(start, size):
        return bytes([0x12, 10, 0x10, 2]) + struct.pack(">HH", size, db) + bytes([0x84]) + \
            struct.pack(">I", start * 8)[1:]

    send(bytes([0x11, 0xE0, 0, 0, 0, 1, 0, 0xC0, 1, 0x0A, 0xC1, 2, 1, 0, 0xC2, 2, 1, 2]))
    if recv() is None:
        return "closed at connect"
    send(job(1, bytes([0xF0, 0, 0, 1, 0, 1, 0, 240])))
    if recv() is None:
        return "closed at setup"
    out = []
    for name, param in (("big", bytes([4, 1]) + item(0, 500)),
                        ("many", bytes([4, 21]) + item(0, 2) * 21),
                        ("short", bytes([4, 2]) + item(0, 2) + item(0, 2)[:5])):
        send(job(2, param))
        ans = recv()
        if ans is None:
            out.append(name + "=closed")
            break
        out.append("%s=%02x%02x" % (name, ans[13], ans[14]))
    s.close()
    return " ".join(out)


def main():
    cmd, port = sys.argv[2], int(sys.argv[3])
    if cmd == "raw":
        print(raw(port, int(sys.argv[4])))
        return 0
    c = snap7.Client()
    try:
        c.connect("127.0.0.1", 0, 1, port)
    except Exception as e:  # a refused connection is an answer too
        print("ERR connect: %s" % e)
        return 0
    try:
        if cmd == "read":
            area, db, start, size = AREAS[sys.argv[4]], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
            print(bytes(c.read_area(area, db, start, size)).hex())
        elif cmd == "write":
            area, db, start, data = AREAS[sys.argv[4]], int(sys.argv[5]), int(sys.argv[6]), bytes.fromhex(sys.argv[7])
            c.write_area(area, db, start, bytearray(data))
            print("OK")
        elif cmd == "multi":
            items = []
            for spec in sys.argv[4:]:
                a, db, start, size = spec.split(":")
                items.append({"area": AREAS[a], "db_number": int(db), "start": int(start), "size": int(size)})
            _, data = c.read_multi_vars(items)
            print(" ".join(bytes(d).hex() for d in data))
        else:
            print("ERR unknown command %s" % cmd)
            return 2
    except Exception as e:
        print("ERR %s" % str(e).replace("\n", " "))
    finally:
        try:
            c.disconnect()
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
