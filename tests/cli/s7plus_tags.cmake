# PLC tags by name (plcio sim s7 --tags, plcio browse --tags, read/write/sync by name).
add_test(NAME cli_s7plus_tags COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_s7plus_tags_cli.sh $<TARGET_FILE:plcio_cli>
                                      ${PROJECT_SOURCE_DIR}/tests/fixtures/s7plus_symbolic/plc_tags.csv)
set_tests_properties(cli_s7plus_tags PROPERTIES LABELS "cli" TIMEOUT 120)
