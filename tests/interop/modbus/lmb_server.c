/* libmodbus 3.1 server as a foreign peer for plcio's interop tests.
 *
 *   lmb_server tcp [SECONDS]        listens on 127.0.0.1, a free port
 *   lmb_server rtu DEVICE [SECONDS] 19200 8N1, unit 1
 *
 * Prints "listening on 127.0.0.1:PORT" (or "listening on DEVICE") and exits
 * by itself after SECONDS (default 30). Contents, 1000 of each table from
 * address 0: holding[i] = i, input[i] = 1000 + i, coils[i] = (i % 3 == 0),
 * discrete inputs[i] = (i % 2 == 0). Several TCP clients at once (select). */
#include <arpa/inet.h>
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

static modbus_mapping_t *make_mapping(void)
{
    modbus_mapping_t *m = modbus_mapping_new(1000, 1000, 1000, 1000);
    if (!m) return NULL;
    for (int i = 0; i < 1000; i++) {
        m->tab_registers[i] = (uint16_t)i;
        m->tab_input_registers[i] = (uint16_t)(1000 + i);
        m->tab_bits[i] = (uint8_t)(i % 3 == 0);
        m->tab_input_bits[i] = (uint8_t)(i % 2 == 0);
    }
    return m;
}

static int serve_tcp(modbus_mapping_t *m)
{
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", 0);
    int server = modbus_tcp_listen(ctx, 64);
    if (server < 0) return 1;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    getsockname(server, (struct sockaddr *)&sa, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
    fflush(stdout);
    fd_set all;
    FD_ZERO(&all);
    FD_SET(server, &all);
    int maxfd = server;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        fd_set rd = all;
        if (select(maxfd + 1, &rd, NULL, NULL, NULL) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        for (int fd = 0; fd <= maxfd; fd++) {
            if (!FD_ISSET(fd, &rd)) continue;
            if (fd == server) {
                int c = accept(server, NULL, NULL);
                if (c >= 0) {
                    FD_SET(c, &all);
                    if (c > maxfd) maxfd = c;
                }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int rc = modbus_receive(ctx, query);
            if (rc > 0) {
                modbus_reply(ctx, query, rc, m);
            } else if (rc == -1) {
                close(fd);
                FD_CLR(fd, &all);
            }
        }
    }
}

static int serve_rtu(modbus_mapping_t *m, const char *dev)
{
    modbus_t *ctx = modbus_new_rtu(dev, 19200, 'N', 8, 1);
    modbus_set_slave(ctx, 1);
    if (modbus_connect(ctx) != 0) return 1;
    printf("listening on %s\n", dev);
    fflush(stdout);
    uint8_t query[MODBUS_RTU_MAX_ADU_LENGTH];
    for (;;) {
        int rc = modbus_receive(ctx, query);
        if (rc > 0) modbus_reply(ctx, query, rc, m);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    int rtu = !strcmp(argv[1], "rtu");
    const char *secs = argc > (rtu ? 3 : 2) ? argv[rtu ? 3 : 2] : "30";
    alarm((unsigned)atoi(secs));
    modbus_mapping_t *m = make_mapping();
    if (!m) return 1;
    if (rtu) return argc > 2 ? serve_rtu(m, argv[2]) : 2;
    return serve_tcp(m);
}
