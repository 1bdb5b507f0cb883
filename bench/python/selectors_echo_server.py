"""The echo server of CPython's `selectors` documentation ("Examples"),
as the echo benchmark's reference for examples/src/selectors-echo-server.ts.

    python3 bench/python/selectors_echo_server.py [--host H] [--port P]

The docs' code below, changed only where marked: the host and port come
from the command line (the docs bind localhost:1234), the server prints
"listening on HOST:PORT (backend NAME)" once it listens, as every server of
the benchmark does, and the docs' per-event prints print only with
IOMUX_VERBOSE=1, as in the iomux port. Printed, each echo costs repr(conn)
(getsockname and getpeername) and the write: 5x the server's CPU per
message (see ECHO-SELECTORS in bench/README.md). SIGTERM ends it (Python's
default action).
"""
import argparse
import builtins
import os

ap = argparse.ArgumentParser()
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, default=0)
args = ap.parse_args()
# changed: the docs' prints only when asked for, as in the iomux port
print = builtins.print if os.environ.get("IOMUX_VERBOSE") == "1" else (lambda *a, **k: None)

# ---- the docs' code (https://docs.python.org/3/library/selectors.html#examples)
import selectors
import socket

sel = selectors.DefaultSelector()

def accept(sock, mask):
    conn, addr = sock.accept()  # Should be ready
    print('accepted', conn, 'from', addr)
    conn.setblocking(False)
    sel.register(conn, selectors.EVENT_READ, read)

def read(conn, mask):
    data = conn.recv(1000)  # Should be ready
    if data:
        print('echoing', repr(data), 'to', conn)
        conn.send(data)  # Hope it won't block
    else:
        print('closing', conn)
        sel.unregister(conn)
        conn.close()

sock = socket.socket()
sock.bind((args.host, args.port))  # changed: the docs bind ('localhost', 1234)
sock.listen(100)
sock.setblocking(False)
sel.register(sock, selectors.EVENT_READ, accept)
# added: the benchmark's handshake
builtins.print("listening on %s:%d (backend %s)" % (*sock.getsockname()[:2], type(sel).__name__), flush=True)

while True:
    events = sel.select()
    for key, mask in events:
        callback = key.data
        callback(key.fileobj, mask)
