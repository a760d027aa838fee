# make install into a temporary PREFIX: binary, generated man pages, completion.
add_test(NAME cli_install COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_install.sh ${CMAKE_BINARY_DIR})
set_tests_properties(cli_install PROPERTIES LABELS "cli" TIMEOUT 120)
