/*
 * registry.h - flowkit's IPFIX element registry on the collector side: the
 * elements flowprobe exports, known by the names flowprobe's JSON gives them,
 * and the decoding of their values.
 *
 * Single source of truth: the registry is built from flowprobe's own field
 * tables (fp_basic_fields and every plugin's table in fp_plugins[], see
 * lib/core/field.h), the same tables flowprobe's IPFIX output derives its
 * templates from.  An element is keyed by (enterprise number, element id):
 * IANA (PEN 0), RFC 5103 reverse elements (PEN 29305), CESNET (PEN 8057) and
 * the others ipfixprobe uses.  Array fields travel as RFC 6313 basicLists
 * (IE 291) whose list element is the field's (PEN, id), so they are keyed by
 * that element and flagged as lists.
 *
 * One key may name two fields of different types (CESNET 8057/7 is DNS_RDATA,
 * bytes, in the dns plugin and DNS_IP, an address, in passivedns): the
 * template's field length tells them apart (variable -> bytes, 4/16 -> ip).
 *
 * Elements GoFlow2's FlowMessage carries go to its columns first
 * (fc_nf_apply in fields.c); this registry is asked only about the others.
 */
#ifndef FC_REGISTRY_H
#define FC_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "../../lib/core/buf.h"
#include "../../lib/core/field.h"
#include "../../lib/ipfix/ipfix.h"
#include "../record.h"

/* One registry entry: the field as flowprobe declares it, and who declares it. */
typedef struct fc_regent_st {
    const fk_field_t *f; /* name, JSON name, PEN, element id, type */
    const char *plugin;  /* "basic" or the plugin's -p name */
    const char *jkey;    /* "\"json\":" (NULL if it could not be made), then
                          * at least FC_JKEY_PAD readable bytes after its NUL */
    uint16_t jkey_len;   /* strlen(jkey) */
} fc_regent_t;

/* Readable bytes after a jkey's end, so that a short key can be copied as
 * one block of this size (extras.c). */
#define FC_JKEY_PAD 32

/* Entries in the registry (built on first use; thread-safe). */
size_t fc_registry_count(void);

/* Entry i (< fc_registry_count()). */
const fc_regent_t *fc_registry_at(size_t i);

/*
 * The whole registry: entries 0 .. *n - 1 (*n < FC_XREG_UNKNOWN), built on
 * first use and never changed after, so a caller may index it for as long
 * as it likes (one call for many lookups).
 */
const fc_regent_t *fc_registry_all(size_t *n);

/*
 * The entry for element (pen, id) sent with template length `tlen`
 * (FK_IPFIX_VARLEN for variable length) and a value of `len` bytes; `list`
 * asks for an array field (the element of a basicList).  Returns its index,
 * or -1 when the registry has no field of that key whose type accepts that
 * encoding (a fixed-size field announced with a length it cannot have is
 * left to the caller as unknown, never misread).
 */
int fc_registry_find(uint32_t pen, uint16_t id, bool list, uint16_t tlen, size_t len);

/*
 * Add the element (template field `ie`, value v[0..len)) to f's extra values,
 * which fc_extras_begin() started: a registry field when the registry knows
 * it, else an unknown element; IANA paddingOctets (210) are dropped.  A value
 * past FC_MAX_EXTRAS (or FC_MAX_UNKNOWN unknown ones) or past the thread's
 * scratch is counted in f->truncated_lists and in fc_extras_dropped().
 */
void fc_extras_add(fc_flow_t *f, const fk_ipfix_ie_t *ie, const uint8_t *v, size_t len);

/*
 * fc_extras_add in two steps, for template plans (fields.c): the registry
 * entry of a fixed-length template field, found once (the registry's answer
 * depends on the field, not on the value, when the length is fixed), then
 * fc_extras_add_reg for each value.  fc_extras_reg returns the entry, -1 for
 * an unknown element, FC_EXTRAS_SKIP for one that adds nothing (padding) or
 * FC_EXTRAS_NO_REG when it cannot know before the value (variable length,
 * basicList): then call fc_extras_add.
 */
#define FC_EXTRAS_SKIP   (-2)
#define FC_EXTRAS_NO_REG (-3)
int fc_extras_reg(const fk_ipfix_ie_t *ie);

/*
 * The thread's scratch of extra values (registry.c), here so that adding a
 * value is inline in the plans' loop (fc_extras_add_reg: a JSON record of a
 * softflowd template adds two).
 */
#define FC_XSCRATCH_MAX                                                 \
    16384 /* extra values per datagram and thread (24 bytes each): more \
           * than a 9000-byte datagram, GoFlow2's largest, can hold */
typedef struct fc_xscratch_st {
    size_t used;      /* entries of v taken (this datagram's records) */
    unsigned unknown; /* unknown elements of the current record */
    fc_xval_t v[FC_XSCRATCH_MAX];
} fc_xscratch_t;
extern __thread fc_xscratch_t fc__xs;

/* A value that did not fit: counted in f->truncated_lists and fc_extras_dropped(). */
void fc__extras_drop(fc_flow_t *f);

/* Append one extra value, its registry entry known (reg < 0: unknown). */
static inline void fc__extras_push(fc_flow_t *f, uint32_t pen, uint16_t id, int reg,
                                   const uint8_t *v, size_t len)
{
    fc_xscratch_t *s = &fc__xs;
    /* The record's entries must stay contiguous in the scratch, and the
     * scratch bounds every record of the datagram together. */
    if (f->n_extras >= FC_MAX_EXTRAS || (reg < 0 && s->unknown >= FC_MAX_UNKNOWN) ||
        s->used >= FC_XSCRATCH_MAX || f->extras + f->n_extras != &s->v[s->used]) {
        fc__extras_drop(f);
        return;
    }
    s->unknown += reg < 0;
    s->v[s->used++] =
        (fc_xval_t){v, pen, id, (uint16_t)len, reg < 0 ? FC_XREG_UNKNOWN : (uint16_t)reg};
    f->n_extras++;
}

static inline void fc_extras_add_reg(fc_flow_t *f, const fk_ipfix_ie_t *ie, int reg,
                                     const uint8_t *v, size_t len)
{
    fc__extras_push(f, ie->pen, ie->id, reg, v, len);
}

/*
 * Start f's extra values in this thread's scratch (f->extras, n_extras = 0).
 * `first` restarts the scratch: pass true for the first record of a
 * datagram, which invalidates the extra values of every record decoded
 * before on this thread (see record.h).
 */
void fc_extras_begin(fc_flow_t *f, bool first);

/*
 * Whether records collect extra values at all (default yes).  Only the JSON
 * and text formats print them; with -format bin and no mapping file the
 * collector turns them off, and template plans skip the elements that would
 * only have become extra values.  Set before decoding threads start.
 */
void fc_extras_use(bool on);
extern bool fc__extras_off;
static inline bool fc_extras_wanted(void)
{
    return !fc__extras_off;
}

/* Extra values dropped so far for lack of room, over all threads. */
uint64_t fc_extras_dropped(void);

/*
 * Append the value of extra `x` to b, as flowprobe prints that field: JSON
 * (json != 0; fk_field_json's forms: numbers, "strings", "hex" bytes, times
 * in ns, [lists]) or text (fk_field_text's forms).  Unknown elements are not
 * values: the caller prints them (extras.c).
 */
void fc_registry_value(fk_buf_t *b, const fc_xval_t *x, int json);

#endif /* FC_REGISTRY_H */
