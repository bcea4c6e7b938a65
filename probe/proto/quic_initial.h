/*
 * quic_initial.h - what a passive observer can read from QUIC Initial
 * packets: version-specific initial secrets (RFC 9001 5.2, RFC 9369 3.3 and
 * the drafts ipfixprobe supports), header protection removal (RFC 9001 5.4),
 * AEAD_AES_128_GCM opening (RFC 9001 5.3), the frames an Initial may carry
 * (RFC 9000 17.2.2, 19) and reassembly of the CRYPTO stream into a bounded
 * buffer (RFC 9000 19.6), where the TLS ClientHello is (RFC 9001 4).
 *
 * All OpenSSL work goes through a caller's fk_hello_crypto_t (tls_hello.h),
 * whose contexts are reused: this code allocates nothing (OpenSSL 3 itself
 * still makes its small provider context each time a digest starts).
 *
 * Long header (RFC 9000 17.2), as far as it is common to all versions:
 *
 *   +-+-+-+-+-+-+-+-+
 *   |1|X|T T|X X X X|  first byte: form, fixed bit, type, type-specific
 *   +-+-+-+-+-+-+-+-+-------------------------------+
 *   |                  Version (32)                 |
 *   +-+-+-+-+-+-+-+-+-------------------------------+
 *   | DCID Len (8)  |  Destination Connection ID (0..160)
 *   +-+-+-+-+-+-+-+-+
 *   | SCID Len (8)  |  Source Connection ID (0..160)
 *   +-+-+-+-+-+-+-+-+
 *   Initial: Token Length (i), Token, Length (i), Packet Number (8..32),
 *            protected payload (Length - PN length bytes, tag included)
 */
#ifndef FK_QUIC_INITIAL_H
#define FK_QUIC_INITIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/core/cursor.h"
#include "tls_hello.h"

#define FK_QUIC_MAX_CID       20 /* RFC 9000 17.2: at most 20 bytes in version 1 */
#define FK_QUIC_VERSION_NEG   0x00000000u
#define FK_QUIC_V1            0x00000001u
#define FK_QUIC_V2            0x6b3343cfu /* RFC 9369 */
#define FK_QUIC_DRAFT_UNKNOWN 255

/* Long header packet types as version 1 numbers them (RFC 9000 17.2). */
enum {
    FK_QUIC_INITIAL = 0,
    FK_QUIC_0RTT = 1,
    FK_QUIC_HANDSHAKE = 2,
    FK_QUIC_RETRY = 3,
    FK_QUIC_VN = 7, /* version negotiation (ipfixprobe's number) */
};

/*
 * The draft number ipfixprobe 5.7 assigns to a version: 1..34 for IETF
 * drafts 0xff0000xx, 35 for version 1 and the implementations it treats
 * like it, 36 for picoquic's internal version, 100/101 for the version 2
 * drafts and RFC 9369 (then *v2 is set), 1 for version negotiation, 0 or
 * FK_QUIC_DRAFT_UNKNOWN for versions it does not know.  `v2` may be NULL.
 */
unsigned fk_quic_draft(uint32_t version, bool *v2);

/* A version whose packets ipfixprobe reads: draft number in 1..254. */
bool fk_quic_supported(uint32_t version);

/* The 20-byte initial salt of a version, or NULL (version negotiation, unknown). */
const uint8_t *fk_quic_salt(uint32_t version);

/* The v1 packet type of a long header first byte (version 2 renumbers them, RFC 9369 3.2). */
uint8_t fk_quic_packet_type(uint8_t first, bool v2);

/* QUIC variable-length integer (RFC 9000 16); false (cursor unchanged) when truncated. */
bool fk_quic_varint(fk_cursor_t *c, uint64_t *v);

/* Keys protecting the client's Initial packets (RFC 9001 5.2). */
typedef struct fk_quic_keys_st {
    uint8_t key[16]; /* AEAD_AES_128_GCM key */
    uint8_t iv[12];  /* AEAD nonce base */
    uint8_t hp[16];  /* header protection key (AES-128-ECB) */
} fk_quic_keys_t;

/*
 * Derive the client Initial keys for `version` from the Destination
 * Connection ID of the client's first Initial: HKDF-Extract with the
 * version's salt, "client in", then "quic key"/"quic iv"/"quic hp" (or the
 * "quicv2 ..." labels for version 2).  Returns 0, or -1 for a version without
 * a salt or an OpenSSL failure.
 */
int fk_quic_client_keys(fk_hello_crypto_t *c, uint32_t version, const uint8_t *dcid,
                        size_t dcid_len, fk_quic_keys_t *k);

/*
 * Open one Initial packet.  `pkt` is the packet from its first byte; the
 * packet number starts at `pn_off` and `length` is the Length field (packet
 * number, payload and tag), so pkt[0 .. pn_off + length) must be readable
 * (the caller checks it against the datagram).  Removes header protection,
 * then authenticates the header and decrypts the payload into out[cap].
 * Returns 0 with *outlen and *pn set; -1 when the packet is too short for a
 * sample and a tag, the plaintext does not fit `cap`, or the tag does not
 * verify (wrong keys, damaged packet): nothing in `out` is then meaningful.
 */
int fk_quic_open_initial(fk_hello_crypto_t *c, const fk_quic_keys_t *k, const uint8_t *pkt,
                         size_t pn_off, size_t length, uint8_t *out, size_t cap, size_t *outlen,
                         uint64_t *pn);

/*
 * The CRYPTO stream of one encryption level, reassembled into buf[cap]:
 * bytes at stream offsets >= cap are dropped, and at most
 * FK_QUIC_CRYPTO_RANGES disjoint ranges are tracked (more sets `overflow`,
 * and the data that would need a new range is dropped).  `buf` is the
 * caller's; the struct holds no other pointer, so it can live in a flow's
 * state while buf comes from a pool.
 */
#define FK_QUIC_CRYPTO_RANGES 8
typedef struct fk_quic_crypto_st {
    uint8_t *buf;
    uint32_t cap;
    uint8_t n;        /* ranges in use, sorted by lo, disjoint and not touching */
    uint8_t overflow; /* some data was dropped for lack of a range */
    uint8_t any;      /* a CRYPTO frame was seen */
    struct {
        uint32_t lo, hi; /* [lo, hi) present */
    } r[FK_QUIC_CRYPTO_RANGES];
} fk_quic_crypto_t;

void fk_quic_crypto_init(fk_quic_crypto_t *c, uint8_t *buf, uint32_t cap);
/* Store stream bytes [off, off + n); data beyond cap is dropped. */
void fk_quic_crypto_add(fk_quic_crypto_t *c, uint64_t off, const uint8_t *p, size_t n);
/* Bytes present from stream offset 0 without a gap. */
uint32_t fk_quic_crypto_prefix(const fk_quic_crypto_t *c);

/* fk_quic_initial_frames results. */
enum {
    FK_QUIC_FRAMES_OK = 0,   /* walked (perhaps cut short by a truncated frame) */
    FK_QUIC_FRAMES_BAD = -1, /* a frame type an Initial packet may not carry */
};

/*
 * Walk the frames of a decrypted Initial payload (RFC 9000 12.4: PADDING,
 * PING, ACK, CRYPTO, CONNECTION_CLOSE; ipfixprobe also lets 0x1d pass).
 * CRYPTO data is stored in `crypto` (clamped to the payload when a frame
 * announces more than is there).  A frame cut short by the end of the
 * payload ends the walk and keeps what came before, as ipfixprobe does; any
 * other frame type makes the whole payload BAD.
 */
int fk_quic_initial_frames(const uint8_t *p, size_t n, fk_quic_crypto_t *crypto);

#endif /* FK_QUIC_INITIAL_H */
