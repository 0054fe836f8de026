"""MO messages in memory: keyword normalisation, routing by short number, opt-outs,
redeliveries stored once, and listings scoped to the caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from service.domain import mo as rules
from service.domain.carrier import InboundMessage
from service.domain.constants import ExitType, MoState, UserType
from service.domain.errors import DomainError
from service.domain.mo import MoFilter
from service.domain.principal import visible_to
from service.domain.queries import DateRange, PageRequest
from service.services import mo
from service.services.ports import Tx
from tests.unit.memory_platform import T0, MemoryPlatform


@pytest.mark.parametrize("spelling", ["İPTAL", "iptal", "IPTAL", "ıptal", "Iptal", "İptal."])
def test_every_spelling_of_iptal_folds_to_one_keyword(spelling: str) -> None:
    assert rules.first_word(spelling) == rules.check_keyword("İPTAL") == "iptal"


def test_other_turkish_letters_fold_to_their_ascii_base() -> None:
    assert rules.fold("ÇIKIŞ") == rules.fold("cikis") == "cikis"
    assert rules.first_word("  Ret, lütfen ") == "ret"
    assert rules.first_word("... !!") is None


@pytest.mark.parametrize("bad", ["", "iki kelime", "x" * 33, "!!"])
def test_a_keyword_is_one_word(bad: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        rules.check_keyword(bad)
    assert excinfo.value.err.name == "ERR_INVALID_PARAM" and excinfo.value.field == "keyword"


def test_short_numbers_are_kept_without_spaces_in_upper_case() -> None:
    assert rules.check_short_number(" 2222 ") == "2222"
    assert rules.check_short_number("finsms") == "FINSMS"
    with pytest.raises(DomainError):
        rules.check_short_number("2")
    with pytest.raises(DomainError):
        rules.check_short_number("22<22")


def test_a_long_carrier_id_is_stored_as_its_digest_never_cut() -> None:
    a, b = "x" * 200 + "a", "x" * 200 + "b"
    assert rules.stable_ref("abc") == "abc"
    assert rules.stable_ref(a) != rules.stable_ref(b)
    assert len(rules.stable_ref(a)) <= rules.CARRIER_REF_MAX


def mo_message(text: str = "İPTAL", ref: str = "r1", to: str = "2222") -> InboundMessage:
    return InboundMessage("05321234567", to, text, T0, "sim", ref)


@pytest.fixture
def host() -> MemoryPlatform:
    host = MemoryPlatform()
    host.add_user()  # user1
    host.add_user()  # user2
    with host.uow.write() as tx:
        tx.mo.add_number(1, "2222", T0)
        tx.mo.add_number(2, "3333", T0)
        tx.mo.add_keyword(1, "iptal", T0)
    return host


def listed(host: MemoryPlatform, user_id: int) -> list[str]:
    with host.uow.read() as tx:
        page = tx.mo.listing(
            visible_to(host.db.users[user_id].principal), MoFilter(), PageRequest()
        )
    return [m.carrier_ref for m in page.rows]


def test_an_mo_is_stored_under_the_user_of_its_short_number(host: MemoryPlatform) -> None:
    result = mo.receive(host, [mo_message("Merhaba", "a"), mo_message("Selam", "b", to="3333")])
    assert (result.stored, result.unrouted, result.opted_out) == (2, 0, 0)
    assert listed(host, 1) == ["a"] and listed(host, 2) == ["b"]
    with host.uow.read() as tx:
        (row,) = tx.mo.listing(
            visible_to(host.db.users[1].principal), MoFilter(), PageRequest()
        ).rows
    assert row.state == MoState.NO_MATCH and row.keyword is None and row.exit_type is None
    assert row.source == "905321234567"  # normalised, as the blacklist keeps numbers


def test_an_opt_out_keyword_records_the_opt_out_with_exit_type_mo(host: MemoryPlatform) -> None:
    result = mo.receive(host, [mo_message("ıptal lütfen", "a")])
    assert result.opted_out == 1
    with host.uow.read() as tx:
        (row,) = tx.mo.listing(
            visible_to(host.db.users[1].principal), MoFilter(), PageRequest()
        ).rows
        (optout,) = tx.mo.optouts(1)
    assert (row.state, row.keyword, row.exit_type) == (MoState.COMPLETED, "iptal", ExitType.MO)
    assert (optout.number, optout.exit_type, optout.created_at) == ("905321234567", ExitType.MO, T0)


def test_an_opt_out_blacklists_the_number_though_it_was_no_contact(host: MemoryPlatform) -> None:
    mo.receive(host, [mo_message("IPTAL", "a")])
    with host.uow.read() as tx:
        assert tx.blacklist.blocked(1, ["905321234567", "905321234568"]) == {"905321234567"}


def test_a_keyword_of_another_user_is_no_opt_out(host: MemoryPlatform) -> None:
    assert mo.receive(host, [mo_message("IPTAL", "a", to="3333")]).opted_out == 0
    with host.uow.read() as tx:
        assert tx.mo.optouts(2) == []


def test_a_redelivered_mo_is_stored_once(host: MemoryPlatform) -> None:
    mo.receive(host, [mo_message("IPTAL", "a")])
    again = mo.receive(host, [mo_message("IPTAL", "a"), mo_message("IPTAL", "b")])
    assert (again.stored, again.duplicates) == (1, 1)
    assert sorted(listed(host, 1)) == ["a", "b"]
    with host.uow.read() as tx:
        assert len(tx.mo.optouts(1)) == 1  # the same number opted out once


def test_an_unknown_destination_is_kept_with_no_user_and_counted(host: MemoryPlatform) -> None:
    result = mo.receive(host, [mo_message("IPTAL", "a", to="9999")])
    assert (result.stored, result.unrouted, result.opted_out) == (1, 1, 0)
    (row,) = host.db.extra["mo_messages"].values()
    assert row.user_id is None and row.state == MoState.FAILED
    assert listed(host, 1) == [] and listed(host, 2) == []


class FailingSink:
    def opt_out(self, tx: Tx, user_id: int, number: str, at: datetime) -> None:
        raise RuntimeError("blacklist unavailable")


def test_an_opt_out_that_fails_stores_nothing_of_the_batch(host: MemoryPlatform) -> None:
    with pytest.raises(RuntimeError):
        mo.receive(host, [mo_message("Merhaba", "a"), mo_message("IPTAL", "b")], FailingSink())
    assert listed(host, 1) == []  # the link must not acknowledge: it will be redelivered
    assert mo.receive(host, [mo_message("IPTAL", "b")]).stored == 1


class CountingSink:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str, datetime]] = []

    def opt_out(self, tx: Tx, user_id: int, number: str, at: datetime) -> None:
        self.calls.append((user_id, number, at))


def test_the_sink_is_given_the_user_number_and_time(host: MemoryPlatform) -> None:
    sink = CountingSink()
    mo.receive(host, [mo_message("IPTAL", "a"), mo_message("merhaba", "b")], sink)
    assert sink.calls == [(1, "905321234567", T0)]


def test_a_reseller_lists_a_descendants_mo_and_not_a_strangers(host: MemoryPlatform) -> None:
    host.db.users[1] = replace(host.db.users[1], user_type=UserType.RESELLER)
    child = host.add_user()
    host.db.users[child] = replace(host.db.users[child], parent_id=1)
    with host.uow.write() as tx:
        tx.mo.add_number(child, "4444", T0)
    mo.receive(host, [mo_message("x", "mine"), mo_message("y", "child", to="4444")])
    reseller = host.db.users[1].principal
    own = mo.list_requests(host, reseller, MoFilter(), PageRequest())
    assert [m.carrier_ref for m in own.rows] == ["mine"]
    below = mo.list_requests(host, reseller, MoFilter(), PageRequest(), user_uuid=f"u{child}")
    assert [m.carrier_ref for m in below.rows] == ["child"]
    with pytest.raises(DomainError) as excinfo:
        mo.list_requests(host, reseller, MoFilter(), PageRequest(), user_uuid="u2")
    assert excinfo.value.err.name == "ERR_USER_NOT_FOUND"


def test_listing_filters_by_keyword_text_number_and_dates(host: MemoryPlatform) -> None:
    later = replace(mo_message("Kampanya bilgisi", "b"), received_at=T0 + timedelta(hours=2))
    mo.receive(host, [mo_message("IPTAL", "a"), later])
    me = host.db.users[1].principal

    def refs(**filters: object) -> list[str]:
        found = mo.list_requests(host, me, MoFilter(**filters), PageRequest())  # type: ignore[arg-type]
        return [m.carrier_ref for m in found.rows]

    assert refs() == ["b", "a"]
    assert refs(keyword="iptal") == ["a"]
    assert refs(keyword="kampanya") == ["b"]
    assert refs(keyword="532123") == ["b", "a"]
    assert refs(dates=DateRange(T0 + timedelta(hours=1))) == ["b"]


def test_numbers_and_keywords_are_managed_with_the_spec_errors(host: MemoryPlatform) -> None:
    name = host.db.users[1].username
    assert mo.add_number(host, name, "5555").number == "5555"
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: mo.add_number(host, name, "3333"), "ERR_MO_ALREADY_EXISTS"),
        (lambda: mo.add_keyword(host, name, "İptal"), "ERR_MO_KEYWORD_ALREADY_EXISTS"),
        (lambda: mo.remove_number(host, name, "3333"), "ERR_MO_NOT_FOUND"),
        (lambda: mo.remove_keyword(host, name, "ret"), "ERR_MO_NOT_FOUND"),
        (lambda: mo.numbers(host, "nobody"), "ERR_USER_NOT_FOUND"),
    ]
    for call, code in calls:
        with pytest.raises(DomainError) as excinfo:
            call()
        assert excinfo.value.err.name == code
    mo.remove_keyword(host, name, "IPTAL")
    assert mo.keywords(host, name) == []
    assert [n.number for n in mo.numbers(host, name)] == ["2222", "5555"]
