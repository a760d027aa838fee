/* plcio sync: the engine that mirrors PLC memory into shared memory.
 *
 * This header holds the configuration model, loaded from YAML:
 *
 *   shm: tank                 # shared memory segment name (default "plcio")
 *   stats-interval: 1s        # how often statistics are reported (default 1s)
 *   layouts: [tank.db]        # TIA / STEP 7 source files, relative to this file
 *   devices:
 *     - name: tank-plc
 *       url: "s7://127.0.0.1:1102?rack=0&slot=1"
 *       reconnect: {min: 100ms, max: 5s}
 *       stale-after: 3        # missed cycles before values turn stale (default 3)
 *       groups:
 *         - name: fast
 *           interval: 20ms    # 1ms and up; plain numbers are milliseconds
 *           db: 10            # tags below are members of this DB's layout
 *           layout: Tank      # DB name in the layout files (default: the only one)
 *           tags:             # omitted: every member of the layout
 *             - Level
 *             - {member: Pump.Run}
 *             - {address: DB1.DBD8:REAL, name: Setpoint, deadband: 0.1}
 *
 * Unknown keys are errors (a typo must not silently disable a tag). Errors name
 * "file:line:column: what is wrong". */
#ifndef PLCIO_SYNC_H
#define PLCIO_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/export.h"

PLCIO_BEGIN_DECLS

typedef struct plcio_sync_tag_spec {
    const char *name;    /* name in shared memory; NULL: the member or address itself */
    const char *member;  /* layout member ("Motor.Speed"), or NULL */
    const char *address; /* explicit address ("DB1.DBD8:REAL", "hr100:REAL:CDAB"), or NULL */
    double deadband;     /* a change smaller than this is not a change; 0: any change */
    unsigned line;       /* where it was declared, for later error messages */
} plcio_sync_tag_spec;

typedef struct plcio_sync_group_spec {
    const char *name;
    uint32_t interval_ms;
    int db;             /* DB whose layout the members come from; -1: none */
    const char *layout; /* DB name in the layout files; NULL: the only one */
    bool all_members;   /* no tag list given: every leaf of the layout */
    size_t tag_count;
    plcio_sync_tag_spec *tags;
    unsigned line;
} plcio_sync_group_spec;

typedef struct plcio_sync_device_spec {
    const char *name;
    const char *url;
    uint32_t reconnect_min_ms;
    uint32_t reconnect_max_ms;
    uint32_t stale_after_cycles;
    size_t group_count;
    plcio_sync_group_spec *groups;
    unsigned line;
} plcio_sync_device_spec;

typedef struct plcio_sync_config {
    const char *shm_name;
    uint32_t stats_interval_ms;
    size_t layout_count;
    const char **layout_files; /* paths, resolved against the config file's folder */
    size_t device_count;
    plcio_sync_device_spec *devices;
} plcio_sync_config;

/* Parse a YAML configuration. `source` names it in errors ("tank.yaml");
 * `base_dir` resolves relative layout paths (NULL: as given). On error returns
 * PLCIO_ESYNTAX / PLCIO_ERANGE / PLCIO_EINVAL / PLCIO_ENOMEM, and writes
 * "source:line:column: message" into err (may be NULL). On success *out is
 * owned by the caller: free with plcio_sync_config_free. */
PLCIO_API int plcio_sync_config_parse(const char *text, size_t len, const char *source, const char *base_dir,
                                      plcio_sync_config **out, char *err, size_t err_cap);
/* Read and parse a file; layout paths resolve against the file's folder. */
PLCIO_API int plcio_sync_config_load(const char *path, plcio_sync_config **out, char *err, size_t err_cap);
PLCIO_API void plcio_sync_config_free(plcio_sync_config *config);

/* "20", "20ms", "1s", "2min" -> milliseconds; PLCIO_ESYNTAX or PLCIO_ERANGE. */
PLCIO_API int plcio_sync_parse_duration_ms(const char *text, uint32_t *ms);

PLCIO_END_DECLS

#endif
