"""Fixtures of the Python package tests: simulators and foreign peers in child
processes that end by themselves (--seconds) and are killed at teardown, on
127.0.0.1 with ports they pick (port 0, read back from their first line)."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("PLCIO_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
PLCIO_BIN = os.environ.get("PLCIO_BIN", os.path.join(SOURCE_DIR, "build", "plcio"))
SNAP7_DIR = os.path.abspath(os.path.join(SOURCE_DIR, "..", "shared", "peers", "python-snap7"))
PYTHON = "/usr/bin/python3"
sys.path.insert(0, os.path.join(SOURCE_DIR, "python"))


def child_env(python=False):
    """Environment of a child: marked PLCIO_TEST_RUN=1 (scripts/test-run.sh kills leftovers).
    The ASan preload stays only for Python children that load libplcio."""
    env = dict(os.environ, PLCIO_TEST_RUN="1")
    if not python:
        env.pop("LD_PRELOAD", None)
        if "PLCIO_ASAN_PRELOAD" in env:
            env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
    return env


class Child:
    """A child in its own process group; output lines collected by a thread."""

    def __init__(self, argv, python=False):
        self.argv = argv
        self.lines = []
        self.cond = threading.Condition()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True, env=child_env(python))
        self.t = threading.Thread(target=self._pump, daemon=True)
        self.t.start()

    def _pump(self):
        for raw in self.p.stdout:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_line(self, needle, timeout=20.0):
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                if time.monotonic() > end or (self.p.poll() is not None and not self.t.is_alive()):
                    raise AssertionError("%s: no line %r; output:\n%s" % (self.argv, needle, "\n".join(self.lines)))
                self.cond.wait(0.1)

    def port(self):
        line = self.wait_line("listening on")
        return int(line.split("listening on", 1)[1].split()[0].rsplit(":", 1)[1])

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
                self.p.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait(5)


def start_sim_s7(seconds=240, extra=()):
    c = Child([PLCIO_BIN, "sim", "s7", "--listen", "127.0.0.1:0", "--db", "1:256", "--db", "2:65535", "--db",
               "3:1024", "--area", "M:256", "--seconds", str(seconds)] + list(extra))
    return c, c.port()


def start_sim_modbus(seconds=240):
    c = Child([PLCIO_BIN, "sim", "modbus", "--tcp", "127.0.0.1:0", "--size", "2000", "--seconds", str(seconds)])
    return c, c.port()


def start_snap7_server(seconds=240):
    """python-snap7's server (a foreign S7 implementation) in its own process."""
    c = Child([PYTHON, os.path.join(HERE, "peers", "snap7_server.py"), SNAP7_DIR, str(seconds)], python=True)
    return c, c.port()


def start_pymodbus_server(seconds=240):
    c = Child([PYTHON, os.path.join(HERE, "peers", "pymodbus_server.py"), str(seconds)], python=True)
    return c, c.port()


@pytest.fixture(scope="module")
def sim_s7():
    c, port = start_sim_s7()
    yield port
    c.stop()


@pytest.fixture(scope="module")
def sim_modbus():
    c, port = start_sim_modbus()
    yield port
    c.stop()


@pytest.fixture(scope="module")
def snap7_server():
    c, port = start_snap7_server()
    yield port
    c.stop()


@pytest.fixture(scope="module")
def pymodbus_server():
    c, port = start_pymodbus_server()
    yield port
    c.stop()


def snap7_module():
    """python-snap7 (the peer), imported from ../shared/peers."""
    if SNAP7_DIR not in sys.path:
        sys.path.insert(0, SNAP7_DIR)
    import snap7  # noqa: E402
    return snap7
