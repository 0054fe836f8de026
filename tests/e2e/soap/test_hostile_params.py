"""Hostile values over SOAP: the same clear errors as over JSON, never a server error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Database
from tests.e2e.soap.conftest import VENDOR_PASSWORD, VENDOR_USER, SoapServer, serve_vendor
from tests.e2e.soap.helpers import data_of, err_of


@pytest.fixture
def any_soap_server(db: Database) -> Iterator[SoapServer]:
    """The real app over each database, with the vendor examples' user."""
    yield from serve_vendor(db)


def _envelope(operation: str, fields: str, credentials: bool = True) -> str:
    login = f"<username>{VENDOR_USER}</username><password>{VENDOR_PASSWORD}</password>"
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:sms="http://127.0.0.1/wsdl/sms"><soapenv:Body>'
        f"<sms:{operation}>{login if credentials else ''}{fields}</sms:{operation}>"
        "</soapenv:Body></soapenv:Envelope>"
    )


@pytest.mark.parametrize(
    "fields, field",
    [
        ("<pageSize>" + "9" * 5000 + "</pageSize>", "pageSize"),  # int(): a ValueError
        ("<pageIndex>-" + "9" * 5000 + "</pageIndex>", "pageIndex"),
        ("<pageSize>0</pageSize>", "pageSize"),  # the spec's minimum is 10
        ("<pageSize>9</pageSize>", "pageSize"),
        ("<pageSize>1001</pageSize>", "pageSize"),
        ("<pageIndex>-1</pageIndex>", "pageIndex"),
    ],
    ids=["size-5000-digits", "index-5000-digits", "size-0", "size-9", "size-1001", "index-neg"],
)
def test_paging_out_of_range_is_invalid_naming_the_field(
    soap_server: SoapServer, fields: str, field: str
) -> None:
    err = err_of(soap_server.post(_envelope("getSmsPackages", fields), "getSmsPackages"))
    assert (err["code"], err["field"], err["status"]) == ("ERR_INVALID_PARAM", field, "400")


def test_paging_at_its_bounds_is_accepted(soap_server: SoapServer) -> None:
    for fields in ("<pageSize>10</pageSize>", "<pageSize>1000</pageSize><pageIndex>0</pageIndex>"):
        data = data_of(soap_server.post(_envelope("getSmsPackages", fields), "getSmsPackages"))
        assert data["stats"]["totalRecord"] == "0"


def test_a_nul_in_the_basic_auth_user_name_is_a_wrong_login_on_both_databases(
    any_soap_server: SoapServer,
) -> None:
    # "a\0b:pw" over HTTP Basic: PostgreSQL refused the lookup, ERR_INTERNAL_SERVER.
    response = any_soap_server.post(
        _envelope("getUserCredit", "", credentials=False),
        "getUserCredit",
        Authorization="Basic YQBiOnB3",
    )
    assert err_of(response)["code"] == "ERR_UNAUTHORIZED_REQUEST"
