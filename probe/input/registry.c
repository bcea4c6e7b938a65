/*
 * registry.c - the inputs compiled into flowprobe.
 */
#include <string.h>

#include "input.h"

extern const fp_input_ops_t fp_input_pcap;
extern const fp_input_ops_t fp_input_raw;

const fp_input_ops_t *const fp_inputs[] = {
    &fp_input_pcap,
    &fp_input_raw,
    NULL,
};

const fp_input_ops_t *fp_input_find(const char *name)
{
    for (size_t i = 0; fp_inputs[i]; i++)
        if (strcmp(fp_inputs[i]->name, name) == 0)
            return fp_inputs[i];
    return NULL;
}
