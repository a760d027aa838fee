# The HTTP output (src/out, plcio/http.h) against plcio sim s7: the REST API,
# the event stream, /metrics under promtool, TLS and tokens (Python, standard
# library only), and the console in Debian's chromium driven by puppeteer-core
# (tests/web/package.json, installed by scripts/bootstrap.sh).
if(TARGET plcio_cli)
  set(PLCIO_WEB_ENV "PLCIO_BIN=$<TARGET_FILE:plcio_cli>" "PLCIO_FIXTURES=${PLCIO_FIXTURES_DIR}"
    "PYTHONDONTWRITEBYTECODE=1")
  add_test(NAME web_http_api COMMAND /usr/bin/python3 -m unittest -v test_http_api
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(web_http_api PROPERTIES LABELS "web" TIMEOUT 300 ENVIRONMENT "${PLCIO_WEB_ENV}")
  add_test(NAME web_console_chromium COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_console.sh
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(web_console_chromium PROPERTIES LABELS "web" TIMEOUT 300
    ENVIRONMENT "${PLCIO_WEB_ENV};PLCIO_WEB_OUT=${CMAKE_CURRENT_BINARY_DIR}/web-out")
endif()
