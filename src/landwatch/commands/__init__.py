"""Typer sub-apps registered by :mod:`landwatch.cli` (one module per command group)."""

from __future__ import annotations

from landwatch.errors import InputError


def parse_calibration(text: str) -> tuple[int, int] | None:
    """``--calibration FIRST-LAST`` (or ``full``, every year) as a year pair or None."""
    if text == "full":
        return None
    try:
        a, b = (int(v) for v in text.split("-"))
    except ValueError as exc:
        raise InputError(
            f"--calibration {text!r}: expected FIRST-LAST years such as 1981-2010, or full."
        ) from exc
    return (a, b)
