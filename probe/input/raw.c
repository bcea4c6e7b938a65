/*
 * raw.c - the "raw" input: live capture through a Linux AF_PACKET socket with
 * a TPACKET_V3 memory-mapped ring (packet(7), Documentation/networking/
 * packet_mmap.rst), as ipfixprobe's raw input.
 *
 * The kernel fills blocks of the ring with frames and hands a whole block to
 * user space at once (TP_STATUS_USER); we read its frames in place and give
 * the block back (TP_STATUS_KERNEL) on the next call, once the worker is done
 * with them.  No copy, no system call per frame.
 *
 * Several instances of this input with the `fanout` option join one
 * PACKET_FANOUT group (PACKET_FANOUT_HASH): the kernel spreads frames over
 * the sockets by the flow hash, which is symmetric for the two directions of
 * a connection, so each biflow lands whole on one worker and one flow cache.
 *
 * Frames whose VLAN tag the driver stripped (TP_STATUS_VLAN_VALID) get the
 * tag put back, as libpcap does, so the VLAN plugin and the parser see the
 * frame as it was on the wire.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
/* after net/if.h: the linux/ headers must not bring their own struct ifreq */
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/packet/packet.h"
#include "input.h"

static const fk_optspec_t raw_options[] = {
    {"i", "ifc", "IFC", "Network interface to capture on (needs CAP_NET_RAW)"},
    {"f", "fanout", "[ID]",
     "Join packet fanout group ID (default: one per process) so several "
     "raw inputs on one interface share its flows"},
    {"b", "blocks", "SIZE", "Ring blocks (a power of two, default 2048)"},
    {"p", "pkts", "SIZE", "Frames per block (a power of two, default 32)"},
    {"F", "filter", "BPF", "Only take packets matching a BPF filter (run in the kernel)"},
    {"I", "id", "NUM", "Line identifier number (accepted for ipfixprobe compatibility)"},
    {"l", "list", NULL, "Print the interfaces and exit"},
    {NULL, NULL, NULL, NULL},
};
enum { RO_IFC, RO_FANOUT, RO_BLOCKS, RO_PKTS, RO_FILTER, RO_ID, RO_LIST };

#define DEFAULT_BLOCKS   2048
#define DEFAULT_PKTS     32
#define BLOCK_TIMEOUT_MS 10 /* a partly filled block is handed over after this */
#define MAX_RING_BYTES   (4ULL << 30)

typedef struct raw_in_st {
    int fd;
    char ifc[IF_NAMESIZE];
    int link;
    uint8_t *ring;
    size_t ring_len;
    uint32_t block_size;
    uint32_t nblocks;
    uint32_t cur;      /* block being read */
    uint32_t left;     /* frames of the current block not yet returned */
    uint8_t *next_pkt; /* next frame header in the current block */
    bool held;         /* the current block is ours (TP_STATUS_USER) */
    uint8_t *vlanbuf;  /* FP_MAX_IBLOCK frames with a re-inserted 802.1Q tag */
    uint32_t vlanbuf_slot;
    fp_input_stats_t st;
} raw_in_t;

static void raw_close(void *ctx)
{
    raw_in_t *in = ctx;
    if (!in)
        return;
    if (in->ring)
        munmap(in->ring, in->ring_len);
    if (in->fd >= 0)
        close(in->fd);
    free(in->vlanbuf);
    free(in);
}

static bool pow2(uint64_t v)
{
    return v && (v & (v - 1)) == 0;
}

static void raw_list_ifcs(void)
{
    struct if_nameindex *ni = if_nameindex();
    if (!ni) {
        fk_err("raw: cannot list interfaces: %s", strerror(errno));
        exit(1);
    }
    for (struct if_nameindex *p = ni; p->if_index; p++)
        printf("%s\n", p->if_name);
    if_freenameindex(ni);
    exit(0);
}

/* pcap link type of the interface's frames, from its ARP hardware type. */
static int raw_linktype(int fd, const char *ifc, fk_err_t *e)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifc);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
        return fk_errf(e, "raw: '%s': %s", ifc, strerror(errno));
    switch (ifr.ifr_hwaddr.sa_family) {
    case ARPHRD_ETHER:
    case ARPHRD_LOOPBACK: /* Linux's lo carries zeroed Ethernet headers */
        return FK_LINK_ETHERNET;
    case ARPHRD_NONE: /* tun: bare IP */
    case ARPHRD_IPGRE:
    case ARPHRD_TUNNEL:
    case ARPHRD_TUNNEL6:
        return FK_LINK_RAW;
    default:
        return fk_errf(e,
                       "raw: '%s' has hardware type %u, which flowprobe cannot decode "
                       "(Ethernet and IP tunnels are supported)",
                       ifc, ifr.ifr_hwaddr.sa_family);
    }
}

/* Compile a tcpdump filter for the link type and attach it to the socket. */
static int raw_filter(raw_in_t *in, const char *filter, uint32_t snaplen, fk_err_t *e)
{
    struct bpf_program prog;
    pcap_t *dead = pcap_open_dead(in->link, (int)snaplen);

    if (!dead)
        return fk_errf(e, "raw: out of memory");
    if (pcap_compile(dead, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        fk_errf(e, "raw: bad filter '%s': %s", filter, pcap_geterr(dead));
        pcap_close(dead);
        return -1;
    }
    pcap_close(dead);
    /* libpcap's instructions have the kernel's struct sock_filter layout. */
    struct sock_fprog fp = {.len = (unsigned short)prog.bf_len,
                            .filter = (struct sock_filter *)(void *)prog.bf_insns};
    int rc = setsockopt(in->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
    pcap_freecode(&prog);
    if (rc < 0)
        return fk_errf(e, "raw: cannot attach filter on '%s': %s", in->ifc, strerror(errno));
    return 0;
}

static int raw_open(void **ctx, const fk_opts_t *o, const fp_input_cfg_t *cfg, fk_err_t *e)
{
    raw_in_t *in = calloc(1, sizeof(*in));
    uint64_t blocks = DEFAULT_BLOCKS, pkts = DEFAULT_PKTS, fanout = 0, id;
    const char *ifc = NULL, *filter = NULL;
    bool want_fanout = false, list = false;

    if (!in)
        return fk_errf(e, "raw: out of memory");
    in->fd = -1;
    for (size_t i = 0; i < o->n; i++) {
        int k = fk_opts_lookup(o, i, raw_options, "raw", e);
        const char *v = o->kv[i].value;
        if (k < 0)
            goto fail;
        switch (k) {
        case RO_IFC:
            ifc = v;
            break;
        case RO_FANOUT:
            want_fanout = true;
            if (v && fk_opts_uint("raw: fanout", v, 1, 0xffff, &fanout, e) < 0)
                goto fail;
            break;
        case RO_BLOCKS:
        case RO_PKTS: {
            uint64_t *dst = k == RO_BLOCKS ? &blocks : &pkts;
            if (fk_opts_uint(k == RO_BLOCKS ? "raw: blocks" : "raw: pkts", v, 1, 1u << 20, dst, e) <
                0)
                goto fail;
            if (!pow2(*dst)) {
                fk_errf(e, "raw: %s=%s must be a power of two", o->kv[i].key, v);
                goto fail;
            }
            break;
        }
        case RO_FILTER:
            filter = v;
            break;
        case RO_ID:
            if (fk_opts_uint("raw: id", v, 0, UINT64_MAX, &id, e) < 0)
                goto fail;
            break;
        case RO_LIST:
            list = true;
            break;
        }
    }
    if (list)
        raw_list_ifcs();
    if (!ifc) {
        fk_errf(e, "raw: no interface given; use -i 'raw;ifc=eth0' (see -i 'raw;list')");
        goto fail;
    }
    if (strlen(ifc) >= sizeof(in->ifc)) {
        fk_errf(e, "raw: interface name '%s' is too long", ifc);
        goto fail;
    }
    snprintf(in->ifc, sizeof(in->ifc), "%s", ifc);
    unsigned ifindex = if_nametoindex(ifc);
    if (!ifindex) {
        fk_errf(e, "raw: no interface '%s' (see -i 'raw;list')", ifc);
        goto fail;
    }

    in->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (in->fd < 0) {
        fk_errf(e, "raw: cannot open a packet socket: %s%s", strerror(errno),
                errno == EPERM ? " (run as root, or give the binary cap_net_raw+eip)" : "");
        goto fail;
    }
    int link = raw_linktype(in->fd, ifc, e);
    if (link < 0)
        goto fail;
    in->link = link;

    int ver = TPACKET_V3;
    if (setsockopt(in->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) < 0) {
        fk_errf(e, "raw: TPACKET_V3 not supported: %s", strerror(errno));
        goto fail;
    }
    /* Frame slots of -B bytes plus the headers, cache-line aligned; blocks of
     * `pkts` slots rounded up to whole pages. */
    uint64_t frame = TPACKET_ALIGN(TPACKET3_HDRLEN + 4 /* vlan */ + cfg->pbuf);
    frame = (frame + 63) & ~63ULL;
    uint64_t bsize = frame * pkts;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    bsize = (bsize + page - 1) / page * page;
    while (!pow2(bsize / page))
        bsize += page; /* the kernel wants page-order blocks */
    if (bsize * blocks > MAX_RING_BYTES) {
        fk_errf(e, "raw: ring of %llu blocks x %llu bytes is too large; lower blocks= or pkts=",
                (unsigned long long)blocks, (unsigned long long)bsize);
        goto fail;
    }
    struct tpacket_req3 req;
    memset(&req, 0, sizeof(req));
    req.tp_block_size = (unsigned)bsize;
    req.tp_block_nr = (unsigned)blocks;
    req.tp_frame_size = (unsigned)frame;
    req.tp_frame_nr = (unsigned)(bsize / frame * blocks);
    req.tp_retire_blk_tov = BLOCK_TIMEOUT_MS;
    if (setsockopt(in->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
        fk_errf(e, "raw: cannot set up a ring of %u blocks of %u bytes: %s", req.tp_block_nr,
                req.tp_block_size, strerror(errno));
        goto fail;
    }
    in->block_size = req.tp_block_size;
    in->nblocks = req.tp_block_nr;
    in->ring_len = (size_t)in->block_size * in->nblocks;
    in->ring = mmap(NULL, in->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, in->fd, 0);
    if (in->ring == MAP_FAILED) {
        in->ring = NULL;
        fk_errf(e, "raw: cannot map the ring (%zu bytes): %s", in->ring_len, strerror(errno));
        goto fail;
    }
    if (filter && raw_filter(in, filter, cfg->pbuf, e) < 0)
        goto fail;

    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int)ifindex;
    if (bind(in->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        fk_errf(e, "raw: cannot bind to '%s': %s", ifc, strerror(errno));
        goto fail;
    }
    if (want_fanout) {
        /* ipfixprobe's default group: the process id, so the raw inputs of one
         * probe share a group and two probes do not. */
        if (!fanout)
            fanout = (uint64_t)getpid() & 0xffff;
        int arg = (int)(fanout | (PACKET_FANOUT_HASH << 16));
        if (setsockopt(in->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0) {
            fk_errf(e, "raw: cannot join fanout group %llu on '%s': %s", (unsigned long long)fanout,
                    ifc, strerror(errno));
            goto fail;
        }
    }
    in->vlanbuf = malloc((size_t)FP_MAX_IBLOCK * (cfg->pbuf + 4));
    if (!in->vlanbuf) {
        fk_errf(e, "raw: out of memory");
        goto fail;
    }
    in->vlanbuf_slot = cfg->pbuf + 4;
    *ctx = in;
    return 0;
fail:
    raw_close(in);
    return -1;
}

static int raw_link(void *ctx)
{
    return ((raw_in_t *)ctx)->link;
}

static struct tpacket_block_desc *raw_block(raw_in_t *in, uint32_t i)
{
    return (struct tpacket_block_desc *)(void *)(in->ring + (size_t)i * in->block_size);
}

/* Give the current block back to the kernel and move to the next one. */
static void raw_release(raw_in_t *in)
{
    struct tpacket_block_desc *b = raw_block(in, in->cur);
    __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    in->held = false;
    in->cur = (in->cur + 1) % in->nblocks;
}

/* Take the next block if the kernel has handed it over; wait up to FP_IN_IDLE_MS. */
static int raw_acquire(raw_in_t *in, fk_err_t *e)
{
    struct tpacket_block_desc *b = raw_block(in, in->cur);

    if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
        struct pollfd pfd = {.fd = in->fd, .events = POLLIN | POLLERR};
        int r = poll(&pfd, 1, FP_IN_IDLE_MS);
        if (r < 0 && errno != EINTR)
            return fk_errf(e, "raw: poll on '%s': %s", in->ifc, strerror(errno));
        if (pfd.revents & (POLLERR | POLLNVAL))
            return fk_errf(e, "raw: capture on '%s' failed (interface gone?)", in->ifc);
        if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
            return FP_IN_IDLE;
    }
    in->held = true;
    in->left = b->hdr.bh1.num_pkts;
    in->next_pkt = (uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
    return 1;
}

static int raw_next(void *ctx, fp_frame_t *fr, unsigned max, fk_err_t *e)
{
    raw_in_t *in = ctx;
    unsigned n = 0, nv = 0;

    /* The frames handed out last time are done with: return their block. */
    if (in->held && in->left == 0)
        raw_release(in);
    if (!in->held) {
        int r = raw_acquire(in, e);
        if (r <= 0)
            return r;
    }
    uint8_t *bstart = (uint8_t *)raw_block(in, in->cur), *bend = bstart + in->block_size;
    while (n < max && in->left) {
        struct tpacket3_hdr *h = (struct tpacket3_hdr *)(void *)in->next_pkt;
        in->left--;
        /* The kernel writes these headers; check them anyway, a bad offset
         * must not send us outside the block. */
        if ((uint8_t *)h + sizeof(*h) > bend || h->tp_mac > in->block_size ||
            (uint8_t *)h + h->tp_mac + h->tp_snaplen > bend) {
            in->st.damaged++;
            in->left = 0;
            break;
        }
        const uint8_t *data = (uint8_t *)h + h->tp_mac;
        uint32_t caplen = h->tp_snaplen, wire = h->tp_len;
        if ((h->tp_status & TP_STATUS_VLAN_VALID) && in->link == FK_LINK_ETHERNET && caplen >= 12 &&
            caplen <= in->vlanbuf_slot - 4) {
            /* Put the stripped 802.1Q tag back after the MAC addresses. */
            uint8_t *v = in->vlanbuf + (size_t)nv++ * in->vlanbuf_slot;
            uint16_t tpid =
                (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid : ETH_P_8021Q;
            memcpy(v, data, 12);
            v[12] = (uint8_t)(tpid >> 8);
            v[13] = (uint8_t)tpid;
            v[14] = (uint8_t)(h->hv1.tp_vlan_tci >> 8);
            v[15] = (uint8_t)h->hv1.tp_vlan_tci;
            memcpy(v + 16, data + 12, caplen - 12);
            data = v;
            caplen += 4;
            wire += 4;
        }
        fr[n].data = data;
        fr[n].caplen = caplen;
        fr[n].wirelen = wire < caplen ? caplen : wire;
        fr[n].ts_ns = (uint64_t)h->tp_sec * 1000000000ULL + h->tp_nsec;
        n++;
        if (in->left) {
            if (!h->tp_next_offset) {
                in->st.damaged++;
                in->left = 0;
                break;
            }
            in->next_pkt += h->tp_next_offset;
        }
    }
    return n ? (int)n : FP_IN_IDLE;
}

static bool raw_live(void *ctx)
{
    (void)ctx;
    return true;
}

static void raw_stats(void *ctx, fp_input_stats_t *st)
{
    raw_in_t *in = ctx;
    struct tpacket_stats_v3 ks;
    socklen_t len = sizeof(ks);

    /* PACKET_STATISTICS resets the kernel's counters on every read: add them up. */
    if (getsockopt(in->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0) {
        in->st.received += ks.tp_packets;
        in->st.drops += ks.tp_drops;
    }
    *st = in->st;
}

const fp_input_ops_t fp_input_raw = {
    .name = "raw",
    .summary = "Capture live from a Linux interface (AF_PACKET TPACKET_V3 ring, fanout)",
    .options = raw_options,
    .open = raw_open,
    .link = raw_link,
    .next = raw_next,
    .live = raw_live,
    .stats = raw_stats,
    .close = raw_close,
};
