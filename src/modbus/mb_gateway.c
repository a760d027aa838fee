/* The Modbus gateway (plcio/gateway.h): a Modbus server whose requests are
 * forwarded (mb_server.h: forward) to event-loop clients, one per target,
 * on the server's own loop. Nothing here waits: a target's link is opened
 * and driven through plcio_modbus_client_wants / _process, answers come
 * back through the client's done callback and go out through
 * mb_server_forward_reply.
 *
 * Fair queueing: each target keeps the requests not yet on its link; each
 * gets a tag when it arrives, one more than the larger of the target's
 * virtual time and the tag of the same client's previous request for that
 * target (start-time fair queueing). The smallest tag goes next, so clients
 * with requests waiting take turns whatever their arrival pattern. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modbus/mb_server.h"
#include "plcio/gateway.h"

#define GW_MAX_TARGETS      64
#define GW_TARGET_QUEUE_MAX 4096u /* requests waiting for one target; beyond: "server busy" */

typedef struct gw_target gw_target;

/* A client of the gateway: a TCP connection, or a UDP peer. */
typedef struct gw_client {
    uint64_t key;
    unsigned pending; /* requests waiting or in flight */
    bool held;        /* TCP: forward said EAGAIN; resume when below max_pending */
    mb_fwd_origin origin;
    uint64_t last_tag[GW_MAX_TARGETS];
} gw_client;

typedef struct gw_req {
    plcio_modbus_request r;
    uint8_t pdu[PLCIO_MB_MAX_PDU], resp[PLCIO_MB_MAX_PDU];
    mb_fwd_origin o;
    uint64_t client_key, tag, t0;
    gw_target *t;
    struct gw_req *prev, *next; /* every live request of the gateway (freed with it) */
} gw_req;

struct gw_target {
    plcio_modbus_gateway *g;
    size_t index;
    char *url;
    plcio_modbus_client *c;
    unsigned depth;
    plcio_loop_watch watch;
    gw_req **wait; /* not yet on the link, in arrival order */
    size_t nwait, capwait;
    unsigned in_flight;
    uint64_t vtime, next_connect_ns;
    bool in_pump, again;
    bool kick; /* requests taken during the server's batch: pump at gw_flush */
    plcio_modbus_gateway_target_stats st;
};

struct plcio_modbus_gateway {
    plcio_logger logger;
    plcio_modbus_server *srv;
    plcio_loop *loop;
    gw_target *targets[GW_MAX_TARGETS];
    size_t ntargets;
    int route[256]; /* target index, -1: the default */
    int dflt;       /* -1: none */
    gw_client *clients;
    size_t nclients, capclients;
    unsigned max_pending, depth;
    uint64_t reconnect_ns;
    bool read_only;
    gw_req *live; /* waiting and in flight */
};

void plcio_modbus_gateway_options_init(plcio_modbus_gateway_options *o)
{
    if (o) memset(o, 0, sizeof *o);
}

/* ===========================================================================
 * Clients of the gateway
 * ========================================================================= */

static uint64_t origin_key(const mb_fwd_origin *o)
{
    uint64_t h = o->link_id * 0x9E3779B97F4A7C15ull;
    if (!o->udp) return h;
    const uint8_t *p = (const uint8_t *)o->peer.storage;
    for (unsigned i = 0; i < o->peer.len && i < sizeof o->peer.storage; i++) /* FNV-1a over the address */
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h | 1u; /* never equal to a TCP key of the same link */
}

static gw_client *client_find(plcio_modbus_gateway *g, uint64_t key)
{
    for (size_t i = 0; i < g->nclients; i++)
        if (g->clients[i].key == key) return &g->clients[i];
    return NULL;
}

static gw_client *client_get(plcio_modbus_gateway *g, const mb_fwd_origin *o)
{
    uint64_t key = origin_key(o);
    gw_client *cl = client_find(g, key);
    if (cl) return cl;
    if (g->nclients == g->capclients) {
        size_t cap = g->capclients ? 2 * g->capclients : 16;
        gw_client *p = realloc(g->clients, cap * sizeof *p);
        if (!p) return NULL;
        g->clients = p;
        g->capclients = cap;
    }
    cl = &g->clients[g->nclients++];
    memset(cl, 0, sizeof *cl);
    cl->key = key;
    cl->origin = *o;
    return cl;
}

/* One request of the client is done: free its place, read from it again. */
static void client_done(plcio_modbus_gateway *g, uint64_t key)
{
    gw_client *cl = client_find(g, key);
    if (!cl) return;
    if (cl->pending) cl->pending--;
    if (cl->held && cl->pending < g->max_pending) {
        cl->held = false;
        mb_fwd_origin o = cl->origin;
        mb_server_forward_resume(g->srv, &o); /* may call forward (and move g->clients) */
        cl = client_find(g, key);
    }
    if (cl && !cl->pending && !cl->held) *cl = g->clients[--g->nclients];
}

/* ===========================================================================
 * Answers
 * ========================================================================= */

static void reply(plcio_modbus_gateway *g, gw_target *t, const mb_fwd_origin *o, const uint8_t *pdu, size_t len)
{
    int rc = mb_server_forward_reply(g->srv, o, pdu, len);
    if (rc != PLCIO_OK && t) t->st.dropped++;
}

static void reply_exception(plcio_modbus_gateway *g, gw_target *t, const mb_fwd_origin *o, uint8_t fc, uint8_t code)
{
    uint8_t pdu[2] = {(uint8_t)(fc | 0x80), code};
    if (t && code == PLCIO_MB_EX_GATEWAY_PATH_UNAVAILABLE) t->st.path_unavailable++;
    if (t && code == PLCIO_MB_EX_GATEWAY_TARGET_FAILED) t->st.no_response++;
    reply(g, t, o, pdu, sizeof pdu);
}

static void req_free(plcio_modbus_gateway *g, gw_req *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        g->live = q->next;
    if (q->next) q->next->prev = q->prev;
    free(q);
}

/* The request's outcome to its client, then it is gone. */
static void finish(gw_req *q, int result)
{
    gw_target *t = q->t;
    plcio_modbus_gateway *g = t->g;
    switch (result) {
    case PLCIO_OK:
    case PLCIO_EMBEXC:
        if (q->r.resp_len == 0) { /* a broadcast: nobody answers */
            t->st.broadcasts++;
            break;
        }
        t->st.answers++;
        if (result == PLCIO_EMBEXC) t->st.exceptions++;
        t->st.latency_sum_us += (plcio_loop_now(g->loop) - q->t0) / 1000u;
        reply(g, t, &q->o, q->resp, q->r.resp_len);
        break;
    case PLCIO_ETIMEDOUT:
    case PLCIO_ECRC:
    case PLCIO_EPROTO: reply_exception(g, t, &q->o, q->pdu[0], PLCIO_MB_EX_GATEWAY_TARGET_FAILED); break;
    case PLCIO_EINVAL: /* the client refused it: a read as a broadcast */
        if (q->o.unit == 0) break;
        reply_exception(g, t, &q->o, q->pdu[0], PLCIO_MB_EX_ILLEGAL_FUNCTION);
        break;
    case PLCIO_ELIMIT:
    case PLCIO_ENOMEM: reply_exception(g, t, &q->o, q->pdu[0], PLCIO_MB_EX_SERVER_DEVICE_BUSY); break;
    default: reply_exception(g, t, &q->o, q->pdu[0], PLCIO_MB_EX_GATEWAY_PATH_UNAVAILABLE); break;
    }
    uint64_t key = q->client_key;
    req_free(g, q);
    client_done(g, key);
}

/* ===========================================================================
 * Targets
 * ========================================================================= */

static void pump(gw_target *t);

static void on_done(void *ctx, plcio_modbus_client *c, plcio_modbus_request *r)
{
    (void)c;
    (void)r;
    gw_req *q = ctx;
    gw_target *t = q->t;
    t->in_flight--;
    t->st.in_flight = t->in_flight;
    finish(q, q->r.result);
    t->again = true; /* room on the link */
}

static void on_io(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    (void)events;
    pump(ctx);
}

static void on_timer(plcio_loop *loop, void *ctx)
{
    (void)loop;
    pump(ctx);
}

static void rewatch(gw_target *t)
{
    uint64_t deadline = 0;
    unsigned want = plcio_modbus_client_wants(t->c, &deadline);
    unsigned ev = ((want & PLCIO_MODBUS_WANT_READ) ? PLCIO_IO_READ : 0u) |
                  ((want & PLCIO_MODBUS_WANT_WRITE) ? PLCIO_IO_WRITE : 0u);
    plcio_loop_watch_set(&t->watch, plcio_modbus_client_fd(t->c), ev, deadline);
}

/* Every waiting request answered 0x0A: the link is down. */
static void fail_waiting(gw_target *t)
{
    while (t->nwait) {
        gw_req *q = t->wait[--t->nwait];
        t->st.queued = (uint32_t)t->nwait;
        finish(q, PLCIO_ECLOSED);
    }
}

/* The waiting request with the smallest tag (the first of equals). */
static gw_req *take_next(gw_target *t)
{
    size_t best = 0;
    for (size_t i = 1; i < t->nwait; i++)
        if (t->wait[i]->tag < t->wait[best]->tag) best = i;
    gw_req *q = t->wait[best];
    memmove(&t->wait[best], &t->wait[best + 1], (t->nwait - best - 1) * sizeof(gw_req *));
    t->nwait--;
    t->st.queued = (uint32_t)t->nwait;
    return q;
}

/* Open the link when requests wait for it (at most once per reconnect_ns). */
static void ensure_link(gw_target *t)
{
    plcio_modbus_gateway *g = t->g;
    if (!t->nwait || plcio_modbus_client_fd(t->c) >= 0) return;
    uint64_t now = plcio_loop_now(g->loop);
    if (now < t->next_connect_ns) {
        fail_waiting(t);
        return;
    }
    t->next_connect_ns = now + g->reconnect_ns;
    plcio_loop_watch_set(&t->watch, -1, 0, t->watch.deadline); /* an fd number may come back reused */
    if (plcio_modbus_client_connect_async(t->c) != PLCIO_OK) {
        log_msg(&g->logger, PLCIO_LOG_WARN, "gateway", "%s", plcio_modbus_client_last_error(t->c)->text);
        fail_waiting(t);
        return;
    }
    t->st.connects++;
}

static void submit_waiting(gw_target *t)
{
    while (t->nwait && t->in_flight < t->depth && plcio_modbus_client_fd(t->c) >= 0) {
        gw_req *q = take_next(t);
        if (q->tag > t->vtime) t->vtime = q->tag;
        int rc = plcio_modbus_submit(t->c, &q->r, on_done, q);
        if (rc != PLCIO_OK) {
            finish(q, rc);
            continue;
        }
        t->in_flight++;
        t->st.in_flight = t->in_flight;
    }
}

/* Open, submit, process until nothing changes; then watch what the client wants. */
static void pump(gw_target *t)
{
    if (t->in_pump) {
        t->again = true;
        return;
    }
    t->in_pump = true;
    mb_server_cork(t->g->srv); /* the answers of this round leave together, one write per client */
    do {
        t->again = false;
        t->kick = false;
        ensure_link(t);
        submit_waiting(t);
        if (plcio_modbus_client_fd(t->c) >= 0 && plcio_modbus_client_process(t->c) != PLCIO_OK) {
            log_msg(&t->g->logger, PLCIO_LOG_WARN, "gateway", "%s", plcio_modbus_client_last_error(t->c)->text);
            plcio_loop_watch_set(&t->watch, -1, 0, 0);
            t->again = t->nwait > 0;
        }
    } while (t->again || t->kick);
    rewatch(t);
    t->in_pump = false;
    mb_server_uncork(t->g->srv);
}

/* The end of a batch of requests the server took from one read (mb_server.h:
 * forward_flush): every target that got some sends them now, together. */
static void gw_flush(void *ctx)
{
    plcio_modbus_gateway *g = ctx;
    for (bool any = true; any;) {
        any = false;
        for (size_t i = 0; i < g->ntargets; i++)
            if (g->targets[i]->kick) {
                pump(g->targets[i]);
                any = true;
            }
    }
}

static void target_free(gw_target *t)
{
    if (!t) return;
    plcio_loop_watch_clear(&t->watch);
    plcio_modbus_client_free(t->c); /* in-flight requests forgotten without callbacks (freed with g->live) */
    free(t->wait);
    free(t->url);
    free(t);
}

/* ===========================================================================
 * Forwarding (the server's hook)
 * ========================================================================= */

/* Function codes that change nothing in a device (read_only, gateway.h). */
static bool reads_only(const uint8_t *pdu, size_t len)
{
    switch (pdu[0]) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 7:
    case 11:
    case 12:
    case 17:
    case 20:
    case 24: return true;
    case 8: return len >= 3 && pdu[1] == 0 && pdu[2] == 0; /* return query data (echo) */
    case 43: return len >= 2 && pdu[1] == 14;              /* read device identification */
    default: return false;
    }
}

static int gw_forward(void *ctx, const mb_fwd_origin *o, const uint8_t *pdu, size_t len)
{
    plcio_modbus_gateway *g = ctx;
    int ti = g->route[o->unit] >= 0 ? g->route[o->unit] : g->dflt;
    if (ti < 0) { /* no path for this unit */
        reply_exception(g, NULL, o, pdu[0], PLCIO_MB_EX_GATEWAY_PATH_UNAVAILABLE);
        return PLCIO_OK;
    }
    gw_target *t = g->targets[ti];
    if ((pdu[0] & 0x80) || pdu[0] == 0) { /* not a request */
        reply_exception(g, t, o, pdu[0], PLCIO_MB_EX_ILLEGAL_FUNCTION);
        return PLCIO_OK;
    }
    if (g->read_only && !reads_only(pdu, len)) {
        log_msg(&g->logger, PLCIO_LOG_DEBUG, "gateway", "function %u refused: the gateway is read-only", pdu[0]);
        t->st.refused++;
        reply_exception(g, t, o, pdu[0], PLCIO_MB_EX_ILLEGAL_FUNCTION);
        return PLCIO_OK;
    }
    gw_client *cl = client_get(g, o);
    if (cl && cl->pending >= g->max_pending) {
        if (o->udp) return PLCIO_EAGAIN; /* answered busy by the server */
        cl->held = true;
        cl->origin = *o;
        return PLCIO_EAGAIN;
    }
    gw_req *q = cl && t->nwait < GW_TARGET_QUEUE_MAX ? calloc(1, sizeof *q) : NULL;
    if (q && t->nwait == t->capwait) {
        size_t cap = t->capwait ? 2 * t->capwait : 16;
        gw_req **p = realloc(t->wait, cap * sizeof(gw_req *));
        if (p) {
            t->wait = p;
            t->capwait = cap;
        } else {
            free(q);
            q = NULL;
        }
    }
    if (!q) {
        reply_exception(g, t, o, pdu[0], PLCIO_MB_EX_SERVER_DEVICE_BUSY);
        if (cl && !cl->pending && !cl->held) *cl = g->clients[--g->nclients];
        return PLCIO_OK;
    }
    memcpy(q->pdu, pdu, len);
    q->r.function = 0;
    q->r.unit = o->unit;
    q->r.pdu = q->pdu;
    q->r.pdu_len = len;
    q->r.resp = q->resp;
    q->o = *o;
    q->t = t;
    q->t0 = plcio_loop_now(g->loop);
    q->client_key = cl->key;
    uint64_t last = cl->last_tag[ti];
    q->tag = (last > t->vtime ? last : t->vtime) + 1;
    cl->last_tag[ti] = q->tag;
    cl->pending++;
    q->next = g->live;
    if (g->live) g->live->prev = q;
    g->live = q;
    t->wait[t->nwait++] = q;
    t->st.requests++;
    t->st.queued = (uint32_t)t->nwait;
    if (t->st.queued > t->st.max_queued) t->st.max_queued = t->st.queued;
    if (g->srv->batch && !t->in_pump)
        t->kick = true; /* more may come in this batch: gw_flush sends them together */
    else
        pump(t);
    return PLCIO_OK;
}

/* ===========================================================================
 * Handle
 * ========================================================================= */

int plcio_modbus_gateway_new(const plcio_modbus_gateway_options *opts, plcio_modbus_gateway **out, plcio_error *err)
{
    if (!out) return plcio_error_set(err, PLCIO_EINVAL, "gateway: no place for the handle");
    *out = NULL;
    plcio_modbus_gateway_options o;
    plcio_modbus_gateway_options_init(&o);
    if (opts) o = *opts;
    if (o.max_pending > 1024)
        return plcio_error_set(err, PLCIO_EINVAL, "gateway: max_pending %u is not 1..1024", o.max_pending);
    if (o.depth > 64) return plcio_error_set(err, PLCIO_EINVAL, "gateway: depth %u is not 1..64", o.depth);
    if (o.max_connections > 100000)
        return plcio_error_set(err, PLCIO_EINVAL, "gateway: max_connections %u is not 1..100000", o.max_connections);
    plcio_modbus_gateway *g = calloc(1, sizeof *g);
    if (!g) return plcio_error_set(err, PLCIO_ENOMEM, "gateway: out of memory");
    g->logger = o.logger;
    g->max_pending = o.max_pending ? o.max_pending : 32;
    g->depth = o.depth ? o.depth : 8;
    g->reconnect_ns = (uint64_t)(o.reconnect_ms ? o.reconnect_ms : 500) * PLCIO_NS_PER_MS;
    g->read_only = o.read_only;
    g->dflt = -1;
    for (size_t i = 0; i < 256; i++)
        g->route[i] = -1;
    plcio_modbus_server_options so;
    plcio_modbus_server_options_init(&so);
    so.logger = o.logger;
    int rc = plcio_modbus_server_new(&so, &g->srv, err);
    if (rc == PLCIO_OK && o.max_connections) {
        plcio_modbus_server_limits lim;
        plcio_modbus_server_limits_init(&lim);
        lim.max_connections = o.max_connections;
        rc = plcio_modbus_server_set_limits(g->srv, &lim);
    }
    if (rc == PLCIO_OK) {
        g->loop = mb_server_loop(g->srv);
        if (!g->loop) rc = PLCIO_ENOMEM;
    }
    if (rc != PLCIO_OK) {
        plcio_modbus_server_free(g->srv);
        free(g);
        return plcio_error_set(err, rc, "gateway: %s", plcio_strerror(rc));
    }
    g->srv->forward = gw_forward;
    g->srv->forward_flush = gw_flush;
    g->srv->forward_ctx = g;
    *out = g;
    return PLCIO_OK;
}

void plcio_modbus_gateway_free(plcio_modbus_gateway *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->ntargets; i++)
        target_free(g->targets[i]);
    for (gw_req *q = g->live, *next; q; q = next) { /* waiting and in flight: forgotten by their clients */
        next = q->next;
        free(q);
    }
    g->live = NULL;
    plcio_modbus_server_free(g->srv); /* after the targets: their watches are on its loop */
    free(g->clients);
    free(g);
}

static int target_new(plcio_modbus_gateway *g, const char *url, gw_target **out, plcio_error *err)
{
    gw_target *t = calloc(1, sizeof *t);
    if (!t) return plcio_error_set(err, PLCIO_ENOMEM, "gateway: out of memory");
    t->g = g;
    t->index = g->ntargets;
    t->url = strdup(url);
    plcio_modbus_client_options co;
    plcio_modbus_client_options_init(&co);
    co.logger = g->logger;
    int rc = t->url ? plcio_modbus_client_new(url, &co, &t->c, err) : PLCIO_ENOMEM;
    plcio_modbus_client_settings set;
    if (rc == PLCIO_OK) rc = plcio_modbus_client_get_settings(t->c, &set);
    if (rc == PLCIO_OK) {
        /* one request at a time on a bus (RTU/ASCII framing) whatever carries it */
        t->depth = strcmp(set.framing, "mbap") ? 1u : g->depth;
        rc = plcio_modbus_client_set_depth(t->c, t->depth);
    }
    if (rc != PLCIO_OK) {
        if (err && err->code == PLCIO_OK) plcio_error_set(err, rc, "gateway: %s: %s", url, plcio_strerror(rc));
        plcio_modbus_client_free(t->c);
        free(t->url);
        free(t);
        return rc;
    }
    plcio_loop_watch_init(&t->watch, g->loop, on_io, on_timer, t);
    t->st.url = t->url;
    *out = t;
    return PLCIO_OK;
}

int plcio_modbus_gateway_add_target(plcio_modbus_gateway *g, int unit, const char *url, plcio_error *err)
{
    if (!g || !url) return plcio_error_set(err, PLCIO_EINVAL, "gateway: no gateway or URL");
    if (unit != PLCIO_MODBUS_GATEWAY_DEFAULT && (unit < 0 || unit > 255))
        return plcio_error_set(err, PLCIO_ERANGE, "gateway: unit %d is not 0..255", unit);
    int *slot = unit == PLCIO_MODBUS_GATEWAY_DEFAULT ? &g->dflt : &g->route[unit];
    if (*slot >= 0) {
        if (unit == PLCIO_MODBUS_GATEWAY_DEFAULT)
            return plcio_error_set(err, PLCIO_EEXIST, "gateway: the default target is already %s",
                                   g->targets[*slot]->url);
        return plcio_error_set(err, PLCIO_EEXIST, "gateway: unit %d already goes to %s", unit, g->targets[*slot]->url);
    }
    for (size_t i = 0; i < g->ntargets; i++)
        if (!strcmp(g->targets[i]->url, url)) { /* same device: same link, same queue */
            *slot = (int)i;
            return PLCIO_OK;
        }
    if (g->ntargets == GW_MAX_TARGETS)
        return plcio_error_set(err, PLCIO_ELIMIT, "gateway: at most %d targets", GW_MAX_TARGETS);
    gw_target *t = NULL;
    int rc = target_new(g, url, &t, err);
    if (rc != PLCIO_OK) return rc;
    g->targets[g->ntargets] = t;
    *slot = (int)g->ntargets++;
    return PLCIO_OK;
}

int plcio_modbus_gateway_listen_tcp(plcio_modbus_gateway *g, const char *host, int port, int *bound_port)
{
    return g ? plcio_modbus_server_listen_tcp(g->srv, host, port, bound_port) : PLCIO_EINVAL;
}

int plcio_modbus_gateway_listen_udp(plcio_modbus_gateway *g, const char *host, int port, int *bound_port)
{
    return g ? plcio_modbus_server_listen_udp(g->srv, host, port, bound_port) : PLCIO_EINVAL;
}

int plcio_modbus_gateway_run_once(plcio_modbus_gateway *g, int max_wait_ms)
{
    return g ? plcio_modbus_server_run_once(g->srv, max_wait_ms) : PLCIO_EINVAL;
}

int plcio_modbus_gateway_run(plcio_modbus_gateway *g) { return g ? plcio_modbus_server_run(g->srv) : PLCIO_EINVAL; }

void plcio_modbus_gateway_stop(plcio_modbus_gateway *g)
{
    if (g) plcio_modbus_server_stop(g->srv);
}

size_t plcio_modbus_gateway_target_count(const plcio_modbus_gateway *g) { return g ? g->ntargets : 0; }

int plcio_modbus_gateway_target_stats_get(const plcio_modbus_gateway *g, size_t index,
                                          plcio_modbus_gateway_target_stats *out)
{
    if (!g || !out) return PLCIO_EINVAL;
    if (index >= g->ntargets) return PLCIO_ENOTFOUND;
    *out = g->targets[index]->st;
    return PLCIO_OK;
}
