"""How long the dispatcher waits between passes."""

from __future__ import annotations

from service.delivery.dispatcher import pause_after

BATCH, IDLE, WAIT = 500, 0.2, 0.02


def test_a_full_batch_means_a_backlog_so_the_next_pass_starts_at_once() -> None:
    assert pause_after(BATCH, 0, BATCH, IDLE, WAIT) == 0.0


def test_items_trickling_in_are_gathered_for_the_batching_window() -> None:
    assert pause_after(3, 0, BATCH, IDLE, WAIT) == WAIT


def test_reports_settled_alone_also_wait_only_the_batching_window() -> None:
    assert pause_after(0, 7, BATCH, IDLE, WAIT) == WAIT


def test_a_pass_with_nothing_to_do_waits_the_idle_poll() -> None:
    assert pause_after(0, 0, BATCH, IDLE, WAIT) == IDLE
