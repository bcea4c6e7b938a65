/*
 * reader.c - decoding IPFIX messages (RFC 7011 3, 7, 8) with every read
 * bounds-checked.  A broken set is skipped by its length; a broken message
 * stops at the broken part; nothing outside the message is read.
 */
#include <string.h>

#include "../core/cursor.h"
#include "ipfix.h"

long fk_ipfix_frame(const uint8_t *p, size_t n)
{
    uint16_t len;

    if (n < 4)
        return 0;
    if (fk_load_be16(p) != FK_IPFIX_VERSION)
        return -1;
    len = fk_load_be16(p + 2);
    if (len < FK_IPFIX_HDR_LEN)
        return -1;
    return n >= len ? (long)len : 0;
}

/* Parse a (options) template record; 1 stored, 0 skip rest of set, -1 invalid. */
static int read_template(fk_cursor_t *c, bool options, uint32_t odid, void *store,
                         const fk_ipfix_store_ops_t *ops, fk_ipfix_stats_t *st, fk_err_t *e)
{
    static __thread fk_ipfix_tmpl_t t; /* 4 KiB: not on the stack of every caller */
    uint16_t id = 0, count = 0, scope = 0;

    /* Fewer bytes than a withdrawal (id, count 0), or zeros, are padding at
     * the end of the set (RFC 7011 3.3.1). */
    if (fk_cur_left(c) < 4)
        return 0;
    fk_cur_be16(c, &id);
    fk_cur_be16(c, &count);
    if (id == 0 && count == 0)
        return 0;
    if (count == 0 && (id == FK_IPFIX_SET_TEMPLATE || id == FK_IPFIX_SET_OPTIONS)) {
        /* "All templates withdrawn" (RFC 7011 8.1): counted; the store's
         * owner ends the session's templates when the session ends. */
        st->withdrawals++;
        return 1;
    }
    if (id < FK_IPFIX_FIRST_DATA_ID) {
        st->invalid++;
        fk_errf(e, "template id %u is below 256", id);
        return -1;
    }
    memset(&t, 0, sizeof(t) - sizeof(t.f));
    t.id = id;
    t.options = options;
    if (count == 0) { /* withdrawal (RFC 7011 8.1) */
        st->withdrawals++;
        ops->store(store, odid, &t);
        return 1;
    }
    if (options) {
        if (!fk_cur_be16(c, &scope) || scope == 0 || scope > count) {
            st->invalid++;
            fk_errf(e, "options template %u: scope count %u of %u fields", id, scope, count);
            return -1;
        }
    }
    if (count > FK_IPFIX_MAX_FIELDS) {
        st->invalid++;
        fk_errf(e, "template %u has %u fields (at most %d accepted)", id, count,
                FK_IPFIX_MAX_FIELDS);
        return -1;
    }
    uint32_t fixed = 0;
    bool var = false;
    for (uint16_t i = 0; i < count; i++) {
        uint16_t fid, flen;
        uint32_t pen = 0;
        if (!fk_cur_be16(c, &fid) || !fk_cur_be16(c, &flen) ||
            ((fid & 0x8000) && !fk_cur_be32(c, &pen))) {
            st->invalid++;
            fk_errf(e, "template %u: field %u of %u runs past its set", id, i + 1, count);
            return -1;
        }
        t.f[i].id = fid & 0x7fff;
        t.f[i].pen = pen;
        t.f[i].len = flen;
        if (flen == FK_IPFIX_VARLEN)
            var = true;
        else
            fixed += flen;
    }
    t.nfields = count;
    t.scope = scope;
    t.fixed_len = var ? 0 : fixed;
    if (!var && fixed == 0) {
        st->invalid++;
        fk_errf(e, "template %u: all %u fields have length 0", id, count);
        return -1;
    }
    st->templates++;
    ops->store(store, odid, &t);
    return 1;
}

static int read_data_set(fk_cursor_t *c, const fk_ipfix_tmpl_t *t, uint32_t odid,
                         fk_ipfix_record_fn fn, fk_ipfix_fixed_fn fixed, void *arg,
                         fk_ipfix_stats_t *st, fk_err_t *e)
{
    static __thread fk_ipfix_value_t v[FK_IPFIX_MAX_FIELDS];
    uint32_t min = t->fixed_len;

    if (!min) { /* variable: at least one byte per variable field */
        for (uint16_t i = 0; i < t->nfields; i++)
            min += t->f[i].len == FK_IPFIX_VARLEN ? 1 : t->f[i].len;
    }
    if (t->fixed_len) {
        /* Fixed-length records: one bounds check per record (the whole
         * record), and fewer bytes than a record left are padding (RFC 7011
         * 3.3.1).  The value array's element pointers and lengths are the
         * same for every record: set once, the first time it is wanted. */
        bool v_ready = false;
        while (fk_cur_left(c) >= min) {
            const uint8_t *rec = c->p;
            c->p += min;
            st->records++;
            if (fixed) {
                int r = fixed(arg, odid, t, rec);
                if (r != FK_IPFIX_AS_VALUES) {
                    if (r)
                        return 1;
                    continue;
                }
            }
            if (!v_ready) {
                for (uint16_t i = 0; i < t->nfields; i++) {
                    v[i].ie = &t->f[i];
                    v[i].len = t->f[i].len;
                }
                v_ready = true;
            }
            const uint8_t *p = rec;
            for (uint16_t i = 0; i < t->nfields; i++) {
                v[i].p = p;
                p += v[i].len;
            }
            if (fn && fn(arg, odid, t, v, t->nfields))
                return 1;
        }
        return 0;
    }
    /* Records continue while a whole minimal record fits; less is padding. */
    while (fk_cur_left(c) >= min && min > 0) {
        fk_cursor_t save = *c;
        for (uint16_t i = 0; i < t->nfields; i++) {
            size_t len = t->f[i].len;
            if (len == FK_IPFIX_VARLEN) {
                uint8_t b;
                uint16_t l16;
                if (!fk_cur_u8(c, &b))
                    goto bad;
                len = b;
                if (b == 255) {
                    if (!fk_cur_be16(c, &l16))
                        goto bad;
                    len = l16;
                }
            }
            if (!fk_cur_has(c, len))
                goto bad;
            v[i].ie = &t->f[i];
            v[i].p = c->p;
            v[i].len = len;
            c->p += len;
        }
        st->records++;
        if (fn && fn(arg, odid, t, v, t->nfields))
            return 1;
        continue;
    bad:
        *c = save;
        st->invalid++;
        fk_errf(e, "data set %u: a record's variable-length field runs past the set", t->id);
        return -1;
    }
    return 0;
}

int fk_ipfix_decode(const uint8_t *msg, size_t len, void *store, const fk_ipfix_store_ops_t *ops,
                    fk_ipfix_record_fn fn, void *arg, fk_ipfix_stats_t *st, fk_err_t *e)
{
    fk_ipfix_hdr_t hdr;
    return fk_ipfix_decode_ex(msg, len, FK_IPFIX_ALL, &hdr, store, ops, fn, arg, st, e);
}

int fk_ipfix_decode_ex(const uint8_t *msg, size_t len, unsigned mode, fk_ipfix_hdr_t *hdr,
                       void *store, const fk_ipfix_store_ops_t *ops, fk_ipfix_record_fn fn,
                       void *arg, fk_ipfix_stats_t *st, fk_err_t *e)
{
    return fk_ipfix_decode_fixed(msg, len, mode, hdr, store, ops, fn, NULL, arg, st, e);
}

int fk_ipfix_decode_fixed(const uint8_t *msg, size_t len, unsigned mode, fk_ipfix_hdr_t *hdr,
                          void *store, const fk_ipfix_store_ops_t *ops, fk_ipfix_record_fn fn,
                          fk_ipfix_fixed_fn fixed, void *arg, fk_ipfix_stats_t *st, fk_err_t *e)
{
    fk_cursor_t c = fk_cur_make(msg, len);
    uint16_t ver = 0, mlen = 0;
    uint32_t odid = 0;
    int rc = 0;

    memset(hdr, 0, sizeof(*hdr));
    if (mode & FK_IPFIX_DATA)
        st->messages++;
    /* Message-level problems are counted once: in the templates pass when the
     * caller runs two passes over one message (fk_ipfix_decode_ex). */
    uint64_t one = (mode & FK_IPFIX_TEMPLATES) ? 1 : 0;
    if (len < FK_IPFIX_HDR_LEN) {
        st->truncated += one;
        return fk_errf(e, "message of %zu bytes is shorter than the 16-byte header", len);
    }
    fk_cur_be16(&c, &ver);
    fk_cur_be16(&c, &mlen);
    if (ver != FK_IPFIX_VERSION) {
        st->unsupported += one;
        return fk_errf(e, "version %u, expected 10", ver);
    }
    if (mlen < FK_IPFIX_HDR_LEN) {
        st->invalid += one;
        return fk_errf(e, "message length %u is shorter than the header", mlen);
    }
    if (mlen > len) {
        st->truncated += one;
        return fk_errf(e, "message says %u bytes, %zu present", mlen, len);
    }
    c.end = msg + mlen; /* bytes after the message are not ours */
    hdr->version = ver;
    hdr->length = mlen;
    fk_cur_be32(&c, &hdr->export_time);
    fk_cur_be32(&c, &hdr->sequence);
    fk_cur_be32(&c, &odid);
    hdr->odid = odid;

    while (fk_cur_left(&c) > 0) {
        uint16_t sid, slen;
        fk_cursor_t set;
        if (!fk_cur_be16(&c, &sid) || !fk_cur_be16(&c, &slen)) {
            st->invalid += one;
            return fk_errf(e, "%zu stray bytes after the last set", fk_cur_left(&c) + 2);
        }
        if (slen < FK_IPFIX_SET_HDR_LEN || !fk_cur_sub(&c, slen - FK_IPFIX_SET_HDR_LEN, &set)) {
            st->invalid += one;
            return fk_errf(e, "set %u claims %u bytes, %zu left in the message", sid, slen,
                           fk_cur_left(&c) + 4);
        }
        if (sid == FK_IPFIX_SET_TEMPLATE || sid == FK_IPFIX_SET_OPTIONS) {
            int r;
            if (!(mode & FK_IPFIX_TEMPLATES))
                continue;
            while ((r = read_template(&set, sid == FK_IPFIX_SET_OPTIONS, odid, store, ops, st,
                                      e)) == 1)
                ;
            if (r < 0)
                rc = -1;
        } else if (sid >= FK_IPFIX_FIRST_DATA_ID) {
            if (!(mode & FK_IPFIX_DATA))
                continue;
            const fk_ipfix_tmpl_t *t = ops->lookup(store, odid, sid);
            if (!t || t->nfields == 0) {
                st->no_template++;
                rc = fk_errf(e, "data set %u: no template for it (yet)", sid);
                continue;
            }
            int r = read_data_set(&set, t, odid, fn, fixed, arg, st, e);
            if (r > 0)
                return rc; /* the callback stopped us: earlier problems still count */
            if (r < 0)
                rc = -1;
        } else if (mode & FK_IPFIX_DATA) {
            st->unsupported++;
            rc = fk_errf(e, "set id %u is reserved", sid);
        }
    }
    return rc;
}

int fk_ipfix_basiclist(const uint8_t *p, size_t len, uint8_t *semantic, fk_ipfix_ie_t *elem,
                       const uint8_t **elems, size_t *elems_len)
{
    fk_cursor_t c = fk_cur_make(p, len);
    uint16_t fid, flen;
    uint32_t pen = 0;

    if (!fk_cur_u8(&c, semantic) || !fk_cur_be16(&c, &fid) || !fk_cur_be16(&c, &flen))
        return -1;
    if ((fid & 0x8000) && !fk_cur_be32(&c, &pen))
        return -1;
    if (flen == 0 || (flen != FK_IPFIX_VARLEN && fk_cur_left(&c) % flen != 0))
        return -1;
    elem->id = fid & 0x7fff;
    elem->pen = pen;
    elem->len = flen;
    *elems = c.p;
    *elems_len = fk_cur_left(&c);
    return 0;
}
