"""landwatch: offline land degradation (SDG 15.3.1), LDN and drought monitoring."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
