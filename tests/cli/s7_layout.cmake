# plcio read/write/watch with --layout: member names as addresses, against
# plcio sim s7 (DBs from layout files) and snap7's server (node-snap7).
add_test(NAME cli_s7_layout
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_s7_layout_cli.sh $<TARGET_FILE:plcio_cli> ${PLCIO_FIXTURES_DIR}
          ${PLCIO_INTEROP_DIR})
set_tests_properties(cli_s7_layout PROPERTIES LABELS "cli;interop" TIMEOUT 180)
