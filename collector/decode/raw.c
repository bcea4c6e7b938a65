/*
 * raw.c - "-produce raw" for NetFlow v5, v9 and IPFIX: the datagram's
 * structure as one JSON object (header, then each set: templates with their
 * fields, data records as hex), for debugging exporters.  It reads only what
 * the datagram holds (no template state), every read bounds-checked.
 */
#include <string.h>

#include "../../lib/core/buf.h"
#include "../../lib/core/cursor.h"
#include "decode.h"

static void kv_u64(fk_buf_t *b, const char *k, uint64_t v, int *first)
{
    fk_buf_printf(b, "%s\"%s\":", *first ? "" : ",", k);
    fk_buf_u64(b, v);
    *first = 0;
}

static void put_src(fk_buf_t *b, const fc_dgram_t *dg)
{
    uint8_t a[16];
    memset(a, 0, sizeof(a));
    if (dg->src.len == 4) {
        a[10] = a[11] = 0xff;
        memcpy(a + 12, dg->src.a, 4);
    } else {
        memcpy(a, dg->src.a, 16);
    }
    fk_buf_puts(b, ",\"src\":\"");
    fk_buf_ip(b, a);
    fk_buf_printf(b, ":%u\",\"time_received_ns\":", dg->src_port);
    fk_buf_u64(b, dg->received_ns);
}

/* Template / options template records of a set (v9 ids 0/1, IPFIX 2/3). */
static void templates(fk_buf_t *b, fk_cursor_t set, bool ipfix, bool options)
{
    int firstrec = 1;
    fk_buf_puts(b, ",\"records\":[");
    while (fk_cur_left(&set) >= 4) {
        uint16_t id, a, sc = 0, nf;
        fk_cur_be16(&set, &id);
        fk_cur_be16(&set, &a);
        if (id == 0 && a == 0)
            break;
        nf = a;
        if (options) {
            uint16_t bb;
            if (!fk_cur_be16(&set, &bb))
                break;
            if (ipfix) {
                sc = bb;
            } else {
                sc = a / 4;
                nf = (uint16_t)(a / 4 + bb / 4);
            }
        }
        fk_buf_printf(b, "%s{\"template-id\":%u,\"field-count\":%u", firstrec ? "" : ",", id, nf);
        if (options)
            fk_buf_printf(b, ",\"scope-field-count\":%u", sc);
        fk_buf_puts(b, ",\"fields\":[");
        for (uint16_t i = 0; i < nf; i++) {
            uint16_t t, l;
            uint32_t pen = 0;
            if (!fk_cur_be16(&set, &t) || !fk_cur_be16(&set, &l))
                break;
            if (ipfix && (t & 0x8000) && !fk_cur_be32(&set, &pen))
                break;
            bool provided = ipfix && (t & 0x8000);
            fk_buf_printf(b, "%s{\"pen-provided\":%s,\"type\":%u,\"length\":%u,\"pen\":%u}",
                          i ? "," : "", provided ? "true" : "false", ipfix ? t & 0x7fff : t, l,
                          pen);
        }
        fk_buf_puts(b, "]}");
        firstrec = 0;
    }
    fk_buf_putc(b, ']');
}

int fc_nf_raw_json(const fc_dgram_t *dg, fk_buf_t *b, fk_err_t *e)
{
    fk_cursor_t c = fk_cur_make(dg->data, dg->len);
    uint16_t ver = 0, count = 0;
    int first = 1;
    size_t start = b->len; /* on error, take back what this call wrote */

    if (!fk_cur_be16(&c, &ver) || !fk_cur_be16(&c, &count))
        return fk_errf(e, "raw: %zu bytes is no NetFlow/IPFIX header", dg->len);
    if (ver != 5 && ver != 9 && ver != 10)
        return fk_errf(e, "raw: version %u is not NetFlow v5, v9 or IPFIX", ver);
    fk_buf_puts(b, "{\"type\":");
    fk_buf_puts(b, ver == 5 ? "\"netflowv5\"" : ver == 9 ? "\"netflowv9\"" : "\"ipfix\"");
    fk_buf_puts(b, ",\"message\":{");
    kv_u64(b, "version", ver, &first);
    if (ver == 5) {
        uint32_t up = 0, secs = 0, nsecs = 0, seq = 0;
        uint16_t smp = 0;
        uint8_t et = 0, ei = 0;
        if (!fk_cur_be32(&c, &up) || !fk_cur_be32(&c, &secs) || !fk_cur_be32(&c, &nsecs) ||
            !fk_cur_be32(&c, &seq) || !fk_cur_u8(&c, &et) || !fk_cur_u8(&c, &ei) ||
            !fk_cur_be16(&c, &smp)) {
            b->len = start;
            return fk_errf(e, "raw: netflow v5 header cut short");
        }
        kv_u64(b, "count", count, &first);
        kv_u64(b, "sys-uptime", up, &first);
        kv_u64(b, "unix-secs", secs, &first);
        kv_u64(b, "unix-nsecs", nsecs, &first);
        kv_u64(b, "flow-sequence", seq, &first);
        kv_u64(b, "engine-type", et, &first);
        kv_u64(b, "engine-id", ei, &first);
        kv_u64(b, "sampling-interval", smp, &first);
        fk_buf_puts(b, ",\"records\":[");
        for (uint16_t i = 0; i < count && fk_cur_left(&c) >= 48; i++) {
            fk_buf_printf(b, "%s\"", i ? "," : "");
            fk_buf_hex(b, c.p, 48);
            fk_buf_putc(b, '"');
            c.p += 48;
        }
        fk_buf_puts(b, "]}");
        put_src(b, dg);
        fk_buf_putc(b, '}');
        return 0;
    }
    bool ipfix = ver == 10;
    uint32_t a = 0, bb = 0, seq = 0, dom = 0;
    if (!fk_cur_be32(&c, &a) || (!ipfix && !fk_cur_be32(&c, &bb)) || !fk_cur_be32(&c, &seq) ||
        !fk_cur_be32(&c, &dom)) {
        b->len = start;
        return fk_errf(e, "raw: header cut short");
    }
    if (ipfix) {
        kv_u64(b, "length", count, &first);
        kv_u64(b, "export-time", a, &first);
        kv_u64(b, "sequence-number", seq, &first);
        kv_u64(b, "observation-domain-id", dom, &first);
        /* The message length bounds the sets; one shorter than the header
         * leaves no room for any. */
        if (count < FK_IPFIX_HDR_LEN)
            c.end = c.p;
        else if (count < dg->len)
            c.end = dg->data + count;
    } else {
        kv_u64(b, "count", count, &first);
        kv_u64(b, "system-uptime", a, &first);
        kv_u64(b, "unix-seconds", bb, &first);
        kv_u64(b, "sequence-number", seq, &first);
        kv_u64(b, "source-id", dom, &first);
    }
    fk_buf_puts(b, ",\"flowsets\":[");
    for (int n = 0; fk_cur_left(&c) >= 4; n++) {
        uint16_t id, len;
        fk_cursor_t set;
        fk_cur_be16(&c, &id);
        fk_cur_be16(&c, &len);
        if (len < 4 || !fk_cur_sub(&c, len - 4, &set))
            break;
        fk_buf_printf(b, "%s{\"id\":%u,\"length\":%u", n ? "," : "", id, len);
        bool tmpl = ipfix ? (id == 2 || id == 3) : id <= 1;
        bool opt = ipfix ? id == 3 : id == 1;
        if (tmpl) {
            templates(b, set, ipfix, opt);
        } else {
            fk_buf_puts(b, ",\"data\":\"");
            fk_buf_hex(b, set.p, fk_cur_left(&set));
            fk_buf_putc(b, '"');
        }
        fk_buf_putc(b, '}');
    }
    fk_buf_puts(b, "]}");
    put_src(b, dg);
    fk_buf_putc(b, '}');
    return 0;
}
