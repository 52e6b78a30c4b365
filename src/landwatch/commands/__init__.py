"""Typer sub-apps registered by :mod:`landwatch.cli` (one module per command group)."""
