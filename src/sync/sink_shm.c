/* Shared memory as the engine's first sink: each TAG event lands in the
 * segment, each ROUND_END publishes it. Inline: the segment never blocks. The
 * write ring (requests from other processes) is read by the engine itself. */
#include "sync/sync_engine_priv.h"

static int shm_open_sink(void *config, const plcio_sink_tag *tags, size_t tag_count, void **state, plcio_error *err)
{
    (void)tags;
    (void)tag_count;
    (void)err;
    *state = config; /* the engine, which created the segment */
    return PLCIO_OK;
}

/* Publish the round; say once when the segment had to be made anew or cannot
 * be published (and again when it can), not every round. */
void sync_shm_publish(plcio_sync *s)
{
    int rc = plcio_shm_writer_publish(s->shm, NULL);
    sync_note_recreations(s);
    if (rc == s->shm_rc) return;
    if (rc != PLCIO_OK)
        log_msg(&s->logger, PLCIO_LOG_ERROR, "sync", "shared memory %s cannot be published: %s (retrying every second)",
                s->shm_name, plcio_strerror(rc));
    else
        log_msg(&s->logger, PLCIO_LOG_INFO, "sync", "shared memory %s published again", s->shm_name);
    s->shm_rc = rc;
}

static int shm_deliver(void *state, const plcio_sink_event *events, size_t count)
{
    plcio_sync *s = state;
    for (size_t i = 0; i < count; i++) {
        const plcio_sink_event *ev = &events[i];
        if (ev->kind == PLCIO_SINK_TAG) {
            if (ev->quality == PLCIO_SHM_QUALITY_GOOD)
                plcio_shm_writer_set(s->shm, ev->tag, ev->value, ev->size, ev->read_ns, NULL);
            else
                plcio_shm_writer_set_quality(s->shm, ev->tag, (plcio_shm_quality)ev->quality, ev->reason);
        } else if (ev->kind == PLCIO_SINK_ROUND_END) {
            sync_shm_publish(s);
        }
    }
    return PLCIO_OK;
}

const plcio_sink sync_sink_shm = {
    .abi = PLCIO_SINK_ABI,
    .name = "shm",
    .flags = PLCIO_SINK_INLINE,
    .open = shm_open_sink,
    .deliver = shm_deliver,
};
