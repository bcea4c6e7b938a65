/*
 * dns.h - a bounds-checked reader of the DNS wire format (RFC 1035 section
 * 4), shared by the dns, passivedns and dnssd plugins.
 *
 * The reader never reads a byte outside the message it was given.  It keeps
 * ipfixprobe's reading rules, because the plugins must report what ipfixprobe
 * reports, and separates the two ways a message can be damaged:
 *
 *   FK_DNS_EBADNAME  a name cannot be read: a label over 63 octets, a label
 *                    or pointer that runs past the end, a pointer that
 *                    points at or past the end, or more than FK_DNS_MAX_HOPS
 *                    labels and pointers (which also ends compression loops).
 *                    ipfixprobe abandons the whole message here.
 *   FK_DNS_ESHORT    a fixed part (question, RR header, RDATA as RDLENGTH
 *                    announces it, a field inside RDATA) lies past the end.
 *                    ipfixprobe stops there but keeps what it already read.
 *
 * Offsets are from the first octet of the DNS header (after the TCP length
 * prefix), as compression pointers are (RFC 1035 4.1.4).
 */
#ifndef FP_PROTO_DNS_H
#define FP_PROTO_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/core/cursor.h"

#define FK_DNS_PORT      53
#define FK_DNS_HDR_LEN   12
#define FK_DNS_MAX_HOPS  128 /* labels + pointers in one name (ipfixprobe's MAX_LABEL_CNT + 1) */
#define FK_DNS_LABEL_MAX 63  /* RFC 1035 2.3.4 */
#define FK_DNS_QR        0x8000

/* RR types the plugins format (RFC 1035 3.2.2, RFC 3596, 2782, 6672, 4034, 6891). */
enum {
    FK_DNS_A = 1,
    FK_DNS_NS = 2,
    FK_DNS_CNAME = 5,
    FK_DNS_SOA = 6,
    FK_DNS_PTR = 12,
    FK_DNS_HINFO = 13,
    FK_DNS_MINFO = 14,
    FK_DNS_MX = 15,
    FK_DNS_TXT = 16,
    FK_DNS_ISDN = 20,
    FK_DNS_AAAA = 28,
    FK_DNS_SRV = 33,
    FK_DNS_DNAME = 39,
    FK_DNS_OPT = 41,
    FK_DNS_DS = 43,
    FK_DNS_RRSIG = 46,
    FK_DNS_DNSKEY = 48,
};

enum {
    FK_DNS_OK = 0,
    FK_DNS_ENOTMSG = -1,  /* not one whole DNS message (short header, TCP prefix mismatch) */
    FK_DNS_EBADNAME = -2, /* a name cannot be read (see top) */
    FK_DNS_ESHORT = -3,   /* a fixed part lies past the end (see top) */
};

/* One DNS message: `len` octets at `p`.  The reader never owns the bytes. */
typedef struct fk_dns_msg_st {
    const uint8_t *p;
    uint32_t len; /* >= FK_DNS_HDR_LEN once fk_dns_open() succeeded */
} fk_dns_msg_t;

/*
 *                                 1  1  1  1  1  1
 *   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
 * |                    QDCOUNT                    |
 * |                    ANCOUNT                    |
 * |                    NSCOUNT                    |
 * |                    ARCOUNT                    |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+   RFC 1035 4.1.1
 */
typedef struct fk_dns_hdr_st {
    uint16_t id;
    uint16_t flags; /* QR .. RCODE as on the wire */
    uint16_t qdcount;
    uint16_t ancount;
    uint16_t nscount;
    uint16_t arcount;
} fk_dns_hdr_t;

/* A question entry (RFC 1035 4.1.2). */
typedef struct fk_dns_q_st {
    uint32_t name_off; /* where QNAME starts */
    uint16_t qtype;
    uint16_t qclass;
    uint32_t next; /* offset just past QCLASS */
} fk_dns_q_t;

/* A resource record's fixed part (RFC 1035 4.1.3); RDATA is [rdata_off, +rdlength). */
typedef struct fk_dns_rr_st {
    uint32_t name_off;
    uint16_t type;
    uint16_t rclass; /* for OPT: the requestor's UDP payload size (RFC 6891 6.1.2) */
    uint32_t ttl;    /* for OPT: extended RCODE, version, DO bit and Z */
    uint16_t rdlength;
    uint32_t rdata_off; /* rdata_off + rdlength <= msg len */
    uint32_t next;      /* offset of the next RR */
} fk_dns_rr_t;

/*
 * Find the DNS message in a transport payload.  Over TCP the message follows
 * a 2-octet length (RFC 1035 4.2.2) that must equal the rest of the payload:
 * like ipfixprobe, only a message carried whole in one segment is read.
 * Fills *m and *h.  FK_DNS_OK, or FK_DNS_ENOTMSG.
 */
int fk_dns_open(fk_dns_msg_t *m, fk_dns_hdr_t *h, const uint8_t *payload, size_t len, bool tcp);

/*
 * Read the (possibly compressed, RFC 1035 4.1.4) name at `off` as its labels
 * joined with '.', octets as they are (no escaping; a label may hold '.' or
 * NUL).  At most `cap` octets are stored in `out` (not NUL-terminated); *len
 * gets the stored count.  The whole name is validated even when it does not
 * fit.  FK_DNS_OK or FK_DNS_EBADNAME.  A name longer than RFC 1035's 255
 * octets is not an error here (ipfixprobe reads it); callers truncate.
 */
int fk_dns_name(const fk_dns_msg_t *m, uint32_t off, uint8_t *out, size_t cap, size_t *len);

/*
 * Offset just past the name at `off` as it sits in the message: after its
 * terminating zero, or after the first pointer (whose second octet may be the
 * one past the end: the caller's next bounds check catches that).  Labels are
 * only counted, not checked (ipfixprobe's skip treats every octet below 0xC0
 * as a length).  FK_DNS_OK or FK_DNS_EBADNAME (ran off the end).
 */
int fk_dns_name_skip(const fk_dns_msg_t *m, uint32_t off, uint32_t *next);

/* Read the question at `off`.  FK_DNS_OK, FK_DNS_EBADNAME or FK_DNS_ESHORT. */
int fk_dns_question(const fk_dns_msg_t *m, uint32_t off, fk_dns_q_t *q);

/*
 * Read the RR at `off` (owner name skipped, not validated; RDATA must lie
 * inside the message).  FK_DNS_OK, FK_DNS_EBADNAME or FK_DNS_ESHORT.
 */
int fk_dns_rr(const fk_dns_msg_t *m, uint32_t off, fk_dns_rr_t *rr);

/* A cursor over the message from `off` to its end (empty when off >= len). */
static inline fk_cursor_t fk_dns_cur(const fk_dns_msg_t *m, uint32_t off)
{
    return off < m->len ? fk_cur_make(m->p + off, m->len - off) : fk_cur_make(m->p + m->len, 0);
}

#endif /* FP_PROTO_DNS_H */
