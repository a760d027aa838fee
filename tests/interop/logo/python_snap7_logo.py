#!/usr/bin/python3
"""python-snap7's Logo client as a foreign peer for plcio's LOGO! tests.

Runs python-snap7 (a separate project, found through PLCIO_PYTHON_SNAP7 or the
shared peers folder); nothing of it is copied here.

  python_snap7_logo.py PORT write ADDR=VALUE...   Logo.write each (V10=7, V11.3=1, VW20=-5)
  python_snap7_logo.py PORT read ADDR...          Logo.read each, prints "ADDR=VALUE" lines;
                                                  a failed read prints "ADDR=ERROR <text>"
  python_snap7_logo.py PORT connect REMOTE_TSAP   connect with local 0x0100 and this remote
                                                  TSAP (hex), prints "connected" or "refused <text>"
"""
import os
import sys


def peer_path():
    env = os.environ.get("PLCIO_PYTHON_SNAP7")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "..", "shared", "peers", "python-snap7"))


sys.path.insert(0, peer_path())
from snap7.logo import Logo  # noqa: E402


def connect(logo, port, remote_tsap):
    # python-snap7's Logo.connect stores tsap_logo but then calls Client.connect(rack 0,
    # slot 0), which recomputes the remote TSAP as connection_type << 8 (01.00): the TSAP
    # asked for never reaches the wire. A connection_type of the TSAP's high byte makes
    # the recomputed TSAP the one asked for (xx.00 TSAPs, as LOGO!Soft configures them).
    if remote_tsap & 0xFF == 0:
        logo.connection_type = remote_tsap >> 8
    logo.connect("127.0.0.1", 0x0100, remote_tsap, port)


def main(argv):
    port = int(argv[1])
    verb = argv[2]
    logo = Logo()
    if verb == "connect":
        try:
            connect(logo, port, int(argv[3], 16))
            print("connected")
        except Exception as e:  # the refusal is what is tested
            print("refused", e)
        return 0
    connect(logo, port, 0x0200)
    for arg in argv[3:]:
        if verb == "write":
            addr, value = arg.split("=", 1)
            logo.write(addr, int(value))
        else:
            try:
                print(f"{arg}={logo.read(arg)}")
            except Exception as e:
                print(f"{arg}=ERROR {e}")
    logo.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
