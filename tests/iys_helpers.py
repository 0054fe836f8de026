"""İYS for tests that send commercial packages: codes, and approved consents accepted by
the simulated İYS."""

from __future__ import annotations

from service.delivery.iys.simulator import SimulatedIys
from service.domain.constants import IysSource
from service.domain.iys import ConsentStatus
from service.services import iys
from service.services.platform import Platform


def consented(platform: Platform, username: str, *numbers: str) -> None:
    """Give the user İYS codes and approved, accepted consents of these numbers."""
    iys.save_settings(platform, username, iys_code="1234", brand_code="5678")
    for number in numbers:
        iys.add_consent(platform, username, number, ConsentStatus.ONAY, IysSource.HS_WEB)
    iys.sync_consents(platform, SimulatedIys(), "tests")
