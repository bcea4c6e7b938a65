/*
 * genpcap.c - deterministic synthetic traffic for the flowkit benchmarks.
 *
 * Writes a classic pcap file (microsecond timestamps, DLT_EN10MB) whose bytes
 * depend only on the command line, so every tool compared by bench/run.sh
 * reads the same input on every machine and in every run.
 *
 * Model. F biflows are drawn up front: kind (DNS, NTP, RTP-like media, HTTP,
 * TLS, small JSON API calls, refused TCP connections, ICMP echo), IP version,
 * VLAN tag, addresses, start time and a packet budget. The budgets sum to
 * exactly N packets; a heavy-tailed share decides which flows are elephants.
 * A min-heap keyed on each flow's next packet time interleaves the flows, so
 * timestamps never decrease and tens of thousands of flows are open at once.
 * Each flow is a small state machine that emits one packet per heap pop, with
 * consistent TCP sequence numbers, valid IPv4/TCP/UDP/ICMP checksums and
 * application payloads that Wireshark dissects without complaint.
 *
 * Only libc is used (no libm): the few logarithms needed are computed here.
 *
 * Build: cc -O2 -Wall -Wextra -Werror -o genpcap bench/genpcap.c
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEF_PACKETS 5000000u
#define DEF_FLOWS   250000u
#define DEF_SEED    1u

/* Flows start uniformly over this window; with sub-minute flow lifetimes
 * plus a 30 s inactive timeout this keeps an exporter's cache well under
 * 100k entries at 250k flows while the capture spans a few minutes. */
#define START_SPAN_US (240ull * 1000000ull)
#define INACTIVE_US   (30ull * 1000000ull) /* the exporters' inactive timeout we model */
#define BASE_SEC      1700000000u          /* fixed epoch: output must not depend on "now" */

#define MIN_FRAME    60   /* Ethernet minimum without FCS; shorter frames are padded */
#define MAX_FRAME    1514 /* no frame exceeds a standard untagged MTU frame */
#define PCAP_REC_HDR 16
#define OUTBUF_SIZE  (8u << 20) /* large writes: no per-packet syscalls */

#define N_CLIENTS 40000u /* client hosts behind the probe */
#define N_SERVERS 8000u  /* server hosts; popularity is skewed towards low indices */
#define N_DNS_RES 4u     /* servers 0..3 act as DNS/NTP resolvers */

/* Client ports come from the Linux ephemeral range; a coprime stride walks
 * the whole range before repeating, so a client never reuses a port. */
#define EPH_BASE   32768u
#define EPH_COUNT  28232u
#define EPH_STRIDE 7919u

/* UDP ports tshark 4.0 decodes by number inside the ephemeral range. A media
 * flow's client port avoids them: with the server port unclaimed, Wireshark
 * would hand RTP-like payload to that dissector and report it malformed. */
static const uint16_t claimed_udp_ports[] = {34962, 34980, 37008, 41170, 44818, 45564, 47000, 47808,
                                             49999, 54328, 56000, 56001, 56500, 56501, 57000, 57001,
                                             57032, 57033, 57500, 57501, 57532, 57533, 59000, 59001,
                                             59032, 59033, 59500, 59501, 59532, 59533, 60001};

#define PATTERN_LEN   65536u /* payload source buffers, plus slack for one frame */
#define PATTERN_SLACK 2048u

#define LN2 0.69314718055994531

enum kind { K_DNS, K_NTP, K_MEDIA, K_HTTP, K_TLS, K_API, K_REFUSED, K_ICMP, K_COUNT };

struct kind_def {
    const char *name;
    uint32_t flow_permille; /* share of all flows */
    uint32_t appetite;      /* weight when extra packets are shared out (0: fixed size) */
    uint32_t extra_cap;     /* most extra packets one flow may take */
};

/* Flow mix. Appetites were tuned so the average frame is ~580 bytes: bulk
 * HTTP/TLS carries most bytes, while media, API calls and the many small
 * control packets pull the mean down. */
static const struct kind_def kinds[K_COUNT] = {
    [K_DNS] = {"dns", 270, 0, 0},             /* UDP 53: query and answer */
    [K_NTP] = {"ntp", 30, 0, 0},              /* UDP 123: client and server message */
    [K_MEDIA] = {"media", 15, 30, 12000},     /* UDP RTP-like voice, 50 pkt/s each way */
    [K_HTTP] = {"http", 200, 10, UINT32_MAX}, /* TCP 80: keep-alive GETs, HTML bodies */
    [K_TLS] = {"tls", 345, 10, UINT32_MAX},   /* TCP 443: ClientHello, then records */
    [K_API] = {"api", 100, 6, 900},           /* TCP 8080: many small JSON POSTs */
    [K_REFUSED] = {"refused", 20, 0, 0},      /* TCP SYN answered by RST */
    [K_ICMP] = {"icmp", 20, 1, 38},           /* echo request/reply, one per second */
};

enum close_kind { CL_FIN, CL_RST, CL_NONE };

/* TCP header flags (RFC 9293 3.1) */
#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u

enum phase {
    PH_SYN,    /* client SYN */
    PH_SYNACK, /* server SYN+ACK */
    PH_HSACK,  /* client ACK completing the handshake */
    PH_REQ,    /* client request */
    PH_SACK,   /* server's delayed ACK of the request */
    PH_SEG,    /* server response segment */
    PH_CACK,   /* client ACK of response segments */
    PH_FIN1,   /* closer's FIN+ACK */
    PH_FIN2,   /* peer's FIN+ACK */
    PH_FIN3,   /* closer's final ACK */
    PH_RST,    /* RST+ACK ending the connection */
    PH_REFUSE, /* server RST+ACK answering a SYN to a closed port */
    PH_QUERY,  /* UDP/ICMP: client to server */
    PH_ANSWER, /* UDP/ICMP: server to client */
};

struct flow {
    uint64_t next_us;   /* capture time of this flow's next packet, from capture start */
    uint64_t rng;       /* private RNG: a flow's content does not depend on interleaving */
    uint32_t left;      /* packets still to emit, close included */
    uint32_t emitted;   /* packets emitted so far */
    uint32_t data_left; /* TCP: packets left for request/response exchanges */
    uint32_t exch_left; /* TCP: exchanges left, the current one included */
    uint32_t exch_idx;  /* TCP: index of the current exchange */
    uint32_t idle_at;   /* exchange (TCP) or packet (media) preceded by a >30 s pause */
    uint32_t seg_left;  /* TCP: response segments still to send */
    uint32_t resp_len;  /* TCP: payload bytes of the current response */
    uint32_t resp_off;  /* TCP: response bytes already sent */
    uint32_t client;    /* client host index (ICMP flows get private hosts) */
    uint32_t server;    /* server host index */
    uint32_t seq[2];    /* TCP: next sequence number, [0] client, [1] server */
    uint32_t tag;       /* per-flow constant for names, ids and keys */
    uint32_t rtt_us;    /* round-trip time seen from the probe */
    uint32_t srv_us;    /* server think time before a response */
    uint32_t pace_us;   /* gap between back-to-back response segments */
    uint16_t cport, sport;
    uint16_t ipid[2];  /* IPv4 identification per direction */
    uint16_t vlan;     /* 802.1Q VLAN id, 0 = untagged */
    uint16_t mss;      /* payload bytes of a full segment; keeps frames <= 1514 */
    uint16_t head_len; /* TCP: HTTP head bytes at the start of the response */
    uint8_t kind, v6, phase, close, closer_srv, ack_every, since_ack, srv_ack;
};

/* Buffered output: packets are composed in place, written in OUTBUF_SIZE chunks. */
struct out {
    int fd;
    uint8_t *buf;
    size_t len;
};

struct stats {
    uint64_t packets, bytes;
    uint64_t v6, vlan, tcp, udp, icmp;
    uint64_t kind_pkts[K_COUNT], kind_bytes[K_COUNT];
    uint32_t kind_flows[K_COUNT];
    uint32_t min_frame, max_frame;
    uint32_t live, peak_live; /* flows between first and last packet */
    uint32_t peak_cache;      /* live + ended less than INACTIVE_US ago */
    uint64_t first_us, last_us;
};

struct gen {
    struct out out;
    struct flow *flows;
    uint32_t nflows;
    uint32_t *heap;
    uint32_t heap_n;
    uint64_t *ended; /* end times of finished flows, in time order (FIFO) */
    uint32_t ended_head, ended_tail;
    struct stats st;
    uint8_t html[PATTERN_LEN + PATTERN_SLACK];  /* HTML-ish text for HTTP bodies */
    uint8_t alnum[PATTERN_LEN + PATTERN_SLACK]; /* JSON-safe characters */
    uint8_t noise[PATTERN_LEN + PATTERN_SLACK]; /* random bytes: ciphertext, audio */
    char head[512];                             /* HTTP head of the response being sent */
};

/* ---------------------------------------------------------------- random */

/* splitmix64: fast, one word of state, plenty for traffic shapes. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform integer in [0, n); n > 0. */
static inline uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform integer in [lo, hi]; lo <= hi. */
static inline uint32_t rng_range(uint64_t *s, uint32_t lo, uint32_t hi)
{
    return lo + rng_below(s, hi - lo + 1);
}

/* True with probability permille/1000. */
static inline bool rng_chance(uint64_t *s, uint32_t permille)
{
    return rng_below(s, 1000) < permille;
}

/* Uniform double in (0, 1]: never 0, so its logarithm is finite. */
static inline double rng_unit(uint64_t *s)
{
    return (double)((rng_next(s) >> 11) + 1) * 0x1.0p-53;
}

/* Natural logarithm of x in (0, 1], relative error < 1e-9 (avoids libm). */
static double ln_unit(double x)
{
    int32_t e = 0;
    while (x < 0.70710678118654752) { /* scale into [0.707, 1.414): the series converges fast */
        x *= 2.0;
        e--;
    }
    /* ln x = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...), t = (x-1)/(x+1), |t| < 0.172 */
    double t = (x - 1.0) / (x + 1.0), t2 = t * t, sum = 0.0;
    for (int32_t k = 11; k >= 1; k -= 2)
        sum = sum * t2 + 2.0 / k;
    return t * sum + e * LN2;
}

/* 2^y for 0 <= y < 63, relative error < 1e-7 (avoids libm). */
static double pow2(double y)
{
    uint32_t i = (uint32_t)y;
    double z = (y - i) * LN2, sum = 0.0;
    for (int32_t k = 8; k >= 1; k--) /* e^z, Taylor series in Horner form, z < 0.7 */
        sum = (sum + 1.0) * z / k;
    return (sum + 1.0) * (double)(UINT64_C(1) << i);
}

/* Exponential sample with the given mean. */
static double rng_exp(uint64_t *s, double mean)
{
    return -mean * ln_unit(rng_unit(s));
}

/* Log-uniform sample in [lo, hi], 0 < lo < hi: every octave equally likely. */
static double rng_logu(uint64_t *s, double lo, double hi)
{
    double octaves = -ln_unit(lo / hi) / LN2;
    return lo * pow2((1.0 - rng_unit(s)) * octaves);
}

/* Pareto sample (x_m = 1, shape alpha) capped at cap: the elephant/mice split. */
static double rng_pareto(uint64_t *s, double alpha, double cap)
{
    double y = -ln_unit(rng_unit(s)) / (LN2 * alpha); /* x = u^(-1/alpha) = 2^y */
    if (y >= 62.0)
        return cap;
    double x = pow2(y);
    return x < cap ? x : cap;
}

/* ---------------------------------------------------------------- bytes */

/* Stores v at p in network byte order (big-endian); likewise put24 and put32. */
static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Fills n bytes at p from the flow's RNG. */
static void fill_random(uint8_t *p, size_t n, uint64_t *rng)
{
    while (n >= 8) {
        uint64_t v = rng_next(rng);
        memcpy(p, &v, 8);
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t v = rng_next(rng);
        memcpy(p, &v, n);
    }
}

/* Copies n (<= PATTERN_SLACK) bytes of a pattern buffer starting at any offset. */
static inline void copy_pattern(uint8_t *dst, const uint8_t *pat, uint32_t off, size_t n)
{
    memcpy(dst, pat + off % PATTERN_LEN, n);
}

/*
 * One's-complement sum of n bytes added into acc (RFC 1071). Words are summed
 * in native byte order, which RFC 1071 shows gives the same folded result;
 * p must sit at an even offset of the checksummed data.
 */
static uint64_t csum_add(uint64_t acc, const uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        acc += w;
        acc += acc < w; /* end-around carry */
        p += 8;
        n -= 8;
    }
    if (n >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        acc += w;
        acc += acc < w;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc += w;
        acc += acc < w;
        p += 2;
        n -= 2;
    }
    if (n) {
        uint8_t b[2] = {p[0], 0}; /* odd tail: pad with a zero byte */
        uint16_t w;
        memcpy(&w, b, 2);
        acc += w;
        acc += acc < w;
    }
    return acc;
}

/* Folds a csum_add accumulator to the 16-bit checksum, ready to memcpy into a header. */
static uint16_t csum_fold(uint64_t acc)
{
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffu) + (acc >> 16);
    acc = (acc & 0xffffu) + (acc >> 16);
    acc = (acc & 0xffffu) + (acc >> 16);
    return (uint16_t)~acc;
}

/* ---------------------------------------------------------------- output */

/* Writes the whole buffer to the file; exits on error. */
static void out_flush(struct out *o)
{
    size_t off = 0;
    while (off < o->len) {
        ssize_t w = write(o->fd, o->buf + off, o->len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            perror("genpcap: write");
            exit(1);
        }
        off += (size_t)w;
    }
    o->len = 0;
}

/* Returns room for at least n bytes at the end of the buffer, flushing if needed. */
static uint8_t *out_reserve(struct out *o, size_t n)
{
    if (OUTBUF_SIZE - o->len < n)
        out_flush(o);
    return o->buf + o->len;
}

/* Writes the pcap global header: native byte order, readers detect it from the magic. */
static void out_pcap_header(struct out *o)
{
    uint8_t *p = out_reserve(o, 24);
    uint32_t magic = 0xa1b2c3d4u, snaplen = 65535, linktype = 1; /* DLT_EN10MB */
    uint16_t major = 2, minor = 4;
    int32_t zone = 0;
    uint32_t sigfigs = 0;
    memcpy(p, &magic, 4);
    memcpy(p + 4, &major, 2);
    memcpy(p + 6, &minor, 2);
    memcpy(p + 8, &zone, 4);
    memcpy(p + 12, &sigfigs, 4);
    memcpy(p + 16, &snaplen, 4);
    memcpy(p + 20, &linktype, 4);
    o->len += 24;
}

/* ---------------------------------------------------------------- addresses */

/* IPv4 address of a client host: 10.16.0.0/12, never .0 or .255. */
static void v4_client(uint32_t idx, uint8_t a[4])
{
    a[0] = 10;
    a[1] = (uint8_t)(16 + idx / 62500);
    a[2] = (uint8_t)(idx / 250 % 250);
    a[3] = (uint8_t)(1 + idx % 250);
}

/* IPv4 address of a server host: 198.18.0.0/15, the benchmarking range (RFC 2544). */
static void v4_server(uint32_t idx, uint8_t a[4])
{
    uint32_t hi = idx / 250;
    a[0] = 198;
    a[1] = (uint8_t)(18 + hi / 256);
    a[2] = (uint8_t)(hi % 256);
    a[3] = (uint8_t)(1 + idx % 250);
}

/* IPv6 address of a host under the documentation prefix 2001:db8::/32. */
static void v6_host(uint32_t idx, bool server, uint8_t a[16])
{
    memset(a, 0, 16);
    put16(a, 0x2001);
    put16(a + 2, 0x0db8);
    put16(a + 4, server ? 0x5e00 : 0xc000);
    put32(a + 12, idx + 1);
}

/* ---------------------------------------------------------------- packets */

/* Where the parts of the frame being built sit in the output buffer. */
struct pkt {
    uint8_t *rec; /* pcap record header */
    uint8_t *l3;  /* IP header */
    uint8_t *l4;  /* transport header */
    bool from_client;
};

/*
 * Starts a frame of flow f in the output buffer: Ethernet, optional 802.1Q tag
 * and the address part of the IP header. Returns the transport header position;
 * pkt_end() completes the frame once the caller has written the transport part.
 */
static uint8_t *pkt_begin(struct gen *g, struct flow *f, bool from_client, struct pkt *p)
{
    static const uint8_t gw_mac[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};
    uint8_t cl_mac[6] = {0x02,
                         0x00,
                         0xab,
                         (uint8_t)(f->client >> 16),
                         (uint8_t)(f->client >> 8),
                         (uint8_t)f->client};
    uint8_t *e = out_reserve(&g->out, PCAP_REC_HDR + MAX_FRAME + 64);
    uint8_t *l2 = e + PCAP_REC_HDR;
    size_t n = 12;

    p->rec = e;
    p->from_client = from_client;
    memcpy(l2, from_client ? gw_mac : cl_mac, 6);
    memcpy(l2 + 6, from_client ? cl_mac : gw_mac, 6);
    if (f->vlan) {
        put16(l2 + n, 0x8100);
        put16(l2 + n + 2, f->vlan);
        n += 4;
    }
    put16(l2 + n, f->v6 ? 0x86dd : 0x0800);
    n += 2;
    p->l3 = l2 + n;

    if (f->v6) {
        uint8_t *h = p->l3;
        uint8_t *cl = from_client ? h + 8 : h + 24, *sv = from_client ? h + 24 : h + 8;
        put32(h, 0x60000000u | (f->tag & 0xfffffu)); /* flow label: constant per flow */
        h[7] = from_client ? 64 : 52;                /* hop limit as seen after ~12 hops */
        v6_host(f->client, false, cl);
        v6_host(f->server, true, sv);
        p->l4 = h + 40;
    } else {
        uint8_t *h = p->l3;
        uint8_t *cl = from_client ? h + 12 : h + 16, *sv = from_client ? h + 16 : h + 12;
        h[0] = 0x45;
        h[1] = 0;
        put16(h + 4, f->ipid[from_client ? 0 : 1]++);
        put16(h + 6, 0x4000); /* DF, as modern stacks send */
        h[8] = from_client ? ((f->client & 1) ? 128 : 64) : 52;
        v4_client(f->client, cl);
        v4_server(f->server, sv);
        p->l4 = h + 20;
    }
    return p->l4;
}

/*
 * Completes the frame started by pkt_begin(): IP lengths, IPv4 header checksum,
 * the transport checksum at csum_off inside the l4len transport bytes (none if
 * csum_off < 0), padding to 60 bytes, the pcap record header; then commits it.
 */
static void pkt_end(struct gen *g, struct flow *f, struct pkt *p, uint8_t proto, size_t l4len,
                    int csum_off)
{
    uint8_t *l2 = p->rec + PCAP_REC_HDR;
    uint64_t acc = 0;
    uint8_t ph[40];

    if (f->v6) {
        put16(p->l3 + 4, (uint16_t)l4len);
        p->l3[6] = proto;
        /* pseudo-header: addresses, upper-layer length, next header (RFC 8200 8.1) */
        acc = csum_add(acc, p->l3 + 8, 32);
        put32(ph, (uint32_t)l4len);
        put32(ph + 4, proto);
        acc = csum_add(acc, ph, 8);
    } else {
        uint16_t c;
        put16(p->l3 + 2, (uint16_t)(20 + l4len));
        p->l3[9] = proto;
        p->l3[10] = p->l3[11] = 0;
        c = csum_fold(csum_add(0, p->l3, 20));
        memcpy(p->l3 + 10, &c, 2);
        if (proto != 1) { /* ICMPv4 has no pseudo-header */
            memcpy(ph, p->l3 + 12, 8);
            ph[8] = 0;
            ph[9] = proto;
            put16(ph + 10, (uint16_t)l4len);
            acc = csum_add(acc, ph, 12);
        }
    }
    if (csum_off >= 0) {
        uint16_t c;
        p->l4[csum_off] = p->l4[csum_off + 1] = 0;
        c = csum_fold(csum_add(acc, p->l4, l4len));
        if (c == 0 && proto == 17)
            c = 0xffff; /* UDP: zero means "no checksum" (RFC 768) */
        memcpy(p->l4 + csum_off, &c, 2);
    }

    size_t frame = (size_t)(p->l4 + l4len - l2);
    if (frame < MIN_FRAME) {
        memset(l2 + frame, 0, MIN_FRAME - frame);
        frame = MIN_FRAME;
    }

    uint64_t ts = (uint64_t)BASE_SEC * 1000000u + f->next_us;
    uint32_t rec[4] = {(uint32_t)(ts / 1000000u), (uint32_t)(ts % 1000000u), (uint32_t)frame,
                       (uint32_t)frame};
    memcpy(p->rec, rec, sizeof rec);
    g->out.len += PCAP_REC_HDR + frame;

    struct stats *st = &g->st;
    st->packets++;
    st->bytes += frame;
    st->v6 += f->v6;
    st->vlan += f->vlan != 0;
    st->tcp += proto == 6;
    st->udp += proto == 17;
    st->icmp += proto == 1 || proto == 58;
    st->kind_pkts[f->kind]++;
    st->kind_bytes[f->kind] += frame;
    if (frame < st->min_frame)
        st->min_frame = (uint32_t)frame;
    if (frame > st->max_frame)
        st->max_frame = (uint32_t)frame;
    f->emitted++;
    f->left--;
}

/* ---------------------------------------------------------------- payloads */

/* Host name of a server, used for SNI, HTTP Host and DNS questions. */
static int host_name(char *dst, size_t cap, uint32_t server, uint32_t tag)
{
    static const char *const sub[] = {"www", "cdn", "api", "img", "static", "mail", "login", "m"};
    static const char *const tld[] = {"com", "net", "org", "io"};
    return snprintf(dst, cap, "%s.example%" PRIu32 ".%s", sub[tag % 8], server,
                    tld[(tag >> 3) % 4]);
}

/* Writes an HTTP GET for flow f at dst; returns its length (< 700). */
static size_t http_request(struct flow *f, uint8_t *dst)
{
    static const char *const ext[] = {"html", "css", "js", "png", "jpg", "json", "svg", "woff2"};
    char host[64];
    uint32_t cookie = rng_range(&f->rng, 0, 160);
    int n;

    host_name(host, sizeof host, f->server, f->tag);
    n = snprintf((char *)dst, 400,
                 "GET /assets/%08" PRIx32 "/%" PRIu32 ".%s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 "
                 "Firefox/120.0\r\n"
                 "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
                 "Accept-Language: en-US,en;q=0.5\r\n"
                 "Accept-Encoding: gzip, deflate\r\n"
                 "Connection: keep-alive\r\n"
                 "Cookie: sid=",
                 f->tag, f->exch_idx, ext[rng_below(&f->rng, 8)], host);
    uint8_t *p = dst + n;
    for (uint32_t i = 0; i < cookie; i++)
        p[i] = (uint8_t) "0123456789abcdef"[rng_below(&f->rng, 16)];
    p += cookie;
    memcpy(p, "\r\n\r\n", 4);
    return (size_t)(p + 4 - dst);
}

/* The response head; cl is the printf conversion for Content-Length. */
#define HTTP_HEAD_FMT(cl)                     \
    "HTTP/1.1 200 OK\r\n"                     \
    "Server: nginx/1.22.1\r\n"                \
    "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n" \
    "Content-Type: %s\r\n"                    \
    "Content-Length: " cl "\r\n"              \
    "ETag: \"%08" PRIx32 "\"\r\n"             \
    "Connection: keep-alive\r\n\r\n"

/*
 * Formats an HTTP/1.1 200 response head whose Content-Length makes head plus
 * body exactly *total bytes. If no head length fits (the body length crosses a
 * power of ten), *total shrinks by a byte and the search repeats. Returns the
 * head length.
 */
static size_t http_response_head(char *dst, size_t cap, uint32_t *total, const char *ctype,
                                 uint32_t tag)
{
    for (;;) {
        for (int digits = 1; digits <= 10; digits++) {
            /* the head length is fixed once the digit count of the body length is */
            int head = snprintf(dst, cap, HTTP_HEAD_FMT("%0*u"), ctype, digits, 0u, tag);
            if ((uint32_t)head >= *total) {
                /* plan_exchange() keeps responses longer than any head */
                fprintf(stderr, "genpcap: internal error: %" PRIu32 "-byte response\n", *total);
                exit(1);
            }
            uint32_t body = *total - (uint32_t)head;
            int need = 1;
            for (uint32_t b = body; b >= 10; b /= 10)
                need++;
            if (need == digits)
                return (size_t)snprintf(dst, cap, HTTP_HEAD_FMT("%" PRIu32), ctype, body, tag);
        }
        (*total)--;
    }
}

/*
 * Writes bytes [off, off+n) of the JSON document {"data":"..."} of len bytes
 * (len >= 12). Any split of it is a slice of valid JSON, so a dissector that
 * reassembles the body always sees a well-formed document.
 */
static void json_slice(uint8_t *dst, const uint8_t *alnum, uint32_t off, uint32_t n, uint32_t len)
{
    static const char head[] = "{\"data\":\"";
    const uint32_t hl = sizeof head - 1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t pos = off + i;
        if (pos < hl)
            dst[i] = (uint8_t)head[pos];
        else if (pos == len - 2)
            dst[i] = '"';
        else if (pos == len - 1)
            dst[i] = '}';
        else
            dst[i] = alnum[pos % PATTERN_LEN];
    }
}

/* Writes a small JSON POST for flow f at dst; returns its length (< 700). */
static size_t api_request(struct gen *g, struct flow *f, uint8_t *dst)
{
    uint32_t body = rng_range(&f->rng, 20, 400);
    int n = snprintf((char *)dst, 300,
                     "POST /api/v1/items/%" PRIu32 " HTTP/1.1\r\n"
                     "Host: api%" PRIu32 ".example.net\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %" PRIu32 "\r\n\r\n",
                     f->exch_idx, f->server, body);
    json_slice(dst + n, g->alnum, 0, body, body);
    return (size_t)n + body;
}

/* Writes a TLS record header (content type, TLS 1.2 version, length) at p. */
static void tls_record(uint8_t *p, uint8_t type, uint16_t len)
{
    p[0] = type;
    put16(p + 1, 0x0303);
    put16(p + 3, len);
}

/* -x: shuffle each ClientHello's extensions (see tls_client_hello). */
static bool g_shuffle_ext;

/*
 * Writes a TLS 1.3-style ClientHello record with SNI for flow f at p and
 * returns its length: 517 bytes, the handshake padded to 512 like browsers do.
 * With -x its extensions but the padding come in a random order per hello,
 * as Chrome sends them since version 110 (JA3 then changes every time, JA4
 * does not).
 */
static size_t tls_client_hello(struct flow *f, uint8_t *p)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                      0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                                      0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    /* The extensions after server_name, whole (type, length, body); the key
     * share's 32-byte key is drawn per hello after its header. */
    static const uint8_t e_groups[] = {0x00, 0x0a, 0x00, 0x08, 0x00, 0x06,
                                       0x00, 0x1d, 0x00, 0x17, 0x00, 0x18};
    static const uint8_t e_ecpf[] = {0x00, 0x0b, 0x00, 0x02, 0x01, 0x00};
    static const uint8_t e_sigalgs[] = {0x00, 0x0d, 0x00, 0x0a, 0x00, 0x08, 0x04,
                                        0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03};
    static const uint8_t e_alpn[] = {0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h', '2',
                                     0x08, 'h',  't',  't',  'p',  '/',  '1',  '.', '1'};
    static const uint8_t e_versions[] = {0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03};
    static const uint8_t e_psk[] = {0x00, 0x2d, 0x00, 0x02, 0x01, 0x01};
    static const uint8_t e_share[] = {0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20};
    static const struct {
        const uint8_t *b;
        size_t n;
    } fixed[] = {{NULL, 0}, /* 0: server_name, made below */
                 {e_groups, sizeof e_groups},
                 {e_ecpf, sizeof e_ecpf},
                 {e_sigalgs, sizeof e_sigalgs},
                 {e_alpn, sizeof e_alpn},
                 {e_versions, sizeof e_versions},
                 {e_psk, sizeof e_psk},
                 {e_share, sizeof e_share}};
    enum { N_EXT = sizeof fixed / sizeof fixed[0] };
    uint8_t order[N_EXT];
    char host[64];
    size_t hl = (size_t)host_name(host, sizeof host, f->server, f->tag);
    size_t n = 5, hs = 5, ext;

    p[n++] = 0x01; /* ClientHello */
    n += 3;
    put16(p + n, 0x0303);
    n += 2;
    fill_random(p + n, 32, &f->rng);
    n += 32;
    p[n++] = 32;
    fill_random(p + n, 32, &f->rng);
    n += 32;
    put16(p + n, (uint16_t)(sizeof suites));
    n += 2;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++, n += 2)
        put16(p + n, suites[i]);
    p[n++] = 1; /* one compression method: null */
    p[n++] = 0;
    ext = n;
    n += 2;
    for (size_t i = 0; i < N_EXT; i++)
        order[i] = (uint8_t)i;
    if (g_shuffle_ext) {
        /* Fisher-Yates, from a stream of its own: without -x the flow's
         * bytes stay as ever, and flows whose private streams coincide
         * (their seeds share most bits) still shuffle apart by their tag. */
        uint64_t srng = f->rng ^ (uint64_t)f->tag * 0x9E3779B97F4A7C15ull;
        for (size_t i = N_EXT; i > 1; i--) {
            size_t j = rng_below(&srng, (uint32_t)i);
            uint8_t t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
    }
    for (size_t i = 0; i < N_EXT; i++) {
        size_t k = order[i];
        if (k == 0) {
            put16(p + n, 0x0000); /* server_name */
            put16(p + n + 2, (uint16_t)(hl + 5));
            put16(p + n + 4, (uint16_t)(hl + 3));
            p[n + 6] = 0;
            put16(p + n + 7, (uint16_t)hl);
            memcpy(p + n + 9, host, hl);
            n += 9 + hl;
            continue;
        }
        memcpy(p + n, fixed[k].b, fixed[k].n);
        n += fixed[k].n;
        if (fixed[k].b == e_share) {
            fill_random(p + n, 32, &f->rng);
            n += 32;
        }
    }
    size_t hs_len = n - hs; /* so far, 4-byte handshake header included */
    if (hs_len + 4 < 512) {
        size_t pad = 512 - hs_len - 4;
        put16(p + n, 0x0015); /* padding extension (RFC 7685) */
        put16(p + n + 2, (uint16_t)pad);
        memset(p + n + 4, 0, pad);
        n += 4 + pad;
    }
    put16(p + ext, (uint16_t)(n - ext - 2));
    put24(p + hs + 1, (uint32_t)(n - hs - 4));
    tls_record(p, 0x16, (uint16_t)(n - 5));
    p[1] = 0x03; /* ClientHello records say TLS 1.0 on the wire */
    p[2] = 0x01;
    return n;
}

/* Writes ServerHello + ChangeCipherSpec records at p; returns their length (133). */
static size_t tls_server_hello(struct flow *f, uint8_t *p)
{
    size_t n = 5;
    p[n++] = 0x02; /* ServerHello */
    put24(p + n, 118);
    n += 3;
    put16(p + n, 0x0303);
    n += 2;
    fill_random(p + n, 32, &f->rng);
    n += 32;
    p[n++] = 32;
    fill_random(p + n, 32, &f->rng);
    n += 32;
    put16(p + n, 0x1301); /* TLS_AES_128_GCM_SHA256 */
    n += 2;
    p[n++] = 0;
    put16(p + n, 46);
    n += 2;
    static const uint8_t ext[] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00,
                                  0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20};
    memcpy(p + n, ext, sizeof ext);
    n += sizeof ext;
    fill_random(p + n, 32, &f->rng);
    n += 32;
    tls_record(p, 0x16, (uint16_t)(n - 5));
    tls_record(p + n, 0x14, 1);
    p[n + 5] = 1;
    return n + 6;
}

/* Writes one TLS application-data record of exactly len bytes (len > 5) at p. */
static void tls_app_data(struct gen *g, struct flow *f, uint8_t *p, size_t len)
{
    tls_record(p, 0x17, (uint16_t)(len - 5));
    copy_pattern(p + 5, g->noise, f->tag + f->resp_off + f->emitted * 131u, len - 5);
}

/* Writes a DNS name as labels at p from a dotted string; returns bytes written. */
static size_t dns_name(uint8_t *p, const char *name)
{
    size_t n = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        p[n++] = (uint8_t)l;
        memcpy(p + n, name, l);
        n += l;
        name += l + (dot ? 1 : 0);
    }
    p[n++] = 0;
    return n;
}

/* Writes a DNS query (answer=false) or its answer for flow f at p; returns its length. */
static size_t dns_message(struct flow *f, uint8_t *p, bool answer)
{
    char host[64];
    uint16_t qtype = (f->tag >> 8) % 10 < 7 ? 1 : 28; /* A, or AAAA */
    uint32_t ancount = answer ? 1 + (f->tag >> 12) % 4 : 0;
    size_t n;

    host_name(host, sizeof host, 16 + (f->tag >> 4) % 5000, f->tag);
    put16(p, (uint16_t)f->tag); /* transaction id */
    put16(p + 2, answer ? 0x8180 : 0x0100);
    put16(p + 4, 1);
    put16(p + 6, (uint16_t)ancount);
    put16(p + 8, 0);
    put16(p + 10, 0);
    n = 12 + dns_name(p + 12, host);
    put16(p + n, qtype);
    put16(p + n + 2, 1); /* IN */
    n += 4;
    for (uint32_t i = 0; i < ancount; i++) {
        put16(p + n, 0xc00c); /* pointer to the question name */
        put16(p + n + 2, qtype);
        put16(p + n + 4, 1);
        put32(p + n + 6, 60 + (f->tag >> 16) % 3600);
        n += 10;
        if (qtype == 1) {
            put16(p + n, 4);
            p[n + 2] = 198;
            p[n + 3] = 51;
            p[n + 4] = 100;
            p[n + 5] = (uint8_t)(1 + (f->tag + i) % 254);
            n += 6;
        } else {
            uint8_t a[16];
            v6_host((f->tag >> 4) % 5000 + i, true, a);
            put16(p + n, 16);
            memcpy(p + n + 2, a, 16);
            n += 18;
        }
    }
    return n;
}

/* Writes a 48-byte NTPv4 client (mode 3) or server (mode 4) message at p. */
static size_t ntp_message(struct flow *f, uint8_t *p, bool answer)
{
    uint32_t secs = BASE_SEC + 2208988800u + (uint32_t)(f->next_us / 1000000u); /* NTP era 0 */
    memset(p, 0, 48);
    p[0] = answer ? 0x24 : 0x23; /* LI 0, version 4, mode */
    p[1] = answer ? 2 : 0;       /* stratum */
    p[2] = 6;                    /* poll 64 s */
    p[3] = 0xe9;                 /* precision 2^-23 */
    if (answer) {
        put32(p + 4, 0x00000300);  /* root delay */
        put32(p + 8, 0x00000500);  /* root dispersion */
        put32(p + 12, 0xc0000201); /* reference id: upstream address */
        put32(p + 16, secs - 40);  /* reference */
        put32(p + 24, secs);       /* origin */
        put32(p + 32, secs);       /* receive */
    }
    put32(p + 40, secs); /* transmit */
    put32(p + 44, f->tag);
    return 48;
}

/* ---------------------------------------------------------------- TCP */

/* Writes a segment payload for flow f at dst (len: the planned size, if any); returns its size. */
typedef size_t (*fill_fn)(struct gen *g, struct flow *f, uint8_t *dst, size_t len);

/*
 * Emits one TCP segment of flow f with the given flags (SYNs carry options);
 * fill, if not NULL, writes the payload. Advances the sender's sequence number
 * and returns the payload size.
 */
static size_t tcp_emit(struct gen *g, struct flow *f, bool from_client, uint8_t flags, fill_fn fill,
                       size_t len)
{
    struct pkt p;
    uint8_t *h = pkt_begin(g, f, from_client, &p);
    int me = from_client ? 0 : 1;
    size_t hl = (flags & TCP_SYN) ? 40 : 20; /* SYNs carry MSS, SACK-permitted, timestamps, WS */

    put16(h, from_client ? f->cport : f->sport);
    put16(h + 2, from_client ? f->sport : f->cport);
    put32(h + 4, f->seq[me]);
    put32(h + 8, (flags & TCP_ACK) ? f->seq[1 - me] : 0);
    h[12] = (uint8_t)((hl / 4) << 4);
    h[13] = flags;
    put16(h + 14, (flags & TCP_SYN) ? 64240 : (from_client ? 2053 : 501)); /* scaled by WS 7 */
    put16(h + 18, 0);
    if (flags & TCP_SYN) {
        uint8_t *o = h + 20;
        uint32_t ts = (uint32_t)(f->next_us / 1000u) + f->tag;
        o[0] = 2; /* MSS */
        o[1] = 4;
        put16(o + 2, f->mss);
        o[4] = 4; /* SACK permitted */
        o[5] = 2;
        o[6] = 8; /* timestamps */
        o[7] = 10;
        put32(o + 8, ts);
        put32(o + 12, from_client ? 0 : ts - 17);
        o[16] = 1; /* NOP */
        o[17] = 3; /* window scale 7 */
        o[18] = 3;
        o[19] = 7;
    }
    len = fill ? fill(g, f, h + hl, len) : 0;
    f->seq[me] += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1u : 0u); /* each takes one */
    pkt_end(g, f, &p, 6, hl + len, 16);
    return len;
}

/* fill_fn for the current request of flow f; the writer picks the size. */
static size_t fill_request(struct gen *g, struct flow *f, uint8_t *dst, size_t len)
{
    (void)len;
    if (f->kind == K_HTTP)
        return http_request(f, dst);
    if (f->kind == K_API)
        return api_request(g, f, dst);
    if (f->exch_idx == 0)
        return tls_client_hello(f, dst);
    len = rng_range(&f->rng, 80, 900);
    tls_app_data(g, f, dst, len);
    return len;
}

/* fill_fn for the next len bytes of the current response of flow f. For HTTP the
 * head was formatted into g->head when the response started. */
static size_t fill_response(struct gen *g, struct flow *f, uint8_t *dst, size_t len)
{
    uint32_t off = f->resp_off;
    size_t n = 0;

    if (f->kind == K_TLS) {
        if (f->exch_idx == 0 && off == 0)
            n = tls_server_hello(f, dst);
        tls_app_data(g, f, dst + n, len - n);
        return len;
    }
    if (off == 0) {
        memcpy(dst, g->head, f->head_len);
        n = f->head_len;
    }
    uint32_t body_off = off + (uint32_t)n - f->head_len;
    uint32_t body_len = f->resp_len - f->head_len;
    if (f->kind == K_API)
        json_slice(dst + n, g->alnum, body_off, (uint32_t)(len - n), body_len);
    else
        copy_pattern(dst + n, g->html, f->tag + body_off, len - n);
    return len;
}

/* Bytes of the current segment of the response: full segments, then the tail. */
static uint32_t seg_len(const struct flow *f)
{
    uint32_t left = f->resp_len - f->resp_off;
    return left < f->mss ? left : f->mss;
}

/* Packets an exchange with m response segments costs: request, segments, client ACKs. */
static uint32_t exch_cost(const struct flow *f, uint32_t m)
{
    return 1 + m + (m + f->ack_every - 1) / f->ack_every;
}

/*
 * Plans the next request/response exchange of f from its remaining data budget:
 * segment count, whether the server ACKs the request on its own (absorbs an odd
 * packet), and the response length. Later exchanges keep >= 3 packets each.
 */
static void plan_exchange(struct flow *f)
{
    uint32_t d = f->data_left, x = f->exch_left, budget = d;

    if (x > 1) {
        uint32_t share = d / x, lo = share / 2, hi = share + share / 2, max = d - 3 * (x - 1);
        if (lo < 3)
            lo = 3;
        if (hi > max)
            hi = max;
        if (lo > hi)
            lo = hi;
        budget = rng_range(&f->rng, lo, hi);
    }
    uint32_t m = 2 * (budget - 1) / (f->ack_every == 1 ? 4 : 3);
    if (m < 1)
        m = 1;
    while (m > 1 && exch_cost(f, m) > budget)
        m--;
    while (exch_cost(f, m + 1) <= budget)
        m++;
    f->seg_left = m;
    f->srv_ack = (uint8_t)(budget - exch_cost(f, m)); /* 0 or 1 */

    uint32_t tail;
    if (f->kind == K_API)
        tail = m == 1 ? rng_range(&f->rng, 240, 1200) : rng_range(&f->rng, 40, f->mss);
    else
        tail = m == 1 ? rng_range(&f->rng, 300, f->mss) : rng_range(&f->rng, 60, f->mss);
    f->resp_len = (m - 1) * f->mss + tail;
    f->resp_off = 0;
    f->since_ack = 0;
}

/* Gap before the client's next request, or a >30 s pause where planned. */
static uint64_t think_us(struct flow *f)
{
    if (f->exch_idx == f->idle_at)
        return 31000000u + rng_below(&f->rng, 45000000u);
    /* browsers reuse keep-alive connections for seconds; RPC clients fire quickly */
    double mean = f->kind == K_API ? 15000.0 : 1500000.0;
    double t = rng_exp(&f->rng, mean);
    return (uint64_t)(t < 20e6 ? t : 20e6) + 50;
}

/* Advances TCP flow f by one packet and schedules the next. */
static void tcp_step(struct gen *g, struct flow *f)
{
    uint64_t gap = 0;
    bool c_closes = !f->closer_srv;

    switch (f->phase) {
    case PH_SYN:
        tcp_emit(g, f, true, TCP_SYN, NULL, 0);
        f->phase = f->kind == K_REFUSED ? PH_REFUSE : PH_SYNACK;
        gap = f->kind == K_REFUSED ? f->rtt_us / 2 + 20 : f->rtt_us;
        break;
    case PH_REFUSE:
        f->seq[1] = 0;
        tcp_emit(g, f, false, TCP_RST | TCP_ACK, NULL, 0);
        break;
    case PH_SYNACK:
        tcp_emit(g, f, false, TCP_SYN | TCP_ACK, NULL, 0);
        f->phase = PH_HSACK;
        gap = 30 + rng_below(&f->rng, 200);
        break;
    case PH_HSACK:
        tcp_emit(g, f, true, TCP_ACK, NULL, 0);
        f->phase = PH_REQ;
        gap = 20 + rng_below(&f->rng, 400);
        break;
    case PH_REQ:
        plan_exchange(f);
        tcp_emit(g, f, true, TCP_PSH | TCP_ACK, fill_request, 0);
        f->data_left--;
        f->phase = f->srv_ack ? PH_SACK : PH_SEG;
        gap = f->rtt_us + (f->srv_ack ? 0 : f->srv_us);
        break;
    case PH_SACK:
        tcp_emit(g, f, false, TCP_ACK, NULL, 0);
        f->data_left--;
        f->phase = PH_SEG;
        gap = f->srv_us;
        break;
    case PH_SEG: {
        bool last = f->seg_left == 1;
        if (f->resp_off == 0 && f->kind != K_TLS) {
            /* format the head first: fitting Content-Length may trim the tail by a byte */
            const char *ctype = f->kind == K_API ? "application/json" : "text/html; charset=utf-8";
            f->head_len = (uint16_t)http_response_head(g->head, sizeof g->head, &f->resp_len, ctype,
                                                       f->tag + f->exch_idx);
        }
        uint32_t len = seg_len(f);
        tcp_emit(g, f, false, last ? TCP_PSH | TCP_ACK : TCP_ACK, fill_response, len);
        f->resp_off += len;
        f->seg_left--;
        f->since_ack++;
        f->data_left--;
        if (f->since_ack == f->ack_every || last) {
            f->phase = PH_CACK;
            gap = 15 + rng_below(&f->rng, 80);
        } else {
            gap = f->pace_us;
        }
        break;
    }
    case PH_CACK:
        tcp_emit(g, f, true, TCP_ACK, NULL, 0);
        f->since_ack = 0;
        f->data_left--;
        if (f->seg_left) {
            f->phase = PH_SEG;
            gap = f->pace_us;
            break;
        }
        f->exch_left--;
        f->exch_idx++;
        if (f->data_left) {
            f->phase = PH_REQ;
            gap = think_us(f);
        } else if (f->close == CL_FIN) {
            f->phase = PH_FIN1;
            gap = (uint64_t)rng_exp(&f->rng, 2000000.0) + 100; /* keep-alive idle */
        } else if (f->close == CL_RST) {
            f->phase = PH_RST;
            gap = (uint64_t)rng_exp(&f->rng, 200000.0) + 100;
        }
        break;
    case PH_FIN1:
        tcp_emit(g, f, c_closes, TCP_FIN | TCP_ACK, NULL, 0);
        f->phase = PH_FIN2;
        gap = f->rtt_us;
        break;
    case PH_FIN2:
        tcp_emit(g, f, !c_closes, TCP_FIN | TCP_ACK, NULL, 0);
        f->phase = PH_FIN3;
        gap = c_closes ? 20 + rng_below(&f->rng, 100) : f->rtt_us;
        break;
    case PH_FIN3:
        tcp_emit(g, f, c_closes, TCP_ACK, NULL, 0);
        break;
    case PH_RST:
        tcp_emit(g, f, c_closes, TCP_RST | TCP_ACK, NULL, 0);
        break;
    default:
        break;
    }
    f->next_us += gap;
}

/* ---------------------------------------------------------------- UDP, ICMP */

/* Starts a UDP datagram of flow f: writes the ports and returns where the payload goes. */
static uint8_t *udp_begin(struct gen *g, struct flow *f, bool from_client, struct pkt *p)
{
    uint8_t *h = pkt_begin(g, f, from_client, p);
    put16(h, from_client ? f->cport : f->sport);
    put16(h + 2, from_client ? f->sport : f->cport);
    return h + 8;
}

/* Completes a UDP datagram started by udp_begin() with len payload bytes. */
static void udp_end(struct gen *g, struct flow *f, struct pkt *p, size_t len)
{
    put16(p->l4 + 4, (uint16_t)(8 + len));
    pkt_end(g, f, p, 17, 8 + len, 6);
}

/* Advances a DNS, NTP or media flow by one datagram and schedules the next. */
static void udp_step(struct gen *g, struct flow *f)
{
    struct pkt p;
    bool q = f->phase == PH_QUERY;
    uint8_t *pl = udp_begin(g, f, q, &p);
    size_t len;
    uint64_t gap;

    if (f->kind == K_DNS) {
        len = dns_message(f, pl, !q);
        gap = f->rtt_us;
    } else if (f->kind == K_NTP) {
        len = ntp_message(f, pl, !q);
        gap = f->rtt_us;
    } else {
        /* RTP-like G.711 voice: 20 ms frames each way, offset by half a frame */
        uint32_t k = f->emitted / 2;
        pl[0] = 0x80;
        pl[1] = (uint8_t)((k == 0 ? 0x80 : 0) | ((f->tag & 1) ? 8 : 0)); /* marker, PCMU/PCMA */
        put16(pl + 2, (uint16_t)(f->tag + k));
        put32(pl + 4, f->tag * 7u + k * 160u);
        put32(pl + 8, q ? f->tag : ~f->tag); /* SSRC per direction */
        copy_pattern(pl + 12, g->noise, f->tag + f->emitted * 160u, 160);
        len = 172;
        gap = 9000 + rng_below(&f->rng, 2000);
        if (f->emitted + 1 == f->idle_at)
            gap += 31000000u + rng_below(&f->rng, 45000000u); /* call on hold */
    }
    udp_end(g, f, &p, len);
    f->phase = q ? PH_ANSWER : PH_QUERY;
    f->next_us += gap;
}

/* Advances an ICMP echo flow by one message: request, reply after an RTT, then 1 s later again. */
static void icmp_step(struct gen *g, struct flow *f)
{
    struct pkt p;
    bool q = f->phase == PH_QUERY;
    uint8_t *h = pkt_begin(g, f, q, &p);

    h[0] = f->v6 ? (q ? 128 : 129) : (q ? 8 : 0); /* echo request / reply */
    h[1] = 0;
    put16(h + 4, f->cport);                       /* identifier */
    put16(h + 6, (uint16_t)(1 + f->emitted / 2)); /* sequence */
    put32(h + 8, BASE_SEC + (uint32_t)(f->next_us / 1000000u));
    put32(h + 12, (uint32_t)(f->next_us % 1000000u));
    for (uint32_t i = 16; i < 64; i++) /* the iputils ping pattern */
        h[i] = (uint8_t)(i - 8);
    pkt_end(g, f, &p, f->v6 ? 58 : 1, 64, 2);
    f->phase = q ? PH_ANSWER : PH_QUERY;
    f->next_us += q ? f->rtt_us : 1000000u - f->rtt_us + rng_below(&f->rng, 2000);
}

/* ---------------------------------------------------------------- flows */

/* True if Wireshark would decode a UDP port with a specific dissector (see above). */
static bool udp_port_claimed(uint16_t port)
{
    for (size_t i = 0; i < sizeof claimed_udp_ports / sizeof claimed_udp_ports[0]; i++)
        if (claimed_udp_ports[i] == port)
            return true;
    return false;
}

/* Minimum packets a flow of this kind and close style needs. */
static uint32_t min_packets(uint8_t kind, uint8_t close)
{
    switch (kind) {
    case K_DNS:
    case K_NTP:
    case K_REFUSED:
    case K_ICMP:
        return 2;
    case K_MEDIA:
        return 10;
    default: /* handshake, one 3-packet exchange, close */
        return 6 + (close == CL_FIN ? 3 : close == CL_RST ? 1 : 0);
    }
}

/*
 * Draws flow id's static properties from the generator RNG: kind, addressing,
 * timing and close style. ports_used counts ports handed out per client.
 * Returns the flow's weight for sharing out extra packets.
 */
static double flow_draw(struct flow *f, uint32_t id, uint64_t *rng, uint64_t seed,
                        uint32_t *ports_used, uint32_t *icmp_hosts)
{
    static const uint16_t closed_ports[] = {22, 23, 25, 445, 3389, 5900, 8443, 1433};
    uint32_t pick = rng_below(rng, 1000), acc = 0;
    uint8_t kind = 0;

    for (kind = 0; kind < K_COUNT - 1; kind++) {
        acc += kinds[kind].flow_permille;
        if (pick < acc)
            break;
    }
    memset(f, 0, sizeof *f);
    f->kind = kind;
    /* The flow's own stream: the id in the high word, clear of the low
     * constant, so every flow gets a stream of its own (an id shifted by 20
     * and ORed with the constant lost most of its low bits: 1,024 streams
     * for 250k flows, whose sizes, gaps and random bytes then repeated). */
    f->rng = seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)id << 32 | 0x5bd1e995u);
    f->tag = (uint32_t)rng_next(rng);
    f->v6 = rng_chance(rng, 200);
    f->vlan = rng_chance(rng, 100) ? (uint16_t)(100 + rng_below(rng, 8)) : 0;
    f->next_us = rng_next(rng) % START_SPAN_US;
    f->rtt_us = (uint32_t)rng_logu(rng, 1000.0, 150000.0);
    f->srv_us = (uint32_t)rng_logu(rng, 100.0, 30000.0);
    f->pace_us = (uint32_t)rng_logu(rng, 8.0, 400.0);
    f->ack_every = kind == K_API || rng_chance(rng, 400) ? 1 : 2;
    f->mss =
        (uint16_t)((f->v6 ? 1440 : 1460) - (f->vlan ? 4 : 0) - (rng_chance(rng, 120) ? 80 : 0));
    f->ipid[0] = (uint16_t)rng_next(rng);
    f->ipid[1] = (uint16_t)rng_next(rng);
    f->seq[0] = (uint32_t)rng_next(rng);
    f->seq[1] = (uint32_t)rng_next(rng);
    f->idle_at = UINT32_MAX;
    f->closer_srv = rng_chance(rng, 300);
    uint32_t c = rng_below(rng, 1000);
    f->close = c < 880 ? CL_FIN : c < 930 ? CL_RST : CL_NONE;

    if (kind == K_ICMP) {
        /* echo flows are keyed by host pair: give each its own client host */
        f->client = N_CLIENTS + (*icmp_hosts)++;
        f->server = rng_below(rng, N_SERVERS);
        f->cport = (uint16_t)rng_next(rng);
        f->phase = PH_QUERY;
    } else {
        uint32_t cl;
        do /* a client that used every ephemeral port cannot open another flow */
            cl = rng_below(rng, N_CLIENTS);
        while (ports_used[cl] + 64 >= EPH_COUNT);
        uint64_t h = seed ^ ((uint64_t)cl << 32);
        uint32_t base = (uint32_t)(rng_next(&h) % EPH_COUNT);
        f->client = cl;
        do /* skipping a port is fine: the stride never revisits one */
            f->cport = (uint16_t)(EPH_BASE + (base + ports_used[cl]++ * EPH_STRIDE) % EPH_COUNT);
        while (kind == K_MEDIA && udp_port_claimed(f->cport));
        f->server = (uint32_t)rng_logu(rng, 1.0, (double)N_SERVERS) - 1;
    }

    switch (kind) {
    case K_DNS:
    case K_NTP:
        f->server = rng_below(rng, N_DNS_RES);
        f->sport = kind == K_DNS ? 53 : 123;
        f->rtt_us = (uint32_t)rng_logu(rng, 300.0, 40000.0);
        f->phase = PH_QUERY;
        break;
    case K_MEDIA:
        /* even RTP ports in a range no Wireshark dissector claims */
        f->sport = (uint16_t)(28000 + 2 * rng_below(rng, 1000));
        f->phase = PH_QUERY;
        break;
    case K_HTTP:
        f->sport = 80;
        break;
    case K_TLS:
        f->sport = 443;
        break;
    case K_API:
        f->sport = 8080;
        break;
    case K_REFUSED:
        f->sport = closed_ports[rng_below(rng, 8)];
        break;
    default:
        break;
    }
    return kinds[kind].appetite * rng_pareto(rng, 1.2, 20000.0);
}

/* Turns a flow's packet budget (f->left) into its TCP exchange plan or media pause. */
static void flow_plan(struct flow *f, uint64_t *rng)
{
    if (f->kind == K_MEDIA && rng_chance(rng, 50))
        f->idle_at = f->left / 2;
    if (f->kind != K_HTTP && f->kind != K_TLS && f->kind != K_API)
        return;
    uint32_t close_n = f->close == CL_FIN ? 3 : f->close == CL_RST ? 1 : 0;
    f->data_left = f->left - 3 - close_n;
    uint32_t x = f->kind == K_API ? f->data_left / 3 : rng_range(rng, 1, f->kind == K_TLS ? 8 : 6);
    if (x < f->data_left / 600000u)
        x = f->data_left / 600000u; /* keeps one response under 4 GiB: lengths are 32-bit */
    if (x > f->data_left / 3)
        x = f->data_left / 3;
    f->exch_left = x;
    if (x >= 2 && rng_chance(rng, 30))
        f->idle_at = rng_range(rng, 1, x - 1); /* a >30 s pause before this exchange */
}

/*
 * Draws all flows and shares npackets among them: each gets its minimum, the
 * rest goes out in proportion to heavy-tailed weights, respecting per-kind
 * caps, with rounding leftovers going to uncapped flows. Returns false (with
 * a message) when npackets cannot cover the flows' minimums.
 */
static bool flows_init(struct gen *g, uint64_t npackets, uint64_t seed)
{
    uint64_t rng = seed ^ 0x6a09e667f3bcc908ull;
    uint32_t *ports_used = calloc(N_CLIENTS, sizeof *ports_used);
    double *w = malloc((size_t)g->nflows * sizeof *w);
    uint32_t icmp_hosts = 0;
    uint64_t min_sum = 0, given = 0;
    double wsum = 0, wfree = 0;

    if (!ports_used || !w) {
        fprintf(stderr, "genpcap: out of memory\n");
        exit(1);
    }
    for (uint32_t i = 0; i < g->nflows; i++) {
        struct flow *f = &g->flows[i];
        w[i] = flow_draw(f, i, &rng, seed, ports_used, &icmp_hosts);
        f->left = min_packets(f->kind, f->close);
        min_sum += f->left;
        wsum += w[i];
        if (kinds[f->kind].extra_cap == UINT32_MAX)
            wfree += w[i];
        g->st.kind_flows[f->kind]++;
    }
    free(ports_used);
    if (min_sum > npackets) {
        fprintf(stderr, "genpcap: %" PRIu32 " flows need at least %" PRIu64 " packets\n", g->nflows,
                min_sum);
        free(w);
        return false;
    }

    uint64_t extra = npackets - min_sum;
    for (uint32_t i = 0; i < g->nflows && wsum > 0; i++) {
        uint64_t x = (uint64_t)(w[i] / wsum * (double)extra);
        uint32_t cap = kinds[g->flows[i].kind].extra_cap;
        if (x > cap)
            x = cap;
        g->flows[i].left += (uint32_t)x;
        given += x;
    }
    /* what caps and rounding held back goes to the uncapped (bulk) flows */
    uint64_t rest = extra - given;
    for (uint32_t i = 0; i < g->nflows && wfree > 0 && rest; i++) {
        if (kinds[g->flows[i].kind].extra_cap != UINT32_MAX)
            continue;
        uint64_t x = (uint64_t)(w[i] / wfree * (double)(extra - given));
        if (x > rest)
            x = rest;
        g->flows[i].left += (uint32_t)x;
        rest -= x;
    }
    for (uint32_t pass = 0; rest; pass++) {
        bool any = false;
        for (uint32_t i = 0; i < g->nflows && rest; i++) {
            struct flow *f = &g->flows[i];
            /* first pass: bulk flows only; later passes: anything with appetite */
            if (kinds[f->kind].appetite == 0 ||
                (pass == 0 && kinds[f->kind].extra_cap != UINT32_MAX))
                continue;
            f->left++;
            rest--;
            any = true;
        }
        if (!any && pass > 0) {
            fprintf(stderr, "genpcap: no flow can take the remaining %" PRIu64 " packets\n", rest);
            free(w);
            return false;
        }
    }
    free(w);
    for (uint32_t i = 0; i < g->nflows; i++)
        flow_plan(&g->flows[i], &rng);
    return true;
}

/* ---------------------------------------------------------------- schedule */

/* Heap order: earlier next packet first, flow index breaks ties (determinism). */
static inline bool heap_before(const struct flow *fl, uint32_t a, uint32_t b)
{
    return fl[a].next_us < fl[b].next_us || (fl[a].next_us == fl[b].next_us && a < b);
}

/* Restores the heap property below position i. */
static void heap_down(struct gen *g, uint32_t i)
{
    uint32_t *h = g->heap, n = g->heap_n, v = h[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_before(g->flows, h[c + 1], h[c]))
            c++;
        if (!heap_before(g->flows, h[c], v))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
}

/* Updates the concurrency counters at time now, when a flow starts or ends. */
static void track_live(struct gen *g, const struct flow *f, uint64_t now)
{
    struct stats *st = &g->st;
    if (f->emitted == 1) {
        st->live++;
        if (st->live > st->peak_live)
            st->peak_live = st->live;
    }
    if (f->left == 0) {
        st->live--;
        g->ended[g->ended_tail++] = now;
    }
    while (g->ended_head < g->ended_tail && g->ended[g->ended_head] + INACTIVE_US < now)
        g->ended_head++;
    uint32_t cache = st->live + (g->ended_tail - g->ended_head);
    if (cache > st->peak_cache)
        st->peak_cache = cache;
}

/* Emits every packet of every flow in time order. */
static void run(struct gen *g)
{
    g->heap_n = g->nflows;
    for (uint32_t i = 0; i < g->nflows; i++)
        g->heap[i] = i;
    for (uint32_t i = g->nflows / 2; i-- > 0;)
        heap_down(g, i);

    g->st.first_us = g->flows[g->heap[0]].next_us;
    while (g->heap_n) {
        struct flow *f = &g->flows[g->heap[0]];
        uint64_t now = f->next_us;
        uint32_t before = f->emitted;

        if (f->kind == K_ICMP)
            icmp_step(g, f);
        else if (f->kind == K_DNS || f->kind == K_NTP || f->kind == K_MEDIA)
            udp_step(g, f);
        else
            tcp_step(g, f);
        if (f->emitted != before + 1) {
            fprintf(stderr,
                    "genpcap: internal error: flow %" PRIu32 " (%s) stalled, %" PRIu32
                    " packets left\n",
                    g->heap[0], kinds[f->kind].name, f->left);
            exit(1);
        }
        track_live(g, f, now);
        g->st.last_us = now;
        if (f->left == 0)
            g->heap[0] = g->heap[--g->heap_n];
        if (g->heap_n)
            heap_down(g, 0);
    }
}

/* Fills the payload pattern buffers from the seed. */
static void patterns_init(struct gen *g, uint64_t seed)
{
    static const char *const words[] = {
        "lorem",  "ipsum",    "dolor",     "sit",   "amet",    "flow",    "packet",  "export",
        "record", "template", "collector", "probe", "network", "traffic", "latency", "window"};
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t rng = seed ^ 0xbb67ae8584caa73bull;
    size_t n = 0, total = PATTERN_LEN + PATTERN_SLACK;

    while (n < total) {
        char line[256];
        int l = snprintf(line, sizeof line, "<p class=\"c%u\">", (unsigned)rng_below(&rng, 9));
        for (uint32_t k = rng_range(&rng, 4, 14); k > 0; k--)
            l += snprintf(line + l, sizeof line - (size_t)l, "%s ", words[rng_below(&rng, 16)]);
        l += snprintf(line + l, sizeof line - (size_t)l, "</p>\n");
        size_t c = (size_t)l < total - n ? (size_t)l : total - n;
        memcpy(g->html + n, line, c);
        n += c;
    }
    for (size_t i = 0; i < total; i++)
        g->alnum[i] = (uint8_t)alnum[rng_below(&rng, 62)];
    fill_random(g->noise, total, &rng);
}

/* ---------------------------------------------------------------- main */

/* Releases the generator and everything it owns; g may be partly set up. */
static void gen_free(struct gen *g)
{
    free(g->flows);
    free(g->heap);
    free(g->ended);
    free(g->out.buf);
    free(g);
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: genpcap [-n PACKETS] [-f FLOWS] [-s SEED] [-x] [-v] OUT.pcap\n"
            "  -n PACKETS  packets to write (default %u)\n"
            "  -f FLOWS    biflows to spread them over (default %u)\n"
            "  -s SEED     random seed; same arguments give identical files (default %u)\n"
            "  -x          TLS clients shuffle their extensions per hello, as Chrome does\n"
            "  -v          also print a per-kind breakdown\n",
            DEF_PACKETS, DEF_FLOWS, DEF_SEED);
}

/* Parses a decimal option value in [lo, hi]; exits with usage on error. */
static uint64_t parse_num(const char *s, uint64_t lo, uint64_t hi, char opt)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || *s == '-' || v < lo || v > hi) {
        fprintf(stderr, "genpcap: -%c wants a number in [%" PRIu64 ", %" PRIu64 "]\n", opt, lo, hi);
        exit(2);
    }
    return v;
}

static double elapsed_s(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t npackets = DEF_PACKETS, seed = DEF_SEED;
    uint32_t nflows = DEF_FLOWS;
    bool verbose = false;
    int opt;
    struct timespec t0;

    while ((opt = getopt(argc, argv, "n:f:s:xvh")) != -1) {
        switch (opt) {
        case 'n':
            npackets = parse_num(optarg, 1, 2000000000ull, 'n');
            break;
        case 'f':
            nflows = (uint32_t)parse_num(optarg, 1, 50000000ull, 'f');
            break;
        case 's':
            seed = parse_num(optarg, 0, UINT64_MAX, 's');
            break;
        case 'x':
            g_shuffle_ext = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);

    struct gen *g = calloc(1, sizeof *g);
    if (!g) {
        fprintf(stderr, "genpcap: out of memory\n");
        return 1;
    }
    g->nflows = nflows;
    g->flows = malloc((size_t)nflows * sizeof *g->flows);
    g->heap = malloc((size_t)nflows * sizeof *g->heap);
    g->ended = malloc((size_t)nflows * sizeof *g->ended);
    g->out.buf = malloc(OUTBUF_SIZE);
    if (!g->flows || !g->heap || !g->ended || !g->out.buf) {
        fprintf(stderr, "genpcap: out of memory\n");
        gen_free(g);
        return 1;
    }
    g->st.min_frame = UINT32_MAX;
    patterns_init(g, seed);
    if (!flows_init(g, npackets, seed)) {
        gen_free(g);
        return 1;
    }

    const char *path = argv[optind];
    g->out.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (g->out.fd < 0) {
        fprintf(stderr, "genpcap: %s: %s\n", path, strerror(errno));
        gen_free(g);
        return 1;
    }
    out_pcap_header(&g->out);
    run(g);
    out_flush(&g->out);
    if (close(g->out.fd) != 0) {
        fprintf(stderr, "genpcap: %s: %s\n", path, strerror(errno));
        gen_free(g);
        return 1;
    }

    const struct stats *st = &g->st;
    double pk = (double)st->packets;
    fprintf(stderr,
            "genpcap: packets=%" PRIu64 " flows=%" PRIu32 " bytes=%" PRIu64
            " avg_pkt=%.1f span=%.1fs peak_live=%" PRIu32 " peak_cache30=%" PRIu32
            " ipv6=%.1f%% vlan=%.1f%% tcp=%.1f%% udp=%.1f%% icmp=%.2f%% time=%.2fs\n",
            st->packets, nflows, st->bytes, (double)st->bytes / pk,
            (double)(st->last_us - st->first_us) / 1e6, st->peak_live, st->peak_cache,
            100.0 * (double)st->v6 / pk, 100.0 * (double)st->vlan / pk,
            100.0 * (double)st->tcp / pk, 100.0 * (double)st->udp / pk,
            100.0 * (double)st->icmp / pk, elapsed_s(&t0));
    if (verbose) {
        fprintf(stderr, "genpcap: frame sizes %" PRIu32 "..%" PRIu32 "\n", st->min_frame,
                st->max_frame);
        for (int k = 0; k < K_COUNT; k++)
            fprintf(stderr,
                    "genpcap:   %-8s flows=%-7" PRIu32 " packets=%-8" PRIu64
                    " (%.1f%%) avg_pkt=%.1f\n",
                    kinds[k].name, st->kind_flows[k], st->kind_pkts[k],
                    100.0 * (double)st->kind_pkts[k] / pk,
                    st->kind_pkts[k] ? (double)st->kind_bytes[k] / (double)st->kind_pkts[k] : 0.0);
    }
    gen_free(g);
    return 0;
}
