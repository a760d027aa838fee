# Historian outputs against real servers started by the tests (PostgreSQL 15,
# InfluxDB 1.x): tests/interop/historian/. Exit 77 = the server is not installed.
foreach(peer pg influx)
  add_test(NAME interop_historian_${peer}
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/historian/test_historian_${peer}.sh $<TARGET_FILE:plcio_cli> ${PLCIO_FIXTURES_DIR})
  set_tests_properties(interop_historian_${peer} PROPERTIES LABELS "interop" TIMEOUT 300 SKIP_RETURN_CODE 77)
endforeach()
