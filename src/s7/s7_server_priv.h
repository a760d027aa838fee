/* Internals of the S7 server, shared by its source files:
 *   s7_server.c       handle, area registry and locks, lifecycle (thread / run_once)
 *   s7_server_conn.c  connections on the event loop: framing, timeouts, back-pressure
 *   s7_server_job.c   job PDUs: setup, read-var, write-var, PLC control, upload
 *   s7_server_ud.c    userdata PDUs: SZL, block directory, clock, password
 *   s7_szl.c          the SZL lists the simulated CPU reports
 * Nothing here does I/O except s7_server_conn.c. */
#ifndef PLCIO_SRC_S7_SERVER_PRIV_H
#define PLCIO_SRC_S7_SERVER_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/bytes.h"
#include "plcio/s7_server.h"
#include "s7/s7_codec.h"

struct plcio_loop;
typedef struct s7srv_conn s7srv_conn;
typedef struct s7srv_worker s7srv_worker;

/* Smallest PDU a CPU negotiates (S7-200/300 minimum, snap7's MinPduSize). */
#define S7SRV_PDU_MIN 240
/* Largest PDU classic S7 offers (S7-400 / snap7 server). */
#define S7SRV_PDU_MAX 960
/* Read-var / write-var item limit of a CPU per job. */
#define S7SRV_MAX_ITEMS 20
/* Largest SZL list or uploaded block kept for a multi-packet answer. */
#define S7SRV_FRAG_MAX 8192
/* Entries of the simulated diagnostic buffer (SZL 0x00A0). */
#define S7SRV_DIAG_MAX 32

typedef struct s7srv_area {
    plcio_s7_server *srv;
    unsigned refs; /* accesses in progress (registry lock) */
    bool removed;  /* unregistered; freed by the last release */
    uint8_t code;  /* plcio_s7_server_area */
    uint16_t number;
    uint8_t *mem;
    size_t size;
    bool owned;
    pthread_mutex_t lock; /* recursive */
} s7srv_area;

typedef struct s7srv_diag_entry {
    uint16_t event_id;
    int64_t plc_time_ns;
} s7srv_diag_entry;

/* Per-connection protocol state (no I/O): what the S7 layer remembers
 * between PDUs. */
typedef struct s7srv_session {
    unsigned client;
    uint16_t pdu_size; /* negotiated; 0 before setup communication */
    uint16_t jobs;     /* negotiated parallel jobs */
    bool authorized;   /* password accepted in this session */
    uint8_t ud_seq;    /* last userdata sequence handed out */
    /* A multi-packet userdata answer (SZL, list of blocks) in progress. */
    uint8_t frag_group; /* userdata group (0x44 SZL, 0x43 blocks); 0 = none */
    uint8_t frag_subfun;
    uint8_t frag_seq;
    size_t frag_len, frag_off;
    uint32_t list_next; /* list of DBs in progress: next DB number */
    uint8_t frag[S7SRV_FRAG_MAX];
    /* Upload of a DB in progress. */
    uint32_t upload_id; /* 0 = none */
    size_t upload_len, upload_off;
    uint8_t *upload; /* malloc'd block image */
    /* Download of a block in progress: the client asked (request download),
     * the server fetches the image with its own download-block jobs, ends
     * with download-ended, and the client's _INSE installs it. */
    uint8_t dl_state; /* S7SRV_DL_* */
    uint8_t dl_type;  /* PLCIO_S7_BLOCK_* */
    uint16_t dl_number;
    uint16_t dl_ref;   /* PDU reference of the server's job awaiting its ack */
    uint32_t dl_load;  /* announced load length */
    uint32_t dl_mc7;   /* announced MC7 length */
    size_t dl_len;     /* bytes received so far */
    uint8_t *dl_buf;   /* malloc'd, grows with the slices received (dl_len bytes) */
    uint16_t next_ref; /* PDU references of the server's own jobs */
    /* A job of the server's own (download block / ended) to send after the
     * answer being built: s7srv_handle_pdu's caller sends it. */
    uint8_t push[64];
    size_t push_len;
    /* A write job handed to callbacks.write_job, awaiting its reply
     * (plcio_s7_server_write_reply); the connection's input waits meanwhile. */
    uint64_t wait_job; /* 0 = none */
    uint16_t wait_ref; /* its PDU reference */
    size_t wait_count;
    uint8_t wait_codes[S7SRV_MAX_ITEMS]; /* the server's own checks per item */
    bool wait_read;                      /* the job is a read (callbacks.read_job or a backed range) */
    s7_item wait_items[S7SRV_MAX_ITEMS]; /* read: the items asked, answered in order */
} s7srv_session;

/* Download states (s7srv_session.dl_state). */
#define S7SRV_DL_NONE    0 /* nothing in progress */
#define S7SRV_DL_DATA    1 /* a download-block job is out, its answer awaited */
#define S7SRV_DL_ENDING  2 /* all bytes in; download-ended job out */
#define S7SRV_DL_READY   3 /* complete; waiting for the client's _INSE */
#define S7SRV_DL_ABORTED 4 /* refused midway; download-ended job out */
/* Largest block load image a download may announce (a 65535-byte DB with
 * its header, interface and footer fits). */
#define S7SRV_DL_MAX (65535 + 36 + 56 + 8192)

typedef enum s7srv_mode { S7SRV_IDLE, S7SRV_CALLER, S7SRV_THREAD } s7srv_mode;

struct plcio_s7_server {
    plcio_s7_server_options cfg; /* strings point into the buffers below */
    char host[64];
    char password[9];
    char id_order_code[21], id_type_name[33], id_as_name[25], id_module_name[25], id_plant_id[33], id_copyright[27],
        id_serial[25];

    pthread_mutex_t reg_lock; /* registry: fixed[] and dbs */
    s7srv_area *fixed[5];     /* I, Q, M, C, T */
    s7srv_area **dbs;         /* sorted by number */
    size_t db_count, db_cap;

    atomic_int cpu_state;
    _Atomic int64_t clock_offset_ns;
    pthread_mutex_t diag_lock;
    s7srv_diag_entry diag[S7SRV_DIAG_MAX];
    size_t diag_count, diag_head;

    int listen_fd;
    _Atomic uint16_t port;
    s7srv_mode mode;
    s7srv_worker *workers; /* [0] accepts; each runs its own event loop */
    unsigned n_workers, next_worker;
    atomic_uint conn_count;
    atomic_uint evicting; /* connections marked for eviction, not closed yet */
    unsigned next_client;
    atomic_uint next_upload_id;
    uint64_t next_write_job;      /* ids handed to callbacks.write_job / read_job (serving thread only) */
    struct s7bk_backing *backing; /* ranges backed by remote devices (s7_backing.c); NULL: none */
};

/* ---- s7_server.c ---- */
/* Find, reference and lock an area; NULL if absent. Undo with s7srv_area_release. */
s7srv_area *s7srv_area_acquire(plcio_s7_server *srv, uint8_t code, uint16_t number);
void s7srv_area_release(s7srv_area *a);
/* Registered DB numbers in ascending order from `from` on, at most cap; returns count. */
size_t s7srv_db_numbers(plcio_s7_server *srv, uint32_t from, uint16_t *out, size_t cap);
size_t s7srv_db_count(plcio_s7_server *srv);
void s7srv_event(plcio_s7_server *srv, plcio_s7_server_event_kind kind, unsigned client, int detail);
void s7srv_diag_add(plcio_s7_server *srv, uint16_t event_id);
/* The protection level that applies to a session (1 = none). */
unsigned s7srv_effective_protection(const plcio_s7_server *srv, const s7srv_session *ses);
/* The level CPU control (stop/start, clock, block download/insert/delete)
 * meets: at least 2 when options.control_locked. */
unsigned s7srv_control_protection(const plcio_s7_server *srv, const s7srv_session *ses);

/* ---- PDU processing (s7_server_job.c / s7_server_ud.c) ----
 * Handle one complete S7 PDU (buf, len); write the answer PDU (S7 header on)
 * into frame (cap bytes). Returns the answer length, 0 when no answer is due,
 * or a negative plcio_err when the connection must be closed. A job of the
 * server's own (ses->push, push_len) is sent after the answer, if any. */
int s7srv_handle_pdu(plcio_s7_server *srv, s7srv_session *ses, const uint8_t *buf, size_t len, uint8_t *frame,
                     size_t cap);
/* The answer frame of the write job the session waits for (ses->wait_job),
 * codes[] from the application (items the server refused keep their code);
 * the session then waits no more. Answer length, PLCIO_ENOTFOUND (no job
 * waits) or PLCIO_EINVAL (count is not the job's). */
int s7srv_write_answer(s7srv_session *ses, const uint8_t *codes, size_t count, uint8_t *frame, size_t cap);
/* The answer frame of the read job the session waits for; answers[] per
 * item (see plcio_s7_server_read_reply). Same return convention. */
int s7srv_read_answer(plcio_s7_server *srv, s7srv_session *ses, const plcio_s7_server_read_answer *answers,
                      size_t count, uint8_t *frame, size_t cap);
/* Apply one write item the server's checks passed (before_write, the bytes,
 * after_write), as a write job without deferral does: its item code. */
uint8_t s7srv_apply_write(plcio_s7_server *srv, const plcio_s7_server_access *acc, const uint8_t *data);
/* The serving loop of caller-driven mode (NULL when not listening). */
struct plcio_loop *s7srv_loop(plcio_s7_server *srv);

/* ---- s7_backing.c: ranges backed by remote devices ----
 * The job hooks run before the application's read_job / write_job: PLCIO_OK
 * when they took the job (answered through plcio_s7_server_read_reply /
 * write_reply), anything else when no item of it is backed. */
int s7bk_read_job(plcio_s7_server *srv, uint64_t job, const plcio_s7_server_read_item *items, size_t count);
int s7bk_write_job(plcio_s7_server *srv, uint64_t job, const plcio_s7_server_write_item *items, size_t count);
/* The server stops serving: forget the loop (requests in flight dropped). */
void s7bk_detach(plcio_s7_server *srv);
void s7bk_free(plcio_s7_server *srv);

/* Userdata PDUs (s7_server_ud.c): answer into out, same return convention. */
int s7srv_handle_userdata(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, s7_out *out);
/* Block info of a registered DB (also the header of its upload image). */
int s7srv_block_info(plcio_s7_server *srv, uint16_t number, s7_block_info *bi);
void s7srv_session_clear(s7srv_session *ses);

/* ---- s7_server_block.c: download, insert, delete ---- */
/* Job 0x1A: answer it and queue the first download-block job (ses->push). */
int s7srv_job_request_download(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, s7_out *out);
/* The client's ack(-data) to a job of the server's own: PLCIO_OK (nothing to
 * answer; the next job may be in ses->push) or PLCIO_EPROTO (close). */
int s7srv_on_ack(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu);
/* PI services _DELE and _INSE with their parameter block: 0 or the error
 * code for the answer header. */
uint16_t s7srv_pi_delete(plcio_s7_server *srv, s7srv_session *ses, const uint8_t *param, size_t len);
uint16_t s7srv_pi_insert(plcio_s7_server *srv, s7srv_session *ses, const uint8_t *param, size_t len);
void s7srv_download_clear(s7srv_session *ses);

/* ---- s7_szl.c ----
 * Write the SZL list (ID, index, LENTHDR, N_DR, records) for id/index into w.
 * Returns PLCIO_OK, PLCIO_ENOTFOUND (no such list) or PLCIO_ENOSPC. */
int s7srv_szl_build(plcio_s7_server *srv, const s7srv_session *ses, uint16_t id, uint16_t index, plcio_wcursor *w);

/* ---- time helpers ---- */
/* PLC local time now (system clock + offset), ns since 1970. */
int64_t s7srv_plc_now_ns(const plcio_s7_server *srv);
/* ns since 1970 <-> the codec's calendar fields. */
void s7srv_datetime_from_ns(int64_t ns, s7_datetime *dt);
int64_t s7srv_datetime_to_ns(const s7_datetime *dt);
/* 8-byte S7 DATE_AND_TIME (BCD) from ns since 1970. */
void s7srv_put_date_and_time(uint8_t out[8], int64_t ns);

#endif
