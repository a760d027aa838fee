"""examples/dashboard.py (its page and JSON endpoint, against the C peer) and
examples/tank_control.py (against plcio demo: the level stays between the
bounds, pump and valve switch, Auto is handed back, read from the simulator)."""

import json
import os
import subprocess
import time
import unittest
import urllib.error
import urllib.request

import plcio
from pyhelpers import PLCIO_BIN, PYTHON, SOURCE_DIR, ProcTestCase

EXAMPLES = os.path.join(SOURCE_DIR, "examples")


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


class Dashboard(ProcTestCase):
    def start_dashboard(self, name):
        p = self.start([PYTHON, os.path.join(EXAMPLES, "dashboard.py"), "--shm", name, "--port", 0, "--seconds", 20],
                       "listening on http://127.0.0.1:")
        return p.wait_line("listening on").split()[2]

    def test_page_and_values(self):
        name = self.segment_name("dash")
        self.peer("types", name, 30)
        base = self.start_dashboard(name)
        code, ctype, body = fetch(base)
        self.assertEqual(code, 200)
        self.assertIn("text/html", ctype)
        self.assertIn(b"/api/values", body)
        self.assertIn(("/" + name).encode(), body)
        code, ctype, body = fetch(base + "api/values")
        self.assertEqual((code, ctype), (200, "application/json"))
        doc = json.loads(body)
        self.assertTrue(doc["status"]["engine_alive"])
        tags = doc["tags"]
        self.assertEqual(tags["Int"]["value"], -2)
        self.assertEqual(tags["Dt"]["value"], "2024-05-06T07:08:09.123")
        self.assertEqual(tags["Real.NaN"]["value"], None)
        self.assertEqual(tags["Stale"]["quality"], "stale")
        self.assertEqual(tags["Failed"]["error"], "PLCIO_EPLC")
        self.assertEqual(tags["Never"]["quality"], "none")
        g1 = doc["generation"]
        # the peer publishes every 5 ms: a newer generation comes (waited for, not a fixed pause)
        end = time.monotonic() + 10
        while json.loads(fetch(base + "api/values")[2])["generation"] <= g1 and time.monotonic() < end:
            time.sleep(0.05)
        self.assertGreater(json.loads(fetch(base + "api/values")[2])["generation"], g1, "values are live")
        self.assertEqual(fetch(base + "nope")[0], 404)

    def test_no_segment_yet(self):
        name = self.segment_name("dash-none")
        base = self.start_dashboard(name)
        code, _, body = fetch(base + "api/values")
        self.assertEqual(code, 503)
        self.assertEqual(json.loads(body)["code"], "PLCIO_ENOTFOUND")
        self.peer("types", name, 20)
        code, _, body = fetch(base + "api/values")
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body)["tags"]["Int"]["value"], -2)


class TankControl(ProcTestCase):
    LOW, HIGH, SECONDS = 45.0, 55.0, 8.0

    def test_hysteresis_against_the_demo(self):
        if not PLCIO_BIN:
            self.skipTest("PLCIO_BIN not set (run through ctest)")
        name = self.segment_name("tank")
        demo = self.start([PLCIO_BIN, "demo", "--seconds", 40, "--shm", name], "plcio demo: simulator on")
        port = int(demo.wait_line("plcio demo: simulator on").split("127.0.0.1:")[1].split(",")[0])
        seg = plcio.open(name, timeout=10)
        ctl = self.start([PYTHON, os.path.join(EXAMPLES, "tank_control.py"), "--shm", name, "--low", self.LOW,
                          "--high", self.HIGH, "--seconds", self.SECONDS])
        samples = []
        end = time.monotonic() + self.SECONDS + 15
        while ctl.p.poll() is None and time.monotonic() < end:
            if seg.wait_update(timeout=0.5):
                v = seg.read()
                samples.append((v["Level"], v["Pump"], v["Valve"], v["Auto"]))
        self.assertEqual(ctl.wait(10), 0, ctl.output())
        out = ctl.output()
        print("\n" + "\n".join("  " + line for line in out.splitlines()))
        manual = [s for s in samples if not s[3]]
        self.assertGreater(len(manual), 100, "Auto was false while the example ran")
        inside = [i for i, s in enumerate(manual) if self.LOW <= s[0] <= self.HIGH]
        self.assertTrue(inside, "the level never reached the band")
        levels = [s[0] for s in manual[inside[0]:]]
        tol = 3.0  # the loop reacts within a few 20 ms cycles: 8 %/s x 0.1 s is 0.8 %
        self.assertGreaterEqual(min(levels), self.LOW - tol, levels)
        self.assertLessEqual(max(levels), self.HIGH + tol, levels)
        pumps = [s[1] for s in manual]
        valves = [s[2] for s in manual]
        switches = sum(a != b for a, b in zip(pumps, pumps[1:]))
        self.assertGreaterEqual(switches, 1, "the pump switched")
        self.assertGreaterEqual(sum(a != b for a, b in zip(valves, valves[1:])), 1, "the valve switched")
        self.assertIn("Auto := false", out)
        self.assertIn("Auto := true", out)
        self.assertRegex(out, r"done: [1-9]\d* switches")
        # Read back from the simulator itself: Auto (DB1.DBX4.2) handed back.
        url = "s7://127.0.0.1:%d?rack=0&slot=1" % port
        r = subprocess.run([PLCIO_BIN, "read", url, "DB1.DBX4.2", "--json"], capture_output=True, text=True,
                           timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["DB1.DBX4.2"], True)
        print("  level within %.2f..%.2f (bounds %.0f..%.0f), pump switched %d times, %d samples" % (
            min(levels), max(levels), self.LOW, self.HIGH, switches, len(manual)))
        seg.close()


if __name__ == "__main__":
    unittest.main()
