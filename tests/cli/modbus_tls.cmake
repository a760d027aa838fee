# Modbus/TCP Security (modbus-tls://, plcio sim modbus --tls) against openssl s_client and
# pymodbus 3.0's TLS client and server (Debian python3-pymodbus), with certificates made
# at run time; the engine on a modbus-tls device. Skips (77) only without openssl or pymodbus.
add_test(NAME cli_modbus_tls COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_modbus_tls.sh $<TARGET_FILE:plcio_cli>
  ${PLCIO_INTEROP_DIR}/modbus)
set_tests_properties(cli_modbus_tls PROPERTIES LABELS "cli;interop" TIMEOUT 240 SKIP_RETURN_CODE 77)
