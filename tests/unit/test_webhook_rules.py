"""The webhook rules: push URLs, which addresses may be reached, signatures, the retry
schedule, the payload."""

from __future__ import annotations

import ipaddress
import json
import time
from datetime import datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from service.config import Settings, SettingsError
from service.domain import webhooks as hooks
from service.domain.errors import DomainError, Err
from service.services.clock import LocalTime

LOOPBACK = hooks.parse_networks("127.0.0.0/8")
T0 = datetime(2026, 3, 2, 8, 0)


def refused(url: str, allowed: tuple[hooks.IpNetwork, ...] = ()) -> DomainError:
    with pytest.raises(DomainError) as excinfo:
        hooks.check_push_url(url, allowed)
    assert excinfo.value.err is Err.ERR_INVALID_PARAM
    assert excinfo.value.field == "pushSettings.url"
    return excinfo.value


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://example.com/h?x=1",
        "HTTPS://EXAMPLE.COM/",
        "https://hooks.example.com:8443/report",
        "http://93.184.216.34/hook",
        "http://[2606:4700::1111]/hook",
    ],
)
def test_public_http_and_https_urls_are_accepted(url: str) -> None:
    assert hooks.check_push_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "example.com/hook",
        "javascript:x",
        "file:///etc/passwd",
        "http:/x",
        "https://" + "a" * 2000,
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com:x/",
    ],
)
def test_urls_that_are_not_plain_http_are_invalid(url: str) -> None:
    refused(url)


@pytest.mark.parametrize("port", [22, 25, 0, 6667])
def test_ports_of_other_services_are_refused(port: int) -> None:
    assert str(port) in refused(f"http://example.com:{port}/").message


def test_credentials_in_the_url_are_refused() -> None:
    refused("https://user:secret@example.com/hook")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://api.localhost/",
        "http://10.1.2.3/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fd00::1]/",
        "http://0.0.0.0/",
    ],
)
def test_private_and_loopback_literal_addresses_are_refused_at_creation(url: str) -> None:
    refused(url)


def test_an_operator_allowed_network_is_accepted() -> None:
    assert hooks.check_push_url("http://127.0.0.1:8080/", LOOPBACK)
    assert hooks.check_push_url("http://localhost:8080/", LOOPBACK)
    refused("http://10.0.0.1/", LOOPBACK)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # shared address space (carrier-grade NAT)
        ("224.0.0.1", False),  # multicast
        ("239.255.255.250", False),
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:10.0.0.1", False),
    ],
)
def test_which_addresses_webhooks_may_reach(address: str, allowed: bool) -> None:
    assert hooks.address_allowed(ipaddress.ip_address(address)) is allowed


def test_allowed_networks_open_only_themselves() -> None:
    allowed = hooks.parse_networks("127.0.0.0/8, 10.0.0.0/8")
    assert hooks.address_allowed(ipaddress.ip_address("127.0.0.1"), allowed)
    assert hooks.address_allowed(ipaddress.ip_address("::ffff:10.1.1.1"), allowed)
    assert not hooks.address_allowed(ipaddress.ip_address("192.168.0.1"), allowed)


def test_a_bad_network_setting_is_named() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        hooks.parse_networks("127.0.0.0/8,10.0.0.0/33")


def test_signatures_verify_with_the_standard_webhooks_library() -> None:
    secret = hooks.new_secret(bytes(range(32)))
    assert secret.startswith("whsec_")
    body = b'{"pkgID":1}'
    now = int(time.time())
    headers = {
        "webhook-id": "msg_finsms_1",
        "webhook-timestamp": str(now),
        "webhook-signature": hooks.sign(secret, "msg_finsms_1", now, body),
    }
    assert Webhook(secret).verify(body, headers) == {"pkgID": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"pkgID":2}', headers)
    other = hooks.new_secret(bytes(32))
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)


def test_a_secret_needs_enough_random_bytes() -> None:
    with pytest.raises(ValueError):
        hooks.new_secret(b"short")


def test_retries_back_off_exponentially_with_jitter_and_stop_after_the_window() -> None:
    low = [hooks.next_attempt(T0, n, T0, 0.0) for n in (1, 2, 3, 4)]
    high = [hooks.next_attempt(T0, n, T0, 0.999999) for n in (1, 2, 3, 4)]
    assert [(d - T0).total_seconds() for d in low if d] == [2.5, 5, 10, 20]
    assert [round((d - T0).total_seconds()) for d in high if d] == [5, 10, 20, 40]
    capped = hooks.next_attempt(T0, 30, T0, 0.999999)
    assert capped is not None and capped - T0 <= hooks.MAX_DELAY
    near_end = T0 + timedelta(hours=23, minutes=50)
    assert hooks.next_attempt(T0, 30, near_end, 0.5) == T0 + timedelta(hours=24)
    assert hooks.next_attempt(T0, 31, T0 + timedelta(hours=24), 0.5) is None


def _pkg(state: int = 6) -> hooks.PushPackage:
    return hooks.PushPackage(7, "p7", 1, "u1", "abc", "Kampanya", state, "https://x.test/h",
                             3, 3, 3, 0)  # fmt: skip


def _item(item_id: int, state: int) -> hooks.SettledItem:
    return hooks.SettledItem(item_id, 7, f"x{item_id}", "905321111101", state, 1, 0,
                             T0, T0, T0 + timedelta(seconds=5), None)  # fmt: skip


def test_the_payload_has_the_shape_of_the_spec_in_local_time() -> None:
    (document,) = hooks.documents(_pkg(), 2, 1, [_item(1, 3), _item(2, 4)])
    body = json.loads(hooks.render(document, LocalTime("Europe/Istanbul").format))
    assert body["pkgID"] == 7 and body["customID"] == "abc" and body["userID"] == "u1"
    assert body["pkg"] == {
        "id": 7,
        "uuid": "p7",
        "customID": "abc",
        "state": 6,
        "title": "Kampanya",
        "statistics": {
            "total": 3,
            "credit": 3,
            "rCount": 3,
            "delivered": 2,
            "undelivered": 1,
            "invalid": 0,
        },
    }
    assert body["items"][0] == {
        "id": "1",
        "xid": "x1",
        "target": "905321111101",
        "state": 3,
        "setState": 6,
        "credit": 1,
        "operator": 0,
        "sendingDate": "2026-03-02T11:00:00",
        "deliveryDate": "2026-03-02T11:00:05",
        "error": None,
    }


def test_a_large_settlement_is_split_into_batches_of_items() -> None:
    settled = [_item(n, 3) for n in range(1, 2502)]
    documents = hooks.documents(_pkg(), 2501, 0, settled)
    sizes = [len(json.loads(d)["items"]) for d in documents]
    assert sizes == [1000, 1000, 501]


def test_a_bad_allow_list_stops_the_start_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="FINSMS_WEBHOOK_ALLOW_NETWORKS"):
        Settings(webhook_allow_networks="localhost")
