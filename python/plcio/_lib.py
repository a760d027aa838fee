"""Finding and loading libplcio.so.2 and declaring the C functions the package
calls (ctypes, no compiler at install time).

The library is looked for, in this order:
  1. the file named by the environment variable PLCIO_LIBRARY;
  2. the copy bundled into the package at install time (plcio/_lib/libplcio.so.2);
  3. the installed library (the dynamic loader's search path, the lib/ of the
     prefix the package was installed into by `make install PREFIX=...`, then
     /usr/local/lib and /usr/lib with and without the multiarch directory);
  4. a build tree next to the package's source (build/ of the checkout).
ctypes.CDLL (not PyDLL) releases the GIL around every call, so blocking I/O in
one thread lets the other Python threads run."""

from __future__ import annotations

import ctypes
import os
import sysconfig
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, Union, c_bool, c_char, c_char_p, c_double, c_int, c_int32, c_int64,
                    c_size_t, c_uint, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p)
from typing import List, Optional

SONAME = "libplcio.so.2"
ABI_MAJOR = 2

_HERE = os.path.dirname(os.path.abspath(__file__))


class LibraryNotFound(ImportError):
    """libplcio could not be loaded; the message lists what was tried and what to do."""


def candidates() -> List[str]:
    """The paths (or loader names) tried, in order."""
    out = []
    env = os.environ.get("PLCIO_LIBRARY")
    if env:
        out.append(env)
    out.append(os.path.join(_HERE, "_lib", SONAME))
    out.append(SONAME)
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    # installed by `make install PREFIX=P`: the package in P/lib/pythonX.Y/dist-packages,
    # the library in P/lib (or P/lib/<multiarch>)
    prefix_lib = os.path.normpath(os.path.join(_HERE, "..", "..", ".."))
    if os.path.basename(prefix_lib) == "lib":
        out.append(os.path.join(prefix_lib, SONAME))
        if multiarch:
            out.append(os.path.join(prefix_lib, multiarch, SONAME))
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for prefix in ("/usr/local/lib", "/usr/lib"):
        if multiarch:
            out.append(os.path.join(prefix, multiarch, SONAME))
        out.append(os.path.join(prefix, SONAME))
    checkout = os.path.dirname(os.path.dirname(_HERE))
    for build in ("build", "build-asan"):
        out.append(os.path.join(checkout, build, SONAME))
    return out


def _load() -> ctypes.CDLL:
    tried = []
    env = os.environ.get("PLCIO_LIBRARY")
    for path in candidates():
        is_name = os.sep not in path
        if not is_name and not os.path.exists(path):
            if path == env:
                raise LibraryNotFound("plcio: PLCIO_LIBRARY=%s does not exist; point it at libplcio.so.2 "
                                      "(e.g. build/libplcio.so.2 after `make`) or unset it" % env)
            tried.append(path + " (absent)")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            if path == env:
                raise LibraryNotFound("plcio: PLCIO_LIBRARY=%s cannot be loaded: %s" % (env, e)) from e
            tried.append("%s (%s)" % (path, e if not is_name else "not on the loader's path"))
            continue
        return lib
    raise LibraryNotFound(
        "plcio: the C library libplcio.so.2 was not found. Build it (`make`) and then either `make install`, "
        "or set PLCIO_LIBRARY=/path/to/build/libplcio.so.2, or reinstall this package after the build "
        "(`python3 -m pip install ./python` bundles build/libplcio.so.2). Tried: " + "; ".join(tried))


# ---- structures (include/plcio/*.h) ----

ERROR_TEXT_MAX = 1024


class Error_(Structure):
    _fields_ = [("code", c_int), ("text", c_char * ERROR_TEXT_MAX)]


class S7Address(Structure):
    _fields_ = [("area", c_int), ("db", c_uint16), ("offset", c_uint32), ("bit", c_uint8),
                ("periph_output", c_bool), ("type", c_int), ("length", c_uint16), ("count", c_uint32),
                ("size", c_uint32)]


class S7Var(Structure):
    _fields_ = [("area", c_int), ("db", c_uint16), ("start", c_uint32), ("size", c_uint32), ("bit", c_int),
                ("data", c_void_p), ("result", c_int), ("item_code", c_uint8)]


class MbAddress(Structure):
    _fields_ = [("table", c_int), ("address", c_uint16), ("type", c_int), ("length", c_uint16), ("order", c_int),
                ("count", c_uint32), ("quantity", c_uint32)]


class MbRequest(Structure):
    _fields_ = [("unit", c_int), ("function", c_uint8), ("addr", c_uint16), ("n", c_uint16),
                ("regs", POINTER(c_uint16)), ("bits", POINTER(c_uint8)), ("result", c_int), ("exception", c_uint8),
                ("timeout_ms", c_int), ("retries", c_int), ("sent", c_bool),
                ("pdu", POINTER(c_uint8)), ("pdu_len", c_size_t), ("resp", POINTER(c_uint8)), ("resp_len", c_size_t)]


class Datetime(Structure):
    _fields_ = [("year", c_int32), ("month", c_uint8), ("day", c_uint8), ("hour", c_uint8), ("minute", c_uint8),
                ("second", c_uint8), ("weekday", c_uint8), ("nanosecond", c_uint32)]


class _ValueUnion(Union):
    _fields_ = [("b", c_bool), ("i", c_int64), ("u", c_uint64), ("f", c_double), ("dt", Datetime)]


VALUE_INLINE_TEXT = 512


class Value(Structure):
    _fields_ = [("type", c_int), ("length", c_uint16), ("v", _ValueUnion), ("text_len", c_size_t),
                ("text_ext", c_void_p), ("text_ext_cap", c_size_t), ("text_inline", c_char * VALUE_INLINE_TEXT)]


class S7CpuInfo(Structure):
    _fields_ = [("module_type", c_char * 33), ("serial", c_char * 25), ("as_name", c_char * 25),
                ("copyright", c_char * 27), ("module_name", c_char * 25), ("order_code", c_char * 21),
                ("firmware", c_char * 16), ("cpu_state", c_int), ("protection_level", c_int), ("max_pdu", c_int),
                ("max_connections", c_int), ("mpi_rate", c_int), ("bus_rate", c_int)]


class S7BlockCount(Structure):
    _fields_ = [(n, c_uint) for n in ("ob", "fb", "fc", "db", "sdb", "sfc", "sfb")]


class S7Clock(Structure):
    _fields_ = [(n, c_int) for n in ("year", "month", "day", "hour", "minute", "second", "millisecond", "weekday")]


class S7ServerAccess(Structure):
    _fields_ = [("area", c_int), ("db_number", c_uint16), ("start", c_uint32), ("size", c_uint32), ("bit", c_int),
                ("transport", c_uint8), ("client", c_uint)]


LOG_FN = CFUNCTYPE(None, c_void_p, c_int, c_char_p, c_char_p)


class Logger(Structure):
    _fields_ = [("fn", LOG_FN), ("ctx", c_void_p), ("level", c_int)]


S7_BEFORE_READ = CFUNCTYPE(c_uint8, c_void_p, POINTER(S7ServerAccess), POINTER(c_uint8), c_size_t)
S7_BEFORE_WRITE = CFUNCTYPE(c_uint8, c_void_p, POINTER(S7ServerAccess), POINTER(c_uint8))
S7_AFTER_WRITE = CFUNCTYPE(None, c_void_p, POINTER(S7ServerAccess), POINTER(c_uint8), c_size_t)
S7_ON_EVENT = CFUNCTYPE(None, c_void_p, c_int, c_uint, c_int)


class S7ServerCallbacks(Structure):
    _fields_ = [("before_read", S7_BEFORE_READ), ("before_write", S7_BEFORE_WRITE), ("after_write", S7_AFTER_WRITE),
                ("on_event", S7_ON_EVENT), ("write_job", c_void_p), ("ctx", c_void_p), ("read_job", c_void_p)]


class S7ServerIdentity(Structure):
    _fields_ = [("order_code", c_char_p), ("firmware", c_uint8 * 3), ("module_type_name", c_char_p),
                ("as_name", c_char_p), ("module_name", c_char_p), ("plant_id", c_char_p), ("copyright", c_char_p),
                ("serial_number", c_char_p), ("max_mpi_rate", c_uint32), ("max_bus_rate", c_uint32)]


class S7ServerHandoff(Structure):
    """plcio_s7_server_handoff: another protocol on the same port (unused from Python: zeroed)."""
    _fields_ = [("accept", c_void_p), ("feed", c_void_p), ("output", c_void_p), ("output_done", c_void_p),
                ("close", c_void_p), ("ctx", c_void_p), ("tick", c_void_p), ("tick_ms", c_uint)]


class S7ServerOptions(Structure):
    _fields_ = [("host", c_char_p), ("port", c_uint16), ("max_connections", c_uint), ("pdu_size", c_uint16),
                ("max_parallel_jobs", c_uint16), ("frame_timeout_ms", c_uint32), ("idle_timeout_ms", c_uint32),
                ("max_output_bytes", c_size_t), ("threads", c_uint), ("protection_level", c_uint8),
                ("control_locked", c_bool), ("write_timeout_ms", c_uint32), ("password", c_char_p), ("cpu_state", c_int), ("identity", S7ServerIdentity),
                ("callbacks", S7ServerCallbacks), ("handoff", S7ServerHandoff), ("logger", Logger)]


S7_DONE = CFUNCTYPE(None, c_void_p, c_void_p, c_int)
MB_DONE = CFUNCTYPE(None, c_void_p, c_void_p, POINTER(MbRequest))
MB_VALUE_CB = CFUNCTYPE(None, c_void_p, c_size_t, c_char_p)

# ---- prototypes: name -> (restype, argtypes) ----
P = c_void_p
pErr = POINTER(Error_)
_u8p = POINTER(c_uint8)
_u16p = POINTER(c_uint16)
_PROTOS = {
    "plcio_strerror": (c_char_p, [c_int]),
    "plcio_err_name": (c_char_p, [c_int]),
    "plcio_version": (c_char_p, []),
    "plcio_version_hex": (c_uint32, []),
    "plcio_s7_error_text": (c_char_p, [c_uint16]),
    "plcio_s7_return_code_text": (c_char_p, [c_uint8]),
    "plcio_s7_area_name": (c_char_p, [c_uint8]),
    "plcio_mb_exception_text": (c_char_p, [c_int]),
    "plcio_type_name": (c_char_p, [c_int]),
    "plcio_mb_from_twos": (c_int64, [c_uint64, c_uint]),
    "plcio_mb_crc16": (c_uint16, [c_char_p, c_size_t]),
    "plcio_type_size": (c_size_t, [c_int, c_uint]),
    "plcio_s7_address_parse": (c_int, [c_char_p, POINTER(S7Address), pErr]),
    "plcio_s7_address_format": (c_int, [POINTER(S7Address), c_char_p, c_size_t]),
    "plcio_mb_address_parse": (c_int, [c_char_p, POINTER(MbAddress), pErr]),
    "plcio_value_init": (None, [POINTER(Value), c_int]),
    "plcio_value_from_text": (c_int, [POINTER(Value), c_int, c_uint, c_char_p, c_size_t, pErr]),
    "plcio_value_encode": (c_int, [POINTER(Value), _u8p, c_size_t, c_uint, POINTER(c_size_t), pErr]),
    # S7 client
    "plcio_s7_client_new": (c_int, [c_char_p, P, POINTER(P), pErr]),
    "plcio_s7_client_free": (None, [P]),
    "plcio_s7_client_connect": (c_int, [P]),
    "plcio_s7_client_close": (None, [P]),
    "plcio_s7_client_is_connected": (c_bool, [P]),
    "plcio_s7_client_pdu_size": (c_uint, [P]),
    "plcio_s7_client_parallel_jobs": (c_uint, [P]),
    "plcio_s7_client_fd": (c_int, [P]),
    "plcio_s7_client_last_error": (pErr, [P]),
    "plcio_s7_client_last_s7_error": (c_uint16, [P]),
    "plcio_s7_client_last_reason": (c_char_p, [P]),
    "plcio_s7_client_last_item_code": (c_uint8, [P]),
    "plcio_s7_client_read_area": (c_int, [P, c_int, c_uint16, c_uint32, c_uint32, c_void_p]),
    "plcio_s7_client_write_area": (c_int, [P, c_int, c_uint16, c_uint32, c_uint32, c_void_p]),
    "plcio_s7_client_read_bit": (c_int, [P, c_int, c_uint16, c_uint32, c_uint, POINTER(c_bool)]),
    "plcio_s7_client_write_bit": (c_int, [P, c_int, c_uint16, c_uint32, c_uint, c_bool]),
    "plcio_s7_client_read_vars": (c_int, [P, POINTER(S7Var), c_size_t]),
    "plcio_s7_client_write_vars": (c_int, [P, POINTER(S7Var), c_size_t]),
    "plcio_s7_client_write_text": (c_int, [P, c_char_p, c_char_p]),
    "plcio_s7_client_parse_address": (c_int, [P, c_char_p, POINTER(S7Address), POINTER(c_bool), pErr]),
    "plcio_s7_client_connect_async": (c_int, [P]),
    "plcio_s7_client_read_vars_async": (c_int, [P, POINTER(S7Var), c_size_t, S7_DONE, c_void_p]),
    "plcio_s7_client_write_vars_async": (c_int, [P, POINTER(S7Var), c_size_t, S7_DONE, c_void_p]),
    "plcio_s7_client_wants": (c_uint, [P, POINTER(c_uint64)]),
    "plcio_s7_client_process": (c_int, [P]),
    "plcio_s7_client_busy": (c_bool, [P]),
    "plcio_s7_client_read_szl": (c_int, [P, c_uint16, c_uint16, c_void_p, c_size_t, POINTER(c_size_t)]),
    "plcio_s7_client_cpu_info": (c_int, [P, POINTER(S7CpuInfo)]),
    "plcio_s7_client_get_cpu_state": (c_int, [P, POINTER(c_int)]),
    "plcio_s7_client_list_blocks": (c_int, [P, POINTER(S7BlockCount)]),
    "plcio_s7_client_list_blocks_of_type": (c_int, [P, c_char_p, _u16p, c_size_t, POINTER(c_size_t)]),
    "plcio_s7_client_plc_stop": (c_int, [P]),
    "plcio_s7_client_plc_hot_start": (c_int, [P]),
    "plcio_s7_client_plc_cold_start": (c_int, [P]),
    "plcio_s7_client_get_clock": (c_int, [P, POINTER(S7Clock)]),
    "plcio_s7_client_set_clock": (c_int, [P, POINTER(S7Clock)]),
    # Modbus client
    "plcio_modbus_client_new": (c_int, [c_char_p, P, POINTER(P), pErr]),
    "plcio_modbus_client_free": (None, [P]),
    "plcio_modbus_client_connect": (c_int, [P]),
    "plcio_modbus_client_close": (None, [P]),
    "plcio_modbus_client_set_unit": (None, [P, c_uint8]),
    "plcio_modbus_client_unit": (c_uint8, [P]),
    "plcio_modbus_client_set_timeout": (c_int, [P, c_int]),
    "plcio_modbus_client_set_retries": (c_int, [P, c_uint]),
    "plcio_modbus_last_exception": (c_int, [P]),
    "plcio_modbus_client_last_error": (pErr, [P]),
    "plcio_modbus_client_is_connected": (c_bool, [P]),
    "plcio_modbus_read_coils": (c_int, [P, c_int, c_uint16, c_uint16, _u8p]),
    "plcio_modbus_read_discrete_inputs": (c_int, [P, c_int, c_uint16, c_uint16, _u8p]),
    "plcio_modbus_read_holding_registers": (c_int, [P, c_int, c_uint16, c_uint16, _u16p]),
    "plcio_modbus_read_input_registers": (c_int, [P, c_int, c_uint16, c_uint16, _u16p]),
    "plcio_modbus_write_coil": (c_int, [P, c_int, c_uint16, c_bool]),
    "plcio_modbus_write_register": (c_int, [P, c_int, c_uint16, c_uint16]),
    "plcio_modbus_write_coils": (c_int, [P, c_int, c_uint16, c_uint16, _u8p]),
    "plcio_modbus_write_registers": (c_int, [P, c_int, c_uint16, c_uint16, _u16p]),
    "plcio_modbus_mask_write_register": (c_int, [P, c_int, c_uint16, c_uint16, c_uint16]),
    "plcio_modbus_read_write_registers": (c_int, [P, c_int, c_uint16, c_uint16, _u16p, c_uint16, c_uint16, _u16p]),
    "plcio_modbus_read_address": (c_int, [P, c_int, c_char_p, MB_VALUE_CB, c_void_p, pErr]),
    "plcio_modbus_write_address": (c_int, [P, c_int, c_char_p, POINTER(c_char_p), c_size_t, pErr]),
    "plcio_modbus_transact_many": (c_int, [P, POINTER(MbRequest), c_size_t, c_size_t]),
    "plcio_modbus_client_connect_async": (c_int, [P]),
    "plcio_modbus_client_fd": (c_int, [P]),
    "plcio_modbus_client_set_depth": (c_int, [P, c_uint]),
    "plcio_modbus_submit": (c_int, [P, POINTER(MbRequest), MB_DONE, c_void_p]),
    "plcio_modbus_cancel": (c_bool, [P, POINTER(MbRequest)]),
    "plcio_modbus_client_pending": (c_size_t, [P]),
    "plcio_modbus_client_wants": (c_uint, [P, POINTER(c_uint64)]),
    "plcio_modbus_client_process": (c_int, [P]),
    # S7 server
    "plcio_s7_server_options_init": (None, [POINTER(S7ServerOptions)]),
    "plcio_s7_server_new": (c_int, [POINTER(S7ServerOptions), POINTER(P), pErr]),
    "plcio_s7_server_free": (None, [P]),
    "plcio_s7_server_add_area": (c_int, [P, c_int, c_uint16, c_size_t, c_void_p]),
    "plcio_s7_server_remove_area": (c_int, [P, c_int, c_uint16]),
    "plcio_s7_server_lock_area": (c_int, [P, c_int, c_uint16]),
    "plcio_s7_server_unlock_area": (c_int, [P, c_int, c_uint16]),
    "plcio_s7_server_start": (c_int, [P]),
    "plcio_s7_server_stop": (c_int, [P]),
    "plcio_s7_server_port": (c_uint16, [P]),
    "plcio_s7_server_client_count": (c_uint, [P]),
    "plcio_s7_server_get_cpu_state": (c_int, [P]),
    "plcio_s7_server_set_cpu_state": (None, [P, c_int]),
}

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def lib() -> ctypes.CDLL:
    """The loaded library with its prototypes declared (loaded on first use, so
    `import plcio` works without it for the shared-memory reader)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            handle = _load()
            missing = []
            for name, (res, args) in _PROTOS.items():
                try:
                    fn = getattr(handle, name)
                except AttributeError:
                    missing.append(name)
                    continue
                fn.restype = res
                fn.argtypes = args
            major = handle.plcio_version_hex() >> 16
            if major != ABI_MAJOR or missing:
                raise LibraryNotFound("plcio: %s is version %s, this package needs %d.x (missing: %s); rebuild "
                                      "the library or reinstall the package" % (
                                          handle._name, handle.plcio_version().decode(), ABI_MAJOR,
                                          ", ".join(missing) or "nothing"))
            _lib = handle
    return _lib


def path() -> str:
    """The file the library was loaded from."""
    return lib()._name


# ---- Modbus server (declared after the table above; registered in lib()) ----
class MbRange(Structure):
    _fields_ = [("start", c_uint16), ("count", c_uint32)]


class MbBankConfig(Structure):
    _fields_ = [("coils", MbRange), ("discrete_inputs", MbRange), ("holding_registers", MbRange),
                ("input_registers", MbRange), ("files", c_uint16)]


MB_READ_BITS = CFUNCTYPE(c_int, c_void_p, c_uint8, c_int, c_uint16, c_uint16, POINTER(c_uint8))
MB_READ_REGS = CFUNCTYPE(c_int, c_void_p, c_uint8, c_int, c_uint16, c_uint16, POINTER(c_uint16))
MB_WRITE_BITS = CFUNCTYPE(c_int, c_void_p, c_uint8, c_uint8, c_uint16, c_uint16, POINTER(c_uint8))
MB_WRITE_REGS = CFUNCTYPE(c_int, c_void_p, c_uint8, c_uint8, c_uint16, c_uint16, POINTER(c_uint16))


class MbCallbacks(Structure):
    _fields_ = [("read_bits", MB_READ_BITS), ("read_registers", MB_READ_REGS), ("write_bits", MB_WRITE_BITS),
                ("write_registers", MB_WRITE_REGS), ("read_file", c_void_p), ("write_file", c_void_p),
                ("read_fifo", c_void_p)]


_PROTOS.update({
    "plcio_modbus_bank_default": (MbBankConfig, [c_uint32]),
    "plcio_modbus_server_new": (c_int, [c_void_p, POINTER(c_void_p), pErr]),
    "plcio_modbus_server_free": (None, [c_void_p]),
    "plcio_modbus_server_add_unit": (c_int, [c_void_p, c_int, POINTER(MbBankConfig)]),
    "plcio_modbus_server_set_callbacks": (c_int, [c_void_p, c_int, POINTER(MbCallbacks), c_void_p]),
    "plcio_modbus_server_read_bank": (c_int, [c_void_p, c_int, c_int, c_uint16, c_uint16, POINTER(c_uint16)]),
    "plcio_modbus_server_write_bank": (c_int, [c_void_p, c_int, c_int, c_uint16, c_uint16, POINTER(c_uint16)]),
    "plcio_modbus_server_listen_tcp": (c_int, [c_void_p, c_char_p, c_int, POINTER(c_int)]),
    "plcio_modbus_server_run": (c_int, [c_void_p]),
    "plcio_modbus_server_stop": (None, [c_void_p]),
})


# ---- layouts and the sync engine ----
class LayoutMember(Structure):
    _fields_ = [("name", c_char_p), ("kind", c_int), ("type", c_int), ("length", c_uint), ("db_number", c_int),
                ("byte", c_uint32), ("bit", c_int), ("size", c_uint32), ("count", c_uint32), ("start", c_char_p),
                ("nlids", c_uint), ("lids", c_uint32 * 16), ("dims", c_uint), ("lower", c_int32 * 6),
                ("dim_count", c_uint32 * 6)]


class LayoutOptions(Structure):
    _fields_ = [("assume_standard", c_bool), ("accept_optimized", c_bool)]


class Clock(Structure):
    _fields_ = [("now", c_void_p), ("ctx", c_void_p)]


class SyncOptions(Structure):
    _fields_ = [("logger", Logger), ("shm_name", c_char_p), ("shm_mode", c_uint), ("shm_group", c_char_p),
                ("shm_write_mode", c_uint), ("shm_write_group", c_char_p), ("no_shm", c_bool), ("clock", Clock),
                ("drivers", c_void_p), ("driver_count", c_size_t), ("sinks", c_void_p), ("sink_count", c_size_t),
                ("no_json", c_bool), ("json_interval_ms", c_uint32)]


SYNC_WRITE_CB = CFUNCTYPE(None, c_void_p, c_int, c_char_p)

_PROTOS.update({
    "plcio_layout_set_new": (c_int, [POINTER(LayoutOptions), POINTER(c_void_p), pErr]),
    "plcio_layout_set_free": (None, [c_void_p]),
    "plcio_layout_set_add_file": (c_int, [c_void_p, c_char_p]),
    "plcio_layout_set_add_text": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t]),
    "plcio_layout_set_resolve": (c_int, [c_void_p]),
    "plcio_layout_set_last_error": (pErr, [c_void_p]),
    "plcio_layout_set_warning_count": (c_size_t, [c_void_p]),
    "plcio_layout_set_warning": (c_char_p, [c_void_p, c_size_t]),
    "plcio_layout_set_count": (c_size_t, [c_void_p]),
    "plcio_layout_set_get": (c_void_p, [c_void_p, c_size_t]),
    "plcio_layout_set_find": (c_void_p, [c_void_p, c_char_p]),
    "plcio_layout_name": (c_char_p, [c_void_p]),
    "plcio_layout_db_number": (c_int, [c_void_p]),
    "plcio_layout_size": (c_uint32, [c_void_p]),
    "plcio_layout_leaf_count": (c_size_t, [c_void_p]),
    "plcio_layout_leaf": (c_int, [c_void_p, c_size_t, POINTER(LayoutMember)]),
    "plcio_layout_lookup": (c_int, [c_void_p, c_char_p, POINTER(LayoutMember)]),
    "plcio_layout_start_image": (c_int, [c_void_p, c_void_p, c_size_t]),
    "plcio_layout_format_value": (c_int, [POINTER(LayoutMember), c_char_p, c_size_t, c_char_p, c_size_t, c_uint]),
    "plcio_sync_config_parse": (c_int, [c_char_p, c_size_t, c_char_p, c_char_p, POINTER(c_void_p), pErr]),
    "plcio_sync_config_load": (c_int, [c_char_p, POINTER(c_void_p), pErr]),
    "plcio_sync_config_free": (None, [c_void_p]),
    "plcio_sync_new": (c_int, [c_void_p, POINTER(SyncOptions), POINTER(c_void_p), pErr]),
    "plcio_sync_free": (None, [c_void_p]),
    "plcio_sync_run_once": (c_int, [c_void_p, c_int]),
    "plcio_sync_stop": (None, [c_void_p]),
    "plcio_sync_write": (c_int, [c_void_p, c_char_p, c_char_p, c_int, SYNC_WRITE_CB, c_void_p, pErr]),
    "plcio_sync_tag_count": (c_size_t, [c_void_p]),
    "plcio_sync_shm_name": (c_char_p, [c_void_p]),
})
