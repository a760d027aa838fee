# Ranges of `plcio sim s7` backed by a remote S7 device (a second plcio sim s7),
# read and written by python-snap7's classic client (pure Python, Debian's
# /usr/bin/python3; PLCIO_PYTHON_SNAP7 or shared/peers/python-snap7 next to the
# repository): tests/interop/s7backed/. Exit 77 = python-snap7 not there.
add_test(NAME interop_s7_backed_python_snap7
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/s7backed/test_s7_backed.sh $<TARGET_FILE:plcio_cli>)
set_tests_properties(interop_s7_backed_python_snap7 PROPERTIES LABELS "interop" TIMEOUT 180 SKIP_RETURN_CODE 77)
