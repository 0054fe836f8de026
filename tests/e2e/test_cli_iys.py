"""`finsms iys`: operators set users' İYS codes, record and list consents, and run a sync
pass with the simulated İYS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import finsms


@pytest.fixture
def url(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FINSMS_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("FINSMS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("FINSMS_IYS_SIMULATOR_RULES", "99=rejected")
    url = f"sqlite:///{tmp_path / 'finsms.db'}"
    assert finsms(capsys, "migrate", "--database", url)[0] == 0
    created = finsms(capsys, "user", "create", "acme", "--password", "secret12", "--database", url)
    assert created[0] == 0
    return url


def test_settings_are_set_in_steps_and_shown(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = finsms(capsys, "iys", "show", "acme", "--json", "--database", url)
    assert code == 0 and json.loads(out)["iysCode"] is None
    finsms(capsys, "iys", "settings", "acme", "--iys-code", "123456", "--database", url)
    finsms(capsys, "iys", "settings", "acme", "--brand-code", "654321", "--database", url)
    code, out, _ = finsms(capsys, "iys", "show", "acme", "--json", "--database", url)
    assert (json.loads(out)["iysCode"], json.loads(out)["brandCode"]) == ("123456", "654321")
    code, _, err = finsms(capsys, "iys", "settings", "acme", "--iys-code", "x1", "--database", url)
    assert code == 1 and err.startswith("error: ERR_INVALID_PARAM (SMS61)")
    code, _, err = finsms(capsys, "iys", "show", "nobody", "--database", url)
    assert code == 1 and "ERR_USER_NOT_FOUND" in err


def test_consents_are_recorded_synced_and_listed(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    finsms(
        capsys, "iys", "settings", "acme", "--iys-code", "1", "--brand-code", "2", "--database", url
    )
    assert finsms(capsys, "iys", "consent", "acme", "05321111101", "--database", url)[0] == 0
    args = ("iys", "consent", "acme", "5321111199", "--source", "HS_MESAJ", "--database", url)
    assert finsms(capsys, *args)[0] == 0
    code, out, _ = finsms(capsys, "iys", "sync", "--json", "--database", url)
    assert code == 0 and json.loads(out) == {
        "claimed": 2,
        "accepted": 1,
        "rejected": 1,
        "retried": 0,
    }
    code, out, _ = finsms(capsys, "iys", "consents", "acme", "--json", "--database", url)
    states = {c["recipient"]: (c["iysState"], c["source"]) for c in json.loads(out)}
    assert states == {
        "905321111101": ("2 accepted", "HS_WEB"),
        "905321111199": ("-2 rejected", "HS_MESAJ"),
    }
    code, _, err = finsms(capsys, "iys", "consent", "acme", "123", "--database", url)
    assert code == 1 and "ERR_INVALID_PARAM" in err
