"""plcio.compat.pyModbusTCP: the documented pyModbusTCP API (pyModbusTCP itself
is not in Debian) side by side with pymodbus's sync client (a foreign client)
against the same servers (plcio's simulator and pymodbus's server), and the
utils examples of pyModbusTCP's documentation with their documented output."""

import socket

import pytest

import conftest
from plcio.compat.pyModbusTCP import constants, utils
from plcio.compat.pyModbusTCP.client import ModbusClient
from pymodbus.client import ModbusTcpClient


@pytest.fixture(scope="module", params=["plcio-sim", "pymodbus-server"])
def server(request):
    child, port = (conftest.start_sim_modbus() if request.param == "plcio-sim" else conftest.start_pymodbus_server())
    yield request.param, port
    child.stop()


@pytest.fixture
def pair(server):
    ours = ModbusClient(host="127.0.0.1", port=server[1], unit_id=1, auto_open=True)
    theirs = ModbusTcpClient("127.0.0.1", port=server[1])
    assert theirs.connect()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_same_results_as_pymodbus(pair):
    ours, theirs = pair
    assert ours.write_multiple_registers(0, [1, 2, 3, 0xFFFF]) is True
    assert ours.read_holding_registers(0, 4) == theirs.read_holding_registers(0, 4, slave=1).registers == [1, 2, 3,
                                                                                                         0xFFFF]
    theirs.write_registers(10, [7, 8], slave=1)
    assert ours.read_holding_registers(10, 2) == [7, 8]
    assert ours.write_single_register(20, 1234) is True
    assert theirs.read_holding_registers(20, 1, slave=1).registers == [1234]
    assert ours.write_multiple_coils(0, [True, False, True, True]) is True
    assert ours.read_coils(0, 4) == theirs.read_coils(0, 4, slave=1).bits[:4] == [True, False, True, True]
    assert ours.write_single_coil(9, True) is True
    assert theirs.read_coils(9, 1, slave=1).bits[0] is True
    assert ours.read_input_registers(0, 5) == theirs.read_input_registers(0, 5, slave=1).registers
    assert ours.read_discrete_inputs(0, 6) == theirs.read_discrete_inputs(0, 6, slave=1).bits[:6]
    assert ours.is_open()
    assert ours.last_error() == constants.MB_NO_ERR


def test_exception_gives_none_and_codes(pair):
    ours, theirs = pair
    assert ours.read_holding_registers(65500, 36) is None
    assert ours.last_error() == constants.MB_EXCEPT_ERR
    assert ours.last_except() == constants.EXP_DATA_ADDRESS
    assert "illegal data address" in ours.last_except_txt()
    assert theirs.read_holding_registers(65500, 36, slave=1).isError()
    assert ours.read_holding_registers(0, 1) is not None
    assert ours.last_except() == constants.EXP_NONE


def test_parameters_and_bad_input():
    c = ModbusClient()
    assert c.host() == "localhost" and c.port() == 502 and c.unit_id() == 1
    assert c.host("127.0.0.1") == "127.0.0.1"
    assert c.host("bad host!") is None and c.host() == "127.0.0.1"
    assert c.port(70000) is None and c.port(1502) == 1502
    assert c.unit_id(256) is None and c.unit_id(5) == 5
    assert c.timeout(-1) is None and c.timeout(2.5) == 2.5
    assert c.auto_open() is True and c.auto_close() is False and c.debug(True) is True
    for kw in [{"port": 0}, {"host": ""}, {"unit_id": -1}, {"timeout": "x"}]:
        with pytest.raises(ValueError):
            ModbusClient(**kw)
    for bad in [lambda: c.read_holding_registers(0, 126), lambda: c.read_holding_registers(-1),
                lambda: c.read_coils(0, 2001), lambda: c.write_single_register(0, 70000),
                lambda: c.write_multiple_registers(0, [0] * 124), lambda: c.read_holding_registers(65535, 2)]:
        with pytest.raises(ValueError):
            bad()


def test_link_errors_give_none():
    s = socket.socket()
    # bound, never listening: refused, and no other process can take the port meanwhile
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    c = ModbusClient(host="127.0.0.1", port=port, timeout=1)
    assert c.open() is False and c.last_error() == constants.MB_CONNECT_ERR
    assert c.read_holding_registers(0, 1) is None and not c.is_open()
    c2 = ModbusClient(host="127.0.0.1", port=port, auto_open=False)
    assert c2.read_holding_registers(0, 1) is None and c2.last_error() == constants.MB_SOCK_CLOSE_ERR
    s.close()
    child, port = conftest.start_sim_modbus(seconds=60)
    c3 = ModbusClient(host="127.0.0.1", port=port, auto_open=True, auto_close=True, timeout=1)
    assert c3.read_holding_registers(0, 2) == [0, 0] and not c3.is_open()
    child.stop()
    assert c3.read_holding_registers(0, 2) is None and c3.last_error() == constants.MB_CONNECT_ERR


def test_utils_documented_examples():
    words = [0x0123, 0x4567, 0x89ab, 0xcdef]
    assert [hex(i) for i in utils.word_list_to_long(words)] == ["0x1234567", "0x89abcdef"]
    assert [hex(i) for i in utils.word_list_to_long(words, big_endian=False)] == ["0x45670123", "0xcdef89ab"]
    assert utils.long_list_to_word(utils.word_list_to_long(words)) == words
    assert utils.long_list_to_word(utils.word_list_to_long(words, False), False) == words
    assert utils.word_list_to_long(words, long_long=True) == [0x0123456789abcdef]
    assert utils.get_list_2comp([0x0000, 0xFFFF, 0x00FF, 0x8001], 16) == [0, -1, 255, -32767]
    assert utils.get_2comp(0xFFFF, 16) == -1
    assert utils.get_2comp(0x80000000, 32) == -2 ** 31
    with pytest.raises(ValueError):
        utils.get_2comp(0x10000, 16)
    # the documentation prints 7 booleans for 8 bits (a typo there): 8 here
    assert utils.get_bits_from_int(0x05, val_size=8) == [True, False, True, False, False, False, False, False]
    assert hex(utils.encode_ieee(0.3)) == "0x3e99999a"
    assert abs(utils.decode_ieee(0x3e99999a) - 0.3) < 1e-7
    assert hex(utils.encode_ieee(6.62606957e-34, double=True)) == "0x390b860bb596a559"
    assert utils.decode_ieee(0x390b860bb596a559, double=True) == 6.62606957e-34
    assert utils.set_bit(0, 3) == 8 and utils.reset_bit(0xFF, 0) == 0xFE and utils.toggle_bit(1, 0) == 0
    assert utils.test_bit(4, 2) is True and utils.test_bit(4, 1) is False
    assert utils.crc16(bytes.fromhex("01030000000A")) == 0xCDC5  # SL 6.2.2 example


def test_documented_float_example(server):
    class FloatModbusClient(ModbusClient):
        def read_float(self, address, number=1):
            reg_l = self.read_holding_registers(address, number * 2)
            return [utils.decode_ieee(f) for f in utils.word_list_to_long(reg_l)] if reg_l else None

        def write_float(self, address, floats_list):
            return self.write_multiple_registers(address, utils.long_list_to_word(
                [utils.encode_ieee(f) for f in floats_list]))

    c = FloatModbusClient(host="127.0.0.1", port=server[1], auto_open=True)
    assert c.write_float(100, [10.0, -2.5]) is True
    assert c.read_float(100, 2) == [10.0, -2.5]
    c.close()
