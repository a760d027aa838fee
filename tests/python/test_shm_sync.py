"""End to end: plcio sim s7 (the PLC) -> plcio sync (the engine) -> the Python
reader; Python writes by name land in the simulator (checked with plcio read,
only the tag's own bytes change); a write while the device is down is reported
failed; the engine SIGKILLed and restarted on the same name is detected and
reattached; a reader started before the engine gets a clear error, then works."""

import json
import os
import signal
import subprocess
import time
import unittest

import plcio
from pyhelpers import FIXTURES, PLCIO_BIN, ProcTestCase

LAYOUT = os.path.join(FIXTURES, "layouts", "test_db.db")
START = {"vx_scaled": 4.0, "vy_scaled": 5.0, "vz_scaled": 6.0, "bool_1": False, "bool_2": True, "bool_3": True,
         "bool_4": False, "int_1": 21, "int_2": 74}


class SyncEndToEnd(ProcTestCase):
    def setUp(self):
        super().setUp()
        if not PLCIO_BIN:
            self.skipTest("PLCIO_BIN not set (run through ctest)")
        self.sim = self.start([PLCIO_BIN, "sim", "s7", "--listen", "127.0.0.1:0", "--db", "7:" + LAYOUT,
                               "--seconds", 90], "listening on")
        self.port = int(self.sim.wait_line("listening on").rsplit(":", 1)[1])
        self.url = "s7://127.0.0.1:%d?rack=0&slot=1" % self.port
        self.name = self.segment_name("sync")

    def engine(self, seconds=60, writable=True):
        return self.start([PLCIO_BIN, "sync", self.url, "--db", 7, "--layout", LAYOUT, "--interval", 20, "--shm",
                           self.name, "--seconds", seconds, "--quiet"] + (["--writable"] if writable else []))

    def test_not_writable_by_default(self):
        """Without --writable (or writable: in the config) the ring refuses
        every write and says why; nothing reaches the PLC."""
        self.engine(writable=False)
        seg = plcio.open(self.name, timeout=10)
        self.wait_good(seg)
        before = self.db_bytes()
        self.assertFalse(seg.tag("int_1").writable)
        r = seg.write("int_1", 1234)
        self.assertEqual((r.state, r.error_name), ("failed", "PLCIO_EACCESS"), r)
        self.assertIn("not writable", r.message)
        self.assertEqual(self.db_bytes(), before, "a refused write sends nothing")
        seg.close()

    def db_bytes(self):
        out = subprocess.run([PLCIO_BIN, "read", self.url, "DB7.DBB0:BYTE[18]", "--json"], capture_output=True,
                             text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)["DB7.DBB0:BYTE[18]"]

    def wait_good(self, seg, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            full = seg.read_full()
            if all(v.quality == "good" for v in full.values()):
                return full
            seg.wait_update(timeout=0.5)
        self.fail("tags not all good within %.0f s: %s" % (timeout, seg.read_full()))

    def wait_value(self, seg, name, want, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if seg.get(name) == want:
                return
            seg.wait_update(timeout=0.2)
        self.fail("%s stayed %r, wanted %r" % (name, seg.get(name), want))

    def test_values_and_writes(self):
        with self.assertRaises(plcio.SegmentNotFound) as cm:  # reader before the engine
            plcio.open(self.name)
        self.assertIn("is it running", cm.exception.message)
        self.engine()
        seg = plcio.open(self.name, timeout=10)
        self.wait_good(seg)
        self.assertEqual(seg.read(), START)
        self.assertEqual([(t.name, t.type_name) for t in seg.tags][:2], [("vx_scaled", "REAL"), ("vy_scaled", "REAL")])

        before = self.db_bytes()
        r = seg.write("int_1", 1234)
        self.assertTrue(r.ok, r)
        self.assertEqual(seg.get("int_1"), 1234, "done means visible: the engine published before it answered")
        after = self.db_bytes()
        self.assertEqual(after[14:16], [0x04, 0xD2])
        self.assertEqual(after[:14] + after[16:], before[:14] + before[16:], "only int_1's two bytes change")

        r = seg.write("bool_4", True)
        self.assertTrue(r.ok, r)
        self.assertIs(seg.get("bool_4"), True, "done means visible")
        after2 = self.db_bytes()
        self.assertEqual(after2[12], after[12] | 0x08, "bool_4 is bit 3 of byte 12")
        self.assertEqual(after2[:12] + after2[13:], after[:12] + after[13:], "only bool_4's bit changes")

        r = seg.write("vx_scaled", 2.5)
        self.assertTrue(r.ok, r)
        self.assertEqual(self.db_bytes()[0:4], [0x40, 0x20, 0, 0])
        self.wait_value(seg, "vx_scaled", 2.5)
        self.wait_value(seg, "int_1", 1234)
        self.wait_value(seg, "bool_4", True)

        # three submits to one tag from one process: applied in that order, the last one visible once answered
        ids = [seg.submit("int_1", v) for v in (10, 20, 30)]
        self.assertTrue(all(seg.wait_write(i, timeout=10).ok for i in ids))
        self.assertEqual(seg.get("int_1"), 30)
        self.assertEqual(self.db_bytes()[14:16], [0, 30])

        r = seg.write("int_2", 40000)
        self.assertFalse(r.ok)
        self.assertEqual(r.error_name, "PLCIO_ERANGE")
        self.assertEqual(self.db_bytes()[16:18], [0, 74], "a refused write sends nothing")
        seg.close()

    def test_write_while_device_down(self):
        self.engine()
        seg = plcio.open(self.name, timeout=10)
        self.wait_good(seg)
        self.sim.kill()
        end = time.monotonic() + 10
        while seg.get("int_1", details=True).quality == "good" and time.monotonic() < end:
            seg.wait_update(timeout=0.5)
        v = seg.get("int_1", details=True)
        self.assertIn(v.quality, ("stale", "error"))
        self.assertEqual(v.value, 21, "the last good value is kept")
        r = seg.write("int_1", 5, timeout=10)
        self.assertFalse(r.ok, r)
        self.assertEqual(r.state, "failed")
        self.assertIn(r.error_name, ("PLCIO_ENOTCONN", "PLCIO_ETIMEDOUT", "PLCIO_ECONNREFUSED", "PLCIO_ECLOSED"))
        print("\n  write while the device is down: %s (%s), quality %s" % (r.error_name, r.message, v.quality))
        seg.close()

    def test_engine_killed_and_restarted(self):
        eng = self.engine()
        seg = plcio.open(self.name, timeout=10)
        auto = plcio.open(self.name, auto_reopen=True)
        self.wait_good(seg)
        old = seg.status().engine_pid
        self.assertEqual(old, eng.pid)
        eng.signal(signal.SIGKILL)
        eng.wait()
        # the reader notices the dead engine by itself (its liveness check):
        # waited for as the event, with a generous limit, not timed
        t0 = time.monotonic()
        with self.assertRaises(plcio.SegmentClosed, msg="a dead engine is never noticed") as cm:
            while time.monotonic() - t0 < 60:
                seg.wait_update(timeout=1)
                seg.read()
        noticed = time.monotonic() - t0
        self.assertIn("gone", cm.exception.message)
        self.assertFalse(seg.status().engine_alive)

        eng2 = self.engine()
        self.assertTrue(auto.wait_update(timeout=10, after=1 << 62), "auto_reopen rides over the restart")
        self.assertEqual(auto.status().engine_pid, eng2.pid)
        end = time.monotonic() + 10
        while True:
            try:
                seg.reopen()
                if seg.status().engine_pid == eng2.pid:
                    break
            except plcio.Error:
                pass
            self.assertLess(time.monotonic(), end, "no new segment")
            time.sleep(0.1)
        self.wait_good(seg)
        self.assertTrue(seg.write("int_2", 7).ok)
        self.wait_value(auto, "int_2", 7)
        print("\n  engine pid %d killed (noticed after %.2f s), pid %d took over the name; both handles reattached" %
              (old, noticed, eng2.pid))
        seg.close()
        auto.close()


if __name__ == "__main__":
    unittest.main()
