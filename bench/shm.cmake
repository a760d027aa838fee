# bench_shm: snapshot read latency and the ring round trip (issue 7), with
# the Python reader's figures (bench/shm_python.py) when python3 is there.
add_executable(bench_shm ${CMAKE_CURRENT_LIST_DIR}/shm_bench.c)
add_dependencies(bench_all bench_shm)
target_link_libraries(bench_shm PRIVATE plcio_static pthread)
target_include_directories(bench_shm PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(bench_shm PRIVATE _GNU_SOURCE PLCIO_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
plcio_apply_warnings(bench_shm)
