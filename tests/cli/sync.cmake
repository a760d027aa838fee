# plcio sync and plcio demo: the main job from the command line.
add_test(NAME cli_sync
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_sync_cli.sh $<TARGET_FILE:plcio_cli> ${PLCIO_FIXTURES_DIR})
set_tests_properties(cli_sync PROPERTIES LABELS "cli" TIMEOUT 180)
# plcio sync with s7plus:// (and s7://...?protocol=plus|auto) devices against plcio sim s7.
add_test(NAME cli_sync_s7plus COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_sync_s7plus.sh $<TARGET_FILE:plcio_cli>)
set_tests_properties(cli_sync_s7plus PROPERTIES LABELS "cli" TIMEOUT 180)
# plcio sync with groups fed by S7CommPlus subscriptions (--subscribe, subscribe: true).
add_test(NAME cli_sync_s7plus_sub COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_sync_s7plus_sub.sh $<TARGET_FILE:plcio_cli>)
set_tests_properties(cli_sync_s7plus_sub PROPERTIES LABELS "cli" TIMEOUT 180)
