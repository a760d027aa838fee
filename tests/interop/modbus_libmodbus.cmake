# Modbus interop with libmodbus (Debian libmodbus-dev): two small C peers
# (tests/interop/modbus/lmb_server.c, lmb_client.c) built against it, and
# the test that runs them against plcio's client and `plcio sim modbus`.
pkg_check_modules(LIBMODBUS IMPORTED_TARGET libmodbus)
if(LIBMODBUS_FOUND)
  foreach(peer lmb_server lmb_client)
    add_executable(plcio_${peer} ${CMAKE_CURRENT_LIST_DIR}/modbus/${peer}.c)
    target_link_libraries(plcio_${peer} PRIVATE PkgConfig::LIBMODBUS)
  endforeach()
  plcio_add_test(interop_test_modbus_libmodbus ${CMAKE_CURRENT_LIST_DIR}/modbus/test_modbus_libmodbus.c interop)
  add_dependencies(interop_test_modbus_libmodbus plcio_lmb_server plcio_lmb_client plcio_cli)
  set_property(TEST interop_test_modbus_libmodbus APPEND PROPERTY ENVIRONMENT
    "PLCIO_LMB_SERVER=$<TARGET_FILE:plcio_lmb_server>;PLCIO_LMB_CLIENT=$<TARGET_FILE:plcio_lmb_client>")
else()
  message(WARNING "libmodbus not found: Modbus interop tests with libmodbus are not built (scripts/bootstrap.sh installs it)")
endif()
