/* The MQTT command decoder (src/mqtt/mqtt_command.c): any bytes give a command
 * or an error with a reason, never a crash; what it decodes stays inside its
 * buffer, is NUL-terminated, and a decoded object re-decodes to the same items. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const mqtt_command *c, int rc, const char *err)
{
    if (rc != PLCIO_OK) {
        if (!err[0]) abort(); /* every refusal says why */
        return;
    }
    if (c->count == 0 || c->count > MQTT_COMMAND_MAX_ITEMS || c->used > MQTT_COMMAND_MAX_BYTES) abort();
    for (size_t i = 0; i < c->count; i++) {
        const mqtt_command_item *it = &c->items[i];
        if (strlen(it->value) != it->value_len) abort();
        if (it->tag_len && strlen(it->tag) != it->tag_len) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mqtt_command cmd, again;
    char err[256];
    err[0] = '\0';
    int rc = mqtt_command_decode(data, size, &cmd, err, sizeof err);
    check(&cmd, rc, err);
    if (rc == PLCIO_OK) {
        /* the same object re-encoded with its decoded strings decodes to the same items */
        static char buf[8 * MQTT_COMMAND_MAX_BYTES + 64];
        size_t n = 0;
        buf[n++] = '{';
        for (size_t i = 0; i < cmd.count; i++) {
            if (i) buf[n++] = ',';
            if (!mqtt_json_string(buf, sizeof buf, &n, cmd.items[i].tag, cmd.items[i].tag_len)) abort();
            buf[n++] = ':';
            if (!mqtt_json_string(buf, sizeof buf, &n, cmd.items[i].value, cmd.items[i].value_len)) abort();
        }
        buf[n++] = '}';
        err[0] = '\0';
        if (mqtt_command_decode((const uint8_t *)buf, n, &again, err, sizeof err) != PLCIO_OK) abort();
        if (again.count != cmd.count) abort();
        for (size_t i = 0; i < cmd.count; i++)
            if (strcmp(again.items[i].tag, cmd.items[i].tag) != 0 ||
                strcmp(again.items[i].value, cmd.items[i].value) != 0)
                abort();
    }
    err[0] = '\0';
    rc = mqtt_command_decode_value(data, size, &cmd, err, sizeof err);
    check(&cmd, rc, err);
    return 0;
}
