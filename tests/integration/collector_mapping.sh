#!/usr/bin/env bash
# flowcollector -mapping end to end: crafted IPFIX, NetFlow v9 and sFlow v5
# datagrams in a pcap replayed with -listen pcap://, decoded under GoFlow2's
# sample mapping and under the seed page's examples (flow_direction from
# element 61; TTL from IPFIX 51, NetFlow v9 51 and sFlow layer ipv4 offset 64
# length 8; Juniper PEN 2636 element 137 as an array), checked in JSON, text
# and in -format bin decoded by `protoc --decode_raw`; a wrong file is
# refused at start with its line and column.
set -u
coll=${FLOWCOLLECTOR:-build/flowcollector}
here=$(cd "$(dirname "$0")" && pwd)
shared=${FLOWKIT_SHARED:-$here/../../../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
has() { grep -qF -- "$2" "$1" && ok || bad "$3: $(basename "$1") lacks $2"; }

command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

# The datagrams (same shapes as tests/unit/test_mapping.c):
#   IPFIX: src 10.1.2.3, 51 = 64, 61 = 1, 34 = 100 (little-endian), a 315
#     dataLinkFrameSection (Ethernet/IPv4 TTL 57/UDP 5353->53 csum 0xbeef),
#     Juniper 2636/137 twice (0x01020304, 7)
#   NetFlow v9: options rate 5000, then data 51 = 33, 61 = 1, 34 = 200 LE
#   sFlow v5: one flow sample (rate 256) with the same frame as raw header
python3 - "$tmp/in.pcap" <<'PY'
import struct, sys
frame = bytes([0x00,0x11,0x22,0x33,0x44,0x55,0x66,0x77,0x88,0x99,0xaa,0xbb,0x08,0x00,
               0x45,0x00,0x00,0x20,0x12,0x34,0x00,0x00,57,17,0,0,198,51,100,1,203,0,113,2,
               0x14,0xe9,0x00,53,0x00,0x0c,0xbe,0xef]) + b'abcd'
def ipfix():
    tmpl = struct.pack('!HH', 256, 7) + struct.pack('!HHHHHHHHHH', 8, 4, 51, 1, 61, 1, 34, 4, 315, 0xffff) \
        + struct.pack('!HHI', 0x8000 | 137, 4, 2636) * 2
    tset = struct.pack('!HH', 2, 4 + len(tmpl)) + tmpl
    rec = bytes([10, 1, 2, 3, 64, 1, 100, 0, 0, 0, len(frame)]) + frame + struct.pack('!II', 0x01020304, 7)
    dset = struct.pack('!HH', 256, 4 + len(rec)) + rec
    body = tset + dset
    return struct.pack('!HHIII', 10, 16 + len(body), 1700000000, 7, 1) + body
def nfv9():
    ot = struct.pack('!HHH', 257, 4, 4) + struct.pack('!HHHH', 1, 4, 34, 4)
    ot = struct.pack('!HH', 1, 4 + len(ot)) + ot
    t = struct.pack('!HH', 256, 4) + struct.pack('!HHHHHHHH', 8, 4, 51, 1, 61, 1, 34, 4)
    t = struct.pack('!HH', 0, 4 + len(t)) + t
    od = struct.pack('!HHII', 257, 12, 0, 5000)
    d = bytes([10, 9, 9, 9, 33, 1, 200, 0, 0, 0, 0, 0])
    d = struct.pack('!HH', 256, 4 + len(d)) + d
    return struct.pack('!HHIIII', 9, 3, 100000, 1700000000, 1, 0) + ot + t + od + d
def sflow():
    h = frame + b'\0' * (-len(frame) % 4)
    rec = struct.pack('!IIII', 1, len(frame) + 4, 4, len(frame)) + h
    rec = struct.pack('!II', 1, len(rec)) + rec
    smp = struct.pack('!IIIIIIII', 1, 3, 256, 1000, 0, 3, 4, 1) + rec
    smp = struct.pack('!II', 1, len(smp)) + smp
    return struct.pack('!II4sIIII', 5, 1, bytes([192, 0, 2, 10]), 0, 1, 1000, 1) + smp
def csum(h):
    s = sum(h[i] << 8 | h[i + 1] for i in range(0, len(h), 2))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
out = open(sys.argv[1], 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
for i, (payload, port) in enumerate([(ipfix(), 4739), (nfv9(), 2055), (sflow(), 6343)]):
    udp = struct.pack('!HHHH', 40000, port, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([192, 0, 2, 1]), bytes([192, 0, 2, 99]))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    pkt = b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00' + ip + udp
    out.write(struct.pack('<IIII', 1700000000 + i, 0, len(pkt), len(pkt)) + pkt)
PY
[ -s "$tmp/in.pcap" ] && ok || bad "pcap not written"

# 1. GoFlow2's sample, unchanged (from ../shared, else the fuzz seed copy of it)
sample=$shared/reference/goflow2-mapping.yaml
[ -f "$sample" ] || sample=$here/../fuzz/corpus/fuzz_mapping/goflow2_sample.yaml
"$coll" -mapping "$sample" -listen "pcap://$tmp/in.pcap" -transport.file "$tmp/s.json" 2>"$tmp/e" \
    && ok || bad "sample mapping: $(head -3 "$tmp/e")"
[ "$(wc -l <"$tmp/s.json")" = 3 ] && ok || bad "sample: $(wc -l <"$tmp/s.json") records, want 3"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/s.json" && ok || bad "sample: not JSON lines"
# its columns in its order, time_received_ns rendered datetimenano, icmp_name virtual
# (the sample maps 34 little-endian for NetFlow v9 only: IPFIX's 34 stays big-endian)
has "$tmp/s.json" '{"type":"IPFIX","time_received_ns":"2023-11-14T22:13:20Z","sequence_num":7,"sampling_rate":1677721600,"flow_direction":1,"sampler_address":"192.0.2.1",' "sample ipfix"
has "$tmp/s.json" '"type":"NETFLOW_V9","time_received_ns":"2023-11-14T22:13:21Z","sequence_num":1,"sampling_rate":200,"flow_direction":1,' "sample v9 (34 little-endian kept over the options rate 5000)"
has "$tmp/s.json" '"src_mac":"66:77:88:99:aa:bb","dst_mac":"00:11:22:33:44:55","icmp_name":"unknown","csum":48879}' "sample sflow csum (udp offset 48 length 16)"
grep -q '"sampler_address":"192.0.2.10"' "$tmp/s.json" && ok || bad "sample sflow agent"
grep -q 'in_if' "$tmp/s.json" && ! grep -q 'ip_ttl\|unknown_elements' "$tmp/s.json" && ok || bad "sample: columns outside formatter.fields printed"

# 2. The seed page's examples
cat >"$tmp/seed.yaml" <<'Y'
formatter:
  fields: [type, sampling_rate, src_addr, flow_direction, ip_ttl_test, juniper_properties]
  rename:
    src_addr: source
  key: [sampler_address, ip_ttl_test]
  protobuf:
    - name: flow_direction
      index: 42
      type: varint
    - name: ip_ttl_test
      index: 1000
      type: varint
    - name: juniper_properties
      index: 1001
      type: varint
      array: true
ipfix:
  mapping:
    - field: 34 # samplingInterval provided within the template
      destination: SamplingRate
      endian: little # special endianness
    - field: 61
      destination: flow_direction
    - field: 51
      destination: ip_ttl_test
    - field: 137 # Juniper Properties
      destination: juniper_properties
      penprovided: true
      pen: 2636
netflowv9:
  mapping:
    - field: 34
      destination: sampling_rate
      endianness: little
    - field: 51
      destination: ip_ttl_test
    - field: 61
      destination: FlowDirection_is_not_a_go_name_so_use_the_custom_one_below
sflow:
  mapping:
    - layer: "ipv4"
      offset: 64
      length: 8
      destination: ip_ttl_test
Y
# a destination that is neither a column nor a custom field: refused, with its place
"$coll" -mapping "$tmp/seed.yaml" -listen "pcap://$tmp/in.pcap" >/dev/null 2>"$tmp/e"
[ $? -eq 2 ] && grep -q "seed.yaml:38:20: destination \"FlowDirection_is_not" "$tmp/e" && ok \
    || bad "bad destination: $(cat "$tmp/e")"
sed -i 's/FlowDirection_is_not_a_go_name_so_use_the_custom_one_below/flow_direction/' "$tmp/seed.yaml"
"$coll" -mapping "$tmp/seed.yaml" -listen "pcap://$tmp/in.pcap" -transport.file "$tmp/j.json" 2>"$tmp/e" \
    && ok || bad "seed mapping: $(head -3 "$tmp/e")"
# IPFIX: TTL 51 = 64 then the 315 frame's ipv4 TTL 57 (the last value of a non-array field)
has "$tmp/j.json" '{"type":"IPFIX","sampling_rate":100,"source":"10.1.2.3","flow_direction":1,"ip_ttl_test":57,"juniper_properties":[16909060,7]}' "seed ipfix"
has "$tmp/j.json" '{"type":"NETFLOW_V9","sampling_rate":200,"source":"10.9.9.9","flow_direction":1,"ip_ttl_test":33}' "seed v9"
has "$tmp/j.json" '{"type":"SFLOW_5","sampling_rate":256,"source":"198.51.100.1","ip_ttl_test":57}' "seed sflow"
"$coll" -mapping "$tmp/seed.yaml" -listen "pcap://$tmp/in.pcap" -format text -transport.file "$tmp/t.txt" 2>/dev/null
has "$tmp/t.txt" 'type=IPFIX sampling_rate=100 source=10.1.2.3 flow_direction=1 ip_ttl_test=57 juniper_properties=[16909060,7]' "seed text"

# bin: protoc --decode_raw on each length-delimited message
if command -v protoc >/dev/null; then
    "$coll" -mapping "$tmp/seed.yaml" -listen "pcap://$tmp/in.pcap" -format bin -transport.file.sep '' \
        -transport.file "$tmp/b.bin" 2>/dev/null && ok || bad "bin run"
    python3 - "$tmp/b.bin" "$tmp/msg" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read(); i = k = 0
while i < len(d):
    l = s = 0
    while True:
        b = d[i]; i += 1; l |= (b & 0x7f) << s; s += 7
        if b < 0x80: break
    open('%s%d' % (sys.argv[2], k), 'wb').write(d[i:i + l]); i += l; k += 1
PY
    for k in 0 1 2; do protoc --decode_raw <"$tmp/msg$k" >"$tmp/raw$k" 2>"$tmp/e" || bad "protoc msg$k: $(cat "$tmp/e")"; done
    # IPFIX: type 4, rate 100; after 112 the custom fields in decoding order:
    # 1000 (51, then replaced by the 315 frame's TTL), 42, 1001 twice (not packed)
    tr '\n' ' ' <"$tmp/raw0" | grep -q '^1: 4 3: 100 .*112: [0-9]* 1000: 57 42: 1 1001: 16909060 1001: 7 $' && ok \
        || bad "protoc ipfix: $(tr '\n' ' ' <"$tmp/raw0")"
    tr '\n' ' ' <"$tmp/raw1" | grep -q '^1: 3 3: 200 .* 1000: 33 42: 1 $' && ok \
        || bad "protoc v9: $(tr '\n' ' ' <"$tmp/raw1")"
    tr '\n' ' ' <"$tmp/raw2" | grep -q '^1: 1 3: 256 .* 25: 57 .* 1000: 57 $' && ok \
        || bad "protoc sflow: $(tr '\n' ' ' <"$tmp/raw2")"
else
    echo "SKIP: protoc missing (apt package protobuf-compiler): bin not decoded"
    skip=1
fi

# 3. refused at start, with file, line and column
printf 'formatter:\n  protobuf:\n    - {name: a, index: 25, type: varint}\n' >"$tmp/bad.yaml"
"$coll" -mapping "$tmp/bad.yaml" >/dev/null 2>"$tmp/e"
[ $? -eq 2 ] && grep -q "bad.yaml:3:24: index 25 is flow.proto's field ip_ttl" "$tmp/e" && ok || bad "bad index: $(cat "$tmp/e")"
printf 'ipfix:\n  mapping:\n    - field: 61\n      destination: in_if\n      endianess: little\n' >"$tmp/bad.yaml"
"$coll" -mapping "$tmp/bad.yaml" >/dev/null 2>"$tmp/e"
[ $? -eq 2 ] && grep -q 'bad.yaml:5:7: mapping entry: unknown key "endianess"' "$tmp/e" && ok || bad "typo key: $(cat "$tmp/e")"

echo "collector_mapping: $pass passed, $fail failed"
[ $fail -eq 0 ] || exit 1
[ $skip -eq 0 ] || exit 77
exit 0
