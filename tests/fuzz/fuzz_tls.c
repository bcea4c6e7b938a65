/*
 * fuzz_tls.c - libFuzzer target for the TLS hello reader (probe/proto/
 * tls_hello.c) and everything computed from a parsed hello: JA3 string and
 * MD5, both JA4 variants (and both again through fk_tls_fingerprints'
 * memo, which must give the same bytes), SNI, ALPN, selected version, QUIC
 * user agent.
 *
 * Input: one selector byte (bit 0: with a TLS record header, as on TCP, or a
 * bare handshake message, as in QUIC), then the bytes.  They are copied into
 * a heap block of exactly their length so ASan sees any read past them, and
 * the results are checked against invariants that must hold whatever the
 * bytes: every view lies inside the input, counts stay within their arrays,
 * strings are terminated and of bounded length, and parsing is a pure
 * function of the input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/proto/tls_hello.h"

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz_tls: invariant failed: %s (len %zu)\n", #cond, len); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* A view is either unset or inside [base, base + len). */
#define INSIDE(v)                               \
    CHECK(((v).p == NULL && (v).end == NULL) || \
          ((v).p >= base && (v).p <= (v).end && (v).end <= base + len))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_tls_hello_t h, again;
    char s[512], ja4[FK_TLS_JA4_LEN + 1];
    uint8_t md[16];
    const uint8_t *name;
    size_t nlen;

    if (size < 1)
        return 0;
    bool record = data[0] & 1;
    size_t len = size - 1;
    uint8_t *base = malloc(len ? len : 1);
    if (!base)
        return 0;
    memcpy(base, data + 1, len);

    fk_tls_status_t st = fk_tls_hello_parse(&h, base, len, record);
    CHECK(st <= FK_TLS_UNSUPPORTED);
    CHECK(fk_tls_hello_parse(&again, base, len, record) == st);
    if (st == FK_TLS_OK) {
        CHECK(memcmp(&h, &again, sizeof(h)) == 0);
        CHECK(h.type == FK_TLS_CLIENT_HELLO || h.type == FK_TLS_SERVER_HELLO);
        CHECK((h.version >> 8) == 3);
        CHECK(h.n_kept <= FK_TLS_EXT_MAX && h.n_kept <= h.n_ext);
        CHECK(h.n_kept == (h.n_ext < FK_TLS_EXT_MAX ? h.n_ext : FK_TLS_EXT_MAX));
        INSIDE(h.ciphers);
        INSIDE(h.exts);
        INSIDE(h.sni);
        INSIDE(h.groups);
        INSIDE(h.ecpf);
        INSIDE(h.sigalgs);
        INSIDE(h.alpn);
        INSIDE(h.versions);
        INSIDE(h.quic_tp);

        /* The JA3 string: same text whether built or hashed, any buffer size. */
        size_t full = fk_tls_ja3_string(&h, s, sizeof(s));
        CHECK(strlen(s) == (full < sizeof(s) ? full : sizeof(s) - 1));
        CHECK(fk_tls_ja3_string(&h, s, 1) == full && s[0] == 0);
        CHECK(fk_tls_ja3_md5(&h, md) == 0);

        for (unsigned flags = 0; flags < 2; flags++) {
            CHECK(fk_tls_ja4(&h, "tqd"[data[0] % 3], flags, ja4) == 0);
            size_t n = strlen(ja4);
            CHECK(n >= 34 && n <= FK_TLS_JA4_LEN);
            CHECK(ja4[n - 13] == '_' && ja4[n - 26] == '_');

            /* The memo gives what the functions give, the first time (a
             * miss, or a hit on an earlier input's entry) and the second
             * (a hit): whole buffers, NULs after the string included. */
            for (int k = 0; k < 2; k++) {
                uint8_t mj3[16];
                char mj4[FK_TLS_JA4_LEN + 1];
                CHECK(fk_tls_fingerprints(&h, "tqd"[data[0] % 3], flags, mj3, mj4) == 0);
                CHECK(memcmp(mj3, md, 16) == 0 && memcmp(mj4, ja4, sizeof(ja4)) == 0);
            }
        }

        unsigned count = fk_tls_sni(&h, 253, &name, &nlen);
        CHECK(count || (!name && !nlen));
        if (name)
            CHECK(name >= base && name + nlen <= base + len && nlen <= 253);
        count = fk_tls_alpn(&h, 253, &name, &nlen);
        if (name)
            CHECK(count && name >= base && name + nlen <= base + len && nlen <= 253);
        if (fk_tls_quic_user_agent(&h, 253, &name, &nlen))
            CHECK(name >= base && name + nlen <= base + len && nlen <= 253);
        uint16_t v;
        (void)fk_tls_selected_version(&h, &v);

        fk_cursor_t x = h.exts, body;
        uint16_t type;
        size_t walked = 0;
        while (fk_tls_ext_next(&x, &type, &body)) {
            CHECK(body.p >= h.exts.p && body.end <= h.exts.end);
            walked++;
        }
        CHECK(walked == h.n_ext);
    }

    size_t need;
    uint8_t t;
    if (fk_tls_record_need(base, len, &need, &t))
        CHECK(need >= 5 && need <= 5 + 65535 && (t == 1 || t == 2));
    free(base);
    return 0;
}
