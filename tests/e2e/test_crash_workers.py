"""Four `finsms worker` processes on PostgreSQL, one of them SIGKILLed ten times while a
10,000-item package goes out: every item ends in exactly one final state, the carrier is
handed each at most once, and the credit ledger balances.

The carrier is pluggable (`CrashCarrier`):

- the simulator, whose submissions are journalled to a file before it answers, so what
  the carrier was handed is known outside the processes that were killed. Its pending
  receipts die with its process: the items whose receipts died are settled at the end by
  the timeout pass, run with a clock moved past their validity and the hour of grace;
- an SMPP link (stored in the database, as `finsms link add` stores it) to the test SMSC
  (tests/smsc), which records every submit_sm (by destination: one number per item) and
  keeps every receipt until a deliver_sm_resp ESME_ROK, redelivering those a killed
  worker's bind never answered to the binds still up. Only items a killed worker left
  "sending" (submit_sm written, its resp lost with the process: no reference recorded
  for the receipt to find) need the timeout pass.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from service.delivery.carriers.registry import VALIDATORS
from service.domain.constants import ItemState
from service.domain.packages import FINAL_ITEM_STATES, REFUNDED_ITEM_STATES
from service.services import delivery, links
from service.services.clock import Clock, FixedClock
from tests.conftest import PG_URL, Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import SMS, balance, call, principal
from tests.smsc_fixture import Smsc, require_smsc

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ITEMS = 10_000
WORKERS = 4
KILLS = 10
CREDIT = 20_000
# By the last digit of the number (and the last two): how the simulator answers.
RULES = "3=undelivered,7=rejected,99=silent"
OUTCOME_STATE = {
    "delivered": ItemState.DELIVERED,
    "undelivered": ItemState.UNDELIVERED,
    "rejected": ItemState.REJECTED,
    "silent": ItemState.TIMED_OUT,
}
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CrashCarrier:
    """How the workers of a crash test reach a carrier, and what the carrier saw."""

    name: str
    env: dict[str, str]  # settings given to every worker
    # (item id, outcome, id of the worker process) per hand-over
    handed_over: Callable[[], list[tuple[int, str, int]]]
    # Called once the package exists, before the workers start (links to add...).
    setup: Callable[[SqlPlatform], None] = lambda platform: None
    # What the carrier has to say about the run, for the printed figures.
    describe: Callable[[], str] = lambda: ""


def simulator_carrier(tmp_path: Path) -> CrashCarrier:
    """The built-in simulator, journalling each submission before it answers."""
    journal = tmp_path / "journal"

    def handed_over() -> list[tuple[int, str, int]]:
        lines = journal.read_text().splitlines() if journal.exists() else []
        rows = (line.split("\t") for line in lines)
        return [(int(i), outcome, int(pid)) for i, _link, outcome, pid in rows]

    env = {
        "FINSMS_CARRIERS": "simulator",
        "FINSMS_SIMULATOR_RULES": RULES,
        "FINSMS_SIMULATOR_REPORT_DELAY": "0.3",
        "FINSMS_SIMULATOR_JOURNAL": str(journal),
    }
    return CrashCarrier("simulator", env, handed_over)


# The test SMSC's receipts by the last digits of the number, as RULES has them.
SMSC_RULES: dict[str, str | None] = {"3": "UNDELIV", "7": "REJECTD", "99": None}


def smsc_outcome(number: str) -> str:
    """The outcome the test SMSC gives a number (SMSC_RULES, longest suffix first)."""
    if number.endswith("99"):
        return "silent"
    return {"3": "undelivered", "7": "rejected"}.get(number[-1], "delivered")


def _port_owners(smsc_port: int) -> dict[int, int]:
    """{local TCP port: process id} of the connections to the SMSC's port (from /proc)."""
    inodes: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
                if int(remote, 16) == smsc_port:
                    inodes[fields[9]] = int(local, 16)
    owners: dict[int, int] = {}
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    owners[inodes[target[8:-1]]] = pid
    return owners


def smpp_carrier(tmp_path: Path, request: pytest.FixtureRequest) -> CrashCarrier:
    """An SMPP link in the database to a test SMSC that sends receipts by SMSC_RULES."""
    require_smsc()
    server = Smsc()
    server.start()
    request.addfinalizer(server.stop)
    server.call("POST", "/auto-receipt", {"stat": "DELIVRD", "rules": SMSC_RULES})
    item_of: dict[str, int] = {}
    pid_of: dict[int, int] = {}  # client port -> worker process, learnt while it lives

    def setup(platform: SqlPlatform) -> None:
        from service.store.schema import items

        with platform.store.read() as conn:
            item_of.update({t: i for t, i in conn.execute(select(items.c.target, items.c.id))})
        options = {k: str(v) for k, v in server.options(window=20).items()}
        links.add_link(platform, VALIDATORS, "smsc", "smpp", options, ["*"])

    def handed_over() -> list[tuple[int, str, int]]:
        rows: list[list[Any]] = server.call("GET", "/submitted")
        if any(port not in pid_of for _, port, _ in rows) or not rows:
            pid_of.update(_port_owners(server.port))
        return [(item_of[dest], smsc_outcome(dest), pid_of.get(port, 0)) for dest, port, _ in rows]

    def describe() -> str:
        deliveries: list[dict[str, Any]] = server.call("GET", "/deliveries")
        receipts = [d for d in deliveries if d["kind"] == "receipt"]
        keys = Counter(d["key"] for d in receipts)
        again = sum(1 for n in keys.values() if n > 1)
        unanswered = sum(1 for d in receipts if d["status"] != 0)
        pending = len(server.call("GET", "/pending"))
        return (
            f"; SMSC: {len(receipts)} deliver_sm for {len(keys)} receipts, {again} receipts "
            f"delivered again ({unanswered} deliver_sm never answered ESME_ROK), {pending} "
            "still pending"
        )

    return CrashCarrier("smpp", {}, handed_over, setup, describe)


@pytest.fixture(params=["simulator", "smpp"])
def crash_carrier(request: pytest.FixtureRequest, tmp_path: Path) -> CrashCarrier:
    """Each carrier the crash test runs against."""
    if request.param == "smpp":
        return smpp_carrier(tmp_path, request)
    return simulator_carrier(tmp_path)


def _url(db: Database) -> str:
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}?options=-csearch_path%3D{db.search_path}"


class Workers:
    """`finsms worker` processes, started, killed and restarted by slot."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.started = 0
        self.killed: list[int] = []  # process ids

    def start(self, slot: int) -> None:
        """A new worker process in this slot."""
        self.started += 1
        log = (self.logs / f"worker-{self.started}.log").open("wb")
        self.procs[slot] = subprocess.Popen(
            [sys.executable, "-m", "service", "worker"],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self, slot: int) -> None:
        """SIGKILL the worker of a slot and reap it."""
        proc = self.procs[slot]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.killed.append(proc.pid)

    def wait_working(self, slot: int, carrier: CrashCarrier, waiting: Callable[[], int]) -> None:
        """Wait until the worker of a slot has handed something over (imports take a
        second or two), or there is nothing left to claim."""
        pid = self.procs[slot].pid
        _wait_for(
            lambda: any(p == pid for _, _, p in carrier.handed_over()) or not waiting(),
            30,
            "a worker to start sending",
        )

    def stop(self) -> None:
        """SIGTERM every worker and wait; SIGKILL those that do not stop."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def workers(pg_db: Database, crash_carrier: CrashCarrier, tmp_path: Path) -> Iterator[Workers]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FINSMS_")}
    env = {
        **clean,
        **crash_carrier.env,
        "PYTHONPATH": str(ROOT),
        "FINSMS_DATABASE_URL": _url(pg_db),
        "FINSMS_CLAIM_BATCH": "20",  # more passes: kills land mid-pass more often
        "FINSMS_POLL_INTERVAL": "0.05",
    }
    running = Workers(env, tmp_path)
    yield running
    running.stop()


def _states(platform: SqlPlatform) -> Counter[int]:
    from service.store.schema import items

    with platform.store.read() as conn:
        rows = conn.execute(select(items.c.state, func.count()).group_by(items.c.state)).all()
    return Counter({int(state): int(n) for state, n in rows})


def _wait_for(done: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_killed_workers_send_nothing_twice_and_every_credit_is_accounted_for(
    pg_db: Database, crash_carrier: CrashCarrier, workers: Workers
) -> None:
    platform = make_platform(pg_db)
    add_customer(platform, balance=CREDIT, duplicate_check=False)
    numbers = [f"90532{n:07d}" for n in range(ITEMS)]
    call(platform, principal(platform), "sms/create", **{**SMS, "numbers": numbers})
    crash_carrier.setup(platform)
    for slot in range(WORKERS):
        workers.start(slot)

    rng = random.Random(10)
    started = time.monotonic()
    mid_work = 0
    for _ in range(KILLS):  # the victim dies at random moments, mid-claim or mid-report
        workers.wait_working(0, crash_carrier, lambda: _states(platform)[ItemState.WAITING])
        time.sleep(rng.uniform(0.0, 0.2))
        mid_work += bool(_states(platform)[ItemState.WAITING])
        workers.kill(0)
        workers.start(0)
    during = _states(platform)
    _wait_for(lambda: _states(platform)[ItemState.WAITING] == 0, 90, "every item to be claimed")
    elapsed = time.monotonic() - started
    time.sleep(2)  # the live workers' last receipts
    workers.stop()

    # What is left "sent" or "sending" belonged to a killed worker: its receipts died with
    # it. Settled as they would be a day later: timed out at validity + 60 minutes.
    later = make_platform(pg_db, clock=FixedClock(Clock().now() + timedelta(minutes=1440 + 61)))
    left = _states(platform)
    while delivery.expire(later) or delivery.apply_receipts(later).settled:
        pass

    states = _states(platform)
    assert set(states) <= {int(s) for s in FINAL_ITEM_STATES}, states
    assert sum(states.values()) == ITEMS
    handed = crash_carrier.handed_over()
    times = Counter(i for i, _, _ in handed)
    assert max(times.values()) == 1  # never handed over twice
    _check_outcomes(platform, {i: outcome for i, outcome, _ in handed})
    _check_ledger(platform)
    by_victims = sum(1 for _, _, pid in handed if pid in workers.killed)
    print(
        f"\n{crash_carrier.name}: {workers.started} worker processes in {elapsed:.1f} s, "
        f"{mid_work} of {KILLS} kills while items waited; "
        f"states after the kills {dict(during)}, before the timeout pass {dict(left)}, after "
        f"{dict(states)}; handed over {len(handed)}, {by_victims} by processes later killed"
        f"{crash_carrier.describe()}"
    )


def _check_outcomes(platform: SqlPlatform, handed: dict[int, str]) -> None:
    """An item the carrier settled has the state the carrier gave it; one never handed
    over timed out (claimed by a worker that died before submitting it)."""
    from service.store.schema import items

    with platform.store.read() as conn:
        rows = conn.execute(select(items.c.id, items.c.state)).all()
    for item_id, state in rows:
        if item_id not in handed:
            assert state == ItemState.TIMED_OUT, (item_id, state)
        elif state != ItemState.TIMED_OUT:  # not a receipt that died with a worker
            assert state == OUTCOME_STATE[handed[item_id]], (item_id, state)


def _check_ledger(platform: SqlPlatform) -> None:
    """Balance = credit given - the package's debit + refunds, and the refunds are
    exactly the failed items' credit, each refunded once."""
    from service.store.schema import credit_ledger, items

    user_id = principal(platform).user_id
    with platform.store.read() as conn:
        by_reason = dict(
            conn.execute(
                select(credit_ledger.c.reason, func.sum(credit_ledger.c.amount))
                .where(credit_ledger.c.user_id == user_id)
                .group_by(credit_ledger.c.reason)
            ).all()
        )
        failed = [int(s) for s in REFUNDED_ITEM_STATES]
        owed = conn.execute(
            select(func.coalesce(func.sum(items.c.credit), 0)).where(items.c.state.in_(failed))
        ).scalar_one()
        wrongly = conn.execute(
            select(func.count()).where(items.c.refunded != items.c.state.in_(failed))
        ).scalar_one()
    assert wrongly == 0
    assert by_reason.get("refund", 0) == owed
    assert balance(platform) == sum(by_reason.values()) == CREDIT - ITEMS + owed
