"""plcio.ModbusClient against plcio's simulator and pymodbus's server (a foreign
Modbus implementation): every function code, typed addresses, exceptions, bad
input, a closed link, a server that goes away."""

import socket
import struct

import pytest

import conftest
import plcio


@pytest.fixture(scope="module", params=["plcio-sim", "pymodbus-server"])
def server(request):
    if request.param == "plcio-sim":
        child, port = conftest.start_sim_modbus()
    else:
        child, port = conftest.start_pymodbus_server()
    yield request.param, port
    child.stop()


@pytest.fixture
def mb(server):
    with plcio.ModbusClient("modbus-tcp://127.0.0.1:%d?unit=1&timeout=3000" % server[1]) as c:
        yield c


def test_registers(mb):
    mb.write_registers(10, [1, 2, 0xFFFF])
    assert mb.read_holding_registers(10, 3) == [1, 2, 0xFFFF]
    mb.write_register(12, 7)
    assert mb.read_holding_registers(12) == [7]
    vals = [(i * 31) & 0xFFFF for i in range(125)]
    mb.write_registers(100, vals[:123])
    mb.write_registers(223, vals[123:])
    assert mb.read_holding_registers(100, 125) == vals


def test_coils(mb):
    pattern = [bool(i % 3 == 0) for i in range(40)]
    mb.write_coils(0, pattern)
    assert mb.read_coils(0, 40) == pattern
    mb.write_coil(1, True)
    assert mb.read_coils(1, 1) == [True]


def test_inputs(server, mb):
    ir = mb.read_input_registers(0, 5)
    di = mb.read_discrete_inputs(0, 4)
    assert len(ir) == 5 and len(di) == 4
    assert all(isinstance(x, bool) for x in di)
    if server[0] == "pymodbus-server":  # its inputs are filled with known values
        assert ir == [0, 1, 2, 3, 4]
        assert di == [False, True, False, True]


def test_mask_and_read_write(mb):
    mb.write_register(300, 0x0012)
    mb.mask_write_register(300, 0x00F2, 0x0025)
    assert mb.read_holding_registers(300) == [0x0017]  # AP 6.16 example
    assert mb.read_write_registers(301, 2, 301, [5, 6]) == [5, 6]


def test_typed_addresses(mb):
    mb.write("hr400:REAL", 2.5)
    assert mb.read("hr400:REAL") == 2.5
    assert mb.read_holding_registers(400, 2) == list(struct.unpack(">2H", struct.pack(">f", 2.5)))
    mb.write("hr402:REAL:CDAB", 2.5)
    assert mb.read_holding_registers(402, 2) == list(struct.unpack(">2H", struct.pack(">f", 2.5)))[::-1]
    mb.write("hr410:INT[3]", [-1, 0, 1])
    assert mb.read("hr410:INT[3]") == [-1, 0, 1]
    assert mb.read_holding_registers(410, 3) == [0xFFFF, 0, 1]
    mb.write("co50", True)
    assert mb.read("co50") is True
    assert mb.read("400411") == 0xFFFF  # Modicon, 1-based: 400411 is hr410 (UINT by default)
    mb.write("hr420:DINT", -70000)
    assert mb.read_many(["hr420:DINT", "hr410:INT"]) == [-70000, -1]


def test_exceptions(mb):
    with pytest.raises(plcio.ModbusException) as e:
        mb.read_holding_registers(65000, 10)
    assert e.value.exception_code == plcio.ModbusExceptionCode.ILLEGAL_DATA_ADDRESS
    assert e.value.code == plcio.ErrorCode.EMBEXC
    assert "illegal data address" in e.value.text
    assert mb.last_exception == plcio.ModbusExceptionCode.ILLEGAL_DATA_ADDRESS
    assert mb.read_holding_registers(0, 1) is not None  # the link stays usable


def test_bad_input(mb):
    for bad in [lambda: mb.read_holding_registers(0, 126), lambda: mb.read_holding_registers(0, 0),
                lambda: mb.read_holding_registers(-1, 1), lambda: mb.read_holding_registers("0", 1),
                lambda: mb.read_holding_registers(65535, 2), lambda: mb.read_coils(0, 2001),
                lambda: mb.write_register(0, 70000), lambda: mb.write_register(0, -1),
                lambda: mb.write_registers(0, []), lambda: mb.write_registers(0, [0] * 124),
                lambda: mb.write_registers(0, ["a"]), lambda: mb.write_coils(0, [True] * 1969),
                lambda: mb.read_holding_registers(0, 1, unit=256), lambda: mb.write("hr0:INT[2]", 1),
                lambda: mb.write("hr0:INT", object())]:
        with pytest.raises((TypeError, ValueError)):
            bad()
    with pytest.raises(plcio.Error) as e:
        mb.read("xy100")
    assert e.value.code == plcio.ErrorCode.ESYNTAX
    with pytest.raises(plcio.Error) as e:
        mb.write("hr0:INT", 70000)
    assert e.value.code == plcio.ErrorCode.ERANGE
    with pytest.raises(plcio.Error) as e:
        mb.write("ir0", 1)
    assert e.value.code == plcio.ErrorCode.EACCESS


def test_unit_and_settings(server):
    c = plcio.ModbusClient(host="127.0.0.1", port=server[1], unit=1)
    assert c.unit == 1
    c.unit = 1
    c.set_timeout(2000)
    c.set_retries(0)
    with pytest.raises(ValueError):
        c.set_retries(11)
    assert c.read_holding_registers(0, 1, unit=1) is not None
    c.free()
    with pytest.raises(plcio.Error):
        c.read_holding_registers(0, 1)


def test_bad_urls():
    for url in ["modbus-tcp://127.0.0.1?unit=300", "modbus-tcp://127.0.0.1:0", "nope://x", ""]:
        with pytest.raises(plcio.Error):
            plcio.ModbusClient(url)


def test_refused_and_vanishing():
    s = socket.socket()
    # bound, never listening: refused, and no other process can take the port meanwhile
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    c = plcio.ModbusClient(host="127.0.0.1", port=port, timeout_ms=1000)
    with pytest.raises(plcio.ConnectionFailed):
        c.read_holding_registers(0, 1)
    s.close()
    child, port = conftest.start_sim_modbus(seconds=60)
    c2 = plcio.ModbusClient(host="127.0.0.1", port=port, timeout_ms=1000)
    assert c2.read_holding_registers(0, 1) == [0]
    child.stop()
    with pytest.raises(plcio.ConnectionFailed):
        c2.read_holding_registers(0, 1)
    c2.close()
    c2.free()
    c.free()
