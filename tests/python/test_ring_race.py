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

    def test_python_never_stores_a_control_word(self):
        """Every change of a slot's control word from Python is one
        compare-and-swap: a plain store (struct.pack_into clears the word
        first, so others briefly see FREE) is what lost writes in version 1.
        Every plain store the Python writer makes is recorded here; none may
        touch the first 8 bytes of a slot."""
        import plcio.segment as S
        name = self.segment_name("stores")
        self.start([RING_RACE, "engine", "/" + name, 60, 40], "ready")
        seg = plcio.open(name)
        ring = seg._ring_of(seg._m)
        stores = []

        class Recorder:
            def __init__(self, real):
                self.real = real

            def pack_into(self, buf, off, *values):
                stores.append((off, off + self.real.size))
                return self.real.pack_into(buf.real if isinstance(buf, MM) else buf, off, *values)

            def unpack_from(self, buf, off=0):
                return self.real.unpack_from(buf.real if isinstance(buf, MM) else buf, off)

            def __getattr__(self, attr):
                return getattr(self.real, attr)

        class MM:
            def __init__(self, real):
                self.real = real

            def __setitem__(self, key, value):
                stores.append((key.start, key.stop))
                self.real[key] = value

            def __getitem__(self, key):
                return self.real[key]

        saved = {k: getattr(S, k) for k in ("_U32", "_U64", "_I32")}
        real_mm, real_ctl = ring.mm, S._Ring._CTL
        try:
            for k, v in saved.items():
                setattr(S, k, Recorder(v))
            ring._CTL = Recorder(real_ctl)
            ring.mm = MM(real_mm)
            for n in range(40):
                r = seg.write("w0_t%d" % (n % 4), n % 4 * 10**9 + n, timeout=30)
                self.assertTrue(r.ok, r)
        finally:
            for k, v in saved.items():
                setattr(S, k, v)
            ring.mm = real_mm
            del ring._CTL
        self.assertGreater(len(stores), 40 * 5, "the recorder saw the writer's stores")
        ctl_words = [(ring._off(i), ring._off(i) + 8) for i in range(ring.slots)]
        bad = [s for s in stores for c in ctl_words if s[0] < c[1] and c[0] < s[1]]
        self.assertEqual(bad, [], "plain stores into slot control words")
        seg.close()


class WhoMayWrite(ProcTestCase):
    """umask 000 and user nobody: reading needs the data segment's group,
    writing needs the ring's; neither implies the other."""

    def setUp(self):
        super().setUp()
        if not RING_RACE or not PLCIO_BIN:
            self.skipTest("PLCIO_RING_RACE / PLCIO_BIN not set (run through ctest)")
        if os.geteuid() != 0:
            self.skipTest("needs root to run commands as user nobody (running as uid %d)" % os.geteuid())
        self.setpriv = shutil.which("setpriv")
        if not self.setpriv:
            self.skipTest("setpriv (util-linux) not installed: cannot switch to user nobody")
        import grp
        import pwd
        try:
            self.nobody = pwd.getpwnam("nobody")
            self.group = grp.getgrgid(self.nobody.pw_gid).gr_name
        except KeyError:
            self.skipTest("no user nobody on this machine")
        code, out = self.as_nobody("--version")
        if code != 0:
            self.skipTest("user nobody cannot run %s here (a folder on its path is closed to others?): %s"
                          % (PLCIO_BIN, out.strip()))

    def engine(self, **env):
        name = self.segment_name("who")
        old = os.umask(0)  # the engine's umask plays no part
        try:
            p = subprocess.Popen([RING_RACE, "engine", "/" + name, "30", "1000"], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, env=dict(os.environ, **env), start_new_session=True)
        finally:
            os.umask(old)
        self.addCleanup(lambda: (p.kill(), p.wait(5), p.stdout.close()))
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        return name

    def as_nobody(self, *args):
        cmd = [self.setpriv, "--reuid=%d" % self.nobody.pw_uid, "--regid=%d" % self.nobody.pw_gid,
               "--clear-groups", PLCIO_BIN] + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def test_nobody(self):
        name = self.engine()
        self.assertEqual(os.stat("/dev/shm/" + name).st_mode & 0o777, 0o640)
        self.assertEqual(os.stat("/dev/shm/" + name + ".ring").st_mode & 0o777, 0o600)
        code, out = self.as_nobody("shm", name, "--write", "w0_t0=0")
        self.assertEqual(code, 1, out)
        self.assertIn("Permission denied", out)
        # readers in the data segment's group read, and still may not write
        name = self.engine(RACE_DATA_GROUP=self.group)
        code, out = self.as_nobody("shm", name)
        self.assertEqual(code, 0, out)
        code, out = self.as_nobody("shm", name, "--write", "w0_t0=0")
        self.assertEqual(code, 1, out)
        self.assertIn("no write access to /%s.ring" % name, out)
        # given write access (ring group + mode 0660): the write is done
        name = self.engine(RACE_DATA_GROUP=self.group, RACE_RING_GROUP=self.group, RACE_RING_MODE="660")
        code, out = self.as_nobody("shm", name, "--write", "w0_t0=0")
        self.assertEqual(code, 0, out)
        self.assertIn("w0_t0=0: done", out)
        print("\n  nobody under umask 000: no read, read without write, then write once given the ring's group")


if __name__ == "__main__":
    unittest.main()
