# plcio sim s7 / sim modbus --churn: values that change by themselves, read by
# snap7's client (node-snap7) and pymodbus's.
add_test(NAME cli_sim_churn
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_sim_churn.sh $<TARGET_FILE:plcio_cli> ${PLCIO_INTEROP_DIR})
set_tests_properties(cli_sim_churn PROPERTIES LABELS "cli;interop" TIMEOUT 120)
