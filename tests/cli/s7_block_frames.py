"""Hand-made S7 block-transfer frames against an S7 server (plcio sim s7):
malformed and out-of-range request-download, download-block answers and PI
services. Each case prints one line "CASE: RESULT"; the shell test compares
them. Standard library only.

usage: s7_block_frames.py HOST PORT"""

import socket
import struct
import sys

HOST, PORT = sys.argv[1], int(sys.argv[2])


class Conn:
    def __init__(self):
        self.s = socket.create_connection((HOST, PORT), timeout=5)
        self.ref = 0
        # COTP CR to TSAP 01 02 (rack 0, slot 2... any), then setup communication
        cr = bytes([0x11, 0xE0, 0, 0, 0, 1, 0, 0xC1, 2, 1, 0, 0xC2, 2, 1, 2, 0xC0, 1, 0x0A])
        self.s.sendall(struct.pack(">BBH", 3, 0, 4 + len(cr)) + cr)
        self.frame()
        self.job(bytes([0xF0, 0, 0, 1, 0, 1, 0x03, 0xC0]))

    def frame(self):
        """One TPKT frame's S7 PDU, or None when the server closed."""
        head = self._take(4)
        if head is None:
            return None
        body = self._take(struct.unpack(">H", head[2:4])[0] - 4)
        if body is None:
            return None
        return body[3:] if body[1] == 0xF0 else body  # strip COTP DT

    def _take(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.s.recv(n - len(buf))
            except (ConnectionResetError, socket.timeout):
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def send(self, rosctr, param, data=b"", ref=None):
        if ref is None:
            self.ref += 1
            ref = self.ref
        hdr = struct.pack(">BBHHHH", 0x32, rosctr, 0, ref, len(param), len(data))
        if rosctr in (2, 3):
            hdr += b"\x00\x00"
        pdu = hdr + param + data
        self.s.sendall(struct.pack(">BBH", 3, 0, 7 + len(pdu)) + bytes([2, 0xF0, 0x80]) + pdu)

    def job(self, param, data=b""):
        self.send(1, param, data)
        return self.frame()

    def close(self):
        self.s.close()


def err(pdu):
    """Header error of an ack-data as 0xXXXX, or what came instead."""
    if pdu is None:
        return "closed"
    if pdu[1] in (2, 3):
        return "0x%04X" % struct.unpack(">H", pdu[10:12])[0]
    return "rosctr %d function 0x%02X" % (pdu[1], pdu[10] if len(pdu) > 10 else -1)


def request_download(name, load, mc7, cut=0):
    p = bytes([0x1A, 0, 1, 0, 0, 0, 0, 0, 9]) + name + b"\x0d1" + b"%06d%06d" % (load, mc7)
    return p[: len(p) - cut] if cut else p


def pi(service, param):
    return bytes([0x28, 0, 0, 0, 0, 0, 0, 0xFD]) + struct.pack(">H", len(param)) + param + bytes([len(service)]) + service


def server_job(c):
    """The server's next own job: (what, ref); what is "0x1B", or "0x1C 0xCODE"
    for download ended with its error code (0 = complete)."""
    pdu = c.frame()
    if pdu is None or pdu[1] != 1:
        return None, None
    what = "0x%02X" % pdu[10]
    if pdu[10] == 0x1C:
        what += " 0x%04X" % struct.unpack(">H", pdu[12:14])[0]
    return what, struct.unpack(">H", pdu[4:6])[0]


def slice_ack(c, ref, payload, more, length=None, cut=0):
    data = struct.pack(">HBB", len(payload) if length is None else length, 0, 0xFB) + payload
    c.send(3, bytes([0x1B, 1 if more else 0]), data[: len(data) - cut] if cut else data, ref=ref)


def case(name, result):
    print("%s: %s" % (name, result), flush=True)


IMAGE_DB = b"_0A00050P"
INSE = bytes([1, 0]) + b"0A00050P"

c = Conn()
# request download, refused before any transfer
case("truncated request", err(c.job(request_download(IMAGE_DB, 200, 20, cut=7))))
case("mc7 longer than the block", err(c.job(request_download(IMAGE_DB, 100, 90))))
case("zero mc7", err(c.job(request_download(IMAGE_DB, 200, 0))))
case("block too large", err(c.job(request_download(IMAGE_DB, 999999, 60000))))
case("mc7 over 65535", err(c.job(request_download(IMAGE_DB, 99999, 70000))))
case("not a DB", err(c.job(request_download(b"_0C00001P", 200, 20))))
case("bad block name", err(c.job(request_download(b"_0A0x001P", 200, 20))))
case("active file system", err(c.job(request_download(b"_0A00050A", 200, 20))))
case("insert without download", err(c.job(pi(b"_INSE", INSE))))
case("delete absent block", err(c.job(pi(b"_DELE", bytes([1, 0]) + b"0A00050B"))))
case("delete bad name", err(c.job(pi(b"_DELE", bytes([1, 0]) + b"0A0005"))))
case("delete wrong count", err(c.job(pi(b"_DELE", bytes([2, 0]) + b"0A00001B"))))

# a download whose answer claims more bytes than it carries: the server ends it
answer = c.job(request_download(IMAGE_DB, 200, 20))
case("request accepted", err(answer))
fn, ref = server_job(c)
case("server asks", fn)
slice_ack(c, ref, b"\x70\x70" + bytes(40), True, length=100)
fn, ref = server_job(c)
case("truncated slice ends it", fn)
c.send(3, bytes([0x1C]), ref=ref)
case("insert after abort", err(c.job(pi(b"_INSE", INSE))))

# more bytes than announced
c.job(request_download(IMAGE_DB, 100, 20))
fn, ref = server_job(c)
slice_ack(c, ref, bytes(150), False)
fn, ref = server_job(c)
case("too many bytes ends it", fn)
c.send(3, bytes([0x1C]), ref=ref)
case("insert after too many", err(c.job(pi(b"_INSE", INSE))))

# fewer bytes than announced
c.job(request_download(IMAGE_DB, 100, 20))
fn, ref = server_job(c)
slice_ack(c, ref, bytes(50), False)
fn, ref = server_job(c)
case("too few bytes ends it", fn)
c.send(3, bytes([0x1C]), ref=ref)
case("insert after too few", err(c.job(pi(b"_INSE", INSE))))

# all bytes, but not a block image
c.job(request_download(IMAGE_DB, 100, 20))
fn, ref = server_job(c)
slice_ack(c, ref, bytes(100), False)
fn, ref = server_job(c)
case("complete download ends", fn)
c.send(3, bytes([0x1C]), ref=ref)
case("insert of garbage", err(c.job(pi(b"_INSE", INSE))))

# a second request download while one is in progress
c.job(request_download(IMAGE_DB, 100, 20))
fn, ref = server_job(c)
case("request during download", err(c.job(request_download(IMAGE_DB, 100, 20))))
c.close()

# an answer to a job the server never sent closes that connection only
c = Conn()
c.send(3, bytes([0x1B, 0]), struct.pack(">HBB", 0, 0, 0xFB), ref=4242)
case("unsolicited answer", err(c.frame()))
c.close()
c = Conn()
case("next connection served", err(c.job(bytes([0x04, 1, 0x12, 10, 0x10, 2, 0, 2, 0, 1, 0x84, 0, 0, 0]))))
c.close()
