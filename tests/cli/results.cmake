# plcio read/watch per-item outcomes, valid JSON, array writes, and the S7
# administration commands / Modbus diag against snap7's and pymodbus's servers
# and plcio's simulators.
add_test(NAME cli_results
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_cli_results.sh $<TARGET_FILE:plcio_cli> ${PLCIO_INTEROP_DIR})
set_tests_properties(cli_results PROPERTIES LABELS "cli;interop" TIMEOUT 240)
