/* The fake sync driver of the engine tests (fake_driver.h). */
#include "fake_driver.h"

#include <stdio.h>
#include <string.h>

#include "plcio/loop.h"
#include "plcio/sync.h"
#include "plcio/types.h"

fake_device fake_dev;

void fake_dev_reset(void) { memset(&fake_dev, 0, sizeof fake_dev); }

/* A tag's location: an offset into fake_dev.mem. */
typedef struct fake_location {
    uint32_t offset;
} fake_location;

static fake_location *at(const plcio_sync_tag *t) { return plcio_sync_tag_location(t); }

static int fake_open(plcio_sync_device *d, const plcio_url *url, plcio_error *err)
{
    (void)url;
    (void)err;
    fake_dev.dev = d;
    plcio_sync_device_set_data(d, &fake_dev);
    return PLCIO_OK;
}

static void fake_close(plcio_sync_device *d) { plcio_sync_device_set_data(d, NULL); }

static int fake_add_tag(plcio_sync_device *d, plcio_sync_tag *t, const char *address, const plcio_layout_member *m,
                        int db, plcio_error *err)
{
    (void)d;
    (void)db;
    if (m) {
        plcio_sync_tag_set_shape(t, m->type, m->length, m->bit >= 0 ? (unsigned)m->bit : 0, m->size);
        at(t)->offset = m->byte;
    } else {
        unsigned off, bit = 0;
        char type[32];
        plcio_type ty;
        if (!address ||
            (sscanf(address, "%u.%u:%31s", &off, &bit, type) != 3 && sscanf(address, "%u:%31s", &off, type) != 2))
            return plcio_error_set(err, PLCIO_ESYNTAX, "not a fake address");
        if (plcio_type_parse(type, strlen(type), &ty) != PLCIO_OK) return PLCIO_ETYPE;
        plcio_sync_tag_set_shape(t, ty, 0, bit, (uint32_t)plcio_type_size(ty, 0));
        at(t)->offset = off;
    }
    return at(t)->offset + plcio_sync_tag_size(t) <= sizeof fake_dev.mem ? PLCIO_OK : PLCIO_ERANGE;
}

static int fake_plan(plcio_sync_device *d, plcio_sync_group *g, plcio_error *err)
{
    (void)d;
    (void)err;
    plcio_sync_group_set_plan(g, &fake_dev);
    return PLCIO_OK;
}

static void fake_connected(plcio_loop *loop, void *ctx)
{
    (void)loop;
    plcio_sync_device *d = ctx;
    if (fake_dev.refuse) {
        plcio_sync_device_down(d, PLCIO_ECONNREFUSED, "fake: refused");
        return;
    }
    fake_dev.connected = true;
    plcio_sync_device_up(d);
}

static void fake_connect(plcio_sync_device *d)
{
    plcio_loop *loop = plcio_sync_device_loop(d);
    if (fake_dev.inline_io)
        fake_connected(loop, d);
    else
        plcio_loop_timer_add(loop, plcio_loop_now(loop) + (uint64_t)fake_dev.connect_delay_ms * PLCIO_NS_PER_MS,
                             fake_connected, d);
}

static void fake_answer(plcio_loop *loop, void *ctx)
{
    (void)loop;
    plcio_sync_group *g = ctx;
    fake_dev.busy = false;
    fake_dev.pending = NULL;
    if (!fake_dev.connected) return;
    for (size_t i = 0; i < plcio_sync_group_tag_count(g); i++) {
        plcio_sync_tag *t = plcio_sync_group_tag(g, i);
        plcio_sync_tag_value(t, fake_dev.mem + at(t)->offset, plcio_sync_tag_size(t));
    }
    plcio_sync_group_done(g, PLCIO_OK, 1, fake_dev.inline_io ? 0 : 10);
}

static void fake_read(plcio_sync_device *d, plcio_sync_group *g)
{
    fake_dev.reads++;
    if (fake_dev.busy) fake_dev.overlaps++;
    fake_dev.busy = true;
    fake_dev.pending = g;
    plcio_loop *loop = plcio_sync_device_loop(d);
    if (fake_dev.inline_io)
        fake_answer(loop, g);
    else
        plcio_loop_timer_add(loop, plcio_loop_now(loop) + (uint64_t)fake_dev.read_delay_ms * PLCIO_NS_PER_MS,
                             fake_answer, g);
}

static void fake_write(plcio_sync_device *d, plcio_sync_write_req *w)
{
    (void)d;
    fake_dev.writes++;
    plcio_sync_tag *t = plcio_sync_write_tag(w);
    size_t size;
    const uint8_t *data = plcio_sync_write_data(w, &size);
    uint8_t *dst = fake_dev.mem + at(t)->offset;
    if (plcio_sync_tag_type(t) == PLCIO_TYPE_BOOL) {
        uint8_t mask = (uint8_t)(1u << plcio_sync_tag_bit(t));
        dst[0] = (uint8_t)((dst[0] & ~mask) | (data[0] & mask));
    } else {
        memcpy(dst, data, size);
    }
    plcio_sync_write_done(w, PLCIO_OK, NULL);
}

const plcio_driver fake_driver = {
    .abi = PLCIO_DRIVER_ABI,
    .scheme = "fake",
    .open = fake_open,
    .close = fake_close,
    .add_tag = fake_add_tag,
    .plan = fake_plan,
    .connect = fake_connect,
    .read = fake_read,
    .write = fake_write,
};
const plcio_driver *const fake_drivers[1] = {&fake_driver};
