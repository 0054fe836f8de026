"""`finsms apikey` as operators run it: create, list, rotate, revoke, audit."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli_and_serve import run


def test_an_operator_manages_keys_and_reads_the_audit_log(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'keys.db'}"
    run(db_url, "migrate")
    run(db_url, "user", "create", "acme", "--password", "right-pass", "--type", "3")
    shown = json.loads(
        run(db_url, "apikey", "create", "acme", "--label", "shop", "--allow-ip", "10.0.0.0/8",
            "--json").stdout
    )  # fmt: skip
    key = shown["key"]
    assert shown["label"] == "shop" and shown["allowedIps"] == ["10.0.0.0/8"]
    assert len(shown["secret"]) >= 40
    listed = run(db_url, "apikey", "list", "acme").stdout
    assert key in listed and shown["secret"] not in listed
    rotated = json.loads(run(db_url, "apikey", "rotate", key, "--json").stdout)
    assert rotated["secret"] != shown["secret"] and rotated["previousSecretUntil"]
    revoked = json.loads(run(db_url, "apikey", "revoke", key, "--json").stdout)
    assert revoked["revokedAt"] and "secret" not in revoked
    again = run(db_url, "apikey", "revoke", key, check=False)
    assert again.returncode == 1 and "ERR_API_KEY_NOT_FOUND" in again.stderr
    bad = run(db_url, "apikey", "create", "acme", "--allow-ip", "10.0.0.1/8", check=False)
    assert bad.returncode == 1 and "ERR_INVALID_PARAM" in bad.stderr
    nobody = run(db_url, "apikey", "create", "nobody", check=False)
    assert nobody.returncode == 1 and "ERR_USER_NOT_FOUND" in nobody.stderr
    assert json.loads(run(db_url, "apikey", "audit", "--key", key, "--json").stdout) == []
    assert "(no requests)" in run(db_url, "apikey", "audit", "--user", "acme").stdout
