# The MQTT output against a real mosquitto broker started by the test, with
# foreign clients (mosquitto_sub/_pub, npm mqtt pinned in tests/interop/mqtt).
# Exit 77 = mosquitto or the npm client is not installed (scripts/bootstrap.sh does both).
add_test(NAME interop_mqtt
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mqtt/test_mqtt.sh $<TARGET_FILE:plcio_cli> ${PLCIO_FIXTURES_DIR})
set_tests_properties(interop_mqtt PROPERTIES LABELS "interop" TIMEOUT 300 SKIP_RETURN_CODE 77)

# The queue file across kill -9 (a torn record appended), its bound, and broker names
# resolved off the engine's thread (a name server that hangs: slow_dns.c, preloaded;
# nosuch.invalid; localhost when /etc/hosts maps it).
add_library(plcio_test_slow_dns MODULE ${CMAKE_CURRENT_LIST_DIR}/mqtt/slow_dns.c)
target_link_libraries(plcio_test_slow_dns PRIVATE ${CMAKE_DL_LIBS})
add_test(NAME interop_mqtt_spool
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mqtt/test_mqtt_spool.sh $<TARGET_FILE:plcio_cli> ${PLCIO_FIXTURES_DIR}
    $<TARGET_FILE:plcio_test_slow_dns>)
set_tests_properties(interop_mqtt_spool PROPERTIES LABELS "interop" TIMEOUT 300 SKIP_RETURN_CODE 77)
