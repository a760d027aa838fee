"""Shared pieces of the web tests: a simulator and an engine with --http, both
bounded (--seconds) and stopped on the way out, and small HTTP helpers."""

import http.client
import json
import os
import re
import subprocess
import tempfile
import threading
import time

PLCIO_BIN = os.environ.get("PLCIO_BIN", "")
FIXTURES = os.environ.get("PLCIO_FIXTURES", "")
LAYOUT = os.path.join(FIXTURES, "layouts", "test_db.db")


class Proc:
    """A child whose output lines are collected by a thread."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.lines = []
        self.cond = threading.Condition()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True, env=env)
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self):
        for raw in self.p.stdout:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_line(self, pattern, timeout=20):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
                left = end - time.monotonic()
                if left <= 0 or not self.pump.is_alive():  # timed out, or it ended and said everything
                    raise AssertionError("%s: no line matching %r in:\n%s" % (self.argv[:3], pattern, self.text()))
                self.cond.wait(min(left, 0.2))

    def text(self):
        return "\n".join(self.lines)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if self.p.stdout:
            self.p.stdout.close()
        return self.p.returncode


def start_sim(seconds=240):
    sim = Proc([PLCIO_BIN, "sim", "s7", "--listen", "127.0.0.1:0", "--db", "7:" + LAYOUT, "--seconds", str(seconds)])
    port = int(sim.wait_line(r"listening on [0-9.]+:(\d+)").group(1))
    return sim, "s7://127.0.0.1:%d?rack=0&slot=1" % port


def start_engine(url, *extra, seconds=240, env=None, shm=None):
    shm = shm or "plcio-web-%d-%d" % (os.getpid(), time.monotonic_ns() % 1000000)
    eng = Proc([PLCIO_BIN, "sync", url, "--db", "7", "--layout", LAYOUT, "--interval", "50", "--stats", "60000",
                "--shm", shm, "--seconds", str(seconds)] + list(extra), env=env)
    port = int(eng.wait_line(r"http: console, REST API and /metrics on port (\d+)").group(1))
    return eng, port


def request(port, method, path, body=None, headers=None, tls=None, timeout=10):
    """(status, headers dict with lower-case names, body bytes)."""
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=tls, timeout=timeout)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def get_json(port, path, headers=None):
    status, hdrs, data = request(port, "GET", path, headers=headers)
    if status != 200:
        raise AssertionError("GET %s -> %d %s" % (path, status, data[:300]))
    return json.loads(data)


def plc_read(url, address):
    out = subprocess.run([PLCIO_BIN, "read", url, address, "--json"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError("plcio read %s: %s" % (address, out.stderr))
    return json.loads(out.stdout)[address]


def plc_write(url, address, value):
    out = subprocess.run([PLCIO_BIN, "write", url, "%s=%s" % (address, value)], capture_output=True, text=True,
                         timeout=30)
    if out.returncode != 0:
        raise AssertionError("plcio write %s: %s" % (address, out.stderr))


def wait_for(what, fn, timeout=20):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="plcio-web-")
