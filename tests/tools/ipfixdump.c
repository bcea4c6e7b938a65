/*
 * ipfixdump.c - read an IPFIX stream (a TCP capture of flowprobe's export,
 * plain or LZ4-compressed as ipfixprobe frames it, or an RFC 5655 file) with
 * flowkit's own reader, and print what it holds.
 *
 *   ipfixdump [-w OUT.ipfix] [-r] FILE
 *
 * Prints one line per data record, "tmpl=ID pen:id=hex ...", with -r, then a
 * summary line "messages=N templates=N records=N lz4=0|1 errors=N withdrawals=N".  -w writes
 * the (decompressed) messages to OUT as an RFC 5655 file, which tshark reads.
 * Exit status: 0 when everything decoded, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/cursor.h"
#include "lib/ipfix/ipfix.h"
#include "lib/ipfix/lz4s.h"

typedef struct store_st {
    fk_ipfix_tmpl_t *t[65536];
} store_t;

static const fk_ipfix_tmpl_t *lookup(void *s, uint32_t odid, uint16_t id)
{
    (void)odid;
    return ((store_t *)s)->t[id];
}

static int put(void *s, uint32_t odid, const fk_ipfix_tmpl_t *t)
{
    store_t *st = s;
    (void)odid;
    if (!st->t[t->id])
        st->t[t->id] = malloc(sizeof(fk_ipfix_tmpl_t));
    if (!st->t[t->id])
        return -1;
    memcpy(st->t[t->id], t, sizeof(*t));
    return 0;
}

static int g_print;

static int on_record(void *arg, uint32_t odid, const fk_ipfix_tmpl_t *t, const fk_ipfix_value_t *v,
                     size_t n)
{
    (void)arg;
    (void)odid;
    if (!g_print)
        return 0;
    printf("tmpl=%u", t->id);
    for (size_t i = 0; i < n; i++) {
        printf(" %u:%u=", v[i].ie->pen, v[i].ie->id);
        for (size_t j = 0; j < v[i].len; j++)
            printf("%02x", v[i].p[j]);
    }
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *in = NULL;
    static store_t store;
    static const fk_ipfix_store_ops_t ops = {lookup, put};
    fk_ipfix_stats_t st = {0};
    uint64_t errors = 0;
    FILE *wf = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "-r") == 0)
            g_print = 1;
        else
            in = argv[i];
    }
    if (!in) {
        fprintf(stderr, "usage: ipfixdump [-w OUT.ipfix] [-r] FILE\n");
        return 2;
    }
    FILE *f = fopen(in, "rb");
    if (!f) {
        perror(in);
        return 2;
    }
    size_t cap = 1 << 20, len = 0;
    uint8_t *data = malloc(cap);
    size_t r;
    while (data && (r = fread(data + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            cap *= 2;
            data = realloc(data, cap);
        }
    }
    fclose(f);
    if (!data)
        return 2;
    if (out && !(wf = fopen(out, "wb"))) {
        perror(out);
        return 2;
    }

    bool lz4 = len >= 4 && fk_load_be32(data) == FK_LZ4S_MAGIC;
    fk_err_t e;
    if (lz4) {
        fk_lz4s_reader_t *rd = fk_lz4s_reader_new(0, &e);
        const uint8_t *msg;
        size_t mlen;
        int k;
        if (!rd || fk_lz4s_feed(rd, data, len) < 0) {
            fprintf(stderr, "lz4: cannot start\n");
            return 1;
        }
        while ((k = fk_lz4s_next(rd, &msg, &mlen, &e)) == 1) {
            if (wf)
                fwrite(msg, 1, mlen, wf);
            if (fk_ipfix_decode(msg, mlen, &store, &ops, on_record, NULL, &st, &e) < 0) {
                errors++;
                fprintf(stderr, "ipfix: %s\n", e.msg);
            }
        }
        if (k < 0) {
            errors++;
            fprintf(stderr, "lz4: %s\n", e.msg);
        }
        fk_lz4s_reader_free(rd);
    } else {
        size_t off = 0;
        while (off < len) {
            long m = fk_ipfix_frame(data + off, len - off);
            if (m <= 0) {
                errors++;
                fprintf(stderr, "ipfix: %zu bytes at offset %zu are not a whole message\n",
                        len - off, off);
                break;
            }
            if (wf)
                fwrite(data + off, 1, (size_t)m, wf);
            if (fk_ipfix_decode(data + off, (size_t)m, &store, &ops, on_record, NULL, &st, &e) <
                0) {
                errors++;
                fprintf(stderr, "ipfix: %s\n", e.msg);
            }
            off += (size_t)m;
        }
    }
    if (wf)
        fclose(wf);
    printf("messages=%llu templates=%llu records=%llu lz4=%d errors=%llu withdrawals=%llu\n",
           (unsigned long long)st.messages, (unsigned long long)st.templates,
           (unsigned long long)st.records, lz4, (unsigned long long)errors,
           (unsigned long long)st.withdrawals);
    free(data);
    return errors ? 1 : 0;
}
