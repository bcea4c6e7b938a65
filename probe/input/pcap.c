/*
 * pcap.c - the "pcap" input: frames from a capture file, or live from an
 * interface through libpcap (ifc=).
 *
 * Classic pcap files (the common case, and the benchmark's) are read straight
 * from a memory map: no copy and no per-packet library call, which is most of
 * the per-packet cost of libpcap's file reader.  Everything else libpcap
 * reads (pcapng, stdin, compressed by the OS ...) goes through libpcap.  A BPF
 * filter is compiled by libpcap and applied with pcap_offline_filter() on
 * both paths.
 *
 * Classic pcap layout (draft-ietf-opsawg-pcap):
 *   file header (24): magic(4) major(2) minor(2) thiszone(4) sigfigs(4)
 *                     snaplen(4) linktype(4)
 *   record header (16): ts_sec(4) ts_frac(4) incl_len(4) orig_len(4)
 * Magic a1b2c3d4 means microsecond fractions, a1b23c4d nanoseconds; read
 * byte-swapped, the file was written on a host of the other endianness.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/core/cursor.h"
#include "../../lib/packet/packet.h"
#include "input.h"

/* How far ahead of the reader the file is prefetched (measured: 2-4 KiB is best). */
#define PREFETCH_AHEAD 4096

/*
 * Pages the reader is done with are dropped from the process (MADV_DONTNEED
 * on a read-only private mapping only unmaps them; the page cache keeps
 * them) every RELEASE_STEP bytes, so resident memory reflects the flow cache,
 * not the size of the capture.  The last RELEASE_KEEP bytes stay mapped:
 * frames of the current batch point into them (32 frames of at most 256 KiB).
 */
#define RELEASE_STEP (8u << 20)
#define RELEASE_KEEP (9u << 20)

/* A record longer than this is not a real frame: the file is damaged. */
#define MAX_RECORD (256u * 1024u)

static const fk_optspec_t pcap_options[] = {
    {"f", "file", "PATH", "Read packets from a pcap or pcapng file ('-' = stdin)"},
    {"i", "ifc", "IFC", "Capture live from a network interface (needs CAP_NET_RAW)"},
    {"F", "filter", "BPF", "Only take packets matching a BPF filter (tcpdump syntax)"},
    {"s", "snaplen", "SIZE", "Live: bytes kept of each frame (default: -B, 1600)"},
    {"I", "id", "NUM", "Line identifier number (accepted for ipfixprobe compatibility)"},
    {"l", "list", NULL, "Print the interfaces libpcap can capture on and exit"},
    {NULL, NULL, NULL, NULL},
};
enum { PO_FILE, PO_IFC, PO_FILTER, PO_SNAPLEN, PO_ID, PO_LIST };

#define MIN_SNAPLEN 120 /* ipfixprobe's floor: enough for the headers plugins read */
#define MAX_SNAPLEN 65535

typedef struct pcap_in_st {
    char *path;
    char *ifc;      /* live capture */
    bool live_nsec; /* the live handle gives nanosecond time stamps */
    int link;
    /* mmap path */
    const uint8_t *map;
    size_t map_len;
    size_t off;
    size_t pf;       /* bytes below this offset have been prefetched */
    size_t released; /* bytes below this offset have been unmapped from the process */
    bool swapped;
    bool nsec;
    uint32_t snaplen;
    /* libpcap path */
    pcap_t *pc;
    /* filter */
    struct bpf_program bpf;
    bool have_bpf;
    fp_input_stats_t st;
    bool warned;
} pcap_in_t;

static uint32_t rd32(const pcap_in_t *in, const uint8_t *p)
{
    return in->swapped ? fk_load_be32(p) : fk_load_le32(p);
}

static void pcap_close_in(void *ctx)
{
    pcap_in_t *in = ctx;
    if (!in)
        return;
    if (in->map)
        munmap((void *)(uintptr_t)in->map, in->map_len);
    if (in->pc)
        pcap_close(in->pc);
    if (in->have_bpf)
        pcap_freecode(&in->bpf);
    free(in->path);
    free(in->ifc);
    free(in);
}

/* Try the memory-mapped reader; false means "let libpcap do it". */
static bool try_mmap(pcap_in_t *in)
{
    struct stat sb;
    int fd = open(in->path, O_RDONLY | O_CLOEXEC);
    uint32_t magic;

    if (fd < 0)
        return false;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size < 24) {
        close(fd);
        return false;
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return false;
    in->map = m;
    in->map_len = (size_t)sb.st_size;
    magic = fk_load_le32(in->map);
    switch (magic) {
    case 0xa1b2c3d4:
        break;
    case 0xa1b23c4d:
        in->nsec = true;
        break;
    case 0xd4c3b2a1:
        in->swapped = true;
        break;
    case 0x4d3cb2a1:
        in->swapped = true;
        in->nsec = true;
        break;
    default: /* pcapng or something else libpcap knows */
        munmap(m, in->map_len);
        in->map = NULL;
        return false;
    }
    madvise(m, in->map_len, MADV_SEQUENTIAL);
    in->snaplen = rd32(in, in->map + 16);
    /* The low 16 bits are the link type; the high bits carry FCS info. */
    in->link = (int)(rd32(in, in->map + 20) & 0xffff);
    in->off = 24;
    return true;
}

static void pcap_list_ifcs(void)
{
    pcap_if_t *all = NULL;
    char errbuf[PCAP_ERRBUF_SIZE];

    if (pcap_findalldevs(&all, errbuf) < 0) {
        fk_err("pcap: cannot list interfaces: %s", errbuf);
        exit(1);
    }
    for (pcap_if_t *d = all; d; d = d->next)
        printf("%s%s%s\n", d->name, d->description ? "\t" : "",
               d->description ? d->description : "");
    pcap_freealldevs(all);
    exit(0);
}

/* Open interface in->ifc for live capture. */
static int pcap_open_live_in(pcap_in_t *in, uint32_t snaplen, const fp_input_cfg_t *cfg,
                             const char *filter, fk_err_t *e)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    uint64_t bufsz = (uint64_t)cfg->queue * cfg->block * cfg->pbuf;

    in->pc = pcap_create(in->ifc, errbuf);
    if (!in->pc)
        return fk_errf(e, "pcap: cannot open interface '%s': %s", in->ifc, errbuf);
    pcap_set_snaplen(in->pc, (int)snaplen);
    pcap_set_promisc(in->pc, 1);
    pcap_set_timeout(in->pc, FP_IN_IDLE_MS);
    if (bufsz > (1u << 30))
        bufsz = 1u << 30;
    pcap_set_buffer_size(in->pc, (int)bufsz);
    in->live_nsec = pcap_set_tstamp_precision(in->pc, PCAP_TSTAMP_PRECISION_NANO) == 0;
    int rc = pcap_activate(in->pc);
    if (rc < 0) {
        const char *hint = "";
        if (rc == PCAP_ERROR_PERM_DENIED)
            hint = " (run as root, or give the binary cap_net_raw,cap_net_admin+eip)";
        else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
            hint = " (see -i 'pcap;list' for the interfaces)";
        return fk_errf(e, "pcap: cannot capture on '%s': %s%s", in->ifc, pcap_geterr(in->pc), hint);
    }
    if (rc > 0)
        fk_warn("pcap: '%s': %s", in->ifc, pcap_statustostr(rc));
    /* Non-blocking, waiting in our own poll(): with TPACKET_V3 libpcap's read
     * timeout only runs once a packet has arrived, so a quiet link would block
     * a blocking read (and with it a stop request) forever. */
    if (pcap_setnonblock(in->pc, 1, errbuf) < 0 || pcap_get_selectable_fd(in->pc) < 0)
        return fk_errf(e, "pcap: cannot poll '%s': %s", in->ifc, errbuf);
    in->link = pcap_datalink(in->pc);
    in->snaplen = (uint32_t)pcap_snapshot(in->pc);
    if (filter) {
        /* Live filters run in the kernel: rejected frames never reach us. */
        if (pcap_compile(in->pc, &in->bpf, filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
            return fk_errf(e, "pcap: bad filter '%s': %s", filter, pcap_geterr(in->pc));
        if (pcap_setfilter(in->pc, &in->bpf) < 0)
            return fk_errf(e, "pcap: cannot set filter on '%s': %s", in->ifc, pcap_geterr(in->pc));
        pcap_freecode(&in->bpf);
    }
    return 0;
}

static int pcap_open_in(void **ctx, const fk_opts_t *o, const fp_input_cfg_t *cfg, fk_err_t *e)
{
    pcap_in_t *in = calloc(1, sizeof(*in));
    const char *filter = NULL;
    char errbuf[PCAP_ERRBUF_SIZE];
    uint64_t snaplen = cfg->pbuf;
    bool list = false;

    if (!in)
        return fk_errf(e, "pcap: out of memory");
    for (size_t i = 0; i < o->n; i++) {
        int k = fk_opts_lookup(o, i, pcap_options, "pcap", e);
        const char *v = o->kv[i].value;
        uint64_t id;
        if (k < 0)
            goto fail;
        switch (k) {
        case PO_FILE:
        case PO_IFC: {
            char **dst = k == PO_FILE ? &in->path : &in->ifc;
            free(*dst);
            *dst = strdup(v);
            if (!*dst) {
                fk_errf(e, "pcap: out of memory");
                goto fail;
            }
            break;
        }
        case PO_FILTER:
            filter = v;
            break;
        case PO_SNAPLEN:
            if (fk_opts_uint("pcap: snaplen", v, MIN_SNAPLEN, MAX_SNAPLEN, &snaplen, e) < 0)
                goto fail;
            break;
        case PO_ID:
            if (fk_opts_uint("pcap: id", v, 0, UINT64_MAX, &id, e) < 0)
                goto fail;
            break;
        case PO_LIST:
            list = true;
            break;
        }
    }
    if (list)
        pcap_list_ifcs();
    if (in->path && in->ifc) {
        fk_errf(e, "pcap: give either file= or ifc=, not both");
        goto fail;
    }
    if (!in->path && !in->ifc) {
        fk_errf(e, "pcap: no file or interface given; use -i 'pcap;file=capture.pcap' or "
                   "-i 'pcap;ifc=eth0'");
        goto fail;
    }
    if (in->ifc) {
        if (pcap_open_live_in(in, (uint32_t)snaplen, cfg, filter, e) < 0)
            goto fail;
        *ctx = in;
        return 0;
    }

    if (strcmp(in->path, "-") == 0 || !try_mmap(in)) {
        in->pc =
            pcap_open_offline_with_tstamp_precision(in->path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (!in->pc) {
            fk_errf(e, "pcap: cannot read '%s': %s", in->path, errbuf);
            goto fail;
        }
        in->link = pcap_datalink(in->pc);
        in->snaplen = (uint32_t)pcap_snapshot(in->pc);
    }
    if (!fk_packet_link_supported(in->link))
        fk_warn("pcap: '%s' has link type %d, which flowprobe does not decode; its packets "
                "will count as not parsed",
                in->path, in->link);

    if (filter) {
        pcap_t *dead = pcap_open_dead(in->link, (int)(in->snaplen ? in->snaplen : MAX_RECORD));
        if (!dead) {
            fk_errf(e, "pcap: out of memory");
            goto fail;
        }
        if (pcap_compile(dead, &in->bpf, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
            fk_errf(e, "pcap: bad filter '%s': %s", filter, pcap_geterr(dead));
            pcap_close(dead);
            goto fail;
        }
        pcap_close(dead);
        in->have_bpf = true;
    }
    *ctx = in;
    return 0;
fail:
    pcap_close_in(in);
    return -1;
}

static int pcap_link(void *ctx)
{
    return ((pcap_in_t *)ctx)->link;
}

static int next_mmap(pcap_in_t *in, fp_frame_t *fr)
{
    size_t left = in->map_len - in->off;
    const uint8_t *h = in->map + in->off;
    uint32_t incl, orig, frac;

    if (left == 0)
        return FP_IN_EOF;
    if (left < 16) {
        in->st.damaged++;
        fk_warn("pcap: '%s' ends inside a record header (%zu stray bytes)", in->path, left);
        in->off = in->map_len;
        return FP_IN_EOF;
    }
    incl = rd32(in, h + 8);
    orig = rd32(in, h + 12);
    if (incl > MAX_RECORD) {
        in->st.damaged++;
        fk_warn("pcap: '%s' record at offset %zu claims %u bytes; the file is damaged, "
                "stopping there",
                in->path, in->off, incl);
        in->off = in->map_len;
        return FP_IN_EOF;
    }
    if (left - 16 < incl) {
        in->st.damaged++;
        fk_warn("pcap: '%s' is truncated: last record wants %u bytes, %zu left", in->path, incl,
                left - 16);
        in->off = in->map_len;
        return FP_IN_EOF;
    }
    /* Walking records is a chain of dependent loads (each length says where
     * the next header is), so without help every header is a DRAM miss.
     * Stream-prefetch the file a few KiB ahead: the loads then hit cache. */
    while (in->pf < in->off + PREFETCH_AHEAD && in->pf < in->map_len) {
        __builtin_prefetch(in->map + in->pf);
        in->pf += 64;
    }
    if (in->off - in->released >= RELEASE_STEP + RELEASE_KEEP) {
        size_t upto = (in->off - RELEASE_KEEP) & ~(size_t)4095;
        madvise((void *)(uintptr_t)(in->map + in->released), upto - in->released, MADV_DONTNEED);
        in->released = upto;
    }
    frac = rd32(in, h + 4);
    fr->ts_ns =
        (uint64_t)rd32(in, h) * 1000000000ULL + (in->nsec ? frac : (uint64_t)frac * 1000ULL);
    fr->data = h + 16;
    fr->caplen = incl;
    fr->wirelen = orig < incl ? incl : orig;
    in->off += 16 + (size_t)incl;
    return FP_IN_PACKET;
}

static int next_libpcap(pcap_in_t *in, fp_frame_t *fr, fk_err_t *e)
{
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int r = pcap_next_ex(in->pc, &hdr, &data);

    if (r == 0 && in->ifc) {
        struct pollfd pfd = {pcap_get_selectable_fd(in->pc), POLLIN, 0};
        if (poll(&pfd, 1, FP_IN_IDLE_MS) > 0)
            r = pcap_next_ex(in->pc, &hdr, &data);
    }

    if (r == PCAP_ERROR_BREAK)
        return FP_IN_EOF;
    if (r < 0 && in->ifc)
        return fk_errf(e, "pcap: capture on '%s' failed: %s", in->ifc, pcap_geterr(in->pc));
    if (r < 0) {
        /* A damaged tail is what libpcap reports for a truncated file: keep
         * what was read and say so, as the mmap reader does. */
        in->st.damaged++;
        fk_warn("pcap: '%s': %s; stopping there", in->path, pcap_geterr(in->pc));
        (void)e;
        return FP_IN_EOF;
    }
    if (r == 0) /* live: the read timed out */
        return in->ifc ? FP_IN_IDLE : FP_IN_EOF;
    /* Files are opened with nanosecond precision, so is a live handle that supports it. */
    fr->ts_ns = (uint64_t)hdr->ts.tv_sec * 1000000000ULL +
                (uint64_t)hdr->ts.tv_usec * (in->ifc && !in->live_nsec ? 1000u : 1u);
    fr->data = data;
    fr->caplen = hdr->caplen;
    fr->wirelen = hdr->len < hdr->caplen ? hdr->caplen : hdr->len;
    return FP_IN_PACKET;
}

static int pcap_next_in(void *ctx, fp_frame_t *fr, unsigned max, fk_err_t *e)
{
    pcap_in_t *in = ctx;
    unsigned n = 0;

    /* libpcap's frames are valid only until its next call: one at a time there. */
    if (!in->map && max > 1)
        max = 1;
    while (n < max) {
        int r = in->map ? next_mmap(in, &fr[n]) : next_libpcap(in, &fr[n], e);
        if (r == FP_IN_ERROR)
            return n ? (int)n : FP_IN_ERROR; /* the frames read stay valid until next call */
        if (r == FP_IN_IDLE)
            return n ? (int)n : FP_IN_IDLE;
        if (r != FP_IN_PACKET)
            break;
        if (in->have_bpf) {
            struct pcap_pkthdr ph = {.caplen = fr[n].caplen, .len = fr[n].wirelen};
            if (!pcap_offline_filter(&in->bpf, &ph, fr[n].data)) {
                in->st.filtered++;
                continue;
            }
        }
        n++;
    }
    return (int)n;
}

static void pcap_progress(void *ctx, uint64_t *done, uint64_t *total)
{
    pcap_in_t *in = ctx;

    if (in->map) {
        *done = in->off;
        *total = in->map_len;
        return;
    }
    *done = 0;
    *total = 0;
    FILE *f = in->pc ? pcap_file(in->pc) : NULL;
    if (f) {
        struct stat sb;
        long pos = ftell(f);
        if (pos >= 0)
            *done = (uint64_t)pos;
        if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
            *total = (uint64_t)sb.st_size;
    }
}

static bool pcap_live(void *ctx)
{
    return ((pcap_in_t *)ctx)->ifc != NULL;
}

static void pcap_in_stats(void *ctx, fp_input_stats_t *st)
{
    pcap_in_t *in = ctx;
    struct pcap_stat ps;

    *st = in->st;
    /* libpcap's counters are cumulative (32-bit on some platforms; they wrap
     * after 4G frames, which we report as read). */
    if (in->ifc && in->pc && pcap_stats(in->pc, &ps) == 0) {
        st->received = ps.ps_recv;
        st->drops = ps.ps_drop;
        st->if_drops = ps.ps_ifdrop;
    }
}

const fp_input_ops_t fp_input_pcap = {
    .name = "pcap",
    .summary = "Read packets from a pcap/pcapng file, or capture live from an interface",
    .options = pcap_options,
    .open = pcap_open_in,
    .link = pcap_link,
    .next = pcap_next_in,
    .progress = pcap_progress,
    .live = pcap_live,
    .stats = pcap_in_stats,
    .close = pcap_close_in,
};
