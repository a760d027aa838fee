/* S7CommPlus subscriptions: any bytes as (first byte 0) a notification for
 * the client side, or (1) a CreateObject body for the simulator side, then
 * the same bytes as a credit SetVariable, ticks on a manual clock with the
 * memory changing, a delete: an answer or an error, never a crash, and
 * whatever the simulator sends reads back on the client side. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s7plus/s7p_codec.h"
#include "s7plus/s7p_server_sub.h"
#include "s7plus/s7p_subscribe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t mem[64];
static uint32_t created;

static void on_note(void *ctx, plcio_s7plus_client *c, const plcio_s7plus_notification *n)
{
    (void)ctx;
    (void)c;
    for (size_t k = 0; k < n->n; k++)
        if (n->values[k].result == PLCIO_OK && n->values[k].size && !n->values[k].data) abort();
}

static csub_set *client(uint32_t id)
{
    csub_set *s = csub_new();
    if (!s) abort();
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    o.notify = on_note;
    if (csub_add(s, id, 64, &o)) abort();
    return s;
}

static int fake_read(void *ctx, const s7p_address *a, uint8_t *buf, size_t cap, s7p_value *v, unsigned *dialect)
{
    (void)ctx;
    *dialect = 0;
    if (a->nlids != 3 || a->lids[0] != 3 || a->lids[1] > sizeof mem || a->lids[2] > sizeof mem - a->lids[1] ||
        a->lids[2] > cap)
        return PLCIO_ERANGE;
    memcpy(buf, mem + a->lids[1], a->lids[2]);
    *v = s7p_value_blob(buf, a->lids[2]);
    return PLCIO_OK;
}

static int fake_send(void *ctx, uint8_t version, const uint8_t *pdu, size_t len)
{
    (void)version;
    csub_set **cs = ctx;
    if (len == 0) abort();
    if (pdu[0] == S7P_OP_NOTIFICATION) {
        uint32_t id = len >= 5 ? plcio_get_u32be(pdu + 1) : 0;
        if (!*cs) *cs = client(id);
        if (csub_on_notification(*cs, NULL, pdu + 1, len - 1) != PLCIO_OK) abort(); /* ours must read back */
        return PLCIO_OK;
    }
    s7p_pdu p;
    if (s7p_pdu_decode(pdu, len, &p)) abort();
    plcio_rcursor c = plcio_rcursor_make(p.body, p.body_len);
    s7p_create_res r;
    if (s7p_create_res_decode(&c, &r)) abort();
    if (r.ret == 0 && r.nids) created = r.ids[0];
    return PLCIO_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] == 0) {
        csub_set *s = client(size >= 5 ? plcio_get_u32be(data + 1) : 0);
        (void)csub_on_notification(s, NULL, data + 1, size - 1);
        csub_free(s);
        return 0;
    }
    csub_set *cs = NULL;
    srvsub_host h = {fake_read, fake_send, &cs, NULL, 1};
    srvsub *s = srvsub_new();
    if (!s) return 0;
    s7p_header hd;
    memset(&hd, 0, sizeof hd);
    hd.function = S7P_FN_CREATE_OBJECT;
    created = 0;
    memset(mem, 0, sizeof mem);
    int rc = srvsub_create(s, &h, S7P_V1, &hd, data + 1, size - 1);
    if (rc < 0 && rc != PLCIO_ENOMEM) abort();
    uint64_t now = 1000000000ull, ret = 0;
    for (int i = 0; i < 8; i++) {
        mem[i % 64] = (uint8_t)(i + 1);
        if (srvsub_tick(s, &h, now)) abort();
        now += 10000000ull;
        if (i == 3) {
            uint8_t b[64];
            size_t n = size - 1 < sizeof b - 4 ? size - 1 : sizeof b - 4;
            plcio_put_u32be(b, created);
            memcpy(b + 4, data + 1, n);
            (void)srvsub_setvar(s, b, n + 4, &ret);
        }
    }
    if (created && !srvsub_delete(s, created)) abort();
    srvsub_free(s);
    csub_free(cs);
    return 0;
}
