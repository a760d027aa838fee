#!/usr/bin/python3
"""python-snap7's classic S7 client as the SCADA of plcio's backed-range test.

Runs python-snap7 (a separate project, path given as the first argument);
nothing of it is copied here. One connection per call; prints one line.

  snap7_backed.py SNAP7 read PORT AREA DB START SIZE    -> hex, or "ERR why"
  snap7_backed.py SNAP7 write PORT AREA DB START HEX    -> "OK", or "ERR why"
  snap7_backed.py SNAP7 multi PORT AREA:DB:START:SIZE... -> hex per item (space separated) from one
                                                           read_multi_vars, or "ERR why"
AREA is DB, M, I or Q.
"""
import sys

sys.path.insert(0, sys.argv[1])
import snap7  # noqa: E402
from snap7.type import Area  # noqa: E402

AREAS = {"DB": Area.DB, "M": Area.MK, "I": Area.PE, "Q": Area.PA}


def main():
    cmd, port = sys.argv[2], int(sys.argv[3])
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
