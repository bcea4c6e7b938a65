/*
 * extras.h - rendering a record's extra values (record.h fc_xval_t: IPFIX
 * elements outside GoFlow2's FlowMessage) after GoFlow2's columns.
 *
 * JSON: each known element as "name":value with flowprobe's JSON name and
 * value form (what `flowprobe -o json` prints for the same field), in
 * template order, then unknown elements under one key:
 *   "unknown_elements":[{"pen":8057,"id":9999,"hex":"0a0b"},...]
 * Text: " name=value" (flowprobe's text value forms), then
 *   " unknown_elements=[PEN:ID:HEX,...]".
 * Protobuf (bin) carries none of them: flow.proto has no field for them.
 */
#ifndef FC_EXTRAS_H
#define FC_EXTRAS_H

#include "../../lib/core/buf.h"
#include "../record.h"

/* The body of fc_format_extras; call that instead. */
int fc__format_extras(fk_buf_t *b, const fc_flow_t *f, int json);

/*
 * Append f's extra values to the record just written to b by fc_format_json
 * (json != 0: b must end with that object's '}', which is moved to after the
 * extras) or fc_format_text.  No-op for a record without extras.  Returns 0,
 * or -1 when b could not grow (b->error set; the record is then left as it
 * was, complete without its extras).
 */
static inline int fc_format_extras(fk_buf_t *b, const fc_flow_t *f, int json)
{
    return f->n_extras ? fc__format_extras(b, f, json) : 0;
}

#endif /* FC_EXTRAS_H */
