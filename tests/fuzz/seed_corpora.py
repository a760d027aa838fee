#!/usr/bin/env python3
"""Write seed inputs for the in-process fuzz harnesses into tests/fuzz/corpus/.

    tests/fuzz/seed_corpora.py [S7_VECTORS_DIR]   (default ../shared/fixtures/s7-vectors
                                                   or tests/fixtures/s7-vectors)

s7_server_stream: a client's byte stream: COTP connection request, setup
communication, then one request PDU of the S7 conformance vectors (s7.json:
request_cases, multi_item_cases, userdata/upload PDUs), whole and split over
COTP DT fragments.
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
mb_seeds()
