/* S7 server PDU layer: a sequence of S7 PDUs (each prefixed by one length
 * byte) goes through one session of a server with a few areas, so state
 * across PDUs (negotiated PDU, fragmented SZL / block lists, uploads,
 * password) is exercised. Every answer must fit the frame buffer and be a
 * well-formed frame; nothing may crash, overrun or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s7/s7_server_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static plcio_s7_server *server(void)
{
    static plcio_s7_server *srv;
    if (!srv) {
        plcio_s7_server_options cfg;
        plcio_s7_server_options_init(&cfg);
        cfg.password = "pw";
        cfg.protection_level = 2;
        if (plcio_s7_server_new(&cfg, &srv, NULL)) abort();
        plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, 300, NULL);
        plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 2, 4000, NULL);
        for (uint16_t n = 10; n < 400; n++)
            plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, n, 2, NULL);
        plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_M, 0, 64, NULL);
        plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_T, 0, 16, NULL);
        plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_C, 0, 16, NULL);
    }
    return srv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plcio_s7_server *srv = server();
    s7srv_session *ses = calloc(1, sizeof *ses);
    if (!ses) return 0;
    ses->client = 1;
    uint8_t frame[S7SRV_PDU_MAX + 64];
    size_t off = 0;
    while (off < size) {
        size_t len = data[off++];
        if (len > size - off) len = size - off;
        int rc = s7srv_handle_pdu(srv, ses, data + off, len, frame, sizeof frame);
        if (rc > (int)sizeof frame) abort();
        if (rc > 0) {
            size_t flen = 0;
            if (tpkt_decode(frame, (size_t)rc, &flen) != PLCIO_OK || flen != (size_t)rc) abort();
            bool eot;
            const uint8_t *pdu;
            size_t plen;
            s7_pdu p;
            if (cotp_dt_decode(frame + 4, flen - 4, &eot, &pdu, &plen) || s7_pdu_decode(pdu, plen, &p)) abort();
            if (ses->pdu_size && plen > ses->pdu_size) abort();
        }
        off += len;
    }
    s7srv_session_clear(ses);
    free(ses);
    plcio_s7_server_set_cpu_state(srv, PLCIO_S7_SERVER_CPU_RUN);
    return 0;
}
