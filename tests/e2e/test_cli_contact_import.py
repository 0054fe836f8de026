"""`finsms contact import / imports`: a CSV file imported at once, as an operator runs it,
with the header row as the columns or --columns, and the imports listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service import cli


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSMS_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("FINSMS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.delenv("FINSMS_DATABASE_URL", raising=False)


def finsms(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_a_file_then_list_the_imports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database", f"sqlite:///{tmp_path / 'f.db'}"]
    assert finsms(capsys, "migrate", *db)[0] == 0
    finsms(capsys, "user", "create", "acme", "--password", "password1", "--type", "3", *db)
    rows = [f"'9053{i:08d}','Ad {i}','Grup {i % 2}','x'" for i in range(2500)]
    path = tmp_path / "book.csv"
    body = "\r\n".join(["'GSM','FIRST_NAME','GROUP_NAME','NOTE'", *rows, "'1','bad','G','y'"])
    path.write_bytes(("\ufeff" + body + "\r\n").encode())
    code, out, err = finsms(capsys, "--json", "contact", "import", "acme", str(path), *db)
    assert code == 0, err
    shown = json.loads(out)
    assert shown["state"] == "done"
    assert shown["stats"] == {
        "total": 2501,
        "created": 2500,
        "updated": 0,
        "unchanged": 0,
        "invalid": 1,
    }
    assert shown["invalidRows"] == [{"line": 2502, "reason": "GSM: geçerli bir numara değil"}]
    no_header = tmp_path / "plain.csv"
    no_header.write_text("'905300000000','Yeni'\n", encoding="utf-8")
    code, out, _ = finsms(capsys, "contact", "import", "acme", str(no_header), *db,
                          "--columns", "gsm,first_name", "--overwrite", "--blacklist")  # fmt: skip
    assert code == 0 and "updated 1" in out
    code, out, _ = finsms(capsys, "contact", "imports", "acme", *db)
    assert code == 0 and out.count("done") == 2
    code, _, err = finsms(capsys, "contact", "import", "acme", str(path), "--group", "nope", *db)
    assert code == 1 and "SMS10" in err
    code, _, err = finsms(capsys, "contact", "import", "nobody", str(path), *db)
    assert code == 1 and "ERR_USER_NOT_FOUND" in err
