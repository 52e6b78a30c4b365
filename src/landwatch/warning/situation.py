"""The drought situation per admin unit as tables and GeoJSON.

* :func:`situation_table`: one row per admin unit for one month: level, CAP
  severity, what happened to its alert that month, and the metrics.
* :func:`situation_geojson`: the same as a GeoJSON FeatureCollection (RFC 7946,
  WGS84 longitude/latitude) of the unit polygons.
* :func:`messages_table`, :func:`alerts_table`: every message and every alert.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from landwatch.store.alerts import DroughtAlert, DroughtAlertUpdate
from landwatch.warning.alerts import month_label, utc
from landwatch.warning.cap import cap_datetime
from landwatch.warning.thresholds import METRICS, NO_LEVEL, AlertRules

#: what happened to a unit's alert in the month (from the message kind)
ALERT_CHANGE = {
    "start": "new",
    "continue": "continuing",
    "escalate": "escalated",
    "deescalate": "de-escalated",
    "below": "easing",
    "end": "ended",
}
NO_LEVEL_COLOR = "#f0f0f0"
NO_DATA_COLOR = "#bdbdbd"


def situation_table(
    unit_months: pd.DataFrame,
    month: str,
    units: pd.DataFrame,
    rules: AlertRules,
    messages: Iterable[DroughtAlertUpdate] = (),
) -> pd.DataFrame:
    """The situation of every admin unit in ``month``.

    Parameters
    ----------
    unit_months : pandas.DataFrame
        Recorded unit-months (:func:`landwatch.warning.alerts.unit_month_table`).
    month : str
        ``YYYY-MM``.
    units : pandas.DataFrame
        All admin units, columns ``unit_id`` and ``unit_name`` (units without a
        record get status ``no_pixels``).
    rules : AlertRules
        For severities and colours.
    messages : iterable of DroughtAlertUpdate
        Messages of the month (for the ``alert_change`` column).

    Returns
    -------
    pandas.DataFrame
        Columns ``unit_id, unit_name, month, status, level, level_rank, severity,
        color, alert_identifier, alert_change, consecutive_months`` and the metrics,
        ordered by level (highest first) then unit.
    """
    rec = unit_months[unit_months["month"] == month].set_index("unit_id")
    change = {
        u.alert.unit_id: ALERT_CHANGE[u.kind] for u in messages if month_label(u.month) == month
    }
    alert_of = {
        u.alert.unit_id: u.alert.identifier for u in messages if month_label(u.month) == month
    }
    rows = []
    for unit_id, unit_name in zip(units["unit_id"].astype(str), units["unit_name"], strict=True):
        row: dict[str, Any] = {"unit_id": unit_id, "unit_name": str(unit_name), "month": month}
        if unit_id in rec.index:
            r = rec.loc[unit_id]
            lv = rules.level(str(r["level"])) if r["level"] != NO_LEVEL else None
            ident = r.get("alert_identifier") or alert_of.get(unit_id)
            row |= {
                "status": r["status"],
                "level": r["level"],
                "level_rank": int(r["level_rank"]),
                "severity": lv.severity if lv else None,
                "color": lv.color
                if lv
                else (NO_LEVEL_COLOR if r["status"] == "assessed" else NO_DATA_COLOR),
                "alert_identifier": ident if isinstance(ident, str) else None,
                "alert_change": change.get(unit_id),
                "consecutive_months": int(r["consecutive_months"]),
            }
            for key in METRICS:
                if key != "consecutive_months":
                    row[key] = r.get(key)
        else:
            row |= {
                "status": "no_pixels",
                "level": NO_LEVEL,
                "level_rank": 0,
                "severity": None,
                "color": NO_DATA_COLOR,
                "alert_identifier": None,
                "alert_change": None,
                "consecutive_months": 0,
            }
            for key in METRICS:
                if key != "consecutive_months":
                    row[key] = math.nan
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    return df.sort_values(["level_rank", "unit_id"], ascending=[False, True], ignore_index=True)


def _json_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None
    return v


def situation_geojson(units: Any, situation: pd.DataFrame) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the units with their situation as properties.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Admin units with ``unit_id`` and geometry, in EPSG:4326.
    situation : pandas.DataFrame
        :func:`situation_table` of one month.

    Returns
    -------
    dict
        A FeatureCollection (RFC 7946); NaN metrics are ``null``.
    """
    from shapely.geometry import mapping

    by_unit = situation.set_index("unit_id")
    features = []
    for unit_id, geom in zip(units["unit_id"].astype(str), units.geometry, strict=True):
        props: dict[str, Any] = {"unit_id": unit_id}
        if unit_id in by_unit.index:
            props |= {k: _json_value(v) for k, v in by_unit.loc[unit_id].items()}
        features.append(
            {
                "type": "Feature",
                "id": unit_id,
                "geometry": mapping(geom) if geom is not None else None,
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def messages_table(messages: Iterable[DroughtAlertUpdate]) -> pd.DataFrame:
    """One row per message: identifiers, unit, month, kind, CAP fields and metrics."""
    rows = []
    for u in messages:
        a: DroughtAlert = u.alert
        row: dict[str, Any] = {
            "identifier": u.identifier,
            "alert_identifier": a.identifier,
            "unit_id": a.unit_id,
            "unit_name": a.unit_name,
            "month": month_label(u.month),
            "kind": u.kind,
            "msg_type": u.msg_type,
            "level": u.level,
            "severity": u.severity,
            "certainty": u.certainty,
            "is_forecast": a.is_forecast,
            "sent": cap_datetime(utc(u.sent)),
            "consecutive_months": u.consecutive_months,
            "months_below": u.months_below,
        }
        for key in METRICS:
            if key != "consecutive_months":
                v = (u.metrics or {}).get(key)
                row[key] = math.nan if v is None else v
        rows.append(row)
    return pd.DataFrame(rows)


def alerts_table(alerts: Iterable[DroughtAlert]) -> pd.DataFrame:
    """One row per alert (drought event): unit, stream, status, levels, months, messages."""
    rows = [
        {
            "identifier": a.identifier,
            "unit_id": a.unit_id,
            "unit_name": a.unit_name,
            "is_forecast": a.is_forecast,
            "certainty": a.certainty,
            "status": a.status,
            "level": a.level,
            "severity": a.severity,
            "peak_level": a.peak_level,
            "start_month": month_label(a.start_month),
            "last_month": month_label(a.last_month),
            "end_month": month_label(a.end_month) if a.end_month else None,
            "n_messages": len(a.updates),
        }
        for a in alerts
    ]
    return pd.DataFrame(rows)
