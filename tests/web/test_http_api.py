"""plcio sync --http against plcio sim s7: the REST API, the event stream,
/metrics under promtool, writes landing in the PLC, and every kind of bad
request (bad JSON, huge bodies, unknown tags, missing or wrong token, bad
methods) answered with a 4xx while the engine keeps serving."""

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import unittest

from webhelpers import (PLCIO_BIN, Proc, get_json, plc_read, plc_write, request, start_engine, start_sim, tmpdir,
                        wait_for, LAYOUT)

TOKEN = "web-test-token-0123456789"
AUTH = {"Authorization": "Bearer " + TOKEN}


class HttpApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tmpdir()
        cls.token_file = os.path.join(cls.tmp.name, "token")
        with open(cls.token_file, "w") as f:
            f.write(TOKEN + "\n")
        cls.sim, cls.url = start_sim()
        try:
            cls.eng, cls.port = start_engine(cls.url, "--http", "127.0.0.1:0", "--http-token-file", cls.token_file,
                                             "--http-writes", "--http-tag-metrics")
        except Exception:
            cls.sim.stop()
            raise
        wait_for("the device to connect",
                 lambda: get_json(cls.port, "/api/devices")["devices"][0]["connected"])

    @classmethod
    def tearDownClass(cls):
        cls.eng.stop()
        cls.sim.stop()
        cls.tmp.cleanup()

    def alive(self):
        self.assertEqual(self.eng.p.poll(), None, "the engine died:\n" + self.eng.text())
        self.assertTrue(get_json(self.port, "/api/devices")["devices"][0]["connected"])

    # ---- reads ----
    def test_console_files(self):
        status, hdrs, body = request(self.port, "GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/html"))
        self.assertIn(b"/console.js", body)
        self.assertIn("default-src 'self'", hdrs["content-security-policy"])
        self.assertNotIn("set-cookie", hdrs)
        self.assertNotIn("access-control-allow-origin", hdrs)
        for path, kind in (("/console.js", "text/javascript"), ("/console.css", "text/css")):
            status, hdrs, body = request(self.port, "GET", path)
            self.assertEqual(status, 200, path)
            self.assertTrue(hdrs["content-type"].startswith(kind), hdrs["content-type"])
            self.assertGreater(len(body), 1000)
        status, _, _ = request(self.port, "GET", "/nothing-here")
        self.assertEqual(status, 404)

    def test_only_loopback_host_names(self):
        # DNS rebinding: a page of evil.example that resolves to 127.0.0.1 sends Host: evil.example
        for host, want in (("evil.example", 403), ("evil.example:%d" % self.port, 403), ("127.0.0.1.evil.example", 403),
                           ("localhost:%d" % self.port, 200), ("127.0.0.1:%d" % self.port, 200),
                           ("LOCALHOST", 200)):
            status, _, body = request(self.port, "GET", "/api/tags", headers={"Host": host})
            self.assertEqual(status, want, (host, body[:100]))

    def test_openapi_describes_every_route(self):
        doc = get_json(self.port, "/api/openapi.json")
        self.assertTrue(doc["openapi"].startswith("3."))
        for path in ("/api/devices", "/api/tags", "/api/tags/{name}", "/api/write", "/api/events", "/metrics"):
            self.assertIn(path, doc["paths"])
        self.assertIn("post", doc["paths"]["/api/write"])

    def test_devices(self):
        d = get_json(self.port, "/api/devices")
        self.assertTrue(d["writes"])
        dev = d["devices"][0]
        self.assertEqual(dev["name"], "plc")
        self.assertGreaterEqual(dev["connects"], 1)
        g = dev["groups"][0]
        self.assertEqual((g["name"], g["interval_ms"], g["tags"]), ("db7", 50, 9))
        wait_for("cycles", lambda: get_json(self.port, "/api/devices")["devices"][0]["groups"][0]["cycles"] > 2)

    def test_tags_match_the_plc(self):
        tags = get_json(self.port, "/api/tags")["tags"]
        self.assertEqual(len(tags), 9)
        by = {t["name"]: t for t in tags}
        for name, address in (("int_2", "DB7.DBW16:INT"), ("vy_scaled", "DB7.DBD4:REAL"), ("bool_2", "DB7.DBX12.1")):
            want = plc_read(self.url, address)
            wait_for(name, lambda: get_json(self.port, "/api/tags/" + name)["value"] == want)
            self.assertEqual(by[name]["quality"], "good")
        self.assertEqual(by["int_2"]["type"], "INT")
        self.assertIs(type(by["bool_2"]["value"]), bool)
        self.assertGreater(by["int_2"]["read"], 1.6e12)

    def test_tag_filters(self):
        names = lambda q: sorted(t["name"] for t in get_json(self.port, "/api/tags" + q)["tags"])
        self.assertEqual(names("?prefix=int_"), ["int_1", "int_2"])
        self.assertEqual(len(names("?device=plc")), 9)
        self.assertEqual(len(names("?group=db7&prefix=bool")), 4)
        self.assertEqual(names("?device=other"), [])
        status, _, body = request(self.port, "GET", "/api/tags/no_such_tag")
        self.assertEqual(status, 404)
        self.assertIn("no_such_tag", json.loads(body)["error"])

    # ---- event stream ----
    def test_events_carry_a_change_the_plc_made(self):
        ids = {t["name"]: t["id"] for t in get_json(self.port, "/api/tags")["tags"]}
        want = int(plc_read(self.url, "DB7.DBW16:INT")) + 111
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
            buf = b""
            while b"event: hello" not in buf:
                buf += sock.recv(65536)
            self.assertIn(b"text/event-stream", buf)
            plc_write(self.url, "DB7.DBW16:INT", want)  # another client changes the PLC
            end = time.monotonic() + 20
            seen = False
            while not seen and time.monotonic() < end:
                buf += sock.recv(65536)
                for block in buf.decode("utf-8", "replace").split("\n\n"):
                    lines = block.strip().splitlines()
                    if "event: tags" not in lines:
                        continue
                    data = [l[6:] for l in lines if l.startswith("data: ")]
                    for tag in json.loads(data[0])["tags"] if data and data[0].endswith("}") else []:
                        if tag[0] == ids["int_2"] and tag[1] == want and tag[2] == 1:
                            seen = True
            self.assertTrue(seen, "no tags event with int_2 = %d in:\n%s" % (want, buf[-2000:]))
        finally:
            sock.close()

    def test_a_client_that_never_reads_does_not_stall_the_engine(self):
        lazy = []
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
            lazy.append(s)
        try:
            before = get_json(self.port, "/api/devices")["devices"][0]["groups"][0]["cycles"]
            for i in range(20):
                plc_write(self.url, "DB7.DBD8:REAL", 100 + i)
            after = wait_for("cycles to go on", lambda: get_json(self.port, "/api/devices")["devices"][0]["groups"][0][
                "cycles"] > before + 5 and get_json(self.port, "/api/devices")["devices"][0]["groups"][0]["cycles"])
            self.assertGreater(after, before)
        finally:
            for s in lazy:
                s.close()
        self.alive()

    # ---- writes ----
    def test_write_lands_in_the_plc(self):
        want = int(plc_read(self.url, "DB7.DBW14:INT")) + 7
        status, _, body = request(self.port, "POST", "/api/write", {"int_1": want, "vx_scaled": 2.5}, AUTH)
        self.assertEqual(status, 200, body)
        res = json.loads(body)
        self.assertTrue(res["ok"])
        self.assertEqual([r["tag"] for r in res["results"]], ["int_1", "vx_scaled"])
        self.assertTrue(all(r["ok"] for r in res["results"]))
        self.assertEqual(plc_read(self.url, "DB7.DBW14:INT"), want)
        self.assertEqual(plc_read(self.url, "DB7.DBD0:REAL"), 2.5)
        # the list form, and a BOOL
        status, _, body = request(self.port, "POST", "/api/write", [{"tag": "bool_4", "value": True}], AUTH)
        self.assertEqual(status, 200, body)
        self.assertEqual(plc_read(self.url, "DB7.DBX12.3"), True)
        wait_for("the new value in /api/tags", lambda: get_json(self.port, "/api/tags/int_1")["value"] == want)

    def test_write_needs_the_token(self):
        before = plc_read(self.url, "DB7.DBW14:INT")
        for headers, why in (({}, "required"), ({"Authorization": "Bearer wrong-token-0123456789"}, "wrong"),
                             ({"Authorization": "Bearer " + TOKEN[:-1]}, "wrong"),
                             ({"Authorization": "Basic " + TOKEN}, "bearer")):
            status, hdrs, body = request(self.port, "POST", "/api/write", {"int_1": before + 1}, headers)
            self.assertEqual(status, 401, (headers, body))
            self.assertIn(why, json.loads(body)["error"])
            self.assertIn("Bearer", hdrs["www-authenticate"])
        self.assertEqual(plc_read(self.url, "DB7.DBW14:INT"), before)

    def test_bad_requests_get_4xx_and_write_nothing(self):
        before = plc_read(self.url, "DB7.DBW14:INT")
        cases = [
            (b"{", 400), (b"", 400), (b"{}", 400), (b"[]", 400), (b"null", 400), (b"{\"int_1\": }", 400),
            (b"{\"int_1\": 1} x", 400), (b"{\"int_1\": 1, \"int_1\": 2}", 400), (b"{\"int_1\": [1]}", 400),
            (b"{\"int_1\": null}", 400), (b"{\"int_1\": 01}", 400), (b"{\"int_1\": \"\\ud800\"}", 400),
            (b"[{\"tag\": \"int_1\"}]", 400), (b"[{\"tag\": \"int_1\", \"value\": 1, \"x\": 2}]", 400),
            (b"\xff\xfe", 400), (b"{\"int_1\": 70000}", 400), (b"{\"int_1\": 1.5}", 400),
            (b"{\"bool_1\": \"maybe\"}", 400), (b"{\"no_such_tag\": 1}", 404),
            (b"{\"int_1\": 5, \"no_such_tag\": 1}", 404), (b"{\"int_1\": 5, \"int_2\": 99999}", 400),
            (b"[" + b"[" * 10000, 400),
        ]
        for body, want in cases:
            status, _, answer = request(self.port, "POST", "/api/write", body,
                                        dict(AUTH, **{"Content-Type": "application/json"}))
            self.assertEqual(status, want, (body[:60], answer))
            self.assertIn("error", json.loads(answer))
        self.assertEqual(plc_read(self.url, "DB7.DBW14:INT"), before)
        self.alive()

    def raw(self, data):
        """Send raw bytes (the server may stop reading early); the start of its answer."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            try:
                sock.sendall(data)
            except OSError:
                pass
            return sock.recv(4096)
        finally:
            sock.close()

    def test_huge_bodies_are_refused(self):
        auth = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
        answer = self.raw(b"POST /api/write HTTP/1.1\r\nHost: x\r\n" + auth +
                          b"Content-Length: 2097152\r\n\r\n" + b"{\"int_1\": \"" + b"x" * 300000)
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:200])
        self.assertIn(b"larger than", answer)
        # chunked, so no Content-Length to refuse it early
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            sock.sendall(b"POST /api/write HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
                         b"\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"x" * 16384
            try:
                for _ in range(8):
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass
            answer = sock.recv(4096)
            self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:200])
        finally:
            sock.close()
        self.alive()

    def test_bad_methods(self):
        for method, path in (("GET", "/api/write"), ("DELETE", "/api/tags"), ("POST", "/api/tags"),
                             ("PUT", "/api/write"), ("POST", "/metrics"), ("OPTIONS", "/api/tags")):
            status, hdrs, body = request(self.port, method, path, None, AUTH)
            self.assertEqual(status, 405, (method, path, body))
        status, _, _ = request(self.port, "GET", "/api/tags", b"{}", {"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        # a request line that is not HTTP
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            sock.sendall(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
            answer = sock.recv(4096)
            self.assertTrue(answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:100])
        finally:
            sock.close()
        self.alive()

    # ---- metrics ----
    def test_metrics_pass_promtool(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian prometheus) is missing: run scripts/bootstrap.sh")
        wait_for("a cycle", lambda: get_json(self.port, "/api/devices")["devices"][0]["groups"][0]["cycles"] > 0)
        status, hdrs, body = request(self.port, "GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/plain; version=0.0.4"))
        check = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout + check.stderr, b"", "promtool found problems")
        text = body.decode()
        self.assertIn('plcio_device_up{device="plc"} 1', text)
        self.assertIn('plcio_group_cycle_duration_seconds_count{device="plc",group="db7"}', text)
        self.assertIn('plcio_sink_dropped_total{sink="shm"} 0', text)
        self.assertIn("plcio_group_late_cycles_total", text)
        want = plc_read(self.url, "DB7.DBW16:INT")
        wait_for("int_2 in /metrics", lambda: 'plcio_tag_value{device="plc",tag="int_2"} %d\n' % want in request(
            self.port, "GET", "/metrics")[2].decode())


class HttpSecurity(unittest.TestCase):
    """Engines started with other options: read-auth, writes off, TLS, refusals, the YAML section."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tmpdir()
        cls.sim, cls.url = start_sim()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        cls.tmp.cleanup()

    def run_sync(self, *args, env=None):
        return subprocess.run([PLCIO_BIN, "sync", self.url, "--db", "7", "--layout", LAYOUT, "--seconds", "1"] +
                              list(args), capture_output=True, text=True, timeout=60, env=env)

    def test_refusals(self):
        r = self.run_sync("--http", "0.0.0.0:0")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("needs TLS", r.stderr)
        r = self.run_sync("--http", "127.0.0.1:0", "--http-writes")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("needs a bearer token", r.stderr)
        r = self.run_sync("--http", "127.0.0.1:0", "--http-read-auth", "--http-token-env", "PLCIO_NO_SUCH_VAR")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("PLCIO_NO_SUCH_VAR", r.stderr)
        r = self.run_sync("--http", "localhost:99999")
        self.assertEqual(r.returncode, 2, r.stderr)
        r = self.run_sync("--http", "plc.example:80")
        self.assertEqual(r.returncode, 2, r.stderr)
        r = self.run_sync("--http-writes")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("go with --http", r.stderr)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            r = self.run_sync("--http", "127.0.0.1:%d" % taken.getsockname()[1])
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("cannot listen", r.stderr)

    def test_read_auth_and_writes_off(self):
        env = dict(os.environ, PLCIO_WEB_TOKEN=TOKEN)
        eng, port = start_engine(self.url, "--http", "127.0.0.1:0", "--http-read-auth", "--http-token-env",
                                 "PLCIO_WEB_TOKEN", env=env)
        try:
            for path in ("/api/tags", "/api/devices", "/metrics", "/api/events", "/"):
                status, _, _ = request(port, "GET", path)
                self.assertEqual(status, 401, path)
            self.assertEqual(len(get_json(port, "/api/tags", AUTH)["tags"]), 9)
            self.assertFalse(get_json(port, "/api/devices", AUTH)["writes"])
            status, _, body = request(port, "POST", "/api/write", {"int_1": 1}, AUTH)
            self.assertEqual(status, 403, body)
            self.assertIn("disabled", json.loads(body)["error"])
        finally:
            eng.stop()

    def test_tls(self):
        openssl = shutil.which("openssl")
        self.assertIsNotNone(openssl, "openssl is missing: run scripts/bootstrap.sh")
        cert, key = os.path.join(self.tmp.name, "c.pem"), os.path.join(self.tmp.name, "k.pem")
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        eng, port = start_engine(self.url, "--http", "127.0.0.1:0", "--http-cert", cert, "--http-key", key)
        try:
            self.assertIn("(https)", eng.text())
            ctx = ssl.create_default_context(cafile=cert)
            status, _, body = request(port, "GET", "/api/tags", tls=ctx)
            self.assertEqual(status, 200)
            self.assertEqual(len(json.loads(body)["tags"]), 9)
            try:  # plain HTTP on the TLS port gets nothing
                status, _, _ = request(port, "GET", "/api/tags", timeout=3)
                self.assertGreaterEqual(status, 400)
            except (OSError, http.client.HTTPException):
                pass
        finally:
            eng.stop()

    def test_config_section(self):
        tok = os.path.join(self.tmp.name, "web.token")
        with open(tok, "w") as f:
            f.write("  " + TOKEN + "  \n")
        cfg = os.path.join(self.tmp.name, "web.yaml")
        with open(cfg, "w") as f:
            f.write("layouts: [%s]\ndevices:\n  - name: tank\n    url: \"%s\"\n    groups:\n"
                    "      - {name: fast, db: 7, interval: 50ms}\n"
                    "http:\n  listen: 127.0.0.1:0\n  token-file: web.token\n  writes: true\n"
                    "  cors-origin: https://dash.example\n" % (LAYOUT, self.url))
        eng = Proc([PLCIO_BIN, "sync", "--config", cfg, "--shm", "plcio-web-cfg-%d" % os.getpid(), "--seconds",
                    "120"])
        try:
            port = int(eng.wait_line(r"on port (\d+)").group(1))
            status, hdrs, _ = request(port, "GET", "/api/tags?device=tank")
            self.assertEqual(status, 200)
            self.assertEqual(hdrs["access-control-allow-origin"], "https://dash.example")
            status, hdrs, _ = request(port, "OPTIONS", "/api/write")
            self.assertEqual(status, 204)
            self.assertIn("Authorization", hdrs["access-control-allow-headers"])
            wait_for("connected", lambda: get_json(port, "/api/devices")["devices"][0]["connected"])
            status, _, body = request(port, "POST", "/api/write", {"int_2": 4321}, AUTH)
            self.assertEqual(status, 200, body)
            self.assertEqual(plc_read(self.url, "DB7.DBW16:INT"), 4321)
        finally:
            eng.stop()
        with open(cfg, "a") as f:
            f.write("  bogus: 1\n")
        r = subprocess.run([PLCIO_BIN, "sync", "--config", cfg], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown key 'bogus' in http", r.stderr)


if __name__ == "__main__":
    unittest.main()
