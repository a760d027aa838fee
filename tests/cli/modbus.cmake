# plcio read/write/watch/info with modbus-* URLs against pymodbus's server
# and plcio sim modbus.
add_test(NAME cli_modbus
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_modbus_cli.sh $<TARGET_FILE:plcio_cli> ${PLCIO_INTEROP_DIR})
set_tests_properties(cli_modbus PROPERTIES LABELS "cli;interop" TIMEOUT 180)
