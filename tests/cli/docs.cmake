# Docs that cannot lie: every command block of README.md and docs/*.md is run
# against plcio's simulators (or marked no-run with a reason) by doc_blocks.py.
add_test(NAME cli_docs
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/doc_blocks.py $<TARGET_FILE:plcio_cli> ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_docs PROPERTIES LABELS "cli" TIMEOUT 180 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
