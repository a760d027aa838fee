/* Authorization of requests on TCP and TLS connections: an application's
 * hook, or the built-in write-role rule (Modbus/TCP Security's role-based
 * authorization, MB-TCP-Security v21). */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "modbus/mb_server.h"

bool plcio_modbus_function_writes(uint8_t fc)
{
    switch (fc) {
    case PLCIO_MB_FC_WRITE_SINGLE_COIL:
    case PLCIO_MB_FC_WRITE_SINGLE_REGISTER:
    case PLCIO_MB_FC_WRITE_MULTIPLE_COILS:
    case PLCIO_MB_FC_WRITE_MULTIPLE_REGISTERS:
    case PLCIO_MB_FC_WRITE_FILE_RECORD:
    case PLCIO_MB_FC_MASK_WRITE_REGISTER:
    case PLCIO_MB_FC_READ_WRITE_REGISTERS: return true;
    default: return false;
    }
}

/* The built-in rule: writes for the write role only. */
static int write_role_rule(void *ctx, const plcio_modbus_peer *peer, uint8_t unit, const uint8_t *pdu, size_t len)
{
    (void)unit;
    (void)len;
    const char *role = ctx;
    if (!plcio_modbus_function_writes(pdu[0])) return 0;
    return strcmp(peer->role, role) == 0 ? 0 : PLCIO_MB_EX_ILLEGAL_FUNCTION;
}

int plcio_modbus_server_set_authorize(plcio_modbus_server *s, plcio_modbus_authorize_fn fn, void *ctx)
{
    if (!s) return PLCIO_EINVAL;
    pthread_mutex_lock(&s->lock);
    s->authorize = fn;
    s->authorize_ctx = ctx;
    s->write_role[0] = '\0';
    pthread_mutex_unlock(&s->lock);
    return PLCIO_OK;
}

int plcio_modbus_server_set_write_role(plcio_modbus_server *s, const char *role)
{
    if (!s) return PLCIO_EINVAL;
    if (role && (!role[0] || strlen(role) >= sizeof s->write_role)) return PLCIO_ERANGE;
    pthread_mutex_lock(&s->lock);
    if (role) {
        snprintf(s->write_role, sizeof s->write_role, "%s", role);
        s->authorize = write_role_rule;
        s->authorize_ctx = s->write_role;
    } else {
        s->write_role[0] = '\0';
        s->authorize = NULL;
        s->authorize_ctx = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    return PLCIO_OK;
}

uint8_t mb_server_authorize(plcio_modbus_server *s, const plcio_modbus_peer *peer, uint8_t unit, const uint8_t *pdu,
                            size_t len)
{
    char role[sizeof s->write_role];
    pthread_mutex_lock(&s->lock);
    plcio_modbus_authorize_fn fn = s->authorize;
    void *ctx = s->authorize_ctx;
    if (ctx == s->write_role) { /* a copy: set_write_role may change it from another thread */
        memcpy(role, s->write_role, sizeof role);
        ctx = role;
    }
    pthread_mutex_unlock(&s->lock);
    if (!fn || !len) return 0;
    int ex = fn(ctx, peer, unit, pdu, len);
    if (ex == 0) return 0;
    if (ex < 1 || ex > 255) ex = PLCIO_MB_EX_SERVER_DEVICE_FAILURE; /* the hook broke its contract */
    log_msg(&s->logger, PLCIO_LOG_WARN, "modbus", "refused %s (FC %u) for unit %u from %s (role '%s'): exception %02X",
            plcio_mb_function_name(pdu[0]), pdu[0], unit, peer->address, peer->role, (unsigned)ex);
    return (uint8_t)ex;
}
