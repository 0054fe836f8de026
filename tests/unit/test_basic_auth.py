"""HTTP Basic credentials as every adapter reads them."""

from __future__ import annotations

import base64

from service.api.basic_auth import basic_credentials


def test_basic_credentials_are_read_from_the_authorization_header() -> None:
    token = base64.b64encode(b"admin:12:34").decode()
    assert basic_credentials(f"Basic {token}") == ("admin", "12:34")
    assert basic_credentials(f"basic {token}") == ("admin", "12:34")
    assert basic_credentials("Bearer x") == (None, None)
    assert basic_credentials("Basic !!!") == (None, None)
    assert basic_credentials(None) == (None, None)
