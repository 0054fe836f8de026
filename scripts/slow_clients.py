"""Slow clients against `finsms serve`: do /health and /user/credit still answer?

Starts one `finsms serve` per configuration on loopback (the embedded defaults, each with
its own FINSMS_* changes), then, in rounds that alternate the order of configurations,
opens N connections that send their request slowly (a body, or the headers, one byte
every --interval seconds) and meanwhile probes /health and /user/credit with a short
timeout. Reports per configuration and mode: probes answered, median and worst latency.
Everything is on 127.0.0.1, bounded by --rounds x configurations x modes x --seconds.
Usage: python3.11 scripts/slow_clients.py [--clients 4] [--seconds 6] [--rounds 2]
       [--config LABEL:NAME=VALUE,...] (default: before:FINSMS_READ_THREADS=0 and after:)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only
AUTH = ("demo", "demo1234")
HEADS = {
    "body": b"POST /user/credit HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{",
    "headers": b"POST /user/credit HTTP/1.1\r\n",
}


@dataclass
class Probes:
    """Latencies of answered probes and the count of those that were not."""

    seconds: list[float] = field(default_factory=list)
    failed: int = 0

    def line(self) -> str:
        """`answered/total, median and worst latency`."""
        total = len(self.seconds) + self.failed
        if not self.seconds:
            return f"0/{total} answered"
        median, worst = statistics.median(self.seconds), max(self.seconds)
        return (
            f"{len(self.seconds)}/{total} answered, "
            f"median {median * 1000:.0f} ms, worst {worst * 1000:.0f} ms"
        )


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start(label: str, changes: dict[str, str], folder: Path) -> tuple[int, subprocess.Popen[bytes]]:
    """`finsms serve --demo` with the defaults plus `changes`; waits until it answers."""
    port = free_port()
    env = {
        **os.environ,
        "FINSMS_DATABASE_URL": f"sqlite:///{folder / f'{label}.db'}",
        "PYTHONPATH": str(ROOT),
        **changes,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--demo", "--host", HOST, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):
        try:
            requests.get(f"http://{HOST}:{port}/health", timeout=1)
            return port, proc
        except requests.RequestException:  # still booting
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{label}: server did not come up")


def trickle(port: int, count: int, mode: str, interval: float, stop: threading.Event) -> None:
    """Hold `count` connections sending their request one byte per interval until stop."""
    conns = []
    try:
        for _ in range(count):
            conn = socket.create_connection((HOST, port), timeout=5)
            conn.sendall(HEADS[mode])
            conns.append(conn)
        while not stop.wait(interval):
            for conn in conns:
                # The server may have closed it (a timeout): that is allowed.
                with contextlib.suppress(OSError):
                    conn.sendall(b" " if mode == "body" else b"X")
    finally:
        for conn in conns:
            conn.close()


def probe(port: int, seconds: float, timeout: float) -> dict[str, Probes]:
    """Probe /health and /user/credit every 0.25 s for `seconds`."""
    results = {"/health": Probes(), "/user/credit": Probes()}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for path, probes in results.items():
            started = time.monotonic()
            try:
                answer = requests.get(f"http://{HOST}:{port}{path}", auth=AUTH, timeout=timeout)
                answer.raise_for_status()
                probes.seconds.append(time.monotonic() - started)
            except requests.RequestException:
                probes.failed += 1
        time.sleep(0.25)
    return results


def phase(port: int, args: argparse.Namespace, mode: str) -> dict[str, Probes]:
    """Slow clients in one mode for --seconds, probed meanwhile."""
    stop = threading.Event()
    slow = threading.Thread(target=trickle, args=(port, args.clients, mode, args.interval, stop))
    slow.start()
    time.sleep(0.5)  # let the slow requests reach the server's threads
    try:
        return probe(port, args.seconds, args.timeout)
    finally:
        stop.set()
        slow.join()


def parse_configs(values: list[str]) -> dict[str, dict[str, str]]:
    """`LABEL:NAME=VALUE,...` into {label: {name: value}}."""
    configs = {}
    for value in values or ["before:FINSMS_READ_THREADS=0", "after:"]:
        label, _, changes = value.partition(":")
        configs[label] = dict(c.split("=", 1) for c in changes.split(",") if c)
    return configs


def main() -> None:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between bytes")
    parser.add_argument("--timeout", type=float, default=2, help="probe timeout")
    parser.add_argument("--mode", choices=["body", "headers", "both"], default="both")
    parser.add_argument("--config", action="append", default=[])
    args = parser.parse_args()
    configs = parse_configs(args.config)
    modes = ["body", "headers"] if args.mode == "both" else [args.mode]
    folder = Path(tempfile.mkdtemp(prefix="finsms-slow-"))
    servers = {label: start(label, changes, folder) for label, changes in configs.items()}
    totals = {
        (label, mode): {"/health": Probes(), "/user/credit": Probes()}
        for label in configs
        for mode in modes
    }
    try:
        for round_no in range(args.rounds):
            order = list(configs) if round_no % 2 == 0 else list(reversed(configs))
            for label in order:
                for mode in modes:
                    got = phase(servers[label][0], args, mode)
                    for path, probes in got.items():
                        totals[label, mode][path].seconds += probes.seconds
                        totals[label, mode][path].failed += probes.failed
                    print(
                        f"round {round_no + 1} {label} {mode}: "
                        + "; ".join(f"{p} {r.line()}" for p, r in got.items()),
                        flush=True,
                    )
    finally:
        for _port, proc in servers.values():
            proc.terminate()
            proc.wait(30)
        shutil.rmtree(folder, ignore_errors=True)
    pace = f"one byte every {args.interval} s; probe timeout {args.timeout} s"
    print(f"{args.clients} slow clients, {pace}")
    for (label, mode), results in totals.items():
        changes = ",".join(f"{k}={v}" for k, v in configs[label].items()) or "defaults"
        for path, probes in results.items():
            print(f"{label:8} ({changes}) {mode:7} {path:13} {probes.line()}")


if __name__ == "__main__":
    main()
