/*
 * fuzz_ipfix.c - the IPFIX reader on hostile bytes, and the writer/reader
 * round trip.
 *
 * Byte 0 picks the mode:
 *   even: the rest is a stream of messages fed to fk_ipfix_frame and
 *         fk_ipfix_decode with a template store (every value must lie inside
 *         its message), then to fk_ipfix_decode_fixed (every fixed-length
 *         record too);
 *   odd:  the rest describes a template (field lengths from the bytes) and
 *         records; they are written with the writer, read back, and every
 *         value must come back byte-identical.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipfix/ipfix.h"

typedef struct store_st {
    fk_ipfix_tmpl_t t[4];
    int used[4];
} store_t;

static const fk_ipfix_tmpl_t *lookup(void *s, uint32_t odid, uint16_t id)
{
    store_t *st = s;
    (void)odid;
    for (int i = 0; i < 4; i++)
        if (st->used[i] && st->t[i].id == id)
            return &st->t[i];
    return NULL;
}

static int put(void *s, uint32_t odid, const fk_ipfix_tmpl_t *t)
{
    store_t *st = s;
    (void)odid;
    int slot = t->id % 4;
    st->used[slot] = 1;
    st->t[slot] = *t;
    return 0;
}

static const fk_ipfix_store_ops_t ops = {lookup, put};

typedef struct check_st {
    const uint8_t *lo, *hi;
    const uint8_t *want; /* round trip: expected value bytes, concatenated */
    size_t want_len;
    size_t off;
    int records;
} check_t;

static int on_rec(void *arg, uint32_t odid, const fk_ipfix_tmpl_t *t, const fk_ipfix_value_t *v,
                  size_t n)
{
    check_t *c = arg;
    (void)odid;
    (void)t;
    for (size_t i = 0; i < n; i++) {
        if (v[i].p < c->lo || v[i].p + v[i].len > c->hi)
            abort(); /* a value outside its message */
        if (c->want) {
            if (c->off + v[i].len > c->want_len || memcmp(c->want + c->off, v[i].p, v[i].len))
                abort(); /* round trip changed a value */
            c->off += v[i].len;
        }
    }
    c->records++;
    return 0;
}

/* fk_ipfix_decode_fixed's record function: the record inside its message;
 * every other record handed back to be read as values. */
static int on_fixed(void *arg, uint32_t odid, const fk_ipfix_tmpl_t *t, const uint8_t *rec)
{
    check_t *c = arg;
    (void)odid;
    if (!t->fixed_len || rec < c->lo || rec + t->fixed_len > c->hi)
        abort(); /* a record outside its message, or of a variable-length template */
    return c->records++ % 2 ? FK_IPFIX_AS_VALUES : 0;
}

static void decode_stream(const uint8_t *p, size_t n)
{
    static store_t st;
    fk_ipfix_stats_t stats = {0};
    fk_err_t e;

    memset(&st, 0, sizeof(st));
    while (n) {
        long m = fk_ipfix_frame(p, n);
        size_t len = m > 0 ? (size_t)m : n; /* decode the tail too: it must fail safely */
        uint8_t *copy = malloc(len);
        if (!copy)
            return;
        memcpy(copy, p, len);
        check_t c = {copy, copy + len, NULL, 0, 0, 0};
        fk_ipfix_decode(copy, len, &st, &ops, on_rec, &c, &stats, &e);
        /* again, data sets only, fixed-length records by their bytes */
        fk_ipfix_hdr_t hdr;
        check_t c2 = {copy, copy + len, NULL, 0, 0, 0};
        fk_ipfix_decode_fixed(copy, len, FK_IPFIX_DATA, &hdr, &st, &ops, on_rec, on_fixed, &c2,
                              &stats, &e);
        free(copy);
        p += len;
        n -= len;
    }
}

static void roundtrip(const uint8_t *p, size_t n)
{
    fk_ipfix_ie_t ie[16];
    size_t nf = 0;
    uint8_t buf[4096], want[4096 + 13000]; /* the message, plus one record being built */
    size_t wl = 0;
    fk_ipfix_msg_t m;

    if (n < 2)
        return;
    nf = (size_t)(p[0] % 16) + 1;
    p++;
    n--;
    for (size_t i = 0; i < nf; i++) {
        uint8_t b = i < n ? p[i] : 1;
        ie[i].pen = (b & 0x80) ? 8057 : 0;
        ie[i].id = (uint16_t)(1 + i);
        ie[i].len = (b & 0x40) ? FK_IPFIX_VARLEN : (uint16_t)((b & 0x0f) + 1);
    }
    fk_ipfix_msg_begin(&m, buf, sizeof(buf), 1, 0);
    if (!fk_ipfix_msg_set(&m, FK_IPFIX_SET_TEMPLATE) || !fk_ipfix_put_template(&m, 256, ie, nf))
        return;
    fk_ipfix_msg_set(&m, 256);
    /* Records: values cut from the input, variable ones sized by the next byte. */
    size_t pos = nf < n ? nf : n;
    int recs = 0;
    while (pos < n && recs < 8) {
        uint8_t rec[13000]; /* 16 fields of at most 765 + 3 bytes */
        size_t rl = 0, wl0 = wl;
        for (size_t i = 0; i < nf; i++) {
            size_t len = ie[i].len;
            if (len == FK_IPFIX_VARLEN) {
                len = pos < n ? (size_t)(p[pos++] * 3) : 0;
                rl += fk_ipfix_put_varlen(rec + rl, len);
            }
            for (size_t k = 0; k < len; k++) {
                uint8_t v = pos < n ? p[pos++] : 0;
                rec[rl++] = v;
                want[wl++] = v;
            }
        }
        uint8_t *room = fk_ipfix_msg_room(&m, rl);
        if (!room) {
            wl = wl0;
            break;
        }
        memcpy(room, rec, rl);
        m.len += rl;
        m.records++;
        recs++;
    }
    size_t len = fk_ipfix_msg_end(&m);
    store_t st;
    memset(&st, 0, sizeof(st));
    fk_ipfix_stats_t stats = {0};
    fk_err_t e;
    check_t c = {buf, buf + len, want, wl, 0, 0};
    if (fk_ipfix_decode(buf, len, &st, &ops, on_rec, &c, &stats, &e) != 0)
        abort(); /* what the writer wrote, the reader must read */
    /* The reader stops at a record that does not fit: with only zero-length
     * fields a record is empty, so count only when something was written. */
    if (c.off != wl)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        roundtrip(data + 1, size - 1);
    else
        decode_stream(data + 1, size - 1);
    return 0;
}
