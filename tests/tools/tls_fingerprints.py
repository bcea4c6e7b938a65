#!/usr/bin/env python3
"""tls_fingerprints.py - check flowprobe's TLS fingerprints and QUIC ClientHello
fields against tshark's dissection of the same capture.

usage: tls_fingerprints.py TSHARK_TLS.tsv FLOWPROBE_TLS.json FLOWPROBE_TLS_FOXIO.json
                           TSHARK_QUIC.tsv FLOWPROBE_QUIC.json

TSHARK_TLS.tsv has one ClientHello per line (tshark -T fields, aggregator ','):
  ip.proto tcp.srcport udp.srcport tls.handshake.ja3 tls.handshake.ciphersuite
  tls.handshake.extension.type tls.handshake.sig_hash_alg
  tls.handshake.extensions_alpn_str tls.handshake.extensions.supported_version
  tls.handshake.version tls.handshake.extensions_server_name [ip.src ipv6.src]
With the two address columns, hellos and records are matched by client
address and port (captures of many clients, where ports repeat); without
them, by port.

JA3 is tshark's own (tls.handshake.ja3).  tshark 4.0 has no JA4, so JA4 is
computed here from tshark's fields, written from FoxIO's description
(github.com/FoxIO-LLC/ja4, technical_details/JA4.md) and, for flowprobe's
default output, with the deviations of ipfixprobe 5.7 that tls_hello.c lists.
(tls.handshake.sig_hash_alg would also list signature_algorithms_cert values;
a capture whose hellos carry that extension is reported, not compared.)

TSHARK_QUIC.tsv: udp.srcport tls.handshake.extensions_server_name
  tls.handshake.extension.type tls.handshake.extension.len, one line per
  ClientHello tshark decrypted from a client Initial.
Exit status 0 when everything matches; every mismatch is printed.
"""
import hashlib
import ipaddress
import json
import sys

VERSION_LABELS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
                  0x0002: "s2", 0xfeff: "d1", 0xfefd: "d2", 0xfefc: "d3"}


def grease(v):
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


def ints(field):
    """'0x1301,0x1302' or '0,23' -> [ints] ('' -> [])."""
    return [int(x, 0) for x in field.split(",") if x != ""]


def sha12(text):
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def hexlist(values):
    return ",".join("%04x" % v for v in values)


def alpn_chars(first, ipfixprobe):
    if not first:
        return "00"
    b = first.encode("latin-1")
    if ipfixprobe:
        out = ""
        for byte, high in ((b[0], True), (b[-1], False)):
            if chr(byte).isascii() and chr(byte).isalnum():
                out += chr(byte)
            else:
                signed = byte - 256 if byte > 127 else byte
                nib = ((signed >> 4) if high else (signed & 15)) & 0xff
                out += chr(ord("0") + nib) if nib < 10 else chr((ord("A") + nib - 10) & 0xff)
        return out
    if all(chr(x).isascii() and chr(x).isalnum() for x in (b[0], b[-1])):
        return chr(b[0]) + chr(b[-1])
    h = b.hex()
    return h[0] + h[-1]


def ja4(proto, legacy, ciphers, exts, sigalgs, alpns, versions, names, ipfixprobe):
    sv = [v for v in versions if not grease(v)]
    if sv:
        if ipfixprobe:  # largest as a signed 16-bit value
            ver = max(sv, key=lambda v: v - 65536 if v >= 32768 else v)
        else:
            ver = max(sv)
    else:
        ver = legacy
    if ipfixprobe:
        sni = "d" if names else "i"
    else:
        sni = "d" if 0 in exts else "i"
    cs = [c for c in ciphers if not grease(c)]
    ne = len(exts) if ipfixprobe else len([e for e in exts if not grease(e)])
    nc, ne = min(len(cs), 99), min(ne, 99)
    counts = ("%d%d" if ipfixprobe else "%02d%02d") % (nc, ne)
    a = "%s%s%s%s%s" % (proto, VERSION_LABELS.get(ver, "00"), sni, counts,
                        alpn_chars(alpns[0] if alpns else "", ipfixprobe))
    b = sha12(hexlist(sorted(cs))) if cs else "0" * 12
    ex = sorted(e for e in exts if not grease(e) and e not in (0, 16))
    sa = sigalgs if ipfixprobe else [s for s in sigalgs if not grease(s)]
    if ipfixprobe:
        c = sha12(hexlist(ex) + "_" + hexlist(sa))
    elif not ex:
        c = "0" * 12
    else:
        c = sha12(hexlist(ex) + ("_" + hexlist(sa) if sa else ""))
    return "%s_%s_%s" % (a, b, c)


def load_json(path, key):
    """Records carrying `key`, by client port and by (client address, port)."""
    by_port = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rec = json.loads(line)
                if key in rec:
                    by_port[rec["src_port"]] = rec
                    by_port[(ipaddress.ip_address(rec["src_addr"]), rec["src_port"])] = rec
    return by_port


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    tls_tsv, tls_json, foxio_json, quic_tsv, quic_json = argv[1:]
    ipx = load_json(tls_json, "tls_ja4")
    fox = load_json(foxio_json, "tls_ja4")
    quic = load_json(quic_json, "quic_sni")
    bad = checked = 0

    def mismatch(what, port, got, want):
        nonlocal bad
        bad += 1
        print("MISMATCH %s port %s: flowprobe %r, tshark-derived %r" % (what, port, got, want))

    for line in open(tls_tsv):
        f = line.rstrip("\n").split("\t")
        if len(f) < 11 or not f[1]:
            continue  # the tls plugin reads TCP (ip.proto is empty over IPv6); QUIC below
        port = int(f[1])
        if len(f) >= 13 and (f[11] or f[12]):
            port = (ipaddress.ip_address(f[11] or f[12]), port)
        ja3, ciphers, exts, sigalgs = f[3], ints(f[4]), ints(f[5]), ints(f[6])
        alpns = [x for x in f[7].split(",")] if f[7] else []
        versions, legacy, names = ints(f[8]), int(f[9], 0), f[10]
        if 50 in exts:
            print("SKIP port %s: signature_algorithms_cert present" % (port,))
            continue
        if port not in ipx or port not in fox:
            mismatch("record", port, None, "a ClientHello")
            continue
        checked += 1
        if ipx[port]["tls_ja3"] != ja3:
            mismatch("JA3", port, ipx[port]["tls_ja3"], ja3)
        want = ja4("t", legacy, ciphers, exts, sigalgs, alpns, versions, names, True)
        if ipx[port]["tls_ja4"] != want:
            mismatch("JA4 (ipfixprobe)", port, ipx[port]["tls_ja4"], want)
        want = ja4("t", legacy, ciphers, exts, sigalgs, alpns, versions, names, False)
        if fox[port]["tls_ja4"] != want:
            mismatch("JA4 (FoxIO)", port, fox[port]["tls_ja4"], want)
        first = names.split(",")[0] if names else ""
        if ipx[port]["tls_sni"] != first:
            mismatch("SNI", port, ipx[port]["tls_sni"], first)

    for line in open(quic_tsv):
        f = line.rstrip("\n").split("\t")
        if len(f) < 4:
            continue
        port = int(f[0])
        if port not in quic:
            mismatch("QUIC record", port, None, "a ClientHello")
            continue
        checked += 1
        rec = quic[port]
        if rec["quic_ch_parsed"] != 1:
            mismatch("QUIC_CH_PARSED", port, rec["quic_ch_parsed"], 1)
        if rec["quic_sni"] != f[1].split(",")[0]:
            mismatch("QUIC_SNI", port, rec["quic_sni"], f[1])
        if rec["quic_tls_ext_type"] != ints(f[2])[:30]:
            mismatch("QUIC_TLS_EXT_TYPE", port, rec["quic_tls_ext_type"], ints(f[2]))
        if rec["quic_tls_ext_len"] != ints(f[3])[:30]:
            mismatch("QUIC_TLS_EXT_LEN", port, rec["quic_tls_ext_len"], ints(f[3]))

    print("%d hellos checked, %d mismatches" % (checked, bad))
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
