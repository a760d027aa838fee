# plcio read/write with s7plus:// URLs against plcio sim s7 (S7CommPlus, TLS and V1).
add_test(NAME cli_s7plus COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_s7plus_cli.sh $<TARGET_FILE:plcio_cli>)
set_tests_properties(cli_s7plus PROPERTIES LABELS "cli" TIMEOUT 120)
