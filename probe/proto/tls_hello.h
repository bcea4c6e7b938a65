/*
 * tls_hello.h - a bounds-checked reader of TLS ClientHello and ServerHello
 * messages (RFC 8446 4.1.2 / 4.1.3, RFC 5246 7.4.1), shared by the tls and
 * quic plugins, plus the JA3 and JA4 client fingerprints.
 *
 * The reader never copies: fk_tls_hello_t holds views (cursors) into the
 * caller's bytes, which must outlive it.  Every length in the message is
 * checked against its container before it is used.
 *
 * Also here, because both plugins need them and neither may allocate per
 * packet: a pool of reassembly buffers (a hello split over TCP segments or
 * QUIC Initial packets) and a pool of reusable OpenSSL contexts.  Both pools
 * are shared by the worker threads and claimed without locks.
 */
#ifndef FK_TLS_HELLO_H
#define FK_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/core/cursor.h"

/* Handshake message types (RFC 8446 4). */
#define FK_TLS_CLIENT_HELLO 1
#define FK_TLS_SERVER_HELLO 2

/* ContentType handshake (RFC 8446 5.1). */
#define FK_TLS_CT_HANDSHAKE 22

/* ExtensionType values the plugins look at (IANA "TLS ExtensionType Values"). */
#define FK_TLS_EXT_SERVER_NAME        0      /* RFC 6066 3 */
#define FK_TLS_EXT_SUPPORTED_GROUPS   10     /* RFC 8422 5.1.1, RFC 8446 4.2.7 */
#define FK_TLS_EXT_EC_POINT_FORMATS   11     /* RFC 8422 5.1.2 */
#define FK_TLS_EXT_SIG_ALGS           13     /* RFC 8446 4.2.3 */
#define FK_TLS_EXT_ALPN               16     /* RFC 7301 3.1 */
#define FK_TLS_EXT_SUPPORTED_VERSIONS 43     /* RFC 8446 4.2.1 */
#define FK_TLS_EXT_QUIC_TP            0x39   /* RFC 9001 8.2 (drafts 33+) */
#define FK_TLS_EXT_QUIC_TP_DRAFT      0xffa5 /* QUIC drafts 13..32 */
#define FK_TLS_EXT_QUIC_TP_OLD        0x26   /* QUIC drafts 2..12 */

/* QUIC transport parameter carrying Google's user agent string (Chromium). */
#define FK_QUIC_TP_GOOGLE_USER_AGENT 0x3129

/* Extension types/lengths kept in order for export (ipfixprobe's MAX_TLS_EXT_LEN). */
#define FK_TLS_EXT_MAX 30

/* JA4 string: "t13d1516h2_8daaf6152771_b0da82dd1658" is 36 characters at most. */
#define FK_TLS_JA4_LEN 36

/* Outcome of a parse (STYLE.md rule 2: truncated, invalid, unsupported). */
typedef enum fk_tls_status {
    FK_TLS_OK = 0,
    FK_TLS_TRUNCATED,   /* the bytes end before the message does */
    FK_TLS_INVALID,     /* a length field runs past the message that holds it */
    FK_TLS_UNSUPPORTED, /* not a TLS handshake record / not a Client- or ServerHello */
} fk_tls_status_t;

/* Which extensions the hello carried (bit per FK_TLS_HAS_*). */
enum {
    FK_TLS_HAS_SNI = 1u << 0,
    FK_TLS_HAS_GROUPS = 1u << 1,
    FK_TLS_HAS_ECPF = 1u << 2,
    FK_TLS_HAS_SIGALGS = 1u << 3,
    FK_TLS_HAS_ALPN = 1u << 4,
    FK_TLS_HAS_VERSIONS = 1u << 5,
    FK_TLS_HAS_QUIC_TP = 1u << 6,
};

/*
 * A parsed hello.  Views point into the parsed bytes.  For an extension that
 * occurs more than once (forbidden by RFC 8446 4.2) the first one is used.
 */
typedef struct fk_tls_hello_st {
    uint8_t type;        /* FK_TLS_CLIENT_HELLO or FK_TLS_SERVER_HELLO */
    uint16_t version;    /* legacy_version of the hello (0x0303 for TLS 1.2 and 1.3) */
    uint32_t msg_len;    /* handshake message length from its header */
    fk_cursor_t ciphers; /* ClientHello: cipher_suites vector body; ServerHello: cipher_suite */
    fk_cursor_t exts;    /* the extensions block body (empty when the hello has none) */
    uint16_t n_ext;      /* extensions walked (GREASE included), in order */
    uint16_t n_kept;     /* min(n_ext, FK_TLS_EXT_MAX): entries of ext_type/ext_len */
    uint16_t ext_type[FK_TLS_EXT_MAX];
    uint16_t ext_len[FK_TLS_EXT_MAX];
    uint32_t has;          /* FK_TLS_HAS_* */
    uint16_t quic_tp_type; /* which QUIC transport parameters codepoint was seen */
    fk_cursor_t sni;       /* extension_data of server_name */
    fk_cursor_t groups;    /* ... of supported_groups */
    fk_cursor_t ecpf;      /* ... of ec_point_formats */
    fk_cursor_t sigalgs;   /* ... of signature_algorithms */
    fk_cursor_t alpn;      /* ... of application_layer_protocol_negotiation */
    fk_cursor_t versions;  /* ... of supported_versions */
    fk_cursor_t quic_tp;   /* ... of quic_transport_parameters (any of the three codepoints) */
} fk_tls_hello_t;

/*
 * Parse a ClientHello or ServerHello.  With `record` true, `data` starts with a
 * TLS record header (TLSPlaintext, RFC 8446 5.1) as on TCP; with `record` false
 * it starts with the handshake header, as in a QUIC CRYPTO stream (RFC 9001 4).
 *
 * Accepted as ipfixprobe does: content type 22 with major version 3, handshake
 * type 1 or 2 with legacy_version major 3.  The message is bounded by its own
 * length (and the record's).  The extension walk stops, keeping what it read,
 * at an extension that runs past the block (ipfixprobe's rule); a vector
 * before the extensions that runs past the message is INVALID when the whole
 * message is present and TRUNCATED when it is not.  A hello without an
 * extensions block is valid and has no extensions (RFC 5246 7.4.1.2).
 *
 * Returns FK_TLS_OK and fills `h`, or another status (h then undefined).
 */
fk_tls_status_t fk_tls_hello_parse(fk_tls_hello_t *h, const uint8_t *data, size_t len, bool record);

/*
 * Size of the record a TCP payload starts with, for reassembly: when `data`
 * begins a handshake record (type 22, major 3) whose first handshake message
 * is a Client- or ServerHello, store 5 + record length in *need and the
 * handshake type in *hs_type and return true.  Needs at least 6 bytes.
 */
bool fk_tls_record_need(const uint8_t *data, size_t len, size_t *need, uint8_t *hs_type);

/*
 * Walk an extensions block (start with a copy of h->exts): the next
 * extension's type and body, advancing the cursor; false at the end or at an
 * extension that runs past the block (where fk_tls_hello_parse stopped too).
 */
bool fk_tls_ext_next(fk_cursor_t *x, uint16_t *type, fk_cursor_t *body);

/* RFC 8701 GREASE value: 0x?A?A with equal bytes. */
static inline bool fk_tls_is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/*
 * The first name of the server_name list (RFC 6066 3) no longer than `maxlen`
 * bytes, whatever its NameType.  Returns the number of names in the list;
 * the name and its length are set when one fits, else they are NULL and 0.
 */
unsigned fk_tls_sni(const fk_tls_hello_t *h, size_t maxlen, const uint8_t **name, size_t *nlen);

/*
 * The first protocol of the ALPN list (RFC 7301 3.1) no longer than `maxlen`
 * bytes, as fk_tls_sni.  Returns the number of protocols.
 */
unsigned fk_tls_alpn(const fk_tls_hello_t *h, size_t maxlen, const uint8_t **name, size_t *nlen);

/* ServerHello supported_versions: the selected version; false when absent/short. */
bool fk_tls_selected_version(const fk_tls_hello_t *h, uint16_t *version);

/*
 * The first Google user agent transport parameter (0x3129) of a QUIC
 * transport parameters extension (RFC 9000 18: varint id, varint length,
 * value) no longer than `maxlen`; false when there is none that fits.
 */
bool fk_tls_quic_user_agent(const fk_tls_hello_t *h, size_t maxlen, const uint8_t **ua,
                            size_t *ualen);

/* ------------------------------------------------------------------------ */
/* Fingerprints.                                                             */

/*
 * The JA3 string of a ClientHello (Salesforce's definition):
 * "version,ciphers,extensions,groups,point_formats", decimal values joined by
 * '-', GREASE removed from ciphers, extensions and groups.  Writes at most
 * cap - 1 characters and a NUL (cap > 0) and returns the full length, as
 * snprintf does.
 */
size_t fk_tls_ja3_string(const fk_tls_hello_t *h, char *out, size_t cap);

/*
 * MD5 of the JA3 string into out[16] (the text is hashed in blocks as it is
 * produced, never built whole).  Allocates nothing: the digest context lives
 * on the stack (see tls_hello.c for why not EVP).  Returns 0, or -1 (out
 * zeroed) when OpenSSL fails.
 */
int fk_tls_ja3_md5(const fk_tls_hello_t *h, uint8_t out[16]);

/* JA4 variants (fk_tls_ja4 `flags`). */
#define FK_JA4_IPFIXPROBE 0x01 /* ipfixprobe 5.7's deviations, see tls_hello.c */

/*
 * The JA4 fingerprint (FoxIO, github.com/FoxIO-LLC/ja4 technical details) of
 * a ClientHello into out[FK_TLS_JA4_LEN + 1].  `proto` is 't' (TCP), 'q'
 * (QUIC) or 'd' (DTLS).  With FK_JA4_IPFIXPROBE the string is the one
 * ipfixprobe 5.7 exports (GREASE counted among extensions, counts not
 * zero-padded, ...).  Allocates nothing, as fk_tls_ja3_md5.  Returns 0, or
 * -1 (out all NULs) when OpenSSL fails.
 */
int fk_tls_ja4(const fk_tls_hello_t *h, char proto, unsigned flags, char out[FK_TLS_JA4_LEN + 1]);

/*
 * JA3 MD5 (as fk_tls_ja3_md5) into ja3[16] and JA4 (as fk_tls_ja4 with
 * `proto` and `flags`) into ja4[FK_TLS_JA4_LEN + 1], byte for byte what
 * those two give, through a per-thread memo: a hello whose fingerprint
 * inputs (versions, cipher list, extension types in order, groups, point
 * formats, signature algorithms, supported versions, SNI presence, the
 * first ALPN protocol's end bytes, proto, flags) equal those of a recent
 * one gets the stored results without computing; a hello that differs from
 * a recent one only in the order of its extensions (a client that permutes
 * them, as Chrome does) gets the stored JA4 and computes JA3 alone.  Each
 * thread that calls it allocates its memo (about 220 KB) on its first call
 * and frees it when it ends; without memory it computes every time.
 * Returns 0, or -1 when either computation failed (that output zeroed, as
 * the functions do; failures are not memoized).
 */
int fk_tls_fingerprints(const fk_tls_hello_t *h, char proto, unsigned flags, uint8_t ja3[16],
                        char ja4[FK_TLS_JA4_LEN + 1]);

/*
 * The calling thread's fk_tls_fingerprints memo counts so far (tests,
 * statistics): hits and misses of the whole-key table, and how many of the
 * misses found their JA4 by the sorted extension types.
 */
void fk_tls_fingerprints_counts(uint64_t *hits, uint64_t *misses, uint64_t *ja4_hits);

/* ------------------------------------------------------------------------ */
/* Shared plumbing: reusable OpenSSL contexts and reassembly buffers.        */

/*
 * One set of OpenSSL contexts for QUIC Initial packets, created once and
 * reused: EVP_MD_CTX for SHA-256 (HKDF, RFC 9001 5.2) kept on its one
 * algorithm so that re-initialising it reuses what OpenSSL set up,
 * AES-128-ECB (header protection) and AES-128-GCM (payloads).  Used by one
 * thread at a time.  (JA3 and JA4 need none: their digests are on the stack.)
 */
typedef struct fk_hello_crypto_st {
    void *md;  /* EVP_MD_CTX *, SHA-256 only */
    void *ecb; /* EVP_CIPHER_CTX *, initialised for AES-128-ECB encryption */
    void *gcm; /* EVP_CIPHER_CTX *, initialised for AES-128-GCM decryption */
} fk_hello_crypto_t;

/*
 * Create / destroy one set.  fk_hello_crypto_init returns 0 or -1 (then
 * nothing is held).  The algorithms are fetched from OpenSSL's default
 * provider once per process and shared by all sets.
 */
int fk_hello_crypto_init(fk_hello_crypto_t *c);
void fk_hello_crypto_fini(fk_hello_crypto_t *c);

/*
 * A pool of `n` equal objects shared by threads: reassembly buffers of `size`
 * bytes (fk_hello_pool_new with crypto = false) or crypto context sets (crypto
 * = true).  A buffer claim is one compare-and-swap on a free slot (scanning
 * round-robin) and fails (returns 0) when all are taken; a release is one
 * store.  Crypto sets are made on their first claim, and a thread keeps the
 * first set it claims: its later claims and releases of that pool touch no
 * shared memory (a nested claim gets another set the buffer way).  A set is
 * kept until the pool is freed, even past its thread's end, so over a pool's
 * life at most `n` threads get one; claims then fail and callers pass NULL
 * contexts (a set made for the call).  Handles are 1-based so that a zeroed
 * per-flow state means "holds nothing".  fk_hello_pool_new returns NULL when
 * out of memory or when OpenSSL lacks an algorithm (crypto pools).
 */
typedef struct fk_hello_pool_st fk_hello_pool_t;

fk_hello_pool_t *fk_hello_pool_new(unsigned n, size_t size, bool crypto);
void fk_hello_pool_free(fk_hello_pool_t *p);
uint32_t fk_hello_pool_claim(fk_hello_pool_t *p);
void fk_hello_pool_release(fk_hello_pool_t *p, uint32_t handle);
/* Buffer of a claimed handle (buffer pools), `size` bytes. */
uint8_t *fk_hello_pool_buf(fk_hello_pool_t *p, uint32_t handle);
size_t fk_hello_pool_size(const fk_hello_pool_t *p);
/* Context set of a claimed handle (crypto pools). */
fk_hello_crypto_t *fk_hello_pool_crypto(fk_hello_pool_t *p, uint32_t handle);
/* Slots currently claimed, crypto sets kept by threads included (tests, statistics). */
unsigned fk_hello_pool_used(const fk_hello_pool_t *p);

#endif /* FK_TLS_HELLO_H */
