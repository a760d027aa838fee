"""A truncated or replaced segment kills neither the engine nor a reader
(issue 23, finding 3): plcio sim s7 + plcio sync run; a Python reader in its
own process reads in a loop (auto_reopen) while /dev/shm/NAME is truncated to
1000 bytes, to 0, and replaced by another file. The engine moves to a new
object each time and keeps publishing; the reader is never killed by a signal
and ends on the new object with good values; nothing is left behind."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from pyhelpers import FIXTURES, PLCIO_BIN, ProcTestCase

LAYOUT = os.path.join(FIXTURES, "layouts", "test_db.db")

# Reads until the file argv[2] exists (the test makes it after the last
# damage): under load, neither its start nor the damages keep to a clock.
READER = r"""
import os, sys, time, plcio
seg = plcio.open(sys.argv[1], auto_reopen=True, timeout=10)
seg.read()
ino = seg._m.ino  # the object attached to, before "ready": each damage after it moves the reader
print("ready", flush=True)
errors = reads = reattached = 0
while not os.path.exists(sys.argv[2]):
    try:
        v = seg.read()
        seg.json(text=True)
        seg.status()
        seg.wait_update(timeout=0.01)
        reads += 1
        cur = seg._m.ino
        if cur != ino:
            reattached += 1
            print("moved %d" % reattached, flush=True)
        ino = cur
    except plcio.Error as exc:
        errors += 1
print("reads %d errors %d reattached %d int_1 %r" % (reads, errors, reattached, seg.read().get("int_1")))
"""


class Truncation(ProcTestCase):
    def test_engine_and_reader_survive(self):
        if not PLCIO_BIN:
            self.skipTest("PLCIO_BIN not set (run through ctest)")
        sim = self.start([PLCIO_BIN, "sim", "s7", "--listen", "127.0.0.1:0", "--db", "7:" + LAYOUT, "--seconds", 60],
                         "listening on")
        port = int(sim.wait_line("listening on").rsplit(":", 1)[1])
        name = self.segment_name("trunc")
        engine = self.start([PLCIO_BIN, "sync", "s7://127.0.0.1:%d?rack=0&slot=1" % port, "--db", 7, "--layout",
                             LAYOUT, "--interval", 50, "--shm", name, "--seconds", 40])
        path = "/dev/shm/" + name.lstrip("/")
        end = time.monotonic() + 10
        while not os.path.exists(path) and time.monotonic() < end:
            time.sleep(0.05)
        tmp = tempfile.mkdtemp(prefix="plcio-trunc-")
        self.addCleanup(shutil.rmtree, tmp, True)
        stop = os.path.join(tmp, "stop")
        errfile = open(os.path.join(tmp, "reader.err"), "w+")
        self.addCleanup(errfile.close)
        reader = subprocess.Popen([sys.executable, "-c", READER, name, stop], stdout=subprocess.PIPE,
                                  stderr=errfile, text=True)
        self.addCleanup(lambda: reader.poll() is None and reader.kill())
        lines = []
        cond = threading.Condition()

        def pump():
            for line in reader.stdout:
                with cond:
                    lines.append(line.strip())
                    cond.notify_all()
            with cond:
                lines.append(None)  # EOF
                cond.notify_all()

        threading.Thread(target=pump, daemon=True).start()

        def reader_says(prefix, timeout=30):
            end = time.monotonic() + timeout
            with cond:
                while not any(l is not None and l.startswith(prefix) for l in lines):
                    left = end - time.monotonic()
                    if left <= 0 or None in lines:
                        self.fail("python reader did not say %r: %r %s" % (prefix, lines, open(errfile.name).read()))
                    cond.wait(min(left, 0.1))

        reader_says("ready")  # attached before the first damage
        # the full size, read once the segment is ready (the file exists before its ftruncate)
        full = os.stat(path).st_size
        for n, damage in enumerate(("1000", "0", "replace"), start=1):
            before = os.stat(path).st_ino
            if damage == "replace":
                os.unlink(path)
                with open(path, "wb") as f:
                    f.write(b"X" * 4096)
            else:
                os.truncate(path, int(damage))
            # the engine's next publish (every 50 ms) or heartbeat moves to a new object
            end = time.monotonic() + 10
            while time.monotonic() < end:
                try:
                    st = os.stat(path)
                    if st.st_ino != before and st.st_size == full:
                        break
                except FileNotFoundError:
                    pass
                time.sleep(0.02)
            else:
                self.fail("engine did not recreate the segment after %s" % damage)
            self.assertIsNone(engine.p.poll(), "engine died")
            # the reader moved to the new object before the next damage (an event, not a pause)
            reader_says("moved %d" % n)
        open(stop, "w").close()
        reader.wait(timeout=30)
        reader_says("reads ")
        out = "\n".join(l for l in lines if l and l.startswith("reads "))
        errfile.seek(0)
        err = errfile.read()
        print("\n  python reader: %s (exit %d)" % (out.strip(), reader.returncode))
        self.assertEqual(reader.returncode, 0, "reader died (negative = killed by that signal): %s" % err)
        self.assertIn("int_1 21", out)  # good values from the last object
        reattached = int(out.split("reattached ")[1].split()[0])
        self.assertGreaterEqual(reattached, 3)
        engine.signal(2)
        self.assertEqual(engine.wait(20), 0)
        self.assertFalse(os.path.exists(path), "segment left behind")
        # the engine said so, once per damage
        # (damages faster than the engine's next note are said in one line, "(N times)")
        said = re.findall(r"was truncated, removed or replaced by another process(?: \((\d+) times\))?:",
                          engine.output())
        self.assertEqual(sum(int(k) if k else 1 for k in said), 3, engine.output())

    def test_ring_truncated_under_a_waiting_requester(self):
        """NAME.ring truncated to 0 while a Python requester waits for its
        answer: a clear error (failed, ECLOSED, "truncated"), no signal death;
        the engine re-creates segment and ring and serves a new writer."""
        if not PLCIO_BIN:
            self.skipTest("PLCIO_BIN not set (run through ctest)")
        sim = self.start([PLCIO_BIN, "sim", "s7", "--listen", "127.0.0.1:0", "--db", "7:" + LAYOUT, "--seconds", 60],
                         "listening on")
        port = int(sim.wait_line("listening on").rsplit(":", 1)[1])
        name = self.segment_name("ringtrunc")
        engine = self.start([PLCIO_BIN, "sync", "s7://127.0.0.1:%d?rack=0&slot=1" % port, "--db", 7, "--layout",
                             LAYOUT, "--interval", 50, "--shm", name, "--seconds", 50, "--quiet", "--writable"])
        path = "/dev/shm/" + name.lstrip("/")
        ring = path + ".ring"
        # ready (a reader opens it): both files exist before their ftruncate, their sizes are final now
        end = time.monotonic() + 30
        while subprocess.run([PLCIO_BIN, "shm", name], capture_output=True).returncode != 0:
            if time.monotonic() > end:
                self.fail("segment %s never ready: %s" % (name, engine.output()))
            time.sleep(0.05)
        ring_size, ring_ino = os.stat(ring).st_size, os.stat(ring).st_ino
        # The engine stopped: the request stays queued, its requester waits.
        engine.signal(signal.SIGSTOP)
        self.addCleanup(engine.signal, signal.SIGCONT)
        requester = subprocess.Popen([sys.executable, "-c", REQUESTER, name], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: requester.poll() is None and requester.kill())
        self.assertEqual(requester.stdout.readline().strip(), "submitted")
        # asleep on the answer's futex: waited for as the event (the kernel's wait channel of the
        # requester); where /proc does not name it, a pause instead
        end = time.monotonic() + 30
        while time.monotonic() < end and requester.poll() is None:
            try:
                with open("/proc/%d/wchan" % requester.pid) as f:
                    wchan = f.read()
            except OSError:
                wchan = ""
            if "futex" in wchan:
                break
            if wchan in ("", "0"):
                time.sleep(0.3)
                break
            time.sleep(0.01)
        os.truncate(ring, 0)
        out, err = requester.communicate(timeout=30)
        print("\n  python requester: %s (exit %d)" % (out.strip(), requester.returncode))
        self.assertEqual(requester.returncode, 0, "requester died (negative = killed by that signal): %s" % err)
        self.assertIn("failed PLCIO_ECLOSED", out)
        self.assertIn("truncated", out)
        engine.signal(signal.SIGCONT)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                st = os.stat(ring)
                if st.st_ino != ring_ino and st.st_size == ring_size:
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        else:
            self.fail("engine did not recreate the write ring")
        self.assertIsNone(engine.p.poll(), "engine died")
        writer = subprocess.run([sys.executable, "-c", WRITER, name], capture_output=True, text=True, timeout=60)
        self.assertEqual(writer.returncode, 0, writer.stdout + writer.stderr)
        self.assertIn("done", writer.stdout)
        engine.signal(2)
        self.assertEqual(engine.wait(20), 0)
        self.assertFalse(os.path.exists(path) or os.path.exists(ring), "segment or ring left behind")


REQUESTER = r"""
import sys, plcio
seg = plcio.open(sys.argv[1])
rid = seg.submit("int_1", 5)
print("submitted", flush=True)
res = seg.wait_write(rid, timeout=20)
print(res.state, res.error_name, res.message)
"""

WRITER = r"""
import sys, time, plcio
end = time.monotonic() + 20
while True:
    try:
        seg = plcio.open(sys.argv[1])
        res = seg.write("int_1", 7, timeout=10)
        if res.ok or time.monotonic() > end:
            break
    except plcio.Error as exc:
        res = exc
        if time.monotonic() > end:
            break
    time.sleep(0.1)
print("done" if getattr(res, "ok", False) else "not done: %r" % (res,))
"""


if __name__ == "__main__":
    unittest.main()
