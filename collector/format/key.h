/*
 * key.h - the Kafka message key of a flow record (GoFlow2's formatter.key)
 * and the partition GoFlow2's producer picks for it with
 * -transport.kafka.hashing (goflow2-spec.md section 8, "Key hashing").
 *
 * GoFlow2 (producer/proto/messages.go Key/baseKey) writes, for each key field
 * in order, fmt.Sprintf("%v", value) of the FlowMessage field into one
 * FNV-32 hash (Go's hash/fnv New32: FNV-1, multiply then xor), with no
 * separator, and uses the 4-byte big-endian sum as the key; no key fields
 * means no key.  Go's %v prints the field's Go value:
 *   integers        decimal                               1500
 *   enums           their name, or the decimal number     IPFIX, 7
 *   bytes           the bytes as decimals in brackets      [10 0 0 1], [] when empty
 *   repeated ints   [1 2 3]                                [] when empty
 *   repeated enums  [Ethernet IPv4]
 *   repeated bytes  [[10 0 0 1] [10 0 0 2]]
 * With hashing on, sarama's hash partitioner hashes the key again with FNV-1a
 * and takes int32(h) % partitions, negated when negative (sarama
 * partitioner.go hashPartitioner; librdkafka's own "fnv1a" partitioner takes
 * the unsigned remainder instead, which differs for half of all keys, hence
 * fc_key_partition).
 */
#ifndef FC_KEY_H
#define FC_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "../../lib/core/buf.h"
#include "../../lib/core/log.h"
#include "../record.h"

#define FC_KEY_MAX_FIELDS 32

/* The key fields: indexes into fc_columns[], in key order. */
typedef struct fc_key_st {
    uint8_t n;
    uint8_t col[FC_KEY_MAX_FIELDS];
} fc_key_t;

/*
 * Parse a comma-separated list of field names (proto names such as
 * "sampler_address", or GoFlow2's Go names such as "SamplerAddress") into *k.
 * Returns 0, or -1 with GoFlow2's message "key field X does not exist" (also
 * for the virtual column icmp_name, which has no value) or a limit message.
 */
int fc_key_parse(fc_key_t *k, const char *list, fk_err_t *e);

/* Append the text GoFlow2 hashes for `f` (the %v of each key field, no separator) to b. */
void fc_key_text(fk_buf_t *b, const fc_key_t *k, const fc_flow_t *f);

/* FNV-32 (FNV-1) of that text: GoFlow2's Key() as a number (big-endian on the wire). */
uint32_t fc_key_hash(const fc_key_t *k, const fc_flow_t *f);

/* FNV-1 and FNV-1a, 32 bits, over n bytes starting from `h` (pass FC_FNV32_OFFSET). */
#define FC_FNV32_OFFSET 2166136261u
#define FC_FNV32_PRIME  16777619u
uint32_t fc_fnv1_32(uint32_t h, const void *p, size_t n);
uint32_t fc_fnv1a_32(uint32_t h, const void *p, size_t n);

/*
 * sarama's hash partitioner: FNV-1a of the key bytes, int32(h) % partitions,
 * negated when negative.  partitions must be >= 1; returns 0..partitions-1.
 */
int32_t fc_key_partition(const uint8_t *key, size_t len, int32_t partitions);

#endif /* FC_KEY_H */
