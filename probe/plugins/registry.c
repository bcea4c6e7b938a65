/*
 * registry.c - the processing plugins compiled into flowprobe.
 *
 * Adding a plugin: write probe/plugins/NAME.c defining `const fp_plugin_t
 * fp_plugin_NAME`, and add one line to each list below.
 */
#include <string.h>

#include "../plugin.h"

const fp_plugin_t *const fp_plugins[] = {
    NULL,
};

const fp_plugin_t *fp_plugin_find(const char *name)
{
    for (size_t i = 0; fp_plugins[i]; i++)
        if (strcmp(fp_plugins[i]->name, name) == 0)
            return fp_plugins[i];
    return NULL;
}
