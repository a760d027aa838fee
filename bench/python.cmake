# The Python package's benchmark (bench/python_clients.py, run by bench/run.sh): its
# C baseline plcio_py_c_loop (not named bench_* so run.sh does not run it bare).
add_executable(plcio_py_c_loop ${CMAKE_CURRENT_LIST_DIR}/py_c_loop.c)
target_link_libraries(plcio_py_c_loop PRIVATE plcio)
target_compile_definitions(plcio_py_c_loop PRIVATE _GNU_SOURCE)
plcio_apply_warnings(plcio_py_c_loop)
add_dependencies(bench_all plcio_py_c_loop plcio)
