# The option layer: --help, man pages and bash completion of every command
# against its option table; --opt=value; old spellings (plcio sim).
add_test(NAME cli_options
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_cli_options.sh $<TARGET_FILE:plcio_cli>)
set_tests_properties(cli_options PROPERTIES LABELS "cli" TIMEOUT 300)
