# plcio read/write/watch/info/blocks against snap7's server (node-snap7).
add_test(NAME cli_s7
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_s7_cli.sh $<TARGET_FILE:plcio_cli> ${PLCIO_INTEROP_DIR})
set_tests_properties(cli_s7 PROPERTIES LABELS "cli;interop" TIMEOUT 180)
