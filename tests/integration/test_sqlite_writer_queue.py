"""An urgent SQLite writer (the dispatcher's OTP lane) goes ahead of the writers already
waiting for the write lock: in its process and across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from service.store.db import Store
from tests.conftest import Database

ROOT = Path(__file__).resolve().parents[2]


def _urgent_waiting(store: Store) -> int:
    writers = store._writers  # the queue's own count: who waits, not a guess from timing
    assert writers is not None
    return writers._urgent_waiting


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_an_urgent_writer_goes_before_writers_already_waiting_in_its_process(
    sqlite_db: Database,
) -> None:
    store = sqlite_db.store()
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with store.write():
            holding.set()
            release.wait(10)

    def writer(name: str, urgent: bool) -> None:
        first: AbstractContextManager[None] = store.urgent() if urgent else nullcontext()
        with first, store.write():
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    holding.wait(10)
    for name in ("bulk-1", "bulk-2"):
        threads.append(threading.Thread(target=writer, args=(name, False)))
        threads[-1].start()
    time.sleep(0.3)  # they wait for the lock (a plain lock: nothing to see of it)
    threads.append(threading.Thread(target=writer, args=("otp", True)))
    threads[-1].start()
    _until(lambda: _urgent_waiting(store) == 1, "the urgent writer to wait")
    release.set()
    for thread in threads:
        thread.join(10)
    assert order[0] == "otp" and sorted(order[1:]) == ["bulk-1", "bulk-2"], order
    store.dispose()


_CHILD = textwrap.dedent(
    """
    import sys, time
    from contextlib import nullcontext
    from service.store.db import Store
    store = Store(sys.argv[1])
    first = store.urgent() if sys.argv[2] == "urgent" else nullcontext()
    print("ready", flush=True)
    with first, store.write():
        print("wrote", time.monotonic_ns(), flush=True)
    store.dispose()
    """
)


def _child(url: str, kind: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, kind],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def test_an_urgent_writer_of_another_process_goes_before_ones_already_waiting(
    sqlite_db: Database,
) -> None:
    store = sqlite_db.store()
    with store.write():  # held here while the others queue
        bulk = [_child(sqlite_db.url, "bulk") for _ in range(3)]
        time.sleep(0.5)  # they wait for the lock (nothing to see of another process's wait)
        otp = _child(sqlite_db.url, "urgent")
        time.sleep(0.5)
    done = {}
    for name, child in [("otp", otp)] + [(f"bulk{n}", c) for n, c in enumerate(bulk)]:
        out, _ = child.communicate(timeout=30)
        assert child.returncode == 0
        done[name] = int(out.split()[1])
    assert min(done, key=done.__getitem__) == "otp", done
    store.dispose()
