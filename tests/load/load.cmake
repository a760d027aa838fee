# Load tests (label "load"): 200 concurrent clients against `plcio sim s7` and
# `plcio sim modbus` for PLCIO_LOAD_SECONDS each (default 5), loopback only.
if(TARGET plcio_cli)
  find_package(Threads REQUIRED)
  plcio_add_test(load_servers ${CMAKE_CURRENT_LIST_DIR}/test_load_servers.c load Threads::Threads)
  add_dependencies(load_servers plcio_cli)
endif()
