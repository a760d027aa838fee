#include "sync_mqtt.h"

#include <string.h>

#include "cli.h"
#include "commands.h"

int sync_mqtt_setup(const plcio_sync_config *cfg, const plcio_logger *logger, sync_mqtt *out, plcio_sync_sink *sinks,
                    size_t *n)
{
    memset(out, 0, sizeof *out);
    plcio_mqtt_options o;
    memset(&o, 0, sizeof o);
    o.logger = *logger;
    for (size_t i = 0; i < cfg->output_count; i++) {
        const plcio_sync_output_spec *spec = &cfg->outputs[i];
        if (spec->kind != PLCIO_OUTPUT_MQTT) continue;
        if (out->count == SYNC_MQTT_MAX) return cli_error(PLCIO_EXIT_USAGE, "at most %d mqtt outputs", SYNC_MQTT_MAX);
        plcio_error err;
        plcio_error_clear(&err);
        int rc = plcio_mqtt_new(spec->mqtt, &o, &out->outs[out->count], &err);
        if (rc != PLCIO_OK)
            return cli_error(PLCIO_EXIT_USAGE, "output %zu (line %u): %s", i + 1, spec->line,
                             err.text[0] ? err.text : plcio_strerror(rc));
        plcio_mqtt_sink(out->outs[out->count], &sinks[(*n)++]);
        out->count++;
    }
    return PLCIO_EXIT_OK;
}

int sync_mqtt_start(sync_mqtt *mq, plcio_sync *s)
{
    for (size_t i = 0; i < mq->count; i++) {
        plcio_error err;
        plcio_error_clear(&err);
        int rc = plcio_mqtt_start(mq->outs[i], s, &err);
        if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_FAILURE, "%s", err.text[0] ? err.text : plcio_strerror(rc));
    }
    return PLCIO_EXIT_OK;
}

void sync_mqtt_print_stats(FILE *out, const sync_mqtt *mq)
{
    for (size_t i = 0; i < mq->count; i++) {
        plcio_mqtt_stats st;
        plcio_mqtt_get_stats(mq->outs[i], &st);
        fprintf(out,
                "mqtt %s %s: %llu published, %zu queued (peak %zu of %zu), %llu dropped, %llu connections, "
                "%llu commands, writes %llu ok / %llu failed\n",
                st.broker ? st.broker : "?", st.connected ? "connected" : "DOWN", (unsigned long long)st.published,
                st.queued, st.queue_peak, st.queue_capacity, (unsigned long long)st.dropped,
                (unsigned long long)st.connects, (unsigned long long)st.commands, (unsigned long long)st.writes_ok,
                (unsigned long long)st.writes_failed);
    }
    fflush(out);
}

void sync_mqtt_free(sync_mqtt *mq)
{
    for (size_t i = 0; i < mq->count; i++)
        plcio_mqtt_free(mq->outs[i]);
    mq->count = 0;
}
