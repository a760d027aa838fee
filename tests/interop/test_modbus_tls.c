/* Modbus/TCP Security through the library API: plcio's TLS server
 * (plcio_modbus_server_listen_tls) with an authorization hook that sees the
 * role and subject of each client certificate, the blocking client and the
 * event-loop client (pipelined) on modbus-tls URLs, and bad input: missing or
 * unusable files, bad URL parameters, a client without a certificate.
 * Certificates are made at run time by interop/modbus/make_tls_certs.sh
 * (openssl, as scripts/bootstrap.sh installs it). The foreign peers (openssl
 * s_client, pymodbus) are in tests/cli/test_modbus_tls.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mb_async_loop.h"
#include "plcio/modbus.h"
#include "plcio_test.h"

static char dir[256];

typedef struct seen {
    pthread_mutex_t lock;
    char role[128], subject[128];
    bool tls;
    int calls;
} seen;

static seen last = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The hook: remembers who asked; refuses writes for "viewer" with 0x04 (an
 * application may choose its own code) and everything for a client without
 * a role with 0x01. */
static int authorize(void *ctx, const plcio_modbus_peer *peer, uint8_t unit, const uint8_t *pdu, size_t len)
{
    (void)ctx;
    (void)unit;
    (void)len;
    pthread_mutex_lock(&last.lock);
    snprintf(last.role, sizeof last.role, "%s", peer->role);
    snprintf(last.subject, sizeof last.subject, "%s", peer->subject);
    last.tls = peer->tls;
    last.calls++;
    pthread_mutex_unlock(&last.lock);
    if (!peer->role[0]) return PLCIO_MB_EX_ILLEGAL_FUNCTION;
    if (!strcmp(peer->role, "viewer") && plcio_modbus_function_writes(pdu[0])) return 0x04;
    return 0;
}

typedef struct server {
    plcio_modbus_server *s;
    pthread_t thread;
    int port;
} server;

static void *serve(void *p)
{
    plcio_modbus_server_run(((server *)p)->s);
    return NULL;
}

static void path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

static void server_start(server *sv)
{
    (void)plcio_modbus_server_new(NULL, &sv->s, NULL);
    assert_non_null(sv->s);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(1000);
    assert_int_equal(plcio_modbus_server_add_unit(sv->s, 1, &bank), PLCIO_OK);
    uint16_t v[100];
    for (uint16_t i = 0; i < 100; i++)
        v[i] = (uint16_t)(i * 7);
    assert_int_equal(plcio_modbus_server_write_bank(sv->s, 1, PLCIO_MODBUS_HOLDING_REGISTERS, 0, 100, v), PLCIO_OK);
    char ca[300], cert[300], key[300];
    path(ca, sizeof ca, "ca.pem");
    path(cert, sizeof cert, "server.pem");
    path(key, sizeof key, "server.key");
    plcio_modbus_tls_options t;
    plcio_modbus_tls_options_init(&t);
    t.ca_file = ca;
    t.cert_file = cert;
    t.key_file = key;
    plcio_error err;
    assert_int_equal(plcio_modbus_server_listen_tls(sv->s, "127.0.0.1", 0, &t, &sv->port, &err), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_set_authorize(sv->s, authorize, NULL), PLCIO_OK);
    assert_int_equal(pthread_create(&sv->thread, NULL, serve, sv), 0);
}

static void server_stop(server *sv)
{
    plcio_modbus_server_stop(sv->s);
    pthread_join(sv->thread, NULL);
    plcio_modbus_server_free(sv->s);
}

static plcio_modbus_client *client(const server *sv, const char *who)
{
    char url[1200];
    if (who)
        snprintf(url, sizeof url, "modbus-tls://127.0.0.1:%d?ca=%s/ca.pem&cert=%s/%s.pem&key=%s/%s.key", sv->port, dir,
                 dir, who, dir, who);
    else
        snprintf(url, sizeof url, "modbus-tls://127.0.0.1:%d?ca=%s/ca.pem", sv->port, dir);
    plcio_modbus_client *c = NULL;
    plcio_error err;
    assert_int_equal(plcio_modbus_client_new(url, NULL, &c, &err), PLCIO_OK);
    return c;
}

static void test_roles_reach_the_hook(void **state)
{
    (void)state;
    server sv;
    server_start(&sv);
    plcio_modbus_client *op = client(&sv, "operator");
    uint16_t w[3] = {100, 200, 300}, r[3] = {0};
    assert_int_equal(plcio_modbus_write_registers(op, 1, 10, 3, w), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(op, 1, 10, 3, r), PLCIO_OK);
    assert_memory_equal(r, w, sizeof w);
    pthread_mutex_lock(&last.lock);
    assert_string_equal(last.role, "operator");
    assert_string_equal(last.subject, "operator");
    assert_true(last.tls);
    pthread_mutex_unlock(&last.lock);
    plcio_modbus_client_settings set;
    assert_int_equal(plcio_modbus_client_get_settings(op, &set), PLCIO_OK);
    assert_string_equal(set.transport, "tls");

    /* viewer: reads yes, writes answered with the hook's 0x04 */
    plcio_modbus_client *vi = client(&sv, "viewer");
    assert_int_equal(plcio_modbus_read_holding_registers(vi, 1, 11, 1, r), PLCIO_OK);
    assert_int_equal(r[0], 200);
    assert_int_equal(plcio_modbus_write_register(vi, 1, 11, 9), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(vi), 0x04);
    pthread_mutex_lock(&last.lock);
    assert_string_equal(last.subject, "viewer");
    pthread_mutex_unlock(&last.lock);
    assert_int_equal(plcio_modbus_read_holding_registers(op, 1, 11, 1, r), PLCIO_OK);
    assert_int_equal(r[0], 200); /* not written */

    /* no role: even a read gets 0x01 from this hook */
    plcio_modbus_client *nr = client(&sv, "norole");
    assert_int_equal(plcio_modbus_read_holding_registers(nr, 1, 11, 1, r), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(nr), PLCIO_MB_EX_ILLEGAL_FUNCTION);

    /* the built-in rule replaces the hook: writes for "operator" only, 0x01 */
    assert_int_equal(plcio_modbus_server_set_write_role(sv.s, "operator"), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(nr, 1, 11, 1, r), PLCIO_OK);
    assert_int_equal(plcio_modbus_write_register(vi, 1, 11, 9), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(vi), PLCIO_MB_EX_ILLEGAL_FUNCTION);
    assert_int_equal(plcio_modbus_write_register(op, 1, 11, 9), PLCIO_OK);
    char longrole[200];
    memset(longrole, 'r', sizeof longrole - 1);
    longrole[sizeof longrole - 1] = '\0';
    assert_int_equal(plcio_modbus_server_set_write_role(sv.s, longrole), PLCIO_ERANGE);
    assert_int_equal(plcio_modbus_server_set_write_role(sv.s, ""), PLCIO_ERANGE);
    assert_int_equal(plcio_modbus_server_set_write_role(sv.s, NULL), PLCIO_OK);

    /* without a certificate: refused in the handshake, the reason named */
    plcio_modbus_client *anon = client(&sv, NULL);
    assert_int_equal(plcio_modbus_read_holding_registers(anon, 1, 11, 1, r), PLCIO_EACCESS);
    assert_non_null(strstr(plcio_modbus_client_last_error(anon)->text, "certificate required"));
    /* and the others are still served */
    assert_int_equal(plcio_modbus_read_holding_registers(op, 1, 12, 1, r), PLCIO_OK);
    assert_int_equal(r[0], 300);

    plcio_modbus_client_free(anon);
    plcio_modbus_client_free(nr);
    plcio_modbus_client_free(vi);
    plcio_modbus_client_free(op);
    server_stop(&sv);
}

#define NREQ 64

static void test_event_loop_pipelined(void **state)
{
    (void)state;
    server sv;
    server_start(&sv);
    plcio_modbus_client *c = client(&sv, "operator");
    assert_int_equal(plcio_modbus_client_set_depth(c, 8), PLCIO_OK);
    assert_int_equal(plcio_modbus_client_connect_async(c), PLCIO_OK);
    static uint16_t regs[NREQ][5];
    static plcio_modbus_request reqs[NREQ];
    mb_async_log log = {.base = reqs};
    for (int i = 0; i < NREQ; i++) {
        reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = (uint16_t)i, .n = 5, .regs = regs[i]};
        assert_int_equal(plcio_modbus_submit(c, &reqs[i], mb_async_record, &log), PLCIO_OK);
    }
    assert_int_equal(mb_async_run(c, &log.done, NREQ, 20000), PLCIO_OK);
    assert_int_equal(log.done, NREQ);
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(log.order[i], i);
        assert_int_equal(reqs[i].result, PLCIO_OK);
        for (int k = 0; k < 5; k++)
            assert_int_equal(regs[i][k], (uint16_t)((i + k) * 7));
    }
    plcio_modbus_client_free(c);

    /* event loop without a certificate: the request fails with the reason */
    c = client(&sv, NULL);
    assert_int_equal(plcio_modbus_client_connect_async(c), PLCIO_OK);
    uint16_t one = 0;
    plcio_modbus_request r = {.unit = 1, .function = 3, .addr = 0, .n = 1, .regs = &one};
    mb_async_log log2 = {.base = &r};
    assert_int_equal(plcio_modbus_submit(c, &r, mb_async_record, &log2), PLCIO_OK);
    (void)mb_async_run(c, &log2.done, 1, 10000);
    assert_int_equal(log2.done, 1);
    assert_int_equal(r.result, PLCIO_EACCESS);
    assert_non_null(strstr(plcio_modbus_client_last_error(c)->text, "certificate required"));
    plcio_modbus_client_free(c);
    server_stop(&sv);
}

static void test_bad_input(void **state)
{
    (void)state;
    plcio_error err;
    /* URLs */
    assert_int_equal(plcio_modbus_url_check("modbus-tls://10.0.0.7", &err), PLCIO_ESYNTAX);
    assert_non_null(strstr(err.text, "needs ca=FILE"));
    assert_int_equal(plcio_modbus_url_check("modbus-tls://10.0.0.7?ca=a.pem&cert=c.pem", &err), PLCIO_ESYNTAX);
    assert_int_equal(plcio_modbus_url_check("modbus-tls://10.0.0.7?ca=a.pem&insecure=2", &err), PLCIO_ERANGE);
    assert_int_equal(plcio_modbus_url_check("modbus-tls://10.0.0.7?ca=a.pem&baud=9600", &err), PLCIO_ESYNTAX);
    assert_int_equal(plcio_modbus_url_check("modbus-tls://10.0.0.7?ca=", &err), PLCIO_ERANGE);
    char huge[1200] = "modbus-tls://10.0.0.7?ca=";
    memset(huge + strlen(huge), 'x', 700);
    assert_int_not_equal(plcio_modbus_url_check(huge, &err), PLCIO_OK);
    assert_int_equal(plcio_modbus_url_check("modbus-tls://10.0.0.7?ca=a.pem", &err), PLCIO_OK);
    assert_int_equal(plcio_modbus_url_check("modbus-tls://10.0.0.7?insecure=1", &err), PLCIO_OK);

    /* the server's files */
    plcio_modbus_server *s = NULL;
    (void)plcio_modbus_server_new(NULL, &s, NULL);
    assert_non_null(s);
    plcio_modbus_tls_options t;
    plcio_modbus_tls_options_init(&t);
    assert_int_equal(plcio_modbus_server_listen_tls(s, "127.0.0.1", 0, &t, NULL, &err), PLCIO_EINVAL);
    assert_non_null(strstr(err.text, "no CA file"));
    char ca[300], cert[300], key[300], other[300], missing[300];
    path(ca, sizeof ca, "ca.pem");
    path(cert, sizeof cert, "server.pem");
    path(key, sizeof key, "viewer.key");
    path(other, sizeof other, "ca.cnf");
    path(missing, sizeof missing, "missing.pem");
    t.ca_file = ca;
    t.cert_file = cert;
    t.key_file = key;
    assert_int_equal(plcio_modbus_server_listen_tls(s, "127.0.0.1", 0, &t, NULL, &err), PLCIO_EPROTO);
    assert_non_null(strstr(err.text, "does not belong to certificate"));
    t.key_file = missing;
    assert_int_equal(plcio_modbus_server_listen_tls(s, "127.0.0.1", 0, &t, NULL, &err), PLCIO_ENOTFOUND);
    assert_non_null(strstr(err.text, "missing.pem"));
    path(key, sizeof key, "server.key");
    t.key_file = key;
    t.cert_file = other; /* not a certificate */
    assert_int_equal(plcio_modbus_server_listen_tls(s, "127.0.0.1", 0, &t, NULL, &err), PLCIO_EPROTO);
    assert_int_equal(plcio_modbus_server_listen_tls(NULL, "127.0.0.1", 0, &t, NULL, NULL), PLCIO_EINVAL);
    plcio_modbus_server_free(s);
    assert_int_equal(plcio_modbus_server_set_authorize(NULL, authorize, NULL), PLCIO_EINVAL);
    assert_true(plcio_modbus_function_writes(16));
    assert_false(plcio_modbus_function_writes(3));
}

static int make_certs(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/plcio-mbtls-%d", (int)getpid());
    char cmd[800];
    snprintf(cmd, sizeof cmd, "sh '%s/modbus/make_tls_certs.sh' '%s'", PLCIO_INTEROP_DIR, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot make the test certificates (openssl: scripts/bootstrap.sh installs it)\n");
        return -1;
    }
    return 0;
}

static int remove_certs(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_reach_the_hook),
        cmocka_unit_test(test_event_loop_pipelined),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
