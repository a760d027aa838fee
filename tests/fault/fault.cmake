# Network fault tests (label "fault"): the fault-injecting proxy of
# tests/support/fault_proxy.h between plcio's clients or sync engine and a
# server (plcio sim, snap7, pymodbus). Each test runs well under a minute.
# Run: ctest -L fault --output-on-failure
if(TARGET plcio_cli)
  file(GLOB PLCIO_FAULT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_fault_*.c)
  foreach(src ${PLCIO_FAULT_TESTS})
    get_filename_component(name ${src} NAME_WE)
    string(REPLACE "test_" "" name ${name})
    plcio_add_test(${name} ${src} fault)
    add_dependencies(${name} plcio_cli)
    # A test that cannot run here (no network namespaces) exits 77: skipped.
    set_tests_properties(${name} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
  endforeach()
endif()
