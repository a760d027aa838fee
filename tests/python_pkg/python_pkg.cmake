# The Python package (python/plcio) over libplcio: clients, compat modules, install,
# consistency with the C headers. pytest with Debian's /usr/bin/python3; the package
# loads this build's libplcio.so through PLCIO_LIBRARY.
#
# Sanitizer build: libplcio.so is instrumented, and /usr/bin/python3 is not, so the
# ASan runtime must be the first library loaded: LD_PRELOAD of clang's shared runtime
# (the tests take it out again for the plcio CLI children, which carry their own).
# Leak checking is off for the interpreter (CPython keeps memory until exit by design).
add_executable(plcio_py_abi_probe ${CMAKE_CURRENT_LIST_DIR}/abi_probe.c)
target_link_libraries(plcio_py_abi_probe PRIVATE plcio_static)
plcio_apply_warnings(plcio_py_abi_probe)

set(PLCIO_PYPKG_ENV
  "PYTHONPATH=${PROJECT_SOURCE_DIR}/python"
  "PYTHONDONTWRITEBYTECODE=1"
  "PLCIO_LIBRARY=$<TARGET_FILE:plcio>"
  "PLCIO_ABI_PROBE=$<TARGET_FILE:plcio_py_abi_probe>"
  "PLCIO_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
  "PLCIO_BUILD_DIR=${PROJECT_BINARY_DIR}")
if(TARGET plcio_cli)
  list(APPEND PLCIO_PYPKG_ENV "PLCIO_BIN=$<TARGET_FILE:plcio_cli>")
endif()
if(PLCIO_SANITIZE)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libclang_rt.asan-x86_64.so
    OUTPUT_VARIABLE PLCIO_ASAN_RUNTIME OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND PLCIO_PYPKG_ENV "LD_PRELOAD=${PLCIO_ASAN_RUNTIME}" "PLCIO_ASAN_PRELOAD=${PLCIO_ASAN_RUNTIME}"
    "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1" "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()

file(GLOB PLCIO_PYPKG_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.py)
foreach(script ${PLCIO_PYPKG_TESTS})
  get_filename_component(module ${script} NAME_WE)
  string(REGEX REPLACE "^test_" "" case ${module})
  add_test(NAME pypkg_${case}
    COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider -x ${script}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(pypkg_${case} PROPERTIES LABELS "python" TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "${PLCIO_PYPKG_ENV}")
endforeach()
# pip and venv runs are heavy: alone, so they do not starve timing-sensitive tests running beside them
set_tests_properties(pypkg_install PROPERTIES RUN_SERIAL TRUE)
