/* Prints the size and field offsets of every public struct the Python package
 * declares with ctypes (python/plcio/_lib.py), as JSON, so test_consistency.py
 * can compare them: a mismatch there would corrupt memory instead of failing. */
#include <stddef.h>
#include <stdio.h>

#include "plcio/plcio.h"

#define FIELD(T, f) printf("\"%s\": %zu, ", #f, offsetof(T, f))
#define OPEN(T)     printf("\"%s\": {\"_size\": %zu, ", #T, sizeof(T))
#define CLOSE()     printf("\"_end\": 0}, ")

int main(void)
{
    printf("{");
    OPEN(plcio_error);
    FIELD(plcio_error, code);
    FIELD(plcio_error, text);
    CLOSE();
    OPEN(plcio_s7_address);
    FIELD(plcio_s7_address, area);
    FIELD(plcio_s7_address, db);
    FIELD(plcio_s7_address, offset);
    FIELD(plcio_s7_address, bit);
    FIELD(plcio_s7_address, periph_output);
    FIELD(plcio_s7_address, type);
    FIELD(plcio_s7_address, length);
    FIELD(plcio_s7_address, count);
    FIELD(plcio_s7_address, size);
    CLOSE();
    OPEN(plcio_s7_var);
    FIELD(plcio_s7_var, area);
    FIELD(plcio_s7_var, db);
    FIELD(plcio_s7_var, start);
    FIELD(plcio_s7_var, size);
    FIELD(plcio_s7_var, bit);
    FIELD(plcio_s7_var, data);
    FIELD(plcio_s7_var, result);
    FIELD(plcio_s7_var, item_code);
    CLOSE();
    OPEN(plcio_mb_address);
    FIELD(plcio_mb_address, table);
    FIELD(plcio_mb_address, address);
    FIELD(plcio_mb_address, type);
    FIELD(plcio_mb_address, length);
    FIELD(plcio_mb_address, order);
    FIELD(plcio_mb_address, count);
    FIELD(plcio_mb_address, quantity);
    CLOSE();
    OPEN(plcio_modbus_request);
    FIELD(plcio_modbus_request, unit);
    FIELD(plcio_modbus_request, function);
    FIELD(plcio_modbus_request, addr);
    FIELD(plcio_modbus_request, n);
    FIELD(plcio_modbus_request, regs);
    FIELD(plcio_modbus_request, bits);
    FIELD(plcio_modbus_request, result);
    FIELD(plcio_modbus_request, exception);
    FIELD(plcio_modbus_request, timeout_ms);
    FIELD(plcio_modbus_request, retries);
    FIELD(plcio_modbus_request, sent);
    CLOSE();
    OPEN(plcio_value);
    FIELD(plcio_value, type);
    FIELD(plcio_value, length);
    FIELD(plcio_value, v);
    FIELD(plcio_value, text_len);
    FIELD(plcio_value, text_ext);
    FIELD(plcio_value, text_ext_cap);
    FIELD(plcio_value, text_inline);
    CLOSE();
    OPEN(plcio_datetime);
    FIELD(plcio_datetime, year);
    FIELD(plcio_datetime, month);
    FIELD(plcio_datetime, weekday);
    FIELD(plcio_datetime, nanosecond);
    CLOSE();
    OPEN(plcio_s7_cpu_info);
    FIELD(plcio_s7_cpu_info, module_type);
    FIELD(plcio_s7_cpu_info, firmware);
    FIELD(plcio_s7_cpu_info, cpu_state);
    FIELD(plcio_s7_cpu_info, bus_rate);
    CLOSE();
    OPEN(plcio_s7_block_count);
    FIELD(plcio_s7_block_count, sfb);
    CLOSE();
    OPEN(plcio_s7_clock);
    FIELD(plcio_s7_clock, weekday);
    CLOSE();
    OPEN(plcio_s7_server_access);
    FIELD(plcio_s7_server_access, area);
    FIELD(plcio_s7_server_access, db_number);
    FIELD(plcio_s7_server_access, start);
    FIELD(plcio_s7_server_access, size);
    FIELD(plcio_s7_server_access, bit);
    FIELD(plcio_s7_server_access, transport);
    FIELD(plcio_s7_server_access, client);
    CLOSE();
    OPEN(plcio_logger);
    FIELD(plcio_logger, fn);
    FIELD(plcio_logger, ctx);
    FIELD(plcio_logger, level);
    CLOSE();
    OPEN(plcio_s7_server_callbacks);
    FIELD(plcio_s7_server_callbacks, before_read);
    FIELD(plcio_s7_server_callbacks, before_write);
    FIELD(plcio_s7_server_callbacks, after_write);
    FIELD(plcio_s7_server_callbacks, on_event);
    FIELD(plcio_s7_server_callbacks, ctx);
    CLOSE();
    OPEN(plcio_s7_server_identity);
    FIELD(plcio_s7_server_identity, order_code);
    FIELD(plcio_s7_server_identity, firmware);
    FIELD(plcio_s7_server_identity, serial_number);
    FIELD(plcio_s7_server_identity, max_bus_rate);
    CLOSE();
    OPEN(plcio_s7_server_options);
    FIELD(plcio_s7_server_options, host);
    FIELD(plcio_s7_server_options, port);
    FIELD(plcio_s7_server_options, max_connections);
    FIELD(plcio_s7_server_options, pdu_size);
    FIELD(plcio_s7_server_options, max_parallel_jobs);
    FIELD(plcio_s7_server_options, frame_timeout_ms);
    FIELD(plcio_s7_server_options, idle_timeout_ms);
    FIELD(plcio_s7_server_options, max_output_bytes);
    FIELD(plcio_s7_server_options, threads);
    FIELD(plcio_s7_server_options, protection_level);
    FIELD(plcio_s7_server_options, password);
    FIELD(plcio_s7_server_options, cpu_state);
    FIELD(plcio_s7_server_options, identity);
    FIELD(plcio_s7_server_options, callbacks);
    FIELD(plcio_s7_server_options, logger);
    CLOSE();
    printf("\"_end\": {}}\n");
    return 0;
}
