# plcio sync and plcio demo: the main job from the command line.
add_test(NAME cli_sync
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_sync_cli.sh $<TARGET_FILE:plcio_cli> ${PLCIO_FIXTURES_DIR})
set_tests_properties(cli_sync PROPERTIES LABELS "cli" TIMEOUT 180)
