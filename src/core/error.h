/* Internal: carrying plcio_error through code that writes its reasons into a
 * plain (char *, size_t) buffer. */
#ifndef PLCIO_SRC_CORE_ERROR_H
#define PLCIO_SRC_CORE_ERROR_H

#include "plcio/core.h"

/* The text buffer of an optional plcio_error, as two arguments. */
#define ERROR_BUF(e) ((e) ? (e)->text : NULL), ((e) ? sizeof(e)->text : 0)

/* Clear *e before a call that may write its reason into ERROR_BUF(e). */
static inline void error_begin(plcio_error *e)
{
    if (e) {
        e->code = PLCIO_OK;
        e->text[0] = '\0';
    }
}

/* Record rc in *e; a failure without a reason gets the code's text. */
static inline int error_end(plcio_error *e, int rc)
{
    if (e) {
        e->code = rc;
        if (rc == PLCIO_OK)
            e->text[0] = '\0';
        else if (e->text[0] == '\0')
            (void)plcio_error_set(e, rc, "%s", plcio_strerror(rc));
    }
    return rc;
}

/* After rc = f(..., &e): copy e's reason into a plain buffer (may be NULL). */
int error_to_buf(const plcio_error *e, int rc, char *buf, size_t cap);

#endif
