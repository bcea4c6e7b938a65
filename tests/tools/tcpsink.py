#!/usr/bin/env python3
"""A plain TCP sink on loopback: each accepted connection's bytes go to PREFIX.N.

usage: tcpsink.py PREFIX PORTFILE [PORT]
Writes the port it listens on to PORTFILE once ready (PORT 0 or absent = any
free port).  Runs until SIGTERM/SIGINT.  Binds 127.0.0.1 only.
"""
import os
import selectors
import signal
import socket
import sys

prefix, portfile = sys.argv[1], sys.argv[2]
port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
srv.setblocking(False)
sel = selectors.DefaultSelector()
sel.register(srv, selectors.EVENT_READ)
n = 0
files = {}
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(tmp, portfile)
while running:
    for key, _ in sel.select(timeout=0.1):
        if key.fileobj is srv:
            c, _ = srv.accept()
            c.setblocking(False)
            files[c] = open("%s.%d" % (prefix, n), "wb")
            n += 1
            sel.register(c, selectors.EVENT_READ)
        else:
            c = key.fileobj
            try:
                d = c.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if d:
                files[c].write(d)
                files[c].flush()
            else:
                sel.unregister(c)
                files.pop(c).close()
                c.close()
for c, f in files.items():
    f.close()
    c.close()
