#!/usr/bin/env python3
"""A live dashboard of a plcio shared-memory segment, standard library only.

    plcio demo --shm demo &                     # or: plcio sync ... --shm NAME
    python3 examples/dashboard.py --shm demo --port 8080
    # open http://127.0.0.1:8080/

One HTML page (GET /) that polls a JSON endpoint (GET /api/values: every tag's
value, text, type, quality, error and change time, the generation and the
engine status) and redraws a table. The server only listens on 127.0.0.1.
--port 0 picks a free port; the bound address is printed as
"listening on http://127.0.0.1:PORT/". --seconds N stops it after N seconds.
The segment may come and go (engine restarts): the endpoint answers 503 with
the reason while there is none, and reattaches by itself."""

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import plcio  # noqa: E402

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>plcio dashboard: %(name)s</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; } td, th { padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: left; }
td.value { font-family: monospace; text-align: right; }
.good { color: #060; } .stale { color: #a60; } .error { color: #b00; } .none { color: #888; }
#status { margin-bottom: 1em; }
</style></head>
<body><h1>plcio segment %(name)s</h1>
<div id="status">connecting...</div>
<table><thead><tr><th>tag</th><th>type</th><th>value</th><th>quality</th><th>changed</th></tr></thead>
<tbody id="rows"></tbody></table>
<script>
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }
async function refresh() {
  try {
    const r = await fetch("/api/values", {cache: "no-store"});
    const d = await r.json();
    if (!r.ok) { document.getElementById("status").textContent = "no data: " + d.error; return; }
    const st = d.status;
    document.getElementById("status").textContent = "generation " + d.generation + ", engine pid " + st.engine_pid +
      (st.engine_alive ? " alive" : " NOT RUNNING") + ", heartbeat " + st.heartbeat_age.toFixed(2) + " s ago";
    let html = "";
    for (const [name, v] of Object.entries(d.tags)) {
      const when = v.changed ? new Date(v.changed / 1e6).toLocaleTimeString() : "";
      html += "<tr><td>" + esc(name) + "</td><td>" + esc(v.type) + "</td><td class=value>" + esc(v.text) +
        "</td><td class=" + esc(v.quality) + ">" + esc(v.quality) + (v.error ? " (" + esc(v.error) + ")" : "") +
        "</td><td>" + esc(when) + "</td></tr>";
    }
    document.getElementById("rows").innerHTML = html;
  } catch (e) { document.getElementById("status").textContent = "dashboard unreachable: " + e; }
}
refresh(); setInterval(refresh, %(interval)d);
</script></body></html>
"""


class Source:
    """The segment, attached on demand and reattached after engine restarts.
    A Segment is used by one thread at a time: requests take the lock."""

    def __init__(self, name):
        self.name = name
        self.seg = None
        self.lock = threading.Lock()

    def snapshot(self):
        with self.lock:
            if self.seg is None:
                self.seg = plcio.open(self.name, auto_reopen=True)
            full = self.seg.read_full()
            st = self.seg.status()
            return {"segment": self.seg.name, "generation": self.seg.generation,
                    "status": {"engine_pid": st.engine_pid, "engine_alive": st.engine_alive,
                               "heartbeat_age": st.heartbeat_age, "closed": st.closed},
                    "tags": {name: v.as_dict() for name, v in full.items()}}


def make_handler(source, page):
    class Handler(BaseHTTPRequestHandler):
        def send(self, code, ctype, body):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                self.send(200, "text/html; charset=utf-8", page)
            elif path == "/api/values":
                try:
                    doc, code = source.snapshot(), 200
                except plcio.Error as exc:
                    doc, code = {"error": str(exc), "code": exc.name}, 503
                self.send(code, "application/json", json.dumps(doc, allow_nan=False).encode())
            else:
                self.send(404, "application/json", b'{"error": "not found"}')

        do_HEAD = do_GET

        def log_message(self, fmt, *args):
            pass

    return Handler


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shm", default="demo", help="segment name (as given to plcio sync/demo --shm; default demo)")
    ap.add_argument("--port", type=int, default=8080, help="TCP port on 127.0.0.1 (0: pick a free one)")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0: run until Ctrl-C)")
    ap.add_argument("--refresh-ms", type=int, default=500, help="how often the page polls (default 500 ms)")
    a = ap.parse_args(argv)
    source = Source(a.shm)
    page = (PAGE % {"name": plcio.shm_name(a.shm), "interval": max(50, a.refresh_ms)}).encode()
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(source, page))
    server.daemon_threads = True
    print("listening on http://127.0.0.1:%d/ (segment %s)" % (server.server_address[1], plcio.shm_name(a.shm)),
          flush=True)
    if a.seconds > 0:
        threading.Timer(a.seconds, server.shutdown).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    server.server_close()
    print("dashboard stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
