# bench_sync: the sync engine's figures (issue 7) against snap7's naive
# whole-DB loop, on snap7's server and on plcio's; needs snap7.a (npm, node-snap7).
set(PLCIO_SNAP7_A ${PROJECT_SOURCE_DIR}/tests/interop/node_modules/node-snap7/build/Release/snap7.a)
if(EXISTS ${PLCIO_SNAP7_A})
  add_executable(bench_sync ${CMAKE_CURRENT_LIST_DIR}/sync_bench.c)
  add_dependencies(bench_all bench_sync)
  target_link_libraries(bench_sync PRIVATE plcio_static ${PLCIO_SNAP7_A} stdc++ pthread)
  target_compile_definitions(bench_sync PRIVATE _GNU_SOURCE)
  plcio_apply_warnings(bench_sync)
else()
  message(STATUS "bench_sync skipped: ${PLCIO_SNAP7_A} not built (scripts/bootstrap.sh)")
endif()
