/* Server-Sent Events: GET /api/events. Every round's changes are formatted
 * once into a shared block; each client reads the chain of blocks at its own
 * pace. A client that falls more than sse_lag_max bytes behind is dropped, so
 * memory stays bounded and the engine never waits for a client. A client with
 * nothing to read is suspended (no busy polling) and resumed by the next block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/http_internal.h"

#define SSE_PING_NS (15 * PLCIO_NS_PER_S)

static void unref(sse_block *b)
{
    while (b && --b->refs == 0) {
        sse_block *next = b->next;
        free(b);
        b = next;
    }
}

int sse_init(plcio_http *h)
{
    h->tail = calloc(1, sizeof *h->tail);
    if (!h->tail) return PLCIO_ENOMEM;
    h->tail->refs = 1; /* the server's */
    return PLCIO_OK;
}

static uint64_t lag(const plcio_http *h, const sse_client *c) { return h->stream_bytes - (c->block->start + c->off); }

static void wake(sse_client *c)
{
    if (!c->suspended) return;
    c->suspended = false;
    MHD_resume_connection(c->conn);
    http_kick(c->h);
}

void sse_append(plcio_http *h, const char *data, size_t len)
{
    if (!h->client_count || !len) return;
    sse_block *b = malloc(sizeof *b + len);
    if (!b) {
        /* Nothing was lost for good: values are whole, not deltas. Clients
         * that miss a round catch up with the next change. */
        return;
    }
    memcpy(b->data, data, len);
    b->len = len;
    b->next = NULL;
    b->start = h->stream_bytes;
    b->refs = 2; /* the previous block's link, the server's */
    h->tail->next = b;
    sse_block *old = h->tail;
    h->tail = b;
    unref(old); /* the server's reference moves on */
    h->stream_bytes += len;
    for (sse_client *c = h->clients; c; c = c->next) {
        if (!c->dropped && lag(h, c) > h->sse_lag_max) {
            c->dropped = true;
            h->sse_dropped++;
            log_msg(&h->logger, PLCIO_LOG_WARN, "http", "dropping an event-stream client %llu bytes behind",
                    (unsigned long long)lag(h, c));
        }
        wake(c);
    }
}

/* MHD asks for more of a client's stream. */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_client *c = cls;
    plcio_http *h = c->h;
    if (c->dropped || h->closing) return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = 0;
    if (c->hello_off < c->hello_len) {
        n = c->hello_len - c->hello_off < max ? c->hello_len - c->hello_off : max;
        memcpy(buf, c->hello + c->hello_off, n);
        c->hello_off += n;
    }
    while (n < max) {
        size_t avail = c->block->len - c->off;
        if (avail == 0) {
            sse_block *next = c->block->next;
            if (!next) break;
            next->refs++;
            unref(c->block);
            c->block = next;
            c->off = 0;
            continue;
        }
        size_t k = avail < max - n ? avail : max - n;
        memcpy(buf + n, c->block->data + c->off, k);
        c->off += k;
        n += k;
    }
    if (n == 0) {
        c->suspended = true;
        MHD_suspend_connection(c->conn);
    }
    return (ssize_t)n;
}

static void sse_done(void *cls)
{
    sse_client *c = cls;
    plcio_http *h = c->h;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    h->client_count--;
    unref(c->block);
    free(c);
}

static void ping(plcio_loop *loop, void *ctx)
{
    plcio_http *h = ctx;
    static const char msg[] = ": ping\n\n";
    h->ping_timer = 0;
    if (h->closing) return;
    sse_append(h, msg, sizeof msg - 1);
    h->ping_timer = plcio_loop_timer_add(loop, plcio_loop_now(loop) + SSE_PING_NS, ping, h);
}

enum MHD_Result sse_start(plcio_http *h, struct MHD_Connection *conn)
{
    sse_client *c = calloc(1, sizeof *c);
    if (!c) return http_error(h, conn, 503, "out of memory");
    c->h = h;
    c->conn = conn;
    c->block = h->tail;
    c->block->refs++;
    c->off = c->block->len;
    c->hello_len = (size_t)snprintf(c->hello, sizeof c->hello, "retry: 2000\nevent: hello\ndata: {}\n\n");
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, (size_t)64 * 1024, sse_read, c, sse_done);
    if (!r) {
        unref(c->block);
        free(c);
        return http_error(h, conn, 503, "out of memory");
    }
    c->next = h->clients;
    if (h->clients) h->clients->prev = c;
    h->clients = c;
    h->client_count++;
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    http_add_common_headers(h, r);
    enum MHD_Result ok = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    h->responses[0]++;
    if (!h->ping_timer && h->loop)
        h->ping_timer = plcio_loop_timer_add(h->loop, plcio_loop_now(h->loop) + SSE_PING_NS, ping, h);
    return ok;
}

void sse_close_all(plcio_http *h)
{
    if (h->ping_timer && h->loop) plcio_loop_timer_cancel(h->loop, h->ping_timer);
    h->ping_timer = 0;
    for (sse_client *c = h->clients; c; c = c->next)
        wake(c);
}

void sse_free(plcio_http *h)
{
    unref(h->tail);
    h->tail = NULL;
}

/* The changes of one round: {"time": ms, "tags": [[id, value, quality, changed_ms], ...]}. */
void sse_round(plcio_http *h)
{
    if (!h->pending_count) return;
    if (!h->client_count) {
        for (size_t i = 0; i < h->pending_count; i++)
            h->pending_flag[h->pending[i]] = false;
        h->pending_count = 0;
        return;
    }
    hbuf b = {0};
    hbuf_printf(&b, "event: tags\ndata: {\"time\":%llu,\"tags\":[",
                (unsigned long long)(plcio_realtime_ns() / PLCIO_NS_PER_MS));
    for (size_t i = 0; i < h->pending_count; i++) {
        size_t t = h->pending[i];
        h->pending_flag[t] = false;
        hbuf_printf(&b, "%s[%zu,", i ? "," : "", t);
        http_json_value(&b, &h->tags[t], h->image + h->offset[t], h->scratch);
        hbuf_printf(&b, ",%d,%llu]", h->quality[t], (unsigned long long)(h->changed_ns[t] / PLCIO_NS_PER_MS));
    }
    h->pending_count = 0;
    hbuf_puts(&b, "]}\n\n");
    if (!b.failed) sse_append(h, b.data, b.len);
    hbuf_free(&b);
}

void sse_device(plcio_http *h, const plcio_sink_event *ev)
{
    if (!h->client_count) return;
    hbuf b = {0};
    plcio_sync_stats st;
    const char *name = plcio_sync_device_stats(h->sync, ev->device, &st) == PLCIO_OK ? st.name : "?";
    hbuf_puts(&b, "event: device\ndata: {\"device\":");
    hbuf_json_str(&b, name, strlen(name));
    hbuf_printf(&b, ",\"connected\":%s,\"message\":", ev->connected ? "true" : "false");
    const char *msg = ev->message ? ev->message : "";
    hbuf_json_str(&b, msg, strlen(msg));
    hbuf_puts(&b, "}\n\n");
    if (!b.failed) sse_append(h, b.data, b.len);
    hbuf_free(&b);
}

void sse_write_result(plcio_http *h, const plcio_sink_event *ev)
{
    if (!h->client_count || ev->tag >= h->tag_count) return;
    hbuf b = {0};
    hbuf_puts(&b, "event: write\ndata: {\"tag\":");
    hbuf_json_str(&b, h->tags[ev->tag].name, strlen(h->tags[ev->tag].name));
    hbuf_printf(&b, ",\"ok\":%s,\"message\":", ev->reason == PLCIO_OK ? "true" : "false");
    const char *msg = ev->message ? ev->message : (ev->reason == PLCIO_OK ? "" : plcio_strerror(ev->reason));
    hbuf_json_str(&b, msg, strlen(msg));
    hbuf_puts(&b, "}\n\n");
    if (!b.failed) sse_append(h, b.data, b.len);
    hbuf_free(&b);
}
