#!/usr/bin/env python3
"""Count UDP datagrams on 127.0.0.1:PORT until SIGTERM; print 'datagrams bytes'.

Used by bench/ipfix.sh so exported datagrams have a socket to land on (with
no listener, loopback answers every datagram with an ICMP error, which costs
the sender).  Drops under load are fine: the benchmark measures the sender.
"""
import signal
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.2)
n = b = 0
run = True


def stop(*_):
    global run
    run = False


signal.signal(signal.SIGTERM, stop)
while run:
    try:
        d = s.recv(65535)
        n += 1
        b += len(d)
    except socket.timeout:
        pass
print(n, b)
