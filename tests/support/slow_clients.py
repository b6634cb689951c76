"""Slow-client probe: many connections that trickle their headers, while a reader times the site.

A slowloris client opens a connection and sends its request headers one line at a time, slowly,
never finishing them. A server that parses a request in a blocking worker (gunicorn's sync worker,
or a gthread pool thread) gives each such connection a worker or a thread for as long as the
client cares to dribble, so a few of them take every worker and the dashboard stops answering.

``probe`` opens ``connections`` such connections to a server on loopback (each sends
``GET / HTTP/1.1`` and then one more header line every ``interval`` seconds, reopening whenever
the server closes one), and meanwhile GETs each of ``paths`` once a second for ``seconds``,
timing every answer. Everything is bounded: the number of sockets, the number of reopenings, the
duration, and each request's timeout; every socket is closed at the end.

Run as a script it prints the result as JSON, for measuring a server by hand::

    python tests/support/slow_clients.py http://127.0.0.1:8000 --connections 200 --seconds 30
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import math
import socket
import statistics
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

DASHBOARD_PATHS = ("/", "/api/summary")
# A bound on reopenings, so a server that closes every connection at once cannot spin us.
MAX_REOPEN_FACTOR = 20


@dataclass
class Answer:
    path: str
    status: int | None  # None: no answer within the timeout, or the connection failed
    seconds: float
    error: str = ""


@dataclass
class ProbeResult:
    connections: int
    seconds: float
    answers: list[Answer] = field(default_factory=list)
    opened: int = 0  # slow connections opened, reopenings included
    closed_by_server: int = 0  # slow connections the server closed (or refused) meanwhile
    open_at_end: int = 0  # slow connections still open when the probe stopped
    lines_sent: int = 0

    @property
    def answered(self) -> list[Answer]:
        return [a for a in self.answers if a.status == 200]

    def latency(self) -> dict[str, float | None]:
        times = [a.seconds for a in self.answered]
        if not times:
            return {"median": None, "max": None}
        return {"median": round(statistics.median(times), 3), "max": round(max(times), 3)}

    def summary(self) -> dict:
        return {
            "connections": self.connections,
            "seconds": self.seconds,
            "requests": len(self.answers),
            "answered_200": len(self.answered),
            "latency": self.latency(),
            "opened": self.opened,
            "closed_by_server": self.closed_by_server,
            "open_at_end": self.open_at_end,
            "lines_sent": self.lines_sent,
            "failures": [asdict(a) for a in self.answers if a.status != 200][:20],
        }


def _loopback_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    address = "127.0.0.1" if host == "localhost" else host
    if parts.scheme != "http" or not ipaddress.ip_address(address).is_loopback:
        raise ValueError(f"the slow-client probe only targets http on loopback, not {url!r}")
    return address, parts.port or 80


class _SlowSockets:
    """``count`` connections, each sending one more header line every ``interval`` seconds."""

    def __init__(self, address: tuple[str, int], *, count: int, interval: float) -> None:
        self.address = address
        self.count = count
        self.interval = interval
        self.sockets: list[socket.socket | None] = [None] * count
        self.sent: list[int] = [0] * count
        self.opened = 0
        self.closed_by_server = 0
        self.lines_sent = 0
        self.stop = threading.Event()

    def _open(self, slot: int) -> None:
        if self.opened >= self.count * MAX_REOPEN_FACTOR:
            return
        self.opened += 1
        sock = socket.socket(socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET)
        sock.settimeout(2.0)
        try:
            sock.connect(self.address)
            sock.sendall(b"GET / HTTP/1.1\r\n")
        except OSError:
            sock.close()
            self.closed_by_server += 1
            return
        sock.setblocking(False)
        self.sockets[slot] = sock
        self.sent[slot] = 0

    def _trickle(self, slot: int) -> None:
        sock = self.sockets[slot]
        if sock is None:
            self._open(slot)
            return
        line = f"X-Slow-{self.sent[slot]}: {slot}\r\n".encode()
        try:
            if sock.recv(4096, socket.MSG_PEEK) == b"":  # the server hung up on us
                raise ConnectionResetError
        except BlockingIOError:
            pass  # nothing to read: still open, as expected
        except OSError:
            sock.close()
            self.sockets[slot] = None
            self.closed_by_server += 1
            self._open(slot)
            return
        try:
            sock.send(line)
        except OSError:
            sock.close()
            self.sockets[slot] = None
            self.closed_by_server += 1
            self._open(slot)
            return
        self.sent[slot] += 1
        self.lines_sent += 1

    def run(self) -> None:
        """Open every connection, then visit each every ``interval`` seconds, spread evenly."""
        if not self.count:
            return  # a baseline run: the reader alone
        for slot in range(self.count):
            if self.stop.is_set():
                return
            self._open(slot)
        step = self.interval / self.count
        next_at = time.monotonic()
        slot = 0
        while not self.stop.is_set():
            next_at += step
            self._trickle(slot)
            slot = (slot + 1) % self.count
            self.stop.wait(max(0.0, next_at - time.monotonic()))

    def close(self) -> int:
        still_open = sum(sock is not None for sock in self.sockets)
        for slot, sock in enumerate(self.sockets):
            if sock is not None:
                sock.close()
                self.sockets[slot] = None
        return still_open


def _get(address: tuple[str, int], path: str, *, timeout: float) -> Answer:
    started = time.monotonic()
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": address[0], "Connection": "close"})
        response = conn.getresponse()
        response.read()
        return Answer(path=path, status=response.status, seconds=time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        return Answer(path, None, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def probe(
    url: str,
    *,
    connections: int = 200,
    seconds: float = 30.0,
    interval: float = 2.0,
    paths: tuple[str, ...] = DASHBOARD_PATHS,
    request_timeout: float = 5.0,
    settle: float = 2.0,
) -> ProbeResult:
    """Hold ``connections`` slow connections open to ``url`` (loopback only) and GET each of
    ``paths`` once a second for ``seconds``; the reader starts ``settle`` seconds after the slow
    connections, so they are all open (and have sent a line) before the first request."""
    address = _loopback_address(url)
    slow = _SlowSockets(address, count=connections, interval=interval)
    trickler = threading.Thread(target=slow.run, name="slow-clients", daemon=True)
    result = ProbeResult(connections=connections, seconds=seconds)
    # Each second's requests go out on time even while earlier ones still wait for an answer.
    reader = ThreadPoolExecutor(max_workers=len(paths) * (math.ceil(request_timeout) + 1))
    pending: list[Future[Answer]] = []
    trickler.start()
    try:
        time.sleep(settle)
        next_tick = time.monotonic()
        deadline = next_tick + seconds
        while next_tick < deadline:
            pending += [reader.submit(_get, address, p, timeout=request_timeout) for p in paths]
            next_tick += 1.0
            time.sleep(max(0.0, next_tick - time.monotonic()))
        result.answers = [future.result() for future in pending]
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
        slow.stop.set()
        trickler.join(timeout=10)
        result.open_at_end = slow.close()
    result.opened = slow.opened
    result.closed_by_server = slow.closed_by_server
    result.lines_sent = slow.lines_sent
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the server, on loopback: http://127.0.0.1:8000")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    result = probe(
        args.url,
        connections=args.connections,
        seconds=args.seconds,
        interval=args.interval,
        request_timeout=args.timeout,
    )
    print(json.dumps(result.summary(), indent=2))


if __name__ == "__main__":
    main()
