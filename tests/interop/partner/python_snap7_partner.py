"""python-snap7's Partner (pure Python) as the foreign peer of plcio partner.

usage: python_snap7_partner.py SNAP7_DIR (active PORT | passive) STEP...
STEP: recv N            b_recv N blocks, print {"event":"recv","r_id":..,"hex":..}
      send RID:HEX      b_send one block with that R-ID
      sendfile RID:PATH b_send the file's bytes
      stop              stop at once (close the connection)
      malformed KIND    send a broken BSend PDU (KIND: head, short, total), expect no ack
Passive prints "listening on 127.0.0.1:PORT" first. One JSON line per event;
exit 1 with a message on the first failure. Gives up after 20 s."""
import json
import socket
import struct
import sys
import time

sys.path.insert(0, sys.argv[1])
import snap7  # noqa: E402
from snap7.partner import Partner  # noqa: E402

DEADLINE = time.time() + 20


def out(**kw):
    print(json.dumps(kw), flush=True)


def die(msg):
    print(f"python-snap7 partner: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def malformed(p, kind):
    """A BSend PDU broken in one way; the partner must refuse it (close)."""
    good = p._build_partner_data_pdu(b"abcdef", r_id=77)
    pdu = bytearray(good)
    if kind == "head":  # variable head 12 06 13 00 -> 12 06 99 00
        pdu[10 + 12 + 4 + 2] = 0x99
    elif kind == "short":  # data length says more than there is
        struct.pack_into(">H", pdu, 8, len(good) - 22 + 40)
    elif kind == "total":  # announced total 2 bytes, 6 sent
        struct.pack_into(">H", pdu, 10 + 12 + 4 + 8, 2)
    else:
        die(f"unknown malformed kind {kind}")
    p._connection.send_data(bytes(pdu))
    p._connection.socket.settimeout(3.0)
    try:
        data = p._connection.socket.recv(1)
    except socket.timeout:
        die(f"malformed {kind}: the partner neither answered nor closed")
    except OSError:
        data = b""
    if data:
        die(f"malformed {kind}: the partner answered instead of closing")
    out(event="closed", kind=kind)


def main():
    mode = sys.argv[2]
    args = sys.argv[3:]
    p = Partner(active=(mode == "active"))
    if mode == "active":
        p.port = int(args.pop(0))
        p.start_to("127.0.0.1", "127.0.0.1", 0x0100, 0x0102)
    else:
        p.port = 0
        # python-snap7's accept thread runs only while p.running, which
        # start_to sets after starting that thread: set it first, or the
        # thread may find it False and end before anyone connected.
        p.running = True
        p.start_to("127.0.0.1", "", 0x0102, 0x0100)
        print(f"listening on 127.0.0.1:{p._server_socket.getsockname()[1]}", flush=True)
    while not p.connected:
        if time.time() > DEADLINE:
            die("no partner connected")
        time.sleep(0.01)
    out(event="linked", pdu=p.pdu_length)
    for step in args:
        verb, _, arg = step.partition(" ")
        if verb == "recv":
            for _ in range(int(arg)):
                while True:
                    if time.time() > DEADLINE:
                        die("no block arrived")
                    rc = p.b_recv()
                    if rc == 0:
                        break
                    if rc < 0:
                        die("b_recv failed")
                data = p.get_recv_data()
                out(event="recv", r_id=p.get_recv_r_id(), bytes=len(data), hex=data.hex())
        elif verb in ("send", "sendfile"):
            rid, _, body = arg.partition(":")
            data = bytes.fromhex(body) if verb == "send" else open(body, "rb").read()
            p.r_id = int(rid)
            p.set_send_data(data)
            p.b_send()
            out(event="sent", r_id=int(rid), bytes=len(data))
        elif verb == "stop":
            p.stop()
            out(event="stopped")
            return
        elif verb == "malformed":
            malformed(p, arg)
        else:
            die(f"unknown step {step}")
    p.stop()


main()
