"""Sending gateways (/sms/list-gateway): the carrier links, each with the caller's
approved senders, on the in-memory unit of work."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from service.api.node import functions
from service.api.node.params import Params
from service.config import Settings
from service.domain.carrier import gateway_uuid, split_links
from service.domain.constants import SenderState, UserType
from service.domain.principal import Principal
from service.services import gateways, senders, users
from service.services.platform import Platform
from service.store.memory import MemoryUnitOfWork

LINKS = "sim-a=simulator, sim-b=simulator"
NOW = datetime(2026, 3, 2, 8, 0)


def platform_with(carriers: str) -> Platform:
    settings = Settings(
        argon2_time_cost=1, argon2_memory_kib=8, secret_key="unit", carriers=carriers
    )
    return Platform(settings, uow=MemoryUnitOfWork())


@pytest.fixture
def platform() -> Platform:
    return platform_with(LINKS)


def user(platform: Platform, name: str, **titles: SenderState) -> Principal:
    users.create_user(platform, name, "password", UserType.STANDARD)
    for title, state in titles.items():
        senders.add_sender(platform, name, title, state)
    return platform.auth.principal_of(name)


def test_every_link_with_the_callers_approved_senders_only(platform: Platform) -> None:
    acme = user(
        platform,
        "acme",
        ZETA=SenderState.APPROVED,
        ALFA=SenderState.APPROVED,
        BEKLE=SenderState.WAITING,
        RED=SenderState.REJECTED,
    )
    user(platform, "other", OTHER=SenderState.APPROVED)
    found = gateways.list_gateways(platform, acme)
    assert [(g.name, g.uuid, g.senders) for g in found] == [
        ("sim-a", gateway_uuid("sim-a"), ("ALFA", "ZETA")),
        ("sim-b", gateway_uuid("sim-b"), ("ALFA", "ZETA")),
    ]


def test_uuids_are_stable_per_link_name_and_distinct() -> None:
    assert gateway_uuid("sim-a") == gateway_uuid("sim-a") != gateway_uuid("sim-b")
    assert uuid.UUID(gateway_uuid("sim-a")).version == 5


def test_a_link_named_after_its_kind() -> None:
    assert split_links(" simulator ,b=simulator,") == [
        ("simulator", "simulator"),
        ("b", "simulator"),
    ]
    platform = platform_with("simulator")
    (gateway,) = gateways.list_gateways(platform, user(platform, "acme"))
    assert gateway.uuid == gateway_uuid("simulator") and gateway.senders == ()


def test_more_approved_senders_than_one_page(platform: Platform) -> None:
    acme = user(platform, "acme")
    with platform.uow.write() as tx:
        for i in range(1001):
            tx.senders.add(f"u{i}", acme.user_id, f"S{i:04d}", int(SenderState.APPROVED), NOW)
    (first, _) = gateways.list_gateways(platform, acme)
    assert len(first.senders) == 1001 and first.senders[-1] == "S1000"


def test_the_node_api_view(platform: Platform) -> None:
    acme = user(platform, "acme", ALFA=SenderState.APPROVED)
    data = functions.list_gateways(platform, acme, Params({}))
    assert data == {
        "stats": {"totalRecord": 2},
        "list": [
            {"uuid": gateway_uuid("sim-a"), "senders": ["ALFA"]},
            {"uuid": gateway_uuid("sim-b"), "senders": ["ALFA"]},
        ],
    }
