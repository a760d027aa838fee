/* Modbus server internals shared by the protocol core (mb_server.c) and
 * the links (mb_server_io.c). */
#ifndef PLCIO_SRC_MODBUS_MB_SERVER_H
#define PLCIO_SRC_MODBUS_MB_SERVER_H

#include <pthread.h>

#include "modbus/mb_codec.h"
#include "modbus/mb_link.h"
#include "net/loop.h"
#include "plcio/modbus.h"

#define MB_MAX_UNITS    257   /* 0..255 and ANY */
#define MB_MAX_LINKS    1024  /* listeners, connections, serial lines */
#define MB_FILE_RECORDS 10000 /* AP 6.14: records 0..9999 */
#define MB_EVENT_LOG    64    /* AP 6.10: up to 64 event bytes */

#define MB_MAX_BLOCKS 16 /* sparse tables: separate address blocks */

typedef struct mb_block {
    uint16_t start;
    uint32_t count;
    uint16_t *regs; /* registers, or bits one per element (0/1) */
} mb_block;

typedef struct mb_table {
    mb_block blocks[MB_MAX_BLOCKS];
    size_t nblocks;
} mb_table;

typedef struct mb_unit {
    int id; /* 0..255 or PLCIO_MODBUS_ANY_UNIT */
    mb_table coils, discrete, holding, input;
    uint16_t files;
    uint16_t *file_data; /* files * MB_FILE_RECORDS registers */
    uint8_t exception_status;
    plcio_modbus_callbacks cb;
    void *cb_ctx;
} mb_unit;

typedef struct mb_link_state mb_link_state; /* mb_server_io.c */

struct plcio_modbus_server {
    plcio_logger logger;
    pthread_mutex_t lock;         /* recursive: banks, counters */
    mb_unit *units[MB_MAX_UNITS]; /* index unit id, 256 = ANY */
    char *devid[256];
    uint8_t server_id[200];
    size_t server_id_len;
    bool running;
    plcio_modbus_server_stats stats;
    uint16_t diag_register;
    uint8_t ascii_lf; /* FC 8/03 */
    uint8_t events[MB_EVENT_LOG];
    size_t event_len;
    /* links */
    plcio_loop *loop;
    mb_link_state *links[MB_MAX_LINKS];
};

/* Serial-line bookkeeping the links report (AP 6.8 counters). */
void mb_server_count_bus_message(plcio_modbus_server *s);
void mb_server_count_comm_error(plcio_modbus_server *s);
void mb_server_count_overrun(plcio_modbus_server *s);

#endif
