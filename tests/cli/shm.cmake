# plcio shm: inspecting, following and writing through a live segment.
add_test(NAME cli_shm COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_shm_cli.sh $<TARGET_FILE:plcio_cli>)
set_tests_properties(cli_shm PROPERTIES LABELS "cli" TIMEOUT 120)
