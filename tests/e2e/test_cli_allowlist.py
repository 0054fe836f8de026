"""`finsms user allow-ip / deny-ip / allowed-ips`: the allow-list as an operator keeps it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import finsms

pytestmark = pytest.mark.usefixtures("cheap_cli")


def test_allow_deny_and_list_addresses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--database", f"sqlite:///{tmp_path / 'f.db'}"]
    assert finsms(capsys, "migrate", *db)[0] == 0
    assert (
        finsms(capsys, "user", "create", "acme", "--password", "password1", "--type", "3", *db)[0]
        == 0
    )
    code, out, _ = finsms(capsys, "user", "allow-ip", "acme", "10.0.0.0/24", *db)
    assert code == 0 and "10.0.0.0/24" in out
    finsms(capsys, "user", "allow-ip", "acme", "2001:db8::1", *db)
    code, out, _ = finsms(capsys, "--json", "user", "allowed-ips", "acme", *db)
    assert json.loads(out) == {"username": "acme", "allowed": ["10.0.0.0/24", "2001:db8::1/128"]}
    code, _, err = finsms(capsys, "user", "allow-ip", "acme", "10.0.0.1/24", *db)
    assert code == 1 and "ERR_INVALID_PARAM" in err
    code, _, err = finsms(capsys, "user", "allow-ip", "nobody", "10.0.0.1", *db)
    assert code == 1 and "ERR_USER_NOT_FOUND" in err
    finsms(capsys, "user", "deny-ip", "acme", "10.0.0.0/24", *db)
    code, out, _ = finsms(capsys, "user", "deny-ip", "acme", "2001:db8::1", *db)
    assert code == 0 and "every address allowed" in out
    code, _, err = finsms(capsys, "user", "deny-ip", "acme", "2001:db8::1", *db)
    assert code == 1 and "ERR_NOT_FOUND" in err
