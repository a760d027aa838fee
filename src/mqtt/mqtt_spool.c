/* The MQTT output's queue file (mqtt_internal.h): what is still queued at a
 * clean stop, replayed first at the next start. Format: "PLCIOMQ1", then per
 * message: topic length (u32 LE), payload length (u32 LE), qos (u8), retain
 * (u8), topic, payload. A damaged file is reported, never trusted past the
 * damage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt_internal.h"

#define MAGIC       "PLCIOMQ1"
#define PAYLOAD_MAX (256ul * 1024ul * 1024ul)

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int mqtt_spool_save(const char *path, mqtt_msg *const *msgs, size_t count, char *err, size_t cap)
{
    if (!count) {
        if (remove(path) != 0 && errno != ENOENT) {
            snprintf(err, cap, "cannot remove %s: %s", path, strerror(errno));
            return PLCIO_EIO;
        }
        return PLCIO_OK;
    }
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp) return PLCIO_ENOMEM;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(MAGIC, 1, 8, f) == 8;
    for (size_t i = 0; ok && i < count; i++) {
        const mqtt_msg *g = msgs[i];
        uint8_t head[10];
        put32(head, g->topic_len);
        put32(head + 4, g->payload_len);
        head[8] = g->qos;
        head[9] = g->retain;
        ok = fwrite(head, 1, 10, f) == 10 && fwrite(g->data, 1, g->topic_len, f) == g->topic_len &&
             fwrite(mqtt_msg_payload(g), 1, g->payload_len, f) == g->payload_len;
    }
    if (f && fclose(f) != 0) ok = false;
    if (ok && rename(tmp, path) != 0) ok = false;
    if (!ok) {
        snprintf(err, cap, "cannot write %s: %s", path, strerror(errno));
        (void)remove(tmp); /* best effort: the error above is what matters */
    }
    free(tmp);
    return ok ? PLCIO_OK : PLCIO_EIO;
}

int mqtt_spool_load(const char *path, mqtt_spool_take take, void *ctx, size_t *loaded, char *err, size_t cap)
{
    *loaded = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return PLCIO_OK;
        snprintf(err, cap, "cannot read: %s", strerror(errno));
        return PLCIO_EIO;
    }
    char magic[8];
    int rc = PLCIO_OK;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8) != 0) {
        snprintf(err, cap, "not a plcio MQTT queue file (remove it to start without it)");
        rc = PLCIO_EPROTO;
    }
    uint8_t head[10];
    size_t got;
    while (rc == PLCIO_OK && (got = fread(head, 1, 10, f)) != 0) {
        if (got != 10) {
            snprintf(err, cap, "cut short after %zu messages", *loaded);
            rc = PLCIO_EPROTO;
            break;
        }
        uint32_t tl = get32(head), pl = get32(head + 4);
        if (tl == 0 || tl > UINT16_MAX || pl > PAYLOAD_MAX || head[8] > 2 || head[9] > 1) {
            snprintf(err, cap, "damaged after %zu messages", *loaded);
            rc = PLCIO_EPROTO;
            break;
        }
        char *topic = malloc(tl + 1);
        char *payload = malloc(pl + 1);
        mqtt_msg *g = NULL;
        if (topic && payload && fread(topic, 1, tl, f) == tl && fread(payload, 1, pl, f) == pl)
            g = mqtt_msg_new(topic, tl, payload, pl, head[8], head[9] != 0);
        else if (topic && payload) {
            snprintf(err, cap, "cut short after %zu messages", *loaded);
            rc = PLCIO_EPROTO;
        } else {
            rc = PLCIO_ENOMEM;
        }
        free(topic);
        free(payload);
        if (g && memchr(mqtt_msg_topic(g), '\0', tl)) {
            free(g);
            snprintf(err, cap, "damaged after %zu messages", *loaded);
            rc = PLCIO_EPROTO;
        } else if (g && take(ctx, g)) {
            (*loaded)++;
        } else if (g) {
            free(g); /* the queue is full: the rest does not fit either */
            break;
        }
    }
    (void)fclose(f);                        /* read only */
    if (rc == PLCIO_OK) (void)remove(path); /* taken: it is in memory now, and saved again at a clean stop */
    return rc;
}
