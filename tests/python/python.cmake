# The Python reader/writer of the shared memory (python/plcio), its examples,
# against the C engine: a C peer (shm_peer.c, the plcio writer and C reader),
# plcio sim s7 + plcio sync, plcio demo. Run with /usr/bin/python3 (unittest).
add_executable(plcio_shm_peer ${CMAKE_CURRENT_LIST_DIR}/shm_peer.c)
target_link_libraries(plcio_shm_peer PRIVATE plcio_static)
plcio_apply_warnings(plcio_shm_peer)
add_executable(plcio_ring_race ${CMAKE_CURRENT_LIST_DIR}/ring_race.c)
target_link_libraries(plcio_ring_race PRIVATE plcio_static)
plcio_apply_warnings(plcio_ring_race)

set(PLCIO_PYTHON /usr/bin/python3)
set(PLCIO_PY_ENV
  "PYTHONPATH=${PROJECT_SOURCE_DIR}/python"
  "PYTHONDONTWRITEBYTECODE=1"
  "PLCIO_SHM_PEER=$<TARGET_FILE:plcio_shm_peer>"
  "PLCIO_RING_RACE=$<TARGET_FILE:plcio_ring_race>"
  "PLCIO_FIXTURES=${PLCIO_FIXTURES_DIR}"
  "PLCIO_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
if(TARGET plcio_cli)
  list(APPEND PLCIO_PY_ENV "PLCIO_BIN=$<TARGET_FILE:plcio_cli>")
endif()

file(GLOB PLCIO_PY_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.py)
foreach(script ${PLCIO_PY_TESTS})
  get_filename_component(module ${script} NAME_WE)
  string(REGEX REPLACE "^test_" "" case ${module})
  add_test(NAME python_${case}
    COMMAND ${PLCIO_PYTHON} -m unittest -v ${module}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(python_${case} PROPERTIES LABELS "python" TIMEOUT 240 ENVIRONMENT "${PLCIO_PY_ENV}")
endforeach()
