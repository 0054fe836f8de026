"""The dispatcher's entry point, kept at its old address for service.cli (whose imports
another restructure owns); it lives in service.delivery.carriers.registry."""

from service.delivery.carriers.registry import make_dispatcher

__all__ = ["make_dispatcher"]
