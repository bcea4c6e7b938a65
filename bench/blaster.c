/* bench/blaster.c - replay captured flow-export datagrams to a loopback collector at full speed.
 *
 * Reads a pcap or pcapng file (libpcap) of UDP export datagrams (NetFlow v5/v9, IPFIX, sFlow or
 * anything else), keeps every UDP payload in memory, then sends the payloads in capture order to
 * ADDR:PORT with sendmmsg(2), as fast as the sending CPU allows or at a fixed rate, looping over
 * the capture N times or for T seconds. Prints datagrams, bytes and data records sent and the
 * achieved rate. Only loopback destinations (127.0.0.0/8, ::1) are accepted: this is a load
 * generator for a collector on the same machine, never a network tool.
 *
 * Sequence numbers. A collector keeps the templates it received and checks each exporter's
 * sequence numbers. Replaying the capture a second time would look like a jump back to the first
 * sequence number (gaps/"lost" datagrams for every loop), so the blaster rewrites the sequence
 * number of every NetFlow v5, v9 and IPFIX header to make all loops one gap-free continuing
 * stream per exporter stream (v5: engine type/id, v9: source ID, IPFIX: observation domain ID):
 *     sequence = first sequence in the capture + everything this stream sent before,
 * where "everything" is counted as the protocol defines it:
 *     NetFlow v5:  flow_sequence    += records in the datagram (header 'count')
 *     NetFlow v9:  package sequence += 1 per datagram (RFC 3954)
 *     IPFIX:       sequence number  += data records in the message, options data records
 *                  included (RFC 7011)
 * This is the RFC numbering even where the exporter's own is not (softflowd 1.1.0 numbers IPFIX
 * messages including their own records: its first message carries the sequence number 24, not 0),
 * so a collector's sequence check counts no lost records on the replayed stream.
 * Counting IPFIX data records needs the record lengths, so the capture is parsed minimally once at
 * load time: template and options template sets are read (field lengths only, variable-length
 * fields walked), and each data set is divided into records. The same parse counts the data
 * records of v9 (flowsets), to report records sent. Nothing but the 4-byte sequence field is
 * patched; timestamps and the rest of every datagram go out as captured. sFlow and other payloads
 * are sent unchanged. Templates must precede data in the capture (exporters such as softflowd send
 * them first); a data set whose template is not (yet) known is counted as 0 records. All datagrams
 * leave from one socket, so a collector sees one exporter: captures of several exporters are told
 * apart only by the header IDs above.
 *
 * usage: blaster [-a ADDR] -p PORT [-n LOOPS] [-t SECONDS] [-r DGRAMS_PER_S] [-b BATCH]
 *                [-f BPF] [-q] [-l] CAPTURE
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 1024

/* ------------------------------------------------------------------ helpers */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("blaster: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ the capture */

enum kind { K_OTHER, K_V5, K_V9, K_IPFIX };

typedef struct {
    size_t off; /* into g_data */
    uint32_t len;
    uint8_t kind;        /* enum kind */
    int stream;          /* index into g_streams, -1 for K_OTHER */
    uint32_t seq_inc;    /* what this datagram adds to its stream's sequence */
    uint32_t seq_before; /* sum of seq_inc of this stream's earlier datagrams in the capture */
    uint32_t records;    /* data records (flows) */
} dgram_t;

typedef struct {
    uint8_t kind;
    uint32_t id;        /* v5: engine type << 8 | engine id; v9: source ID; IPFIX: domain ID */
    uint32_t first_seq; /* sequence number of its first datagram in the capture */
    uint32_t loop_inc;  /* sum of seq_inc over one pass of the capture */
} stream_t;

typedef struct {
    uint8_t kind;
    uint32_t stream_id;
    uint16_t tid;
    bool options;
    bool variable;  /* has a variable-length (65535) field: records must be walked */
    uint32_t fixed; /* record length, or minimal record length when variable */
    uint16_t nfields;
    uint16_t *lens; /* field lengths (only kept when variable) */
} tmpl_t;

static uint8_t *g_data;
static size_t g_data_len, g_data_cap;
static dgram_t *g_dg;
static size_t g_ndg, g_dg_cap;
static stream_t *g_streams;
static size_t g_nstreams;
static tmpl_t *g_tmpl;
static size_t g_ntmpl;
static uint64_t g_opt_records, g_templates, g_unknown_sets;

static int stream_of(uint8_t kind, uint32_t id, uint32_t seq)
{
    for (size_t i = 0; i < g_nstreams; i++)
        if (g_streams[i].kind == kind && g_streams[i].id == id)
            return (int)i;
    g_streams = xrealloc(g_streams, (g_nstreams + 1) * sizeof(*g_streams));
    g_streams[g_nstreams] = (stream_t){kind, id, seq, 0};
    return (int)g_nstreams++;
}

/* Templates by (kind, stream ID, template ID): open addressing over indices into g_tmpl + 1. */
static size_t *g_thash;
static size_t g_thash_cap; /* a power of two, at least twice g_ntmpl */

static size_t tmpl_slot(uint8_t kind, uint32_t sid, uint16_t tid)
{
    uint64_t h = ((uint64_t)sid << 24 | (uint64_t)kind << 16 | tid) * 0x9e3779b97f4a7c15ULL;
    size_t i = (size_t)(h >> 32) & (g_thash_cap - 1);
    for (;; i = (i + 1) & (g_thash_cap - 1)) {
        size_t x = g_thash[i];
        if (!x)
            return i;
        const tmpl_t *t = &g_tmpl[x - 1];
        if (t->kind == kind && t->stream_id == sid && t->tid == tid)
            return i;
    }
}

static tmpl_t *tmpl_find(uint8_t kind, uint32_t sid, uint16_t tid)
{
    if (!g_thash_cap)
        return NULL;
    size_t x = g_thash[tmpl_slot(kind, sid, tid)];
    return x ? &g_tmpl[x - 1] : NULL;
}

static tmpl_t *tmpl_put(uint8_t kind, uint32_t sid, uint16_t tid)
{
    tmpl_t *t = tmpl_find(kind, sid, tid);
    if (!t) {
        if (2 * (g_ntmpl + 1) > g_thash_cap) { /* grow and rehash */
            free(g_thash);
            g_thash_cap = g_thash_cap ? 2 * g_thash_cap : 64;
            g_thash = calloc(g_thash_cap, sizeof(*g_thash));
            if (!g_thash)
                die("out of memory");
            for (size_t i = 0; i < g_ntmpl; i++)
                g_thash[tmpl_slot(g_tmpl[i].kind, g_tmpl[i].stream_id, g_tmpl[i].tid)] = i + 1;
        }
        g_tmpl = xrealloc(g_tmpl, (g_ntmpl + 1) * sizeof(*g_tmpl));
        t = &g_tmpl[g_ntmpl++];
        memset(t, 0, sizeof(*t));
        t->kind = kind;
        t->stream_id = sid;
        t->tid = tid;
        g_thash[tmpl_slot(kind, sid, tid)] = g_ntmpl;
    }
    free(t->lens);
    t->lens = NULL;
    t->variable = false;
    t->fixed = 0;
    t->nfields = 0;
    return t;
}

/* Reads one template record's field specifiers at p (n fields, IPFIX enterprise bit honoured when
 * ipfix) into t; returns the bytes consumed or 0 when it does not fit in [p, end). */
static size_t tmpl_fields(tmpl_t *t, const uint8_t *p, const uint8_t *end, unsigned n, bool ipfix)
{
    const uint8_t *q = p;
    t->lens = xrealloc(NULL, (n ? n : 1) * sizeof(uint16_t));
    t->nfields = (uint16_t)n;
    for (unsigned i = 0; i < n; i++) {
        if (end - q < 4)
            return 0;
        uint16_t type = rd16(q), len = rd16(q + 2);
        q += 4;
        if (ipfix && (type & 0x8000)) {
            if (end - q < 4)
                return 0;
            q += 4;
        }
        t->lens[i] = len;
        if (ipfix && len == 65535) {
            t->variable = true;
            t->fixed += 1; /* at least the one-byte length prefix */
        } else {
            t->fixed += len;
        }
    }
    if (!t->variable) {
        free(t->lens);
        t->lens = NULL;
    }
    return (size_t)(q - p);
}

/* Data records in a data set body [p, end) of template t. */
static uint32_t count_records(const tmpl_t *t, const uint8_t *p, const uint8_t *end)
{
    if (t->fixed == 0)
        return 0;
    if (!t->variable)
        return (uint32_t)((size_t)(end - p) / t->fixed);
    uint32_t n = 0;
    while ((size_t)(end - p) >= t->fixed) {
        for (unsigned i = 0; i < t->nfields; i++) {
            size_t len = t->lens[i];
            if (len == 65535) {
                if (end - p < 1)
                    return n;
                len = *p++;
                if (len == 255) {
                    if (end - p < 2)
                        return n;
                    len = rd16(p);
                    p += 2;
                }
            }
            if ((size_t)(end - p) < len)
                return n;
            p += len;
        }
        n++;
    }
    return n;
}

/* Walks the flowsets/sets of a v9 (body after the 20-byte header) or IPFIX (after the 16-byte
 * header) datagram: learns templates, returns the flow data records and adds the options data
 * records to *opts. */
static uint32_t walk_sets(uint8_t kind, uint32_t sid, const uint8_t *p, const uint8_t *end,
                          uint32_t *opts)
{
    bool ipfix = kind == K_IPFIX;
    uint16_t tset = ipfix ? 2 : 0, oset = ipfix ? 3 : 1;
    uint32_t records = 0;
    while (end - p >= 4) {
        uint16_t id = rd16(p), len = rd16(p + 2);
        if (len < 4 || len > end - p)
            break;
        const uint8_t *b = p + 4, *e = p + len;
        p += len;
        if (id == tset) {
            while (e - b >= 4) {
                uint16_t tid = rd16(b), n = rd16(b + 2);
                b += 4;
                if (tid < 256)
                    break;
                tmpl_t *t = tmpl_put(kind, sid, tid);
                if (n == 0) /* IPFIX template withdrawal */
                    continue;
                size_t used = tmpl_fields(t, b, e, n, ipfix);
                if (!used)
                    break;
                b += used;
                g_templates++;
            }
        } else if (id == oset) {
            while (e - b >= 6) {
                uint16_t tid = rd16(b);
                unsigned n;
                if (tid < 256)
                    break;
                if (ipfix) {
                    n = rd16(b + 2); /* total field count; scope count at b + 4 */
                    b += 6;
                } else {
                    n = (unsigned)(rd16(b + 2) + rd16(b + 4)) / 4; /* scope + option bytes */
                    b += 6;
                }
                tmpl_t *t = tmpl_put(kind, sid, tid);
                t->options = true;
                if (n == 0)
                    continue;
                size_t used = tmpl_fields(t, b, e, n, ipfix);
                if (!used)
                    break;
                b += used;
                g_templates++;
                if (!ipfix)
                    break; /* v9 options flowsets hold one template, then padding */
            }
        } else if (id >= 256) {
            const tmpl_t *t = tmpl_find(kind, sid, id);
            if (!t) {
                g_unknown_sets++;
                continue;
            }
            uint32_t n = count_records(t, b, e);
            if (t->options)
                *opts += n;
            else
                records += n;
        }
    }
    return records;
}

static void add_dgram(const uint8_t *pl, uint32_t len)
{
    if (g_data_len + len > g_data_cap) {
        g_data_cap = (g_data_len + len) * 2 + (1 << 20);
        g_data = xrealloc(g_data, g_data_cap);
    }
    if (g_ndg == g_dg_cap) {
        g_dg_cap = g_dg_cap * 2 + 1024;
        g_dg = xrealloc(g_dg, g_dg_cap * sizeof(*g_dg));
    }
    uint8_t *d = g_data + g_data_len;
    memcpy(d, pl, len);
    dgram_t *g = &g_dg[g_ndg++];
    *g = (dgram_t){g_data_len, len, K_OTHER, -1, 0, 0, 0};
    g_data_len += len;

    uint16_t ver = len >= 2 ? rd16(d) : 0;
    uint32_t id, seq, opts = 0;
    if (ver == 5 && len >= 24) {
        g->kind = K_V5;
        seq = rd32(d + 16);
        id = (uint32_t)d[20] << 8 | d[21];
        g->records = g->seq_inc = rd16(d + 2);
    } else if (ver == 9 && len >= 20) {
        g->kind = K_V9;
        seq = rd32(d + 12);
        id = rd32(d + 16);
        g->records = walk_sets(K_V9, id, d + 20, d + len, &opts);
        g->seq_inc = 1;
    } else if (ver == 10 && len >= 16) {
        g->kind = K_IPFIX;
        seq = rd32(d + 8);
        id = rd32(d + 12);
        uint16_t mlen = rd16(d + 2);
        g->records =
            walk_sets(K_IPFIX, id, d + 16, d + (mlen >= 16 && mlen <= len ? mlen : len), &opts);
        g->seq_inc = g->records + opts; /* RFC 7011: all data records, options data too */
    } else {
        return;
    }
    g_opt_records += opts;
    g->stream = stream_of(g->kind, id, seq);
    stream_t *s = &g_streams[g->stream];
    g->seq_before = s->loop_inc;
    s->loop_inc += g->seq_inc;
}

/* UDP payload of one captured frame, or NULL. */
static const uint8_t *udp_payload(int dlt, const uint8_t *p, uint32_t caplen, uint32_t *plen)
{
    const uint8_t *end = p + caplen;
    uint16_t et;
    switch (dlt) {
    case DLT_EN10MB:
        if (caplen < 14)
            return NULL;
        et = rd16(p + 12);
        p += 14;
        while ((et == 0x8100 || et == 0x88a8) && end - p >= 4) {
            et = rd16(p + 2);
            p += 4;
        }
        break;
    case DLT_LINUX_SLL:
        if (caplen < 16)
            return NULL;
        et = rd16(p + 14);
        p += 16;
        break;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        if (caplen < 20)
            return NULL;
        et = rd16(p);
        p += 20;
        break;
#endif
    case DLT_NULL:
    case DLT_LOOP: {
        if (caplen < 4)
            return NULL;
        uint32_t af = dlt == DLT_LOOP
                          ? rd32(p)
                          : (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
        if (af > 0xffff) /* other byte order */
            af = __builtin_bswap32(af);
        et = af == 2 ? 0x0800 : 0x86dd;
        p += 4;
        break;
    }
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
    case DLT_IPV6:
#endif
        if (caplen < 1)
            return NULL;
        et = (p[0] >> 4) == 4 ? 0x0800 : 0x86dd;
        break;
    default:
        return NULL;
    }
    uint8_t proto;
    if (et == 0x0800) {
        if (end - p < 20 || (p[0] >> 4) != 4)
            return NULL;
        unsigned ihl = (p[0] & 15u) * 4;
        if (ihl < 20 || end - p < (ptrdiff_t)ihl)
            return NULL;
        if (rd16(p + 6) & 0x3fff) /* a fragment (MF set or offset): not a whole datagram */
            return NULL;
        proto = p[9];
        p += ihl;
    } else if (et == 0x86dd) {
        if (end - p < 40 || (p[0] >> 4) != 6)
            return NULL;
        proto = p[6];
        p += 40;
        /* hop-by-hop, routing, destination options */
        while ((proto == 0 || proto == 43 || proto == 60) && end - p >= 8) {
            proto = p[0];
            p += (p[1] + 1) * 8;
        }
    } else {
        return NULL;
    }
    if (proto != 17 || end - p < 8)
        return NULL;
    uint16_t ulen = rd16(p + 4);
    if (ulen < 8)
        return NULL;
    p += 8;
    if ((ptrdiff_t)(ulen - 8) > end - p) /* truncated by the snap length */
        return NULL;
    *plen = ulen - 8u;
    return p;
}

static void load(const char *path, const char *filter)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, errbuf);
    if (!pc)
        die("%s", errbuf);
    if (filter) {
        struct bpf_program prog;
        if (pcap_compile(pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
            pcap_setfilter(pc, &prog) < 0)
            die("filter '%s': %s", filter, pcap_geterr(pc));
        pcap_freecode(&prog);
    }
    struct pcap_pkthdr *h;
    const u_char *pkt;
    uint64_t frames = 0, skipped = 0;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &pkt)) == 1) {
        frames++;
        uint32_t plen;
        /* a pcapng file may mix link types; libpcap reports the current one */
        const uint8_t *pl = udp_payload(pcap_datalink(pc), pkt, h->caplen, &plen);
        if (!pl) {
            skipped++;
            continue;
        }
        add_dgram(pl, plen);
    }
    if (rc == -1)
        die("%s: %s", path, pcap_geterr(pc));
    pcap_close(pc);
    if (skipped)
        fprintf(stderr,
                "blaster: %s: skipped %" PRIu64 " of %" PRIu64
                " frames (not whole UDP datagrams)\n",
                path, skipped, frames);
    if (g_ndg == 0)
        die("%s: no UDP datagram", path);
}

/* ------------------------------------------------------------------ destination */

static bool loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f)
{
    fputs("usage: blaster [-a ADDR] -p PORT [-n LOOPS] [-t SECONDS] [-r DGRAMS_PER_S] [-b BATCH]\n"
          "               [-f BPF] [-q] [-l] CAPTURE\n"
          "Replays the UDP payloads of a pcap/pcapng capture of flow-export datagrams to\n"
          "ADDR:PORT (loopback only; default 127.0.0.1) with sendmmsg, rewriting NetFlow v5/v9\n"
          "and IPFIX sequence numbers so that loops form one gap-free stream.\n"
          "  -n LOOPS    passes over the capture (default 1; 0 = no limit, needs -t)\n"
          "  -t SECONDS  stop after this long (whichever of -n and -t comes first)\n"
          "  -r RATE     datagrams per second (default: as fast as possible)\n"
          "  -b BATCH    datagrams per sendmmsg call (default 64, at most 1024)\n"
          "  -f BPF      only replay frames matching this capture filter\n"
          "  -q          print only the final summary line\n"
          "  -l          load and count the capture, send nothing\n",
          f);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *port = NULL, *filter = NULL;
    uint64_t loops = 1;
    double seconds = 0, rate = 0;
    unsigned batch = 64;
    bool quiet = false, list = false;
    int c;
    char *end;
    while ((c = getopt(argc, argv, "a:p:n:t:r:b:f:qlh")) != -1) {
        switch (c) {
        case 'a':
            addr = optarg;
            break;
        case 'p':
            port = optarg;
            break;
        case 'n':
            loops = strtoull(optarg, &end, 10);
            if (*end || !*optarg)
                die("-n: '%s' is not a number", optarg);
            break;
        case 't':
            seconds = strtod(optarg, &end);
            if (*end || !*optarg || seconds < 0)
                die("-t: '%s' is not a duration in seconds", optarg);
            break;
        case 'r':
            rate = strtod(optarg, &end);
            if (*end || !*optarg || rate < 0)
                die("-r: '%s' is not a rate", optarg);
            break;
        case 'b':
            batch = (unsigned)strtoul(optarg, &end, 10);
            if (*end || batch < 1 || batch > MAX_BATCH)
                die("-b: 1..%d", MAX_BATCH);
            break;
        case 'f':
            filter = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'l':
            list = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1 || (!port && !list)) {
        usage(stderr);
        return 2;
    }
    if (loops == 0 && seconds == 0)
        die("-n 0 (no loop limit) needs -t SECONDS");

    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_DGRAM;
    int err = getaddrinfo(addr, port ? port : "9", &hints, &res);
    if (err)
        die("%s:%s: %s", addr, port, gai_strerror(err));
    for (struct addrinfo *a = res; a; a = a->ai_next)
        if (!loopback(a->ai_addr)) {
            fprintf(stderr,
                    "blaster: refusing to send to %s: not a loopback address "
                    "(127.0.0.0/8 or ::1 only)\n",
                    addr);
            return 2;
        }
    struct sockaddr_storage dst;
    socklen_t dstlen = res->ai_addrlen;
    memcpy(&dst, res->ai_addr, dstlen);
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    freeaddrinfo(res);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    /* Unconnected, with the address in every message: a connected socket would report the ICMP
     * port-unreachable of a missing listener as ECONNREFUSED on a later send. */
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

    double t0 = now_s();
    load(argv[optind], filter);
    double tload = now_s() - t0;

    uint64_t kinds[4] = {0}, recs_loop = 0, bytes_loop = 0;
    for (size_t i = 0; i < g_ndg; i++) {
        kinds[g_dg[i].kind]++;
        recs_loop += g_dg[i].records;
        bytes_loop += g_dg[i].len;
    }
    if (!quiet) {
        fprintf(stderr,
                "blaster: %s: %zu datagrams (v5 %" PRIu64 ", v9 %" PRIu64 ", ipfix %" PRIu64
                ", other %" PRIu64 "), %" PRIu64 " bytes, %" PRIu64 " data records, %" PRIu64
                " templates, %" PRIu64
                " option records per pass; %zu stream(s); loaded in %.2f s\n",
                argv[optind], g_ndg, kinds[K_V5], kinds[K_V9], kinds[K_IPFIX], kinds[K_OTHER],
                bytes_loop, recs_loop, g_templates, g_opt_records, g_nstreams, tload);
        if (g_unknown_sets)
            fprintf(stderr,
                    "blaster: %" PRIu64 " data sets had no template yet (counted as 0 "
                    "records)\n",
                    g_unknown_sets);
    }
    /* for the machine-readable summary */
    printf("capture datagrams=%zu bytes=%" PRIu64 " records=%" PRIu64 "\n", g_ndg, bytes_loop,
           recs_loop);
    fflush(stdout);
    if (list)
        return 0;

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    /* At most one copy of a datagram per sendmmsg call, so the headers can be patched in place:
     * the kernel copies the data during the call. */
    if (batch > g_ndg)
        batch = (unsigned)g_ndg;
    if (rate > 0) { /* pace in steps of about 1 ms */
        unsigned b = (unsigned)(rate / 1000);
        if (b < batch)
            batch = b ? b : 1;
    }
    struct mmsghdr msgs[MAX_BATCH];
    struct iovec iov[MAX_BATCH];
    memset(msgs, 0, sizeof(msgs));
    for (unsigned i = 0; i < batch; i++) {
        msgs[i].msg_hdr.msg_name = &dst;
        msgs[i].msg_hdr.msg_namelen = dstlen;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    uint64_t sent = 0, bytes = 0, records = 0, errors = 0, loop = 0;
    size_t pos = 0; /* next datagram of the capture */
    double start = now_s(), deadline = seconds > 0 ? start + seconds : 0, t = start;
    while (!g_stop && (loops == 0 || loop < loops)) {
        unsigned n = 0;
        size_t first = pos;
        uint64_t first_loop = loop;
        while (n < batch && (loops == 0 || loop < loops)) {
            dgram_t *g = &g_dg[pos];
            uint8_t *d = g_data + g->off;
            if (g->stream >= 0) {
                const stream_t *s = &g_streams[g->stream];
                uint32_t seq = s->first_seq + (uint32_t)(loop * s->loop_inc) + g->seq_before;
                wr32(d + (g->kind == K_V5 ? 16 : g->kind == K_V9 ? 12 : 8), seq);
            }
            iov[n].iov_base = d;
            iov[n].iov_len = g->len;
            n++;
            if (++pos == g_ndg) {
                pos = 0;
                loop++;
            }
        }
        if (n == 0)
            break;
        unsigned done = 0;
        while (done < n && !g_stop) {
            int r = sendmmsg(fd, msgs + done, n - done, 0);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) {
                    errors++; /* lost to the sender's queue: retry */
                    continue;
                }
                die("sendmmsg: %s", strerror(errno));
            }
            done += (unsigned)r;
        }
        for (unsigned i = 0; i < done; i++) {
            bytes += iov[i].iov_len;
            records += g_dg[(first + i) % g_ndg].records;
        }
        sent += done;
        if (done < n) { /* interrupted: account the loop position of what was sent */
            pos = (first + done) % g_ndg;
            loop = first_loop + (first + done) / g_ndg;
            break;
        }
        t = now_s();
        if (deadline && t >= deadline)
            break;
        if (rate > 0) {
            double due = start + (double)sent / rate;
            if (deadline && due > deadline)
                due = deadline;
            if (due > t) {
                struct timespec ts;
                double wait = due - t;
                ts.tv_sec = (time_t)wait;
                ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !g_stop)
                    ;
            }
        }
    }
    t = now_s();
    double wall = t - start;
    double passes = (double)loop + (double)pos / (double)g_ndg;
    if (!quiet)
        fprintf(stderr,
                "blaster: sent %" PRIu64 " datagrams, %" PRIu64 " bytes, %" PRIu64
                " records in %.3f s (%.2f passes): %.0f datagrams/s, %.1f MB/s, %.0f records/s%s\n",
                sent, bytes, records, wall, passes, wall > 0 ? (double)sent / wall : 0,
                wall > 0 ? (double)bytes / wall / 1e6 : 0, wall > 0 ? (double)records / wall : 0,
                errors ? " (some sends retried)" : "");
    printf("sent datagrams=%" PRIu64 " bytes=%" PRIu64 " records=%" PRIu64
           " seconds=%.6f passes=%.4f retries=%" PRIu64 "\n",
           sent, bytes, records, wall, passes, errors);
    close(fd);
    return 0;
}
