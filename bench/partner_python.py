"""python-snap7 Partner <-> python-snap7 Partner on 127.0.0.1 (one process,
the passive side in a thread): round trips of a 16-byte block (A sends, B
answers) and the bytes/s of 400-byte blocks one way. Prints one line:
"rt_per_s MB_per_s". usage: partner_python.py SNAP7_DIR SECONDS"""
import os
import sys
import threading
import time

sys.path.insert(0, sys.argv[1])
from snap7.partner import Partner  # noqa: E402

secs = float(sys.argv[2])
b = Partner(active=False)
b.port = 0
b.running = True  # see tests/interop/partner/python_snap7_partner.py
b.start_to("127.0.0.1", "", 0x0102, 0x0100)
a = Partner(active=True)
a.port = b._server_socket.getsockname()[1]
a.start_to("127.0.0.1", "127.0.0.1", 0x0100, 0x0102)
while not b.connected:
    time.sleep(0.001)
# Each phase ends with a 1-byte block that B's thread stops at: a b_recv
# left waiting would time out, and after a timeout python-snap7's connection
# refuses every further receive (its `connected` flag is cleared).


def echo():
    while True:
        if b.b_recv() == 0:
            if len(b.get_recv_data()) == 1:
                return
            b.set_send_data(b.get_recv_data())
            b.b_send()


def sink():
    while True:
        if b.b_recv() == 0 and len(b.get_recv_data()) == 1:
            return


def end_phase(t):
    a.set_send_data(b"!")
    a.b_send()
    t.join()


threading.Timer(4 * secs + 20, lambda: os._exit(1)).start()  # a hung peer ends the bench


t = threading.Thread(target=echo, daemon=True)
t.start()
a.set_send_data(bytes(16))
n, t0 = 0, time.monotonic()
while time.monotonic() - t0 < secs:
    a.b_send()
    while a.b_recv() != 0:
        pass
    n += 1
rt = n / (time.monotonic() - t0)
end_phase(t)
t = threading.Thread(target=sink, daemon=True)
t.start()
a.set_send_data(bytes(400))
n, t0 = 0, time.monotonic()
while time.monotonic() - t0 < secs:
    a.b_send()
    n += 1
mbs = n * 400 / (time.monotonic() - t0) / 1e6
end_phase(t)
print(f"{rt:.0f} {mbs:.3f}", flush=True)
os._exit(0)
