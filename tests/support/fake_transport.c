/* A plcio_transport over the fake link (fake_transport.h). */
#include "fake_transport.h"

#include <string.h>

static bool current(const fake_transport *ft, int conn) { return ft->open && conn == ft->connections; }

void fake_transport_run(fake_transport *ft)
{
    if (ft->open && !ft->link.down && ft->clock->now_ns >= ft->link.now) fake_link_run(&ft->link, ft->clock->now_ns);
}

uint64_t fake_transport_deadline(const fake_transport *ft)
{
    const fake_end *p = &ft->link.end[1];
    if (!ft->open || ft->link.down || !p->ops) return 0;
    return p->ops->deadline(p->s);
}

void fake_transport_settle(fake_transport *ft, const fake_client *cl)
{
    for (int i = 0; i < 8; i++) {
        cl->step(cl->c);
        fake_transport_run(ft);
    }
}

void fake_transport_run_to(fake_transport *ft, const fake_client *cl, uint64_t until)
{
    fake_transport_settle(ft, cl);
    while (ft->clock->now_ns < until) {
        uint64_t now = ft->clock->now_ns, next = until;
        uint64_t d = cl->deadline(cl->c), p = fake_transport_deadline(ft);
        if (d > now && d < next) next = d;
        if (p > now && p < next) next = p;
        ft->clock->now_ns = next;
        fake_transport_settle(ft, cl);
    }
}

int fake_s7_partner_accept(void *ctx, fake_link *link, int n)
{
    fake_s7_partner *p = ctx;
    if (p->refuse) return p->refuse;
    fake_s7_partner_clear(p);
    s7srv_stream_init(&p->st, p->srv, (unsigned)n, p->clock->now_ns);
    p->st_live = true;
    link->end[1] = fake_end_s7_server(&p->st);
    link->silent[1] = p->silent_from_start;
    return PLCIO_OK;
}

void fake_s7_partner_clear(fake_s7_partner *p)
{
    if (p->st_live) s7srv_stream_clear(&p->st);
    p->st_live = false;
}

static int ft_connect_start(void *ctx, const char *host, int port, int *conn)
{
    (void)host, (void)port;
    fake_transport *ft = ctx;
    ft->connections++;
    fake_link_init(&ft->link, ft->clock->now_ns);
    ft->refused = ft->accept(ft->accept_ctx, &ft->link, ft->connections);
    ft->open = true;
    ft->taken = 0;
    ft->sends = 0;
    *conn = ft->connections;
    return PLCIO_OK;
}

static int ft_connect_finish(void *ctx, int conn)
{
    fake_transport *ft = ctx;
    if (!current(ft, conn)) return PLCIO_ECLOSED;
    return ft->refused;
}

static int ft_send(void *ctx, int conn, const void *buf, size_t len, size_t *sent)
{
    fake_transport *ft = ctx;
    if (!current(ft, conn) || ft->refused || ft->link.down) return PLCIO_ECLOSED;
    ft->sends++;
    fake_link_inject(&ft->link, 0, buf, len);
    *sent = len;
    fake_transport_run(ft);
    return PLCIO_OK;
}

static int ft_recv(void *ctx, int conn, void *buf, size_t cap, size_t *got)
{
    fake_transport *ft = ctx;
    if (!current(ft, conn) || ft->refused) return PLCIO_ECLOSED;
    fake_transport_run(ft);
    fake_end *me = &ft->link.end[0];
    size_t n = me->got_len - ft->taken;
    if (n) {
        if (n > cap) n = cap;
        memcpy(buf, me->got + ft->taken, n);
        ft->taken += n;
        if (ft->taken == me->got_len) me->got_len = ft->taken = 0;
        *got = n;
        return PLCIO_OK;
    }
    if (ft->link.down) return ft->link.down_err ? ft->link.down_err : PLCIO_ECLOSED;
    return PLCIO_EAGAIN;
}

static void ft_close(void *ctx, int conn)
{
    fake_transport *ft = ctx;
    if (!current(ft, conn)) return;
    ft->open = false;
    if (!ft->link.down) fake_link_reset(&ft->link, PLCIO_ECLOSED);
}

void fake_transport_init(fake_transport *ft, plcio_manual_clock *clock,
                         int (*accept)(void *ctx, fake_link *link, int n), void *ctx)
{
    memset(ft, 0, sizeof *ft);
    ft->clock = clock;
    ft->accept = accept;
    ft->accept_ctx = ctx;
    ft->ops = (plcio_transport){ft_connect_start, ft_connect_finish, ft_send, ft_recv, ft_close, ft};
}
