#!/usr/bin/env python3
"""Tank level control from Python through plcio's shared memory: the control
loop of the original DB-sync tool, against `plcio demo` (or any engine that
publishes the demo's Tank DB: Level, Pump, Valve, Auto).

    plcio demo --shm demo &
    python3 examples/tank_control.py --shm demo --low 40 --high 60 --seconds 30

It takes the tank away from the PLC program (Auto := false), then on every
published snapshot reads Level and drives Pump and Valve with hysteresis:
at or below --low it fills (pump on, valve closed), at or above --high it
drains (pump off, valve open), in between it keeps what it is doing. Every
switch is printed. At the end it hands the tank back (Auto := true) unless
--keep-manual is given. Writes go through the engine to the PLC and are
checked: a write that fails stops the loop with the engine's reason."""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import plcio  # noqa: E402


def say(t0, text):
    print("t=%6.2fs %s" % (time.monotonic() - t0, text), flush=True)


def command(seg, filling, timeout):
    """Pump and valve for filling (True) or draining (False): both requests
    go out at once, then both answers are awaited."""
    ids = [seg.submit("Pump", filling), seg.submit("Valve", not filling)]
    for tag, rid in zip(("Pump", "Valve"), ids):
        r = seg.wait_write(rid, timeout)
        if not r.ok:
            raise plcio.Error(r.error, "write %s: %s" % (tag, r.message))


def control(seg, low, high, seconds, timeout):
    t0 = time.monotonic()
    r = seg.write("Auto", False, timeout)
    if not r.ok:
        raise plcio.Error(r.error, "write Auto: %s" % r.message)
    say(t0, "Auto := false (the PLC program no longer switches pump and valve)")
    v = seg.read()
    level = v["Level"]
    if level <= low:
        filling = True
    elif level >= high:
        filling = False
    else:
        filling = bool(v["Pump"]) or not v["Valve"]
    command(seg, filling, timeout)
    say(t0, "level %.2f: %s" % (level, "pump on, valve closed" if filling else "pump off, valve open"))
    switches, lo_seen, hi_seen = 0, level, level
    while time.monotonic() - t0 < seconds:
        if not seg.wait_update(timeout=1.0):
            say(t0, "no update for 1 s (engine status: %s)" % seg.status())
            continue
        level = seg.get("Level")
        lo_seen, hi_seen = min(lo_seen, level), max(hi_seen, level)
        if filling and level >= high:
            filling = False
        elif not filling and level <= low:
            filling = True
        else:
            continue
        command(seg, filling, timeout)
        switches += 1
        say(t0, "level %.2f %s %.1f: %s" % (level, ">=" if not filling else "<=", high if not filling else low,
                                           "pump off, valve open" if not filling else "pump on, valve closed"))
    say(t0, "done: %d switches, level stayed within %.2f..%.2f" % (switches, lo_seen, hi_seen))
    return switches


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shm", default="demo", help="segment name (default demo, as plcio demo names it)")
    ap.add_argument("--low", type=float, default=40.0, help="start filling at or below this level (%%)")
    ap.add_argument("--high", type=float, default=60.0, help="start draining at or above this level (%%)")
    ap.add_argument("--seconds", type=float, default=30.0, help="how long to control the tank")
    ap.add_argument("--write-timeout", type=float, default=5.0, help="seconds to wait for each write's answer")
    ap.add_argument("--keep-manual", action="store_true", help="leave Auto false at the end")
    a = ap.parse_args(argv)
    if not a.low < a.high:
        ap.error("--low must be below --high")
    try:
        seg = plcio.open(a.shm, timeout=10)
    except plcio.Error as exc:
        print("tank_control: %s" % exc, file=sys.stderr)
        return 1
    status = 0
    try:
        control(seg, a.low, a.high, a.seconds, a.write_timeout)
    except plcio.Error as exc:
        print("tank_control: %s" % exc, file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        pass
    finally:
        if not a.keep_manual:
            try:
                r = seg.write("Auto", True, a.write_timeout)
                print("Auto := true (tank handed back to the PLC program)" if r.ok else
                      "tank_control: could not hand back: %s %s" % (r.error_name, r.message), flush=True)
            except plcio.Error as exc:
                print("tank_control: could not hand back: %s" % exc, file=sys.stderr)
        seg.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
