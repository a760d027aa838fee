"""plcio.S7Server and plcio.ModbusServer in this process, with Python callbacks,
served to foreign clients (python-snap7's client, pymodbus's sync client) and
to plcio's own; memory shared as writable memoryviews; callbacks that veto,
observe and raise."""

import struct

import pytest

import conftest
import plcio
from pymodbus.client import ModbusTcpClient

snap7 = conftest.snap7_module()


def test_s7_server_with_python_snap7_client():
    with plcio.S7Server() as srv:
        db1 = srv.add_db(1, 100)
        mk = srv.add_area("M", 0, 16)
        db1[0:6] = struct.pack(">hf", 1234, 3.5)
        written = []
        srv.before_write = lambda acc, data: acc.start + acc.size <= 50  # bytes 50.. are read-only
        srv.after_write = lambda acc: written.append(acc)
        srv.start()
        assert srv.port > 0
        c = snap7.Client()
        c.connect("127.0.0.1", 0, 1, srv.port)
        assert c.db_read(1, 0, 6) == struct.pack(">hf", 1234, 3.5)
        c.db_write(1, 10, bytearray(b"\x01\x02\x03"))
        assert bytes(db1[10:13]) == b"\x01\x02\x03"
        assert written and written[-1].area == "DB" and written[-1].start == 10 and written[-1].size == 3
        with pytest.raises(Exception):
            c.db_write(1, 60, bytearray(b"\x09"))
        assert db1[60] == 0  # vetoed: nothing written
        c.mb_write(2, 1, bytearray(b"\x7f"))
        assert mk[2] == 0x7F
        with srv.locked("DB", 1):
            db1[20:22] = b"\xbe\xef"
        assert c.db_read(1, 20, 2) == b"\xbe\xef"
        assert srv.client_count >= 1
        c.disconnect()
        assert not srv.callback_errors


def test_s7_server_callbacks_refuse_and_survive_exceptions():
    with plcio.S7Server() as srv:
        srv.add_db(1, 10)
        srv.before_read = lambda acc: plcio.ItemCode.ACCESS_DENIED if acc.start >= 5 else None
        srv.start()
        with plcio.S7Client("s7://127.0.0.1:%d" % srv.port) as c:
            assert c.db_read(1, 0, 4) == b"\0\0\0\0"
            with pytest.raises(plcio.PLCError) as e:
                c.db_read(1, 6, 2)
            assert e.value.item_code == plcio.ItemCode.ACCESS_DENIED
            srv.before_read = lambda acc: 1 / 0
            with pytest.raises(plcio.PLCError) as e:
                c.db_read(1, 0, 1)
            assert e.value.item_code == plcio.ItemCode.HW_FAULT
            assert isinstance(srv.callback_errors[-1], ZeroDivisionError)
            srv.before_read = None
            assert c.db_read(1, 0, 1) == b"\0"
            srv.cpu_running = False
            assert c.cpu_state() == plcio.CpuState.STOP
    for bad in [lambda s: s.add_db(0, 10), lambda s: s.add_db(1, 0), lambda s: s.add_area("X", 0, 1),
                lambda s: s.add_db(1, 70000)]:
        with plcio.S7Server() as s:
            with pytest.raises((ValueError, TypeError)):
                bad(s)
    with plcio.S7Server() as s:
        s.add_db(1, 4)
        with pytest.raises(plcio.Error):
            s.add_db(1, 4)
    s = plcio.S7Server()
    s.free()
    with pytest.raises(plcio.Error):
        s.add_db(1, 4)


def test_modbus_server_with_pymodbus_client():
    with plcio.ModbusServer(size=200) as srv:
        srv.write(srv.HOLDING_REGISTERS, 0, [10, 20, 30])
        srv.write(srv.INPUT_REGISTERS, 0, [7, 8])
        seen = []
        srv.before_write = lambda unit, area, addr, values: addr < 100
        srv.after_write = lambda unit, area, addr, values: seen.append((unit, area, addr, values))
        srv.start()
        c = ModbusTcpClient("127.0.0.1", port=srv.port)
        assert c.connect()
        assert c.read_holding_registers(0, 3, slave=1).registers == [10, 20, 30]
        assert c.read_input_registers(0, 2, slave=1).registers == [7, 8]
        assert not c.write_registers(5, [1, 2], slave=1).isError()
        assert srv.read(srv.HOLDING_REGISTERS, 5, 2) == [1, 2]
        assert seen[-1] == (1, srv.HOLDING_REGISTERS, 5, [1, 2])
        r = c.write_register(150, 9, slave=1)
        assert r.isError() and r.exception_code == 2
        assert srv.read(srv.HOLDING_REGISTERS, 150) == [0]
        assert not c.write_coils(0, [True, False, True], slave=1).isError()
        assert srv.read(srv.COILS, 0, 3) == [1, 0, 1]
        assert c.read_coils(0, 3, slave=1).bits[:3] == [True, False, True]
        srv.before_read = lambda unit, area, addr, n: 1 / 0
        r = c.read_holding_registers(0, 1, slave=1)
        assert r.isError() and r.exception_code == 4
        assert isinstance(srv.callback_errors[-1], ZeroDivisionError)
        c.close()
    with pytest.raises(ValueError):
        plcio.ModbusServer(port=70000)
    with pytest.raises((ValueError, TypeError)):
        plcio.ModbusServer(units=[300])
