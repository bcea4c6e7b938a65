/*
 * bin.c - GoFlow2's "bin" format: varint(message length) + FlowMessage in
 * protobuf wire format (producer/proto/messages.go MarshalBinary =
 * protodelim.MarshalTo; proto/flow.proto).
 *
 * Encoded by hand from fc_columns (one table for all formats), in the bytes
 * Go's marshaller produces: fields in field-number order, zero scalars and
 * empty bytes left out (proto3), repeated uint32/enum packed, each repeated
 * bytes element written (an empty one too), enums as int32 varints.  The unit
 * test decodes the result with the protobuf-c code generated from
 * proto/flow.proto and compares it byte for byte with protobuf-c's packer.
 *
 * Wire format (https://protobuf.dev/programming-guides/encoding/):
 *   tag    = varint(field_number << 3 | wire_type); 0 varint, 2 length-delimited
 *   varint = 7 bits per byte, least significant group first, MSB = more
 */
#include "format.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

enum { WT_VARINT = 0, WT_LEN = 2 };

/*
 * The proto columns of fc_columns compiled once into encoding steps, sorted
 * by field number: offsets copied for locality, tags pre-encoded.
 */
typedef struct binop_st {
    uint16_t off;     /* value (first element) in fc_flow_t */
    uint16_t cnt_off; /* lists: their count */
    uint16_t cap;     /* lists: capacity */
    uint8_t kind;     /* fc_ckind_t */
    uint8_t tlen;     /* bytes of tag[] used (1 or 2) */
    uint8_t tag[2];   /* varint(field << 3 | wire type) */
} binop_t;

static binop_t ops[FC_NPROTO_COLUMNS];
static unsigned nops;
static size_t msg_max; /* worst-case message size */
static pthread_once_t ops_once = PTHREAD_ONCE_INIT;

static void ops_init(void)
{
    uint8_t order[FC_NCOLUMNS];
    unsigned n = 0;
    for (unsigned i = 0; i < FC_NCOLUMNS; i++)
        if (fc_columns[i].pb)
            order[n++] = (uint8_t)i;
    /* insertion sort by field number (50 entries, once) */
    for (unsigned i = 1; i < n; i++) {
        uint8_t x = order[i];
        unsigned j = i;
        while (j > 0 && fc_columns[order[j - 1]].pb > fc_columns[x].pb) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    for (unsigned i = 0; i < n; i++) {
        const fc_column_t *c = &fc_columns[order[i]];
        binop_t *o = &ops[i];
        unsigned wt = c->kind == FC_K_ENUM8 || c->kind == FC_K_U32 || c->kind == FC_K_U64 ? WT_VARINT
                                                                                    : WT_LEN;
        unsigned tag = (unsigned)c->pb << 3 | wt; /* pb < 2048: at most 2 varint bytes */
        o->off = c->off;
        o->cnt_off = c->cnt_off;
        o->cap = c->cap;
        o->kind = c->kind;
        if (tag < 0x80) {
            o->tag[0] = (uint8_t)tag;
            o->tag[1] = 0;
            o->tlen = 1;
        } else {
            o->tag[0] = (uint8_t)(tag | 0x80);
            o->tag[1] = (uint8_t)(tag >> 7);
            o->tlen = 2;
        }
        switch (c->kind) {
        case FC_K_ENUM8:
        case FC_K_U32:
        case FC_K_U64:
            msg_max += o->tlen + 10;
            break;
        case FC_K_ADDR:
            msg_max += o->tlen + 1 + 16;
            break;
        case FC_K_A_U32:
        case FC_K_A_ENUM: /* an enum element is an int32: up to 10 bytes sign-extended */
            msg_max += o->tlen + 2 + (size_t)c->cap * (c->kind == FC_K_A_U32 ? 5 : 10);
            break;
        case FC_K_A_ADDR:
            msg_max += (size_t)c->cap * (o->tlen + 1 + 16);
            break;
        default:
            break;
        }
    }
    nops = n;
    /* 2 bytes of length prefix hold up to 16383; the tag store writes 2 bytes. */
    if (msg_max + 2 >= 16384)
        msg_max = 0; /* fc_format_bin then refuses every record (cannot happen, see below) */
}

static inline unsigned varint_len(uint64_t v)
{
    return (unsigned)(64 - __builtin_clzll(v | 1) + 6) / 7;
}

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* The tag: two bytes stored, tlen kept (the reserve has a spare byte). */
static inline uint8_t *put_tag(uint8_t *p, const binop_t *o)
{
    memcpy(p, o->tag, 2);
    return p + o->tlen;
}

static inline uint8_t *put_bytes(uint8_t *p, const binop_t *o, const fc_addr_t *a)
{
    unsigned n = a->len <= 16 ? a->len : 16;
    p = put_tag(p, o);
    *p++ = (uint8_t)n;
    memcpy(p, a->a, 16); /* fixed-size copy; only n bytes are kept */
    return p + n;
}

/* An enum element as protobuf writes it: the int32 value sign-extended to 64 bits. */
static inline uint64_t enum_wire(uint32_t v)
{
    return (uint64_t)(int64_t)(int32_t)v;
}

static inline uint32_t ld32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t ld64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

int fc_format_bin(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt)
{
    (void)fmt; /* GoFlow2's bin output ignores the formatter section */
    pthread_once(&ops_once, ops_init);

    /*
     * The message is written at start + 2; its length prefix then takes 1 byte
     * (< 128, the message moves back one byte) or 2 (< 16384).  The list
     * capacities of record.h keep msg_max near 2 KB.
     */
    _Static_assert(FC_MAX_ASPATH + FC_MAX_COMMUNITIES + FC_MAX_MPLS + FC_MAX_LAYERS + FC_MAX_SRV6 <
                       400,
                   "list capacities grew: check that msg_max stays below 16384");
    if (!msg_max)
        return -1;
    uint8_t *start = (uint8_t *)fk_buf_reserve(b, msg_max + 2 + 16);
    if (!start)
        return -1;
    uint8_t *body = start + 2, *p = body;
    const char *base = (const char *)f;

    for (unsigned i = 0; i < nops; i++) {
        const binop_t *o = &ops[i];
        const char *v = base + o->off;
        uint64_t u;
        uint16_t n;

        switch (o->kind) {
        case FC_K_U32:
            u = ld32(v);
            goto scalar;
        case FC_K_U64:
            u = ld64(v);
            goto scalar;
        case FC_K_ENUM8:
            u = *(const uint8_t *)v;
        scalar:
            if (u) {
                p = put_tag(p, o);
                if (u < 0x80)
                    *p++ = (uint8_t)u;
                else
                    p = put_varint(p, u);
            }
            break;
        case FC_K_ADDR:
            if (((const fc_addr_t *)v)->len)
                p = put_bytes(p, o, (const fc_addr_t *)v);
            break;
        case FC_K_A_U32:
        case FC_K_A_ENUM: {
            memcpy(&n, base + o->cnt_off, 2);
            if (n > o->cap)
                n = o->cap;
            if (!n)
                break;
            const uint32_t *e = (const uint32_t *)v;
            size_t len = 0;
            if (o->kind == FC_K_A_U32)
                for (unsigned k = 0; k < n; k++)
                    len += varint_len(e[k]);
            else
                for (unsigned k = 0; k < n; k++)
                    len += varint_len(enum_wire(e[k]));
            p = put_tag(p, o);
            p = put_varint(p, len);
            if (o->kind == FC_K_A_U32)
                for (unsigned k = 0; k < n; k++)
                    p = put_varint(p, e[k]);
            else
                for (unsigned k = 0; k < n; k++)
                    p = put_varint(p, enum_wire(e[k]));
            break;
        }
        case FC_K_A_ADDR: {
            memcpy(&n, base + o->cnt_off, 2);
            if (n > o->cap)
                n = o->cap;
            const fc_addr_t *e = (const fc_addr_t *)v;
            for (unsigned k = 0; k < n; k++)
                p = put_bytes(p, o, &e[k]);
            break;
        }
        default:
            break;
        }
    }

    size_t len = (size_t)(p - body);
    assert(len <= msg_max); /* the reserve covered the message */
    if (len < 128) {
        start[1] = (uint8_t)len;
        memmove(start, start + 1, len + 1);
        b->len += len + 1;
    } else {
        start[0] = (uint8_t)(len | 0x80);
        start[1] = (uint8_t)(len >> 7);
        b->len += len + 2;
    }
    return 0;
}
