/* Printing what a shared-memory segment holds, shared by `plcio shm` and
 * `plcio demo`. */
#ifndef PLCIO_TOOL_SHM_VIEW_H
#define PLCIO_TOOL_SHM_VIEW_H

#include <stdio.h>

#include "plcio/shm.h"

/* One line per tag of the reader's private copy (call plcio_shm_reader_refresh
 * first): name, type (when `with_type`), value, quality, age of the last
 * change, and the error of a tag whose quality is ERROR. Columns are sized to
 * the longest name (at most `name_width`). */
void shm_view_table(FILE *out, plcio_shm_reader *r, int name_width, int with_type);

#endif
