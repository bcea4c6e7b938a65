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
 * by field number: offsets copied for locality, tags pre-encoded.  Steps of
 * one class in a row form a group (a run), so the encoder picks the class
 * once per run instead of once per field (a per-field indirect jump costs
 * more than encoding a zero field, which is skipping it).  Scalars and single
 * addresses share a class for this (both are skipped on one 8-byte load and
 * mask: the value, the address's length byte), so in field-number order the
 * 50 fields make a few runs: scalars and addresses, then the lists.
 */
enum { CL_SCALAR, CL_SCALAR_SH, CL_ADDR, CL_LIST, CL_LIST_ENUM, CL_LIST_ADDR };

typedef struct binop_st {
    uint8_t cls;      /* CL_* */
    uint8_t col;      /* fc_columns index */
    uint16_t at;      /* scalars: an 8-byte window of fc_flow_t holding the value ... */
    uint8_t sh;       /* ... shifted right by sh bits ... */
    uint8_t tlen;     /* (bytes of tag[] used, 1 or 2) */
    uint8_t run;      /* the class of the run it goes in (CL_SCALAR: an address too) */
    uint64_t mask;    /* ... and masked: the value (1, 4 or 8 bytes wide) */
    uint16_t off;     /* value (first element) in fc_flow_t */
    uint16_t cnt_off; /* lists: their count */
    uint16_t cap;     /* lists: capacity */
    uint8_t tag[2];   /* varint(field << 3 | wire type) */
} binop_t;

typedef struct bingroup_st {
    const binop_t *o, *end; /* the steps of the run */
    unsigned cls;
} bingroup_t;

static binop_t ops[FC_NPROTO_COLUMNS];
static bingroup_t groups[FC_NPROTO_COLUMNS];
static unsigned nops, ngroups;
static size_t msg_max; /* worst-case message size */
static pthread_once_t ops_once = PTHREAD_ONCE_INIT;
static int ops_ready; /* set (release) when ops_init is done: the per-record test */

static unsigned kind_class(unsigned kind)
{
    switch (kind) {
    case FC_K_ADDR:
        return CL_ADDR;
    case FC_K_A_U32:
        return CL_LIST;
    case FC_K_A_ENUM:
        return CL_LIST_ENUM;
    case FC_K_A_ADDR:
        return CL_LIST_ADDR;
    default: /* FC_K_ENUM8, FC_K_U32, FC_K_U64: varints */
        return CL_SCALAR;
    }
}

/* A scalar of `width` bytes at `off` as an 8-byte window inside fc_flow_t, a shift and a mask. */
static void scalar_window(binop_t *o, size_t off, size_t width)
{
    _Static_assert(sizeof(fc_flow_t) >= 8, "scalar windows are 8 bytes");
    size_t at = off + 8 <= sizeof(fc_flow_t) ? off : sizeof(fc_flow_t) - 8;
    size_t lo = off - at; /* the value's first byte within the window */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    o->sh = (uint8_t)(8 * (8 - lo - width));
#else
    o->sh = (uint8_t)(8 * lo);
#endif
    o->at = (uint16_t)at;
    o->mask = width >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * width)) - 1;
}

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
        unsigned cls = kind_class(c->kind);
        unsigned wt = cls == CL_SCALAR ? WT_VARINT : WT_LEN;
        unsigned tag = (unsigned)c->pb << 3 | wt; /* pb < 2048: at most 2 varint bytes */
        o->col = order[i];
        o->off = c->off;
        o->cnt_off = c->cnt_off;
        o->cap = c->cap;
        if (cls == CL_SCALAR) {
            scalar_window(o, c->off, c->kind == FC_K_ENUM8 ? 1 : c->kind == FC_K_U32 ? 4 : 8);
            /* The scalars lie in the first part of fc_flow_t, far from its
             * end, so on a little-endian host each window starts at its
             * value: no shift, a load and a mask.  Otherwise a class of its
             * own with the shift. */
            if (o->sh)
                cls = CL_SCALAR_SH;
        }
        o->cls = (uint8_t)cls;
        o->run = (uint8_t)cls;
        if (cls == CL_ADDR) {
            /* An address is absent when its length byte (fc_addr_t.len) is
             * zero: tested as a 1-byte scalar, it joins the scalars' runs and
             * only a present one asks its class. */
            scalar_window(o, c->off + offsetof(fc_addr_t, len), 1);
            if (!o->sh)
                o->run = CL_SCALAR;
        }
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
        if (ngroups == 0 || groups[ngroups - 1].cls != o->run)
            groups[ngroups++] = (bingroup_t){o, o, o->run};
        groups[ngroups - 1].end++;
    }
    nops = n;
    /* custom values (record.h fc_cval_t): a tag of up to 5 bytes (numbers
     * below 2^29), then a 10-byte varint or a 1-byte length; their bytes */
    msg_max += (size_t)FC_MAX_CUSTOM * (5 + 10) + FC_CUSTOM_BYTES + 2;
    /* 2 bytes of length prefix hold up to 16383; the tag store writes 2 bytes. */
    if (msg_max + 2 >= 16384)
        msg_max = 0; /* fc_format_bin then refuses every record (cannot happen, see below) */
    __atomic_store_n(&ops_ready, 1, __ATOMIC_RELEASE);
}

static inline unsigned varint_len(uint64_t v)
{
    return (unsigned)(64 - __builtin_clzll(v | 1) + 6) / 7;
}

/*
 * The low 56 bits of v as eight 7-bit groups, one per byte, least significant
 * first: halves of 28 bits to the two 32-bit lanes, then 14 bits to each
 * 16-bit lane, then 7 to each byte (three shift-and-merge steps, not eight).
 */
static inline uint64_t spread7(uint64_t v)
{
    v = (v & 0x000000000fffffffULL) | (v << 4 & 0x0fffffff00000000ULL);
    v = (v & 0x00003fff00003fffULL) | (v << 2 & 0x3fff00003fff0000ULL);
    return (v & 0x007f007f007f007fULL) | (v << 1 & 0x7f007f007f007f00ULL);
}

/* Eight bytes in memory order from a little-endian word. */
static inline void store_le64(uint8_t *p, uint64_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    memcpy(p, &x, 8);
}

/*
 * A varint: small values byte by byte; from 3 bytes on, the 7-bit groups are
 * spread into one 8-byte word and stored at once (nanosecond timestamps are
 * 9 bytes: a loop would take 9 dependent steps).  Writes up to 8 bytes past
 * the varint's end: callers reserve 8 spare bytes.
 */
static inline __attribute__((always_inline)) uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    if (v < 0x80) {
        *p = (uint8_t)v;
        return p + 1;
    }
    if (v < 0x4000) {
        p[0] = (uint8_t)(v | 0x80);
        p[1] = (uint8_t)(v >> 7);
        return p + 2;
    }
    if (!(v >> 56)) {
        /* 3 to 8 bytes: as many as the spread value has (h: its top bit);
         * continuation bits on the bytes below the top one */
        uint64_t s = spread7(v);
        unsigned h = 63 - (unsigned)__builtin_clzll(s); /* s > 0x7f: v >= 0x4000 */
        store_le64(p, s | (0x8080808080808080ULL & ((1ULL << (h & 56)) - 1)));
        return p + (h >> 3) + 1;
    }
    /* 9 or 10 bytes (nanosecond timestamps are 9) */
    store_le64(p, spread7(v) | 0x8080808080808080ULL);
    v >>= 56;
    if (v < 0x80) {
        p[8] = (uint8_t)v;
        return p + 9;
    }
    p[8] = (uint8_t)(v | 0x80);
    p[9] = (uint8_t)(v >> 7);
    return p + 10;
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

static inline uint64_t ld64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* A packed repeated uint32 (enum_ = 0) or LayerStack enum (enum_ = 1). */
static inline uint8_t *put_packed(uint8_t *p, const binop_t *o, const char *base, const int enum_)
{
    uint16_t n;
    memcpy(&n, base + o->cnt_off, 2);
    if (n > o->cap)
        n = o->cap;
    if (!n)
        return p;
    const uint32_t *e = (const uint32_t *)(const void *)(base + o->off);
    size_t len = 0;
    for (unsigned k = 0; k < n; k++)
        len += varint_len(enum_ ? enum_wire(e[k]) : e[k]);
    p = put_tag(p, o);
    p = put_varint(p, len);
    for (unsigned k = 0; k < n; k++)
        p = put_varint(p, enum_ ? enum_wire(e[k]) : e[k]);
    return p;
}

/* A repeated bytes field of addresses: every element written (even an empty one). */
static inline uint8_t *put_addr_list(uint8_t *p, const binop_t *o, const char *base)
{
    uint16_t n;
    memcpy(&n, base + o->cnt_off, 2);
    if (n > o->cap)
        n = o->cap;
    const fc_addr_t *e = (const fc_addr_t *)(const void *)(base + o->off);
    for (unsigned k = 0; k < n; k++)
        p = put_bytes(p, o, &e[k]);
    return p;
}

/* Runs of encoding steps, in field-number order. */
typedef struct binprog_st {
    const bingroup_t *groups, *end;
} binprog_t;

/* Every step of the list, run by run (a class is picked once per run). */
static uint8_t *put_groups(uint8_t *p, const binprog_t *pr, const char *base)
{
    for (const bingroup_t *g = pr->groups; g < pr->end; g++) {
        const binop_t *o = g->o, *end = g->end;
        switch (g->cls) {
        case CL_SCALAR: /* proto3: a zero scalar is not written; nor is an absent address */
            for (; o < end; o++) {
                uint64_t u = ld64(base + o->at) & o->mask;
                if (!u)
                    continue;
                if (o->cls == CL_ADDR) {
                    p = put_bytes(p, o, (const fc_addr_t *)(const void *)(base + o->off));
                    continue;
                }
                p = put_tag(p, o);
                p = put_varint(p, u);
            }
            break;
        case CL_SCALAR_SH:
            for (; o < end; o++) {
                uint64_t u = (ld64(base + o->at) >> o->sh) & o->mask;
                if (u) {
                    p = put_tag(p, o);
                    p = put_varint(p, u);
                }
            }
            break;
        case CL_ADDR: /* an absent address is an empty bytes field: not written */
            for (; o < end; o++)
                if (((const fc_addr_t *)(const void *)(base + o->off))->len)
                    p = put_bytes(p, o, (const fc_addr_t *)(const void *)(base + o->off));
            break;
        case CL_LIST:
            for (; o < end; o++)
                p = put_packed(p, o, base, 0);
            break;
        case CL_LIST_ENUM:
            for (; o < end; o++)
                p = put_packed(p, o, base, 1);
            break;
        default: /* CL_LIST_ADDR: repeated bytes, every element written (even an empty one) */
            for (; o < end; o++)
                p = put_addr_list(p, o, base);
            break;
        }
    }
    return p;
}

/*
 * The steps that a record with the decoder's promise `zero_cols` (record.h)
 * may have set, copied into a list of their own with its own runs: the
 * columns a template can set are scattered over FlowMessage's field numbers,
 * but those that are live mostly follow one another (a NetFlow v9 template's
 * live scalars and addresses make one run), so the class is picked per run,
 * not per field.  Records of one template share the promise, so the last list is
 * kept per thread.
 */
static __thread uint64_t live_zc;
static __thread binprog_t live;

static const binprog_t *live_build(uint64_t zero_cols)
{
    static __thread binop_t lops[FC_NPROTO_COLUMNS];
    static __thread bingroup_t lgroups[FC_NPROTO_COLUMNS];
    unsigned n = 0, ng = 0;
    for (unsigned i = 0; i < nops; i++) {
        if (zero_cols >> ops[i].col & 1)
            continue;
        if (ng == 0 || lgroups[ng - 1].cls != ops[i].run)
            lgroups[ng++] = (bingroup_t){&lops[n], &lops[n], ops[i].run};
        lgroups[ng - 1].end++;
        lops[n++] = ops[i];
    }
    live_zc = zero_cols;
    live = (binprog_t){lgroups, lgroups + ng};
    return &live;
}

/* The list for the promise: the last one when it is the same (inline, per record). */
static inline const binprog_t *live_prog(uint64_t zero_cols)
{
    return zero_cols == live_zc && live.groups ? &live : live_build(zero_cols);
}

int fc_format_bin(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt)
{
    (void)fmt; /* GoFlow2's bin output ignores the formatter section */
    if (!__atomic_load_n(&ops_ready, __ATOMIC_ACQUIRE))
        pthread_once(&ops_once, ops_init);

    /*
     * The message is written at start + 1, for a length prefix of 1 byte
     * (< 128: most flows, a v9 or IPFIX record is about 90 bytes); a longer
     * message moves on one byte for its prefix of 2 (< 16384).  The list
     * capacities of record.h keep msg_max near 2 KB.
     */
    _Static_assert(FC_MAX_ASPATH + FC_MAX_COMMUNITIES + FC_MAX_MPLS + FC_MAX_LAYERS + FC_MAX_SRV6 <
                       400,
                   "list capacities grew: check that msg_max stays below 16384");
    if (!msg_max)
        return -1;
    size_t need = msg_max + 2 + 16;
    uint8_t *start = b->cap - b->len >= need
                         ? (uint8_t *)b->data + b->len /* fk_buf_reserve's answer */
                         : (uint8_t *)fk_buf_reserve(b, need);
    if (!start)
        return -1;
    uint8_t *body = start + 1, *p = body;
    const char *base = (const char *)f;

    if (f->zero_cols) {
        /* Only the fields the decoder may have set (a NetFlow v9 template
         * sets a third of them), in field-number order. */
        p = put_groups(p, live_prog(f->zero_cols), base);
    } else {
        const binprog_t all = {groups, groups + ngroups};
        p = put_groups(p, &all, base);
    }
    /*
     * Custom fields (mapping file formatter.protobuf), as GoFlow2 writes
     * them: appended to the message's unknown fields while decoding, which
     * Go's marshaller emits after the known fields, in that order; one tag
     * per value (arrays are not packed).
     */
    unsigned nc = f->n_custom < FC_MAX_CUSTOM ? f->n_custom : FC_MAX_CUSTOM;
    for (unsigned k = 0; k < nc; k++) {
        const fc_cval_t *v = &f->custom[k];
        if (!v->pb || v->pb >= (1u << 29))
            continue; /* not a field number protobuf allows (mapping.c never stores one) */
        p = put_varint(p, (uint64_t)v->pb << 3 | (v->bytes ? WT_LEN : WT_VARINT));
        if (!v->bytes) {
            p = put_varint(p, v->u);
            continue;
        }
        unsigned off = v->off, blen = v->len;
        if (off > FC_CUSTOM_BYTES || blen > FC_CUSTOM_BYTES - off)
            blen = 0;
        p = put_varint(p, blen);
        memcpy(p, f->cbytes + off, blen);
        p += blen;
    }

    size_t len = (size_t)(p - body);
    assert(len <= msg_max); /* the reserve covered the message */
    if (len < 128) {
        start[0] = (uint8_t)len;
        b->len += len + 1;
    } else {
        memmove(start + 2, body, len);
        start[0] = (uint8_t)(len | 0x80);
        start[1] = (uint8_t)(len >> 7);
        b->len += len + 2;
    }
    return 0;
}
