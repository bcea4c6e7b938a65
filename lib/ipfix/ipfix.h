/*
 * ipfix.h - IPFIX messages (RFC 7011): building them and reading them back.
 *
 * Message layout (RFC 7011 3.1, 3.3):
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |       Version = 0x000a        |            Length             |
 *   |                          Export Time                          |
 *   |                        Sequence Number                        |
 *   |                    Observation Domain ID                      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          Set ID               |          Length               |  repeated
 *   |  records ...                                                  |
 *
 * Set ID 2 holds Template Records (3.4.1): Template ID, Field Count, then per
 * field an Information Element id (top bit = enterprise-specific), a length
 * (65535 = variable, 7) and, with the top bit, a 4-byte Enterprise Number.
 * Set IDs >= 256 hold Data Records of that template.
 *
 * The writer builds one message at a time into a caller-provided buffer of
 * the transport's size limit (MTU).  The reader walks a message with every
 * read bounds-checked and hands out each data record's fields.
 */
#ifndef FK_IPFIX_H
#define FK_IPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/log.h"

#define FK_IPFIX_VERSION       10
#define FK_IPFIX_HDR_LEN       16
#define FK_IPFIX_SET_HDR_LEN   4
#define FK_IPFIX_SET_TEMPLATE  2
#define FK_IPFIX_SET_OPTIONS   3
#define FK_IPFIX_FIRST_DATA_ID 256
#define FK_IPFIX_VARLEN        65535
#define FK_IPFIX_MAX_MSG       65535

#define FK_IPFIX_PEN_REVERSE  29305 /* RFC 5103 reverse information elements */
#define FK_IPFIX_PEN_CESNET   8057
#define FK_IPFIX_IE_BASICLIST 291 /* RFC 6313 */

/* RFC 6313 4.5.1 list semantics. */
#define FK_IPFIX_SEM_ALLOF 3

/* One template field: an information element and its encoded length. */
typedef struct fk_ipfix_ie_st {
    uint32_t pen; /* 0 = IANA */
    uint16_t id;  /* without the enterprise bit */
    uint16_t len; /* FK_IPFIX_VARLEN for variable length */
} fk_ipfix_ie_t;

/* ---------------------------------------------------------------- writer */

/* A message under construction in `buf` (not owned), at most `cap` bytes. */
typedef struct fk_ipfix_msg_st {
    uint8_t *buf;
    size_t cap;
    size_t len;       /* bytes used, header included */
    size_t set_start; /* offset of the open set's header, 0 = no open set */
    uint16_t set_id;  /* id of the open set */
    uint32_t records; /* data records in the message */
} fk_ipfix_msg_t;

/* Start a message: writes the header (length and sequence are patched later). */
void fk_ipfix_msg_begin(fk_ipfix_msg_t *m, uint8_t *buf, size_t cap, uint32_t odid,
                        uint32_t export_time);

/*
 * Make `set_id` the open set, closing the previous one if it differs.  Returns
 * false (message unchanged) when a new set header does not fit.
 */
bool fk_ipfix_msg_set(fk_ipfix_msg_t *m, uint16_t set_id);

/* Room for `n` more bytes in the open set, or NULL (nothing reserved). */
uint8_t *fk_ipfix_msg_room(fk_ipfix_msg_t *m, size_t n);

/* Bytes still free (for the open set's records). */
static inline size_t fk_ipfix_msg_free(const fk_ipfix_msg_t *m)
{
    return m->cap - m->len;
}

/* Close the open set and patch the message length; returns the message length. */
size_t fk_ipfix_msg_end(fk_ipfix_msg_t *m);

/* Patch the sequence number of a finished message (done at send time). */
void fk_ipfix_msg_set_seq(uint8_t *msg, uint32_t seq);

/*
 * Append a Template Record (id, fields) to the open set (which must be
 * FK_IPFIX_SET_TEMPLATE).  false when it does not fit.
 */
bool fk_ipfix_put_template(fk_ipfix_msg_t *m, uint16_t id, const fk_ipfix_ie_t *ie, size_t n);

/* Bytes a Template Record takes. */
size_t fk_ipfix_template_size(const fk_ipfix_ie_t *ie, size_t n);

/* Bytes the prefix of a `len`-byte value takes. */
static inline size_t fk_ipfix_varlen_size(size_t len)
{
    return len < 255 ? 1 : 3;
}

/*
 * RFC 6313 basicList header for `count` elements of `elen` bytes of element
 * (pen, id), as ipfixprobe writes it: always the 3-byte length prefix,
 * semantic allOf, the Enterprise Number when pen != 0.  Writes to p (at most
 * 12 bytes) and returns the header size.
 */
size_t fk_ipfix_put_basiclist(uint8_t *p, uint32_t pen, uint16_t id, uint16_t elen, size_t count);

/* Header size fk_ipfix_put_basiclist writes. */
static inline size_t fk_ipfix_basiclist_hdr_size(uint32_t pen)
{
    return pen ? 12 : 8;
}

/*
 * Nanoseconds since the Unix epoch as an NTP timestamp (RFC 7011 6.1.9,
 * dateTimeMicroseconds / dateTimeNanoseconds): seconds since 1900 and a
 * 2^-32 fraction, rounded up so that decoding it back truncates to `ns`.
 */
uint64_t fk_ipfix_ntp_from_ns(uint64_t ns);
uint64_t fk_ipfix_ns_from_ntp(uint64_t ntp);

static inline void fk_ipfix_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void fk_ipfix_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void fk_ipfix_be64(uint8_t *p, uint64_t v)
{
    fk_ipfix_be32(p, (uint32_t)(v >> 32));
    fk_ipfix_be32(p + 4, (uint32_t)v);
}

/*
 * Variable-length prefix (RFC 7011 7): 1 byte for lengths < 255, else 255 and
 * a 2-byte length.  Writes to p (3 bytes room) and returns the prefix size.
 * Inline: the ipfix output writes one per string of every record.
 */
static inline size_t fk_ipfix_put_varlen(uint8_t *p, size_t len)
{
    if (len < 255) {
        p[0] = (uint8_t)len;
        return 1;
    }
    p[0] = 255;
    fk_ipfix_be16(p + 1, (uint16_t)len);
    return 3;
}

/* ---------------------------------------------------------------- reader */

#define FK_IPFIX_MAX_FIELDS 512 /* per template; more is refused as invalid */

typedef struct fk_ipfix_tmpl_st {
    uint16_t id;
    uint16_t nfields;
    uint16_t scope; /* scope field count (options templates), else 0 */
    bool options;
    uint32_t fixed_len; /* bytes of a record when no field is variable, else 0 */
    fk_ipfix_ie_t f[FK_IPFIX_MAX_FIELDS];
} fk_ipfix_tmpl_t;

/*
 * Where the reader keeps templates.  The caller owns it and decides the key
 * (the collector keys by exporter and observation domain; a file reader uses
 * one store).  lookup returns NULL when unknown; store copies the template
 * (a template with nfields == 0 withdraws the id, RFC 7011 8.1).
 */
typedef struct fk_ipfix_store_ops_st {
    const fk_ipfix_tmpl_t *(*lookup)(void *store, uint32_t odid, uint16_t id);
    int (*store)(void *store, uint32_t odid, const fk_ipfix_tmpl_t *t);
} fk_ipfix_store_ops_t;

/* One field of a data record as found on the wire. */
typedef struct fk_ipfix_value_st {
    const fk_ipfix_ie_t *ie; /* template field (len may be VARLEN) */
    const uint8_t *p;        /* the value bytes, prefix removed */
    size_t len;              /* value length */
} fk_ipfix_value_t;

/* Counters a reader keeps; STYLE rule 2: truncated, invalid, unsupported apart. */
typedef struct fk_ipfix_stats_st {
    uint64_t messages;
    uint64_t templates; /* template records stored */
    uint64_t withdrawals;
    uint64_t records;     /* data records decoded */
    uint64_t no_template; /* data sets skipped: template unknown */
    uint64_t truncated;   /* messages shorter than their header says */
    uint64_t invalid;     /* lengths that contradict each other */
    uint64_t unsupported; /* wrong version, reserved set ids */
} fk_ipfix_stats_t;

/* Called per data record with its fields in template order; return non-zero to stop. */
typedef int (*fk_ipfix_record_fn)(void *arg, uint32_t odid, const fk_ipfix_tmpl_t *t,
                                  const fk_ipfix_value_t *v, size_t n);

/*
 * Decode one message of `len` bytes: templates go to the store, data records
 * to `fn`.  Returns 0 when the message was understood entirely, -1 when part
 * of it was skipped (counted in st; `e` says the first problem).  Never reads
 * outside [msg, msg+len).
 */
int fk_ipfix_decode(const uint8_t *msg, size_t len, void *store, const fk_ipfix_store_ops_t *ops,
                    fk_ipfix_record_fn fn, void *arg, fk_ipfix_stats_t *st, fk_err_t *e);

/* The message header, as read. */
typedef struct fk_ipfix_hdr_st {
    uint16_t version;
    uint16_t length;
    uint32_t export_time; /* seconds since the Unix epoch */
    uint32_t sequence;    /* data records sent before this message (RFC 7011 3.1) */
    uint32_t odid;
} fk_ipfix_hdr_t;

/* fk_ipfix_decode_ex modes: which sets to process. */
#define FK_IPFIX_TEMPLATES 1 /* template and options template sets */
#define FK_IPFIX_DATA      2 /* data sets */
#define FK_IPFIX_ALL       3

/*
 * fk_ipfix_decode with a choice of sets and the header handed out (filled
 * before any callback runs, so callbacks may read it through their arg).  A
 * collector runs TEMPLATES then DATA over one message so that data sets
 * placed before their template in the same message still decode.  Problems of
 * the message itself (header, set framing) are counted only by a pass that
 * includes FK_IPFIX_TEMPLATES, so two passes count them once.
 */
int fk_ipfix_decode_ex(const uint8_t *msg, size_t len, unsigned mode, fk_ipfix_hdr_t *hdr,
                       void *store, const fk_ipfix_store_ops_t *ops, fk_ipfix_record_fn fn,
                       void *arg, fk_ipfix_stats_t *st, fk_err_t *e);

/*
 * Called per data record of a fixed-length template (fk_ipfix_tmpl_t
 * fixed_len: no variable-length field, RFC 7011 7) with the record's
 * fixed_len bytes, the fields at the offsets the template gives them.
 * Return 0 to go on, FK_IPFIX_AS_VALUES to have this record handed to the
 * record function as values instead, anything else to stop.
 */
#define FK_IPFIX_AS_VALUES (-1)
typedef int (*fk_ipfix_fixed_fn)(void *arg, uint32_t odid, const fk_ipfix_tmpl_t *t,
                                 const uint8_t *rec);

/*
 * fk_ipfix_decode_ex whose fixed-length data records go to `fixed` first:
 * a caller that reads them by offset saves the value array the reader would
 * build per record (a pointer and a length per field).  Records of templates
 * with variable-length fields go to `fn`, as with fk_ipfix_decode_ex.
 */
int fk_ipfix_decode_fixed(const uint8_t *msg, size_t len, unsigned mode, fk_ipfix_hdr_t *hdr,
                          void *store, const fk_ipfix_store_ops_t *ops, fk_ipfix_record_fn fn,
                          fk_ipfix_fixed_fn fixed, void *arg, fk_ipfix_stats_t *st, fk_err_t *e);

/*
 * Split a stream (TCP, RFC 5655 file) into messages: returns the length of
 * the message at the start of [p, p+n), 0 when more bytes are needed, or -1
 * when the bytes cannot be an IPFIX message (version or length wrong).
 */
long fk_ipfix_frame(const uint8_t *p, size_t n);

/*
 * Walk a basicList value (RFC 6313 4.5.1): element (pen, id), element length
 * and count; *elems points at the first element.  0, or -1 when malformed.
 * Variable-length elements are reported with elen = FK_IPFIX_VARLEN.
 */
int fk_ipfix_basiclist(const uint8_t *p, size_t len, uint8_t *semantic, fk_ipfix_ie_t *elem,
                       const uint8_t **elems, size_t *elems_len);

#endif /* FK_IPFIX_H */
