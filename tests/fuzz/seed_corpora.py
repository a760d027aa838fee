#!/usr/bin/env python3
"""Write seed inputs for the in-process fuzz harnesses into tests/fuzz/corpus/.

    tests/fuzz/seed_corpora.py [S7_VECTORS_DIR]   (default ../shared/fixtures/s7-vectors
                                                   or tests/fixtures/s7-vectors)

s7_server_stream: a client's byte stream: COTP connection request, setup
communication, then one request PDU of the S7 conformance vectors (s7.json:
request_cases, multi_item_cases, userdata/upload PDUs), whole and split over
COTP DT fragments; and a whole block download and delete.
s7_server_deferred: streams of write jobs with requests pipelined behind them.
mb_session: a device's answers to the five requests fuzz_mb_session.c
queues, in each framing (byte 0 picks it), whole and as exceptions.
The files are named seed-<what>; rerunning rewrites the same bytes."""
import json
import os
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
corpus = os.path.join(root, "tests", "fuzz", "corpus")


def vectors_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    for d in (os.path.join(root, "..", "shared", "fixtures", "s7-vectors"),
              os.path.join(root, "tests", "fixtures", "s7-vectors")):
        if os.path.exists(os.path.join(d, "s7.json")):
            return d
    sys.exit("seed_corpora: no s7-vectors folder found; give it as argument")


def write(name, sub, data):
    os.makedirs(os.path.join(corpus, sub), exist_ok=True)
    with open(os.path.join(corpus, sub, "seed-" + name), "wb") as f:
        f.write(bytes(data))


def tpkt(payload):
    n = len(payload) + 4
    return [3, 0, n >> 8, n & 0xFF] + list(payload)


def dt(pdu, eot=True):
    return tpkt([2, 0xF0, 0x80 if eot else 0x00] + list(pdu))


CR = [3, 0, 0, 22, 17, 0xE0, 0, 0, 0, 1, 0, 0xC0, 1, 10, 0xC1, 2, 1, 0, 0xC2, 2, 1, 2]
SETUP = [0x32, 1, 0, 0, 0, 0, 0, 8, 0, 0, 0xF0, 0, 0, 1, 0, 1, 3, 0xC0]


def s7_seeds():
    with open(os.path.join(vectors_dir(), "s7.json")) as f:
        v = json.load(f)
    pdus = []
    for c in v["request_cases"]:
        pdus.append((c["id"], c["expected_packet"]))
    for c in v["multi_item_cases"]:
        pdus.append((c["id"], c["request_pdu"]))
    for key in ("userdata_cases", "upload_cases"):
        for c in v[key]:
            pdus.append((c["id"], c["pdu"]))
    for ident, pdu in pdus:
        head = CR + dt(SETUP)
        write("vec-" + ident, "s7_server_stream", head + dt(pdu))
        half = len(pdu) // 2
        write("vec-frag-" + ident, "s7_server_stream", head + dt(pdu[:half], False) + dt(pdu[half:]))


def s7_pdu(rosctr, ref, param, data=()):
    head = [0x32, rosctr, 0, 0, ref >> 8, ref & 0xFF, len(param) >> 8, len(param) & 0xFF, len(data) >> 8,
            len(data) & 0xFF]
    if rosctr in (2, 3):
        head += [0, 0]
    return head + list(param) + list(data)


def pi(service, param):
    return [0x28, 0, 0, 0, 0, 0, 0, 0xFD, 0, len(param)] + list(param) + [len(service)] + list(service)


def download_seeds():
    """A whole block download (request, the server's two jobs answered, _INSE)
    and a delete: the server's own jobs get PDU references 1 and 2."""
    mc7 = b"\x12\x34\x56\x78\x9a\xbc\xde\xf0"
    img = bytes([0x70, 0x70, 1, 1, 5, 0x0A, 0, 50, 0, 0, 0, 80]) + bytes(22) + bytes([0, 8]) + mc7 + bytes(36)
    name = b"_0A00050P"
    req = [0x1A, 0, 1, 0, 0, 0, 0, 0, 9] + list(name) + [13] + list(b"1000080000008")
    slice_ack = s7_pdu(3, 1, [0x1B, 0], [0, len(img), 0, 0xFB] + list(img))
    ended_ack = s7_pdu(3, 2, [0x1C])
    inse = pi(b"_INSE", [1, 0] + list(b"0A00050P"))
    dele = pi(b"_DELE", [1, 0] + list(b"0A00050B"))
    stream = CR + dt(SETUP) + dt(s7_pdu(1, 2, req)) + dt(slice_ack) + dt(ended_ack) + dt(s7_pdu(1, 3, inse))
    write("download-db50", "s7_server_stream", stream + dt(s7_pdu(1, 4, dele)))


def deferred_seeds():
    """s7_server_deferred: writes (one item, three items, a bit) with a read
    and another write pipelined behind them, in one stream, and multi-item
    reads; the first byte of each chunk decides how the harness replies."""
    def item(area, db, ts, start, count):
        return [0x12, 10, 0x10, ts, count >> 8, count & 0xFF, db >> 8, db & 0xFF, area,
                (start * 8) >> 16 & 0xFF, (start * 8) >> 8 & 0xFF, (start * 8) & 0xFF]

    def write_job(ref, items):
        param = [5, len(items)]
        data = []
        for i, (it, payload, ts) in enumerate(items):
            param += it
            data += [0, ts, (len(payload) * 8) >> 8, (len(payload) * 8) & 0xFF] + list(payload)
            if len(payload) % 2 and i + 1 < len(items):
                data.append(0)
        return s7_pdu(1, ref, param, data)

    read = s7_pdu(1, 9, [4, 1] + item(0x84, 1, 2, 0, 4))
    one = write_job(2, [(item(0x84, 1, 2, 4, 2), b"\x12\x34", 4)])
    three = write_job(3, [(item(0x84, 1, 2, 0, 4), b"\x01\x02\x03\x04", 4),
                          (item(0x84, 9, 2, 0, 1), b"\x05", 4),
                          (item(0x83, 0, 2, 0, 2), b"\x06\x07", 4)])
    bit = s7_pdu(1, 4, [5, 1, 0x12, 10, 0x10, 1, 0, 1, 0, 1, 0x84, 0, 0, 8 * 6 + 3], [0, 3, 0, 1, 1])
    head = CR + dt(SETUP)
    write("write-read", "s7_server_deferred", head + dt(one) + dt(read) + dt(three))
    write("three-items", "s7_server_deferred", head + dt(three) + dt(bit) + dt(read))
    write("bit-then-many", "s7_server_deferred", head + dt(bit) + dt(one) * 6 + dt(read))
    # deferred reads: several items (good, missing DB, M, a bit, past the end) pipelined
    reads = s7_pdu(1, 10, [4, 5] + item(0x84, 1, 2, 0, 8) + item(0x84, 9, 2, 0, 1) + item(0x83, 0, 2, 4, 4) +
                   item(0x84, 1, 1, 3, 1) + item(0x84, 1, 2, 298, 4))
    write("read-items", "s7_server_deferred", head + dt(reads) + dt(read) + dt(one) + dt(reads))


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return [crc & 0xFF, crc >> 8]


def lrc(data):
    return (-sum(data)) & 0xFF


def frame(framing, tid, unit, pdu):
    if framing == "mbap":
        n = len(pdu) + 1
        return [tid >> 8, tid & 0xFF, 0, 0, n >> 8, n & 0xFF, unit] + pdu
    if framing == "rtu":
        return [unit] + pdu + crc16([unit] + pdu)
    body = [unit] + pdu
    text = ":" + "".join("%02X" % b for b in body + [lrc(body)]) + "\r\n"
    return list(text.encode())


# The answers a device gives to fuzz_mb_session.c's five requests, in order.
ANSWERS = [
    (1, [0x03, 4, 0, 1, 0, 2]),
    (1, [0x01, 2, 0x5A, 0x03]),
    (2, [0x10, 0, 5, 0, 2]),
    (1, [0x2B, 0x0E, 1, 1, 0, 0, 1, 0, 3, 0x41, 0x42, 0x43]),
    (1, [0x06, 0, 7, 0x12, 0x34]),
]


def mb_seeds():
    modes = {"mbap": 0 | (4 << 2), "udp": 1 | (4 << 2), "rtu": 2, "ascii": 3}  # MBAP window 5
    for name, mode in modes.items():
        framing = "mbap" if name == "udp" else name
        good = []
        exc = []
        for i, (unit, pdu) in enumerate(ANSWERS):
            good += frame(framing, i + 1, unit, pdu)
            exc += frame(framing, i + 1, unit, [pdu[0] | 0x80, 2])
        write("answers-" + name, "mb_session", [mode] + good)
        write("exceptions-" + name, "mb_session", [mode] + exc)
        if framing == "mbap":  # out of order
            rev = []
            for i in reversed(range(len(ANSWERS))):
                rev += frame(framing, i + 1, *ANSWERS[i])
            write("answers-reversed-" + name, "mb_session", [mode] + rev)


s7_seeds()
download_seeds()
deferred_seeds()
mb_seeds()
