/* GET /metrics: the Prometheus text format (version 0.0.4), from the engine's
 * statistics, the sinks' counters and this server's own; per-tag values only
 * when tag_metrics is on (a series per tag can be a lot). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/http_internal.h"

static void head(hbuf *b, const char *name, const char *type, const char *help)
{
    hbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(hbuf *b, const char *name, const char *labels, double v)
{
    if (v == (double)(long long)v && v < 1e15 && v > -1e15)
        hbuf_printf(b, "%s{%s} %lld\n", name, labels, (long long)v);
    else
        hbuf_printf(b, "%s{%s} %.9g\n", name, labels, v);
}

static void device_label(hbuf *l, const char *device)
{
    l->len = 0;
    hbuf_puts(l, "device=\"");
    hbuf_label(l, device);
    hbuf_puts(l, "\"");
}

typedef struct dev_metric {
    const char *name, *type, *help;
} dev_metric;

static double dev_value(const plcio_sync_stats *d, size_t k)
{
    switch (k) {
    case 0: return d->connected ? 1 : 0;
    case 1: return (double)d->connects;
    case 2: return (double)(d->connects > 0 ? d->connects - 1 : 0);
    case 3: return (double)d->errors;
    case 4: return (double)d->requests;
    case 5: return (double)d->bytes;
    default: return (double)d->cycles;
    }
}

static void devices(plcio_http *h, hbuf *b, hbuf *l)
{
    static const dev_metric m[] = {
        {"plcio_device_up", "gauge", "1 when the connection to the device is up"},
        {"plcio_device_connects_total", "counter", "Connections made to the device"},
        {"plcio_device_reconnects_total", "counter", "Connections made after the first one"},
        {"plcio_device_connection_errors_total", "counter", "Failed connection attempts and lost connections"},
        {"plcio_device_requests_total", "counter", "Read requests sent to the device"},
        {"plcio_device_received_bytes_total", "counter", "Payload bytes received from the device"},
        {"plcio_device_cycles_total", "counter", "Completed read cycles of the device's groups"},
    };
    size_t n = plcio_sync_device_count(h->sync);
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        head(b, m[k].name, m[k].type, m[k].help);
        for (size_t i = 0; i < n; i++) {
            plcio_sync_stats d;
            if (plcio_sync_device_stats(h->sync, i, &d) != PLCIO_OK) continue;
            device_label(l, d.name);
            sample(b, m[k].name, l->data, dev_value(&d, k));
        }
    }
}

/* Groups carry their device's name in the tag table, in the same order. */
static void group_labels(plcio_http *h, size_t count, hbuf *labels)
{
    size_t t = 0;
    for (size_t g = 0; g < count; g++) {
        plcio_sync_stats st;
        const char *dev = t < h->tag_count ? h->tags[t].device : "";
        const char *grp = t < h->tag_count ? h->tags[t].group : "";
        while (t < h->tag_count && h->tags[t].device == dev && h->tags[t].group == grp)
            t++;
        if (plcio_sync_group_stats(h->sync, g, &st) == PLCIO_OK && t == 0) grp = st.name;
        hbuf *l = &labels[g];
        hbuf_puts(l, "device=\"");
        hbuf_label(l, dev);
        hbuf_puts(l, "\",group=\"");
        hbuf_label(l, grp);
        hbuf_puts(l, "\"");
    }
}

static void groups(plcio_http *h, hbuf *b)
{
    size_t n = plcio_sync_group_count(h->sync);
    if (!n) return;
    size_t shown = n;
    hbuf *labels = calloc(n, sizeof *labels);
    plcio_sync_stats *st = calloc(n, sizeof *st);
    if (!labels || !st) {
        free(labels);
        free(st);
        b->failed = true;
        return;
    }
    group_labels(h, shown, labels);
    for (size_t g = 0; g < shown; g++)
        if (plcio_sync_group_stats(h->sync, g, &st[g]) != PLCIO_OK) memset(&st[g], 0, sizeof st[g]);

    head(b, "plcio_group_cycle_duration_seconds", "summary", "Duration of the group's read cycles");
    for (size_t g = 0; g < shown; g++) {
        hbuf_printf(b, "plcio_group_cycle_duration_seconds_sum{%s} %.9f\n", labels[g].data,
                    (double)st[g].cycle_avg_ns * (double)st[g].cycles / 1e9);
        hbuf_printf(b, "plcio_group_cycle_duration_seconds_count{%s} %llu\n", labels[g].data,
                    (unsigned long long)st[g].cycles);
    }
    struct {
        const char *name, *type, *help;
    } m[] = {
        {"plcio_group_cycle_duration_max_seconds", "gauge", "Longest read cycle of the group"},
        {"plcio_group_cycle_duration_min_seconds", "gauge", "Shortest read cycle of the group"},
        {"plcio_group_jitter_max_seconds", "gauge", "Largest delay of a cycle's start behind its schedule"},
        {"plcio_group_jitter_avg_seconds", "gauge", "Average delay of a cycle's start behind its schedule"},
        {"plcio_group_late_cycles_total", "counter", "Cycles skipped because the previous one still ran"},
        {"plcio_group_errors_total", "counter", "Failed read cycles"},
        {"plcio_group_interval_seconds", "gauge", "The group's polling interval"},
        {"plcio_group_tags", "gauge", "Tags in the group"},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        head(b, m[k].name, m[k].type, m[k].help);
        for (size_t g = 0; g < shown; g++) {
            const plcio_sync_stats *s = &st[g];
            double v[] = {(double)s->cycle_max_ns / 1e9,
                          (double)s->cycle_min_ns / 1e9,
                          (double)s->jitter_max_ns / 1e9,
                          (double)s->jitter_avg_ns / 1e9,
                          (double)s->late,
                          (double)s->errors,
                          (double)s->interval_ms / 1e3,
                          (double)s->tags};
            sample(b, m[k].name, labels[g].data, v[k]);
        }
    }
    for (size_t g = 0; g < shown; g++) {
        if (labels[g].failed) b->failed = true;
        hbuf_free(&labels[g]);
    }
    free(labels);
    free(st);
}

static void sinks(plcio_http *h, hbuf *b, hbuf *l)
{
    size_t n = plcio_sync_sink_count(h->sync);
    struct {
        const char *name, *type, *help;
    } m[] = {
        {"plcio_sink_queue_depth", "gauge", "Events waiting in the output's queue"},
        {"plcio_sink_events_total", "counter", "Events offered to the output"},
        {"plcio_sink_dropped_total", "counter", "Events dropped because the output's queue was full"},
        {"plcio_sink_failed_total", "counter", "Events the output reported as failed"},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        head(b, m[k].name, m[k].type, m[k].help);
        for (size_t i = 0; i < n; i++) {
            plcio_sink_stats s;
            if (plcio_sync_sink_stats(h->sync, i, &s) != PLCIO_OK) continue;
            l->len = 0;
            hbuf_puts(l, "sink=\"");
            hbuf_label(l, s.name);
            hbuf_puts(l, "\"");
            double v[] = {(double)s.queued, (double)s.events, (double)s.dropped, (double)s.failed};
            sample(b, m[k].name, l->data, v[k]);
        }
    }
}

static void server(plcio_http *h, hbuf *b)
{
    static const char *const codes[HTTP_CODES] = {"200", "400", "401", "403", "404", "405", "413", "other"};
    head(b, "plcio_http_responses_total", "counter", "HTTP responses sent, by status code");
    for (size_t i = 0; i < HTTP_CODES; i++)
        hbuf_printf(b, "plcio_http_responses_total{code=\"%s\"} %llu\n", codes[i], (unsigned long long)h->responses[i]);
    head(b, "plcio_http_event_clients", "gauge", "Clients connected to the event stream");
    hbuf_printf(b, "plcio_http_event_clients %zu\n", h->client_count);
    head(b, "plcio_http_event_clients_dropped_total", "counter", "Event-stream clients dropped for falling behind");
    hbuf_printf(b, "plcio_http_event_clients_dropped_total %llu\n", (unsigned long long)h->sse_dropped);
    head(b, "plcio_http_writes_total", "counter", "Writes asked for through POST /api/write, by result");
    hbuf_printf(b, "plcio_http_writes_total{result=\"ok\"} %llu\n", (unsigned long long)h->writes_ok);
    hbuf_printf(b, "plcio_http_writes_total{result=\"failed\"} %llu\n", (unsigned long long)h->writes_failed);
}

static void tag_values(plcio_http *h, hbuf *b, hbuf *l)
{
    head(b, "plcio_tag_value", "gauge", "The tag's value (numbers and booleans with good quality)");
    for (size_t i = 0; i < h->tag_count; i++) {
        double v;
        if (h->quality[i] != 1 || !http_number(&h->tags[i], h->image + h->offset[i], &v)) continue;
        l->len = 0;
        hbuf_puts(l, "device=\"");
        hbuf_label(l, h->tags[i].device);
        hbuf_puts(l, "\",tag=\"");
        hbuf_label(l, h->tags[i].name);
        hbuf_puts(l, "\"");
        if (isnan(v))
            hbuf_printf(b, "plcio_tag_value{%s} NaN\n", l->data);
        else if (isinf(v))
            hbuf_printf(b, "plcio_tag_value{%s} %s\n", l->data, v > 0 ? "+Inf" : "-Inf");
        else
            sample(b, "plcio_tag_value", l->data, v);
    }
}

void http_metrics(plcio_http *h, hbuf *out)
{
    hbuf l = {0};
    hbuf_puts(&l, "");
    devices(h, out, &l);
    groups(h, out);
    sinks(h, out, &l);
    server(h, out);
    if (h->tag_metrics) tag_values(h, out, &l);
    if (l.failed) out->failed = true;
    hbuf_free(&l);
}
