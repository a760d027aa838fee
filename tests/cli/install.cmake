# make install into a temporary PREFIX: binary, generated man pages, completion,
# the Python package, the pkg-config file (a program built against it, shared and static).
add_test(NAME cli_install COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_install.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(cli_install PROPERTIES LABELS "cli" TIMEOUT 600)
