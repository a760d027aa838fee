# plcio layout: output (text and JSON) and exit codes, driven by a shell script.
add_test(NAME cli_layout
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_layout_cli.sh $<TARGET_FILE:plcio_cli> ${PLCIO_FIXTURES_DIR})
set_tests_properties(cli_layout PROPERTIES LABELS cli TIMEOUT 120)
