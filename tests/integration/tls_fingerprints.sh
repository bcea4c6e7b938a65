#!/usr/bin/env bash
# tls and quic plugins against tshark, on the TLS and QUIC conformance
# captures: JA3 equals tshark's tls.handshake.ja3; JA4 (flowprobe's default,
# ipfixprobe's variant, and ja4=foxio) equals a second computation from
# tshark's dissected fields (tests/tools/tls_fingerprints.py; tshark 4.0 has
# no JA4); SNI equals tshark's; for QUIC, the SNI and extension lists of the
# ClientHello flowprobe decrypted equal those tshark decrypted.
# Exit 77 (skipped) without tshark, python3 or the shared captures.
set -u
probe=${FLOWPROBE:-build/flowprobe}
tools=${FK_TOOLS:-tests/tools}
shared=${FLOWKIT_SHARED:-../shared}
inputs=$shared/conformance/ipfixprobe/inputs
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
[ -f "$inputs/tls.pcap" ] || { echo "SKIP: no $inputs/tls.pcap"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

for cap in tls quic_initial-sample; do
    pcap=$inputs/$cap.pcap
    [ -f "$pcap" ] || continue
    "$probe" -i "pcap;file=$pcap" -p tls -o "json;file=$tmp/$cap.tls.json" 2>"$tmp/err" &&
        "$probe" -i "pcap;file=$pcap" -p "tls;ja4=foxio" -o "json;file=$tmp/$cap.foxio.json" \
            2>>"$tmp/err" &&
        "$probe" -i "pcap;file=$pcap" -p quic -o "json;file=$tmp/$cap.quic.json" 2>>"$tmp/err" ||
        { echo "FAIL $cap: flowprobe: $(cat "$tmp/err")"; fail=1; continue; }
    tshark -r "$pcap" -Y "tls.handshake.type == 1" -T fields -E separator=/t -E aggregator=, \
        -e ip.proto -e tcp.srcport -e udp.srcport -e tls.handshake.ja3 \
        -e tls.handshake.ciphersuite -e tls.handshake.extension.type \
        -e tls.handshake.sig_hash_alg -e tls.handshake.extensions_alpn_str \
        -e tls.handshake.extensions.supported_version -e tls.handshake.version \
        -e tls.handshake.extensions_server_name >"$tmp/$cap.tls.tsv" 2>/dev/null
    tshark -r "$pcap" -Y "quic && tls.handshake.type == 1" -T fields -E separator=/t \
        -E aggregator=, -e udp.srcport -e tls.handshake.extensions_server_name \
        -e tls.handshake.extension.type -e tls.handshake.extension.len \
        >"$tmp/$cap.quic.tsv" 2>/dev/null
    if out=$(python3 "$tools/tls_fingerprints.py" "$tmp/$cap.tls.tsv" "$tmp/$cap.tls.json" \
        "$tmp/$cap.foxio.json" "$tmp/$cap.quic.tsv" "$tmp/$cap.quic.json"); then
        echo "ok $cap: $(echo "$out" | tail -n 1)"
    else
        echo "FAIL $cap:"
        echo "$out"
        fail=1
    fi
done
exit $fail
