# Fuzz harnesses (tests/fuzz/fuzz_<name>.c, each defining LLVMFuzzerTestOneInput)
# with seed corpora in tests/fuzz/corpus/<name>/ (kept in the repository; crash
# inputs found later go there too, as regressions).
#
# Every build: replay_<name> runs the harness over its corpus as a ctest (label fuzz).
# With -DPLCIO_FUZZ=ON (clang): fuzz_<name> is a libFuzzer binary; `make fuzz` runs
# each for a bounded time (scripts/fuzz.sh).
file(GLOB PLCIO_FUZZ_HARNESSES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/fuzz_*.c)
set(PLCIO_FUZZ_TARGETS "")
foreach(src ${PLCIO_FUZZ_HARNESSES})
  get_filename_component(base ${src} NAME_WE)
  string(REGEX REPLACE "^fuzz_" "" name ${base})
  set(corpus ${CMAKE_CURRENT_LIST_DIR}/corpus/${name})
  add_executable(replay_${name} ${src} ${CMAKE_CURRENT_LIST_DIR}/replay.c)
  target_link_libraries(replay_${name} PRIVATE plcio_test_support)
  plcio_apply_warnings(replay_${name})
  add_test(NAME fuzz_replay_${name} COMMAND replay_${name} ${corpus})
  set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS fuzz TIMEOUT 300)
  if(PLCIO_FUZZ)
    add_executable(fuzz_${name} ${src})
    target_link_libraries(fuzz_${name} PRIVATE plcio_test_support)
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    list(APPEND PLCIO_FUZZ_TARGETS fuzz_${name})
  endif()
endforeach()
if(PLCIO_FUZZ)
  add_custom_target(fuzz_all DEPENDS ${PLCIO_FUZZ_TARGETS})
endif()
