# Load tests (label "load"): 200 concurrent clients against `plcio sim s7` and
# `plcio sim modbus` for PLCIO_LOAD_SECONDS each (default 5), loopback only.
if(TARGET plcio_cli)
  find_package(Threads REQUIRED)
  plcio_add_test(load_servers ${CMAKE_CURRENT_LIST_DIR}/test_load_servers.c load Threads::Threads)
  add_dependencies(load_servers plcio_cli)
endif()

# Issue 23: 600 idle or half-open connections must not lock a real client
# (plcio's, snap7's, pymodbus's) out of `plcio sim s7` / `plcio sim modbus`.
if(TARGET plcio_cli)
  plcio_add_test(load_hostile_clients ${CMAKE_CURRENT_LIST_DIR}/test_hostile_clients.c load)
  add_dependencies(load_hostile_clients plcio_cli)
  set_property(TEST load_hostile_clients APPEND PROPERTY ENVIRONMENT "PLCIO_LOAD_DIR=${CMAKE_CURRENT_LIST_DIR}")
endif()
