# S7CommPlus interop with python-snap7's S7CommPlus emulator and client (a pure
# Python peer, run with Debian's /usr/bin/python3; found through PLCIO_PYTHON_SNAP7
# or next to the repository in shared/peers/python-snap7). The test skips (77)
# with the reason printed when python-snap7 is not there.
plcio_add_test(interop_test_s7plus_python_snap7 ${CMAKE_CURRENT_LIST_DIR}/s7plus/test_s7plus_python_snap7.c interop)
set_tests_properties(interop_test_s7plus_python_snap7 PROPERTIES SKIP_RETURN_CODE 77)
