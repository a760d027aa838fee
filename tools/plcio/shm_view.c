#include "shm_view.h"

#include <string.h>

#include "plcio/core.h"
#include "plcio/value.h"

static int name_column(plcio_shm_reader *r, int cap)
{
    int w = 3;
    for (size_t i = 0; i < plcio_shm_reader_tag_count(r); i++) {
        plcio_shm_tag_info info;
        if (plcio_shm_reader_tag_info(r, i, &info) != PLCIO_OK) continue;
        int n = (int)strlen(info.name);
        if (n > w) w = n;
    }
    return w < cap ? w : cap;
}

static void print_age(FILE *out, uint64_t now, uint64_t then)
{
    if (!then) {
        fputs("never", out);
        return;
    }
    double s = now > then ? (double)(now - then) / 1e9 : 0;
    if (s < 120)
        fprintf(out, "%.1f s ago", s);
    else if (s < 7200)
        fprintf(out, "%.0f min ago", s / 60);
    else
        fprintf(out, "%.1f h ago", s / 3600);
}

void shm_view_table(FILE *out, plcio_shm_reader *r, int name_width, int with_type)
{
    int nw = name_column(r, name_width);
    fprintf(out, "  %-*s ", nw, "tag");
    if (with_type) fprintf(out, "%-10s ", "type");
    fprintf(out, "%-16s %-7s %s\n", "value", "quality", "changed");
    uint64_t now = plcio_realtime_ns();
    for (size_t i = 0; i < plcio_shm_reader_tag_count(r); i++) {
        plcio_shm_value v;
        plcio_shm_tag_info info;
        if (plcio_shm_reader_get(r, i, &v) != PLCIO_OK || plcio_shm_reader_tag_info(r, i, &info) != PLCIO_OK) continue;
        fprintf(out, "  %-*.*s ", nw, nw, info.name);
        if (with_type) fprintf(out, "%-10s ", plcio_type_name(info.type));
        const char *text = v.quality == PLCIO_SHM_QUALITY_NONE ? "-" : v.decode_error ? "(undecodable)" : v.text;
        fprintf(out, "%-16s %-7s ", text, plcio_shm_quality_name(v.quality));
        print_age(out, now, v.changed_real_ns);
        if (v.quality == PLCIO_SHM_QUALITY_ERROR && v.error) fprintf(out, "  (%s)", plcio_strerror(v.error));
        fputc('\n', out);
    }
}
