# Ranges of `plcio sim modbus` backed by a remote device (pymodbus on both sides):
# tests/interop/modbus/test_modbus_backed.c.
plcio_add_test(interop_test_modbus_backed ${CMAKE_CURRENT_LIST_DIR}/modbus/test_modbus_backed.c interop)
add_dependencies(interop_test_modbus_backed plcio_cli)
target_include_directories(interop_test_modbus_backed PRIVATE ${CMAKE_CURRENT_LIST_DIR})
