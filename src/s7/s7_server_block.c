/* S7 server: block download, insert and delete, as a CPU does them.
 *
 * Download (the client pushes a block into the passive file system):
 *   client  job 0x1A request download "_0A00010P" + lengths  -> ack 0x1A
 *   server  job 0x1B download block "_0A00010P"               <- ack-data: slice, status 1 = more
 *   ...     (one job per slice until the client says "last")
 *   server  job 0x1C download ended "_0A00010P"               <- ack 0x1C
 *   client  job 0x28 PI "_INSE" "0A00010P"                    -> ack: the block is active
 * Delete: job 0x28 PI "_DELE" with one or more "0A00010B" names.
 *
 * The simulated CPU holds DBs only: a downloaded DB is installed as an area
 * of the size its MC7 length gives, holding the MC7 bytes (the DB's data),
 * replacing a DB of the same number; a deleted DB is unregistered. Both need
 * write permission (protection level 1, or 2 with the password given). */
#include <stdlib.h>
#include <string.h>

#include "s7/s7_codec.h"
#include "s7/s7_server_priv.h"

#define ERR_WRONG_FRAMES    0x8500
#define ERR_SEQUENCE        0x8401 /* invalid service sequence (loading or uploading a block) */
#define ERR_CANCELED        0x8503 /* service canceled prematurely (the client refused a slice) */
#define ERR_BLOCK_NAME      0xD201 /* syntax error in block name */
#define ERR_BLOCK_NOT_FOUND 0xD209 /* (at least) one of the given blocks not found */
#define ERR_BLOCK_TOO_LARGE 0xD20F /* module-specific maximum block size exceeded */
#define ERR_BLOCK_LENGTHS   0xD219 /* incorrect block lengths */
#define ERR_LANGUAGE        0xD220 /* invalid programming language (this CPU takes DBs only) */
#define ERR_BLOCK_STRUCTURE 0xD226 /* a structural error occurred in a block */
#define ERR_PROTECTION      0xD241 /* function not permitted in the current protection level */

/* Load-memory image of a block: 36-byte header (see block_image in
 * s7_server_job.c), MC7 code, then interface and footer. */
#define IMG_HEADER    36
#define IMG_FOOTER    36 /* the least a block image ends with */
#define IMG_SUBTYPE   5
#define IMG_NUMBER    6
#define IMG_LOAD_LEN  8
#define IMG_MC7_LEN   34
#define SUBTYPE_DB    0x0A
#define DB_CODE_LIMIT 65535

static int refuse(const s7_pdu *pdu, s7_out *out, uint16_t error)
{
    int rc = s7_error_encode(out, PLCIO_S7_ACK_DATA, pdu->pdu_ref, -1, error);
    return rc ? rc : (int)out->len;
}

static void download_clear(s7srv_session *ses)
{
    free(ses->dl_buf);
    ses->dl_buf = NULL;
    ses->dl_state = S7SRV_DL_NONE;
    ses->dl_len = 0;
}

void s7srv_download_clear(s7srv_session *ses) { download_clear(ses); }

/* Queue the server's own download job (0x1B or 0x1C) behind the answer.
 * Bytes 2..3 of a download-ended job are its error code (0 = complete; what
 * Wireshark shows as "Errorcode"); download-block jobs carry 01 00 there. */
static int push_job(s7srv_session *ses, uint8_t function, uint16_t error)
{
    s7_xfer x;
    memset(&x, 0, sizeof x);
    x.function = function;
    int rc = s7_filename(x.filename, ses->dl_type, ses->dl_number, 'P');
    if (rc) return rc;
    if (++ses->next_ref == 0) ses->next_ref = 1;
    ses->dl_ref = ses->next_ref;
    s7_out o = s7_out_make(ses->push, sizeof ses->push, 0);
    rc = s7_xfer_job_encode(&o, ses->dl_ref, &x);
    if (rc) return rc;
    if (function == PLCIO_S7_FN_DOWNLOAD_ENDED)
        plcio_put_u16be(ses->push + PLCIO_S7_FRAME_OVERHEAD + PLCIO_S7_HEADER_LEN + 2, error);
    ses->push_len = o.len;
    return PLCIO_OK;
}

int s7srv_job_request_download(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, s7_out *out)
{
    s7_xfer req;
    if (s7_xfer_job_decode(pdu, &req) || req.function != PLCIO_S7_FN_REQUEST_DOWNLOAD)
        return refuse(pdu, out, ERR_WRONG_FRAMES);
    uint8_t type = 0;
    uint16_t number = 0;
    char dest = 0;
    if (s7_filename_parse(req.filename, &type, &number, &dest) || dest != 'P') return refuse(pdu, out, ERR_BLOCK_NAME);
    if (s7srv_control_protection(srv, ses) >= 2) return refuse(pdu, out, ERR_PROTECTION);
    if (ses->dl_state == S7SRV_DL_DATA) return refuse(pdu, out, ERR_SEQUENCE);
    if (type != PLCIO_S7_BLOCK_DB) return refuse(pdu, out, ERR_LANGUAGE);
    if (number == 0) return refuse(pdu, out, ERR_BLOCK_NAME);
    if (!req.has_lengths) return refuse(pdu, out, ERR_BLOCK_LENGTHS);
    if (req.load_len > S7SRV_DL_MAX || req.mc7_len > DB_CODE_LIMIT) return refuse(pdu, out, ERR_BLOCK_TOO_LARGE);
    if (req.mc7_len == 0 || req.load_len < IMG_HEADER + req.mc7_len + IMG_FOOTER)
        return refuse(pdu, out, ERR_BLOCK_LENGTHS);
    download_clear(ses); /* a download not inserted (or not ended) yet is dropped: the new one replaces it */
    ses->dl_type = type;
    ses->dl_number = number;
    ses->dl_load = req.load_len;
    ses->dl_mc7 = req.mc7_len;
    ses->dl_len = 0;
    ses->dl_state = S7SRV_DL_DATA;
    s7_xfer ack;
    memset(&ack, 0, sizeof ack);
    ack.function = PLCIO_S7_FN_REQUEST_DOWNLOAD;
    int rc = s7_xfer_ack_encode(out, pdu->pdu_ref, &ack, 0);
    if (!rc) rc = push_job(ses, PLCIO_S7_FN_DOWNLOAD_BLOCK, 0);
    if (rc) {
        download_clear(ses);
        return rc;
    }
    return (int)out->len;
}

/* Stop a download midway: the client learns it from the download-ended job
 * that comes before all its bytes were asked for; _INSE then finds nothing. */
static int download_abort(s7srv_session *ses, uint16_t error)
{
    free(ses->dl_buf);
    ses->dl_buf = NULL;
    ses->dl_len = 0;
    ses->dl_state = S7SRV_DL_ABORTED;
    return push_job(ses, PLCIO_S7_FN_DOWNLOAD_ENDED, error);
}

int s7srv_on_ack(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu)
{
    (void)srv;
    int fn = s7_pdu_function(pdu);
    bool ours = pdu->pdu_ref == ses->dl_ref;
    if (ses->dl_state == S7SRV_DL_DATA && ours && fn == PLCIO_S7_FN_DOWNLOAD_BLOCK) {
        s7_xfer ack;
        int rc = s7_xfer_ack_decode(pdu, PLCIO_S7_FN_DOWNLOAD_BLOCK, &ack);
        if (rc) return download_abort(ses, rc == PLCIO_EPLC ? ERR_CANCELED : ERR_WRONG_FRAMES); /* refused, malformed */
        if (ack.payload_len > ses->dl_load - ses->dl_len) return download_abort(ses, ERR_BLOCK_LENGTHS); /* too much */
        if (ack.payload_len) {
            /* the buffer grows with what arrives: a connection holds what its
             * client sent, never more than the announced length */
            uint8_t *p = realloc(ses->dl_buf, ses->dl_len + ack.payload_len);
            if (!p) return download_abort(ses, ERR_BLOCK_TOO_LARGE);
            ses->dl_buf = p;
            memcpy(ses->dl_buf + ses->dl_len, ack.payload, ack.payload_len);
        }
        ses->dl_len += ack.payload_len;
        if (ack.status) {
            /* an empty slice that claims more follow would loop forever */
            if (ack.payload_len == 0) return download_abort(ses, ERR_WRONG_FRAMES);
            return push_job(ses, PLCIO_S7_FN_DOWNLOAD_BLOCK, 0);
        }
        if (ses->dl_len != ses->dl_load) return download_abort(ses, ERR_BLOCK_LENGTHS); /* fewer than announced */
        ses->dl_state = S7SRV_DL_ENDING;
        return push_job(ses, PLCIO_S7_FN_DOWNLOAD_ENDED, 0);
    }
    if ((ses->dl_state == S7SRV_DL_ENDING || ses->dl_state == S7SRV_DL_ABORTED) && ours &&
        fn == PLCIO_S7_FN_DOWNLOAD_ENDED) {
        if (ses->dl_state == S7SRV_DL_ENDING)
            ses->dl_state = S7SRV_DL_READY;
        else
            download_clear(ses);
        return PLCIO_OK;
    }
    /* An answer to nothing the server asked: the peer is not a client. */
    return PLCIO_EPROTO;
}

/* ---------------------------------------------------------------------------
 * PI services _DELE and _INSE. Parameter block: count, 0x00, then per block
 * "0" type digits5 file-system ('B' or 'P'), 8 bytes each.
 * ------------------------------------------------------------------------- */
static int block_at(const uint8_t *param, size_t len, size_t i, uint8_t *type, uint16_t *number)
{
    size_t off = 2 + i * 8;
    if (off + 8 > len) return PLCIO_EPROTO;
    uint8_t name[8];
    memcpy(name, param + off, 7);
    name[7] = 'A';
    return s7_block_name_decode(name, 8, type, number);
}

uint16_t s7srv_pi_delete(plcio_s7_server *srv, s7srv_session *ses, const uint8_t *param, size_t len)
{
    if (len < 2 || param[0] == 0 || len != 2 + (size_t)param[0] * 8) return ERR_BLOCK_NAME;
    if (s7srv_control_protection(srv, ses) >= 2) return ERR_PROTECTION;
    size_t n = param[0];
    /* all or nothing: check every name and presence first */
    for (size_t i = 0; i < n; i++) {
        uint8_t type = 0;
        uint16_t number = 0;
        if (block_at(param, len, i, &type, &number)) return ERR_BLOCK_NAME;
        if (type != PLCIO_S7_BLOCK_DB) return ERR_BLOCK_NOT_FOUND;
        s7srv_area *a = s7srv_area_acquire(srv, PLCIO_S7_AREA_DB, number);
        if (!a) return ERR_BLOCK_NOT_FOUND;
        s7srv_area_release(a);
    }
    uint16_t error = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t type = 0;
        uint16_t number = 0;
        (void)block_at(param, len, i, &type, &number);
        if (plcio_s7_server_remove_area(srv, PLCIO_S7_SERVER_AREA_DB, number) != PLCIO_OK)
            error = ERR_BLOCK_NOT_FOUND; /* deleted meanwhile by another connection */
        else
            s7srv_event(srv, PLCIO_S7_SERVER_EV_BLOCK_DELETED, ses->client, number);
    }
    return error;
}

/* Check the downloaded image and install it as DB dl_number. */
static uint16_t install(plcio_s7_server *srv, s7srv_session *ses)
{
    const uint8_t *img = ses->dl_buf;
    size_t len = ses->dl_len;
    if (len < IMG_HEADER + IMG_FOOTER || plcio_get_u16be(img) != 0x7070) return ERR_BLOCK_STRUCTURE;
    if (img[IMG_SUBTYPE] != SUBTYPE_DB) return ERR_LANGUAGE;
    if (plcio_get_u32be(img + IMG_LOAD_LEN) != len) return ERR_BLOCK_LENGTHS;
    size_t mc7 = plcio_get_u16be(img + IMG_MC7_LEN);
    if (mc7 != ses->dl_mc7 || mc7 == 0 || IMG_HEADER + mc7 + IMG_FOOTER > len) return ERR_BLOCK_LENGTHS;
    uint16_t number = ses->dl_number;
    (void)plcio_s7_server_remove_area(srv, PLCIO_S7_SERVER_AREA_DB, number); /* the new block replaces it */
    if (plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, number, mc7, NULL) != PLCIO_OK)
        return ERR_BLOCK_TOO_LARGE; /* out of memory (or raced by another download of the same DB) */
    s7srv_area *a = s7srv_area_acquire(srv, PLCIO_S7_AREA_DB, number);
    if (!a) return ERR_BLOCK_NOT_FOUND;
    memcpy(a->mem, img + IMG_HEADER, mc7);
    s7srv_area_release(a);
    s7srv_event(srv, PLCIO_S7_SERVER_EV_BLOCK_INSERTED, ses->client, number);
    return 0;
}

uint16_t s7srv_pi_insert(plcio_s7_server *srv, s7srv_session *ses, const uint8_t *param, size_t len)
{
    if (len != 10 || param[0] != 1 || param[9] != 'P') return ERR_BLOCK_NAME; /* one block from the passive FS */
    uint8_t type = 0;
    uint16_t number = 0;
    if (block_at(param, len, 0, &type, &number)) return ERR_BLOCK_NAME;
    if (s7srv_control_protection(srv, ses) >= 2) return ERR_PROTECTION;
    if (ses->dl_state != S7SRV_DL_READY || type != ses->dl_type || number != ses->dl_number) return ERR_BLOCK_NOT_FOUND;
    uint16_t error = install(srv, ses);
    download_clear(ses);
    return error;
}
