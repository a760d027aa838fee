# `plcio gateway modbus` between foreign peers (pymodbus, libmodbus, mbpoll,
# tshark): tests/interop/modbus/test_modbus_gateway.c.
plcio_add_test(interop_test_modbus_gateway ${CMAKE_CURRENT_LIST_DIR}/modbus/test_modbus_gateway.c interop)
add_dependencies(interop_test_modbus_gateway plcio_cli)
target_include_directories(interop_test_modbus_gateway PRIVATE ${CMAKE_CURRENT_LIST_DIR})
pkg_check_modules(LIBMODBUS IMPORTED_TARGET libmodbus)
if(LIBMODBUS_FOUND)
  # plcio_lmb_client comes from modbus_libmodbus.cmake (resolved when the build is generated)
  add_dependencies(interop_test_modbus_gateway plcio_lmb_client)
  set_property(TEST interop_test_modbus_gateway APPEND PROPERTY ENVIRONMENT
    "PLCIO_LMB_CLIENT=$<TARGET_FILE:plcio_lmb_client>")
endif()

# The sync engine's modbus-server output read by pymodbus and mbpoll while the S7 simulator changes.
plcio_add_test(interop_test_sync_modbus_server ${CMAKE_CURRENT_LIST_DIR}/modbus/test_sync_modbus_server.c interop)
add_dependencies(interop_test_sync_modbus_server plcio_cli)
target_include_directories(interop_test_sync_modbus_server PRIVATE ${CMAKE_CURRENT_LIST_DIR})
