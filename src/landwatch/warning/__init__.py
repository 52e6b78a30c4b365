"""Drought early warning: alert levels per admin unit, their lifecycle, CAP 1.2 output.

* :mod:`~landwatch.warning.thresholds`: per unit and month, the share of cropland and
  grazing land at Warning/Alert of the Combined Drought Indicator, population exposed,
  consecutive months, and the unit's alert level from editable YAML rules.
* :mod:`~landwatch.warning.alerts`: start, update, escalate, de-escalate and end alerts,
  stored with their whole history in the database.
* :mod:`~landwatch.warning.cap`: CAP 1.2 XML messages, validated against the OASIS XSD.
* :mod:`~landwatch.warning.feed` and :mod:`~landwatch.warning.situation`: Atom feed,
  GeoJSON and CSV of the situation.
"""

from landwatch.warning.thresholds import (
    METRICS,
    AlertLevel,
    AlertRules,
    assess_units,
    level_for,
    load_alert_rules,
    unit_drought_statistics,
)

__all__ = [
    "METRICS",
    "AlertLevel",
    "AlertRules",
    "assess_units",
    "level_for",
    "load_alert_rules",
    "unit_drought_statistics",
]
