"""Reference echo servers for the echo benchmark (bench/src/echo.bench.ts):
CPython's asyncio, or uvloop, serving the same protocol echo as iomux's
examples/src/loop-protocol-echo-server.ts (data_received -> transport.write).

    python3 bench/python/echo_server.py --loop asyncio|uvloop [--port 0]

Prints one line "listening on HOST:PORT (backend NAME)" once it accepts
connections; exits on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import signal
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def main(host, port, name):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, host, port, backlog=1024)
    h, p = server.sockets[0].getsockname()[:2]
    print(f"listening on {h}:{p} (backend {name})", flush=True)
    done = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: done.done() or done.set_result(None))
    await done
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    if a.loop == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(a.host, a.port, a.loop))
    sys.exit(0)
