# LOGO! against python-snap7's Logo client (pure Python, run with Debian's
# /usr/bin/python3; found through PLCIO_PYTHON_SNAP7 or next to the repository in
# shared/peers/python-snap7): tests/interop/logo/. Exit 77 = python-snap7 not there.
add_test(NAME interop_logo_python_snap7
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/logo/test_logo.sh $<TARGET_FILE:plcio_cli>)
set_tests_properties(interop_logo_python_snap7 PROPERTIES LABELS "interop" TIMEOUT 120 SKIP_RETURN_CODE 77)
