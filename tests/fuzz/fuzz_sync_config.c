/* Sync configuration: any bytes give a configuration or a located error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/plcio.h"
#include "plcio/sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plcio_sync_config *config = NULL;
    plcio_error err = {0};
    int rc = plcio_sync_config_parse((const char *)data, size, "fuzz.yaml", "/base", &config, &err);
    if (rc == PLCIO_OK) {
        if (!config || config->device_count == 0) abort();
        plcio_sync_config_free(config);
    } else if (config != NULL || strncmp(err.text, "fuzz.yaml:", 10) != 0) {
        abort(); /* an error always comes with a location and no half-built config */
    }
    return 0;
}
