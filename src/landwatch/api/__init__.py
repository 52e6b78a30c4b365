"""The web service and dashboard: ``create_app()`` and ``landwatch serve``."""

from landwatch.api.app import create_app
from landwatch.api.settings import Settings

__all__ = ["Settings", "create_app"]
