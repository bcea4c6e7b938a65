/*
 * text.c - GoFlow2's "text" format: the same columns, renderers and renames
 * as JSON, written k=v and joined by single spaces with nothing quoted
 * (producer/proto/messages.go FormatMessageReflectText calls
 * FormatMessageReflectCustom(ext, "", " ", "=", false); format/text/text.go
 * prints MarshalText).  The writer itself is shared with JSON in json.c.
 */
#include "extras.h"
#include "format.h"

int fc_format_text(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt)
{
    int rc = fc__format_kv(b, f, fmt, 0);
    /* flowkit's extra values (IPFIX elements outside FlowMessage), after the columns */
    return rc || fc_format_has_fields(fmt) ? rc : fc_format_extras(b, f, 0);
}
