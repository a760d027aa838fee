# plcio upload / delete / download: a DB's round trip through plcio sim s7, bad
# block-transfer frames against the simulator, and snap7's server (a CPU that
# refuses block transfers as protected).
add_test(NAME cli_s7_blocks
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_s7_blocks_cli.sh $<TARGET_FILE:plcio_cli> ${PLCIO_INTEROP_DIR})
set_tests_properties(cli_s7_blocks PROPERTIES LABELS "cli;interop" TIMEOUT 180 ENVIRONMENT "PLCIO_TEST_RUN=1")
