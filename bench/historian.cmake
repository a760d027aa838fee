# bench_historian: rows per second into PostgreSQL and InfluxDB (issue 22); it
# starts both servers itself through historian_servers.sh.
add_executable(bench_historian ${CMAKE_CURRENT_LIST_DIR}/historian_bench.c)
add_dependencies(bench_all bench_historian)
target_link_libraries(bench_historian PRIVATE plcio_static)
target_compile_definitions(bench_historian PRIVATE _GNU_SOURCE
  PLCIO_HIST_SERVERS="${CMAKE_CURRENT_LIST_DIR}/historian_servers.sh")
plcio_apply_warnings(bench_historian)
