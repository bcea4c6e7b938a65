#!/usr/bin/env python3
"""Wrap the messages of an IPFIX file (RFC 5655: messages back to back) into a
pcap capture of UDP datagrams, one message per datagram, so that
`flowcollector -listen pcap:///FILE` replays them as if received over UDP.

usage: ipfix2pcap.py IN.ipfix OUT.pcap [--src 192.0.2.1] [--port 4739]

Each message is framed by its own length field (RFC 7011 3.1); a version that
is not 10, a length under 16 or past the end of the file is an error (exit 1),
never skipped silently.  Frames are Ethernet / IPv4 / UDP with correct
lengths (checksums zero: "not computed", RFC 768), timestamps one
millisecond apart starting at each message's export time.
"""
import struct
import sys


def ip_checksum(hdr):
    s = 0
    for i in range(0, len(hdr), 2):
        s += hdr[i] << 8 | hdr[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main(argv):
    args = argv[1:]
    src, port = "192.0.2.1", 4739
    if "--src" in args:
        i = args.index("--src"); src = args[i + 1]; del args[i:i + 2]
    if "--port" in args:
        i = args.index("--port"); port = int(args[i + 1]); del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    data = open(args[0], "rb").read()
    out = open(args[1], "wb")
    out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))  # LINKTYPE_ETHERNET
    off = n = 0
    saddr = bytes(int(x) for x in src.split("."))
    daddr = bytes([127, 0, 0, 1])
    while off < len(data):
        if len(data) - off < 16:
            sys.exit("ipfix2pcap: %d stray bytes at offset %d" % (len(data) - off, off))
        ver, length, etime = struct.unpack_from(">HHI", data, off)
        if ver != 10 or length < 16 or off + length > len(data):
            sys.exit("ipfix2pcap: bad message at offset %d (version %d, length %d)" % (off, ver, length))
        if length + 28 > 65535:
            sys.exit("ipfix2pcap: message at offset %d (%d bytes) does not fit a UDP datagram" % (off, length))
        msg = data[off:off + length]
        udp = struct.pack(">HHHH", port, port, 8 + length, 0) + msg
        ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n & 0xffff, 0, 64, 17, 0,
                                   saddr, daddr))
        struct.pack_into(">H", ip, 10, ip_checksum(ip))
        frame = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + bytes(ip) + udp
        out.write(struct.pack("<IIII", etime, n % 1000 * 1000, len(frame), len(frame)))
        out.write(frame)
        off += length
        n += 1
    out.close()
    print("%d messages" % n)


if __name__ == "__main__":
    main(sys.argv)
