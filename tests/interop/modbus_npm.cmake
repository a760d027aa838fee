# Modbus interop with the npm modbus-serial client (tests/interop/modbus/).
plcio_add_test(interop_test_modbus_serial_npm ${CMAKE_CURRENT_LIST_DIR}/modbus/test_modbus_serial_npm.c interop)
add_dependencies(interop_test_modbus_serial_npm plcio_cli)
