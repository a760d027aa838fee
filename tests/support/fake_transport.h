/* A plcio_transport (plcio/core.h) over the fake link: a client in its
 * event-loop mode runs on a manual clock against an in-process partner, so
 * its timeouts, heartbeats and reconnections are tested at their exact time,
 * with no socket and no sleeping.
 *
 * Each connect makes a new fake_link: end 0 is the client (a script end the
 * transport reads for it), end 1 the partner that `accept` sets up for
 * connection n (1, 2, ...): a server session (fake_end_s7_server, ...) and
 * the link's faults (silent, cut_after, chunk). A non-zero return of accept
 * refuses that connection with that error. The link runs up to the clock's
 * time whenever the client sends or reads, and on fake_transport_run.
 *
 *   static fake_transport ft;   // 256 KiB of link buffers: not on the stack
 *   fake_transport_init(&ft, &clock, accept, ctx);
 *   o.clock = plcio_manual_clock_bind(&clock); o.transport = &ft.ops;
 */
#ifndef PLCIO_TEST_FAKE_TRANSPORT_H
#define PLCIO_TEST_FAKE_TRANSPORT_H

#include "fake_link.h"
#include "plcio/core.h"
#include "s7/s7_server_stream.h"

typedef struct fake_transport {
    plcio_transport ops; /* what the client's options point to */
    plcio_manual_clock *clock;
    fake_link link; /* the current connection */
    int (*accept)(void *ctx, fake_link *link, int n);
    void *accept_ctx;
    int connections; /* connects seen (refused ones too) */
    int refused;     /* the current connection's refusal, 0 = none */
    bool open;       /* the client holds the current connection */
    size_t taken;    /* bytes of link.end[0].got the client has read */
    int sends;       /* send calls on the current connection */
} fake_transport;

void fake_transport_init(fake_transport *ft, plcio_manual_clock *clock,
                         int (*accept)(void *ctx, fake_link *link, int n), void *ctx);
/* Move bytes and fire the partner's deadlines up to the clock's time. */
void fake_transport_run(fake_transport *ft);
/* The partner's next deadline (0: none, or no connection). */
uint64_t fake_transport_deadline(const fake_transport *ft);

/* The client under test as an event loop drives it: step runs its process()
 * once, deadline returns its next deadline (0: none); c is the client. */
typedef struct fake_client {
    void (*step)(void *c);
    uint64_t (*deadline)(void *c);
    void *c;
} fake_client;

/* Everything that can happen at the clock's present time: the client and the
 * link, in turn, a few rounds. */
void fake_transport_settle(fake_transport *ft, const fake_client *cl);
/* Move the clock to `until`, stopping at every deadline of the client and of
 * the partner on the way, as an event loop would. */
void fake_transport_run_to(fake_transport *ft, const fake_client *cl, uint64_t until);

/* plcio's S7 server (srv) as the partner: each connection a fresh session
 * (fake_end_s7_server). accept = fake_s7_partner_accept, ctx = the partner. */
typedef struct fake_s7_partner {
    const plcio_manual_clock *clock;
    plcio_s7_server *srv;
    s7srv_stream st;
    bool st_live;
    bool silent_from_start; /* the next partners never answer */
    int refuse;             /* the next connections are refused with this */
} fake_s7_partner;

int fake_s7_partner_accept(void *ctx, fake_link *link, int n);
/* The last session's state freed (the server is the caller's). */
void fake_s7_partner_clear(fake_s7_partner *p);

#endif
