/* S7 client failure paths against a scripted fake partner on 127.0.0.1:
 * connection refused, silence (connect and request timeouts), a drop in the
 * middle of an answer, garbage, and reconnection with callbacks: what the
 * client makes of each (its error, its text, its state, reconnecting). When
 * a timeout fires, and the same faults at the session level, are checked
 * on a manual clock over the fake transport in test_session_faults.c; the
 * event-loop mode's heartbeat, async timeouts and reconnection backoff in
 * test_s7_client_clock.c (no timing here). The fake partner speaks through plcio's own codec (server
 * side); the foreign-peer tests are in tests/interop/test_s7_client_snap7.c. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "net/net.h"
#include "plcio/plcio.h"
#include "plcio_test.h"
#include "s7/s7_codec.h"

typedef enum mode {
    GOOD,   /* handshake, answers reads with zeros */
    SILENT, /* accepts, never answers */
    SILENT_AFTER_SETUP,
    DROP_MID_ANSWER, /* half an answer, then close */
    GARBAGE,         /* answers a job with non-TPKT bytes */
    CLOSE_AFTER_SETUP,
    UPLOADER,  /* serves an upload in two fragments */
    DOWNLOADER /* takes a download: asks for the block, ends, inserts */
} mode;

typedef struct fake {
    int listen_fd;
    int port;
    mode modes[4];
    int nmodes;
    pthread_t thread;
} fake;

static int recv_frame(int fd, uint8_t *buf, size_t cap, size_t *len)
{
    size_t have = 0;
    for (;;) {
        size_t frame = 0;
        int rc = tpkt_decode(buf, have, &frame);
        if (rc == PLCIO_OK) {
            *len = frame;
            return PLCIO_OK;
        }
        if (rc != PLCIO_EAGAIN) return rc;
        size_t need = frame;
        if (need > cap) return PLCIO_ENOSPC;
        rc = net_recv_exact(fd, buf + have, need - have, net_deadline(5000));
        if (rc) return rc;
        have = need;
    }
}

static int handshake(int fd)
{
    uint8_t b[512], f[128];
    size_t n;
    if (recv_frame(fd, b, sizeof b, &n)) return -1;
    cotp_tpdu t;
    if (cotp_decode(b + 4, n - 4, &t) || t.code != PLCIO_COTP_CR) return -1;
    cotp_conn cc = t.conn;
    cc.dst_ref = t.conn.src_ref;
    cc.src_ref = 7;
    size_t len;
    cotp_cc_frame(f, sizeof f, &cc, &len);
    if (net_send_all(fd, f, len, net_deadline(1000), NULL)) return -1;
    if (recv_frame(fd, b, sizeof b, &n)) return -1;
    s7_pdu pdu;
    s7_setup st;
    if (s7_pdu_decode(b + 7, n - 7, &pdu) || s7_setup_decode(&pdu, &st)) return -1;
    st.pdu_size = 480;
    s7_out o = s7_out_make(f, sizeof f, 0);
    s7_setup_encode(&o, PLCIO_S7_ACK_DATA, pdu.pdu_ref, &st);
    return net_send_all(fd, f, o.len, net_deadline(1000), NULL) ? -1 : 0;
}

/* what the GOOD partner saw: read requests, most items in one, largest frames */
static atomic_int reads_seen, max_items, max_request, max_answer;

static void serve_good(int fd)
{
    static uint8_t b[70000], f[2048], zeros[1024];
    size_t n;
    while (recv_frame(fd, b, sizeof b, &n) == PLCIO_OK) {
        s7_pdu pdu;
        s7_item items[PLCIO_S7_MAX_ITEMS];
        s7_data_item d[PLCIO_S7_MAX_ITEMS];
        size_t k = 0;
        if (s7_pdu_decode(b + 7, n - 7, &pdu)) return;
        if (s7_read_request_decode(&pdu, items, PLCIO_S7_MAX_ITEMS, &k)) return;
        reads_seen++;
        if ((int)k > max_items) max_items = (int)k;
        if ((int)(n - 7) > max_request) max_request = (int)(n - 7);
        for (size_t i = 0; i < k; i++)
            d[i] = (s7_data_item){PLCIO_S7_RC_SUCCESS, PLCIO_S7_DTS_BYTE, zeros, (uint16_t)s7_item_bytes(&items[i])};
        s7_out o = s7_out_make(f, sizeof f, 0);
        if (s7_read_response_encode(&o, pdu.pdu_ref, d, k)) return;
        if ((int)(o.len - 7) > max_answer) max_answer = (int)(o.len - 7);
        if (net_send_all(fd, f, o.len, net_deadline(1000), NULL)) return;
    }
}

/* Start upload -> id 7; two fragments "ABC" (more) and "DE" (last); end. */
static void serve_upload(int fd)
{
    static uint8_t b[4096], f[512];
    size_t n;
    int fragment = 0;
    while (recv_frame(fd, b, sizeof b, &n) == PLCIO_OK) {
        s7_pdu pdu;
        s7_xfer job, ack;
        if (s7_pdu_decode(b + 7, n - 7, &pdu) || s7_xfer_job_decode(&pdu, &job)) return;
        memset(&ack, 0, sizeof ack);
        ack.function = job.function;
        if (job.function == PLCIO_S7_FN_START_UPLOAD) {
            if (strcmp(job.filename, "_0A00005A") != 0) return;
            ack.upload_id = 7;
            ack.load_len = 5;
        } else if (job.function == PLCIO_S7_FN_UPLOAD) {
            if (job.upload_id != 7) return;
            ack.status = fragment == 0;
            ack.payload = (const uint8_t *)(fragment == 0 ? "ABC" : "DE");
            ack.payload_len = fragment == 0 ? 3 : 2;
            fragment++;
        } else if (job.function != PLCIO_S7_FN_END_UPLOAD) {
            return;
        }
        s7_out o = s7_out_make(f, sizeof f, 0);
        if (s7_xfer_ack_encode(&o, pdu.pdu_ref, &ack, 0)) return;
        if (net_send_all(fd, f, o.len, net_deadline(1000), NULL)) return;
    }
}

static void drain(int fd);

static uint8_t downloaded[4096];
static size_t downloaded_len;
static atomic_int download_steps; /* request, blocks, ended, insert: 1 each stage */

static int send_pdu_frame(int fd, const s7_out *o)
{
    return net_send_all(fd, o->buf, o->len, net_deadline(1000), NULL);
}

/* The PLC's side of a download (its own jobs carry references 0x100..). */
static void serve_download(int fd)
{
    static uint8_t b[4096], f[512];
    size_t n;
    s7_pdu pdu;
    s7_xfer x;
    if (recv_frame(fd, b, sizeof b, &n) || s7_pdu_decode(b + 7, n - 7, &pdu) || s7_xfer_job_decode(&pdu, &x) ||
        x.function != PLCIO_S7_FN_REQUEST_DOWNLOAD || strcmp(x.filename, "_0A00005P") != 0 || !x.has_lengths ||
        x.load_len != 1500 || x.mc7_len != 1400)
        return;
    download_steps = 1;
    s7_xfer ack = {PLCIO_S7_FN_REQUEST_DOWNLOAD, 0, 0, "", 0, 0, false, NULL, 0};
    s7_out o = s7_out_make(f, sizeof f, 0);
    if (s7_xfer_ack_encode(&o, pdu.pdu_ref, &ack, 0) || send_pdu_frame(fd, &o)) return;
    downloaded_len = 0;
    for (uint16_t ref = 0x100;; ref++) {
        s7_xfer job = {PLCIO_S7_FN_DOWNLOAD_BLOCK, 0, 0, "_0A00005P", 0, 0, false, NULL, 0};
        o = s7_out_make(f, sizeof f, 0);
        if (s7_xfer_job_encode(&o, ref, &job) || send_pdu_frame(fd, &o)) return;
        if (recv_frame(fd, b, sizeof b, &n) || s7_pdu_decode(b + 7, n - 7, &pdu) || pdu.pdu_ref != ref ||
            s7_xfer_ack_decode(&pdu, PLCIO_S7_FN_DOWNLOAD_BLOCK, &x) ||
            downloaded_len + x.payload_len > sizeof downloaded)
            return;
        memcpy(downloaded + downloaded_len, x.payload, x.payload_len);
        downloaded_len += x.payload_len;
        if (!x.status) break;
    }
    download_steps = 2;
    s7_xfer end = {PLCIO_S7_FN_DOWNLOAD_ENDED, 0, 0, "_0A00005P", 0, 0, false, NULL, 0};
    o = s7_out_make(f, sizeof f, 0);
    if (s7_xfer_job_encode(&o, 0x200, &end) || send_pdu_frame(fd, &o)) return;
    if (recv_frame(fd, b, sizeof b, &n) || s7_pdu_decode(b + 7, n - 7, &pdu) ||
        s7_xfer_ack_decode(&pdu, PLCIO_S7_FN_DOWNLOAD_ENDED, &x))
        return;
    download_steps = 3;
    s7_control ctl;
    if (recv_frame(fd, b, sizeof b, &n) || s7_pdu_decode(b + 7, n - 7, &pdu) || s7_control_decode(&pdu, &ctl) ||
        ctl.service_len != 5 || memcmp(ctl.service, "_INSE", 5) != 0 || ctl.param_len != 10 ||
        memcmp(ctl.param,
               "\x01\x00"
               "0A00005P",
               10) != 0)
        return;
    download_steps = 4;
    o = s7_out_make(f, sizeof f, 0);
    if (s7_control_response_encode(&o, pdu.pdu_ref, PLCIO_S7_FN_PI_SERVICE, 0) == PLCIO_OK) send_pdu_frame(fd, &o);
    drain(fd);
}

static void drain(int fd)
{
    uint8_t b[4096];
    size_t got;
    while (net_recv_some(fd, b, sizeof b, &got, net_deadline(5000)) == PLCIO_OK) {
    }
}

static void *fake_main(void *arg)
{
    fake *fk = arg;
    for (int i = 0; i < fk->nmodes; i++) {
        int fd = -1;
        if (net_wait(fk->listen_fd, false, net_deadline(10000))) break;
        if (net_accept(fk->listen_fd, &fd, NULL, 0)) break;
        uint8_t b[4096];
        size_t n;
        switch (fk->modes[i]) {
        case GOOD:
            if (!handshake(fd)) serve_good(fd);
            break;
        case SILENT: drain(fd); break;
        case SILENT_AFTER_SETUP:
            if (!handshake(fd)) drain(fd);
            break;
        case DROP_MID_ANSWER:
            if (!handshake(fd) && !recv_frame(fd, b, sizeof b, &n)) {
                static const uint8_t half[] = {3, 0, 0, 0x1A, 2, 0xF0, 0x80, 0x32, 3, 0};
                net_send_all(fd, half, sizeof half, net_deadline(1000), NULL);
            }
            break;
        case GARBAGE:
            if (!handshake(fd) && !recv_frame(fd, b, sizeof b, &n)) {
                static const char junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
                net_send_all(fd, junk, sizeof junk - 1, net_deadline(1000), NULL);
                drain(fd);
            }
            break;
        case CLOSE_AFTER_SETUP: handshake(fd); break;
        case UPLOADER:
            if (!handshake(fd)) serve_upload(fd);
            break;
        case DOWNLOADER:
            if (!handshake(fd)) serve_download(fd);
            break;
        }
        net_close(fd);
    }
    return NULL;
}

static void fake_start(fake *fk, const mode *modes, int n)
{
    memset(fk, 0, sizeof *fk);
    memcpy(fk->modes, modes, (size_t)n * sizeof *modes);
    fk->nmodes = n;
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 4, &fk->listen_fd, &fk->port), PLCIO_OK);
    assert_int_equal(pthread_create(&fk->thread, NULL, fake_main, fk), 0);
}

static void fake_stop(fake *fk)
{
    pthread_join(fk->thread, NULL);
    net_close(fk->listen_fd);
}

static int connects, disconnects, last_reason;
static void on_conn(void *ctx, plcio_s7_client *c, int reason)
{
    (void)ctx, (void)c, (void)reason;
    connects++;
}
static void on_disc(void *ctx, plcio_s7_client *c, int reason)
{
    (void)ctx, (void)c;
    disconnects++;
    last_reason = reason;
}

static plcio_s7_client *client_for(int port, bool reconnect)
{
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.port = port;
    o.connect_timeout_ms = 300;
    o.timeout_ms = 300;
    o.auto_reconnect = reconnect;
    o.reconnect_min_ms = 1;
    o.on_connect = on_conn;
    o.on_disconnect = on_disc;
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    assert_non_null(c);
    return c;
}

static void test_refused(void **state)
{
    (void)state;
    int fd, port;
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 1, &fd, &port), PLCIO_OK);
    net_close(fd);
    plcio_s7_client *c = client_for(port, false);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_ECONNREFUSED);
    assert_non_null(strstr(plcio_s7_client_last_error(c)->text, "refused"));
    assert_false(plcio_s7_client_is_connected(c));
    plcio_s7_client_free(c);
}

static void test_silent_partner(void **state)
{
    (void)state;
    fake fk;
    const mode m[] = {SILENT, SILENT_AFTER_SETUP};
    fake_start(&fk, m, 2);
    plcio_s7_client *c = client_for(fk.port, false);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_ETIMEDOUT);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    uint8_t b[4];
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, 4, b), PLCIO_ETIMEDOUT);
    assert_non_null(strstr(plcio_s7_client_last_error(c)->text, "no answer"));
    assert_false(plcio_s7_client_is_connected(c));
    plcio_s7_client_free(c);
    fake_stop(&fk);
}

static void test_drop_and_garbage_then_reconnect(void **state)
{
    (void)state;
    fake fk;
    const mode m[] = {DROP_MID_ANSWER, GARBAGE, GOOD, CLOSE_AFTER_SETUP};
    fake_start(&fk, m, 4);
    connects = disconnects = 0;
    plcio_s7_client *c = client_for(fk.port, true);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    uint8_t b[2000];
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, 4, b), PLCIO_ECLOSED);
    assert_non_null(strstr(plcio_s7_client_last_error(c)->text, "closed"));
    assert_int_equal(disconnects, 1);
    assert_int_equal(last_reason, PLCIO_ECLOSED);
    /* next call reconnects by itself; this partner sends garbage */
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, 4, b), PLCIO_EPROTO);
    assert_non_null(strstr(plcio_s7_client_last_error(c)->text, "malformed"));
    assert_int_equal(connects, 2);
    /* and again: this one works, also for a read split over 5 PDUs (PDU 480) */
    memset(b, 0xEE, sizeof b);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, sizeof b, b), PLCIO_OK);
    for (size_t i = 0; i < sizeof b; i++)
        assert_int_equal(b[i], 0);
    assert_int_equal(plcio_s7_client_pdu_size(c), 480);
    /* the partner closes quietly; `connected` notices without a request */
    plcio_s7_client_close(c);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    uint64_t until = plcio_monotonic_ns() + 3 * PLCIO_NS_PER_S;
    while (plcio_s7_client_is_connected(c) && plcio_monotonic_ns() < until)
        net_wait(-1, false, net_deadline(10));
    assert_false(plcio_s7_client_is_connected(c));
    plcio_s7_client_free(c);
    fake_stop(&fk);
}

static void test_upload_flow(void **state)
{
    (void)state;
    fake fk;
    const mode m[] = {UPLOADER};
    fake_start(&fk, m, 1);
    plcio_s7_client *c = client_for(fk.port, false);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    char buf[16];
    size_t len = 0;
    assert_int_equal(plcio_s7_client_upload(c, "DB", 5, buf, 4, &len), PLCIO_ENOSPC);
    plcio_s7_client_close(c);
    plcio_s7_client_free(c);
    fake_stop(&fk);
    fake_start(&fk, m, 1);
    c = client_for(fk.port, false);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_upload(c, "DB", 5, buf, sizeof buf, &len), PLCIO_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "ABCDE", 5);
    assert_int_equal(plcio_s7_client_upload(c, "XX", 5, buf, sizeof buf, &len), PLCIO_EINVAL);
    plcio_s7_client_free(c);
    fake_stop(&fk);
}

static void test_download_flow(void **state)
{
    (void)state;
    fake fk;
    const mode m[] = {DOWNLOADER};
    fake_start(&fk, m, 1);
    plcio_s7_client *c = client_for(fk.port, false);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    static uint8_t block[1500];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (uint8_t)(i * 7 + 1);
    int rc = plcio_s7_client_download(c, "DB", 5, block, sizeof block, 1400);
    if (rc) print_message("download: %s (stage %d)\n", plcio_s7_client_last_error(c)->text, (int)download_steps);
    assert_int_equal(rc, PLCIO_OK);
    assert_int_equal(download_steps, 4);
    assert_int_equal(downloaded_len, sizeof block);
    assert_memory_equal(downloaded, block, sizeof block);
    /* the PLC's own jobs are refused again outside a download: an unexpected job fails the session */
    assert_true(plcio_s7_client_is_connected(c));
    plcio_s7_client_free(c);
    fake_stop(&fk);
}

/* The planner: fewest PDUs within 20 items and both budgets (PDU 480 here). */
static void plan_case(plcio_s7_client *c, size_t n, uint32_t stride, uint32_t size, int want_pdus)
{
    static plcio_s7_var v[100];
    static uint8_t buf[100][64];
    for (size_t i = 0; i < n; i++)
        v[i] = (plcio_s7_var){PLCIO_S7_AREA_DB, 1, (uint32_t)i * stride, size, -1, buf[i], 0, 0};
    reads_seen = max_items = max_request = max_answer = 0;
    assert_int_equal(plcio_s7_client_read_vars(c, v, n), PLCIO_OK);
    print_message("%zu vars of %u bytes every %u: %d PDUs, <= %d items, request <= %d, answer <= %d bytes\n", n, size,
                  stride, (int)reads_seen, (int)max_items, (int)max_request, (int)max_answer);
    assert_int_equal(reads_seen, want_pdus);
    assert_true(max_items <= 20);
    assert_true(max_request <= 480 && max_answer <= 480);
}

static void test_planner_budgets(void **state)
{
    (void)state;
    fake fk;
    const mode m[] = {GOOD};
    fake_start(&fk, m, 1);
    plcio_s7_client *c = client_for(fk.port, false);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    plan_case(c, 60, 100, 4, 3);  /* item count bound: 20 per PDU */
    plan_case(c, 30, 100, 30, 3); /* answer bound: 900 bytes of data in 466-byte answers */
    plan_case(c, 50, 2, 2, 1);    /* neighbours merge into one item */
    plan_case(c, 40, 20, 4, 2);   /* gaps of 16 merge too: one 784-byte region, cut in two */
    plcio_s7_client_free(c);
    fake_stop(&fk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_silent_partner),
        cmocka_unit_test(test_drop_and_garbage_then_reconnect),
        cmocka_unit_test(test_upload_flow),
        cmocka_unit_test(test_download_flow),
        cmocka_unit_test(test_planner_budgets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
