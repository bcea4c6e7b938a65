/*
 * registry.c - the outputs compiled into flowprobe.
 */
#include <string.h>

#include "output.h"

extern const fp_output_ops_t fp_output_csv;
extern const fp_output_ops_t fp_output_json;
extern const fp_output_ops_t fp_output_ipfix;
extern const fp_output_ops_t fp_output_text;

const fp_output_ops_t *const fp_outputs[] = {
    &fp_output_text, &fp_output_csv, &fp_output_json, &fp_output_ipfix, NULL,
};

const fp_output_ops_t *fp_output_find(const char *name)
{
    for (size_t i = 0; fp_outputs[i]; i++)
        if (strcmp(fp_outputs[i]->name, name) == 0)
            return fp_outputs[i];
    return NULL;
}
