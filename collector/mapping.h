/*
 * mapping.h - GoFlow2's mapping file (-mapping mapping.yaml): custom fields,
 * element and packet-bit mappings, column selection, renames, renderers and
 * the Kafka key (../shared/reference/goflow2-spec.md section 8).
 *
 * The file is read as GoFlow2's code reads it, with its traps fixed
 * (spec "quirks" 1-3, 7):
 *   - `endian` and `endianness` are both accepted (GoFlow2 reads only the
 *     second; its sample and docs write the first);
 *   - destinations may be snake_case proto names (`sampling_rate`) or Go
 *     names (`SamplingRate`); GoFlow2 matched only the Go names;
 *   - a sampling rate mapped from a data record is not overwritten by the
 *     rate of options data (decoders keep it, decode.h have_rate);
 *   - sFlow layer names are case-insensitive;
 *   - renderers `network` and `icmp` (flowkit's names for GoFlow2's default
 *     src_net/dst_net and icmp_name renderers) are accepted.
 * Everything else that is wrong is refused at load time with the file, line
 * and column: an unknown key, a value of the wrong type, a duplicate key,
 * a duplicate custom name or index, an index of flow.proto or outside
 * protobuf's range, an unknown renderer, field, key or destination, an
 * enterprise number on a NetFlow v9 entry, a bit length that cannot fit its
 * destination, an sFlow layer or option flowkit does not implement.
 *
 * The loaded mapping is read-only and shared by all threads.  Decoders find
 * it through fc_mapping_active(), set once at start-up before any decoding
 * thread runs (a process has one mapping file, as GoFlow2 has).
 */
#ifndef FC_MAPPING_H
#define FC_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/core/log.h"
#include "format/format.h"
#include "record.h"

struct fk_packet_st;

typedef struct fc_mapping_st fc_mapping_t;

/* Limits (a config error past them). */
#define FC_MAPPING_MAX_ENTRIES 256        /* entries of each *.mapping list */
#define FC_MAPPING_MAX_KEYS    32         /* formatter.key entries */
#define FC_MAPPING_MAX_PORTS   64         /* sflow.ports entries */
#define FC_MAPPING_MAX_BYTES   (1u << 20) /* size of the file */

/*
 * Load the mapping file at `path`.  Returns the mapping (free with
 * fc_mapping_free), or NULL with e->msg = "PATH:LINE:COL: what was expected,
 * what was found" (or the I/O error).
 */
fc_mapping_t *fc_mapping_load(const char *path, fk_err_t *e);

/* The same from `len` bytes of YAML text; `name` stands for the file in messages. */
fc_mapping_t *fc_mapping_parse(const char *text, size_t len, const char *name, fk_err_t *e);

void fc_mapping_free(fc_mapping_t *m);

/*
 * The format built from formatter.fields/render/rename/protobuf, owned by the
 * mapping (valid until fc_mapping_free).  Give it to fc_format_json/_text.
 */
const fc_format_t *fc_mapping_format(const fc_mapping_t *m);

/*
 * formatter.key: the fields whose values make the Kafka message key, in
 * order (GoFlow2 Key(): FNV-32 over Go's %v of each).  Each is a column of
 * fc_columns (`col` >= 0; named by its proto or Go name) or a custom field
 * (`cust` >= 0, its number in the format, whose values are f->custom[] with
 * that .field).  The key hasher (format/key.c) reads them from here.
 */
typedef struct fc_mapkey_st {
    const char *name; /* as written in the file */
    int16_t col;      /* index in fc_columns, or -1 */
    int16_t cust;     /* custom field number, or -1 */
} fc_mapkey_t;
size_t fc_mapping_keys(const fc_mapping_t *m, const fc_mapkey_t **keys);

/* sflow.ports entries (validated; flowkit's packet walker does not use them yet). */
size_t fc_mapping_ports(const fc_mapping_t *m);

/* Values a mapping entry matched but could not store (bad length, packet too short). */
uint64_t fc_mapping_skipped(const fc_mapping_t *m);

/* ---- decoder hooks ---------------------------------------------------------- */

/* The process's mapping (NULL: none).  Set before decoding threads start. */
void fc_mapping_use(const fc_mapping_t *m);
extern const fc_mapping_t *fc__mapping_active;
static inline const fc_mapping_t *fc_mapping_active(void)
{
    return fc__mapping_active;
}

/*
 * NetFlow v9 (version 9) or IPFIX (10) data field (enterprise number `pen`,
 * 0 for IANA elements; element id without the enterprise bit) with `len`
 * value bytes: apply every entry of netflowv9.mapping / ipfix.mapping that
 * matches it.  Call after the built-in handling of the same field, so that
 * a mapping to a built-in column wins.  Sets *rate when sampling_rate was
 * written.  Returns how many entries matched (0: the field is not mapped).
 */
int fc_mapping_nf(const fc_mapping_t *m, fc_flow_t *f, int version, uint32_t pen, uint16_t id,
                  const uint8_t *v, size_t len, bool *rate);

/*
 * sflow.mapping: extract every entry's bits from a parsed sampled packet
 * (sFlow raw packet header, IPFIX dataLinkFrameSection) into f.  An entry
 * whose layer the packet does not have, or whose bits lie past the captured
 * bytes, is skipped (counted in fc_mapping_skipped when the layer was there).
 */
void fc_mapping_packet(const fc_mapping_t *m, fc_flow_t *f, const struct fk_packet_st *pkt);

/* Whether sflow.mapping has entries (decoders skip work otherwise). */
bool fc_mapping_has_packet(const fc_mapping_t *m);

/*
 * Store a custom value in f (custom field `field` of protobuf number `pb`):
 * a non-array field's value replaces an earlier one (one tag in bin, as
 * GoFlow2's JSON shows only the last), an array field's is appended.
 * bytes == NULL: the varint u; else `len` bytes.  Returns 0, or -1 when the
 * record's custom storage is full (f->truncated_lists counts it).
 */
int fc_custom_put(fc_flow_t *f, unsigned field, uint32_t pb, bool array, uint64_t u,
                  const uint8_t *bytes, size_t len);

#endif /* FC_MAPPING_H */
