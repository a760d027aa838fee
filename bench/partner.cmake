# S7 partner bench: plcio <-> plcio against python-snap7 <-> python-snap7
# (bench/partner_python.py; python-snap7 from PLCIO_PYTHON_SNAP7 or shared/peers).
add_executable(bench_partner ${CMAKE_CURRENT_LIST_DIR}/bench_partner.c)
find_package(Threads REQUIRED)
target_link_libraries(bench_partner PRIVATE plcio_static Threads::Threads)
target_compile_definitions(bench_partner PRIVATE _GNU_SOURCE PLCIO_BENCH_DIR="${CMAKE_CURRENT_LIST_DIR}")
plcio_apply_warnings(bench_partner)
add_dependencies(bench_all bench_partner)
