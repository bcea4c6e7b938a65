/*
 * ipfix.c - the "ipfix" output: IPFIX (RFC 7011) over TCP, UDP, LZ4-compressed
 * TCP (ipfixprobe's framing, lib/ipfix/lz4s.h) or into an RFC 5655 file.
 *
 * Options and defaults are ipfixprobe 5.x's (docs/research/ipfixprobe-ipfix-facts.md):
 * TCP to 127.0.0.1:4739, messages of at most 1458 bytes, observation domain
 * 1, UDP template refresh every 600 s.
 *
 * Templates come from the field tables: the basic fields plus the fields of
 * each plugin that attached a record to the flow, one template per (IP
 * version, set of plugins), created in v4/v6 pairs from id 258 as ipfixprobe
 * does.  Strings and bytes are variable-length fields (RFC 7011 7), arrays
 * are RFC 6313 basicLists as ipfixprobe encodes them, reverse-direction
 * counters use PEN 29305 (RFC 5103).
 *
 * Data messages hold data sets only and are queued; a message is sent after
 * every template it uses has been sent in the current session (templates go
 * in their own messages).  A session is one TCP connection, the whole file,
 * or, for UDP, the time until the next template refresh.  While a TCP
 * collector is away, messages wait in the queue (up to backlog= bytes; the
 * oldest are dropped and counted beyond that), the probe reconnects with
 * exponential backoff, re-sends the templates first and then the queue.  On
 * close the queue is sent (waiting up to 5 s for a collector) and the socket
 * is drained before it is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/ipfix/ipfix.h"
#include "../../lib/ipfix/lz4s.h"
#include "output.h"

#define MAX_TEMPLATES   256
#define FIRST_TMPL_ID   258
#define DEFAULT_MTU     1458 /* Ethernet 1500 - IP 20 - UDP 8 - 14, as ipfixprobe */
#define DEFAULT_BACKLOG (64u << 20)
#define CLOSE_GRACE_NS  5000000000ULL
#define FLUSH_EVERY_NS  1000000000ULL
#define MAX_BACKOFF_S   30

static const fk_optspec_t ipfix_options[] = {
    {"h", "host", "ADDR", "Collector address (default 127.0.0.1)"},
    {"p", "port", "PORT", "Collector port (default 4739)"},
    {"m", "mtu", "SIZE", "Largest IPFIX message in bytes (default 1458; 65535 for files)"},
    {"u", "udp", NULL, "Send over UDP instead of TCP"},
    {"n", "non-blocking-tcp", NULL, "Give up a TCP connect attempt after 100 ms, not 3 s"},
    {"I", "id", "NUM", "Observation domain id (default 1)"},
    {"d", "dir", "NUM", "Direction bit field value, exported as ingressInterface (default 0)"},
    {"t", "template", "SEC", "Template refresh interval for UDP in seconds (default 600)"},
    {"c", "lz4-compression", NULL,
     "Compress the TCP stream with LZ4 (ipfixprobe/ipfixcol2 framing)"},
    {"s", "lz4-buffer-size", "SIZE", "LZ4 history ring in bytes (default and minimum 3*mtu)"},
    {"f", "file", "PATH", "Write an IPFIX file (RFC 5655) instead of sending"},
    {"b", "backlog", "BYTES", "TCP: bytes of messages kept while the collector is away (64 MiB)"},
    {"v", "verbose", NULL, "Report connects, reconnects and template sends on stderr"},
    {NULL, NULL, NULL, NULL},
};

enum { T_TCP, T_UDP, T_FILE };

typedef struct tmpl_st {
    uint16_t id;
    uint8_t ipver;
    uint64_t mask; /* plugins whose fields the template carries */
    size_t ncols;
    fp_column_t *cols;  /* what each template field reads */
    fk_ipfix_ie_t *ie;  /* the template fields */
    size_t size;        /* bytes of the template record */
    bool sent;          /* sent in the current session */
    struct iop_st *ops; /* cols compiled (tmpl_compile) */
    size_t worst;       /* most bytes a data record of this template takes */
} tmpl_t;

typedef struct pending_st {
    struct pending_st *next;
    size_t len;
    uint32_t records;
    uint64_t used[MAX_TEMPLATES / 64]; /* templates the message uses (bit = index) */
    uint8_t data[];
} pending_t;

typedef struct ipfix_out_st {
    /* configuration */
    char *host;
    char *port;
    char *path;
    int transport;
    uint32_t mtu;
    uint32_t odid;
    uint32_t dir;
    uint64_t refresh_ns;
    bool lz4;
    uint32_t lz4_buf;
    bool nonblock;
    uint64_t backlog;
    bool verbose;
    char where[300]; /* "127.0.0.1:4739/tcp", for messages */

    const fp_schema_t *schema;
    tmpl_t *tmpl[MAX_TEMPLATES];
    size_t ntmpl;

    /* the data message being filled */
    uint8_t *buf;
    fk_ipfix_msg_t msg;
    bool open;
    uint64_t used[MAX_TEMPLATES / 64];
    uint64_t opened_ns;

    /* messages waiting to be sent */
    pending_t *head, *tail;
    uint64_t qbytes;

    /* transport */
    int fd;
    struct sockaddr_storage udp_to; /* UDP: sendto() target (no connect: an ICMP
                                     * unreachable must not fail the next send) */
    socklen_t udp_tolen;
    FILE *file;
    bool connected;
    uint64_t next_try_ns;
    unsigned backoff_s;
    uint32_t seq; /* data records sent in this session (RFC 7011 3.1) */
    uint64_t refreshed_ns;
    fk_lz4s_writer_t *lz;
    fk_lz4s_out_t lzout;
    uint8_t *tbuf;    /* template message scratch */
    uint8_t *scratch; /* a data record written where the message may lack its
                         worst case (put_record), then copied if it fits */
    size_t scratch_cap;

    /* counters */
    uint64_t records, messages, bytes, dropped, too_big, reconnects, send_errors;
    bool warned_drop;
} ipfix_out_t;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ templates */

/* The IPFIX element and length a field goes out as, in a template for `ipver`. */
static fk_ipfix_ie_t field_ie(const fk_field_t *f, uint8_t ipver)
{
    fk_ipfix_ie_t ie = {f->pen, f->ie, 0};
    unsigned w = fk_field_ilen_override(f->flags);

    switch ((fk_ftype_t)f->type) {
    case FK_T_IP:
        /* The tables name IPv4 elements; IPv6 flows use their IPv6 twins. */
        if (ipver == 6 && f->pen == 0 && (f->ie == 8 || f->ie == 12)) {
            ie.id = f->ie == 8 ? 27 : 28;
            ie.len = 16;
        } else if (f->pen == 0 && (f->ie == 8 || f->ie == 12)) {
            ie.len = 4;
        } else {
            ie.len = 16;
        }
        break;
    case FK_T_TIME:
        /* 150/151 are seconds (4 bytes); everything else is 8 bytes. */
        ie.len = (f->pen == 0 && (f->ie == 150 || f->ie == 151)) ? 4 : 8;
        break;
    case FK_T_STR:
    case FK_T_BYTES:
        ie.len = FK_IPFIX_VARLEN;
        break;
    default:
        if (fk_ftype_is_array((fk_ftype_t)f->type)) {
            ie.pen = 0;
            ie.id = FK_IPFIX_IE_BASICLIST;
            ie.len = FK_IPFIX_VARLEN;
            break;
        }
        ie.len = (uint16_t)(w ? w : fk_ftype_size((fk_ftype_t)f->type));
    }
    return ie;
}

static void tmpl_free(tmpl_t *t)
{
    if (!t)
        return;
    free(t->cols);
    free(t->ie);
    free(t->ops);
    free(t);
}

/*
 * A template's columns compiled for put_record: how each value is
 * encoded, chosen once per template from its field's type and element length
 * instead of per value.  t->worst is what put_record can write at most:
 * a string or bytes field its capacity plus a 3-byte length, a basicList its
 * header and every element.
 */
enum {
    IOP_U8,    /* 1 byte as it is */
    IOP_BE16,  /* a uint16, big-endian */
    IOP_BE32,  /* a uint32, big-endian */
    IOP_BE64,  /* a uint64, big-endian */
    IOP_IP4,   /* the IPv4 address in an IPv4-mapped 16-byte field */
    IOP_IP16,  /* 16 bytes as they are */
    IOP_MAC,   /* 6 bytes as they are */
    IOP_NUM,   /* an unsigned integer widened or narrowed to the element's length */
    IOP_MS,    /* nanoseconds as dateTimeMilliseconds */
    IOP_TIME,  /* put_time (seconds, NTP) */
    IOP_LIST,  /* RFC 6313 basicList of an integer or time array */
    IOP_DIR,   /* ingressInterface: the output's dir= value */
    IOP_STR,   /* RFC 7011 7: variable length, up to the NUL */
    IOP_BYTES, /* variable length, the field's count */
    IOP_OTHER, /* put_other: floats, doubles */
};

typedef struct iop_st {
    uint8_t op;
    uint8_t base; /* 0: the flow; k + 1: plugin k's record */
    uint16_t len; /* the element's length (fixed-length ops) */
    uint32_t off; /* the value's offset in its base */
    const fk_field_t *f;
    const fk_ipfix_ie_t *ie;
} iop_t;

static bool tmpl_compile(tmpl_t *t)
{
    size_t worst = 0;

    t->ops = calloc(t->ncols ? t->ncols : 1, sizeof(*t->ops));
    if (!t->ops)
        return false;
    for (size_t i = 0; i < t->ncols; i++) {
        const fk_field_t *f = t->cols[i].f;
        const fk_ipfix_ie_t *ie = &t->ie[i];
        fk_ftype_t ty = (fk_ftype_t)f->type;
        unsigned size = fk_ftype_size(ty);
        iop_t *op = &t->ops[i];
        uint8_t code = IOP_OTHER;

        switch (ty) {
        case FK_T_STR:
            code = IOP_STR;
            break;
        case FK_T_BYTES:
            code = IOP_BYTES;
            break;
        case FK_T_MAC:
            code = IOP_MAC;
            break;
        case FK_T_IP:
            code = ie->len == 4 ? IOP_IP4 : IOP_IP16;
            break;
        case FK_T_TIME:
            code =
                ie->len == 8 && !(f->pen == 0 && f->ie >= 154 && f->ie <= 157) ? IOP_MS : IOP_TIME;
            break;
        case FK_T_U8:
        case FK_T_I8:
        case FK_T_U16:
        case FK_T_U32:
        case FK_T_U64:
            if (f->pen == 0 && f->ie == 10)
                code = IOP_DIR;
            else if (ie->len == size)
                code = size == 1 ? IOP_U8 : size == 2 ? IOP_BE16 : size == 4 ? IOP_BE32 : IOP_BE64;
            else
                code = IOP_NUM;
            break;
        default:
            if (fk_ftype_is_array(ty))
                code = IOP_LIST;
            break;
        }
        if (code == IOP_STR || code == IOP_BYTES)
            worst += 3 + (size_t)f->cap; /* the longest length prefix, then cap bytes */
        else if (code == IOP_LIST)
            worst += fk_ipfix_basiclist_hdr_size(f->pen) + (size_t)f->cap * fk_ftype_esize(ty);
        else
            worst += ie->len;
        *op = (iop_t){code, (uint8_t)(t->cols[i].plugin + 1), ie->len, f->off, f, ie};
    }
    t->worst = worst;
    return true;
}

/* Build the template for (ipver, mask) with id `id`. */
static tmpl_t *tmpl_build(const fp_schema_t *s, uint8_t ipver, uint64_t mask, uint16_t id)
{
    size_t cap = s->nbasic;
    tmpl_t *t = calloc(1, sizeof(*t));

    for (size_t i = 0; i < s->nplugins; i++)
        cap += s->plugins[i].p->nfields;
    if (!t)
        return NULL;
    t->cols = calloc(cap ? cap : 1, sizeof(*t->cols));
    t->ie = calloc(cap ? cap : 1, sizeof(*t->ie));
    if (!t->cols || !t->ie) {
        tmpl_free(t);
        return NULL;
    }
    t->id = id;
    t->ipver = ipver;
    t->mask = mask;
    for (size_t i = 0; i < s->nbasic; i++) {
        if (s->basic[i].ie == 0)
            continue; /* UniRec-only bookkeeping, no IPFIX element */
        t->cols[t->ncols] = (fp_column_t){&s->basic[i], -1};
        t->ie[t->ncols++] = field_ie(&s->basic[i], ipver);
    }
    for (size_t k = 0; k < s->nplugins; k++) {
        if (!(mask & ((uint64_t)1 << k)))
            continue;
        for (size_t j = 0; j < s->plugins[k].p->nfields; j++) {
            const fk_field_t *f = &s->plugins[k].p->fields[j];
            if (f->ie == 0)
                continue;
            t->cols[t->ncols] = (fp_column_t){f, (int)k};
            t->ie[t->ncols++] = field_ie(f, ipver);
        }
    }
    t->size = fk_ipfix_template_size(t->ie, t->ncols);
    if (!tmpl_compile(t)) {
        tmpl_free(t);
        return NULL;
    }
    return t;
}

/* x->scratch holds at least `need` bytes (false: no memory). */
static bool scratch_room(ipfix_out_t *x, size_t need)
{
    if (x->scratch_cap >= need)
        return true;
    uint8_t *p = realloc(x->scratch, need);
    if (!p)
        return false;
    x->scratch = p;
    x->scratch_cap = need;
    return true;
}

/* The template for (ipver, mask), created (as a v4/v6 pair) on first use; -1 if full. */
static int tmpl_get(ipfix_out_t *x, uint8_t ipver, uint64_t mask)
{
    for (size_t i = 0; i < x->ntmpl; i++)
        if (x->tmpl[i]->ipver == ipver && x->tmpl[i]->mask == mask)
            return (int)i;
    if (x->ntmpl + 2 > MAX_TEMPLATES)
        return -1;
    uint16_t id = (uint16_t)(FIRST_TMPL_ID + x->ntmpl);
    tmpl_t *v4 = tmpl_build(x->schema, 4, mask, id);
    tmpl_t *v6 = tmpl_build(x->schema, 6, mask, (uint16_t)(id + 1));
    if (!v4 || !v6 || !scratch_room(x, v4->worst > v6->worst ? v4->worst : v6->worst)) {
        tmpl_free(v4);
        tmpl_free(v6);
        return -1;
    }
    x->tmpl[x->ntmpl++] = v4;
    x->tmpl[x->ntmpl++] = v6;
    return (int)x->ntmpl - (ipver == 6 ? 1 : 2);
}

/* ------------------------------------------------------------ encoding */

/* The low len bytes of v, big-endian (RFC 7011 6.1.1 reduced-size encoding). */
static inline void put_uint(uint8_t *o, uint64_t v, unsigned len)
{
    switch (len) {
    case 1:
        o[0] = (uint8_t)v;
        break;
    case 2:
        fk_ipfix_be16(o, (uint16_t)v);
        break;
    case 4:
        fk_ipfix_be32(o, (uint32_t)v);
        break;
    case 8:
        fk_ipfix_be64(o, v);
        break;
    default:
        for (unsigned i = 0; i < len; i++)
            o[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
    }
}

/* Time values: NTP for the IANA micro/nanosecond elements, else milliseconds. */
static void put_time(uint8_t *o, const fk_field_t *f, uint64_t ns, unsigned len)
{
    if (f->pen == 0 && f->ie >= 154 && f->ie <= 157)
        fk_ipfix_be64(o, fk_ipfix_ntp_from_ns(ns));
    else if (len == 4)
        fk_ipfix_be32(o, (uint32_t)(ns / 1000000000ULL));
    else
        fk_ipfix_be64(o, ns / 1000000ULL); /* dateTimeMilliseconds, as ipfixprobe */
}

/* A float or double (IOP_OTHER): its IEEE 754 bits, big-endian (RFC 7011 6.1.3). */
static void put_other(uint8_t *o, const fk_field_t *f, const fk_ipfix_ie_t *ie, const void *base)
{
    const uint8_t *p = (const uint8_t *)base + f->off;

    switch ((fk_ftype_t)f->type) {
    case FK_T_FLOAT: {
        uint32_t bits;
        memcpy(&bits, p, 4);
        fk_ipfix_be32(o, bits);
        break;
    }
    case FK_T_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, p, 8);
        fk_ipfix_be64(o, bits);
        break;
    }
    default:
        put_uint(o, fk_field_u64(f, base, 0), ie->len);
    }
}

/* The size-byte unsigned integer at p (host order, maybe unaligned) at o,
 * big-endian (RFC 7011 6.1.1); returns o's end.  Size 1, 2, 4 or 8. */
static inline __attribute__((always_inline)) uint8_t *put_be(uint8_t *o, const uint8_t *p,
                                                             unsigned size)
{
    switch (size) {
    case 1:
        *o = *p;
        break;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        fk_ipfix_be16(o, v);
        break;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        fk_ipfix_be32(o, v);
        break;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        fk_ipfix_be64(o, v);
        break;
    }
    }
    return o + size;
}

/* n bytes at p as a variable-length value (RFC 7011 7) at o; returns o's end. */
static inline uint8_t *put_varlen(uint8_t *o, const uint8_t *p, size_t n)
{
    o += fk_ipfix_put_varlen(o, n);
    memcpy(o, p, n);
    return o + n;
}

/* A basicList (RFC 6313) of an integer or time array at o, as ipfixprobe
 * encodes it (times in milliseconds); returns its end. */
static uint8_t *put_list(uint8_t *o, const fk_field_t *f, const void *base)
{
    uint16_t n = fk_field_count(f, base);
    fk_ftype_t ty = (fk_ftype_t)f->type;
    unsigned es = fk_ftype_esize(ty);
    const uint8_t *p = (const uint8_t *)base + f->off;

    o += fk_ipfix_put_basiclist(o, f->pen, f->ie, (uint16_t)es, n);
    for (uint16_t i = 0; i < n; i++, p += es) {
        if (ty == FK_T_A_TIME) { /* nanoseconds as dateTimeMilliseconds, as ipfixprobe */
            uint64_t v;
            memcpy(&v, p, 8);
            fk_ipfix_be64(o, v / 1000000ULL);
            o += 8;
        } else {
            o = put_be(o, p, es);
        }
    }
    return o;
}

/*
 * Data record `r` of `flow` with template t at o, which has t->worst bytes
 * free; returns its length.  Each plugin's record is looked up once per row
 * (not per column), and each value is written by its op without a room
 * check.
 */
static size_t put_record(ipfix_out_t *x, const tmpl_t *t, const fp_flow_t *flow,
                         const unsigned *nrec, unsigned r, uint8_t *o)
{
    const void *base[FP_MAX_PLUGINS + 1];
    const fp_schema_t *s = x->schema;
    uint8_t *start = o;

    base[0] = flow;
    for (size_t k = 0; k < s->nplugins && k < FP_MAX_PLUGINS; k++) {
        if (!(t->mask & ((uint64_t)1 << k)))
            continue; /* the template has none of its columns */
        const fp_plugin_inst_t *pi = &s->plugins[k];
        base[k + 1] = r < nrec[k] ? pi->p->record(pi->ctx, flow, fp_plugin_state(pi, flow), r)
                                  : pi->zero_record;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        const iop_t *op = &t->ops[i];
        const uint8_t *p = (const uint8_t *)base[op->base] + op->off;

        switch (op->op) {
        case IOP_U8:
            o = put_be(o, p, 1);
            break;
        case IOP_BE16:
            o = put_be(o, p, 2);
            break;
        case IOP_BE32:
            o = put_be(o, p, 4);
            break;
        case IOP_BE64:
            o = put_be(o, p, 8);
            break;
        case IOP_IP4:
            memcpy(o, p + 12, 4);
            o += 4;
            break;
        case IOP_IP16:
            memcpy(o, p, 16);
            o += 16;
            break;
        case IOP_MAC:
            memcpy(o, p, 6);
            o += 6;
            break;
        case IOP_NUM:
            put_uint(o, fk_field_u64(op->f, base[op->base], 0), op->len);
            o += op->len;
            break;
        case IOP_MS: {
            uint64_t ns;
            memcpy(&ns, p, 8);
            fk_ipfix_be64(o, ns / 1000000ULL);
            o += 8;
            break;
        }
        case IOP_TIME: {
            uint64_t ns;
            memcpy(&ns, p, 8);
            put_time(o, op->f, ns, op->len);
            o += op->len;
            break;
        }
        case IOP_LIST:
            o = put_list(o, op->f, base[op->base]);
            break;
        case IOP_DIR:
            put_uint(o, x->dir, op->len);
            o += op->len;
            break;
        case IOP_STR: {
            size_t n = 0;
            if (*p) { /* most strings a record carries are empty */
                const uint8_t *nul = memchr(p, '\0', op->f->cap);
                n = nul ? (size_t)(nul - p) : op->f->cap;
            }
            o = put_varlen(o, p, n);
            break;
        }
        case IOP_BYTES:
            o = put_varlen(o, p, fk_field_count(op->f, base[op->base]));
            break;
        default:
            put_other(o, op->f, op->ie, base[op->base]);
            o += op->len;
            break;
        }
    }
    return (size_t)(o - start);
}

/* ------------------------------------------------------------ transport */

static void drop_connection(ipfix_out_t *x, const char *why)
{
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
    if (x->connected)
        fk_warn("ipfix: lost %s (%s); reconnecting, messages are queued meanwhile", x->where, why);
    x->connected = false;
    x->seq = 0;
    x->backoff_s = 1;
    x->next_try_ns = mono_ns() + 1000000000ULL;
    for (size_t i = 0; i < x->ntmpl; i++)
        x->tmpl[i]->sent = false;
    if (x->lz)
        fk_lz4s_reset(x->lz);
    x->lzout.len = 0;
}

/* Connect (TCP) or open the socket (UDP). true when usable. */
static bool try_connect(ipfix_out_t *x)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, err;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = x->transport == T_UDP ? SOCK_DGRAM : SOCK_STREAM;
    err = getaddrinfo(x->host, x->port, &hints, &res);
    if (err) {
        fk_warn("ipfix: cannot resolve %s: %s", x->where, gai_strerror(err));
        return false;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (x->transport == T_TCP) {
            /* Connect with a deadline so a dead collector cannot stall export. */
            int fl = fcntl(fd, F_GETFL);
            fcntl(fd, F_SETFL, fl | O_NONBLOCK);
            int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
            if (r < 0 && errno == EINPROGRESS) {
                struct pollfd pfd = {fd, POLLOUT, 0};
                int soerr = 0;
                socklen_t sl = sizeof(soerr);
                r = poll(&pfd, 1, x->nonblock ? 100 : 3000) == 1 &&
                            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0
                        ? 0
                        : -1;
            }
            fcntl(fd, F_SETFL, fl);
            if (r == 0) {
                /* A collector that stops reading must not block us forever. */
                struct timeval tv = {10, 0};
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                break;
            }
        } else if (ai->ai_addrlen <= sizeof(x->udp_to)) {
            memcpy(&x->udp_to, ai->ai_addr, ai->ai_addrlen);
            x->udp_tolen = (socklen_t)ai->ai_addrlen;
            break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return false;
    x->fd = fd;
    x->connected = true;
    x->seq = 0;
    x->refreshed_ns = mono_ns();
    for (size_t i = 0; i < x->ntmpl; i++)
        x->tmpl[i]->sent = false;
    if (x->verbose)
        fk_info("ipfix: connected to %s", x->where);
    return true;
}

/* The TCP peer closed or reset: a readable socket with nothing to read. */
static bool peer_gone(ipfix_out_t *x)
{
    struct pollfd pfd = {x->fd, POLLIN | POLLRDHUP, 0};
    char b;

    if (poll(&pfd, 1, 0) != 1)
        return false;
    if (pfd.revents & (POLLERR | POLLHUP | POLLRDHUP))
        return true;
    ssize_t r = recv(x->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static bool write_all(ipfix_out_t *x, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(x->fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            x->send_errors++;
            drop_connection(x, strerror(errno));
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Put one finished message on the wire. false: not sent (connection lost). */
static bool send_raw(ipfix_out_t *x, uint8_t *msg, size_t len)
{
    fk_err_t e;

    switch (x->transport) {
    case T_FILE:
        if (fwrite(msg, 1, len, x->file) != len) {
            x->send_errors++;
            return false;
        }
        break;
    case T_UDP:
        /* UDP has no delivery: a failed send is counted and export goes on. */
        if (sendto(x->fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&x->udp_to, x->udp_tolen) < 0)
            x->send_errors++;
        break;
    default:
        if (peer_gone(x)) {
            drop_connection(x, "collector closed the connection");
            return false;
        }
        if (x->lz) {
            if (fk_lz4s_write(x->lz, msg, len, &x->lzout, &e) < 0) {
                fk_err("ipfix: %s", e.msg);
                drop_connection(x, "compression failed");
                return false;
            }
            if (!write_all(x, x->lzout.data, x->lzout.len))
                return false;
            x->lzout.len = 0;
        } else if (!write_all(x, msg, len)) {
            return false;
        }
    }
    x->bytes += len;
    return true;
}

/* Send every template the message uses that this session has not seen yet. */
static bool send_templates(ipfix_out_t *x, const uint64_t *used)
{
    fk_ipfix_msg_t m;
    bool any = false;

    fk_ipfix_msg_begin(&m, x->tbuf, x->mtu, x->odid, (uint32_t)time(NULL));
    for (size_t i = 0; i < x->ntmpl; i++) {
        tmpl_t *t = x->tmpl[i];
        if (t->sent || !(used[i / 64] & ((uint64_t)1 << (i % 64))))
            continue;
        if (!fk_ipfix_msg_set(&m, FK_IPFIX_SET_TEMPLATE) ||
            !fk_ipfix_put_template(&m, t->id, t->ie, t->ncols)) {
            size_t len = fk_ipfix_msg_end(&m);
            fk_ipfix_msg_set_seq(x->tbuf, x->seq);
            if (!send_raw(x, x->tbuf, len))
                return false;
            fk_ipfix_msg_begin(&m, x->tbuf, x->mtu, x->odid, (uint32_t)time(NULL));
            fk_ipfix_msg_set(&m, FK_IPFIX_SET_TEMPLATE);
            if (!fk_ipfix_put_template(&m, t->id, t->ie, t->ncols))
                return false; /* checked at open: every template fits the mtu */
        }
        any = true;
    }
    if (!any)
        return true;
    size_t len = fk_ipfix_msg_end(&m);
    fk_ipfix_msg_set_seq(x->tbuf, x->seq);
    if (!send_raw(x, x->tbuf, len))
        return false;
    for (size_t i = 0; i < x->ntmpl; i++)
        if (used[i / 64] & ((uint64_t)1 << (i % 64)))
            x->tmpl[i]->sent = true;
    if (x->verbose)
        fk_info("ipfix: templates sent to %s", x->where);
    return true;
}

/* Send queued messages while the transport takes them. */
static void pump(ipfix_out_t *x)
{
    uint64_t now = mono_ns();

    if (x->transport == T_UDP && x->refresh_ns && now - x->refreshed_ns >= x->refresh_ns) {
        /* RFC 7011 8.4: over UDP templates are re-sent periodically. */
        for (size_t i = 0; i < x->ntmpl; i++)
            x->tmpl[i]->sent = false;
        x->refreshed_ns = now;
    }
    while (x->head) {
        if (!x->connected) {
            if (now < x->next_try_ns)
                return;
            if (!try_connect(x)) {
                x->next_try_ns = now + (uint64_t)x->backoff_s * 1000000000ULL;
                if (x->backoff_s < MAX_BACKOFF_S)
                    x->backoff_s *= 2;
                return;
            }
            if (x->transport == T_TCP)
                x->reconnects++;
            x->backoff_s = 1;
        }
        pending_t *p = x->head;
        if (!send_templates(x, p->used))
            return;
        fk_ipfix_msg_set_seq(p->data, x->seq);
        if (!send_raw(x, p->data, p->len))
            return;
        x->seq += p->records;
        x->records += p->records;
        x->messages++;
        x->head = p->next;
        if (!x->head)
            x->tail = NULL;
        x->qbytes -= p->len;
        free(p);
    }
}

/* Close the open data message and queue it. */
static void finish_msg(ipfix_out_t *x)
{
    if (!x->open)
        return;
    x->open = false;
    if (x->msg.records == 0)
        return;
    size_t len = fk_ipfix_msg_end(&x->msg);
    pending_t *p = malloc(sizeof(*p) + len);
    if (!p) {
        x->dropped += x->msg.records;
        return;
    }
    p->next = NULL;
    p->len = len;
    p->records = x->msg.records;
    memcpy(p->used, x->used, sizeof(p->used));
    memcpy(p->data, x->buf, len);
    if (x->tail)
        x->tail->next = p;
    else
        x->head = p;
    x->tail = p;
    x->qbytes += len;
    /* Bounded backlog: the oldest waiting messages go first, and are counted. */
    while (x->qbytes > x->backlog && x->head && x->head != x->tail) {
        pending_t *old = x->head;
        x->head = old->next;
        x->qbytes -= old->len;
        x->dropped += old->records;
        if (!x->warned_drop)
            fk_warn("ipfix: %s unreachable and backlog full (%llu bytes); dropping the oldest "
                    "records (counted)",
                    x->where, (unsigned long long)x->backlog);
        x->warned_drop = true;
        free(old);
    }
    pump(x);
}

static void begin_msg(ipfix_out_t *x)
{
    fk_ipfix_msg_begin(&x->msg, x->buf, x->mtu, x->odid, (uint32_t)time(NULL));
    memset(x->used, 0, sizeof(x->used));
    x->open = true;
    x->opened_ns = mono_ns();
}

static int ipfix_write(void *ctx, const fp_flow_t *flow)
{
    ipfix_out_t *x = ctx;
    const fp_schema_t *s = x->schema;
    unsigned nrec[FP_MAX_PLUGINS];
    unsigned rows = 1;

    for (size_t k = 0; k < s->nplugins; k++) {
        const fp_plugin_inst_t *pi = &s->plugins[k];
        nrec[k] = pi->p->records ? pi->p->records(pi->ctx, flow, fp_plugin_state(pi, flow)) : 0;
        if (nrec[k] > rows)
            rows = nrec[k];
    }
    /* One data record per plugin record (as CSV rows); row r carries the
     * plugins that have an r-th record, so its template says which. */
    for (unsigned r = 0; r < rows; r++) {
        uint64_t mask = 0;
        for (size_t k = 0; k < s->nplugins; k++)
            if (nrec[k] > r)
                mask |= (uint64_t)1 << k;
        int ti = tmpl_get(x, flow->ip_version == 6 ? 6 : 4, mask);
        if (ti < 0) {
            x->dropped++;
            continue;
        }
        tmpl_t *t = x->tmpl[ti];
        for (int attempt = 0; attempt < 2; attempt++) {
            if (!x->open)
                begin_msg(x);
            if (fk_ipfix_msg_set(&x->msg, t->id)) {
                uint8_t *o = fk_ipfix_msg_room(&x->msg, 0);
                size_t room = o ? fk_ipfix_msg_free(&x->msg) : 0, n = 0;
                if (o && room >= t->worst) {
                    n = put_record(x, t, flow, nrec, r, o);
                } else if (o) {
                    /* A message near its end (mtu 1458: most records): the
                     * record's real size is known once it is written. */
                    n = put_record(x, t, flow, nrec, r, x->scratch);
                    if (n <= room)
                        memcpy(o, x->scratch, n);
                    else
                        n = 0;
                }
                if (n) {
                    x->msg.len += n;
                    x->msg.records++;
                    x->used[ti / 64] |= (uint64_t)1 << (ti % 64);
                    break;
                }
            }
            if (x->msg.records == 0) {
                /* Does not fit even an empty message: a record larger than the mtu. */
                x->too_big++;
                x->dropped++;
                break;
            }
            finish_msg(x);
        }
    }
    return x->send_errors && x->transport == T_FILE ? -1 : 0;
}

static void ipfix_tick(void *ctx, uint64_t now)
{
    ipfix_out_t *x = ctx;

    if (x->open && x->msg.records && now - x->opened_ns >= FLUSH_EVERY_NS)
        finish_msg(x);
    else
        pump(x);
}

/* SIGHUP: a file output starts a new file (a new session: templates first). */
static int ipfix_reopen(void *ctx, fk_err_t *e)
{
    ipfix_out_t *x = ctx;

    if (x->transport != T_FILE)
        return 0;
    finish_msg(x);
    pump(x);
    /* The new file first: if it cannot be opened, keep the old one. */
    FILE *nf = fopen(x->path, "ab");
    if (!nf)
        return fk_errf(e, "ipfix: cannot reopen '%s': %s; still writing to the old file", x->path,
                       strerror(errno));
    int rc = 0;
    if (fclose(x->file) != 0)
        rc = fk_errf(e, "ipfix: writing '%s' failed: %s", x->path, strerror(errno));
    x->file = nf;
    x->seq = 0;
    for (size_t i = 0; i < x->ntmpl; i++)
        x->tmpl[i]->sent = false;
    return rc;
}

static int ipfix_close(void *ctx, fk_err_t *e)
{
    ipfix_out_t *x = ctx;
    int rc = 0;

    finish_msg(x);
    pump(x);
    /* A normal shutdown loses nothing that can still be delivered: give an
     * absent TCP collector a few seconds. */
    uint64_t deadline = mono_ns() + CLOSE_GRACE_NS;
    while (x->head && x->transport == T_TCP && mono_ns() < deadline) {
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
        if (x->next_try_ns > mono_ns() + 200000000ULL)
            x->next_try_ns = mono_ns(); /* retry at once while closing */
        pump(x);
    }
    uint64_t lost = 0;
    while (x->head) {
        pending_t *p = x->head;
        x->head = p->next;
        lost += p->records;
        free(p);
    }
    x->dropped += lost;
    if (x->transport == T_TCP && x->connected && x->ntmpl) {
        /* RFC 7011 8.1: withdraw all templates before ending the session
         * (template id 2, field count 0), so a collector frees them now. */
        fk_ipfix_msg_t m;
        fk_ipfix_msg_begin(&m, x->tbuf, x->mtu, x->odid, (uint32_t)time(NULL));
        fk_ipfix_msg_set(&m, FK_IPFIX_SET_TEMPLATE);
        uint8_t *w = fk_ipfix_msg_room(&m, 4);
        if (w) {
            fk_ipfix_be16(w, FK_IPFIX_SET_TEMPLATE);
            fk_ipfix_be16(w + 2, 0);
            m.len += 4;
        }
        size_t len = fk_ipfix_msg_end(&m);
        fk_ipfix_msg_set_seq(x->tbuf, x->seq);
        send_raw(x, x->tbuf, len);
    }
    if (x->transport == T_TCP && x->connected) {
        /* Drain: wait until the kernel has handed everything to the peer. */
        for (int i = 0; i < 100; i++) {
            int outq = 0;
            if (ioctl(x->fd, SIOCOUTQ, &outq) < 0 || outq == 0)
                break;
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
        shutdown(x->fd, SHUT_WR);
    }
    if (x->fd >= 0)
        close(x->fd);
    if (x->file && fclose(x->file) != 0 && !rc)
        rc = fk_errf(e, "ipfix: writing '%s' failed: %s", x->path, strerror(errno));
    if (x->verbose || x->dropped)
        fprintf(stderr,
                "flowprobe: ipfix %s: %llu records in %llu messages (%llu bytes), %llu dropped%s, "
                "%llu reconnects\n",
                x->where, (unsigned long long)x->records, (unsigned long long)x->messages,
                (unsigned long long)x->bytes, (unsigned long long)x->dropped,
                x->too_big ? " (some larger than the mtu)" : "", (unsigned long long)x->reconnects);
    if (!rc && x->transport == T_FILE && x->send_errors)
        rc = fk_errf(e, "ipfix: writing '%s' failed", x->path);
    if (!rc && lost)
        rc = fk_errf(e, "ipfix: %llu records could not be delivered to %s",
                     (unsigned long long)lost, x->where);
    for (size_t i = 0; i < x->ntmpl; i++)
        tmpl_free(x->tmpl[i]);
    fk_lz4s_writer_free(x->lz);
    fk_lz4s_out_free(&x->lzout);
    free(x->buf);
    free(x->tbuf);
    free(x->scratch);
    free(x->host);
    free(x->port);
    free(x->path);
    free(x);
    return rc;
}

static int ipfix_open(void **ctx, const fk_opts_t *o, const fp_schema_t *s, fk_err_t *e)
{
    ipfix_out_t *x = calloc(1, sizeof(*x));
    bool have_mtu = false, have_net = false;
    uint64_t n;

    if (!x)
        return fk_errf(e, "ipfix: out of memory");
    x->fd = -1;
    x->schema = s;
    x->transport = T_TCP;
    x->mtu = DEFAULT_MTU;
    x->odid = 1;
    x->refresh_ns = 600ULL * 1000000000ULL;
    x->backlog = DEFAULT_BACKLOG;
    x->backoff_s = 1;
    x->host = strdup("127.0.0.1");
    x->port = strdup("4739");

    for (size_t i = 0; i < o->n; i++) {
        int k = fk_opts_lookup(o, i, ipfix_options, "ipfix", e);
        const char *key = o->kv[i].key, *v = o->kv[i].value;
        if (k < 0)
            goto fail;
        switch (k) {
        case 0:
            free(x->host);
            x->host = strdup(v);
            have_net = true;
            break;
        case 1:
            if (fk_opts_uint(key, v, 1, 65535, &n, e) < 0)
                goto fail;
            free(x->port);
            x->port = strdup(v);
            have_net = true;
            break;
        case 2:
            if (fk_opts_uint(key, v, 64, 65535, &n, e) < 0)
                goto fail;
            x->mtu = (uint32_t)n;
            have_mtu = true;
            break;
        case 3:
            x->transport = T_UDP;
            have_net = true;
            break;
        case 4:
            x->nonblock = true;
            break;
        case 5:
            if (fk_opts_uint(key, v, 0, UINT32_MAX, &n, e) < 0)
                goto fail;
            x->odid = (uint32_t)n;
            break;
        case 6:
            if (fk_opts_uint(key, v, 0, UINT32_MAX, &n, e) < 0)
                goto fail;
            x->dir = (uint32_t)n;
            break;
        case 7:
            if (fk_opts_uint(key, v, 0, 86400, &n, e) < 0)
                goto fail;
            x->refresh_ns = n * 1000000000ULL;
            break;
        case 8:
            x->lz4 = true;
            break;
        case 9:
            if (fk_opts_uint(key, v, 0, FK_LZ4S_MAX_BUFFER / 2, &n, e) < 0)
                goto fail;
            x->lz4_buf = (uint32_t)n;
            break;
        case 10:
            free(x->path);
            x->path = strdup(v);
            break;
        case 11:
            if (fk_opts_uint(key, v, 65536, 1ULL << 40, &n, e) < 0)
                goto fail;
            x->backlog = n;
            break;
        case 12:
            x->verbose = true;
            break;
        }
    }
    if (!x->host || !x->port) {
        fk_errf(e, "ipfix: out of memory");
        goto fail;
    }
    if (x->path) {
        if (have_net || x->lz4) {
            fk_errf(e, "ipfix: file= writes a file; it cannot be combined with host, port, udp or "
                       "lz4-compression");
            goto fail;
        }
        x->transport = T_FILE;
        if (!have_mtu)
            x->mtu = 65535;
        snprintf(x->where, sizeof(x->where), "%s", x->path);
    } else {
        if (x->lz4 && x->transport == T_UDP) {
            fk_errf(e, "ipfix: compression (c) is not supported with udp (u), as in ipfixprobe");
            goto fail;
        }
        snprintf(x->where, sizeof(x->where), "%s%s%s:%s/%s%s", strchr(x->host, ':') ? "[" : "",
                 x->host, strchr(x->host, ':') ? "]" : "", x->port,
                 x->transport == T_UDP ? "udp" : "tcp", x->lz4 ? "+lz4" : "");
    }
    if (x->lz4 && x->mtu > FK_LZ4S_MAX_MTU) {
        fk_errf(e, "ipfix: mtu=%u is too large for LZ4 blocks (at most %u)", x->mtu,
                FK_LZ4S_MAX_MTU);
        goto fail;
    }

    /* The mtu must hold every template and a record of every fixed part. */
    {
        uint64_t all = 0;
        for (size_t k = 0; k < s->nplugins; k++)
            all |= (uint64_t)1 << k;
        tmpl_t *t = tmpl_build(s, 6, all, FIRST_TMPL_ID);
        if (!t) {
            fk_errf(e, "ipfix: out of memory");
            goto fail;
        }
        size_t need_t = FK_IPFIX_HDR_LEN + FK_IPFIX_SET_HDR_LEN + t->size;
        size_t need_r = FK_IPFIX_HDR_LEN + FK_IPFIX_SET_HDR_LEN;
        for (size_t i = 0; i < t->ncols; i++)
            need_r += t->ie[i].len == FK_IPFIX_VARLEN ? 1 : t->ie[i].len;
        tmpl_free(t);
        size_t need = need_t > need_r ? need_t : need_r;
        if (x->mtu < need) {
            fk_errf(e,
                    "ipfix: mtu=%u is smaller than a message with one record (%zu bytes "
                    "with the enabled plugins); raise m=",
                    x->mtu, need);
            goto fail;
        }
    }

    x->buf = malloc(x->mtu);
    x->tbuf = malloc(x->mtu);
    if (!x->buf || !x->tbuf) {
        fk_errf(e, "ipfix: out of memory");
        goto fail;
    }
    if (x->lz4) {
        x->lz = fk_lz4s_writer_new(x->mtu, x->lz4_buf, e);
        if (!x->lz)
            goto fail;
    }
    if (x->transport == T_FILE) {
        x->file = fopen(x->path, "wb");
        if (!x->file) {
            fk_errf(e, "ipfix: cannot write '%s': %s", x->path, strerror(errno));
            goto fail;
        }
        x->connected = true;
    } else if (!try_connect(x)) {
        /* Not fatal: ipfixprobe starts without its collector too.  Say so. */
        fk_warn("ipfix: cannot connect to %s yet (%s); will retry, queueing flows", x->where,
                strerror(errno));
        x->next_try_ns = mono_ns() + 1000000000ULL;
    }
    *ctx = x;
    return 0;
fail:
    free(x->buf);
    free(x->tbuf);
    free(x->scratch);
    free(x->host);
    free(x->port);
    free(x->path);
    if (x->fd >= 0)
        close(x->fd);
    fk_lz4s_writer_free(x->lz);
    free(x);
    return -1;
}

const fp_output_ops_t fp_output_ipfix = {
    .name = "ipfix",
    .summary = "IPFIX (RFC 7011) to a collector over TCP, UDP or LZ4-TCP, or to a file",
    .options = ipfix_options,
    .open = ipfix_open,
    .write = ipfix_write,
    .close = ipfix_close,
    .tick = ipfix_tick,
    .reopen = ipfix_reopen,
};
