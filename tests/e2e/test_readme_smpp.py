"""The README's "Connecting an operator's SMSC, step by step" works as written: its
`finsms link` commands, run against the test SMSC (only the host and port changed), then
the README's "first SMS" request through the live server and a dispatcher, delivered."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from service import cli
from service.delivery.carriers.registry import make_dispatcher
from service.domain.constants import ItemState
from tests.conftest import Database, make_platform, start_server
from tests.integration.test_links import database_url
from tests.smsc_fixture import Smsc, require_smsc, wait_for

README = Path(__file__).resolve().parents[2] / "README.md"


def smpp_steps() -> list[list[str]]:
    """The commands of the README's smpp-steps block (continuations joined)."""
    text = README.read_text()
    block = text.split("<!-- smpp-steps", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


def first_sms() -> tuple[dict[str, Any], tuple[str, str]]:
    """The body and credentials of the README's first /sms/create request."""
    text = README.read_text()
    match = re.search(r"curl -s -u (\w+):(\w+) .*?-d '(\{.*?\})'", text, re.S)
    assert match is not None, "the first SMS request is not in the README"
    return json.loads(match.group(3)), (match.group(1), match.group(2))


@pytest.fixture
def smscs() -> Iterator[dict[str, Smsc]]:
    """Test SMSCs with the README's two accounts, by the README's host:port."""
    require_smsc()
    servers = {
        "smsc.example.net:2775": Smsc(system_id="ACME", password="s3cret"),
        "smsc.other.example.net:2776": Smsc(system_id="ACME-ALL", password="pa55"),
    }
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


def local(line: list[str], smscs: dict[str, Smsc]) -> list[str]:
    """A command of the README, its --option host=/port= pointing at the test SMSCs."""
    text = " ".join(shlex.quote(a) for a in line)
    for address, server in smscs.items():
        host, port = address.split(":")
        text = text.replace(
            f"host={host} --option port={port}", f"host=127.0.0.1 --option port={server.port}"
        )
    return shlex.split(text)


def test_the_readme_smpp_steps_connect_the_smsc_and_the_first_sms_is_delivered(
    pg_db: Database,
    smscs: dict[str, Smsc],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FINSMS_DATABASE_URL", raising=False)
    steps = smpp_steps()
    assert [s[:3] for s in steps][:2] == [["finsms", "link", "add"]] * 2
    outputs = []
    for step in steps:
        assert step[0] == "finsms"
        args = local(step[1:], smscs)
        assert "example.net" not in " ".join(args)
        code = cli.main([*args, "--database", database_url(pg_db)])
        out, err = capsys.readouterr()
        assert code == 0, (step, out, err)
        outputs.append(out)
    assert any(re.fullmatch(r"turkcell-1: bound in \d+\.\d{3} s\n", o) for o in outputs)
    assert "s3cret" not in "".join(outputs) and "pa55" not in "".join(outputs)

    platform = make_platform(pg_db)
    cli.seed_demo(platform)
    acme_smsc = smscs["smsc.example.net:2775"]
    acme_smsc.call("POST", "/auto-receipt", {"stat": "DELIVRD"})
    server = start_server(platform)
    dispatcher = make_dispatcher(platform)
    dispatcher.start()
    try:
        body, auth = first_sms()
        created = requests.post(f"{server.url}/sms/create", json=body, auth=auth, timeout=10)
        package_id = created.json()["data"]["pkgID"]

        def state() -> int:
            listed = requests.post(
                f"{server.url}/sms/list-item", json={"pkgID": package_id}, auth=auth, timeout=10
            )
            return int(listed.json()["data"]["list"][0]["state"])

        wait_for(lambda: state() == ItemState.DELIVERED, 15, "the first SMS delivered")
    finally:
        dispatcher.stop()
        server.close()
    [submitted] = acme_smsc.submits()
    assert (submitted["destination_addr"], submitted["text"]) == (body["number"], body["content"])
