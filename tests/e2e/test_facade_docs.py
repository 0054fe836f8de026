"""The FinSMS v1 documentation's own examples against a real `finsms serve --workers 2`.

The cURL calls run in bash with the real curl, the JavaScript fetch flows under Node and
the Python requests flow under Python, each taken from the documentation as written
(tests/e2e/facade_docs: the English and the Turkish editions), changed only in the base
URL and the credentials. The third edition (seeds 000) is the English text again with
its code blocks broken by a converter (line continuations split from their lines): its
examples are the English ones. Then a burst of one key's requests spread over the two
workers meets the rate limit once, for both together.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.test_cli_and_serve import FINSMS, _free_port, _wait_until_up, run
from tests.e2e.test_throttle_workers import _children, _connect_to
from tests.redis_helpers import redis_or_skip

DOCS = Path(__file__).parent / "facade_docs"
DOC_BASES = ("https://makrosms.com/api/v1/sms", "https://platform.finsms.io/api/v1/sms")
RATE = 10  # per key and minute: more than any one example needs
_BLOCK = re.compile(r"```(bash|javascript|python)\n(.*?)```", re.S)


@dataclass
class Server:
    """A live server and what the examples need of it."""

    base: str
    db_url: str
    process: subprocess.Popen[str]

    def key(self) -> tuple[str, str]:
        """A fresh API key of the demo customer: (key, secret)."""
        shown = json.loads(run(self.db_url, "apikey", "create", "acme", "--json").stdout)
        return shown["key"], shown["secret"]


@contextmanager
def serving(tmp: Path, extra_env: dict[str, str]) -> Iterator[Server]:
    """`finsms serve --workers 2` over a new SQLite database with the demo customer."""
    db_url = f"sqlite:///{tmp / 'facade.db'}"
    run(db_url, "migrate")
    run(db_url, "user", "create", "acme", "--password", "right-pass", "--type", "3")
    run(db_url, "credit", "add", "acme", "1000")
    run(db_url, "sender", "add", "acme", "FinSMS", "--approve")
    port = _free_port()
    env = {
        **os.environ,
        "FINSMS_DATABASE_URL": db_url,
        "FINSMS_ARGON2_TIME_COST": "1",
        "FINSMS_ARGON2_MEMORY_KIB": "8192",
        "FINSMS_SIMULATOR_REPORT_DELAY": "0.2",
        "FINSMS_FACADE_RATE_LIMIT": f"{RATE}/minute",
        **extra_env,
    }
    process = subprocess.Popen(
        [*FINSMS, "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield Server(base, db_url, process)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server of the documentation's examples (rate limit in the database)."""
    with serving(tmp_path_factory.mktemp("facade"), {}) as live:
        yield live


def examples(language: str) -> list[tuple[str, str]]:
    """(document, code) of every example in a language, in document order."""
    found = []
    for doc in sorted(DOCS.glob("*.md")):
        for lang, code in _BLOCK.findall(doc.read_text(encoding="utf-8")):
            if lang == language and ("your_api_key" in code or "API_KEY =" in code):
                found.append((doc.name, code))
    return found


def localised(code: str, server: Server, key: str, secret: str) -> str:
    """The example with our base URL and credentials, and nothing else changed."""
    for base in DOC_BASES:
        code = code.replace(base, f"{server.base}/api/v1/sms")
    code = code.replace("your_api_key", key).replace("your_api_secret", secret)
    assert "https://" not in code and "your_api" not in code, code
    return code


def test_the_documentation_has_the_examples_this_file_runs() -> None:
    assert [len(examples(lang)) for lang in ("bash", "javascript", "python")] == [8, 5, 1]


@pytest.mark.parametrize("index", range(8))
def test_each_curl_example_gets_the_documented_answer(
    server: Server, index: int, tmp_path: Path
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl not installed")
    doc, code = examples("bash")[index]
    key, secret = server.key()
    # The example runs as written; curl's own config file adds the HTTP status after the
    # body (and quiet progress), as a user's ~/.curlrc would.
    (tmp_path / ".curlrc").write_text('silent\nshow-error\nwrite-out = "\\n%{http_code}"\n')
    result = subprocess.run(
        ["bash", "-c", localised(code, server, key, secret)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "CURL_HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text, status = result.stdout.rsplit("\n", 1)
    body = json.loads(text)
    if "/report" in code:  # the examples report an id of theirs: not one of ours
        assert (status, body) == ("404", {
            "Status": "Error", "Error": "SMS mesajı bulunamadı", "Report": []
        }), doc  # fmt: skip
    elif "Messages" in code:
        assert status == "200" and body["Status"] == "OK" and body["SuccessCount"] == 2, body
        assert body["FailedCount"] == 0 and len(body["MessageIds"]) == 1
    else:
        assert status == "200" and body["Status"] == "OK" and body["MessageId"].isdigit(), body


def node(code: str) -> str:
    """Run an example as an ES module (top-level await) under Node; its output."""
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    result = subprocess.run(
        ["node", "--input-type=module", "-e", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stderr, result.stderr
    return result.stdout


def test_the_javascript_examples_send_and_report(server: Server) -> None:
    outputs = []
    for _doc, code in examples("javascript"):
        key, secret = server.key()
        outputs.append(node(localised(code, server, key, secret)))
    send, report, complete, send_tr, report_tr = outputs
    assert re.fullmatch(r"SMS sent: \d+\n", send), send
    assert report == "" and report_tr == ""  # an id of the documentation: not OK, no output
    assert re.fullmatch(
        r"SMS sent successfully! MessageId: \d+\n"
        r"Phone: 905321234567\nStatus: İletildi\nNetwork: Turkcell\n",
        complete,
    ), complete
    assert re.fullmatch(r"SMS gönderildi: \d+\n", send_tr), send_tr


def test_the_python_example_sends_and_reports(server: Server) -> None:
    ((_doc, code),) = examples("python")
    key, secret = server.key()
    code = localised(code, server, key, secret)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"SMS sent! MessageId: \d+\n"
        r"Phone: 905321234567, Status: İletildi, Network: Turkcell\n",
        result.stdout,
    ), result.stdout


def test_a_burst_over_two_workers_meets_one_limit(server: Server) -> None:
    burst(server)


def test_a_burst_over_two_workers_meets_one_limit_in_redis(tmp_path: Path) -> None:
    env = {
        "FINSMS_REDIS_URL": redis_or_skip(),
        "FINSMS_REDIS_PREFIX": f"finsms-test-{uuid.uuid4().hex}",
    }
    with serving(tmp_path, env) as live:
        burst(live)


def burst(server: Server) -> None:
    """RATE + 3 requests of one new key alternating between the two workers: the limit
    holds for both together (429 with Retry-After), and each request is audited."""
    key, secret = server.key()
    workers = _children(server.process.pid)
    assert len(workers) == 2, workers
    answers = [_report(server, key, secret, workers[n % 2], workers) for n in range(RATE + 3)]
    statuses = [status for status, _ in answers]
    assert statuses == [404] * RATE + [429] * 3
    for _, retry_after in answers[RATE:]:
        assert retry_after is not None and 1 <= int(retry_after) <= 60
    # Both workers wrote every request to the audit log that operators read.
    audit = json.loads(run(server.db_url, "apikey", "audit", "--key", key, "--json").stdout)
    assert [(e["endpoint"], e["status"]) for e in reversed(audit)] == [
        ("report", s) for s in statuses
    ]
    assert {e["address"] for e in audit} == {"127.0.0.1"}


def _report(
    server: Server, key: str, secret: str, worker: int, workers: list[int]
) -> tuple[int, str | None]:
    """One report request over a new connection that `worker` accepted."""
    port = int(server.base.rsplit(":", 1)[1])
    conn: http.client.HTTPConnection = _connect_to(port, worker, workers)
    try:
        body = json.dumps({"User": key, "Pass": secret, "MessageId": "999999999"})
        conn.request("POST", "/api/v1/sms/report", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = json.loads(response.read())
        assert answer["Status"] == "Error" and answer["Report"] == [], answer  # not ours
        return response.status, response.headers.get("Retry-After")
    finally:
        conn.close()
