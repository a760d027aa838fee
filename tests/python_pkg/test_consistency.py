"""The Python package agrees with the C headers and library: the error table
(include/plcio/core.h and plcio_strerror / plcio_err_name), the shared-memory
format constants (src/shm/shm_format.h), the type table, the enums, the
version, and the size and field offsets of every struct declared with ctypes
(printed by abi_probe.c, compiled against the headers)."""

import ctypes
import json
import os
import re
import subprocess

import pytest

import conftest
import plcio
from plcio import _lib, enums, errors, segment, values

SRC = conftest.SOURCE_DIR


def header(path):
    with open(os.path.join(SRC, path), encoding="utf-8") as f:
        return f.read()


def test_error_table_matches_core_h():
    rows = re.findall(r'X\((\w+),\s*(-?\d+),\s*"([^"]*)"\)', header("include/plcio/core.h"))
    assert len(rows) >= 28
    assert [(int(v), n, t) for n, v, t in rows] == list(errors._ERRNO_MAP)
    lib = _lib.lib()
    for code, name, text in errors._ERRNO_MAP:
        assert lib.plcio_strerror(code).decode() == text == errors.strerror(code)
        assert lib.plcio_err_name(code).decode() == "PLCIO_" + name == errors.err_name(code)
        assert plcio.ErrorCode[name] == code
    assert errors.strerror(-999) == lib.plcio_strerror(-999).decode()
    assert errors.err_name(-999) == lib.plcio_err_name(-999).decode()


def test_shm_constants_match_shm_format_h():
    text = header("src/shm/shm_format.h")
    defines = dict(re.findall(r"#define SHM_(\w+)\s+(\d+)u?\b", text))
    checked = 0
    missing = []
    for name, value in defines.items():
        if hasattr(segment, name):
            assert getattr(segment, name) == int(value), name
            checked += 1
        else:
            missing.append(name)
    assert checked >= 60, (checked, missing)
    strings = dict(re.findall(r'#define SHM_(\w+)\s+"([^"]*)"', text))
    assert segment.MAGIC == strings["MAGIC"].encode()
    assert segment.RING_MAGIC == strings["RING_MAGIC"].encode()
    assert segment.RING_SUFFIX == strings["RING_SUFFIX"]
    assert re.search(r"#define SHM_ENDIAN\s+0x01020304u", text) and segment.ENDIAN == 0x01020304
    q = re.findall(r"PLCIO_SHM_QUALITY_(\w+) = (\d)", header("include/plcio/shm.h"))
    assert [(n.lower(), int(v)) for n, v in q] == [(name, i) for i, name in enumerate(segment.QUALITY_NAMES)]
    assert [m.value for m in enums.Quality] == list(segment.QUALITY_NAMES)


def test_types_match_types_h():
    rows = re.findall(r'X\((\w+),\s*(\d+),\s*"(\w+)"\)', header("include/plcio/types.h"))
    assert [n for _, _, n in rows] == list(values.TYPE_NAMES)
    lib = _lib.lib()
    for i, name in enumerate(values.TYPE_NAMES):
        assert lib.plcio_type_name(i).decode() == name


def test_enums_match_headers():
    area = dict(re.findall(r"PLCIO_S7_AREA_(\w+) = (0x[0-9A-F]+)", header("include/plcio/address.h")))
    for name, value in area.items():
        assert enums.Area[name] == int(value, 16)
    exc = dict(re.findall(r"PLCIO_MB_EX_(\w+) = (0x[0-9A-F]+)", header("include/plcio/modbus.h")))
    assert {k: int(v, 16) for k, v in exc.items()} == {m.name: m.value for m in enums.ModbusExceptionCode}
    lib = _lib.lib()
    for m in enums.ModbusExceptionCode:
        if m:
            assert lib.plcio_mb_exception_text(m).decode() != "unknown exception"
    order = dict(re.findall(r"PLCIO_MB_(\w{4}) = (\d)", header("include/plcio/word_order.h")))
    assert {k: int(v) for k, v in order.items()} == {m.name: m.value for m in enums.MbOrder}


def test_version_matches_c_library():
    m = re.search(r"project\(plcio\s+VERSION\s+([0-9.]+)", header("CMakeLists.txt"))
    assert m and plcio.__version__ == m.group(1)
    assert _lib.lib().plcio_version().decode() == plcio.__version__


def test_struct_layouts_match_the_headers():
    probe = os.environ.get("PLCIO_ABI_PROBE")
    if not probe:
        pytest.skip("PLCIO_ABI_PROBE not set (run through ctest)")
    out = json.loads(subprocess.check_output([probe], env=conftest.child_env()))
    mapping = {"plcio_error": _lib.Error_, "plcio_s7_address": _lib.S7Address, "plcio_s7_var": _lib.S7Var,
               "plcio_mb_address": _lib.MbAddress, "plcio_modbus_request": _lib.MbRequest, "plcio_value": _lib.Value,
               "plcio_datetime": _lib.Datetime, "plcio_s7_cpu_info": _lib.S7CpuInfo,
               "plcio_s7_block_count": _lib.S7BlockCount, "plcio_s7_clock": _lib.S7Clock,
               "plcio_s7_server_access": _lib.S7ServerAccess, "plcio_logger": _lib.Logger,
               "plcio_s7_server_callbacks": _lib.S7ServerCallbacks,
               "plcio_s7_server_identity": _lib.S7ServerIdentity, "plcio_s7_server_options": _lib.S7ServerOptions,
               "plcio_layout_member": _lib.LayoutMember, "plcio_layout_options": _lib.LayoutOptions,
               "plcio_sync_options": _lib.SyncOptions, "plcio_modbus_bank_config": _lib.MbBankConfig,
               "plcio_modbus_callbacks": _lib.MbCallbacks}
    assert set(mapping) <= set(out)
    for cname, cls in mapping.items():
        c = out[cname]
        assert ctypes.sizeof(cls) == c["_size"], cname
        for field, off in c.items():
            if field.startswith("_"):
                continue
            assert getattr(cls, field).offset == off, (cname, field)


def test_library_not_found_says_what_to_do(tmp_path):
    env = dict(os.environ, PLCIO_LIBRARY=str(tmp_path / "nope.so"))
    env.pop("LD_PRELOAD", None)
    r = subprocess.run(["/usr/bin/python3", "-c", "import plcio\nprint(plcio.TYPE_NAMES[0])\nplcio.S7Client('s7://x')"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stdout.strip() == "BOOL"  # the shared-memory reader imports without the library
    assert "PLCIO_LIBRARY=" in r.stderr and "does not exist" in r.stderr and "LibraryNotFound" in r.stderr
