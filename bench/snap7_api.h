/* The few snap7 entry points the benchmarks call (snap7_libmain.h, C linkage),
 * declared here so a benchmark can link the snap7.a that npm builds for
 * node-snap7 without including snap7's own headers. */
#ifndef PLCIO_BENCH_SNAP7_API_H
#define PLCIO_BENCH_SNAP7_API_H

#include <stdint.h>

typedef uintptr_t S7Object;
typedef struct {
    int Area, WordLen, Result, DBNumber, Start, Amount;
    void *pdata;
} TS7DataItem;

S7Object Srv_Create(void);
void Srv_Destroy(S7Object *server);
int Srv_SetParam(S7Object server, int param, void *value);
int Srv_StartTo(S7Object server, const char *address);
int Srv_Stop(S7Object server);
int Srv_RegisterArea(S7Object server, int area, uint16_t index, void *data, int size);
S7Object Cli_Create(void);
void Cli_Destroy(S7Object *client);
int Cli_SetParam(S7Object client, int param, void *value);
int Cli_ConnectTo(S7Object client, const char *address, int rack, int slot);
int Cli_Disconnect(S7Object client);
int Cli_DBRead(S7Object client, int db, int start, int size, void *data);
int Cli_ReadMultiVars(S7Object client, TS7DataItem *items, int count);

#define P_U16_LOCAL_PORT  1
#define P_U16_REMOTE_PORT 2
#define P_I32_PDU_REQUEST 10
#define P_I32_MAX_CLIENTS 11 /* p_i32_MaxClients */
#define SRV_AREA_DB       5

#endif
