/* The Modbus server the server-session fuzz harnesses share: units 1 and
 * "any" with 300 of everything and a file, short timeouts, a small serial
 * answer queue. Included by fuzz_modbus_server_stream.c and
 * fuzz_modbus_server_line.c (one program each). */
#ifndef PLCIO_FUZZ_MB_FUZZ_SERVER_H
#define PLCIO_FUZZ_MB_FUZZ_SERVER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_server_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static plcio_modbus_server *srv;
static mb_srv_stream st; /* 4 KiB input buffer: not on the stack */

static void setup(void)
{
    (void)plcio_modbus_server_new(NULL, &srv, NULL);
    if (!srv) abort();
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(300);
    bank.files = 1;
    if (plcio_modbus_server_add_unit(srv, 1, &bank)) abort();
    if (plcio_modbus_server_add_unit(srv, PLCIO_MODBUS_ANY_UNIT, &bank)) abort();
    plcio_modbus_server_limits lim;
    plcio_modbus_server_limits_init(&lim);
    lim.idle_timeout_ms = 1000;
    lim.frame_timeout_ms = 200;
    lim.serial_output_bytes = 512;
    if (plcio_modbus_server_set_limits(srv, &lim)) abort();
}

#endif
