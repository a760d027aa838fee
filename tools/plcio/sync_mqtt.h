/* `plcio sync --mqtt URL` and the config's `outputs: - mqtt:` entries: the MQTT
 * outputs (plcio/mqtt.h), built, started and reported here. */
#ifndef PLCIO_TOOL_SYNC_MQTT_H
#define PLCIO_TOOL_SYNC_MQTT_H

#include <stdio.h>

#include "plcio/mqtt.h"

#define SYNC_MQTT_MAX 8

typedef struct sync_mqtt {
    plcio_mqtt *outs[SYNC_MQTT_MAX];
    size_t count;
} sync_mqtt;

/* Build one output per mqtt entry of cfg; appends their sinks to sinks[*n]
 * (room for SYNC_MQTT_MAX more). Returns an exit status (errors reported). */
int sync_mqtt_setup(const plcio_sync_config *cfg, const plcio_logger *logger, sync_mqtt *out, plcio_sync_sink *sinks,
                    size_t *n);
/* Connect them on the engine's loop; returns an exit status. */
int sync_mqtt_start(sync_mqtt *mq, plcio_sync *s);
/* One line per output: connected, published, queued, dropped, writes. */
void sync_mqtt_print_stats(FILE *out, const sync_mqtt *mq);
void sync_mqtt_free(sync_mqtt *mq);

#endif
