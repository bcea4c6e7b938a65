/*
 * persist.h - templates as GoFlow2's JSON: the body of GET /templates and the
 * -templates.json.path file (goflow2-spec.md sections 4 and 5), written and
 * read back so that a restarted collector decodes data sets at once.
 *
 * Shape (Go's json.MarshalIndent with two spaces; map keys sorted):
 *
 *   {
 *     "<exporter ip:port>": {
 *       "<version>/<obs domain>/<template id>": <template>
 *     }
 *   }
 *
 * <template> is one of GoFlow2's records, told apart by key presence:
 *   TemplateRecord              template-id, field-count, fields
 *   NFv9OptionsTemplateRecord   template-id, scope-length, option-length, scopes, options
 *   IPFIXOptionsTemplateRecord  template-id, field-count, scope-field-count, options, scopes
 * and every field is {"pen-provided": bool, "type": n, "length": n, "pen": n}
 * (IPFIX types without the enterprise bit; length 65535 = variable, RFC 7011 7).
 *
 * The loader treats the file as hostile: every value is range-checked, sizes
 * and nesting are capped, unknown keys are skipped, and any error rejects the
 * whole file with a message naming the line and column.
 */
#ifndef FC_PERSIST_H
#define FC_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "../../lib/core/buf.h"
#include "../../lib/core/log.h"
#include "decode.h"

/* Largest file the loader reads (bytes). */
#define FC_PERSIST_MAX_FILE (64u << 20)
/* Most templates one file may hold. */
#define FC_PERSIST_MAX_TEMPLATES 65536u

/*
 * Append the JSON of every template in `s` to b (caller holds the state's
 * lock).  Returns the number of templates written, or -1 when b could not
 * grow.
 */
long fc_persist_json(const fc_state_t *s, fk_buf_t *b);

/*
 * Write `len` bytes to `path` atomically: PATH.tmp is written and fsynced,
 * then renamed over PATH; the directory is created (0755) when missing.
 * 0, or -1 with a message.
 */
int fc_persist_write(const char *path, const void *data, size_t len, fk_err_t *e);

/*
 * Parse templates from JSON text and store them in `s` with `now_ns` as their
 * announcement time.  All or nothing: on any error nothing is stored.
 * Returns the number of templates stored, or -1 with "line L, column C: ..." in e.
 */
long fc_persist_parse(fc_state_t *s, const uint8_t *data, size_t len, uint64_t now_ns, fk_err_t *e);

/*
 * Read `path` and parse it (fc_persist_parse).  A missing file is not an
 * error (0 templates).  Returns the number stored, or -1 with a message
 * prefixed by the path.
 */
long fc_persist_load(fc_state_t *s, const char *path, uint64_t now_ns, fk_err_t *e);

#endif /* FC_PERSIST_H */
