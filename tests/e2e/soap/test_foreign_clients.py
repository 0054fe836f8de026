"""Generated SOAP clients of other languages against a live server: PHP, Node, Java.

Each test skips with the reason when its tool is missing (install them with
scripts/install_soap_clients.sh); with FINSMS_REQUIRE_CLIENTS=1 (CI) they fail instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Database
from tests.e2e.conftest import Api
from tests.e2e.soap.conftest import (
    VENDOR_PASSWORD,
    VENDOR_USER,
    SoapServer,
    missing,
    require_tool,
    serve_vendor,
)

HERE = Path(__file__).parent
JAXWS_CLASSPATH = "/usr/share/java/jaxws-rt.jar"  # Debian jaxws; its manifest lists the rest


def run(args: list[str], cwd: Path | None = None, timeout: int = 180) -> str:
    """Run a client program; its stdout, failing the test with its output on error."""
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def targets(json_api: Any, pkg: int) -> dict[str, str | None]:
    """{target: msg} of a package's items, read over JSON."""
    return {i["target"]: i["msg"] for i in json_api.data("/sms/list-item", {"pkgID": pkg})["list"]}


# --- PHP SoapClient (WSDL mode) ---------------------------------------------------------


def php_soap_available() -> None:
    """Skip/fail unless php with the soap extension is installed."""
    require_tool("php")
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, timeout=30).stdout
    if "soap" not in modules.split():
        missing("PHP's soap extension is not installed (apt-get install php-soap)")


def test_php_soapclient(soap_server: SoapServer, json_api: Api) -> None:
    php_soap_available()
    out = json.loads(
        run(
            [
                "php",
                str(HERE / "php" / "client.php"),
                soap_server.wsdl_url,
                VENDOR_USER,
                VENDOR_PASSWORD,
            ]
        )
    )
    for kind in ("single", "oneToMany", "manyToMany", "manyToManyArrays"):
        assert out[kind]["err"] is None, out[kind]
    single, one_n, n_n = (out[k]["data"]["pkgID"] for k in ("single", "oneToMany", "manyToMany"))
    assert targets(json_api, single) == {"905511034554": None}
    assert set(targets(json_api, one_n)) == {"905511034554", "905433404971"}
    assert targets(json_api, n_n) == {"905511034554": "PHP A", "905433404971": "PHP B"}
    arrays = out["manyToManyArrays"]["data"]["pkgID"]
    assert targets(json_api, arrays) == {"905511034554": "PHP dizi A", "905433404971": "PHP dizi B"}
    items = json_api.data("/sms/list-item", {"pkgID": arrays})["list"]
    assert {i["target"]: i["xid"] for i in items} == {
        "905511034554": "php-xid-a",
        "905433404971": None,
    }

    packages = out["packages"]["data"]
    assert packages["stats"]["totalRecord"] == 3
    assert sorted(p["id"] for p in packages["list"]["item"]) == sorted([single, one_n, n_n])
    assert all(p["senders"]["item"] == ["BASLIK"] for p in packages["list"]["item"])
    items = out["items"]["data"]["list"]["item"]
    assert sorted(i["msg"] for i in items) == ["PHP A", "PHP B"]
    assert [s["title"] for s in out["senders"]["data"]["list"]["item"]] == ["BASLIK"]
    assert out["credit"]["data"]["credit"] == json_api.data("/user/credit")["credit"] == 100_000 - 7

    assert out["denied"]["data"] is None
    assert out["denied"]["err"]["code"] == "ERR_UNAUTHORIZED_REQUEST"
    assert out["denied"]["err"]["status"] == 401
    assert out["notFound"]["err"]["code"] == "ERR_SMS_PKG_NOT_FOUND"
    assert out["notFound"]["err"]["smsCode"] == "SMS06"


# --- Node: the npm soap package ---------------------------------------------------------

NODE_DIR = HERE / "node"


def node_soap_available() -> None:
    """Skip/fail unless node and the project-local npm soap package are installed."""
    require_tool("node")
    if not (NODE_DIR / "node_modules" / "soap").is_dir():
        missing(f"npm soap is not installed in {NODE_DIR} (run scripts/install_soap_clients.sh)")


def test_node_soap(soap_server: SoapServer, json_api: Api) -> None:
    node_soap_available()
    out = json.loads(
        run(["node", "client.js", soap_server.wsdl_url, VENDOR_USER, VENDOR_PASSWORD], cwd=NODE_DIR)
    )
    assert out["credit"]["data"]["credit"] == 100_000
    single, one_n, n_n = (out[k]["data"]["pkgID"] for k in ("single", "oneToMany", "manyToMany"))
    assert "err" not in out["single"]  # node-soap leaves out a nil <err>
    assert targets(json_api, single) == {"905511034554": None}
    assert set(targets(json_api, one_n)) == {"905511034554", "905433404971"}
    assert targets(json_api, n_n) == {"905511034554": "Node A", "905433404971": "Node B"}
    assert out["denied"]["err"]["code"] == "ERR_UNAUTHORIZED_REQUEST"
    assert out["creditAfter"]["data"]["credit"] == 100_000 - 5


# --- Java: a JAX-WS client generated by wsimport ------------------------------------------


def java_available() -> None:
    """Skip/fail unless wsimport, javac, java and the JAX-WS runtime are installed."""
    require_tool("wsimport", "javac", "java")
    if not Path(JAXWS_CLASSPATH).exists():
        missing(f"{JAXWS_CLASSPATH} missing (apt-get install jaxws)")


def build_java_client(wsdl_url: str, workdir: Path) -> Path:
    """wsimport the WSDL, compile the generated code and FinSmsClient; the class dir."""
    sources, classes = workdir / "src", workdir / "classes"
    sources.mkdir()
    classes.mkdir()
    run(["wsimport", "-quiet", "-Xnocompile", "-s", str(sources), "-p", "finsms.soap", wsdl_url])
    java_files = [str(p) for p in sources.rglob("*.java")]
    assert any(p.endswith("SmsSoapService.java") for p in java_files)
    run(
        [
            "javac",
            "-nowarn",
            "-encoding",
            "UTF-8",
            "-cp",
            JAXWS_CLASSPATH,
            "-d",
            str(classes),
            *java_files,
            str(HERE / "java" / "FinSmsClient.java"),
        ]
    )
    return classes


def run_java(classes: Path, wsdl_url: str, endpoint: str | None = None) -> dict[str, Any]:
    """Run FinSmsClient; its JSON output."""
    args = [
        "java",
        "-cp",
        f"{classes}:{JAXWS_CLASSPATH}",
        "FinSmsClient",
        wsdl_url,
        VENDOR_USER,
        VENDOR_PASSWORD,
    ]
    return json.loads(run(args + ([endpoint] if endpoint else [])))  # type: ignore[no-any-return]


@pytest.fixture
def other_server(sqlite_template: Path, tmp_path: Path) -> Iterator[SoapServer]:
    """A second live server: another address, so another target namespace."""
    shutil.copy(sqlite_template, tmp_path / "other.db")
    yield from serve_vendor(Database("sqlite", f"sqlite:///{tmp_path / 'other.db'}"))


def test_java_wsimport_client(soap_server: SoapServer, json_api: Api, tmp_path: Path) -> None:
    java_available()
    classes = build_java_client(soap_server.wsdl_url, tmp_path)
    out = run_java(classes, soap_server.wsdl_url)
    one_n, n_n = out["oneToMany"]["pkgID"], out["manyToMany"]["pkgID"]
    assert set(targets(json_api, one_n)) == {"905511034554", "905433404971"}
    assert targets(json_api, n_n) == {"905511034554": "Java A", "905433404971": "Java B"}
    assert sorted(out["items"]) == ["905433404971=Java B", "905511034554=Java A"]
    assert out["denied"] == "ERR_UNAUTHORIZED_REQUEST" and out["deniedStatus"] == 401


def test_java_client_generated_for_another_namespace(
    soap_server: SoapServer, other_server: SoapServer, tmp_path: Path
) -> None:
    """Generated from one server's WSDL, calling another whose namespace differs: the
    request is routed by local name and the answer comes back in the client's namespace
    (JAX-WS checks it), as for integrations generated from the vendor's own WSDL."""
    java_available()
    classes = build_java_client(soap_server.wsdl_url, tmp_path)
    out = run_java(classes, soap_server.wsdl_url, endpoint=other_server.soap_url)
    assert "pkgID" in out["oneToMany"] and "pkgID" in out["manyToMany"]
    assert sorted(out["items"]) == ["905433404971=Java B", "905511034554=Java A"]
