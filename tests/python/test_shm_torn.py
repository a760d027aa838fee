"""The Python half of the torn-read test: the C peer publishes as fast as it
can values that carry an invariant (counter, complement, the counter as text,
a 254-byte fill pattern, a checksum over them); the Python reader checks every
snapshot and JSON rendition it copies for ~3 s. Zero violations allowed."""

import os
import time
import unittest

import plcio
from pyhelpers import ProcTestCase

SECONDS = float(os.environ.get("PLCIO_TORN_SECONDS", "3"))


def checksum(n, text, fill):
    h = 2166136261
    for b in n.to_bytes(4, "big") + text + fill:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def violation(v):
    """None if the snapshot holds one publication, else what is wrong."""
    n = v["Counter"]
    if v["Complement"] != ~n & 0xFFFFFFFF:
        return "complement"
    if v["Text"] != str(n):
        return "text"
    if v["Wide"] != chr(0x41 + n % 26) + chr(0x61 + n % 26):
        return "wide"
    if v["Value"] != float(n):
        return "value"
    if v["Bit"] != bool(n & 1):
        return "bit"
    if v["Fill"] != chr(0x41 + n % 26) * 254:
        return "fill"
    if v["Checksum"] != checksum(n, v["Text"].encode(), v["Fill"].encode("latin-1")):
        return "checksum"
    return None


class TornReads(ProcTestCase):
    def test_no_torn_snapshot(self):
        name = self.segment_name("torn")
        peer = self.peer("torn", name, SECONDS + 3)
        seg = plcio.open(name)
        snapshots = violations = json_checked = json_violations = waits = 0
        generations = set()
        counters = []
        kinds = {}
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            v = seg.read()
            snapshots += 1
            generations.add(seg.generation)
            counters.append(v["Counter"])
            why = violation(v)
            if why:
                violations += 1
                kinds[why] = kinds.get(why, 0) + 1
            if snapshots % 8 == 0:
                j = seg.json()["tags"]
                c, k = j["Counter"]["value"], j["Complement"]["value"]
                json_checked += 1
                if k != ~c & 0xFFFFFFFF or j["Text"]["value"] != str(c):
                    json_violations += 1
            if snapshots % 64 == 0:
                waits += seg.wait_update(timeout=1.0)
        torn_control = self.unsynchronised_copies(seg, 0.5)
        seg.close()
        published = int(peer.wait_line("published ", timeout=SECONDS + 10).split()[1])
        print("\n  torn-read test, Python side: %d snapshots (%d distinct generations, counter %d..%d) "
              "while the C engine published %d; %d JSON copies checked; %d futex waits woken; "
              "violations: %d snapshot, %d JSON %s; control: %d of %d copies taken without the seqlock check "
              "were torn" % (snapshots, len(generations), min(counters), max(counters), published, json_checked,
                             waits, violations, json_violations, kinds or "", torn_control[0], torn_control[1]))
        self.assertEqual(violations, 0, kinds)
        self.assertEqual(json_violations, 0)
        self.assertGreater(snapshots, 100)
        self.assertGreater(len(generations), 50, "the engine must actually be publishing during the reads")
        self.assertEqual(counters, sorted(counters), "snapshots never go back in time")

    def unsynchronised_copies(self, seg, seconds):
        """The checker's control: copies of the latest buffer without the
        sequence check, decoded the same way. Torn ones show the checker
        would see a broken seqlock (how many depends on the machine)."""
        from plcio import values as pv
        from plcio.segment import H_SNAP_LATEST, S_HEAD
        m = seg._m
        torn = total = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            idx = m.r32(H_SNAP_LATEST) & 1
            off = m.snap_offset + idx * m.snap_stride
            data = m.mm[off:off + m.snap_stride]
            v = {}
            for t in m.tags:
                raw = data[S_HEAD + t.offset:S_HEAD + t.offset + t.size]
                try:
                    v[t.name] = pv.decode(t.type, t.length, t.bit, raw)[0]
                except pv.DecodeError:
                    v[t.name] = None
            total += 1
            try:
                torn += violation(v) is not None
            except TypeError:
                torn += 1
        return torn, total


if __name__ == "__main__":
    unittest.main()
