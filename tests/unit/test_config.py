"""Settings read from FINSMS_* environment variables."""

from __future__ import annotations

import os

import pytest

from service.config import Settings, SettingsError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FINSMS_* variable of the surrounding shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("FINSMS_"):
            monkeypatch.delenv(name)


def test_defaults_without_environment() -> None:
    s = Settings.from_env()
    assert s == Settings()
    assert s.database_url == "sqlite:///finsms.db"
    assert s.port == 9587
    assert s.host == "0.0.0.0"
    assert s.timezone == "Europe/Istanbul"
    assert s.embedded_worker is True
    assert s.soap_namespace is None
    assert s.simulator_rules == ""
    assert s.simulator_report_delay == 1.0


def test_string_setting_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSMS_DATABASE_URL", "postgresql://u@h/db")
    assert Settings.from_env().database_url == "postgresql://u@h/db"


def test_int_setting_is_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSMS_PORT", "9588")
    monkeypatch.setenv("FINSMS_CLAIM_BATCH", "25")
    s = Settings.from_env()
    assert s.port == 9588
    assert s.claim_batch == 25


def test_float_setting_is_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSMS_POLL_INTERVAL", "0.5")
    monkeypatch.setenv("FINSMS_SIMULATOR_REPORT_DELAY", "3")
    s = Settings.from_env()
    assert s.poll_interval == 0.5
    assert s.simulator_report_delay == 3.0


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " On "])
def test_true_flags(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("FINSMS_EMBEDDED_WORKER", raw)
    assert Settings.from_env(embedded_worker=False).embedded_worker is False
    assert Settings.from_env().embedded_worker is True


@pytest.mark.parametrize("raw", ["0", "false", "no", "off", ""])
def test_false_flags(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("FINSMS_EMBEDDED_WORKER", raw)
    assert Settings.from_env().embedded_worker is False


def test_optional_string_empty_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSMS_SOAP_NAMESPACE", "")
    assert Settings.from_env().soap_namespace is None


def test_optional_string_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSMS_SOAP_NAMESPACE", "http://sms.example:9587/wsdl/sms")
    assert Settings.from_env().soap_namespace == "http://sms.example:9587/wsdl/sms"


def test_simulator_rules_are_read_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSMS_SIMULATOR_RULES", "0001=rejected,*=delivered")
    assert Settings.from_env().simulator_rules == "0001=rejected,*=delivered"


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSMS_PORT", "9588")
    assert Settings.from_env(port=1234).port == 1234


def test_lower_case_variable_names_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("finsms_port", "1")
    assert Settings.from_env().port == 9587


def test_unrelated_variables_do_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "1")
    monkeypatch.setenv("FINSMS_EXTRA", "x")
    s = Settings.from_env()
    assert s.port == 9587
    assert s == Settings()


def test_a_non_numeric_int_setting_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSMS_PORT", "http")
    with pytest.raises(ValueError):
        Settings.from_env()


def test_base_url_derived_from_the_port() -> None:
    assert Settings(port=9600).base_url == "http://localhost:9600"


def test_base_url_from_public_url_without_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSMS_PUBLIC_URL", "https://sms.example.com:9588/")
    assert Settings.from_env().base_url == "https://sms.example.com:9588"


def test_with_returns_a_changed_copy() -> None:
    s = Settings()
    t = s.with_(port=1, workers=8)
    assert (t.port, t.workers) == (1, 8)
    assert s.port == 9587
    assert t.database_url == s.database_url


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().port = 1  # type: ignore[misc]


def test_one_thread_per_worker_unless_finsms_threads_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().threads == 1
    monkeypatch.setenv("FINSMS_THREADS", "8")
    assert Settings.from_env().threads == 8


@pytest.mark.parametrize(
    "name, raw",
    [
        ("CLAIM_BATCH", "0"),
        ("POLL_INTERVAL", "0"),
        ("WORKERS", "0"),
        ("THREADS", "-1"),
        ("BATCH_WAIT", "-0.5"),
        ("PORT", "70000"),
        ("MAX_MESSAGE_PARTS", "0"),
    ],
)
def test_a_value_the_server_cannot_run_with_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, raw: str
) -> None:
    # FINSMS_CLAIM_BATCH=0 made the dispatcher loop on the database without a pause.
    monkeypatch.setenv(f"FINSMS_{name}", raw)
    with pytest.raises(SettingsError, match=f"FINSMS_{name}"):
        Settings.from_env()


def test_a_value_of_the_wrong_type_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FINSMS_BATCH_WAIT", "soon")
    with pytest.raises(SettingsError, match="FINSMS_BATCH_WAIT='soon'"):
        Settings.from_env()


def test_the_cli_reports_a_bad_setting_as_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.cli import main

    monkeypatch.setenv("FINSMS_CLAIM_BATCH", "0")
    assert main(["migrate", "--database", "sqlite://"]) == 2
    assert "FINSMS_CLAIM_BATCH=0: must be at least 1" in capsys.readouterr().err
