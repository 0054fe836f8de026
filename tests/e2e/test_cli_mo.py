"""`finsms mo`: operators give users short numbers and opt-out keywords, and read the
opt-outs the MO messages recorded."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from service.config import Settings
from service.domain.carrier import InboundMessage
from service.services import mo
from service.services.platform import Platform
from tests.conftest import finsms


@pytest.fixture
def url(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FINSMS_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("FINSMS_ARGON2_MEMORY_KIB", "8192")
    url = f"sqlite:///{tmp_path / 'finsms.db'}"
    assert finsms(capsys, "migrate", "--database", url)[0] == 0
    assert (
        finsms(capsys, "user", "create", "acme", "--password", "secret12", "--database", url)[0]
        == 0
    )
    assert (
        finsms(capsys, "user", "create", "rival", "--password", "secret12", "--database", url)[0]
        == 0
    )
    return url


def test_numbers_are_added_listed_and_removed(capsys: pytest.CaptureFixture[str], url: str) -> None:
    assert finsms(capsys, "mo", "number", "add", "acme", "2222", "--database", url)[:2] == (
        0,
        "acme: 2222 added\n",
    )
    finsms(capsys, "mo", "number", "add", "acme", "finsms", "--database", url)
    code, out, _ = finsms(capsys, "mo", "number", "list", "acme", "--json", "--database", url)
    assert code == 0 and [n["number"] for n in json.loads(out)] == ["2222", "FINSMS"]
    code, _, err = finsms(capsys, "mo", "number", "add", "rival", "2222", "--database", url)
    assert code == 1 and err.startswith("error: ERR_MO_ALREADY_EXISTS (SMS24)")
    code, _, err = finsms(capsys, "mo", "number", "remove", "rival", "2222", "--database", url)
    assert code == 1 and err.startswith("error: ERR_MO_NOT_FOUND (SMS26)")
    assert finsms(capsys, "mo", "number", "remove", "acme", "2222", "--database", url)[0] == 0
    code, out, _ = finsms(capsys, "mo", "number", "list", "acme", "--database", url)
    assert "2222" not in out and "FINSMS" in out
    code, _, err = finsms(capsys, "mo", "number", "add", "acme", "x", "--database", url)
    assert code == 1 and "ERR_INVALID_PARAM" in err


def test_keywords_fold_and_opt_outs_are_listed(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    finsms(capsys, "mo", "number", "add", "acme", "2222", "--database", url)
    assert finsms(capsys, "mo", "keyword", "add", "acme", "İPTAL", "--database", url)[1] == (
        "acme: iptal added\n"
    )
    code, _, err = finsms(capsys, "mo", "keyword", "add", "acme", "IPTAL", "--database", url)
    assert code == 1 and err.startswith("error: ERR_MO_KEYWORD_ALREADY_EXISTS (SMS25)")
    finsms(capsys, "mo", "keyword", "add", "acme", "ret", "--database", url)
    code, out, _ = finsms(capsys, "mo", "keyword", "list", "acme", "--json", "--database", url)
    assert json.loads(out) == [{"keyword": "iptal"}, {"keyword": "ret"}]
    assert finsms(capsys, "mo", "keyword", "remove", "acme", "RET", "--database", url)[0] == 0
    platform = Platform(Settings(database_url=url))
    try:
        at = datetime(2026, 5, 4, 9, 0)
        mo.receive(platform, [InboundMessage("05321234567", "2222", "ıptal", at, "sim", "1")])
    finally:
        platform.close()
    code, out, _ = finsms(capsys, "mo", "optouts", "acme", "--database", url)
    header, row = out.strip().splitlines()
    assert code == 0 and header.split()[:3] == ["number", "exit", "type"]
    assert row.split() == ["905321234567", "1", "2026-05-04T12:00:00"]
