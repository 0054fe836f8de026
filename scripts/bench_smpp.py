#!/usr/bin/env python3.11
"""Throughput of SmppCarrier against a plain smpplib loop, to the same test SMSC.

    PYTHONPATH=. python3.11 scripts/bench_smpp.py [--messages 2000] [--rounds 3]

Rounds alternate (ours, plain, ours, plain, ...) so both see the same machine load. Ours:
`--binds` transceivers, a window of `--window` each, no TPS limit. Plain: one smpplib
client, the same total window (sends while fewer than binds*window are unanswered, else
reads a resp), the fastest a single-threaded smpplib loop gets. Prints both rates and
the ratio of the medians. Needs node and tests/smsc installed (scripts/install_test_smsc.sh).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import smpplib.client
import smpplib.smpp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.delivery.carriers.smpp import make_smpp_carrier
from service.domain.carrier import Submission
from service.services.clock import Clock
from tests.smsc_fixture import Smsc, wait_for


class _NoEvents:
    """LinkEvents that drop everything (the benchmark sends no receipts)."""

    def receipts(self, receipts: Any) -> None:
        """Drop."""

    def inbound(self, messages: Any) -> None:
        """Drop."""


def ours(smsc: Smsc, n: int, binds: int, window: int) -> float:
    """Messages per second through SmppCarrier.submit (one batch of n)."""
    carrier = make_smpp_carrier("bench", smsc.options(binds=binds, window=window), Clock())
    carrier.open(_NoEvents())
    wait_for(lambda: sum(s.bound for s in carrier.sessions) == binds, what="binds")
    batch = [
        Submission(i, 1, "905321234567", f"Benchmark message {i}", 0, 1, 0, "FINSMS", 60, None)
        for i in range(n)
    ]
    start = time.perf_counter()
    results = carrier.submit(batch)
    elapsed = time.perf_counter() - start
    carrier.close()
    assert sum(r.accepted for r in results) == n, "not every message was accepted"
    return n / elapsed


def plain(smsc: Smsc, n: int, window: int) -> float:
    """Messages per second through a plain windowed smpplib loop."""
    client = smpplib.client.Client("127.0.0.1", smsc.port, allow_unknown_opt_params=True)
    client.connect()
    client.bind_transceiver(system_id=smsc.system_id, password=smsc.password)
    start = time.perf_counter()
    sent = answered = 0
    while answered < n:
        if sent < n and sent - answered < window:
            client.send_message(
                source_addr_ton=5,
                source_addr_npi=0,
                source_addr="FINSMS",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr="905321234567",
                short_message=f"Benchmark message {sent}".encode(),
                registered_delivery=1,
                validity_period="000000010000000R",
            )
            sent += 1
        else:
            pdu = client.read_pdu()
            if pdu.command == "submit_sm_resp":
                assert pdu.status == 0
                answered += 1
    elapsed = time.perf_counter() - start
    client.unbind()
    client.disconnect()
    return n / elapsed


def main() -> None:
    """Run the interleaved rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--binds", type=int, default=2)
    parser.add_argument("--window", type=int, default=20)
    args = parser.parse_args()
    smsc = Smsc()
    smsc.start()
    try:
        ours_rates, plain_rates = [], []
        for r in range(args.rounds):
            ours_rates.append(ours(smsc, args.messages, args.binds, args.window))
            plain_rates.append(plain(smsc, args.messages, args.binds * args.window))
            smsc.call("POST", "/reset")
            rates = f"ours {ours_rates[-1]:.0f}/s, plain smpplib {plain_rates[-1]:.0f}/s"
            print(f"round {r + 1}: {rates}")
    finally:
        smsc.stop()
    a, b = statistics.median(ours_rates), statistics.median(plain_rates)
    print(f"median: SmppCarrier {a:.0f} msg/s, plain smpplib {b:.0f} msg/s, ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
