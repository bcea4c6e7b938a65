#!/usr/bin/env bash
# tls and quic plugins against tshark, on the TLS and QUIC conformance
# captures: JA3 equals tshark's tls.handshake.ja3; JA4 (flowprobe's default,
# ipfixprobe's variant, and ja4=foxio) equals a second computation from
# tshark's dissected fields (tests/tools/tls_fingerprints.py; tshark 4.0 has
# no JA4); SNI equals tshark's; for QUIC, the SNI and extension lists of the
# ClientHello flowprobe decrypted equal those tshark decrypted.
# Also on a capture of genpcap -x, whose TLS clients shuffle their
# extensions on every hello as Chrome does (hundreds of hellos of one
# client profile: JA3 differs each time, JA4 comes from the memo's second
# table after the first).
# Exit 77 (skipped) without tshark or python3, or without both the shared
# captures and genpcap.
set -u
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
tools=${FK_TOOLS:-tests/tools}
shared=${FLOWKIT_SHARED:-../shared}
inputs=$shared/conformance/ipfixprobe/inputs
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
caps=()
if [ -f "$inputs/tls.pcap" ]; then
    caps+=("$inputs/tls.pcap" "$inputs/quic_initial-sample.pcap")
else
    echo "note: no $inputs/tls.pcap: the shared captures are not checked"
fi
if [ -x "$gen" ] && "$gen" -n 20000 -f 1000 -s 5 -x "$tmp/shuffled.pcap" 2>/dev/null; then
    caps+=("$tmp/shuffled.pcap")
else
    echo "note: no genpcap ($gen): the shuffled-extensions capture is not checked"
fi
[ ${#caps[@]} -gt 0 ] || { echo "SKIP: no capture to check"; exit 77; }

for pcap in "${caps[@]}"; do
    [ -f "$pcap" ] || continue
    cap=$(basename "$pcap" .pcap)
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
        -e tls.handshake.extensions_server_name -e ip.src -e ipv6.src >"$tmp/$cap.tls.tsv" \
        2>/dev/null
    tshark -r "$pcap" -Y "quic && tls.handshake.type == 1" -T fields -E separator=/t \
        -E aggregator=, -e udp.srcport -e tls.handshake.extensions_server_name \
        -e tls.handshake.extension.type -e tls.handshake.extension.len \
        >"$tmp/$cap.quic.tsv" 2>/dev/null
    if out=$(python3 "$tools/tls_fingerprints.py" "$tmp/$cap.tls.tsv" "$tmp/$cap.tls.json" \
        "$tmp/$cap.foxio.json" "$tmp/$cap.quic.tsv" "$tmp/$cap.quic.json"); then
        echo "ok $cap: $(echo "$out" | tail -n 1)"
        if [ "$cap" = shuffled ]; then
            # the capture must hold what it is for: one JA4, many JA3s
            n4=$(grep -o '"tls_ja4":"[^"]*"' "$tmp/$cap.tls.json" | sort -u | wc -l)
            n3=$(grep -o '"tls_ja3":"[^"]*"' "$tmp/$cap.tls.json" | sort -u | wc -l)
            if [ "$n4" -ne 1 ] || [ "$n3" -lt 50 ]; then
                echo "FAIL $cap: expected one JA4 and many JA3s, got $n4 and $n3"
                fail=1
            else
                echo "ok $cap: $n3 distinct JA3s, one JA4"
            fi
            # and every flow its own random stream: no two hellos share
            # their 32 random bytes (genpcap once gave 1,000 flows 16 streams)
            tshark -r "$pcap" -Y "tls.handshake.type == 1" -T fields -e tls.handshake.random \
                >"$tmp/$cap.rnd" 2>/dev/null
            nh=$(grep -c . "$tmp/$cap.rnd")
            nr=$(sort -u "$tmp/$cap.rnd" | grep -c .)
            if [ "$nh" -lt 50 ] || [ "$nr" -ne "$nh" ]; then
                echo "FAIL $cap: $nh ClientHellos with $nr distinct randoms"
                fail=1
            else
                echo "ok $cap: $nh ClientHellos, $nr distinct randoms"
            fi
        fi
    else
        echo "FAIL $cap:"
        echo "$out"
        fail=1
    fi
done
exit $fail
