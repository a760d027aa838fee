# bench_s7_server: plcio's S7 server vs snap7's server (from the snap7.a that
# npm builds for node-snap7 in tests/interop; skipped when it is not there),
# both driven by plcio's client, next to a raw TCP ping-pong. The source is not
# named bench_*.c so the generic glob does not build it without snap7.a.
set(PLCIO_SNAP7_A ${PROJECT_SOURCE_DIR}/tests/interop/node_modules/node-snap7/build/Release/snap7.a)
if(EXISTS ${PLCIO_SNAP7_A})
  add_executable(bench_s7_server ${CMAKE_CURRENT_LIST_DIR}/s7_bench_server.c)
  add_dependencies(bench_all bench_s7_server)
  target_link_libraries(bench_s7_server PRIVATE plcio_static ${PLCIO_SNAP7_A} stdc++ pthread)
  target_include_directories(bench_s7_server PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(bench_s7_server PRIVATE _GNU_SOURCE)
  plcio_apply_warnings(bench_s7_server)
else()
  message(STATUS "bench_s7_server skipped: ${PLCIO_SNAP7_A} not built (scripts/bootstrap.sh)")
endif()
