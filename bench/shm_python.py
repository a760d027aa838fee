#!/usr/bin/env python3
"""Python reader figures on a live plcio segment (python/plcio): snapshot
read latency of read() (every tag decoded to a Python value), read_full()
(values, text, quality, timestamps), get() of one tag, the JSON rendition,
publish -> wake-up of wait_update(), and a write round trip through the ring.

    PYTHONPATH=python /usr/bin/python3 bench/shm_python.py /SEGMENT [--seconds S] [--tags N]

bench_shm (bench/shm_bench.c) runs it on its own segments (10, 1000 and
10000 REAL tags, engine publishing at 1 kHz) right after the C reader's
figures, so the two can be compared line by line. Against any engine:
`plcio sync ... --shm NAME` then `bench/shm_python.py NAME`."""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import plcio  # noqa: E402

ns = time.perf_counter_ns


def report(what, samples):
    if not samples:
        print("  %-44s no samples" % what)
        return None
    samples.sort()
    n = len(samples)
    avg = sum(samples) / n / 1e3
    print("  %-44s avg %8.2f us  p50 %8.2f  p99 %8.2f  max %9.2f  (%d samples)" % (
        what, avg, samples[n // 2] / 1e3, samples[n * 99 // 100] / 1e3, samples[-1] / 1e3, n))
    return avg


def run(fn, seconds, limit=2000000):
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(out) < limit:
        t0 = ns()
        fn()
        out.append(ns() - t0)
    return out


def wake_latency(seg, seconds):
    """publish -> return of wait_update (CLOCK_REALTIME, as the C bench)."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if seg.wait_update(timeout=1.0):
            now = time.clock_gettime_ns(time.CLOCK_REALTIME)
            seg.read()
            pub = seg.published_ns
            if now > pub:
                out.append(now - pub)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("segment")
    ap.add_argument("--seconds", type=float, default=1.0, help="per measurement (default 1)")
    ap.add_argument("--tags", type=int, default=0, help="informational: tags the caller created")
    ap.add_argument("--no-write", action="store_true", help="skip the write round trip")
    a = ap.parse_args(argv)
    seg = plcio.open(a.segment, timeout=5)
    tags = seg.tags
    print("  python %d.%d reader (python/plcio), %d tags:" % (sys.version_info[0], sys.version_info[1], len(tags)))
    s = a.seconds
    avg = report("py read() -> dict of values", run(seg.read, s))
    report("py read_full() -> Value per tag", run(seg.read_full, s / 2))
    mid = tags[len(tags) // 2].name
    report("py get(%r)" % mid, run(lambda: seg.get(mid), s / 2))
    try:
        seg.json(text=True)
        report("py json(text=True) copy", run(lambda: seg.json(text=True), s / 2))
    except plcio.Error:
        pass
    report("py publish -> wake-up of wait_update()", wake_latency(seg, s))
    if not a.no_write and seg.writable:
        value = {"REAL": 1.5, "LREAL": 1.5, "BOOL": True}.get(tags[len(tags) // 2].type_name, 1)
        failures = []

        def write():
            r = seg.write(mid, value, timeout=1.0)
            if not r.ok:
                failures.append(r)
        report("py write round trip through the ring", run(write, s, 20000))
        if failures:
            print("  (%d writes failed: %s)" % (len(failures), failures[0]))
    if avg is not None:
        print("  py read(): %.0f snapshots/s of %d tags, %.3f us per tag" % (1e6 / avg, len(tags), avg / len(tags)))
    seg.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
