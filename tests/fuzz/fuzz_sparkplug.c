/* The Sparkplug B decoder and the edge node's command handling: any bytes on
 * NCMD, DCMD or the primary host's STATE give a write, a rebirth, a refusal
 * or an error, never a crash. The first byte picks the topic. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/sparkplug.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const plcio_sink_tag tags[] = {
    {.name = "Level", .device = "plc1", .group = "g", .type = PLCIO_TYPE_REAL, .size = 4},
    {.name = "Temp", .device = "plc1", .group = "g", .type = PLCIO_TYPE_INT, .size = 2},
    {.name = "Run", .device = "plc1", .group = "g", .type = PLCIO_TYPE_BOOL, .bit = 1, .size = 1},
    {.name = "Recipe", .device = "plc1", .group = "g", .type = PLCIO_TYPE_STRING, .length = 8, .size = 10},
    {.name = "Total", .device = "plc2", .group = "g", .type = PLCIO_TYPE_ULINT, .size = 8},
};

static size_t writes;

static int emit(void *ctx, const char *topic, const uint8_t *payload, size_t len, int qos, bool retain)
{
    (void)ctx;
    (void)qos;
    (void)retain;
    if (!topic || (len && !payload)) abort();
    return 0;
}

static void on_write(void *ctx, size_t tag, const char *text)
{
    (void)ctx;
    if (tag >= sizeof tags / sizeof tags[0] || !text) abort();
    writes++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const char *const topics[] = {"spBv1.0/g/NCMD/n", "spBv1.0/g/DCMD/n/plc1", "spBv1.0/g/DCMD/n/plc2",
                                         "spBv1.0/STATE/host"};
    static const char *const writable[] = {"*"};
    spb_node_config cfg = {.group_id = "g",
                           .node_id = "n",
                           .primary_host = "host",
                           .writable = writable,
                           .writable_count = 1,
                           .history_max = 4};
    spb_node *n = NULL;
    if (spb_node_new(&cfg, tags, sizeof tags / sizeof tags[0], emit, on_write, NULL, &n, NULL) != 0) abort();
    char topic[SPB_TOPIC_MAX];
    const uint8_t *will;
    size_t will_len;
    (void)spb_node_will(n, topic, &will, &will_len);
    (void)spb_node_connected(n, 0);
    static const char online[] = "{\"online\": true, \"timestamp\": 1}";
    (void)spb_node_on_message(n, topics[3], (const uint8_t *)online, sizeof online - 1, 0);
    (void)spb_node_on_message(n, topics[data[0] % 4], data + 1, size - 1, 0);
    spb_command c;
    if (spb_command_decode(data + 1, size - 1, &c, NULL) == 0) {
        char text[64];
        for (size_t i = 0; i < c.metric_count; i++)
            for (unsigned dt = SPB_INT8; dt <= SPB_STRING; dt++)
                (void)spb_cmd_value_text(&c.metrics[i], dt, text, sizeof text, NULL);
        spb_command_free(&c);
    }
    spb_node_free(n);
    return 0;
}
