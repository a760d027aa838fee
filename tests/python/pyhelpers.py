"""Shared pieces of the Python tests: bounded child processes, unique segment
names, the paths ctest passes (PLCIO_BIN, PLCIO_SHM_PEER, PLCIO_FIXTURES)."""

import os
import signal
import subprocess
import sys
import threading
import time
import unittest

PLCIO_BIN = os.environ.get("PLCIO_BIN", "")
PEER = os.environ.get("PLCIO_SHM_PEER", "")
RING_RACE = os.environ.get("PLCIO_RING_RACE", "")
FIXTURES = os.environ.get("PLCIO_FIXTURES", "")
SOURCE_DIR = os.environ.get("PLCIO_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
PYTHON = sys.executable or "/usr/bin/python3"

_counter = [0]


def unique_name(kind):
    _counter[0] += 1
    return "plcio-py-%s-%d-%d" % (kind, os.getpid(), _counter[0])


def unlink_segment(name):
    """The segment and its write ring (NAME.ring)."""
    for suffix in ("", ".ring"):
        try:
            os.unlink("/dev/shm/" + name.lstrip("/") + suffix)
        except OSError:
            pass


class Proc:
    """A child in its own process group; its output lines are collected by a
    thread. Every command the tests start also ends by itself (--seconds)."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.lines = []
        self._cond = threading.Condition()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True, env=env)
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()

    def _pump(self):
        for raw in self.p.stdout:
            with self._cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def pid(self):
        return self.p.pid

    def wait_line(self, prefix, timeout=10.0, contains=False):
        """The first output line starting with (or containing) `prefix`."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if (prefix in line) if contains else line.startswith(prefix):
                        return line
                left = end - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and not self._t.is_alive()):
                    raise AssertionError("%s: no line %r within %.0f s; output:\n%s" % (
                        os.path.basename(self.argv[0]), prefix, timeout, self.output()))
                self._cond.wait(min(left, 0.1))

    def output(self):
        with self._cond:
            return "\n".join(self.lines)

    def signal(self, sig):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout=15.0):
        try:
            rc = self.p.wait(timeout)
            # The process is gone, but its last lines may still be in the pipe:
            # output() after wait() must see them (the pump ends at EOF).
            self._t.join(timeout)
            return rc
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("%s did not exit within %.0f s" % (self.argv[0], timeout))

    def kill(self):
        self.signal(signal.SIGKILL)
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._t.join(2)
        if not self._t.is_alive():
            self.p.stdout.close()


class ProcTestCase(unittest.TestCase):
    """Kills every child and removes every segment it started, even on failure."""

    def setUp(self):
        self.procs = []
        self.segments = []
        # Cleanups run after tearDown, last registered first: this one, registered
        # before any test's own, runs last, when every process is stopped. An engine
        # still alive when its segment is unlinked makes it anew under the same name
        # (docs/shm.md, "Robustness"), which then outlives the test: the segment
        # test-run.sh found left behind after test_ring_race's WhoMayWrite, whose
        # engines are stopped by addCleanup.
        self.addCleanup(self._remove_segments)

    def tearDown(self):
        for p in self.procs:
            p.kill()

    def _remove_segments(self):
        for s in self.segments:
            unlink_segment(s)

    def start(self, argv, ready=None, timeout=10.0, contains=False):
        p = Proc([str(a) for a in argv])
        self.procs.append(p)
        if ready:
            p.wait_line(ready, timeout, contains)
        return p

    def segment_name(self, kind):
        n = unique_name(kind)
        self.segments.append(n)
        return n

    def peer(self, mode, name, seconds, ready="ready"):
        if not PEER:
            self.skipTest("PLCIO_SHM_PEER not set (run through ctest)")
        return self.start([PEER, mode, "/" + name, seconds], ready)
