/* S7 server connection with deferred writes and reads (callbacks.write_job,
 * callbacks.read_job), in process: the input is a client's byte stream fed into one s7srv_stream in
 * changing chunk sizes while a manual clock advances; each write job is taken
 * (and each read job: answered per item with a code, the application's
 * bytes or the area's) and, as the input's bytes decide, answered at once from inside the
 * callback, answered after a later chunk (with item codes from the input,
 * sometimes with a wrong count), or left to the write timeout. The session
 * must never crash, overrun or leak; every byte it hands out is a whole TPKT
 * frame; a reply for a job that no longer waits is PLCIO_ENOTFOUND; input
 * held behind a job stays bounded. Seeds: a connection, setup, writes with
 * reads and writes pipelined behind them (tests/fuzz/seed_corpora.py). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s7/s7_server_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static plcio_s7_server *srv;
static s7srv_stream st;    /* 13 KiB: not on the stack */
static uint8_t reply_mode; /* from the input: 0 inside the callback, 1 later, 2 never */
static uint64_t taken_job; /* the job the callback took last */
static size_t taken_count;
static bool taken_read;                  /* the job taken last is a read */
static uint8_t app_bytes[S7SRV_PDU_MAX]; /* what the application answers reads with */

/* Answers to a read job: item i's code from codes[i] (mostly ITEM_OK), its
 * bytes the application's or (every third) the area's. */
static void read_answers(plcio_s7_server_read_answer *ans, const uint8_t *codes)
{
    for (size_t i = 0; i < S7SRV_MAX_ITEMS; i++) {
        ans[i].code = codes[i] % 4 ? PLCIO_S7_SERVER_ITEM_OK : codes[i];
        ans[i].data = i % 3 == 2 ? NULL : app_bytes;
    }
}

static int read_job(void *ctx, uint64_t job, const plcio_s7_server_read_item *items, size_t count)
{
    (void)ctx;
    for (size_t i = 0; i < count; i++)
        if (items[i].code == PLCIO_S7_SERVER_ITEM_OK && (!items[i].acc.size || items[i].acc.size > S7SRV_PDU_MAX))
            abort();
    taken_job = job;
    taken_count = count;
    taken_read = true;
    if (reply_mode % 4 == 3) return PLCIO_EUNSUPPORTED;
    if (reply_mode % 4 == 0) {
        uint8_t codes[S7SRV_MAX_ITEMS];
        plcio_s7_server_read_answer ans[S7SRV_MAX_ITEMS];
        memset(codes, reply_mode, sizeof codes);
        read_answers(ans, codes);
        if (s7srv_stream_read_reply(&st, job, ans, count, 1) != PLCIO_OK) abort();
        /* a read job is no write job */
    }
    return PLCIO_OK;
}

static int write_job(void *ctx, uint64_t job, const plcio_s7_server_write_item *items, size_t count)
{
    (void)ctx;
    for (size_t i = 0; i < count; i++)
        if (items[i].code == PLCIO_S7_SERVER_ITEM_OK && (!items[i].data || !items[i].acc.size)) abort();
    taken_job = job;
    taken_count = count;
    taken_read = false;
    if (reply_mode % 4 == 3) return PLCIO_EUNSUPPORTED; /* not taken: served as without the hook */
    if (reply_mode % 4 == 0) {
        uint8_t codes[S7SRV_MAX_ITEMS];
        memset(codes, PLCIO_S7_SERVER_ITEM_OK, sizeof codes);
        if (s7srv_stream_write_reply(&st, job, codes, count, 1) != PLCIO_OK) abort();
    }
    return PLCIO_OK;
}

static void setup(void)
{
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    cfg.port = 0;
    cfg.frame_timeout_ms = 200;
    cfg.idle_timeout_ms = 1000;
    cfg.write_timeout_ms = 100;
    cfg.max_output_bytes = 8192;
    cfg.callbacks.write_job = write_job;
    cfg.callbacks.read_job = read_job;
    for (size_t i = 0; i < sizeof app_bytes; i++)
        app_bytes[i] = (uint8_t)(i * 31 + 7);
    if (plcio_s7_server_new(&cfg, &srv, NULL)) abort();
    plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, 300, NULL);
    plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_M, 0, 64, NULL);
}

/* Take all output; it must be whole TPKT frames. */
static void drain(void)
{
    size_t len;
    const uint8_t *p = s7srv_stream_tx(&st, &len);
    if (!p) return;
    if (len > srv->cfg.max_output_bytes) abort();
    for (size_t off = 0; off < len;) {
        size_t flen = 0;
        if (tpkt_decode(p + off, len - off, &flen) != PLCIO_OK) abort();
        off += flen;
    }
    s7srv_stream_tx_done(&st, len);
}

/* The application replies between two chunks: codes from the input after
 * off, sometimes with the wrong count or the wrong kind of reply (both
 * refused, nothing answered). PLCIO_OK or why the connection closes. */
static int answer_now(const uint8_t *data, size_t size, size_t off, uint64_t now)
{
    uint8_t codes[S7SRV_MAX_ITEMS];
    for (size_t i = 0; i < sizeof codes; i++)
        codes[i] = off + i < size ? data[off + i] : PLCIO_S7_SERVER_ITEM_OK;
    bool wrong = data[off - 1] % 7 == 0;      /* sometimes the wrong count */
    bool other_kind = data[off - 1] % 5 == 0; /* the other kind of reply */
    size_t n = wrong ? st.ses.wait_count + 1 : st.ses.wait_count;
    bool read = st.ses.wait_read;
    plcio_s7_server_read_answer ans[S7SRV_MAX_ITEMS + 1];
    memset(ans, 0, sizeof ans);
    read_answers(ans, codes);
    int r;
    if (other_kind)
        r = read ? s7srv_stream_write_reply(&st, st.ses.wait_job, codes, st.ses.wait_count, now)
                 : s7srv_stream_read_reply(&st, st.ses.wait_job, ans, st.ses.wait_count, now);
    else if (read)
        r = s7srv_stream_read_reply(&st, st.ses.wait_job, ans, n, now);
    else
        r = s7srv_stream_write_reply(&st, st.ses.wait_job, codes, n, now);
    if ((wrong || other_kind) && r != PLCIO_EINVAL) abort();
    drain();
    return r != PLCIO_OK && r != PLCIO_EINVAL ? r : PLCIO_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) setup();
    uint64_t now = PLCIO_NS_PER_S;
    s7srv_stream_init(&st, srv, 1, now);
    taken_job = 0;
    size_t off = 0, step = size % 53 + 1;
    int rc = PLCIO_OK;
    while (off < size && rc == PLCIO_OK) {
        size_t k = size - off < step ? size - off : step;
        reply_mode = data[off];
        rc = s7srv_stream_feed(&st, data + off, k, now);
        drain();
        off += k;
        step = step * 7 % 251 + 1;
        now += (uint64_t)(data[off - 1] & 0x3f) * PLCIO_NS_PER_MS;
        if (st.hold_len > S7SRV_STREAM_HOLD_CAP) abort();
        if (rc == PLCIO_OK && st.ses.wait_job && data[off - 1] % 3 == 1) /* the application answers now */
            rc = answer_now(data, size, off, now);
        if (rc == PLCIO_OK) {
            uint64_t d = s7srv_stream_deadline(&st);
            if (!d) abort(); /* both timeouts are on */
            if (d <= now) rc = s7srv_stream_on_time(&st, now);
            drain();
        }
    }
    /* a job answered (or timed out) waits no more: a late reply finds nothing */
    if (taken_job && st.ses.wait_job != taken_job) {
        uint8_t codes[S7SRV_MAX_ITEMS];
        plcio_s7_server_read_answer ans[S7SRV_MAX_ITEMS];
        memset(codes, PLCIO_S7_SERVER_ITEM_OK, sizeof codes);
        read_answers(ans, codes);
        int r = taken_read ? s7srv_stream_read_reply(&st, taken_job, ans, taken_count, now)
                           : s7srv_stream_write_reply(&st, taken_job, codes, taken_count, now);
        if (r != PLCIO_ENOTFOUND) abort();
    }
    s7srv_stream_clear(&st);
    return 0;
}
