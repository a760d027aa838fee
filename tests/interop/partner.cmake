# S7 partner (BSend/BRecv) against python-snap7's Partner (pure Python, run with
# Debian's /usr/bin/python3; found through PLCIO_PYTHON_SNAP7 or next to the
# repository in shared/peers/python-snap7), and plcio against itself for
# fragmented blocks: tests/interop/partner/. Exit 77 = python-snap7 not there.
add_test(NAME interop_partner_python_snap7
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/partner/test_partner.sh $<TARGET_FILE:plcio_cli>)
set_tests_properties(interop_partner_python_snap7 PROPERTIES LABELS "interop" TIMEOUT 180 SKIP_RETURN_CODE 77)
