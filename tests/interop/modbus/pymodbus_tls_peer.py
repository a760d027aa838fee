#!/usr/bin/python3
"""pymodbus 3.0 as a foreign Modbus/TCP Security (TLS) peer for plcio's tests.

pymodbus 3.0's own TLS framer (ModbusTlsFramer, its default for TLS) sends
the bare PDU without the MBAP header; the Modbus/TCP Security specification
keeps the MBAP header unchanged inside TLS. Both modes here therefore pass
framer=ModbusSocketFramer (MBAP), which pymodbus's TLS client and server
accept, and build their own ssl.SSLContext so that both sides verify the
other's certificate (mutual authentication: pymodbus's default contexts
verify nothing).

  pymodbus_tls_peer.py server DIR [--seconds N]
      TLS server with DIR/server.pem + DIR/server.key, client certificates
      required and verified against DIR/ca.pem; the contents of
      pymodbus_peer.py (holding[i] = i, ...). Prints "listening on
      127.0.0.1:PORT" when ready; exits by itself after N seconds (default 60).

  pymodbus_tls_peer.py client HOST:PORT DIR NAME ACTION...
      Connects with DIR/NAME.pem + DIR/NAME.key (NAME "-": no certificate),
      verifying the server against DIR/ca.pem, and runs the actions in order:
        read ADDR N        prints "read ADDR: v1 v2 ..." or "exception E"
        write ADDR V...    prints "write ADDR: ok" or "exception E"
      Exit status 0 when every action got an answer (an exception is an
      answer), 2 when the connection or the TLS handshake failed.
"""
import asyncio
import logging
import os
import ssl
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pymodbus_peer import make_context, make_identity  # noqa: E402
from pymodbus.transaction import ModbusSocketFramer  # noqa: E402

logging.basicConfig(level=logging.CRITICAL)


def watchdog(seconds):
    t = threading.Timer(seconds, lambda: os._exit(3))
    t.daemon = True
    t.start()


async def serve(d):
    from pymodbus.server.async_io import ModbusTlsServer

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
    ctx.load_verify_locations(os.path.join(d, "ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = ModbusTlsServer(make_context(), ModbusSocketFramer, make_identity(), address=("127.0.0.1", 0),
                             sslctx=ctx)
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    print("listening on 127.0.0.1:%d" % server.server.sockets[0].getsockname()[1], flush=True)
    await task


async def run_client(target, d, name, actions):
    # pymodbus 3.0's synchronous ModbusTlsClient waits with select() on the
    # raw socket for the rest of an answer it has partly read, which is
    # already inside the TLS layer: it reports "no response". The asyncio
    # client reads through the TLS layer and has no such problem.
    from pymodbus.client import AsyncModbusTlsClient

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(os.path.join(d, "ca.pem"))
    if name != "-":
        ctx.load_cert_chain(os.path.join(d, name + ".pem"), os.path.join(d, name + ".key"))
    host, port = target.rsplit(":", 1)
    client = AsyncModbusTlsClient(host, port=int(port), sslctx=ctx, framer=ModbusSocketFramer, timeout=3, retries=0,
                                  reconnect_delay=0)
    await client.connect()
    if not client.protocol:
        print("connect failed", flush=True)
        return 2
    i = 0
    status = 0
    while i < len(actions):
        verb, addr = actions[i], int(actions[i + 1])
        try:
            if verb == "read":
                n = int(actions[i + 2])
                i += 3
                rr = await client.read_holding_registers(addr, n, slave=1)
            else:
                j = i + 2
                while j < len(actions) and actions[j] not in ("read", "write"):
                    j += 1
                values = [int(v) for v in actions[i + 2:j]]
                i = j
                rr = await client.write_registers(addr, values, slave=1)
        except Exception as e:  # pylint: disable=broad-except ; a closed connection, a timeout
            print("no answer: %s" % e, flush=True)
            status = 2
            break
        if rr.isError():
            print("exception %d" % rr.exception_code, flush=True)
        elif verb == "read":
            print("read %d: %s" % (addr, " ".join(str(r) for r in rr.registers)), flush=True)
        else:
            print("write %d: ok" % addr, flush=True)
    await client.close()
    return status


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "server":
        seconds = int(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 60
        watchdog(seconds)
        try:
            asyncio.run(serve(sys.argv[2]))
        except KeyboardInterrupt:
            pass
        return 0
    if len(sys.argv) >= 5 and sys.argv[1] == "client":
        watchdog(30)
        try:
            return asyncio.run(run_client(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]))
        except (ssl.SSLError, OSError) as e:
            print("connect failed: %s" % e, flush=True)
            return 2
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
