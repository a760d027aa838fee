/* S7CommPlus symbolic access to optimized DBs: browse (type information),
 * symbol resolution with a per-client cache, typed multi-item read/write. */
#include "plcio/s7plus.h"

int plcio_s7plus_client_browse(plcio_s7plus_client *c, const char *db, plcio_layout_set **out)
{
    (void)c;
    (void)db;
    *out = NULL;
    return PLCIO_EUNSUPPORTED;
}

int plcio_s7plus_client_resolve(plcio_s7plus_client *c, const char *name, plcio_s7plus_symbol *out)
{
    (void)c;
    (void)name;
    (void)out;
    return PLCIO_EUNSUPPORTED;
}

void plcio_s7plus_client_forget(plcio_s7plus_client *c) { (void)c; }

int plcio_s7plus_client_read_symbols(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n)
{
    (void)c;
    (void)items;
    (void)n;
    return PLCIO_EUNSUPPORTED;
}

int plcio_s7plus_client_write_symbols(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n)
{
    (void)c;
    (void)items;
    (void)n;
    return PLCIO_EUNSUPPORTED;
}

int plcio_s7plus_client_read_symbols_async(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n,
                                           plcio_s7plus_done_fn done, void *ctx)
{
    (void)c;
    (void)items;
    (void)n;
    (void)done;
    (void)ctx;
    return PLCIO_EUNSUPPORTED;
}

int plcio_s7plus_client_write_symbols_async(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n,
                                            plcio_s7plus_done_fn done, void *ctx)
{
    (void)c;
    (void)items;
    (void)n;
    (void)done;
    (void)ctx;
    return PLCIO_EUNSUPPORTED;
}
