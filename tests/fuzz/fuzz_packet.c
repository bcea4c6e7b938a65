/*
 * fuzz_packet.c - libFuzzer target for fk_packet_parse.
 *
 * Input: one selector byte choosing the link type, then the frame.  The frame
 * is copied into a heap block of exactly its length so ASan sees any read past
 * the capture, and the result is checked against the invariants every parse
 * must keep, whatever the bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/packet/packet.h"

/*
 * Selector byte -> link type.  The first entries are fixed so the seed corpus
 * keeps its meaning (see corpus/fuzz_packet); any link type the parser learns
 * later is appended by scanning fk_packet_link_supported().
 */
static const int g_fixed[] = {FK_LINK_ETHERNET, FK_LINK_RAW,     FK_LINK_NULL, FK_LINK_LOOP,
                              FK_LINK_SLL,      FK_LINK_SLL2,    FK_LINK_IPV4, FK_LINK_IPV6,
                              FK_LINK_RAW_BSD,  FK_LINK_RAW_BSD2};
#define N_FIXED   (sizeof(g_fixed) / sizeof(g_fixed[0]))
#define MAX_LINKS 64
static int g_links[MAX_LINKS];
static size_t g_nlinks;

#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "fuzz_packet: invariant failed: %s (link %d, caplen %zu)\n", #cond, \
                    link, len);                                                                 \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

static void init_links(void)
{
    for (size_t i = 0; i < N_FIXED; i++) {
        if (!fk_packet_link_supported(g_fixed[i])) {
            fprintf(stderr, "fuzz_packet: link type %d no longer supported\n", g_fixed[i]);
            abort();
        }
        g_links[g_nlinks++] = g_fixed[i];
    }
    for (int l = 0; l < 1024 && g_nlinks < MAX_LINKS; l++) {
        bool known = false;
        for (size_t i = 0; i < N_FIXED; i++)
            known |= g_fixed[i] == l;
        if (!known && fk_packet_link_supported(l))
            g_links[g_nlinks++] = l;
    }
}

static bool port_proto(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t empty[1];
    fk_packet_t p, again;

    if (g_nlinks == 0)
        init_links();
    if (size < 1)
        return 0;

    int link = g_links[data[0] % g_nlinks];
    size_t len = size - 1;
    uint8_t *heap = len ? malloc(len) : NULL;
    const uint8_t *frame = len ? heap : empty;
    if (len && !heap)
        return 0;
    if (len)
        memcpy(heap, data + 1, len);

    uint32_t wire = (uint32_t)len + (data[0] >> 4); /* sometimes longer than captured */
    int rc = fk_packet_parse(&p, link, frame, (uint32_t)len, wire, 7);

    /* Outcome bookkeeping. */
    CHECK(rc == p.err);
    CHECK(p.frame == frame && p.caplen == len && p.wirelen == wire && p.ts_ns == 7);
    CHECK(p.err < FK_PERR_COUNT_ && p.err_layer < FK_LAYER_COUNT_ && p.layer_ok < FK_LAYER_COUNT_);
    CHECK((p.err == FK_PERR_NONE) == (p.err_layer == FK_LAYER_NONE));
    CHECK(strcmp(fk_perr_name(p.err), "?") != 0 && strcmp(fk_layer_name(p.err_layer), "?") != 0);
    /* Stopping at layer N means every layer above it was understood. */
    if (p.err_layer > FK_LAYER_L2)
        CHECK(p.layer_ok >= p.err_layer - 1);
    CHECK(p.err_layer == FK_LAYER_NONE || p.err_layer >= p.layer_ok);

    /* The payload lies within the capture and never exceeds what the headers announce. */
    if (p.payload) {
        CHECK(p.payload >= frame && p.payload <= frame + len);
        CHECK(p.payload_len <= (size_t)(frame + len - p.payload));
        CHECK(p.payload_len <= p.payload_wire);
    } else {
        CHECK(p.payload_len == 0);
    }

    /* L3 fields exist only with an IP header, inside the capture. */
    if (p.layer_ok >= FK_LAYER_L3)
        CHECK(p.ip_version == 4 || p.ip_version == 6);
    if (p.ip_version == 4)
        CHECK(p.ip_hdr_len >= 20 && p.ip_hdr_len <= 60 && p.l3_off + p.ip_hdr_len <= len);
    else if (p.ip_version == 6)
        CHECK(p.ip_hdr_len == 40 && p.l3_off + 40u <= len);
    else
        CHECK(p.ip_version == 0 && p.ip_proto == 0 && p.layer_ok < FK_LAYER_L3);
    if (p.layer_ok == FK_LAYER_L4)
        CHECK(p.l4_off >= p.l3_off + p.ip_hdr_len && p.l4_off <= len);
    if (p.frag_off != 0)
        CHECK(p.is_fragment);

    /* Ports only for port-carrying transports, and never from a later fragment. */
    if (p.src_port || p.dst_port)
        CHECK(port_proto(p.ip_proto) && p.frag_off == 0 && p.layer_ok == FK_LAYER_L4);
    if (p.tcp_flags || p.tcp_mss || p.tcp_options || p.tcp_tsval)
        CHECK(p.ip_proto == 6);

    /* has_key: an IP header and, for a port-carrying first fragment, the ports. */
    if (fk_packet_has_key(&p)) {
        CHECK(p.ip_version == 4 || p.ip_version == 6);
        if (port_proto(p.ip_proto) && p.frag_off == 0)
            CHECK(p.layer_ok == FK_LAYER_L4);
    }

    CHECK(p.vlan_count <= 17 && p.mpls_count <= 17);

    /* Parsing is a pure function of its input. */
    fk_packet_parse(&again, link, frame, (uint32_t)len, wire, 7);
    CHECK(memcmp(&p, &again, sizeof(p)) == 0);

    free(heap);
    return 0;
}
