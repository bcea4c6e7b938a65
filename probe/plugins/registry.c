/*
 * registry.c - the processing plugins compiled into flowprobe.
 *
 * Adding a plugin: write probe/plugins/NAME.c defining `const fp_plugin_t
 * fp_plugin_NAME`, and add one line to each list below.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "../plugin.h"

extern const fp_plugin_t fp_plugin_vlan;
extern const fp_plugin_t fp_plugin_icmp;
extern const fp_plugin_t fp_plugin_mpls;
extern const fp_plugin_t fp_plugin_flow_hash;
extern const fp_plugin_t fp_plugin_basicplus;
extern const fp_plugin_t fp_plugin_idpcontent;
extern const fp_plugin_t fp_plugin_ntp;
extern const fp_plugin_t fp_plugin_mqtt;
extern const fp_plugin_t fp_plugin_http;
extern const fp_plugin_t fp_plugin_rtsp;
extern const fp_plugin_t fp_plugin_smtp;
extern const fp_plugin_t fp_plugin_sip;
extern const fp_plugin_t fp_plugin_ssdp;
extern const fp_plugin_t fp_plugin_dnssd;
extern const fp_plugin_t fp_plugin_dns;
extern const fp_plugin_t fp_plugin_passivedns;
extern const fp_plugin_t fp_plugin_netbios;
extern const fp_plugin_t fp_plugin_tls;
extern const fp_plugin_t fp_plugin_quic;
extern const fp_plugin_t fp_plugin_wg;
extern const fp_plugin_t fp_plugin_ovpn;
extern const fp_plugin_t fp_plugin_ssadetector;
extern const fp_plugin_t fp_plugin_pstats;
extern const fp_plugin_t fp_plugin_phists;
extern const fp_plugin_t fp_plugin_bstats;
extern const fp_plugin_t fp_plugin_nettisa;
extern const fp_plugin_t fp_plugin_osquery;
/* clang-format off */
const fp_plugin_t *const fp_plugins[] = {
    &fp_plugin_vlan,
    &fp_plugin_icmp,
    &fp_plugin_mpls,
    &fp_plugin_flow_hash,
    &fp_plugin_basicplus,
    &fp_plugin_idpcontent,
    &fp_plugin_ntp,
    &fp_plugin_mqtt,
    &fp_plugin_http,
    &fp_plugin_rtsp,
    &fp_plugin_smtp,
    &fp_plugin_sip,
    &fp_plugin_ssdp,
    &fp_plugin_dnssd,
    &fp_plugin_dns,
    &fp_plugin_passivedns,
    &fp_plugin_netbios,
    &fp_plugin_tls,
    &fp_plugin_quic,
    &fp_plugin_wg,
    &fp_plugin_ovpn,
    &fp_plugin_ssadetector,
    &fp_plugin_pstats,
    &fp_plugin_phists,
    &fp_plugin_bstats,
    &fp_plugin_nettisa,
    &fp_plugin_osquery,
    NULL,
};
/* clang-format on */

typedef struct copy_range_st {
    uint16_t off, end;
} copy_range_t;

static int copy_range_cmp(const void *a, const void *b)
{
    const copy_range_t *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * The copy plan of one plugin's record: its fixed-size fields and the
 * counts of its BYTES and array fields as byte runs (adjacent ones merged:
 * a record's scalars usually sit together), then one step per string and
 * per counted field.  Types fk_record_copy ignores are left out as well.
 * Returns false when the table needs more than FP_COPY_OPS steps (the
 * instance is then copied by fk_record_copy).
 */
static bool copy_plan(fp_plugin_inst_t *pi)
{
    const fp_plugin_t *p = pi->p;
    copy_range_t r[2 * FP_COPY_OPS];
    size_t nr = 0, nops = 0;

    for (size_t i = 0; i < p->nfields; i++) {
        const fk_field_t *f = &p->fields[i];
        fk_ftype_t t = (fk_ftype_t)f->type;
        unsigned size = fk_ftype_size(t);
        if (nr == sizeof(r) / sizeof(r[0]))
            return false;
        if (t == FK_T_STR) {
            continue;
        } else if (t == FK_T_BYTES || fk_ftype_is_array(t)) {
            r[nr].off = f->cnt_off;
            r[nr++].end = (uint16_t)(f->cnt_off + sizeof(uint16_t));
        } else if (t < FK_T_COUNT_ && size) {
            r[nr].off = f->off;
            r[nr++].end = (uint16_t)(f->off + size);
        }
    }
    qsort(r, nr, sizeof(r[0]), copy_range_cmp);
    for (size_t i = 0; i < nr;) {
        uint16_t off = r[i].off, end = r[i].end;
        for (i++; i < nr && r[i].off <= end; i++)
            if (r[i].end > end)
                end = r[i].end;
        if (nops == FP_COPY_OPS)
            return false;
        pi->copy[nops++] = (fp_copy_op_t){off, (uint16_t)(end - off), 0, FP_COPY_FIXED, 0};
    }
    pi->nfixed = (uint8_t)nops;
    /* Strings, then counted fields: each kind is one loop in copy_record. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < p->nfields; i++) {
            const fk_field_t *f = &p->fields[i];
            fk_ftype_t t = (fk_ftype_t)f->type;
            bool counted = t == FK_T_BYTES || fk_ftype_is_array(t);
            if (pass == 0 ? t != FK_T_STR : !counted)
                continue;
            if (nops == FP_COPY_OPS)
                return false;
            pi->copy[nops++] =
                (fp_copy_op_t){f->off, f->cap, f->cnt_off, counted ? FP_COPY_COUNTED : FP_COPY_STR,
                               (uint8_t)(t == FK_T_BYTES || t == FK_T_STR ? 1 : fk_ftype_esize(t))};
        }
        if (pass == 0)
            pi->nstr = (uint8_t)(nops - pi->nfixed);
    }
    pi->ncopy = (uint8_t)nops;
    return true;
}

size_t fp_plugins_layout(fp_plugin_inst_t *plugins, size_t n)
{
    size_t off = (sizeof(fp_flow_t) + 7) & ~(size_t)7;

    for (size_t i = 0; i < n; i++) {
        plugins[i].state_off = off;
        off += (plugins[i].p->state_size + 7) & ~(size_t)7;
        if (!plugins[i].copy_planned && copy_plan(&plugins[i]))
            plugins[i].copy_planned = 1;
    }
    return off;
}

/* n bytes, n small and varying: two overlapping fixed-size moves, no call. */
static inline void copy_small(uint8_t *d, const uint8_t *s, size_t n)
{
    if (n >= 16) {
        if (n > 32) {
            memcpy(d, s, n);
            return;
        }
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n >= 2) {
        memcpy(d, s, 2);
        memcpy(d + n - 2, s + n - 2, 2);
    } else if (n) {
        d[0] = s[0];
    }
}

/*
 * A string of `cap` bytes up to and with its NUL (all of it without one),
 * 16 bytes at a time where SSE2 can find the NUL in a block (every x86-64
 * CPU): most strings end in their first blocks, and finding the NUL as
 * the copy goes costs less than memchr and then memcpy.  Only bytes inside
 * the string's capacity are read.
 */
static inline void copy_str(uint8_t *d, const uint8_t *s, size_t cap)
{
    size_t i = 0;
    const uint8_t *nul;

#ifdef __SSE2__
    const __m128i zero = _mm_setzero_si128();
    for (; cap - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero));
        if (m) {
            copy_small(d + i, s + i, (size_t)__builtin_ctz(m) + 1);
            return;
        }
        _mm_storeu_si128((__m128i *)(void *)(d + i), v);
    }
#endif
    nul = memchr(s + i, 0, cap - i);
    copy_small(d + i, s + i, nul ? (size_t)(nul - (s + i)) + 1 : cap - i);
}

/* Run a plan on one record (dst and src are the record in the two slots). */
static void copy_record(const fp_plugin_inst_t *pi, uint8_t *d, const uint8_t *s)
{
    const fp_copy_op_t *op = pi->copy, *str = op + pi->nfixed, *cnt = str + pi->nstr,
                       *end = pi->copy + pi->ncopy;

    for (; op < str; op++)
        copy_small(d + op->off, s + op->off, op->len);
    for (; op < cnt; op++)
        copy_str(d + op->off, s + op->off, op->len);
    for (; op < end; op++) {
        /* The count was copied by a FIXED step; read it from the source. */
        uint16_t n;
        memcpy(&n, s + op->cnt_off, sizeof(n));
        if (n > op->len)
            n = op->len; /* as fk_field_count: never past the capacity */
        copy_small(d + op->off, s + op->off, (size_t)n * op->esize);
    }
}

void fp_flow_copy(void *dst, const fp_flow_t *flow, const fp_plugin_inst_t *plugins, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = (const uint8_t *)flow;

    memcpy(d, s, sizeof(*flow));
    for (size_t i = 0; i < n; i++) {
        const fp_plugin_inst_t *pi = &plugins[i];
        const fp_plugin_t *p = pi->p;
        size_t off = pi->state_off, size = p->state_size, zero = p->state_zero;
        const uint8_t *st = s + off;
        unsigned k;

        if (!zero || zero >= size || !p->records) {
            memcpy(d + off, st, size);
            continue;
        }
        copy_small(d + off, st, zero);
        k = p->records(pi->ctx, flow, st);
        for (unsigned r = 0; r < k; r++) {
            const uint8_t *rec = p->record(pi->ctx, flow, st, r);
            uintptr_t at = (uintptr_t)rec - (uintptr_t)st; /* huge when rec < st */
            if (at > size || p->record_size > size - at) {
                memcpy(d + off, st, size); /* not in the slab: copy it all */
                break;
            }
            if (pi->copy_planned)
                copy_record(pi, d + off + at, rec);
            else
                fk_record_copy(p->fields, p->nfields, d + off + at, rec);
        }
    }
}

const fp_plugin_t *fp_plugin_find(const char *name)
{
    for (size_t i = 0; fp_plugins[i]; i++)
        if (strcmp(fp_plugins[i]->name, name) == 0)
            return fp_plugins[i];
    return NULL;
}
