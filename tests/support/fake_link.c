/* Fake transport and manual clock for the sans-I/O sessions (fake_link.h). */
#include "fake_link.h"

#include <string.h>

#include "modbus/mb_server_stream.h"
#include "modbus/mb_session.h"
#include "plcio/core.h"
#include "s7/s7_server_stream.h"
#include "s7/s7_session.h"

void fake_link_init(fake_link *l, uint64_t now)
{
    memset(l, 0, sizeof *l);
    l->now = now;
}

/* Down: end i sees closed(err[i]). */
static void go_down(fake_link *l, int err0, int err1)
{
    if (l->down) return;
    l->down = true;
    l->down_err = err0;
    l->wire_len[0] = l->wire_len[1] = 0;
    int err[2] = {err0, err1};
    for (int i = 0; i < 2; i++)
        if (l->end[i].ops && l->end[i].ops->closed) l->end[i].ops->closed(l->end[i].s, err[i]);
}

void fake_link_reset(fake_link *l, int err) { go_down(l, err, err); }

static void fail(fake_link *l, int i, int rc);

static void put(fake_link *l, int from, const uint8_t *data, size_t len)
{
    if (l->down) return;
    size_t cut = l->cut_after[from];
    if (cut && l->sent[from] + len >= cut) len = cut - l->sent[from];
    l->sent[from] += len;
    if (!l->silent[from]) {
        if (len > FAKE_LINK_CAP - l->wire_len[from]) len = FAKE_LINK_CAP - l->wire_len[from];
        memcpy(l->wire[from] + l->wire_len[from], data, len);
        l->wire_len[from] += len;
    }
    if (cut && l->sent[from] >= cut) {
        /* the bytes before the cut still arrive, then the link is gone */
        int to = 1 - from;
        if (l->end[to].ops) {
            size_t used = 0;
            l->end[to].ops->feed(l->end[to].s, l->wire[from], l->wire_len[from], l->now, &used);
        }
        fake_link_reset(l, PLCIO_ECLOSED);
    }
}

void fake_link_inject(fake_link *l, int from, const void *data, size_t len)
{
    bool silent = l->silent[from];
    l->silent[from] = false;
    put(l, from, data, len);
    l->silent[from] = silent;
}

/* End i failed with rc: it closes the link; the other end sees the close. */
static void fail(fake_link *l, int i, int rc)
{
    l->end[i].error = rc;
    go_down(l, i == 0 ? rc : PLCIO_ECLOSED, i == 1 ? rc : PLCIO_ECLOSED);
}

/* One step: take each end's output, deliver what the chunk allows. */
static bool step(fake_link *l)
{
    bool moved = false;
    for (int i = 0; i < 2 && !l->down; i++) {
        fake_end *e = &l->end[i];
        size_t len;
        const uint8_t *p;
        if (e->ops && (p = e->ops->tx(e->s, &len)) != NULL && len) {
            uint8_t copy[FAKE_LINK_CAP];
            if (len > sizeof copy) len = sizeof copy;
            memcpy(copy, p, len);
            int rc = e->ops->tx_done(e->s, len, l->now);
            put(l, i, copy, len);
            if (rc) fail(l, i, rc);
            moved = true;
        }
    }
    for (int from = 0; from < 2 && !l->down; from++) {
        size_t n = l->wire_len[from];
        if (!n) continue;
        if (l->chunk && n > l->chunk) n = l->chunk;
        fake_end *to = &l->end[1 - from];
        size_t used = n;
        int rc = PLCIO_OK;
        if (to->ops) {
            rc = to->ops->feed(to->s, l->wire[from], n, l->now, &used);
        } else {
            if (n > FAKE_LINK_CAP - to->got_len) n = used = FAKE_LINK_CAP - to->got_len;
            memcpy(to->got + to->got_len, l->wire[from], n);
            to->got_len += n;
        }
        memmove(l->wire[from], l->wire[from] + used, l->wire_len[from] - used);
        l->wire_len[from] -= used;
        if (used) moved = true;
        if (rc) fail(l, 1 - from, rc);
    }
    return moved;
}

static uint64_t next_deadline(fake_link *l)
{
    uint64_t next = 0;
    for (int i = 0; i < 2; i++) {
        uint64_t d = l->end[i].ops ? l->end[i].ops->deadline(l->end[i].s) : 0;
        if (d && (!next || d < next)) next = d;
    }
    return next;
}

/* Every time the clock stops, each end's on_time runs, due or not, as a
 * driver's periodic sweep calls it: a session must not act before its time. */
static bool tick(fake_link *l)
{
    bool moved = false;
    for (int i = 0; i < 2 && !l->down; i++) {
        fake_end *e = &l->end[i];
        if (!e->ops) continue;
        int rc = e->ops->on_time(e->s, l->now);
        if (rc) fail(l, i, rc);
    }
    while (!l->down && step(l))
        moved = true;
    return moved;
}

void fake_link_run(fake_link *l, uint64_t until)
{
    while (!l->down && step(l)) {
    }
    while (!l->down) {
        uint64_t d = next_deadline(l);
        uint64_t at = d && d < until ? d : until;
        if (at > l->now) l->now = at;
        bool moved = tick(l);
        d = l->down ? 0 : next_deadline(l);
        if (!moved && l->now >= until && (!d || d > l->now)) return;
        if (!moved && d && d <= l->now) { /* an end that ignores its own deadline */
            if (l->now >= until) return;
            l->now = until;
        }
    }
}

/* ---- S7 client session ---- */

static int s7c_feed(void *s, const uint8_t *d, size_t n, uint64_t now, size_t *used)
{
    *used = n;
    return s7_session_feed(s, d, n, now);
}
static const uint8_t *s7c_tx(void *s, size_t *len) { return s7_session_tx(s, len); }
static int s7c_tx_done(void *s, size_t n, uint64_t now)
{
    (void)now;
    s7_session_tx_done(s, n);
    return PLCIO_OK;
}
static uint64_t s7c_deadline(void *s) { return s7_session_deadline(s); }
static int s7c_on_time(void *s, uint64_t now) { return s7_session_on_time(s, now); }
static void s7c_closed(void *s, int err)
{
    if (s7_session_state_get(s) != PLCIO_S7_SESSION_FAILED) s7_session_fail(s, err);
}
static const fake_end_ops s7c_ops = {s7c_feed, s7c_tx, s7c_tx_done, s7c_deadline, s7c_on_time, s7c_closed};

fake_end fake_end_s7_client(void *session)
{
    fake_end e;
    memset(&e, 0, sizeof e);
    e.ops = &s7c_ops;
    e.s = session;
    return e;
}

/* ---- S7 server stream ---- */

static int s7s_feed(void *s, const uint8_t *d, size_t n, uint64_t now, size_t *used)
{
    *used = n;
    return s7srv_stream_feed(s, d, n, now);
}
static const uint8_t *s7s_tx(void *s, size_t *len) { return s7srv_stream_tx(s, len); }
static int s7s_tx_done(void *s, size_t n, uint64_t now)
{
    (void)now;
    s7srv_stream_tx_done(s, n);
    return PLCIO_OK;
}
static uint64_t s7s_deadline(void *s) { return s7srv_stream_deadline(s); }
static int s7s_on_time(void *s, uint64_t now) { return s7srv_stream_on_time(s, now); }
static const fake_end_ops s7s_ops = {s7s_feed, s7s_tx, s7s_tx_done, s7s_deadline, s7s_on_time, NULL};

fake_end fake_end_s7_server(void *stream)
{
    fake_end e;
    memset(&e, 0, sizeof e);
    e.ops = &s7s_ops;
    e.s = stream;
    return e;
}

/* ---- Modbus server stream ---- */

static int mbs_feed(void *s, const uint8_t *d, size_t n, uint64_t now, size_t *used)
{
    return mb_srv_stream_feed(s, d, n, now, used);
}
static const uint8_t *mbs_tx(void *s, size_t *len) { return mb_srv_stream_tx(s, len); }
static int mbs_tx_done(void *s, size_t n, uint64_t now) { return mb_srv_stream_tx_done(s, n, now); }
static uint64_t mbs_deadline(void *s) { return mb_srv_stream_deadline(s); }
static int mbs_on_time(void *s, uint64_t now) { return mb_srv_stream_on_time(s, now); }
static const fake_end_ops mbs_ops = {mbs_feed, mbs_tx, mbs_tx_done, mbs_deadline, mbs_on_time, NULL};

fake_end fake_end_mb_server(void *stream)
{
    fake_end e;
    memset(&e, 0, sizeof e);
    e.ops = &mbs_ops;
    e.s = stream;
    return e;
}

/* ---- Modbus client session ---- */

static void mbc_answer(void *ctx, uint32_t token, int result, const mb_pdu *resp, const uint8_t *raw, size_t raw_len)
{
    (void)raw, (void)raw_len;
    fake_mb_client *c = ctx;
    if (c->n >= 64) return;
    c->token[c->n] = token;
    c->result[c->n] = result;
    c->first_reg[c->n] = resp && resp->data_len >= 2 ? (uint16_t)(resp->data[0] << 8 | resp->data[1]) : 0;
    c->n++;
}
static int mbc_feed(void *s, const uint8_t *d, size_t n, uint64_t now, size_t *used)
{
    fake_mb_client *c = s;
    *used = n;
    return mb_session_feed(c->session, d, n, now, mbc_answer, c);
}
static const uint8_t *mbc_tx(void *s, size_t *len) { return mb_session_next_tx(((fake_mb_client *)s)->session, len); }
static int mbc_tx_done(void *s, size_t n, uint64_t now)
{
    (void)n; /* the link takes all */
    fake_mb_client *c = s;
    mb_session_sent(c->session, now, mbc_answer, c);
    return PLCIO_OK;
}
static uint64_t mbc_deadline(void *s) { return mb_session_next_deadline(((fake_mb_client *)s)->session); }
static int mbc_on_time(void *s, uint64_t now)
{
    fake_mb_client *c = s;
    return mb_session_on_timeout(c->session, now, mbc_answer, c);
}
static void mbc_closed(void *s, int err)
{
    fake_mb_client *c = s;
    mb_session_reset(c->session, err, mbc_answer, c);
}
static const fake_end_ops mbc_ops = {mbc_feed, mbc_tx, mbc_tx_done, mbc_deadline, mbc_on_time, mbc_closed};

fake_end fake_end_mb_client(fake_mb_client *c)
{
    fake_end e;
    memset(&e, 0, sizeof e);
    e.ops = &mbc_ops;
    e.s = c;
    return e;
}

int fake_mb_result(const fake_mb_client *c, uint32_t token)
{
    for (int i = 0; i < c->n; i++)
        if (c->token[i] == token) return c->result[i];
    return 1;
}
