/*
 * frag.h - the fragmentation cache: ports for non-first IP fragments.
 *
 * Only the first fragment of a datagram carries the transport header.  To put
 * the later fragments in the same flow, the first fragment's ports are
 * remembered under (addresses, protocol, IP identification) for a few seconds
 * and copied into the fragments that follow (ipfixprobe's frag-* options).  A
 * fragment whose first fragment was never seen keeps ports 0.
 */
#ifndef FP_FRAG_H
#define FP_FRAG_H

#include <stdint.h>

#include "../../lib/packet/packet.h"

typedef struct fp_frag_st fp_frag_t;

/* A table of `size` entries (>= 1) holding ports for `timeout_s` seconds; NULL on ENOMEM. */
fp_frag_t *fp_frag_new(uint32_t size, uint32_t timeout_s);
void fp_frag_free(fp_frag_t *f);

/*
 * Feed a fragment: a first fragment is remembered; a later one gets the ports
 * of its first fragment if known.  Returns 1 if ports were filled in, else 0.
 */
int fp_frag_process(fp_frag_t *f, fk_packet_t *pkt);

/* Later fragments that found (hits) or did not find (misses) their first fragment. */
void fp_frag_stats(const fp_frag_t *f, uint64_t *hits, uint64_t *misses);

#endif /* FP_FRAG_H */
