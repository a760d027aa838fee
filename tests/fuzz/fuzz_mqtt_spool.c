/* The MQTT queue file's reader (src/mqtt/mqtt_spool.c) on any bytes: a file
 * left by a crash, a disk error or another program. Every result is a clean
 * error with a reason or a list of messages (and maybe a note of damage),
 * never a crash, an allocation the file cannot back, or a hang. Every message
 * handed out is whole: its topic is not empty and has no NUL, and writing the
 * messages out again and reading them back gives the same messages, with no
 * damage. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mqtt/mqtt_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KEEP 64

typedef struct kept {
    mqtt_msg *msgs[MAX_KEEP];
    size_t count;
} kept;

static bool take(void *ctx, mqtt_msg *msg)
{
    kept *k = ctx;
    if (msg->topic_len == 0 || memchr(mqtt_msg_topic(msg), '\0', msg->topic_len) || msg->qos > 2) abort();
    if (k->count >= MAX_KEEP) return false; /* a full queue: refused, counted */
    k->msgs[k->count++] = msg;
    return true;
}

static void drop(kept *k)
{
    for (size_t i = 0; i < k->count; i++)
        free(k->msgs[i]);
    k->count = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], again[64], err[256] = "";
    snprintf(path, sizeof path, "/tmp/plcio-fuzz-spool-%ld", (long)getpid());
    snprintf(again, sizeof again, "/tmp/plcio-fuzz-spool-%ld.2", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    kept k = {.count = 0}, k2 = {.count = 0};
    mqtt_spool_result res;
    int rc = mqtt_spool_load(path, take, &k, &res, err, sizeof err);
    if (rc != PLCIO_OK && !err[0]) abort(); /* every refusal says why */
    if (rc != PLCIO_OK && k.count) abort();
    if (k.count != res.loaded) abort();
    /* what was handed out survives a write and a read unchanged */
    mqtt_spool *s;
    if (k.count && mqtt_spool_open(again, &s) == PLCIO_OK) {
        for (size_t i = 0; i < k.count; i++)
            if (mqtt_spool_add(s, i, k.msgs[i]) != PLCIO_OK) abort();
        if (mqtt_spool_replace(s, err, sizeof err) != PLCIO_OK) abort();
        mqtt_spool_close(s);
        if (mqtt_spool_load(again, take, &k2, &res, err, sizeof err) != PLCIO_OK || res.damage[0]) abort();
        if (k2.count != k.count) abort();
        for (size_t i = 0; i < k.count; i++) {
            const mqtt_msg *a = k.msgs[i], *b = k2.msgs[i];
            if (a->topic_len != b->topic_len || a->payload_len != b->payload_len || a->qos != b->qos ||
                a->retain != b->retain || memcmp(a->data, b->data, a->topic_len + 1 + a->payload_len) != 0)
                abort();
        }
        (void)remove(again);
    }
    drop(&k);
    drop(&k2);
    (void)remove(path);
    return 0;
}
