# Sparkplug B (src/mqtt/sparkplug*.c) against real peers: a mosquitto broker and
# Tahu's sparkplug-payload as the foreign decoder (tests/sparkplug/package.json,
# installed by scripts/bootstrap.sh); the fleet on a 3-node NATS JetStream
# cluster (Debian nats-server and its MQTT listener). Both skip (77) only when a
# peer is not installed.
add_test(NAME sparkplug_mosquitto
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_sparkplug_mosquitto.sh $<TARGET_FILE:plcio_cli>)
set_tests_properties(sparkplug_mosquitto PROPERTIES LABELS "interop" TIMEOUT 300 SKIP_RETURN_CODE 77)
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_fleet_nats.sh)
  add_test(NAME sparkplug_fleet_nats
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_fleet_nats.sh $<TARGET_FILE:plcio_cli>)
  set_tests_properties(sparkplug_fleet_nats PROPERTIES LABELS "interop" TIMEOUT 600 SKIP_RETURN_CODE 77)
endif()
