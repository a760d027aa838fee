# The Modbus client's event-loop mode against pymodbus, libmodbus and plcio's
# own server on a socat pseudo-terminal pair (modbus/test_modbus_async_peers.c).
# Included after modbus_libmodbus.cmake, which finds libmodbus and builds
# plcio_lmb_server.
if(LIBMODBUS_FOUND)
  plcio_add_test(interop_test_modbus_async_peers ${CMAKE_CURRENT_LIST_DIR}/modbus/test_modbus_async_peers.c interop)
  target_include_directories(interop_test_modbus_async_peers PRIVATE ${CMAKE_CURRENT_LIST_DIR}/modbus)
  add_dependencies(interop_test_modbus_async_peers plcio_lmb_server)
  set_property(TEST interop_test_modbus_async_peers APPEND PROPERTY ENVIRONMENT
    "PLCIO_LMB_SERVER=$<TARGET_FILE:plcio_lmb_server>")
endif()
