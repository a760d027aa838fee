# bench_modbus: plcio's Modbus TCP client and server against libmodbus's
# (Debian libmodbus-dev, via pkg-config), 125-register reads on loopback,
# requests per second and ratios. Not named bench_*.c so the generic glob
# does not build it without libmodbus.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PLCIO_BENCH_LIBMODBUS IMPORTED_TARGET libmodbus)
endif()
if(PLCIO_BENCH_LIBMODBUS_FOUND)
  add_executable(bench_modbus ${CMAKE_CURRENT_LIST_DIR}/modbus_bench.c)
  add_dependencies(bench_all bench_modbus)
  target_link_libraries(bench_modbus PRIVATE plcio_static PkgConfig::PLCIO_BENCH_LIBMODBUS pthread)
  target_compile_definitions(bench_modbus PRIVATE _GNU_SOURCE)
  plcio_apply_warnings(bench_modbus)
else()
  message(STATUS "bench_modbus skipped: libmodbus not found (scripts/bootstrap.sh)")
endif()
