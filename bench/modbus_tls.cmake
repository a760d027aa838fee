# bench_modbus_tls: Modbus/TCP Security (TLS) against plain Modbus/TCP, plcio's client
# against plcio's server and pymodbus 3.0's (child processes run from the source tree's
# tests/interop/modbus). Defined here for the source directory it needs.
add_executable(bench_modbus_tls ${CMAKE_CURRENT_LIST_DIR}/bench_modbus_tls.c)
target_link_libraries(bench_modbus_tls PRIVATE plcio_static pthread)
target_compile_definitions(bench_modbus_tls PRIVATE _GNU_SOURCE PLCIO_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
plcio_apply_warnings(bench_modbus_tls)
add_dependencies(bench_all bench_modbus_tls)
