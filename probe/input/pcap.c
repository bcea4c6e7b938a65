/*
 * pcap.c - the "pcap" input: frames from a capture file.
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
    {"F", "filter", "BPF", "Only take packets matching a BPF filter (tcpdump syntax)"},
    {NULL, NULL, NULL, NULL},
};

typedef struct pcap_in_st {
    char *path;
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

static int pcap_open_in(void **ctx, const fk_opts_t *o, fk_err_t *e)
{
    pcap_in_t *in = calloc(1, sizeof(*in));
    const char *filter = NULL;
    char errbuf[PCAP_ERRBUF_SIZE];

    if (!in)
        return fk_errf(e, "pcap: out of memory");
    for (size_t i = 0; i < o->n; i++) {
        int k = fk_opts_lookup(o, i, pcap_options, "pcap", e);
        if (k < 0)
            goto fail;
        if (k == 0) {
            free(in->path);
            in->path = strdup(o->kv[i].value);
        } else {
            filter = o->kv[i].value;
        }
    }
    if (!in->path) {
        fk_errf(e, "pcap: no file given; use -i 'pcap;file=capture.pcap'");
        goto fail;
    }

    if (strcmp(in->path, "-") == 0 || !try_mmap(in)) {
        in->pc = pcap_open_offline_with_tstamp_precision(in->path, PCAP_TSTAMP_PRECISION_NANO,
                                                         errbuf);
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
    fr->ts_ns = (uint64_t)rd32(in, h) * 1000000000ULL +
                (in->nsec ? frac : (uint64_t)frac * 1000ULL);
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

    if (r == PCAP_ERROR_BREAK)
        return FP_IN_EOF;
    if (r < 0) {
        /* A damaged tail is what libpcap reports for a truncated file: keep
         * what was read and say so, as the mmap reader does. */
        in->st.damaged++;
        fk_warn("pcap: '%s': %s; stopping there", in->path, pcap_geterr(in->pc));
        (void)e;
        return FP_IN_EOF;
    }
    if (r == 0)
        return FP_IN_EOF;
    fr->ts_ns = (uint64_t)hdr->ts.tv_sec * 1000000000ULL + (uint64_t)hdr->ts.tv_usec;
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

static void pcap_in_stats(void *ctx, fp_input_stats_t *st)
{
    *st = ((pcap_in_t *)ctx)->st;
}

const fp_input_ops_t fp_input_pcap = {
    .name = "pcap",
    .summary = "Read packets from a pcap/pcapng file",
    .options = pcap_options,
    .open = pcap_open_in,
    .link = pcap_link,
    .next = pcap_next_in,
    .progress = pcap_progress,
    .stats = pcap_in_stats,
    .close = pcap_close_in,
};
