# The checks of `make check` checked themselves: the layer rule fails on planted
# violations (tests/ci/check_layers_test.sh; needs git and tar, copies the tree to a
# temporary folder). tests/ci/bootstrap_repair.sh is not here: it breaks the machine
# on purpose and runs in CI's fresh chroot only (.ci/run).
add_test(NAME check_layers COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_layers_test.sh)
set_tests_properties(check_layers PROPERTIES LABELS unit TIMEOUT 300)
